//! IRCv3 message tags: the [`Tag`] type, value escaping and key validation.
//!
//! Tag values travel escaped on the wire (`\:` for `;`, `\s` for space, `\\`,
//! `\r`, `\n`) because `;` separates tags and a space ends the tag section.
//! [`Tag::value`] always holds the *unescaped* value.

use crate::write::Sink;

/// One message tag. `value` is unescaped; an empty value means "no value"
/// (`@key` and `@key=` are the same tag, as the spec says).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// The key, including any `+` client-only prefix and `vendor/` part.
    pub key: String,
    /// The unescaped value; `""` when the tag has no value.
    pub value: String,
}

impl Tag {
    /// A tag with the given key and (unescaped) value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Tag {
        Tag { key: key.into(), value: value.into() }
    }

    /// Client-only tags (`+` prefix) are relayed by servers but carry no
    /// meaning for them, and have their own size budget.
    pub fn is_client_only(&self) -> bool {
        self.key.starts_with('+')
    }
}

/// Appends `value` to `out` escaped for the wire.
///
/// NUL has no escape sequence and cannot appear on the wire, so it is dropped.
pub fn escape_tag_value(value: &str, out: &mut String) {
    write_escaped(out, value);
}

/// Undoes [`escape_tag_value`].
///
/// As the spec demands: an unknown escape (`\x`) drops the backslash and keeps
/// the character, and a lone backslash at the end is dropped.
pub fn unescape_tag_value(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    // Walk runs between backslashes so plain text is copied in bulk.
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let mut after = rest[at + 1..].chars();
        match after.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
        rest = after.as_str();
    }
    out.push_str(rest);
    out
}

/// Writes `value` escaped into any sink; shared by [`escape_tag_value`] and
/// the serialiser, which writes straight into the output buffer.
pub(crate) fn write_escaped<S: Sink + ?Sized>(out: &mut S, value: &str) {
    let bytes = value.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b';' => "\\:",
            b' ' => "\\s",
            b'\\' => "\\\\",
            b'\r' => "\\r",
            b'\n' => "\\n",
            0 => "",
            _ => continue,
        };
        // `i` sits on an ASCII byte, so both slices end on char boundaries.
        out.put(&value[start..i]);
        out.put(escape);
        start = i + 1;
    }
    out.put(&value[start..]);
}

/// Checks a key against the message-tags grammar:
/// `['+'] [vendor '/'] key_name`, where `key_name` is ASCII letters, digits and
/// `-`, and `vendor` is a DNS-ish name (letters, digits, `-`, `.`).
pub(crate) fn is_valid_key(key: &str) -> bool {
    let key = key.strip_prefix('+').unwrap_or(key);
    let (vendor, name) = match key.rfind('/') {
        Some(at) => (Some(&key[..at]), &key[at + 1..]),
        None => (None, key),
    };
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let vendor_ok =
        vendor.is_none_or(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    name_ok && vendor_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(v: &str) -> String {
        let mut s = String::new();
        escape_tag_value(v, &mut s);
        s
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(escaped("a;b c\\d\re\nf"), "a\\:b\\sc\\\\d\\re\\nf");
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(escaped(""), "");
    }

    #[test]
    fn escape_drops_nul() {
        assert_eq!(escaped("a\0b"), "ab");
    }

    #[test]
    fn escape_appends_rather_than_overwrites() {
        let mut s = String::from("x=");
        escape_tag_value("a b", &mut s);
        assert_eq!(s, "x=a\\sb");
    }

    #[test]
    fn unescapes_every_escape() {
        assert_eq!(unescape_tag_value("a\\:b\\sc\\\\d\\re\\nf"), "a;b c\\d\re\nf");
    }

    #[test]
    fn unknown_escape_drops_backslash() {
        assert_eq!(unescape_tag_value("value\\1"), "value1");
        assert_eq!(unescape_tag_value("\\é"), "é");
    }

    #[test]
    fn trailing_lone_backslash_is_dropped() {
        assert_eq!(unescape_tag_value("value1\\"), "value1");
        assert_eq!(unescape_tag_value("\\"), "");
    }

    #[test]
    fn unescape_is_char_at_a_time() {
        // `\\n` is an escaped backslash followed by `n`, not a newline.
        assert_eq!(unescape_tag_value("value\\\\ntest"), "value\\ntest");
    }

    #[test]
    fn escape_then_unescape_is_identity() {
        for v in ["", "a;b", " ", "\\", "\\s", "x\r\ny", "émoji 🎉;"] {
            assert_eq!(unescape_tag_value(&escaped(v)), v);
        }
    }

    #[test]
    fn key_grammar() {
        for ok in ["a", "msgid", "+typing", "+draft/reply", "example.com/x-y", "a1-"] {
            assert!(is_valid_key(ok), "{ok}");
        }
        for bad in ["", "+", "/a", "a/", "a b", "a_b", "vendor_x/y", "é", "a=b"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }
}
