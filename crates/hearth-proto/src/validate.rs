//! Syntax checks for nicknames, channel names and hostnames, and splitting
//! `nick!user@host`.
//!
//! These are pure syntax rules; policy (reserved nicks, length limits from the
//! config) belongs to the caller, which passes `max_len` in.

/// The RFC 2812 "special" characters allowed in nicknames.
const NICK_SPECIAL: &[u8] = b"[]\\`_^{|}";

/// Whether `nick` is a valid nickname of at most `max_len` bytes.
///
/// RFC 2812: the first character is a letter or one of `` []\`_^{|} ``; the
/// rest may also be digits or `-`. This keeps nicks free of the characters
/// that carry meaning elsewhere (`!@#&:,*?` and spaces) and ASCII-only, so
/// `ascii` casemapping is complete for them.
pub fn is_valid_nick(nick: &str, max_len: usize) -> bool {
    let bytes = nick.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    let is_lead = |b: u8| b.is_ascii_alphabetic() || NICK_SPECIAL.contains(&b);
    bytes.len() <= max_len && is_lead(first) && rest.iter().all(|&b| is_lead(b) || b.is_ascii_digit() || b == b'-')
}

/// Whether `name` is a valid channel name of at most `max_len` bytes.
///
/// It starts with `#` or `&`, has at least one character after that, and holds
/// no space, comma (the list separator), BEL, NUL, CR or LF. Other characters,
/// UTF-8 included, are allowed.
pub fn is_valid_channel(name: &str, max_len: usize) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2
        && bytes.len() <= max_len
        && matches!(bytes[0], b'#' | b'&')
        && !bytes[1..].iter().any(|b| matches!(b, b' ' | b',' | 0x07 | 0 | b'\r' | b'\n'))
}

/// Whether `host` is a valid hostname for a server or client host.
///
/// DNS letters-digits-hyphen labels of 1 to 63 bytes that neither start nor
/// end with `-`, at most 253 bytes in all, and at least two labels: a bare
/// `irc` or `com` is not an IRC hostname (as the community test vectors
/// say). IDNs must already be in punycode (`xn--…`). IP literals are not
/// hostnames; check those with `std::net::IpAddr` (IPv4 happens to pass).
pub fn is_valid_hostname(host: &str) -> bool {
    let is_label = |label: &str| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    };
    host.len() <= 253 && host.contains('.') && host.split('.').all(is_label)
}

/// The parts of a `nick!user@host` source. Missing parts are `""`.
///
/// Borrowed from the input: splitting never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UserHost<'a> {
    /// Everything before `!` (or before `@` when there is no `!`).
    pub nick: &'a str,
    /// Between `!` and `@`.
    pub user: &'a str,
    /// After `@`.
    pub host: &'a str,
}

impl<'a> UserHost<'a> {
    /// Splits `source` at the first `@` (host) and then the first `!` (user).
    /// A server name such as `irc.example.com` comes back as a bare `nick`.
    pub fn split(source: &'a str) -> UserHost<'a> {
        let (rest, host) = source.split_once('@').unwrap_or((source, ""));
        let (nick, user) = rest.split_once('!').unwrap_or((rest, ""));
        UserHost { nick, user, host }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks() {
        for ok in ["a", "Nick", "[away]", "`x", "_-_", "a1-2", "{|}^", "\\o"] {
            assert!(is_valid_nick(ok, 30), "{ok}");
        }
        for bad in ["", "1abc", "-a", "a b", "a!b", "a@b", "#a", "a,b", "né", "a:b", "a*"] {
            assert!(!is_valid_nick(bad, 30), "{bad}");
        }
    }

    #[test]
    fn nick_length_limit_is_in_bytes_and_inclusive() {
        assert!(is_valid_nick("abcd", 4));
        assert!(!is_valid_nick("abcde", 4));
    }

    #[test]
    fn channels() {
        for ok in ["#a", "&local", "#chan-name", "#ça", "#a:b", "##"] {
            assert!(is_valid_channel(ok, 50), "{ok}");
        }
        for bad in ["", "#", "a", "+a", "#a b", "#a,b", "#a\x07", "#a\0", "#a\r", "#a\n"] {
            assert!(!is_valid_channel(bad, 50), "{bad:?}");
        }
        assert!(is_valid_channel("#abc", 4));
        assert!(!is_valid_channel("#abcd", 4));
    }

    #[test]
    fn hostnames() {
        assert!(is_valid_hostname("irc.example.com"));
        assert!(is_valid_hostname("127.0.0.1"));
        assert!(!is_valid_hostname("example.com."));
        assert!(!is_valid_hostname("a..b"));
        assert!(!is_valid_hostname("lol-.net"));
        assert!(!is_valid_hostname(&format!("{}.com", "a".repeat(64))));
        assert!(is_valid_hostname(&format!("{}.com", "a".repeat(63))));
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(long.len() == 255 && !is_valid_hostname(&long));
    }

    #[test]
    fn userhost_split() {
        let uh = UserHost::split("n!u@h");
        assert_eq!((uh.nick, uh.user, uh.host), ("n", "u", "h"));
        let server = UserHost::split("irc.example.com");
        assert_eq!((server.nick, server.user, server.host), ("irc.example.com", "", ""));
    }
}
