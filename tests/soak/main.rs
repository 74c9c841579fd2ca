//! `make soak` (issue 7, "Tests"): a bounded run of mixed load through the release gateway to a
//! mock backend on 127.0.0.1, reporting the gateway's resident memory, threads and open file
//! descriptors at the start, after a warm-up, at their peak and at the end, and failing on
//! growth:
//!
//! - resident memory at the end (load stopped, connections closed) at most
//!   [`RSS_TOLERANCE_KB`] above where it stood after the warm-up — the warm-up lets the
//!   allocator's per-thread arenas, the request log ring and the agents' pools fill first;
//! - threads back to the post-warm-up count (± [`THREAD_TOLERANCE`], a health probe may be
//!   running) within 30 s of the load stopping — tiny_http connection threads must all end;
//! - open file descriptors back likewise, give or take the idle backend connections the pools
//!   keep (how many depends on how many requests overlapped, so it varies from run to run, but
//!   the pools are bounded: a leak grows with the number of requests and passes any bound);
//! - no panic in the gateway's log, the process alive, and (nearly) every request answered as
//!   expected.
//!
//! The load: [`CLIENTS`] client threads, each looping until the deadline over a random mix of
//! complete and streamed requests in all three dialects, passthrough and converted, clients that
//! leave mid-stream or before the answer, and control requests. The mock cuts one stream in
//! `mock::BREAK_EVERY` short, so error paths soak too.
//!
//! `SOAK_SECS` sets the main phase (default 300; the warm-up before it is a fifth of that, 15 to
//! 60 s); `SOAK_SEED` the random mix; `SOAK_ONLY` restricts the mix to some kinds. Run with
//! `cargo test --release --test soak -- --ignored --nocapture`.

#[path = "../common/mod.rs"]
mod common;
mod mock;
#[path = "../common/procfs.rs"]
mod procfs;
#[path = "../common/rng.rs"]
mod rng;

use rng::Rng;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::client::Stream;
use common::{config, Dialect, Gateway, GatewayBuilder, Req};
use serde_json::json;

/// Concurrent clients.
const CLIENTS: usize = 16;
/// Resident memory may grow this much from the end of the warm-up to the end of the run.
const RSS_TOLERANCE_KB: u64 = 8 * 1024;
/// Threads may differ this much from the post-warm-up count.
const THREAD_TOLERANCE: u64 = 2;
/// File descriptors may differ this much from the post-warm-up count: a few, plus one idle
/// backend connection per client for each of the two backends and both pools (complete answers,
/// streams).
const FD_TOLERANCE: usize = 4 + 2 * 2 * CLIENTS;
/// Unexpected outcomes tolerated, per ten thousand requests (a loaded two-core machine can time
/// out a socket now and then; a real problem shows as far more).
const UNEXPECTED_PER_10K: u64 = 10;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One kind of client behaviour, with its share of the mix (in percent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// OpenAI client, OpenAI backend, complete answer.
    CompletePassthrough,
    /// Anthropic client, OpenAI backend, complete answer.
    CompleteConverted,
    /// OpenAI client, OpenAI backend, streamed.
    StreamPassthrough,
    /// Anthropic client, OpenAI backend, streamed.
    StreamToAnthropic,
    /// Responses client, OpenAI backend, streamed.
    StreamToResponses,
    /// OpenAI client pinned to the Anthropic backend, streamed.
    StreamFromAnthropic,
    /// A streamed request whose client leaves after a few events.
    LeaveMidStream,
    /// A client that sends its request and leaves before the answer.
    LeaveEarly,
    /// `/debug/stats`, `/debug/health`, `/debug/logs`.
    Control,
}

const MIX: [(Kind, u64); 9] = [
    (Kind::CompletePassthrough, 22),
    (Kind::CompleteConverted, 10),
    (Kind::StreamPassthrough, 20),
    (Kind::StreamToAnthropic, 12),
    (Kind::StreamToResponses, 8),
    (Kind::StreamFromAnthropic, 8),
    (Kind::LeaveMidStream, 10),
    (Kind::LeaveEarly, 5),
    (Kind::Control, 5),
];

/// The kinds named in `SOAK_ONLY` (comma-separated, e.g. `LeaveEarly,Control`), for looking
/// into one behaviour at a time; empty for the whole mix.
fn only() -> Vec<Kind> {
    let wanted = std::env::var("SOAK_ONLY").unwrap_or_default();
    MIX.iter()
        .map(|(k, _)| *k)
        .filter(|k| wanted.split(',').any(|w| w.trim() == format!("{k:?}")))
        .collect()
}

fn pick(rng: &mut Rng, only: &[Kind]) -> Kind {
    if !only.is_empty() {
        return only[rng.below(only.len())];
    }
    let mut roll = rng.below(100) as u64;
    for (kind, share) in MIX {
        if roll < share {
            return kind;
        }
        roll -= share;
    }
    Kind::CompletePassthrough
}

#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<Kind, u64>,
    requests: u64,
    /// Streams that ended in an error event (the mock's deliberately broken ones).
    stream_errors: u64,
    unexpected: u64,
    examples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        for (k, n) in other.by_kind {
            *self.by_kind.entry(k).or_default() += n;
        }
        self.requests += other.requests;
        self.stream_errors += other.stream_errors;
        self.unexpected += other.unexpected;
        for e in other.examples {
            if self.examples.len() < 20 {
                self.examples.push(e);
            }
        }
    }

    fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn stream_req(d: Dialect, path: &str) -> Req {
    Req::post(path, d.request(d.model(), true))
        .headers(&d.client_headers())
        .timeout(TIMEOUT)
}

/// Reads a stream to its end; whether it ended in an error event.
fn drain(s: &mut Stream) -> Result<bool, String> {
    let mut error = false;
    for _ in 0..10_000 {
        match s.next_event() {
            Ok(Some(e)) => {
                // OpenAI chat: a chunk with an `error` object; Anthropic: `event: error`;
                // Responses: `response.failed`.
                error |= matches!(e.event.as_deref(), Some("error" | "response.failed"))
                    || e.json()
                        .is_some_and(|v| v.get("error").is_some_and(|x| x.is_object()));
            }
            Ok(None) => return Ok(error),
            Err(e) => return Err(format!("stream broke: {e}")),
        }
    }
    Err("stream too long".into())
}

/// One request of `kind`.
fn one(port: u16, kind: Kind, rng: &mut Rng, t: &mut Tally) {
    t.requests += 1;
    *t.by_kind.entry(kind).or_default() += 1;
    let stream = |d: Dialect, path: &str, t: &mut Tally| match stream_req(d, path).open(port) {
        Ok(mut s) if s.status == 200 => match drain(&mut s) {
            Ok(true) => t.stream_errors += 1,
            Ok(false) => {}
            Err(e) => t.unexpected(format!("{kind:?}: {e}")),
        },
        Ok(s) => t.unexpected(format!("{kind:?}: status {}", s.status)),
        Err(e) => t.unexpected(format!("{kind:?}: {e}")),
    };
    match kind {
        Kind::CompletePassthrough | Kind::CompleteConverted => {
            let d = if kind == Kind::CompletePassthrough {
                Dialect::OpenAi
            } else {
                Dialect::Anthropic
            };
            let req = Req::post(d.path(), d.request(d.model(), false))
                .headers(&d.client_headers())
                .timeout(TIMEOUT);
            match req.send(port) {
                Ok(r) if r.status == 200 && r.text().contains("a soak answer") => {}
                Ok(r) => t.unexpected(format!("{kind:?}: {}", r.describe())),
                Err(e) => t.unexpected(format!("{kind:?}: {e}")),
            }
        }
        Kind::StreamPassthrough => stream(Dialect::OpenAi, "/v1/chat/completions", t),
        Kind::StreamToAnthropic => stream(Dialect::Anthropic, "/v1/messages", t),
        Kind::StreamToResponses => stream(Dialect::Responses, "/v1/responses", t),
        Kind::StreamFromAnthropic => stream(Dialect::OpenAi, "/an/v1/chat/completions", t),
        Kind::LeaveMidStream => {
            let d = [Dialect::OpenAi, Dialect::Anthropic, Dialect::Responses][rng.below(3)];
            match stream_req(d, d.path()).open(port) {
                Ok(mut s) if s.status == 200 => {
                    for _ in 0..rng.below(6) {
                        if !matches!(s.next_event(), Ok(Some(_))) {
                            break;
                        }
                    }
                    s.disconnect();
                }
                Ok(s) => t.unexpected(format!("{kind:?}: status {}", s.status)),
                Err(e) => t.unexpected(format!("{kind:?}: {e}")),
            }
        }
        Kind::LeaveEarly => {
            let d = Dialect::OpenAi;
            let stream = rng.below(2) == 0;
            let bytes = Req::post(d.path(), d.request(d.model(), stream)).to_bytes(port);
            if let Ok(tcp) = common::client::connect(port, TIMEOUT) {
                let _ = (&tcp).write_all(&bytes);
            }
        }
        Kind::Control => {
            let path = ["/debug/stats", "/debug/health", "/debug/logs?limit=5"][rng.below(3)];
            match Req::get(path).timeout(TIMEOUT).send(port) {
                Ok(r) if r.status == 200 || (path == "/debug/health" && r.status == 503) => {}
                Ok(r) => t.unexpected(format!("{kind:?} {path}: {}", r.describe())),
                Err(e) => t.unexpected(format!("{kind:?} {path}: {e}")),
            }
        }
    }
}

/// Runs the mixed load for `duration` with [`CLIENTS`] clients.
fn load(port: u16, duration: Duration, seed: u64) -> Tally {
    let deadline = Instant::now() + duration;
    let total = Arc::new(Mutex::new(Tally::default()));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let total = total.clone();
            thread::Builder::new()
                .name(format!("soak-client-{i}"))
                .spawn(move || {
                    let mut rng = Rng(seed ^ (i as u64).wrapping_mul(0x9E37_79B9));
                    let mut t = Tally::default();
                    let only = only();
                    while Instant::now() < deadline {
                        let kind = pick(&mut rng, &only);
                        one(port, kind, &mut rng, &mut t);
                    }
                    total.lock().unwrap().merge(t);
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().expect("a soak client panicked");
    }
    Arc::try_unwrap(total).ok().unwrap().into_inner().unwrap()
}

/// What the gateway holds at one moment.
#[derive(Clone, Copy, Debug)]
struct Snapshot {
    rss_kb: u64,
    threads: u64,
    fds: usize,
}

fn snapshot(pid: u32) -> Snapshot {
    Snapshot {
        rss_kb: procfs::rss_kb(pid),
        threads: procfs::threads(pid),
        fds: procfs::open_fds(pid),
    }
}

impl std::fmt::Display for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:>9}  threads {:>3}  fds {:>4}",
            procfs::mb(self.rss_kb),
            self.threads,
            self.fds
        )
    }
}

/// Waits for idle: tiny_http's idle connection threads end 5 s after their connection. Returns
/// once threads are at most `limit` (or after 30 s).
fn settle(pid: u32, limit: u64) -> Snapshot {
    thread::sleep(Duration::from_secs(6));
    procfs::wait_threads_at_most(pid, limit, Duration::from_secs(30));
    thread::sleep(Duration::from_millis(500));
    snapshot(pid)
}

#[test]
#[ignore = "a long soak: run with `make soak` (SOAK_SECS to change the length)"]
fn soak() {
    let secs = env_u64("SOAK_SECS", 300);
    let seed = env_u64("SOAK_SEED", 0x50AC);
    let warm_secs = (secs / 5).clamp(15, 60);
    let backend = mock::SoakMock::start();
    let gw: Gateway = GatewayBuilder::new(config(
        json!({
            "oa": {"url": backend.url(), "api": "openai"},
            "an": {"url": backend.url(), "api": "anthropic"},
        }),
        "oa",
        json!({"server": {"heartbeatSecs": 1}}),
    ))
    .log_level("warn")
    .start();
    let pid = gw.pid();
    eprintln!(
        "soak: {CLIENTS} clients, {warm_secs} s warm-up then {secs} s of load (SOAK_SECS), seed {seed}, gateway pid {pid} ({})",
        common::gateway::BIN
    );
    thread::sleep(Duration::from_secs(1));
    let start = snapshot(pid);
    eprintln!("soak: start          {start}");

    let warm = load(gw.port, Duration::from_secs(warm_secs), seed ^ 0xAAAA);
    let base = settle(pid, start.threads + THREAD_TOLERANCE);
    eprintln!("soak: after warm-up  {base}  ({} requests)", warm.requests);

    // The load, with a sampler for the peak.
    let peak = Arc::new(Mutex::new(base));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        thread::spawn(move || {
            let mut n = 0u64;
            while sampling.load(std::sync::atomic::Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(500));
                let s = snapshot(pid);
                let mut p = peak.lock().unwrap();
                p.rss_kb = p.rss_kb.max(s.rss_kb);
                p.threads = p.threads.max(s.threads);
                p.fds = p.fds.max(s.fds);
                n += 1;
                if n % 60 == 0 {
                    eprintln!("soak: {:>4} s        {s}", n / 2);
                }
            }
        })
    };
    let started = Instant::now();
    let main = load(gw.port, Duration::from_secs(secs), seed);
    let took = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::SeqCst);
    sampler.join().unwrap();
    let peak = *peak.lock().unwrap();
    let end = settle(pid, base.threads + THREAD_TOLERANCE);

    eprintln!(
        "soak: peak           {peak}  (VmHWM {})",
        procfs::mb(procfs::peak_rss_kb(pid))
    );
    eprintln!("soak: end            {end}");
    eprintln!(
        "soak: {} requests in {:.0} s ({:.0}/s), {} streams through the mock, {} ended in the \
         mock's deliberate error, {} unexpected",
        main.requests,
        took.as_secs_f64(),
        main.requests as f64 / took.as_secs_f64(),
        backend.streams.load(std::sync::atomic::Ordering::Relaxed),
        main.stream_errors,
        main.unexpected
    );
    for (k, n) in &main.by_kind {
        eprintln!("soak:   {k:?}: {n}");
    }
    for e in &main.examples {
        eprintln!("soak:   unexpected: {e}");
    }

    let mut problems = Vec::new();
    if !procfs::alive(pid) {
        problems.push("the gateway process died".to_string());
    }
    let log = gw.output();
    if log.to_lowercase().contains("panic") {
        problems.push("the gateway's log shows a panic".into());
    }
    if end.rss_kb > base.rss_kb + RSS_TOLERANCE_KB {
        problems.push(format!(
            "resident memory grew {} (from {} after the warm-up to {} at the end; tolerance {})",
            procfs::mb(end.rss_kb - base.rss_kb),
            procfs::mb(base.rss_kb),
            procfs::mb(end.rss_kb),
            procfs::mb(RSS_TOLERANCE_KB)
        ));
    }
    if end.threads > base.threads + THREAD_TOLERANCE {
        problems.push(format!(
            "threads did not come back: {} after the warm-up, {} 30 s after the load stopped",
            base.threads, end.threads
        ));
    }
    if end.fds > base.fds + FD_TOLERANCE {
        problems.push(format!(
            "file descriptors did not come back: {} after the warm-up, {} after the load",
            base.fds, end.fds
        ));
    }
    if main.unexpected * 10_000 > main.requests.max(1) * UNEXPECTED_PER_10K {
        problems.push(format!(
            "{} of {} requests had an unexpected outcome (first: {:?})",
            main.unexpected,
            main.requests,
            main.examples.first()
        ));
    }
    if main.requests < secs {
        problems.push(format!("only {} requests in {secs} s", main.requests));
    }
    assert!(
        problems.is_empty(),
        "soak failed:\n  {}\n{}",
        problems.join("\n  "),
        gw.diag()
    );
    eprintln!("soak: passed");
}
