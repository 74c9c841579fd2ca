//! Hostile and broken clients (issue 7, "Hostile and broken input"), over raw sockets on
//! 127.0.0.1: slow-loris heads and bodies, huge heads, truncated and malformed chunked bodies,
//! invalid UTF-8 and deeply nested JSON, bytes that are not HTTP, absurd `Content-Length`s, and
//! clients that leave at every stage of a request. Each case ends with the checks of
//! `common/rig.rs`: a clear error in the client's dialect (or a closed connection where HTTP
//! allows nothing better), the gateway alive with no panic in its log, memory within a generous
//! bound, and its ONLY proxy worker free for the next request.
//!
//! # What tiny_http cannot bound, and what bounds it instead
//!
//! tiny_http 0.12 as released reads a request head in the connection's own thread, byte by byte,
//! with no limit on the length of a line or the number of header lines (`client.rs`,
//! `ClientConnection::read_next_line` pushes into a `Vec` until it sees CRLF; `read` collects
//! headers until the blank line); it drains an unread body on drop with one allocation of the
//! whole announced `Content-Length` (`util/equal_reader.rs`); and it spawns one thread per open
//! connection, without a cap. The gateway vendors it with fixes (`src/vendor/tiny_http`, see its
//! `README.vendor.md`): a head is at most 64 KiB and 128 lines (else 400 and close), and a drain
//! goes through a fixed buffer, at most 1 MiB. Beyond that:
//!
//! - every accepted socket inherits a 120 s receive and send timeout from the listener
//!   (`server::tune_listener`): a client that stops sending, in the head or in the body, is
//!   dropped after 120 s of silence (tiny_http answers 408 on a head that timed out);
//! - a request reaches a proxy worker only once its head is complete, so slow heads cost
//!   connection threads, never proxy workers (tested below with one worker);
//! - bodies are capped (`server.maxBodyBytes`, 413).
//!
//! What stays unbounded: the number of connections (a thread each, up to the file-descriptor
//! limit), and time — a body sent slowly but steadily holds its proxy worker for as long as the
//! client keeps sending, because the 120 s timeout is per read, not per request; so does the
//! drain of up to 1 MiB after a 413. The tests below measure the thread cost and show the worker
//! stays free where it should; the 120 s bound itself is checked by an `#[ignore]`d test (two
//! to four minutes: `cargo test --test reliability_client -- --ignored`).

mod common;
#[path = "common/procfs.rs"]
mod procfs;
#[path = "common/rig.rs"]
mod rig;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::client::{self, read_response};
use common::*;
use rig::*;
use serde_json::{json, Value};

/// A request head; `Host` first, then `headers`, then the blank line.
fn head(method: &str, path: &str, headers: &[(&str, String)]) -> Vec<u8> {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// A complete POST with a Content-Length body and `Connection: close`.
fn post(path: &str, body: &[u8], extra: &[(&str, String)]) -> Vec<u8> {
    let mut headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("Content-Length", body.len().to_string()),
        ("Connection", "close".to_string()),
    ];
    headers.extend(extra.iter().cloned());
    let mut out = head("POST", path, &headers);
    out.extend_from_slice(body);
    out
}

/// Headers a client of `d` sends, as owned pairs.
fn dialect_headers(d: Dialect) -> Vec<(&'static str, String)> {
    d.client_headers()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect()
}

/// A valid request of dialect `d` padded with an unknown field to about `size` bytes.
fn padded(d: Dialect, size: usize) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&d.request(d.model(), false)).unwrap();
    let base = serde_json::to_vec(&v).unwrap().len();
    v["x_padding"] = json!("p".repeat(size.saturating_sub(base + 16)));
    serde_json::to_vec(&v).unwrap()
}

fn write(tcp: &TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    let mut w = tcp;
    w.write_all(bytes)?;
    w.flush()
}

// ---------------------------------------------------------------------------------------------
// Slow-loris
// ---------------------------------------------------------------------------------------------

#[test]
fn slowloris_heads_do_not_take_the_only_proxy_worker() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let port = rig.gw.port;
    // Twenty clients start a proxy request and then trickle header bytes.
    let slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let tcp = raw(port, Duration::from_secs(10));
            write(
                &tcp,
                b"POST /good/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
            )
            .unwrap();
            tcp
        })
        .collect();
    for round in 0..20 {
        for tcp in &slow {
            let _ = write(tcp, b"z");
        }
        thread::sleep(Duration::from_millis(100));
        if round % 5 == 4 {
            rig.expect_good(&format!(
                "round {round}: while 20 clients trickle their request heads"
            ));
        }
    }
    // A slow head that finally completes is an ordinary request.
    let body = Dialect::OpenAi.request("m", false);
    let rest = format!(
        "\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    write(&slow[0], rest.as_bytes()).unwrap();
    write(&slow[0], &body).unwrap();
    let r = read_response(slow[0].try_clone().unwrap());
    gw_assert!(
        rig.gw,
        r.as_ref()
            .is_ok_and(|r| r.status == 200 && r.text().contains(GOOD_TEXT)),
        "a slow head, once complete, is served; got {:?}",
        r.map(|r| r.describe())
    );
    drop(slow);
    rig.recovered(32, "after 20 slow-loris heads");
}

#[test]
fn many_slow_connections_cost_a_thread_each_and_give_it_back() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let pid = rig.pid();
    let threads_before = procfs::threads(pid);
    let slow: Vec<TcpStream> = (0..200)
        .map(|i| {
            let tcp = raw(rig.gw.port, Duration::from_secs(10));
            write(
                &tcp,
                format!("GET /debug/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-N: {i}").as_bytes(),
            )
            .unwrap();
            tcp
        })
        .collect();
    // Let tiny_http accept them all.
    let deadline = Instant::now() + Duration::from_secs(10);
    while procfs::threads(pid) < threads_before + 150 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    let threads_held = procfs::threads(pid);
    eprintln!(
        "200 half-open connections: threads {threads_before} -> {threads_held}, RSS {} -> {}",
        procfs::mb(rig.rss_start_kb),
        procfs::mb(rig.rss_kb())
    );
    rig.expect_good("while 200 connections hold half a head each");
    rig.memory_within(64, "while 200 connections hold half a head each");
    drop(slow);
    // tiny_http's idle connection threads end 5 s after their connection.
    let after = procfs::wait_threads_at_most(pid, threads_before + 2, Duration::from_secs(20));
    gw_assert!(
        rig.gw,
        after <= threads_before + 2,
        "connection threads are given back once the connections close: {threads_before} before, \
         {threads_held} while held, {after} 20 s after they closed"
    );
    rig.recovered(64, "after 200 half-open connections closed");
}

#[test]
fn slowloris_body_holds_one_worker_and_the_other_keeps_serving() {
    let mut rig = Rig::start(Dialect::OpenAi, |c| c["server"]["workers"] = json!(2));
    // Over 1 KiB, so tiny_http leaves the body to the proxy worker to read.
    let body = padded(Dialect::OpenAi, 4000);
    let full = post("/good/v1/chat/completions", &body, &[]);
    let split = full.len() - body.len() + 100;
    let tcp = raw(rig.gw.port, Duration::from_secs(15));
    write(&tcp, &full[..split]).unwrap();
    let mut sent = split;
    let mut round = 0;
    while sent < full.len() {
        let next = (sent + 200).min(full.len());
        write(&tcp, &full[sent..next]).unwrap();
        sent = next;
        thread::sleep(Duration::from_millis(100));
        round += 1;
        if round % 6 == 0 {
            rig.expect_good(&format!(
                "{sent}/{} bytes of a slow body sent; the other worker serves",
                full.len()
            ));
        }
    }
    let r = read_response(tcp);
    gw_assert!(
        rig.gw,
        r.as_ref()
            .is_ok_and(|r| r.status == 200 && r.text().contains(GOOD_TEXT)),
        "the slow body, once complete, is served; got {:?}",
        r.map(|r| r.describe())
    );
    rig.recovered(32, "after a slow-loris body");
}

#[test]
fn body_over_the_cap_announced_and_then_withheld_does_not_hold_the_worker_after_the_413() {
    // The 413 goes out at once (the announced length is over the cap). The client then sends
    // nothing more and keeps the connection open: the worker must not stay behind to drain a
    // body that will never come.
    let mut rig = Rig::start(Dialect::OpenAi, |c| {
        c["server"]["maxBodyBytes"] = json!(65536)
    });
    let d = Dialect::OpenAi;
    let announced = 50 * 1024 * 1024;
    let mut bytes = head(
        "POST",
        d.path(),
        &[
            ("Content-Type", "application/json".into()),
            ("Content-Length", announced.to_string()),
        ],
    );
    bytes.extend_from_slice(&d.request(d.model(), false));
    let tcp = raw(rig.gw.port, Duration::from_secs(10));
    write(&tcp, &bytes).unwrap();
    let mut reader = tcp.try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    match outcome(&mut reader) {
        Outcome::Answered(413, _) => {}
        other => panic!(
            "a body announced over the cap is answered 413 at once; got {other:?}\n{}",
            rig.gw.diag()
        ),
    }
    rig.expect_good("a client announced 50 MB over a 64 KiB cap, got its 413 and went quiet");
    drop(tcp);
    rig.recovered(32, "after a withheld over-cap body");
}

#[test]
#[ignore = "takes two to four minutes: shows the 120 s socket read timeout frees a worker held by a stalled body"]
fn stalled_body_frees_the_worker_after_the_socket_read_timeout() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let body = padded(Dialect::OpenAi, 4000);
    let full = post("/good/v1/chat/completions", &body, &[]);
    let tcp = raw(rig.gw.port, Duration::from_secs(300));
    write(&tcp, &full[..full.len() - 1000]).unwrap();
    let stalled = Instant::now();
    thread::sleep(Duration::from_secs(1));
    // Waits past two read timeouts, so the message tells how long the worker was really held.
    let r = Rig::good_request()
        .timeout(Duration::from_secs(280))
        .send(rig.gw.port);
    let took = stalled.elapsed();
    gw_assert!(
        rig.gw,
        r.as_ref().is_ok_and(|r| r.status == 200),
        "the queued request is served once the stalled body times out; got {:?} after {took:?}",
        r.map(|r| r.describe())
    );
    gw_assert!(
        rig.gw,
        took >= Duration::from_secs(100) && took < Duration::from_secs(140),
        "the worker is held for about the 120 s read timeout, not longer; it was held {took:?}"
    );
    drop(tcp);
    rig.recovered(32, "after a stalled body timed out");
}

// ---------------------------------------------------------------------------------------------
// Huge heads
// ---------------------------------------------------------------------------------------------

/// Sends `bytes` (a head too large to be accepted) and expects a 400 or a closed connection —
/// the client may still be writing when the gateway answers and closes, so a reset counts as a
/// close.
fn expect_refused_head(rig: &Rig, bytes: &[u8], what: &str) {
    let mut tcp = raw(rig.gw.port, Duration::from_secs(5));
    let _ = write(&tcp, bytes);
    let _ = tcp.shutdown(Shutdown::Write);
    match outcome(&mut tcp) {
        Outcome::Answered(400, _) | Outcome::Closed(_) => {}
        other => panic!(
            "{what}: a head over the limits is answered 400 (or the connection closed); got {other:?}\n{}",
            rig.gw.diag()
        ),
    }
}

#[test]
fn a_huge_header_line_is_refused_and_costs_no_memory() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let body = Dialect::OpenAi.request("m", false);
    let junk = "j".repeat(8 * 1024 * 1024);
    let request = post("/good/v1/chat/completions", &body, &[("X-Junk", junk)]);
    for round in 1..=5 {
        expect_refused_head(
            &rig,
            &request,
            &format!("round {round}: an 8 MiB header line"),
        );
    }
    // The request line alone, too.
    let mut long_path = b"GET /v1/".to_vec();
    long_path.extend(std::iter::repeat_n(b'a', 4 * 1024 * 1024));
    long_path.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_refused_head(&rig, &long_path, "a 4 MiB request line");
    eprintln!(
        "8 MiB header lines x5: RSS {} at start, {} after",
        procfs::mb(rig.rss_start_kb),
        procfs::mb(rig.rss_kb())
    );
    rig.recovered(16, "after 8 MiB header lines");
}

#[test]
fn fifty_thousand_header_lines_are_refused() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let body = Dialect::OpenAi.request("m", false);
    let extra: Vec<(&str, String)> = (0..50_000).map(|i| ("X-Many", format!("v{i}"))).collect();
    expect_refused_head(
        &rig,
        &post("/good/v1/chat/completions", &body, &extra),
        "50 000 header lines",
    );
    rig.recovered(16, "after 50 000 header lines");
}

#[test]
fn large_but_reasonable_heads_are_still_served() {
    // A big bearer token or cookie and a hundred headers are what real clients send.
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let body = Dialect::OpenAi.request("m", false);
    let mut extra: Vec<(&str, String)> =
        (0..100).map(|i| ("X-Trace", format!("span-{i}"))).collect();
    extra.push(("X-Big-Token", "t".repeat(32 * 1024)));
    let r = client::send_raw(
        rig.gw.port,
        &post("/good/v1/chat/completions", &body, &extra),
    );
    gw_assert!(
        rig.gw,
        r.as_ref()
            .is_ok_and(|r| r.status == 200 && r.text().contains(GOOD_TEXT)),
        "a 40 KB head with 100 headers is served; got {:?}",
        r.map(|r| r.describe())
    );
    rig.recovered(16, "after a large head");
}

#[test]
fn a_header_that_is_not_ascii_is_refused() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let mut bytes = b"POST /good/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: caf\xc3\xa9 \xff\r\n".to_vec();
    let body = Dialect::OpenAi.request("m", false);
    bytes.extend_from_slice(
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&body);
    // tiny_http rejects a non-ASCII head line by closing the connection without an answer.
    match send_and_half_close(rig.gw.port, &bytes, Duration::from_secs(5)) {
        Outcome::Answered(s, _) if s >= 400 => {}
        Outcome::Closed(_) => {}
        other => panic!(
            "a non-ASCII header gets a 4xx or a closed connection; got {other:?}\n{}",
            rig.gw.diag()
        ),
    }
    rig.recovered(16, "after a non-ASCII header");
}

// ---------------------------------------------------------------------------------------------
// Broken bodies
// ---------------------------------------------------------------------------------------------

/// Sends `bytes`, half-closes, and expects a 400 error in dialect `d`.
fn expect_400(rig: &Rig, d: Dialect, bytes: &[u8], what: &str) {
    let tcp = raw(rig.gw.port, Duration::from_secs(8));
    let _ = write(&tcp, bytes);
    let _ = tcp.shutdown(Shutdown::Write);
    match read_response(tcp) {
        Ok(r) => {
            d.expect_error(&rig.gw, &r, 400);
        }
        Err(e) => panic!(
            "{what} ({d:?}): expected a 400 in the client's dialect, the connection gave {e}\n{}",
            rig.gw.diag()
        ),
    }
}

#[test]
fn truncated_and_malformed_chunked_bodies_are_400_in_the_client_dialect() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    for d in ALL_DIALECTS {
        let mut headers = dialect_headers(d);
        headers.push(("Content-Type", "application/json".into()));
        headers.push(("Transfer-Encoding", "chunked".into()));
        let h = head("POST", d.path(), &headers);
        let body = d.request(d.model(), false);
        let chunk = |b: &[u8]| {
            let mut c = format!("{:x}\r\n", b.len()).into_bytes();
            c.extend_from_slice(b);
            c.extend_from_slice(b"\r\n");
            c
        };
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("the body ends inside a chunk", {
                let mut b = h.clone();
                b.extend(chunk(&body[..40]));
                b.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                b.extend_from_slice(&body[40..60]);
                b
            }),
            ("the body ends before its last chunk", {
                let mut b = h.clone();
                b.extend(chunk(&body[..40]));
                b
            }),
            ("a chunk size that is not hex", {
                let mut b = h.clone();
                b.extend(chunk(&body[..40]));
                b.extend_from_slice(b"zz\r\nwhatever\r\n0\r\n\r\n");
                b
            }),
            ("a chunk size that overflows", {
                let mut b = h.clone();
                b.extend_from_slice(b"fffffffffffffffffffffff\r\n");
                b.extend_from_slice(&body);
                b
            }),
            ("a chunk without its CRLF", {
                let mut b = h.clone();
                b.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                b.extend_from_slice(&body);
                b.extend_from_slice(b"XX0\r\n\r\n");
                b
            }),
        ];
        for (what, bytes) in cases {
            expect_400(&rig, d, &bytes, what);
        }
    }
    gw_assert_eq!(
        rig.gw,
        0,
        rig.bad.requests().len(),
        "nothing broken reached the backend"
    );
    rig.recovered(16, "after truncated chunked bodies");
}

/// A dialect other than `d`, so that a client of `d` is converted.
fn other(d: Dialect) -> Dialect {
    match d {
        Dialect::OpenAi => Dialect::Anthropic,
        Dialect::Anthropic => Dialect::Responses,
        Dialect::Responses => Dialect::OpenAi,
    }
}

/// For each client dialect, a rig whose `bad` backend speaks `backend_for(client)` and answers
/// every chat path; `check` sends the hostile requests.
fn for_each_client(backend_for: fn(Dialect) -> Dialect, check: impl Fn(&Rig, Dialect, &str)) {
    for d in ALL_DIALECTS {
        let b = backend_for(d);
        let mut rig = Rig::start(b, |_| {});
        rig.bad
            .on(b.path(), Reply::json(200, &b.response(b.model(), "served")));
        let mode = if b == d { "passthrough" } else { "converted" };
        check(&rig, d, mode);
        rig.recovered(32, &format!("{d:?} client, {b:?} backend ({mode})"));
    }
}

/// Invalid UTF-8 inside the text of a message, where a passthrough gateway does not look.
fn invalid_utf8(rig: &Rig, d: Dialect, mode: &str) {
    let good = String::from_utf8(d.request(d.model(), false)).unwrap();
    let at = good
        .find("Be brief")
        .or_else(|| good.rfind("\"text\":\"").map(|i| i + 8))
        .unwrap();
    let bads: [(&str, &[u8]); 5] = [
        ("a stray 0xFF byte", b"\xff"),
        ("a cut multi-byte sequence", b"\xe2\x82"),
        ("an overlong encoding of '/'", b"\xc0\xaf"),
        ("a UTF-8-encoded surrogate", b"\xed\xa0\x80"),
        ("a code point past U+10FFFF", b"\xf4\x90\x80\x80"),
    ];
    for (what, bad) in bads {
        let mut body = good.as_bytes()[..at].to_vec();
        body.extend_from_slice(bad);
        body.extend_from_slice(&good.as_bytes()[at..]);
        let r = rig.gw.send(
            Req::post(d.path(), body)
                .headers(&d.client_headers())
                .timeout(Duration::from_secs(10)),
        );
        gw_assert_eq!(
            rig.gw,
            400,
            r.status,
            "{d:?} client ({mode}): {what} in a message is not JSON (RFC 8259 §8.1), so the \
             gateway answers 400 itself; response: {}",
            r.describe()
        );
        d.expect_error(&rig.gw, &r, 400);
    }
    gw_assert_eq!(
        rig.gw,
        0,
        rig.bad.requests().len(),
        "{d:?} client ({mode}): no invalid UTF-8 reached the backend"
    );
}

#[test]
fn invalid_utf8_in_a_converted_request_is_400_in_the_client_dialect() {
    for_each_client(other, invalid_utf8);
}

#[test]
fn invalid_utf8_in_a_passthrough_request_is_400_in_the_client_dialect() {
    for_each_client(|d| d, invalid_utf8);
}

/// `{"model":…,"messages":…,"x_deep": <value nested `depth` levels>}` in dialect `d`.
fn nested_request(d: Dialect, depth: usize, objects: bool) -> Vec<u8> {
    let base = String::from_utf8(d.request(d.model(), false)).unwrap();
    let deep = if objects {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    } else {
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
    };
    let cut = base.rfind('}').unwrap();
    format!("{}, \"x_deep\": {deep}}}", &base[..cut]).into_bytes()
}

/// JSON nested thousands of levels deep is refused; 100 levels is deep but legal and served.
fn deep_nesting(rig: &Rig, d: Dialect, mode: &str) {
    for depth in [5_000, 100_000] {
        for objects in [false, true] {
            let body = nested_request(d, depth, objects);
            let r = rig.gw.send(
                Req::post(d.path(), body)
                    .headers(&d.client_headers())
                    .timeout(Duration::from_secs(10)),
            );
            gw_assert_eq!(
                rig.gw,
                400,
                r.status,
                "{d:?} client ({mode}): JSON nested {depth} levels ({}) is refused by the \
                 gateway itself; response: {}",
                if objects { "objects" } else { "arrays" },
                r.describe()
            );
            d.expect_error(&rig.gw, &r, 400);
        }
    }
    gw_assert_eq!(
        rig.gw,
        0,
        rig.bad.requests().len(),
        "{d:?} client ({mode}): no deeply nested JSON reached the backend"
    );
    let r = rig.gw.send(
        Req::post(d.path(), nested_request(d, 100, true))
            .headers(&d.client_headers())
            .timeout(Duration::from_secs(10)),
    );
    gw_assert_eq!(
        rig.gw,
        200,
        r.status,
        "{d:?} client ({mode}): JSON nested 100 levels in an unknown field is served; response: {}",
        r.describe()
    );
}

#[test]
fn deeply_nested_json_in_a_converted_request_is_400_and_moderate_nesting_passes() {
    for_each_client(other, deep_nesting);
}

#[test]
fn deeply_nested_json_in_a_passthrough_request_is_400_and_moderate_nesting_passes() {
    for_each_client(|d| d, deep_nesting);
}

// ---------------------------------------------------------------------------------------------
// Not HTTP at all
// ---------------------------------------------------------------------------------------------

#[test]
fn bytes_that_are_not_http_get_an_error_or_a_closed_connection() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let mut seed = 0x5EED_u64;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    };
    let json_post = |extra: &str, body: &[u8]| {
        let mut b = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}\r\n"
        )
        .into_bytes();
        b.extend_from_slice(body);
        b
    };
    let body = Dialect::OpenAi.request("m", false);
    let mut tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec();
    tls.extend(random(500));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("4 KiB of random bytes", random(4096)),
        ("a TLS ClientHello", tls),
        (
            "an unknown HTTP version",
            b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        ),
        (
            "a response instead of a request",
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ),
        ("blank lines only", b"\r\n\r\n\r\n\r\n".to_vec()),
        (
            "a request line without a version",
            b"GET /\r\n\r\n".to_vec(),
        ),
        (
            "a header without a colon",
            b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n".to_vec(),
        ),
        (
            "a negative Content-Length",
            json_post("Content-Length: -5\r\n", &body),
        ),
        (
            "a Content-Length that is not a number",
            json_post("Content-Length: abc\r\n", &body),
        ),
        (
            "a Content-Length past u64",
            json_post("Content-Length: 99999999999999999999999999\r\n", &body),
        ),
        (
            "an unknown Transfer-Encoding with a plain body",
            json_post("Transfer-Encoding: gzip\r\n", &body),
        ),
        (
            "an Expect the server cannot meet",
            json_post("Expect: a-teapot\r\nContent-Length: 2\r\n", b"{}"),
        ),
        (
            "NUL bytes in the path",
            b"GET /v1/\x00\x00/models HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "an unknown method",
            b"BREW /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
                .to_vec(),
        ),
        ("a 1 MiB path", {
            let mut b = b"GET /v1/".to_vec();
            b.extend(std::iter::repeat_n(b'a', 1 << 20));
            b.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
            b
        }),
    ];
    for (what, bytes) in cases {
        let out = send_and_half_close(rig.gw.port, &bytes, Duration::from_secs(5));
        match &out {
            Outcome::Answered(s, raw) => gw_assert!(
                rig.gw,
                (400..600).contains(s),
                "{what}: an error status or a closed connection; got {s}: {}",
                String::from_utf8_lossy(&raw[..raw.len().min(500)])
            ),
            Outcome::Closed(_) => {}
            Outcome::Silent(_) => panic!(
                "{what}: the gateway neither answered nor closed within 5 s of the client's EOF\n{}",
                rig.gw.diag()
            ),
        }
        rig.alive(what);
    }
    gw_assert_eq!(
        rig.gw,
        0,
        rig.bad.requests().len(),
        "no garbage reached the backend"
    );
    rig.recovered(32, "after bytes that are not HTTP");
}

#[test]
fn http2_and_http3_request_lines_do_not_leak_a_thread_each() {
    // tiny_http 0.12 parses "HTTP/2.0" and "HTTP/3.0" as versions, then answers 505 from
    // `ClientConnection::next` while the request it just built still holds the connection's
    // response writer: the 505 waits for that writer, which is dropped only after the 505 is
    // written. The connection thread blocks for good, holding its socket.
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let pid = rig.pid();
    let threads_before = procfs::threads(pid);
    let fds_before = procfs::open_fds(pid);
    let lines: [&[u8]; 3] = [
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"GET /v1/models HTTP/3.0\r\nHost: x\r\n\r\n",
    ];
    let mut outcomes = Vec::new();
    for i in 0..12 {
        let out = send_and_half_close(rig.gw.port, lines[i % 3], Duration::from_millis(500));
        outcomes.push(match out {
            Outcome::Answered(s, _) => format!("{s}"),
            Outcome::Closed(_) => "closed".into(),
            Outcome::Silent(_) => "silent".into(),
        });
    }
    // Idle connection threads end 5 s after their connection.
    let threads_after =
        procfs::wait_threads_at_most(pid, threads_before + 2, Duration::from_secs(15));
    let fds_after = procfs::open_fds(pid);
    gw_assert!(
        rig.gw,
        threads_after <= threads_before + 2 && fds_after <= fds_before + 4,
        "12 requests with an HTTP/2.0 or HTTP/3.0 request line (answers: {}) leave threads \
         {threads_before} -> {threads_after} and open fds {fds_before} -> {fds_after} 15 s later",
        outcomes.join(" ")
    );
    rig.recovered(32, "after HTTP/2 and HTTP/3 request lines");
}

// The answers are read in one go, to the close the last request asks for: reading them one by
// one with a fresh buffered reader each (as `read_response` does) loses whatever the first
// reader read ahead — which is what made this test fail now and then on a loaded machine.
#[test]
fn pipelined_requests_and_expect_continue_are_served_in_order() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let body = Dialect::OpenAi.request("m", false);
    let one = |close: bool, expect: bool| {
        let mut h = vec![
            ("Content-Type", "application/json".to_string()),
            ("Content-Length", body.len().to_string()),
        ];
        if expect {
            h.push(("Expect", "100-continue".into()));
        }
        if close {
            h.push(("Connection", "close".into()));
        }
        let mut b = head("POST", "/good/v1/chat/completions", &h);
        b.extend_from_slice(&body);
        b
    };
    let mut bytes = one(false, false);
    bytes.extend(one(false, false));
    bytes.extend(one(true, true));
    let tcp = raw(rig.gw.port, Duration::from_secs(10));
    write(&tcp, &bytes).unwrap();
    let mut all = Vec::new();
    let read = std::io::Read::read_to_end(&mut &tcp, &mut all);
    let text = String::from_utf8_lossy(&all);
    // Each answer begins with its status line; the `100 Continue` is an interim one.
    let answers: Vec<&str> = text
        .split("HTTP/1.1 ")
        .skip(1)
        .filter(|a| !a.starts_with("100 "))
        .collect();
    gw_assert!(
        rig.gw,
        read.is_ok()
            && answers.len() == 3
            && answers
                .iter()
                .all(|a| a.starts_with("200 ") && a.contains(GOOD_TEXT)),
        "three pipelined requests (the last with Expect: 100-continue and Connection: close) \
         get three 200 answers, then the close; got {read:?} and:\n{text}"
    );
    rig.recovered(16, "after pipelined requests");
}

// ---------------------------------------------------------------------------------------------
// Absurd Content-Length on requests answered without reading their body
// ---------------------------------------------------------------------------------------------

// tiny_http drains the unread part of a `Content-Length` body when a request is dropped after its
// answer. As released it allocated all of it at once (`util::EqualReader`'s `Drop`: `vec![0;
// remaining]`), so any request answered without reading its body (a control GET, a 404 or 405, a
// 401, the queue-full 503) aborted the process if it announced more than memory. These tests keep
// the vendored fix honest.

/// 10^15 bytes: past any machine's memory and the 47-bit address space, so no allocation of it
/// can succeed, whatever the overcommit setting.
const ABSURD: u64 = 1_000_000_000_000_000;

/// Sends `method path` announcing an absurd body and a few bytes of it, reads whatever comes
/// back, then checks the gateway survived.
fn absurd_length(rig: &mut Rig, method: &str, path: &str, ctx: &str) {
    let mut bytes = head(
        method,
        path,
        &[
            ("Content-Type", "application/json".into()),
            ("Content-Length", ABSURD.to_string()),
        ],
    );
    bytes.extend_from_slice(b"{\"model\":\"m\",");
    let mut tcp = raw(rig.gw.port, Duration::from_secs(3));
    let _ = write(&tcp, &bytes);
    let out = outcome(&mut tcp);
    drop(tcp);
    thread::sleep(Duration::from_millis(300));
    rig.alive(&format!(
        "{ctx}: {method} {path} announcing {ABSURD} bytes got {out:?}"
    ));
    rig.expect_good(ctx);
}

#[test]
fn absurd_content_length_on_a_control_get_does_not_kill_the_gateway() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    absurd_length(
        &mut rig,
        "GET",
        "/debug/health",
        "control GET (body never read)",
    );
    absurd_length(&mut rig, "GET", "/", "GET / (body never read)");
}

#[test]
fn absurd_content_length_on_a_control_post_does_not_kill_the_gateway() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    absurd_length(
        &mut rig,
        "POST",
        "/debug/config",
        "control POST (413 before reading)",
    );
}

#[test]
fn absurd_content_length_on_a_proxy_error_path_does_not_kill_the_gateway() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    absurd_length(
        &mut rig,
        "POST",
        "/v1/no-such-endpoint",
        "proxy 404 (body never read)",
    );
    absurd_length(
        &mut rig,
        "GET",
        "/v1/chat/completions",
        "proxy 405 (body never read)",
    );
}

#[test]
fn absurd_content_length_on_a_chat_request_is_refused_and_the_gateway_lives() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    absurd_length(
        &mut rig,
        "POST",
        "/v1/chat/completions",
        "chat (413 before reading)",
    );
    rig.recovered(16, "after an absurd body on a chat request");
}

#[test]
fn an_absurd_body_on_a_chat_request_is_refused_and_leaks_no_thread_or_socket() {
    // The 413 goes out before the body is read; the connection must then close, and neither its
    // thread nor its socket may stay behind (as they would if the request were leaked rather
    // than dropped to keep tiny_http from draining it).
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let pid = rig.pid();
    let threads_before = procfs::threads(pid);
    let fds_before = procfs::open_fds(pid);
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let mut bytes = head(
            "POST",
            "/v1/chat/completions",
            &[
                ("Content-Type", "application/json".into()),
                ("Content-Length", ABSURD.to_string()),
            ],
        );
        bytes.extend_from_slice(b"{\"model\":\"m\",");
        let mut tcp = raw(rig.gw.port, Duration::from_secs(1));
        let _ = write(&tcp, &bytes);
        outcomes.push(outcome(&mut tcp));
    }
    let threads_after =
        procfs::wait_threads_at_most(pid, threads_before + 2, Duration::from_secs(15));
    let fds_after = procfs::open_fds(pid);
    gw_assert!(
        rig.gw,
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Closed(_) | Outcome::Answered(413, _))),
        "each such request is answered 413 (or its connection closed) at once; got {outcomes:?}"
    );
    gw_assert!(
        rig.gw,
        threads_after <= threads_before + 2 && fds_after <= fds_before + 4,
        "10 requests announcing 10^15 bytes leave threads {threads_before} -> {threads_after} and open fds \
         {fds_before} -> {fds_after} 15 s later"
    );
    rig.recovered(16, "after absurd bodies on chat requests");
}

#[test]
fn absurd_content_length_on_a_request_rejected_by_a_full_queue_does_not_kill_the_gateway() {
    let mut rig = Rig::start(Dialect::OpenAi, |c| c["server"]["queueSize"] = json!(1));
    let d = Dialect::OpenAi;
    rig.bad.on(d.path(), Reply::Hang);
    // The worker waits on the hanging backend; the queue holds one more.
    let busy = raw(rig.gw.port, Duration::from_secs(20));
    write(
        &busy,
        &Req::post(d.path(), d.request(d.model(), false)).to_bytes(rig.gw.port),
    )
    .unwrap();
    rig.bad.wait_requests(1, Duration::from_secs(5));
    let queued = raw(rig.gw.port, Duration::from_secs(20));
    write(&queued, &Rig::good_request().to_bytes(rig.gw.port)).unwrap();
    settle();
    let mut bytes = head("POST", d.path(), &[("Content-Length", ABSURD.to_string())]);
    bytes.extend_from_slice(b"{");
    let mut tcp = raw(rig.gw.port, Duration::from_secs(5));
    let _ = write(&tcp, &bytes);
    let out = outcome(&mut tcp);
    gw_assert!(
        rig.gw,
        matches!(out, Outcome::Answered(503, _)),
        "a request that finds the queue full is answered 503 at once; got {out:?}"
    );
    drop(tcp);
    thread::sleep(Duration::from_millis(300));
    rig.alive("queue-full rejection of a request announcing 10^15 bytes");
    // Let the busy and the queued request finish before the follow-up.
    rig.bad.release();
    let _ = read_response(busy);
    let q = read_response(queued);
    gw_assert!(
        rig.gw,
        q.as_ref().is_ok_and(|r| r.status == 200),
        "the queued request is served once the worker is free; got {:?}",
        q.map(|r| r.describe())
    );
    rig.recovered(16, "after a queue-full rejection of an absurd body");
}

// ---------------------------------------------------------------------------------------------
// Clients that leave
// ---------------------------------------------------------------------------------------------

#[test]
fn a_client_leaving_while_sending_its_request_frees_the_worker() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let d = Dialect::OpenAi;
    let small = d.request(d.model(), false);
    let large = padded(d, 3000);
    let full_large = post(d.path(), &large, &[]);
    let head_len = full_large.len() - large.len();
    let full_small = post(d.path(), &small, &[]);
    let mut chunked = head(
        "POST",
        d.path(),
        &[
            ("Content-Type", "application/json".into()),
            ("Transfer-Encoding", "chunked".into()),
        ],
    );
    chunked.extend_from_slice(format!("{:x}\r\n", small.len()).as_bytes());
    chunked.extend_from_slice(&small[..small.len() / 2]);
    let stages: Vec<(&str, Vec<u8>)> = vec![
        ("inside the request line", b"POST /v1/chat/compl".to_vec()),
        ("inside the headers", full_large[..head_len / 2].to_vec()),
        (
            "after the head, before a 3 KB body",
            full_large[..head_len].to_vec(),
        ),
        (
            "half-way through a 3 KB body",
            full_large[..head_len + 1500].to_vec(),
        ),
        (
            "half-way through a small body",
            full_small[..full_small.len() - small.len() / 2].to_vec(),
        ),
        ("half-way through a chunked body", chunked),
    ];
    for (stage, bytes) in stages {
        let tcp = raw(rig.gw.port, Duration::from_secs(5));
        write(&tcp, &bytes).unwrap();
        thread::sleep(Duration::from_millis(200));
        drop(tcp);
        rig.recovered(16, &format!("client left {stage}"));
    }
    gw_assert_eq!(
        rig.gw,
        0,
        rig.bad.requests().len(),
        "no partial request reached the backend"
    );
}

#[test]
fn a_client_leaving_while_queued_frees_the_worker() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let d = Dialect::OpenAi;
    // The worker is busy with a stream for about 2 s.
    rig.bad.on(
        d.path(),
        Reply::sse(
            d.stream(d.model(), &["a", "b", "c", "d", "e", "f"]),
            Duration::from_millis(250),
        ),
    );
    let mut s = rig.gw.open(Req::post(d.path(), d.request(d.model(), true)));
    gw_assert_eq!(rig.gw, 200, s.status, "the busy stream starts");
    // A request waits in the queue, and its client leaves.
    let queued = raw(rig.gw.port, Duration::from_secs(5));
    write(&queued, &Rig::good_request().to_bytes(rig.gw.port)).unwrap();
    thread::sleep(Duration::from_millis(200));
    drop(queued);
    let events = read_stream(&mut s, Duration::from_secs(10));
    gw_assert!(
        rig.gw,
        events.is_ok(),
        "the busy stream ends well: {:?}",
        events.err().map(|e| e.0)
    );
    rig.recovered(16, "a queued client left");
}

#[test]
fn a_client_leaving_a_fast_stream_frees_the_worker_and_closes_the_upstream() {
    for d in ALL_DIALECTS {
        let mut rig = Rig::start(d, |_| {});
        let pieces: Vec<String> = (0..300).map(|i| format!("piece {i} ")).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        rig.bad.on(
            d.path(),
            Reply::sse(d.stream(d.model(), &pieces), Duration::from_millis(20)),
        );
        let mut s = rig
            .gw
            .open(Req::post(d.path(), d.request(d.model(), true)).headers(&d.client_headers()));
        gw_assert_eq!(rig.gw, 200, s.status, "{d:?}: the stream starts");
        for _ in 0..5 {
            let e = s.next_event();
            gw_assert!(
                rig.gw,
                matches!(e, Ok(Some(_))),
                "{d:?}: events flow; got {e:?}"
            );
        }
        s.disconnect();
        let closed = rig.bad.wait_peer_closed(1, Duration::from_secs(5));
        gw_assert!(
            rig.gw,
            !closed.is_empty(),
            "{d:?}: the gateway closes the upstream once the client left a flowing stream"
        );
        rig.recovered(16, &format!("{d:?}: client left a flowing stream"));
    }
}

#[test]
fn a_client_leaving_during_a_large_complete_answer_frees_the_worker() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let d = Dialect::OpenAi;
    let text = "x".repeat(16 * 1024 * 1024);
    rig.bad
        .on(d.path(), Reply::json(200, &d.response(d.model(), &text)));
    let tcp = raw(rig.gw.port, Duration::from_secs(5));
    write(
        &tcp,
        &Req::post(d.path(), d.request(d.model(), false)).to_bytes(rig.gw.port),
    )
    .unwrap();
    // Read the head and a little of the body, then leave.
    let mut first = [0u8; 4096];
    let _ = read_some(&tcp, &mut first);
    drop(tcp);
    rig.recovered(96, "client left during a 16 MB answer");
}

/// A stream or complete request to a backend that never answers; the client leaves once the
/// request reached the backend, and the next request must not wait for the first-byte timeout.
fn leave_before_the_backend_answers(stream: bool) {
    let d = Dialect::OpenAi;
    let mut rig = Rig::start(d, |_| {});
    rig.bad.on(d.path(), Reply::Hang);
    let tcp = raw(rig.gw.port, Duration::from_secs(5));
    write(
        &tcp,
        &Req::post(d.path(), d.request(d.model(), stream)).to_bytes(rig.gw.port),
    )
    .unwrap();
    let got = rig.bad.wait_requests(1, Duration::from_secs(5));
    gw_assert_eq!(rig.gw, 1, got.len(), "the request reached the backend");
    thread::sleep(Duration::from_millis(200));
    drop(tcp);
    rig.recovered(
        16,
        &format!(
            "the client of a {} request left while the backend had not answered \
             (timeoutSecs is the default 600)",
            if stream { "stream" } else { "complete" }
        ),
    );
    let closed = rig.bad.wait_peer_closed(1, Duration::from_secs(5));
    gw_assert!(
        rig.gw,
        !closed.is_empty(),
        "the abandoned upstream request is closed"
    );
    // Booked as the client's doing (nginx's 499), not as a failure of the backend.
    let logs: Value = serde_json::from_str(&rig.gw.get("/debug/logs").text()).unwrap_or_default();
    let statuses: Vec<&Value> = logs["logs"]
        .as_array()
        .map(|l| l.iter().map(|e| &e["status"]).collect())
        .unwrap_or_default();
    gw_assert!(
        rig.gw,
        statuses.contains(&&json!(499)),
        "the abandoned request is logged with status 499; statuses: {statuses:?}"
    );
}

// Until the backend's response head arrives nothing can be written to the client; the watchdog
// peeks at the client's socket instead (after a second) and cuts the backend request when the
// client has gone.
#[test]
fn a_client_leaving_a_stream_request_before_the_backend_answers_frees_the_worker() {
    leave_before_the_backend_answers(true);
}

#[test]
fn a_client_leaving_a_complete_request_before_the_backend_answers_frees_the_worker() {
    leave_before_the_backend_answers(false);
}

#[test]
fn a_half_closed_client_still_gets_its_answer() {
    let mut rig = Rig::start(Dialect::OpenAi, |_| {});
    let d = Dialect::OpenAi;
    rig.bad.on(
        d.path(),
        Reply::sse(d.stream(d.model(), &["a", "b"]), Duration::ZERO),
    );
    for stream in [false, true] {
        let req = if stream {
            Req::post(d.path(), d.request(d.model(), true))
        } else {
            Rig::good_request()
        };
        let tcp = raw(rig.gw.port, Duration::from_secs(10));
        write(&tcp, &req.to_bytes(rig.gw.port)).unwrap();
        tcp.shutdown(Shutdown::Write).unwrap();
        let r = read_response(tcp);
        gw_assert!(
            rig.gw,
            r.as_ref()
                .is_ok_and(|r| r.status == 200 && !r.body.is_empty()),
            "a client that closed its sending half after the request (stream: {stream}) gets \
             the whole answer; got {:?}",
            r.map(|r| r.describe())
        );
    }
    rig.recovered(16, "after half-closed clients");
}

/// Reads until `buf` is full, the peer closes or the socket times out; returns the count.
fn read_some(tcp: &TcpStream, buf: &mut [u8]) -> usize {
    use std::io::Read;
    let mut got = 0;
    let mut r = tcp;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}
