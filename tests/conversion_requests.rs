//! What a backend receives when the client speaks another dialect (issue 3): golden bodies for a
//! multi-turn tool loop per pair, then system prompts in every form, images both ways (tool
//! results too), tool follow-ups that omit the tool list, tool choice, token limits, sampling,
//! reasoning settings and response formats.
//!
//! Each expected body is written from the target's API reference:
//! - Anthropic Messages <https://docs.anthropic.com/en/api/messages>: `max_tokens` required,
//!   the system prompt top level, `tool_result` blocks first in a user turn, tools with
//!   `input_schema`, `tool_choice` `{type: auto|any|tool|none}`, `metadata.user_id`;
//! - Chat Completions <https://platform.openai.com/docs/api-reference/chat/create>: `role: tool`
//!   messages after the assistant's `tool_calls`, `image_url` parts, `stream_options`;
//! - Responses <https://platform.openai.com/docs/api-reference/responses/create>: `instructions`,
//!   `input` items (`function_call`, `function_call_output`, `input_image`), flat function tools.

mod common;
#[path = "common/golden.rs"]
mod golden;
#[path = "common/turns.rs"]
mod turns;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// Sends `body` from a `client` to a gateway in front of a `backend` mock; returns the JSON the
/// backend received (the client must get a 200).
fn forwarded(client: Dialect, backend: Dialect, body: &Value) -> Value {
    let turn = &turns::all_turns()[1];
    let mock = Mock::start();
    let stream = body["stream"] == json!(true);
    let reply = if stream {
        Reply::sse(turns::backend_sse(backend, turn), Duration::ZERO)
    } else {
        Reply::json(200, &turns::backend_json(backend, turn))
    };
    mock.on(backend.path(), reply);
    let gw = gateway_for(&mock, backend);
    let r = gw.post(
        client.path(),
        serde_json::to_vec(body).unwrap(),
        &client.client_headers(),
    );
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    let got = mock.single_request();
    gw_assert_eq!(gw, backend.path(), got.path_only(), "backend path");
    got.json()
}

/// Compares a received body with its golden, listing every difference.
fn assert_golden(what: &str, expected: &Value, got: &Value) {
    let diff = golden::json_diff(expected, got);
    assert!(
        diff.is_empty(),
        "{what}: the backend's body differs from the golden:\n  - {}\nexpected: {}\n     got: {}",
        diff.join("\n  - "),
        serde_json::to_string_pretty(expected).unwrap(),
        serde_json::to_string_pretty(got).unwrap()
    );
}

const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk";

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

// ---------------------------------------------------------------------------------------------
// The tool loop, as each client sends it
// ---------------------------------------------------------------------------------------------

/// A second turn of a tool loop as the openai SDK sends it: system prompt, a user turn with an
/// image, the assistant's text and two calls, one `tool` message per call, a new user question;
/// plus a field no API knows.
fn openai_tool_loop() -> Value {
    json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Oslo?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "station offline"},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": weather_schema()}}],
        "tool_choice": "auto",
        "temperature": 0.2,
        "max_tokens": 512,
        "user": "user-42",
        "x_unknown_field": {"a": 1}
    })
}

/// The same turn as the anthropic SDK sends it: system blocks with `cache_control`, signed
/// thinking before the calls, tool results (one `is_error`) first in the user turn.
fn anthropic_tool_loop() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "stream": true,
        "system": [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Oslo?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Two cities.", "signature": "sig-abc"},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "station offline"}], "is_error": true},
                {"type": "text", "text": "And tomorrow?"}]}
        ],
        "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": weather_schema()}],
        "tool_choice": {"type": "auto"},
        "temperature": 0.2,
        "metadata": {"user_id": "user-42"},
        "context_management": {"edits": []}
    })
}

/// The same turn as Codex and the openai SDK's `responses` send it: items with ids, reasoning
/// with `encrypted_content`, calls and outputs, and hosted tools beside the function tool.
fn responses_tool_loop() -> Value {
    json!({
        "model": "gpt-4.1",
        "stream": true,
        "instructions": "You are a weather bot.",
        "input": [
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Weather in Paris and Oslo?"},
                {"type": "input_image", "image_url": format!("data:image/png;base64,{PNG}"), "detail": "auto"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Two cities."}], "encrypted_content": "gAAAAB-enc"},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
             "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}", "status": "completed"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C sunny"},
            {"type": "function_call_output", "call_id": "call_2", "output": "station offline"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]}
        ],
        "tools": [
            {"type": "function", "name": "get_weather", "description": "Current weather", "parameters": weather_schema(), "strict": false},
            {"type": "web_search"},
            {"type": "namespace", "name": "fs", "tools": []}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": true,
        "temperature": 0.2,
        "max_output_tokens": 512,
        "user": "user-42",
        "store": false,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k-1"
    })
}

/// The conversation as an Anthropic backend must get it from a chat or Responses client (ids as
/// the client gave them; no thinking: none was asked for, and unsigned thinking is refused).
fn anthropic_golden(model: &str, id1: &str, id2: &str) -> Value {
    json!({
        "model": model,
        "system": "You are a weather bot.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Oslo?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": id1, "name": "get_weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": id2, "name": "get_weather", "input": {"city": "Oslo"}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": id1, "content": "18C sunny"},
                {"type": "tool_result", "tool_use_id": id2, "content": "station offline"},
                {"type": "text", "text": "And tomorrow?"}]}
        ],
        "max_tokens": 512,
        "temperature": 0.2,
        "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": weather_schema()}],
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": "user-42"},
        "stream": true
    })
}

#[test]
fn tool_loop_openai_client_to_anthropic_backend() {
    let got = forwarded(Dialect::OpenAi, Dialect::Anthropic, &openai_tool_loop());
    assert_golden(
        "openai → anthropic",
        &anthropic_golden("gpt-4o-mini", "call_1", "call_2"),
        &got,
    );
}

#[test]
fn tool_loop_responses_client_to_anthropic_backend() {
    let got = forwarded(
        Dialect::Responses,
        Dialect::Anthropic,
        &responses_tool_loop(),
    );
    assert_golden(
        "responses → anthropic",
        &anthropic_golden("gpt-4.1", "call_1", "call_2"),
        &got,
    );
}

/// The conversation as an OpenAI-compatible backend must get it: `role: tool` messages right
/// after the assistant message that holds the calls; usage asked for in the stream; a failed
/// tool result marked as such in its text (chat has no error flag).
fn openai_golden(model: &str, id1: &str, id2: &str, second_result: &str, parallel: bool) -> Value {
    let mut v = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather in Paris and Oslo?"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}}]},
            {"role": "assistant", "content": "Let me check.", "tool_calls": [
                {"id": id1, "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": id2, "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
            {"role": "tool", "tool_call_id": id1, "content": "18C sunny"},
            {"role": "tool", "tool_call_id": id2, "content": second_result},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "max_tokens": 512,
        "temperature": 0.2,
        "stream": true,
        "stream_options": {"include_usage": true},
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": weather_schema()}}],
        "tool_choice": "auto",
        "user": "user-42"
    });
    if parallel {
        v["parallel_tool_calls"] = json!(true);
    }
    v
}

#[test]
fn tool_loop_anthropic_client_to_openai_backend() {
    let got = forwarded(Dialect::Anthropic, Dialect::OpenAi, &anthropic_tool_loop());
    assert_golden(
        "anthropic → openai",
        &openai_golden(
            "claude-sonnet-4-5",
            "toolu_1",
            "toolu_2",
            "Error: station offline",
            false,
        ),
        &got,
    );
}

#[test]
fn tool_loop_responses_client_to_openai_backend() {
    let got = forwarded(Dialect::Responses, Dialect::OpenAi, &responses_tool_loop());
    assert_golden(
        "responses → openai",
        &openai_golden("gpt-4.1", "call_1", "call_2", "station offline", true),
        &got,
    );
}

/// The conversation as a Responses backend must get it: leading system text as `instructions`,
/// items without ids (the gateway stores nothing, so `store: false`), calls as `function_call`
/// items, results as `function_call_output` items; signed reasoning resent as `encrypted_content`.
fn responses_golden(
    model: &str,
    id1: &str,
    id2: &str,
    second_result: &str,
    reasoning: Option<(&str, &str)>,
) -> Value {
    let mut input = vec![json!({"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "Weather in Paris and Oslo?"},
        {"type": "input_image", "image_url": format!("data:image/png;base64,{PNG}"), "detail": "auto"}]})];
    if let Some((text, encrypted)) = reasoning {
        input.push(
            json!({"type": "reasoning", "summary": [{"type": "summary_text", "text": text}],
                          "encrypted_content": encrypted}),
        );
    }
    input.extend([
        json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]}),
        json!({"type": "function_call", "call_id": id1, "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}),
        json!({"type": "function_call", "call_id": id2, "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}),
        json!({"type": "function_call_output", "call_id": id1, "output": "18C sunny"}),
        json!({"type": "function_call_output", "call_id": id2, "output": second_result}),
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]}),
    ]);
    json!({
        "model": model,
        "instructions": "You are a weather bot.",
        "input": input,
        "tools": [{"type": "function", "name": "get_weather", "description": "Current weather",
                   "parameters": weather_schema(), "strict": false}],
        "tool_choice": "auto",
        "max_output_tokens": 512,
        "temperature": 0.2,
        "user": "user-42",
        "store": false,
        "stream": true
    })
}

#[test]
fn tool_loop_openai_client_to_responses_backend() {
    let got = forwarded(Dialect::OpenAi, Dialect::Responses, &openai_tool_loop());
    assert_golden(
        "openai → responses",
        &responses_golden("gpt-4o-mini", "call_1", "call_2", "station offline", None),
        &got,
    );
}

/// An Anthropic client's failed tool result must stay recognisable as a failure: the Responses
/// API has no error flag on `function_call_output`, so it is marked in the text, as the chat
/// encoder does.
#[test]
fn tool_loop_anthropic_client_to_responses_backend() {
    let got = forwarded(
        Dialect::Anthropic,
        Dialect::Responses,
        &anthropic_tool_loop(),
    );
    assert_golden(
        "anthropic → responses",
        &responses_golden(
            "claude-sonnet-4-5",
            "toolu_1",
            "toolu_2",
            "Error: station offline",
            Some(("Two cities.", "sig-abc")),
        ),
        &got,
    );
}

// ---------------------------------------------------------------------------------------------
// Streaming flags
// ---------------------------------------------------------------------------------------------

/// A non-streaming client request asks no backend for a stream.
#[test]
fn complete_requests_ask_for_no_stream() {
    for (client, body) in [
        (Dialect::OpenAi, openai_tool_loop()),
        (Dialect::Anthropic, anthropic_tool_loop()),
        (Dialect::Responses, responses_tool_loop()),
    ] {
        let mut body = body;
        body["stream"] = json!(false);
        if let Some(o) = body.as_object_mut() {
            o.remove("stream_options");
        }
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let got = forwarded(client, backend, &body);
            assert!(
                got.get("stream").is_none_or(|s| s == &json!(false))
                    && got.get("stream_options").is_none(),
                "{client:?} → {backend:?}: a complete request must not ask for a stream: {got}"
            );
        }
    }
}

/// The gateway asks an OpenAI-compatible backend for usage in every stream (it keeps the books),
/// but a chat client that did not ask for usage gets no usage chunk (the chunk is sent only "if
/// set", per `stream_options.include_usage` in the API reference).
#[test]
fn stream_usage_is_asked_of_the_backend_and_given_only_to_clients_that_asked() {
    let mut body = anthropic_tool_loop();
    body["stream"] = json!(true);
    let got = forwarded(Dialect::Anthropic, Dialect::OpenAi, &body);
    assert_eq!(
        got["stream_options"],
        json!({"include_usage": true}),
        "{got}"
    );

    let mock = Mock::start();
    mock.on(
        "/v1/messages",
        Reply::sse(
            turns::backend_sse(Dialect::Anthropic, &turns::all_turns()[1]),
            Duration::ZERO,
        ),
    );
    let gw = gateway_for(&mock, Dialect::Anthropic);
    let req =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let mut s = gw.open(Req::post("/v1/chat/completions", req.to_string()));
    let events = gw.events(&mut s);
    let usage_chunks: Vec<_> = events
        .iter()
        .filter_map(|e| e.json())
        .filter(|c| c.get("usage").is_some_and(|u| !u.is_null()))
        .collect();
    gw_assert!(
        gw,
        usage_chunks.is_empty(),
        "no usage chunk without include_usage: {usage_chunks:?}"
    );
    gw_assert_eq!(
        gw,
        Some("[DONE]"),
        events.last().map(|e| e.data.as_str()),
        "the stream still ends with [DONE]"
    );
}

// ---------------------------------------------------------------------------------------------
// System prompts
// ---------------------------------------------------------------------------------------------

/// Every text of a system prompt given in `client`'s way reaches each other backend as its
/// system prompt: Anthropic's top-level `system`, chat's leading `system` messages, Responses'
/// `instructions`.
fn system_reaches_every_backend(client: Dialect, body: Value, texts: &[&str]) {
    for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
        let got = forwarded(client, backend, &body);
        let system = match backend {
            Dialect::Anthropic => match &got["system"] {
                Value::String(s) => s.clone(),
                Value::Array(blocks) => blocks
                    .iter()
                    .map(|b| b["text"].as_str().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => panic!("{client:?} → anthropic: no system prompt: {other} in {got}"),
            },
            Dialect::OpenAi => got["messages"]
                .as_array()
                .unwrap()
                .iter()
                .take_while(|m| m["role"] == "system" || m["role"] == "developer")
                .map(|m| m["content"].as_str().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n"),
            Dialect::Responses => got["instructions"].as_str().unwrap_or_default().into(),
        };
        let mut at = 0;
        for t in texts {
            let found = system[at..].find(t);
            assert!(
                found.is_some(),
                "{client:?} → {backend:?}: the system prompt must hold {t:?} (in order), got {system:?}\nbody: {got}"
            );
            at += found.unwrap() + t.len();
        }
        if backend == Dialect::Anthropic {
            // Only user and assistant roles exist in Anthropic's messages.
            for m in got["messages"].as_array().unwrap() {
                assert!(
                    m["role"] == "user" || m["role"] == "assistant",
                    "{client:?} → anthropic: role {} in messages: {got}",
                    m["role"]
                );
            }
        }
    }
}

#[test]
fn anthropic_system_string_and_blocks_reach_every_backend() {
    let user = json!([{"role": "user", "content": "Hi"}]);
    system_reaches_every_backend(
        Dialect::Anthropic,
        json!({"model": "m", "max_tokens": 100, "system": "Be terse.", "messages": user}),
        &["Be terse."],
    );
    system_reaches_every_backend(
        Dialect::Anthropic,
        json!({"model": "m", "max_tokens": 100, "messages": user, "system": [
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Use tools well.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]}),
        &["You are Claude Code.", "Use tools well."],
    );
}

#[test]
fn openai_system_and_developer_messages_reach_every_backend() {
    system_reaches_every_backend(
        Dialect::OpenAi,
        json!({"model": "m", "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hi"}]}),
        &["Be terse.", "Answer in French."],
    );
}

#[test]
fn responses_instructions_and_developer_items_reach_every_backend() {
    system_reaches_every_backend(
        Dialect::Responses,
        json!({"model": "m", "instructions": "Be terse.", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Answer in French."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}),
        &["Be terse.", "Answer in French."],
    );
    // Codex: empty instructions, the system prompt as a developer message.
    system_reaches_every_backend(
        Dialect::Responses,
        json!({"model": "m", "instructions": "", "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]}]}),
        &["You are Codex."],
    );
}

/// The text of every message of a backend body, with its role, in order (system prompt first).
fn transcript(backend: Dialect, body: &Value) -> Vec<(String, String)> {
    let text_of = |content: &Value| -> String {
        match content {
            Value::String(s) => s.clone(),
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    };
    let mut out = Vec::new();
    match backend {
        Dialect::Anthropic => {
            out.push(("system".into(), text_of(&body["system"])));
            for m in body["messages"].as_array().unwrap() {
                out.push((m["role"].as_str().unwrap().into(), text_of(&m["content"])));
            }
        }
        Dialect::OpenAi => {
            for m in body["messages"].as_array().unwrap() {
                out.push((m["role"].as_str().unwrap().into(), text_of(&m["content"])));
            }
        }
        Dialect::Responses => {
            out.push((
                "system".into(),
                body["instructions"].as_str().unwrap_or_default().into(),
            ));
            for item in body["input"].as_array().unwrap() {
                out.push((
                    item["role"].as_str().unwrap_or("item").into(),
                    text_of(&item["content"]),
                ));
            }
        }
    }
    out
}

/// A system message in the middle of the conversation (Claude Code sends one; aider sends one
/// after the last user message) keeps its place: it comes after what preceded it and before what
/// followed, in a role the backend accepts there, and is never dropped.
#[test]
fn mid_conversation_system_messages_keep_their_place() {
    let openai = json!({"model": "m", "messages": [
        {"role": "system", "content": "Lead prompt."},
        {"role": "user", "content": "First question."},
        {"role": "assistant", "content": "First answer."},
        {"role": "system", "content": "Mid reminder."},
        {"role": "user", "content": "Second question."},
        {"role": "system", "content": "Trailing note."}]});
    let anthropic = json!({"model": "m", "max_tokens": 100, "system": "Lead prompt.", "messages": [
        {"role": "user", "content": "First question."},
        {"role": "assistant", "content": "First answer."},
        {"role": "system", "content": "Mid reminder."},
        {"role": "user", "content": "Second question."},
        {"role": "system", "content": "Trailing note."}]});
    let responses = json!({"model": "m", "instructions": "Lead prompt.", "input": [
        {"type": "message", "role": "user", "content": "First question."},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "First answer."}]},
        {"type": "message", "role": "system", "content": "Mid reminder."},
        {"type": "message", "role": "user", "content": "Second question."},
        {"type": "message", "role": "developer", "content": "Trailing note."}]});
    let order = [
        "Lead prompt.",
        "First question.",
        "First answer.",
        "Mid reminder.",
        "Second question.",
        "Trailing note.",
    ];
    for (client, body) in [
        (Dialect::OpenAi, openai),
        (Dialect::Anthropic, anthropic),
        (Dialect::Responses, responses),
    ] {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let got = forwarded(client, backend, &body);
            let lines = transcript(backend, &got);
            let flat: Vec<String> = lines.iter().map(|(r, t)| format!("{r}: {t}")).collect();
            let mut at = 0;
            for text in order {
                let pos = lines[at..].iter().position(|(_, t)| t.contains(text));
                assert!(
                    pos.is_some(),
                    "{client:?} → {backend:?}: {text:?} missing or out of order in {flat:#?}"
                );
                at += pos.unwrap();
            }
            let where_is = |text: &str| {
                lines
                    .iter()
                    .find(|(_, t)| t.contains(text))
                    .unwrap()
                    .0
                    .clone()
            };
            assert_eq!(where_is("First answer."), "assistant", "{flat:#?}");
            assert_ne!(
                where_is("Mid reminder."),
                "assistant",
                "{client:?} → {backend:?}: system text must not be put in the model's mouth: {flat:#?}"
            );
            if backend == Dialect::Anthropic {
                // The conversation must end with the user's turn, or it reads as a prefill.
                let last = got["messages"].as_array().unwrap().last().unwrap();
                assert_eq!(last["role"], "user", "{client:?} → anthropic: {got}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

/// The image parts of a backend body's user messages, as (kind, value): `("base64", media/data)`
/// or `("url", url)`.
fn images(backend: Dialect, body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut visit = |v: &Value| match backend {
        Dialect::Anthropic if v["type"] == "image" => {
            let s = &v["source"];
            match s["type"].as_str() {
                Some("base64") => out.push((
                    "base64".into(),
                    format!(
                        "{};{}",
                        s["media_type"].as_str().unwrap(),
                        s["data"].as_str().unwrap()
                    ),
                )),
                Some("url") => out.push(("url".into(), s["url"].as_str().unwrap().into())),
                _ => panic!("unknown image source {s}"),
            }
        }
        Dialect::OpenAi if v["type"] == "image_url" => {
            out.push(url_kind(v["image_url"]["url"].as_str().unwrap()))
        }
        Dialect::Responses if v["type"] == "input_image" => {
            out.push(url_kind(v["image_url"].as_str().unwrap()))
        }
        _ => {}
    };
    fn each(v: &Value, f: &mut dyn FnMut(&Value)) {
        f(v);
        match v {
            Value::Array(a) => a.iter().for_each(|x| each(x, f)),
            Value::Object(o) => o.values().for_each(|x| each(x, f)),
            _ => {}
        }
    }
    each(body, &mut visit);
    out
}

/// A URL as (kind, value): a base64 `data:` URL as `("base64", "media;data")`.
fn url_kind(url: &str) -> (String, String) {
    match url
        .strip_prefix("data:")
        .and_then(|r| r.split_once(";base64,"))
    {
        Some((media, data)) => ("base64".into(), format!("{media};{data}")),
        None => ("url".into(), url.into()),
    }
}

#[test]
fn images_cross_every_pair_base64_and_url() {
    let url = "https://upload.wikimedia.org/cat.jpg";
    let data_url = format!("data:image/png;base64,{PNG}");
    let want = vec![
        ("base64".to_string(), format!("image/png;{PNG}")),
        ("url".to_string(), url.to_string()),
    ];
    let bodies = [
        (
            Dialect::OpenAi,
            json!({"model": "m", "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare."},
                {"type": "image_url", "image_url": {"url": data_url, "detail": "high"}},
                {"type": "image_url", "image_url": {"url": url}}]}]}),
        ),
        (
            Dialect::Anthropic,
            json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": [
                {"type": "text", "text": "Compare."},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                {"type": "image", "source": {"type": "url", "url": url}}]}]}),
        ),
        (
            Dialect::Responses,
            json!({"model": "m", "input": [{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Compare."},
                {"type": "input_image", "image_url": data_url, "detail": "auto"},
                {"type": "input_image", "image_url": url, "detail": "auto"}]}]}),
        ),
    ];
    for (client, body) in bodies {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let got = forwarded(client, backend, &body);
            assert_eq!(
                images(backend, &got),
                want,
                "{client:?} → {backend:?}: both images, in order: {got}"
            );
        }
    }
}

/// A tool that returns an image (Anthropic `tool_result` content may hold image blocks) gets its
/// image to every backend: chat `tool` messages hold text only, so the image must follow in a
/// user message; Responses `function_call_output.output` may be a list of input parts.
#[test]
fn images_inside_tool_results_reach_every_backend() {
    let body = json!({"model": "m", "max_tokens": 100, "messages": [
        {"role": "user", "content": "Take a screenshot."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "screenshot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": [
            {"type": "text", "text": "Here it is."},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}],
        "tools": [{"name": "screenshot", "input_schema": {"type": "object"}}]});
    for backend in [Dialect::OpenAi, Dialect::Responses] {
        let got = forwarded(Dialect::Anthropic, backend, &body);
        assert_eq!(
            images(backend, &got),
            vec![("base64".to_string(), format!("image/png;{PNG}"))],
            "anthropic → {backend:?}: the tool's image: {got}"
        );
        let text = got.to_string();
        assert!(text.contains("Here it is."), "the tool's text: {got}");
    }
    let got = forwarded(Dialect::Anthropic, Dialect::OpenAi, &body);
    let msgs = got["messages"].as_array().unwrap();
    let tool = msgs
        .iter()
        .position(|m| m["role"] == "tool")
        .expect("a tool message");
    assert_eq!(msgs[tool]["tool_call_id"], "toolu_9");
    assert!(
        msgs[tool + 1..]
            .iter()
            .any(|m| m["role"] == "user" && m["content"].to_string().contains("image_url")),
        "the image follows the tool message in a user message: {got}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tools
// ---------------------------------------------------------------------------------------------

/// The `llm` CLI's tool follow-up omits `tools` while its history holds calls and results; an
/// Anthropic backend rejects `tool_use` blocks without definitions, so the gateway synthesizes
/// one per called tool and forbids new calls (`tool_choice: none`: the client offered no tools).
#[test]
fn tool_follow_up_without_tools_gets_synthesized_definitions_for_anthropic() {
    let openai = json!({"model": "m", "messages": [
        {"role": "user", "content": "What time is it?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_t", "type": "function", "function": {"name": "llm_time", "arguments": "{}"}},
            {"id": "call_u", "type": "function", "function": {"name": "llm_version", "arguments": ""}}]},
        {"role": "tool", "tool_call_id": "call_t", "content": "12:00"},
        {"role": "tool", "tool_call_id": "call_u", "content": "0.19"}]});
    let responses = json!({"model": "m", "input": [
        {"type": "message", "role": "user", "content": "What time is it?"},
        {"type": "function_call", "call_id": "call_t", "name": "llm_time", "arguments": "{}"},
        {"type": "function_call", "call_id": "call_u", "name": "llm_version", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_t", "output": "12:00"},
        {"type": "function_call_output", "call_id": "call_u", "output": "0.19"}]});
    for (client, body) in [(Dialect::OpenAi, openai), (Dialect::Responses, responses)] {
        let got = forwarded(client, Dialect::Anthropic, &body);
        let names: Vec<&str> = got["tools"]
            .as_array()
            .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["llm_time", "llm_version"], "{client:?}: {got}");
        for t in got["tools"].as_array().unwrap() {
            assert_eq!(t["input_schema"]["type"], "object", "{t}");
        }
        assert_eq!(got["tool_choice"], json!({"type": "none"}), "{got}");
        let msgs = got["messages"].as_array().unwrap();
        assert_eq!(
            msgs[1]["content"][1]["input"],
            json!({}),
            "empty arguments: {got}"
        );
        assert_eq!(
            msgs[2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "call_t", "content": "12:00"},
                   {"type": "tool_result", "tool_use_id": "call_u", "content": "0.19"}]),
            "{client:?}: both results in one user turn: {got}"
        );
    }
}

/// `tool_choice` in every form, to every other backend (`parallel_tool_calls: false` ⇔
/// Anthropic's `disable_parallel_tool_use`).
#[test]
fn tool_choice_maps_in_every_direction() {
    let tools_openai = json!([{"type": "function", "function": {"name": "get_weather", "parameters": weather_schema()}}]);
    let tools_anthropic = json!([{"name": "get_weather", "input_schema": weather_schema()}]);
    let tools_responses =
        json!([{"type": "function", "name": "get_weather", "parameters": weather_schema()}]);
    // (neutral name, chat, anthropic, responses)
    let forms = [
        (
            "auto",
            json!("auto"),
            json!({"type": "auto"}),
            json!("auto"),
        ),
        (
            "none",
            json!("none"),
            json!({"type": "none"}),
            json!("none"),
        ),
        (
            "required",
            json!("required"),
            json!({"type": "any"}),
            json!("required"),
        ),
        (
            "named",
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"type": "tool", "name": "get_weather"}),
            json!({"type": "function", "name": "get_weather"}),
        ),
    ];
    for (name, chat, anthropic, responses) in &forms {
        let bodies = [
            (
                Dialect::OpenAi,
                json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                       "tools": tools_openai, "tool_choice": chat}),
            ),
            (
                Dialect::Anthropic,
                json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}],
                       "tools": tools_anthropic, "tool_choice": anthropic}),
            ),
            (
                Dialect::Responses,
                json!({"model": "m", "input": "Hi", "tools": tools_responses, "tool_choice": responses}),
            ),
        ];
        for (client, body) in bodies {
            for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
                let got = forwarded(client, backend, &body);
                let want = match backend {
                    Dialect::OpenAi => chat,
                    Dialect::Anthropic => anthropic,
                    Dialect::Responses => responses,
                };
                assert_eq!(
                    &got["tool_choice"], want,
                    "{name}: {client:?} → {backend:?}: {got}"
                );
            }
        }
    }
    // No parallel calls.
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Anthropic,
        &json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                "tools": tools_openai, "parallel_tool_calls": false}),
    );
    assert_eq!(
        got["tool_choice"]["disable_parallel_tool_use"], true,
        "{got}"
    );
    let got = forwarded(
        Dialect::Anthropic,
        Dialect::OpenAi,
        &json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}],
                "tools": tools_anthropic, "tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
    );
    assert_eq!(got["parallel_tool_calls"], false, "{got}");
}

// ---------------------------------------------------------------------------------------------
// Limits, sampling, reasoning, formats
// ---------------------------------------------------------------------------------------------

/// Anthropic requires `max_tokens`: a client that gives none gets a sane default; a client's
/// limit, in whatever field its API uses, becomes the target's limit field.
#[test]
fn token_limits_map_and_anthropic_always_gets_max_tokens() {
    let user = json!([{"role": "user", "content": "Hi"}]);
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Anthropic,
        &json!({"model": "m", "messages": user}),
    );
    let default = got["max_tokens"].as_u64().expect("max_tokens is required");
    assert!(
        (1024..=64000).contains(&default),
        "a sane default: {default}"
    );
    let got = forwarded(
        Dialect::Responses,
        Dialect::Anthropic,
        &json!({"model": "m", "input": "Hi"}),
    );
    assert!(got["max_tokens"].as_u64().is_some(), "{got}");

    let cases = [
        (
            Dialect::OpenAi,
            json!({"model": "m", "messages": user, "max_completion_tokens": 300}),
        ),
        (
            Dialect::Anthropic,
            json!({"model": "m", "messages": user, "max_tokens": 300}),
        ),
        (
            Dialect::Responses,
            json!({"model": "m", "input": "Hi", "max_output_tokens": 300}),
        ),
    ];
    for (client, body) in cases {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let got = forwarded(client, backend, &body);
            let limit = match backend {
                Dialect::OpenAi => got
                    .get("max_completion_tokens")
                    .or_else(|| got.get("max_tokens")),
                Dialect::Anthropic => got.get("max_tokens"),
                Dialect::Responses => got.get("max_output_tokens"),
            };
            assert_eq!(limit, Some(&json!(300)), "{client:?} → {backend:?}: {got}");
        }
    }
}

/// Temperature, top_p and stop sequences reach the backends that have them (Responses has no
/// stop sequences: they are the one thing allowed to be dropped).
#[test]
fn sampling_and_stop_sequences_map() {
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Anthropic,
        &json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                "temperature": 0.0, "stop": ["###", "END"]}),
    );
    assert_eq!(
        got["temperature"],
        json!(0.0),
        "aider sends temperature 0: {got}"
    );
    assert_eq!(got["stop_sequences"], json!(["###", "END"]), "{got}");
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Anthropic,
        &json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stop": "###"}),
    );
    assert_eq!(got["stop_sequences"], json!(["###"]), "{got}");
    let got = forwarded(
        Dialect::Anthropic,
        Dialect::OpenAi,
        &json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}],
                "top_p": 0.9, "stop_sequences": ["</answer>"]}),
    );
    assert_eq!(got["top_p"], json!(0.9), "{got}");
    assert_eq!(got["stop"], json!(["</answer>"]), "{got}");
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Responses,
        &json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
                "temperature": 0.5, "top_p": 0.8, "stop": ["###"]}),
    );
    assert_eq!(
        (&got["temperature"], &got["top_p"]),
        (&json!(0.5), &json!(0.8)),
        "{got}"
    );
    assert!(got.get("stop").is_none(), "Responses has no stop: {got}");
}

/// Reasoning settings: a chat `reasoning_effort` turns on Anthropic thinking within the API's
/// rules (budget ≥ 1024 and below `max_tokens`; no temperature with thinking) and becomes
/// Responses' `reasoning.effort`; Anthropic thinking reaches Responses as a reasoning setting.
#[test]
fn reasoning_settings_map_within_each_apis_rules() {
    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Anthropic,
        &json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}],
                "reasoning_effort": "high", "max_tokens": 4000, "temperature": 0.3}),
    );
    let thinking = &got["thinking"];
    assert!(
        thinking["type"] == "enabled" || thinking["type"] == "adaptive",
        "thinking on: {got}"
    );
    if thinking["type"] == "enabled" {
        let budget = thinking["budget_tokens"].as_u64().unwrap();
        let max = got["max_tokens"].as_u64().unwrap();
        assert!(
            budget >= 1024 && budget < max,
            "budget {budget} < max_tokens {max}: {got}"
        );
    }
    assert!(
        got.get("temperature").is_none(),
        "no temperature with thinking: {got}"
    );

    let got = forwarded(
        Dialect::OpenAi,
        Dialect::Responses,
        &json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "reasoning_effort": "high"}),
    );
    assert_eq!(got["reasoning"]["effort"], "high", "{got}");

    let got = forwarded(
        Dialect::Anthropic,
        Dialect::Responses,
        &json!({"model": "m", "max_tokens": 8000, "messages": [{"role": "user", "content": "Hi"}],
                "thinking": {"type": "enabled", "budget_tokens": 2048}}),
    );
    assert!(got["reasoning"]["effort"].is_string(), "{got}");
    assert_eq!(
        got["include"],
        json!(["reasoning.encrypted_content"]),
        "{got}"
    );
}

/// A JSON schema format reaches a Responses backend as `text.format` and a chat backend as
/// `response_format`; Anthropic has no such field, so none is sent there (it would be a 400).
#[test]
fn response_formats_map_where_the_target_can_express_them() {
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "Count."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "count", "schema": schema, "strict": true}}});
    let got = forwarded(Dialect::OpenAi, Dialect::Responses, &body);
    assert_eq!(
        got["text"]["format"],
        json!({"type": "json_schema", "name": "count", "schema": schema, "strict": true}),
        "{got}"
    );
    let got = forwarded(Dialect::OpenAi, Dialect::Anthropic, &body);
    assert!(got.get("response_format").is_none(), "{got}");
    let got = forwarded(
        Dialect::Responses,
        Dialect::OpenAi,
        &json!({"model": "m", "input": "Count.", "text": {"format": {"type": "json_object"}}}),
    );
    assert_eq!(
        got["response_format"],
        json!({"type": "json_object"}),
        "{got}"
    );
}
