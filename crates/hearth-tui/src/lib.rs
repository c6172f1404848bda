//! `hearth chat`: a terminal chat client for Hearth, and for any IRCv3 server.
//!
//! It is a thin user of the IRC protocol: lines are parsed and written with
//! `hearth-proto`, and everything the person sees is a plain [`state::State`]
//! changed by pure functions — [`state::apply`] for what the server sends and
//! [`command::command`] for what the person types — so the client is tested
//! without a terminal or a socket. The app only moves bytes and keys.
//!
//! # Layout
//!
//! ```text
//! state.rs     the model (conversations, scrollback, online list, chat requests)
//!              and apply(&mut State, &Message) -> lines to send
//! register.rs  CAP LS 302, SASL PLAIN / PASS, what to send once welcomed
//! messages.rs  PRIVMSG, NOTICE, BATCH: routing, unread, mentions, history
//! presence.rs  JOIN, PART, KICK, QUIT, NICK, MONITOR: online list and members
//! command.rs   command(&mut State, input) -> lines to send: /join, /msg, _LIST_…
//! input.rs     the input line: editing, history, Tab completion
//! view.rs      draws a State with ratatui (sidebar, conversation, prompt, input)
//! net.rs       TCP or TLS (rustls + ring), line framing, reconnect backoff
//! settings.rs  ~/.config/hearth/chat.toml
//! app.rs       the event loop: terminal keys, network lines, timers
//! time.rs      server-time strings (UTC) without a date crate
//! ```
#![forbid(unsafe_code)]

pub mod app;
pub mod command;
pub mod input;
pub mod messages;
pub mod net;
pub mod presence;
pub mod register;
pub mod settings;
pub mod state;
pub mod time;
pub mod view;

pub use app::{Options, run};
