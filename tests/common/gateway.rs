//! Starts the real `llm-gateway` binary for one test: a unique temp config, free ports on
//! 127.0.0.1, stdout and stderr captured to a file (shown in failure messages), a bounded wait for
//! `GET /` to answer 200, and a kill on drop.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::client::{self, Req, Response, Stream};

pub const BIN: &str = env!("CARGO_BIN_EXE_llm-gateway");
/// How long a gateway may take to answer `GET /` after it was spawned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variables the gateway reads; cleared for every child so the host cannot leak in.
const GATEWAY_ENV: [&str; 6] = [
    "CONFIG_PATH",
    "PROXY_PORT",
    "METRICS_PORT",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "RUST_LOG",
];

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique path in the temp dir: `llm-gw-test-<pid>-<n>-<nanos>-<what>`.
pub fn temp_path(what: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "llm-gw-test-{}-{n}-{nanos}-{what}",
        std::process::id()
    ))
}

/// Writes `content` to a fresh temp file and returns its path.
pub fn write_temp(what: &str, content: &[u8]) -> PathBuf {
    let p = temp_path(what);
    fs::write(&p, content).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the binary to completion with these args (host gateway env cleared), bounded in time.
pub fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in GATEWAY_ENV {
        cmd.env_remove(k);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            _ if Instant::now() >= deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "`llm-gateway {}` did not exit within 10 s\nstdout: {}\nstderr: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            _ => thread::sleep(Duration::from_millis(10)),
        }
    }
    child.wait_with_output().unwrap()
}

/// How to start a gateway.
pub struct GatewayBuilder {
    config: Option<Value>,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    log_level: String,
    port_flags: bool,
}

impl GatewayBuilder {
    pub fn new(config: Value) -> GatewayBuilder {
        GatewayBuilder {
            config: Some(config),
            args: Vec::new(),
            envs: Vec::new(),
            log_level: "debug".into(),
            port_flags: true,
        }
    }

    /// No `--config`: the gateway gets `CONFIG_PATH` pointing at a file that does not exist.
    pub fn without_config() -> GatewayBuilder {
        let mut b = GatewayBuilder::new(Value::Null);
        b.config = None;
        let missing = temp_path("missing-config.json");
        b.envs
            .push(("CONFIG_PATH".into(), missing.display().to_string()));
        b
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.envs.push((k.into(), v.into()));
        self
    }

    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.into();
        self
    }

    /// Pass the ports through `PROXY_PORT`/`METRICS_PORT` instead of flags.
    pub fn ports_by_env(mut self) -> Self {
        self.port_flags = false;
        self
    }

    /// Spawns the gateway and waits until `GET /` answers 200 (panics with its output if not).
    /// A start that fails because a picked port was taken meanwhile is retried with new ports.
    pub fn start(self) -> Gateway {
        let mut last = String::new();
        for _attempt in 0..3 {
            match self.try_start() {
                Ok(gw) => return gw,
                Err((msg, exited)) => {
                    last = msg;
                    if !exited {
                        break;
                    }
                }
            }
        }
        panic!("gateway did not become ready: {last}");
    }

    fn try_start(&self) -> Result<Gateway, (String, bool)> {
        let port = free_port();
        let metrics_port = free_port();
        let log_path = temp_path("gateway.log");
        let config_path = self
            .config
            .as_ref()
            .map(|c| write_temp("config.json", &serde_json::to_vec_pretty(c).unwrap()));
        let log = File::create(&log_path).unwrap();
        let mut cmd = Command::new(BIN);
        for k in GATEWAY_ENV {
            cmd.env_remove(k);
        }
        if let Some(p) = &config_path {
            cmd.arg("--config").arg(p);
        }
        if self.port_flags {
            cmd.args([
                "--port",
                &port.to_string(),
                "--metrics-port",
                &metrics_port.to_string(),
            ]);
        } else {
            cmd.env("PROXY_PORT", port.to_string())
                .env("METRICS_PORT", metrics_port.to_string());
        }
        cmd.args(["--bind", "127.0.0.1", "--log-level", &self.log_level]);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        let child = cmd
            .spawn()
            .map_err(|e| (format!("spawn {BIN}: {e}"), false))?;
        let mut gw = Gateway {
            child: Some(child),
            port,
            metrics_port,
            log_path,
            config_path,
            exit: None,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = gw.try_exit() {
                return Err((
                    format!(
                        "it exited with {status} before answering GET /\n{}",
                        gw.diag()
                    ),
                    true,
                ));
            }
            if let Ok(r) = Req::get("/").timeout(Duration::from_millis(500)).send(port) {
                // The body tells the gateway from a mock that took the same free port.
                if r.status == 200 && r.text().contains("llm-gateway") {
                    return Ok(gw);
                }
            }
            if Instant::now() >= deadline {
                return Err((
                    format!(
                        "GET / did not answer 200 within {READY_TIMEOUT:?}\n{}",
                        gw.diag()
                    ),
                    false,
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A running gateway; killed on drop.
pub struct Gateway {
    child: Option<Child>,
    pub port: u16,
    pub metrics_port: u16,
    log_path: PathBuf,
    config_path: Option<PathBuf>,
    exit: Option<ExitStatus>,
}

impl Gateway {
    /// Starts a gateway with this config and the default flags.
    pub fn start(config: Value) -> Gateway {
        GatewayBuilder::new(config).start()
    }

    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Everything the gateway wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        fs::read(&self.log_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The tail of the gateway's output, framed for an assertion message.
    pub fn diag(&self) -> String {
        let out = self.output();
        let tail: String = if out.len() > 6000 {
            let mut cut = out.len() - 6000;
            while !out.is_char_boundary(cut) {
                cut += 1;
            }
            format!("…{}", &out[cut..])
        } else {
            out
        };
        format!(
            "--- gateway output ({}) ---\n{tail}\n--- end of gateway output ---",
            self.log_path.display()
        )
    }

    /// Sends a request to the proxy port (panics with the gateway's output on an I/O error).
    pub fn send(&self, req: Req) -> Response {
        req.send(self.port)
            .unwrap_or_else(|e| panic!("{} {}: {e}\n{}", req.method, req.path, self.diag()))
    }

    /// Sends a request and reads only the response head; the body is read from the stream.
    pub fn open(&self, req: Req) -> Stream {
        req.open(self.port)
            .unwrap_or_else(|e| panic!("{} {}: {e}\n{}", req.method, req.path, self.diag()))
    }

    /// Reads every remaining SSE block of a stream (panics with the gateway's output on an I/O error).
    pub fn events(&self, s: &mut Stream) -> Vec<client::Event> {
        s.all_events().unwrap_or_else(|e| {
            panic!(
                "reading the stream: {e}\nread so far: {}\n{}",
                String::from_utf8_lossy(&s.raw),
                self.diag()
            )
        })
    }

    /// Reads the rest of a stream as a complete response.
    pub fn finish(&self, s: Stream) -> Response {
        s.into_response()
            .unwrap_or_else(|e| panic!("reading the response body: {e}\n{}", self.diag()))
    }

    /// `POST path` with a JSON body and extra headers.
    pub fn post(&self, path: &str, body: impl Into<Vec<u8>>, headers: &[(&str, &str)]) -> Response {
        self.send(Req::post(path, body).headers(headers))
    }

    pub fn get(&self, path: &str) -> Response {
        self.send(Req::get(path))
    }

    /// The metrics text from `GET :METRICS_PORT/metrics` (retried briefly while the port comes up).
    pub fn metrics_response(&self) -> Response {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match Req::get("/metrics").send(self.metrics_port) {
                Ok(r) => return r,
                Err(e) if Instant::now() >= deadline => panic!(
                    "GET /metrics on {}: {e}\n{}",
                    self.metrics_port,
                    self.diag()
                ),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// The exit status, if the process has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        if self.exit.is_none() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(s)) = c.try_wait() {
                    self.exit = Some(s);
                }
            }
        }
        self.exit
    }

    /// Waits at most `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_exit() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, sig: i32) {
        let pid = self.pid() as i32;
        assert!(pid > 0, "no child process to signal");
        // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            if self.exit.is_none() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        if let Some(p) = &self.config_path {
            let _ = fs::remove_file(p);
        }
        if thread::panicking() {
            eprintln!("gateway output kept at {}", self.log_path.display());
        } else {
            let _ = fs::remove_file(&self.log_path);
        }
    }
}

/// Sends a request straight to a port (no gateway), panicking on I/O errors.
pub fn direct(port: u16, req: Req) -> Response {
    client::Req::send(&req, port)
        .unwrap_or_else(|e| panic!("{} {} on :{port}: {e}", req.method, req.path))
}
