//! Self-tests of the harness (mock backend, raw client, payloads, metrics parser), run without the
//! gateway: if these fail, the end-to-end tests cannot be trusted.

mod common;

use std::time::{Duration, Instant};

use common::client::{without_comments, Req};
use common::{metrics, payloads, Dialect, Mock, Reply, ALL_DIALECTS};
use serde_json::{json, Value};

#[test]
fn mock_answers_json_and_records_the_exact_request() {
    let mock = Mock::with(
        "/v1/chat/completions",
        Reply::json(200, &json!({"ok": true})).header("X-Mock", "1"),
    );
    let body = payloads::openai_request("m", false);
    let r = Req::post("/v1/chat/completions?x=1", body.clone())
        .header("Authorization", "Bearer k")
        .send(mock.port())
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.json(), json!({"ok": true}));
    assert_eq!(r.header("x-mock"), Some("1"));
    let got = mock.single_request();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/v1/chat/completions?x=1");
    assert_eq!(got.body, body);
    assert_eq!(got.header("authorization"), Some("Bearer k"));
}

#[test]
fn mock_dechunks_a_chunked_request_body() {
    let mock = Mock::with("/p", Reply::json(200, &json!({})));
    let body = vec![b'x'; 5000];
    let r = Req::post("/p", body.clone())
        .chunked()
        .send(mock.port())
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(mock.single_request().body, body);
}

#[test]
fn mock_replies_in_sequence_and_the_last_sticks() {
    let mock = Mock::start();
    mock.on_seq(
        "/p",
        vec![
            Reply::json(500, &json!({"n": 1})),
            Reply::json(200, &json!({"n": 2})),
        ],
    );
    let statuses: Vec<u16> = (0..3)
        .map(|_| Req::get("/p").send(mock.port()).unwrap().status)
        .collect();
    assert_eq!(statuses, vec![500, 200, 200]);
    assert_eq!(
        Req::get("/unscripted").send(mock.port()).unwrap().status,
        404
    );
}

#[test]
fn client_reads_sse_event_by_event_with_arrival_times() {
    let events = payloads::anthropic_stream("claude", &["a", "b", "c"]);
    let mock = Mock::with("/s", Reply::sse(events.clone(), Duration::from_millis(50)));
    let mut s = Req::post("/s", "{}").open(mock.port()).unwrap();
    assert_eq!(s.status, 200);
    assert_eq!(s.framing, common::client::Framing::Chunked);
    let got = s.all_events().unwrap();
    assert_eq!(got.len(), events.len());
    assert!(got.iter().all(|e| e.complete));
    assert_eq!(got[0].event.as_deref(), Some("message_start"));
    assert_eq!(got[0].json().unwrap()["type"], "message_start");
    assert_eq!(
        payloads::concat(&got.iter().map(|e| e.raw.clone()).collect::<Vec<_>>()),
        payloads::concat(&events)
    );
    assert_eq!(s.raw, payloads::concat(&events));
    let spread = got.last().unwrap().at - got[0].at;
    assert!(spread >= Duration::from_millis(300), "spread {spread:?}");
    let sent = mock.sent_events();
    assert_eq!(sent.len(), events.len());
    for i in 0..events.len() - 1 {
        assert!(
            got[i].at < sent[i + 1].at,
            "event {i} arrived after event {} was sent",
            i + 1
        );
    }
}

#[test]
fn client_parses_comments_and_multiline_data() {
    let mock = Mock::with(
        "/s",
        Reply::sse(
            vec![
                b": keep-alive\n\n".to_vec(),
                b"data: a\r\ndata: b\r\n\r\n".to_vec(),
            ],
            Duration::ZERO,
        ),
    );
    let mut s = Req::post("/s", "{}").open(mock.port()).unwrap();
    let got = s.all_events().unwrap();
    assert_eq!(got.len(), 2);
    assert!(got[0].is_comment_only());
    assert_eq!(got[0].comments, vec!["keep-alive".to_string()]);
    assert_eq!(got[1].data, "a\nb");
    assert_eq!(without_comments(&got).len(), 1);
}

#[test]
fn mock_notices_a_peer_that_leaves_during_silence() {
    let mock = Mock::with(
        "/s",
        Reply::events_then_silence(vec![b"data: 1\n\n".to_vec()], Duration::ZERO),
    );
    let mut s = Req::post("/s", "{}").open(mock.port()).unwrap();
    assert_eq!(s.next_event().unwrap().unwrap().data, "1");
    let left = Instant::now();
    s.disconnect();
    let closed = mock.wait_peer_closed(1, Duration::from_secs(3));
    assert_eq!(closed.len(), 1);
    assert!(closed[0].1 >= left);
}

#[test]
fn mock_hang_ends_on_release() {
    let mock = Mock::with("/h", Reply::Hang);
    let port = mock.port();
    let t = std::thread::spawn(move || Req::get("/h").send(port));
    mock.wait_requests(1, Duration::from_secs(3));
    mock.release();
    let r = t.join().unwrap();
    assert!(
        r.is_err(),
        "a released hang closes without a response: {r:?}"
    );
}

#[test]
fn mock_close_mid_stream_truncates_the_body() {
    let mock = Mock::with(
        "/s",
        Reply::close_mid_stream(vec![b"data: 1\n\n".to_vec()], Duration::ZERO),
    );
    let mut s = Req::post("/s", "{}").open(mock.port()).unwrap();
    assert_eq!(s.next_event().unwrap().unwrap().data, "1");
    assert!(
        s.next_event().is_err(),
        "a chunked body cut short is an error to the reader"
    );
}

#[test]
fn mock_garbage_is_not_http() {
    let mock = Mock::with("/g", Reply::garbage());
    assert!(Req::get("/g").send(mock.port()).is_err());
}

#[test]
fn canned_request_bodies_are_valid_json_with_escapes_kept() {
    for d in ALL_DIALECTS {
        for stream in [false, true] {
            let body = d.request(d.model(), stream);
            let v: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
                panic!(
                    "{d:?} stream={stream}: {e}: {}",
                    String::from_utf8_lossy(&body)
                )
            });
            assert_eq!(v["model"], d.model());
            assert_eq!(
                v.get("stream").and_then(Value::as_bool).unwrap_or(false),
                stream
            );
            assert!(
                String::from_utf8_lossy(&body).contains("\\u00"),
                "{d:?}: the body keeps a \\u escape"
            );
            assert_ne!(
                serde_json::to_vec(&v).unwrap(),
                body,
                "{d:?}: re-serialising must change the bytes"
            );
        }
    }
}

#[test]
fn canned_streams_are_well_formed() {
    for d in ALL_DIALECTS {
        let frames = d.stream(d.model(), &["Hel", "lo"]);
        for f in &frames {
            let text = String::from_utf8(f.clone()).unwrap();
            assert!(text.ends_with("\n\n"), "{d:?}: {text:?}");
            let data = text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            if data != "[DONE]" {
                let v: Value = serde_json::from_str(data).unwrap();
                if d != Dialect::OpenAi {
                    let name = text
                        .lines()
                        .find_map(|l| l.strip_prefix("event: "))
                        .unwrap();
                    assert_eq!(
                        v["type"], name,
                        "{d:?}: the data's type matches the event name"
                    );
                }
            }
        }
    }
}

#[test]
fn metrics_parser_accepts_valid_text() {
    let text = "# HELP llm_proxy_requests_total Requests.\n# TYPE llm_proxy_requests_total counter\nllm_proxy_requests_total 3\n\
                # HELP llm_proxy_requests_by_backend Requests per backend.\n# TYPE llm_proxy_requests_by_backend counter\n\
                llm_proxy_requests_by_backend{backend=\"a\\\"b\"} 2\nllm_proxy_requests_by_backend{backend=\"c\",} 1 1700000000000\n\
                # HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n";
    let m = metrics::parse(text).unwrap();
    assert_eq!(m.get("llm_proxy_requests_total", &[]), Some(3.0));
    assert_eq!(
        m.get("llm_proxy_requests_by_backend", &[("backend", "a\"b")]),
        Some(2.0)
    );
    assert_eq!(m.sum("llm_proxy_requests_by_backend"), 3.0);
    assert_eq!(m.get("h_count", &[]), Some(1.0));
}

#[test]
fn metrics_parser_rejects_invalid_text() {
    let bad = [
        ("llm_x 1\n", "no TYPE"),
        ("# TYPE llm_x counter\nllm_x 1\n", "no HELP"),
        (
            "# HELP llm_x x\n# TYPE llm_x counter\nllm_x{a=b} 1\n",
            "unquoted label",
        ),
        (
            "# HELP llm_x x\n# TYPE llm_x counter\nllm_x one\n",
            "bad value",
        ),
        (
            "# HELP llm_x x\n# TYPE llm_x counter\nllm_x 1\nllm_x 2\n",
            "duplicate",
        ),
        (
            "# HELP llm_x x\n# TYPE llm_x countr\nllm_x 1\n",
            "unknown type",
        ),
        (
            "# HELP llm_x x\n# TYPE llm_x counter\nllm_x{a=\"1\" 1\n",
            "unterminated labels",
        ),
        ("# HELP llm_x x\n# TYPE llm_x counter\n9llm 1\n", "bad name"),
    ];
    for (text, why) in bad {
        assert!(
            metrics::parse(text).is_err(),
            "should reject ({why}): {text:?}"
        );
    }
}

#[test]
fn mock_serves_ureq_with_keep_alive_and_streams() {
    // The gateway's HTTP client is ureq: the mock must work with it, pooled connections included.
    let mock = Mock::start();
    mock.on(
        "/v1/models",
        Reply::json(200, &payloads::openai_models(&["m1"])),
    );
    mock.on(
        "/s",
        Reply::sse(
            payloads::openai_stream("m", &["a", "b"]),
            Duration::from_millis(5),
        ),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    for _ in 0..3 {
        let mut r = agent
            .get(&format!("{}/v1/models", mock.url()))
            .call()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: Value = serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap();
        assert_eq!(v["data"][0]["id"], "m1");
        let mut s = agent
            .post(&format!("{}/s", mock.url()))
            .header("Content-Type", "application/json")
            .send("{}")
            .unwrap();
        let body = s.body_mut().read_to_vec().unwrap();
        assert_eq!(
            body,
            payloads::concat(&payloads::openai_stream("m", &["a", "b"]))
        );
    }
    assert_eq!(mock.all_requests().len(), 6);
    assert_eq!(
        mock.requests().len(),
        3,
        "GET /v1/models counts as a health probe, not a proxied request"
    );
}
