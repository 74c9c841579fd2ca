//! The proxy pipeline: one function that reads top to bottom (DESIGN.md, "The path of a
//! request"): read the body, choose the backend, plan passthrough or conversion, call upstream,
//! answer (JSON or a relayed stream), and record what happened.

pub mod models;
pub mod stream;

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;
use tiny_http::Request;

use crate::control::{auth, cli};
use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};
use crate::ir::Usage;
use crate::observe::{unix_ms, LogEntry};
use crate::route;
use crate::server::body::{self, Body};
use crate::server::sse_writer::SseWriter;
use crate::server::{Exchange, Reply};
use crate::state::State;
use crate::upstream::{self, ClientHeaders};

/// The largest backend answer (non-streamed) the gateway will hold.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// The fields the gateway itself needs from any chat request; the rest is left unparsed.
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    model: Option<Value>,
    #[serde(default)]
    stream: Option<Value>,
}

/// A path split into an optional pinned backend and the API path (with its query).
struct Target {
    pinned: Option<String>,
    api_path: String,
}

fn parse_target(url: &str) -> Option<Target> {
    if url.starts_with("/v1/") {
        return Some(Target {
            pinned: None,
            api_path: url.to_owned(),
        });
    }
    let rest = url.strip_prefix('/')?;
    let (name, api) = rest.split_once('/')?;
    api.starts_with("v1/").then(|| Target {
        pinned: Some(name.to_owned()),
        api_path: format!("/{api}"),
    })
}

/// What one request did, for the books.
struct Record {
    entry: LogEntry,
    usage: Usage,
    error_kind: Option<&'static str>,
}

/// Handles one proxy request from start to finish.
pub fn handle(state: &State, ex: &mut Exchange) {
    let started = Instant::now();
    let _in_flight = state.books.start();
    let Some(request) = ex.request.as_ref() else {
        return;
    };
    let id = state.next_request_id();
    let url = request.url().to_owned();
    let mut record = Record {
        entry: LogEntry {
            id: id.clone(),
            timestamp_ms: unix_ms(),
            method: request.method().as_str().to_owned(),
            path: url.split('?').next().unwrap_or(&url).to_owned(),
            client_dialect: None,
            backend: None,
            model: None,
            stream: false,
            conversion: None,
            route_reason: None,
            category: None,
            status: 0,
            duration_ms: 0.0,
            first_token_ms: None,
            input_tokens: 0,
            output_tokens: 0,
            error: None,
            request_body: None,
        },
        usage: Usage::default(),
        error_kind: None,
    };
    ex.dialect = crate::server::dialect_of(&url);
    record.entry.client_dialect = ex.dialect.map(Dialect::name);

    if let Err(err) = serve(state, ex, &id, &url, &mut record) {
        record.entry.status = ex.dialect.map_or(err.status, |d| d.error_status(&err));
        record.entry.error = Some(err.message.clone());
        record.error_kind = Some(err.kind.as_str());
        if let Some(request) = ex.request.take() {
            let mut reply = Reply::error(ex.dialect, &err).header("X-Request-Id", &id);
            if let Some(backend) = &record.entry.backend {
                reply = reply.header("X-Backend", backend);
            }
            if err.kind == ErrorKind::MethodNotAllowed {
                reply = reply.header(
                    "Allow",
                    if url.contains("/models") {
                        "GET"
                    } else {
                        "POST"
                    },
                );
            }
            reply.send(request);
        }
    }
    let entry = &mut record.entry;
    entry.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    entry.input_tokens = record.usage.input_tokens;
    entry.output_tokens = record.usage.output_tokens;
    if state.config().logging.json {
        log::info!("{}", serde_json::to_string(&*entry).unwrap_or_default());
    } else {
        log_plain(entry);
    }
    state
        .books
        .record(record.entry, &record.usage, record.error_kind);
}

/// The request's log line: id, dialect, backend, model, status, time, tokens, routing reason.
fn log_plain(entry: &LogEntry) {
    log::info!(
        "{} {} {} {} backend={} model={} status={} {:.1}ms tokens={}/{}{}",
        entry.id,
        entry.method,
        entry.path,
        entry.client_dialect.unwrap_or("-"),
        entry.backend.as_deref().unwrap_or("-"),
        entry.model.as_deref().unwrap_or("-"),
        entry.status,
        entry.duration_ms,
        entry.input_tokens,
        entry.output_tokens,
        entry
            .route_reason
            .as_deref()
            .map(|r| format!(" route={r}"))
            .unwrap_or_default(),
    );
}

/// Routes a proxy request to its endpoint. An `Err` is answered by the caller in the client's
/// dialect (if nothing was sent yet).
fn serve(
    state: &State,
    ex: &mut Exchange,
    id: &str,
    url: &str,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let target = parse_target(url).ok_or_else(|| {
        GatewayError::new(ErrorKind::NotFound, format!("no such endpoint: {url}"))
    })?;
    let path = target
        .api_path
        .split('?')
        .next()
        .unwrap_or(&target.api_path);
    let method = ex.request.as_ref().map(|r| r.method().clone());
    let is_post = method == Some(tiny_http::Method::Post);
    match path.trim_end_matches('/') {
        "/v1/models" => {
            if !matches!(
                method,
                Some(tiny_http::Method::Get) | Some(tiny_http::Method::Head)
            ) {
                return Err(method_not_allowed(path, "GET"));
            }
            let reply = models::list(state, target.pinned.as_deref())?;
            record.entry.status = reply.status;
            if let Some(request) = ex.request.take() {
                reply.header("X-Request-Id", id).send(request);
            }
            Ok(())
        }
        "/v1/messages/count_tokens" if is_post => count_tokens(state, ex, id, &target, record),
        "/v1/chat/completions" | "/v1/messages" | "/v1/responses" if is_post => {
            let dialect = ex
                .dialect
                .ok_or_else(|| GatewayError::internal("no dialect for a chat path"))?;
            chat(state, ex, id, dialect, &target, record)
        }
        "/v1/messages/count_tokens" | "/v1/chat/completions" | "/v1/messages" | "/v1/responses" => {
            Err(method_not_allowed(path, "POST"))
        }
        _ => Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("no such endpoint: {path}"),
        )),
    }
}

fn method_not_allowed(path: &str, allowed: &str) -> GatewayError {
    GatewayError::new(
        ErrorKind::MethodNotAllowed,
        format!("{path} accepts {allowed} only"),
    )
}

/// Reads the body, enforcing the cap.
fn read_body(state: &State, ex: &mut Exchange) -> Result<Vec<u8>, GatewayError> {
    let cap = state.config().server.max_body_bytes;
    let request = ex
        .request
        .as_mut()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    match body::read(request, cap)? {
        Body::Read(bytes) => Ok(bytes),
        Body::TooLarge(err) => Err(err),
        Body::Abandon => {
            // See body::DRAIN_LIMIT: never let tiny_http drain this body.
            log::warn!(
                "abandoning a request that announced a body over {} bytes",
                body::DRAIN_LIMIT
            );
            std::mem::forget(ex.request.take());
            Err(GatewayError::new(
                ErrorKind::PayloadTooLarge,
                "request body too large",
            ))
        }
    }
}

fn peek(body: &[u8]) -> Result<(Option<String>, bool), GatewayError> {
    let peek: Peek = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("request body is not valid JSON: {e}")))?;
    let model = match peek.model {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m),
        Some(_) => return Err(GatewayError::invalid("model: expected a string")),
    };
    let stream = match peek.stream {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(GatewayError::invalid("stream: expected true or false")),
    };
    Ok((model, stream))
}

/// The client's headers to pass on. With gateway API keys configured, the client's credential
/// is the gateway's key, not a backend's, and stays here.
fn client_headers(request: &Request, state: &State) -> ClientHeaders {
    let keep_credentials = !auth::clients_need_key(&state.config().auth);
    let mut headers = ClientHeaders::default();
    for header in request.headers() {
        let value = || Some(header.value.as_str().to_owned());
        let field = header.field.as_str().as_str();
        if field.eq_ignore_ascii_case("authorization") {
            headers.authorization = value();
        } else if field.eq_ignore_ascii_case("x-api-key") {
            headers.x_api_key = value();
        } else if field.eq_ignore_ascii_case("anthropic-version") {
            headers.anthropic_version = value();
        } else if field.eq_ignore_ascii_case("anthropic-beta") {
            headers.anthropic_beta = value();
        }
    }
    if !keep_credentials {
        headers.authorization = None;
        headers.x_api_key = None;
    }
    headers
}

/// A chat request: `/v1/chat/completions`, `/v1/messages`, `/v1/responses`.
fn chat(
    state: &State,
    ex: &mut Exchange,
    id: &str,
    dialect: Dialect,
    target: &Target,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let body = read_body(state, ex)?;
    let config = state.config();
    if config.logging.include_body {
        record.entry.request_body = Some(clip_body(&body, config.logging.max_body_length));
    }
    let (model, stream) = peek(&body)?;
    record.entry.model = model.clone();
    record.entry.stream = stream;

    // The request as `ir`, decoded at most once and only when something needs it: proxy-cli
    // (only if the body mentions it at all), the smart router, or a conversion.
    let mut parsed: Option<crate::ir::Request> = None;
    let decoded =
        |parsed: &mut Option<crate::ir::Request>| -> Result<crate::ir::Request, GatewayError> {
            if parsed.is_none() {
                let value: Value = serde_json::from_slice(&body).map_err(|e| {
                    GatewayError::invalid(format!("request body is not valid JSON: {e}"))
                })?;
                *parsed = Some(dialect.decode_request(&value)?);
            }
            Ok(parsed.clone().expect("decoded above"))
        };

    // `proxy-cli ...` as the last user message: the gateway answers itself.
    if contains(&body, b"proxy-cli") {
        let request = decoded(&mut parsed)?;
        let last_is_user = request
            .messages
            .last()
            .is_some_and(|m| m.role == crate::ir::Role::User);
        if let Some(command) = last_is_user
            .then(|| cli::detect(&request.last_user_text()))
            .flatten()
        {
            let presented = ex.request.as_ref().map(auth::presented).unwrap_or_default();
            let admin = auth::check_admin(&config.auth, &presented).is_ok();
            let text = cli::run(state, &command, admin);
            record.entry.route_reason = Some("proxy-cli".into());
            record.entry.conversion = Some("local".into());
            let response = local_response(id, &request, text);
            return answer_locally(ex, id, dialect, &request, response, "proxy-cli", record);
        }
    }

    // Choose the backend: explicit choices first, then the smart router, then the rest.
    let mut choice = route::choose(
        &config,
        &state.default_backend(),
        target.pinned.as_deref(),
        model.as_deref(),
    )?;
    let mut reason = choice.reason.as_str().to_owned();
    if state.smart_routing() && !choice.reason.is_explicit() {
        let request = decoded(&mut parsed)?;
        let user = ex
            .request
            .as_ref()
            .and_then(|r| header(r, "x-user-id"))
            .or_else(|| request.user.clone());
        if let Some(decision) = state.smart.decide(state, &request, user.as_deref())? {
            record.entry.category = Some(decision.category.clone());
            reason = decision.reason.clone();
            if decision.backends.len() > 1 {
                record.entry.backend = Some(decision.backends.join("+"));
                record.entry.route_reason = Some(reason);
                record.entry.conversion = Some("fan-out".into());
                let response = state.smart.fan_out(state, &request, &decision)?;
                record.usage = response.usage;
                let backends = decision.backends.join(",");
                return answer_locally(ex, id, dialect, &request, response, &backends, record);
            }
            if let Some(first) = decision.backends.into_iter().next() {
                choice = route::Choice {
                    backend: first,
                    reason: route::Reason::Smart,
                };
            }
        }
    }
    record.entry.backend = Some(choice.backend.clone());
    record.entry.route_reason = Some(reason.clone());
    let upstream = state.upstreams().get(&choice.backend).ok_or_else(|| {
        GatewayError::internal(format!("backend {} has no upstream", choice.backend))
    })?;
    let backend = upstream.backend();
    let backend_dialect = backend.dialect().unwrap_or(dialect);

    // Plan: the same dialect passes through untouched; another converts through the hub.
    // A backend's configured `model` replaces whatever the client asked for (a client that
    // names the backend, or a Claude Code request sent to a local server, has no valid model).
    let model_override = backend
        .model
        .as_ref()
        .filter(|m| model.as_ref() != Some(*m));
    let (upstream_body, upstream_path, client_request) = if backend_dialect == dialect {
        record.entry.conversion = Some("passthrough".into());
        let body = match model_override {
            Some(m) => rewrite_model(&body, m)?,
            None => body,
        };
        (body, target.api_path.clone(), None)
    } else {
        record.entry.conversion = Some(format!("{}->{}", dialect.name(), backend_dialect.name()));
        let mut ir_request = decoded(&mut parsed)?;
        if let Some(m) = model_override {
            ir_request.model = m.clone();
        }
        let encoded = serde_json::to_vec(&backend_dialect.encode_request(&ir_request))
            .map_err(|e| GatewayError::internal(e.to_string()))?;
        (
            encoded,
            backend_dialect.upstream_path().to_owned(),
            Some(ir_request),
        )
    };

    let request = ex
        .request
        .as_ref()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    let client = client_headers(request, state);
    let response = upstream.send(&upstream::Request {
        path: &upstream_path,
        body: upstream_body,
        stream,
        dialect: backend_dialect,
        client: &client,
    })?;
    let mut headers: Vec<(String, String)> = response
        .headers
        .iter()
        .filter(|(name, _)| name != "content-type")
        .cloned()
        .collect();
    headers.push(("X-Request-Id".into(), id.to_owned()));
    headers.push(("X-Backend".into(), backend.name.clone()));
    headers.push(("X-Routing-Reason".into(), header_safe(&reason)));
    if let Some(category) = &record.entry.category {
        headers.push(("X-Category".into(), category.clone()));
    }
    let content_type = response
        .headers
        .iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "application/json".into());

    // A backend error keeps its status; its body passes through or is re-expressed.
    if response.status >= 400 {
        let mut body_reader = response.body;
        let body = upstream::read_capped(&mut body_reader, 1024 * 1024).unwrap_or_default();
        let err = backend_dialect.decode_error(response.status, &body);
        record.entry.status = response.status;
        record.entry.error = Some(err.message.clone());
        record.error_kind = Some(err.kind.as_str());
        let reply = if client_request.is_none() {
            let mut reply = Reply {
                status: response.status,
                headers,
                body,
            };
            reply.headers.push(("Content-Type".into(), content_type));
            reply
        } else {
            let mut reply = Reply::error(Some(dialect), &err.with_status(response.status));
            reply.headers.extend(headers);
            reply
        };
        if let Some(request) = ex.request.take() {
            reply.send(request);
        }
        return Ok(());
    }

    let is_event_stream = content_type.starts_with("text/event-stream");
    if stream && is_event_stream {
        let mode = match &client_request {
            None => stream::Mode::Passthrough {
                tap: dialect.stream_decoder(),
                client: dialect,
            },
            Some(ir_request) => stream::Mode::Convert {
                decoder: backend_dialect.stream_decoder(),
                encoder: dialect.stream_encoder(ir_request),
            },
        };
        let request = ex
            .request
            .take()
            .ok_or_else(|| GatewayError::internal("request already answered"))?;
        record.entry.status = response.status;
        let writer = match SseWriter::start(request, response.status, &headers) {
            Ok(writer) => writer,
            Err(e) => {
                response.abort.abort();
                record.entry.error = Some(format!("client left before the stream started: {e}"));
                return Ok(());
            }
        };
        let settings = stream::Settings {
            heartbeat: config.server.heartbeat,
            idle_timeout: backend.idle_timeout,
            backend: backend.name.clone(),
        };
        let outcome = stream::relay(writer, response, mode, &settings);
        record.usage = outcome.usage;
        record.entry.first_token_ms = outcome.first_event.map(|d| d.as_secs_f64() * 1000.0);
        if let Some(err) = outcome.error {
            record.entry.error = Some(err.message);
            record.error_kind = Some(err.kind.as_str());
        } else if outcome.client_gone {
            record.entry.error = Some("client disconnected mid-stream".into());
        }
        return Ok(());
    }

    // A complete answer.
    let mut body_reader = response.body;
    let body = upstream::read_capped(&mut body_reader, MAX_RESPONSE_BYTES).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("reading the answer of backend {} failed: {e}", backend.name),
        )
    })?;
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let decoded = parsed.as_ref().map(|v| backend_dialect.decode_response(v));
    if let Some(Ok(response)) = &decoded {
        record.usage = response.usage;
    }
    let reply = match &client_request {
        None => {
            let mut reply = Reply {
                status: response.status,
                headers,
                body,
            };
            reply.headers.push(("Content-Type".into(), content_type));
            reply
        }
        Some(_) => {
            let ir_response = match decoded {
                Some(Ok(r)) => r,
                Some(Err(e)) => {
                    return Err(GatewayError::new(
                        ErrorKind::BadGateway,
                        format!(
                            "backend {} answered in an unexpected shape: {}",
                            backend.name, e.message
                        ),
                    ))
                }
                None => {
                    return Err(GatewayError::new(
                        ErrorKind::BadGateway,
                        format!(
                            "backend {} answered with something that is not JSON",
                            backend.name
                        ),
                    ))
                }
            };
            let body = serde_json::to_vec(&dialect.encode_response(&ir_response))
                .map_err(|e| GatewayError::internal(e.to_string()))?;
            let mut reply = Reply::json(response.status, body);
            reply.headers.extend(headers);
            reply
        }
    };
    record.entry.status = reply.status;
    if let Some(request) = ex.request.take() {
        reply.send(request);
    }
    Ok(())
}

/// `POST /v1/messages/count_tokens`: forwarded to Anthropic backends; elsewhere estimated from
/// the whole request (system, messages, tools) by `ir::Request::estimate_input_tokens`.
fn count_tokens(
    state: &State,
    ex: &mut Exchange,
    id: &str,
    target: &Target,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let body = read_body(state, ex)?;
    let (model, _) = peek(&body)?;
    record.entry.model = model.clone();
    let config = state.config();
    let choice = route::choose(
        &config,
        &state.default_backend(),
        target.pinned.as_deref(),
        model.as_deref(),
    )?;
    record.entry.backend = Some(choice.backend.clone());
    record.entry.route_reason = Some(choice.reason.as_str().to_owned());
    let upstream = state
        .upstreams()
        .get(&choice.backend)
        .ok_or_else(|| GatewayError::internal("backend without upstream"))?;
    let reply = if upstream.backend().dialect() == Some(Dialect::Anthropic) {
        record.entry.conversion = Some("passthrough".into());
        let request = ex
            .request
            .as_ref()
            .ok_or_else(|| GatewayError::internal("answered"))?;
        let client = client_headers(request, state);
        let response = upstream.send(&upstream::Request {
            path: &target.api_path,
            body,
            stream: false,
            dialect: Dialect::Anthropic,
            client: &client,
        })?;
        let mut reader = response.body;
        let body = upstream::read_capped(&mut reader, 1024 * 1024)
            .map_err(|e| GatewayError::new(ErrorKind::BadGateway, e.to_string()))?;
        Reply::json(response.status, body)
    } else {
        record.entry.conversion = Some("estimate".into());
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| GatewayError::invalid(format!("request body is not valid JSON: {e}")))?;
        let request = Dialect::Anthropic.decode_request(&value)?;
        let count = serde_json::json!({"input_tokens": request.estimate_input_tokens()});
        Reply::json(200, count.to_string().into_bytes())
    };
    record.entry.status = reply.status;
    if let Some(request) = ex.request.take() {
        reply
            .header("X-Request-Id", id)
            .header("X-Backend", &choice.backend)
            .send(request);
    }
    Ok(())
}

fn rewrite_model(body: &[u8], model: &str) -> Result<Vec<u8>, GatewayError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("request body is not valid JSON: {e}")))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert("model".into(), Value::String(model.to_owned()));
    }
    serde_json::to_vec(&value).map_err(|e| GatewayError::internal(e.to_string()))
}

fn clip_body(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    if body.len() > max {
        format!("{text}… ({} bytes)", body.len())
    } else {
        text
    }
}

/// Sends an `ir` request to a backend in its own dialect and waits for the whole answer: the
/// building block of `/debug/compare`, fan-out and the LLM classifier.
pub fn complete(
    upstream: &upstream::Upstream,
    mut request: crate::ir::Request,
) -> Result<crate::ir::Response, GatewayError> {
    let backend = upstream.backend();
    let dialect = backend.dialect().unwrap_or(Dialect::OpenAiChat);
    request.stream = false;
    if let Some(model) = &backend.model {
        request.model = model.clone();
    }
    let body = serde_json::to_vec(&dialect.encode_request(&request))
        .map_err(|e| GatewayError::internal(e.to_string()))?;
    let client = ClientHeaders::default();
    let response = upstream.send(&upstream::Request {
        path: dialect.upstream_path(),
        body,
        stream: false,
        dialect,
        client: &client,
    })?;
    let mut reader = response.body;
    let bytes = upstream::read_capped(&mut reader, MAX_RESPONSE_BYTES).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("backend {}: {e}", backend.name),
        )
    })?;
    if response.status >= 400 {
        return Err(dialect.decode_error(response.status, &bytes));
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!(
                "backend {} answered with something that is not JSON",
                backend.name
            ),
        )
    })?;
    dialect.decode_response(&value)
}

/// A header's value, by case-insensitive name.
fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_owned())
}

/// Text made safe for a header value: printable ASCII only, bounded length.
fn header_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A gateway-made answer (proxy-cli) as an `ir` response.
fn local_response(id: &str, request: &crate::ir::Request, text: String) -> crate::ir::Response {
    crate::ir::Response {
        id: format!("gw-{id}"),
        model: if request.model.is_empty() {
            "proxy-cli".into()
        } else {
            request.model.clone()
        },
        content: vec![crate::ir::Block::Text { text }],
        stop_reason: crate::ir::StopReason::EndTurn,
        usage: Usage::default(),
    }
}

/// Answers a chat request with a response the gateway holds (proxy-cli, a combined fan-out), in
/// the client's dialect, as a stream if the client asked for one.
fn answer_locally(
    ex: &mut Exchange,
    id: &str,
    dialect: Dialect,
    request: &crate::ir::Request,
    response: crate::ir::Response,
    backend_header: &str,
    record: &mut Record,
) -> Result<(), GatewayError> {
    let mut headers = vec![
        ("X-Request-Id".to_owned(), id.to_owned()),
        ("X-Backend".to_owned(), backend_header.to_owned()),
    ];
    if let Some(reason) = &record.entry.route_reason {
        headers.push(("X-Routing-Reason".to_owned(), header_safe(reason)));
    }
    if let Some(category) = &record.entry.category {
        headers.push(("X-Category".to_owned(), category.clone()));
    }
    let http = ex
        .request
        .take()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    record.entry.status = 200;
    if request.stream {
        let Ok(mut writer) = SseWriter::start(http, 200, &headers) else {
            return Ok(());
        };
        let mut encoder = dialect.stream_encoder(request);
        let mut frames = Vec::new();
        // Line by line, so a long table appears as it is written.
        for event in response.to_events(|t| t.split_inclusive('\n').map(str::to_owned).collect()) {
            frames.clear();
            encoder.encode(&event, &mut frames);
            if writer.send(&frames).is_err() {
                return Ok(());
            }
        }
        let _ = writer.finish();
    } else {
        let body = serde_json::to_vec(&dialect.encode_response(&response))
            .map_err(|e| GatewayError::internal(e.to_string()))?;
        let mut reply = Reply::json(200, body);
        reply.headers.extend(headers);
        reply.send(http);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_pinned_backends() {
        let t = parse_target("/local/v1/messages?beta=true").unwrap();
        assert_eq!(t.pinned.as_deref(), Some("local"));
        assert_eq!(t.api_path, "/v1/messages?beta=true");
        let t = parse_target("/v1/chat/completions").unwrap();
        assert!(t.pinned.is_none());
        assert!(parse_target("/local/v2/x").is_none());
    }

    #[test]
    fn peek_reads_model_and_stream_and_rejects_bad_json() {
        assert_eq!(
            peek(br#"{"model":"m","stream":true,"messages":[]}"#).unwrap(),
            (Some("m".into()), true)
        );
        assert_eq!(peek(br#"{"messages":[]}"#).unwrap(), (None, false));
        assert!(peek(b"{nope")
            .unwrap_err()
            .message
            .contains("not valid JSON"));
        assert!(peek(br#"{"stream":"yes"}"#).is_err());
    }
}
