//! Hearth's IRC protocol core — pure, no I/O.
//!
//! (Overview to be written by the implementer; keep a "Layout" section.)
//!
//! # API contract (pinned: `hearth-core`, `hearth-net` and `hearth-bench` code against it)
//!
//! ```text
//! message.rs   Message { tags: Vec<Tag>, source: Option<String>, command: String, params: Vec<String> }
//!              Tag { key: String, value: String }            // value unescaped; "" = no value
//!              Message::new(cmd) / .with_source(s) / .with_param(p) / .with_params(iter) / .with_tag(k, v)
//!              Message::parse(&str) -> Result<Message, ParseError>   // one line, CR/LF already stripped;
//!                                                                     // command is uppercased (ASCII)
//!              Message::tag(&self, key) -> Option<&str>
//!              Message::write(&self, out: &mut Vec<u8>)   // serialise + "\r\n"
//!              impl Display for Message                   // serialise without "\r\n"
//!              parse_line(&[u8]) -> Result<Message, ParseError>
//!                 // strips one trailing "\r\n" / "\n" / "\r", checks UTF-8, checks limits, parses
//!              escape_tag_value(&str, &mut String) / unescape_tag_value(&str) -> String
//!              MAX_BODY_LEN = 512 (incl. CRLF), MAX_TAGS_LEN = 8191 (incl. '@' and the space),
//!              MAX_CLIENT_TAGS_LEN = 4094, MAX_LINE_LEN = MAX_TAGS_LEN + MAX_BODY_LEN
//! error.rs     ParseError (thiserror): Empty, NoCommand, InvalidUtf8, BodyTooLong, TagsTooLong,
//!              ClientTagsTooLong, InvalidCommand, InvalidTagKey
//! numeric.rs   `pub const RPL_WELCOME: &str = "001";` … every numeric Hearth uses (names as on
//!              modern.ircdocs.horse / RFC 2812 / IRCv3), and `numeric::name("001") -> Some("RPL_WELCOME")`
//! caps.rs      enum Cap { CapNotify, ServerTime, MessageTags, Msgid?, EchoMessage, Batch,
//!              LabeledResponse, MultiPrefix, UserhostInNames, AwayNotify, ExtendedJoin, AccountTag,
//!              AccountNotify, InviteNotify, Setname, StandardReplies, Sasl, ChatHistory,
//!              EventPlayback, ReadMarker, AccountRegistration, ... }
//!              Cap::name() -> &'static str, Cap::from_name(&str) -> Option<Cap>, Cap::spec() -> URL,
//!              Cap::ALL: &[Cap]; CapSet (Copy, bitset): empty(), contains, insert, remove, iter, bits()
//! casemap.rs   casefold(&str) -> String (ascii: A-Z -> a-z), CASEMAPPING = "ascii"
//! validate.rs  is_valid_nick(&str, max_len) -> bool; is_valid_channel(&str, max_len) -> bool;
//!              is_valid_hostname(&str) -> bool; UserHost::split(&str) -> UserHost { nick, user, host }
//! mask.rs      mask_matches(mask, subject) -> bool   // '*' and '?', case-insensitive per casefold
//! ```
#![forbid(unsafe_code)]
