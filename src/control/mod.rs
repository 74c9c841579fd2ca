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
use crate::server::body::{self, Body};
use crate::server::{Exchange, Reply};
use crate::state::State;

/// The largest body a control request may carry.
const MAX_CONTROL_BODY: usize = 1024 * 1024;

/// What a control endpoint needs from the caller.
enum Access {
    Open,
    Read,
    Admin,
}

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

/// The methods each control path accepts.
fn allowed(path: &str) -> &'static str {
    match path {
        "/debug/switch" | "/debug/config" | "/debug/router" => "GET, POST",
        "/debug/compare" => "POST",
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
    let (access, known) = match path {
        "/" | "/debug/health" => (Access::Open, is_get),
        "/debug/logs" | "/debug/stats" | "/debug/tokens" | "/debug/models" | "/debug/config"
        | "/debug/switch"
            if is_get =>
        {
            (Access::Read, true)
        }
        "/debug/switch" | "/debug/config" | "/debug/compare" | "/debug/router" if is_post => {
            (Access::Admin, true)
        }
        "/debug/logs" | "/debug/stats" | "/debug/tokens" | "/debug/models" | "/debug/config"
        | "/debug/switch" | "/debug/compare" => (Access::Open, false),
        _ => {
            return Err(GatewayError::new(
                ErrorKind::NotFound,
                format!("no such endpoint: {path}"),
            ))
        }
    };
    if !known {
        return Err(GatewayError::new(
            ErrorKind::MethodNotAllowed,
            format!("{path} accepts {}", allowed(path)),
        ));
    }
    let config = state.config();
    let presented = auth::presented(request);
    match access {
        Access::Open => {}
        Access::Read => auth::check_reader(&config.auth, &presented)?,
        Access::Admin => auth::check_admin(&config.auth, &presented)?,
    }
    let body = if is_post {
        match body::read(request, MAX_CONTROL_BODY)? {
            Body::Read(bytes) => bytes,
            Body::TooLarge(err) => return Err(err),
            Body::Abandon => {
                return Err(GatewayError::new(
                    ErrorKind::PayloadTooLarge,
                    "request body too large",
                ))
            }
        }
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
            let api = match b.kind {
                crate::config::BackendKind::Http(d) => d.name(),
                crate::config::BackendKind::Demo => "demo",
            };
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
            "GET /debug/models", "GET|POST /debug/switch", "GET|POST /debug/config", "POST /debug/compare"
        ]
    })
}
