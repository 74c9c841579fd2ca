//! Throughput and latency with wrk: installing it when missing, running it with a POST script,
//! and reading requests/s, p50, p99 and errors from its `--latency` report.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Makes sure `wrk` is on PATH, installing the Debian package when it is not.
pub fn ensure_installed() -> Result<(), String> {
    if is_installed() {
        return Ok(());
    }
    println!("wrk is not on PATH: installing it with apt-get");
    if apt_get(&["install", "-y", "wrk"]) && is_installed() {
        return Ok(());
    }
    println!("apt-get install failed: running apt-get update and trying again");
    if apt_get(&["update"]) && apt_get(&["install", "-y", "wrk"]) && is_installed() {
        return Ok(());
    }
    Err(
        "wrk is needed for the throughput runs and could not be installed \
         (apt-get install -y wrk failed; install it by hand and run the bench again)"
            .into(),
    )
}

fn is_installed() -> bool {
    match Command::new("wrk")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) => e.kind() != ErrorKind::NotFound,
    }
}

fn apt_get(args: &[&str]) -> bool {
    Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes the Lua script that makes wrk POST `body` as JSON. Returns its path.
pub fn write_script(dir: &Path, body: &str) -> Result<PathBuf, String> {
    if body.contains(['\'', '\\', '\n']) {
        return Err("the request body must not contain quotes, backslashes or newlines".into());
    }
    let path = dir.join("post.lua");
    let script = format!(
        "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    );
    fs::write(&path, script).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// One wrk run.
pub struct Load<'a> {
    pub url: &'a str,
    pub script: &'a Path,
    pub connections: u32,
    pub seconds: u32,
}

/// What wrk measured.
#[derive(Clone, Copy, Default)]
pub struct Measured {
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub requests: u64,
    /// Non-2xx/3xx answers plus socket errors: a run with errors does not measure the proxy.
    pub errors: u64,
}

pub fn run(load: &Load<'_>) -> Result<Measured, String> {
    // One thread drives one connection; two threads (one per core) for the rest.
    let threads = load.connections.min(2);
    let output = Command::new("wrk")
        .args(["-t", &threads.to_string()])
        .args(["-c", &load.connections.to_string()])
        .args(["-d", &format!("{}s", load.seconds)])
        .args(["--timeout", "5s", "--latency", "-s"])
        .arg(load.script)
        .arg(load.url)
        .output()
        .map_err(|e| format!("cannot run wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed ({}): {}{}",
            output.status,
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    parse(&text).map_err(|e| format!("{e}; wrk said:\n{text}"))
}

/// Reads wrk's report (`--latency` layout of wrk 4).
fn parse(text: &str) -> Result<Measured, String> {
    let mut measured = Measured::default();
    let (mut p50, mut p99, mut rps) = (None, None, None);
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("50%"), Some(value)) => p50 = duration_us(value),
            (Some("99%"), Some(value)) => p99 = duration_us(value),
            (Some("Requests/sec:"), Some(value)) => rps = value.parse().ok(),
            _ => {}
        }
        if line.contains(" requests in ") {
            measured.requests = line
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            measured.errors += rest.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            measured.errors += rest
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    measured.p50_us = p50.ok_or("no 50% line in the wrk report")?;
    measured.p99_us = p99.ok_or("no 99% line in the wrk report")?;
    measured.rps = rps.ok_or("no Requests/sec line in the wrk report")?;
    Ok(measured)
}

/// wrk's durations: `45.12us`, `1.20ms`, `2.00s`, `1.00m`.
fn duration_us(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    // `cargo clippy --benches` compiles this with cfg(test) but drops #[test] functions (no
    // harness): the imports must not be module-level, or they would be unused there.

    #[test]
    fn reads_the_latency_report() {
        use super::*;
        const REPORT: &str = "Running 8s test @ http://127.0.0.1:1/v1/chat/completions
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   112.31us   80.12us   4.20ms   95.00%
    Req/Sec    70.00k     3.00k    80.00k    70.00%
  Latency Distribution
     50%   99.00us
     75%  120.00us
     90%  150.00us
     99%    1.20ms
  1120000 requests in 8.00s, 300.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 140000.50
Transfer/sec:     37.50MB
";
        let m = parse(REPORT).unwrap();
        assert_eq!(m.p50_us, 99.0);
        assert_eq!(m.p99_us, 1200.0);
        assert_eq!(m.rps, 140000.5);
        assert_eq!(m.requests, 1_120_000);
        assert_eq!(m.errors, 7);
        assert!(parse("garbage").is_err());
    }
}
