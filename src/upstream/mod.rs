//! Backends as the proxy sees them: send a request, get a status, headers and a body to read.
//!
//! HTTP backends and the built-in demo backend sit behind the same interface, so everything
//! downstream (passthrough, conversion, streaming, the books) treats them alike.

pub mod breaker;
pub mod demo;
pub mod health;
pub mod http;
pub mod resolver;
pub mod transport;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use crate::config::{Backend, BackendKind, Config};
use crate::dialect::Dialect;
use crate::error::GatewayError;

/// Credentials and protocol headers the client sent, some of which are passed on.
#[derive(Debug, Clone, Default)]
pub struct ClientHeaders {
    pub authorization: Option<String>,
    pub x_api_key: Option<String>,
    pub anthropic_version: Option<String>,
    pub anthropic_beta: Option<String>,
}

/// A request to a backend, already in the backend's dialect.
pub struct Request<'a> {
    /// Path and query to append to the backend URL (`/v1/messages?beta=true`).
    pub path: &'a str,
    pub body: &'a [u8],
    pub stream: bool,
    /// The dialect of `body` (a demo backend answers in it).
    pub dialect: Dialect,
    pub client: &'a ClientHeaders,
}

/// A backend's answer. The body is read by the caller (to the end, so the connection returns
/// to the pool).
pub struct Response {
    pub status: u16,
    /// Headers worth passing back to the client (content type, retry-after, rate limits).
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
    /// Interrupts the body read from another thread.
    pub abort: Abort,
}

/// Stops an upstream request in flight from another thread: its socket is shut down and a
/// blocked read returns. The request's connection alone is closed (`ureq::Agent::shutdown`
/// would close every connection of the shared agent); a request read to its end leaves its
/// connection in the pool as usual.
#[derive(Clone, Default)]
pub struct Abort(Option<Arc<transport::RequestSocket>>);

impl Abort {
    pub fn new(socket: Arc<transport::RequestSocket>) -> Abort {
        Abort(Some(socket))
    }

    pub fn abort(&self) {
        if let Some(socket) = &self.0 {
            socket.cut();
        }
    }
}

/// A ready-to-use backend.
// Built once per config and shared behind an `Arc`: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Upstream {
    Http(http::HttpUpstream),
    Demo(demo::Demo),
}

impl Upstream {
    pub fn new(backend: &Backend) -> Upstream {
        match backend.kind {
            BackendKind::Http(_) => Upstream::Http(http::HttpUpstream::new(backend.clone())),
            BackendKind::Demo => Upstream::Demo(demo::Demo::new(backend.clone())),
        }
    }

    pub fn send(&self, request: &Request<'_>) -> Result<Response, GatewayError> {
        match self {
            Upstream::Http(http) => http.send(request),
            Upstream::Demo(demo) => demo.send(request),
        }
    }

    pub fn backend(&self) -> &Backend {
        match self {
            Upstream::Http(http) => &http.backend,
            Upstream::Demo(demo) => &demo.backend,
        }
    }
}

/// Every configured backend by name, built once per config.
pub struct Upstreams {
    by_name: HashMap<String, Arc<Upstream>>,
}

impl Upstreams {
    pub fn new(config: &Config) -> Upstreams {
        let by_name = config
            .backends
            .iter()
            .map(|b| (b.name.clone(), Arc::new(Upstream::new(b))))
            .collect();
        Upstreams { by_name }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Upstream>> {
        self.by_name.get(name).cloned()
    }
}

/// Reads a whole body, failing past `limit` bytes.
pub fn read_capped(body: &mut dyn Read, limit: usize) -> std::io::Result<Vec<u8>> {
    // Through a chunk on the stack: `read_to_end` zeroes its spare capacity before every read
    // of a `dyn Read`, and grows an empty vector from 32 bytes, one read through every layer
    // of the body reader per doubling.
    let mut chunk = [0u8; 4096];
    let mut out = Vec::new();
    loop {
        let n = match body.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("the backend's response is larger than {limit} bytes"),
            ));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::read_capped;

    #[test]
    fn bodies_are_read_whole_up_to_the_limit() {
        let body: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(read_capped(&mut &body[..], 10_000).unwrap(), body);
        assert!(read_capped(&mut &body[..], 9_999).is_err());
        assert!(read_capped(&mut &b""[..], 0).unwrap().is_empty());
    }
}
