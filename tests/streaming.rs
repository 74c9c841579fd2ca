//! Streaming behaviour (issue 2, scopes 3 and 6): events reach the client as the backend sent them,
//! a client that leaves frees its worker even while the backend is silent, heartbeats during
//! silence, a full queue answers 503/529 at once, HTTP/1.0 gets a close-delimited body, and a
//! backend that stops mid-stream does not hang the client.
//!
//! Timing is asserted only as order and spread (never a tight absolute time): the mock records
//! when it wrote each event, the client records when each arrived.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::client::{self, without_comments};
use common::*;
use serde_json::json;

const GAP: Duration = Duration::from_millis(200);

fn events_arrive_as_sent(d: Dialect) {
    // The first five events are 200 ms apart, the rest follow at once.
    const SPACED: usize = 5;
    let frames = d.stream(d.model(), &["One", " two", " three"]);
    let n = frames.len();
    assert!(n > SPACED);
    let timed = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                if (1..SPACED).contains(&i) {
                    GAP
                } else {
                    Duration::ZERO
                },
                f.clone(),
            )
        })
        .collect();
    let mock = Mock::with(d.path(), Reply::sse_timed(timed));
    let gw = gateway_for(&mock, d);
    let mut s =
        gw.open(Req::post(d.path(), d.request(d.model(), true)).headers(&d.client_headers()));
    gw_assert_eq!(gw, 200, s.status, "status");
    let events = without_comments(&gw.events(&mut s));
    gw_assert_eq!(
        gw,
        n,
        events.len(),
        "event count; got {:?}",
        events.iter().map(|e| e.raw_text()).collect::<Vec<_>>()
    );
    let sent = mock.sent_events();
    gw_assert_eq!(gw, n, sent.len(), "the mock wrote every event");
    // Each event reached the client before the backend even wrote the next one: one flush per event.
    for i in 0..SPACED - 1 {
        gw_assert!(gw, events[i].at < sent[i + 1].at,
            "event {i} must arrive before the backend sends event {} ({:?} later); it arrived {:?} after it was sent",
            i + 1, GAP, events[i].at.saturating_duration_since(sent[i].at));
    }
    let last = SPACED - 1;
    let spread = events[last].at - events[0].at;
    let sent_spread = sent[last].at - sent[0].at;
    gw_assert!(gw, spread + GAP >= sent_spread,
        "the first event arrives long before the fifth: arrival spread {spread:?}, sending spread {sent_spread:?}");
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&payloads::concat(&frames)),
        String::from_utf8_lossy(&payloads::concat(
            &events.iter().map(|e| e.raw.clone()).collect::<Vec<_>>()
        )),
        "the events themselves"
    );
}

#[test]
fn openai_chat_events_arrive_spaced_as_the_backend_sent_them() {
    events_arrive_as_sent(Dialect::OpenAi);
}

#[test]
fn anthropic_events_arrive_spaced_as_the_backend_sent_them() {
    events_arrive_as_sent(Dialect::Anthropic);
}

#[test]
fn responses_events_arrive_spaced_as_the_backend_sent_them() {
    events_arrive_as_sent(Dialect::Responses);
}

/// A gateway with a single proxy worker and 1 s heartbeats in front of `mock`.
fn one_worker_gateway(mock: &Mock, d: Dialect, extra_server: serde_json::Value) -> Gateway {
    let mut server = json!({"workers": 1, "heartbeatSecs": 1});
    if let serde_json::Value::Object(m) = extra_server {
        for (k, v) in m {
            server[k] = v;
        }
    }
    Gateway::start(config(
        json!({"up": backend(mock, d)}),
        "up",
        json!({"server": server}),
    ))
}

#[test]
fn client_disconnect_mid_stream_with_a_silent_backend_frees_the_only_worker() {
    let d = Dialect::OpenAi;
    let mock = Mock::start();
    mock.on_seq(
        d.path(),
        vec![
            Reply::events_then_silence(
                d.stream(d.model(), &["first"])[..1].to_vec(),
                Duration::ZERO,
            ),
            Reply::json(200, &d.response(d.model(), "second request served")),
        ],
    );
    let gw = one_worker_gateway(&mock, d, json!({}));
    let mut s = gw.open(Req::post(d.path(), d.request(d.model(), true)));
    gw_assert_eq!(gw, 200, s.status, "status of the stream");
    let first = s.next_event();
    gw_assert!(
        gw,
        matches!(first, Ok(Some(_))),
        "the first event arrives; got {first:?}"
    );
    let left = Instant::now();
    s.disconnect();

    let r =
        gw.send(Req::post(d.path(), d.request(d.model(), false)).timeout(Duration::from_secs(15)));
    let took = left.elapsed();
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "the next request is served by the freed worker; response: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        took < Duration::from_secs(6),
        "the worker is free within ~2 s of the disconnect; the next request took {took:?}"
    );
    let closed = mock.wait_peer_closed(1, Duration::from_secs(5));
    gw_assert!(
        gw,
        !closed.is_empty(),
        "the gateway closes the upstream connection when the client leaves"
    );
}

#[test]
fn client_disconnect_before_the_first_event_frees_the_only_worker() {
    // The backend sent its headers, then nothing (long prompt processing on a local model).
    let d = Dialect::Anthropic;
    let mock = Mock::start();
    mock.on_seq(
        d.path(),
        vec![
            Reply::headers_then_silence(),
            Reply::json(200, &d.response(d.model(), "served")),
        ],
    );
    let gw = one_worker_gateway(&mock, d, json!({}));
    let tcp = client::connect(gw.port, Duration::from_secs(10)).unwrap();
    (&tcp)
        .write_all(
            &Req::post(d.path(), d.request(d.model(), true))
                .header("anthropic-version", "2023-06-01")
                .to_bytes(gw.port),
        )
        .unwrap();
    let got = mock.wait_requests(1, Duration::from_secs(5));
    gw_assert_eq!(gw, 1, got.len(), "the stream request reached the backend");
    std::thread::sleep(Duration::from_millis(200));
    let left = Instant::now();
    drop(tcp);

    let r = gw.send(
        Req::post(d.path(), d.request(d.model(), false))
            .header("anthropic-version", "2023-06-01")
            .timeout(Duration::from_secs(15)),
    );
    let took = left.elapsed();
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "the next request is served by the freed worker; response: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        took < Duration::from_secs(6),
        "the worker is free within ~2 s of the disconnect; the next request took {took:?}"
    );
}

#[test]
fn heartbeat_comments_are_written_while_the_backend_is_silent() {
    let d = Dialect::Anthropic;
    let frames = d.stream(d.model(), &["a", "b"]);
    let mut timed: Vec<(Duration, Vec<u8>)> =
        frames.iter().map(|f| (Duration::ZERO, f.clone())).collect();
    timed[1].0 = Duration::from_millis(2600); // silence after message_start
    let mock = Mock::with(d.path(), Reply::sse_timed(timed));
    let gw = one_worker_gateway(&mock, d, json!({}));
    let mut s = gw.open(
        Req::post(d.path(), d.request(d.model(), true)).header("anthropic-version", "2023-06-01"),
    );
    gw_assert_eq!(gw, 200, s.status, "status");
    let events = gw.events(&mut s);
    let heartbeats: Vec<_> = events.iter().filter(|e| e.is_comment_only()).collect();
    gw_assert!(gw, heartbeats.iter().any(|h| h.comments.iter().any(|c| c.contains("keep-alive"))),
        "at least one `: keep-alive` comment during 2.6 s of silence with heartbeatSecs=1; got {:?}",
        events.iter().map(|e| e.raw_text()).collect::<Vec<_>>());
    let data: Vec<Vec<u8>> = without_comments(&events)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&payloads::concat(&frames)),
        String::from_utf8_lossy(&payloads::concat(&data)),
        "heartbeats go between events, never inside one"
    );
}

/// A one-worker OpenAI-dialect gateway whose worker is held by a stream the backend never
/// finishes (A); the backend's next answer says `next_text`. Returns the mock, the gateway and
/// A's socket.
fn held_gateway(next_text: &str, extra_server: serde_json::Value) -> (Mock, Gateway, TcpStream) {
    let d = Dialect::OpenAi;
    let mock = Mock::start();
    mock.on_seq(
        d.path(),
        vec![
            Reply::headers_then_silence(),
            Reply::json(200, &d.response(d.model(), next_text)),
        ],
    );
    let gw = one_worker_gateway(&mock, d, extra_server);
    let a = client::connect(gw.port, Duration::from_secs(15)).unwrap();
    (&a).write_all(&Req::post(d.path(), d.request(d.model(), true)).to_bytes(gw.port))
        .unwrap();
    gw_assert_eq!(
        gw,
        1,
        mock.wait_requests(1, Duration::from_secs(5)).len(),
        "the occupying stream reached the backend"
    );
    (mock, gw, a)
}

/// A gateway with one worker and a queue of one, both taken: the worker by a stream the backend
/// never finishes (A), the queue by a plain request (B). Returns the mock, the gateway and B's socket.
fn saturated_gateway() -> (Mock, Gateway, TcpStream, TcpStream) {
    let d = Dialect::OpenAi;
    let (mock, gw, a) = held_gateway("queued one served", json!({"queueSize": 1}));
    mock.on(
        "/v1/messages",
        Reply::json(200, &payloads::anthropic_message("claude-x", "unexpected")),
    );
    mock.on(
        "/v1/responses",
        Reply::json(200, &payloads::responses_response("gpt-4.1", "unexpected")),
    );
    let b = client::connect(gw.port, Duration::from_secs(15)).unwrap();
    (&b).write_all(&Req::post(d.path(), d.request(d.model(), false)).to_bytes(gw.port))
        .unwrap();
    settle();
    (mock, gw, a, b)
}

/// Sends one request of dialect `d` to a saturated gateway: an immediate `want` with Retry-After.
fn expect_overloaded(gw: &Gateway, d: Dialect, want: u16) -> Response {
    let started = Instant::now();
    let r = gw.send(
        Req::post(d.path(), d.request(d.model(), false))
            .headers(&d.client_headers())
            .timeout(Duration::from_secs(5)),
    );
    gw_assert_eq!(
        gw,
        want,
        r.status,
        "{d:?} client, queue full; response: {}",
        r.describe()
    );
    gw_assert!(
        gw,
        started.elapsed() < Duration::from_secs(3),
        "{d:?}: the overload answer is immediate; took {:?}",
        started.elapsed()
    );
    gw_assert!(
        gw,
        r.header("retry-after").is_some_and(|v| !v.is_empty()),
        "{d:?}: Retry-After header; response: {}",
        r.describe()
    );
    d.expect_error(gw, &r, want);
    r
}

#[test]
fn queue_full_is_503_with_retry_after_and_the_queued_request_is_served_later() {
    let (mock, gw, a, b) = saturated_gateway();
    expect_overloaded(&gw, Dialect::OpenAi, 503);
    expect_overloaded(&gw, Dialect::Responses, 503);
    gw_assert_eq!(
        gw,
        1,
        mock.requests().len(),
        "rejected requests never reach the backend"
    );
    // Free the worker: the queued request B is then served.
    mock.release();
    drop(a);
    let rb = client::read_response(b);
    gw_assert!(
        gw,
        rb.as_ref().is_ok_and(|r| r.status == 200),
        "the queued request is served once the worker is free; got {rb:?}"
    );
}

#[test]
fn queue_full_is_529_overloaded_error_for_anthropic_clients() {
    let (mock, gw, _a, _b) = saturated_gateway();
    let r = expect_overloaded(&gw, Dialect::Anthropic, 529);
    gw_assert_eq!(
        gw,
        Some("overloaded_error"),
        r.json().pointer("/error/type").and_then(|v| v.as_str()),
        "Anthropic overload type"
    );
    mock.release();
}

#[test]
fn concurrent_streams_are_served_in_parallel() {
    let d = Dialect::OpenAi;
    let frames = d.stream(d.model(), &["a", "b", "c"]);
    let mock = Mock::with(
        d.path(),
        Reply::sse(frames.clone(), Duration::from_millis(100)),
    );
    let gw = Gateway::start(config(
        json!({"up": mock.url()}),
        "up",
        json!({"server": {"workers": 8}}),
    ));
    let started = Instant::now();
    let port = gw.port;
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let body = d.request(d.model(), true);
            std::thread::spawn(move || -> Result<Vec<u8>, String> {
                let mut s = Req::post(d.path(), body)
                    .open(port)
                    .map_err(|e| e.to_string())?;
                let events = s.all_events().map_err(|e| e.to_string())?;
                Ok(payloads::concat(
                    &without_comments(&events)
                        .into_iter()
                        .map(|e| e.raw)
                        .collect::<Vec<_>>(),
                ))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let took = started.elapsed();
    for (i, r) in results.iter().enumerate() {
        gw_assert!(
            gw,
            r.as_ref().is_ok_and(|b| *b == payloads::concat(&frames)),
            "stream {i} completes with every event; got {r:?}"
        );
    }
    // One stream takes ~0.7 s; eight in a row would take ~5.6 s.
    gw_assert!(
        gw,
        took < Duration::from_secs(4),
        "8 streams with 8 workers run side by side; took {took:?}"
    );
}

#[test]
fn http10_client_gets_a_close_delimited_stream() {
    let d = Dialect::OpenAi;
    let frames = d.stream(d.model(), &["a", "b", "c"]);
    let mock = Mock::with(
        d.path(),
        Reply::sse(frames.clone(), Duration::from_millis(5)),
    );
    let gw = gateway_for(&mock, d);
    let mut s = gw.open(Req::post(d.path(), d.request(d.model(), true)).http10());
    gw_assert_eq!(gw, 200, s.status, "status");
    gw_assert!(gw, s.framing == client::Framing::Close,
        "an HTTP/1.0 client gets a close-delimited body (no chunked encoding, no Content-Length); framing {:?}, headers {:?}", s.framing, s.headers);
    let events = gw.events(&mut s);
    let data: Vec<Vec<u8>> = without_comments(&events)
        .into_iter()
        .map(|e| e.raw)
        .collect();
    gw_assert_eq!(
        gw,
        String::from_utf8_lossy(&payloads::concat(&frames)),
        String::from_utf8_lossy(&payloads::concat(&data)),
        "every event arrives"
    );
}

#[test]
fn backend_closing_mid_stream_ends_the_client_stream() {
    let d = Dialect::OpenAi;
    let frames = d.stream(d.model(), &["a", "b", "c"]);
    let mock = Mock::with(
        d.path(),
        Reply::close_mid_stream(frames[..2].to_vec(), Duration::ZERO),
    );
    let gw = gateway_for(&mock, d);
    let mut s = gw.open(Req::post(d.path(), d.request(d.model(), true)));
    gw_assert_eq!(gw, 200, s.status, "status");
    let started = Instant::now();
    let mut got = Vec::new();
    let end = loop {
        match s.next_event() {
            Ok(Some(e)) => got.push(e),
            other => break other,
        }
        if got.len() > 100 || started.elapsed() > Duration::from_secs(10) {
            break Ok(None);
        }
    };
    gw_assert!(
        gw,
        started.elapsed() < Duration::from_secs(5),
        "the client's stream ends soon after the backend left; took {:?} ({end:?})",
        started.elapsed()
    );
    let data: Vec<Vec<u8>> = without_comments(&got).into_iter().map(|e| e.raw).collect();
    gw_assert!(
        gw,
        payloads::concat(&data).starts_with(&payloads::concat(&frames[..2])),
        "the events sent before the cut arrive; got {:?}",
        String::from_utf8_lossy(&payloads::concat(&data))
    );
    gw_assert_eq!(gw, 200, gw.get("/").status, "the gateway still serves");
}

#[test]
fn idle_timeout_ends_a_stream_whose_backend_went_silent() {
    let d = Dialect::Anthropic;
    let mock = Mock::with(
        d.path(),
        Reply::events_then_silence(d.stream(d.model(), &["a"])[..2].to_vec(), Duration::ZERO),
    );
    let gw = Gateway::start(config(
        json!({"up": {"url": mock.url(), "api": "anthropic", "idleTimeoutSecs": 1}}),
        "up",
        json!({"server": {"heartbeatSecs": 1}}),
    ));
    let mut s = gw.open(
        Req::post(d.path(), d.request(d.model(), true))
            .header("anthropic-version", "2023-06-01")
            .timeout(Duration::from_secs(15)),
    );
    gw_assert_eq!(gw, 200, s.status, "status");
    let started = Instant::now();
    let mut n = 0;
    while let Ok(Some(_)) = s.next_event() {
        n += 1;
        if n > 100 || started.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    gw_assert!(
        gw,
        started.elapsed() < Duration::from_secs(8),
        "with idleTimeoutSecs=1 the stream ends within a few seconds of silence; took {:?}",
        started.elapsed()
    );
    mock.release();
}

#[test]
fn raising_workers_through_the_config_endpoint_admits_more_at_once() {
    // One worker, no queue, taken by a stream the backend never finishes: the next request is
    // refused. After `POST /debug/config {"server":{"workers":2}}` the same request is served,
    // without a restart.
    let d = Dialect::OpenAi;
    let (_mock, gw, a) = held_gateway("second turn", json!({"queueSize": 0}));
    expect_overloaded(&gw, d, 503);
    let r = gw.post("/debug/config", r#"{"server":{"workers":2}}"#, &[]);
    gw_assert_eq!(gw, 200, r.status, "config update: {}", r.describe());
    let r =
        gw.send(Req::post(d.path(), d.request(d.model(), false)).timeout(Duration::from_secs(10)));
    gw_assert_eq!(
        gw,
        200,
        r.status,
        "a second turn exists at once; response: {}",
        r.describe()
    );
    gw_assert!(gw, r.text().contains("second turn"), "{}", r.describe());
    drop(a);
}
