//! One thread watches every stream in flight and every request still waiting for its backend,
//! so that the thread serving a request can block on the backend's socket (and relay each event
//! the moment it arrives, with no hand-off between threads per event).
//!
//! While a backend is silent (a local model reading a long prompt) the watchdog writes heartbeat
//! comments to the client; a heartbeat that cannot be written means the client left, and the
//! watchdog aborts the upstream request, which wakes the relaying thread. A backend silent for
//! longer than its idle timeout is aborted the same way.
//!
//! A heartbeat write to a client that stopped reading blocks the watchdog until the socket's
//! send timeout; that needs a full socket buffer *and* a silent backend, and only delays the
//! other streams' heartbeats, never their events.
//!
//! Before the backend's answer begins nothing can be written to the client (its status is not
//! known yet), so a request still waiting for it is watched another way: after
//! [`PENDING_GRACE`], the client's socket is peeked now and then, and an end of stream or an
//! error there means the client left; the backend request is cut (as nginx does by default, a
//! client that closes its sending half is taken to have left too).

use std::io;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::server::sse_writer::SseWriter;
use crate::sse;
use crate::upstream::transport::{self, RequestSocket, Tracking};
use crate::upstream::Abort;

/// A stream under watch, shared by its relaying thread and the watchdog.
pub struct Watched {
    /// Taken out by [`Watched::finish`]; the watchdog skips a stream without one.
    writer: Mutex<Option<SseWriter>>,
    abort: Abort,
    heartbeat: Duration,
    idle_timeout: Duration,
    /// Nanoseconds (see [`now`]) of the last write to the client and the last event from
    /// the backend.
    last_write: AtomicU64,
    last_event: AtomicU64,
    verdict: AtomicU8,
}

/// What the watchdog concluded, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Running = 0,
    /// A heartbeat could not be written: the client left; the upstream was aborted.
    ClientGone = 1,
    /// The backend was silent past its idle timeout; the upstream was aborted.
    TimedOut = 2,
}

impl Watched {
    /// Writes frames to the client (under the writer's lock, so heartbeats go between events).
    pub fn send(&self, frames: &[u8]) -> io::Result<()> {
        let mut writer = self.writer.lock();
        let writer = writer
            .as_mut()
            .ok_or_else(|| io::Error::other("the stream has ended"))?;
        writer.send(frames)?;
        self.last_write.store(now(), Ordering::Relaxed);
        Ok(())
    }

    /// Notes that the backend sent an event.
    pub fn event_arrived(&self) {
        self.last_event.store(now(), Ordering::Relaxed);
    }

    pub fn verdict(&self) -> Verdict {
        match self.verdict.load(Ordering::Acquire) {
            1 => Verdict::ClientGone,
            2 => Verdict::TimedOut,
            _ => Verdict::Running,
        }
    }

    /// Ends the watch and the response body.
    pub fn finish(self: &Arc<Self>) -> io::Result<()> {
        WATCHDOG.get_or_init(Watchdog::start).unwatch(self);
        match self.writer.lock().take() {
            Some(writer) => writer.finish(),
            None => Ok(()),
        }
    }

    /// Ends the watch without finishing the body (the client is gone).
    pub fn abandon(self: &Arc<Self>) {
        WATCHDOG.get_or_init(Watchdog::start).unwatch(self);
        drop(self.writer.lock().take());
    }

    /// The watchdog's look at this stream at `now`; returns when to look again.
    fn check(&self, now: u64) -> u64 {
        if self.verdict() != Verdict::Running {
            return u64::MAX;
        }
        let idle_deadline = self
            .last_event
            .load(Ordering::Relaxed)
            .saturating_add(nanos(self.idle_timeout));
        if now >= idle_deadline {
            self.conclude(Verdict::TimedOut);
            return u64::MAX;
        }
        let mut heartbeat_due = self
            .last_write
            .load(Ordering::Relaxed)
            .saturating_add(nanos(self.heartbeat));
        if now >= heartbeat_due {
            // A locked writer is busy with an event: no heartbeat needed.
            if let Some(mut writer) = self.writer.try_lock() {
                if let Some(writer) = writer.as_mut() {
                    if writer.send(sse::HEARTBEAT).is_err() {
                        self.conclude(Verdict::ClientGone);
                        return u64::MAX;
                    }
                }
                self.last_write.store(now, Ordering::Relaxed);
            }
            heartbeat_due = now.saturating_add(nanos(self.heartbeat));
        }
        heartbeat_due.min(idle_deadline)
    }

    fn conclude(&self, verdict: Verdict) {
        self.verdict.store(verdict as u8, Ordering::Release);
        self.abort.abort();
    }
}

/// Puts a stream under watch from now on.
pub fn watch(
    writer: SseWriter,
    abort: Abort,
    heartbeat: Duration,
    idle_timeout: Duration,
) -> Arc<Watched> {
    let start = now();
    let watched = Arc::new(Watched {
        writer: Mutex::new(Some(writer)),
        abort,
        heartbeat: heartbeat.max(Duration::from_millis(10)),
        idle_timeout,
        last_write: AtomicU64::new(start),
        last_event: AtomicU64::new(start),
        verdict: AtomicU8::new(Verdict::Running as u8),
    });
    WATCHDOG.get_or_init(Watchdog::start).watch(watched.clone());
    watched
}

/// How long a request may wait for its backend before its client is first looked at: most
/// answers begin sooner, and then the client is never probed.
const PENDING_GRACE: Duration = Duration::from_secs(1);

/// A request waiting for its backend's answer.
struct Pending {
    client: Arc<std::net::TcpStream>,
    upstream: Arc<RequestSocket>,
    since: u64,
    /// Held while the client's socket is probed (non-blocking for that moment); `true` once the
    /// request stopped waiting, after which the socket is left alone.
    probe: Mutex<bool>,
}

/// Watches the client of a request until the guard drops; meanwhile the backend requests this
/// thread makes are tracked, so that they can be cut.
pub fn watch_pending(client: Arc<std::net::TcpStream>) -> PendingWatch {
    let upstream = Arc::new(RequestSocket::default());
    let pending = Arc::new(Pending {
        client,
        upstream: upstream.clone(),
        since: now(),
        probe: Mutex::new(false),
    });
    WATCHDOG
        .get_or_init(Watchdog::start)
        .pending
        .lock()
        .push(pending.clone());
    PendingWatch {
        pending,
        _tracking: transport::track(upstream),
    }
}

pub struct PendingWatch {
    pending: Arc<Pending>,
    _tracking: Tracking,
}

impl PendingWatch {
    /// The client left, and the backend request was cut.
    pub fn client_left(&self) -> bool {
        self.pending.upstream.was_cut()
    }
}

impl Drop for PendingWatch {
    fn drop(&mut self) {
        // Waits out a probe in progress: the socket must be blocking again before it is used.
        *self.pending.probe.lock() = true;
        let mut pending = WATCHDOG.get_or_init(Watchdog::start).pending.lock();
        if let Some(i) = pending.iter().position(|p| Arc::ptr_eq(p, &self.pending)) {
            pending.swap_remove(i);
        }
    }
}

impl Pending {
    /// Looks at the client at `now` (after the grace period): cuts the backend request if the
    /// client has gone.
    fn check(&self, now: u64) {
        if now.saturating_sub(self.since) < nanos(PENDING_GRACE) || self.upstream.was_cut() {
            return;
        }
        let done = self.probe.lock();
        if *done {
            return;
        }
        if client_gone(&self.client) {
            log::debug!("the client left before the backend answered: cutting the request");
            self.upstream.cut();
        }
        drop(done);
    }
}

/// Whether a client's socket shows an end of stream or an error, without waiting or consuming
/// anything: pipelined bytes mean the client is still there.
fn client_gone(socket: &std::net::TcpStream) -> bool {
    if socket.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8];
    let gone = match socket.peek(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
        ),
    };
    let _ = socket.set_nonblocking(false);
    gone
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

struct Watchdog {
    /// Requests waiting for their backend: looked at every [`MAX_SLEEP`] at most, without a
    /// wake-up per request (that would cost every request a context switch).
    pending: Arc<Mutex<Vec<Arc<Pending>>>>,
    streams: Arc<Mutex<Vec<Arc<Watched>>>>,
    /// Wakes the watchdog when a stream is added (it may be due sooner than the others).
    added: Arc<Condvar>,
}

impl Watchdog {
    fn start() -> Watchdog {
        let streams: Arc<Mutex<Vec<Arc<Watched>>>> = Arc::default();
        let pending: Arc<Mutex<Vec<Arc<Pending>>>> = Arc::default();
        let added = Arc::new(Condvar::new());
        let (list, waiting, wake) = (streams.clone(), pending.clone(), added.clone());
        let spawned = std::thread::Builder::new()
            .name("stream-watchdog".into())
            .stack_size(256 * 1024)
            .spawn(move || run(&list, &waiting, &wake));
        if let Err(e) = spawned {
            // Streams still work; they only lose heartbeats and idle timeouts.
            log::error!("cannot start the stream watchdog: {e}");
        }
        Watchdog {
            pending,
            streams,
            added,
        }
    }

    fn watch(&self, watched: Arc<Watched>) {
        self.streams.lock().push(watched);
        self.added.notify_one();
    }

    fn unwatch(&self, watched: &Arc<Watched>) {
        let mut streams = self.streams.lock();
        if let Some(i) = streams.iter().position(|w| Arc::ptr_eq(w, watched)) {
            streams.swap_remove(i);
        }
    }
}

/// Longest sleep between looks, so that a stream added while the watchdog sleeps is looked at
/// on time even if the wake-up was missed.
const MAX_SLEEP: Duration = Duration::from_millis(250);

/// How long the watchdog sleeps with nothing to watch: a request that starts waiting for its
/// backend does not wake it, so this bounds how late its client is first looked at.
const IDLE_SLEEP: Duration = Duration::from_secs(1);

fn run(streams: &Mutex<Vec<Arc<Watched>>>, pending: &Mutex<Vec<Arc<Pending>>>, added: &Condvar) {
    let mut due: Vec<Arc<Watched>> = Vec::new();
    let mut waiting: Vec<Arc<Pending>> = Vec::new();
    loop {
        let now = now();
        due.clear();
        due.extend(streams.lock().iter().cloned());
        // Writes happen outside the list's lock: a slow client must not block `watch`.
        let next = due.iter().map(|w| w.check(now)).min().unwrap_or(u64::MAX);
        due.clear();
        waiting.clear();
        waiting.extend(pending.lock().iter().cloned());
        for request in &waiting {
            request.check(now);
        }
        let any_waiting = !waiting.is_empty();
        waiting.clear();
        let sleep = Duration::from_nanos(next.saturating_sub(self::now())).min(MAX_SLEEP);
        let mut list = streams.lock();
        if list.is_empty() && !any_waiting {
            added.wait_for(&mut list, IDLE_SLEEP);
        } else if !sleep.is_zero() {
            added.wait_for(&mut list, sleep.max(Duration::from_millis(1)));
        }
    }
}

/// Nanoseconds since the first call: cheap, monotonic timestamps that fit an atomic.
fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u64::MAX as u128) as u64
}
