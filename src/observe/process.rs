//! The process's own vital signs, read from /proc (Linux); zeros elsewhere.

#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessStats {
    pub resident_bytes: u64,
    pub threads: u64,
    pub open_fds: u64,
}

pub fn read() -> ProcessStats {
    let mut stats = ProcessStats::default();
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            let value = |l: &str| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            if line.starts_with("VmRSS:") {
                stats.resident_bytes = value(line) * 1024;
            } else if line.starts_with("Threads:") {
                stats.threads = value(line);
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        stats.open_fds = dir.count() as u64;
    }
    stats
}
