//! Turning text into a [`Message`]: the limits, [`parse_line`] and
//! [`Message::parse`].
//!
//! Parsing is tolerant where the community test vectors say so (several
//! spaces between atoms, a trailing space, a lone `:` trailing) and strict
//! where leniency would be unsafe (NUL, embedded CR/LF, bad tag keys).

use crate::error::{CommandName, ParseError};
use crate::message::Message;
use crate::tags::{Tag, is_valid_key, unescape_tag_value};

/// Longest message body in bytes, *including* the CRLF, as RFC 1459 sets it.
/// The body is everything after the tag section.
pub const MAX_BODY_LEN: usize = 512;
/// Longest tag section in bytes, including the leading `@` and the space that
/// ends it (IRCv3 message-tags).
pub const MAX_TAGS_LEN: usize = 8191;
/// Most bytes of tag data a client may send (IRCv3 message-tags): every tag, with
/// or without the client-only `+` prefix, as it appears on the wire between the `@`
/// and the space.
pub const MAX_CLIENT_TAGS_LEN: usize = 4094;
/// Longest line a reader should buffer before giving up on it.
pub const MAX_LINE_LEN: usize = MAX_TAGS_LEN + MAX_BODY_LEN;

/// Parses one raw line as read from a socket.
///
/// Strips one trailing `"\r\n"`, `"\n"` or `"\r"`, rejects invalid UTF-8,
/// enforces [`MAX_TAGS_LEN`], [`MAX_CLIENT_TAGS_LEN`] and [`MAX_BODY_LEN`],
/// then parses with [`Message::parse`]. Never panics, whatever the bytes.
pub fn parse_line(line: &[u8]) -> Result<Message, ParseError> {
    let line = strip_terminator(line);
    let line = std::str::from_utf8(line).map_err(|_| invalid_utf8(line))?;
    check_limits(line)?;
    Message::parse(line)
}

/// The error for a line that is not UTF-8: it names the command when that part of
/// the line can be read, so that the reply can be `FAIL <command> INVALID_UTF8`.
fn invalid_utf8(line: &[u8]) -> ParseError {
    let mut rest = line;
    for prefix in [b'@', b':'] {
        rest = rest.trim_ascii_start();
        if rest.first() == Some(&prefix) {
            let end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
            rest = &rest[end..];
        }
    }
    let rest = rest.trim_ascii_start();
    let end = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
    match std::str::from_utf8(&rest[..end]).ok().and_then(CommandName::new) {
        Some(command) => ParseError::InvalidUtf8In(command),
        None => ParseError::InvalidUtf8,
    }
}

fn strip_terminator(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").or_else(|| line.strip_suffix(b"\n")).or_else(|| line.strip_suffix(b"\r")).unwrap_or(line)
}

/// Checks the three length limits on a line whose terminator is stripped.
fn check_limits(line: &str) -> Result<(), ParseError> {
    let mut body = line;
    if let Some(after_at) = line.strip_prefix('@') {
        let (tags, rest) = after_at.split_once(' ').unwrap_or((after_at, ""));
        // '@' + tags + ' ' (counted even when missing: it would be required).
        if tags.len() + 2 > MAX_TAGS_LEN {
            return Err(ParseError::TagsTooLong);
        }
        // "Clients MUST NOT send messages with tag data exceeding 4094 bytes, this
        // includes tags with or without the client-only prefix."
        if tags.len() > MAX_CLIENT_TAGS_LEN {
            return Err(ParseError::ClientTagsTooLong);
        }
        body = rest;
    }
    // The CRLF we stripped (or that a bare-LF client omitted) still counts.
    if body.len() + 2 > MAX_BODY_LEN {
        return Err(ParseError::BodyTooLong);
    }
    Ok(())
}

impl Message {
    /// Parses one line whose CR/LF terminator is already stripped.
    ///
    /// Lengths are *not* checked (use [`parse_line`] on untrusted input); NUL
    /// and inner CR/LF are still rejected. The command is ASCII-uppercased.
    /// Runs of spaces between atoms count as one separator.
    pub fn parse(line: &str) -> Result<Message, ParseError> {
        check_forbidden_bytes(line)?;
        let mut rest = line.trim_start_matches(' ');
        if rest.is_empty() {
            return Err(ParseError::Empty);
        }

        let mut tags = Vec::new();
        if let Some(after_at) = rest.strip_prefix('@') {
            let (raw, after) = after_at.split_once(' ').ok_or(ParseError::NoCommand)?;
            tags = parse_tags(raw)?;
            rest = after.trim_start_matches(' ');
        }

        let mut source = None;
        if let Some(after_colon) = rest.strip_prefix(':') {
            let (src, after) = after_colon.split_once(' ').ok_or(ParseError::NoCommand)?;
            source = Some(src.to_owned());
            rest = after.trim_start_matches(' ');
        }

        let (command, after) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return Err(ParseError::NoCommand);
        }
        let command = parse_command(command)?;

        Ok(Message { tags, source, command, params: parse_params(after) })
    }
}

/// One pass over the bytes for everything no part of a line may contain.
fn check_forbidden_bytes(line: &str) -> Result<(), ParseError> {
    match line.bytes().find(|&b| matches!(b, 0 | b'\r' | b'\n')) {
        Some(0) => Err(ParseError::NulByte),
        Some(_) => Err(ParseError::LineBreak),
        None => Ok(()),
    }
}

/// `raw` is the tag section without its `@` and trailing space.
fn parse_tags(raw: &str) -> Result<Vec<Tag>, ParseError> {
    let mut tags: Vec<Tag> = Vec::new();
    // Empty items (`@a;;b`, a trailing `;`) carry nothing; skip them.
    for item in raw.split(';').filter(|item| !item.is_empty()) {
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        if !is_valid_key(key) {
            return Err(ParseError::InvalidTagKey);
        }
        let value = unescape_tag_value(value);
        // The spec: parsers SHOULD disregard all but the final occurrence.
        // Tag lists are short, so a linear search beats hashing.
        match tags.iter_mut().find(|t| t.key == key) {
            Some(existing) => existing.value = value,
            None => tags.push(Tag { key: key.to_owned(), value }),
        }
    }
    Ok(tags)
}

/// Any token is a command here: one the server does not know (`FOO_BAR`, `X1`) is
/// answered with ERR_UNKNOWNCOMMAND — labelled, like any reply — not dropped as
/// unparsable. Only a leading `@` (possible after a source) is refused: written
/// back, it would read as tags.
fn parse_command(command: &str) -> Result<String, ParseError> {
    if command.starts_with('@') {
        return Err(ParseError::InvalidCommand);
    }
    Ok(command.to_ascii_uppercase())
}

/// Everything after the command: middle params separated by runs of spaces,
/// then an optional `:trailing` that keeps its spaces.
fn parse_params(mut rest: &str) -> Vec<String> {
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing.to_owned());
            break;
        }
        let (param, after) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(param.to_owned());
        rest = after;
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_with_body(body_len: usize) -> Vec<u8> {
        let mut line = b"PRIVMSG #c :".to_vec();
        line.resize(body_len, b'x');
        line.extend_from_slice(b"\r\n");
        line
    }

    #[test]
    fn body_of_exactly_512_bytes_with_crlf_is_accepted() {
        assert!(parse_line(&line_with_body(510)).is_ok());
        assert_eq!(parse_line(&line_with_body(511)), Err(ParseError::BodyTooLong));
    }

    #[test]
    fn body_limit_counts_crlf_even_when_client_sent_bare_lf() {
        let mut line = line_with_body(511);
        line.truncate(line.len() - 2);
        line.push(b'\n');
        assert_eq!(parse_line(&line), Err(ParseError::BodyTooLong));
    }

    #[test]
    fn tags_do_not_count_against_the_body_limit() {
        let mut line = format!("@k={} ", "v".repeat(1000)).into_bytes();
        line.extend_from_slice(&line_with_body(510));
        assert!(parse_line(&line).is_ok());
    }

    fn tags_line(section_len: usize, key: &str) -> String {
        // '@' + key + '=' + value + ' ' == section_len
        let value = "v".repeat(section_len - 3 - key.len());
        format!("@{key}={value} PING")
    }

    #[test]
    fn tag_section_limits() {
        // '@' + 4094 bytes of tag data + ' ' is the most a client may send.
        assert!(parse_line(tags_line(MAX_CLIENT_TAGS_LEN + 2, "k").as_bytes()).is_ok());
        assert_eq!(parse_line(tags_line(MAX_CLIENT_TAGS_LEN + 3, "k").as_bytes()), Err(ParseError::ClientTagsTooLong));
        assert_eq!(parse_line(tags_line(MAX_TAGS_LEN, "k").as_bytes()), Err(ParseError::ClientTagsTooLong));
        assert_eq!(parse_line(tags_line(MAX_TAGS_LEN + 1, "k").as_bytes()), Err(ParseError::TagsTooLong));
    }

    #[test]
    fn tag_section_without_command_still_checks_length() {
        let line = format!("@k={}", "v".repeat(MAX_TAGS_LEN));
        assert_eq!(parse_line(line.as_bytes()), Err(ParseError::TagsTooLong));
    }

    #[test]
    fn client_tag_data_is_limited_to_4094_bytes() {
        // "+k=" + value == MAX_CLIENT_TAGS_LEN bytes of tag data.
        let ok = format!("@+k={} TAGMSG #c", "v".repeat(MAX_CLIENT_TAGS_LEN - 3));
        assert!(parse_line(ok.as_bytes()).is_ok());
        let too_long = format!("@+k={} TAGMSG #c", "v".repeat(MAX_CLIENT_TAGS_LEN - 2));
        assert_eq!(parse_line(too_long.as_bytes()), Err(ParseError::ClientTagsTooLong));
    }

    #[test]
    fn tag_data_limit_counts_every_tag_and_separator() {
        let half = "v".repeat(2044); // "+a=" + 2044 = 2047; two of them + ';' = 4095
        let line = format!("@+a={half};bb={half} TAGMSG #c");
        assert_eq!(parse_line(line.as_bytes()), Err(ParseError::ClientTagsTooLong));
        let line = format!("@label={} PING", "v".repeat(MAX_CLIENT_TAGS_LEN));
        assert_eq!(parse_line(line.as_bytes()), Err(ParseError::ClientTagsTooLong));
        let shorter = &half[1..];
        let line = format!("@+a={shorter};bb={half} TAGMSG #c");
        assert!(parse_line(line.as_bytes()).is_ok());
    }

    #[test]
    fn strips_exactly_one_terminator() {
        for line in [&b"PING x\r\n"[..], b"PING x\n", b"PING x\r", b"PING x"] {
            assert_eq!(parse_line(line).unwrap().params, ["x"]);
        }
        assert_eq!(parse_line(b"PING x\r\r\n"), Err(ParseError::LineBreak));
        assert_eq!(parse_line(b"PING x\n\n"), Err(ParseError::LineBreak));
    }

    #[test]
    fn invalid_utf8_is_rejected_not_panicked_on() {
        let privmsg = ParseError::InvalidUtf8In(CommandName::new("PRIVMSG").unwrap());
        assert_eq!(parse_line(b"PRIVMSG #c :caf\xe9\r\n"), Err(privmsg));
        assert_eq!(parse_line(b"\xff\xfe"), Err(ParseError::InvalidUtf8));
        // A truncated multi-byte sequence.
        assert_eq!(parse_line(b"privmsg #c :\xf0\x9f"), Err(privmsg));
        assert_eq!(
            parse_line(b"@a=\xff :n\xff USER u 0 * :\xff"),
            Err(ParseError::InvalidUtf8In(CommandName::new("USER").unwrap()))
        );
        assert_eq!(parse_line(b"PRIV\xffMSG #c :x"), Err(ParseError::InvalidUtf8));
    }

    #[test]
    fn valid_utf8_is_kept() {
        let m = parse_line("PRIVMSG #c :café 🎉\r\n".as_bytes()).unwrap();
        assert_eq!(m.params[1], "café 🎉");
    }

    #[test]
    fn nul_byte_is_rejected_anywhere() {
        for line in [&b"PRIVMSG #c :a\0b"[..], b"@a=\0 PING", b":s\0 PING", b"PI\0NG", b"\0"] {
            assert_eq!(parse_line(line), Err(ParseError::NulByte), "{line:?}");
        }
    }

    #[test]
    fn inner_line_breaks_are_rejected() {
        assert_eq!(Message::parse("PRIVMSG #c :a\rQUIT"), Err(ParseError::LineBreak));
        assert_eq!(Message::parse("PRIVMSG #c :a\nb"), Err(ParseError::LineBreak));
    }

    #[test]
    fn empty_and_space_only_lines_are_empty() {
        assert_eq!(parse_line(b"\r\n"), Err(ParseError::Empty));
        assert_eq!(parse_line(b""), Err(ParseError::Empty));
        assert_eq!(Message::parse("   "), Err(ParseError::Empty));
    }

    #[test]
    fn missing_command_is_reported() {
        for line in ["@a=b", "@a=b ", ":src", ":src ", "@a :src", "@a :src   "] {
            assert_eq!(Message::parse(line), Err(ParseError::NoCommand), "{line:?}");
        }
    }

    #[test]
    fn any_token_is_a_command() {
        for (line, command) in
            [("12 x", "12"), ("1234", "1234"), ("priv_msg", "PRIV_MSG"), ("PING1", "PING1"), ("€uro", "€URO")]
        {
            assert_eq!(Message::parse(line).unwrap().command, command, "{line:?}");
        }
    }

    #[test]
    fn command_is_uppercased_and_numerics_kept() {
        assert_eq!(Message::parse("privMsg #a :b").unwrap().command, "PRIVMSG");
        assert_eq!(Message::parse("001 nick :hi").unwrap().command, "001");
    }

    #[test]
    fn bad_tag_keys_are_rejected() {
        for line in ["@=v PING", "@+ PING", "@a_b=1 PING", "@v/=1 PING"] {
            assert_eq!(Message::parse(line), Err(ParseError::InvalidTagKey), "{line:?}");
        }
        // "@a b=c PING" parses "a" as tags and "b=c" as the (unknown) command.
        assert_eq!(Message::parse("@a b=c PING").unwrap().command, "B=C");
        assert_eq!(Message::parse("@=v PING"), Err(ParseError::InvalidTagKey));
    }

    #[test]
    fn empty_tag_items_are_skipped() {
        let m = Message::parse("@a=1;;b; PING").unwrap();
        assert_eq!(m.tags, [Tag::new("a", "1"), Tag::new("b", "")]);
        assert!(Message::parse("@ PING").unwrap().tags.is_empty());
    }

    #[test]
    fn duplicate_tag_keeps_last_value() {
        let m = Message::parse("@a=1;b=2;a=3 PING").unwrap();
        assert_eq!(m.tags, [Tag::new("a", "3"), Tag::new("b", "2")]);
    }

    #[test]
    fn leading_spaces_are_tolerated() {
        assert_eq!(Message::parse("  PING x").unwrap().params, ["x"]);
    }

    #[test]
    fn message_parse_does_not_check_lengths() {
        let long = format!("PRIVMSG #c :{}", "x".repeat(5000));
        assert_eq!(Message::parse(&long).unwrap().params[1].len(), 5000);
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(ParseError::TagsTooLong.to_string(), "Message tags are too long (the limit is 8191 bytes)");
        assert!(ParseError::BodyTooLong.is_too_long());
        assert!(!ParseError::Empty.is_too_long());
    }
}
