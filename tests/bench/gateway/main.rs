//! `make bench` (`cargo bench --bench gateway`): the release gateway against a fast mock backend,
//! compared with the same mock hit directly, on 127.0.0.1.
//!
//! 1. Non-streaming throughput and latency with wrk at 1, 16 and 64 connections, direct and through
//!    the gateway, alternating.
//! 2. Streaming: 200-token streams, time to first token and added per-event latency, for OpenAI
//!    chat and Anthropic messages passthrough, and the conversion lane (Anthropic client, OpenAI
//!    backend), which is reported as skipped while the gateway cannot convert yet.
//! 3. The gateway's RSS and threads: idle, and peak during the c=64 run.
//!
//! The figures, the targets from the issues and PASS/MISS are printed and written as markdown to
//! `target/bench-report.md`. The bench measures, it does not judge: it exits 0 with MISSes, and
//! non-zero only when it could not run (no wrk, no binary, the gateway did not start).
//!
//! Knobs (environment): `BENCH_SECONDS` per wrk run (default 8), `BENCH_RUNS` streams per side and
//! lane (default 20). The defaults take about two minutes on two cores. `BENCH_MOCK_ONLY=N` only
//! serves the mock backend for N seconds (its port is printed), to poke a gateway by hand.

mod client;
mod clock;
mod convert;
mod gateway;
mod mock;
mod reference;
mod report;
mod stats;
mod stream;
mod wrk;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use client::Call;
use gateway::{Gateway, Sampler};
use report::{LaneKind, LaneRow, Memory, Results, ThroughputRow};

/// Connection counts for the throughput runs.
const CONCURRENCY: [u32; 3] = [1, 16, 64];
/// Tokens per stream: the mock's default, so that a converted request (which drops unknown
/// fields such as `n_events`) still gets the same stream.
const TOKENS: usize = mock::DEFAULT_EVENTS as usize;

const CHAT_BODY: &str =
    r#"{"model":"mock-model","messages":[{"role":"user","content":"Say hello."}],"max_tokens":16}"#;
const CHAT_STREAM_BODY: &str = r#"{"model":"mock-model","stream":true,"n_events":200,"messages":[{"role":"user","content":"Count to 200."}]}"#;
const MESSAGES_STREAM_BODY: &str = r#"{"model":"mock-model","max_tokens":1024,"stream":true,"n_events":200,"messages":[{"role":"user","content":"Count to 200."}]}"#;
const ANTHROPIC_HEADERS: &str = "x-api-key: bench\r\nanthropic-version: 2023-06-01\r\n";

struct Settings {
    seconds: u32,
    runs: usize,
}

impl Settings {
    fn from_env() -> Result<Settings, String> {
        Ok(Settings {
            seconds: env_number("BENCH_SECONDS", 8)?,
            runs: env_number("BENCH_RUNS", 20)?,
        })
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("{name}={value:?} is not a positive number")),
        Err(_) => Ok(default),
    }
}

fn main() -> ExitCode {
    clock::now_ns(); // Fix the epoch before any thread stamps anything.
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    if let Some(seconds) = env_number::<u64>("BENCH_MOCK_ONLY", 0)
        .ok()
        .filter(|&s| s > 0)
    {
        return serve_mock_only(seconds);
    }
    let settings = Settings::from_env()?;
    let load_average = load_average();
    warn_if_busy(&load_average);
    wrk::ensure_installed()?;
    let binary = gateway::binary()?;
    let scratch = Scratch::new()?;
    let mock_port = mock::start().map_err(|e| format!("cannot start the mock backend: {e}"))?;
    let config = write_config(scratch.path(), mock_port)?;
    let gateway = Gateway::start(&binary, &config, scratch.path())?;
    println!(
        "bench: {} (pid {}) on :{}, mock on :{mock_port}, {} s per wrk run, {} streams per side",
        binary.display(),
        gateway.pid(),
        gateway.port,
        settings.seconds,
        settings.runs
    );
    std::thread::sleep(Duration::from_millis(300));
    let idle = gateway::proc_status(gateway.pid())?;

    let script = wrk::write_script(scratch.path(), CHAT_BODY)?;
    let (throughput, load) = throughput(&settings, &script, mock_port, &gateway)?;
    let lanes = streaming(&settings, mock_port, &gateway);
    let after = gateway::proc_status(gateway.pid()).ok();

    let results = Results {
        version: gateway::version(&binary),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average,
        seconds: settings.seconds,
        throughput,
        lanes,
        memory: Memory {
            idle,
            load: Some(load),
            after,
        },
    };
    println!("\n{}", report::text(&results));
    let converter = convert::run();
    let converter_line = format!(
        "converter alone (OpenAI chunks → Anthropic events, one core): {:.0} events/s, {:.2} µs/event — target ≥ 300000 events/s: {}",
        converter.events_per_second(),
        converter.seconds * 1e6 / converter.events as f64,
        if converter.events_per_second() >= 300_000.0 { "PASS" } else { "MISS" }
    );
    println!("{converter_line}");
    let path = gateway::target_dir().join("bench-report.md");
    let markdown = format!("{}\n{converter_line}\n", report::markdown(&results));
    fs::write(&path, markdown).map_err(|e| format!("cannot write {}: {e}", path.display()))?;

    println!("report written to {}", path.display());
    Ok(())
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn warn_if_busy(load_average: &str) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let one_minute: f64 = load_average
        .split_whitespace()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0.0);
    if one_minute > cores as f64 {
        println!(
            "note: the machine is busy (load {one_minute} on {cores} cores): the figures will be noisy"
        );
    }
}

fn serve_mock_only(seconds: u64) -> Result<(), String> {
    let port = mock::start().map_err(|e| format!("cannot start the mock backend: {e}"))?;
    println!("mock backend on 127.0.0.1:{port} for {seconds} s");
    std::thread::sleep(Duration::from_secs(seconds));
    Ok(())
}

/// Gateway config: the mock as an OpenAI-compatible default backend, and again as an Anthropic
/// backend named `anthropic` (reached with the pinned path `/anthropic/v1/...`).
fn write_config(dir: &Path, mock_port: u16) -> Result<PathBuf, String> {
    let url = format!("http://127.0.0.1:{mock_port}");
    let config = serde_json::json!({
        "backends": {
            "mock": url,
            "anthropic": {"url": url, "api": "anthropic"},
        },
        "defaultBackend": "mock",
        "server": {"workers": 64, "queueSize": 256},
    });
    let path = dir.join("config.json");
    fs::write(&path, config.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The wrk runs, direct then gateway at each concurrency, after a short warm-up of both. Returns
/// the rows and the gateway's peak memory during its c=64 run.
fn throughput(
    settings: &Settings,
    script: &Path,
    mock_port: u16,
    gateway: &Gateway,
) -> Result<(Vec<ThroughputRow>, gateway::ProcStatus), String> {
    let direct_url = format!("http://127.0.0.1:{mock_port}/v1/chat/completions");
    let reference_port = reference::start(mock_port)
        .map_err(|e| format!("cannot start the reference proxy: {e}"))?;
    let reference_url = format!("http://127.0.0.1:{reference_port}/v1/chat/completions");
    let gateway_url = format!("http://127.0.0.1:{}/v1/chat/completions", gateway.port);
    let load = |url: &str, connections: u32, seconds: u32| {
        wrk::run(&wrk::Load {
            url,
            script,
            connections,
            seconds,
        })
    };
    let warm_up = settings.seconds.clamp(1, 2);
    println!("warm-up: {warm_up} s of wrk at c=16, direct and through the gateway");
    load(&direct_url, 16, warm_up).map_err(|e| format!("wrk against the mock failed: {e}"))?;
    if let Err(e) = load(&gateway_url, 16, warm_up) {
        eprintln!("  gateway warm-up failed: {e}");
    }

    let mut rows = Vec::new();
    let mut peak = gateway::ProcStatus::default();
    for connections in CONCURRENCY {
        println!("wrk c={connections}: direct, reference proxy, then gateway");
        let direct = load(&direct_url, connections, settings.seconds);
        let reference = load(&reference_url, connections, settings.seconds);
        let sampler = Sampler::start(gateway.pid(), gateway.port, Duration::from_millis(100))?;
        let through = load(&gateway_url, connections, settings.seconds);
        let sampled = sampler.finish();
        if connections == 64 {
            peak = sampled.peak;
        }
        if let Err(e) = &through {
            eprintln!(
                "  gateway run failed: {e}\n  gateway stderr:\n{}",
                gateway.stderr_tail()
            );
        }
        rows.push(ThroughputRow {
            connections,
            direct,
            reference,
            gateway: through,
            stuck: sampled.stuck_connections,
        });
    }
    Ok((rows, peak))
}

/// The three streaming lanes. A lane that fails is reported, not fatal.
fn streaming(settings: &Settings, mock_port: u16, gateway: &Gateway) -> Vec<LaneRow> {
    let call = |port: u16, path: &'static str, headers: &'static str, body: &'static str| Call {
        port,
        path,
        headers,
        body,
    };
    let gw = gateway.port;
    let lanes = [
        (
            "OpenAI chat passthrough",
            LaneKind::Passthrough,
            call(mock_port, "/v1/chat/completions", "", CHAT_STREAM_BODY),
            call(gw, "/v1/chat/completions", "", CHAT_STREAM_BODY),
        ),
        (
            "Anthropic passthrough",
            LaneKind::Passthrough,
            call(
                mock_port,
                "/v1/messages",
                ANTHROPIC_HEADERS,
                MESSAGES_STREAM_BODY,
            ),
            call(
                gw,
                "/anthropic/v1/messages",
                ANTHROPIC_HEADERS,
                MESSAGES_STREAM_BODY,
            ),
        ),
        // The baseline is what an Anthropic client sees from an Anthropic backend; through the
        // gateway, the same client is served by the OpenAI-compatible mock, converted.
        (
            "conversion Anthropic→OpenAI",
            LaneKind::Conversion,
            call(
                mock_port,
                "/v1/messages",
                ANTHROPIC_HEADERS,
                MESSAGES_STREAM_BODY,
            ),
            call(gw, "/v1/messages", ANTHROPIC_HEADERS, MESSAGES_STREAM_BODY),
        ),
    ];
    lanes
        .into_iter()
        .map(|(name, kind, direct, through)| {
            println!("streams: {name}, {} runs each side", settings.runs);
            let result = stream::measure(&stream::Lane {
                direct,
                gateway: through,
                runs: settings.runs,
                tokens: TOKENS,
            });
            match (&result, kind) {
                (Err(e), LaneKind::Conversion) => println!("conversion lane: skipped ({e})"),
                (Err(e), LaneKind::Passthrough) => eprintln!("  lane failed: {e}"),
                _ => {}
            }
            LaneRow { name, kind, result }
        })
        .collect()
}

/// A scratch directory for the config, the wrk script and the gateway's stderr, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        let path = std::env::temp_dir().join(format!("llm-gateway-bench-{}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Scratch(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
