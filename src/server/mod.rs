//! tiny_http glue: the listener, admission and the request handlers' entry point.
//!
//! Each request is answered on the connection thread that read it: no hand-off between threads
//! on the way in (the largest cost of a proxied request on a small machine). Proxy requests
//! take a turn from [`Admission`] first (at most `server.workers` at once, `server.queueSize`
//! more waiting, the rest refused at once with 503, 529 for Anthropic clients, and
//! `Retry-After`); control requests (`/debug/*`, `/dashboard`, `/`) need no turn, so a busy
//! gateway can always be looked at.

pub mod admission;
pub mod body;
pub mod head;
pub mod metrics;
pub mod reply;
pub mod sse_writer;

use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};
use crate::state::State;
pub use admission::{Admission, Refusal};
pub use reply::Reply;

/// A request being handled, and the dialect its errors are rendered in. A handler takes the
/// request out when it answers; if the handler panics before that, the guard answers 500.
pub struct Exchange {
    pub request: Option<Request>,
    pub dialect: Option<Dialect>,
}

/// A running server; `shutdown` stops it in order.
pub struct Running {
    server: tiny_http::Server,
    pub addr: std::net::SocketAddr,
}

/// How long a client may take to send a request (head or body) before its read fails, and how
/// long a write to a client that stopped reading may block. Inherited by accepted sockets.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(120);

/// Binds the proxy port and starts serving.
pub fn start(state: Arc<State>) -> std::io::Result<Running> {
    let config = state.config();
    let listener = TcpListener::bind((config.server.bind.as_str(), config.server.port))?;
    let addr = listener.local_addr()?;
    tune_listener(&listener);
    let handler = move |request: Request| handle(request, &state);
    let server = tiny_http::Server::from_listener_with_handler(listener, Arc::new(handler))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Running { server, addr })
}

/// One request, on its connection's thread.
fn handle(request: Request, state: &State) {
    if !is_proxy_path(request.url()) {
        return guarded(request, None, |ex| crate::control::handle(state, ex));
    }
    match state.admission.enter() {
        Ok(_turn) => guarded(request, None, |ex| crate::proxy::handle(state, ex)),
        Err(Refusal::Full) => {
            let err = GatewayError::new(
                ErrorKind::Overloaded,
                "the gateway is at capacity; retry shortly",
            )
            .with_retry_after(1);
            Reply::error(dialect_of(request.url()), &err).send(request);
        }
        Err(Refusal::Closed) => {
            let err = GatewayError::new(ErrorKind::Overloaded, "the gateway is shutting down")
                .with_retry_after(1);
            Reply::error(dialect_of(request.url()), &err)
                .header("Connection", "close")
                .send(request);
        }
    }
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
/// answered yet, answered with a 500 in the client's dialect. The thread lives on.
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
        // Queued requests and new ones on kept-alive connections are refused from here on.
        state.admission.close();
        // Closes the listener: new connections are refused too.
        drop(self.server);
        let deadline = Instant::now() + grace;
        while state.books.snapshot().in_flight > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
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
