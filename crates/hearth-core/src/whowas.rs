//! The nickname history behind WHOWAS: who used a nickname before it was changed or
//! its owner left, bounded by count and by age.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use hearth_proto::casefold;

/// One departed nickname.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub nick: String,
    pub user: String,
    pub host: String,
    pub realname: String,
    pub account: Option<String>,
    /// When the nickname stopped being used.
    pub left: SystemTime,
}

impl Entry {
    /// `c` as it is now, leaving at `left`.
    pub fn of(c: &crate::client::Client, left: SystemTime) -> Self {
        Entry {
            nick: c.nick.to_string(),
            user: c.user.to_string(),
            host: c.host.to_string(),
            realname: c.realname.to_string(),
            account: c.account.clone(),
            left,
        }
    }
}

/// Departed nicknames, oldest first; at most `max` entries, none older than `max_age`.
#[derive(Debug)]
pub struct WhowasLog {
    entries: VecDeque<(String, Entry)>,
    max: usize,
    max_age: Duration,
}

impl WhowasLog {
    pub fn new(max: usize, max_age: Duration) -> Self {
        WhowasLog { entries: VecDeque::new(), max, max_age }
    }

    /// Remembers `entry`, dropping the oldest entries past the bounds.
    pub fn record(&mut self, entry: Entry) {
        if self.max == 0 {
            return;
        }
        self.expire(entry.left);
        while self.entries.len() >= self.max {
            self.entries.pop_front();
        }
        self.entries.push_back((casefold(&entry.nick), entry));
    }

    /// Entries for `nick` (compared casefolded, no wildcards), newest first, at most
    /// `count` of them (all when `None`), none older than the age bound at `now`.
    pub fn lookup(&mut self, nick: &str, count: Option<usize>, now: SystemTime) -> Vec<Entry> {
        self.expire(now);
        let key = casefold(nick);
        self.entries
            .iter()
            .rev()
            .filter(|(k, _)| *k == key)
            .map(|(_, e)| e.clone())
            .take(count.unwrap_or(usize::MAX))
            .collect()
    }

    fn expire(&mut self, now: SystemTime) {
        while let Some((_, e)) = self.entries.front() {
            let age = now.duration_since(e.left).unwrap_or_default();
            if age <= self.max_age {
                break;
            }
            self.entries.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(nick: &str, left: SystemTime) -> Entry {
        Entry { nick: nick.into(), user: "u".into(), host: "h".into(), realname: "r".into(), account: None, left }
    }

    #[test]
    fn newest_first_bounded_by_count() {
        let t = SystemTime::now();
        let mut log = WhowasLog::new(3, Duration::from_secs(60));
        for (i, n) in ["Bob", "carol", "BOB", "bob"].iter().enumerate() {
            log.record(Entry { user: format!("u{i}"), ..entry(n, t) });
        }
        assert_eq!(log.len(), 3, "the oldest entry was dropped");
        let got = log.lookup("bob", None, t);
        assert_eq!(got.iter().map(|e| e.user.as_str()).collect::<Vec<_>>(), ["u3", "u2"]);
        assert_eq!(log.lookup("bob", Some(1), t).len(), 1);
        assert!(log.lookup("b*", None, t).is_empty(), "no wildcards");
    }

    #[test]
    fn old_entries_are_forgotten() {
        let t = SystemTime::now();
        let mut log = WhowasLog::new(10, Duration::from_secs(60));
        log.record(entry("old", t - Duration::from_secs(120)));
        log.record(entry("new", t));
        assert!(log.lookup("old", None, t).is_empty());
        assert_eq!(log.lookup("new", None, t + Duration::from_secs(30)).len(), 1);
        assert!(log.lookup("new", None, t + Duration::from_secs(61)).is_empty());
        assert!(log.is_empty());
    }

    #[test]
    fn zero_keeps_nothing() {
        let mut log = WhowasLog::new(0, Duration::from_secs(60));
        log.record(entry("a", SystemTime::now()));
        assert!(log.is_empty());
    }
}
