//! A seeded fuzz test of everything that parses what clients and backends send (issue 7,
//! "Tests"): the SSE parser (`sse::EventReader`), the three stream decoders, request decoders,
//! response decoders and error decoders, and — fed with whatever the decoders accept — every
//! encoder, so a converted stream or answer is exercised end to end without a socket.
//!
//! Inputs are realistic payloads of each dialect (text, reasoning, parallel tool calls, images,
//! usage, errors) mutated at two levels: the JSON value (a node replaced by a wrong type, a huge
//! number, odd Unicode or deep nesting; keys dropped or renamed; arrays duplicated) and the bytes
//! (flipped, truncated, inserted, duplicated, spliced from another payload, duplicate keys, deep
//! nesting past serde_json's limit, line endings rewritten). Plain random bytes come too.
//!
//! Each case runs under `catch_unwind` and must take at most [`CASE_LIMIT`] of CPU time; a failure prints
//! the seed, the case number, the target and the input (and writes the input to a temp file).
//! Deterministic: set `FUZZ_SEED` to explore other seeds and `FUZZ_CASES` to scale the count.
//! The whole file runs in well under a minute in the debug build.

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;
use std::cell::Cell;
use std::io::{BufReader, Cursor};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use std::time::Duration;

use llm_gateway::dialect::Dialect;
use llm_gateway::ir;
use llm_gateway::proxy::incoming;
use llm_gateway::sse::{self, EventReader};
use serde_json::{json, Map, Value};

/// The most CPU time one case may take (debug build). The inputs are small and a case takes
/// milliseconds: anything near this is a pathological (quadratic or worse) path.
const CASE_LIMIT: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

fn base_seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0001_16A7_E3A7)
}

/// `n` scaled by `FUZZ_CASES` (a percentage, default 100).
fn cases(n: usize) -> usize {
    let pct: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    (n * pct / 100).max(1)
}

// ---------------------------------------------------------------------------------------------
// Realistic seeds
// ---------------------------------------------------------------------------------------------

fn data(v: Value) -> String {
    format!("data: {v}\n\n")
}

fn named(name: &str, v: Value) -> String {
    format!("event: {name}\ndata: {v}\n\n")
}

/// A backend stream of dialect `d`: reasoning, text, a tool call with fragmented arguments,
/// usage, and the dialect's end; with a comment, a ping and CRLF in places.
fn stream_seed(d: Dialect) -> String {
    match d {
        Dialect::OpenAiChat => {
            let chunk = |delta: Value, finish: Value, usage: Value| {
                data(
                    json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1741570283,
                    "model": "gpt-4o", "choices": [{"index": 0, "delta": delta, "logprobs": null,
                    "finish_reason": finish}], "usage": usage}),
                )
            };
            let mut s = String::from(": openrouter processing\n\n");
            s += &chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"reasoning_content": "Think "}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"content": "Caf\u{e9} \"q\" \u{1F600}\n"}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_A", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_B", "type": "function",
                "function": {"name": "get_time", "arguments": "{}"}}]}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"Paris\"}"}}]}),
                Value::Null,
                Value::Null,
            );
            s += &chunk(json!({}), json!("tool_calls"), Value::Null);
            s += &data(
                json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                "prompt_tokens_details": {"cached_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 2}}}),
            );
            s += "data: [DONE]\r\n\r\n";
            s
        }
        Dialect::Anthropic => {
            let mut s = String::new();
            s += &named(
                "message_start",
                json!({"type": "message_start", "message": {"id": "msg_1",
                "type": "message", "role": "assistant", "model": "claude-sonnet-4-5", "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 25,
                "cache_creation_input_tokens": 4, "cache_read_input_tokens": 7, "output_tokens": 1}}}),
            );
            s += &named("ping", json!({"type": "ping"}));
            s += &named(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
            );
            s += &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "Let me think"}}),
            );
            s += &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM"}}),
            );
            s += &named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            );
            s += &named(
                "content_block_start",
                json!({"type": "content_block_start", "index": 1,
                "content_block": {"type": "text", "text": ""}}),
            );
            s += &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 1,
                "delta": {"type": "text_delta", "text": "Na\u{ef}ve \u{1F600}"}}),
            );
            s += &named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 1}),
            );
            s += &named(
                "content_block_start",
                json!({"type": "content_block_start", "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {}}}),
            );
            s += &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Pa"}}),
            );
            s += &named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": "ris\"}"}}),
            );
            s += &named(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 2}),
            );
            s += &named(
                "message_delta",
                json!({"type": "message_delta", "delta": {"stop_reason": "tool_use",
                "stop_sequence": null}, "usage": {"output_tokens": 42}}),
            );
            s += &named("message_stop", json!({"type": "message_stop"}));
            s
        }
        Dialect::Responses => {
            let mut s = String::new();
            let resp = |status: &str, output: Value, usage: Value| {
                json!({"id": "resp_1", "object": "response", "created_at": 1741476542, "status": status,
                    "model": "gpt-4.1", "output": output, "usage": usage})
            };
            s += &named(
                "response.created",
                json!({"type": "response.created", "sequence_number": 0,
                "response": resp("in_progress", json!([]), Value::Null)}),
            );
            s += &named(
                "response.output_item.added",
                json!({"type": "response.output_item.added",
                "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
            );
            s += &named(
                "response.reasoning_summary_text.delta",
                json!({"type": "response.reasoning_summary_text.delta",
                "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "Thinking"}),
            );
            s += &named(
                "response.output_item.done",
                json!({"type": "response.output_item.done",
                "output_index": 0, "item": {"type": "reasoning", "id": "rs_1", "summary": [],
                "encrypted_content": "gAAAA"}}),
            );
            s += &named(
                "response.output_item.added",
                json!({"type": "response.output_item.added",
                "output_index": 1, "item": {"type": "message", "id": "msg_1", "role": "assistant",
                "status": "in_progress", "content": []}}),
            );
            s += &named(
                "response.content_part.added",
                json!({"type": "response.content_part.added",
                "item_id": "msg_1", "output_index": 1, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}}),
            );
            s += &named(
                "response.output_text.delta",
                json!({"type": "response.output_text.delta",
                "item_id": "msg_1", "output_index": 1, "content_index": 0, "delta": "Dis \u{e0} \u{1F600}"}),
            );
            s += &named(
                "response.output_text.done",
                json!({"type": "response.output_text.done",
                "item_id": "msg_1", "output_index": 1, "content_index": 0, "text": "Dis \u{e0} \u{1F600}"}),
            );
            s += &named(
                "response.output_item.added",
                json!({"type": "response.output_item.added",
                "output_index": 2, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": "get_weather", "arguments": ""}}),
            );
            s += &named(
                "response.function_call_arguments.delta",
                json!({"type": "response.function_call_arguments.delta",
                "item_id": "fc_1", "output_index": 2, "delta": "{\"city\":\"Oslo\"}"}),
            );
            s += &named(
                "response.output_item.done",
                json!({"type": "response.output_item.done",
                "output_index": 2, "item": {"type": "function_call", "id": "fc_1", "call_id": "call_1",
                "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}),
            );
            s += &named(
                "response.completed",
                json!({"type": "response.completed", "response":
                resp("completed", json!([]), json!({"input_tokens": 30, "output_tokens": 12, "total_tokens": 42,
                "input_tokens_details": {"cached_tokens": 5}, "output_tokens_details": {"reasoning_tokens": 3}}))}),
            );
            s
        }
    }
}

/// Requests of dialect `d`: a plain one and one with system text, images, tools, a tool call
/// and its result, reasoning settings and sampling parameters.
fn request_seeds(d: Dialect) -> Vec<Value> {
    match d {
        Dialect::OpenAiChat => vec![
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}),
            json!({"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true},
            "temperature": 0.7, "top_p": 0.9, "max_tokens": 100, "max_completion_tokens": 200,
            "stop": ["###", "\n\n"], "seed": 42, "n": 1, "user": "u1", "reasoning_effort": "high",
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "parallel_tool_calls": false,
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "w",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "developer", "content": [{"type": "text", "text": "Dev."}]},
                {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "assistant", "content": "It is 18C.", "refusal": null},
                {"role": "user", "content": "proxy-cli status"}
            ]}),
        ],
        Dialect::Anthropic => vec![
            json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": [{"role": "user", "content": "hi"}]}),
            json!({"model": "claude-opus-4", "max_tokens": 4096, "stream": true, "temperature": 1,
            "top_k": 5, "stop_sequences": ["###"], "metadata": {"user_id": "u1"},
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
            "tools": [{"name": "get_weather", "description": "w", "input_schema": {"type": "object",
                "properties": {"city": {"type": "string"}}}}, {"type": "web_search_20250305", "name": "web_search"}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Look"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "EqQB"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "18C"}], "is_error": false}]},
                {"role": "user", "content": "Thanks"}
            ]}),
        ],
        Dialect::Responses => vec![
            json!({"model": "gpt-4.1", "input": "hi"}),
            json!({"model": "o3", "stream": true, "instructions": "Be terse.", "max_output_tokens": 500,
            "temperature": 0.2, "top_p": 1, "store": false, "previous_response_id": null,
            "reasoning": {"effort": "medium", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
            "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": true,
            "tools": [{"type": "function", "name": "get_weather", "description": "w",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": true}],
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Dev."}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}],
                    "encrypted_content": "gAAAA"},
                {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                    "arguments": "{\"city\":\"Oslo\"}"},
                {"type": "function_call_output", "call_id": "call_1", "output": "5C"},
                {"role": "assistant", "content": "It is 5C."},
                {"role": "user", "content": "Thanks"}
            ]}),
        ],
    }
}

/// Complete answers of dialect `d`: text only, and reasoning + text + tool calls + usage.
fn response_seeds(d: Dialect) -> Vec<Value> {
    match d {
        Dialect::OpenAiChat => vec![
            json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello \u{1F600}",
                "refusal": null}, "logprobs": null, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}),
            json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Checking",
                "reasoning_content": "think", "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                "finish_reason": "tool_calls"}],
                "usage": {"prompt_tokens": 30, "completion_tokens": 20, "total_tokens": 50,
                "prompt_tokens_details": {"cached_tokens": 10}, "completion_tokens_details": {"reasoning_tokens": 5}}}),
        ],
        Dialect::Anthropic => vec![
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
                "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 2}}),
            json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "thinking", "thinking": "hm", "signature": "EqQB"},
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "text", "text": "Checking"},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 30, "cache_creation_input_tokens": 4, "cache_read_input_tokens": 7,
                    "output_tokens": 20}}),
        ],
        Dialect::Responses => vec![
            json!({"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4.1",
                "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}],
                "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}),
            json!({"id": "resp_2", "object": "response", "created_at": 1, "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"}, "model": "o3",
                "output": [{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}],
                    "encrypted_content": "gAAAA"},
                    {"type": "message", "id": "msg_1", "role": "assistant", "content": [
                        {"type": "output_text", "text": "Checking", "annotations": []},
                        {"type": "refusal", "refusal": "no"}]},
                    {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather",
                        "arguments": "{\"city\":\"Oslo\"}", "status": "completed"}],
                "usage": {"input_tokens": 30, "output_tokens": 20, "total_tokens": 50,
                    "input_tokens_details": {"cached_tokens": 5}, "output_tokens_details": {"reasoning_tokens": 3}}}),
        ],
    }
}

/// Error bodies as the three APIs send them, and some that are not.
fn error_seeds() -> Vec<Vec<u8>> {
    vec![
        br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.to_vec(),
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#.to_vec(),
        br#"{"error":{"code":"server_error","message":"The server had an error"}}"#.to_vec(),
        br#"{"detail":"Not Found"}"#.to_vec(),
        b"<html><body>502 Bad Gateway</body></html>".to_vec(),
        b"".to_vec(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Strings that stress escaping, width and normalisation.
const ODD_STRINGS: &[&str] = &[
    "",
    "\u{0}",
    "\u{202E}gnp.exe",
    "e\u{301}\u{301}\u{301}",
    "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}",
    "\u{FFFF}\u{FFFE}\u{FEFF}",
    "\u{10FFFF}",
    "\\\"\n\r\t\u{8}\u{c}",
    "data: [DONE]\n\n",
    "event: error\ndata: {}\n\n",
    "</script><script>",
    "null",
    "{\"nested\": \"json in a string\"}",
    "\u{2028}\u{2029}",
];

fn odd_number(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => json!(u64::MAX),
        1 => json!(i64::MIN),
        2 => json!(-1),
        3 => json!(0),
        4 => json!(1.5),
        5 => json!(f64::MAX),
        6 => json!(-f64::MAX),
        7 => json!(f64::MIN_POSITIVE),
        _ => json!(4_294_967_296u64),
    }
}

/// A value of a random (usually wrong) type.
fn odd_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => odd_number(rng),
        3 => Value::String(rng.pick(ODD_STRINGS).to_string()),
        4 => Value::String("x".repeat(rng.below(100_000))),
        5 => json!([]),
        6 => json!({}),
        7 => nested(rng.below(120), rng.chance(50)),
        8 if depth < 3 => {
            let n = rng.below(4);
            Value::Array((0..n).map(|_| odd_value(rng, depth + 1)).collect())
        }
        _ if depth < 3 => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                let k = rng.pick(&["type", "text", "id", "index", "delta", "content", "role"]);
                m.insert(k.to_string(), odd_value(rng, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// A value nested `depth` levels (kept within serde_json's own limit of 128, as every value the
/// gateway decodes comes from serde_json).
fn nested(depth: usize, objects: bool) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = if objects { json!({"a": v}) } else { json!([v]) };
    }
    v
}

/// Every path to a node of `v`, as indices/keys.
fn paths(v: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(prefix.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(PathStep::Index(i));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                prefix.push(PathStep::Key(k.clone()));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum PathStep {
    Index(usize),
    Key(String),
}

fn node_mut<'a>(v: &'a mut Value, path: &[PathStep]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        PathStep::Index(i) => &mut v[*i],
        PathStep::Key(k) => &mut v[k.as_str()],
    })
}

/// One structural mutation of a JSON value.
fn mutate_value(rng: &mut Rng, v: &mut Value) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    let path = rng.pick(&all).clone();
    let node = node_mut(v, &path);
    match rng.below(8) {
        0 | 1 => *node = odd_value(rng, 0),
        2 => {
            // Drop a key or an element.
            match node {
                Value::Object(m) if !m.is_empty() => {
                    let k = m.keys().nth(rng.below(m.len())).unwrap().clone();
                    m.remove(&k);
                }
                Value::Array(a) if !a.is_empty() => {
                    let i = rng.below(a.len());
                    a.remove(i);
                }
                _ => *node = Value::Null,
            }
        }
        3 => {
            // Duplicate elements, or the whole node into an array.
            match node {
                Value::Array(a) if !a.is_empty() => {
                    let x = a[rng.below(a.len())].clone();
                    for _ in 0..1 + rng.below(50) {
                        a.push(x.clone());
                    }
                }
                other => *other = json!([other.clone(), other.clone()]),
            }
        }
        4 => {
            // Rename a key to one the dialects use elsewhere.
            if let Value::Object(m) = node {
                if !m.is_empty() {
                    let k = m.keys().nth(rng.below(m.len())).unwrap().clone();
                    let x = m.remove(&k).unwrap();
                    let new = rng.pick(&[
                        "type",
                        "text",
                        "index",
                        "id",
                        "content",
                        "delta",
                        "arguments",
                        "input",
                        "tool_calls",
                        "choices",
                        "usage",
                        "message",
                        "item",
                        "response",
                        "output",
                        "content_block",
                        "partial_json",
                        "role",
                        "name",
                        "call_id",
                    ]);
                    m.insert(new.to_string(), x);
                }
            }
        }
        5 => {
            if let Value::String(s) = node {
                let odd = rng.pick(ODD_STRINGS);
                let at = rng.below(s.len() + 1);
                let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
                s.insert_str(at, odd);
            } else if node.is_number() {
                *node = odd_number(rng);
            } else {
                *node = odd_value(rng, 0);
            }
        }
        6 => *node = nested(60 + rng.below(60), rng.chance(50)),
        _ => {
            // Swap in a type/index field of a wrong kind where decoders look first.
            if let Value::Object(m) = node {
                let k = rng.pick(&[
                    "type",
                    "index",
                    "output_index",
                    "content_index",
                    "finish_reason",
                    "stop_reason",
                ]);
                m.insert(k.to_string(), odd_value(rng, 1));
            }
        }
    }
}

/// Keys that decoders look at first, to insert a second time with a wrong value.
const DUPLICATE_KEYS: [&[u8]; 5] = [
    b"\"type\":1,",
    b"\"index\":-1,",
    b"\"id\":null,",
    b"\"delta\":{},",
    b"\"choices\":[],",
];
/// What a line feed may be rewritten to.
const LINE_ENDS: [&[u8]; 4] = [b"\r", b"\r\n", b"", b"\n\n"];
/// Byte sequences that are not UTF-8: a stray byte, an overlong encoding, a surrogate, a cut
/// sequence, a code point past U+10FFFF.
const INVALID_UTF8: [&[u8]; 5] = [
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe2\x82",
    b"\xf4\x90\x80\x80",
];

/// One byte-level mutation of `b`; `other` is another payload to splice from.
fn mutate_bytes(rng: &mut Rng, b: &mut Vec<u8>, other: &[u8]) {
    let len = b.len();
    match rng.below(11) {
        0 if len > 0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => b.truncate(rng.below(len + 1)),
        2 => {
            let at = rng.below(len + 1);
            let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            b.splice(at..at, junk);
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(200)).min(len);
            let piece = b[start..end].to_vec();
            let at = rng.below(len + 1);
            b.splice(at..at, piece);
        }
        4 if !other.is_empty() => {
            let start = rng.below(other.len());
            let end = (start + 1 + rng.below(400)).min(other.len());
            let at = rng.below(len + 1);
            b.splice(at..at, other[start..end].iter().copied());
        }
        5 => {
            // Deep nesting past serde_json's limit.
            let depth = 129 + rng.below(5000);
            let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let at = rng.below(len + 1);
            b.splice(at..at, deep.into_bytes());
        }
        6 => {
            // A duplicate key right after an opening brace.
            if let Some(at) = b.iter().position(|&c| c == b'{') {
                let dup = *rng.pick(&DUPLICATE_KEYS);
                b.splice(at + 1..at + 1, dup.iter().copied());
            }
        }
        7 => {
            // Line endings rewritten: LF to CR, CRLF, or gone.
            let to = *rng.pick(&LINE_ENDS);
            let mut out = Vec::with_capacity(len);
            for &c in b.iter() {
                if c == b'\n' && rng.chance(50) {
                    out.extend_from_slice(to);
                } else {
                    out.push(c);
                }
            }
            *b = out;
        }
        8 => {
            // Invalid UTF-8.
            let at = rng.below(len + 1);
            let bad = *rng.pick(&INVALID_UTF8);
            b.splice(at..at, bad.iter().copied());
        }
        9 => {
            // A huge number literal.
            let at = rng.below(len + 1);
            let n = format!("{}e{}", "9".repeat(1 + rng.below(400)), rng.below(1000));
            b.splice(at..at, n.into_bytes());
        }
        _ => {
            let at = rng.below(len + 1);
            let s = rng.pick(ODD_STRINGS).as_bytes().to_vec();
            b.splice(at..at, s);
        }
    }
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    // Biased towards bytes that mean something to the parsers.
    const ALPHABET: &[u8] = b"data:event: {}[]\",:\n\r\\0123456789aeltrunfx";
    (0..n)
        .map(|_| {
            if rng.chance(70) {
                *rng.pick(ALPHABET)
            } else {
                rng.next() as u8
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running cases
// ---------------------------------------------------------------------------------------------

/// Failures of one target: case number, what went wrong, the input.
struct Findings {
    target: &'static str,
    seed: u64,
    failures: Vec<String>,
    slowest: Duration,
    cases: usize,
}

impl Findings {
    fn new(target: &'static str, seed: u64) -> Findings {
        Findings {
            target,
            seed,
            failures: Vec::new(),
            slowest: Duration::ZERO,
            cases: 0,
        }
    }

    /// Runs one case; a panic or an over-long run is recorded with its input.
    fn case(&mut self, n: usize, input: &[u8], f: impl FnOnce()) {
        self.cases += 1;
        let started = thread_cpu_time();
        IN_CASE.with(|c| c.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        IN_CASE.with(|c| c.set(false));
        let took = thread_cpu_time().saturating_sub(started);
        self.slowest = self.slowest.max(took);
        let problem = match result {
            Err(payload) => Some(format!(
                "panicked at {}: {}",
                PANIC_AT.with(|p| p.borrow().clone()),
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
            Ok(()) if took > CASE_LIMIT => {
                Some(format!("took {took:?} of CPU time (limit {CASE_LIMIT:?})"))
            }
            Ok(()) => None,
        };
        if let Some(problem) = problem {
            let file = std::env::temp_dir().join(format!(
                "llm-gw-fuzz-{}-{}-{n}.bin",
                self.target.replace(' ', "_"),
                self.seed
            ));
            let _ = std::fs::write(&file, input);
            let shown = String::from_utf8_lossy(&input[..input.len().min(1500)]).into_owned();
            self.failures.push(format!(
                "[{}] seed {} case {n}: {problem}\n  input ({} bytes, saved to {}): {shown:?}",
                self.target,
                self.seed,
                input.len(),
                file.display()
            ));
        }
    }

    fn finish(self) {
        eprintln!(
            "fuzz {}: {} cases, seed {}, slowest case {:?} of CPU time",
            self.target, self.cases, self.seed, self.slowest
        );
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed (re-run with FUZZ_SEED={}):\n{}",
            self.failures.len(),
            self.cases,
            self.seed,
            self.failures
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// CPU time of the calling thread: unlike wall time, it does not count the time other
/// processes had the CPU, so a busy machine does not make a case look slow.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

thread_local! {
    /// Set while a case runs: its panic is reported with its input, not printed on its own.
    static IN_CASE: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic inside a case happened (`file:line:column`).
    static PANIC_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Silences the default panic message for panics inside a case, once per process.
fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_CASE.with(Cell::get) {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                    .unwrap_or_default();
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                default(info);
            }
        }));
    });
}

/// Encodes `events` for a client of every dialect (with `request` as the client's request).
fn encode_everywhere(events: &[ir::Event], request: &ir::Request) {
    for client in Dialect::ALL {
        let mut encoder = client.stream_encoder(request);
        let mut out = Vec::new();
        for e in events {
            encoder.encode(e, &mut out);
        }
        // What the encoder wrote must itself parse as SSE.
        for ev in EventReader::new(Cursor::new(out)) {
            ev.expect("an encoder's own frames parse as SSE");
        }
    }
}

/// Parses `bytes` as an SSE stream (odd buffer sizes, a small line cap now and then), decodes it
/// as dialect `d`, and re-encodes what came out for every client dialect.
fn stream_through(rng: &mut Rng, d: Dialect, bytes: &[u8], request: &ir::Request) {
    let cap = 1 + rng.below(64);
    let max_line = if rng.chance(10) {
        1 + rng.below(200)
    } else {
        sse::DEFAULT_MAX_LINE
    };
    let reader = EventReader::with_max_line(
        BufReader::with_capacity(cap, Cursor::new(bytes.to_vec())),
        max_line,
    );
    let mut decoder = d.stream_decoder();
    let mut events = Vec::new();
    for (i, ev) in reader.enumerate() {
        if i > 10_000 {
            break;
        }
        match ev {
            Ok(ev) => {
                let _ = decoder.decode(&ev, &mut events);
            }
            Err(_) => break,
        }
    }
    decoder.finish(&mut events);
    encode_everywhere(&events, request);
}

/// Decodes a request value as dialect `d`; when it decodes, encodes it for every dialect.
fn request_through(d: Dialect, v: &Value) {
    if let Ok(request) = d.decode_request(v) {
        let _ = request.estimate_input_tokens();
        let _ = request.last_user_text();
        for to in Dialect::ALL {
            let encoded = to.encode_request(&request);
            let _ = serde_json::to_vec(&encoded).expect("an encoded request serializes");
        }
    }
}

/// Decodes a response value as dialect `d`; when it decodes, encodes it for every dialect, whole
/// and as a stream.
fn response_through(d: Dialect, v: &Value) {
    if let Ok(response) = d.decode_response(v) {
        for to in Dialect::ALL {
            let _ = serde_json::to_vec(&to.encode_response(&response))
                .expect("an encoded response serializes");
        }
        let events = response.to_events(|t| t.split_inclusive(' ').map(str::to_owned).collect());
        encode_everywhere(&events, &ir::Request::default());
    }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[test]
fn fuzz_sse_parser_on_random_and_mutated_bytes() {
    quiet_panics();
    let seed = base_seed();
    let mut rng = Rng(seed);
    let mut f = Findings::new("sse parser", seed);
    let seeds: Vec<Vec<u8>> = Dialect::ALL
        .iter()
        .map(|d| stream_seed(*d).into_bytes())
        .collect();
    for n in 0..cases(6000) {
        let mut input = if rng.chance(30) {
            let len = rng.below(2000);
            random_bytes(&mut rng, len)
        } else {
            rng.pick(&seeds).clone()
        };
        let other = rng.pick(&seeds).clone();
        for _ in 0..rng.below(6) {
            mutate_bytes(&mut rng, &mut input, &other);
        }
        let cap = 1 + rng.below(32);
        let max_line = 1 + rng.below(4096);
        f.case(n, &input, || {
            let reader = EventReader::with_max_line(
                BufReader::with_capacity(cap, Cursor::new(input.clone())),
                max_line,
            );
            let mut raw = Vec::new();
            let mut ok = true;
            for ev in reader.take(100_000) {
                match ev {
                    Ok(ev) => raw.extend_from_slice(&ev.raw),
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                // Without an error nothing is made up: the events' bytes are the input's bytes,
                // less blank lines between events, plus at most one newline closing the input.
                assert!(
                    raw.len() <= input.len() + 2,
                    "events hold more bytes than the input"
                );
            }
        });
    }
    f.finish();
}

#[test]
fn fuzz_stream_decoders_and_encoders_on_mutated_streams() {
    quiet_panics();
    let seed = base_seed() ^ 0x5757;
    let mut rng = Rng(seed);
    let mut f = Findings::new("stream decoders", seed);
    let seeds: Vec<(Dialect, Vec<u8>)> = Dialect::ALL
        .iter()
        .map(|d| (*d, stream_seed(*d).into_bytes()))
        .collect();
    let requests: Vec<ir::Request> = Dialect::ALL
        .iter()
        .flat_map(|d| {
            request_seeds(*d)
                .into_iter()
                .filter_map(move |v| d.decode_request(&v).ok())
        })
        .chain([ir::Request::default()])
        .collect();
    for n in 0..cases(3000) {
        // Any dialect's decoder gets any dialect's stream now and then.
        let (seed_dialect, bytes) = rng.pick(&seeds).clone();
        let d = if rng.chance(85) {
            seed_dialect
        } else {
            *rng.pick(&Dialect::ALL)
        };
        let mut input = bytes;
        let other = rng.pick(&seeds).1.clone();
        for _ in 0..1 + rng.below(4) {
            mutate_bytes(&mut rng, &mut input, &other);
        }
        let request = rng.pick(&requests).clone();
        let mut case_rng = Rng(rng.next());
        f.case(n, &input, || {
            stream_through(&mut case_rng, d, &input, &request)
        });
    }
    f.finish();
}

#[test]
fn fuzz_stream_decoders_on_structurally_mutated_events() {
    quiet_panics();
    let seed = base_seed() ^ 0xE7E7;
    let mut rng = Rng(seed);
    let mut f = Findings::new("stream events", seed);
    // Each seed stream as its events, the data parsed as JSON where it is.
    let streams: Vec<(Dialect, Vec<sse::Event>)> = Dialect::ALL
        .iter()
        .map(|d| {
            let events = EventReader::new(Cursor::new(stream_seed(*d).into_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            (*d, events)
        })
        .collect();
    for n in 0..cases(4000) {
        let (d, events) = rng.pick(&streams).clone();
        let mut events = events;
        // Mutate the JSON of a few events; drop, repeat or reorder some.
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(events.len());
            match rng.below(5) {
                0 | 1 => {
                    if let Ok(mut v) = serde_json::from_str::<Value>(&events[i].data) {
                        for _ in 0..1 + rng.below(3) {
                            mutate_value(&mut rng, &mut v);
                        }
                        events[i].data = v.to_string();
                    }
                }
                2 => {
                    events.remove(i);
                    if events.is_empty() {
                        break;
                    }
                }
                3 => {
                    let e = events[i].clone();
                    events.insert(rng.below(events.len() + 1), e);
                }
                _ => {
                    let j = rng.below(events.len());
                    events.swap(i, j);
                }
            }
        }
        if rng.chance(20) && !events.is_empty() {
            let i = rng.below(events.len());
            events[i].event = rng
                .pick(&[
                    "",
                    "error",
                    "ping",
                    "message_stop",
                    "response.failed",
                    "content_block_delta",
                    "response.output_text.delta",
                    "\u{0}",
                ])
                .to_string();
        }
        let input: Vec<u8> = events
            .iter()
            .flat_map(|e| format!("event: {}\ndata: {}\n\n", e.event, e.data).into_bytes())
            .collect();
        let request = ir::Request::default();
        f.case(n, &input, || {
            let mut decoder = d.stream_decoder();
            let mut out = Vec::new();
            for e in &events {
                let _ = decoder.decode(e, &mut out);
            }
            decoder.finish(&mut out);
            encode_everywhere(&out, &request);
        });
    }
    f.finish();
}

#[test]
fn fuzz_request_decoders() {
    quiet_panics();
    let seed = base_seed() ^ 0x4E0E;
    let mut rng = Rng(seed);
    let mut f = Findings::new("request decoders", seed);
    let seeds: Vec<(Dialect, Value)> = Dialect::ALL
        .iter()
        .flat_map(|d| request_seeds(*d).into_iter().map(move |v| (*d, v)))
        .collect();
    for n in 0..cases(6000) {
        let (seed_dialect, v) = rng.pick(&seeds).clone();
        let d = if rng.chance(80) {
            seed_dialect
        } else {
            *rng.pick(&Dialect::ALL)
        };
        let mut v = v;
        let bytes = if rng.chance(60) {
            for _ in 0..1 + rng.below(5) {
                mutate_value(&mut rng, &mut v);
            }
            serde_json::to_vec(&v).unwrap()
        } else {
            let mut b = serde_json::to_vec(&v).unwrap();
            let other = serde_json::to_vec(&rng.pick(&seeds).1).unwrap();
            for _ in 0..1 + rng.below(4) {
                mutate_bytes(&mut rng, &mut b, &other);
            }
            b
        };
        f.case(n, &bytes, || {
            // What the proxy does with a body: peek at model and stream, maybe rewrite the
            // model, then decode it in full.
            if incoming::peek(&bytes).is_ok() {
                let _ = incoming::rewrite_model(&bytes, "other-model");
            }
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                request_through(d, &v);
            }
        });
    }
    f.finish();
}

#[test]
fn fuzz_response_and_error_decoders() {
    quiet_panics();
    let seed = base_seed() ^ 0x8E59;
    let mut rng = Rng(seed);
    let mut f = Findings::new("response decoders", seed);
    let seeds: Vec<(Dialect, Value)> = Dialect::ALL
        .iter()
        .flat_map(|d| response_seeds(*d).into_iter().map(move |v| (*d, v)))
        .collect();
    let errors = error_seeds();
    for n in 0..cases(6000) {
        if rng.chance(20) {
            let mut b = rng.pick(&errors).clone();
            let other = rng.pick(&errors).clone();
            for _ in 0..rng.below(4) {
                mutate_bytes(&mut rng, &mut b, &other);
            }
            let status = *rng.pick(&[
                0u16,
                99,
                200,
                400,
                401,
                404,
                413,
                429,
                500,
                502,
                503,
                504,
                529,
                999,
                u16::MAX,
            ]);
            f.case(n, &b, || {
                for d in Dialect::ALL {
                    let err = d.decode_error(status, &b);
                    for to in Dialect::ALL {
                        let _ = to.error_body(&err);
                        let _ = to.error_status(&err);
                    }
                }
            });
            continue;
        }
        let (seed_dialect, v) = rng.pick(&seeds).clone();
        let d = if rng.chance(80) {
            seed_dialect
        } else {
            *rng.pick(&Dialect::ALL)
        };
        let mut v = v;
        let bytes = if rng.chance(60) {
            for _ in 0..1 + rng.below(5) {
                mutate_value(&mut rng, &mut v);
            }
            serde_json::to_vec(&v).unwrap()
        } else {
            let mut b = serde_json::to_vec(&v).unwrap();
            let other = serde_json::to_vec(&rng.pick(&seeds).1).unwrap();
            for _ in 0..1 + rng.below(4) {
                mutate_bytes(&mut rng, &mut b, &other);
            }
            b
        };
        f.case(n, &bytes, || {
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                response_through(d, &v);
            }
        });
    }
    f.finish();
}

#[test]
fn fuzz_seeds_decode_cleanly() {
    // The seeds themselves are well-formed: if they stopped decoding, the mutations above would
    // only ever test the error paths.
    for d in Dialect::ALL {
        for v in request_seeds(d) {
            d.decode_request(&v)
                .unwrap_or_else(|e| panic!("{d:?} request seed does not decode: {e}\n{v}"));
        }
        for v in response_seeds(d) {
            d.decode_response(&v)
                .unwrap_or_else(|e| panic!("{d:?} response seed does not decode: {e}\n{v}"));
        }
        let mut decoder = d.stream_decoder();
        let mut out = Vec::new();
        for ev in EventReader::new(Cursor::new(stream_seed(d).into_bytes())) {
            decoder
                .decode(&ev.unwrap(), &mut out)
                .unwrap_or_else(|e| panic!("{d:?} stream seed does not decode: {e}"));
        }
        assert!(
            !out.iter().any(|e| matches!(e, ir::Event::Error { .. })),
            "{d:?} stream seed decodes without an error: {out:?}"
        );
    }
}

#[test]
fn fuzz_mutators_are_deterministic() {
    let run = || {
        let mut rng = Rng(base_seed());
        let mut b = stream_seed(Dialect::Anthropic).into_bytes();
        let mut v = request_seeds(Dialect::Responses).pop().unwrap();
        for _ in 0..50 {
            mutate_bytes(&mut rng, &mut b, b"other");
            mutate_value(&mut rng, &mut v);
        }
        (b, v)
    };
    assert_eq!(run(), run(), "the same seed gives the same inputs");
}
