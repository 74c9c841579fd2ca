//! Assistant turns for the conversion tests: one neutral description of what a model answered
//! ([`Turn`]), written out by hand as each backend dialect sends it (complete body and SSE stream),
//! and what each client dialect must get back from it ([`expected`]).
//!
//! The backend payloads follow the public API references, cited per builder. They are written
//! here, independently of the gateway's own encoders, so a shared misunderstanding cannot make a
//! test pass. Each dialect can say less than the others; [`Turn::seen_by`] writes down what a
//! backend dialect cannot express, so the expectation never asks for information the backend
//! never sent.

#![allow(dead_code)]

use serde_json::{json, Value};

use crate::common::payloads::{data_frame, named_frame};
use crate::common::Dialect;

/// Why the model stopped, in neutral terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    End,
    MaxTokens,
    Sequence(&'static str),
    ToolUse,
    /// Anthropic `refusal`, OpenAI `content_filter`, Responses `incomplete`/`content_filter`:
    /// a safety classifier stopped the answer.
    Refusal,
}

/// Token counts, in neutral terms: `input` counts every input token, cached ones included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

#[derive(Clone, Debug)]
pub struct Call {
    /// The id body; each backend dialect writes it with its own prefix (see [`Call::id_for`]).
    pub core: &'static str,
    pub name: &'static str,
    /// The JSON arguments in the fragments a stream sends them in.
    pub args: Vec<&'static str>,
}

impl Call {
    /// The call id as a backend of this dialect makes it: `toolu_…` for Anthropic, `call_…` for
    /// the OpenAI APIs. A client must get exactly this id back, or it cannot answer the call.
    pub fn id_for(&self, d: Dialect) -> String {
        match d {
            Dialect::Anthropic => format!("toolu_{}", self.core),
            _ => format!("call_{}", self.core),
        }
    }

    pub fn arguments(&self) -> String {
        self.args.concat()
    }

    pub fn arguments_json(&self) -> Value {
        serde_json::from_str(&self.arguments()).expect("test arguments are JSON")
    }
}

/// One assistant turn, whatever dialect carries it.
#[derive(Clone, Debug)]
pub struct Turn {
    pub name: &'static str,
    /// The id body; each backend writes it with its own prefix (see [`Turn::id_for`]).
    pub core_id: &'static str,
    pub model: &'static str,
    /// Reasoning text fragments; empty means no reasoning.
    pub reasoning: Vec<&'static str>,
    /// Anthropic's thinking signature / Responses `encrypted_content`; empty means none.
    pub signature: &'static str,
    pub text: Vec<&'static str>,
    pub calls: Vec<Call>,
    pub stop: Stop,
    pub usage: Usage,
}

impl Turn {
    /// The response id as a backend of this dialect makes it.
    pub fn id_for(&self, d: Dialect) -> String {
        match d {
            Dialect::OpenAi => format!("chatcmpl-{}", self.core_id),
            Dialect::Anthropic => format!("msg_{}", self.core_id),
            Dialect::Responses => format!("resp_{}", self.core_id),
        }
    }

    pub fn reasoning_text(&self) -> String {
        self.reasoning.concat()
    }

    pub fn full_text(&self) -> String {
        self.text.concat()
    }

    /// The turn as dialect `d` can say it. What is lost, per dialect:
    /// - OpenAI chat: no thinking signature (`reasoning_content` is bare text).
    /// - Anthropic: nothing of this model (it has the richest shape).
    /// - Responses: no stop sequences (the API has none), so a stop-sequence stop is a plain end.
    pub fn seen_by(&self, d: Dialect) -> Turn {
        let mut t = self.clone();
        match d {
            Dialect::OpenAi => t.signature = "",
            Dialect::Anthropic => {}
            Dialect::Responses => {
                if let Stop::Sequence(_) = t.stop {
                    t.stop = Stop::End;
                }
            }
        }
        t
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// Reasoning, text and two parallel tool calls with streamed arguments; cached input.
pub fn tool_turn() -> Turn {
    Turn {
        name: "tool_turn",
        core_id: "01XFDUDYJgAACzvnptvVoYEL",
        model: "backend-model-7b",
        reasoning: vec![
            "The user wants ",
            "weather for two ",
            "cities; call the tool twice.",
        ],
        signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds",
        text: vec!["Let me check ", "both cities."],
        calls: vec![
            Call {
                core: "8CZ2r1Yzvq0dAs2U",
                name: "get_weather",
                args: vec!["{\"city\":", " \"Paris\", ", "\"unit\": \"c\"}"],
            },
            Call {
                core: "Qx7bT3mWfE1pLk9A",
                name: "get_weather",
                args: vec!["{\"city\": \"Os", "lo\", \"unit\": \"c\"}"],
            },
        ],
        stop: Stop::ToolUse,
        usage: Usage {
            input: 2150,
            output: 96,
            cache_read: 2048,
            cache_write: 0,
            reasoning: 0,
        },
    }
}

fn text_turn(name: &'static str, stop: Stop, text: Vec<&'static str>) -> Turn {
    Turn {
        name,
        core_id: "B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        model: "backend-model-7b",
        reasoning: vec![],
        signature: "",
        text,
        calls: vec![],
        stop,
        usage: Usage {
            input: 31,
            output: 9,
            cache_read: 0,
            cache_write: 0,
            reasoning: 0,
        },
    }
}

/// Every stop reason, with text that has characters JSON must escape.
pub fn all_turns() -> Vec<Turn> {
    vec![
        tool_turn(),
        text_turn(
            "end_turn",
            Stop::End,
            vec!["Caf\u{e9} \"quoted\"", " line\nbreak \u{1F600}", " done."],
        ),
        text_turn(
            "max_tokens",
            Stop::MaxTokens,
            vec!["This answer is cut ", "off at the lim"],
        ),
        text_turn(
            "stop_sequence",
            Stop::Sequence("###"),
            vec!["1. one\n", "2. two\n"],
        ),
        text_turn(
            "refusal",
            Stop::Refusal,
            vec!["I can't help ", "with that."],
        ),
    ]
}

/// A turn whose usage has the detail counts not every dialect can carry: cache writes and
/// reasoning tokens.
pub fn detailed_usage_turn() -> Turn {
    let mut t = tool_turn();
    t.name = "detailed_usage";
    t.usage = Usage {
        input: 3300,
        output: 420,
        cache_read: 2048,
        cache_write: 1000,
        reasoning: 300,
    };
    t
}

// ---------------------------------------------------------------------------------------------
// Backend payloads: complete bodies
// ---------------------------------------------------------------------------------------------

/// The complete answer of a backend of dialect `d`.
pub fn backend_json(d: Dialect, t: &Turn) -> Value {
    match d {
        Dialect::OpenAi => openai_json(t),
        Dialect::Anthropic => anthropic_json(t),
        Dialect::Responses => responses_json(t),
    }
}

/// The stream of a backend of dialect `d`, one SSE frame per element.
pub fn backend_sse(d: Dialect, t: &Turn) -> Vec<Vec<u8>> {
    match d {
        Dialect::OpenAi => openai_sse(t),
        Dialect::Anthropic => anthropic_sse(t),
        Dialect::Responses => responses_sse(t),
    }
}

fn finish_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::End | Stop::Sequence(_) => "stop",
        Stop::MaxTokens => "length",
        Stop::ToolUse => "tool_calls",
        Stop::Refusal => "content_filter",
    }
}

/// Chat Completions usage (<https://platform.openai.com/docs/api-reference/chat/object>,
/// `usage`; `cache_write_tokens` per openai-python `types/completion_usage.py`).
fn openai_usage(u: &Usage) -> Value {
    let mut prompt_details = json!({"cached_tokens": u.cache_read, "audio_tokens": 0});
    if u.cache_write > 0 {
        prompt_details["cache_write_tokens"] = json!(u.cache_write);
    }
    json!({
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.input + u.output,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

/// A chat completion as OpenAI, vLLM and llama.cpp return it
/// (<https://platform.openai.com/docs/api-reference/chat/object>). Reasoning is llama.cpp's and
/// vLLM's `reasoning_content`; a matched stop string is vLLM's `stop_reason`.
fn openai_json(t: &Turn) -> Value {
    let text = t.full_text();
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() { Value::Null } else { json!(text) },
        "refusal": null,
        "annotations": []
    });
    if !t.reasoning.is_empty() {
        message["reasoning_content"] = json!(t.reasoning_text());
    }
    if !t.calls.is_empty() {
        message["tool_calls"] = t
            .calls
            .iter()
            .map(|c| {
                json!({"id": c.id_for(Dialect::OpenAi), "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments()}})
            })
            .collect();
    }
    let mut choice = json!({
        "index": 0, "message": message, "logprobs": null,
        "finish_reason": finish_reason(&t.stop)
    });
    if let Stop::Sequence(s) = t.stop {
        choice["stop_reason"] = json!(s);
    }
    json!({
        "id": t.id_for(Dialect::OpenAi),
        "object": "chat.completion",
        "created": 1741570283,
        "model": t.model,
        "choices": [choice],
        "usage": openai_usage(&t.usage),
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    })
}

fn anthropic_stop(stop: &Stop) -> (&'static str, Value) {
    match stop {
        Stop::End => ("end_turn", Value::Null),
        Stop::MaxTokens => ("max_tokens", Value::Null),
        Stop::Sequence(s) => ("stop_sequence", json!(s)),
        Stop::ToolUse => ("tool_use", Value::Null),
        Stop::Refusal => ("refusal", Value::Null),
    }
}

/// Anthropic usage: `input_tokens` leaves out cache reads and writes
/// (<https://docs.anthropic.com/en/api/messages>, `usage`); `output_tokens_details` per
/// anthropic-sdk-python `types/output_tokens_details.py`.
fn anthropic_usage(u: &Usage) -> Value {
    let mut v = json!({
        "input_tokens": u.input - u.cache_read - u.cache_write,
        "cache_creation_input_tokens": u.cache_write,
        "cache_read_input_tokens": u.cache_read,
        "output_tokens": u.output,
        "service_tier": "standard"
    });
    if u.reasoning > 0 {
        v["output_tokens_details"] = json!({"thinking_tokens": u.reasoning});
    }
    v
}

/// A Message as `POST /v1/messages` returns it (<https://docs.anthropic.com/en/api/messages>).
fn anthropic_json(t: &Turn) -> Value {
    let mut content = Vec::new();
    if !t.reasoning.is_empty() {
        content.push(
            json!({"type": "thinking", "thinking": t.reasoning_text(), "signature": t.signature}),
        );
    }
    if !t.text.is_empty() {
        content.push(json!({"type": "text", "text": t.full_text()}));
    }
    for c in &t.calls {
        content.push(
            json!({"type": "tool_use", "id": c.id_for(Dialect::Anthropic),
                            "name": c.name, "input": c.arguments_json()}),
        );
    }
    let (stop_reason, stop_sequence) = anthropic_stop(&t.stop);
    json!({
        "id": t.id_for(Dialect::Anthropic),
        "type": "message",
        "role": "assistant",
        "model": t.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": anthropic_usage(&t.usage)
    })
}

/// Responses usage (<https://platform.openai.com/docs/api-reference/responses/object>, `usage`;
/// `cache_write_tokens` per openai-python `types/responses/response_usage.py`).
fn responses_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input,
        "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
        "output_tokens": u.output,
        "output_tokens_details": {"reasoning_tokens": u.reasoning},
        "total_tokens": u.input + u.output
    })
}

fn responses_status(stop: &Stop) -> (&'static str, Value) {
    match stop {
        Stop::MaxTokens => ("incomplete", json!({"reason": "max_output_tokens"})),
        Stop::Refusal => ("incomplete", json!({"reason": "content_filter"})),
        _ => ("completed", Value::Null),
    }
}

fn responses_items(t: &Turn) -> Vec<Value> {
    let mut out = Vec::new();
    if !t.reasoning.is_empty() {
        let mut item = json!({"id": format!("rs_{}", t.core_id), "type": "reasoning",
            "summary": [{"type": "summary_text", "text": t.reasoning_text()}]});
        if !t.signature.is_empty() {
            item["encrypted_content"] = json!(t.signature);
        }
        out.push(item);
    }
    if !t.text.is_empty() {
        out.push(json!({"id": format!("msg_{}", t.core_id), "type": "message",
            "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": t.full_text(), "annotations": [], "logprobs": []}]}));
    }
    for c in &t.calls {
        out.push(
            json!({"id": format!("fc_{}", c.core), "type": "function_call",
            "status": "completed", "call_id": c.id_for(Dialect::Responses), "name": c.name,
            "arguments": c.arguments()}),
        );
    }
    out
}

fn responses_object(
    t: &Turn,
    status: &str,
    output: Value,
    usage: Value,
    incomplete: Value,
) -> Value {
    json!({
        "id": t.id_for(Dialect::Responses),
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "background": false,
        "error": null,
        "incomplete_details": incomplete,
        "instructions": null,
        "max_output_tokens": null,
        "model": t.model,
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

/// A response object as `POST /v1/responses` returns it
/// (<https://platform.openai.com/docs/api-reference/responses/object>).
fn responses_json(t: &Turn) -> Value {
    let (status, incomplete) = responses_status(&t.stop);
    responses_object(
        t,
        status,
        Value::Array(responses_items(t)),
        responses_usage(&t.usage),
        incomplete,
    )
}

// ---------------------------------------------------------------------------------------------
// Backend payloads: streams
// ---------------------------------------------------------------------------------------------

/// The chunk stream of an OpenAI-compatible backend asked for `stream_options.include_usage`
/// (<https://platform.openai.com/docs/api-reference/chat-streaming/streaming>): a role chunk,
/// `reasoning_content` chunks (llama.cpp, vLLM), content chunks, per tool call a first chunk with
/// `id`, `type` and `function.name` then argument fragments, a finish chunk with an empty delta,
/// the usage chunk with `choices: []`, and `[DONE]`. Every chunk but the last has `usage: null`.
fn openai_sse(t: &Turn) -> Vec<Vec<u8>> {
    let id = t.id_for(Dialect::OpenAi);
    let chunk = |delta: Value, finish: Value| {
        let mut choice =
            json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish});
        if let (Stop::Sequence(s), false) = (&t.stop, finish.is_null()) {
            choice["stop_reason"] = json!(s);
        }
        data_frame(&json!({
            "id": id, "object": "chat.completion.chunk", "created": 1741570283,
            "model": t.model, "service_tier": "default", "system_fingerprint": "fp_06737a9306",
            "choices": [choice], "usage": null
        }))
    };
    let mut out = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    for r in &t.reasoning {
        out.push(chunk(json!({"reasoning_content": r}), Value::Null));
    }
    for p in &t.text {
        out.push(chunk(json!({"content": p}), Value::Null));
    }
    for (i, c) in t.calls.iter().enumerate() {
        out.push(chunk(
            json!({"tool_calls": [{"index": i, "id": c.id_for(Dialect::OpenAi), "type": "function",
                                    "function": {"name": c.name, "arguments": ""}}]}),
            Value::Null,
        ));
        for a in &c.args {
            out.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": a}}]}),
                Value::Null,
            ));
        }
    }
    out.push(chunk(json!({}), json!(finish_reason(&t.stop))));
    out.push(data_frame(&json!({
        "id": id, "object": "chat.completion.chunk", "created": 1741570283, "model": t.model,
        "service_tier": "default", "system_fingerprint": "fp_06737a9306", "choices": [],
        "usage": openai_usage(&t.usage)
    })));
    out.push(b"data: [DONE]\n\n".to_vec());
    out
}

/// The event stream of the Messages API
/// (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>): `message_start` with the
/// input counts, per block `content_block_start` / deltas / `content_block_stop` (thinking:
/// `thinking_delta`s then a `signature_delta`; tool use: `input_json_delta`s starting with an
/// empty one), a `ping`, `message_delta` with the stop reason and output count, `message_stop`.
fn anthropic_sse(t: &Turn) -> Vec<Vec<u8>> {
    let mut start_usage = anthropic_usage(&t.usage);
    start_usage["output_tokens"] = json!(1);
    if let Some(u) = start_usage.as_object_mut() {
        u.remove("output_tokens_details");
    }
    let mut out = vec![named_frame(
        "message_start",
        &json!({"type": "message_start", "message": {
            "id": t.id_for(Dialect::Anthropic), "type": "message", "role": "assistant",
            "model": t.model, "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": start_usage}}),
    )];
    let mut index = 0;
    let block_start = |index: usize, block: Value| {
        named_frame(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
        )
    };
    let delta = |index: usize, delta: Value| {
        named_frame(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let stop = |index: usize| {
        named_frame(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        )
    };
    if !t.reasoning.is_empty() {
        out.push(block_start(
            index,
            json!({"type": "thinking", "thinking": ""}),
        ));
        for r in &t.reasoning {
            out.push(delta(
                index,
                json!({"type": "thinking_delta", "thinking": r}),
            ));
        }
        out.push(delta(
            index,
            json!({"type": "signature_delta", "signature": t.signature}),
        ));
        out.push(stop(index));
        index += 1;
    }
    if !t.text.is_empty() {
        out.push(block_start(index, json!({"type": "text", "text": ""})));
        out.push(named_frame("ping", &json!({"type": "ping"})));
        for p in &t.text {
            out.push(delta(index, json!({"type": "text_delta", "text": p})));
        }
        out.push(stop(index));
        index += 1;
    }
    for c in &t.calls {
        out.push(block_start(
            index,
            json!({"type": "tool_use", "id": c.id_for(Dialect::Anthropic), "name": c.name, "input": {}}),
        ));
        out.push(delta(
            index,
            json!({"type": "input_json_delta", "partial_json": ""}),
        ));
        for a in &c.args {
            out.push(delta(
                index,
                json!({"type": "input_json_delta", "partial_json": a}),
            ));
        }
        out.push(stop(index));
        index += 1;
    }
    let (stop_reason, stop_sequence) = anthropic_stop(&t.stop);
    let mut usage = json!({"output_tokens": t.usage.output});
    if t.usage.reasoning > 0 {
        usage["output_tokens_details"] = json!({"thinking_tokens": t.usage.reasoning});
    }
    out.push(named_frame(
        "message_delta",
        &json!({"type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": usage}),
    ));
    out.push(named_frame(
        "message_stop",
        &json!({"type": "message_stop"}),
    ));
    out
}

/// The event stream of the Responses API
/// (<https://platform.openai.com/docs/api-reference/responses-streaming>): `response.created`,
/// `response.in_progress`, per output item `output_item.added`, its part and delta events and
/// `output_item.done`, then `response.completed` (or `response.incomplete`) with the whole
/// response. Every event has `type` and a `sequence_number`.
fn responses_sse(t: &Turn) -> Vec<Vec<u8>> {
    let mut seq = 0;
    let mut out = Vec::new();
    let mut push = |name: &str, mut v: Value| {
        v["type"] = json!(name);
        v["sequence_number"] = json!(seq);
        seq += 1;
        out.push(named_frame(name, &v));
    };
    let in_progress = responses_object(t, "in_progress", json!([]), Value::Null, Value::Null);
    push("response.created", json!({"response": in_progress}));
    push("response.in_progress", json!({"response": in_progress}));
    let items = responses_items(t);
    let mut idx = 0;
    if !t.reasoning.is_empty() {
        let item = &items[idx];
        let id = item["id"].clone();
        push(
            "response.output_item.added",
            json!({"output_index": idx, "item": {"id": id, "type": "reasoning", "summary": []}}),
        );
        push(
            "response.reasoning_summary_part.added",
            json!({"item_id": id, "output_index": idx, "summary_index": 0,
                   "part": {"type": "summary_text", "text": ""}}),
        );
        for r in &t.reasoning {
            push(
                "response.reasoning_summary_text.delta",
                json!({"item_id": id, "output_index": idx, "summary_index": 0, "delta": r}),
            );
        }
        push(
            "response.reasoning_summary_text.done",
            json!({"item_id": id, "output_index": idx, "summary_index": 0, "text": t.reasoning_text()}),
        );
        push(
            "response.reasoning_summary_part.done",
            json!({"item_id": id, "output_index": idx, "summary_index": 0,
                   "part": {"type": "summary_text", "text": t.reasoning_text()}}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        idx += 1;
    }
    if !t.text.is_empty() {
        let item = &items[idx];
        let id = item["id"].clone();
        push(
            "response.output_item.added",
            json!({"output_index": idx, "item": {"id": id, "type": "message", "status": "in_progress",
                                                  "role": "assistant", "content": []}}),
        );
        push(
            "response.content_part.added",
            json!({"item_id": id, "output_index": idx, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
        for p in &t.text {
            push(
                "response.output_text.delta",
                json!({"item_id": id, "output_index": idx, "content_index": 0, "delta": p, "logprobs": []}),
            );
        }
        push(
            "response.output_text.done",
            json!({"item_id": id, "output_index": idx, "content_index": 0, "text": t.full_text(), "logprobs": []}),
        );
        push(
            "response.content_part.done",
            json!({"item_id": id, "output_index": idx, "content_index": 0,
                   "part": {"type": "output_text", "text": t.full_text(), "annotations": []}}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        idx += 1;
    }
    for c in &t.calls {
        let item = &items[idx];
        let id = item["id"].clone();
        let mut added = item.clone();
        added["status"] = json!("in_progress");
        added["arguments"] = json!("");
        push(
            "response.output_item.added",
            json!({"output_index": idx, "item": added}),
        );
        for a in &c.args {
            push(
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": idx, "delta": a}),
            );
        }
        push(
            "response.function_call_arguments.done",
            json!({"item_id": id, "output_index": idx, "arguments": c.arguments()}),
        );
        push(
            "response.output_item.done",
            json!({"output_index": idx, "item": item}),
        );
        idx += 1;
    }
    let (status, incomplete) = responses_status(&t.stop);
    let done = responses_object(
        t,
        status,
        Value::Array(items),
        responses_usage(&t.usage),
        incomplete,
    );
    let name = if status == "completed" {
        "response.completed"
    } else {
        "response.incomplete"
    };
    push(name, json!({"response": done}));
    out
}

// ---------------------------------------------------------------------------------------------
// What a client must get
// ---------------------------------------------------------------------------------------------

/// A client's answer reduced to what the tests compare, in neutral terms; the client-dialect
/// folds in `fold.rs` fill it in while checking the wire shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Got {
    pub id: String,
    pub model: String,
    pub reasoning: Option<String>,
    /// The thinking signature / `encrypted_content`, `None` when absent or empty.
    pub signature: Option<String>,
    pub text: String,
    /// (call id, name, arguments as JSON).
    pub calls: Vec<(String, String, Value)>,
    /// The stop reason in the client's own terms: Anthropic (`stop_reason`, `stop_sequence`),
    /// chat (`finish_reason`, None), Responses (`status`, `incomplete_details.reason`).
    pub stop: (String, Option<String>),
    /// Input (cached included), output, cache reads.
    pub usage: (u64, u64, u64),
    /// Cache writes and reasoning tokens, where the client dialect has fields for them.
    pub usage_details: (u64, u64),
}

/// The stop reason a client of dialect `client` must see.
pub fn expected_stop(client: Dialect, stop: &Stop) -> (String, Option<String>) {
    let (a, b): (&str, Option<&str>) = match client {
        // https://docs.anthropic.com/en/api/messages — `stop_reason`, `stop_sequence`.
        Dialect::Anthropic => match stop {
            Stop::End => ("end_turn", None),
            Stop::MaxTokens => ("max_tokens", None),
            Stop::Sequence(s) => ("stop_sequence", Some(s)),
            Stop::ToolUse => ("tool_use", None),
            Stop::Refusal => ("refusal", None),
        },
        // https://platform.openai.com/docs/api-reference/chat/object — `finish_reason`.
        Dialect::OpenAi => (finish_reason(stop), None),
        // https://platform.openai.com/docs/api-reference/responses/object — `status`,
        // `incomplete_details.reason` ("max_output_tokens" or "content_filter").
        Dialect::Responses => match stop {
            Stop::MaxTokens => ("incomplete", Some("max_output_tokens")),
            Stop::Refusal => ("incomplete", Some("content_filter")),
            _ => ("completed", None),
        },
    };
    (a.to_string(), b.map(str::to_string))
}

/// What a client of dialect `client` must get for turn `t` sent by a backend of dialect
/// `backend`. The id and model are checked apart (see `check_ids`).
pub fn expected(client: Dialect, backend: Dialect, t: &Turn) -> Got {
    // What one side cannot say is lost, whichever side it is.
    let p = t.seen_by(backend).seen_by(client);
    let signature = (!p.signature.is_empty()).then(|| p.signature.to_string());
    Got {
        id: String::new(),
        model: String::new(),
        reasoning: (!p.reasoning.is_empty()).then(|| p.reasoning_text()),
        signature,
        text: p.full_text(),
        calls: p
            .calls
            .iter()
            .map(|c| (c.id_for(backend), c.name.to_string(), c.arguments_json()))
            .collect(),
        stop: expected_stop(client, &p.stop),
        usage: (p.usage.input, p.usage.output, p.usage.cache_read),
        // Every dialect has a place for both now: chat `prompt_tokens_details.cache_write_tokens`,
        // Anthropic `usage.output_tokens_details.thinking_tokens`.
        usage_details: (p.usage.cache_write, p.usage.reasoning),
    }
}

/// Lists the differences between what a client got and what it must get.
pub fn diff(expected: &Got, got: &Got, with_details: bool) -> Vec<String> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($field:ident) => {
            if expected.$field != got.$field {
                out.push(format!(
                    "{}: expected {:?}, got {:?}",
                    stringify!($field),
                    expected.$field,
                    got.$field
                ));
            }
        };
    }
    cmp!(reasoning);
    cmp!(signature);
    cmp!(text);
    cmp!(calls);
    cmp!(stop);
    cmp!(usage);
    if with_details {
        cmp!(usage_details);
    }
    out
}
