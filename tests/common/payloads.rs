//! Realistic canned payloads for the three dialects, written from the public API references:
//! OpenAI Chat Completions (response object, chunk stream with `stream_options.include_usage`),
//! Anthropic Messages (message object, full event stream with `ping`), OpenAI Responses (response
//! object, event stream ending in `response.completed`), and the error bodies each one returns.
//!
//! Request bodies are deliberately written by hand with odd spacing, `\u` escapes and unknown fields:
//! a gateway that re-serialises instead of forwarding bytes changes them, and the tests see it.

use serde_json::{json, Value};

/// Joins SSE frames into one byte string (what a client should receive in passthrough).
pub fn concat(events: &[Vec<u8>]) -> Vec<u8> {
    events.iter().flatten().copied().collect()
}

/// One `data:` frame.
pub fn data_frame(v: &Value) -> Vec<u8> {
    format!("data: {}\n\n", serde_json::to_string(v).unwrap()).into_bytes()
}

/// One `event:` + `data:` frame.
pub fn named_frame(name: &str, v: &Value) -> Vec<u8> {
    format!(
        "event: {name}\ndata: {}\n\n",
        serde_json::to_string(v).unwrap()
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions
// ---------------------------------------------------------------------------------------------

/// A chat request as the openai SDK sends it, hand-formatted (spacing, `\u00e9`, an unknown field).
pub fn openai_request(model: &str, stream: bool) -> Vec<u8> {
    let stream_part = if stream {
        r#", "stream": true,  "stream_options": {"include_usage": true}"#
    } else {
        ""
    };
    format!(
        "{{\"model\":  \"{model}\",\n  \"messages\": [{{\"role\": \"system\", \"content\": \"Be brief.\"}}, \
         {{\"role\":\"user\",\"content\":\"Caf\\u00e9 \u{1F600} \\\"quoted\\\" \\n newline\"}}],\
         \"temperature\": 0.70, \"x_gateway_test\": {{\"keep\": [1, 2.50, null]}}{stream_part}}}"
    )
    .into_bytes()
}

pub fn openai_completion(model: &str, text: &str) -> Value {
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 10,
            "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    })
}

/// The chunk stream for `pieces`: role chunk, one chunk per piece, finish chunk, usage chunk, `[DONE]`.
pub fn openai_stream(model: &str, pieces: &[&str]) -> Vec<Vec<u8>> {
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion.chunk",
            "created": 1741570283, "model": model, "service_tier": "default",
            "system_fingerprint": "fp_06737a9306",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            "usage": null
        })
    };
    let mut out = vec![data_frame(&chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    ))];
    for p in pieces {
        out.push(data_frame(&chunk(json!({"content": p}), Value::Null)));
    }
    out.push(data_frame(&chunk(json!({}), json!("stop"))));
    out.push(data_frame(&json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion.chunk",
        "created": 1741570283, "model": model, "service_tier": "default",
        "system_fingerprint": "fp_06737a9306", "choices": [],
        "usage": {"prompt_tokens": 19, "completion_tokens": pieces.len(), "total_tokens": 19 + pieces.len(),
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
    })));
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}

pub fn openai_models(ids: &[&str]) -> Value {
    json!({
        "object": "list",
        "data": ids.iter().map(|id| json!({"id": id, "object": "model", "created": 1686935002, "owned_by": "organization-owner"})).collect::<Vec<_>>()
    })
}

pub fn openai_rate_limit_error() -> Vec<u8> {
    br#"{
    "error": {
        "message": "Rate limit reached for gpt-4o-mini in organization org-xyz on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
        "type": "requests",
        "param": null,
        "code": "rate_limit_exceeded"
    }
}
"#
    .to_vec()
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages
// ---------------------------------------------------------------------------------------------

/// A messages request as the anthropic SDK and Claude Code send it (system blocks with
/// cache_control, metadata, thinking), hand-formatted.
pub fn anthropic_request(model: &str, stream: bool) -> Vec<u8> {
    let stream_part = if stream { r#","stream":true"# } else { "" };
    format!(
        "{{\"model\":\"{model}\",\"max_tokens\":1024,\n\"system\":[{{\"type\":\"text\",\"text\":\"You are terse.\",\
         \"cache_control\":{{\"type\":\"ephemeral\"}}}}],\"messages\":[{{\"role\":\"user\",\"content\":\
         [{{\"type\":\"text\",\"text\":\"Na\\u00efve \u{00fc}ber question \\t tab\"}}]}}],\
         \"metadata\":{{\"user_id\":\"user_abc\"}},  \"thinking\": {{\"type\": \"adaptive\"}}{stream_part}}}"
    )
    .into_bytes()
}

pub fn anthropic_message(model: &str, text: &str) -> Value {
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 21, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 12, "service_tier": "standard"}
    })
}

/// The full event stream for `pieces`: message_start, content_block_start, ping, deltas,
/// content_block_stop, message_delta, message_stop.
pub fn anthropic_stream(model: &str, pieces: &[&str]) -> Vec<Vec<u8>> {
    let mut out = vec![
        named_frame(
            "message_start",
            &json!({
                "type": "message_start",
                "message": {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                            "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
                            "usage": {"input_tokens": 21, "cache_creation_input_tokens": 0,
                                      "cache_read_input_tokens": 0, "output_tokens": 1}}
            }),
        ),
        named_frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        b"event: ping\ndata: {\"type\": \"ping\"}\n\n".to_vec(),
    ];
    for p in pieces {
        out.push(named_frame("content_block_delta", &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})));
    }
    out.push(named_frame(
        "content_block_stop",
        &json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push(named_frame("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": pieces.len()}})));
    out.push(named_frame(
        "message_stop",
        &json!({"type": "message_stop"}),
    ));
    out
}

pub fn anthropic_models(ids: &[&str]) -> Value {
    json!({
        "data": ids.iter().map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-02-19T00:00:00Z"})).collect::<Vec<_>>(),
        "has_more": false,
        "first_id": ids.first(),
        "last_id": ids.last()
    })
}

pub fn anthropic_rate_limit_error() -> Vec<u8> {
    br#"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed the rate limit for your organization of 50 requests per minute."},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#.to_vec()
}

pub fn anthropic_count_tokens_request(model: &str) -> Vec<u8> {
    format!(
        "{{\"model\": \"{model}\", \"system\": \"You are terse.\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello, world\"}}]}}"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses
// ---------------------------------------------------------------------------------------------

/// A Responses request as Codex sends it (developer message of input_text parts, store:false,
/// include, reasoning), hand-formatted.
pub fn responses_request(model: &str, stream: bool) -> Vec<u8> {
    let stream_part = if stream { r#", "stream":true"# } else { "" };
    format!(
        "{{\"model\":\"{model}\",\"instructions\":\"\",\"input\":[{{\"type\":\"message\",\"role\":\"developer\",\
         \"content\":[{{\"type\":\"input_text\",\"text\":\"Be terse.\"}}]}},{{\"type\":\"message\",\"role\":\"user\",\
         \"content\":[{{\"type\":\"input_text\",\"text\":\"Dis \\u00e0 quelqu\\u2019un \u{00e9}t\u{00e9}\"}}]}}],\
         \"tool_choice\":\"auto\",\"parallel_tool_calls\":true,\"reasoning\":{{\"summary\":\"auto\"}},\
         \"store\":false,  \"include\":[\"reasoning.encrypted_content\"],\"prompt_cache_key\":\"k-1\"{stream_part}}}"
    )
    .into_bytes()
}

fn responses_object(model: &str, status: &str, output: Value, usage: Value) -> Value {
    json!({
        "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": {"effort": null, "summary": null},
        "store": false,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": null,
        "metadata": {}
    })
}

fn responses_usage(input: usize, output: usize) -> Value {
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
           "total_tokens": input + output})
}

fn responses_message_item(text: &str, status: &str) -> Value {
    let content = if status == "completed" {
        json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
    } else {
        json!([])
    };
    json!({"id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b", "type": "message",
           "status": status, "role": "assistant", "content": content})
}

pub fn responses_response(model: &str, text: &str) -> Value {
    responses_object(
        model,
        "completed",
        json!([responses_message_item(text, "completed")]),
        responses_usage(36, 12),
    )
}

/// The event stream for `pieces`, from `response.created` to `response.completed`.
pub fn responses_stream(model: &str, pieces: &[&str]) -> Vec<Vec<u8>> {
    let item_id = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
    let full: String = pieces.concat();
    let mut seq = 0;
    let mut out = Vec::new();
    let mut push = |name: &str, mut v: Value| {
        v["type"] = json!(name);
        v["sequence_number"] = json!(seq);
        seq += 1;
        out.push(named_frame(name, &v));
    };
    let in_progress = responses_object(model, "in_progress", json!([]), Value::Null);
    push("response.created", json!({"response": in_progress}));
    push("response.in_progress", json!({"response": in_progress}));
    push(
        "response.output_item.added",
        json!({"output_index": 0, "item": responses_message_item("", "in_progress")}),
    );
    push(
        "response.content_part.added",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []}}),
    );
    for p in pieces {
        push(
            "response.output_text.delta",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": p, "logprobs": []}),
        );
    }
    push(
        "response.output_text.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": full, "logprobs": []}),
    );
    push(
        "response.content_part.done",
        json!({"item_id": item_id, "output_index": 0, "content_index": 0,
        "part": {"type": "output_text", "text": full, "annotations": []}}),
    );
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": responses_message_item(&full, "completed")}),
    );
    push(
        "response.completed",
        json!({"response": responses_object(model, "completed",
        json!([responses_message_item(&full, "completed")]), responses_usage(36, pieces.len()))}),
    );
    out
}
