//! The [`Message`] type: one IRC line as tags, source, command and params.
//!
//! Parsing lives in `parse.rs` and serialising in `write.rs`; this module
//! holds the type, its builders and accessors, and re-exports the whole
//! message API so `hearth_proto::message::*` is the one place to find it.

use std::fmt;

pub use crate::parse::{MAX_BODY_LEN, MAX_CLIENT_TAGS_LEN, MAX_LINE_LEN, MAX_TAGS_LEN, parse_line};
pub use crate::tags::{Tag, escape_tag_value, unescape_tag_value};
use crate::write::{FmtSink, estimated_len, write_message};

/// One IRC message.
///
/// Build replies with [`Message::new`] and the `with_*` builders; parse input
/// with [`parse_line`] or [`Message::parse`]; serialise with
/// [`Message::write`] (bytes + CRLF) or `Display` (text, no CRLF).
///
/// Only the *last* parameter may be empty, contain spaces or start with `:`;
/// the serialiser adds the `:` for it. See [`Message::write`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Message {
    /// Message tags in wire order, keys unique; values unescaped.
    pub tags: Vec<Tag>,
    /// The source (prefix) without its leading `:`, e.g. `nick!user@host`.
    pub source: Option<String>,
    /// The command, ASCII-uppercase, or a 3-digit numeric.
    pub command: String,
    /// Parameters; the last one is the "trailing" one on the wire.
    pub params: Vec<String>,
}

impl Message {
    /// A message with just a command. The command is taken as given (not
    /// uppercased): replies use constants such as `"PRIVMSG"` or a numeric.
    pub fn new(command: impl Into<String>) -> Message {
        Message { command: command.into(), ..Message::default() }
    }

    /// Sets the source (without the leading `:`).
    pub fn with_source(mut self, source: impl Into<String>) -> Message {
        self.source = Some(source.into());
        self
    }

    /// Appends one parameter.
    pub fn with_param(mut self, param: impl Into<String>) -> Message {
        self.params.push(param.into());
        self
    }

    /// Appends several parameters.
    pub fn with_params<I>(mut self, params: I) -> Message
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.params.extend(params.into_iter().map(Into::into));
        self
    }

    /// Sets a tag (value unescaped, `""` for none), replacing any tag with the
    /// same key so keys stay unique.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Message {
        let (key, value) = (key.into(), value.into());
        match self.tags.iter_mut().find(|t| t.key == key) {
            Some(tag) => tag.value = value,
            None => self.tags.push(Tag { key, value }),
        }
        self
    }

    /// The value of tag `key`: `Some("")` for a tag without a value, `None`
    /// when the tag is absent.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    /// Parameter `index`, if present.
    pub fn param(&self, index: usize) -> Option<&str> {
        self.params.get(index).map(String::as_str)
    }

    /// Appends the wire form of this message plus `"\r\n"` to `out`.
    ///
    /// This is the fan-out hot path: it reserves once and writes straight into
    /// `out`, so a caller can serialise once and share the bytes.
    ///
    /// Contract: the command is letters or a numeric; the source and tag keys
    /// have no spaces; non-last params are non-empty, have no space and do not
    /// start with `:`; no part holds CR, LF or NUL. Breaking it is a bug in
    /// the caller: debug builds panic; release builds write one safe line
    /// anyway (empty middle param -> `*`; a space, leading `:`, CR, LF or NUL
    /// in a middle atom -> `_`; CR/LF/NUL in the last param -> space).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.reserve(estimated_len(self));
        write_message(out, self);
        out.extend_from_slice(b"\r\n");
    }
}

/// The wire form without `"\r\n"`; same rules as [`Message::write`].
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { f, result: Ok(()) };
        write_message(&mut sink, self);
        sink.result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(m: &Message) -> String {
        let mut out = Vec::new();
        m.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn builds_and_serialises_a_reply() {
        let m = Message::new("001").with_source("irc.example.com").with_params(["nick", "Welcome to Hearth, nick"]);
        assert_eq!(wire(&m), ":irc.example.com 001 nick :Welcome to Hearth, nick\r\n");
        assert_eq!(m.to_string(), ":irc.example.com 001 nick :Welcome to Hearth, nick");
    }

    #[test]
    fn write_appends_to_existing_bytes() {
        let mut out = b"PING a\r\n".to_vec();
        Message::new("PONG").with_param("a").write(&mut out);
        assert_eq!(out, b"PING a\r\nPONG a\r\n");
    }

    #[test]
    fn tags_are_escaped_and_valueless_tags_bare() {
        let m = Message::new("PRIVMSG")
            .with_tag("time", "2024-01-01T00:00:00.000Z")
            .with_tag("+draft/reply", "a;b c")
            .with_tag("bot", "")
            .with_params(["#c", "hi"]);
        assert_eq!(m.to_string(), "@time=2024-01-01T00:00:00.000Z;+draft/reply=a\\:b\\sc;bot PRIVMSG #c hi");
    }

    #[test]
    fn with_tag_replaces_same_key() {
        let m = Message::new("PING").with_tag("a", "1").with_tag("a", "2");
        assert_eq!(m.tags, [Tag::new("a", "2")]);
        assert_eq!(m.tag("a"), Some("2"));
        assert_eq!(m.tag("b"), None);
    }

    #[test]
    fn tag_without_value_is_some_empty() {
        let m = Message::parse("@bot PING").unwrap();
        assert_eq!(m.tag("bot"), Some(""));
    }

    #[test]
    fn trailing_forms() {
        assert_eq!(Message::new("AWAY").to_string(), "AWAY");
        assert_eq!(Message::new("AWAY").with_param("").to_string(), "AWAY :");
        assert_eq!(Message::new("PRIVMSG").with_params(["#c", ":)"]).to_string(), "PRIVMSG #c ::)");
    }

    #[test]
    fn param_accessor() {
        let m = Message::parse("JOIN #a key").unwrap();
        assert_eq!(m.param(0), Some("#a"));
        assert_eq!(m.param(2), None);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "non-last parameter")]
    fn malformed_middle_param_asserts_in_debug() {
        Message::new("MODE").with_params(["#c", "a b", "x"]).to_string();
    }

    /// Release builds only (debug builds assert first); the pieces are also
    /// tested in any build in `write.rs`.
    #[test]
    #[cfg(not(debug_assertions))]
    fn malformed_message_still_serialises_to_one_line() {
        let m = Message::new("MODE").with_source("bad source").with_params(["", "a b", ":x", "end\r\nQUIT"]);
        assert_eq!(m.to_string(), ":bad_source MODE * a_b _x :end  QUIT");
    }
}
