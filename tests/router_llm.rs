//! The LLM classifier against a mock classifier backend (a tiny_http server on 127.0.0.1) that
//! answers slowly, with junk, with fenced JSON, after a `<think>` block, in `reasoning_content`,
//! or with an error: the quick answer stands whenever the LLM's cannot be used, and good answers
//! are cached by normalized query.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_gateway::config::{Config, Overrides, Source};
use llm_gateway::ir::{Block, Message, Request, Role};
use llm_gateway::state::State;
use serde_json::{json, Value};

/// Starts the mock; returns its port and a counter of the requests it got.
fn mock_classifier() -> (u16, Arc<AtomicUsize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind the mock");
    let port = server.server_addr().to_ip().expect("ip address").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut body = String::new();
            let _ = request.as_reader().read_to_string(&mut body);
            std::thread::spawn(move || {
                let (status, message) = script(&body);
                let reply = json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "model": "classifier",
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
                });
                let response = tiny_http::Response::from_string(reply.to_string())
                    .with_status_code(status)
                    .with_header(
                        "Content-Type: application/json"
                            .parse::<tiny_http::Header>()
                            .unwrap(),
                    );
                let _ = request.respond(response);
            });
        }
    });
    (port, hits)
}

/// What the mock answers, chosen by a marker word in the query.
fn script(body: &str) -> (u16, Value) {
    let answer = r#"{"category": "complex", "confidence": 0.88, "complexity": "high", "suggestedBackends": ["big", "nope"], "reasoning": "asks for a careful weighing"}"#;
    let content = |text: String| json!({"role": "assistant", "content": text});
    if body.contains("SLOWLY") {
        std::thread::sleep(Duration::from_millis(1500));
        return (200, content(answer.into()));
    }
    if body.contains("JUNK") {
        return (
            200,
            content("Well, it depends on how you look at it.".into()),
        );
    }
    if body.contains("FENCED") {
        return (
            200,
            content(format!("Here you go:\n```json\n{answer}\n```")),
        );
    }
    if body.contains("THINKING") {
        return (
            200,
            content(format!(
                "<think>Maybe {{\"category\": \"code\"}}? No.</think>\n{answer}"
            )),
        );
    }
    if body.contains("REASONER") {
        return (
            200,
            json!({"role": "assistant", "content": "", "reasoning_content": answer}),
        );
    }
    if body.contains("BROKEN") {
        return (500, json!({"error": {"message": "model crashed"}}));
    }
    (200, content(answer.into()))
}

fn state(port: u16, cooldown_secs: u64) -> State {
    let config = json!({
        "backends": {
            "clf": format!("http://127.0.0.1:{port}"),
            "big": {"url": "http://127.0.0.1:9", "specialties": ["complex"]},
        },
        "defaultBackend": "clf",
        "smartRouter": {"enabled": true, "classifierBackend": "clf", "llmThreshold": 1.0,
            "classifierTimeoutMs": 400, "classifierCooldownSecs": cooldown_secs}
    });
    let config = Config::parse(&config.to_string(), Source::BuiltIn, &Overrides::default())
        .expect("valid config");
    State::new(
        config,
        Overrides::default(),
        "router-test-config.json".into(),
    )
}

fn request(text: &str) -> Request {
    Request {
        messages: vec![Message {
            role: Role::User,
            content: vec![Block::Text { text: text.into() }],
        }],
        ..Request::default()
    }
}

/// A query the quick classifier calls conversation, so an LLM "complex" is visible.
const QUERY: &str = "hello there, a question";

#[test]
fn good_fenced_thinking_and_reasoning_answers_are_used() {
    let (port, _) = mock_classifier();
    let state = state(port, 0);
    for marker in ["PLAIN", "FENCED", "THINKING", "REASONER"] {
        let c = state
            .smart
            .classify(&state, &request(&format!("{QUERY} {marker}")));
        assert_eq!(c.category.as_str(), "complex", "{marker}: {c:?}");
        assert_eq!(c.source, "llm", "{marker}");
        assert_eq!(c.confidence, 0.88);
        assert_eq!(c.complexity.as_str(), "high");
        assert_eq!(
            c.suggested_backends,
            vec!["big".to_owned()],
            "unknown backends are dropped"
        );
        assert_eq!(c.quick.category.as_str(), "conversation");
    }
}

#[test]
fn slow_junk_and_errors_fall_back_to_the_quick_answer() {
    let (port, _) = mock_classifier();
    let state = state(port, 0);
    let started = Instant::now();
    let c = state
        .smart
        .classify(&state, &request(&format!("{QUERY} SLOWLY")));
    let waited = started.elapsed();
    assert_eq!(c.source, "quick");
    assert_eq!(c.category.as_str(), "conversation");
    assert!(c.reasoning.contains("timed out"), "{}", c.reasoning);
    assert!(
        waited < Duration::from_millis(1400),
        "the timeout ends the wait ({waited:?})"
    );
    for marker in ["JUNK", "BROKEN"] {
        let c = state
            .smart
            .classify(&state, &request(&format!("{QUERY} {marker}")));
        assert_eq!(c.source, "quick", "{marker}");
        assert!(c.reasoning.contains("failed"), "{marker}: {}", c.reasoning);
    }
    let debug = state.smart.debug_get(&state);
    let llm = &debug["classifier"]["llm"];
    assert_eq!(llm["timeouts"], 1, "{llm}");
    assert_eq!(llm["failures"], 2, "{llm}");
}

#[test]
fn answers_are_cached_by_normalized_query() {
    let (port, hits) = mock_classifier();
    let state = state(port, 0);
    let first = state
        .smart
        .classify(&state, &request("Hello there,   a QUESTION about CACHING?"));
    assert_eq!(first.source, "llm");
    let second = state
        .smart
        .classify(&state, &request("hello there, a question about caching"));
    assert_eq!(second.source, "llm-cache");
    assert_eq!(second.category, first.category);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[test]
fn a_failed_classifier_rests() {
    let (port, hits) = mock_classifier();
    let state = state(port, 60);
    let c = state
        .smart
        .classify(&state, &request(&format!("{QUERY} BROKEN")));
    assert_eq!(c.source, "quick");
    let c = state
        .smart
        .classify(&state, &request(&format!("{QUERY} PLAIN")));
    assert_eq!(c.source, "quick");
    assert!(c.reasoning.contains("resting"), "{}", c.reasoning);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "not asked while resting");
}

#[test]
fn confident_quick_answers_skip_the_llm() {
    let (port, hits) = mock_classifier();
    let config = json!({
        "backends": {"clf": format!("http://127.0.0.1:{port}")},
        "smartRouter": {"classifierBackend": "clf"}
    });
    let config = Config::parse(&config.to_string(), Source::BuiltIn, &Overrides::default())
        .expect("valid config");
    let state = State::new(
        config,
        Overrides::default(),
        "router-test-config.json".into(),
    );
    let c = state.smart.classify(
        &state,
        &request("Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'"),
    );
    assert_eq!(c.source, "quick");
    assert_eq!(c.category.as_str(), "code");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
