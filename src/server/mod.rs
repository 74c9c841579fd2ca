//! tiny_http glue: the listener, the dispatcher and the two worker pools.
//!
//! One dispatcher thread takes requests from tiny_http and sorts them: control requests
//! (`/debug/*`, `/dashboard`, `/`) go to a small control pool that is never starved; proxy
//! requests go to a bounded queue in front of the proxy pool, and when that queue is full the
//! client gets an immediate 503 (529 for Anthropic clients) with `Retry-After`.

pub mod body;
pub mod metrics;
pub mod reply;
pub mod sse_writer;

use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender, TrySendError};
use tiny_http::Request;

use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};
use crate::state::State;
pub use reply::Reply;

/// A request being handled, and the dialect its errors are rendered in. A handler takes the
/// request out when it answers; if the handler panics before that, the guard answers 500.
pub struct Exchange {
    pub request: Option<Request>,
    pub dialect: Option<Dialect>,
}

/// Work for the control pool.
enum ControlJob {
    Handle(Request),
    /// A proxy request that found the proxy queue full.
    Reject(Request),
}

/// A running server; `shutdown` stops it in order.
pub struct Running {
    server: Arc<tiny_http::Server>,
    dispatcher: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
    pub addr: std::net::SocketAddr,
}

/// How long a client may take to send a request (head or body) before its read fails, and how
/// long a write to a client that stopped reading may block. Inherited by accepted sockets.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(120);

/// Binds the proxy port and starts the dispatcher and both pools.
pub fn start(state: Arc<State>) -> std::io::Result<Running> {
    let config = state.config();
    let listener = TcpListener::bind((config.server.bind.as_str(), config.server.port))?;
    let addr = listener.local_addr()?;
    tune_listener(&listener);
    let server = Arc::new(
        tiny_http::Server::from_listener(listener, None)
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    );

    let (proxy_tx, proxy_rx) = bounded::<Request>(config.server.queue_size);
    let _ = state.proxy_queue.set(proxy_rx.clone());
    let (control_tx, control_rx) = bounded::<ControlJob>(256);
    let mut workers = Vec::new();
    for i in 0..config.server.workers {
        let rx = proxy_rx.clone();
        let state = state.clone();
        workers.push(spawn_worker(format!("proxy-{i}"), move || {
            for request in rx.iter() {
                guarded(request, None, |ex| crate::proxy::handle(&state, ex));
            }
        })?);
    }
    for i in 0..config.server.control_workers {
        let rx = control_rx.clone();
        let state = state.clone();
        workers.push(spawn_worker(format!("control-{i}"), move || {
            for job in rx.iter() {
                match job {
                    ControlJob::Handle(request) => {
                        guarded(request, None, |ex| crate::control::handle(&state, ex))
                    }
                    ControlJob::Reject(request) => reject_overloaded(request),
                }
            }
        })?);
    }
    let dispatcher = {
        let server = server.clone();
        let state = state.clone();
        thread::Builder::new()
            .name("dispatcher".into())
            .spawn(move || dispatch(&server, &state, proxy_tx, control_tx))?
    };
    Ok(Running {
        server,
        dispatcher,
        workers,
        addr,
    })
}

fn spawn_worker(
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    // Deep JSON is parsed (serde_json stops at 128 levels) and dropped recursively: 1 MiB is
    // ample, and only the touched pages count towards memory.
    thread::Builder::new()
        .name(name)
        .stack_size(1 << 20)
        .spawn(body)
}

/// The dispatcher loop: sorts requests until the server is unblocked for shutdown.
fn dispatch(
    server: &tiny_http::Server,
    state: &State,
    proxy: Sender<Request>,
    control: Sender<ControlJob>,
) {
    loop {
        let request = match server.recv() {
            Ok(request) => request,
            Err(e) => {
                if state.is_shutting_down() {
                    break;
                }
                log::warn!("accepting a request failed: {e}");
                continue;
            }
        };
        if state.is_shutting_down() {
            let err = GatewayError::new(ErrorKind::Overloaded, "the gateway is shutting down")
                .with_retry_after(1);
            Reply::error(dialect_of(request.url()), &err)
                .header("Connection", "close")
                .send(request);
            continue;
        }
        if is_proxy_path(request.url()) {
            match proxy.try_send(request) {
                Ok(()) => {}
                Err(TrySendError::Full(request)) => {
                    // Answer from the control pool: the reply waits for tiny_http to drain the
                    // unread body, which must not stall the dispatcher.
                    if let Err(e) = control.try_send(ControlJob::Reject(request)) {
                        if let ControlJob::Reject(request) = e.into_inner() {
                            reject_overloaded(request);
                        }
                    }
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        } else if let Err(e) = control.try_send(ControlJob::Handle(request)) {
            if let ControlJob::Handle(request) = e.into_inner() {
                Reply::error(None, &overloaded()).send(request);
            }
        }
    }
}

fn overloaded() -> GatewayError {
    GatewayError::new(
        ErrorKind::Overloaded,
        "the gateway is at capacity; retry shortly",
    )
    .with_retry_after(1)
}

fn reject_overloaded(request: Request) {
    let dialect = dialect_of(request.url());
    Reply::error(dialect, &overloaded()).send(request);
}

/// Proxy paths: `/v1/...` and `/{backend}/v1/...`.
pub fn is_proxy_path(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    if path.starts_with("/v1/") {
        return true;
    }
    match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((name, rest)) => !name.is_empty() && name != "debug" && rest.starts_with("v1/"),
        None => false,
    }
}

/// The dialect of a proxy URL, pinned or not.
pub fn dialect_of(url: &str) -> Option<Dialect> {
    let path = url.split('?').next().unwrap_or(url);
    let api_path = match path.find("/v1/") {
        Some(i) => &path[i..],
        None => path,
    };
    Dialect::from_path(api_path).or_else(|| {
        api_path
            .starts_with("/v1/messages/")
            .then_some(Dialect::Anthropic)
    })
}

/// Runs a handler with panic protection: a panic is logged and, if the request has not been
/// answered yet, answered with a 500 in the client's dialect. The worker lives on.
pub fn guarded(request: Request, dialect: Option<Dialect>, handler: impl FnOnce(&mut Exchange)) {
    let mut exchange = Exchange {
        request: Some(request),
        dialect,
    };
    if panic::catch_unwind(AssertUnwindSafe(|| handler(&mut exchange))).is_err() {
        if let Some(request) = exchange.request.take() {
            let err =
                GatewayError::internal("the gateway hit an internal error handling this request");
            Reply::error(exchange.dialect, &err).send(request);
        }
    }
}

/// Socket options for every accepted connection, set once on the listener (Linux copies them to
/// accepted sockets): no Nagle delay for streamed events, and bounded blocking reads and writes.
fn tune_listener(listener: &TcpListener) {
    use std::os::fd::AsRawFd;
    let fd = listener.as_raw_fd();
    let timeout = libc::timeval {
        tv_sec: SOCKET_TIMEOUT.as_secs() as _,
        tv_usec: 0,
    };
    let ok = set_option(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_NODELAY,
        &(1 as libc::c_int),
    ) && set_option(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, &timeout)
        && set_option(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout);
    if !ok {
        log::warn!(
            "could not set socket options: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// `setsockopt` with a typed value; false on failure (errno says why).
fn set_option<T>(fd: std::os::fd::RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> bool {
    // SAFETY: a valid fd and a pointer to a live value of exactly the size passed.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        ) == 0
    }
}

impl Running {
    /// Stops taking requests, waits up to `grace` for requests in flight, then returns.
    pub fn shutdown(self, state: &State, grace: Duration) {
        state.begin_shutdown();
        self.server.unblock();
        let _ = self.dispatcher.join();
        // Closes the listener: new connections are refused from here on.
        drop(self.server);
        // The dispatcher dropped the senders: workers finish their queue and their stream, then
        // exit. Wait for them, but not past the grace period.
        let deadline = Instant::now() + grace;
        for worker in self.workers {
            while !worker.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
        }
        let left = state.books.snapshot().in_flight;
        if left > 0 {
            log::warn!("shutdown: {left} request(s) still in flight after the grace period");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_are_told_apart() {
        assert!(is_proxy_path("/v1/chat/completions"));
        assert!(is_proxy_path("/local/v1/messages?beta=true"));
        assert!(!is_proxy_path("/debug/v1/x"));
        assert!(!is_proxy_path("/dashboard"));
        assert!(!is_proxy_path("/"));
        assert_eq!(
            dialect_of("/local/v1/messages?beta=true"),
            Some(Dialect::Anthropic)
        );
        assert_eq!(
            dialect_of("/v1/messages/count_tokens"),
            Some(Dialect::Anthropic)
        );
        assert_eq!(dialect_of("/v1/responses"), Some(Dialect::Responses));
        assert_eq!(dialect_of("/v1/models"), None);
    }
}
