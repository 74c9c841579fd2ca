//! The TCP transport under ureq for backend connections: ureq's own, minus the system calls a
//! busy gateway would pay on every request.
//!
//! ureq's TCP transport sends a request's head and body in two writes (the backend wakes up
//! twice), sets the socket's timeouts before each read and write (the remaining time changes
//! by microseconds between calls, so the call always happens), and probes a pooled connection
//! with a non-blocking read (two `ioctl`s and a `recv`) both when it returns to the pool and
//! when it is taken out. On a 2-core machine those ten system calls and the second wake-up
//! were a fifth of the CPU time of a proxied request. Here:
//! - writes are coalesced until the transport reads (a request's head and body go in one
//!   segment), up to [`COALESCE_LIMIT`];
//! - a socket timeout is only changed when the wanted one is shorter, or longer by more than
//!   a little slack (at most a second, an eighth of the wanted time);
//! - a connection used within [`FRESH`] counts as open without a probe: servers close idle
//!   keep-alive connections after seconds (uvicorn, llama.cpp and Node after 5 s), and one
//!   that closes it sooner says `Connection: close`, so ureq never pools it.
//!
//! Connection set-up, TLS (ureq's rustls connector wraps this one), proxies and
//! `Agent::shutdown` work as with ureq's own transport.
//!
//! It also tracks, per thread, the socket of the request being made ([`track`]), so that a
//! request can be cut short from another thread when its client leaves (see
//! `proxy::watchdog`).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::time::Duration as UreqDuration;
use ureq::unversioned::transport::{
    Buffers, ConnectProxyConnector, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout,
    RustlsConnector, ShutdownHandle, Transport,
};
use ureq::{Error, Timeout};

/// The backend socket a request is using, so that another thread can cut the request short
/// (shutting the socket down wakes a blocked read): how a client that leaves before the answer
/// stops the backend's work. Shared pooled connections make `Agent::shutdown` (every
/// connection of the agent) the wrong tool for one request.
#[derive(Default)]
pub struct RequestSocket {
    socket: parking_lot::Mutex<Option<Arc<TcpStream>>>,
    cut: std::sync::atomic::AtomicBool,
}

impl RequestSocket {
    /// Shuts the request's socket down, now or as soon as the request has one.
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(socket) = &*self.socket.lock() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn was_cut(&self) -> bool {
        self.cut.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The request is done with `socket` (its connection goes back to the pool): a later cut
    /// must not reach the next request on it. False if the request was cut meanwhile: the
    /// connection is shut down and must not be pooled.
    fn release(&self, socket: &Arc<TcpStream>) -> bool {
        let mut current = self.socket.lock();
        if self.was_cut() {
            return false;
        }
        if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, socket)) {
            *current = None;
        }
        true
    }

    fn using(&self, socket: &Arc<TcpStream>) {
        let mut current = self.socket.lock();
        if current.as_ref().is_some_and(|s| Arc::ptr_eq(s, socket)) {
            return;
        }
        *current = Some(socket.clone());
        if self.was_cut() {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

thread_local! {
    /// The [`RequestSocket`] of the request this thread is making, if it is tracked.
    static TRACKED: std::cell::RefCell<Option<Arc<RequestSocket>>> = const { std::cell::RefCell::new(None) };
}

/// Tracks the backend socket of the requests this thread makes until the guard drops.
pub fn track(socket: Arc<RequestSocket>) -> Tracking {
    TRACKED.with(|t| *t.borrow_mut() = Some(socket));
    Tracking(())
}

/// The [`RequestSocket`] this thread's requests are tracked with, tracking them from now on
/// (until the returned guard drops) if nothing did yet.
pub fn tracked() -> (Arc<RequestSocket>, Option<Tracking>) {
    match TRACKED.with(|t| t.borrow().clone()) {
        Some(socket) => (socket, None),
        None => {
            let socket = Arc::new(RequestSocket::default());
            (socket.clone(), Some(track(socket)))
        }
    }
}

pub struct Tracking(());

impl Drop for Tracking {
    fn drop(&mut self) {
        TRACKED.with(|t| *t.borrow_mut() = None);
    }
}

/// Output held back to go out with the next write, at most.
const COALESCE_LIMIT: usize = 8 * 1024;

/// A connection used this recently is taken to be open without probing it.
const FRESH: Duration = Duration::from_millis(500);

/// An agent whose plain TCP connections use [`LeanTcp`].
pub fn agent(config: ureq::config::Config) -> ureq::Agent {
    let connector =
        ().chain(ConnectProxyConnector::default())
            .chain(LeanTcpConnector)
            .chain(RustlsConnector::default());
    ureq::Agent::with_parts(
        config,
        connector,
        super::resolver::CachingResolver::default(),
    )
}

/// Opens [`LeanTcp`] connections (unless an earlier connector in the chain, a proxy, already
/// opened one).
#[derive(Debug)]
pub struct LeanTcpConnector;

impl<In: Transport> Connector<In> for LeanTcpConnector {
    type Out = Either<In, LeanTcp>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, Error> {
        if chained.is_some() {
            return Ok(chained.map(Either::A));
        }
        let config = &details.config;
        let stream = connect(details)?;
        if config.no_delay() {
            stream.set_nodelay(true)?;
        }
        let transport = LeanTcp {
            socket: Socket {
                stream: Arc::new(stream),
                read_timeout: None,
                write_timeout: None,
                last_io: Instant::now(),
            },
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            pending: Vec::new(),
            owner: None,
        };
        let handle: Weak<dyn ShutdownHandle> = Arc::downgrade(&transport.socket.stream) as _;
        (details.register_shutdown)(handle)?;
        Ok(Some(Either::B(transport)))
    }
}

/// Tries the resolved addresses in turn within the connect timeout.
fn connect(details: &ConnectionDetails) -> Result<TcpStream, Error> {
    let budget = details.timeout.not_zero().map(|d| *d);
    let deadline = budget.map(|b| Instant::now() + b);
    let mut last_error = None;
    for addr in details.addrs.iter() {
        let attempt = match deadline {
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::Timeout(Timeout::Connect));
                }
                TcpStream::connect_timeout(addr, left)
            }
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(stream) => return Ok(stream),
            Err(e) if is_timeout(&e) => last_error = Some(Error::Timeout(Timeout::Connect)),
            Err(e) => last_error = Some(Error::Io(e)),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Io(io::ErrorKind::AddrNotAvailable.into())))
}

/// A plain TCP connection to a backend.
pub struct LeanTcp {
    socket: Socket,
    buffers: LazyBuffers,
    /// Output not sent yet: it goes out with the next write or before the next read.
    pending: Vec<u8>,
    /// The tracked request using this connection, until the connection returns to the pool.
    owner: Option<Arc<RequestSocket>>,
}

/// The socket and what is known of its state.
struct Socket {
    /// Shared (weakly) with the agent so that `Agent::shutdown` can interrupt a blocked read.
    stream: Arc<TcpStream>,
    /// The socket's current timeouts (`None`: none set).
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    last_io: Instant,
}

impl fmt::Debug for LeanTcp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeanTcp")
            .field("peer", &self.socket.stream.peer_addr().ok())
            .finish()
    }
}

impl LeanTcp {
    fn send_pending(&mut self, timeout: NextTimeout) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.socket.write(&self.pending, timeout);
        self.pending.clear();
        result
    }
}

impl Socket {
    fn write(&mut self, data: &[u8], timeout: NextTimeout) -> Result<(), Error> {
        let timeout = timeout.for_write();
        let wanted = budget(&timeout)?;
        if needs_update(self.write_timeout, wanted) {
            self.stream.set_write_timeout(wanted)?;
            self.write_timeout = wanted;
        }
        (&*self.stream)
            .write_all(data)
            .map_err(|e| io_error(e, timeout.reason))?;
        self.last_io = Instant::now();
        Ok(())
    }

    fn read(&mut self, into: &mut [u8], timeout: NextTimeout) -> Result<usize, Error> {
        let timeout = timeout.for_read();
        let wanted = budget(&timeout)?;
        if needs_update(self.read_timeout, wanted) {
            self.stream.set_read_timeout(wanted)?;
            self.read_timeout = wanted;
        }
        loop {
            match (&*self.stream).read(into) {
                Ok(n) => {
                    self.last_io = Instant::now();
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_error(e, timeout.reason)),
            }
        }
    }
}

impl Transport for LeanTcp {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        TRACKED.with(|t| {
            if let Some(tracked) = &*t.borrow() {
                tracked.using(&self.socket.stream);
                if !self.owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, tracked)) {
                    self.owner = Some(tracked.clone());
                }
            }
        });
        let output = &self.buffers.output()[..amount];
        if self.pending.len() + amount <= COALESCE_LIMIT {
            self.pending.extend_from_slice(output);
            return Ok(());
        }
        if !self.pending.is_empty() {
            let result = self.socket.write(&self.pending, timeout);
            self.pending.clear();
            result?;
        }
        let output = &self.buffers.output()[..amount];
        self.socket.write(output, timeout)
    }

    // Overridden so that held-back output goes out even when buffered input means no read.
    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        if self.buffers.can_use_input() {
            self.send_pending(timeout)?;
            return Ok(true);
        }
        self.await_input(timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.send_pending(timeout)?;
        let amount = self.socket.read(self.buffers.input_append_buf(), timeout)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        // ureq asks when the connection goes back to the pool (and before it is reused): the
        // request that used it is done with it.
        if let Some(owner) = self.owner.take() {
            if !owner.release(&self.socket.stream) {
                return false;
            }
        }
        if self.socket.last_io.elapsed() < FRESH {
            return true;
        }
        probe(&self.socket.stream).unwrap_or(false)
    }
}

/// A connection is open if a non-blocking read finds nothing to read: not the end of the
/// stream, and no stray bytes after the last answer.
fn probe(mut stream: &TcpStream) -> io::Result<bool> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8];
    let open = matches!(stream.read(&mut byte), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false)?;
    Ok(open)
}

/// The time left for an operation: `None` for no limit, an error if none is left.
fn budget(timeout: &NextTimeout) -> Result<Option<Duration>, Error> {
    if timeout.after.is_zero() {
        return Err(Error::Timeout(timeout.reason));
    }
    Ok(timeout.not_zero().map(|d: UreqDuration| *d))
}

/// Whether the socket's timeout must change to honour `wanted`: always for a shorter one or a
/// change between limited and unlimited; for a longer one only past a little slack, so that
/// the remaining time of one call after another does not cost a system call each time.
fn needs_update(current: Option<Duration>, wanted: Option<Duration>) -> bool {
    match (current, wanted) {
        (None, None) => false,
        (Some(current), Some(wanted)) => {
            let slack = (wanted / 8).min(Duration::from_secs(1));
            current < wanted || current - wanted > slack
        }
        _ => true,
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

fn io_error(e: io::Error, reason: Timeout) -> Error {
    if is_timeout(&e) {
        Error::Timeout(reason)
    } else {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_timeouts_change_only_when_they_must() {
        let s = Duration::from_secs;
        assert!(!needs_update(None, None));
        assert!(needs_update(None, Some(s(600))));
        assert!(needs_update(Some(s(600)), None));
        // The remaining time of the next call: a little less than what is set.
        assert!(!needs_update(
            Some(s(600)),
            Some(s(600) - Duration::from_millis(3))
        ));
        // A longer wanted time is never cut short.
        assert!(needs_update(
            Some(s(600) - Duration::from_millis(3)),
            Some(s(600))
        ));
        // Far less left than set: the socket must not wait that long.
        assert!(needs_update(Some(s(600)), Some(s(30))));
        assert!(needs_update(Some(s(2)), Some(Duration::from_millis(1500))));
    }
}
