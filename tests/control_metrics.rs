//! Metrics on METRICS_PORT (issue 5): the text is valid Prometheus exposition — every family has
//! HELP and TYPE, label values are escaped, histogram buckets are cumulative and end in `+Inf` with
//! `_sum` and `_count` — `promtool check metrics` accepts it when promtool is installed, and the
//! counters move with the traffic sent.

mod common;
#[path = "common/control.rs"]
mod control;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::metrics::{self, Metrics};
use common::*;
use control::*;
use serde_json::json;

/// Every family the issue asks for, with its type.
const FAMILIES: [(&str, &str); 20] = [
    ("llm_proxy_requests_total", "counter"),
    ("llm_proxy_errors_total", "counter"),
    ("llm_proxy_latency_avg_ms", "gauge"),
    ("llm_proxy_requests_by_backend", "counter"),
    ("llm_proxy_requests_by_status", "counter"),
    ("llm_proxy_tokens_input_total", "counter"),
    ("llm_proxy_tokens_output_total", "counter"),
    ("llm_proxy_tokens_input_by_backend", "counter"),
    ("llm_proxy_tokens_output_by_backend", "counter"),
    ("llm_proxy_request_duration_seconds", "histogram"),
    ("llm_proxy_time_to_first_token_seconds", "histogram"),
    ("llm_proxy_in_flight_requests", "gauge"),
    ("llm_proxy_queue_depth", "gauge"),
    ("llm_proxy_backend_up", "gauge"),
    ("llm_proxy_classifications_total", "counter"),
    ("llm_proxy_fallbacks_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_open_fds", "gauge"),
    ("process_threads", "gauge"),
    ("process_start_time_seconds", "gauge"),
];

/// The seed's names, kept by the issue's decision although they are counters without `_total`
/// (promtool's naming lint flags them; nothing else may be flagged).
const SEED_NAMES: [&str; 5] = [
    "llm_proxy_requests_by_backend",
    "llm_proxy_requests_by_status",
    "llm_proxy_tokens_input_by_backend",
    "llm_proxy_tokens_output_by_backend",
    "llm_proxy_latency_avg_ms",
];

fn scrape_text(gw: &Gateway) -> String {
    let r = gw.metrics_response();
    gw_assert_eq!(gw, 200, r.status, "GET /metrics: {}", r.describe());
    gw_assert!(
        gw,
        r.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain") && c.contains("version=0.0.4")),
        "the exposition content type: {}",
        r.describe()
    );
    r.text()
}

fn scrape(gw: &Gateway) -> Metrics {
    let text = scrape_text(gw);
    metrics::parse(&text)
        .unwrap_or_else(|e| panic!("the metrics do not parse: {e}\n{text}\n{}", gw.diag()))
}

/// Scrapes until `cond` holds (the books are written just after the answer goes out).
fn scrape_until(gw: &Gateway, what: &str, cond: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + WAIT;
    loop {
        let m = scrape(gw);
        if cond(&m) {
            return m;
        }
        if Instant::now() >= deadline {
            panic!(
                "metrics never showed {what}:\n{}\n{}",
                scrape_text(gw),
                gw.diag()
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn value(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.get(name, labels).unwrap_or(0.0)
}

/// A histogram's buckets: (upper bound, cumulative count).
type Buckets = Vec<(f64, f64)>;

/// Checks every histogram in the text: per label set, `le` ascending, counts non-decreasing,
/// the last bucket `+Inf` equal to `_count`, and a `_sum`.
fn check_histograms(gw: &Gateway, m: &Metrics, text: &str) {
    for (family, ty) in &m.types {
        if ty != "histogram" {
            continue;
        }
        let mut series: BTreeMap<Vec<(String, String)>, Buckets> = BTreeMap::new();
        for s in m
            .samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let le = s
                .labels
                .get("le")
                .unwrap_or_else(|| panic!("{family}_bucket without le:\n{text}"));
            let bound: f64 = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse()
                    .unwrap_or_else(|_| panic!("bad le {le:?}:\n{text}"))
            };
            let key: Vec<(String, String)> = s
                .labels
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            series.entry(key).or_default().push((bound, s.value));
        }
        for (labels, buckets) in &series {
            let ctx = format!("{family}{labels:?}");
            gw_assert!(
                gw,
                buckets.windows(2).all(|w| w[0].0 < w[1].0),
                "{ctx}: buckets in ascending le order: {buckets:?}"
            );
            gw_assert!(
                gw,
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{ctx}: buckets are cumulative: {buckets:?}"
            );
            gw_assert!(
                gw,
                buckets.last().is_some_and(|b| b.0.is_infinite()),
                "{ctx}: the last bucket is +Inf: {buckets:?}"
            );
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let count = m.get(&format!("{family}_count"), &pairs);
            let sum = m.get(&format!("{family}_sum"), &pairs);
            gw_assert_eq!(
                gw,
                Some(buckets.last().unwrap().1),
                count,
                "{ctx}: +Inf equals _count"
            );
            gw_assert!(gw, sum.is_some_and(|s| s >= 0.0), "{ctx}: has a _sum");
        }
    }
}

/// Runs `promtool check metrics` on the text, if promtool is installed. Parse errors fail; lint
/// findings fail unless they are about the seed's names the issue keeps.
fn promtool_check(gw: &Gateway, text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("promtool is not available ({e}): skipped `promtool check metrics`; the built-in checks ran");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "promtool check metrics: exit {:?}\n{report}",
        out.status.code()
    );
    gw_assert!(
        gw,
        out.status.code() != Some(1) && !report.contains("error while linting"),
        "promtool cannot parse the metrics:\n{report}\n--- metrics ---\n{text}"
    );
    let findings: Vec<&str> = report
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| !SEED_NAMES.iter().any(|n| l.starts_with(&format!("{n} "))))
        .collect();
    gw_assert!(
        gw,
        findings.is_empty(),
        "promtool lint findings beyond the seed's kept names {SEED_NAMES:?}:\n{}\n--- metrics ---\n{text}",
        findings.join("\n")
    );
}

#[test]
fn metrics_text_is_valid_exposition_and_promtool_accepts_it() {
    let dead_port = DeadPort::new();
    let a = Mock::start();
    a.on_seq(
        "/v1/chat/completions",
        vec![
            Reply::json(200, &payloads::openai_completion("m", "a")),
            Reply::sse(payloads::openai_stream("m", &["x", "y"]), Duration::ZERO),
            Reply::json(
                500,
                &json!({"error": {"message": "a broke", "type": "server_error"}}),
            ),
            Reply::json(200, &payloads::openai_completion("m", "a")),
        ],
    );
    a.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let weird = Mock::with(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("m", "w")),
    );
    // A backend name with a quote and a backslash: its label value must be escaped.
    let weird_name = r#"we"ird\name"#;
    let gw = Gateway::start(config(
        json!({"a": {"url": a.url(), "api": "openai", "fallback": [weird_name]},
               weird_name: backend(&weird, Dialect::Anthropic),
               "dead": {"url": dead_port.url(), "api": "openai", "connectTimeoutSecs": 1}}),
        "a",
        json!({}),
    ));
    wait_probed(&gw);
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let mut s = gw.open(Req::post(
        "/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw.events(&mut s);
    // a answers 500: falls back to the weird backend.
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        Some(weird_name),
        r.header("x-backend"),
        "fallback to the weird backend"
    );
    let r = gw.post(
        "/dead/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 502, r.status, "{}", r.describe());
    let body = json!({"model": weird_name, "messages": [{"role": "user", "content": "hi"}]});
    let r = gw.post("/v1/chat/completions", body.to_string(), &[]);
    gw_assert_eq!(
        gw,
        Some(weird_name),
        r.header("x-backend"),
        "model names the weird backend: {}",
        r.describe()
    );

    let m = scrape_until(&gw, "five requests", |m| {
        value(m, "llm_proxy_requests_total", &[]) >= 5.0
    });
    let text = scrape_text(&gw);
    for (family, ty) in FAMILIES {
        gw_assert!(
            gw,
            m.help.contains_key(family),
            "{family} has # HELP:\n{text}"
        );
        gw_assert_eq!(
            gw,
            Some(ty),
            m.types.get(family).map(String::as_str),
            "{family}'s # TYPE:\n{text}"
        );
    }
    gw_assert!(
        gw,
        text.ends_with('\n'),
        "the exposition ends with a newline"
    );
    for line in text.lines().filter(|l| l.starts_with("# HELP ")) {
        gw_assert!(
            gw,
            line.split(' ').count() > 3,
            "HELP lines say something: {line}"
        );
    }
    check_histograms(&gw, &m, &text);

    // The escaped label value reads back as the backend's name, wherever a backend is a label.
    for family in [
        "llm_proxy_requests_by_backend",
        "llm_proxy_request_duration_seconds_count",
        "llm_proxy_tokens_input_by_backend",
        "llm_proxy_backend_up",
    ] {
        let names = m.label_values(family, "backend");
        gw_assert!(
            gw,
            names.iter().any(|n| n == weird_name),
            "{family} has backend={weird_name:?}; got {names:?}\n{text}"
        );
    }
    gw_assert!(
        gw,
        text.contains(r#"backend="we\"ird\\name""#),
        "the raw text escapes \" and \\:\n{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(&m, "llm_proxy_fallbacks_total", &[("backend", "a")]),
        "one fallback from a:\n{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(&m, "llm_proxy_backend_up", &[("backend", "a")]),
        "a is up:\n{text}"
    );
    gw_assert_eq!(
        gw,
        0.0,
        m.get("llm_proxy_backend_up", &[("backend", "dead")])
            .unwrap_or(-1.0),
        "dead is down:\n{text}"
    );

    promtool_check(&gw, &text);
}

#[test]
fn metrics_counters_move_with_traffic() {
    let a = Mock::start();
    a.on_seq(
        "/v1/chat/completions",
        vec![
            Reply::json(200, &payloads::openai_completion("m", "a")),
            Reply::json(200, &payloads::openai_completion("m", "a")),
            Reply::json(200, &payloads::openai_completion("m", "a")),
            Reply::sse(payloads::openai_stream("m", &["x", "y"]), Duration::ZERO),
            Reply::sse(payloads::openai_stream("m", &["x", "y"]), Duration::ZERO),
        ],
    );
    a.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    let b = Mock::with(
        "/v1/messages",
        Reply::json(
            500,
            &json!({"type": "error", "error": {"type": "api_error", "message": "b broke"}}),
        ),
    );
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::Anthropic)}),
        "a",
        json!({}),
    ));
    let m0 = scrape(&gw);
    gw_assert_eq!(
        gw,
        0.0,
        value(&m0, "llm_proxy_requests_total", &[]),
        "no traffic yet"
    );
    let start = value(&m0, "process_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    gw_assert!(
        gw,
        start <= now + 1.0 && start >= now - 120.0,
        "process_start_time_seconds {start} is about now {now}"
    );
    gw_assert!(
        gw,
        value(&m0, "process_resident_memory_bytes", &[]) > 1e5,
        "resident memory is real"
    );
    gw_assert!(gw, value(&m0, "process_open_fds", &[]) >= 3.0, "open fds");
    gw_assert!(gw, value(&m0, "process_threads", &[]) >= 2.0, "threads");

    for _ in 0..3 {
        let r = gw.post(
            "/v1/chat/completions",
            payloads::openai_request("m", false),
            &[],
        );
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    }
    for _ in 0..2 {
        let mut s = gw.open(Req::post(
            "/v1/chat/completions",
            payloads::openai_request("m", true),
        ));
        gw_assert_eq!(gw, 200, s.status, "stream");
        gw.events(&mut s);
    }
    let r = gw.post(
        "/b/v1/messages",
        payloads::anthropic_request("m", false),
        &[("anthropic-version", "2023-06-01")],
    );
    gw_assert_eq!(gw, 500, r.status, "{}", r.describe());
    let r = gw.post("/v1/chat/completions", "{not json", &[]);
    gw_assert_eq!(gw, 400, r.status, "{}", r.describe());

    let m = scrape_until(&gw, "seven requests", |m| {
        value(m, "llm_proxy_requests_total", &[]) >= 7.0
    });
    let text = scrape_text(&gw);
    gw_assert_eq!(
        gw,
        7.0,
        value(&m, "llm_proxy_requests_total", &[]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        2.0,
        value(&m, "llm_proxy_errors_total", &[]),
        "the 500 and the 400:\n{text}"
    );
    gw_assert_eq!(
        gw,
        2.0,
        m.sum("llm_proxy_errors_by_kind_total"),
        "errors by kind add up:\n{text}"
    );
    gw_assert_eq!(
        gw,
        5.0,
        value(&m, "llm_proxy_requests_by_backend", &[("backend", "a")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(&m, "llm_proxy_requests_by_backend", &[("backend", "b")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        5.0,
        value(&m, "llm_proxy_requests_by_status", &[("status", "200")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(&m, "llm_proxy_requests_by_status", &[("status", "500")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(&m, "llm_proxy_requests_by_status", &[("status", "400")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        5.0 * 19.0,
        value(&m, "llm_proxy_tokens_input_total", &[]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        3.0 * 10.0 + 2.0 * 2.0,
        value(&m, "llm_proxy_tokens_output_total", &[]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        95.0,
        value(&m, "llm_proxy_tokens_input_by_backend", &[("backend", "a")]),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        34.0,
        value(
            &m,
            "llm_proxy_tokens_output_by_backend",
            &[("backend", "a")]
        ),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        5.0,
        value(
            &m,
            "llm_proxy_request_duration_seconds_count",
            &[("backend", "a")]
        ),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        1.0,
        value(
            &m,
            "llm_proxy_request_duration_seconds_count",
            &[("backend", "b")]
        ),
        "{text}"
    );
    gw_assert_eq!(
        gw,
        2.0,
        value(
            &m,
            "llm_proxy_time_to_first_token_seconds_count",
            &[("backend", "a")]
        ),
        "streams only:\n{text}"
    );
    gw_assert!(
        gw,
        value(&m, "llm_proxy_latency_avg_ms", &[]) > 0.0,
        "{text}"
    );
    gw_assert_eq!(
        gw,
        0.0,
        value(&m, "llm_proxy_in_flight_requests", &[]),
        "{text}"
    );
    gw_assert_eq!(gw, 0.0, value(&m, "llm_proxy_queue_depth", &[]), "{text}");
    check_histograms(&gw, &m, &text);

    // The metrics and /debug/stats tell the same story.
    let s = get_json(&gw, "/debug/stats", &[]);
    gw_assert_eq!(gw, json!(7), s["overview"]["totalRequests"], "{s}");
    gw_assert_eq!(gw, json!(2), s["overview"]["totalErrors"], "{s}");

    // Control requests and scrapes are not proxy requests.
    for _ in 0..3 {
        get_json(&gw, "/debug/stats", &[]);
    }
    let m = scrape(&gw);
    gw_assert_eq!(
        gw,
        7.0,
        value(&m, "llm_proxy_requests_total", &[]),
        "control requests are not counted"
    );

    let r = common::gateway::direct(gw.metrics_port, Req::get("/nope"));
    gw_assert_eq!(
        gw,
        404,
        r.status,
        "unknown path on the metrics port: {}",
        r.describe()
    );
}

#[test]
fn in_flight_gauge_counts_a_request_in_progress() {
    let a = Mock::with("/v1/chat/completions", Reply::headers_then_silence());
    let gw = gateway_for(&a, Dialect::OpenAi);
    let s = gw.open(Req::post(
        "/v1/chat/completions",
        payloads::openai_request("m", true),
    ));
    gw_assert_eq!(gw, 200, s.status, "the stream started");
    scrape_until(&gw, "one request in flight", |m| {
        value(m, "llm_proxy_in_flight_requests", &[]) == 1.0
    });
    let h = get_json(&gw, "/debug/health", &[]);
    gw_assert_eq!(gw, json!(1), h["inFlight"], "health agrees: {h}");
    a.release();
    drop(s);
    scrape_until(&gw, "nothing in flight", |m| {
        value(m, "llm_proxy_in_flight_requests", &[]) == 0.0
    });
}
