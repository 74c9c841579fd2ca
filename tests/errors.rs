//! Errors, each in the client's dialect (issue 2, scope 7): unreachable backend ⇒ 502 naming it;
//! backend 4xx/5xx ⇒ same status and body; malformed JSON ⇒ 400; body over the cap ⇒ 413; unknown
//! path ⇒ 404 JSON; wrong method ⇒ 405; plus `HEAD /` and `GET /`.

mod common;

use std::time::{Duration, Instant};

use common::gateway::free_port;
use common::*;
use serde_json::{json, Value};

/// A gateway whose default backend `deadend` speaks `d` at a port nobody listens on.
fn gateway_with_dead_backend(d: Dialect) -> Gateway {
    let url = format!("http://127.0.0.1:{}", free_port());
    Gateway::start(config(
        json!({"deadend": {"url": url, "api": d.api(), "connectTimeoutSecs": 2}}),
        "deadend",
        json!({}),
    ))
}

fn backend_down(d: Dialect, stream: bool) {
    let gw = gateway_with_dead_backend(d);
    let r = gw.send(Req::post(d.path(), d.request(d.model(), stream)).headers(&d.client_headers()));
    let msg = d.expect_error(&gw, &r, 502);
    gw_assert!(
        gw,
        msg.contains("deadend"),
        "the message names the backend `deadend`; got {msg:?}"
    );
    let r = gw.get("/");
    gw_assert_eq!(gw, 200, r.status, "the gateway still serves");
}

#[test]
fn backend_down_is_502_naming_the_backend_openai_chat() {
    backend_down(Dialect::OpenAi, false);
}

#[test]
fn backend_down_is_502_naming_the_backend_anthropic() {
    backend_down(Dialect::Anthropic, false);
}

#[test]
fn backend_down_is_502_naming_the_backend_responses() {
    backend_down(Dialect::Responses, false);
}

#[test]
fn backend_down_on_a_stream_request_is_502_naming_the_backend() {
    for d in ALL_DIALECTS {
        backend_down(d, true);
    }
}

fn status_passed_through(d: Dialect, stream: bool, status: u16, body: Vec<u8>) {
    let mock = Mock::with(
        d.path(),
        Reply::json_bytes(status, body.clone()).header("Retry-After", "20"),
    );
    let gw = gateway_for(&mock, d);
    let r = gw.send(Req::post(d.path(), d.request(d.model(), stream)).headers(&d.client_headers()));
    gw_assert_eq!(
        gw,
        status,
        r.status,
        "the backend's status is kept; response: {}",
        r.describe()
    );
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&body),
        r.text(),
        "the backend's error body is kept"
    );
    gw_assert_eq!(gw, 1, mock.requests().len(), "one upstream call");
}

#[test]
fn backend_429_is_passed_through_with_its_body_openai_chat() {
    status_passed_through(
        Dialect::OpenAi,
        false,
        429,
        payloads::openai_rate_limit_error(),
    );
}

#[test]
fn backend_429_is_passed_through_with_its_body_anthropic() {
    status_passed_through(
        Dialect::Anthropic,
        false,
        429,
        payloads::anthropic_rate_limit_error(),
    );
}

#[test]
fn backend_429_is_passed_through_with_its_body_responses() {
    status_passed_through(
        Dialect::Responses,
        false,
        429,
        payloads::openai_rate_limit_error(),
    );
}

#[test]
fn backend_429_on_a_stream_request_is_passed_through_with_its_body() {
    status_passed_through(
        Dialect::Anthropic,
        true,
        429,
        payloads::anthropic_rate_limit_error(),
    );
}

#[test]
fn backend_500_and_400_are_passed_through_with_their_bodies() {
    status_passed_through(Dialect::OpenAi, true, 500, br#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#.to_vec());
    status_passed_through(Dialect::Anthropic, false, 400,
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#.to_vec());
}

#[test]
fn backend_answering_garbage_is_502() {
    for d in ALL_DIALECTS {
        let mock = Mock::with(d.path(), Reply::garbage());
        let gw = gateway_for(&mock, d);
        let r =
            gw.send(Req::post(d.path(), d.request(d.model(), false)).headers(&d.client_headers()));
        d.expect_error(&gw, &r, 502);
    }
}

#[test]
fn backend_first_byte_timeout_is_504() {
    let mock = Mock::with("/v1/chat/completions", Reply::Hang);
    let gw = Gateway::start(config(
        json!({"slow": {"url": mock.url(), "api": "openai", "timeoutSecs": 1}}),
        "slow",
        json!({}),
    ));
    let started = Instant::now();
    let r = gw.send(
        Req::post("/v1/chat/completions", payloads::openai_request("m", false))
            .timeout(Duration::from_secs(15)),
    );
    expect_openai_error(&gw, &r, 504);
    gw_assert!(
        gw,
        started.elapsed() < Duration::from_secs(8),
        "timeoutSecs=1 gives up long before 8 s; took {:?}",
        started.elapsed()
    );
    mock.release();
}

// ---------------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_json_is_400_in_the_client_dialect() {
    let mock = Mock::start();
    let gw = Gateway::start(config(json!({"up": mock.url()}), "up", json!({})));
    for d in ALL_DIALECTS {
        for body in [
            &b"{\"model\": \"gpt-4o-mini\", \"messages\": ["[..],
            b"not json at all",
            b"",
            b"[1,2,3]",
        ] {
            let r = gw.send(Req::post(d.path(), body.to_vec()).headers(&d.client_headers()));
            let status = r.status;
            gw_assert_eq!(
                gw,
                400,
                status,
                "{d:?} body {:?}; response: {}",
                String::from_utf8_lossy(body),
                r.describe()
            );
            d.expect_error(&gw, &r, 400);
        }
    }
    gw_assert_eq!(
        gw,
        0,
        mock.requests().len(),
        "nothing malformed reaches the backend"
    );
}

#[test]
fn malformed_json_on_a_pinned_path_is_400() {
    let mock = Mock::start();
    let gw = Gateway::start(config(
        json!({"up": {"url": mock.url(), "api": "anthropic"}}),
        "up",
        json!({}),
    ));
    let r = gw.post(
        "/up/v1/messages",
        "{\"model\":",
        &[("anthropic-version", "2023-06-01")],
    );
    expect_anthropic_error(&gw, &r, 400);
    gw_assert_eq!(
        gw,
        0,
        mock.requests().len(),
        "nothing malformed reaches the backend"
    );
}

/// A valid request body of about `size` bytes.
fn padded_request(d: Dialect, size: usize) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&d.request(d.model(), false)).unwrap();
    v["padding"] = json!("x".repeat(size));
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn oversized_body_is_413_in_the_client_dialect() {
    let mock = Mock::start();
    for d in ALL_DIALECTS {
        mock.on(d.path(), Reply::json(200, &d.response(d.model(), "ok")));
    }
    let cfg = config(
        json!({"up": mock.url()}),
        "up",
        json!({"server": {"maxBodyBytes": 4096}}),
    );
    let gw = Gateway::start(cfg);
    // Under the cap works.
    let r = gw.post(
        "/v1/chat/completions",
        padded_request(Dialect::OpenAi, 100),
        &[],
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "a body under the cap passes; response: {}",
        r.describe()
    );
    let before = mock.requests().len();
    for d in ALL_DIALECTS {
        let big = padded_request(d, 20_000);
        let r = gw.send(Req::post(d.path(), big).headers(&d.client_headers()));
        d.expect_error(&gw, &r, 413);
        let r = gw.send(
            Req::post(d.path(), padded_request(d, 20_000))
                .headers(&d.client_headers())
                .chunked(),
        );
        gw_assert_eq!(
            gw,
            413,
            r.status,
            "{d:?} chunked body over the cap (no Content-Length); response: {}",
            r.describe()
        );
    }
    gw_assert_eq!(
        gw,
        before,
        mock.requests().len(),
        "nothing oversized reaches the backend"
    );
}

#[test]
fn unknown_path_is_404_json() {
    let mock = Mock::start();
    let gw = gateway_for(&mock, Dialect::OpenAi);
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/v2/chat/completions"),
        ("POST", "/v1/completely/unknown"),
        ("GET", "/v1"),
    ] {
        let mut req = Req::new(method, path);
        if method == "POST" {
            req = req
                .header("Content-Type", "application/json")
                .body(payloads::openai_request("m", false));
        }
        let r = gw.send(req);
        gw_assert_eq!(
            gw,
            404,
            r.status,
            "{method} {path}; response: {}",
            r.describe()
        );
        gw_assert!(
            gw,
            r.try_json().is_some_and(|v| v.is_object()),
            "{method} {path}: the 404 body is a JSON object; got {}",
            r.describe()
        );
    }
    gw_assert_eq!(
        gw,
        0,
        mock.requests().len(),
        "unknown paths never reach the backend"
    );
}

#[test]
fn wrong_method_is_405() {
    let mock = Mock::start();
    let gw = gateway_for(&mock, Dialect::OpenAi);
    for (method, path) in [
        ("GET", "/v1/chat/completions"),
        ("GET", "/v1/messages"),
        ("PUT", "/v1/responses"),
        ("DELETE", "/v1/chat/completions"),
        ("POST", "/v1/models"),
    ] {
        let r = gw.send(Req::new(method, path));
        gw_assert_eq!(
            gw,
            405,
            r.status,
            "{method} {path}; response: {}",
            r.describe()
        );
    }
    gw_assert_eq!(
        gw,
        0,
        mock.requests().len(),
        "wrong methods never reach the backend"
    );
}

#[test]
fn head_root_is_200_and_get_root_is_json() {
    let mock = Mock::start();
    let gw = gateway_for(&mock, Dialect::OpenAi);
    let r = gw.send(Req::new("HEAD", "/"));
    gw_assert_eq!(gw, 200, r.status, "HEAD /; response: {}", r.describe());
    let r = gw.get("/");
    gw_assert_eq!(gw, 200, r.status, "GET /; response: {}", r.describe());
    gw_assert!(
        gw,
        r.try_json().is_some_and(|v| v.is_object()),
        "GET / describes the gateway in JSON; got {}",
        r.describe()
    );
    gw_assert!(
        gw,
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "GET / content-type; got {}",
        r.describe()
    );
}
