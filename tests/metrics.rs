//! The Prometheus endpoint on the metrics port (issue 2, scope 9): the text parses (every sample
//! `name{labels} value`, every family with `# HELP` and `# TYPE`) and the counters count requests
//! by backend and status.

mod common;

use std::time::{Duration, Instant};

use common::gateway::free_port;
use common::metrics::{self, Metrics};
use common::*;
use serde_json::json;

fn scrape(gw: &Gateway) -> Metrics {
    let r = gw.metrics_response();
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "GET /metrics; response: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "metrics content-type; response: {}",
        r.describe()
    );
    match metrics::parse(&r.text()) {
        Ok(m) => m,
        Err(e) => panic!(
            "the metrics text does not parse: {e}\n--- metrics ---\n{}\n{}",
            r.text(),
            gw.diag()
        ),
    }
}

/// Scrapes until `cond` holds (counters may be recorded just after the response went out).
fn scrape_until(gw: &Gateway, what: &str, cond: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let m = scrape(gw);
        if cond(&m) {
            return m;
        }
        if Instant::now() >= deadline {
            panic!(
                "metrics never showed {what}; last samples: {:#?}\n{}",
                m.samples,
                gw.diag()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn metrics_text_parses_and_has_the_four_families() {
    let mock = Mock::with(
        "/v1/chat/completions",
        Reply::json(200, &payloads::openai_completion("m", "ok")),
    );
    let gw = gateway_for(&mock, Dialect::OpenAi);
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "status");
    let m = scrape_until(&gw, "one request", |m| {
        m.get("llm_proxy_requests_total", &[]).unwrap_or(0.0) >= 1.0
    });
    for family in [
        "llm_proxy_requests_total",
        "llm_proxy_errors_total",
        "llm_proxy_requests_by_backend",
        "llm_proxy_requests_by_status",
    ] {
        gw_assert!(
            gw,
            m.types.contains_key(family) && m.help.contains_key(family),
            "family {family} has # HELP and # TYPE; got types {:?}",
            m.types
        );
        gw_assert!(
            gw,
            m.samples.iter().any(|s| s.name == family),
            "family {family} has a sample; got {:#?}",
            m.samples
        );
    }
    gw_assert_eq!(
        gw,
        Some("counter"),
        m.types.get("llm_proxy_requests_total").map(String::as_str),
        "requests_total is a counter"
    );
}

#[test]
fn metrics_count_requests_by_backend_and_status() {
    let ok = Mock::start();
    let done = Reply::json(200, &payloads::openai_completion("m", "ok"));
    ok.on_seq(
        "/v1/chat/completions",
        vec![
            done.clone(),
            done,
            Reply::sse(payloads::openai_stream("m", &["a"]), Duration::ZERO),
        ],
    );
    let limited = Mock::with(
        "/v1/chat/completions",
        Reply::json_bytes(429, payloads::openai_rate_limit_error()),
    );
    let gw = Gateway::start(config(
        json!({
            "okb": ok.url(),
            "deadb": format!("http://127.0.0.1:{}", free_port()),
            "limitedb": limited.url()
        }),
        "okb",
        json!({}),
    ));
    let before = scrape(&gw);
    let total_before = before.get("llm_proxy_requests_total", &[]).unwrap_or(0.0);

    for _ in 0..2 {
        let r = gw.post(
            "/v1/chat/completions",
            payloads::openai_request("m", false),
            &[],
        );
        gw_assert_eq!(gw, 200, r.status, "ok backend");
    }
    let mut s = gw.open(Req::post(
        "/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw_assert_eq!(gw, 200, s.status, "a stream request to the ok backend");
    let _ = gw.events(&mut s);
    for _ in 0..2 {
        let r = gw.post(
            "/deadb/v1/chat/completions",
            payloads::openai_request("m", false),
            &[],
        );
        gw_assert_eq!(gw, 502, r.status, "dead backend");
    }
    let r = gw.post(
        "/limitedb/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 429, r.status, "rate-limited backend");

    let m = scrape_until(
        &gw,
        "3 requests to okb, 2 to deadb and 1 to limitedb",
        |m| {
            m.get("llm_proxy_requests_by_backend", &[("backend", "okb")]) == Some(3.0)
                && m.get("llm_proxy_requests_by_backend", &[("backend", "deadb")]) == Some(2.0)
                && m.get("llm_proxy_requests_by_backend", &[("backend", "limitedb")]) == Some(1.0)
        },
    );
    let total = m.get("llm_proxy_requests_total", &[]).unwrap_or(0.0);
    gw_assert!(
        gw,
        total - total_before >= 6.0,
        "requests_total grew by at least 6: {total_before} → {total}"
    );
    gw_assert!(
        gw,
        m.get("llm_proxy_requests_by_status", &[("status", "200")])
            .unwrap_or(0.0)
            >= 3.0,
        "3 × status 200; got {:#?}",
        m.samples
    );
    gw_assert_eq!(
        gw,
        Some(2.0),
        m.get("llm_proxy_requests_by_status", &[("status", "502")]),
        "2 × status 502; samples {:#?}",
        m.samples
    );
    gw_assert_eq!(
        gw,
        Some(1.0),
        m.get("llm_proxy_requests_by_status", &[("status", "429")]),
        "1 × status 429; samples {:#?}",
        m.samples
    );
    gw_assert!(
        gw,
        m.get("llm_proxy_errors_total", &[]).unwrap_or(0.0) >= 2.0,
        "the two 502s count as errors; got {:#?}",
        m.samples
    );
}
