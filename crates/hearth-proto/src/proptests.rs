//! Property tests: serialise ∘ parse is the identity on well-formed messages,
//! and `parse_line` never panics, whatever the bytes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::{Message, Tag, escape_tag_value, parse_line, unescape_tag_value};

fn tag_key() -> impl Strategy<Value = String> {
    "\\+?([a-z0-9][a-z0-9.-]{0,8}/)?[A-Za-z0-9-]{1,12}"
}

/// Any text a tag value can carry: everything but NUL, which has no escape.
fn tag_value() -> impl Strategy<Value = String> {
    "[^\\x00]{0,20}"
}

fn command() -> impl Strategy<Value = String> {
    prop_oneof!["[A-Z]{1,12}", "[0-9]{3}"]
}

/// A parameter that is allowed anywhere: no space, not empty, no leading ':'.
fn middle() -> impl Strategy<Value = String> {
    "[^\\x00\\r\\n :][^\\x00\\r\\n ]{0,15}"
}

/// The last parameter may be anything but NUL, CR and LF.
fn last() -> impl Strategy<Value = String> {
    "[^\\x00\\r\\n]{0,40}"
}

prop_compose! {
    fn message()(
        tags in proptest::collection::btree_map(tag_key(), tag_value(), 0..5),
        source in proptest::option::of("[^\\x00\\r\\n ]{1,30}"),
        command in command(),
        middles in proptest::collection::vec(middle(), 0..6),
        last in proptest::option::of(last()),
    ) -> Message {
        let tags: BTreeMap<String, String> = tags;
        let mut params = middles;
        params.extend(last);
        Message {
            tags: tags.into_iter().map(|(key, value)| Tag { key, value }).collect(),
            source,
            command,
            params,
        }
    }
}

proptest! {
    #[test]
    fn display_then_parse_round_trips(msg in message()) {
        let text = msg.to_string();
        prop_assert_eq!(Message::parse(&text), Ok(msg), "{:?}", text);
    }

    #[test]
    fn write_then_parse_line_round_trips(msg in message()) {
        let mut wire = Vec::new();
        msg.write(&mut wire);
        prop_assert!(wire.ends_with(b"\r\n"));
        // Exactly one line: the only CR/LF are the terminator's.
        let breaks = wire.iter().filter(|&&b| b == b'\r' || b == b'\n').count();
        prop_assert_eq!(breaks, 2);
        // Generated messages are far below the length limits.
        prop_assert_eq!(parse_line(&wire), Ok(msg));
    }

    #[test]
    fn tag_value_escaping_round_trips(value in "\\PC*") {
        let value = value.replace('\0', "");
        let mut escaped = String::new();
        escape_tag_value(&value, &mut escaped);
        prop_assert!(!escaped.contains([' ', ';', '\r', '\n']));
        prop_assert_eq!(unescape_tag_value(&escaped), value);
    }

    #[test]
    fn parse_line_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_line(&bytes);
    }

    /// Random bytes rarely look like IRC; this mixes IRC's own punctuation in
    /// so the parser's branches actually get exercised.
    #[test]
    fn parse_line_never_panics_on_ircish_input(line in "[@:;= a-zA-Z0-9+/\\\\\\r\\n\\x00é]{0,80}") {
        if let Ok(msg) = parse_line(line.as_bytes()) {
            // Whatever parses must serialise and parse back to itself.
            prop_assert_eq!(Message::parse(&msg.to_string()), Ok(msg));
        }
    }
}
