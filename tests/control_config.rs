//! The running config (issue 5, `/debug/config`): GET shows it with every secret redacted; POST
//! applies a JSON merge patch, validated as a whole and applied at once, so a bad update changes
//! nothing; `server.*` changes say a restart is needed; an empty POST body reloads the file, as
//! SIGHUP does, and an invalid file leaves the running config untouched with a log line saying why.

mod common;
#[path = "common/control.rs"]
mod control;

use std::fs;
use std::time::{Duration, Instant};

use common::*;
use control::*;
use serde_json::{json, Value};

fn mock_ok(d: Dialect, text: &str) -> Mock {
    let m = Mock::with(d.path(), Reply::json(200, &d.response("m", text)));
    m.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m"])),
    );
    m
}

/// The `config` part of `GET /debug/config`.
fn running(gw: &Gateway, headers: &[(&str, &str)]) -> Value {
    get_json(gw, "/debug/config", headers)["config"].clone()
}

/// Writes a new config file in place of the gateway's.
fn rewrite(gw: &Gateway, content: &str) {
    let path = gw.config_path().expect("the gateway has a config file");
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Waits (bounded) until the gateway's output contains `needle`.
fn wait_output(gw: &Gateway, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = gw.output();
        if out.contains(needle) {
            return out;
        }
        if Instant::now() >= deadline {
            panic!("the gateway never logged {needle:?}\n{}", gw.diag());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

const SECRETS: [&str; 5] = [
    "sk-backend-SECRET-1",
    "hdr-SECRET-2",
    "client-SECRET-3",
    "admin-SECRET-4",
    "env-SECRET-5",
];

#[test]
fn config_get_and_every_other_view_show_no_secret() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let b = mock_ok(Dialect::Anthropic, "from b");
    let gw = GatewayBuilder::new(config(
        json!({
            "a": {"url": a.url(), "api": "openai", "apiKey": SECRETS[0]},
            "b": {"url": b.url(), "api": "anthropic", "headers": {"X-Org-Token": SECRETS[1]}},
            "c": {"url": a.url(), "api": "openai", "apiKeyEnv": "LLM_GW_CONTROL_TEST_KEY"}
        }),
        "a",
        json!({"auth": {"apiKeys": [SECRETS[2]], "adminToken": SECRETS[3]},
               "logging": {"includeBody": true}}),
    ))
    .env("LLM_GW_CONTROL_TEST_KEY", SECRETS[4])
    .start();
    let admin = [("Authorization", "Bearer admin-SECRET-4")];
    let key = [("x-api-key", "client-SECRET-3")];

    // Traffic through every backend, so the secrets were actually used.
    for backend in ["a", "c"] {
        let r = gw.post(
            &format!("/{backend}/v1/chat/completions"),
            payloads::openai_request("m", false),
            &key,
        );
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    }
    let r = gw.post(
        "/b/v1/messages",
        payloads::anthropic_request("m", false),
        &key,
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        Some(format!("Bearer {}", SECRETS[4]).as_str()),
        a.requests().last().and_then(|r| r.header("authorization")),
        "apiKeyEnv was read from the environment"
    );
    gw_assert_eq!(
        gw,
        Some(SECRETS[1]),
        b.single_request().header("x-org-token"),
        "extra header sent"
    );

    let r = gw.send(Req::get("/debug/config").headers(&admin));
    let v = expect_json(&gw, &r, 200, "GET /debug/config");
    let c = &v["config"];
    gw_assert_eq!(gw, "[redacted]", c["backends"]["a"]["apiKey"], "{v}");
    gw_assert_eq!(
        gw,
        "[redacted]",
        c["backends"]["c"]["apiKey"],
        "a key from the environment: {v}"
    );
    gw_assert_eq!(gw, json!(["[redacted]"]), c["auth"]["apiKeys"], "{v}");
    gw_assert_eq!(gw, "[redacted]", c["auth"]["adminToken"], "{v}");
    gw_assert_eq!(gw, json!(a.url()), c["backends"]["a"]["url"], "{v}");
    gw_assert_eq!(gw, "anthropic", c["backends"]["b"]["api"], "{v}");
    gw_assert_eq!(gw, "a", c["defaultBackend"], "{v}");
    gw_assert_eq!(gw, json!(true), c["logging"]["includeBody"], "{v}");
    gw_assert_eq!(
        gw,
        json!(gw.config_path().unwrap().display().to_string()),
        v["source"],
        "where the config came from: {v}"
    );

    // No view of the gateway shows a secret: control endpoints, metrics, the log, a config update's
    // answer, and proxy-cli.
    let mut views: Vec<(String, String)> = Vec::new();
    for path in [
        "/",
        "/debug/health",
        "/debug/logs?limit=1000",
        "/debug/stats",
        "/debug/tokens",
        "/debug/models",
        "/debug/switch",
        "/debug/config",
        "/debug/router",
    ] {
        views.push((path.into(), gw.send(Req::get(path).headers(&admin)).text()));
    }
    views.push((
        "POST /debug/config".into(),
        post(
            &gw,
            "/debug/config",
            r#"{"logging":{"maxBodyLength":5000}}"#,
            &admin,
        )
        .text(),
    ));
    for cmd in ["status", "models", "logs 50", "tokens"] {
        let (r, text) = chat(
            &gw,
            Dialect::OpenAi,
            &format!("proxy-cli {cmd}"),
            false,
            &key,
        );
        gw_assert_eq!(gw, 200, r.status, "proxy-cli {cmd}: {}", r.describe());
        views.push((format!("proxy-cli {cmd}"), text));
    }
    views.push(("metrics".into(), gw.metrics_response().text()));
    views.push(("gateway output".into(), gw.output()));
    for (what, text) in &views {
        for s in SECRETS {
            gw_assert!(
                gw,
                !text.contains(s),
                "{what} shows the secret {s}:\n{text}"
            );
        }
    }
}

#[test]
fn config_post_applies_a_partial_update_and_nothing_else() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let b = mock_ok(Dialect::Anthropic, "from b");
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ));
    let before = running(&gw, &[]);
    let patch = json!({
        "logging": {"includeBody": true, "maxBodyLength": 123},
        "backends": {"b": {"url": b.url(), "api": "anthropic"}},
        "circuitBreaker": {"failureThreshold": 7}
    });
    let r = post(&gw, "/debug/config", patch.to_string(), &[]);
    let v = expect_json(&gw, &r, 200, "POST /debug/config");
    gw_assert_eq!(gw, json!(true), v["success"], "{v}");
    gw_assert_eq!(
        gw,
        json!([]),
        v["restartRequired"],
        "nothing here needs a restart: {v}"
    );
    let mut want = before.clone();
    want["logging"]["includeBody"] = json!(true);
    want["logging"]["maxBodyLength"] = json!(123);
    want["backends"]["b"] = json!({"url": b.url(), "api": "anthropic"});
    want["circuitBreaker"]["failureThreshold"] = json!(7);
    gw_assert_eq!(gw, want, v["config"], "the answer shows the new config");
    gw_assert_eq!(
        gw,
        want,
        running(&gw, &[]),
        "GET shows exactly the patched fields changed"
    );

    // The new backend is in effect.
    let r = gw.post(
        "/b/v1/messages",
        payloads::anthropic_request("m", false),
        &[("anthropic-version", "2023-06-01")],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(gw, 1, b.requests().len(), "b was added at run time");

    // `null` removes.
    let r = post(&gw, "/debug/config", r#"{"backends":{"b":null}}"#, &[]);
    expect_json(&gw, &r, 200, "remove b");
    gw_assert!(
        gw,
        running(&gw, &[])["backends"].get("b").is_none(),
        "b is gone"
    );
    let r = gw.post(
        "/b/v1/messages",
        payloads::anthropic_request("m", false),
        &[("anthropic-version", "2023-06-01")],
    );
    gw_assert!(
        gw,
        r.status == 404 || r.status == 400,
        "a removed backend is no route: {}",
        r.describe()
    );
    gw_assert_eq!(
        gw,
        1,
        b.requests().len(),
        "b is not called after its removal"
    );
}

#[test]
fn config_post_bad_updates_change_nothing() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ));
    let before = get_json(&gw, "/debug/config", &[]);
    for (patch, names) in [
        (
            r#"{"logging":{"includeBody":true},"defaultBackend":"nope"}"#,
            "defaultBackend",
        ),
        (
            r#"{"logging":{"includeBody":true},"backends":{"a":{"url":"ftp://x"}}}"#,
            "backends.a.url",
        ),
        (
            r#"{"logging":{"includeBody":"yes"}}"#,
            "logging.includeBody",
        ),
        (
            r#"{"logging":{"includeBody":true},"circuitBreaker":{"failureThreshold":0}}"#,
            "circuitBreaker.failureThreshold",
        ),
        (
            r#"{"logging":{"includeBody":true},"backends":{"a":{"fallback":["ghost"]}}}"#,
            "fallback",
        ),
        (
            r#"{"logging":{"includeBody":true},"fallback":["ghost"]}"#,
            "fallback",
        ),
        (
            r#"{"logging":{"includeBody":true},"server":{"workers":0}}"#,
            "server.workers",
        ),
        (
            r#"{"logging":{"includeBody":true},"backends":{"a":null}}"#,
            "backends",
        ),
        (
            r#"{"logging":{"includeBody":true},"backends":{"n":{"url":"http://x","api":"grpc"}}}"#,
            "backends.n.api",
        ),
        (
            r#"{"logging":{"includeBody":true},"auth":{"apiKeys":"one-key"}}"#,
            "auth.apiKeys",
        ),
        (r#"{"logging":{"includeBody":true}"#, "JSON"),
        (r#"[{"logging":{"includeBody":true}}]"#, "object"),
        (r#""includeBody""#, "object"),
        ("null", "object"),
    ] {
        let r = post(&gw, "/debug/config", patch, &[]);
        let msg = expect_control_error(&gw, &r, 400, &format!("bad update {patch}"));
        gw_assert!(
            gw,
            msg.contains(names),
            "the error for {patch} names {names:?}: {msg}"
        );
        let after = get_json(&gw, "/debug/config", &[]);
        gw_assert_eq!(gw, before, after, "a bad update changes nothing: {patch}");
    }
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "still serving with the old config: {}",
        r.describe()
    );
    let logs = wait_logged(&gw, 1, &[]);
    gw_assert!(
        gw,
        logs["logs"][0]
            .get("requestBody")
            .is_none_or(Value::is_null),
        "includeBody is still off: {logs}"
    );
}

#[test]
fn config_post_server_changes_say_when_a_restart_is_needed() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ));
    // Worker turns and the queue apply at once.
    let r = post(
        &gw,
        "/debug/config",
        r#"{"server":{"workers":8,"queueSize":10}}"#,
        &[],
    );
    let v = expect_json(&gw, &r, 200, "workers and queueSize");
    gw_assert_eq!(gw, json!([]), v["restartRequired"], "{v}");
    let server = &running(&gw, &[])["server"];
    gw_assert_eq!(gw, json!(8), server["workers"], "{server}");
    gw_assert_eq!(gw, json!(10), server["queueSize"], "{server}");
    // The listeners do not move until a restart.
    let r = post(
        &gw,
        "/debug/config",
        r#"{"server":{"port":1, "metricsPort": 2, "bind": "0.0.0.0"}}"#,
        &[],
    );
    let v = expect_json(&gw, &r, 200, "ports and bind");
    let mut req: Vec<String> =
        serde_json::from_value(v["restartRequired"].clone()).unwrap_or_default();
    req.sort();
    gw_assert_eq!(
        gw,
        vec!["server.bind", "server.metricsPort", "server.port"],
        req,
        "{v}"
    );
    let r = post(
        &gw,
        "/debug/config",
        r#"{"server":{"heartbeatSecs":1.5}}"#,
        &[],
    );
    let v = expect_json(&gw, &r, 200, "heartbeat");
    gw_assert_eq!(
        gw,
        json!([]),
        v["restartRequired"],
        "the heartbeat applies at once: {v}"
    );
    gw_assert_eq!(
        gw,
        json!(1.5),
        running(&gw, &[])["server"]["heartbeatSecs"],
        "heartbeat updated"
    );
    // Still on the same ports.
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        200,
        gw.metrics_response().status,
        "metrics still on the old port"
    );
}

/// `restartRequired` lists changes: server settings posted with their current values (as a
/// config editor does when it sends the whole `server` section back) need no restart.
#[test]
fn config_post_unchanged_server_values_need_no_restart() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi)}),
        "a",
        json!({}),
    ));
    let current = running(&gw, &[])["server"].clone();
    let r = post(
        &gw,
        "/debug/config",
        json!({"server": current}).to_string(),
        &[],
    );
    let v = expect_json(&gw, &r, 200, "server settings as they are");
    gw_assert_eq!(
        gw,
        json!([]),
        v["restartRequired"],
        "unchanged values need no restart: {v}"
    );
}

/// A dashboard or a person GETs the config, edits one field and POSTs the whole thing back: the
/// redacted placeholders must not replace the real secrets.
#[test]
fn config_posted_back_as_read_keeps_the_secrets() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let gw = Gateway::start(config(
        json!({"a": {"url": a.url(), "api": "openai", "apiKey": "sk-real-key"}}),
        "a",
        json!({"auth": {"adminToken": "adm-real"}}),
    ));
    let admin = [("x-admin-token", "adm-real")];
    let mut c = running(&gw, &admin);
    c["logging"]["includeBody"] = json!(true);
    let r = post(&gw, "/debug/config", c.to_string(), &admin);
    expect_json(
        &gw,
        &r,
        200,
        "POST back the config as read, one field changed",
    );
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(
        gw,
        Some("Bearer sk-real-key"),
        a.requests().last().and_then(|r| r.header("authorization")),
        "the backend still gets the real key, not the placeholder"
    );
    let r = gw.send(Req::get("/debug/config").headers(&admin));
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "the real admin token still works: {}",
        r.describe()
    );
    let r = gw.send(Req::get("/debug/config").header("x-admin-token", "[redacted]"));
    gw_assert!(
        gw,
        r.status == 403,
        "the placeholder is not the admin token: {}",
        r.describe()
    );
}

#[test]
fn config_post_with_an_empty_body_reloads_the_file() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let b = mock_ok(Dialect::OpenAi, "from b");
    let c = mock_ok(Dialect::Anthropic, "from c");
    let initial = config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::OpenAi)}),
        "a",
        json!({}),
    );
    let gw = Gateway::start(initial.clone());
    let before = get_json(&gw, "/debug/config", &[]);

    // The file changes; nothing happens until asked.
    let mut edited = initial.clone();
    edited["defaultBackend"] = json!("b");
    edited["backends"]["c"] = json!({"url": c.url(), "api": "anthropic"});
    edited["logging"] = json!({"includeBody": true});
    rewrite(&gw, &edited.to_string());
    gw_assert_eq!(
        gw,
        before,
        get_json(&gw, "/debug/config", &[]),
        "no reload without a request"
    );

    let r = post(&gw, "/debug/config", "", &[]);
    let v = expect_json(&gw, &r, 200, "empty POST reloads");
    gw_assert_eq!(gw, json!(true), v["success"], "{v}");
    gw_assert_eq!(
        gw,
        json!(gw.config_path().unwrap().display().to_string()),
        v["reloaded"],
        "{v}"
    );
    gw_assert_eq!(gw, "b", v["defaultBackend"], "{v}");
    let now = running(&gw, &[]);
    gw_assert_eq!(gw, "b", now["defaultBackend"], "{now}");
    gw_assert!(
        gw,
        now["backends"].get("c").is_some(),
        "c added by the file: {now}"
    );
    gw_assert_eq!(gw, json!(true), now["logging"]["includeBody"], "{now}");
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        Some("b"),
        r.header("x-backend"),
        "the file's new default routes: {}",
        r.describe()
    );

    // A runtime switch survives a reload that keeps the file's defaultBackend.
    expect_json(
        &gw,
        &post(&gw, "/debug/switch", r#"{"backend":"a"}"#, &[]),
        200,
        "switch to a",
    );
    let r = post(&gw, "/debug/config", "  \n", &[]);
    expect_json(&gw, &r, 200, "whitespace-only POST reloads");
    gw_assert_eq!(
        gw,
        "a",
        get_json(&gw, "/debug/switch", &[])["current"],
        "the switch survives"
    );
    // `{"reload": true}` does the same.
    let r = post(&gw, "/debug/config", r#"{"reload": true}"#, &[]);
    let v = expect_json(&gw, &r, 200, "{\"reload\": true}");
    gw_assert!(gw, v["reloaded"].is_string(), "{v}");

    // An invalid file is refused and changes nothing.
    let good = get_json(&gw, "/debug/config", &[]);
    for (content, why) in [
        ("{ not json", "not valid JSON"),
        (
            r#"{"backends": {"a": "http://127.0.0.1:1"}, "defaultBackend": "zz"}"#,
            "defaultBackend",
        ),
        (r#"{"backends": {}}"#, "backends"),
    ] {
        rewrite(&gw, content);
        let r = post(&gw, "/debug/config", "", &[]);
        let msg = expect_control_error(&gw, &r, 400, &format!("reload of an invalid file ({why})"));
        gw_assert!(gw, msg.contains(why), "the refusal says why ({why}): {msg}");
        gw_assert_eq!(
            gw,
            good,
            get_json(&gw, "/debug/config", &[]),
            "an invalid file changes nothing ({why})"
        );
        gw_assert_eq!(
            gw,
            "a",
            get_json(&gw, "/debug/switch", &[])["current"],
            "nor the default"
        );
    }
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "still serving: {}", r.describe());
}

#[test]
fn sighup_reloads_the_file_and_an_invalid_file_changes_nothing() {
    let a = mock_ok(Dialect::OpenAi, "from a");
    let b = mock_ok(Dialect::OpenAi, "from b");
    let initial = config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::OpenAi)}),
        "a",
        json!({}),
    );
    let mut gw = Gateway::start(initial.clone());
    let mut edited = initial.clone();
    edited["defaultBackend"] = json!("b");
    edited["logging"] = json!({"includeBody": true, "maxBodyLength": 77});
    rewrite(&gw, &serde_json::to_string_pretty(&edited).unwrap());
    gw.signal(libc::SIGHUP);
    let now = wait_until(
        &gw,
        "the SIGHUP reload to show in GET /debug/config",
        || running(&gw, &[]),
        |c| c["defaultBackend"] == "b",
    );
    gw_assert_eq!(gw, json!(77), now["logging"]["maxBodyLength"], "{now}");
    wait_output(&gw, "SIGHUP: config reloaded");
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        Some("b"),
        r.header("x-backend"),
        "the reloaded default routes: {}",
        r.describe()
    );

    // An invalid file: the running config stays, and the log says why.
    let good = get_json(&gw, "/debug/config", &[]);
    rewrite(&gw, "{\"backends\": {\"a\": \"http://127.0.0.1:1\"},, }");
    gw.signal(libc::SIGHUP);
    let out = wait_output(&gw, "SIGHUP: config reload rejected");
    let line = out
        .lines()
        .find(|l| l.contains("SIGHUP: config reload rejected"))
        .unwrap_or("");
    gw_assert!(
        gw,
        line.contains("not valid JSON")
            && line.contains(&gw.config_path().unwrap().display().to_string()),
        "the log line names the file and the problem: {line}"
    );
    gw_assert_eq!(
        gw,
        good,
        get_json(&gw, "/debug/config", &[]),
        "the running config is untouched"
    );
    rewrite(
        &gw,
        r#"{"backends": {"a": "http://127.0.0.1:1"}, "defaultBackend": "ghost"}"#,
    );
    gw.signal(libc::SIGHUP);
    let deadline = Instant::now() + WAIT;
    loop {
        let n = gw
            .output()
            .matches("SIGHUP: config reload rejected")
            .count();
        if n >= 2 {
            break;
        }
        if Instant::now() >= deadline {
            panic!("the second bad reload was never logged\n{}", gw.diag());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let out = gw.output();
    let line = out
        .lines()
        .rfind(|l| l.contains("SIGHUP: config reload rejected"))
        .unwrap_or("");
    gw_assert!(
        gw,
        line.contains("defaultBackend") && line.contains("ghost"),
        "names the field: {line}"
    );
    gw_assert_eq!(
        gw,
        good,
        get_json(&gw, "/debug/config", &[]),
        "still untouched"
    );
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "still serving: {}", r.describe());
    gw_assert_eq!(
        gw,
        Some("b"),
        r.header("x-backend"),
        "with the last good config"
    );
    gw_assert!(
        gw,
        gw.wait_exit(Duration::from_millis(10)).is_none(),
        "SIGHUP never stops the gateway"
    );
}
