//! Fallbacks and circuit breaking (issue 5 tests, as operated through the control plane): a
//! backend with `fallback: ["other"]` that refuses connections, answers 500, or 429 with
//! `Retry-After` ⇒ the client gets the other's answer with `X-Fallback-From`, and the fallback
//! counter moves; after `circuitBreaker.failureThreshold` failures the failing backend is skipped
//! (its mock records nothing more) until the cool-down passes, then gets one trial request; a
//! stream that already started is never retried.

mod common;
#[path = "common/control.rs"]
mod control;

use std::thread;
use std::time::{Duration, Instant};

use common::metrics;
use common::*;
use control::*;
use serde_json::{json, Value};

fn fallback_total(gw: &Gateway, from: &str) -> f64 {
    let text = gw.metrics_response().text();
    let m = metrics::parse(&text).unwrap_or_else(|e| panic!("metrics do not parse: {e}\n{text}"));
    m.get("llm_proxy_fallbacks_total", &[("backend", from)])
        .unwrap_or(0.0)
}

/// `other`: an Anthropic backend that answers, so the fallback also converts.
fn other_backend() -> Mock {
    let m = Mock::start();
    m.on(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("m", "from other")),
    );
    m.on(
        "/v1/models",
        Reply::json(200, &payloads::anthropic_models(&["m"])),
    );
    m
}

fn gateway_with_fallback(first: Value, other: &Mock, extra: Value) -> Gateway {
    let mut first = first;
    first["fallback"] = json!(["other"]);
    Gateway::start(config(
        json!({"first": first, "other": backend(other, Dialect::Anthropic)}),
        "first",
        extra,
    ))
}

fn expect_fallback(gw: &Gateway, r: &Response, what: &str) {
    gw_assert_eq!(gw, 200, r.status, "{what}: {}", r.describe());
    gw_assert_eq!(
        gw,
        Some("other"),
        r.header("x-backend"),
        "{what}: answered by other; {}",
        r.describe()
    );
    gw_assert_eq!(
        gw,
        Some("first"),
        r.header("x-fallback-from"),
        "{what}: X-Fallback-From; {}",
        r.describe()
    );
}

fn send_openai(gw: &Gateway) -> Response {
    gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    )
}

#[test]
fn connection_refused_falls_back_to_the_next_backend() {
    let other = other_backend();
    let dead_port = DeadPort::new();
    let dead = dead_port.url();
    let gw = gateway_with_fallback(
        json!({"url": dead, "api": "openai", "connectTimeoutSecs": 1}),
        &other,
        json!({}),
    );
    for d in ALL_DIALECTS {
        // A model that routes to the default backend in every dialect (a `claude` model would go
        // straight to the Anthropic backend).
        let r = gw.send(
            Req::post(d.path(), d.request("plain-model", false)).headers(&d.client_headers()),
        );
        expect_fallback(&gw, &r, &format!("{d:?} client, first refuses connections"));
        gw_assert!(
            gw,
            !answer_text(&gw, d, &r).is_empty(),
            "{d:?}: other's answer in the client's dialect"
        );
    }
    let (r, text) = chat(&gw, Dialect::OpenAi, "stream me", true, &[]);
    expect_fallback(&gw, &r, "a stream request before any byte");
    gw_assert_eq!(gw, "from other", text, "the stream is other's answer");
    gw_assert_eq!(gw, 4, other.requests().len(), "other answered all four");
    let deadline = Instant::now() + WAIT;
    while fallback_total(&gw, "first") < 4.0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(25));
    }
    gw_assert_eq!(
        gw,
        4.0,
        fallback_total(&gw, "first"),
        "llm_proxy_fallbacks_total{{backend=\"first\"}}"
    );
    let logs = wait_logged(&gw, 4, &[]);
    let e = &logs["logs"][0];
    gw_assert_eq!(
        gw,
        "other",
        e["backend"],
        "the log names the backend that answered: {e}"
    );
    gw_assert!(
        gw,
        e["routeReason"]
            .as_str()
            .is_some_and(|r| r.contains("fallback from first")),
        "the routing reason tells of the fallback: {e}"
    );
}

#[test]
fn a_500_falls_back_and_the_first_backend_was_asked() {
    let other = other_backend();
    let first = Mock::with(
        "/v1/chat/completions",
        Reply::json(
            500,
            &json!({"error": {"message": "first broke", "type": "server_error"}}),
        ),
    );
    let gw = gateway_with_fallback(backend(&first, Dialect::OpenAi), &other, json!({}));
    let r = send_openai(&gw);
    expect_fallback(&gw, &r, "first answers 500");
    gw_assert_eq!(
        gw,
        "from other",
        answer_text(&gw, Dialect::OpenAi, &r),
        "other's answer, converted"
    );
    gw_assert_eq!(gw, 1, first.requests().len(), "first was asked once");
    gw_assert_eq!(gw, 1, other.requests().len(), "other was asked once");
    gw_assert_eq!(
        gw,
        1.0,
        fallback_total(&gw, "first"),
        "the fallback counter moved"
    );
}

#[test]
fn the_global_fallback_list_applies_to_every_backend() {
    let other = other_backend();
    let first = Mock::with(
        "/v1/chat/completions",
        Reply::json(
            503,
            &json!({"error": {"message": "busy", "type": "server_error"}}),
        ),
    );
    let gw = Gateway::start(config(
        json!({"first": backend(&first, Dialect::OpenAi), "other": backend(&other, Dialect::Anthropic)}),
        "first",
        json!({"fallback": ["other"]}),
    ));
    let r = send_openai(&gw);
    expect_fallback(&gw, &r, "first answers 503, global fallback");
}

#[test]
fn a_429_with_retry_after_falls_back_and_skips_the_backend_that_long() {
    let other = other_backend();
    let first = Mock::start();
    first.on_seq(
        "/v1/chat/completions",
        vec![
            Reply::json_bytes(429, payloads::openai_rate_limit_error()).header("Retry-After", "1"),
            Reply::json(200, &payloads::openai_completion("m", "from first")),
        ],
    );
    first.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let gw = gateway_with_fallback(backend(&first, Dialect::OpenAi), &other, json!({}));
    wait_probed(&gw);
    let asked = Instant::now();
    let r = send_openai(&gw);
    expect_fallback(&gw, &r, "first answers 429 with Retry-After: 1");
    gw_assert_eq!(gw, 1, first.requests().len(), "first was asked");
    // Within the second it asked for, first is left alone.
    let r = send_openai(&gw);
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        Some("other"),
        r.header("x-backend"),
        "first is skipped during Retry-After: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        asked.elapsed() < Duration::from_millis(900),
        "the second request came within the Retry-After"
    );
    gw_assert_eq!(
        gw,
        1,
        first.requests().len(),
        "first was not asked during its Retry-After"
    );
    // After it, first answers again.
    thread::sleep(Duration::from_millis(1100).saturating_sub(asked.elapsed()));
    let r = send_openai(&gw);
    gw_assert_eq!(
        gw,
        Some("first"),
        r.header("x-backend"),
        "first is back after Retry-After: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        r.header("x-fallback-from").is_none(),
        "no fallback now: {}",
        r.describe()
    );
    gw_assert_eq!(gw, 2, first.requests().len(), "first asked again");
}

#[test]
fn the_circuit_opens_after_the_threshold_then_allows_one_trial_after_the_cooldown() {
    let cooldown = Duration::from_millis(1500);
    let other = other_backend();
    let first = Mock::start();
    let broke = || {
        Reply::json(
            500,
            &json!({"error": {"message": "first broke", "type": "server_error"}}),
        )
    };
    first.on_seq(
        "/v1/chat/completions",
        vec![
            broke(),
            broke(),
            broke(),
            Reply::json(200, &payloads::openai_completion("m", "from first")),
        ],
    );
    first.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let gw = gateway_with_fallback(
        backend(&first, Dialect::OpenAi),
        &other,
        json!({"circuitBreaker": {"failureThreshold": 2, "cooldownSecs": cooldown.as_secs_f64()}}),
    );
    // Let the start-up probe finish first: a probe that reaches the backend resets the count.
    wait_probed(&gw);

    expect_fallback(&gw, &send_openai(&gw), "failure 1");
    expect_fallback(&gw, &send_openai(&gw), "failure 2");
    let opened = Instant::now();
    gw_assert_eq!(gw, 2, first.requests().len(), "two failures reached first");
    for i in 0..3 {
        let r = send_openai(&gw);
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
        gw_assert_eq!(
            gw,
            Some("other"),
            r.header("x-backend"),
            "open circuit, request {i}: {}",
            r.describe()
        );
    }
    gw_assert!(
        gw,
        opened.elapsed() < cooldown,
        "the skipped requests came within the cool-down"
    );
    gw_assert_eq!(
        gw,
        2,
        first.requests().len(),
        "an open circuit sends nothing to first"
    );

    // The cool-down passes: one trial, which fails and opens the circuit again.
    thread::sleep(cooldown + Duration::from_millis(100));
    expect_fallback(&gw, &send_openai(&gw), "the failed trial");
    let reopened = Instant::now();
    gw_assert_eq!(gw, 3, first.requests().len(), "exactly one trial request");
    let r = send_openai(&gw);
    gw_assert_eq!(
        gw,
        Some("other"),
        r.header("x-backend"),
        "open again after a failed trial: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        reopened.elapsed() < cooldown,
        "within the new cool-down"
    );
    gw_assert_eq!(gw, 3, first.requests().len(), "nothing more to first");

    // Another cool-down: the trial succeeds and closes the circuit.
    thread::sleep(cooldown + Duration::from_millis(100));
    let r = send_openai(&gw);
    gw_assert_eq!(
        gw,
        Some("first"),
        r.header("x-backend"),
        "a successful trial: {}",
        r.describe()
    );
    gw_assert_eq!(
        gw,
        "from first",
        answer_text(&gw, Dialect::OpenAi, &r),
        "first's answer"
    );
    let r = send_openai(&gw);
    gw_assert_eq!(
        gw,
        Some("first"),
        r.header("x-backend"),
        "closed again: {}",
        r.describe()
    );
    gw_assert_eq!(gw, 5, first.requests().len(), "first serves again");
}

/// Several requests arrive together once the cool-down has passed: only one is the trial; the
/// others keep going to the fallback while it runs.
#[test]
fn only_one_trial_request_while_the_circuit_is_half_open() {
    let cooldown = Duration::from_millis(800);
    let other = other_backend();
    let first = Mock::start();
    let broke = || {
        Reply::json(
            500,
            &json!({"error": {"message": "first broke", "type": "server_error"}}),
        )
    };
    first.on_seq("/v1/chat/completions", vec![broke(), Reply::Hang]);
    first.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let mut first_cfg = backend(&first, Dialect::OpenAi);
    first_cfg["timeoutSecs"] = json!(2);
    let gw = gateway_with_fallback(
        first_cfg,
        &other,
        json!({"circuitBreaker": {"failureThreshold": 1, "cooldownSecs": cooldown.as_secs_f64()},
               "server": {"workers": 8}}),
    );
    wait_probed(&gw);
    expect_fallback(&gw, &send_openai(&gw), "the failure that opens the circuit");
    thread::sleep(cooldown + Duration::from_millis(100));
    let results: Vec<Response> = thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let gw = &gw;
                s.spawn(move || {
                    thread::sleep(Duration::from_millis(20 * i));
                    send_openai(gw)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    first.release();
    for r in &results {
        gw_assert_eq!(
            gw,
            200,
            r.status,
            "every client gets an answer: {}",
            r.describe()
        );
        gw_assert_eq!(gw, Some("other"), r.header("x-backend"), "{}", r.describe());
    }
    gw_assert_eq!(
        gw,
        2,
        first.requests().len(),
        "one failure, then exactly one trial (which hung)"
    );
}

/// The circuit state is reported where operators look (`/debug/health`, per the breaker's own
/// doc comment).
#[test]
fn an_open_circuit_shows_in_debug_health() {
    let other = other_backend();
    let first = Mock::with(
        "/v1/chat/completions",
        Reply::json(
            500,
            &json!({"error": {"message": "first broke", "type": "server_error"}}),
        ),
    );
    first.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let gw = gateway_with_fallback(
        backend(&first, Dialect::OpenAi),
        &other,
        json!({"circuitBreaker": {"failureThreshold": 1, "cooldownSecs": 60}}),
    );
    wait_probed(&gw);
    let h = get_json(&gw, "/debug/health", &[]);
    let state_of = |h: &Value, name: &str| -> Option<String> {
        h["backends"][name].as_object().and_then(|o| {
            o.values().find_map(|v| {
                v.get("state")
                    .and_then(Value::as_str)
                    .filter(|_| v.get("consecutiveFailures").is_some())
                    .map(str::to_owned)
            })
        })
    };
    gw_assert_eq!(
        gw,
        Some("closed".to_string()),
        state_of(&h, "first"),
        "a closed circuit before any failure: {h}"
    );
    expect_fallback(&gw, &send_openai(&gw), "the failure that opens the circuit");
    let h = get_json(&gw, "/debug/health", &[]);
    gw_assert_eq!(
        gw,
        Some("open".to_string()),
        state_of(&h, "first"),
        "the open circuit is shown: {h}"
    );
}

#[test]
fn a_stream_that_already_started_is_never_retried() {
    let other = other_backend();
    let first = Mock::with(
        "/v1/chat/completions",
        Reply::close_mid_stream(
            payloads::openai_stream("m", &["partial ", "answer"])[..3].to_vec(),
            Duration::from_millis(10),
        ),
    );
    first.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let gw = gateway_with_fallback(backend(&first, Dialect::OpenAi), &other, json!({}));
    let mut s = gw.open(Req::post(
        "/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw_assert_eq!(gw, 200, s.status, "the stream started");
    gw_assert_eq!(gw, Some("first"), s.header("x-backend"), "first's stream");
    gw_assert!(gw, s.header("x-fallback-from").is_none(), "no fallback");
    let mut got = Vec::new();
    while let Ok(Some(ev)) = s.next_event() {
        got.push(ev);
    }
    let text: String = got
        .iter()
        .filter_map(|e| e.json())
        .filter_map(|v| {
            v.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    gw_assert_eq!(
        gw,
        "partial answer",
        text,
        "the client got first's partial stream and nothing from other"
    );
    settle();
    gw_assert_eq!(
        gw,
        0,
        other.requests().len(),
        "a started stream is never retried on another backend"
    );
    gw_assert_eq!(gw, 1, first.requests().len(), "nor on the same one");
    gw_assert_eq!(gw, 0.0, fallback_total(&gw, "first"), "no fallback counted");
}
