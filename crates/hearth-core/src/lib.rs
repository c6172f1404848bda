//! Hearth's server core: the IRC state machine, without sockets or SQL.
//!
//! The listener owns the sockets; it parses lines with `hearth-proto` and calls
//! [`Server::handle`] with each message. Handlers change state with plain method calls
//! and write output to bounded per-connection [`Sink`]s, so everything here is
//! testable without I/O.
//!
//! # Layout
//! - [`server`]: the [`Server`] state and its entry points (connect, handle,
//!   disconnect, shutdown); the reply buffer ([`Ctx`]) with labels and batches.
//! - [`dispatch`]: the command table; checks registration, parameter count and
//!   operator status once for every command.
//! - [`handlers`]: one file per command family (registration, channel, message, mode,
//!   query, history, search, …).
//! - [`relay`]: serialise-once fan-out, one cached variant per capability set.
//! - [`sink`]: bounded byte-counted send queues ("SendQ exceeded").
//! - [`client`], [`channel`]: session and channel state.
//! - [`sessions`]: several connections on one account sharing one nick.
//! - [`error`]: typed command errors mapped to numerics in one place.
//! - [`flood`]: token-bucket flood control, pure arithmetic.
//! - [`timeouts`]: keepalive PINGs and registration deadlines, one pass for all.
//! - [`config`], [`isupport`]: limits and texts; the 005 tokens.
//! - [`auth`]: logins: delays after failures per address and per account, the
//!   per-address cap on pending checks, the replies.
//! - [`hashing`]: the password-hashing pool (a few dedicated threads, a bounded queue
//!   served round-robin across addresses).
//! - [`outbound`]: group commit of history, then delivery in order.
//! - [`rooms`]: persistent rooms (topic, modes, bans, operators).
//! - [`whowas`]: the bounded history of departed nicknames behind WHOWAS.
//! - [`extban`]: ban, exception and invite-exception masks, extbans included.
//! - [`help`]: the HELP texts, one per command.
//! - [`chat`]: chat requests (consent before private messages), accept lists, messages
//!   to people who are offline.
//! - [`presence`]: "you are alone", the arrival notice, "partner left".
//! - [`visibility`]: who may read a room's past (channel mode `+H`), memberships.
//!
//! Asynchronous work (database queries, password hashing) is never done under the
//! state lock: a handler queues a [`Task`]; the listener runs it and hands its
//! [`Completion`] back to [`Server::complete`].
#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod channel;
pub mod chat;
pub mod client;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod extban;
pub mod fault;
pub mod flood;
pub mod handlers;
pub mod hashing;
pub mod help;
pub mod isupport;
pub mod outbound;
pub mod presence;
pub mod relay;
pub mod rooms;
pub mod server;
pub mod sessions;
pub mod sink;
pub mod timeouts;
pub mod visibility;
pub mod whowas;

pub use client::{ConnId, ConnInfo};
pub use config::Config;
pub use flood::{FloodGate, FloodPolicy};
pub use outbound::Outbound;
pub use server::{Completion, Ctx, Server, Services, Task};
pub use sink::{DirectWrite, NoDirect, Push, Sink, defer, flush_deferred};

/// The version string shown in 002, 004 and VERSION.
pub const VERSION: &str = concat!("hearth-", env!("CARGO_PKG_VERSION"));
