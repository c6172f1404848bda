//! Process figures from /proc: resident memory and CPU time.

use std::time::Instant;

/// Clock ticks per second of /proc/PID/stat times. Linux fixes USER_HZ at
/// 100 on every architecture we run on; reading sysconf would need `unsafe`.
const TICKS_PER_SEC: f64 = 100.0;

/// VmRSS of a process in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU seconds of a process (`"self"` for this one).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces; fields restart after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    // After ')' field 3 (state) is index 0, so utime (14) is index 11.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// CPU time in nanoseconds of a process's live threads, from
/// /proc/PID/task/*/schedstat (nanosecond resolution, where /proc/PID/stat
/// counts 10 ms ticks). Threads that ended are not in it: use it for
/// figures too small for ticks (a quiet room), next to the tick count.
pub fn cpu_ns_threads(pid: u32) -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let Ok(task) = task else { continue };
        let Ok(s) = std::fs::read_to_string(task.path().join("schedstat")) else { continue };
        total += s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    Some(total)
}

/// CPU used by the server (if `--pid` was given) and by this tool over an
/// interval.
pub struct CpuMeter {
    pid: Option<u32>,
    server0: Option<f64>,
    server_ns0: Option<u64>,
    tool0: f64,
    t0: Instant,
}

pub struct CpuUsage {
    pub server_s: Option<f64>,
    /// The server's CPU from `cpu_ns_threads` (live threads only).
    pub server_ns: Option<u64>,
    pub tool_s: f64,
    pub wall_s: f64,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            server0: pid.and_then(|p| cpu_seconds(&p.to_string())),
            server_ns0: pid.and_then(cpu_ns_threads),
            tool0: cpu_seconds("self").unwrap_or(0.0),
            t0: Instant::now(),
        }
    }

    pub fn stop(&self) -> CpuUsage {
        let server_s = match (self.pid, self.server0) {
            (Some(p), Some(s0)) => cpu_seconds(&p.to_string()).map(|s| s - s0),
            _ => None,
        };
        let server_ns = match (self.pid, self.server_ns0) {
            (Some(p), Some(n0)) => cpu_ns_threads(p).map(|n| n.saturating_sub(n0)),
            _ => None,
        };
        CpuUsage {
            server_s,
            server_ns,
            tool_s: cpu_seconds("self").unwrap_or(0.0) - self.tool0,
            wall_s: self.t0.elapsed().as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(super::rss_kib(me).unwrap() > 0);
        assert!(super::cpu_seconds("self").unwrap() >= 0.0);
        let a = super::cpu_ns_threads(me).unwrap();
        // Busy in 5 ms slices, each followed by a short sleep (the kernel brings a
        // thread's run time up to date at ticks and context switches, not on reads),
        // until 10 ms of CPU show; on a busy machine that takes longer, never forever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut x = 0u64;
        let mut b = a;
        while b < a + 10_000_000 && std::time::Instant::now() < deadline {
            let t = std::time::Instant::now();
            while t.elapsed() < std::time::Duration::from_millis(5) {
                x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            b = super::cpu_ns_threads(me).unwrap();
        }
        std::hint::black_box(x);
        assert!(b >= a + 10_000_000, "busy work shows in the nanosecond count ({a} -> {b})");
    }
}
