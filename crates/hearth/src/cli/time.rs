//! Dates and times on the command line. Everything is UTC: the store keeps
//! milliseconds since the Unix epoch, and a chat log shared between time zones
//! is only unambiguous in one zone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hearth_store::Timestamp;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The latest time humantime can print (9999-12-31T23:59:59.999Z); later
/// stored times are clamped to it when shown.
const LATEST_PRINTABLE_MS: i64 = 253_402_300_799_999;

/// A time given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CliTime {
    pub at: Timestamp,
    /// Given as a bare `YYYY-MM-DD`: `at` is that day's midnight UTC.
    pub date_only: bool,
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time such as
/// `2026-11-21T05:41:56Z` or `2026-11-21T06:41:56+01:00`. A time without an
/// offset (`2026-11-21 05:41:56`) is taken as UTC.
pub fn parse(input: &str) -> anyhow::Result<CliTime> {
    let s = input.trim();
    let hint = || {
        format!(
            "`{input}` is not a date; write YYYY-MM-DD (midnight UTC) or an RFC 3339 time such as 2026-11-21T05:41:56Z"
        )
    };
    if s.len() == 10 {
        let t = humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).with_context(hint)?;
        return Ok(CliTime { at: Timestamp::from(t), date_only: true });
    }
    // humantime understands `Z` and `+00:00` only, so other offsets are applied here.
    let (base, offset_ms) = split_offset(s).with_context(hint)?;
    let t = humantime::parse_rfc3339_weak(base).with_context(hint)?;
    Ok(CliTime { at: Timestamp::from_millis(Timestamp::from(t).as_millis() - offset_ms), date_only: false })
}

/// Splits a trailing `+HH:MM` / `-HH:MM` offset off, returning it in milliseconds.
fn split_offset(s: &str) -> anyhow::Result<(&str, i64)> {
    let b = s.as_bytes();
    if b.len() < "2026-11-21T05:41:56+01:00".len() || !matches!(b[b.len() - 6], b'+' | b'-') || b[b.len() - 3] != b':' {
        return Ok((s, 0));
    }
    let (base, offset) = s.split_at(s.len() - 6);
    let hours: i64 = offset[1..3].parse()?;
    let minutes: i64 = offset[4..6].parse()?;
    if hours > 23 || minutes > 59 {
        bail!("offset out of range");
    }
    let ms = (hours * 60 + minutes) * 60_000;
    Ok((base, if offset.starts_with('-') { -ms } else { ms }))
}

fn system_time(t: Timestamp) -> SystemTime {
    let ms = t.as_millis().clamp(0, LATEST_PRINTABLE_MS);
    UNIX_EPOCH + Duration::from_millis(ms as u64)
}

/// `2026-11-21 05:41:56`: how a person reads a time (UTC, second precision).
pub fn human(t: Timestamp) -> String {
    let s = humantime::format_rfc3339_seconds(system_time(t)).to_string();
    s.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `2026-11-21T05:41:56.123Z`: RFC 3339 with milliseconds, for machines.
pub fn rfc3339(t: Timestamp) -> String {
    humantime::format_rfc3339_millis(system_time(t)).to_string()
}

/// `2026-11-21`: the UTC day of `t`.
pub fn date(t: Timestamp) -> String {
    let mut s = humantime::format_rfc3339_seconds(system_time(t)).to_string();
    s.truncate(10);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_and_times() {
        let d = parse("2026-11-21").unwrap();
        assert!(d.date_only);
        assert_eq!(date(d.at), "2026-11-21");
        assert_eq!(human(d.at), "2026-11-21 00:00:00");
        let t = parse("2026-11-21T05:41:56Z").unwrap();
        assert!(!t.date_only);
        assert_eq!(t.at.as_millis() - d.at.as_millis(), (5 * 3600 + 41 * 60 + 56) * 1000);
        assert_eq!(parse("2026-11-21T06:41:56+01:00").unwrap().at, t.at);
        assert_eq!(parse("2026-11-21T04:41:56.000-01:00").unwrap().at, t.at);
        assert_eq!(parse("2026-11-21 05:41:56").unwrap().at, t.at);
        assert_eq!(rfc3339(Timestamp::from_millis(t.at.as_millis() + 7)), "2026-11-21T05:41:56.007Z");
    }

    #[test]
    fn rejects_nonsense() {
        for bad in ["yesterday", "2026-02-30", "2026-13-01", "21/11/2026", "2026-11-21T25:00:00Z", ""] {
            let err = parse(bad).unwrap_err().to_string();
            assert!(err.contains("YYYY-MM-DD"), "{bad}: {err}");
        }
    }

    #[test]
    fn out_of_range_times_print_without_panicking() {
        assert_eq!(date(Timestamp::MIN), "1970-01-01");
        assert_eq!(date(Timestamp::MAX), "9999-12-31");
    }
}
