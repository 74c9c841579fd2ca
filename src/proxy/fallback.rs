//! Sending a request to its backend, and on to the next one in its fallback list when it fails
//! before answering: connect errors, timeouts before the first byte, 5xx, 429 and 529. Nothing
//! has reached the client at that point, so a fallback is invisible to it but for the
//! `X-Fallback-From` header. Circuit breakers skip backends that keep failing.

use super::watchdog::PendingWatch;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::error::{ErrorKind, GatewayError};
use crate::state::State;
use crate::upstream::breaker::Admission;
use crate::upstream::{self, ClientHeaders, Upstream};

use super::incoming::Incoming;
use super::plan::{plan, Planned};

/// The most backends one request tries.
const MAX_ATTEMPTS: usize = 4;

/// A backend that answered (with any status the client should see).
pub struct Attempt {
    pub upstream: Arc<Upstream>,
    pub planned: Planned,
    pub response: upstream::Response,
    /// The backends tried before, in order.
    pub fallback_from: Vec<String>,
}

/// The backends to try for a request first routed to `first`: it, its own `fallback` list,
/// then the global `fallback` list; no repeats, at most `MAX_ATTEMPTS`.
pub fn candidates(config: &Config, first: &str) -> Vec<String> {
    let mut names = vec![first.to_owned()];
    let own = config
        .backend(first)
        .map(|b| b.fallback.as_slice())
        .unwrap_or(&[]);
    for name in own.iter().chain(&config.fallback) {
        if !names.contains(name) && config.backend(name).is_some() {
            names.push(name.clone());
        }
    }
    names.truncate(MAX_ATTEMPTS);
    names
}

/// The status booked for a request whose client left before the answer (nginx's "client closed
/// request").
pub const CLIENT_LEFT: u16 = 499;

/// Whether a backend's status means "try another backend".
fn retryable(status: u16) -> bool {
    status == 429 || status == 529 || (500..=599).contains(&status)
}

/// Sends to the first candidate that answers usefully. The last candidate's answer or error
/// stands, whatever it is.
pub fn send(
    state: &State,
    incoming: &mut Incoming,
    candidates: &[String],
    client: &ClientHeaders,
    watch: Option<&PendingWatch>,
) -> Result<Attempt, GatewayError> {
    let config = state.config();
    let upstreams = state.upstreams();
    let mut fallback_from = Vec::new();
    // Backends whose circuit is open are tried only if nothing else is left.
    let mut order: Vec<&String> = candidates
        .iter()
        .filter(|n| !state.breakers.is_open(n))
        .collect();
    if order.is_empty() {
        order = candidates.iter().collect();
    }
    let mut last_error = None;
    for (i, name) in order.iter().enumerate() {
        let is_last = i + 1 == order.len();
        let upstream = upstreams
            .get(name)
            .ok_or_else(|| GatewayError::internal(format!("backend {name} has no upstream")))?;
        let backend = upstream.backend();
        let planned = plan(incoming, backend)?;
        match state.breakers.admit(name) {
            Admission::Trial => {
                log::info!("backend {name}: circuit half-open, sending a trial request")
            }
            // Another request took the one trial since the filter above: leave it that trial.
            Admission::Open if !is_last => {
                fallback_from.push((*name).clone());
                continue;
            }
            Admission::Open | Admission::Closed => {}
        }
        let result = upstream.send(&upstream::Request {
            path: &planned.path,
            body: planned.body.as_deref().unwrap_or(&incoming.body),
            stream: incoming.stream,
            dialect: planned.backend_dialect,
            client,
        });
        match result {
            Ok(response) if retryable(response.status) && !is_last => {
                if let Some(wait) = retry_after(&response) {
                    state.breakers.hold(name, wait);
                } else {
                    state.breakers.failure(name, &config.circuit_breaker);
                }
                log::warn!(
                    "backend {name} answered {}; trying the next backend",
                    response.status
                );
                // Read the answer to the end so the connection can be reused.
                let mut body = response.body;
                let _ = upstream::read_capped(&mut body, 1024 * 1024);
            }
            Ok(response) => {
                if response.status >= 500 || response.status == 429 {
                    match retry_after(&response) {
                        Some(wait) => state.breakers.hold(name, wait),
                        None => state.breakers.failure(name, &config.circuit_breaker),
                    }
                } else {
                    state.breakers.success(name);
                }
                return Ok(Attempt {
                    upstream,
                    planned,
                    response,
                    fallback_from,
                });
            }
            // Cut because the client left: no fault of the backend's, and nobody to answer.
            Err(_) if watch.is_some_and(PendingWatch::client_left) => {
                return Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    "the client left before the backend answered",
                )
                .with_status(CLIENT_LEFT))
            }
            Err(err) => {
                if matches!(err.kind, ErrorKind::BadGateway | ErrorKind::Timeout) {
                    state.breakers.failure(name, &config.circuit_breaker);
                }
                if is_last || !matches!(err.kind, ErrorKind::BadGateway | ErrorKind::Timeout) {
                    return Err(err);
                }
                log::warn!("{}; trying the next backend", err.message);
                last_error = Some(err);
            }
        }
        state.books.record_fallback(name);
        fallback_from.push((*name).clone());
    }
    Err(last_error.unwrap_or_else(|| GatewayError::internal("no backend to try")))
}

/// The `Retry-After` of an answer, in seconds (the HTTP-date form is not used by LLM APIs).
fn retry_after(response: &upstream::Response) -> Option<Duration> {
    response
        .headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .and_then(|(_, v)| v.trim().parse::<f64>().ok())
        .filter(|s| *s >= 0.0 && s.is_finite())
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Source};

    #[test]
    fn candidates_follow_own_then_global_lists() {
        let config = Config::parse(
            r#"{"backends": {"a": {"url": "http://a", "fallback": ["b", "c"]}, "b": "http://b",
                "c": "http://c", "d": "http://d", "e": "http://e"}, "fallback": ["c", "d", "e"]}"#,
            Source::BuiltIn,
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(candidates(&config, "a"), vec!["a", "b", "c", "d"]);
        assert_eq!(candidates(&config, "b"), vec!["b", "c", "d", "e"]);
        assert_eq!(candidates(&config, "e"), vec!["e", "c", "d"]);
    }

    #[test]
    fn retryable_statuses() {
        for s in [429, 500, 502, 503, 504, 529] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 400, 401, 404, 413] {
            assert!(!retryable(s), "{s}");
        }
    }
}
