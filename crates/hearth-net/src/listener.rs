//! Accept loops for the configured listeners, connection limits, graceful shutdown.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hearth_core::ConnInfo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;

use crate::Shared;
use crate::connection::{self, ConnSettings};
use crate::limits::{Limits, Permit, Refusal};
use crate::stats::{NetStats, Transport};

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
    /// Plain IRC (`irc=`).
    pub tcp: Vec<(String, TcpListener)>,
    /// IRC over TLS (`ircs=`), served with `tls`.
    pub tls: Vec<(String, TcpListener)>,
    pub acceptor: Option<TlsAcceptor>,
}

impl Listeners {
    /// Binds every `(name, address)`; port 0 picks a free port.
    pub async fn bind(addrs: &[(String, SocketAddr)]) -> std::io::Result<Self> {
        Ok(Listeners { tcp: bind_all(addrs).await?, tls: Vec::new(), acceptor: None })
    }

    /// Adds TLS listeners served with `acceptor`.
    pub async fn bind_tls(&mut self, addrs: &[(String, SocketAddr)], acceptor: TlsAcceptor) -> std::io::Result<()> {
        self.tls = bind_all(addrs).await?;
        self.acceptor = Some(acceptor);
        Ok(())
    }

    /// `irc=127.0.0.1:6667 ircs=…` with the ports the OS actually chose.
    pub fn describe(&self) -> String {
        self.tcp.iter().chain(&self.tls).map(|(name, l)| describe(name, l)).collect::<Vec<_>>().join(" ")
    }

    /// The plain listeners' addresses.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.tcp.iter().filter_map(|(_, l)| l.local_addr().ok()).collect()
    }

    /// The TLS listeners' addresses.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.tls.iter().filter_map(|(_, l)| l.local_addr().ok()).collect()
    }
}

/// `name=addr` for one listener.
pub fn describe(name: &str, l: &TcpListener) -> String {
    format!("{name}={}", l.local_addr().map(|a| a.to_string()).unwrap_or_default())
}

/// Binds a TCP listener; the error names the address.
pub async fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

async fn bind_all(addrs: &[(String, SocketAddr)]) -> std::io::Result<Vec<(String, TcpListener)>> {
    let mut out = Vec::new();
    for (name, addr) in addrs {
        out.push((name.clone(), bind_one(*addr).await?));
    }
    Ok(out)
}

/// What every listener shares: the core, the connection limits, the settings, the
/// counters, and the task tracker that shutdown waits on. Other listeners (the HTTP
/// side's WebSocket) admit and serve their connections through it, so that they get
/// the same limits, flood control and SendQ as TCP.
#[derive(Clone)]
pub struct Net {
    pub shared: Shared,
    pub limits: Limits,
    pub settings: Arc<ConnSettings>,
    pub tracker: TaskTracker,
    stop: Arc<watch::Sender<bool>>,
}

impl Net {
    pub fn new(shared: Shared, cfg: &NetConfig) -> Self {
        let settings = ConnSettings { pacing: shared.lock().pacing(), ..cfg.conn.clone() };
        Net {
            shared,
            limits: Limits::new(cfg.max_clients, cfg.max_per_ip),
            settings: Arc::new(settings),
            tracker: TaskTracker::new(),
            stop: Arc::new(watch::channel(false).0),
        }
    }

    pub fn stats(&self) -> &NetStats {
        &self.settings.stats
    }

    /// Turns true when the server starts shutting down: accept loops stop then. Wait
    /// with [`stopped`], not `changed()`: a receiver made after the shutdown began (a
    /// task first polled late, a connection accepted just then) has already seen `true`
    /// and would wait for a change that never comes.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Takes a connection slot for `ip`, counting refusals.
    pub fn admit(&self, ip: IpAddr) -> Result<Permit, Refusal> {
        let r = self.limits.admit(ip);
        if r.is_err() {
            self.stats().refused.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// Serves an admitted connection over any byte stream, in a tracked task.
    pub fn spawn_stream<S>(&self, stream: S, ip: IpAddr, info: ConnInfo, permit: Permit, transport: Transport)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.stats().accepted(transport);
        self.tracker.spawn(connection::serve_with(
            stream,
            ip,
            info,
            self.shared.clone(),
            self.settings.clone(),
            permit,
        ));
    }
}

/// Resolves once the server is shutting down, at once if it already is (see
/// [`Net::stopping`]).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopping| stopping).await;
}

/// Serves every listener until `shutdown` turns true, then shuts down gracefully: every
/// client gets a NOTICE and `ERROR :Server shutting down`, queued output is flushed
/// (bounded by `shutdown_grace`), and this returns.
pub async fn run(listeners: Listeners, net: Net, shutdown_grace: Duration, mut shutdown: watch::Receiver<bool>) {
    let tracker = net.tracker.clone();
    let acceptor = listeners.acceptor.clone();
    let all =
        listeners.tcp.into_iter().map(|l| (l, None)).chain(listeners.tls.into_iter().map(|l| (l, acceptor.clone())));
    // One clock for every connection's deadlines (see hearth_core::timeouts).
    let ticker = tokio::spawn(tick(net.shared.clone()));
    for ((name, listener), tls) in all {
        let net = net.clone();
        let mut stop = net.stopping();
        tracker.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    r = listener.accept() => r,
                    () = stopped(&mut stop) => break,
                };
                match accepted {
                    Ok((stream, peer)) => accept(stream, peer, &net, tls.as_ref()),
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
    tracing::info!("shutting down: notifying {} connections", net.limits.current());
    let _ = net.stop.send(true);
    net.shared.lock().shutdown("Server shutting down, see you soon");
    tracker.close();
    if tokio::time::timeout(shutdown_grace, tracker.wait()).await.is_err() {
        tracing::warn!("some connections did not close within {:?}", shutdown_grace);
    }
    ticker.abort();
}

/// Runs the core's deadline pass ([`hearth_core::Server::tick`]) every tick period:
/// keepalive PINGs, ping timeouts, registration timeouts.
async fn tick(shared: Shared) {
    let period = shared.lock().tick_period();
    let mut interval = tokio::time::interval(period);
    // After a stall, one pass catches up: the clock is read, not counted.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let now = interval.tick().await;
        let mut core = shared.lock();
        core.tick(now.into_std());
        let tasks = core.take_tasks();
        drop(core);
        connection::run_tasks(&shared, tasks);
    }
}

fn accept(stream: TcpStream, peer: SocketAddr, net: &Net, tls: Option<&TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    let ip = peer.ip();
    match (net.admit(ip), tls) {
        (Ok(permit), None) => {
            // The permit lives exactly as long as the connection task.
            net.stats().accepted(Transport::Plain);
            net.tracker.spawn(connection::serve_tcp(stream, ip, net.shared.clone(), net.settings.clone(), permit));
        }
        (Ok(permit), Some(acceptor)) => {
            let (net2, acceptor) = (net.clone(), acceptor.clone());
            net.tracker.spawn(async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        net2.stats().tls_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "TLS handshake failed: {e}");
                        return;
                    }
                    Err(_) => {
                        net2.stats().tls_failures.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let info = ConnInfo { tls: true, cert_fp: crate::tls::peer_fingerprint(tls.get_ref().1) };
                net2.spawn_stream(tls, ip, info, permit, Transport::Tls);
            });
        }
        (Err(refusal), None) => {
            tracing::info!(%peer, "refused: {}", refusal.message());
            net.tracker.spawn(refuse(stream, refusal.message()));
        }
        (Err(refusal), Some(_)) => {
            // No handshake is spent on a refused client; it sees the connection close.
            tracing::info!(%peer, "refused (TLS): {}", refusal.message());
        }
    }
}

/// How long a TLS client may take to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
