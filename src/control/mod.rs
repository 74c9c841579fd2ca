//! The control plane on the proxy port: `GET /` and `HEAD /` (what this gateway is), and later
//! `/debug/*` and the dashboard.

use serde_json::json;

use crate::error::{ErrorKind, GatewayError};
use crate::server::{Exchange, Reply};
use crate::state::State;

pub fn handle(state: &State, ex: &mut Exchange) {
    let Some(request) = ex.request.take() else {
        return;
    };
    let path = request.url().split('?').next().unwrap_or("/").to_owned();
    let method = request.method().clone();
    let reply = match (method, path.as_str()) {
        (tiny_http::Method::Get | tiny_http::Method::Head, "/") => {
            Reply::pretty(200, &describe(state))
        }
        (_, "/") => Reply::error(
            None,
            &GatewayError::new(ErrorKind::MethodNotAllowed, "/ accepts GET and HEAD"),
        )
        .header("Allow", "GET, HEAD"),
        _ => Reply::error(
            None,
            &GatewayError::new(ErrorKind::NotFound, format!("no such endpoint: {path}")),
        ),
    };
    reply.send(request);
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
        "backends": backends,
        "endpoints": [
            "POST /v1/chat/completions",
            "POST /v1/messages",
            "POST /v1/messages/count_tokens",
            "POST /v1/responses",
            "POST /{backend}/v1/...",
            "GET /v1/models"
        ]
    })
}
