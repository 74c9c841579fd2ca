//! The official Python SDKs for the end-to-end tests: a virtualenv under `target/sdk-venv` with
//! pinned `openai` and `anthropic` versions, made once and reused while the pins match, and a
//! runner for the scripts in `tests/sdk/`.
//!
//! Needs only `python3` (with `venv`; on Debian without it, `python3-venv` is installed through
//! apt when running as root). Nothing is skipped: if the SDKs cannot be installed, every SDK test
//! fails and says why.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The SDK versions the tests were verified with.
pub const PINS: [&str; 2] = ["openai==3.51.0", "anthropic==2.10.0"];

/// The longest an install step may take (pip downloads the SDKs and their dependencies).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest one script may run (each makes a few requests to a local gateway).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn venv_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    target.join("sdk-venv")
}

/// Runs a command to completion within `limit`, capturing its output.
fn run(cmd: &mut Command, limit: Duration) -> Result<Output, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut b);
        b
    });
    let err = thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {limit:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

fn describe(o: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn python_in(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Makes the virtualenv, installing `python3-venv` through apt if the interpreter lacks it.
fn create_venv(dir: &Path) -> Result<(), String> {
    let attempt = run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(dir),
        INSTALL_TIMEOUT,
    )?;
    if attempt.status.success() {
        return Ok(());
    }
    let first = describe(&attempt);
    // Debian splits venv out of python3; CI runs as root and may install it.
    let apt = run(
        Command::new("sh").args([
            "-c",
            "command -v apt-get >/dev/null && [ \"$(id -u)\" = 0 ] && \
             (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv)",
        ]),
        INSTALL_TIMEOUT,
    )?;
    let retry = run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(dir),
        INSTALL_TIMEOUT,
    )?;
    if retry.status.success() {
        return Ok(());
    }
    Err(format!(
        "`python3 -m venv` failed:\n{first}\ninstalling python3-venv:\n{}\nretry:\n{}",
        describe(&apt),
        describe(&retry)
    ))
}

/// Makes (or reuses) the virtualenv with the pinned SDKs; returns its python.
fn install() -> Result<PathBuf, String> {
    let dir = venv_dir();
    let stamp = dir.join(".pins");
    let want = PINS.join("\n");
    let python = python_in(&dir);
    if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(python);
    }
    let started = Instant::now();
    create_venv(&dir)?;
    let pip = run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
            ])
            .args(PINS),
        INSTALL_TIMEOUT,
    )?;
    if !pip.status.success() {
        return Err(format!(
            "pip could not install {}:\n{}",
            PINS.join(" "),
            describe(&pip)
        ));
    }
    std::fs::write(&stamp, &want).map_err(|e| format!("write {}: {e}", stamp.display()))?;
    eprintln!(
        "sdk: installed {} into {} in {:.1}s",
        PINS.join(" "),
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(python)
}

/// The virtualenv's python, made once per test run (every SDK test fails with the same message
/// if it cannot be made).
pub fn python() -> PathBuf {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match VENV.get_or_init(install) {
        Ok(p) => p.clone(),
        Err(e) => {
            panic!("the SDK tests need the official Python SDKs and could not install them:\n{e}")
        }
    }
}

/// Runs `tests/sdk/<script>` with `GATEWAY_URL` and `envs`; panics with its output unless it
/// exits 0. Returns its stdout.
pub fn run_script(script: &str, gateway_url: &str, envs: &[(&str, String)]) -> String {
    let python = python();
    let dir = root().join("tests").join("sdk");
    let mut cmd = Command::new(&python);
    cmd.arg(dir.join(script))
        .current_dir(&dir)
        .env("GATEWAY_URL", gateway_url)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    // The SDKs read these; the host's must not leak in.
    for k in [
        "OPENAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    match run(&mut cmd, SCRIPT_TIMEOUT) {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => panic!("{script} failed: {}", describe(&o)),
        Err(e) => panic!("{script}: {e}"),
    }
}
