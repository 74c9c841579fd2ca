//! Smart routing end to end: the real gateway and mock backends over real sockets. Specialty
//! routing with its headers, explicit choices winning, fan-out with a backend down (plain and
//! streamed), a conversation too long for every backend, `/debug/router` actions, and history
//! that survives a restart.

// The shared harness is not ours to change; these two lints fire inside it.
#[allow(clippy::single_char_add_str, clippy::manual_pattern_char_comparison)]
mod common;

use std::time::Duration;

use common::{payloads, Gateway, Mock, Reply};
use serde_json::{json, Value};

const CHAT: &str = "/v1/chat/completions";

fn mock(text: &str) -> Mock {
    Mock::with(
        CHAT,
        Reply::json(200, &payloads::openai_completion("m", text)),
    )
}

fn chat_body(text: &str, stream: bool) -> Vec<u8> {
    json!({"model": "any", "stream": stream, "messages": [{"role": "user", "content": text}]})
        .to_string()
        .into_bytes()
}

fn answer_text(v: &Value) -> String {
    v["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// Three backends by specialty, the chat one the default.
fn config(coder: &Mock, chat: &Mock, big: &str, extra: Value) -> Value {
    let mut router = json!({"enabled": true});
    if let (Some(r), Some(e)) = (router.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            r.insert(k.clone(), v.clone());
        }
    }
    json!({
        "backends": {
            "coder": {"url": coder.url(), "specialties": ["code"], "contextWindow": 32768},
            "chat": {"url": chat.url(), "specialties": ["conversation"], "contextWindow": 8192, "speed": 0.9, "quality": 0.3},
            "big": {"url": big, "specialties": ["complex", "research"], "contextWindow": 200000, "quality": 0.9},
        },
        "defaultBackend": "chat",
        "smartRouter": router,
        "server": {"bind": "127.0.0.1"}
    })
}

#[test]
fn queries_go_to_their_specialist_with_visible_reasons() {
    let (coder, chat, big) = (mock("from coder"), mock("from chat"), mock("from big"));
    let gw = Gateway::start(config(&coder, &chat, &big.url(), json!({})));

    let r = gw.post(
        CHAT,
        chat_body(
            "Why does my Python script raise KeyError: 'items' when I parse the JSON?",
            false,
        ),
        &[],
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(gw, Some("coder"), r.header("X-Backend"), "{}", r.describe());
    gw_assert_eq!(gw, Some("code"), r.header("X-Category"), "{}", r.describe());
    let reason = r.header("X-Routing-Reason").unwrap_or("").to_owned();
    gw_assert!(gw, reason.contains("specialty"), "reason: {reason}");
    gw_assert_eq!(gw, "from coder", answer_text(&r.json()), "");

    let r = gw.post(CHAT, chat_body("hey, good morning!", false), &[]);
    gw_assert_eq!(gw, Some("chat"), r.header("X-Backend"), "{}", r.describe());
    gw_assert_eq!(gw, Some("conversation"), r.header("X-Category"), "");

    let r = gw.post(
        CHAT,
        chat_body("Who was the first emperor of Rome?", false),
        &[],
    );
    gw_assert_eq!(gw, Some("big"), r.header("X-Backend"), "{}", r.describe());
    gw_assert_eq!(gw, Some("research"), r.header("X-Category"), "");

    // Explicit choices win: a pinned path, a model that names a backend.
    let r = gw.post(
        "/chat/v1/chat/completions",
        chat_body("fix this segfault in my C code", false),
        &[],
    );
    gw_assert_eq!(gw, Some("chat"), r.header("X-Backend"), "{}", r.describe());
    gw_assert_eq!(gw, None, r.header("X-Category"), "the router was not asked");
    let body = json!({"model": "big", "messages": [{"role": "user", "content": "fix this segfault in my C code"}]});
    let r = gw.post(CHAT, body.to_string(), &[]);
    gw_assert_eq!(gw, Some("big"), r.header("X-Backend"), "{}", r.describe());

    // The decisions are in the request log and in /debug/router.
    let logs = gw.get("/debug/logs").json();
    let text = logs.to_string();
    gw_assert!(gw, text.contains("\"category\":\"code\""), "{text}");
    let router = gw.get("/debug/router").json();
    gw_assert_eq!(gw, json!(true), router["enabled"], "");
    gw_assert_eq!(gw, json!(1), router["counts"]["coder"]["code"], "{router}");
    gw_assert!(
        gw,
        router["recentDecisions"]
            .as_array()
            .is_some_and(|d| d.len() == 3),
        "{router}"
    );
    gw_assert!(
        gw,
        router["backends"].as_array().is_some_and(|b| b.len() == 3),
        "{router}"
    );
}

#[test]
fn fan_out_answers_with_attribution_even_with_a_backend_down() {
    let (coder, chat) = (mock("Answer A."), mock("Answer B."));
    // `big` passes its health probe but fails every chat request.
    let big = Mock::with(
        CHAT,
        Reply::json(
            500,
            &json!({"error": {"message": "model crashed", "type": "server_error"}}),
        ),
    );
    let gw = Gateway::start(config(&coder, &chat, &big.url(), json!({})));
    let question =
        "Give me several different perspectives on remote work: both sides of the debate.";

    let r = gw.post(CHAT, chat_body(question, false), &[]);
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    gw_assert_eq!(gw, Some("multi"), r.header("X-Category"), "");
    let backends = r.header("X-Backend").unwrap_or("").to_owned();
    gw_assert!(
        gw,
        backends.contains("coder") && backends.contains("chat") && backends.contains("big"),
        "{backends}"
    );
    let text = answer_text(&r.json());
    gw_assert!(
        gw,
        text.contains("### coder") && text.contains("Answer A."),
        "{text}"
    );
    gw_assert!(
        gw,
        text.contains("### chat") && text.contains("Answer B."),
        "{text}"
    );
    gw_assert!(gw, text.contains("big did not answer"), "{text}");

    // Streamed, in the client's dialect (Anthropic here).
    let body = json!({"model": "any", "max_tokens": 100, "stream": true,
        "messages": [{"role": "user", "content": question}]});
    let mut s = gw.open(common::Req::post("/v1/messages", body.to_string()));
    let events = gw.events(&mut s);
    let joined: String = events.iter().map(|e| e.raw_text()).collect();
    gw_assert!(
        gw,
        joined.contains("message_start") && joined.contains("message_stop"),
        "{joined}"
    );
    gw_assert!(
        gw,
        joined.contains("Answer A.") && joined.contains("did not answer"),
        "{joined}"
    );
}

#[test]
fn a_conversation_too_long_for_every_backend_is_a_clear_400() {
    let (coder, chat, big) = (mock("a"), mock("b"), mock("c"));
    let mut cfg = config(&coder, &chat, &big.url(), json!({}));
    cfg["backends"]["big"]["contextWindow"] = json!(16000);
    let gw = Gateway::start(cfg);
    // About 12k tokens: only `big` holds it.
    let long = "Tell me about the history of Rome. ".repeat(1400);
    let r = gw.post(CHAT, chat_body(&long, false), &[]);
    gw_assert_eq!(gw, Some("big"), r.header("X-Backend"), "{}", r.describe());
    // About 40k tokens: nothing holds it.
    let longer = long.repeat(4);
    let r = gw.post(CHAT, chat_body(&longer, false), &[]);
    gw_assert_eq!(gw, 400, r.status, "{}", r.describe());
    let message = r.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    gw_assert!(
        gw,
        message.contains("32768") && message.contains("coder"),
        "{message}"
    );
}

#[test]
fn debug_router_actions() {
    let (coder, chat, big) = (mock("a"), mock("b"), mock("c"));
    let gw = Gateway::start(config(&coder, &chat, &big.url(), json!({})));
    let post = |body: Value| gw.post("/debug/router", body.to_string(), &[]);

    let r = post(json!({"action": "classify", "query": "How do I undo the last git commit?"}));
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let v = r.json();
    gw_assert_eq!(gw, json!("code"), v["classification"]["category"], "{v}");
    gw_assert!(
        gw,
        v["classification"]["confidence"].as_f64().is_some(),
        "{v}"
    );
    gw_assert_eq!(gw, json!("coder"), v["recommendation"]["backend"], "{v}");
    gw_assert_eq!(
        gw,
        json!("How do I undo the last git commit?"),
        v["query"],
        "{v}"
    );

    let r = post(json!({"action": "classify", "messages": [
        {"role": "user", "content": "```rust\nfn main() { let v = vec![1]; }\n```"},
        {"role": "assistant", "content": "That compiles."},
        {"role": "user", "content": "and why is it slow?"}]}));
    gw_assert_eq!(
        gw,
        json!("code"),
        r.json()["classification"]["category"],
        "{}",
        r.describe()
    );

    // Preferences by user: x-user-id header or the request's `user` field.
    let r = post(
        json!({"action": "setPreference", "userId": "alice", "category": "code",
        "preferredBackend": "big", "qualityPreference": "quality"}),
    );
    gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
    let r = post(
        json!({"action": "classify", "query": "How do I undo the last git commit?", "userId": "alice"}),
    );
    gw_assert_eq!(
        gw,
        json!("big"),
        r.json()["recommendation"]["backend"],
        "{}",
        r.describe()
    );
    let r = gw.post(
        CHAT,
        chat_body("How do I undo the last git commit?", false),
        &[("x-user-id", "alice")],
    );
    gw_assert_eq!(gw, Some("big"), r.header("X-Backend"), "{}", r.describe());
    let body = json!({"model": "x", "user": "alice", "messages": [{"role": "user", "content": "How do I undo the last git commit?"}]});
    let r = gw.post(CHAT, body.to_string(), &[]);
    gw_assert_eq!(gw, Some("big"), r.header("X-Backend"), "{}", r.describe());
    let r = post(
        json!({"action": "setPreference", "userId": "alice", "category": "code", "preferredBackend": "nope"}),
    );
    gw_assert_eq!(gw, 400, r.status, "{}", r.describe());

    let r = post(json!({"action": "clearHistory"}));
    gw_assert_eq!(gw, json!(2), r.json()["cleared"], "{}", r.describe());
    let router = gw.get("/debug/router").json();
    gw_assert_eq!(
        gw,
        json!("big"),
        router["preferences"]["alice"]["categoryOverrides"]["code"],
        "{router}"
    );

    let r = post(json!({"action": "disable"}));
    gw_assert_eq!(gw, json!(false), r.json()["enabled"], "");
    let r = gw.post(
        CHAT,
        chat_body("How do I undo the last git commit?", false),
        &[],
    );
    gw_assert_eq!(
        gw,
        Some("chat"),
        r.header("X-Backend"),
        "routing is off: the default"
    );
    gw_assert_eq!(gw, None, r.header("X-Category"), "");
    let r = post(json!({"action": "enable"}));
    gw_assert_eq!(gw, json!(true), r.json()["enabled"], "");
    gw_assert_eq!(gw, json!(false), r.json()["was"], "");

    let r = post(json!({"action": "dance"}));
    gw_assert_eq!(gw, 400, r.status, "{}", r.describe());
}

#[test]
fn history_survives_a_restart() {
    let (coder, chat, big) = (mock("a"), mock("b"), mock("c"));
    let file = common::gateway::temp_path("router-history.json");
    let cfg = config(
        &coder,
        &chat,
        &big.url(),
        json!({"historyFile": file.display().to_string()}),
    );
    {
        let gw = Gateway::start(cfg.clone());
        let r = gw.post(CHAT, chat_body("write a haiku about rain", false), &[]);
        gw_assert_eq!(gw, Some("chat"), r.header("X-Backend"), "{}", r.describe());
        let r = gw.post(
            "/debug/router",
            json!({"action": "setPreference", "userId": "bob",
            "qualityPreference": "speed"})
            .to_string(),
            &[],
        );
        gw_assert_eq!(gw, 200, r.status, "{}", r.describe());
        // Decisions are written shortly after they happen.
        std::thread::sleep(Duration::from_millis(1200));
    }
    let gw = Gateway::start(cfg);
    let router = gw.get("/debug/router").json();
    gw_assert_eq!(
        gw,
        json!("speed"),
        router["preferences"]["bob"]["qualityPreference"],
        "{router}"
    );
    gw_assert_eq!(gw, json!(1), router["decisionsKept"], "{router}");
    gw_assert_eq!(
        gw,
        json!("conversation"),
        router["recentDecisions"][0]["category"],
        "{router}"
    );
    let _ = std::fs::remove_file(&file);
}
