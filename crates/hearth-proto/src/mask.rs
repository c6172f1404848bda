//! Wildcard masks (`*` and `?`) as used by bans, invite/ban exceptions,
//! WHO and oper host checks.
//!
//! Matching is case-insensitive per [`casefold`](crate::casefold) and uses the
//! classic two-pointer algorithm: on a mismatch it only ever backtracks to the
//! most recent `*`, so the worst case is O(mask × subject) — never
//! exponential, even for hostile masks like `*a*a*a*a*b`.
//!
//! There is no escape character and no character classes: `[` is literal
//! (IRC nicks contain brackets).

use crate::casemap::casefold_byte;

/// Whether `subject` (e.g. `nick!user@host`) matches `mask`.
///
/// `*` matches any run of characters (including none), `?` exactly one
/// character (a whole UTF-8 character, not a byte).
pub fn mask_matches(mask: &str, subject: &str) -> bool {
    let (m, s) = (mask.as_bytes(), subject.as_bytes());
    let (mut mi, mut si) = (0, 0);
    // Where to resume after the last `*`: (mask index after it, subject index).
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        let step = char_len(s, si);
        match m.get(mi) {
            Some(b'*') => {
                mi += 1;
                star = Some((mi, si));
                continue;
            }
            Some(b'?') => {
                mi += 1;
                si += step;
                continue;
            }
            Some(&mb) if casefold_byte(mb) == casefold_byte(s[si]) => {
                // Byte-wise equality works for UTF-8: a whole character
                // matches when all its bytes do.
                mi += 1;
                si += 1;
                continue;
            }
            _ => {}
        }
        match star {
            // Let the last `*` swallow one more character and retry.
            Some((star_mi, star_si)) => {
                let next = star_si + char_len(s, star_si);
                star = Some((star_mi, next));
                mi = star_mi;
                si = next;
            }
            None => return false,
        }
    }
    m[mi..].iter().all(|&b| b == b'*')
}

/// Length of the UTF-8 character starting at `s[i]` (1 for stray bytes, which
/// cannot occur in a `&str` but keep this total).
fn char_len(s: &[u8], i: usize) -> usize {
    match s[i] {
        b if b < 0x80 => 1,
        b if b >= 0xF0 => 4,
        b if b >= 0xE0 => 3,
        b if b >= 0xC0 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_wildcards() {
        assert!(mask_matches("nick!user@host", "nick!user@host"));
        assert!(mask_matches("*", ""));
        assert!(mask_matches("*", "anything"));
        assert!(mask_matches("", ""));
        assert!(!mask_matches("", "x"));
        assert!(!mask_matches("?", ""));
        assert!(mask_matches("a*b*c", "aXXbYYc"));
        assert!(!mask_matches("a*b*c", "aXXbYY"));
        assert!(mask_matches("**a**", "a"));
    }

    #[test]
    fn case_insensitive() {
        assert!(mask_matches("*!*@EXAMPLE.com", "Nick!u@example.COM"));
    }

    #[test]
    fn question_mark_matches_one_utf8_character() {
        assert!(mask_matches("caf?", "café"));
        assert!(!mask_matches("caf??", "café"));
        assert!(mask_matches("*é", "café"));
        assert!(mask_matches("?*🎉", "x🎉"));
    }

    #[test]
    fn hostile_mask_is_fast() {
        let mask = format!("{}b", "*a".repeat(50));
        let subject = "a".repeat(5000);
        let started = std::time::Instant::now();
        assert!(!mask_matches(&mask, &subject));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
