//! proxy-cli (issue 5): when the last user message starts with `proxy-cli`, the gateway answers
//! itself in the client's dialect, streamed if asked: `status`, `models`, `use X`, `smart`,
//! `smart on|off`, `logs N`, `tokens`, `help`; unknown commands and bad arguments answer with the
//! help and a clear error. The effect of `use` and `smart on` shows in `/debug/switch` and `GET /`,
//! and no command ever reaches a backend.

mod common;
#[path = "common/control.rs"]
mod control;

use common::*;
use control::*;
use serde_json::{json, Value};

/// Two backends with model lists; two ordinary requests already sent to `a`.
fn setup() -> (Mock, Mock, Gateway) {
    let a = Mock::with(
        "/v1/chat/completions",
        Reply::json(200, &payloads::openai_completion("m", "from a")),
    );
    a.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["model-a1", "model-a2"])),
    );
    let b = Mock::with(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("m", "from b")),
    );
    b.on(
        "/v1/models",
        Reply::json(200, &payloads::anthropic_models(&["model-b1"])),
    );
    let gw = Gateway::start(config(
        json!({"a": backend(&a, Dialect::OpenAi), "b": backend(&b, Dialect::Anthropic)}),
        "a",
        json!({}),
    ));
    wait_probed(&gw);
    for _ in 0..2 {
        let r = gw.post(
            "/v1/chat/completions",
            payloads::openai_request("m", false),
            &[],
        );
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    }
    wait_logged(&gw, 2, &[]);
    (a, b, gw)
}

fn switch_state(gw: &Gateway) -> (Value, Value, Value) {
    let root = get_json(gw, "/", &[]);
    let sw = get_json(gw, "/debug/switch", &[]);
    (
        sw["current"].clone(),
        root["defaultBackend"].clone(),
        root["smartRouting"].clone(),
    )
}

/// The rows of a markdown table whose first cell is a request id.
fn log_rows(text: &str) -> usize {
    text.lines()
        .filter(|l| l.trim_start().starts_with("| req_"))
        .count()
}

fn is_help(text: &str) -> bool {
    [
        "proxy-cli status",
        "proxy-cli models",
        "proxy-cli use",
        "proxy-cli smart",
        "proxy-cli logs",
        "proxy-cli tokens",
        "proxy-cli help",
    ]
    .iter()
    .all(|c| text.contains(c))
}

fn every_command(d: Dialect, stream: bool) {
    let (a, b, gw) = setup();
    let run = |cmd: &str| -> String {
        let (r, text) = chat(&gw, d, cmd, stream, &[]);
        gw_assert_eq!(
            gw,
            200,
            r.status,
            "{d:?} stream={stream} `{cmd}`: {}",
            r.describe()
        );
        gw_assert!(
            gw,
            r.header("x-request-id").is_some(),
            "`{cmd}` answers carry X-Request-Id: {}",
            r.describe()
        );
        gw_assert!(
            gw,
            !text.trim().is_empty(),
            "{d:?} stream={stream} `{cmd}` answered nothing"
        );
        // The books are written just after the answer goes out: wait for this request's entry,
        // so the next command sees it.
        let id = r.header("x-request-id").unwrap_or("").to_string();
        wait_until(
            &gw,
            &format!("{id} in /debug/logs"),
            || get_json(&gw, "/debug/logs?limit=5", &[]),
            |v| {
                v["logs"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|e| e["id"] == id.as_str()))
            },
        );
        text
    };
    let ctx = format!("{d:?} stream={stream}");

    for cmd in [
        "proxy-cli help",
        "proxy-cli",
        "proxy-cli --help",
        "  proxy-cli   help  ",
    ] {
        let t = run(cmd);
        gw_assert!(gw, is_help(&t), "{ctx} `{cmd}` lists every command: {t}");
        gw_assert!(gw, !t.contains("Error"), "{ctx} `{cmd}` is no error: {t}");
    }

    let total = wait_logged(&gw, 6, &[])["count"].as_u64().unwrap_or(0);
    let t = run("proxy-cli status");
    gw_assert!(
        gw,
        t.contains(env!("CARGO_PKG_VERSION")) && t.contains("| a |") && t.contains("| b |"),
        "{ctx} status names the version and every backend: {t}"
    );
    gw_assert!(
        gw,
        t.contains(&format!("{total} requests")),
        "{ctx} status counts the {total} requests so far: {t}"
    );

    let t = run("proxy-cli models");
    for m in ["model-a1", "model-a2", "model-b1"] {
        gw_assert!(
            gw,
            t.contains(m),
            "{ctx} models lists {m} from the backends' /v1/models: {t}"
        );
    }

    // use: the effect shows in /debug/switch and GET /.
    let t = run("proxy-cli use b");
    gw_assert!(
        gw,
        t.contains('b') && !t.contains("Error"),
        "{ctx} use b: {t}"
    );
    gw_assert_eq!(
        gw,
        (json!("b"), json!("b"), json!(false)),
        switch_state(&gw),
        "{ctx} after `use b`"
    );
    let r = gw.post(
        "/v1/chat/completions",
        payloads::openai_request("m", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        Some("b"),
        r.header("x-backend"),
        "{ctx} requests now go to b: {}",
        r.describe()
    );
    let t = run("proxy-cli use nope");
    gw_assert!(
        gw,
        t.contains("Error") && t.contains("nope"),
        "{ctx} use of an unknown backend: {t}"
    );
    gw_assert!(
        gw,
        t.contains('a') && t.contains('b'),
        "{ctx} the error lists the backends: {t}"
    );
    gw_assert_eq!(
        gw,
        json!("b"),
        switch_state(&gw).0,
        "{ctx} an unknown backend changes nothing"
    );
    run("proxy-cli use a");
    gw_assert_eq!(gw, json!("a"), switch_state(&gw).0, "{ctx} back to a");

    // smart: report, on, off.
    let t = run("proxy-cli smart");
    gw_assert!(gw, t.contains("off"), "{ctx} smart reports off: {t}");
    let t = run("proxy-cli smart on");
    gw_assert!(
        gw,
        t.contains("on") && !t.contains("Error"),
        "{ctx} smart on: {t}"
    );
    gw_assert_eq!(
        gw,
        json!(true),
        switch_state(&gw).2,
        "{ctx} GET / shows smart routing on"
    );
    gw_assert_eq!(
        gw,
        json!(true),
        get_json(&gw, "/debug/health", &[])["smartRouting"],
        "{ctx} health agrees"
    );
    gw_assert_eq!(
        gw,
        json!(true),
        get_json(&gw, "/debug/router", &[])["enabled"],
        "{ctx} router agrees"
    );
    let t = run("proxy-cli smart");
    gw_assert!(gw, t.contains("**on**"), "{ctx} smart now reports on: {t}");
    run("proxy-cli smart off");
    gw_assert_eq!(gw, json!(false), switch_state(&gw).2, "{ctx} smart off");

    // logs N: exactly N rows (the log holds far more than 3 entries by now).
    let t = run("proxy-cli logs 3");
    gw_assert_eq!(
        gw,
        3,
        log_rows(&t),
        "{ctx} logs 3 shows three requests: {t}"
    );
    let t = run("proxy-cli logs 1");
    gw_assert_eq!(gw, 1, log_rows(&t), "{ctx} logs 1: {t}");
    let t = run("proxy-cli logs");
    gw_assert_eq!(gw, 10, log_rows(&t), "{ctx} logs defaults to 10: {t}");
    let newest = get_json(&gw, "/debug/logs?limit=1", &[])["logs"][0]["id"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let t = run("proxy-cli logs 1");
    gw_assert!(
        gw,
        t.contains(&newest),
        "{ctx} logs shows the newest request {newest}: {t}"
    );

    // tokens: the totals /debug/tokens reports.
    let tok = get_json(&gw, "/debug/tokens", &[]);
    let t = run("proxy-cli tokens");
    let (i, o) = (
        tok["input"].as_u64().unwrap(),
        tok["output"].as_u64().unwrap(),
    );
    gw_assert!(
        gw,
        i > 0 && t.contains(&i.to_string()) && t.contains(&o.to_string()),
        "{ctx} tokens shows {i} in, {o} out: {t}"
    );
    gw_assert!(gw, t.contains("| a |"), "{ctx} tokens by backend: {t}");

    // Unknown commands and bad arguments: a clear error and the help.
    for (cmd, names) in [
        ("proxy-cli fly", "fly"),
        ("proxy-cli logs many", "many"),
        ("proxy-cli logs 0", "0"),
        ("proxy-cli logs 101", "101"),
        ("proxy-cli smart maybe", "maybe"),
        ("proxy-cli use", "use"),
        ("proxy-cli use a b", "use"),
        ("proxy-cli status now", "status"),
        ("proxy-cli tokens all", "tokens"),
    ] {
        let t = run(cmd);
        gw_assert!(
            gw,
            t.contains("Error") && t.contains(names),
            "{ctx} `{cmd}` says what is wrong ({names}): {t}"
        );
        gw_assert!(gw, is_help(&t), "{ctx} `{cmd}` comes with the help: {t}");
    }
    gw_assert_eq!(
        gw,
        (json!("a"), json!("a"), json!(false)),
        switch_state(&gw),
        "{ctx} bad commands changed nothing"
    );

    gw_assert_eq!(
        gw,
        2,
        a.requests().len(),
        "{ctx} no proxy-cli command reached backend a"
    );
    gw_assert_eq!(
        gw,
        1,
        b.requests().len(),
        "{ctx} only the one ordinary request reached b"
    );
}

#[test]
fn proxy_cli_every_command_openai_chat() {
    every_command(Dialect::OpenAi, false);
}

#[test]
fn proxy_cli_every_command_openai_chat_streamed() {
    every_command(Dialect::OpenAi, true);
}

#[test]
fn proxy_cli_every_command_anthropic() {
    every_command(Dialect::Anthropic, false);
}

#[test]
fn proxy_cli_every_command_anthropic_streamed() {
    every_command(Dialect::Anthropic, true);
}

#[test]
fn proxy_cli_every_command_responses() {
    every_command(Dialect::Responses, false);
}

#[test]
fn proxy_cli_every_command_responses_streamed() {
    every_command(Dialect::Responses, true);
}

/// Only a last user message that starts with `proxy-cli` is a command; anything else goes to the
/// backend as usual.
#[test]
fn proxy_cli_is_only_a_leading_word_of_the_last_user_message() {
    let (a, _b, gw) = setup();
    for (what, body) in [
        (
            "proxy-client",
            json!({"model": "m", "messages": [{"role": "user", "content": "proxy-client status"}]}),
        ),
        (
            "mentioned later",
            json!({"model": "m", "messages": [{"role": "user", "content": "please run proxy-cli status"}]}),
        ),
        (
            "an earlier turn",
            json!({"model": "m", "messages": [
            {"role": "user", "content": "proxy-cli status"},
            {"role": "assistant", "content": "| a | up |"},
            {"role": "user", "content": "thanks, now a real question"}]}),
        ),
    ] {
        let r = gw.post("/v1/chat/completions", body.to_string(), &[]);
        gw_assert_eq!(gw, 200, r.status, "{what}: {}", r.describe());
        gw_assert_eq!(
            gw,
            "from a",
            answer_text(&gw, Dialect::OpenAi, &r),
            "{what} goes to the backend"
        );
    }
    gw_assert_eq!(gw, 5, a.requests().len(), "three ordinary requests more");
}

/// Real clients wrap the typed text: Claude Code puts `<system-reminder>` text blocks before it in
/// the same user message. The text the user typed still starts with `proxy-cli`.
#[test]
fn proxy_cli_works_after_claude_codes_system_reminder_blocks() {
    let (_a, b, gw) = setup();
    let claude_code = json!({"model": "claude-sonnet-4-5", "max_tokens": 64000, "stream": true,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nAs you answer the user's questions, you can use the following context.\n</system-reminder>"},
            {"type": "text", "text": "proxy-cli status", "cache_control": {"type": "ephemeral"}}]}]});
    let mut s = gw.open(
        Req::post("/v1/messages?beta=true", claude_code.to_string())
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "claude-code-20250219"),
    );
    gw_assert_eq!(gw, 200, s.status, "Claude Code stream");
    let events = gw.events(&mut s);
    let text = stream_text(&gw, Dialect::Anthropic, &events);
    gw_assert!(
        gw,
        text.contains("| a |"),
        "Claude Code's proxy-cli status is answered by the gateway: {text:?}"
    );
    gw_assert_eq!(gw, 0, b.requests().len(), "and does not reach a backend");
}

/// aider (through LiteLLM) sends a system message after the last user message (CLIENTS.md). The
/// last user message still starts with `proxy-cli`.
#[test]
fn proxy_cli_works_when_a_system_message_follows_the_user_message() {
    let (a, _b, gw) = setup();
    let aider = json!({"model": "gpt-4o", "temperature": 0, "messages": [
        {"role": "system", "content": "Act as an expert developer."},
        {"role": "user", "content": "proxy-cli status"},
        {"role": "system", "content": "Reply in the same language as the user."}]});
    let r = gw.post("/v1/chat/completions", aider.to_string(), &[]);
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let text = answer_text(&gw, Dialect::OpenAi, &r);
    gw_assert!(
        gw,
        text.contains("| a |"),
        "aider's proxy-cli status is answered by the gateway: {text:?}"
    );
    gw_assert_eq!(gw, 2, a.requests().len(), "and does not reach a backend");
}
