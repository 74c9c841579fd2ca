//! The conversion matrix end to end (issue 3): client {OpenAI chat, Anthropic, Responses} ×
//! backend {OpenAI-compatible, Anthropic, Responses} × {complete, streamed}, over real sockets,
//! with the mock backend answering in its own dialect as the API references show (see
//! `common/turns.rs`). What the client gets is checked against its own API reference, event by
//! event (see `common/fold.rs`), and compared with what the backend said, less what the backend
//! dialect cannot express (`Turn::seen_by`).
//!
//! What the backends receive is checked in `conversion_requests.rs`; errors, early ends,
//! `count_tokens` and `previous_response_id` in `conversion_errors.rs`.

mod common;
#[path = "common/fold.rs"]
mod fold;
#[path = "common/turns.rs"]
mod turns;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use turns::{Call, Stop, Turn};

/// A gateway whose only backend, `up`, is `mock` speaking `backend`.
fn gateway(mock: &Mock, backend: Dialect) -> Gateway {
    gateway_for(mock, backend)
}

/// Sends `client`'s stock request for `turn`, with the mock answering as `backend`; returns
/// every way the answer differs from what the client's API specifies.
fn cell(
    gw: &Gateway,
    mock: &Mock,
    client: Dialect,
    backend: Dialect,
    stream: bool,
    turn: &Turn,
    with_details: bool,
) -> Vec<String> {
    let reply = if stream {
        Reply::sse(turns::backend_sse(backend, turn), Duration::ZERO)
    } else {
        Reply::json(200, &turns::backend_json(backend, turn))
    };
    mock.on(backend.path(), reply);
    let before = mock.requests().len();
    let req = client.request(client.model(), stream);
    let (got, faults) = if stream {
        let mut s = gw.open(Req::post(client.path(), req).headers(&client.client_headers()));
        if s.status != 200 {
            let r = gw.finish(s);
            return vec![format!("status {}: {}", r.status, r.describe())];
        }
        let ct = s.header("content-type").unwrap_or("").to_string();
        let events = gw.events(&mut s);
        let (got, mut faults) = fold::fold_stream(client, &events);
        if !ct.starts_with("text/event-stream") {
            faults.add(format!("content-type {ct:?} is not text/event-stream"));
        }
        if !faults.0.is_empty() {
            faults.add(format!(
                "the whole stream:\n{}",
                String::from_utf8_lossy(&s.raw)
            ));
        }
        (got, faults)
    } else {
        let r = gw.post(client.path(), req, &client.client_headers());
        if r.status != 200 {
            return vec![format!("status {}: {}", r.status, r.describe())];
        }
        let Some(body) = r.try_json() else {
            return vec![format!("the body is not JSON: {}", r.describe())];
        };
        let (got, mut faults) = fold::fold_json(client, &body);
        if !faults.0.is_empty() {
            faults.add(format!("the whole body: {body}"));
        }
        (got, faults)
    };
    let mut out = faults.0;
    let backend_id = turn.id_for(backend);
    if !got.id.contains(&backend_id) {
        out.push(format!(
            "the id {:?} must keep the backend's id {backend_id:?}",
            got.id
        ));
    }
    if got.model != turn.model {
        out.push(format!(
            "model: expected the backend's {:?}, got {:?}",
            turn.model, got.model
        ));
    }
    out.extend(turns::diff(
        &turns::expected(client, backend, turn),
        &got,
        with_details,
    ));
    let reqs = mock.requests();
    match reqs.get(before) {
        Some(r) if reqs.len() == before + 1 => {
            if r.path_only() != backend.path() {
                out.push(format!("the backend was called on {}", r.path));
            }
            let asked = r.json()["stream"] == json!(true);
            if asked != stream {
                out.push(format!(
                    "the backend request's stream is {asked}, the client's {stream}"
                ));
            }
        }
        _ => out.push(format!(
            "expected one backend request, got {}",
            reqs.len() - before
        )),
    }
    out
}

/// Runs every turn of `turns`, complete and streamed, for one client/backend pair; returns the
/// faults of every cell, each under a heading naming the cell.
fn pair_report(
    client: Dialect,
    backend: Dialect,
    turns: &[Turn],
    with_details: bool,
) -> Vec<String> {
    let mock = Mock::start();
    let gw = gateway(&mock, backend);
    let mut report = Vec::new();
    for turn in turns {
        for stream in [false, true] {
            let faults = cell(&gw, &mock, client, backend, stream, turn, with_details);
            if !faults.is_empty() {
                report.push(format!(
                    "== {:?} client, {:?} backend, {}, turn {}:\n  - {}",
                    client,
                    backend,
                    if stream { "streamed" } else { "complete" },
                    turn.name,
                    faults.join("\n  - ")
                ));
            }
        }
    }
    if !report.is_empty() {
        report.push(gw.diag());
    }
    report
}

/// [`pair_report`], failing with all the faults at once.
fn pair(client: Dialect, backend: Dialect, turns: &[Turn]) {
    let report = pair_report(client, backend, turns, false);
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn openai_client_to_anthropic_backend() {
    pair(Dialect::OpenAi, Dialect::Anthropic, &turns::all_turns());
}

#[test]
fn openai_client_to_responses_backend() {
    pair(Dialect::OpenAi, Dialect::Responses, &turns::all_turns());
}

#[test]
fn anthropic_client_to_openai_backend() {
    pair(Dialect::Anthropic, Dialect::OpenAi, &turns::all_turns());
}

#[test]
fn anthropic_client_to_responses_backend() {
    pair(Dialect::Anthropic, Dialect::Responses, &turns::all_turns());
}

#[test]
fn responses_client_to_openai_backend() {
    pair(Dialect::Responses, Dialect::OpenAi, &turns::all_turns());
}

#[test]
fn responses_client_to_anthropic_backend() {
    pair(Dialect::Responses, Dialect::Anthropic, &turns::all_turns());
}

/// Cache writes and reasoning tokens have a field in every dialect today (chat:
/// `prompt_tokens_details.cache_write_tokens`, openai-python `types/completion_usage.py`;
/// Anthropic: `usage.output_tokens_details.thinking_tokens`, anthropic-sdk-python
/// `types/output_tokens_details.py`; Responses: `input_tokens_details.cache_write_tokens` and
/// `output_tokens_details.reasoning_tokens`), so they must survive every conversion.
#[test]
fn usage_details_survive_every_conversion() {
    let turn = [turns::detailed_usage_turn()];
    let mut report = Vec::new();
    for client in ALL_DIALECTS {
        for backend in ALL_DIALECTS {
            if client != backend {
                // The fault lines only: the matrix tests show the rest.
                let lines = pair_report(client, backend, &turn, true).join("\n");
                report.extend(
                    lines
                        .lines()
                        .filter(|l| l.starts_with("==") || l.starts_with("  - usage"))
                        .map(str::to_string),
                );
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// Same dialect on both sides stays byte passthrough, complete and streamed, even for a turn with
/// reasoning and tool calls.
#[test]
fn same_dialect_pairs_pass_bytes_through() {
    let turn = turns::tool_turn();
    for d in ALL_DIALECTS {
        let mock = Mock::start();
        let gw = gateway(&mock, d);
        let body = serde_json::to_vec(&turns::backend_json(d, &turn)).unwrap();
        mock.on(d.path(), Reply::json_bytes(200, body.clone()));
        let req = d.request(d.model(), false);
        let r = gw.post(d.path(), req.clone(), &d.client_headers());
        gw_assert_eq!(
            gw,
            String::from_utf8_lossy(&body),
            r.text(),
            "{d:?} complete body"
        );
        gw_assert_eq!(
            gw,
            String::from_utf8_lossy(&req),
            String::from_utf8_lossy(&mock.single_request().body),
            "{d:?} request body"
        );

        let frames = turns::backend_sse(d, &turn);
        mock.on(d.path(), Reply::sse(frames.clone(), Duration::ZERO));
        let mut s =
            gw.open(Req::post(d.path(), d.request(d.model(), true)).headers(&d.client_headers()));
        let events = gw.events(&mut s);
        let got: Vec<u8> = client::without_comments(&events)
            .iter()
            .flat_map(|e| e.raw.clone())
            .collect();
        gw_assert_eq!(
            gw,
            String::from_utf8_lossy(&payloads::concat(&frames)),
            String::from_utf8_lossy(&got),
            "{d:?} stream bytes"
        );
    }
}

/// Parallel tool calls whose fragments interleave (the chat format allows it: each fragment names
/// its call by `index`) still reach an Anthropic client as strictly sequential blocks, and a
/// Responses client with each call's own whole arguments.
#[test]
fn interleaved_parallel_tool_calls_keep_their_arguments() {
    let turn = Turn {
        name: "interleaved",
        core_id: "interleaved01",
        model: "backend-model-7b",
        reasoning: vec![],
        signature: "",
        text: vec![],
        calls: vec![
            Call {
                core: "aaa111",
                name: "read_file",
                args: vec!["{\"path\":", "\"a.txt\"}"],
            },
            Call {
                core: "bbb222",
                name: "list_dir",
                args: vec!["{\"dir\":", "\"src\"}"],
            },
        ],
        stop: Stop::ToolUse,
        usage: turns::Usage {
            input: 80,
            output: 30,
            ..Default::default()
        },
    };
    let id = turn.id_for(Dialect::OpenAi);
    let chunk = |delta: Value, finish: Value| {
        payloads::data_frame(&json!({"id": id, "object": "chat.completion.chunk",
            "created": 1741570283, "model": turn.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "usage": null}))
    };
    let c = &turn.calls;
    let start = |i: usize| {
        json!({"tool_calls": [{"index": i, "id": c[i].id_for(Dialect::OpenAi), "type": "function",
                               "function": {"name": c[i].name, "arguments": c[i].args[0]}}]})
    };
    let more =
        |i: usize| json!({"tool_calls": [{"index": i, "function": {"arguments": c[i].args[1]}}]});
    let frames = vec![
        chunk(json!({"role": "assistant", "content": null}), Value::Null),
        chunk(start(0), Value::Null),
        chunk(start(1), Value::Null),
        chunk(more(1), Value::Null),
        chunk(more(0), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        payloads::data_frame(&json!({"id": id, "object": "chat.completion.chunk",
            "created": 1741570283, "model": turn.model, "choices": [],
            "usage": {"prompt_tokens": 80, "completion_tokens": 30, "total_tokens": 110}})),
        b"data: [DONE]\n\n".to_vec(),
    ];
    for client in [Dialect::Anthropic, Dialect::Responses] {
        let mock = Mock::with(
            Dialect::OpenAi.path(),
            Reply::sse(frames.clone(), Duration::ZERO),
        );
        let gw = gateway(&mock, Dialect::OpenAi);
        let mut s = gw.open(
            Req::post(client.path(), client.request(client.model(), true))
                .headers(&client.client_headers()),
        );
        let events = gw.events(&mut s);
        let (got, faults) = fold::fold_stream(client, &events);
        let mut all = faults.0;
        all.extend(turns::diff(
            &turns::expected(client, Dialect::OpenAi, &turn),
            &got,
            false,
        ));
        gw_assert!(
            gw,
            all.is_empty(),
            "{client:?} client:\n  - {}\nstream:\n{}",
            all.join("\n  - "),
            String::from_utf8_lossy(&s.raw)
        );
    }
}

/// Claude Code as CLIENTS.md describes it: `POST /v1/messages?beta=true`, streaming, system
/// blocks with `cache_control`, `thinking: {type: adaptive}`, `context_management`, a long
/// `anthropic-beta` list, against an OpenAI-compatible backend (llama.cpp, vLLM). It needs the
/// full event sequence with `event:` lines, `input_json_delta` tool arguments, `tool_use` as the
/// stop reason and real input tokens in `message_start`; the backend must get a plain chat body.
#[test]
fn claude_code_stream_against_an_openai_backend() {
    let turn = turns::tool_turn();
    let mock = Mock::with(
        Dialect::OpenAi.path(),
        Reply::sse(turns::backend_sse(Dialect::OpenAi, &turn), Duration::ZERO),
    );
    let gw = gateway(&mock, Dialect::OpenAi);
    let tools: Vec<Value> = (0..24)
        .map(|i| {
            json!({"name": format!("Tool{i}"), "description": "x".repeat(300),
                   "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                    "type": "object", "properties": {"p": {"type": "string"}},
                                    "additionalProperties": false}})
        })
        .chain([json!({"name": "get_weather", "input_schema": {"type": "object"}})])
        .collect();
    let body = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 64000, "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather?", "cache_control": {"type": "ephemeral"}}]}],
        "tools": tools, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "user_abc_account_x_session_y"}
    });
    let mut s = gw.open(
        Req::post("/v1/messages?beta=true", body.to_string())
            .header("anthropic-version", "2023-06-01")
            .header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
            )
            .header("authorization", "Bearer sk-ant-oat01-test"),
    );
    let events = gw.events(&mut s);
    let (got, faults) = fold::fold_stream(Dialect::Anthropic, &events);
    let mut all = faults.0;
    all.extend(turns::diff(
        &turns::expected(Dialect::Anthropic, Dialect::OpenAi, &turn),
        &got,
        false,
    ));
    gw_assert!(
        gw,
        all.is_empty(),
        "  - {}\nstream:\n{}",
        all.join("\n  - "),
        String::from_utf8_lossy(&s.raw)
    );
    let sent = mock.single_request();
    gw_assert_eq!(gw, "/v1/chat/completions", sent.path, "backend path");
    let sent = sent.json();
    for field in [
        "thinking",
        "output_config",
        "context_management",
        "metadata",
        "system",
    ] {
        gw_assert!(
            gw,
            sent.get(field).is_none(),
            "{field} is not a chat field: {sent}"
        );
    }
    gw_assert_eq!(
        gw,
        25,
        sent["tools"].as_array().map_or(0, Vec::len),
        "all tools"
    );
}

/// Codex as CLIENTS.md describes it: streaming Responses with `accept: text/event-stream`,
/// `accept-encoding: zstd,gzip`, hosted tools beside function tools, against an Anthropic
/// backend. It needs `output_item.done` for every item and `response.completed`, every event
/// with its `type`.
#[test]
fn codex_stream_against_an_anthropic_backend() {
    let turn = turns::tool_turn();
    let mock = Mock::with(
        Dialect::Anthropic.path(),
        Reply::sse(
            turns::backend_sse(Dialect::Anthropic, &turn),
            Duration::ZERO,
        ),
    );
    let gw = gateway(&mock, Dialect::Anthropic);
    let body = json!({
        "model": "gpt-5-codex", "stream": true, "instructions": "",
        "input": [
            {"type": "message", "id": "m1", "role": "developer", "content": [{"type": "input_text", "text": "You are Codex."}]},
            {"type": "message", "id": "m2", "role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}],
        "tools": [
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": false},
            {"type": "namespace", "name": "mcp", "tools": [{"type": "function", "name": "x", "parameters": {}}]},
            {"type": "web_search"}],
        "tool_choice": "auto", "parallel_tool_calls": true, "reasoning": {"summary": "auto"},
        "store": false, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "k"
    });
    let mut s = gw.open(
        Req::post("/v1/responses", body.to_string())
            .header("accept", "text/event-stream")
            .header("accept-encoding", "zstd,gzip"),
    );
    let encoding = s.header("content-encoding").map(str::to_string);
    let events = gw.events(&mut s);
    gw_assert!(
        gw,
        encoding.is_none() || encoding.as_deref() == Some("identity"),
        "the stream is sent uncompressed: {encoding:?}"
    );
    let (got, faults) = fold::fold_stream(Dialect::Responses, &events);
    let mut all = faults.0;
    all.extend(turns::diff(
        &turns::expected(Dialect::Responses, Dialect::Anthropic, &turn),
        &got,
        false,
    ));
    gw_assert!(
        gw,
        all.is_empty(),
        "  - {}\nstream:\n{}",
        all.join("\n  - "),
        String::from_utf8_lossy(&s.raw)
    );
    let sent = mock.single_request().json();
    gw_assert_eq!(
        gw,
        json!(["get_weather"]),
        json!(sent["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect::<Vec<_>>()),
        "only the function tool reaches Anthropic: {sent}"
    );
    gw_assert_eq!(
        gw,
        json!("You are Codex."),
        sent["system"],
        "system: {sent}"
    );
}
