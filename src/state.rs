//! The shared runtime state: the current config and its backends, the runtime default backend,
//! and the books. Readers take cheap `Arc` snapshots, so a request in flight keeps the config it
//! started with even if another thread swaps in a new one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;

use crate::config::Config;
use crate::observe::Books;
use crate::upstream::Upstreams;

pub struct State {
    config: RwLock<Arc<Config>>,
    upstreams: RwLock<Arc<Upstreams>>,
    /// The default backend as switched at run time (starts as the config's `defaultBackend`).
    default_backend: RwLock<String>,
    pub books: Books,
    pub started: Instant,
    /// Unix time of the start, in seconds, for request ids and `process_start_time_seconds`.
    pub started_unix: u64,
    next_id: AtomicU64,
    shutting_down: AtomicBool,
}

impl State {
    pub fn new(config: Config) -> State {
        let upstreams = Upstreams::new(&config);
        State {
            default_backend: RwLock::new(config.default_backend.clone()),
            config: RwLock::new(Arc::new(config)),
            upstreams: RwLock::new(Arc::new(upstreams)),
            books: Books::new(),
            started: Instant::now(),
            started_unix: crate::observe::unix_ms() / 1000,
            next_id: AtomicU64::new(1),
            shutting_down: AtomicBool::new(false),
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

    /// A request id unique within this process and unlikely to repeat across restarts.
    pub fn next_request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("req_{:x}{:06x}", self.started_unix, n)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }
}
