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

/// CPU used by the server (if `--pid` was given) and by this tool over an
/// interval.
pub struct CpuMeter {
    pid: Option<u32>,
    server0: Option<f64>,
    tool0: f64,
    t0: Instant,
}

pub struct CpuUsage {
    pub server_s: Option<f64>,
    pub tool_s: f64,
    pub wall_s: f64,
}

impl CpuMeter {
    pub fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            server0: pid.and_then(|p| cpu_seconds(&p.to_string())),
            tool0: cpu_seconds("self").unwrap_or(0.0),
            t0: Instant::now(),
        }
    }

    pub fn stop(&self) -> CpuUsage {
        let server_s = match (self.pid, self.server0) {
            (Some(p), Some(s0)) => cpu_seconds(&p.to_string()).map(|s| s - s0),
            _ => None,
        };
        CpuUsage {
            server_s,
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
    }
}
