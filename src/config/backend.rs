//! Backends in the config: a plain URL string (the seed's format) or an object, resolved into a
//! [`Backend`] with its dialect, credentials, headers and timeouts.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{names_list, FieldError, Secret};
use crate::dialect::Dialect;

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

    /// The `api` name shown in config, logs and control answers (`demo` for the demo backend).
    pub fn api_name(&self) -> &'static str {
        match self.kind {
            BackendKind::Http(dialect) => dialect.name(),
            BackendKind::Demo => "demo",
        }
    }

    /// Whether a client of `dialect` can be forwarded to this backend unchanged.
    pub fn speaks(&self, dialect: Dialect) -> bool {
        self.dialect().is_none_or(|d| d == dialect)
    }
}

pub(super) fn parse_backend(name: &str, value: Value) -> Result<Backend, FieldError> {
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

fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        && !value.bytes().any(|b| b == b'\r' || b == b'\n')
}
