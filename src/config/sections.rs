//! The smaller config sections: `logging`, `server`, `auth` and `circuitBreaker`, each with its
//! defaults and its checks.

use std::time::Duration;

use serde_json::Value;

use super::{parse_level, FieldError, Secret};

#[derive(Debug, Clone)]
pub struct Logging {
    pub level: log::LevelFilter,
    pub include_body: bool,
    pub max_body_length: usize,
    /// One JSON object per request line instead of plain text.
    pub json: bool,
}

/// How failing backends are skipped for a while (DESIGN: circuit breaking).
#[derive(Debug, Clone)]
pub struct Breaker {
    /// Consecutive failures (requests or probes) that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit skips the backend before one trial request.
    pub cooldown: Duration,
}

impl Default for Breaker {
    fn default() -> Breaker {
        Breaker {
            failure_threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

/// Access control. Empty means open (fine on loopback; warned about elsewhere).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Keys clients must present (`Authorization: Bearer` or `x-api-key`) on proxy endpoints.
    pub api_keys: Vec<Secret>,
    /// Token required for every mutating control action.
    pub admin_token: Option<Secret>,
}

#[derive(Debug, Clone)]
pub struct Server {
    pub bind: String,
    pub port: u16,
    pub metrics_port: u16,
    /// Proxy requests (streams included) served at once: turns, not threads (see
    /// `server::admission`).
    pub workers: usize,
    /// Requests waiting for a turn before new ones get a 503.
    pub queue_size: usize,
    /// Accepted from older configs and shown, but unused: control requests need no turn.
    pub control_workers: usize,
    pub max_body_bytes: usize,
    pub shutdown_grace: Duration,
    /// How long a stream may be silent before the gateway writes a heartbeat comment (which is
    /// also how it notices a client that left).
    pub heartbeat: Duration,
}

pub(super) fn parse_logging(value: Option<Value>) -> Result<Logging, FieldError> {
    let mut logging = Logging {
        level: log::LevelFilter::Info,
        include_body: false,
        max_body_length: 1000,
        json: false,
    };
    let obj = match value {
        None | Some(Value::Null) => return Ok(logging),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(("logging".into(), "expected an object".into())),
    };
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("level", Value::String(level)) => {
                logging.level = parse_level(&level).ok_or_else(|| {
                    (
                        "logging.level".to_owned(),
                        format!("expected error, warn, info, debug or trace, got {level:?}"),
                    )
                })?
            }
            ("includeBody", Value::Bool(b)) => logging.include_body = b,
            ("format", Value::String(f)) if f == "json" || f == "plain" => {
                logging.json = f == "json"
            }
            ("format", _) => {
                return Err((
                    "logging.format".into(),
                    "expected \"plain\" or \"json\"".into(),
                ))
            }
            ("maxBodyLength", Value::Number(n)) if n.as_u64().is_some() => {
                logging.max_body_length = n.as_u64().unwrap_or(1000) as usize
            }
            ("level" | "includeBody" | "maxBodyLength", _) => {
                return Err((format!("logging.{key}"), "has the wrong type".into()))
            }
            _ => log::debug!("config: unknown field logging.{key} kept aside"),
        }
    }
    Ok(logging)
}

pub(super) fn parse_breaker(value: Option<Value>) -> Result<Breaker, FieldError> {
    let mut breaker = Breaker::default();
    let obj = match value {
        None | Some(Value::Null) => return Ok(breaker),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(("circuitBreaker".into(), "expected an object".into())),
    };
    for (key, value) in obj {
        match key.as_str() {
            "failureThreshold" => {
                breaker.failure_threshold = value
                    .as_u64()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        (
                            "circuitBreaker.failureThreshold".to_owned(),
                            "expected a whole number from 1 to 1000".to_owned(),
                        )
                    })? as u32
            }
            "cooldownSecs" => {
                breaker.cooldown = value
                    .as_f64()
                    .filter(|s| *s > 0.0 && *s < 86400.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        (
                            "circuitBreaker.cooldownSecs".to_owned(),
                            "expected a positive number of seconds".to_owned(),
                        )
                    })?
            }
            _ => log::debug!("config: unknown field circuitBreaker.{key} kept aside"),
        }
    }
    Ok(breaker)
}

pub(super) fn parse_auth(value: Option<Value>) -> Result<Auth, FieldError> {
    let mut auth = Auth::default();
    let obj = match value {
        None | Some(Value::Null) => return Ok(auth),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(("auth".into(), "expected an object".into())),
    };
    for (key, value) in obj {
        match (key.as_str(), value) {
            ("apiKeys", Value::Array(keys)) => {
                for (i, key) in keys.into_iter().enumerate() {
                    match key {
                        Value::String(k) if !k.is_empty() => auth.api_keys.push(Secret::new(k)),
                        _ => {
                            return Err((
                                format!("auth.apiKeys[{i}]"),
                                "expected a non-empty string".into(),
                            ))
                        }
                    }
                }
            }
            ("apiKeys", _) => {
                return Err(("auth.apiKeys".into(), "expected an array of strings".into()))
            }
            ("adminToken", Value::String(t)) if !t.is_empty() => {
                auth.admin_token = Some(Secret::new(t))
            }
            ("adminToken", Value::Null) => {}
            ("adminToken", _) => {
                return Err((
                    "auth.adminToken".into(),
                    "expected a non-empty string".into(),
                ))
            }
            ("adminTokenEnv", Value::String(var)) => {
                if auth.admin_token.is_none() {
                    auth.admin_token = std::env::var(&var)
                        .ok()
                        .filter(|t| !t.is_empty())
                        .map(Secret::new);
                }
            }
            _ => log::debug!("config: unknown field auth.{key} kept aside"),
        }
    }
    Ok(auth)
}

pub(super) fn parse_server(value: Option<Value>) -> Result<Server, FieldError> {
    let mut server = Server {
        bind: "0.0.0.0".into(),
        port: 8080,
        metrics_port: 9090,
        workers: 32,
        queue_size: 64,
        control_workers: 2,
        max_body_bytes: 32 * 1024 * 1024,
        shutdown_grace: Duration::from_secs(30),
        heartbeat: Duration::from_millis(500),
    };
    let obj = match value {
        None | Some(Value::Null) => return Ok(server),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(("server".into(), "expected an object".into())),
    };
    for (key, value) in obj {
        let field = format!("server.{key}");
        let count = |v: &Value, min: u64, max: u64| -> Result<u64, FieldError> {
            v.as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    (
                        field.clone(),
                        format!("expected a whole number from {min} to {max}"),
                    )
                })
        };
        let secs = |v: &Value| -> Result<Duration, FieldError> {
            v.as_f64()
                .filter(|s| *s > 0.0 && *s < 1e6)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    (
                        field.clone(),
                        "expected a positive number of seconds".into(),
                    )
                })
        };
        match key.as_str() {
            "bind" => {
                server.bind = value
                    .as_str()
                    .ok_or_else(|| (field.clone(), "expected an address string".to_owned()))?
                    .to_owned()
            }
            "port" => server.port = count(&value, 0, 65535)? as u16,
            "metricsPort" => server.metrics_port = count(&value, 0, 65535)? as u16,
            "workers" => server.workers = count(&value, 1, 4096)? as usize,
            "queueSize" => server.queue_size = count(&value, 0, 1_000_000)? as usize,
            "controlWorkers" => server.control_workers = count(&value, 1, 64)? as usize,
            "maxBodyBytes" => server.max_body_bytes = count(&value, 1024, 1 << 30)? as usize,
            "shutdownGraceSecs" => server.shutdown_grace = secs(&value)?,
            "heartbeatSecs" => server.heartbeat = secs(&value)?,
            _ => log::debug!("config: unknown field server.{key} kept aside"),
        }
    }
    Ok(server)
}
