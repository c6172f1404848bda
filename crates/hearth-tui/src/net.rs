//! The connection: TCP or TLS, lines in and out, and the reconnect backoff.
//!
//! A connection is two tasks: the reader turns lines into [`Event::Line`]s (and
//! ends with [`Event::Closed`]); the writer drains what the app queues, several
//! lines per write. Everything is generic over `AsyncRead + AsyncWrite`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hearth_proto::{Message, parse_line};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Errors while connecting.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("invalid server name {0:?} for TLS")]
    ServerName(String),
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// Where to connect and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Trust this CA (PEM) instead of the system's roots, e.g. a self-signed server certificate.
    pub ca_file: Option<PathBuf>,
}

impl Target {
    /// `HOST`, `HOST:PORT` or `[V6]:PORT`; the port defaults to 6697 with TLS, 6667 without.
    pub fn parse(server: &str, tls: bool, ca_file: Option<PathBuf>) -> Target {
        let default = if tls { 6697 } else { 6667 };
        let (host, port) = if let Some(rest) = server.strip_prefix('[') {
            let (h, after) = rest.split_once(']').unwrap_or((rest, ""));
            (h.to_string(), after.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default))
        } else {
            match server.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), p.parse().unwrap_or(default)),
                _ => (server.to_string(), default),
            }
        };
        Target { host, port, tls, ca_file }
    }

    pub fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// What the connection tells the app.
#[derive(Debug)]
pub enum Event {
    Line(Message),
    Closed(String),
}

/// A live connection: queue lines with [`Conn::send`].
pub struct Conn {
    tx: mpsc::UnboundedSender<Message>,
    writer: JoinHandle<()>,
    reader: JoinHandle<()>,
}

impl Conn {
    pub fn send(&self, msg: Message) {
        let _ = self.tx.send(msg);
    }

    /// Sends what is queued (a QUIT) and waits up to `wait` for it to be written.
    pub async fn close(self, wait: Duration) {
        drop(self.tx);
        let _ = tokio::time::timeout(wait, self.writer).await;
        self.reader.abort();
    }
}

/// Connects to `target`; lines arrive on `events`.
pub async fn connect(target: &Target, events: mpsc::UnboundedSender<Event>) -> Result<Conn, NetError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
    tcp.set_nodelay(true)?;
    if !target.tls {
        return Ok(spawn(tcp, events));
    }
    let config = tls_config(target.ca_file.as_deref())?;
    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
        .map_err(|_| NetError::ServerName(target.host.clone()))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
    Ok(spawn(tls, events))
}

/// A rustls client configuration (ring provider) trusting `ca_file`, or the system roots.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, NetError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            for cert in
                CertificateDer::pem_file_iter(path).map_err(|e| NetError::Tls(format!("{}: {e}", path.display())))?
            {
                let cert = cert.map_err(|e| NetError::Tls(format!("{}: {e}", path.display())))?;
                roots.add(cert).map_err(|e| NetError::Tls(e.to_string()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(NetError::Tls("no trusted root certificates found on this system".into()));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Starts the reader and writer tasks over any byte stream.
pub fn spawn<S>(stream: S, events: mpsc::UnboundedSender<Event>) -> Conn
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        let mut buf = Vec::new();
        while let Some(m) = rx.recv().await {
            m.write(&mut buf);
            while let Ok(m) = rx.try_recv() {
                m.write(&mut buf);
            }
            if wr.write_all(&buf).await.is_err() {
                return;
            }
            buf.clear();
        }
        let _ = wr.flush().await;
        let _ = wr.shutdown().await;
    });
    let reader = tokio::spawn(async move {
        let mut rd = BufReader::new(rd);
        let mut line = Vec::new();
        let reason = loop {
            line.clear();
            match rd.read_until(b'\n', &mut line).await {
                Ok(0) => break "connection closed".to_string(),
                // A TLS peer that leaves without close_notify is an ordinary disconnect.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break "connection closed".to_string(),
                Err(e) => break e.to_string(),
                Ok(_) => {
                    // Tolerate long lines from servers: parse_line's limits are for servers.
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim_end_matches(['\r', '\n']);
                    let parsed = parse_line(text.as_bytes()).or_else(|_| Message::parse(text));
                    if let Ok(m) = parsed
                        && events.send(Event::Line(m)).is_err()
                    {
                        return;
                    }
                }
            }
        };
        let _ = events.send(Event::Closed(reason));
    });
    Conn { tx, writer, reader }
}

/// The wait before reconnect attempt `attempt` (0-based): 1, 2, 4 … 60 seconds.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << attempt.min(6)).min(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_addresses() {
        let t = Target::parse("chat.example.org", true, None);
        assert_eq!((t.host.as_str(), t.port), ("chat.example.org", 6697));
        let t = Target::parse("127.0.0.1:7000", false, None);
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 7000));
        let t = Target::parse("[::1]:6667", false, None);
        assert_eq!((t.host.as_str(), t.port, t.display()), ("::1", 6667, "[::1]:6667".to_string()));
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (0..8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[tokio::test]
    async fn lines_go_both_ways_over_a_duplex() {
        let (client, server) = tokio::io::duplex(1024);
        let (etx, mut erx) = mpsc::unbounded_channel();
        let conn = spawn(client, etx);
        let (srd, mut swr) = tokio::io::split(server);
        conn.send(Message::new("NICK").with_param("alice"));
        let mut srd = BufReader::new(srd);
        let mut got = String::new();
        srd.read_line(&mut got).await.unwrap();
        assert_eq!(got, "NICK alice\r\n");
        swr.write_all(b":srv 001 alice :hi\r\n").await.unwrap();
        match erx.recv().await.unwrap() {
            Event::Line(m) => assert_eq!(m.command, "001"),
            other => panic!("{other:?}"),
        }
        drop(swr);
        drop(srd);
        assert!(matches!(erx.recv().await.unwrap(), Event::Closed(_)));
        conn.close(Duration::from_millis(100)).await;
    }
}
