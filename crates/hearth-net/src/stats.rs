//! Counters the listeners keep for `/metrics`: plain atomics, shared by every
//! connection task, read without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// How a connection reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain,
    Tls,
    WebSocket,
}

impl Transport {
    pub const ALL: [Transport; 3] = [Transport::Plain, Transport::Tls, Transport::WebSocket];

    /// The `transport` label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Plain => "plain",
            Transport::Tls => "tls",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Totals since start.
#[derive(Debug, Default)]
pub struct NetStats {
    accepted: [AtomicU64; 3],
    /// Connections refused by `max_clients` / `max_per_ip`.
    pub refused: AtomicU64,
    /// TLS handshakes that failed or timed out.
    pub tls_failures: AtomicU64,
    /// Lines received from clients.
    pub lines: AtomicU64,
    /// PRIVMSG, NOTICE and TAGMSG lines received.
    pub messages: AtomicU64,
}

impl NetStats {
    pub fn accepted(&self, t: Transport) {
        self.accepted[t as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections served so far over `t`.
    pub fn accepted_total(&self, t: Transport) -> u64 {
        self.accepted[t as usize].load(Ordering::Relaxed)
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
