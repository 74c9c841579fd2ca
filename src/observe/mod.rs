//! The books: what happened to every request, kept in memory for `/debug`, the dashboard and
//! Prometheus.
//!
//! Counters are atomics (the hot path takes no lock for them); labelled counters and the request
//! log ring sit behind one small `parking_lot` mutex each, taken once per request.

pub mod metrics;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

use crate::ir::Usage;

/// How many finished requests the log ring keeps.
pub const LOG_CAPACITY: usize = 1000;

/// One finished request, as the request log shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub id: String,
    /// Unix time in milliseconds when the request arrived.
    pub timestamp_ms: u64,
    pub method: String,
    pub path: String,
    /// The client's dialect (`openai`, `anthropic`, `responses`), if a chat endpoint.
    pub client_dialect: Option<&'static str>,
    pub backend: Option<String>,
    pub model: Option<String>,
    pub stream: bool,
    /// `passthrough`, `openai->anthropic`, ...
    pub conversion: Option<String>,
    /// Why this backend was chosen.
    pub route_reason: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    /// Time to the first streamed event, for streams.
    pub first_token_ms: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
}

/// Totals by label, as Prometheus counters.
#[derive(Debug, Default, Clone)]
pub struct Labelled {
    pub by_backend: BTreeMap<String, u64>,
    pub by_status: BTreeMap<u16, u64>,
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    pub input_tokens_by_backend: BTreeMap<String, u64>,
    pub output_tokens_by_backend: BTreeMap<String, u64>,
}

/// A consistent copy of the counters, for rendering.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub requests_total: u64,
    pub errors_total: u64,
    pub latency_sum_ms: f64,
    pub input_tokens_total: u64,
    pub output_tokens_total: u64,
    pub in_flight: u64,
    pub labelled: Labelled,
}

#[derive(Default)]
pub struct Books {
    requests_total: AtomicU64,
    errors_total: AtomicU64,
    /// Sum of request durations in microseconds.
    latency_sum_us: AtomicU64,
    input_tokens_total: AtomicU64,
    output_tokens_total: AtomicU64,
    in_flight: AtomicU64,
    labelled: Mutex<Labelled>,
    log: Mutex<VecDeque<LogEntry>>,
}

/// Marks a request in flight for as long as it lives.
pub struct InFlight<'a>(&'a Books);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Books {
    pub fn new() -> Books {
        Books::default()
    }

    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records a finished request.
    pub fn record(&self, entry: LogEntry, usage: &Usage, error_kind: Option<&'static str>) {
        self.requests_total.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((entry.duration_ms * 1000.0) as u64, Ordering::Relaxed);
        self.input_tokens_total
            .fetch_add(usage.input_tokens, Ordering::Relaxed);
        self.output_tokens_total
            .fetch_add(usage.output_tokens, Ordering::Relaxed);
        let is_error = entry.status >= 400 || error_kind.is_some();
        if is_error {
            self.errors_total.fetch_add(1, Ordering::Relaxed);
        }
        {
            let mut labelled = self.labelled.lock();
            if let Some(backend) = &entry.backend {
                *labelled.by_backend.entry(backend.clone()).or_default() += 1;
                if usage.input_tokens > 0 {
                    *labelled
                        .input_tokens_by_backend
                        .entry(backend.clone())
                        .or_default() += usage.input_tokens;
                }
                if usage.output_tokens > 0 {
                    *labelled
                        .output_tokens_by_backend
                        .entry(backend.clone())
                        .or_default() += usage.output_tokens;
                }
            }
            *labelled.by_status.entry(entry.status).or_default() += 1;
            if is_error {
                let kind = error_kind.unwrap_or("upstream");
                *labelled.errors_by_kind.entry(kind).or_default() += 1;
            }
        }
        let mut log = self.log.lock();
        if log.len() == LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// The newest `limit` log entries, newest first.
    pub fn recent(&self, limit: usize) -> Vec<LogEntry> {
        self.log.lock().iter().rev().take(limit).cloned().collect()
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            requests_total: self.requests_total.load(Ordering::Relaxed),
            errors_total: self.errors_total.load(Ordering::Relaxed),
            latency_sum_ms: self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1000.0,
            input_tokens_total: self.input_tokens_total.load(Ordering::Relaxed),
            output_tokens_total: self.output_tokens_total.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            labelled: self.labelled.lock().clone(),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
