//! Timestamps as IRCv3 `server-time` strings (`2026-11-29T19:42:48.123Z`, UTC).
//!
//! The client keeps every time in that form: it sorts as text, its first ten
//! characters are the day (for date separators) and it is what CHATHISTORY and
//! MARKREAD take. No time-zone database: times are shown in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as a `server-time` string.
pub fn now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    from_unix(d.as_secs() as i64, d.subsec_millis())
}

/// `secs` since 1970 (UTC) plus `millis` as a `server-time` string.
pub fn from_unix(secs: i64, millis: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The day part (`2026-11-29`) of a timestamp.
pub fn day(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

/// The `HH:MM` part of a timestamp.
pub fn hhmm(ts: &str) -> &str {
    ts.get(11..16).unwrap_or("")
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(from_unix(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(from_unix(1_795_981_368, 123), "2026-11-29T19:42:48.123Z");
        assert_eq!(from_unix(951_782_400, 0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn parts() {
        assert_eq!(day("2026-11-29T19:42:48.123Z"), "2026-11-29");
        assert_eq!(hhmm("2026-11-29T19:42:48.123Z"), "19:42");
        assert_eq!(hhmm("bad"), "");
    }
}
