//! Configuration: the config file, environment and flags resolved into one validated [`Config`].
//!
//! Two stages: the JSON is read as it was written (the seed's format, where a backend may be a
//! plain URL string), then every field is checked and resolved into typed values. An error names
//! the file and the field. Sections this module does not own (`smartRouter`, `auth`, ...) are
//! kept as JSON for the parts of the gateway that read them; unknown fields are never fatal.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::dialect::Dialect;

/// Where the running config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    /// No file was found: the built-in defaults.
    BuiltIn,
}

/// A secret value (an API key). Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// How a backend is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// An HTTP server speaking one dialect.
    Http(Dialect),
    /// The built-in demo backend, which speaks every dialect.
    Demo,
}

/// One configured backend.
#[derive(Debug, Clone)]
pub struct Backend {
    pub name: String,
    /// Base URL without a trailing slash (`http://host:port` or with a path prefix).
    pub url: String,
    pub kind: BackendKind,
    pub api_key: Option<Secret>,
    /// Extra headers sent with every request to this backend.
    pub headers: Vec<(String, String)>,
    /// A model to send when the client named the backend instead of a model.
    pub model: Option<String>,
    pub connect_timeout: Duration,
    /// Time allowed until the response head arrives (local models may think for minutes).
    pub first_byte_timeout: Duration,
    /// Time allowed between two reads of a streamed body.
    pub idle_timeout: Duration,
    /// Backends to try, in order, when this one fails before answering.
    pub fallback: Vec<String>,
    /// Fields this module does not know (`specialties`, `contextWindow`, ...), as given.
    pub extra: Map<String, Value>,
}

impl Backend {
    /// The dialect the backend speaks natively, or `None` for the demo (speaks all).
    pub fn dialect(&self) -> Option<Dialect> {
        match self.kind {
            BackendKind::Http(dialect) => Some(dialect),
            BackendKind::Demo => None,
        }
    }

    /// Whether a client of `dialect` can be forwarded to this backend unchanged.
    pub fn speaks(&self, dialect: Dialect) -> bool {
        self.dialect().is_none_or(|d| d == dialect)
    }
}

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
    /// Proxy worker threads: the number of requests (streams included) served at once.
    pub workers: usize,
    /// Requests waiting for a proxy worker before new ones get a 503.
    pub queue_size: usize,
    pub control_workers: usize,
    pub max_body_bytes: usize,
    pub shutdown_grace: Duration,
    /// How long a stream may be silent before the gateway writes a heartbeat comment (which is
    /// also how it notices a client that left).
    pub heartbeat: Duration,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub backends: Vec<Backend>,
    pub default_backend: String,
    pub logging: Logging,
    pub server: Server,
    pub auth: Auth,
    /// Backends every backend falls back to after its own `fallback` list.
    pub fallback: Vec<String>,
    pub circuit_breaker: Breaker,
    /// Top-level sections owned by other parts of the gateway (`smartRouter`, ...).
    pub extra: Map<String, Value>,
    pub source: Source,
    /// The JSON as written (secrets included), the base for partial updates.
    pub raw: Raw,
}

/// The config JSON as written. Holds secrets, so its `Debug` shows none of it.
#[derive(Clone, Default)]
pub struct Raw(pub Value);

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Raw([config JSON as written])")
    }
}

/// Values from the command line and environment that override the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub port: Option<u16>,
    pub metrics_port: Option<u16>,
    pub bind: Option<String>,
    pub workers: Option<usize>,
    pub log_level: Option<String>,
    /// Make the built-in demo backend the default (adding it if absent).
    pub demo: bool,
}

/// A config that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `environment`, `command line`, `built-in defaults`).
    pub origin: String,
    /// The field, as a dotted path (`backends.local.url`).
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}: {}: {}", self.origin, self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// The config used when no file exists: the seed's two backends plus the demo backend.
pub const BUILT_IN: &str = r#"{
  "backends": {
    "local": "http://localhost:8001",
    "anthropic": "https://api.anthropic.com",
    "demo": "demo://"
  },
  "defaultBackend": "local"
}"#;

pub const DEFAULT_CONFIG_PATH: &str = "/config/config.json";

impl Config {
    /// Loads the config from `path` (a missing file means the built-in defaults, reported in
    /// `source`), applies environment and flag overrides and validates the result.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, Source::File(path.to_owned()), overrides),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Config::parse(BUILT_IN, Source::BuiltIn, overrides)
            }
            Err(e) => Err(ConfigError {
                origin: path.display().to_string(),
                field: String::new(),
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses and validates config text.
    pub fn parse(text: &str, source: Source, overrides: &Overrides) -> Result<Config, ConfigError> {
        let origin = match &source {
            Source::File(path) => path.display().to_string(),
            Source::BuiltIn => "built-in defaults".to_owned(),
        };
        let err = |field: &str, message: String| ConfigError {
            origin: origin.clone(),
            field: field.to_owned(),
            message,
        };
        let root: Value = serde_json::from_str(text).map_err(|e| {
            err(
                "",
                format!(
                    "not valid JSON: {e} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let raw = Raw(root.clone());
        let Value::Object(mut root) = root else {
            return Err(err("", "expected a JSON object at the top level".into()));
        };

        let backends = match root.remove("backends") {
            Some(Value::Object(map)) => map,
            Some(_) => return Err(err("backends", "expected an object of name: url".into())),
            None => Map::new(),
        };
        let mut parsed = Vec::with_capacity(backends.len());
        for (name, value) in backends {
            parsed.push(parse_backend(&name, value).map_err(|(field, msg)| err(&field, msg))?);
        }

        let logging = parse_logging(root.remove("logging")).map_err(|(f, m)| err(&f, m))?;
        let server = parse_server(root.remove("server")).map_err(|(f, m)| err(&f, m))?;
        let auth = parse_auth(root.remove("auth")).map_err(|(f, m)| err(&f, m))?;
        let fallback = match root.remove("fallback") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => names_list(&value)
                .ok_or_else(|| err("fallback", "expected a list of backend names".into()))?,
        };
        let circuit_breaker =
            parse_breaker(root.remove("circuitBreaker")).map_err(|(f, m)| err(&f, m))?;
        let default_backend = match root.remove("defaultBackend") {
            Some(Value::String(name)) => name,
            Some(_) => return Err(err("defaultBackend", "expected a backend name".into())),
            None => parsed.first().map(|b| b.name.clone()).unwrap_or_default(),
        };

        let mut config = Config {
            backends: parsed,
            default_backend,
            logging,
            server,
            auth,
            fallback,
            circuit_breaker,
            extra: root,
            source,
            raw,
        };
        if let Some(section) = config.extra.get("smartRouter") {
            crate::route::smart::validate(section)
                .map_err(|(field, message)| err(&field, message))?;
        }
        config.apply(overrides)?;

        config.validate().map_err(|(field, msg)| err(&field, msg))?;
        Ok(config)
    }

    /// Applies environment variables and flags (flags win over the environment).
    fn apply(&mut self, overrides: &Overrides) -> Result<(), ConfigError> {
        let env_err = |name: &str, value: &str| ConfigError {
            origin: "environment".into(),
            field: name.into(),
            message: format!("expected a port number (1-65535), got {value:?}"),
        };
        if let Ok(value) = std::env::var("PROXY_PORT") {
            self.server.port = parse_port(&value).ok_or_else(|| env_err("PROXY_PORT", &value))?;
        }
        if let Ok(value) = std::env::var("METRICS_PORT") {
            self.server.metrics_port =
                parse_port(&value).ok_or_else(|| env_err("METRICS_PORT", &value))?;
        }
        if let Some(port) = overrides.port {
            self.server.port = port;
        }
        if let Some(port) = overrides.metrics_port {
            self.server.metrics_port = port;
        }
        if let Some(bind) = &overrides.bind {
            self.server.bind = bind.clone();
        }
        if let Some(workers) = overrides.workers {
            self.server.workers = workers;
        }
        if let Some(level) = &overrides.log_level {
            self.logging.level = parse_level(level).ok_or_else(|| ConfigError {
                origin: "command line".into(),
                field: "--log-level".into(),
                message: format!("expected off, error, warn, info, debug or trace, got {level:?}"),
            })?;
        }
        if overrides.demo {
            if !self.backends.iter().any(|b| b.kind == BackendKind::Demo) {
                self.backends
                    .push(parse_backend("demo", Value::String("demo://".into())).expect("valid"));
            }
            let demo = self.backends.iter().find(|b| b.kind == BackendKind::Demo);
            self.default_backend = demo.expect("just added").name.clone();
        }
        // The seed reads the Anthropic key from the environment.
        if let Ok(key) = std::env::var("ANTHROPIC_API_KEY") {
            if !key.is_empty() {
                for backend in &mut self.backends {
                    if backend.kind == BackendKind::Http(Dialect::Anthropic)
                        && backend.api_key.is_none()
                    {
                        backend.api_key = Some(Secret::new(key.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), (String, String)> {
        if self.backends.is_empty() {
            return Err(("backends".into(), "at least one backend is required".into()));
        }
        if self.backend(&self.default_backend).is_none() {
            let names: Vec<&str> = self.backends.iter().map(|b| b.name.as_str()).collect();
            return Err((
                "defaultBackend".into(),
                format!(
                    "{:?} is not a configured backend (have: {})",
                    self.default_backend,
                    names.join(", ")
                ),
            ));
        }
        for backend in &self.backends {
            for (i, name) in backend.fallback.iter().enumerate() {
                if self.backend(name).is_none() {
                    return Err((
                        format!("backends.{}.fallback[{i}]", backend.name),
                        format!("{name:?} is not a configured backend"),
                    ));
                }
            }
        }
        for (i, name) in self.fallback.iter().enumerate() {
            if self.backend(name).is_none() {
                return Err((
                    format!("fallback[{i}]"),
                    format!("{name:?} is not a configured backend"),
                ));
            }
        }
        if self.server.workers == 0 {
            return Err(("server.workers".into(), "must be at least 1".into()));
        }
        Ok(())
    }

    pub fn backend(&self, name: &str) -> Option<&Backend> {
        self.backends.iter().find(|b| b.name == name)
    }

    /// The config as JSON for `/debug/config` and the log: secrets redacted.
    pub fn redacted_json(&self) -> Value {
        let backends: Map<String, Value> = self
            .backends
            .iter()
            .map(|b| {
                let mut obj = b.extra.clone();
                obj.insert("url".into(), b.url.clone().into());
                let api = match b.kind {
                    BackendKind::Http(d) => d.name(),
                    BackendKind::Demo => "demo",
                };
                obj.insert("api".into(), api.into());
                if b.api_key.is_some() {
                    obj.insert("apiKey".into(), "[redacted]".into());
                }
                if let Some(model) = &b.model {
                    obj.insert("model".into(), model.clone().into());
                }
                if !b.fallback.is_empty() {
                    obj.insert("fallback".into(), b.fallback.clone().into());
                }
                (b.name.clone(), Value::Object(obj))
            })
            .collect();
        let mut root = self.extra.clone();
        root.insert("backends".into(), Value::Object(backends));
        root.insert("defaultBackend".into(), self.default_backend.clone().into());
        if !self.fallback.is_empty() {
            root.insert("fallback".into(), self.fallback.clone().into());
        }
        root.insert(
            "circuitBreaker".into(),
            serde_json::json!({
                "failureThreshold": self.circuit_breaker.failure_threshold,
                "cooldownSecs": self.circuit_breaker.cooldown.as_secs_f64(),
            }),
        );
        root.insert(
            "logging".into(),
            serde_json::json!({
                "level": self.logging.level.as_str().to_ascii_lowercase(),
                "includeBody": self.logging.include_body,
                "maxBodyLength": self.logging.max_body_length,
                "format": if self.logging.json { "json" } else { "plain" },
            }),
        );
        if !self.auth.api_keys.is_empty() || self.auth.admin_token.is_some() {
            root.insert(
                "auth".into(),
                serde_json::json!({
                    "apiKeys": self.auth.api_keys.iter().map(|_| "[redacted]").collect::<Vec<_>>(),
                    "adminToken": self.auth.admin_token.as_ref().map(|_| "[redacted]"),
                }),
            );
        }
        root.insert(
            "server".into(),
            serde_json::json!({
                "bind": self.server.bind,
                "port": self.server.port,
                "metricsPort": self.server.metrics_port,
                "workers": self.server.workers,
                "queueSize": self.server.queue_size,
                "controlWorkers": self.server.control_workers,
                "maxBodyBytes": self.server.max_body_bytes,
                "shutdownGraceSecs": self.server.shutdown_grace.as_secs_f64(),
                "heartbeatSecs": self.server.heartbeat.as_secs_f64(),
            }),
        );
        Value::Object(root)
    }
}

type FieldError = (String, String);

fn parse_port(value: &str) -> Option<u16> {
    value.trim().parse::<u16>().ok()
}

fn parse_level(value: &str) -> Option<log::LevelFilter> {
    value.trim().parse::<log::LevelFilter>().ok()
}

fn parse_backend(name: &str, value: Value) -> Result<Backend, FieldError> {
    let field = |key: &str| format!("backends.{name}.{key}");
    if name.is_empty() || name.contains('/') || name.contains(char::is_whitespace) {
        return Err((
            format!("backends.{name:?}"),
            "a backend name must be non-empty, without '/' or spaces (it appears in paths)".into(),
        ));
    }
    let mut obj = match value {
        Value::String(url) => {
            let mut obj = Map::new();
            obj.insert("url".into(), Value::String(url));
            obj
        }
        Value::Object(obj) => obj,
        _ => {
            return Err((
                format!("backends.{name}"),
                "expected a URL string or an object with \"url\"".into(),
            ))
        }
    };
    let url = match obj.remove("url") {
        Some(Value::String(url)) => url.trim().trim_end_matches('/').to_owned(),
        Some(_) => return Err((field("url"), "expected a string".into())),
        None => return Err((field("url"), "missing".into())),
    };
    let is_demo = url.starts_with("demo:");
    if !(is_demo || url.starts_with("http://") || url.starts_with("https://")) {
        return Err((
            field("url"),
            format!("expected an http:// or https:// URL (or demo://), got {url:?}"),
        ));
    }
    let kind = if is_demo {
        obj.remove("api");
        BackendKind::Demo
    } else {
        match obj.remove("api") {
            None | Some(Value::Null) => {
                if url.contains("api.anthropic.com") {
                    BackendKind::Http(Dialect::Anthropic)
                } else {
                    BackendKind::Http(Dialect::OpenAiChat)
                }
            }
            Some(Value::String(api)) => match api.as_str() {
                "openai" | "openai-chat" | "chat" => BackendKind::Http(Dialect::OpenAiChat),
                "anthropic" => BackendKind::Http(Dialect::Anthropic),
                "responses" | "openai-responses" => BackendKind::Http(Dialect::Responses),
                other => {
                    return Err((
                        field("api"),
                        format!(
                            "expected \"openai\", \"anthropic\" or \"responses\", got {other:?}"
                        ),
                    ))
                }
            },
            Some(_) => return Err((field("api"), "expected a string".into())),
        }
    };
    let mut api_key = match obj.remove("apiKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if key.is_empty() => None,
        Some(Value::String(key)) => Some(Secret::new(key)),
        Some(_) => return Err((field("apiKey"), "expected a string".into())),
    };
    match obj.remove("apiKeyEnv") {
        None | Some(Value::Null) => {}
        Some(Value::String(var)) => {
            if api_key.is_none() {
                api_key = std::env::var(&var)
                    .ok()
                    .filter(|k| !k.is_empty())
                    .map(Secret::new);
                if api_key.is_none() {
                    log::warn!("backend {name}: environment variable {var} (apiKeyEnv) is not set");
                }
            }
        }
        Some(_) => {
            return Err((
                field("apiKeyEnv"),
                "expected an environment variable name".into(),
            ))
        }
    }
    let headers = match obj.remove("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(map)) => {
            let mut headers = Vec::with_capacity(map.len());
            for (key, value) in map {
                match value {
                    Value::String(v) if valid_header(&key, &v) => headers.push((key, v)),
                    _ => {
                        return Err((
                            field(&format!("headers.{key}")),
                            "expected a valid header name with a string value".into(),
                        ))
                    }
                }
            }
            headers
        }
        Some(_) => return Err((field("headers"), "expected an object of name: value".into())),
    };
    let model = match obj.remove("model") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m),
        Some(_) => return Err((field("model"), "expected a string".into())),
    };
    let secs =
        |obj: &mut Map<String, Value>, key: &str, default: f64| -> Result<Duration, FieldError> {
            match obj.remove(key) {
                None | Some(Value::Null) => Ok(Duration::from_secs_f64(default)),
                Some(Value::Number(n)) => match n.as_f64() {
                    Some(s) if s > 0.0 && s < 1e7 => Ok(Duration::from_secs_f64(s)),
                    _ => Err((field(key), "expected a positive number of seconds".into())),
                },
                Some(_) => Err((field(key), "expected a number of seconds".into())),
            }
        };
    let connect_timeout = secs(&mut obj, "connectTimeoutSecs", 5.0)?;
    let first_byte_timeout = secs(&mut obj, "timeoutSecs", 600.0)?;
    let idle_timeout = secs(&mut obj, "idleTimeoutSecs", 120.0)?;
    let fallback = match obj.remove("fallback") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => names_list(&value).ok_or_else(|| {
            (
                field("fallback"),
                "expected a list of backend names".to_owned(),
            )
        })?,
    };
    Ok(Backend {
        name: name.to_owned(),
        url,
        kind,
        api_key,
        headers,
        model,
        connect_timeout,
        first_byte_timeout,
        idle_timeout,
        fallback,
        extra: obj,
    })
}

fn names_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(name) => Some(vec![name.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        && !value.bytes().any(|b| b == b'\r' || b == b'\n')
}

fn parse_logging(value: Option<Value>) -> Result<Logging, FieldError> {
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

fn parse_breaker(value: Option<Value>) -> Result<Breaker, FieldError> {
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

fn parse_auth(value: Option<Value>) -> Result<Auth, FieldError> {
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

fn parse_server(value: Option<Value>) -> Result<Server, FieldError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(
            text,
            Source::File("config.json".into()),
            &Overrides::default(),
        )
    }

    #[test]
    fn the_seed_format_loads_as_written() {
        let config = parse(
            r#"{"backends": {"local": "http://localhost:8001", "anthropic": "https://api.anthropic.com"},
                "defaultBackend": "local",
                "logging": {"level": "info", "includeBody": true, "maxBodyLength": 500},
                "smartRouter": {"enabled": false, "classifierBackend": "local"}}"#,
        )
        .unwrap();
        assert_eq!(config.default_backend, "local");
        assert_eq!(
            config.backend("local").unwrap().kind,
            BackendKind::Http(Dialect::OpenAiChat)
        );
        assert_eq!(
            config.backend("anthropic").unwrap().kind,
            BackendKind::Http(Dialect::Anthropic)
        );
        assert!(config.logging.include_body);
        assert_eq!(config.logging.max_body_length, 500);
        assert!(
            config.extra.contains_key("smartRouter"),
            "unknown sections are kept"
        );
    }

    #[test]
    fn object_backends_resolve_every_field() {
        let config = parse(
            r#"{"backends": {"vllm": {"url": "http://gpu:8000/", "api": "openai", "apiKey": "sk-1",
                "headers": {"X-Team": "a"}, "timeoutSecs": 30, "model": "qwen", "specialties": ["code"]}}}"#,
        )
        .unwrap();
        let b = config.backend("vllm").unwrap();
        assert_eq!(b.url, "http://gpu:8000");
        assert_eq!(b.api_key.as_ref().unwrap().expose(), "sk-1");
        assert_eq!(b.headers, vec![("X-Team".to_owned(), "a".to_owned())]);
        assert_eq!(b.first_byte_timeout, Duration::from_secs(30));
        assert_eq!(b.model.as_deref(), Some("qwen"));
        assert!(b.extra.contains_key("specialties"));
        assert_eq!(
            config.default_backend, "vllm",
            "the first backend is the default when none is named"
        );
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        let err = parse(r#"{"backends": {"x": {"url": 5}}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config.json: backends.x.url: expected a string"
        );
        let err = parse(r#"{"backends": {"x": "ftp://a"}}"#).unwrap_err();
        assert_eq!(err.field, "backends.x.url");
        let err = parse(r#"{"backends": {"x": "http://a"}, "defaultBackend": "y"}"#).unwrap_err();
        assert_eq!(err.field, "defaultBackend");
        let err = parse(r#"{"backends": {"x": {"url": "http://a", "api": "grpc"}}}"#).unwrap_err();
        assert_eq!(err.field, "backends.x.api");
        let err = parse("{nope").unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{err}");
        let err =
            parse(r#"{"backends": {"x": "http://a"}, "server": {"workers": 0}}"#).unwrap_err();
        assert_eq!(err.field, "server.workers");
    }

    #[test]
    fn secrets_never_show() {
        let config = parse(r#"{"backends": {"a": {"url": "https://api.anthropic.com", "apiKey": "sk-ant-secret"}}}"#)
            .unwrap();
        assert!(!format!("{config:?}").contains("sk-ant-secret"));
        assert!(!config.redacted_json().to_string().contains("sk-ant-secret"));
    }

    #[test]
    fn demo_flag_makes_the_demo_backend_default() {
        let overrides = Overrides {
            demo: true,
            ..Overrides::default()
        };
        let config = Config::parse(
            r#"{"backends": {"local": "http://localhost:8001"}}"#,
            Source::BuiltIn,
            &overrides,
        )
        .unwrap();
        assert_eq!(config.default_backend, "demo");
        assert_eq!(config.backend("demo").unwrap().kind, BackendKind::Demo);
        let builtin = Config::parse(BUILT_IN, Source::BuiltIn, &Overrides::default()).unwrap();
        assert_eq!(builtin.default_backend, "local");
    }
}
