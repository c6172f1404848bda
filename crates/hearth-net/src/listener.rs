//! Accept loops for the configured listeners, connection limits, graceful shutdown.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::Shared;
use crate::connection::{self, ConnSettings};
use crate::limits::Limits;

/// Listener-level settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Connections in total (0 = unlimited).
    pub max_clients: usize,
    /// Connections from one IP address (0 = unlimited).
    pub max_per_ip: usize,
    /// How long shutdown waits for clients to receive their last lines.
    pub shutdown_grace: Duration,
    pub conn: ConnSettings,
}

/// Bound listeners, each with the name printed in the `hearth: listening` line.
pub struct Listeners {
    pub tcp: Vec<(String, TcpListener)>,
}

impl Listeners {
    /// Binds every `(name, address)`; port 0 picks a free port.
    pub async fn bind(addrs: &[(String, SocketAddr)]) -> std::io::Result<Self> {
        let mut tcp = Vec::new();
        for (name, addr) in addrs {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
            tcp.push((name.clone(), l));
        }
        Ok(Listeners { tcp })
    }

    /// `irc=127.0.0.1:6667 …` with the ports the OS actually chose.
    pub fn describe(&self) -> String {
        self.tcp
            .iter()
            .map(|(name, l)| format!("{name}={}", l.local_addr().map(|a| a.to_string()).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().filter_map(|(_, l)| l.local_addr().ok()).collect()
    }
}

/// Serves every listener until `shutdown` turns true, then shuts down gracefully: every
/// client gets a NOTICE and `ERROR :Server shutting down`, queued output is flushed
/// (bounded by `shutdown_grace`), and this returns.
pub async fn run(listeners: Listeners, shared: Shared, cfg: NetConfig, mut shutdown: watch::Receiver<bool>) {
    let tracker = TaskTracker::new();
    let limits = Limits::new(cfg.max_clients, cfg.max_per_ip);
    let (stop_tx, stop_rx) = watch::channel(false);
    for (name, listener) in listeners.tcp {
        let shared = shared.clone();
        let limits = limits.clone();
        let settings = cfg.conn.clone();
        let tracker2 = tracker.clone();
        let mut stop = stop_rx.clone();
        tracker.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    r = listener.accept() => r,
                    _ = stop.changed() => break,
                };
                match accepted {
                    Ok((stream, peer)) => accept(stream, peer, &shared, &limits, &settings, &tracker2),
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(listener = %name, "accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    tracing::info!("shutting down: notifying {} connections", limits.current());
    let _ = stop_tx.send(true);
    shared.lock().shutdown("Server shutting down, see you soon");
    tracker.close();
    if tokio::time::timeout(cfg.shutdown_grace, tracker.wait()).await.is_err() {
        tracing::warn!("some connections did not close within {:?}", cfg.shutdown_grace);
    }
}

fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    limits: &Limits,
    settings: &ConnSettings,
    tracker: &TaskTracker,
) {
    let _ = stream.set_nodelay(true);
    let ip = peer.ip();
    match limits.admit(ip) {
        Ok(permit) => {
            // The permit lives exactly as long as the connection task.
            tracker.spawn(connection::serve_tcp(stream, ip, shared.clone(), settings.clone(), permit));
        }
        Err(refusal) => {
            tracing::info!(%peer, "refused: {}", refusal.message());
            tracker.spawn(refuse(stream, refusal.message()));
        }
    }
}

/// Sends a refused connection its `ERROR` line and closes it gracefully, all within
/// [`REFUSE_GRACE`].
///
/// A client usually sends NICK/USER before reading anything. Closing a socket that
/// holds unread input makes the kernel answer with a TCP reset instead of a FIN, and
/// the reset can destroy the `ERROR` line before the client reads it. So: write the
/// line, half-close (FIN), and discard the client's input until it closes too.
async fn refuse(mut stream: TcpStream, message: &str) {
    let line = format!("ERROR :{message}\r\n");
    let _ = tokio::time::timeout(REFUSE_GRACE, async {
        stream.write_all(line.as_bytes()).await?;
        stream.shutdown().await?;
        let mut discard = [0u8; 1024];
        while stream.read(&mut discard).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// How long a refused connection may take to receive its `ERROR` line and close.
const REFUSE_GRACE: Duration = Duration::from_secs(2);
