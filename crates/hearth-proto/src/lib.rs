//! Hearth's IRC protocol core — pure, no I/O.
//!
//! Everything here is a function of its inputs: it parses and serialises IRC
//! lines, knows the numeric and capability tables, folds case and validates
//! names. No tokio, no sockets, no clock. That keeps it cheap to test (the
//! community test vectors, property tests and a fuzz target all run against
//! it) and lets the server, its benchmarks and a future client share it.
//!
//! # Layout
//!
//! ```text
//! message.rs   Message + builders/accessors; re-exports the message API below
//! parse.rs     parse_line (limits, UTF-8) and Message::parse
//! write.rs     serialisation into &mut Vec<u8> / Display (private)
//! tags.rs      Tag, tag value escaping, tag key grammar
//! error.rs     ParseError
//! numeric.rs   RPL_*/ERR_* constants and numeric::name(code), from one macro
//! caps.rs      Cap (the IRCv3 capability table) and CapSet (a Copy bitset)
//! casemap.rs   casefold and CASEMAPPING ("ascii")
//! validate.rs  nick / channel / hostname syntax, UserHost::split
//! mask.rs      '*' / '?' wildcard matching
//! ```
//!
//! # Public API
//!
//! ## Messages
//!
//! - [`Message`] `{ tags: Vec<Tag>, source: Option<String>, command: String,
//!   params: Vec<String> }` with [`Message::new`], [`Message::with_source`],
//!   [`Message::with_param`], [`Message::with_params`], [`Message::with_tag`],
//!   [`Message::tag`] and [`Message::param`].
//! - [`Tag`] `{ key, value }`: `value` is unescaped, `""` means no value.
//! - [`parse_line`]`(&[u8])` is for untrusted input: it strips one trailing
//!   `\r\n`/`\n`/`\r`, rejects invalid UTF-8, enforces [`MAX_BODY_LEN`] (512,
//!   CRLF included), [`MAX_TAGS_LEN`] (8191, `@` and space included) and
//!   [`MAX_CLIENT_TAGS_LEN`] (4094), then parses. [`MAX_LINE_LEN`] is what a
//!   line reader should buffer at most.
//! - [`Message::parse`]`(&str)` parses one terminator-free line without length
//!   checks. Both reject NUL and inner CR/LF, uppercase the command, and
//!   accept runs of spaces between atoms.
//! - [`Message::write`]`(&mut Vec<u8>)` appends the wire form plus CRLF — the
//!   fan-out hot path, no intermediate allocations. `Display` gives the same
//!   text without CRLF. The last param gets a `:` when it needs one; other
//!   params must not need one (a caller bug that debug builds assert and
//!   release builds defuse — see [`Message::write`]).
//! - [`escape_tag_value`] / [`unescape_tag_value`] for tag values.
//! - [`ParseError`]: `Copy` variants whose `Display` is a sentence fit to send
//!   back to the client; [`ParseError::is_too_long`] picks out the ones that
//!   map to `ERR_INPUTTOOLONG`.
//!
//! ## Tables
//!
//! - [`numeric`]: `pub const RPL_WELCOME: &str = "001";` and friends, plus
//!   [`numeric::name`] and [`numeric::ALL`].
//! - [`Cap`] with [`Cap::name`], [`Cap::from_name`], [`Cap::spec`],
//!   [`Cap::ALL`]; [`CapSet`] with `empty`, `contains`, `insert`, `remove`,
//!   `iter`, `bits`.
//!
//! ## Names
//!
//! - [`casefold`] and [`CASEMAPPING`]: compare nicks and channels only after
//!   folding.
//! - [`is_valid_nick`], [`is_valid_channel`], [`is_valid_hostname`],
//!   [`UserHost::split`].
//! - [`mask_matches`]`(mask, subject)`: `*`/`?` wildcards, case-insensitive,
//!   never exponential.
//!
//! ```
//! use hearth_proto::{Message, numeric, parse_line};
//!
//! let msg = parse_line(b"@label=a1 :nick!u@h privmsg #hearth :hello there\r\n").unwrap();
//! assert_eq!(msg.command, "PRIVMSG");
//! assert_eq!(msg.tag("label"), Some("a1"));
//!
//! let reply = Message::new(numeric::RPL_WELCOME)
//!     .with_source("irc.example.com")
//!     .with_params(["nick", "Welcome to Hearth"]);
//! let mut out = Vec::new();
//! reply.write(&mut out);
//! assert_eq!(out, b":irc.example.com 001 nick :Welcome to Hearth\r\n");
//! ```
#![forbid(unsafe_code)]

pub mod caps;
pub mod casemap;
pub mod error;
pub mod mask;
pub mod message;
pub mod numeric;
pub mod validate;

mod parse;
mod tags;
mod write;

#[cfg(test)]
mod proptests;

pub use caps::{Cap, CapSet};
pub use casemap::{CASEMAPPING, casefold};
pub use error::{CommandName, ParseError};
pub use mask::mask_matches;
pub use message::{
    MAX_BODY_LEN, MAX_CLIENT_TAGS_LEN, MAX_LINE_LEN, MAX_TAGS_LEN, Message, Tag, escape_tag_value, parse_line,
    unescape_tag_value,
};
pub use validate::{UserHost, is_valid_channel, is_valid_hostname, is_valid_nick};
