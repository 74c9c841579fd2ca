//! The shared runtime state: the current config and its backends, the runtime default backend,
//! and the books. Readers take cheap `Arc` snapshots, so a request in flight keeps the config it
//! started with even if another thread swaps in a new one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::config::{Config, Overrides};
use crate::observe::Books;
use crate::upstream::health::HealthBoard;
use crate::upstream::Upstreams;

pub struct State {
    config: RwLock<Arc<Config>>,
    upstreams: RwLock<Arc<Upstreams>>,
    /// The default backend as switched at run time (starts as the config's `defaultBackend`).
    default_backend: RwLock<String>,
    /// Whether smart routing is on (starts as `smartRouter.enabled`; switchable at run time).
    smart_routing: AtomicBool,
    /// The command-line and environment overrides, applied again to every new config.
    pub overrides: Overrides,
    /// The config file, read again on reload.
    pub config_path: std::path::PathBuf,
    pub books: Books,
    pub health: HealthBoard,
    pub breakers: crate::upstream::breaker::Breakers,
    pub smart: crate::route::smart::SmartRouter,
    pub started: Instant,
    /// Unix time of the start, in seconds, for request ids and `process_start_time_seconds`.
    pub started_unix: u64,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
    /// Turns for proxy requests (`server.workers`, `server.queueSize`).
    pub admission: crate::server::Admission,
}

impl State {
    pub fn new(config: Config, overrides: Overrides, config_path: std::path::PathBuf) -> State {
        let upstreams = Upstreams::new(&config);
        let smart_on = smart_router_enabled(&config);
        let smart = crate::route::smart::SmartRouter::new(&config);
        let admission =
            crate::server::Admission::new(config.server.workers, config.server.queue_size);
        State {
            smart_routing: AtomicBool::new(smart_on),
            overrides,
            config_path,
            default_backend: RwLock::new(config.default_backend.clone()),
            config: RwLock::new(Arc::new(config)),
            upstreams: RwLock::new(Arc::new(upstreams)),
            books: Books::new(),
            smart,
            health: HealthBoard::default(),
            breakers: Default::default(),
            started: Instant::now(),
            started_unix: crate::observe::unix_ms() / 1000,
            next_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
            admission,
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.config.read().clone()
    }

    pub fn upstreams(&self) -> Arc<Upstreams> {
        self.upstreams.read().clone()
    }

    pub fn default_backend(&self) -> String {
        self.default_backend.read().clone()
    }

    /// Switches the default backend; the name must be a configured backend.
    pub fn set_default_backend(&self, name: &str) -> Result<String, String> {
        let config = self.config();
        if config.backend(name).is_none() {
            let names: Vec<&str> = config.backends.iter().map(|b| b.name.as_str()).collect();
            return Err(format!(
                "no backend named {name:?} (configured: {})",
                names.join(", ")
            ));
        }
        Ok(std::mem::replace(
            &mut *self.default_backend.write(),
            name.to_owned(),
        ))
    }

    pub fn smart_routing(&self) -> bool {
        self.smart_routing.load(Ordering::Relaxed)
    }

    pub fn set_smart_routing(&self, on: bool) -> bool {
        self.smart_routing.swap(on, Ordering::Relaxed)
    }

    /// Reads the config file again and puts it in place if it is valid; an invalid file leaves
    /// the running config untouched and says why. A runtime switch of the default backend
    /// survives unless the file's `defaultBackend` changed.
    pub fn reload(&self) -> Result<(), crate::config::ConfigError> {
        let new = Config::load(&self.config_path, &self.overrides)?;
        let default_changed = new.default_backend != self.config().default_backend;
        self.apply_config(new, default_changed);
        Ok(())
    }

    /// Puts a new, already validated config in place: its backends, and a default backend that
    /// exists in it. Requests in flight keep the config they started with.
    pub fn apply_config(&self, config: Config, default_changed: bool) {
        self.admission
            .set_limits(config.server.workers, config.server.queue_size);
        let upstreams = Arc::new(Upstreams::new(&config));
        let mut default = self.default_backend.write();
        if default_changed || config.backend(&default).is_none() {
            *default = config.default_backend.clone();
        }
        *self.upstreams.write() = upstreams;
        self.smart.on_config(&config);
        *self.config.write() = Arc::new(config);
    }

    /// A request id unique within this process and unlikely to repeat across restarts.
    pub fn next_request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("req_{:x}{:06x}", self.started_unix, n)
    }

    /// Scrape-time values for the metrics.
    pub fn gauges(&self) -> crate::observe::metrics::Gauges {
        let health = self.health.all();
        crate::observe::metrics::Gauges {
            queue_depth: self.admission.waiting(),
            backends_up: self
                .config()
                .backends
                .iter()
                .map(|b| (b.name.clone(), health.get(&b.name).and_then(|h| h.up)))
                .collect(),
            process: crate::observe::process::read(),
            start_time_seconds: self.started_unix,
        }
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}

fn smart_router_enabled(config: &Config) -> bool {
    config
        .extra
        .get("smartRouter")
        .and_then(|s| s.get("enabled"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}
