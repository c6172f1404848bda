//! Hearth's HTTP side: the embedded web client, `GET /healthz`, `GET /metrics`, and
//! IRC over WebSocket at [`WS_PATH`].
//!
//! A WebSocket is handed to `hearth-net` like any other connection: it takes a
//! connection slot from the same limits (by the client's real address, see
//! [`proxy`]), and is served by the same reader and writer through the
//! message adapters of `hearth_net::messages` — the core cannot tell it from TCP.
//!
//! # Layout
//! - [`server`]: the accept loop (HTTP or HTTPS), one hyper connection per client.
//! - [`routes`]: the axum router, security headers, static files, health and metrics.
//! - [`ws`]: the WebSocket upgrade: Origin check, subprotocols, the IRC adapter.
//! - [`proxy`]: trusted proxies and `X-Forwarded-For`.
//! - [`metrics`]: the Prometheus text.
#![forbid(unsafe_code)]

pub mod metrics;
pub mod proxy;
pub mod routes;
pub mod server;
pub mod ws;

use std::time::Instant;

use hearth_core::Outbound;
use hearth_net::Net;

pub use proxy::Cidr;
pub use server::run;

/// Where the IRC-over-WebSocket endpoint lives.
pub const WS_PATH: &str = "/irc";

/// Settings of the `[web]` section.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    /// Origins allowed to open the WebSocket besides the page's own, e.g.
    /// `https://chat.example.org`; `*` allows any.
    pub allowed_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<Cidr>,
}

/// What the handlers share.
pub struct Web {
    pub net: Net,
    pub cfg: WebConfig,
    pub outbound: Option<Outbound>,
    /// Served over HTTPS (then WebSocket clients count as TLS connections).
    pub tls: bool,
    pub started: Instant,
}
