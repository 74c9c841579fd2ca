//! Same-dialect passthrough (issue 2): the body goes upstream byte for byte to `<backend url><same
//! path>`, the backend's status and body come back untouched, streams are forwarded event by event,
//! auth headers are set per backend, and the backend is chosen by pinned path, model name, or default.

mod common;

use std::time::Duration;

use common::client::without_comments;
use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Non-streaming and streaming passthrough, per dialect
// ---------------------------------------------------------------------------------------------

fn non_stream_passthrough(d: Dialect) {
    let mock = Mock::start();
    let reply = serde_json::to_vec_pretty(&d.response(d.model(), "Hello from the mock")).unwrap();
    mock.on(d.path(), Reply::json_bytes(200, reply.clone()));
    let gw = gateway_for(&mock, d);
    let body = d.request(d.model(), false);
    let r = gw.post(d.path(), body.clone(), &d.client_headers());

    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&reply),
        r.text(),
        "the client gets the backend's body byte for byte"
    );
    gw_assert!(
        gw,
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content-type; response: {}",
        r.describe()
    );
    gw_assert_eq!(gw, Some("up"), r.header("x-backend"), "X-Backend header");
    gw_assert!(
        gw,
        r.header("x-request-id").is_some_and(|id| !id.is_empty()),
        "X-Request-Id header; response: {}",
        r.describe()
    );

    let got = mock.single_request();
    gw_assert_eq!(gw, "POST", got.method, "upstream method");
    gw_assert_eq!(gw, d.path(), got.path, "upstream path");
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&got.body),
        "the backend gets the client's body byte for byte"
    );
}

#[test]
fn openai_chat_non_stream_passes_bytes_both_ways() {
    non_stream_passthrough(Dialect::OpenAi);
}

#[test]
fn anthropic_messages_non_stream_passes_bytes_both_ways() {
    non_stream_passthrough(Dialect::Anthropic);
}

#[test]
fn responses_non_stream_passes_bytes_both_ways() {
    non_stream_passthrough(Dialect::Responses);
}

fn stream_passthrough(d: Dialect, path: &str) {
    let mock = Mock::start();
    let frames = d.stream(d.model(), &["Hel", "lo", ", wor", "ld"]);
    mock.on(
        d.path(),
        Reply::sse(frames.clone(), Duration::from_millis(5)),
    );
    let gw = gateway_for(&mock, d);
    let body = d.request(d.model(), true);
    let mut s = gw.open(
        Req::post(path, body.clone())
            .headers(&d.client_headers())
            .header("Accept", "text/event-stream"),
    );

    gw_assert_eq!(gw, 200, s.status, "status; headers: {:?}", s.headers);
    gw_assert!(
        gw,
        s.header("content-type")
            .is_some_and(|c| c.starts_with("text/event-stream")),
        "content-type; headers: {:?}",
        s.headers
    );
    gw_assert_eq!(gw, Some("up"), s.header("x-backend"), "X-Backend header");
    gw_assert!(
        gw,
        s.header("x-request-id").is_some_and(|id| !id.is_empty()),
        "X-Request-Id header; headers: {:?}",
        s.headers
    );
    let events = gw.events(&mut s);
    let got: Vec<Vec<u8>> = without_comments(&events)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&payloads::concat(&frames)),
        String::from_utf8_lossy(&payloads::concat(&got)),
        "the client gets the backend's events byte for byte"
    );
    gw_assert!(
        gw,
        events.iter().all(|e| e.complete),
        "every event ends with a blank line"
    );

    let got = mock.single_request();
    gw_assert_eq!(gw, path, got.path, "upstream path (query kept)");
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&got.body),
        "the backend gets the client's body byte for byte"
    );
}

#[test]
fn openai_chat_stream_passes_events_untouched() {
    stream_passthrough(Dialect::OpenAi, "/v1/chat/completions");
}

#[test]
fn anthropic_messages_stream_passes_events_untouched() {
    stream_passthrough(Dialect::Anthropic, "/v1/messages");
}

#[test]
fn anthropic_messages_beta_query_is_accepted_and_kept() {
    // Claude Code posts to /v1/messages?beta=true (CLIENTS.md).
    stream_passthrough(Dialect::Anthropic, "/v1/messages?beta=true");
}

#[test]
fn responses_stream_passes_events_untouched() {
    stream_passthrough(Dialect::Responses, "/v1/responses");
}

#[test]
fn large_claude_code_sized_body_passes_byte_for_byte() {
    // ~80 KB like Claude Code's requests: many tools with JSON schemas.
    let tools: Vec<String> = (0..60)
        .map(|i| format!(
            r#"{{"name":"tool_{i}","description":"{}","input_schema":{{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{{"path":{{"type":"string","description":"{}"}}}},"required":["path"],"additionalProperties":false}}}}"#,
            "Does a thing with care. ".repeat(40), "A path \\u00e9. ".repeat(20)))
        .collect();
    let body = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":64000,"stream":true,"tools":[{}],"messages":[{{"role":"user","content":"hi"}}],"thinking":{{"type":"adaptive"}}}}"#,
        tools.join(",")
    );
    assert!(body.len() > 70_000, "the body is {} bytes", body.len());
    let mock = Mock::with(
        "/v1/messages",
        Reply::sse(
            payloads::anthropic_stream("claude-sonnet-4-5", &["ok"]),
            Duration::ZERO,
        ),
    );
    let gw = gateway_for(&mock, Dialect::Anthropic);
    let mut s = gw.open(
        Req::post("/v1/messages?beta=true", body.clone()).header("anthropic-version", "2023-06-01"),
    );
    gw_assert_eq!(gw, 200, s.status, "status");
    let events = gw.events(&mut s);
    gw_assert!(
        gw,
        events
            .iter()
            .any(|e| e.event.as_deref() == Some("message_stop")),
        "the stream ends with message_stop"
    );
    let got = mock.single_request();
    gw_assert!(
        gw,
        got.body == body.as_bytes(),
        "the backend gets the {}-byte body byte for byte (got {} bytes)",
        body.len(),
        got.body.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Auth headers
// ---------------------------------------------------------------------------------------------

fn one_request(
    backend_cfg: Value,
    d: Dialect,
    envs: &[(&str, &str)],
    client_headers: &[(&str, &str)],
) -> (Gateway, common::mock::Recorded) {
    let mock = Mock::with(d.path(), Reply::json(200, &d.response(d.model(), "ok")));
    let mut cfg = backend_cfg;
    cfg["url"] = json!(mock.url());
    let mut b = GatewayBuilder::new(config(json!({"up": cfg}), "up", json!({})));
    for (k, v) in envs {
        b = b.env(k, v);
    }
    let gw = b.start();
    let r = gw.post(d.path(), d.request(d.model(), false), client_headers);
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    let got = mock.single_request();
    (gw, got)
}

#[test]
fn openai_backend_with_a_key_gets_bearer_with_that_key_not_the_clients() {
    let (gw, got) = one_request(
        json!({"api": "openai", "apiKey": "sk-backend-secret-1"}),
        Dialect::OpenAi,
        &[],
        &[("Authorization", "Bearer sk-client-secret-9")],
    );
    gw_assert_eq!(
        gw,
        vec!["Bearer sk-backend-secret-1"],
        got.header_all("authorization"),
        "upstream Authorization headers"
    );
}

#[test]
fn openai_backend_without_a_key_gets_the_clients_bearer() {
    let (gw, got) = one_request(
        json!({"api": "openai"}),
        Dialect::OpenAi,
        &[],
        &[("Authorization", "Bearer sk-client-secret-9")],
    );
    gw_assert_eq!(
        gw,
        vec!["Bearer sk-client-secret-9"],
        got.header_all("authorization"),
        "upstream Authorization headers"
    );
}

#[test]
fn openai_backend_key_can_come_from_api_key_env() {
    let (gw, got) = one_request(
        json!({"api": "openai", "apiKeyEnv": "LLM_GW_TEST_BACKEND_KEY"}),
        Dialect::OpenAi,
        &[("LLM_GW_TEST_BACKEND_KEY", "sk-from-env-7")],
        &[],
    );
    gw_assert_eq!(
        gw,
        vec!["Bearer sk-from-env-7"],
        got.header_all("authorization"),
        "upstream Authorization headers"
    );
}

#[test]
fn configured_backend_headers_are_sent_upstream() {
    let (gw, got) = one_request(
        json!({"api": "openai", "headers": {"X-Org-Id": "acme-42"}}),
        Dialect::OpenAi,
        &[],
        &[],
    );
    gw_assert_eq!(
        gw,
        Some("acme-42"),
        got.header("x-org-id"),
        "configured header upstream; got headers {:?}",
        got.headers
    );
}

#[test]
fn anthropic_backend_with_a_key_gets_x_api_key_and_the_clients_version_and_beta() {
    let beta = "prompt-caching-2024-07-31,context-management-2025-06-27";
    let (gw, got) = one_request(
        json!({"api": "anthropic", "apiKey": "sk-ant-backend-secret-1"}),
        Dialect::Anthropic,
        &[],
        &[
            ("x-api-key", "sk-ant-client-secret-9"),
            ("anthropic-version", "2024-10-22"),
            ("anthropic-beta", beta),
        ],
    );
    gw_assert_eq!(
        gw,
        vec!["sk-ant-backend-secret-1"],
        got.header_all("x-api-key"),
        "upstream x-api-key; headers {:?}",
        got.headers
    );
    gw_assert_eq!(
        gw,
        vec!["2024-10-22"],
        got.header_all("anthropic-version"),
        "the client's anthropic-version is passed on"
    );
    gw_assert_eq!(
        gw,
        vec![beta],
        got.header_all("anthropic-beta"),
        "the client's anthropic-beta is passed on"
    );
    gw_assert!(
        gw,
        got.header("authorization").is_none(),
        "no client credential goes upstream when a key is configured; headers {:?}",
        got.headers
    );
}

#[test]
fn anthropic_backend_with_a_key_drops_the_clients_bearer() {
    // anthropic SDK v2 sends Authorization: Bearer (CLIENTS.md).
    let (gw, got) = one_request(
        json!({"api": "anthropic", "apiKey": "sk-ant-backend-secret-1"}),
        Dialect::Anthropic,
        &[],
        &[
            ("Authorization", "Bearer sk-ant-client-secret-9"),
            ("anthropic-version", "2023-06-01"),
        ],
    );
    gw_assert_eq!(
        gw,
        vec!["sk-ant-backend-secret-1"],
        got.header_all("x-api-key"),
        "upstream x-api-key"
    );
    gw_assert!(
        gw,
        got.header("authorization").is_none(),
        "the client's bearer does not go upstream; headers {:?}",
        got.headers
    );
}

#[test]
fn anthropic_backend_gets_the_default_version_when_the_client_sends_none() {
    let (gw, got) = one_request(
        json!({"api": "anthropic", "apiKey": "sk-ant-backend-secret-1"}),
        Dialect::Anthropic,
        &[],
        &[],
    );
    gw_assert_eq!(
        gw,
        vec!["2023-06-01"],
        got.header_all("anthropic-version"),
        "default anthropic-version"
    );
}

#[test]
fn anthropic_backend_without_a_key_gets_the_clients_x_api_key() {
    let (gw, got) = one_request(
        json!({"api": "anthropic"}),
        Dialect::Anthropic,
        &[],
        &[
            ("x-api-key", "sk-ant-client-secret-9"),
            ("anthropic-version", "2023-06-01"),
        ],
    );
    gw_assert_eq!(
        gw,
        vec!["sk-ant-client-secret-9"],
        got.header_all("x-api-key"),
        "the client's x-api-key is passed on"
    );
}

#[test]
fn anthropic_backend_without_a_key_gets_the_clients_bearer() {
    let (gw, got) = one_request(
        json!({"api": "anthropic"}),
        Dialect::Anthropic,
        &[],
        &[
            ("Authorization", "Bearer sk-ant-oauth-client-9"),
            ("anthropic-version", "2023-06-01"),
        ],
    );
    gw_assert_eq!(
        gw,
        vec!["Bearer sk-ant-oauth-client-9"],
        got.header_all("authorization"),
        "the client's Authorization is passed on"
    );
}

#[test]
fn configured_keys_and_client_credentials_never_appear_in_logs_or_responses() {
    let oa = Mock::with(
        "/v1/chat/completions",
        Reply::json_bytes(401, payloads::openai_rate_limit_error()),
    );
    oa.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m1"])),
    );
    let an = Mock::with(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("claude-x", "ok")),
    );
    let cfg = config(
        json!({
            "oa": {"url": oa.url(), "api": "openai", "apiKey": "sk-SECRET-openai-0001"},
            "an": {"url": an.url(), "api": "anthropic", "apiKeyEnv": "LLM_GW_TEST_ANT_KEY"}
        }),
        "oa",
        json!({"logging": {"level": "debug", "includeBody": true, "maxBodyLength": 100000}}),
    );
    let gw = GatewayBuilder::new(cfg)
        .env("LLM_GW_TEST_ANT_KEY", "sk-SECRET-anthropic-0002")
        .start();
    let mut responses = vec![
        gw.post(
            "/v1/chat/completions",
            Dialect::OpenAi.request("gpt-4o-mini", false),
            &[("Authorization", "Bearer sk-SECRET-client-0003")],
        ),
        gw.post(
            "/v1/messages",
            Dialect::Anthropic.request("claude-x", false),
            &[
                ("x-api-key", "sk-SECRET-client-0004"),
                ("anthropic-version", "2023-06-01"),
            ],
        ),
        gw.get("/"),
        gw.get("/v1/models"),
    ];
    responses.push(gw.metrics_response());
    let secrets = [
        "sk-SECRET-openai-0001",
        "sk-SECRET-anthropic-0002",
        "sk-SECRET-client-0003",
        "sk-SECRET-client-0004",
    ];
    for r in &responses {
        for s in secrets {
            gw_assert!(
                gw,
                !r.describe().contains(s),
                "secret {s} leaked into a response: {}",
                r.describe()
            );
        }
    }
    let out = gw.output();
    for s in secrets {
        gw_assert!(
            gw,
            !out.contains(s),
            "secret {s} leaked into the gateway's log"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Backend choice
// ---------------------------------------------------------------------------------------------

struct Two {
    a: Mock,
    b: Mock,
    gw: Gateway,
}

/// Two OpenAI backends `alpha` (default) and `beta`.
fn two_openai_backends() -> Two {
    let reply = |text: &str| Reply::json(200, &payloads::openai_completion("gpt-4o-mini", text));
    let a = Mock::with("/v1/chat/completions", reply("from alpha"));
    let b = Mock::with("/v1/chat/completions", reply("from beta"));
    let gw = Gateway::start(config(
        json!({"alpha": a.url(), "beta": b.url()}),
        "alpha",
        json!({}),
    ));
    Two { a, b, gw }
}

#[test]
fn pinned_path_selects_that_backend_and_strips_the_prefix() {
    let t = two_openai_backends();
    let body = payloads::openai_request("gpt-4o-mini", false);
    let r = t.gw.post("/beta/v1/chat/completions", body.clone(), &[]);
    gw_assert_eq!(t.gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(t.gw, Some("beta"), r.header("x-backend"), "X-Backend");
    gw_assert_eq!(
        t.gw,
        0,
        t.a.requests().len(),
        "the default backend gets nothing"
    );
    let got = t.b.single_request();
    gw_assert_eq!(
        t.gw,
        "/v1/chat/completions",
        got.path,
        "upstream path without the pin"
    );
    gw_assert!(t.gw, got.body == body, "body forwarded byte for byte");
}

#[test]
fn pinned_path_works_for_a_stream() {
    let a = Mock::start();
    let b = Mock::with(
        "/v1/chat/completions",
        Reply::sse(payloads::openai_stream("m", &["x"]), Duration::ZERO),
    );
    let gw = Gateway::start(config(
        json!({"alpha": a.url(), "beta": b.url()}),
        "alpha",
        json!({}),
    ));
    let mut s = gw.open(Req::post(
        "/beta/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw_assert_eq!(gw, 200, s.status, "status");
    let events = gw.events(&mut s);
    gw_assert!(
        gw,
        events.iter().any(|e| e.data == "[DONE]"),
        "the stream reaches [DONE]"
    );
    gw_assert_eq!(
        gw,
        1,
        b.requests().len(),
        "the pinned backend got the request"
    );
    gw_assert_eq!(gw, 0, a.requests().len(), "the default backend got nothing");
}

#[test]
fn pinned_unknown_backend_is_a_404_json_error() {
    let t = two_openai_backends();
    let r = t.gw.post(
        "/nosuch/v1/chat/completions",
        payloads::openai_request("gpt-4o-mini", false),
        &[],
    );
    expect_openai_error(&t.gw, &r, 404);
    gw_assert_eq!(
        t.gw,
        0,
        t.a.requests().len() + t.b.requests().len(),
        "no backend is called"
    );
}

#[test]
fn model_naming_a_backend_routes_to_it() {
    let t = two_openai_backends();
    let body = payloads::openai_request("beta", false);
    let r = t.gw.post("/v1/chat/completions", body.clone(), &[]);
    gw_assert_eq!(t.gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(t.gw, Some("beta"), r.header("x-backend"), "X-Backend");
    gw_assert_eq!(
        t.gw,
        0,
        t.a.requests().len(),
        "the default backend gets nothing"
    );
    gw_assert!(
        t.gw,
        t.b.single_request().body == body,
        "body forwarded byte for byte"
    );
}

#[test]
fn other_models_go_to_the_default_backend() {
    let t = two_openai_backends();
    let r = t.gw.post(
        "/v1/chat/completions",
        payloads::openai_request("some-model-nobody-knows", false),
        &[],
    );
    gw_assert_eq!(t.gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(t.gw, Some("alpha"), r.header("x-backend"), "X-Backend");
    gw_assert_eq!(
        t.gw,
        1,
        t.a.requests().len(),
        "the default backend gets the request"
    );
    gw_assert_eq!(
        t.gw,
        0,
        t.b.requests().len(),
        "the other backend gets nothing"
    );
}

#[test]
fn claude_model_routes_to_the_anthropic_backend() {
    let local = Mock::start();
    let anth = Mock::with(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("claude-sonnet-4-5", "hi")),
    );
    let gw = Gateway::start(config(
        json!({"local": {"url": local.url(), "api": "openai"}, "anth": {"url": anth.url(), "api": "anthropic"}}),
        "local",
        json!({}),
    ));
    let body = payloads::anthropic_request("claude-sonnet-4-5-20250929", false);
    let r = gw.post(
        "/v1/messages",
        body.clone(),
        &[("anthropic-version", "2023-06-01")],
    );
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(gw, Some("anth"), r.header("x-backend"), "X-Backend");
    gw_assert_eq!(
        gw,
        0,
        local.requests().len(),
        "the default (OpenAI) backend gets nothing"
    );
    gw_assert!(
        gw,
        anth.single_request().body == body,
        "body forwarded byte for byte"
    );
}

#[test]
fn backend_url_path_prefix_is_kept() {
    let mock = Mock::with(
        "/gw-prefix/v1/chat/completions",
        Reply::json(200, &payloads::openai_completion("m", "ok")),
    );
    let gw = Gateway::start(config(
        json!({"up": format!("{}/gw-prefix", mock.url())}),
        "up",
        json!({}),
    ));
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(
        gw,
        "/gw-prefix/v1/chat/completions",
        mock.single_request().path,
        "upstream path = backend url + request path"
    );
}

#[test]
fn request_ids_differ_between_requests() {
    let mock = Mock::with(
        "/v1/chat/completions",
        Reply::json(200, &payloads::openai_completion("m", "ok")),
    );
    let gw = gateway_for(&mock, Dialect::OpenAi);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            gw.post(
                "/v1/chat/completions",
                payloads::openai_request("m", false),
                &[],
            )
            .header("x-request-id")
            .unwrap_or("")
            .to_string()
        })
        .collect();
    gw_assert!(
        gw,
        ids.iter().all(|i| !i.is_empty())
            && ids[0] != ids[1]
            && ids[1] != ids[2]
            && ids[0] != ids[2],
        "three distinct X-Request-Id values, got {ids:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// count_tokens and models
// ---------------------------------------------------------------------------------------------

#[test]
fn count_tokens_passes_through_to_an_anthropic_backend() {
    let mock = Mock::with(
        "/v1/messages/count_tokens",
        Reply::json_bytes(200, br#"{"input_tokens":14}"#.to_vec()),
    );
    let gw = gateway_for(&mock, Dialect::Anthropic);
    let body = payloads::anthropic_count_tokens_request("claude-sonnet-4-5");
    let r = gw.post(
        "/v1/messages/count_tokens",
        body.clone(),
        &[("anthropic-version", "2023-06-01"), ("x-api-key", "k")],
    );
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    gw_assert_eq!(
        gw,
        r#"{"input_tokens":14}"#,
        r.text(),
        "the backend's answer"
    );
    let got = mock.single_request();
    gw_assert_eq!(gw, "/v1/messages/count_tokens", got.path, "upstream path");
    gw_assert!(gw, got.body == body, "body forwarded byte for byte");
}

#[test]
fn count_tokens_without_an_anthropic_backend_is_a_clear_error_or_a_real_estimate() {
    // CLIENTS.md: a fake 0 silently disables Claude Code's auto-compaction.
    let mock = Mock::start();
    let gw = gateway_for(&mock, Dialect::OpenAi);
    let r = gw.post(
        "/v1/messages/count_tokens",
        payloads::anthropic_count_tokens_request("claude-sonnet-4-5"),
        &[("anthropic-version", "2023-06-01")],
    );
    if r.status == 200 {
        let n = r.json()["input_tokens"].as_u64().unwrap_or(0);
        gw_assert!(
            gw,
            n > 0,
            "a 200 must carry a real estimate, got {}",
            r.describe()
        );
    } else {
        expect_anthropic_error(&gw, &r, 404);
    }
    gw_assert_eq!(
        gw,
        0,
        mock.requests().len(),
        "the OpenAI backend is not asked to count Anthropic tokens"
    );
}

#[test]
fn models_lists_the_union_with_each_model_tagged_by_its_backend() {
    let oa = Mock::with(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m-alpha-1", "m-alpha-2"])),
    );
    let an = Mock::with(
        "/v1/models",
        Reply::json(200, &payloads::anthropic_models(&["claude-zeta-9"])),
    );
    let gw = Gateway::start(config(
        json!({"oabackend": {"url": oa.url(), "api": "openai"}, "anbackend": {"url": an.url(), "api": "anthropic", "apiKey": "k"}}),
        "oabackend",
        json!({}),
    ));
    let r = gw.get("/v1/models");
    gw_assert_eq!(gw, 200, r.status, "status; response: {}", r.describe());
    let v = r.json();
    let data = v["data"].as_array().cloned().unwrap_or_default();
    for (id, backend) in [
        ("m-alpha-1", "oabackend"),
        ("m-alpha-2", "oabackend"),
        ("claude-zeta-9", "anbackend"),
    ] {
        let entry = data
            .iter()
            .find(|m| m["id"].as_str().is_some_and(|i| i.contains(id)));
        gw_assert!(gw, entry.is_some(), "model {id} is listed; got {v}");
        gw_assert!(
            gw,
            entry.unwrap().to_string().contains(backend),
            "model {id} is tagged with backend {backend}; got {}",
            entry.unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cross-dialect: being built in parallel; only check that it does not crash
// ---------------------------------------------------------------------------------------------

#[test]
fn cross_dialect_request_does_not_crash_the_gateway() {
    let anth = Mock::with(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("claude-x", "hi")),
    );
    let gw = gateway_for(&anth, Dialect::Anthropic);
    for stream in [false, true] {
        let r = gw.post(
            "/v1/chat/completions",
            payloads::openai_request("gpt-4o-mini", stream),
            &[],
        );
        gw_assert!(
            gw,
            r.status == 200 || r.status == 400,
            "cross-dialect (stream={stream}) answers 200 or a clear 400; got {}",
            r.describe()
        );
        if r.status == 400 {
            expect_openai_error(&gw, &r, 400);
        }
    }
    let r = gw.get("/");
    gw_assert_eq!(gw, 200, r.status, "the gateway still serves");
}
