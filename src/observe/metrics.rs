//! Prometheus text exposition (format 0.0.4), written by hand from a [`Snapshot`].
//! Spec: <https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>

use std::fmt::Write;

use super::Snapshot;

/// One sample of a family: label pairs and a value.
pub struct Sample<'a> {
    pub labels: &'a [(&'a str, &'a str)],
    pub value: f64,
}

/// Writes one metric family: `# HELP`, `# TYPE` and its samples, label values escaped.
pub fn write_family(out: &mut String, name: &str, help: &str, kind: &str, samples: &[Sample<'_>]) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for sample in samples {
        out.push_str(name);
        if !sample.labels.is_empty() {
            out.push('{');
            for (i, (key, value)) in sample.labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{key}=\"{}\"", escape_label(value));
            }
            out.push('}');
        }
        let _ = writeln!(out, " {}", format_value(sample.value));
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Values that are read at scrape time rather than counted.
#[derive(Debug, Default, Clone)]
pub struct Gauges {
    pub queue_depth: usize,
    /// Each backend and whether its last probe reached it (1), did not (0), or none ran yet.
    pub backends_up: Vec<(String, Option<bool>)>,
    pub process: super::process::ProcessStats,
    pub start_time_seconds: u64,
}

/// The whole exposition text.
pub fn render(snapshot: &Snapshot, gauges: &Gauges) -> String {
    let mut out = String::with_capacity(2048);
    let one = |value: f64| [Sample { labels: &[], value }];
    write_family(
        &mut out,
        "llm_proxy_requests_total",
        "Requests handled by the gateway.",
        "counter",
        &one(snapshot.requests_total as f64),
    );
    write_family(
        &mut out,
        "llm_proxy_errors_total",
        "Requests that ended in an error.",
        "counter",
        &one(snapshot.errors_total as f64),
    );
    let avg = if snapshot.requests_total == 0 {
        0.0
    } else {
        snapshot.latency_sum_ms / snapshot.requests_total as f64
    };
    write_family(
        &mut out,
        "llm_proxy_latency_avg_ms",
        "Average request duration in milliseconds.",
        "gauge",
        &one((avg * 1000.0).round() / 1000.0),
    );
    let labelled = &snapshot.labelled;
    let backend_samples = |map: &std::collections::BTreeMap<String, u64>| -> Vec<(String, f64)> {
        map.iter().map(|(k, v)| (k.clone(), *v as f64)).collect()
    };
    write_labelled(
        &mut out,
        "llm_proxy_requests_by_backend",
        "Requests by backend.",
        "backend",
        &backend_samples(&labelled.by_backend),
    );
    let statuses: Vec<(String, f64)> = labelled
        .by_status
        .iter()
        .map(|(s, n)| (s.to_string(), *n as f64))
        .collect();
    write_labelled(
        &mut out,
        "llm_proxy_requests_by_status",
        "Requests by HTTP status.",
        "status",
        &statuses,
    );
    let kinds: Vec<(String, f64)> = labelled
        .errors_by_kind
        .iter()
        .map(|(k, n)| (k.to_string(), *n as f64))
        .collect();
    write_labelled(
        &mut out,
        "llm_proxy_errors_by_kind_total",
        "Errors by kind.",
        "kind",
        &kinds,
    );
    write_family(
        &mut out,
        "llm_proxy_tokens_input_total",
        "Input (prompt) tokens reported by backends.",
        "counter",
        &one(snapshot.input_tokens_total as f64),
    );
    write_family(
        &mut out,
        "llm_proxy_tokens_output_total",
        "Output (completion) tokens reported by backends.",
        "counter",
        &one(snapshot.output_tokens_total as f64),
    );
    write_labelled(
        &mut out,
        "llm_proxy_tokens_input_by_backend",
        "Input tokens by backend.",
        "backend",
        &backend_samples(&labelled.input_tokens_by_backend),
    );
    write_labelled(
        &mut out,
        "llm_proxy_tokens_output_by_backend",
        "Output tokens by backend.",
        "backend",
        &backend_samples(&labelled.output_tokens_by_backend),
    );
    write_family(
        &mut out,
        "llm_proxy_in_flight_requests",
        "Requests being handled right now.",
        "gauge",
        &one(snapshot.in_flight as f64),
    );
    write_family(
        &mut out,
        "llm_proxy_queue_depth",
        "Proxy requests waiting for a turn (server.workers all in use).",
        "gauge",
        &one(gauges.queue_depth as f64),
    );
    write_histograms(
        &mut out,
        "llm_proxy_request_duration_seconds",
        "Request duration by backend, in seconds.",
        &labelled.duration_by_backend,
    );
    write_histograms(
        &mut out,
        "llm_proxy_time_to_first_token_seconds",
        "Time from the start of a stream to its first event, by backend, in seconds.",
        &labelled.first_token_by_backend,
    );
    let up: Vec<(String, f64)> = gauges
        .backends_up
        .iter()
        .filter_map(|(name, up)| up.map(|u| (name.clone(), if u { 1.0 } else { 0.0 })))
        .collect();
    write_labelled_kind(
        &mut out,
        "llm_proxy_backend_up",
        "Whether the last health probe reached the backend (1) or not (0).",
        "gauge",
        "backend",
        &up,
    );
    write_labelled(
        &mut out,
        "llm_proxy_classifications_total",
        "Smart-router classifications by category.",
        "category",
        &backend_samples(&labelled.classifications),
    );
    write_labelled(
        &mut out,
        "llm_proxy_fallbacks_total",
        "Requests moved to another backend, by the backend they left.",
        "backend",
        &backend_samples(&labelled.fallbacks_by_backend),
    );
    let p = &gauges.process;
    write_family(
        &mut out,
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        &one(p.resident_bytes as f64),
    );
    write_family(
        &mut out,
        "process_open_fds",
        "Number of open file descriptors.",
        "gauge",
        &one(p.open_fds as f64),
    );
    write_family(
        &mut out,
        "process_threads",
        "Number of OS threads.",
        "gauge",
        &one(p.threads as f64),
    );
    write_family(
        &mut out,
        "process_start_time_seconds",
        "Start time of the process since the Unix epoch, in seconds.",
        "gauge",
        &one(gauges.start_time_seconds as f64),
    );
    out
}

/// Histogram families with a `backend` label: cumulative `_bucket`s, `_sum` and `_count`.
fn write_histograms(
    out: &mut String,
    name: &str,
    help: &str,
    by_backend: &std::collections::BTreeMap<String, super::Histogram>,
) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (backend, h) in by_backend {
        let backend = escape_label(backend);
        let mut cumulative = 0;
        for (bound, n) in super::LATENCY_BUCKETS.iter().zip(h.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{backend=\"{backend}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{backend=\"{backend}\",le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(
            out,
            "{name}_sum{{backend=\"{backend}\"}} {}",
            format_value(h.sum)
        );
        let _ = writeln!(out, "{name}_count{{backend=\"{backend}\"}} {}", h.count);
    }
}

/// A counter family with one label.
fn write_labelled(out: &mut String, name: &str, help: &str, label: &str, values: &[(String, f64)]) {
    write_labelled_kind(out, name, help, "counter", label, values);
}

/// A family with one label: a sample per label value.
fn write_labelled_kind(
    out: &mut String,
    name: &str,
    help: &str,
    kind: &str,
    label: &str,
    values: &[(String, f64)],
) {
    let pairs: Vec<[(&str, &str); 1]> = values.iter().map(|(v, _)| [(label, v.as_str())]).collect();
    let samples: Vec<Sample> = pairs
        .iter()
        .zip(values)
        .map(|(labels, (_, value))| Sample {
            labels,
            value: *value,
        })
        .collect();
    write_family(out, name, help, kind, &samples);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Usage;
    use crate::observe::{Books, LogEntry};

    fn entry(backend: &str, status: u16) -> LogEntry {
        LogEntry {
            id: "1".into(),
            timestamp_ms: 0,
            method: "POST".into(),
            path: "/v1/messages".into(),
            client_dialect: Some("anthropic"),
            backend: Some(backend.into()),
            model: None,
            stream: false,
            conversion: None,
            route_reason: None,
            category: None,
            status,
            duration_ms: 2.0,
            first_token_ms: None,
            input_tokens: 3,
            output_tokens: 4,
            tokens_estimated: false,
            error: None,
            request_body: None,
        }
    }

    #[test]
    fn renders_counters_with_escaped_labels() {
        let books = Books::new();
        let usage = Usage {
            input_tokens: 3,
            output_tokens: 4,
            ..Usage::default()
        };
        books.record(entry("we\"ird\\name", 200), &usage, None);
        books.record(entry("local", 502), &Usage::default(), Some("bad_gateway"));
        let text = render(&books.snapshot(), &Gauges::default());
        assert!(text.contains("llm_proxy_requests_total 2\n"), "{text}");
        assert!(text.contains("llm_proxy_errors_total 1\n"), "{text}");
        assert!(
            text.contains(r#"llm_proxy_requests_by_backend{backend="we\"ird\\name"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"llm_proxy_requests_by_status{status="502"} 1"#),
            "{text}"
        );
        assert!(text.contains("llm_proxy_tokens_input_total 3\n"), "{text}");
        assert!(
            text.contains(
                "llm_proxy_request_duration_seconds_bucket{backend=\"local\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("llm_proxy_request_duration_seconds_count{backend=\"local\"} 1"),
            "{text}"
        );
        // Every family is introduced by HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let mut name = line.split(['{', ' ']).next().unwrap();
            for suffix in ["_bucket", "_sum", "_count"] {
                if text.contains("# TYPE ")
                    && name.ends_with(suffix)
                    && !text.contains(&format!("# TYPE {name} "))
                {
                    name = name.strip_suffix(suffix).unwrap();
                }
            }
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "no TYPE for {name}"
            );
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "no HELP for {name}"
            );
        }
    }
}
