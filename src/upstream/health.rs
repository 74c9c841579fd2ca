//! Background health probes: every backend is asked for its models on a fixed interval, and the
//! answer (reachable or not, latency, models) is kept for `/debug/health`, `/debug/models`, the
//! dashboard and the `llm_proxy_backend_up` metric.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::Serialize;

use crate::config::{BackendKind, Config};

/// How often each backend is probed.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the last probe of one backend found.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `None` until the first probe has finished.
    pub up: Option<bool>,
    pub last_check_ms: Option<u64>,
    pub latency_ms: Option<f64>,
    pub error: Option<String>,
    pub models: Vec<String>,
}

/// The latest health of every backend, by name.
#[derive(Default)]
pub struct HealthBoard {
    by_backend: RwLock<HashMap<String, Health>>,
}

impl HealthBoard {
    pub fn get(&self, backend: &str) -> Health {
        self.by_backend
            .read()
            .get(backend)
            .cloned()
            .unwrap_or_default()
    }

    pub fn all(&self) -> HashMap<String, Health> {
        self.by_backend.read().clone()
    }

    /// Probes every backend of `config` once, in parallel, and records the results.
    pub fn probe_all(&self, config: &Config) {
        let results: Vec<(String, Health)> = std::thread::scope(|scope| {
            let handles: Vec<_> = config
                .backends
                .iter()
                .map(|backend| {
                    scope.spawn(move || {
                        let started = Instant::now();
                        let result = match backend.kind {
                            BackendKind::Demo => Ok(vec![serde_json::json!({"id": "demo"})]),
                            BackendKind::Http(_) => {
                                super::http::list_models(backend, PROBE_TIMEOUT)
                            }
                        };
                        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                        let health = match result {
                            Ok(models) => Health {
                                up: Some(true),
                                last_check_ms: Some(crate::observe::unix_ms()),
                                latency_ms: Some((latency_ms * 10.0).round() / 10.0),
                                error: None,
                                models: models
                                    .iter()
                                    .filter_map(|m| {
                                        m.get("id").and_then(|id| id.as_str()).map(str::to_owned)
                                    })
                                    .collect(),
                            },
                            // An HTTP error status still means the backend is there (a 401 on
                            // /v1/models from a server that wants a key, a 404 from one without
                            // the endpoint); only no answer at all is "down".
                            Err(e) if e.starts_with("HTTP ") && !e.starts_with("HTTP 5") => {
                                Health {
                                    up: Some(true),
                                    last_check_ms: Some(crate::observe::unix_ms()),
                                    latency_ms: Some((latency_ms * 10.0).round() / 10.0),
                                    error: Some(format!("models list: {e}")),
                                    models: Vec::new(),
                                }
                            }
                            Err(e) => Health {
                                up: Some(false),
                                last_check_ms: Some(crate::observe::unix_ms()),
                                latency_ms: None,
                                error: Some(e),
                                models: Vec::new(),
                            },
                        };
                        (backend.name.clone(), health)
                    })
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let mut board = self.by_backend.write();
        board.retain(|name, _| config.backend(name).is_some());
        board.extend(results);
    }
}

/// Starts the prober thread. It reads the current config each round, so backends added at run
/// time are probed too.
pub fn start(state: Arc<crate::state::State>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("health".into())
        .stack_size(256 * 1024)
        .spawn(move || loop {
            if state.is_shutting_down() {
                return;
            }
            let config = state.config();
            state.health.probe_all(&config);
            // Probes count towards circuit breaking like requests do.
            for (name, health) in state.health.all() {
                match health.up {
                    Some(true) => state.breakers.probe_ok(&name),
                    Some(false) => state.breakers.failure(&name, &config.circuit_breaker),
                    None => {}
                }
            }
            std::thread::sleep(PROBE_INTERVAL);
        })?;
    Ok(())
}
