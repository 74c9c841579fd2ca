//! The `/debug` endpoints (issue 5, "Debug endpoints"): each one's shape and meaning, checked
//! against traffic the test itself sent — health with a dead backend, the request log and its
//! filters, bodies omitted or truncated, stats and tokens that add up, models from each backend's
//! `/v1/models`, the runtime switch, compare across dialects — and bad inputs on every endpoint
//! (malformed JSON, wrong method with `Allow`, unknown path).
//!
//! Config updates, reloads and SIGHUP are in `control_config.rs`; access control in
//! `control_auth.rs`; proxy-cli in `control_cli.rs`; metrics in `control_metrics.rs`; fallbacks and
//! circuit breaking in `control_fallback.rs`.

mod common;
#[path = "common/control.rs"]
mod control;

use common::*;
use control::*;
use serde_json::{json, Value};

/// A mock speaking `d` that answers every chat request with `text` and lists `models`.
fn mock_answering(d: Dialect, text: &str, models: &[&str]) -> Mock {
    let m = Mock::with(d.path(), Reply::json(200, &d.response("m", text)));
    let list = match d {
        Dialect::Anthropic => payloads::anthropic_models(models),
        _ => payloads::openai_models(models),
    };
    m.on("/v1/models", Reply::json(200, &list));
    m
}

/// Sends one non-streamed request of dialect `d` pinned to `backend`; returns the response.
fn pinned(gw: &Gateway, backend: &str, d: Dialect) -> Response {
    gw.send(
        Req::post(
            &format!("/{backend}{}", d.path()),
            d.request(d.model(), false),
        )
        .headers(&d.client_headers()),
    )
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn health_is_healthy_degraded_or_unhealthy_from_the_prober() {
    let dead_port = DeadPort::new();
    let up = mock_answering(Dialect::OpenAi, "hi", &["m1"]);
    let gw = Gateway::start(config(
        json!({"up": backend(&up, Dialect::OpenAi),
               "dead": {"url": dead_port.url(), "api": "openai", "connectTimeoutSecs": 1}}),
        "up",
        json!({}),
    ));
    let h = wait_probed(&gw);
    let r = gw.get("/debug/health");
    let h2 = expect_json(
        &gw,
        &r,
        200,
        "GET /debug/health with a dead non-default backend",
    );
    gw_assert_eq!(
        gw,
        "degraded",
        h2["status"],
        "one of two backends down; got {h}"
    );
    gw_assert_eq!(gw, env!("CARGO_PKG_VERSION"), h2["version"], "version");
    gw_assert!(
        gw,
        h2["uptimeSeconds"].is_u64(),
        "uptimeSeconds is a whole number: {h2}"
    );
    gw_assert_eq!(gw, "up", h2["defaultBackend"], "defaultBackend");
    gw_assert_eq!(gw, json!(0), h2["inFlight"], "nothing in flight");
    let b_up = &h2["backends"]["up"];
    gw_assert_eq!(gw, "up", b_up["status"], "backend up: {b_up}");
    gw_assert_eq!(
        gw,
        json!(true),
        b_up["reachable"],
        "backend up reachable: {b_up}"
    );
    gw_assert_eq!(
        gw,
        json!(true),
        b_up["default"],
        "backend up is the default: {b_up}"
    );
    gw_assert!(
        gw,
        b_up["latencyMs"].as_f64().is_some_and(|l| l >= 0.0),
        "latencyMs of a reachable backend: {b_up}"
    );
    let checked = b_up["lastCheckMs"].as_u64().unwrap_or(0);
    let now = now_ms();
    gw_assert!(
        gw,
        checked <= now + 1000 && checked + 60_000 >= now,
        "lastCheckMs is a recent unix time in ms: {checked} vs now {now}"
    );
    let b_dead = &h2["backends"]["dead"];
    gw_assert_eq!(gw, "down", b_dead["status"], "backend dead: {b_dead}");
    gw_assert_eq!(
        gw,
        json!(false),
        b_dead["reachable"],
        "dead is unreachable: {b_dead}"
    );
    gw_assert_eq!(
        gw,
        json!(false),
        b_dead["default"],
        "dead is not the default: {b_dead}"
    );
    gw_assert!(
        gw,
        b_dead["error"].as_str().is_some_and(|e| !e.is_empty()),
        "a down backend says why: {b_dead}"
    );
    gw_assert!(
        gw,
        b_dead["lastCheckMs"].is_u64(),
        "a down backend was checked: {b_dead}"
    );
    gw_assert!(
        gw,
        r.text().contains("\n  \""),
        "debug JSON is pretty-printed: {}",
        r.text()
    );

    // The default backend down: unhealthy, and 503 so a HEALTHCHECK fails.
    let r = post(&gw, "/debug/switch", r#"{"backend":"dead"}"#, &[]);
    expect_json(&gw, &r, 200, "switch to the dead backend");
    let r = gw.get("/debug/health");
    let h3 = expect_json(
        &gw,
        &r,
        503,
        "GET /debug/health with the default backend down",
    );
    gw_assert_eq!(gw, "unhealthy", h3["status"], "default backend down: {h3}");
    gw_assert_eq!(
        gw,
        json!(true),
        h3["backends"]["dead"]["default"],
        "dead is now the default: {h3}"
    );

    // Remove the dead backend: the default falls back to the configured one, all is healthy.
    let r = post(&gw, "/debug/config", r#"{"backends":{"dead":null}}"#, &[]);
    expect_json(&gw, &r, 200, "remove the dead backend");
    let r = gw.get("/debug/health");
    let h4 = expect_json(&gw, &r, 200, "GET /debug/health with only a live backend");
    gw_assert_eq!(gw, "healthy", h4["status"], "every backend up: {h4}");
    gw_assert_eq!(
        gw,
        "up",
        h4["defaultBackend"],
        "the removed default gave way to the configured one: {h4}"
    );
    gw_assert!(
        gw,
        h4["backends"].get("dead").is_none(),
        "a removed backend is not listed: {h4}"
    );

    // HEAD works for a HEALTHCHECK too, and GET / describes the gateway.
    let r = gw.send(Req::new("HEAD", "/debug/health"));
    gw_assert_eq!(gw, 200, r.status, "HEAD /debug/health: {}", r.describe());
    let root = get_json(&gw, "/", &[]);
    gw_assert_eq!(gw, "llm-gateway", root["name"], "GET /: {root}");
    gw_assert_eq!(
        gw,
        env!("CARGO_PKG_VERSION"),
        root["version"],
        "GET /: {root}"
    );
    gw_assert_eq!(gw, "up", root["defaultBackend"], "GET /: {root}");
    gw_assert_eq!(gw, json!(false), root["smartRouting"], "GET /: {root}");
    gw_assert_eq!(
        gw,
        json!([{"name": "up", "api": "openai"}]),
        root["backends"],
        "GET /: {root}"
    );
}

#[test]
fn health_of_a_single_live_backend_is_healthy() {
    let up = mock_answering(Dialect::Anthropic, "hi", &["claude-x"]);
    let gw = gateway_for(&up, Dialect::Anthropic);
    wait_probed(&gw);
    let r = gw.get("/debug/health");
    let h = expect_json(&gw, &r, 200, "GET /debug/health");
    gw_assert_eq!(gw, "healthy", h["status"], "{h}");
    gw_assert_eq!(gw, "up", h["backends"]["up"]["status"], "{h}");
    gw_assert!(
        gw,
        !up.all_requests().is_empty(),
        "the prober asked the backend"
    );
    gw_assert!(
        gw,
        up.all_requests().iter().any(|r| r.is_probe()),
        "the prober asks GET /v1/models; got {:?}",
        up.all_requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
}

#[test]
fn logs_are_newest_first_and_filter_by_limit_backend_and_status() {
    let dead_port = DeadPort::new();
    let a = mock_answering(Dialect::OpenAi, "from a", &["m"]);
    let b = Mock::with(
        "/v1/messages",
        Reply::json(
            500,
            &json!({"type": "error", "error": {"type": "api_error", "message": "b broke"}}),
        ),
    );
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::Anthropic),
               "c": {"url": dead_port.url(), "api": "openai", "connectTimeoutSecs": 1}}),
        "a",
        json!({}),
    ));
    let mut ids: Vec<(String, &str, u16)> = Vec::new();
    for (backend, d, status) in [
        ("a", Dialect::OpenAi, 200),
        ("b", Dialect::Anthropic, 500),
        ("a", Dialect::OpenAi, 200),
        ("c", Dialect::OpenAi, 502),
        ("b", Dialect::Anthropic, 500),
        ("a", Dialect::OpenAi, 200),
    ] {
        let r = pinned(&gw, backend, d);
        gw_assert_eq!(gw, status, r.status, "POST /{backend}: {}", r.describe());
        let id = r.header("x-request-id").unwrap_or("").to_string();
        gw_assert!(
            gw,
            !id.is_empty(),
            "every answer carries X-Request-Id: {}",
            r.describe()
        );
        ids.push((id, backend, status));
        // Entries are written just after the answer goes out; wait, so the log order is the
        // order sent.
        wait_logged(&gw, ids.len(), &[]);
    }
    let all = wait_logged(&gw, 6, &[]);
    gw_assert_eq!(
        gw,
        json!(6),
        all["count"],
        "six requests, six entries: {all}"
    );
    let got: Vec<&str> = all["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap_or(""))
        .collect();
    let want: Vec<&str> = ids.iter().rev().map(|(id, _, _)| id.as_str()).collect();
    gw_assert_eq!(gw, want, got, "log ids are the X-Request-Ids, newest first");

    // One entry in detail.
    let e = &all["logs"][0];
    gw_assert_eq!(gw, "POST", e["method"], "{e}");
    gw_assert_eq!(gw, "/a/v1/chat/completions", e["path"], "{e}");
    gw_assert_eq!(gw, "openai", e["clientDialect"], "{e}");
    gw_assert_eq!(gw, "a", e["backend"], "{e}");
    gw_assert_eq!(gw, Dialect::OpenAi.model(), e["model"], "{e}");
    gw_assert_eq!(gw, json!(false), e["stream"], "{e}");
    gw_assert_eq!(gw, json!(200), e["status"], "{e}");
    gw_assert_eq!(
        gw,
        json!(19),
        e["inputTokens"],
        "the backend reported 19 prompt tokens: {e}"
    );
    gw_assert_eq!(
        gw,
        json!(10),
        e["outputTokens"],
        "the backend reported 10 completion tokens: {e}"
    );
    gw_assert!(
        gw,
        e["durationMs"].as_f64().is_some_and(|d| d >= 0.0),
        "{e}"
    );
    gw_assert!(
        gw,
        e["timestampMs"]
            .as_u64()
            .is_some_and(|t| t + 60_000 > now_ms()),
        "{e}"
    );
    gw_assert!(
        gw,
        e["routeReason"].as_str().is_some_and(|r| !r.is_empty()),
        "{e}"
    );
    gw_assert!(gw, e["error"].is_null(), "a success has no error: {e}");
    gw_assert!(
        gw,
        e.get("requestBody").is_none_or(Value::is_null),
        "bodies are omitted by default: {e}"
    );
    let dead = all["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["backend"] == "c")
        .unwrap();
    gw_assert_eq!(gw, json!(502), dead["status"], "{dead}");
    gw_assert!(
        gw,
        dead["error"]
            .as_str()
            .is_some_and(|m| m.contains("backend c")),
        "the 502 entry says why: {dead}"
    );

    let count_of = |q: &str| -> (u64, Vec<Value>) {
        let v = get_json(&gw, &format!("/debug/logs?{q}"), &[]);
        let logs = v["logs"].as_array().cloned().unwrap_or_default();
        gw_assert_eq!(
            gw,
            v["count"].as_u64().unwrap_or(999),
            logs.len() as u64,
            "count matches the list for {q}"
        );
        (logs.len() as u64, logs)
    };
    let (n, logs) = count_of("limit=2");
    gw_assert_eq!(gw, 2, n, "limit=2");
    gw_assert_eq!(gw, json!(ids[5].0), logs[0]["id"], "limit keeps the newest");
    gw_assert_eq!(gw, json!(ids[4].0), logs[1]["id"], "limit keeps the newest");
    for (q, want, check) in [
        ("backend=a", 3, "a"),
        ("backend=b", 2, "b"),
        ("backend=c", 1, "c"),
        ("backend=nope", 0, ""),
        ("status=5xx", 3, ""),
        ("status=500", 2, ""),
        ("status=502", 1, ""),
        ("status=2xx", 3, ""),
        ("status=200", 3, ""),
        ("status=4xx", 0, ""),
        ("status=error", 3, ""),
        ("status=ok", 3, ""),
        ("backend=b&status=5xx&limit=1", 1, "b"),
        ("backend=a&status=error", 0, ""),
        ("limit=100000", 6, ""),
    ] {
        let (n, logs) = count_of(q);
        gw_assert_eq!(gw, want, n, "GET /debug/logs?{q}: {logs:?}");
        if !check.is_empty() {
            gw_assert!(
                gw,
                logs.iter().all(|e| e["backend"] == check),
                "?{q} keeps only backend {check}: {logs:?}"
            );
        }
        if q.contains("status=5xx") || q == "status=error" {
            gw_assert!(
                gw,
                logs.iter()
                    .all(|e| e["status"].as_u64().unwrap_or(0) >= 500),
                "?{q}: {logs:?}"
            );
        }
        if q == "status=ok" || q == "status=2xx" {
            gw_assert!(
                gw,
                logs.iter().all(|e| e["status"] == 200),
                "?{q}: {logs:?}"
            );
        }
    }
    let (_, logs) = count_of("backend=b&status=5xx&limit=1");
    gw_assert_eq!(gw, json!(ids[4].0), logs[0]["id"], "the newest b entry");

    for bad in ["limit=0", "limit=abc", "limit=-1", "limit=1.5"] {
        let r = gw.get(&format!("/debug/logs?{bad}"));
        let msg = expect_control_error(&gw, &r, 400, &format!("GET /debug/logs?{bad}"));
        gw_assert!(
            gw,
            msg.contains("limit"),
            "the error names the parameter: {msg}"
        );
    }
}

#[test]
fn logs_omit_bodies_unless_enabled_and_truncate_to_max_body_length() {
    let a = mock_answering(Dialect::OpenAi, "ok", &["m"]);
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({"logging": {"includeBody": true, "maxBodyLength": 60}}),
    ));
    let long = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(200) + &"y".repeat(50)
    );
    let short = r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#;
    assert!(short.len() < 60 && long.len() > 200);
    for (i, body) in [long.as_str(), short].into_iter().enumerate() {
        let r = gw.post("/v1/chat/completions", body, &[]);
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
        wait_logged(&gw, i + 1, &[]);
    }
    let v = wait_logged(&gw, 2, &[]);
    let newest = v["logs"][0]["requestBody"]
        .as_str()
        .unwrap_or("<none>")
        .to_string();
    let older = v["logs"][1]["requestBody"]
        .as_str()
        .unwrap_or("<none>")
        .to_string();
    gw_assert_eq!(
        gw,
        short,
        newest.as_str(),
        "a body under maxBodyLength is kept whole"
    );
    gw_assert!(
        gw,
        older.starts_with(&long[..60]),
        "a long body keeps its first 60 bytes; got {older:?}"
    );
    gw_assert!(
        gw,
        !older.contains(&long[60..80]) && !older.contains("yyy") && older.len() < 60 + 40,
        "a long body is cut at maxBodyLength=60 (a short note may follow); got {older:?}"
    );

    // Off at run time: bodies disappear from the log.
    let r = post(
        &gw,
        "/debug/config",
        r#"{"logging":{"includeBody":false}}"#,
        &[],
    );
    expect_json(&gw, &r, 200, "includeBody off");
    let r = gw.post("/v1/chat/completions", short, &[]);
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let v = wait_logged(&gw, 3, &[]);
    for e in v["logs"].as_array().unwrap() {
        gw_assert!(
            gw,
            e.get("requestBody").is_none_or(Value::is_null),
            "includeBody false omits every body: {e}"
        );
    }
    let text = gw.get("/debug/logs").text();
    gw_assert!(
        gw,
        !text.contains("xxxxxxxxxx"),
        "no body text anywhere in the log: {text}"
    );

    // On again with the default length: 1000 bytes.
    let r = post(
        &gw,
        "/debug/config",
        r#"{"logging":{"includeBody":true,"maxBodyLength":null}}"#,
        &[],
    );
    expect_json(&gw, &r, 200, "includeBody on, default maxBodyLength");
    let huge = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "z".repeat(3000)
    );
    let r = gw.post("/v1/chat/completions", huge.as_bytes().to_vec(), &[]);
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let v = wait_logged(&gw, 4, &[]);
    let kept = v["logs"][0]["requestBody"]
        .as_str()
        .unwrap_or("")
        .to_string();
    gw_assert!(
        gw,
        kept.starts_with(&huge[..1000]) && kept.len() < 1100,
        "the default maxBodyLength is 1000 bytes; kept {} bytes: {kept:?}",
        kept.len()
    );
}

#[test]
fn stats_add_up_to_the_traffic_sent() {
    let fast = mock_answering(Dialect::OpenAi, "fast", &["m"]);
    let slow = Mock::with(
        "/v1/chat/completions",
        Reply::sse_timed(
            payloads::openai_stream("m", &["a", "b", "c"])
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        std::time::Duration::from_millis(if i == 0 { 300 } else { 0 }),
                        e,
                    )
                })
                .collect(),
        ),
    );
    let failing = Mock::with(
        "/v1/chat/completions",
        Reply::json(
            500,
            &json!({"error": {"message": "boom", "type": "server_error"}}),
        ),
    );
    let gw = Gateway::start(config(
        json!({"fast": backend(&fast, Dialect::OpenAi), "slow": backend(&slow, Dialect::OpenAi),
               "failing": backend(&failing, Dialect::OpenAi)}),
        "fast",
        json!({}),
    ));
    let mut last_id = String::new();
    for _ in 0..4 {
        let r = pinned(&gw, "fast", Dialect::OpenAi);
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    }
    for _ in 0..2 {
        let mut s = gw.open(Req::post(
            "/slow/v1/chat/completions",
            payloads::openai_request("m", true),
        ));
        gw_assert_eq!(gw, 200, s.status, "slow stream");
        gw.events(&mut s);
    }
    wait_logged(&gw, 6, &[]);
    let r = pinned(&gw, "failing", Dialect::OpenAi);
    gw_assert_eq!(gw, 500, r.status, "{}", r.describe());
    last_id.push_str(r.header("x-request-id").unwrap_or(""));
    wait_logged(&gw, 7, &[]);

    let s = get_json(&gw, "/debug/stats", &[]);
    let o = &s["overview"];
    gw_assert_eq!(gw, json!(7), o["totalRequests"], "{s}");
    gw_assert_eq!(gw, json!(1), o["totalErrors"], "{s}");
    let rate = o["successRate"].as_f64().unwrap_or(-1.0);
    gw_assert!(
        gw,
        (rate - 6.0 / 7.0).abs() < 0.001,
        "successRate 6/7, got {rate}: {s}"
    );
    gw_assert!(
        gw,
        o["avgLatencyMs"].as_f64().is_some_and(|l| l > 0.0),
        "{s}"
    );
    gw_assert_eq!(gw, json!(0), o["inFlight"], "{s}");
    for window in ["window", "lastHour"] {
        let w = &o[window];
        gw_assert_eq!(gw, json!(7), w["requests"], "{window}: {s}");
        gw_assert_eq!(gw, json!(6), w["successes"], "{window}: {s}");
        gw_assert_eq!(gw, json!(1), w["errors"], "{window}: {s}");
        let (p50, p95) = (
            w["p50LatencyMs"].as_f64().unwrap_or(-1.0),
            w["p95LatencyMs"].as_f64().unwrap_or(-1.0),
        );
        gw_assert!(
            gw,
            0.0 <= p50 && p50 <= p95,
            "{window}: p50 {p50} <= p95 {p95}: {s}"
        );
        gw_assert!(
            gw,
            p95 >= 300.0,
            "{window}: the two slow streams (300 ms to first event) are in the top 5%: {s}"
        );
    }
    let b = &s["backends"];
    gw_assert_eq!(gw, json!(4), b["fast"]["requests"], "{s}");
    gw_assert_eq!(gw, json!(4), b["fast"]["successes"], "{s}");
    gw_assert_eq!(gw, json!(76), b["fast"]["inputTokens"], "4 x 19: {s}");
    gw_assert_eq!(gw, json!(40), b["fast"]["outputTokens"], "4 x 10: {s}");
    gw_assert_eq!(gw, json!(2), b["slow"]["requests"], "{s}");
    gw_assert!(
        gw,
        b["slow"]["p50LatencyMs"]
            .as_f64()
            .is_some_and(|l| l >= 300.0),
        "slow streams took >= 300 ms: {s}"
    );
    gw_assert_eq!(gw, json!(38), b["slow"]["inputTokens"], "2 x 19: {s}");
    gw_assert_eq!(gw, json!(6), b["slow"]["outputTokens"], "2 x 3: {s}");
    gw_assert_eq!(gw, json!(1), b["failing"]["requests"], "{s}");
    gw_assert_eq!(gw, json!(1), b["failing"]["errors"], "{s}");
    gw_assert_eq!(gw, json!(0.0), b["failing"]["successRate"], "{s}");
    gw_assert_eq!(gw, json!(114), s["tokens"]["input"], "{s}");
    gw_assert_eq!(gw, json!(46), s["tokens"]["output"], "{s}");
    gw_assert_eq!(
        gw,
        json!({"input": 76, "output": 40, "total": 116}),
        s["tokens"]["byBackend"]["fast"],
        "{s}"
    );
    let routing = s["recentRouting"].as_array().cloned().unwrap_or_default();
    gw_assert_eq!(
        gw,
        7,
        routing.len(),
        "every request's routing decision: {s}"
    );
    gw_assert_eq!(
        gw,
        json!(last_id),
        routing[0]["id"],
        "newest decision first: {s}"
    );
    gw_assert_eq!(gw, "failing", routing[0]["backend"], "{s}");
    gw_assert!(
        gw,
        routing[0]["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{s}"
    );
    gw_assert_eq!(gw, "fast", s["defaultBackend"], "{s}");
    gw_assert!(gw, s["categories"].is_object(), "{s}");

    let t = get_json(&gw, "/debug/tokens", &[]);
    gw_assert_eq!(
        gw,
        s["tokens"]["input"],
        t["input"],
        "/debug/tokens agrees with /debug/stats: {t}"
    );
    gw_assert_eq!(gw, s["tokens"]["output"], t["output"], "{t}");
    gw_assert_eq!(gw, json!(160), t["total"], "{t}");
    gw_assert_eq!(gw, s["tokens"]["byBackend"], t["byBackend"], "{t}");
}

#[test]
fn tokens_count_what_each_backend_dialect_reports() {
    let o = Mock::start();
    let an = Mock::start();
    let r = Mock::start();
    for (m, d) in [
        (&o, Dialect::OpenAi),
        (&an, Dialect::Anthropic),
        (&r, Dialect::Responses),
    ] {
        m.on_seq(
            d.path(),
            vec![
                Reply::json(200, &d.response("m", "full")),
                Reply::sse(d.stream("m", &["x", "y"]), std::time::Duration::ZERO),
                Reply::json(200, &d.response("m", "full")),
            ],
        );
    }
    let gw = Gateway::start(config(
        json!({"o": backend(&o, Dialect::OpenAi), "an": backend(&an, Dialect::Anthropic),
               "r": backend(&r, Dialect::Responses)}),
        "o",
        json!({}),
    ));
    let empty = get_json(&gw, "/debug/tokens", &[]);
    gw_assert_eq!(
        gw,
        json!({"input": 0, "output": 0, "total": 0, "byBackend": {}}),
        empty,
        "no traffic yet"
    );
    for (name, d) in [
        ("o", Dialect::OpenAi),
        ("an", Dialect::Anthropic),
        ("r", Dialect::Responses),
    ] {
        let resp = pinned(&gw, name, d);
        gw_assert_eq!(gw, 200, resp.status, "{name}: {}", resp.describe());
        let mut s = gw.open(
            Req::post(&format!("/{name}{}", d.path()), d.request(d.model(), true))
                .headers(&d.client_headers()),
        );
        gw_assert_eq!(gw, 200, s.status, "{name} stream");
        gw.events(&mut s);
    }
    // A converted request counts too: an Anthropic client on the OpenAI backend.
    let resp = pinned(&gw, "o", Dialect::Anthropic);
    gw_assert_eq!(gw, 200, resp.status, "{}", resp.describe());
    wait_logged(&gw, 7, &[]);
    let t = get_json(&gw, "/debug/tokens", &[]);
    // OpenAI: 19/10 full, 19/2 streamed, 19/10 converted. Anthropic: 21/12, 21/2.
    // Responses: 36/12, 36/2.
    let want = json!({
        "input": 57 + 42 + 72, "output": 22 + 14 + 14, "total": 171 + 50,
        "byBackend": {
            "o": {"input": 57, "output": 22, "total": 79},
            "an": {"input": 42, "output": 14, "total": 56},
            "r": {"input": 72, "output": 14, "total": 86},
        }
    });
    gw_assert_eq!(gw, want, t, "/debug/tokens after known traffic");
}

#[test]
fn models_lists_each_backend_with_status_models_default_and_capabilities() {
    let dead_port = DeadPort::new();
    let o = mock_answering(Dialect::OpenAi, "hi", &["gpt-a", "gpt-b"]);
    let an = mock_answering(Dialect::Anthropic, "hi", &["claude-x"]);
    let gw = Gateway::start(config(
        json!({
            "o": {"url": o.url(), "api": "openai", "model": "gpt-a", "specialties": ["code"], "contextWindow": 128000},
            "an": backend(&an, Dialect::Anthropic),
            "d": {"url": dead_port.url(), "api": "responses", "connectTimeoutSecs": 1}
        }),
        "an",
        json!({}),
    ));
    wait_probed(&gw);
    let m = get_json(&gw, "/debug/models", &[]);
    gw_assert_eq!(gw, "an", m["defaultBackend"], "{m}");
    let list = m["backends"].as_array().cloned().unwrap_or_default();
    gw_assert_eq!(gw, 3, list.len(), "every backend: {m}");
    let find = |n: &str| {
        list.iter()
            .find(|b| b["name"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let bo = find("o");
    gw_assert_eq!(gw, "up", bo["status"], "{bo}");
    gw_assert_eq!(
        gw,
        json!(["gpt-a", "gpt-b"]),
        bo["models"],
        "models from the backend's /v1/models: {bo}"
    );
    gw_assert_eq!(gw, json!(false), bo["default"], "{bo}");
    gw_assert_eq!(gw, "openai", bo["api"], "{bo}");
    gw_assert_eq!(gw, json!(o.url()), bo["url"], "{bo}");
    gw_assert_eq!(gw, "gpt-a", bo["configuredModel"], "{bo}");
    gw_assert_eq!(gw, json!(["code"]), bo["specialties"], "{bo}");
    gw_assert_eq!(gw, json!(128000), bo["contextWindow"], "{bo}");
    gw_assert_eq!(gw, json!(true), bo["capabilities"]["streaming"], "{bo}");
    gw_assert_eq!(gw, "openai", bo["capabilities"]["nativeDialect"], "{bo}");
    gw_assert_eq!(gw, "estimate", bo["capabilities"]["countTokens"], "{bo}");
    let ban = find("an");
    gw_assert_eq!(gw, "up", ban["status"], "{ban}");
    gw_assert_eq!(
        gw,
        json!(["claude-x"]),
        ban["models"],
        "Anthropic's model list format: {ban}"
    );
    gw_assert_eq!(gw, json!(true), ban["default"], "{ban}");
    gw_assert_eq!(gw, "native", ban["capabilities"]["countTokens"], "{ban}");
    let bd = find("d");
    gw_assert_eq!(gw, "down", bd["status"], "{bd}");
    gw_assert_eq!(gw, json!([]), bd["models"], "{bd}");
    gw_assert_eq!(gw, "responses", bd["api"], "{bd}");

    let r = post(&gw, "/debug/switch", r#"{"backend":"o"}"#, &[]);
    expect_json(&gw, &r, 200, "switch to o");
    let m = get_json(&gw, "/debug/models", &[]);
    gw_assert_eq!(gw, "o", m["defaultBackend"], "{m}");
    let defaults: Vec<&str> = m["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["default"] == true)
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    gw_assert_eq!(
        gw,
        vec!["o"],
        defaults,
        "exactly the new default is flagged"
    );
}

#[test]
fn switch_changes_the_default_backend_and_rejects_unknown_ones() {
    let a = mock_answering(Dialect::OpenAi, "from a", &["m"]);
    let b = mock_answering(Dialect::OpenAi, "from b", &["m"]);
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::OpenAi)}),
        "a",
        json!({}),
    ));
    let s = get_json(&gw, "/debug/switch", &[]);
    gw_assert_eq!(gw, "a", s["current"], "{s}");
    gw_assert_eq!(gw, "a", s["configured"], "{s}");
    let mut names: Vec<String> = serde_json::from_value(s["backends"].clone()).unwrap_or_default();
    names.sort();
    gw_assert_eq!(gw, vec!["a", "b"], names, "{s}");
    let send = || {
        gw.post(
            "/v1/chat/completions",
            payloads::openai_request("gpt-4o-mini", false),
            &[],
        )
    };
    let r = send();
    gw_assert_eq!(
        gw,
        Some("a"),
        r.header("x-backend"),
        "before the switch: {}",
        r.describe()
    );

    let r = post(&gw, "/debug/switch", r#"{"backend": "b"}"#, &[]);
    let v = expect_json(&gw, &r, 200, "switch to b");
    gw_assert_eq!(
        gw,
        json!({"success": true, "previous": "a", "current": "b"}),
        v,
        "switch answer"
    );
    let s = get_json(&gw, "/debug/switch", &[]);
    gw_assert_eq!(gw, "b", s["current"], "{s}");
    gw_assert_eq!(
        gw,
        "a",
        s["configured"],
        "the file's default is unchanged: {s}"
    );
    gw_assert_eq!(
        gw,
        "b",
        get_json(&gw, "/", &[])["defaultBackend"],
        "GET / follows the switch"
    );
    gw_assert_eq!(
        gw,
        "b",
        get_json(&gw, "/debug/health", &[])["defaultBackend"],
        "health follows"
    );
    let r = send();
    gw_assert_eq!(
        gw,
        Some("b"),
        r.header("x-backend"),
        "after the switch: {}",
        r.describe()
    );
    gw_assert_eq!(gw, 1, b.requests().len(), "b got the request");
    gw_assert_eq!(gw, 1, a.requests().len(), "a did not");

    for (body, status, what) in [
        (r#"{"backend": "nope"}"#, 404, "unknown backend"),
        (r#"{"backend": "nope"#, 400, "malformed JSON"),
        ("", 400, "empty body"),
        ("{}", 400, "no backend field"),
        (r#"{"backend": 5}"#, 400, "backend not a string"),
        (r#"["b"]"#, 400, "not an object"),
    ] {
        let r = post(&gw, "/debug/switch", body, &[]);
        let msg = expect_control_error(&gw, &r, status, &format!("POST /debug/switch, {what}"));
        if status == 404 {
            gw_assert!(
                gw,
                msg.contains("nope"),
                "the error names the unknown backend: {msg}"
            );
        }
        gw_assert_eq!(
            gw,
            "b",
            get_json(&gw, "/debug/switch", &[])["current"],
            "{what} changes nothing"
        );
    }

    // A runtime switch survives a config update that leaves defaultBackend alone...
    let r = post(
        &gw,
        "/debug/config",
        r#"{"logging":{"includeBody":true}}"#,
        &[],
    );
    expect_json(&gw, &r, 200, "unrelated config update");
    gw_assert_eq!(
        gw,
        "b",
        get_json(&gw, "/debug/switch", &[])["current"],
        "the switch survives"
    );
    // ...and gives way to one that sets it.
    let r = post(&gw, "/debug/config", r#"{"defaultBackend":"a"}"#, &[]);
    expect_json(&gw, &r, 200, "defaultBackend update");
    gw_assert_eq!(
        gw,
        "a",
        get_json(&gw, "/debug/switch", &[])["current"],
        "the update sets the default"
    );
}

#[test]
fn compare_sends_one_request_to_every_backend_in_its_own_dialect() {
    let o = mock_answering(Dialect::OpenAi, "answer from openai", &["m"]);
    let an = mock_answering(Dialect::Anthropic, "answer from anthropic", &["m"]);
    let bad = Mock::with(
        "/v1/responses",
        Reply::json(
            500,
            &json!({"error": {"message": "responses backend broke", "type": "server_error"}}),
        ),
    );
    let gw = Gateway::start(config(
        json!({"o": backend(&o, Dialect::OpenAi), "an": backend(&an, Dialect::Anthropic),
               "bad": backend(&bad, Dialect::Responses)}),
        "o",
        json!({}),
    ));
    let body = json!({"model": "whatever", "stream": true,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Compare me"}]});
    let r = post(&gw, "/debug/compare", body.to_string(), &[]);
    let v = expect_json(&gw, &r, 200, "POST /debug/compare");
    let results = v["results"].as_array().cloned().unwrap_or_default();
    gw_assert_eq!(gw, 3, results.len(), "one result per backend: {v}");
    let find = |n: &str| {
        results
            .iter()
            .find(|x| x["backend"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let ro = find("o");
    gw_assert_eq!(gw, json!(200), ro["status"], "{ro}");
    gw_assert_eq!(gw, "answer from openai", ro["text"], "{ro}");
    gw_assert_eq!(gw, json!(19), ro["inputTokens"], "{ro}");
    gw_assert_eq!(gw, json!(10), ro["outputTokens"], "{ro}");
    gw_assert!(
        gw,
        ro["latencyMs"].as_f64().is_some_and(|l| l >= 0.0),
        "{ro}"
    );
    gw_assert!(gw, ro["error"].is_null(), "{ro}");
    let ran = find("an");
    gw_assert_eq!(gw, json!(200), ran["status"], "{ran}");
    gw_assert_eq!(gw, "answer from anthropic", ran["text"], "{ran}");
    gw_assert_eq!(gw, json!(21), ran["inputTokens"], "{ran}");
    gw_assert_eq!(gw, json!(12), ran["outputTokens"], "{ran}");
    let rbad = find("bad");
    gw_assert_eq!(gw, json!(500), rbad["status"], "{rbad}");
    gw_assert!(gw, rbad["text"].is_null(), "{rbad}");
    gw_assert!(
        gw,
        rbad["error"].as_str().is_some_and(|e| e.contains("broke")),
        "the backend's message: {rbad}"
    );

    // Each backend got the request in its own dialect, not streamed.
    let got_o = o.single_request();
    gw_assert_eq!(
        gw,
        "/v1/chat/completions",
        got_o.path_only(),
        "openai backend path"
    );
    let jo = got_o.json();
    gw_assert!(
        gw,
        jo["messages"].to_string().contains("Compare me"),
        "openai body: {jo}"
    );
    gw_assert!(gw, jo["stream"] != true, "compare does not stream: {jo}");
    let got_an = an.single_request();
    gw_assert_eq!(
        gw,
        "/v1/messages",
        got_an.path_only(),
        "anthropic backend path"
    );
    let ja = got_an.json();
    gw_assert!(
        gw,
        ja["max_tokens"].is_u64(),
        "Anthropic needs max_tokens: {ja}"
    );
    gw_assert!(
        gw,
        ja["messages"].to_string().contains("Compare me"),
        "anthropic body: {ja}"
    );
    gw_assert!(
        gw,
        ja["system"].to_string().contains("Be brief."),
        "the system prompt moves to `system`: {ja}"
    );
    gw_assert!(
        gw,
        ja["messages"]
            .as_array()
            .is_some_and(|m| m.iter().all(|x| x["role"] != "system")),
        "{ja}"
    );
    gw_assert!(
        gw,
        got_an.header("anthropic-version").is_some(),
        "anthropic-version sent"
    );
    let got_bad = bad.single_request();
    gw_assert_eq!(
        gw,
        "/v1/responses",
        got_bad.path_only(),
        "responses backend path"
    );
    gw_assert!(
        gw,
        got_bad.json()["input"].to_string().contains("Compare me"),
        "responses body"
    );

    // A subset of backends.
    let sub = json!({"model": "x", "messages": [{"role": "user", "content": "only o"}], "backends": ["o"]});
    let v = expect_json(
        &gw,
        &post(&gw, "/debug/compare", sub.to_string(), &[]),
        200,
        "compare on o only",
    );
    gw_assert_eq!(gw, 1, v["results"].as_array().map_or(0, Vec::len), "{v}");
    gw_assert_eq!(gw, 2, o.requests().len(), "o asked again");
    gw_assert_eq!(gw, 1, an.requests().len(), "an not asked");

    // Bad inputs.
    let unknown = json!({"model": "x", "messages": [{"role": "user", "content": "hi"}], "backends": ["o", "nope"]});
    let msg = expect_control_error(
        &gw,
        &post(&gw, "/debug/compare", unknown.to_string(), &[]),
        404,
        "unknown backend",
    );
    gw_assert!(gw, msg.contains("nope"), "{msg}");
    expect_control_error(
        &gw,
        &post(&gw, "/debug/compare", "{\"model\":", &[]),
        400,
        "malformed JSON",
    );
    expect_control_error(
        &gw,
        &post(&gw, "/debug/compare", "", &[]),
        400,
        "empty body",
    );
    expect_control_error(
        &gw,
        &post(&gw, "/debug/compare", "[1]", &[]),
        400,
        "not an object",
    );
    expect_control_error(
        &gw,
        &post(
            &gw,
            "/debug/compare",
            r#"{"model":"x","messages":"hi"}"#,
            &[],
        ),
        400,
        "messages not a list",
    );
    gw_assert_eq!(
        gw,
        2,
        o.requests().len(),
        "no bad compare reached a backend"
    );
}

#[test]
fn every_control_path_answers_wrong_methods_with_405_and_allow() {
    let a = mock_answering(Dialect::OpenAi, "x", &["m"]);
    let gw = gateway_for(&a, Dialect::OpenAi);
    let get_only = "GET, HEAD";
    let both = "GET, HEAD, POST";
    for (path, allow) in [
        ("/", get_only),
        ("/debug/health", get_only),
        ("/debug/logs", get_only),
        ("/debug/stats", get_only),
        ("/debug/tokens", get_only),
        ("/debug/models", get_only),
        ("/debug/switch", both),
        ("/debug/config", both),
        ("/debug/router", both),
        ("/debug/compare", "POST"),
    ] {
        let mut methods = vec!["PUT", "DELETE", "PATCH"];
        if !allow.contains("POST") {
            methods.push("POST");
        }
        if !allow.contains("GET") {
            methods.push("GET");
        }
        for m in methods {
            let r = gw.send(
                Req::new(m, path)
                    .header("Content-Type", "application/json")
                    .body("{}"),
            );
            expect_control_error(&gw, &r, 405, &format!("{m} {path}"));
            gw_assert_eq!(
                gw,
                Some(allow),
                r.header("allow"),
                "{m} {path}: Allow lists what works; {}",
                r.describe()
            );
        }
    }
    for path in [
        "/debug",
        "/debug/nope",
        "/debug/health/extra",
        "/debugx",
        "/nope",
    ] {
        let r = gw.get(path);
        let msg = expect_control_error(&gw, &r, 404, &format!("GET {path}"));
        gw_assert!(
            gw,
            msg.contains(path.trim_end_matches('/')),
            "the 404 names the path: {msg}"
        );
    }
    // A trailing slash and a query string are the same endpoint.
    for path in ["/debug/health/", "/debug/stats?x=1", "/debug/switch/"] {
        let r = gw.get(path);
        expect_json(&gw, &r, 200, &format!("GET {path}"));
    }
    gw_assert_eq!(
        gw,
        0,
        a.requests().len(),
        "control paths never reach a backend"
    );
}

#[test]
fn router_reports_smart_routing_and_rejects_malformed_posts() {
    let a = mock_answering(Dialect::OpenAi, "x", &["m"]);
    let gw = Gateway::start(config(
        json!({"up": backend(&a, Dialect::OpenAi)}),
        "up",
        json!({"smartRouter": {"enabled": true}}),
    ));
    let v = get_json(&gw, "/debug/router", &[]);
    gw_assert_eq!(
        gw,
        json!(true),
        v["enabled"],
        "smartRouter.enabled from the file: {v}"
    );
    gw_assert_eq!(
        gw,
        json!(true),
        get_json(&gw, "/", &[])["smartRouting"],
        "GET / agrees"
    );
    expect_control_error(
        &gw,
        &post(&gw, "/debug/router", "{nope", &[]),
        400,
        "malformed JSON",
    );
    expect_control_error(&gw, &post(&gw, "/debug/router", "", &[]), 400, "empty body");
}

#[test]
fn oversized_control_bodies_are_refused() {
    let a = mock_answering(Dialect::OpenAi, "x", &["m"]);
    let gw = gateway_for(&a, Dialect::OpenAi);
    let before = get_json(&gw, "/debug/config", &[]);
    let big = format!(
        r#"{{"logging":{{"includeBody":true}},"pad":"{}"}}"#,
        "p".repeat(2 * 1024 * 1024)
    );
    let r = post(&gw, "/debug/config", big, &[]);
    expect_control_error(&gw, &r, 413, "a 2 MiB config update");
    gw_assert_eq!(
        gw,
        before,
        get_json(&gw, "/debug/config", &[]),
        "nothing changed"
    );
}

/// A backend that thinks before it answers at all, as a local model reading a long prompt does:
/// it reads the request, waits `delay`, then sends the status line, headers and every event at
/// once. Serves each connection on its own thread; stops with the test process.
fn head_after(delay: std::time::Duration, events: Vec<Vec<u8>>) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().take(100) {
            let Ok(conn) = conn else { continue };
            let events = events.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                std::thread::sleep(delay);
                let mut out = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_vec();
                for e in &events {
                    out.extend_from_slice(e);
                }
                let mut conn = conn;
                let _ = conn.write_all(&out);
            });
        }
    });
    url
}

/// Time to first token counts from the request's arrival, as operators read it: a backend that
/// takes 300 ms before its first event — here all of it before the response head, as a local
/// model reading a long prompt does — shows at least 300 ms in the log, in `/debug/stats` and in
/// the `llm_proxy_time_to_first_token_seconds` histogram.
#[test]
fn time_to_first_token_counts_from_the_request_arrival() {
    let url = head_after(
        std::time::Duration::from_millis(300),
        payloads::openai_stream("m", &["a", "b"]),
    );
    let gw = Gateway::start(config(
        json!({"up": {"url": url, "api": "openai"}}),
        "up",
        json!({}),
    ));
    let started = std::time::Instant::now();
    let mut s = gw.open(Req::post(
        "/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw_assert_eq!(gw, 200, s.status, "stream");
    let events = gw.events(&mut s);
    let first = events
        .iter()
        .find(|e| !e.is_comment_only())
        .map(|e| e.at.duration_since(started))
        .unwrap_or_default();
    gw_assert!(
        gw,
        first >= std::time::Duration::from_millis(300),
        "the client saw the first event after {first:?}"
    );
    let logs = wait_logged(&gw, 1, &[]);
    let ttft = logs["logs"][0]["firstTokenMs"].as_f64().unwrap_or(-1.0);
    gw_assert!(gw, ttft >= 300.0, "firstTokenMs counts from the request's arrival: got {ttft} ms, the first event came {first:?} after the request");
    let st = get_json(&gw, "/debug/stats", &[]);
    let p50 = st["backends"]["up"]["p50FirstTokenMs"]
        .as_f64()
        .unwrap_or(-1.0);
    gw_assert!(gw, p50 >= 300.0, "stats p50FirstTokenMs: {p50}");
    let text = gw.metrics_response().text();
    let m = common::metrics::parse(&text).unwrap();
    let sum = m
        .get(
            "llm_proxy_time_to_first_token_seconds_sum",
            &[("backend", "up")],
        )
        .unwrap_or(-1.0);
    gw_assert!(
        gw,
        sum >= 0.3,
        "llm_proxy_time_to_first_token_seconds_sum: {sum}"
    );
}

/// One line per request at info, with id, client dialect, backend, model, status, time, tokens
/// and routing reason; plain text by default, JSON with `logging.format: "json"` (switchable at
/// run time).
#[test]
fn each_request_logs_one_line_plain_or_json() {
    let a = mock_answering(Dialect::OpenAi, "x", &["m"]);
    let gw = GatewayBuilder::new(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ))
    .log_level("info")
    .start();
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("plain-model", false),
        &[],
    );
    let id = r.header("x-request-id").unwrap_or("?").to_string();
    wait_logged(&gw, 1, &[]);
    let out = gw.output();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(&id)).collect();
    gw_assert_eq!(gw, 1, lines.len(), "one line for request {id}: {lines:?}");
    let line = lines[0];
    for part in [
        "INFO",
        "openai",
        "backend=a",
        "model=plain-model",
        "status=200",
        "ms",
        "tokens=19/10",
        "route=",
    ] {
        gw_assert!(
            gw,
            line.contains(part),
            "the plain line has {part:?}: {line}"
        );
    }

    let r = post(
        &gw,
        "/debug/config",
        r#"{"logging":{"format":"json"}}"#,
        &[],
    );
    expect_json(&gw, &r, 200, "logging.format json");
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("json-model", false),
        &[],
    );
    let id = r.header("x-request-id").unwrap_or("?").to_string();
    wait_logged(&gw, 2, &[]);
    let out = gw.output();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(&id)).collect();
    gw_assert_eq!(gw, 1, lines.len(), "one line for request {id}: {lines:?}");
    let json_part = lines[0].find('{').map(|i| &lines[0][i..]).unwrap_or("");
    let v: Value = serde_json::from_str(json_part).unwrap_or(Value::Null);
    gw_assert_eq!(gw, json!(id), v["id"], "the JSON line: {}", lines[0]);
    gw_assert_eq!(gw, "openai", v["clientDialect"], "{v}");
    gw_assert_eq!(gw, "a", v["backend"], "{v}");
    gw_assert_eq!(gw, "json-model", v["model"], "{v}");
    gw_assert_eq!(gw, json!(200), v["status"], "{v}");
    gw_assert!(
        gw,
        v["durationMs"].is_number() && v["routeReason"].is_string(),
        "{v}"
    );
    gw_assert_eq!(gw, json!(19), v["inputTokens"], "{v}");
    gw_assert_eq!(gw, json!(10), v["outputTokens"], "{v}");
}
