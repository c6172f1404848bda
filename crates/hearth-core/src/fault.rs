//! Loud, countable faults: an ERROR when a fault starts, a WARN now and then while it
//! lasts, an INFO when it ends — each with how long and how much.
//!
//! A fault that is logged on every attempt floods the log (and the disk that may be
//! full already); one that is logged only once is forgotten. [`Fault`] keeps the state
//! between the two and is plain data, so it is tested without a logger.

use std::time::{Duration, Instant};

/// How often a lasting fault is reported again.
pub const REPEAT: Duration = Duration::from_secs(10);

/// What a fault's state change asks to be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The fault started.
    Started,
    /// The fault is still there after `lasted`, with `count` things affected so far.
    Lasting { lasted: Duration, count: u64 },
    /// The fault ended after `lasted`, with `count` things affected.
    Ended { lasted: Duration, count: u64 },
}

/// One kind of fault (the journal cannot be written, the database refuses inserts).
#[derive(Debug, Default)]
pub struct Fault {
    since: Option<Instant>,
    last_report: Option<Instant>,
    count: u64,
}

impl Fault {
    /// Whether the fault is going on.
    pub fn active(&self) -> bool {
        self.since.is_some()
    }

    /// Records a failure that affected `n` things (messages refused, attempts made).
    pub fn fail(&mut self, n: u64, now: Instant) -> Option<Report> {
        self.count += n;
        match (self.since, self.last_report) {
            (None, _) => {
                self.since = Some(now);
                self.last_report = Some(now);
                Some(Report::Started)
            }
            (Some(since), Some(last)) if now.duration_since(last) >= REPEAT => {
                self.last_report = Some(now);
                Some(Report::Lasting { lasted: now.duration_since(since), count: self.count })
            }
            _ => None,
        }
    }

    /// Records a success: ends the fault if there was one.
    pub fn ok(&mut self, now: Instant) -> Option<Report> {
        let since = self.since.take()?;
        let count = std::mem::take(&mut self.count);
        self.last_report = None;
        Some(Report::Ended { lasted: now.duration_since(since), count })
    }

    /// Like [`Fault::ok`] and [`Fault::fail`], logging the report with `what` (e.g.
    /// "appending to the history journal") and `unit` (e.g. "messages refused").
    pub fn log_fail(&mut self, what: &str, unit: &str, n: u64, err: &dyn std::fmt::Display) {
        match self.fail(n, Instant::now()) {
            Some(Report::Started) => tracing::error!("{what} failed ({n} {unit} so far): {err}"),
            Some(Report::Lasting { lasted, count }) => {
                tracing::warn!("{what} still failing after {}s ({count} {unit} so far): {err}", lasted.as_secs())
            }
            _ => {}
        }
    }

    pub fn log_ok(&mut self, what: &str, unit: &str) {
        if let Some(Report::Ended { lasted, count }) = self.ok(Instant::now()) {
            tracing::info!("{what} works again after {:.1}s ({count} {unit} during the fault)", lasted.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_repeat_and_end_are_reported_once_each() {
        let mut f = Fault::default();
        let t = Instant::now();
        assert_eq!(f.ok(t), None, "no fault, nothing to say");
        assert_eq!(f.fail(3, t), Some(Report::Started));
        assert!(f.active());
        assert_eq!(f.fail(1, t + Duration::from_secs(1)), None, "quiet between reports");
        assert_eq!(f.fail(1, t + REPEAT), Some(Report::Lasting { lasted: REPEAT, count: 5 }));
        assert_eq!(f.fail(1, t + REPEAT + Duration::from_secs(1)), None);
        assert_eq!(f.ok(t + REPEAT * 2), Some(Report::Ended { lasted: REPEAT * 2, count: 6 }));
        assert!(!f.active());
        assert_eq!(f.fail(1, t + REPEAT * 3), Some(Report::Started), "a new fault starts over");
    }
}
