//! End to end with the official SDKs (issue 3): the `anthropic` and `openai` Python SDKs, pinned
//! in `common/sdk.rs` and installed into `target/sdk-venv` on first use, run the scripts in
//! `tests/sdk/` against a gateway in front of mock backends of the other dialects. A script
//! checks what its SDK parsed; this harness checks what the backend received.

mod common;
#[path = "common/sdk.rs"]
mod sdk;
#[path = "common/turns.rs"]
mod turns;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use turns::Turn;

/// What a script must see for `turn` sent by a `backend` mock, and for the final text turn.
fn expect(turn: &Turn, backend: Dialect, final_turn: &Turn) -> String {
    let calls: Vec<Value> = turn
        .calls
        .iter()
        .map(|c| json!({"id": c.id_for(backend), "name": c.name, "arguments": c.arguments_json()}))
        .collect();
    json!({
        "text": turn.full_text(),
        "reasoning": turn.reasoning_text(),
        "calls": calls,
        "input_tokens": turn.usage.input,
        "cached_tokens": turn.usage.cache_read,
        "output_tokens": turn.usage.output,
        "final_text": final_turn.full_text(),
    })
    .to_string()
}

fn turns() -> (Turn, Turn) {
    (turns::tool_turn(), turns::all_turns()[1].clone())
}

fn sse(backend: Dialect, turn: &Turn) -> Reply {
    Reply::sse(turns::backend_sse(backend, turn), Duration::ZERO)
}

fn json_reply(backend: Dialect, turn: &Turn) -> Reply {
    Reply::json(200, &turns::backend_json(backend, turn))
}

fn url(gw: &Gateway) -> String {
    format!("http://127.0.0.1:{}", gw.port)
}

/// Runs a script; on failure the panic carries the gateway's log too.
fn script(gw: &Gateway, name: &str, expect: String) -> String {
    let outcome =
        std::panic::catch_unwind(|| sdk::run_script(name, &url(gw), &[("EXPECT", expect)]));
    match outcome {
        // Each script prints `ok: …` per check; a script that ended early would print fewer.
        Ok(out) => {
            let checks = out.lines().filter(|l| l.starts_with("ok: ")).count();
            gw_assert!(gw, checks >= 5, "{name} ran only {checks} checks:\n{out}");
            out
        }
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{msg}\n{}", gw.diag())
        }
    }
}

/// The tool loop's second request holds every call and its result, in the backend's own terms.
fn check_second_request(gw: &Gateway, backend: Dialect, body: &Value, turn: &Turn) {
    let ids: Vec<String> = turn.calls.iter().map(|c| c.id_for(backend)).collect();
    let text = body.to_string();
    for id in &ids {
        gw_assert!(
            gw,
            text.contains(id),
            "the second request mentions call {id}: {body}"
        );
    }
    match backend {
        Dialect::OpenAi => {
            let tool_ids: Vec<&str> = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["role"] == "tool")
                .filter_map(|m| m["tool_call_id"].as_str())
                .collect();
            gw_assert_eq!(
                gw,
                ids,
                tool_ids,
                "role: tool messages answer each call: {body}"
            );
        }
        Dialect::Anthropic => {
            let last = body["messages"].as_array().unwrap().last().unwrap().clone();
            let result_ids: Vec<&str> = last["content"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .filter_map(|b| b["tool_use_id"].as_str())
                .collect();
            gw_assert_eq!(
                gw,
                ids,
                result_ids,
                "tool_result blocks in the last user turn: {body}"
            );
        }
        Dialect::Responses => {
            let out_ids: Vec<&str> = body["input"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["type"] == "function_call_output")
                .filter_map(|i| i["call_id"].as_str())
                .collect();
            gw_assert_eq!(gw, ids, out_ids, "function_call_output items: {body}");
        }
    }
}

fn anthropic_stream_against(backend: Dialect) {
    let (turn, last) = turns();
    let mock = Mock::start();
    mock.on_seq(
        backend.path(),
        vec![sse(backend, &turn), sse(backend, &last)],
    );
    let gw = gateway_for(&mock, backend);
    script(
        &gw,
        "anthropic_stream_tool_use.py",
        expect(&turn, backend, &last),
    );
    let reqs = mock.requests();
    gw_assert_eq!(gw, 2, reqs.len(), "two backend requests");
    let first = reqs[0].json();
    if backend == Dialect::OpenAi {
        gw_assert_eq!(
            gw,
            json!({"include_usage": true}),
            first["stream_options"],
            "the gateway asks for usage: {first}"
        );
    }
    check_second_request(&gw, backend, &reqs[1].json(), &turn);
}

#[test]
fn anthropic_sdk_streams_a_tool_use_turn_from_an_openai_backend() {
    anthropic_stream_against(Dialect::OpenAi);
}

#[test]
fn anthropic_sdk_streams_a_tool_use_turn_from_a_responses_backend() {
    anthropic_stream_against(Dialect::Responses);
}

#[test]
fn anthropic_sdk_complete_call_and_count_tokens_against_an_openai_backend() {
    let (turn, last) = turns();
    let mock = Mock::with(Dialect::OpenAi.path(), json_reply(Dialect::OpenAi, &turn));
    let gw = gateway_for(&mock, Dialect::OpenAi);
    script(
        &gw,
        "anthropic_complete.py",
        expect(&turn, Dialect::OpenAi, &last),
    );
    let reqs = mock.requests();
    gw_assert_eq!(
        gw,
        1,
        reqs.len(),
        "count_tokens is estimated, not sent: {:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let body = reqs[0].json();
    gw_assert_eq!(
        gw,
        "system",
        body["messages"][0]["role"],
        "system first: {body}"
    );
}

fn openai_responses_against(backend: Dialect) {
    let (turn, last) = turns();
    let mock = Mock::start();
    mock.on_seq(
        backend.path(),
        vec![sse(backend, &turn), json_reply(backend, &last)],
    );
    let gw = gateway_for(&mock, backend);
    script(
        &gw,
        "openai_responses_stream.py",
        expect(&turn, backend, &last),
    );
    let reqs = mock.requests();
    gw_assert_eq!(gw, 2, reqs.len(), "two backend requests");
    check_second_request(&gw, backend, &reqs[1].json(), &turn);
}

#[test]
fn openai_sdk_responses_stream_against_an_anthropic_backend() {
    openai_responses_against(Dialect::Anthropic);
}

#[test]
fn openai_sdk_responses_stream_against_an_openai_backend() {
    openai_responses_against(Dialect::OpenAi);
}

fn openai_chat_against(backend: Dialect) {
    let (turn, last) = turns();
    let mock = Mock::start();
    mock.on_seq(
        backend.path(),
        vec![
            json_reply(backend, &turn),
            sse(backend, &turn),
            json_reply(backend, &last),
        ],
    );
    let gw = gateway_for(&mock, backend);
    script(&gw, "openai_chat_tools.py", expect(&turn, backend, &last));
    let reqs = mock.requests();
    gw_assert_eq!(gw, 3, reqs.len(), "three backend requests");
    check_second_request(&gw, backend, &reqs[2].json(), &turn);
}

#[test]
fn openai_sdk_chat_with_tools_against_an_anthropic_backend() {
    openai_chat_against(Dialect::Anthropic);
}

#[test]
fn openai_sdk_chat_with_tools_against_an_openai_backend() {
    openai_chat_against(Dialect::OpenAi);
}

#[test]
fn openai_sdk_chat_with_tools_against_a_responses_backend() {
    openai_chat_against(Dialect::Responses);
}
