//! Statistics computed from the request log: totals, success rate, latency percentiles, the last
//! hour, per backend, per category and tokens. Computed on demand (a few hundred microseconds over
//! the whole ring), so the request path pays nothing for them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{unix_ms, LogEntry};

/// The p-th percentile (0..=100) of sorted values, nearest-rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Summary of a group of requests.
fn summarize<'a>(entries: impl Iterator<Item = &'a LogEntry>) -> Value {
    let mut latencies = Vec::new();
    let (mut ok, mut errors, mut input, mut output) = (0u64, 0u64, 0u64, 0u64);
    let mut first_tokens = Vec::new();
    for e in entries {
        latencies.push(e.duration_ms);
        if e.status < 400 && e.error.is_none() {
            ok += 1;
        } else {
            errors += 1;
        }
        input = input.saturating_add(e.input_tokens);
        output = output.saturating_add(e.output_tokens);
        if let Some(t) = e.first_token_ms {
            first_tokens.push(t);
        }
    }
    let total = latencies.len() as u64;
    latencies.sort_by(f64::total_cmp);
    first_tokens.sort_by(f64::total_cmp);
    let avg = if total == 0 {
        0.0
    } else {
        latencies.iter().sum::<f64>() / total as f64
    };
    json!({
        "requests": total,
        "successes": ok,
        "errors": errors,
        "successRate": if total == 0 { 1.0 } else { round1(ok as f64 * 1000.0 / total as f64) / 1000.0 },
        "avgLatencyMs": round1(avg),
        "p50LatencyMs": round1(percentile(&latencies, 50.0)),
        "p95LatencyMs": round1(percentile(&latencies, 95.0)),
        "p50FirstTokenMs": round1(percentile(&first_tokens, 50.0)),
        "inputTokens": input,
        "outputTokens": output,
    })
}

/// The `/debug/stats` document for the entries in the log (oldest first or any order).
pub fn compute(entries: &[LogEntry], totals: &super::Snapshot) -> Value {
    let now = unix_ms();
    let hour_ago = now.saturating_sub(3_600_000);
    let mut by_backend: BTreeMap<&str, Vec<&LogEntry>> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    for e in entries {
        if let Some(b) = e.backend.as_deref() {
            by_backend.entry(b).or_default().push(e);
        }
        if let Some(c) = e.category.as_deref() {
            *by_category.entry(c).or_default() += 1;
        }
    }
    let backends: serde_json::Map<String, Value> = by_backend
        .into_iter()
        .map(|(name, list)| (name.to_owned(), summarize(list.into_iter())))
        .collect();
    let recent_routing: Vec<Value> = entries
        .iter()
        .rev()
        .filter(|e| e.route_reason.is_some())
        .take(20)
        .map(|e| {
            json!({"id": e.id, "timestampMs": e.timestamp_ms, "backend": e.backend,
                "reason": e.route_reason, "category": e.category, "model": e.model})
        })
        .collect();
    json!({
        "overview": {
            "totalRequests": totals.requests_total,
            "totalErrors": totals.errors_total,
            "successRate": if totals.requests_total == 0 { 1.0 } else {
                round1((totals.requests_total - totals.errors_total) as f64 * 1000.0 / totals.requests_total as f64) / 1000.0
            },
            "avgLatencyMs": if totals.requests_total == 0 { 0.0 } else { round1(totals.latency_sum_ms / totals.requests_total as f64) },
            "inFlight": totals.in_flight,
            "window": summarize(entries.iter()),
            "lastHour": summarize(entries.iter().filter(|e| e.timestamp_ms >= hour_ago)),
        },
        "backends": backends,
        "categories": by_category,
        "tokens": {
            "input": totals.input_tokens_total,
            "output": totals.output_tokens_total,
            "byBackend": tokens_by_backend(totals),
        },
        "recentRouting": recent_routing,
    })
}

/// Token totals per backend since start.
pub fn tokens_by_backend(totals: &super::Snapshot) -> Value {
    let l = &totals.labelled;
    let mut names: Vec<&String> = l
        .input_tokens_by_backend
        .keys()
        .chain(l.output_tokens_by_backend.keys())
        .collect();
    names.sort();
    names.dedup();
    let map: serde_json::Map<String, Value> = names
        .into_iter()
        .map(|n| {
            let input = l.input_tokens_by_backend.get(n).copied().unwrap_or(0);
            let output = l.output_tokens_by_backend.get(n).copied().unwrap_or(0);
            (
                n.clone(),
                json!({"input": input, "output": output, "total": input.saturating_add(output)}),
            )
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 95.0), 95.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
