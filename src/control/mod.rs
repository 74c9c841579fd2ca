//! The control plane on the proxy port: `GET /` (what this gateway is), the `/debug/*` JSON
//! endpoints and `proxy-cli`. Reads need a client key or the admin token when auth is
//! configured; every mutating action needs the admin token.

pub mod auth;
pub mod cli;
pub mod dashboard;
pub mod debug;

use serde_json::json;
use tiny_http::Method;

use crate::error::{ErrorKind, GatewayError};
use crate::server::body;
use crate::server::{Exchange, Reply};
use crate::state::State;

/// The largest body a control request may carry.
const MAX_CONTROL_BODY: usize = 1024 * 1024;

/// What a control endpoint needs from the caller.
#[derive(Clone, Copy)]
enum Access {
    Open,
    /// A client key or the admin token, when auth is configured.
    Read,
    /// The admin token, when one is configured.
    Admin,
}

/// Every control endpoint: its path, and what a GET and a POST need (`None`: not allowed).
const ENDPOINTS: &[(&str, Option<Access>, Option<Access>)] = &[
    ("/", Some(Access::Open), None),
    ("/debug/health", Some(Access::Open), None),
    ("/debug/logs", Some(Access::Read), None),
    ("/debug/stats", Some(Access::Read), None),
    ("/debug/tokens", Some(Access::Read), None),
    ("/debug/models", Some(Access::Read), None),
    ("/debug/switch", Some(Access::Read), Some(Access::Admin)),
    ("/debug/config", Some(Access::Read), Some(Access::Admin)),
    ("/debug/router", Some(Access::Read), Some(Access::Admin)),
    ("/debug/compare", None, Some(Access::Admin)),
];

pub fn handle(state: &State, ex: &mut Exchange) {
    let Some(request) = ex.request.as_mut() else {
        return;
    };
    let url = request.url().to_owned();
    let path = url
        .split('?')
        .next()
        .unwrap_or("/")
        .trim_end_matches('/')
        .to_owned();
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let method = request.method().clone();
    let reply = match serve(state, request, &method, &path, &url) {
        Ok(reply) => reply,
        Err(err) => {
            let mut reply = Reply::error(None, &err);
            if err.kind == ErrorKind::MethodNotAllowed {
                reply = reply.header("Allow", allowed(&path));
            }
            reply
        }
    };
    if let Some(request) = ex.request.take() {
        reply.send(request);
    }
}

/// The methods a control path accepts, for the `Allow` header.
fn allowed(path: &str) -> &'static str {
    match ENDPOINTS.iter().find(|(p, _, _)| *p == path) {
        Some((_, Some(_), Some(_))) => "GET, HEAD, POST",
        Some((_, None, Some(_))) => "POST",
        _ => "GET, HEAD",
    }
}

fn serve(
    state: &State,
    request: &mut tiny_http::Request,
    method: &Method,
    path: &str,
    url: &str,
) -> Result<Reply, GatewayError> {
    let is_get = matches!(method, Method::Get | Method::Head);
    let is_post = *method == Method::Post;
    if path == "/dashboard" || path.starts_with("/dashboard/") {
        if !is_get {
            return Err(GatewayError::new(
                ErrorKind::MethodNotAllowed,
                format!("{path} accepts GET, HEAD"),
            ));
        }
        return dashboard::serve(path).ok_or_else(|| {
            GatewayError::new(
                ErrorKind::NotFound,
                format!("no such dashboard file: {path}"),
            )
        });
    }
    let Some((_, get, post)) = ENDPOINTS.iter().find(|(p, _, _)| *p == path) else {
        return Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("no such endpoint: {path}"),
        ));
    };
    let access = match (is_get, is_post) {
        (true, _) => *get,
        (_, true) => *post,
        _ => None,
    };
    let Some(access) = access else {
        return Err(GatewayError::new(
            ErrorKind::MethodNotAllowed,
            format!("{path} accepts {}", allowed(path)),
        ));
    };
    let config = state.config();
    let presented = auth::presented(request);
    match access {
        Access::Open => {}
        Access::Read => auth::check_reader(&config.auth, &presented)?,
        Access::Admin => auth::check_admin(&config.auth, &presented)?,
    }
    let body = if is_post {
        body::read(request, MAX_CONTROL_BODY)?
    } else {
        Vec::new()
    };
    match (path, is_post) {
        ("/", _) => Ok(Reply::pretty(200, &describe(state))),
        ("/debug/health", _) => Ok(debug::health(state)),
        ("/debug/logs", _) => debug::logs(state, url),
        ("/debug/stats", _) => Ok(debug::stats(state)),
        ("/debug/tokens", _) => Ok(debug::tokens(state)),
        ("/debug/models", _) => Ok(debug::models(state)),
        ("/debug/switch", false) => Ok(debug::switch_status(state)),
        ("/debug/switch", true) => debug::switch(state, &body),
        ("/debug/config", false) => Ok(debug::config(state)),
        ("/debug/config", true) => debug::update_config(state, &body),
        ("/debug/compare", _) => debug::compare(state, &body),
        ("/debug/router", false) => Ok(Reply::pretty(200, &state.smart.debug_get(state))),
        ("/debug/router", true) => {
            let value = debug::parse_json(&body)?;
            Ok(Reply::pretty(200, &state.smart.debug_post(state, &value)?))
        }
        _ => Err(GatewayError::new(
            ErrorKind::NotFound,
            format!("no such endpoint: {path}"),
        )),
    }
}

/// What `GET /` says about the gateway.
fn describe(state: &State) -> serde_json::Value {
    let config = state.config();
    let backends: Vec<_> = config
        .backends
        .iter()
        .map(|b| {
            let api = b.api_name();
            json!({"name": b.name, "api": api})
        })
        .collect();
    json!({
        "name": "llm-gateway",
        "version": env!("CARGO_PKG_VERSION"),
        "status": "ok",
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "defaultBackend": state.default_backend(),
        "smartRouting": state.smart_routing(),
        "backends": backends,
        "endpoints": [
            "POST /v1/chat/completions",
            "POST /v1/messages",
            "POST /v1/messages/count_tokens",
            "POST /v1/responses",
            "POST /{backend}/v1/...",
            "GET /v1/models",
            "GET /debug/health", "GET /debug/logs", "GET /debug/stats", "GET /debug/tokens",
            "GET /debug/models", "GET|POST /debug/switch", "GET|POST /debug/config", "POST /debug/compare",
            "GET|POST /debug/router", "GET /dashboard"

        ]
    })
}
