//! Configuration: the config file, environment and flags resolved into one validated [`Config`].
//!
//! Two stages: the JSON is read as it was written (the seed's format, where a backend may be a
//! plain URL string), then every field is checked and resolved into typed values. An error names
//! the file and the field. Sections this module does not own (`smartRouter`, ...) are
//! kept as JSON for the parts of the gateway that read them; unknown fields are never fatal.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::dialect::Dialect;

mod backend;
mod sections;

use backend::parse_backend;
pub use backend::{Backend, BackendKind};
use sections::{parse_auth, parse_breaker, parse_logging, parse_server};
pub use sections::{Auth, Breaker, Logging, Server};

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
                let api = b.api_name();
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

/// A field at fault (dotted path) and what is wrong with it.
type FieldError = (String, String);

fn parse_port(value: &str) -> Option<u16> {
    value.trim().parse::<u16>().ok()
}

pub(crate) fn parse_level(value: &str) -> Option<log::LevelFilter> {
    value.trim().parse::<log::LevelFilter>().ok()
}

pub(crate) fn names_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(name) => Some(vec![name.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
