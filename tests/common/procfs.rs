//! What a child process holds, read from Linux `/proc`: resident memory, threads, open file
//! descriptors, and whether it is still running. The reliability tests and the soak compare these
//! before and after a fault or a load; every bound they assert is generous, because the allocator
//! keeps freed memory and tiny_http keeps idle connection threads for a few seconds.

#![allow(dead_code)]

use std::fs;
use std::thread;
use std::time::{Duration, Instant};

/// A numeric field of `/proc/<pid>/status` (`VmRSS` and `VmHWM` are in kB, `Threads` a count).
pub fn status_field(pid: u32, name: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Resident memory in kB (0 if the process is gone).
pub fn rss_kb(pid: u32) -> u64 {
    status_field(pid, "VmRSS").unwrap_or(0)
}

/// The most resident memory the process ever had, in kB.
pub fn peak_rss_kb(pid: u32) -> u64 {
    status_field(pid, "VmHWM").unwrap_or(0)
}

/// Threads of the process (0 if it is gone).
pub fn threads(pid: u32) -> u64 {
    status_field(pid, "Threads").unwrap_or(0)
}

/// Open file descriptors (sockets included).
pub fn open_fds(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// The one-letter state of `/proc/<pid>/stat` (`R`, `S`, `Z` …), if the process exists.
pub fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; the state follows it.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().next()?.chars().next()
}

/// Running (not exited, not a zombie waiting to be reaped).
pub fn alive(pid: u32) -> bool {
    matches!(state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Waits at most `timeout` for `threads(pid) <= limit`; returns the last count seen.
pub fn wait_threads_at_most(pid: u32, limit: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        let n = threads(pid);
        if n <= limit || Instant::now() >= deadline {
            return n;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// `n` kB as a short human text.
pub fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}
