//! Failures across dialects (issue 3): a backend's error reply re-expressed in the client's
//! dialect with its status kept; an error in the middle of a stream becomes the client's own
//! error event; a backend stream that ends early still ends well-formed; `count_tokens` on a
//! backend that has none is an estimate over the whole request; `previous_response_id` without a
//! Responses backend is a clear 400.
//!
//! Error shapes: Anthropic <https://docs.anthropic.com/en/api/errors> (`{"type":"error","error":
//! {"type","message"}}`, types per status; mid-stream `event: error`); OpenAI
//! <https://platform.openai.com/docs/guides/error-codes> (`{"error":{"message","type","param",
//! "code"}}`; in a chat stream a `data: {"error":…}` chunk, which openai-python
//! `_streaming.py` raises as `APIError`); Responses stream failure is `response.failed` with
//! `response.error {code, message}` (<https://platform.openai.com/docs/api-reference/responses-streaming>).

mod common;
#[path = "common/fold.rs"]
mod fold;
#[path = "common/turns.rs"]
mod turns;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// A backend error body of dialect `d` with this status, type and message.
fn backend_error(d: Dialect, ty: &str, message: &str) -> Vec<u8> {
    let v = match d {
        Dialect::Anthropic => json!({"type": "error", "error": {"type": ty, "message": message},
                                     "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}),
        _ => json!({"error": {"message": message, "type": ty, "param": null, "code": null}}),
    };
    serde_json::to_vec(&v).unwrap()
}

/// (status, Anthropic error type, OpenAI error type) per the two error references.
const ERRORS: [(u16, &str, &str); 3] = [
    (400, "invalid_request_error", "invalid_request_error"),
    (429, "rate_limit_error", "rate_limit_error"),
    (500, "api_error", "server_error"),
];

#[test]
fn backend_errors_are_re_expressed_with_their_status() {
    let mut faults = Vec::new();
    for client in ALL_DIALECTS {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let mock = Mock::start();
            let gw = gateway_for(&mock, backend);
            for (status, anthropic_type, openai_type) in ERRORS {
                let message = format!("backend says no ({status})");
                let backend_type = if backend == Dialect::Anthropic {
                    anthropic_type
                } else {
                    openai_type
                };
                mock.on(
                    backend.path(),
                    Reply::json_bytes(status, backend_error(backend, backend_type, &message)),
                );
                for stream in [false, true] {
                    let r = gw.post(
                        client.path(),
                        client.request(client.model(), stream),
                        &client.client_headers(),
                    );
                    let at = format!(
                        "{client:?} client, {backend:?} backend, {status}, stream {stream}"
                    );
                    let got = client.expect_error(&gw, &r, status);
                    if !got.contains(&message) {
                        faults.push(format!(
                            "{at}: message {got:?} lost the backend's {message:?}"
                        ));
                    }
                    let v = r.json();
                    let ty = v
                        .pointer("/error/type")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let want = if client == Dialect::Anthropic {
                        anthropic_type
                    } else {
                        openai_type
                    };
                    if ty != want {
                        faults.push(format!("{at}: error type {ty:?}, expected {want:?}: {v}"));
                    }
                    let ct = r.header("content-type").unwrap_or("");
                    if !ct.starts_with("application/json") {
                        faults.push(format!("{at}: content-type {ct:?}"));
                    }
                }
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

/// The first frames of a stream of `d` (start and some text), then an error as `d` reports one
/// mid-stream.
fn stream_then_error(d: Dialect, message: &str) -> Vec<Vec<u8>> {
    let turn = &turns::all_turns()[1];
    let mut frames = turns::backend_sse(d, turn);
    match d {
        Dialect::OpenAi => {
            frames.truncate(3);
            frames.push(payloads::data_frame(&json!({"error": {"message": message,
                "type": "server_error", "param": null, "code": null}})));
        }
        Dialect::Anthropic => {
            frames.truncate(4);
            frames.push(payloads::named_frame(
                "error",
                &json!({"type": "error", "error": {"type": "overloaded_error", "message": message}}),
            ));
        }
        Dialect::Responses => {
            frames.truncate(5);
            frames.push(payloads::named_frame(
                "response.failed",
                &json!({"type": "response.failed", "sequence_number": 5, "response": {
                    "id": turn.id_for(d), "object": "response", "created_at": 1741476542,
                    "status": "failed", "model": turn.model, "output": [],
                    "error": {"code": "server_error", "message": message},
                    "incomplete_details": null, "usage": null}}),
            ));
        }
    }
    frames
}

/// The client's error event at the end of a stream: its message, or a fault.
fn error_event(client: Dialect, events: &[client::Event]) -> Result<String, String> {
    let events = client::without_comments(events);
    let last = events.last().ok_or("an empty stream")?;
    let data = last
        .json()
        .ok_or_else(|| format!("last event is not JSON: {}", last.data))?;
    match client {
        Dialect::Anthropic => {
            if last.event.as_deref() != Some("error") || data["type"] != "error" {
                return Err(format!(
                    "last event must be `event: error`: {}",
                    last.raw_text()
                ));
            }
            let ty = data["error"]["type"].as_str().unwrap_or("");
            if ty.is_empty() {
                return Err(format!("error.type missing: {data}"));
            }
            Ok(data["error"]["message"].as_str().unwrap_or("").into())
        }
        Dialect::OpenAi => {
            if last.event.is_some() || !data["error"].is_object() {
                return Err(format!(
                    "last frame must be data: {{\"error\":…}}: {}",
                    last.raw_text()
                ));
            }
            Ok(data["error"]["message"].as_str().unwrap_or("").into())
        }
        Dialect::Responses => {
            let r = &data["response"];
            if data["type"] != "response.failed" || r["status"] != "failed" {
                return Err(format!(
                    "last event must be response.failed: {}",
                    last.raw_text()
                ));
            }
            // openai-python types `error.code` as a closed set (types/responses/response_error.py).
            let code = r["error"]["code"].as_str().unwrap_or("");
            if !["server_error", "rate_limit_exceeded", "invalid_prompt"].contains(&code) {
                return Err(format!(
                    "response.error.code {code:?} is not one of the API's"
                ));
            }
            let seq: Vec<u64> = events
                .iter()
                .filter_map(|e| e.json()?.get("sequence_number")?.as_u64())
                .collect();
            if seq != (0..events.len() as u64).collect::<Vec<_>>() {
                return Err(format!("sequence numbers {seq:?}"));
            }
            Ok(r["error"]["message"].as_str().unwrap_or("").into())
        }
    }
}

#[test]
fn a_mid_stream_backend_error_becomes_the_clients_error_event() {
    let mut faults = Vec::new();
    for client in ALL_DIALECTS {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let message = "Overloaded: try again shortly";
            let mock = Mock::with(
                backend.path(),
                Reply::sse(stream_then_error(backend, message), Duration::ZERO),
            );
            let gw = gateway_for(&mock, backend);
            let mut s = gw.open(
                Req::post(client.path(), client.request(client.model(), true))
                    .headers(&client.client_headers()),
            );
            let events = gw.events(&mut s);
            let at = format!("{client:?} client, {backend:?} backend");
            match error_event(client, &events) {
                Ok(m) if m.contains(message) => {}
                Ok(m) => faults.push(format!("{at}: message {m:?} lost {message:?}")),
                Err(e) => faults.push(format!(
                    "{at}: {e}\nstream:\n{}",
                    String::from_utf8_lossy(&s.raw)
                )),
            }
            // The text before the error reached the client.
            if !String::from_utf8_lossy(&s.raw).contains("Caf\u{e9}") {
                faults.push(format!("{at}: the text before the error was lost"));
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n\n"));
}

/// A backend stream that just stops (clean end of body, no final events) after some text: the
/// client still gets a complete, well-formed stream of its dialect with that text.
#[test]
fn a_stream_that_ends_early_still_ends_well_formed() {
    let mut faults = Vec::new();
    let turn = &turns::all_turns()[1];
    for client in ALL_DIALECTS {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let mut frames = turns::backend_sse(backend, turn);
            // Start and the first two text fragments only.
            let keep = match backend {
                Dialect::OpenAi => 3,
                Dialect::Anthropic => 5,
                Dialect::Responses => 6,
            };
            frames.truncate(keep);
            let mock = Mock::with(backend.path(), Reply::sse(frames, Duration::ZERO));
            let gw = gateway_for(&mock, backend);
            let mut s = gw.open(
                Req::post(client.path(), client.request(client.model(), true))
                    .headers(&client.client_headers()),
            );
            let events = gw.events(&mut s);
            let (got, f) = fold::fold_stream(client, &events);
            let at = format!("{client:?} client, {backend:?} backend");
            if !f.0.is_empty() {
                faults.push(format!(
                    "{at}:\n  - {}\nstream:\n{}",
                    f.0.join("\n  - "),
                    String::from_utf8_lossy(&s.raw)
                ));
            }
            let want = turn.text[..2].concat();
            if got.text != want {
                faults.push(format!("{at}: text {:?}, expected {want:?}", got.text));
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n\n"));
}

/// A backend that drops the connection mid-stream (no end of the chunked body): the client's
/// stream ends promptly, in its own dialect's error event.
#[test]
fn a_stream_cut_off_mid_body_ends_in_the_clients_error_event() {
    let mut faults = Vec::new();
    let turn = &turns::all_turns()[1];
    for client in ALL_DIALECTS {
        for backend in ALL_DIALECTS.into_iter().filter(|b| *b != client) {
            let mut frames = turns::backend_sse(backend, turn);
            frames.truncate(3);
            let mock = Mock::with(
                backend.path(),
                Reply::close_mid_stream(frames, Duration::ZERO),
            );
            let gw = gateway_for(&mock, backend);
            let mut s = gw.open(
                Req::post(client.path(), client.request(client.model(), true))
                    .headers(&client.client_headers())
                    .timeout(Duration::from_secs(5)),
            );
            let events = gw.events(&mut s);
            if let Err(e) = error_event(client, &events) {
                faults.push(format!(
                    "{client:?} client, {backend:?} backend: {e}\nstream:\n{}",
                    String::from_utf8_lossy(&s.raw)
                ));
            }
        }
    }
    assert!(faults.is_empty(), "{}", faults.join("\n\n"));
}

// ---------------------------------------------------------------------------------------------
// count_tokens
// ---------------------------------------------------------------------------------------------

fn count(gw: &Gateway, body: &Value) -> u64 {
    let r = gw.post(
        "/v1/messages/count_tokens",
        body.to_string(),
        &[("anthropic-version", "2023-06-01")],
    );
    gw_assert_eq!(gw, 200, r.status, "count_tokens: {}", r.describe());
    let v = r.json();
    gw_assert!(
        gw,
        v.as_object().is_some_and(|o| o.len() == 1),
        "the answer is {{\"input_tokens\": n}} (https://docs.anthropic.com/en/api/messages-count-tokens): {v}"
    );
    v["input_tokens"]
        .as_u64()
        .expect("input_tokens is an integer")
}

/// `count_tokens` for a backend that has none: an estimate over system, messages and tools that
/// grows with each of them (Claude Code disables auto-compaction on a fake constant), and the
/// backend is not asked.
#[test]
fn count_tokens_on_non_anthropic_backends_is_a_real_estimate() {
    for backend in [Dialect::OpenAi, Dialect::Responses] {
        let mock = Mock::start();
        let gw = gateway_for(&mock, backend);
        let base = json!({"model": "claude-sonnet-4-5",
            "messages": [{"role": "user", "content": "Hello, world"}]});
        let small = count(&gw, &base);
        gw_assert!(gw, small > 0, "never zero");

        let mut long = base.clone();
        let text = "The quick brown fox jumps over the lazy dog. ".repeat(100);
        long["messages"][0]["content"] = json!(text);
        let n = count(&gw, &long);
        // About four bytes of English text per token: 4500 bytes ≈ 1100 tokens.
        gw_assert!(
            gw,
            (600..=2500).contains(&n),
            "{backend:?}: 4500 bytes of text estimated at {n} tokens"
        );

        let mut with_system = base.clone();
        with_system["system"] = json!([{"type": "text", "text": text}]);
        gw_assert!(
            gw,
            count(&gw, &with_system) > small + 500,
            "the system prompt counts"
        );

        let mut with_tools = base.clone();
        with_tools["tools"] = json!([{"name": "read_file", "description": text,
            "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]);
        gw_assert!(
            gw,
            count(&gw, &with_tools) > small + 500,
            "tool definitions count"
        );

        let mut with_history = base.clone();
        with_history["messages"] = json!([
            {"role": "user", "content": "Read it."},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "a"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": text}]}]);
        gw_assert!(
            gw,
            count(&gw, &with_history) > small + 500,
            "tool results count"
        );

        gw_assert!(
            gw,
            mock.requests().is_empty(),
            "a {backend:?} backend has no count_tokens; nothing is sent to it: {:?}",
            mock.requests()
        );
    }
}

/// An Anthropic backend counts for itself: the request goes to it as sent.
#[test]
fn count_tokens_on_an_anthropic_backend_is_forwarded() {
    let mock = Mock::with(
        "/v1/messages/count_tokens",
        Reply::json(200, &json!({"input_tokens": 4242})),
    );
    let gw = gateway_for(&mock, Dialect::Anthropic);
    let body =
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hi"}]});
    gw_assert_eq!(gw, 4242, count(&gw, &body), "the backend's count");
    let got = mock.single_request();
    gw_assert_eq!(gw, "/v1/messages/count_tokens", got.path_only(), "path");
    gw_assert_eq!(gw, body, got.json(), "body");
}

// ---------------------------------------------------------------------------------------------
// previous_response_id
// ---------------------------------------------------------------------------------------------

/// The gateway stores no responses, so `previous_response_id` cannot be honoured without a
/// Responses backend: a 400 that says so, in the Responses error shape, and nothing is sent.
/// A Responses backend gets the request untouched.
#[test]
fn previous_response_id_without_a_responses_backend_is_a_clear_400() {
    let body = json!({"model": "gpt-4.1", "previous_response_id": "resp_abc123",
                      "input": [{"type": "message", "role": "user", "content": "And then?"}]});
    for stream in [false, true] {
        let mut body = body.clone();
        body["stream"] = json!(stream);
        for backend in [Dialect::OpenAi, Dialect::Anthropic] {
            let mock = Mock::start();
            let gw = gateway_for(&mock, backend);
            let r = gw.post("/v1/responses", body.to_string(), &[]);
            let message = expect_openai_error(&gw, &r, 400);
            gw_assert!(
                gw,
                message.contains("previous_response_id"),
                "the message names the field: {message}"
            );
            gw_assert_eq!(
                gw,
                Some("invalid_request_error"),
                r.json().pointer("/error/type").and_then(Value::as_str),
                "error type"
            );
            gw_assert!(
                gw,
                mock.requests().is_empty(),
                "nothing sent to the backend"
            );
        }
    }
    let mock = Mock::with(
        "/v1/responses",
        Reply::json(
            200,
            &turns::backend_json(Dialect::Responses, &turns::all_turns()[1]),
        ),
    );
    let gw = gateway_for(&mock, Dialect::Responses);
    let r = gw.post("/v1/responses", body.to_string(), &[]);
    gw_assert_eq!(gw, 200, r.status, "passthrough: {}", r.describe());
    gw_assert_eq!(gw, body, mock.single_request().json(), "sent as is");
}
