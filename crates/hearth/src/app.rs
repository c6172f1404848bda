//! Wires configuration, core and listeners into a running server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hearth_net::connection::ConnSettings;
use hearth_net::{Listeners, NetConfig, Shared};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::FileConfig;

/// A server that is accepting connections.
pub struct Running {
    /// `name=addr` for each listener, as printed on stdout.
    pub description: String,
    /// The bound addresses (with the real port when 0 was asked for).
    pub addrs: Vec<SocketAddr>,
    pub shared: Shared,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    /// Starts a graceful shutdown and waits until it is complete.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// A handle that starts the shutdown (e.g. from a signal handler).
    pub fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds the listeners (`listen` overrides the config's) and starts serving.
pub async fn start(cfg: &FileConfig, listen: &[SocketAddr]) -> anyhow::Result<Running> {
    let addrs: Vec<SocketAddr> = if listen.is_empty() { cfg.listen_addrs() } else { listen.to_vec() };
    let named: Vec<(String, SocketAddr)> = addrs.iter().map(|a| ("irc".to_string(), *a)).collect();
    let listeners = Listeners::bind(&named).await?;
    let description = listeners.describe();
    let bound = listeners.local_addrs();
    let core_cfg = cfg.core();
    let net = NetConfig {
        max_clients: cfg.limits.max_clients,
        max_per_ip: cfg.limits.max_per_ip,
        shutdown_grace: Duration::from_secs_f64(cfg.timeouts.shutdown_grace),
        conn: ConnSettings::from_core(&core_cfg),
    };
    let shared: Shared = Arc::new(parking_lot::Mutex::new(hearth_core::Server::new(core_cfg)));
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(hearth_net::listener::run(listeners, shared.clone(), net, rx));
    Ok(Running { description, addrs: bound, shared, shutdown: tx, task })
}
