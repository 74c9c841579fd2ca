//! The gateway under test: finding (or building) the release binary, running it as a child
//! process that is killed on every exit path, and reading its memory and threads from `/proc`.

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::client;

/// How long the gateway may take to answer `GET /` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The crate's root, where `cargo build --release` is run.
fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` if set, else `target/` in the crate.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => manifest_dir().join(dir),
        None => manifest_dir().join("target"),
    }
}

/// The release binary, built with `cargo build --release` when it is missing.
/// The gateway binary: `LLM_GATEWAY_BIN` (e.g. the static musl build), else the release build.
pub fn binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("LLM_GATEWAY_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("LLM_GATEWAY_BIN={} is not a file", path.display()))
        };
    }
    let path = target_dir().join("release").join("llm-gateway");

    if path.is_file() {
        return Ok(path);
    }
    println!(
        "{} is missing: running cargo build --release",
        path.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--bin", "llm-gateway"])
        .current_dir(manifest_dir())
        .status()
        .map_err(|e| format!("cannot run cargo build --release: {e}"))?;
    if !status.success() || !path.is_file() {
        return Err(format!(
            "cargo build --release failed ({status}); no binary at {}",
            path.display()
        ));
    }
    Ok(path)
}

/// The gateway's `--version` line, for the report.
pub fn version(binary: &Path) -> String {
    Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "llm-gateway (version unknown)".into())
}

/// A free port on 127.0.0.1 (bound, read, released: another process could take it in between,
/// which on a quiet bench machine does not happen).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}

/// A running gateway. Dropping it kills the process and reaps it.
pub struct Gateway {
    child: Child,
    pub port: u16,
    stderr_path: PathBuf,
}

impl Gateway {
    /// Starts the binary with `config` on 127.0.0.1 and waits until `GET /` answers 200.
    pub fn start(binary: &Path, config: &Path, scratch: &Path) -> Result<Gateway, String> {
        let port = free_port()?;
        let metrics_port = free_port()?;
        let stderr_path = scratch.join("gateway.stderr");
        let stderr = File::create(&stderr_path)
            .map_err(|e| format!("cannot create {}: {e}", stderr_path.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(config)
            .args(["--port", &port.to_string()])
            .args(["--metrics-port", &metrics_port.to_string()])
            .args(["--bind", "127.0.0.1", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        // SAFETY: prctl is async-signal-safe. The gateway gets SIGKILL if the bench dies in a way
        // that skips our Drop (a signal, an abort).
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut gateway = Gateway {
            child,
            port,
            stderr_path,
        };
        gateway.wait_ready()?;
        Ok(gateway)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the gateway exited ({status}) before it was ready:\n{}",
                    self.stderr_tail()
                ));
            }
            if client::get_status(self.port, "/").ok() == Some(200) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(25));
        }
        Err(format!(
            "the gateway did not answer GET / with 200 within {} s:\n{}",
            READY_TIMEOUT.as_secs(),
            self.stderr_tail()
        ))
    }

    /// The last lines the gateway wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let text = fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Memory and threads of a process, from `/proc/PID/status`.
#[derive(Clone, Copy, Default)]
pub struct ProcStatus {
    pub rss_kb: u64,
    /// The private part of the RSS: the rest is the binary's and libc's code, shared and
    /// reclaimable.
    pub anon_kb: u64,
    pub threads: u64,
}

pub fn proc_status(pid: u32) -> Result<ProcStatus, String> {
    let path = format!("/proc/{pid}/status");
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    match (field("VmRSS:"), field("Threads:")) {
        (Some(rss_kb), Some(threads)) => Ok(ProcStatus {
            rss_kb,
            anon_kb: field("RssAnon:").unwrap_or(0),
            threads,
        }),
        _ => Err(format!("{path} has no VmRSS or Threads line")),
    }
}

/// What a `Sampler` saw during a load run.
#[derive(Clone, Copy, Default)]
pub struct Sampled {
    /// The highest RSS and thread count.
    pub peak: ProcStatus,
    /// Connections to the gateway's port whose request sat unread in the socket's receive queue
    /// in (nearly) every sample: the gateway never served them during the run.
    pub stuck_connections: usize,
}

/// Samples the gateway every `every` in a background thread while a load runs: its memory and
/// threads, and the receive queues of the connections to its port (from `/proc/net/tcp`).
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Sampled>,
}

impl Sampler {
    pub fn start(pid: u32, port: u16, every: Duration) -> Result<Sampler, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = thread::Builder::new()
            .name("sampler".into())
            .spawn(move || {
                let mut sampled = Sampled::default();
                let mut waiting = Waiting::default();
                while !flag.load(Ordering::Relaxed) {
                    if let Ok(now) = proc_status(pid) {
                        sampled.peak.rss_kb = sampled.peak.rss_kb.max(now.rss_kb);
                        sampled.peak.anon_kb = sampled.peak.anon_kb.max(now.anon_kb);
                        sampled.peak.threads = sampled.peak.threads.max(now.threads);
                    }
                    waiting.sample(port);
                    thread::sleep(every);
                }
                sampled.stuck_connections = waiting.stuck();
                sampled
            })
            .map_err(|e| format!("cannot start the sampler thread: {e}"))?;
        Ok(Sampler { stop, thread })
    }

    /// Stops sampling and returns what was seen.
    pub fn finish(self) -> Sampled {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// For each connection to a port (by socket inode), in how many samples it had unread bytes.
///
/// A connection that is being served has a request waiting only for the few microseconds until
/// the server reads it, so it is rarely caught with unread bytes; one caught in at least 90% of
/// ten or more samples is not being read at all.
#[derive(Default)]
struct Waiting {
    samples: usize,
    unread: std::collections::HashMap<u64, usize>,
}

impl Waiting {
    fn sample(&mut self, port: u16) {
        let Ok(table) = fs::read_to_string("/proc/net/tcp") else {
            return;
        };
        self.samples += 1;
        for inode in table.lines().skip(1).filter_map(|l| unread_socket(l, port)) {
            *self.unread.entry(inode).or_default() += 1;
        }
    }

    fn stuck(&self) -> usize {
        if self.samples < 10 {
            return 0;
        }
        let threshold = self.samples * 9 / 10;
        self.unread.values().filter(|&&n| n >= threshold).count()
    }
}

/// The inode of an established socket on local `port` with bytes in its receive queue, from one
/// `/proc/net/tcp` line: `sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...`.
fn unread_socket(line: &str, port: u16) -> Option<u64> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local_port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
    let established = *fields.get(3)? == "01";
    let rx_queue = u64::from_str_radix(fields.get(4)?.split(':').nth(1)?, 16).ok()?;
    (local_port == port && established && rx_queue > 0)
        .then(|| fields.get(9)?.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    // No module-level imports: see the note in client.rs's tests.

    #[test]
    fn finds_unread_established_sockets_on_the_port() {
        use super::*;
        let listening = "   0: 0100007F:4652 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 46827 1 0 100 0 0 10 0";
        let unread = "   1: 0100007F:4652 0100007F:D2F4 01 00000000:000000D8 00:00000000 00000000     0        0 51234 1 0 20 4 30 10 -1";
        let read = "   2: 0100007F:4652 0100007F:D2F6 01 00000000:00000000 00:00000000 00000000     0        0 51235 1 0 20 4 30 10 -1";
        assert_eq!(unread_socket(listening, 0x4652), None);
        assert_eq!(unread_socket(unread, 0x4652), Some(51234));
        assert_eq!(unread_socket(unread, 0x4653), None);
        assert_eq!(unread_socket(read, 0x4652), None);

        let mut waiting = Waiting::default();
        for i in 0..20 {
            waiting.samples += 1;
            *waiting.unread.entry(1).or_default() += 1;
            if i % 3 == 0 {
                *waiting.unread.entry(2).or_default() += 1;
            }
        }
        assert_eq!(waiting.stuck(), 1);
    }
}
