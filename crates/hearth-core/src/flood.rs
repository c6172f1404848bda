//! Per-client flood control: a token bucket, burst then steady rate.
//!
//! Pure arithmetic over `Instant`s so it is unit-testable without a clock. The listener
//! asks [`FloodGate::admit`] before handling each line and waits the returned delay:
//! a flooding client is slowed down (its socket buffer fills and TCP pushes back), it
//! never slows anyone else and loses no lines.

use std::time::{Duration, Instant};

/// The flood settings every connection shares: `burst` lines at once, then `rate`
/// lines per second. `burst == 0` disables flood control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodPolicy {
    burst: f64,
    rate: f64,
}

impl FloodPolicy {
    pub fn new(burst: u32, rate: f64) -> Self {
        FloodPolicy { burst: f64::from(burst), rate: rate.max(0.001) }
    }

    /// Whether lines are counted at all.
    pub fn enabled(&self) -> bool {
        self.burst > 0.0
    }
}

/// One connection's token bucket; the policy it follows is shared ([`FloodPolicy`]),
/// so each connection holds only its tokens and the time it last counted them.
#[derive(Debug, Clone)]
pub struct FloodGate {
    tokens: f64,
    last: Instant,
}

impl FloodGate {
    /// A full bucket under `policy`.
    pub fn new(policy: &FloodPolicy, now: Instant) -> Self {
        FloodGate { tokens: policy.burst, last: now }
    }

    /// Takes one token for a line arriving at `now`. Returns how long to wait before
    /// handling it (zero when a token was available).
    pub fn admit(&mut self, policy: &FloodPolicy, now: Instant) -> Duration {
        if !policy.enabled() {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * policy.rate).min(policy.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // Owe the deficit; by the time we wait it out, the bucket is at zero again.
            let wait = -self.tokens / policy.rate;
            Duration::from_secs_f64(wait)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_steady_rate() {
        let t0 = Instant::now();
        let p = FloodPolicy::new(5, 2.0);
        let mut gate = FloodGate::new(&p, t0);
        for _ in 0..5 {
            assert_eq!(gate.admit(&p, t0), Duration::ZERO);
        }
        // Sixth line at the same instant waits half a second (rate 2/s).
        let wait = gate.admit(&p, t0);
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // After waiting it out, the next line owes another half second.
        let t1 = t0 + wait;
        let wait2 = gate.admit(&p, t1);
        assert!((wait2.as_secs_f64() - 0.5).abs() < 1e-9, "{wait2:?}");
    }

    #[test]
    fn refills_up_to_burst_only() {
        let t0 = Instant::now();
        let p = FloodPolicy::new(3, 1.0);
        let mut gate = FloodGate::new(&p, t0);
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(gate.admit(&p, later), Duration::ZERO);
        }
        assert!(gate.admit(&p, later) > Duration::ZERO);
    }

    #[test]
    fn zero_burst_disables() {
        let t0 = Instant::now();
        let p = FloodPolicy::new(0, 1.0);
        let mut gate = FloodGate::new(&p, t0);
        for _ in 0..1000 {
            assert_eq!(gate.admit(&p, t0), Duration::ZERO);
        }
    }
}
