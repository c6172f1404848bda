//! Per-client flood control: a token bucket, burst then steady rate.
//!
//! Pure arithmetic over `Instant`s so it is unit-testable without a clock. The listener
//! asks [`FloodGate::admit`] before handling each line and waits the returned delay:
//! a flooding client is slowed down (its socket buffer fills and TCP pushes back), it
//! never slows anyone else and loses no lines.

use std::time::{Duration, Instant};

/// Token bucket. `burst == 0` disables flood control.
#[derive(Debug, Clone)]
pub struct FloodGate {
    burst: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl FloodGate {
    /// A full bucket of `burst` tokens refilled at `rate` tokens per second.
    pub fn new(burst: u32, rate: f64, now: Instant) -> Self {
        FloodGate { burst: f64::from(burst), rate: rate.max(0.001), tokens: f64::from(burst), last: now }
    }

    /// Takes one token for a line arriving at `now`. Returns how long to wait before
    /// handling it (zero when a token was available).
    pub fn admit(&mut self, now: Instant) -> Duration {
        if self.burst == 0.0 {
            return Duration::ZERO;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // Owe the deficit; by the time we wait it out, the bucket is at zero again.
            let wait = -self.tokens / self.rate;
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
        let mut gate = FloodGate::new(5, 2.0, t0);
        for _ in 0..5 {
            assert_eq!(gate.admit(t0), Duration::ZERO);
        }
        // Sixth line at the same instant waits half a second (rate 2/s).
        let wait = gate.admit(t0);
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // After waiting it out, the next line owes another half second.
        let t1 = t0 + wait;
        let wait2 = gate.admit(t1);
        assert!((wait2.as_secs_f64() - 0.5).abs() < 1e-9, "{wait2:?}");
    }

    #[test]
    fn refills_up_to_burst_only() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(3, 1.0, t0);
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(gate.admit(later), Duration::ZERO);
        }
        assert!(gate.admit(later) > Duration::ZERO);
    }

    #[test]
    fn zero_burst_disables() {
        let t0 = Instant::now();
        let mut gate = FloodGate::new(0, 1.0, t0);
        for _ in 0..1000 {
            assert_eq!(gate.admit(t0), Duration::ZERO);
        }
    }
}
