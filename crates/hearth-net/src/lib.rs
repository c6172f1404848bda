//! Hearth's listeners: thin adapters that turn bytes into lines and lines into bytes.
//!
//! Everything protocol-shaped happens in `hearth-core`; this crate owns sockets,
//! timeouts, connection limits and shutdown.
//!
//! # Layout
//! - [`listener`]: accept loop, connection limits (total and per IP), graceful shutdown.
//! - [`connection`]: one connection's reader and writer, generic over
//!   `AsyncRead + AsyncWrite`, with ping/registration timeouts and flood control.
//! - [`limits`]: the permit objects a connection task owns while it lives.
//! - [`tls`]: rustls acceptors, the reloadable certificate, client-certificate fingerprints.
//! - [`messages`]: adapters for message transports (WebSocket): one line per message.
//! - [`stats`]: counters for `/metrics`.
#![forbid(unsafe_code)]

pub mod connection;
pub mod limits;
pub mod listener;
pub mod messages;
pub mod stats;
pub mod tls;

use std::sync::Arc;

/// The core, shared between connection tasks. Critical sections are short: one
/// command's state change and fan-out into in-memory queues.
pub type Shared = Arc<parking_lot::Mutex<hearth_core::Server>>;

pub use listener::{Listeners, Net, NetConfig};
