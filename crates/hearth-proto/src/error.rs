//! The one error type of the parser.
//!
//! Every variant is `Copy` (a command name travels inline) so that callers can
//! match on it cheaply and copy it around; its `Display` text is written for humans because the server
//! sends it back to the client that sent the bad line (usually inside a `FAIL`
//! or an `ERR_INPUTTOOLONG` / `ERROR` reply).

use crate::parse::{MAX_BODY_LEN, MAX_CLIENT_TAGS_LEN, MAX_TAGS_LEN};

/// Why a line could not be parsed into a [`Message`](crate::Message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum ParseError {
    /// The line was empty (or held only spaces). Clients send these as
    /// keep-alives; servers usually ignore them silently.
    #[error("Empty message")]
    Empty,
    /// Tags and/or a source were present but no command followed.
    #[error("Message has no command")]
    NoCommand,
    /// The line is not valid UTF-8. Hearth only speaks UTF-8 (`UTF8ONLY`).
    #[error("Message is not valid UTF-8")]
    InvalidUtf8,
    /// Like [`ParseError::InvalidUtf8`], in a line whose command could be read.
    #[error("Message is not valid UTF-8")]
    InvalidUtf8In(CommandName),
    /// The part after the tags is longer than the 512 bytes (CRLF included)
    /// that RFC 1459 allows.
    #[error("Input line was too long (the limit is {} bytes without tags)", MAX_BODY_LEN)]
    BodyTooLong,
    /// The tag section is longer than the 8191 bytes the IRCv3 message-tags
    /// spec allows (counting the leading `@` and the trailing space).
    #[error("Message tags are too long (the limit is {} bytes)", MAX_TAGS_LEN)]
    TagsTooLong,
    /// The tags a client sent (client-only or not) are longer than the 4094
    /// bytes of tag data the message-tags spec allows a client to send.
    #[error("Message tags are too long (the limit is {} bytes)", MAX_CLIENT_TAGS_LEN)]
    ClientTagsTooLong,
    /// The command starts with `@` (after a source), which would read as tags.
    #[error("Invalid command")]
    InvalidCommand,
    /// A tag key is empty or has characters the message-tags grammar forbids.
    #[error("Invalid message tag key")]
    InvalidTagKey,
    /// The line holds a NUL byte, which IRC forbids anywhere in a message.
    #[error("Message contains a NUL byte")]
    NulByte,
    /// The line holds a CR or LF before its end. Accepting it would let a
    /// client smuggle a second line into everything the server relays.
    #[error("Message contains a line break (CR or LF) inside the line")]
    LineBreak,
}

/// A command name, kept inline so that [`ParseError`] stays `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandName {
    len: u8,
    bytes: [u8; 16],
}

impl CommandName {
    /// `command` uppercased, if it is 1 to 16 ASCII letters or digits.
    pub fn new(command: &str) -> Option<CommandName> {
        let ok = (1..=16).contains(&command.len()) && command.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return None;
        }
        let mut bytes = [0; 16];
        bytes[..command.len()].copy_from_slice(command.to_ascii_uppercase().as_bytes());
        Some(CommandName { len: command.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len as usize]).expect("ASCII by construction")
    }
}

impl ParseError {
    /// True for the length-limit errors, which a server answers with
    /// `ERR_INPUTTOOLONG` (417) rather than a generic error.
    pub fn is_too_long(self) -> bool {
        matches!(self, ParseError::BodyTooLong | ParseError::TagsTooLong | ParseError::ClientTagsTooLong)
    }
}
