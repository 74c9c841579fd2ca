//! The proxy pipeline: one function that reads top to bottom (DESIGN.md, "The path of a
//! request"): read the body, answer proxy-cli, choose the backend, send (falling back while
//! nothing has reached the client), answer in the client's dialect, and record what happened.

pub mod fallback;
pub mod incoming;
pub mod models;
pub mod plan;
pub mod respond;
pub mod stream;
pub mod watchdog;

use std::time::Instant;

use crate::control::{auth, cli};
use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, Usage};
use crate::observe::{unix_ms, LogEntry};
use crate::route;
use crate::server::body;
use crate::server::{Exchange, Reply};
use crate::state::State;
use crate::upstream::{self, ClientHeaders};

use incoming::{client_headers, header, header_safe, Incoming};

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
pub struct Record {
    /// When the request arrived.
    pub started: Instant,
    pub entry: LogEntry,
    pub usage: Usage,
    pub error_kind: Option<&'static str>,
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
        started,
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
            tokens_estimated: false,
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
                        "GET, HEAD"
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
        "{} {} {} {} backend={} model={} status={} {:.1}ms tokens={}/{}{}{}",
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
            .map(|r| format!(" route={r:?}"))
            .unwrap_or_default(),
        entry
            .error
            .as_deref()
            .map(|e| format!(" error={e:?}"))
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
    let request = ex
        .request
        .as_ref()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    auth::check_client(&state.config().auth, &auth::presented(request))?;
    let method = request.method().clone();
    let is_post = method == tiny_http::Method::Post;
    let path = target
        .api_path
        .split('?')
        .next()
        .unwrap_or(&target.api_path);
    match path.trim_end_matches('/') {
        "/v1/models" => {
            if !matches!(method, tiny_http::Method::Get | tiny_http::Method::Head) {
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
    let mut incoming = Incoming::new(dialect, body, target.api_path.clone())?;
    record.entry.model = incoming.model.clone();
    record.entry.stream = incoming.stream;

    // `proxy-cli ...` as the last user message: the gateway answers itself.
    if let Some(text) = proxy_cli(state, ex, &mut incoming)? {
        record.entry.route_reason = Some("proxy-cli".into());
        record.entry.conversion = Some("local".into());
        let request = incoming.ir()?.clone();
        let response = respond::local_response(id, &request, text);
        let headers = base_headers(id, "proxy-cli", record);
        return respond::answer_ir(ex, dialect, &request, response, headers, record);
    }

    // Choose the backend: explicit choices first, then the smart router, then the rest.
    let choice = choose(state, target, &incoming, record)?;
    let mut first = choice.backend;
    if state.smart_routing() && !choice.reason.is_explicit() {
        let user = ex.request.as_ref().and_then(|r| header(r, "x-user-id"));
        let request = incoming.ir()?;
        let user = user.or_else(|| request.user.clone());
        if let Some(decision) = state.smart.decide(state, request, user.as_deref())? {
            record.entry.category = Some(decision.category.clone());
            record.entry.route_reason = Some(decision.reason.clone());
            if decision.backends.len() > 1 {
                // Several backends answer; the client gets the combined answer.
                record.entry.backend = Some(decision.backends.join("+"));
                record.entry.conversion = Some("fan-out".into());
                let request = incoming.ir()?.clone();
                let response = state.smart.fan_out(state, &request, &decision)?;
                record.usage = response.usage;
                let headers = base_headers(id, &decision.backends.join(","), record);
                return respond::answer_ir(ex, dialect, &request, response, headers, record);
            }
            if let Some(backend) = decision.backends.into_iter().next() {
                first = backend;
                record.entry.backend = Some(first.clone());
            }
        }
    }

    // Send, moving on to fallbacks while nothing has reached the client.
    let client = client_headers(
        ex.request
            .as_ref()
            .ok_or_else(|| GatewayError::internal("request already answered"))?,
        !auth::clients_need_key(&config.auth),
    );
    let candidates = fallback::candidates(&config, &first);
    // While the backend prepares its answer (minutes, for a local model reading a long prompt),
    // a client that leaves cuts the backend request short.
    let attempt = {
        let watch = ex
            .request
            .as_ref()
            .and_then(|r| r.peer_socket())
            .map(|socket| watchdog::watch_pending(socket.clone()));
        fallback::send(state, &mut incoming, &candidates, &client, watch.as_ref())?
    };
    let backend = attempt.upstream.backend().name.clone();
    record.entry.backend = Some(backend.clone());
    record.entry.conversion = Some(attempt.planned.describe(dialect));
    let mut headers = base_headers(id, &backend, record);
    if !attempt.fallback_from.is_empty() {
        let from = attempt.fallback_from.join(",");
        headers.push(("X-Fallback-From".into(), from.clone()));
        if let Some(reason) = &mut record.entry.route_reason {
            reason.push_str(&format!("; fallback from {from}"));
        }
    }
    respond::upstream_answer(state, ex, &mut incoming, attempt, headers, record)
}

/// The ordinary routing rules (pinned path, model naming a backend, default), noted in the log.
fn choose(
    state: &State,
    target: &Target,
    incoming: &Incoming,
    record: &mut Record,
) -> Result<route::Choice, GatewayError> {
    let choice = route::choose(
        &state.config(),
        &state.default_backend(),
        target.pinned.as_deref(),
        incoming.model.as_deref(),
    )?;
    record.entry.backend = Some(choice.backend.clone());
    record.entry.route_reason = Some(choice.reason.as_str().to_owned());
    Ok(choice)
}

/// The proxy-cli answer, if the last message is a user message starting with `proxy-cli`.
fn proxy_cli(
    state: &State,
    ex: &Exchange,
    incoming: &mut Incoming,
) -> Result<Option<String>, GatewayError> {
    if !incoming.mentions(b"proxy-cli") {
        return Ok(None);
    }
    let request = incoming.ir()?;
    // The command is the user's latest turn: system notes may follow it (aider) and the turn
    // may carry notes before the typed text (Claude Code's `<system-reminder>` blocks).
    let Some(last) = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role != ir::Role::System)
    else {
        return Ok(None);
    };
    if last.role != ir::Role::User {
        return Ok(None);
    }
    let Some(command) = last.content.iter().rev().find_map(|b| match b {
        ir::Block::Text { text } => cli::detect(text),
        _ => None,
    }) else {
        return Ok(None);
    };
    let presented = ex.request.as_ref().map(auth::presented).unwrap_or_default();
    let admin = auth::check_admin(&state.config().auth, &presented).is_ok();
    Ok(Some(cli::run(state, &command, admin)))
}

/// The headers every chat answer carries.
fn base_headers(id: &str, backend: &str, record: &Record) -> Vec<(String, String)> {
    let mut headers = vec![
        ("X-Request-Id".to_owned(), id.to_owned()),
        ("X-Backend".to_owned(), header_safe(backend)),
    ];
    if let Some(reason) = &record.entry.route_reason {
        headers.push(("X-Routing-Reason".to_owned(), header_safe(reason)));
    }
    if let Some(category) = &record.entry.category {
        headers.push(("X-Category".to_owned(), header_safe(category)));
    }
    headers
}

/// Reads the body, enforcing the cap.
fn read_body(state: &State, ex: &mut Exchange) -> Result<Vec<u8>, GatewayError> {
    let cap = state.config().server.max_body_bytes;
    let request = ex
        .request
        .as_mut()
        .ok_or_else(|| GatewayError::internal("request already answered"))?;
    body::read(request, cap)
}

fn clip_body(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    if body.len() > max {
        format!("{text}… ({} bytes)", body.len())
    } else {
        text
    }
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
    let mut incoming = Incoming::new(Dialect::Anthropic, body, target.api_path.clone())?;
    record.entry.model = incoming.model.clone();
    let config = state.config();
    let choice = choose(state, target, &incoming, record)?;
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
        let client = client_headers(request, !auth::clients_need_key(&config.auth));
        let response = upstream.send(&upstream::Request {
            path: &target.api_path,
            body: &incoming.body,
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
        let count = serde_json::json!({"input_tokens": incoming.ir()?.estimate_input_tokens()});
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

/// Sends an `ir` request to a backend in its own dialect and waits for the whole answer: the
/// building block of `/debug/compare`, fan-out and the LLM classifier.
pub fn complete(
    upstream: &upstream::Upstream,
    mut request: ir::Request,
) -> Result<ir::Response, GatewayError> {
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
        body: &body,
        stream: false,
        dialect,
        client: &client,
    })?;
    let mut reader = response.body;
    let bytes = upstream::read_capped(&mut reader, respond::MAX_RESPONSE_BYTES).map_err(|e| {
        GatewayError::new(
            ErrorKind::BadGateway,
            format!("backend {}: {e}", backend.name),
        )
    })?;
    if response.status >= 400 {
        return Err(dialect.decode_error(response.status, &bytes));
    }
    respond::decode_answer(dialect, &backend.name, &bytes)
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
}
