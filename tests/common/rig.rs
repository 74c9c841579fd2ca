//! The fixture of the reliability tests: a gateway with ONE proxy worker in front of a backend
//! that misbehaves on purpose (`bad`, scripted by each test) and one that always answers (`good`),
//! and the check every fault ends with ([`Rig::recovered`]): the process is alive, its log shows
//! no panic, its memory is within a generous bound of where it started, and the only proxy worker
//! is free again — a plain request to `good` is answered promptly.
//!
//! Included with `#[path = "common/rig.rs"] mod rig;` next to `mod common;` and
//! `#[path = "common/procfs.rs"] mod procfs;`.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::client::{self, Event};
use crate::common::*;
use crate::gw_assert;
use crate::procfs;

/// What the good backend answers, and how the follow-up request recognises it.
pub const GOOD_TEXT: &str = "the good backend answered";
/// How soon after a fault the follow-up request must be answered. Generous: the debug build on
/// a busy two-core machine; a worker that is not free waits for a timeout of minutes.
pub const FREED_WITHIN: Duration = Duration::from_secs(8);

pub struct Rig {
    pub gw: Gateway,
    pub bad: Mock,
    pub good: Mock,
    /// Resident memory after start-up and one warm-up request, in kB.
    pub rss_start_kb: u64,
}

impl Rig {
    /// A gateway with `server.workers: 1` and 1 s heartbeats; backends `bad` (speaking `d`, the
    /// default) and `good` (OpenAI chat). `tweak` edits the config JSON before start.
    pub fn start(d: Dialect, tweak: impl FnOnce(&mut Value)) -> Rig {
        let bad = Mock::start();
        let good = Mock::with(
            "/v1/chat/completions",
            Reply::json(200, &Dialect::OpenAi.response("good-model", GOOD_TEXT)),
        );
        let mut cfg = config(
            json!({
                "bad": {"url": bad.url(), "api": d.api()},
                "good": {"url": good.url(), "api": "openai"},
            }),
            "bad",
            json!({"server": {"workers": 1, "heartbeatSecs": 1}}),
        );
        tweak(&mut cfg);
        let gw = Gateway::start(cfg);
        let mut rig = Rig {
            gw,
            bad,
            good,
            rss_start_kb: 0,
        };
        // Warm up (first-request allocations, lazily built agents) before the baseline.
        rig.expect_good("warm-up");
        rig.rss_start_kb = rig.rss_kb();
        rig
    }

    pub fn pid(&self) -> u32 {
        self.gw.pid()
    }

    pub fn rss_kb(&self) -> u64 {
        procfs::rss_kb(self.pid())
    }

    /// The follow-up request: `POST /good/v1/chat/completions`, pinned to the good backend,
    /// through the same (single) proxy worker.
    pub fn good_request() -> Req {
        Req::post(
            "/good/v1/chat/completions",
            Dialect::OpenAi.request("good-model", false),
        )
        .timeout(FREED_WITHIN + Duration::from_secs(7))
    }

    /// Sends the follow-up request and checks it is answered 200 by `good` within
    /// [`FREED_WITHIN`]; returns how long it took.
    pub fn expect_good(&self, ctx: &str) -> Duration {
        let started = Instant::now();
        let r = Rig::good_request().send(self.gw.port);
        let took = started.elapsed();
        let r = match r {
            Ok(r) => r,
            Err(e) => panic!(
                "{ctx}: the follow-up request failed after {took:?}: {e}\n{}",
                self.gw.diag()
            ),
        };
        gw_assert!(
            self.gw,
            r.status == 200 && r.text().contains(GOOD_TEXT),
            "{ctx}: the follow-up request to the good backend is answered 200; got {} after {took:?}",
            r.describe()
        );
        gw_assert!(
            self.gw,
            took < FREED_WITHIN,
            "{ctx}: the only proxy worker is free again: the follow-up request took {took:?} (limit {FREED_WITHIN:?})"
        );
        took
    }

    /// The gateway is alive and did not panic.
    pub fn alive(&mut self, ctx: &str) {
        let exit = self.gw.try_exit();
        gw_assert!(
            self.gw,
            exit.is_none() && procfs::alive(self.pid()),
            "{ctx}: the gateway process is still running; it exited with {exit:?}"
        );
        let out = self.gw.output().to_lowercase();
        gw_assert!(
            self.gw,
            !out.contains("panic"),
            "{ctx}: no panic in the gateway's log"
        );
    }

    /// Resident memory grew by at most `mb` MB since start-up.
    pub fn memory_within(&self, mb: u64, ctx: &str) {
        let now = self.rss_kb();
        gw_assert!(
            self.gw,
            now <= self.rss_start_kb + mb * 1024,
            "{ctx}: resident memory stays within +{mb} MB of the start: {} at start, {} now",
            procfs::mb(self.rss_start_kb),
            procfs::mb(now)
        );
    }

    /// Everything a fault must leave intact: alive, no panic, memory within `mb` MB, and the
    /// only proxy worker free for the next request.
    pub fn recovered(&mut self, mb: u64, ctx: &str) {
        self.alive(ctx);
        self.expect_good(ctx);
        self.alive(ctx);
        self.memory_within(mb, ctx);
    }
}

/// The error a client dialect puts in a stream, if the events hold one: OpenAI chat a `data:`
/// chunk with an `error` object, Anthropic an `error` event, Responses `response.failed`.
pub fn stream_error(d: Dialect, events: &[Event]) -> Option<String> {
    events.iter().find_map(|e| {
        let v = e.json()?;
        match d {
            Dialect::OpenAi => v.pointer("/error/message")?.as_str().map(str::to_owned),
            Dialect::Anthropic => (e.event.as_deref() == Some("error") && v["type"] == "error")
                .then(|| v.pointer("/error/message")?.as_str().map(str::to_owned))?,
            Dialect::Responses => (e.event.as_deref() == Some("response.failed")).then(|| {
                v.pointer("/response/error/message")?
                    .as_str()
                    .map(str::to_owned)
            })?,
        }
    })
}

/// Reads a stream to its end with an overall deadline: `Ok(events)` when the body ended
/// properly (the chunked terminator, or a close on a close-delimited body); `Err` with what
/// was read when the framing broke, the socket timed out or the deadline passed.
pub fn read_stream(s: &mut Stream, deadline: Duration) -> Result<Vec<Event>, (String, Vec<Event>)> {
    let started = Instant::now();
    let mut events = Vec::new();
    loop {
        match s.next_event() {
            Ok(Some(e)) => events.push(e),
            Ok(None) => return Ok(events),
            Err(e) => return Err((e.to_string(), events)),
        }
        if started.elapsed() > deadline || events.len() >= client::MAX_EVENTS {
            return Err((format!("still streaming after {deadline:?}"), events));
        }
    }
}

/// One line per event, for messages.
pub fn show(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let mut t = e.raw_text();
        if t.len() > 300 {
            let mut cut = 300;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            t.truncate(cut);
            t.push('…');
        }
        out.push_str(&format!("\n    {t:?}"));
    }
    out
}

/// A raw connection to the gateway with a read timeout, for hostile clients.
pub fn raw(port: u16, read_timeout: Duration) -> TcpStream {
    client::connect(port, read_timeout).expect("connect to the gateway")
}

/// What came back on a raw connection after the client finished writing.
pub enum Outcome {
    /// A status line arrived (the status, and everything read).
    Answered(u16, Vec<u8>),
    /// The gateway closed the connection without a status line.
    Closed(Vec<u8>),
    /// Nothing within the read timeout.
    Silent(Vec<u8>),
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, bytes) = match self {
            Outcome::Answered(s, b) => (format!("answered {s}"), b),
            Outcome::Closed(b) => ("closed".to_string(), b),
            Outcome::Silent(b) => ("silent".to_string(), b),
        };
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(400)]);
        write!(f, "{what} after {} bytes: {text:?}", bytes.len())
    }
}

/// Reads whatever the gateway sends until it closes or the socket's read timeout expires
/// (at most 1 MiB).
pub fn outcome(tcp: &mut TcpStream) -> Outcome {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let timed_out = loop {
        match tcp.read(&mut buf) {
            Ok(0) => break false,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() > 1 << 20 {
                    break false;
                }
                // A complete answer with Content-Length: stop reading once it is all here.
                if complete(&got) {
                    break false;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break true
            }
            Err(_) => break false,
        }
    };
    let status = std::str::from_utf8(&got)
        .ok()
        .and_then(|t| t.strip_prefix("HTTP/1."))
        .and_then(|t| t.get(2..5))
        .and_then(|s| s.parse().ok());
    match (status, timed_out) {
        (Some(s), _) => Outcome::Answered(s, got),
        (None, false) => Outcome::Closed(got),
        (None, true) => Outcome::Silent(got),
    }
}

/// Whether `got` holds a whole response head and a Content-Length body.
fn complete(got: &[u8]) -> bool {
    let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    len.is_some_and(|n| got.len() >= end + 4 + n)
}

/// Writes `bytes`, then closes the write half (the gateway sees EOF) and reads the outcome.
pub fn send_and_half_close(port: u16, bytes: &[u8], read_timeout: Duration) -> Outcome {
    let mut tcp = raw(port, read_timeout);
    let _ = tcp.write_all(bytes);
    let _ = tcp.flush();
    let _ = tcp.shutdown(Shutdown::Write);
    outcome(&mut tcp)
}
