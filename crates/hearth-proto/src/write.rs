//! Serialising a [`Message`] — the hot path of fan-out.
//!
//! Everything is written straight into the caller's buffer through [`Sink`];
//! there are no intermediate `String`s. Each atom is scanned once to decide
//! whether it needs a `:` prefix or sanitising.
//!
//! A `Message` built by hand can break the wire format (a middle parameter
//! with a space, a CR in the text…). That is a caller bug: debug builds
//! assert, release builds still emit one sane line — bytes that would split
//! or end the line are replaced (see [`write_middle`]) — so a bug can never
//! let one client inject a line into another's stream.

use std::fmt;

use crate::message::Message;
use crate::tags::{Tag, is_valid_key, write_escaped};

/// Where serialised text goes: a byte buffer, a `String` or a formatter.
pub(crate) trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

impl Sink for String {
    #[inline]
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Adapts a [`fmt::Formatter`], remembering the first error.
pub(crate) struct FmtSink<'a, 'b> {
    pub(crate) f: &'a mut fmt::Formatter<'b>,
    pub(crate) result: fmt::Result,
}

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
}

/// Bytes that end or split a line anywhere in a message.
#[inline]
fn is_line_break(b: u8) -> bool {
    matches!(b, 0 | b'\r' | b'\n')
}

/// A rough upper bound of the serialised size, so `write` reserves once.
pub(crate) fn estimated_len(msg: &Message) -> usize {
    let tags: usize = msg.tags.iter().map(|t| t.key.len() + t.value.len() + 2).sum();
    let source = msg.source.as_ref().map_or(0, |s| s.len() + 2);
    let params: usize = msg.params.iter().map(|p| p.len() + 2).sum();
    tags + 1 + source + msg.command.len() + params + 2
}

/// Writes the message without its CRLF.
pub(crate) fn write_message<S: Sink + ?Sized>(out: &mut S, msg: &Message) {
    if !msg.tags.is_empty() {
        out.put("@");
        for (i, tag) in msg.tags.iter().enumerate() {
            if i > 0 {
                out.put(";");
            }
            write_tag(out, tag);
        }
        out.put(" ");
    }
    if let Some(source) = &msg.source {
        debug_assert!(
            !source.bytes().any(|b| b == b' ' || is_line_break(b)),
            "message source {source:?} contains a space or line break"
        );
        out.put(":");
        put_replacing(out, source, |b| b == b' ' || is_line_break(b), "_");
        out.put(" ");
    }
    debug_assert!(
        is_valid_command(&msg.command),
        "command {:?} is empty, has a space or starts with @ or :",
        msg.command
    );
    write_middle(out, &msg.command);
    if let Some((last, middle)) = msg.params.split_last() {
        for param in middle {
            debug_assert!(
                is_valid_middle(param),
                "non-last parameter {param:?} is empty, contains a space or starts with ':'"
            );
            out.put(" ");
            write_middle(out, param);
        }
        out.put(" ");
        write_last(out, last);
    }
}

fn write_tag<S: Sink + ?Sized>(out: &mut S, tag: &Tag) {
    debug_assert!(is_valid_key(&tag.key), "invalid tag key {:?}", tag.key);
    put_replacing(out, &tag.key, |b| matches!(b, b' ' | b';' | b'=') || is_line_break(b), "_");
    if !tag.value.is_empty() {
        out.put("=");
        write_escaped(out, &tag.value);
    }
}

/// What the parser accepts as a command (any token that cannot be mistaken for tags
/// or a source), so that every parsed message can be written back.
fn is_valid_command(command: &str) -> bool {
    is_valid_middle(command) && !command.starts_with('@')
}

fn is_valid_middle(param: &str) -> bool {
    !param.is_empty() && !param.starts_with(':') && !param.bytes().any(|b| b == b' ' || is_line_break(b))
}

/// Writes an atom that must not need a `:` (a command or non-last param).
///
/// If it is malformed anyway, it is made safe while keeping the parameter
/// count: empty becomes `*` (the usual IRC placeholder), a leading `:` and
/// any space, CR, LF or NUL become `_`.
pub(crate) fn write_middle<S: Sink + ?Sized>(out: &mut S, param: &str) {
    if param.is_empty() {
        out.put("*");
        return;
    }
    let rest = match param.strip_prefix(':') {
        Some(rest) => {
            out.put("_");
            rest
        }
        None => param,
    };
    put_replacing(out, rest, |b| b == b' ' || is_line_break(b), "_");
}

/// Writes the last parameter, with a `:` when it is empty, starts with `:`
/// or holds a space. CR, LF and NUL (a caller bug) become spaces.
pub(crate) fn write_last<S: Sink + ?Sized>(out: &mut S, param: &str) {
    debug_assert!(!param.bytes().any(is_line_break), "last parameter {param:?} contains CR, LF or NUL");
    write_last_sanitised(out, param);
}

/// [`write_last`] without the debug assertion, so tests can check the
/// release-build behaviour in any build.
fn write_last_sanitised<S: Sink + ?Sized>(out: &mut S, param: &str) {
    // One branch-free pass over the bytes decides both questions.
    let (mut space, mut broken) = (false, false);
    for &b in param.as_bytes() {
        space |= b == b' ';
        broken |= is_line_break(b);
    }
    // Broken bytes become spaces, so they need the ':' as much as spaces do.
    if space || broken || param.is_empty() || param.starts_with(':') {
        out.put(":");
    }
    if broken {
        put_replacing(out, param, is_line_break, " ");
    } else {
        out.put(param);
    }
}

/// Copies `s`, writing `with` in place of each byte matching `bad`.
/// Only ever called with predicates that match ASCII bytes, so slicing at
/// those positions stays on char boundaries.
fn put_replacing<S: Sink + ?Sized>(out: &mut S, s: &str, bad: impl Fn(u8) -> bool, with: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if bad(b) {
            out.put(&s[start..i]);
            out.put(with);
            start = i + 1;
        }
    }
    out.put(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn middle(p: &str) -> String {
        let mut s = String::new();
        write_middle(&mut s, p);
        s
    }

    fn last(p: &str) -> String {
        let mut s = String::new();
        write_last(&mut s, p);
        s
    }

    #[test]
    fn last_param_gets_colon_only_when_needed() {
        assert_eq!(last("word"), "word");
        assert_eq!(last(""), ":");
        assert_eq!(last("two words"), ":two words");
        assert_eq!(last(":colon"), "::colon");
        assert_eq!(last("mid:colon"), "mid:colon");
    }

    #[test]
    fn malformed_middle_params_stay_one_param() {
        assert_eq!(middle("ok"), "ok");
        assert_eq!(middle(""), "*");
        assert_eq!(middle("a b"), "a_b");
        assert_eq!(middle(":x"), "_x");
        assert_eq!(middle("a\r\nb\0"), "a__b_");
    }

    /// Regression: a CR/LF in a last param without spaces was replaced by
    /// spaces but written without ':', turning one param into several.
    #[test]
    fn line_breaks_in_last_param_cannot_inject_a_line() {
        let sanitised = |p: &str| {
            let mut s = String::new();
            write_last_sanitised(&mut s, p);
            s
        };
        assert_eq!(sanitised("hi\r\nQUIT"), ":hi  QUIT");
        assert_eq!(sanitised("end\0"), ":end ");
        assert_eq!(sanitised("two words\n"), ":two words ");
        assert_eq!(sanitised("fine"), "fine");
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "contains CR, LF or NUL")]
    fn line_break_in_last_param_asserts_in_debug() {
        last("hi\r\nQUIT");
    }
}
