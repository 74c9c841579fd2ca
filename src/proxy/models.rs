//! `GET /v1/models`: the union of every backend's models, each tagged with its backend.
//!
//! Backends are asked in parallel with a short timeout; one that does not answer is left out
//! (and named in `errors`) rather than failing the list. Each backend's own name is listed as a
//! model too, since a request whose `model` names a backend is routed there.

use std::time::Duration;

use serde_json::{json, Value};

use crate::config::{Backend, BackendKind};
use crate::error::{ErrorKind, GatewayError};
use crate::server::Reply;
use crate::state::State;

const LIST_TIMEOUT: Duration = Duration::from_secs(3);

pub fn list(state: &State, pinned: Option<&str>) -> Result<Reply, GatewayError> {
    let config = state.config();
    let backends: Vec<&Backend> = match pinned {
        Some(name) => vec![config.backend(name).ok_or_else(|| {
            GatewayError::new(ErrorKind::NotFound, format!("no backend named {name:?}"))
        })?],
        None => config.backends.iter().collect(),
    };
    let answers: Vec<(String, Result<Vec<Value>, String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = backends
            .iter()
            .map(|b| scope.spawn(move || (b.name.clone(), fetch(b))))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let created = state.started_unix;
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for (backend, answer) in answers {
        data.push(json!({"id": backend, "object": "model", "type": "model", "created": created,
            "owned_by": "llm-gateway", "backend": backend, "display_name": format!("{backend} (backend)")}));
        match answer {
            Ok(models) => {
                for mut model in models {
                    if let Some(obj) = model.as_object_mut() {
                        obj.insert("backend".into(), Value::String(backend.clone()));
                        obj.entry("object").or_insert_with(|| "model".into());
                        obj.entry("owned_by")
                            .or_insert_with(|| backend.clone().into());
                        data.push(model);
                    }
                }
            }
            Err(e) => errors.push(json!({"backend": backend, "error": e})),
        }
    }
    let mut body = json!({"object": "list", "data": data, "has_more": false});
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    Ok(Reply::json(200, body.to_string().into_bytes()))
}

/// The models one backend lists.
fn fetch(backend: &Backend) -> Result<Vec<Value>, String> {
    match backend.kind {
        BackendKind::Demo => Ok(vec![
            json!({"id": "demo", "object": "model", "owned_by": "llm-gateway"}),
        ]),
        BackendKind::Http(_) => crate::upstream::http::list_models(backend, LIST_TIMEOUT),
    }
}
