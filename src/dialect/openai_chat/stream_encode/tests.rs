//! Stream encoding tests: exact frames for an `ir` sequence, and what an openai SDK style
//! accumulator rebuilds from them. Frame shapes follow
//! <https://platform.openai.com/docs/api-reference/chat-streaming/streaming>.

use serde_json::{json, Value};

use super::*;
use crate::dialect::openai_chat::StreamDecoder;
use crate::dialect::StreamDecode;
use ir::{BlockStart, Delta, Event, StopReason, Usage};

fn request(include_usage: bool) -> ir::Request {
    ir::Request {
        model: "requested-model".into(),
        stream: true,
        include_usage,
        ..Default::default()
    }
}

/// An encoder with `created` pinned, so frames compare exactly.
fn encoder(include_usage: bool) -> StreamEncoder {
    let mut encoder = StreamEncoder::new(&request(include_usage));
    encoder.created = 1700000000;
    encoder
}

fn encode_all(encoder: &mut StreamEncoder, events: &[Event]) -> String {
    let mut out = Vec::new();
    for event in events {
        encoder.encode(event, &mut out);
    }
    String::from_utf8(out).unwrap()
}

/// Parses frames back as the openai SDK does: each `data:` is JSON until `[DONE]`.
fn frames(sse_text: &str) -> Vec<String> {
    let reader = sse::EventReader::new(std::io::Cursor::new(sse_text.as_bytes().to_vec()));
    reader.map(|e| e.unwrap().data).collect()
}

fn reasoning_text_and_tool_events() -> Vec<Event> {
    vec![
        Event::Start {
            id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
            model: "claude-sonnet-4-20250514".into(),
            usage: Usage {
                input_tokens: 472,
                cache_read_tokens: 400,
                ..Default::default()
            },
        },
        Event::BlockStart {
            index: 0,
            block: BlockStart::Reasoning,
        },
        Event::Delta {
            index: 0,
            delta: Delta::Reasoning("Weather \"now\".".into()),
        },
        Event::Delta {
            index: 0,
            delta: Delta::ReasoningSignature("EqQBCkYIBxgC".into()),
        },
        Event::BlockStop { index: 0 },
        Event::BlockStart {
            index: 1,
            block: BlockStart::Text,
        },
        Event::Delta {
            index: 1,
            delta: Delta::Text("Checking…\n".into()),
        },
        Event::BlockStop { index: 1 },
        Event::BlockStart {
            index: 2,
            block: BlockStart::ToolCall {
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
            },
        },
        Event::Delta {
            index: 2,
            delta: Delta::ToolArguments("{\"city\": ".into()),
        },
        Event::Delta {
            index: 2,
            delta: Delta::ToolArguments("\"Paris\"}".into()),
        },
        Event::BlockStop { index: 2 },
        Event::Finish {
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                output_tokens: 89,
                ..Default::default()
            },
        },
        Event::Done,
    ]
}

#[test]
fn encodes_reasoning_text_and_tool_call_frames_exactly() {
    let text = encode_all(&mut encoder(true), &reasoning_text_and_tool_events());
    let head = r#"{"id":"chatcmpl-msg_01XFDUDYJgAACzvnptvVoYEL","object":"chat.completion.chunk","created":1700000000,"model":"claude-sonnet-4-20250514","choices":["#;
    let choice = |delta: &str, finish: &str| {
        format!(
            "data: {head}{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let want = [
        choice(r#"{"role":"assistant","content":""}"#, "null"),
        choice(r#"{"reasoning_content":"Weather \"now\"."}"#, "null"),
        choice(r#"{"content":"Checking…\n"}"#, "null"),
        choice(
            r#"{"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]}"#,
            "null",
        ),
        choice(r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": "}}]}"#, "null"),
        choice(r#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#, "null"),
        choice("{}", "\"tool_calls\""),
        format!(
            "data: {head}],\"usage\":{{\"completion_tokens\":89,\"completion_tokens_details\":{{\"reasoning_tokens\":0}},\"prompt_tokens\":472,\"prompt_tokens_details\":{{\"cached_tokens\":400}},\"total_tokens\":561}}}}\n\n"
        ),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    assert_eq!(text, want);
    // Every frame but the last is valid JSON.
    let frames = frames(&text);
    for frame in &frames[..frames.len() - 1] {
        serde_json::from_str::<Value>(frame).unwrap();
    }
}

/// Folds chunks the way openai-python's `ChatCompletionStreamState` does: content and
/// arguments concatenated, tool calls by `index`.
fn accumulate(frames: &[String]) -> Folded {
    let mut content = String::new();
    let mut calls: Vec<Call> = Vec::new();
    let mut finish = None;
    let mut usage = None;
    for frame in frames {
        if frame == "[DONE]" {
            break;
        }
        let chunk: Value = serde_json::from_str(frame).unwrap();
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if !chunk["usage"].is_null() {
            usage = Some(chunk["usage"].clone());
        }
        for choice in chunk["choices"].as_array().unwrap() {
            let delta = &choice["delta"];
            content.push_str(delta["content"].as_str().unwrap_or_default());
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().unwrap() as usize;
                if index == calls.len() {
                    calls.push(Default::default());
                }
                let slot = &mut calls[index];
                if let Some(id) = call["id"].as_str() {
                    slot.0 = id.into();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    slot.1 = name.into();
                }
                slot.2
                    .push_str(call["function"]["arguments"].as_str().unwrap_or_default());
            }
            if let Some(reason) = choice["finish_reason"].as_str() {
                finish = Some(reason.to_owned());
            }
        }
    }
    Folded {
        content,
        calls,
        finish,
        usage,
    }
}

/// (id, name, arguments) of a call.
type Call = (String, String, String);

/// What a client holds at the end of a stream.
struct Folded {
    content: String,
    calls: Vec<Call>,
    finish: Option<String>,
    usage: Option<Value>,
}

#[test]
fn parallel_calls_get_positions_an_sdk_accumulates() {
    let events = vec![
        Event::Start {
            id: "chatcmpl-9".into(),
            model: "gpt-4o".into(),
            usage: Usage::default(),
        },
        Event::BlockStart {
            index: 3,
            block: BlockStart::ToolCall {
                id: "call_a".into(),
                name: "a".into(),
            },
        },
        Event::BlockStart {
            index: 5,
            block: BlockStart::ToolCall {
                id: "call_b".into(),
                name: "b".into(),
            },
        },
        Event::Delta {
            index: 5,
            delta: Delta::ToolArguments("{\"y\":2}".into()),
        },
        Event::Delta {
            index: 3,
            delta: Delta::ToolArguments("{\"x\":1}".into()),
        },
        Event::BlockStop { index: 3 },
        Event::BlockStop { index: 5 },
        Event::Finish {
            stop_reason: StopReason::ToolUse,
            usage: Usage::default(),
        },
        Event::Done,
    ];
    let text = encode_all(&mut encoder(false), &events);
    let frames = frames(&text);
    let Folded {
        content,
        calls,
        finish,
        usage,
    } = accumulate(&frames);
    assert_eq!(content, "");
    assert_eq!(
        calls,
        vec![
            ("call_a".into(), "a".into(), "{\"x\":1}".into()),
            ("call_b".into(), "b".into(), "{\"y\":2}".into()),
        ]
    );
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert_eq!(usage, None, "no usage chunk unless the client asked");
    assert_eq!(frames.last().map(String::as_str), Some("[DONE]"));
    // The chat id was already prefixed: kept as is.
    assert!(frames[0].starts_with(r#"{"id":"chatcmpl-9","#));
}

#[test]
fn error_first_is_a_single_error_frame() {
    let mut encoder = encoder(true);
    let text = encode_all(
        &mut encoder,
        &[
            Event::Error {
                kind: "overloaded".into(),
                message: "all backends are busy".into(),
            },
            Event::Done,
        ],
    );
    assert_eq!(
        text,
        "data: {\"error\":{\"code\":\"overloaded\",\"message\":\"all backends are busy\",\"param\":null,\"type\":\"server_error\"}}\n\n"
    );
}

#[test]
fn mid_stream_error_ends_without_done() {
    let events = [
        Event::Start {
            id: "x".into(),
            model: String::new(),
            usage: Usage::default(),
        },
        Event::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
        Event::Delta {
            index: 0,
            delta: Delta::Text("Hel".into()),
        },
        Event::Error {
            kind: "rate_limited".into(),
            message: "slow down".into(),
        },
        Event::Delta {
            index: 0,
            delta: Delta::Text("lo".into()),
        },
        Event::Done,
    ];
    let frames = frames(&encode_all(&mut encoder(true), &events));
    assert_eq!(frames.len(), 3);
    let first: Value = serde_json::from_str(&frames[0]).unwrap();
    // No model from the backend: the requested one fills in.
    assert_eq!(first["model"], "requested-model");
    assert_eq!(first["id"], "chatcmpl-x");
    let error: Value = serde_json::from_str(&frames[2]).unwrap();
    assert_eq!(
        error,
        json!({"error": {"message": "slow down", "type": "rate_limit_error", "param": null, "code": "rate_limit_exceeded"}})
    );
}

#[test]
fn done_without_finish_still_sends_a_finish_reason() {
    let events = [
        Event::Start {
            id: String::new(),
            model: "m".into(),
            usage: Usage::default(),
        },
        Event::Done,
    ];
    let frames = frames(&encode_all(&mut encoder(true), &events));
    assert_eq!(frames.len(), 4);
    let id = serde_json::from_str::<Value>(&frames[0]).unwrap()["id"].clone();
    assert!(id.as_str().unwrap().starts_with("chatcmpl-"));
    let finish: Value = serde_json::from_str(&frames[1]).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["id"], id, "every chunk has the same id");
    let usage: Value = serde_json::from_str(&frames[2]).unwrap();
    assert_eq!(usage["choices"], json!([]));
    // No count from the backend: the request's estimate stands in (never zero).
    assert_eq!(usage["usage"]["prompt_tokens"], 1);
    assert_eq!(usage["usage"]["completion_tokens"], 0);
    assert_eq!(frames[3], "[DONE]");
}

#[test]
fn json_escaping_matches_serde() {
    let nasty = "quote\" back\\ nl\n cr\r tab\t bell\u{7} bs\u{8} ff\u{c} nul\u{0} unit\u{1f} é 🦀 \u{2028}";
    let mut buf = String::new();
    push_json_str(&mut buf, nasty);
    assert_eq!(buf, serde_json::to_string(nasty).unwrap());
}

/// An OpenAI backend streamed to an OpenAI client through the ir: the client sees the same
/// content, calls, finish reason and usage the backend sent.
#[test]
fn openai_stream_round_trips_through_the_ir() {
    let backend = [
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"On it."},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"ls","arguments":""}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"dir\":\"/\"}"}}]},"finish_reason":null}]}"#,
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
        r#"{"id":"chatcmpl-R1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":12,"total_tokens":62,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        "[DONE]",
    ];
    let mut decoder = StreamDecoder::new();
    let mut encoder = encoder(true);
    let mut events = Vec::new();
    for data in backend {
        let event = sse::Event {
            data: data.into(),
            ..Default::default()
        };
        decoder.decode(&event, &mut events).unwrap();
    }
    decoder.finish(&mut events);
    let frames = frames(&encode_all(&mut encoder, &events));
    let Folded {
        content,
        calls,
        finish,
        usage,
    } = accumulate(&frames);
    assert_eq!(content, "On it.");
    assert_eq!(
        calls,
        vec![("call_1".into(), "ls".into(), "{\"dir\":\"/\"}".into())]
    );
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert_eq!(
        usage,
        Some(
            json!({"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62,
                    "prompt_tokens_details": {"cached_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0}})
        )
    );
    let first: Value = serde_json::from_str(&frames[0]).unwrap();
    assert_eq!(
        (first["id"].as_str(), first["model"].as_str()),
        (Some("chatcmpl-R1"), Some("gpt-4o"))
    );
}

/// Not a timed assertion (speed is measured by `make bench`); run with
/// `cargo test --release -- --ignored --nocapture encoder_speed` to see the cost per event.
#[test]
#[ignore]
fn encoder_speed() {
    let mut encoder = encoder(true);
    let mut out = Vec::with_capacity(1 << 20);
    encoder.encode(
        &Event::Start {
            id: "chatcmpl-x".into(),
            model: "m".into(),
            usage: Usage::default(),
        },
        &mut out,
    );
    let delta = Event::Delta {
        index: 0,
        delta: Delta::Text(" token".into()),
    };
    let n = 1_000_000;
    let started = std::time::Instant::now();
    for _ in 0..n {
        out.clear();
        encoder.encode(&delta, &mut out);
    }
    let encode_ns = started.elapsed().as_nanos() / n;
    let mut decoder = StreamDecoder::new();
    let chunk = sse::Event {
        data: r#"{"id":"chatcmpl-x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" token"},"logprobs":null,"finish_reason":null}]}"#.into(),
        ..Default::default()
    };
    let mut events = Vec::new();
    let started = std::time::Instant::now();
    for _ in 0..n {
        events.clear();
        decoder.decode(&chunk, &mut events).unwrap();
    }
    let decode_ns = started.elapsed().as_nanos() / n;
    println!("encode {encode_ns} ns/event, decode {decode_ns} ns/chunk");
}
