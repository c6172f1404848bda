//! [`TcpProxy`]: a TCP relay that a test can cut to simulate a network or
//! database outage.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A TCP relay on `127.0.0.1:<free port>` in front of one upstream address,
/// for outage tests: point a client (a store, a server's database URL) at
/// [`addr`](TcpProxy::addr) instead of the real server, then cut it.
///
/// - [`start(upstream)`](TcpProxy::start) listens and relays every accepted
///   connection to `upstream` (`"host:port"`), connecting upstream per
///   connection.
/// - [`pause()`](TcpProxy::pause) is an outage: every live connection is
///   closed at once (both sides see the socket close), and new connections
///   are accepted but then held silent — no bytes either way, like a
///   blackholed route — so a client that does not time out hangs.
/// - [`resume()`](TcpProxy::resume) ends the outage: connections still held
///   are relayed from then on (like a route that comes back), new ones too.
/// - Dropping the proxy closes the listener and every connection.
///
/// [`proxied_url`](TcpProxy::proxied_url) rewrites a `postgres://` URL so it
/// goes through the proxy; [`for_url`](TcpProxy::for_url) does both steps.
///
/// Needs a running tokio runtime (it spawns its tasks there).
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    state: watch::Sender<State>,
    task: JoinHandle<()>,
}

/// Whether the proxy is cut, and which outage a live connection belongs to.
#[derive(Clone, Copy, Debug, Default)]
struct State {
    paused: bool,
    /// Incremented by every `pause()`: a connection relayed in an earlier
    /// epoch is closed.
    epoch: u64,
}

impl TcpProxy {
    /// Listens on `127.0.0.1:0` and relays to `upstream` (`"host:port"`).
    pub async fn start(upstream: &str) -> io::Result<TcpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (state, _) = watch::channel(State::default());
        let task = tokio::spawn(accept_loop(listener, upstream.to_owned(), state.clone()));
        Ok(TcpProxy { addr, state, task })
    }

    /// A proxy in front of the host and port of `url` (`scheme://[user@]host[:port]/…`,
    /// port 5432 when missing), and `url` rewritten to go through it.
    pub async fn for_url(url: &str) -> io::Result<(TcpProxy, String)> {
        let (_, host_port, _) = split_authority(url)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {url:?}")))?;
        let upstream = if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
        let proxy = TcpProxy::start(&upstream).await?;
        let proxied = proxy.proxied_url(url);
        Ok((proxy, proxied))
    }

    /// The address clients should connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its `host[:port]` replaced by this proxy's address; user,
    /// password, path and query are kept. Unchanged when `url` has no host.
    pub fn proxied_url(&self, url: &str) -> String {
        match split_authority(url) {
            Some((before, _, after)) => format!("{before}{}{after}", self.addr),
            None => url.to_owned(),
        }
    }

    /// Starts an outage: closes every live connection and holds new ones
    /// silent until [`resume`](TcpProxy::resume).
    pub fn pause(&self) {
        self.state.send_modify(|s| {
            s.paused = true;
            s.epoch += 1;
        });
    }

    /// Ends the outage: held and new connections are relayed again.
    pub fn resume(&self) {
        self.state.send_modify(|s| s.paused = false);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's JoinSet: aborting it
        // drops the set, which aborts them all.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, state: watch::Sender<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((client, _)) = accepted else { continue };
                connections.spawn(relay(client, upstream.clone(), state.subscribe()));
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Holds `client` while the proxy is paused, then relays it to `upstream`
/// until either side closes or the next `pause()`.
async fn relay(mut client: TcpStream, upstream: String, mut state: watch::Receiver<State>) {
    let Ok(current) = state.wait_for(|s| !s.paused).await.map(|s| *s) else { return };
    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = state.wait_for(|s| s.epoch != current.epoch) => {}
    }
    // Dropping both streams closes them.
}

/// `url` split around its `host[:port]`: (`scheme://user@`, `host:port`, `/path?query`).
fn split_authority(url: &str) -> Option<(&str, &str, &str)> {
    let start = url.find("://")? + 3;
    let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
    let host_start = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    let host = &url[host_start..end];
    if host.is_empty() { None } else { Some((&url[..host_start], host, &url[end..])) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_authority_keeps_user_path_and_query() {
        assert_eq!(
            split_authority("postgres://u:p@db.example:6000/test?sslmode=disable"),
            Some(("postgres://u:p@", "db.example:6000", "/test?sslmode=disable"))
        );
        assert_eq!(split_authority("postgres://127.0.0.1/test"), Some(("postgres://", "127.0.0.1", "/test")));
        assert_eq!(split_authority("postgresql://h"), Some(("postgresql://", "h", "")));
        assert_eq!(split_authority("postgres:///db"), None);
        assert_eq!(split_authority("no-scheme"), None);
    }

    #[tokio::test]
    async fn relays_cuts_and_resumes() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        // An echo server upstream.
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        let proxy = TcpProxy::start(&upstream).await.unwrap();
        let mut buf = [0u8; 4];

        let mut live = TcpStream::connect(proxy.addr()).await.unwrap();
        live.write_all(b"ping").await.unwrap();
        live.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");

        proxy.pause();
        assert_eq!(live.read(&mut buf).await.unwrap(), 0, "live connection closed by pause()");
        let mut held = TcpStream::connect(proxy.addr()).await.unwrap();
        held.write_all(b"held").await.unwrap();
        let silent = tokio::time::timeout(std::time::Duration::from_millis(200), held.read(&mut buf)).await;
        assert!(silent.is_err(), "held connection stays silent while paused");

        proxy.resume();
        held.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"held", "held connection relayed after resume()");
    }
}
