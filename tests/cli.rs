//! The command line and process lifecycle (issue 2, scopes 2 and 3): `--check` on good and bad
//! configs (exit 0, or exit 2 with one message naming the file and the field), `--version`,
//! `--help`, env vs flags, the built-in defaults when the config file is missing, and SIGTERM.

mod common;

use std::time::Duration;

use common::gateway::{free_port, run, write_temp};
use common::*;
use serde_json::json;

fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The seed config format from issue 2, as a user writes it.
const SEED_CONFIG: &str = r#"{
  "backends": {
    "local": "http://localhost:8001",
    "anthropic": "https://api.anthropic.com"
  },
  "defaultBackend": "local",
  "logging": {"level": "info", "includeBody": false, "maxBodyLength": 1000},
  "smartRouter": {"enabled": false, "classifierBackend": "local"}
}"#;

#[test]
fn check_accepts_the_seed_config() {
    let path = write_temp("seed.json", SEED_CONFIG.as_bytes());
    let out = run(&["--check", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--check on the seed config must exit 0; output:\n{}",
        output_text(&out)
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn check_accepts_every_documented_field_and_keeps_unknown_ones() {
    let cfg = json!({
        "backends": {
            "local": "http://127.0.0.1:8001",
            "full": {"url": "http://127.0.0.1:8002", "api": "openai", "apiKey": "sk-x", "headers": {"X-A": "b"},
                     "timeoutSecs": 600, "connectTimeoutSecs": 5, "idleTimeoutSecs": 120, "model": "qwen",
                     "someFutureBackendField": [1, 2]},
            "anth": {"url": "https://api.anthropic.com", "apiKeyEnv": "ANTHROPIC_API_KEY"},
            "resp": {"url": "http://127.0.0.1:8003", "api": "responses"},
            "demo": "demo://"
        },
        "defaultBackend": "local",
        "logging": {"level": "debug", "includeBody": true, "maxBodyLength": 500},
        "server": {"workers": 4, "queueSize": 8, "maxBodyBytes": 1048576, "shutdownGraceSecs": 5, "heartbeatSecs": 2},
        "smartRouter": {"enabled": false, "classifierBackend": "local"},
        "someFutureTopLevelField": {"x": 1}
    });
    let path = write_temp("full.json", &serde_json::to_vec_pretty(&cfg).unwrap());
    let out = run(&["--check", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--check on a config with every field (and unknown ones) must exit 0; output:\n{}",
        output_text(&out)
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn check_rejects_bad_configs_naming_the_file_and_the_field() {
    let ok_backend = r#""backends": {"a": "http://127.0.0.1:9"}, "defaultBackend": "a""#;
    let cases: Vec<(String, &str)> = vec![
        (r#"{"backends": {"a": "http://127.0.0.1:9"}, "defaultBackend": "zzz_missing"}"#.into(), "defaultBackend"),
        (r#"{"backends": {"a": {"url": "http://127.0.0.1:9", "api": "klingon"}}, "defaultBackend": "a"}"#.into(), "api"),
        (r#"{"backends": {"brokenurl": "not a url"}, "defaultBackend": "brokenurl"}"#.into(), "brokenurl"),
        (r#"{"backends": {"a": {"api": "openai"}}, "defaultBackend": "a"}"#.into(), "url"),
        (r#"{"backends": {"a": {"url": "http://127.0.0.1:9", "timeoutSecs": "soon"}}, "defaultBackend": "a"}"#.into(), "timeoutSecs"),
        (r#"{"backends": [], "defaultBackend": "a"}"#.into(), "backends"),
        (format!(r#"{{{ok_backend}, "server": {{"workers": "many"}}}}"#), "workers"),
        (format!(r#"{{{ok_backend}, "server": {{"workers": 0}}}}"#), "workers"),
        (format!(r#"{{{ok_backend}, "server": {{"maxBodyBytes": -1}}}}"#), "maxBodyBytes"),
        (format!(r#"{{{ok_backend}, "logging": {{"level": "loudest"}}}}"#), "level"),
        (format!(r#"{{{ok_backend}, "logging": {{"includeBody": "yes"}}}}"#), "includeBody"),
    ];
    let mut failures = Vec::new();
    for (text, field) in &cases {
        let path = write_temp("bad.json", text.as_bytes());
        let p = path.to_str().unwrap();
        let out = run(&["--check", "--config", p], &[]);
        let msg = output_text(&out);
        if out.status.code() != Some(2) {
            failures.push(format!(
                "config {text}\n  expected exit code 2, got {:?}; output: {msg}",
                out.status.code()
            ));
        } else if !msg.contains(field) || !msg.contains(p) {
            failures.push(format!("config {text}\n  the message must name the file {p} and the field `{field}`; got: {msg}"));
        } else if msg.contains("panicked") {
            failures.push(format!(
                "config {text}\n  a bad config is a message, not a panic; got: {msg}"
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad configs were not reported right:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn check_rejects_invalid_json_naming_the_file() {
    let path = write_temp(
        "broken.json",
        b"{\"backends\": {\"a\": \"http://127.0.0.1:9\",}\n",
    );
    let p = path.to_str().unwrap();
    let out = run(&["--check", "--config", p], &[]);
    let msg = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "invalid JSON must exit 2; output:\n{msg}"
    );
    assert!(
        msg.contains(p),
        "the message names the file {p}; got:\n{msg}"
    );
    assert!(
        !msg.contains("panicked"),
        "a message, not a panic; got:\n{msg}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn check_reads_config_path_from_env_and_the_flag_wins() {
    let bad = write_temp(
        "bad-env.json",
        br#"{"backends": {"a": "http://127.0.0.1:9"}, "defaultBackend": "nope_nope"}"#,
    );
    let good = write_temp("good.json", SEED_CONFIG.as_bytes());
    let out = run(&["--check"], &[("CONFIG_PATH", bad.to_str().unwrap())]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "CONFIG_PATH is read: the bad config fails --check; output:\n{}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains(bad.to_str().unwrap()),
        "the message names the file; got:\n{}",
        output_text(&out)
    );
    let out = run(
        &["--check", "--config", good.to_str().unwrap()],
        &[("CONFIG_PATH", bad.to_str().unwrap())],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "--config wins over CONFIG_PATH; output:\n{}",
        output_text(&out)
    );
    let _ = std::fs::remove_file(bad);
    let _ = std::fs::remove_file(good);
}

#[test]
fn version_prints_the_crate_version() {
    let out = run(&["--version"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--version exits 0; output:\n{}",
        output_text(&out)
    );
    assert!(
        output_text(&out).contains(env!("CARGO_PKG_VERSION")),
        "--version prints {}; got:\n{}",
        env!("CARGO_PKG_VERSION"),
        output_text(&out)
    );
}

#[test]
fn help_lists_the_flags() {
    let out = run(&["--help"], &[]);
    let text = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "--help exits 0; output:\n{text}"
    );
    for flag in [
        "--config",
        "--port",
        "--metrics-port",
        "--bind",
        "--workers",
        "--log-level",
        "--demo",
        "--check",
        "--version",
    ] {
        assert!(text.contains(flag), "--help mentions {flag}; got:\n{text}");
    }
}

#[test]
fn unknown_flag_is_an_error_naming_it() {
    let out = run(&["--frobnicate"], &[]);
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "an unknown flag must fail; output:\n{text}"
    );
    assert!(
        text.contains("frobnicate"),
        "the message names the flag; got:\n{text}"
    );
}

#[test]
fn ports_can_come_from_the_environment() {
    let mock = Mock::with(
        "/v1/chat/completions",
        Reply::json(200, &payloads::openai_completion("m", "ok")),
    );
    let gw = GatewayBuilder::new(config(json!({"up": mock.url()}), "up", json!({})))
        .ports_by_env()
        .start();
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "served on PROXY_PORT; response: {}",
        r.describe()
    );
    let m = gw.metrics_response();
    gw_assert_eq!(gw, 200, m.status, "metrics served on METRICS_PORT");
}

#[test]
fn port_flag_wins_over_the_environment() {
    let env_port = free_port();
    let gw = GatewayBuilder::new(config(json!({"demo": "demo://"}), "demo", json!({})))
        .env("PROXY_PORT", &env_port.to_string())
        .start(); // ready on the --port port
    let on_env_port = Req::get("/")
        .timeout(Duration::from_millis(500))
        .send(env_port);
    gw_assert!(
        gw,
        on_env_port.is_err(),
        "nothing answers on PROXY_PORT={env_port} when --port is given; got {on_env_port:?}"
    );
}

#[test]
fn demo_flag_serves_without_a_config_file() {
    let gw = GatewayBuilder::without_config().arg("--demo").start();
    let r = gw.post(
        "/v1/chat/completions",
        br#"{"model":"anything","messages":[{"role":"user","content":"Hello"}]}"#.to_vec(),
        &[],
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "--demo answers with no config file; response: {}",
        r.describe()
    );
    let text = r
        .json()
        .pointer("/choices/0/message/content")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    gw_assert!(
        gw,
        !text.is_empty(),
        "the demo answer has text; got {}",
        r.describe()
    );
}

#[test]
fn sigterm_on_an_idle_gateway_exits_zero() {
    let mut gw = Gateway::start(config(json!({"demo": "demo://"}), "demo", json!({})));
    gw.signal(libc::SIGTERM);
    let status = gw.wait_exit(Duration::from_secs(5));
    gw_assert!(
        gw,
        status.is_some_and(|s| s.code() == Some(0)),
        "SIGTERM on an idle gateway exits 0 promptly; got {status:?}"
    );
}

#[test]
fn sigint_on_an_idle_gateway_exits_zero() {
    let mut gw = Gateway::start(config(json!({"demo": "demo://"}), "demo", json!({})));
    gw.signal(libc::SIGINT);
    let status = gw.wait_exit(Duration::from_secs(5));
    gw_assert!(
        gw,
        status.is_some_and(|s| s.code() == Some(0)),
        "SIGINT on an idle gateway exits 0 promptly; got {status:?}"
    );
}

#[test]
fn sigterm_lets_an_inflight_stream_finish_then_exits_zero() {
    let d = Dialect::OpenAi;
    let frames = d.stream(d.model(), &["a", "b", "c", "d"]);
    let mock = Mock::with(
        d.path(),
        Reply::sse(frames.clone(), Duration::from_millis(150)),
    );
    let mut gw = Gateway::start(config(
        json!({"up": mock.url()}),
        "up",
        json!({"server": {"shutdownGraceSecs": 10}}),
    ));
    let mut s = gw.open(Req::post(d.path(), d.request(d.model(), true)));
    gw_assert_eq!(gw, 200, s.status, "status");
    let first = s.next_event();
    gw_assert!(
        gw,
        matches!(first, Ok(Some(_))),
        "first event; got {first:?}"
    );
    gw.signal(libc::SIGTERM);
    let rest = gw.events(&mut s);
    let mut all = vec![first.unwrap().unwrap()];
    all.extend(rest);
    let data: Vec<Vec<u8>> = common::client::without_comments(&all)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&payloads::concat(&frames)),
        String::from_utf8_lossy(&payloads::concat(&data)),
        "the in-flight stream finishes after SIGTERM"
    );
    let status = gw.wait_exit(Duration::from_secs(5));
    gw_assert!(
        gw,
        status.is_some_and(|s| s.code() == Some(0)),
        "then the gateway exits 0; got {status:?}"
    );
}
