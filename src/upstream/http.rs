//! HTTP backends through ureq: auth headers per dialect, timeouts, connection pooling.
//!
//! Two pooled agents per backend, one for complete answers (with a body timeout) and one for
//! streams (whose silences the relay's own idle clock bounds). A call is aborted through its
//! own socket (`transport::RequestSocket`), so aborting one leaves the pooled connections of
//! the others alone.

use std::time::Duration;

use super::{transport, Abort, Request, Response};

use crate::config::Backend;
use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};

/// The Anthropic API version sent when the client named none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

pub struct HttpUpstream {
    pub backend: Backend,
    dialect: Dialect,
    complete: ureq::Agent,
    streams: ureq::Agent,
}

/// The largest response head (status line and headers) accepted from a backend.
const RESPONSE_HEAD_LIMIT: usize = 16 * 1024;
/// Idle connections the shared agent keeps per backend: one per proxy turn is the most that
/// can be in use at once (ureq's default of 3 made busy gateways reconnect constantly).
const MAX_IDLE_PER_BACKEND: usize = 64;

impl HttpUpstream {
    pub fn new(backend: Backend) -> HttpUpstream {
        let dialect = backend.dialect().unwrap_or(Dialect::OpenAiChat);
        let base = || {
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_connect(Some(backend.connect_timeout))
                .timeout_recv_response(Some(backend.first_byte_timeout))
                .timeout_send_request(Some(Duration::from_secs(30)))
                .timeout_send_body(Some(Duration::from_secs(60)))
                .user_agent(concat!("llm-gateway/", env!("CARGO_PKG_VERSION")))
                .max_idle_connections(MAX_IDLE_PER_BACKEND)
                .max_idle_connections_per_host(MAX_IDLE_PER_BACKEND)
                // ureq's 128 KiB buffers each way are sized for bulk transfers, and every pooled
                // connection keeps its own: chat requests and answers stream in small pieces. The
                // input buffer must hold the backend's whole response head (nginx allows 4-8 KiB).
                .input_buffer_size(RESPONSE_HEAD_LIMIT)
                .max_response_header_size(RESPONSE_HEAD_LIMIT)
                .output_buffer_size(8 * 1024)
        };
        // A complete answer arrives soon after its head; between events of a stream the
        // relay's own idle clock applies instead, so only this agent has a body timeout.
        let complete =
            transport::agent(base().timeout_recv_body(Some(backend.idle_timeout)).build());
        let streams = transport::agent(base().build());
        HttpUpstream {
            backend,
            dialect,
            complete,
            streams,
        }
    }

    pub fn send(&self, request: &Request<'_>) -> Result<Response, GatewayError> {
        let url = format!("{}{}", self.backend.url, request.path);
        let agent = if request.stream {
            &self.streams
        } else {
            &self.complete
        };
        let mut builder = agent.post(&url);
        for (name, value) in self.headers(request) {
            builder = builder.header(name, value);
        }
        // The socket this call uses, to abort it from another thread.
        let (socket, _tracking) = transport::tracked();
        let response = builder.send(request.body).map_err(|e| self.error(e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| passed_back(name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = Box::new(response.into_body().into_reader());
        Ok(Response {
            status,
            headers,
            body,
            abort: Abort::new(socket),
        })
    }

    /// The headers for one request: content type, auth for the backend's dialect, the client's
    /// Anthropic protocol headers, and the backend's configured extras.
    fn headers<'a>(&'a self, request: &'a Request<'_>) -> Vec<(&'a str, String)> {
        let client = request.client;
        let mut headers: Vec<(&str, String)> = vec![
            ("content-type", "application/json".into()),
            (
                "accept",
                if request.stream {
                    "text/event-stream"
                } else {
                    "application/json"
                }
                .into(),
            ),
        ];
        let key = self.backend.api_key.as_ref().map(|k| k.expose());
        match self.dialect {
            Dialect::Anthropic => {
                match key {
                    Some(key) => headers.push(("x-api-key", key.to_owned())),
                    None => {
                        if let Some(v) = &client.x_api_key {
                            headers.push(("x-api-key", v.clone()));
                        }
                        if let Some(v) = &client.authorization {
                            headers.push(("authorization", v.clone()));
                        }
                    }
                }
                let version = client
                    .anthropic_version
                    .as_deref()
                    .unwrap_or(DEFAULT_ANTHROPIC_VERSION);
                headers.push(("anthropic-version", version.to_owned()));
                if let Some(beta) = &client.anthropic_beta {
                    headers.push(("anthropic-beta", beta.clone()));
                }
            }
            Dialect::OpenAiChat | Dialect::Responses => match key {
                Some(key) => headers.push(("authorization", format!("Bearer {key}"))),
                None => {
                    if let Some(v) = &client.authorization {
                        headers.push(("authorization", v.clone()));
                    } else if let Some(v) = &client.x_api_key {
                        // An Anthropic-style client talking to an OpenAI-style backend.
                        headers.push(("authorization", format!("Bearer {v}")));
                    }
                }
            },
        }
        for (name, value) in &self.backend.headers {
            headers.push((name.as_str(), value.clone()));
        }
        headers
    }

    fn error(&self, err: ureq::Error) -> GatewayError {
        let name = &self.backend.name;
        match err {
            ureq::Error::Timeout(ureq::Timeout::Connect) => GatewayError::new(
                ErrorKind::BadGateway,
                format!(
                    "backend {name} is unreachable: no connection within {} s",
                    self.backend.connect_timeout.as_secs_f64()
                ),
            ),
            ureq::Error::Timeout(_) => GatewayError::new(
                ErrorKind::Timeout,
                format!(
                    "backend {name} did not answer within {} s",
                    self.backend.first_byte_timeout.as_secs_f64()
                ),
            ),
            ureq::Error::HostNotFound => GatewayError::new(
                ErrorKind::BadGateway,
                format!(
                    "backend {name} is unreachable: host not found ({})",
                    self.backend.url
                ),
            ),
            other => GatewayError::new(
                ErrorKind::BadGateway,
                format!("backend {name} is unreachable: {other}"),
            ),
        }
    }
}

/// Backend response headers the client may care about. Everything else (content-length,
/// content-encoding, connection) describes the backend's hop only.
fn passed_back(name: &str) -> bool {
    name == "content-type"
        || name == "retry-after"
        || name == "request-id"
        || name.starts_with("anthropic-ratelimit-")
        || name.starts_with("x-ratelimit-")
        || name.starts_with("openai-")
}

/// Asks a backend for its models (`GET /v1/models`, which OpenAI-compatible servers, Ollama and
/// Anthropic all serve) within `timeout`. Answers the `data` array, or why not.
pub fn list_models(backend: &Backend, timeout: Duration) -> Result<Vec<serde_json::Value>, String> {
    let dialect = backend.dialect().unwrap_or(Dialect::OpenAiChat);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(format!("{}/v1/models", backend.url));
    if let Some(key) = &backend.api_key {
        request = match dialect {
            Dialect::Anthropic => request
                .header("x-api-key", key.expose())
                .header("anthropic-version", DEFAULT_ANTHROPIC_VERSION),
            _ => request.header("authorization", format!("Bearer {}", key.expose())),
        };
    }
    for (name, value) in &backend.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = request.call().map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let bytes = response
        .body_mut()
        .with_config()
        .limit(4 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    let body: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    Ok(body
        .get("data")
        .and_then(serde_json::Value::as_array)
        .cloned()
        .unwrap_or_default())
}
