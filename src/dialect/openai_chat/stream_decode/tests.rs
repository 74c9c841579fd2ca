//! Stream decoding tests over recorded-style transcripts. Chunk shapes follow
//! <https://platform.openai.com/docs/api-reference/chat-streaming/streaming> and what
//! llama.cpp, vLLM and Ollama send.

use super::*;
use ir::{BlockStart, Delta, Event, StopReason, Usage};

fn data(data: &str) -> sse::Event {
    sse::Event {
        event: String::new(),
        data: data.to_owned(),
        raw: Vec::new(),
    }
}

/// Feeds `data:` payloads, then ends the stream; returns every event.
fn decode_all(chunks: &[&str]) -> Vec<Event> {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.decode(&data(chunk), &mut out).unwrap();
    }
    decoder.finish(&mut out);
    out
}

fn start(id: &str, model: &str) -> Event {
    Event::Start {
        id: id.into(),
        model: model.into(),
        usage: Usage::default(),
    }
}

fn block_start(index: usize, block: BlockStart) -> Event {
    Event::BlockStart { index, block }
}

fn delta(index: usize, delta: Delta) -> Event {
    Event::Delta { index, delta }
}

fn stop(index: usize) -> Event {
    Event::BlockStop { index }
}

fn tool(id: &str, name: &str) -> BlockStart {
    BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
    }
}

fn args(text: &str) -> Delta {
    Delta::ToolArguments(text.into())
}

/// OpenAI with `include_usage`: text, a streamed tool call, the finish chunk, then usage in a
/// chunk of its own with `choices: []`.
#[test]
fn decodes_openai_text_tool_call_and_trailing_usage() {
    let events = decode_all(&[
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Let me check."},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_W1","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}"#,
        r#"{"id":"chatcmpl-Ab1","object":"chat.completion.chunk","created":1748000000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":85,"completion_tokens":18,"total_tokens":103,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            start("chatcmpl-Ab1", "gpt-4o-mini-2024-07-18"),
            block_start(0, BlockStart::Text),
            delta(0, Delta::Text("Let me check.".into())),
            stop(0),
            block_start(1, tool("call_W1", "get_weather")),
            delta(1, args("{\"city\":")),
            delta(1, args("\"Paris\"}")),
            stop(1),
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 85,
                    output_tokens: 18,
                    cache_read_tokens: 64,
                    cache_creation_tokens: 0,
                    reasoning_tokens: 0,
                },
            },
            Event::Done,
        ]
    );
}

/// llama.cpp with a reasoning model: `reasoning_content` deltas, then content, usage and
/// timings in the finish chunk.
#[test]
fn decodes_llama_cpp_reasoning_then_text() {
    let events = decode_all(&[
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","system_fingerprint":"b5500","object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"reasoning_content":"The user"}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"reasoning_content":" greets."}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"Hello"}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":null,"index":0,"delta":{"content":"!"}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","object":"chat.completion.chunk"}"#,
        r#"{"choices":[{"finish_reason":"stop","index":0,"delta":{}}],"created":1748000000,"id":"chatcmpl-Lc9","model":"qwen3-8b","object":"chat.completion.chunk","usage":{"completion_tokens":9,"prompt_tokens":14,"total_tokens":23},"timings":{"prompt_n":14,"predicted_n":9}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            start("chatcmpl-Lc9", "qwen3-8b"),
            block_start(0, BlockStart::Reasoning),
            delta(0, Delta::Reasoning("The user".into())),
            delta(0, Delta::Reasoning(" greets.".into())),
            stop(0),
            block_start(1, BlockStart::Text),
            delta(1, Delta::Text("Hello".into())),
            delta(1, Delta::Text("!".into())),
            stop(1),
            Event::Finish {
                stop_reason: StopReason::EndTurn,
                usage: Usage {
                    input_tokens: 14,
                    output_tokens: 9,
                    ..Default::default()
                },
            },
            Event::Done,
        ]
    );
}

/// Ollama: `reasoning` deltas, whole calls in one delta, and `stop` as the finish reason even
/// though it called tools.
#[test]
fn decodes_ollama_whole_tool_calls_in_one_delta() {
    let events = decode_all(&[
        r#"{"id":"chatcmpl-417","object":"chat.completion.chunk","created":1748000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Two files."},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-417","object":"chat.completion.chunk","created":1748000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"id":"call_a1","index":0,"type":"function","function":{"name":"read","arguments":"{\"path\":\"a.rs\"}"}},{"id":"call_b2","index":1,"type":"function","function":{"name":"read","arguments":"{\"path\":\"b.rs\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-417","object":"chat.completion.chunk","created":1748000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}"#,
        r#"{"id":"chatcmpl-417","object":"chat.completion.chunk","created":1748000000,"model":"qwen3:8b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":30,"total_tokens":70}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            start("chatcmpl-417", "qwen3:8b"),
            block_start(0, BlockStart::Reasoning),
            delta(0, Delta::Reasoning("Two files.".into())),
            stop(0),
            block_start(1, tool("call_a1", "read")),
            delta(1, args("{\"path\":\"a.rs\"}")),
            block_start(2, tool("call_b2", "read")),
            delta(2, args("{\"path\":\"b.rs\"}")),
            stop(1),
            stop(2),
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage {
                    input_tokens: 40,
                    output_tokens: 30,
                    ..Default::default()
                },
            },
            Event::Done,
        ]
    );
}

#[test]
fn interleaved_parallel_calls_keep_their_own_blocks() {
    let events = decode_all(&[
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"a","arguments":""}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"b","arguments":"{\"y\""}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":":2}"}}]}}]}"#,
        r#"{"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events,
        vec![
            start("c", "m"),
            block_start(0, tool("call_1", "a")),
            block_start(1, tool("call_2", "b")),
            delta(1, args("{\"y\"")),
            delta(0, args("{\"x\":1}")),
            delta(1, args(":2}")),
            stop(0),
            stop(1),
            Event::Finish {
                stop_reason: StopReason::ToolUse,
                usage: Usage::default(),
            },
            Event::Done,
        ]
    );
}

#[test]
fn early_ended_stream_is_closed_by_finish() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for chunk in [
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"Hal"}}]}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"f","arguments":"{\"a"}}]}}]}"#,
    ] {
        decoder.decode(&data(chunk), &mut out).unwrap();
    }
    out.clear();
    decoder.finish(&mut out);
    assert_eq!(
        out,
        vec![
            stop(1),
            Event::Finish {
                stop_reason: StopReason::EndTurn,
                usage: Usage::default(),
            },
            Event::Done,
        ]
    );
    // Once ended, nothing more comes out.
    out.clear();
    decoder.finish(&mut out);
    decoder.decode(&data("[DONE]"), &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn stream_ending_after_finish_reason_without_usage_or_done() {
    let events = decode_all(&[
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#,
    ]);
    assert_eq!(
        events[3..],
        [
            stop(0),
            Event::Finish {
                stop_reason: StopReason::MaxTokens,
                usage: Usage::default(),
            },
            Event::Done,
        ]
    );
}

#[test]
fn empty_stream_still_ends_well_formed() {
    let events = decode_all(&[]);
    assert_eq!(
        events,
        vec![
            start("", ""),
            Event::Finish {
                stop_reason: StopReason::EndTurn,
                usage: Usage::default(),
            },
            Event::Done,
        ]
    );
}

#[test]
fn proper_end_gets_nothing_more_from_finish() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    decoder
        .decode(&data(r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#), &mut out)
        .unwrap();
    decoder.decode(&data("[DONE]"), &mut out).unwrap();
    let n = out.len();
    decoder.finish(&mut out);
    assert_eq!(out.len(), n);
    assert_eq!(out.last(), Some(&Event::Done));
}

#[test]
fn mid_stream_error_ends_the_stream() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    for chunk in [
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"Hi"}}]}"#,
        r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"content":"ignored"}}]}"#,
    ] {
        decoder.decode(&data(chunk), &mut out).unwrap();
    }
    decoder.finish(&mut out);
    assert_eq!(
        out[3..],
        [Event::Error {
            kind: "overloaded".into(),
            message: "Loading model".into(),
        }]
    );
}

#[test]
fn error_shapes_of_every_server_are_recognised() {
    let cases = [
        (
            r#"{"error":"an error was encountered while running the model"}"#,
            "upstream",
        ),
        (
            r#"{"object":"error","message":"too long","type":"BadRequestError","code":400}"#,
            "invalid_request",
        ),
        (
            r#"{"error":{"message":"Rate limit","type":"rate_limit_error"}}"#,
            "rate_limited",
        ),
    ];
    for (chunk, kind) in cases {
        let mut decoder = StreamDecoder::new();
        let mut out = Vec::new();
        decoder.decode(&data(chunk), &mut out).unwrap();
        match &out[..] {
            [Event::Error { kind: got, .. }] => assert_eq!(got, kind, "for {chunk}"),
            other => panic!("for {chunk}: {other:?}"),
        }
    }
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    let event = sse::Event {
        event: "error".into(),
        data: "upstream connect error".into(),
        raw: Vec::new(),
    };
    decoder.decode(&event, &mut out).unwrap();
    assert!(
        matches!(&out[..], [Event::Error { message, .. }] if message == "upstream connect error")
    );
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    let event = sse::Event {
        event: "error".into(),
        data: r#"{"message":"model crashed","code":500}"#.into(),
        raw: Vec::new(),
    };
    decoder.decode(&event, &mut out).unwrap();
    assert_eq!(
        out,
        vec![Event::Error {
            kind: "upstream".into(),
            message: "model crashed".into()
        }]
    );
}

#[test]
fn heartbeats_are_skipped_and_garbage_is_an_error() {
    let mut decoder = StreamDecoder::new();
    let mut out = Vec::new();
    let heartbeat = sse::Event {
        raw: b": keep-alive\n\n".to_vec(),
        ..Default::default()
    };
    decoder.decode(&heartbeat, &mut out).unwrap();
    assert!(out.is_empty());
    let err = decoder.decode(&data("{not json"), &mut out).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadGateway);
}

#[test]
fn calls_without_index_or_with_reused_index_are_told_apart() {
    let events = decode_all(&[
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_1","function":{"name":"a","arguments":"{}"}}]}}]}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_2","function":{"name":"b","arguments":"{"}}]}}]}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}"#,
        r#"{"id":"x","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_3","function":{"name":"c","arguments":{"k":1}}}]}}]}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events[1..8],
        [
            block_start(0, tool("call_1", "a")),
            delta(0, args("{}")),
            block_start(1, tool("call_2", "b")),
            delta(1, args("{")),
            delta(1, args("}")),
            block_start(2, tool("call_3", "c")),
            delta(2, args("{\"k\":1}")),
        ]
    );
}

#[test]
fn vllm_running_usage_and_matched_stop_string() {
    let events = decode_all(&[
        r#"{"id":"cmpl-9","model":"llama","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":null}],"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}"#,
        r#"{"id":"cmpl-9","model":"llama","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop","stop_reason":"<|end|>"}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#,
        r#"{"id":"cmpl-9","model":"llama","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#,
        "[DONE]",
    ]);
    assert_eq!(
        events[4..],
        [
            Event::Finish {
                stop_reason: StopReason::StopSequence(Some("<|end|>".into())),
                usage: Usage {
                    input_tokens: 7,
                    output_tokens: 2,
                    ..Default::default()
                },
            },
            Event::Done,
        ]
    );
}
