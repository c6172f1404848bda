//! Results: human-readable lines as they come, one JSON line at the end.

use hdrhistogram::Histogram;
use serde_json::{Map, Value};

pub struct Report {
    scenario: &'static str,
    fields: Map<String, Value>,
    errors: Vec<String>,
}

impl Report {
    pub fn new(scenario: &'static str) -> Self {
        println!("== {scenario}");
        Self { scenario, fields: Map::new(), errors: Vec::new() }
    }

    /// Records a figure and prints it as `key: value unit`.
    pub fn add(&mut self, key: &str, value: impl Into<Value>, unit: &str) {
        let value = value.into();
        let shown = match &value {
            Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(0.0);
                if f.abs() >= 100.0 { format!("{f:.0}") } else { format!("{f:.3}") }
            }
            v => v.to_string(),
        };
        println!("  {key:<24} {shown} {unit}");
        self.fields.insert(key.to_string(), value);
    }

    /// Records an optional float figure (JSON `null` when absent).
    pub fn add_opt(&mut self, key: &str, value: Option<f64>, unit: &str) {
        match value {
            Some(v) if v.is_finite() => self.add(key, v, unit),
            _ => {
                println!("  {key:<24} n/a");
                self.fields.insert(key.to_string(), Value::Null);
            }
        }
    }

    /// Latency percentiles from a histogram recorded in microseconds.
    pub fn add_latency(&mut self, prefix: &str, h: &Histogram<u64>) {
        if h.is_empty() {
            for p in ["p50", "p90", "p99", "max"] {
                self.add_opt(&format!("{prefix}_{p}_ms"), None, "ms");
            }
            return;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        self.add(&format!("{prefix}_p50_ms"), ms(h.value_at_quantile(0.50)), "ms");
        self.add(&format!("{prefix}_p90_ms"), ms(h.value_at_quantile(0.90)), "ms");
        self.add(&format!("{prefix}_p99_ms"), ms(h.value_at_quantile(0.99)), "ms");
        self.add(&format!("{prefix}_max_ms"), ms(h.max()), "ms");
    }

    /// Marks the run as failed (non-zero exit) with a reason.
    pub fn fail(&mut self, why: impl Into<String>) {
        let why = why.into();
        println!("  FAIL: {why}");
        self.errors.push(why);
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("scenario".into(), self.scenario.into());
        m.insert("ok".into(), self.ok().into());
        m.extend(self.fields.clone());
        m.insert("errors".into(), self.errors.clone().into());
        Value::Object(m)
    }
}

/// A latency histogram in microseconds, 1 µs .. 10 min, 2 significant
/// digits (1% resolution keeps it ~20 KiB per receiver).
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 2).expect("valid histogram bounds")
}
