//! The books: what happened to every request, kept in memory for `/debug`, the dashboard and
//! Prometheus.
//!
//! Counters are atomics (the hot path takes no lock for them); labelled counters and the request
//! log ring sit behind one small `parking_lot` mutex each, taken once per request.

pub mod metrics;
pub mod process;
pub mod stats;

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
    /// The query's category, when the smart router classified it.
    pub category: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    /// Time to the first streamed event, for streams.
    pub first_token_ms: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// The backend reported no usage; the token counts are the gateway's estimate.
    pub tokens_estimated: bool,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
}

/// Upper bounds (seconds) of the latency histogram buckets: from a cached answer to a long
/// local generation.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A Prometheus histogram with [`LATENCY_BUCKETS`]: per-bucket (not cumulative) counts.
#[derive(Debug, Default, Clone)]
pub struct Histogram {
    pub buckets: [u64; LATENCY_BUCKETS.len()],
    pub count: u64,
    pub sum: f64,
}

impl Histogram {
    pub fn observe(&mut self, seconds: f64) {
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Totals by label, as Prometheus counters.
#[derive(Debug, Default, Clone)]
pub struct Labelled {
    /// Request duration by backend.
    pub duration_by_backend: BTreeMap<String, Histogram>,
    /// Time to first streamed event by backend.
    pub first_token_by_backend: BTreeMap<String, Histogram>,
    /// Smart-router classifications by category.
    pub classifications: BTreeMap<String, u64>,
    /// Requests that moved to another backend, by the backend they left.
    pub fallbacks_by_backend: BTreeMap<String, u64>,
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
        let is_error = entry.status >= 400 || error_kind.is_some();
        {
            // Every counter moves under the one lock `snapshot` takes, so a scrape never sees a
            // request counted and its error or status not yet.
            let mut labelled = self.labelled.lock();
            self.requests_total.fetch_add(1, Ordering::Relaxed);
            self.latency_sum_us
                .fetch_add((entry.duration_ms * 1000.0) as u64, Ordering::Relaxed);
            saturating_add(&self.input_tokens_total, usage.input_tokens);
            saturating_add(&self.output_tokens_total, usage.output_tokens);
            if is_error {
                self.errors_total.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(category) = &entry.category {
                *labelled
                    .classifications
                    .entry(category.clone())
                    .or_default() += 1;
            }
            if let Some(backend) = &entry.backend {
                *labelled.by_backend.entry(backend.clone()).or_default() += 1;
                labelled
                    .duration_by_backend
                    .entry(backend.clone())
                    .or_default()
                    .observe(entry.duration_ms / 1000.0);
                if let Some(ms) = entry.first_token_ms {
                    labelled
                        .first_token_by_backend
                        .entry(backend.clone())
                        .or_default()
                        .observe(ms / 1000.0);
                }
                // Counts come from backends: a hostile one may claim u64::MAX.
                if usage.input_tokens > 0 {
                    let total = labelled
                        .input_tokens_by_backend
                        .entry(backend.clone())
                        .or_default();
                    *total = total.saturating_add(usage.input_tokens);
                }
                if usage.output_tokens > 0 {
                    let total = labelled
                        .output_tokens_by_backend
                        .entry(backend.clone())
                        .or_default();
                    *total = total.saturating_add(usage.output_tokens);
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

    /// Counts a move from one backend to the next.
    pub fn record_fallback(&self, from: &str) {
        *self
            .labelled
            .lock()
            .fallbacks_by_backend
            .entry(from.to_owned())
            .or_default() += 1;
    }

    /// Every entry in the log, oldest first.
    pub fn all_entries(&self) -> Vec<LogEntry> {
        self.log.lock().iter().cloned().collect()
    }

    /// The newest `limit` log entries, newest first.
    pub fn recent(&self, limit: usize) -> Vec<LogEntry> {
        self.log.lock().iter().rev().take(limit).cloned().collect()
    }

    pub fn snapshot(&self) -> Snapshot {
        let labelled = self.labelled.lock();
        Snapshot {
            requests_total: self.requests_total.load(Ordering::Relaxed),
            errors_total: self.errors_total.load(Ordering::Relaxed),
            latency_sum_ms: self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1000.0,
            input_tokens_total: self.input_tokens_total.load(Ordering::Relaxed),
            output_tokens_total: self.output_tokens_total.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            labelled: labelled.clone(),
        }
    }
}

/// Adds to a counter without wrapping (a counter that wrapped would read as a reset).
fn saturating_add(counter: &AtomicU64, n: u64) {
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_add(n))
    });
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
