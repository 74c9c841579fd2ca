//! Backends that misbehave (issue 7, "Hostile and broken input" and "Fallbacks and retries"):
//! a gigantic single SSE line, a line that never ends, garbage instead of HTTP or inside a
//! stream, streams that go silent or never end, connections closed mid-event or mid-JSON,
//! complete answers cut short or nested absurdly deep, a backend that never sends its headers
//! (first-byte timeout ⇒ 504, or the fallback), and 5xx/429/529 with `Retry-After` (⇒ the
//! fallback, and the backend skipped for as long as it asked).
//!
//! Every case is run through the one-worker rig of `common/rig.rs` and ends with its checks: the
//! client got a clear error in its own dialect or a well-formed stream ending (the chunked body
//! terminated, an error event where the answer is incomplete), the process is alive without a
//! panic in its log, resident memory stayed within a generous bound, and the only proxy worker
//! serves the next request at once.

mod common;
#[path = "common/procfs.rs"]
mod procfs;
#[path = "common/rig.rs"]
mod rig;

use std::time::{Duration, Instant};

use common::client::Event;
use common::*;
use rig::*;
use serde_json::{json, Value};

/// A stream request of client dialect `d`.
fn stream_req(d: Dialect) -> Req {
    Req::post(d.path(), d.request(d.model(), true))
        .headers(&d.client_headers())
        .timeout(Duration::from_secs(15))
}

/// A complete (non-stream) request of client dialect `d`.
fn complete_req(d: Dialect) -> Req {
    Req::post(d.path(), d.request(d.model(), false))
        .headers(&d.client_headers())
        .timeout(Duration::from_secs(15))
}

/// Opens a stream as client `c`, expects 200 and a body that ends properly within 20 s;
/// with `want_error`, an error event of the client's dialect among the events.
fn expect_stream_end(rig: &Rig, c: Dialect, want_error: bool, ctx: &str) -> Vec<Event> {
    let mut s = rig.gw.open(stream_req(c));
    gw_assert_eq!(rig.gw, 200, s.status, "{ctx}: the stream starts");
    let events = match read_stream(&mut s, Duration::from_secs(20)) {
        Ok(events) => events,
        Err((e, events)) => panic!(
            "{ctx}: the client's stream ends well-formed (chunked terminator), but: {e}; events:{}\n{}",
            show(&events),
            rig.gw.diag()
        ),
    };
    if want_error {
        gw_assert!(
            rig.gw,
            stream_error(c, &events).is_some(),
            "{ctx}: the stream ends with an error event of the {c:?} dialect; events:{}",
            show(&events)
        );
    }
    events
}

/// Runs `case` for every (backend, client) pair: passthrough on the diagonal, converted elsewhere.
/// `script` scripts the bad backend of dialect `b`.
fn every_pair(
    tweak: impl Fn(&mut Value),
    script: impl Fn(&Rig, Dialect),
    case: impl Fn(&Rig, Dialect, Dialect, &str),
    memory_mb: u64,
) {
    for b in ALL_DIALECTS {
        let mut rig = Rig::start(b, &tweak);
        script(&rig, b);
        for c in ALL_DIALECTS {
            let ctx = format!(
                "{c:?} client, {b:?} backend ({})",
                if b == c { "passthrough" } else { "converted" }
            );
            case(&rig, b, c, &ctx);
            rig.alive(&ctx);
        }
        rig.recovered(memory_mb, &format!("{b:?} backend"));
    }
}

// ---------------------------------------------------------------------------------------------
// Gigantic and endless lines
// ---------------------------------------------------------------------------------------------

#[test]
fn a_gigantic_single_sse_line_ends_the_stream_with_an_error_and_bounded_memory() {
    // 6 MiB in one `data:` line, over the 4 MiB cap of `sse::DEFAULT_MAX_LINE`.
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["before", "after"]);
            let mut giant = b"data: ".to_vec();
            giant.extend(std::iter::repeat_n(b'x', 6 * 1024 * 1024));
            giant.extend_from_slice(b"\n\n");
            let mut events = vec![frames[0].clone(), giant];
            events.extend(frames[1..].iter().cloned());
            rig.bad.on(b.path(), Reply::sse(events, Duration::ZERO));
        },
        |rig, _b, c, ctx| {
            let started = Instant::now();
            expect_stream_end(rig, c, true, ctx);
            gw_assert!(
                rig.gw,
                started.elapsed() < Duration::from_secs(15),
                "{ctx}: ended in {:?}",
                started.elapsed()
            );
            rig.memory_within(96, ctx);
        },
        96,
    );
}

#[test]
fn a_line_that_never_ends_is_cut_at_the_cap_and_the_upstream_closed() {
    let d = Dialect::Anthropic;
    let mut rig = Rig::start(d, |_| {});
    let frames = d.stream(d.model(), &["a"]);
    let mut events = vec![(Duration::ZERO, frames[0].clone())];
    events.push((
        Duration::ZERO,
        b"event: content_block_delta\ndata: ".to_vec(),
    ));
    for _ in 0..12 {
        events.push((Duration::from_millis(30), vec![b'y'; 1024 * 1024]));
    }
    rig.bad.on(
        d.path(),
        Reply::sse_timed(events).ending(StreamEnd::Silence),
    );
    for c in ALL_DIALECTS {
        let ctx = format!("{c:?} client, a backend line growing 1 MiB at a time");
        expect_stream_end(&rig, c, true, &ctx);
        rig.memory_within(96, &ctx);
    }
    let closed = rig.bad.wait_peer_closed(3, Duration::from_secs(10));
    gw_assert_eq!(
        rig.gw,
        3,
        closed.len(),
        "the gateway closes each upstream connection whose line went over the cap"
    );
    rig.recovered(96, "after endless lines");
}

// ---------------------------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------------------------

#[test]
fn garbage_instead_of_http_on_a_stream_request_is_502_in_the_client_dialect() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    rig.bad.on("/v1/chat/completions", Reply::garbage());
    for c in ALL_DIALECTS {
        let r = rig.gw.send(stream_req(c));
        c.expect_error(&rig.gw, &r, 502);
    }
    rig.recovered(16, "after garbage instead of HTTP");
}

#[test]
fn garbage_after_the_sse_head_ends_the_stream_with_an_error() {
    every_pair(
        |_| {},
        |rig, b| {
            let mut bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            let first = &b.stream(b.model(), &["a"])[0];
            bytes.extend_from_slice(format!("{:x}\r\n", first.len()).as_bytes());
            bytes.extend_from_slice(first);
            bytes.extend_from_slice(b"\r\nzz not a chunk size\r\n\x00\x01\x02\xff\xfe\r\n");
            rig.bad.on(b.path(), Reply::Raw(bytes));
        },
        |rig, _b, c, ctx| {
            expect_stream_end(rig, c, true, ctx);
        },
        16,
    );
}

#[test]
fn binary_junk_inside_well_framed_events_ends_converted_streams_with_an_error() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["a", "b"]);
            let mut events = vec![frames[0].clone()];
            events.push(b"event: \xff\xfe\x00junk\ndata: \x00\x01{\"\xff\":\xfe}\n\n".to_vec());
            events.push(b"data: {\"type\":\n\n".to_vec());
            events.extend(frames[1..].iter().cloned());
            rig.bad.on(b.path(), Reply::sse(events, Duration::ZERO));
        },
        |rig, b, c, ctx| {
            // Passthrough forwards what the backend sent; a converted stream must say it broke.
            let events = expect_stream_end(rig, c, b != c, ctx);
            for e in &events {
                if b != c {
                    gw_assert!(
                        rig.gw,
                        std::str::from_utf8(&e.raw).is_ok(),
                        "{ctx}: converted frames are valid UTF-8; got {:?}",
                        e.raw_text()
                    );
                }
            }
        },
        16,
    );
}

// ---------------------------------------------------------------------------------------------
// Streams cut short
// ---------------------------------------------------------------------------------------------

#[test]
fn a_backend_closing_mid_event_ends_the_stream_with_an_error() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["one", "two", "three"]);
            let half = frames[2][..frames[2].len() / 2].to_vec();
            rig.bad.on(
                b.path(),
                Reply::close_mid_stream(
                    vec![frames[0].clone(), frames[1].clone(), half],
                    Duration::ZERO,
                ),
            );
        },
        |rig, _b, c, ctx| {
            expect_stream_end(rig, c, true, ctx);
        },
        16,
    );
}

/// `frame` (an SSE frame whose data is JSON) cut in the middle of its JSON, then properly ended.
fn cut_json(frame: &[u8]) -> Vec<u8> {
    let data = frame
        .windows(5)
        .position(|w| w == b"data:")
        .expect("a data line");
    let end = frame.len() - 2; // before the closing "\n\n"
    let mut out = frame[..data + (end - data) / 2].to_vec();
    out.extend_from_slice(b"\n\n");
    out
}

#[test]
fn a_backend_closing_mid_json_ends_the_stream_with_an_error() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["one", "two", "three"]);
            rig.bad.on(
                b.path(),
                Reply::close_mid_stream(
                    vec![frames[0].clone(), frames[1].clone(), cut_json(&frames[2])],
                    Duration::ZERO,
                ),
            );
        },
        |rig, _b, c, ctx| {
            expect_stream_end(rig, c, true, ctx);
        },
        16,
    );
}

#[test]
fn an_event_with_cut_json_in_a_stream_that_ends_cleanly_is_an_error_when_converted() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["one", "two", "three"]);
            let mut events = frames.clone();
            events[2] = cut_json(&frames[2]);
            rig.bad.on(b.path(), Reply::sse(events, Duration::ZERO));
        },
        |rig, b, c, ctx| {
            // Passthrough forwards the backend's bytes; a converted stream cannot go on.
            expect_stream_end(rig, c, b != c, ctx);
        },
        16,
    );
}

#[test]
fn a_complete_answer_cut_short_is_502_in_the_client_dialect() {
    every_pair(
        |_| {},
        |rig, b| {
            let body = serde_json::to_vec(&b.response(b.model(), "a complete answer")).unwrap();
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len() + 1000
            )
            .into_bytes();
            bytes.extend_from_slice(&body[..body.len() / 2]);
            rig.bad.on(b.path(), Reply::Raw(bytes));
        },
        |rig, _b, c, ctx| {
            let r = rig.gw.send(complete_req(c));
            gw_assert_eq!(rig.gw, 502, r.status, "{ctx}: {}", r.describe());
            c.expect_error(&rig.gw, &r, 502);
        },
        16,
    );
}

#[test]
fn an_absurdly_nested_complete_answer_is_502_when_converted() {
    every_pair(
        |_| {},
        |rig, b| {
            let body = serde_json::to_string(&b.response(b.model(), "nested")).unwrap();
            let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
            let body = format!("{}, \"x_deep\": {deep}}}", &body[..body.len() - 1]);
            rig.bad.on(b.path(), Reply::json_bytes(200, body));
        },
        |rig, b, c, ctx| {
            let r = rig.gw.send(complete_req(c));
            if b == c {
                gw_assert_eq!(
                    rig.gw,
                    200,
                    r.status,
                    "{ctx}: passed through: {}",
                    r.describe()
                );
            } else {
                gw_assert_eq!(rig.gw, 502, r.status, "{ctx}: {}", r.describe());
                c.expect_error(&rig.gw, &r, 502);
            }
        },
        32,
    );
}

#[test]
fn an_absurdly_nested_stream_event_ends_a_converted_stream_with_an_error() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames = b.stream(b.model(), &["one", "two"]);
            let deep = format!("{}{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
            let mut events = vec![frames[0].clone()];
            events.push(format!("data: {deep}\n\n").into_bytes());
            events.extend(frames[1..].iter().cloned());
            rig.bad.on(b.path(), Reply::sse(events, Duration::ZERO));
        },
        |rig, b, c, ctx| {
            expect_stream_end(rig, c, b != c, ctx);
        },
        32,
    );
}

#[test]
fn invalid_utf8_in_a_complete_answer_is_502_when_converted() {
    every_pair(
        |_| {},
        |rig, b| {
            let body = serde_json::to_vec(&b.response(b.model(), "MARK")).unwrap();
            let at = body.windows(4).position(|w| w == b"MARK").unwrap();
            let mut bad = body[..at].to_vec();
            bad.extend_from_slice(b"\xff\xfe\xc0\xaf");
            bad.extend_from_slice(&body[at..]);
            rig.bad.on(b.path(), Reply::json_bytes(200, bad));
        },
        |rig, b, c, ctx| {
            let r = rig.gw.send(complete_req(c));
            if b == c {
                gw_assert_eq!(
                    rig.gw,
                    200,
                    r.status,
                    "{ctx}: passed through: {}",
                    r.describe()
                );
            } else {
                gw_assert_eq!(rig.gw, 502, r.status, "{ctx}: {}", r.describe());
                c.expect_error(&rig.gw, &r, 502);
            }
        },
        16,
    );
}

// ---------------------------------------------------------------------------------------------
// Silent and endless streams
// ---------------------------------------------------------------------------------------------

#[test]
fn a_stream_that_goes_silent_ends_in_an_error_at_the_idle_timeout() {
    every_pair(
        |c| c["backends"]["bad"]["idleTimeoutSecs"] = json!(1),
        |rig, b| {
            let frames = b.stream(b.model(), &["a", "b"]);
            rig.bad.on(
                b.path(),
                Reply::events_then_silence(frames[..2].to_vec(), Duration::ZERO),
            );
        },
        |rig, _b, c, ctx| {
            let before = rig.bad.wait_peer_closed(0, Duration::ZERO).len();
            let started = Instant::now();
            expect_stream_end(rig, c, true, ctx);
            gw_assert!(
                rig.gw,
                started.elapsed() < Duration::from_secs(6),
                "{ctx}: idleTimeoutSecs=1 ends the stream within a few seconds; took {:?}",
                started.elapsed()
            );
            let closed = rig.bad.wait_peer_closed(before + 1, Duration::from_secs(5));
            gw_assert!(
                rig.gw,
                closed.len() > before,
                "{ctx}: the silent upstream connection is closed"
            );
        },
        16,
    );
}

#[test]
fn a_stream_that_keeps_sending_is_never_cut_by_the_idle_timeout() {
    let d = Dialect::OpenAi;
    let mut rig = Rig::start(d, |c| c["backends"]["bad"]["idleTimeoutSecs"] = json!(1));
    let pieces: Vec<String> = (0..40).map(|i| format!("p{i} ")).collect();
    let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
    // 40 events 150 ms apart: 6 s in all, six times the idle timeout.
    rig.bad.on(
        d.path(),
        Reply::sse(d.stream(d.model(), &pieces), Duration::from_millis(150)),
    );
    for c in [Dialect::OpenAi, Dialect::Anthropic] {
        let ctx = format!("{c:?} client of a backend streaming for 6 s with idleTimeoutSecs=1");
        let events = expect_stream_end(&rig, c, false, &ctx);
        gw_assert!(
            rig.gw,
            stream_error(c, &events).is_none(),
            "{ctx}: no error; events:{}",
            show(&events)
        );
        let text: String = events
            .iter()
            .filter_map(|e| e.json())
            .map(|v| {
                v.pointer("/choices/0/delta/content")
                    .or_else(|| v.pointer("/delta/text"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        gw_assert!(
            rig.gw,
            text.contains("p0 ") && text.contains("p39 "),
            "{ctx}: every piece arrives; got {text:?}"
        );
    }
    rig.recovered(16, "after long live streams");
}

#[test]
fn a_never_ending_stream_is_relayed_until_the_client_leaves() {
    for d in ALL_DIALECTS {
        let mut rig = Rig::start(d, |c| c["backends"]["bad"]["idleTimeoutSecs"] = json!(1));
        let pieces: Vec<String> = (0..2000).map(|i| format!("p{i} ")).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        rig.bad.on(
            d.path(),
            Reply::sse(d.stream(d.model(), &pieces), Duration::from_millis(50)),
        );
        let mut s = rig.gw.open(stream_req(d));
        gw_assert_eq!(rig.gw, 200, s.status, "{d:?}: the stream starts");
        let started = Instant::now();
        let mut n = 0;
        while started.elapsed() < Duration::from_secs(3) {
            match s.next_event() {
                Ok(Some(_)) => n += 1,
                other => panic!(
                    "{d:?}: the endless stream goes on; got {other:?} after {n} events\n{}",
                    rig.gw.diag()
                ),
            }
        }
        gw_assert!(rig.gw, n >= 20, "{d:?}: events flow for 3 s ({n} of them)");
        s.disconnect();
        let closed = rig.bad.wait_peer_closed(1, Duration::from_secs(5));
        gw_assert!(
            rig.gw,
            !closed.is_empty(),
            "{d:?}: the upstream of an endless stream is closed once the client left"
        );
        rig.recovered(16, &format!("{d:?}: after an endless stream"));
    }
}

// ---------------------------------------------------------------------------------------------
// No answer at all, and answers that say "not now": timeouts and fallbacks
// ---------------------------------------------------------------------------------------------

#[test]
fn a_backend_that_never_sends_its_headers_is_504_in_the_client_dialect() {
    let mut rig = Rig::start(Dialect::Anthropic, |c| {
        c["backends"]["bad"]["timeoutSecs"] = json!(1)
    });
    rig.bad.on("/v1/messages", Reply::Hang);
    for c in ALL_DIALECTS {
        for stream in [false, true] {
            let req = if stream {
                stream_req(c)
            } else {
                complete_req(c)
            };
            let started = Instant::now();
            let r = rig.gw.send(req);
            c.expect_error(&rig.gw, &r, 504);
            gw_assert!(
                rig.gw,
                started.elapsed() < Duration::from_secs(6),
                "{c:?} (stream: {stream}): timeoutSecs=1 answers within a few seconds; took {:?}",
                started.elapsed()
            );
        }
    }
    rig.bad.release();
    rig.recovered(16, "after first-byte timeouts");
}

#[test]
fn a_backend_that_never_sends_its_headers_falls_back() {
    let mut rig = Rig::start(Dialect::Anthropic, |c| {
        c["backends"]["bad"]["timeoutSecs"] = json!(1);
        c["backends"]["bad"]["fallback"] = json!(["good"]);
    });
    rig.bad.on("/v1/messages", Reply::Hang);
    for c in ALL_DIALECTS {
        let r = rig.gw.send(complete_req(c));
        gw_assert!(
            rig.gw,
            r.status == 200 && r.text().contains(GOOD_TEXT),
            "{c:?}: the fallback answers after bad's first-byte timeout; got {}",
            r.describe()
        );
        gw_assert_eq!(
            rig.gw,
            Some("bad"),
            r.header("X-Fallback-From"),
            "{c:?}: X-Fallback-From names the backend that timed out"
        );
    }
    rig.bad.release();
    rig.recovered(16, "after fallbacks from a silent backend");
}

/// The status a backend of dialect `d` gives for `status`, as its real API shapes it.
fn backend_error_body(d: Dialect, status: u16) -> Value {
    let (ty, msg) = match status {
        429 => ("rate_limit_error", "rate limited"),
        529 => ("overloaded_error", "Overloaded"),
        _ => ("api_error", "internal error"),
    };
    match d {
        Dialect::Anthropic => json!({"type": "error", "error": {"type": ty, "message": msg}}),
        _ => json!({"error": {"message": msg, "type": ty, "param": null, "code": null}}),
    }
}

#[test]
fn retryable_statuses_with_retry_after_fall_back_and_the_backend_is_held_off() {
    for status in [500, 502, 503, 429, 529] {
        let b = Dialect::Anthropic;
        let mut rig = Rig::start(b, |c| c["backends"]["bad"]["fallback"] = json!(["good"]));
        rig.bad.on(
            b.path(),
            Reply::json(status, &backend_error_body(b, status)).header("Retry-After", "30"),
        );
        for (i, c) in ALL_DIALECTS.into_iter().enumerate() {
            let r = rig.gw.send(complete_req(c));
            gw_assert!(
                rig.gw,
                r.status == 200 && r.text().contains(GOOD_TEXT),
                "{status} with Retry-After, {c:?} client: the fallback answers; got {}",
                r.describe()
            );
            if i == 0 {
                gw_assert_eq!(
                    rig.gw,
                    Some("bad"),
                    r.header("X-Fallback-From"),
                    "{status}: X-Fallback-From"
                );
            }
        }
        gw_assert_eq!(
            rig.gw,
            1,
            rig.bad.requests().len(),
            "{status} with Retry-After: 30: bad is asked once, then skipped while it asked to wait"
        );
        let health = rig.gw.get("/debug/health").json();
        gw_assert_eq!(
            rig.gw,
            json!("open"),
            health
                .pointer("/backends/bad/circuit/state")
                .cloned()
                .unwrap_or(Value::Null),
            "{status}: /debug/health shows bad's circuit open; health: {health}"
        );
        rig.recovered(16, &format!("after {status} with Retry-After"));
    }
}

#[test]
fn retryable_statuses_without_retry_after_fall_back_on_a_stream() {
    for status in [500, 503, 429, 529] {
        let d = Dialect::OpenAi;
        let alt = Mock::with(
            d.path(),
            Reply::sse(d.stream(d.model(), &["from alt"]), Duration::ZERO),
        );
        let mut rig = Rig::start(d, |c| {
            c["backends"]["alt"] = json!({"url": alt.url(), "api": "openai"});
            c["backends"]["bad"]["fallback"] = json!(["alt"]);
        });
        rig.bad.on(
            d.path(),
            Reply::json(status, &backend_error_body(d, status)),
        );
        for c in ALL_DIALECTS {
            let mut s = rig.gw.open(stream_req(c));
            gw_assert_eq!(
                rig.gw,
                200,
                s.status,
                "{status}, {c:?} stream: the fallback streams"
            );
            gw_assert_eq!(
                rig.gw,
                Some("bad"),
                s.header("X-Fallback-From").map(str::to_owned).as_deref(),
                "{status}, {c:?}: X-Fallback-From"
            );
            let events = match read_stream(&mut s, Duration::from_secs(10)) {
                Ok(e) => e,
                Err((e, got)) => panic!(
                    "{status}, {c:?}: the fallback stream ends well: {e}{}\n{}",
                    show(&got),
                    rig.gw.diag()
                ),
            };
            let text: String = events.iter().map(|e| e.data.clone()).collect();
            gw_assert!(
                rig.gw,
                text.contains("from alt"),
                "{status}, {c:?}: the fallback's text arrives; events:{}",
                show(&events)
            );
        }
        rig.recovered(16, &format!("after {status} on streams"));
    }
}

#[test]
fn the_last_backend_s_429_reaches_the_client_with_its_retry_after() {
    for b in [Dialect::OpenAi, Dialect::Anthropic] {
        let mut rig = Rig::start(b, |_| {});
        rig.bad.on(
            b.path(),
            Reply::json(429, &backend_error_body(b, 429)).header("Retry-After", "7"),
        );
        for c in ALL_DIALECTS {
            let r = rig.gw.send(complete_req(c));
            let msg = c.expect_error(&rig.gw, &r, 429);
            gw_assert_eq!(
                rig.gw,
                Some("7"),
                r.header("Retry-After"),
                "{c:?} client, {b:?} backend: Retry-After passes back ({msg})"
            );
        }
        rig.recovered(16, &format!("{b:?}: after 429s"));
    }
}

// ---------------------------------------------------------------------------------------------
// Absurd numbers
// ---------------------------------------------------------------------------------------------

/// `v` with every token count under a `usage` object set to `u64::MAX`.
fn max_usage(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "usage" {
                    if let Value::Object(u) = x {
                        for (_, n) in u.iter_mut() {
                            if n.is_number() {
                                *n = json!(u64::MAX);
                            }
                        }
                    }
                } else {
                    max_usage(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(max_usage),
        _ => {}
    }
}

#[test]
fn token_counts_of_u64_max_from_a_backend_are_no_reason_to_fail() {
    // A backend (or a proxy in front of one) reporting absurd usage must not break the answer,
    // the books, `/debug/stats` or the metrics. Two requests each, so totals would overflow.
    every_pair(
        |_| {},
        |rig, b| {
            let mut body = b.response(b.model(), "counted");
            max_usage(&mut body);
            rig.bad.on(b.path(), Reply::json(200, &body));
        },
        |rig, _b, c, ctx| {
            for _ in 0..2 {
                let r = rig.gw.send(complete_req(c));
                gw_assert!(
                    rig.gw,
                    r.status == 200 && r.text().contains("counted"),
                    "{ctx}: an answer reporting u64::MAX tokens is still answered; got {}",
                    r.describe()
                );
            }
            let stats = rig.gw.get("/debug/stats");
            gw_assert_eq!(
                rig.gw,
                200,
                stats.status,
                "{ctx}: /debug/stats: {}",
                stats.describe()
            );
            let metrics = rig.gw.metrics_response();
            gw_assert_eq!(rig.gw, 200, metrics.status, "{ctx}: /metrics");
        },
        16,
    );
}

#[test]
fn token_counts_of_u64_max_in_a_stream_are_no_reason_to_fail() {
    every_pair(
        |_| {},
        |rig, b| {
            let frames: Vec<Vec<u8>> = b
                .stream(b.model(), &["counted"])
                .into_iter()
                .map(|f| {
                    let text = String::from_utf8(f).unwrap();
                    let Some(at) = text.find("data: {") else {
                        return text.into_bytes();
                    };
                    let json_end = text.rfind('}').unwrap() + 1;
                    let mut v: Value = serde_json::from_str(&text[at + 6..json_end]).unwrap();
                    max_usage(&mut v);
                    format!("{}data: {v}\n\n", &text[..at]).into_bytes()
                })
                .collect();
            rig.bad.on(b.path(), Reply::sse(frames, Duration::ZERO));
        },
        |rig, _b, c, ctx| {
            for _ in 0..2 {
                let events = expect_stream_end(rig, c, false, ctx);
                gw_assert!(
                    rig.gw,
                    stream_error(c, &events).is_none()
                        && events.iter().any(|e| e.data.contains("counted")),
                    "{ctx}: a stream reporting u64::MAX tokens is relayed whole; events:{}",
                    show(&events)
                );
            }
            let stats = rig.gw.get("/debug/stats");
            gw_assert_eq!(
                rig.gw,
                200,
                stats.status,
                "{ctx}: /debug/stats: {}",
                stats.describe()
            );
        },
        16,
    );
}
