//! Planning one upstream call: the same dialect passes through untouched; another converts
//! through the `ir` hub.

use crate::config::Backend;
use crate::dialect::Dialect;
use crate::error::GatewayError;
use crate::ir;

use super::incoming::{rewrite_model, Incoming};

/// What to send one backend, and how to read its answer.
pub struct Planned {
    /// The body to send; `None` means the client's body, byte for byte.
    pub body: Option<Vec<u8>>,
    pub path: String,
    /// The dialect of the backend's answer.
    pub backend_dialect: Dialect,
    /// The client's request as `ir` when converting (its encoder needs it); `None` for
    /// passthrough.
    pub converted: Option<ir::Request>,
}

impl Planned {
    /// `passthrough` or `client->backend`, for the log.
    pub fn describe(&self, client: Dialect) -> String {
        match self.converted {
            None => "passthrough".into(),
            Some(_) => format!("{}->{}", client.name(), self.backend_dialect.name()),
        }
    }
}

pub fn plan(incoming: &mut Incoming, backend: &Backend) -> Result<Planned, GatewayError> {
    let client = incoming.dialect;
    let backend_dialect = backend.dialect().unwrap_or(client);
    // A backend's configured `model` replaces whatever the client asked for (a client that
    // names the backend, or a Claude Code request sent to a local server, has no valid model).
    let model_override = backend
        .model
        .as_ref()
        .filter(|m| incoming.model.as_ref() != Some(*m));
    if backend_dialect == client {
        let body = match model_override {
            Some(m) => Some(rewrite_model(&incoming.body, m)?),
            None => None,
        };
        return Ok(Planned {
            body,
            path: incoming.api_path.clone(),
            backend_dialect,
            converted: None,
        });
    }
    let mut request = incoming.ir()?.clone();
    if let Some(m) = model_override {
        request.model = m.clone();
    }
    let body = serde_json::to_vec(&backend_dialect.encode_request(&request))
        .map_err(|e| GatewayError::internal(e.to_string()))?;
    Ok(Planned {
        body: Some(body),
        path: backend_dialect.upstream_path().to_owned(),
        backend_dialect,
        converted: Some(request),
    })
}
