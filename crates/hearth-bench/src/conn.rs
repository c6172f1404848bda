//! One IRC client connection: connect from a spread source address (or over
//! WebSocket), register (optionally with SASL PLAIN and capabilities), answer
//! PINGs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, bail};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::line::{LineReader, Msg};

/// The read side of a connection (a TCP stream, or the tool's end of a
/// WebSocket bridge).
pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
/// The write side of a connection.
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// Round-robin counter over source addresses 127.0.0.2..=127.0.0.254.
static NEXT_SOURCE: AtomicUsize = AtomicUsize::new(0);

/// Source address for the next connection. Spreading over many loopback
/// addresses gives each one its own ephemeral port range, so 20,000
/// connections never run out of ports.
fn next_source(server: &SocketAddr) -> Option<SocketAddr> {
    match server.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let i = NEXT_SOURCE.fetch_add(1, Ordering::Relaxed) % 253;
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8)), 0))
        }
        _ => None,
    }
}

/// SASL PLAIN credentials.
#[derive(Clone, Debug)]
pub struct Creds {
    pub account: String,
    pub password: String,
}

/// What to ask for during registration.
#[derive(Clone, Debug, Default)]
pub struct RegisterOpts {
    /// Capabilities to request; all are required (a NAK is an error).
    pub caps: Vec<&'static str>,
    pub sasl: Option<Creds>,
    /// Connect to this WebSocket URL (`ws://host:port/irc`) instead of TCP.
    pub ws: Option<String>,
}

/// Timing of one registration.
#[derive(Clone, Copy, Debug, Default)]
pub struct RegisterTiming {
    /// From connect start to 903 (SASL success), if SASL was used.
    pub sasl_ns: Option<u64>,
}

pub struct Client {
    pub nick: String,
    pub rd: LineReader<Reader>,
    pub wr: Writer,
}

impl Client {
    /// Connects and completes registration (001 received).
    pub async fn register(server: SocketAddr, nick: String, opts: &RegisterOpts) -> Result<(Client, RegisterTiming)> {
        let started = std::time::Instant::now();
        let (rd, wr): (Reader, Writer) = if let Some(url) = &opts.ws {
            let (rd, wr) = tokio::io::split(websocket(url).await?);
            (Box::new(rd), Box::new(wr))
        } else {
            let socket = TcpSocket::new_v4().context("socket")?;
            if let Some(src) = next_source(&server) {
                socket.bind(src).context("bind source address")?;
            }
            let stream = socket.connect(server).await.context("connect")?;
            stream.set_nodelay(true)?;
            let (rd, wr) = stream.into_split();
            (Box::new(rd), Box::new(wr))
        };
        let mut c = Client { nick, rd: LineReader::new(rd), wr };
        let mut timing = RegisterTiming::default();
        let mut hello = String::with_capacity(128);
        let mut caps: Vec<&str> = opts.caps.clone();
        if opts.sasl.is_some() && !caps.contains(&"sasl") {
            caps.push("sasl");
        }
        if !caps.is_empty() {
            hello.push_str(&format!("CAP REQ :{}\r\n", caps.join(" ")));
        }
        hello.push_str(&format!("NICK {n}\r\nUSER {n} 0 * :hearth-bench\r\n", n = c.nick));
        c.send(&hello).await?;
        let mut retries = 0;
        loop {
            let Some(r) = c.next_range().await? else {
                bail!("connection closed during registration");
            };
            let line = c.rd.get(r);
            let m = Msg::parse(line);
            match m.command {
                b"001" => return Ok((c, timing)),
                b"CAP" => {
                    let sub = m.param(1).unwrap_or(b"");
                    if sub.eq_ignore_ascii_case(b"ACK") {
                        if opts.sasl.is_some() {
                            c.send("AUTHENTICATE PLAIN\r\n").await?;
                        } else {
                            c.send("CAP END\r\n").await?;
                        }
                    } else if sub.eq_ignore_ascii_case(b"NAK") {
                        bail!("server refused capabilities: {}", caps.join(" "));
                    }
                }
                b"AUTHENTICATE" => {
                    if let Some(creds) = &opts.sasl {
                        let raw = format!("{a}\0{a}\0{p}", a = creds.account, p = creds.password);
                        let line = format!("AUTHENTICATE {}\r\n", base64_encode(raw.as_bytes()));
                        c.send(&line).await?;
                    }
                }
                b"903" => {
                    timing.sasl_ns = Some(started.elapsed().as_nanos() as u64);
                    c.send("CAP END\r\n").await?;
                }
                b"902" | b"904" | b"905" | b"906" | b"908" => {
                    bail!("SASL failed: {}", String::from_utf8_lossy(line));
                }
                b"432" | b"433" | b"436" => {
                    retries += 1;
                    if retries > 5 {
                        bail!("nick refused: {}", String::from_utf8_lossy(line));
                    }
                    // Keep within 9 characters: replace the tail with a digit.
                    let mut n = c.nick.clone();
                    if n.len() >= 9 {
                        n.pop();
                    }
                    n.push(char::from(b'0' + (retries as u8)));
                    c.nick = n;
                    let nick = format!("NICK {}\r\n", c.nick);
                    c.send(&nick).await?;
                }
                b"ERROR" | b"465" | b"463" | b"464" => {
                    bail!("server refused: {}", String::from_utf8_lossy(line));
                }
                _ => {}
            }
        }
    }

    pub async fn send(&mut self, s: &str) -> Result<()> {
        self.wr.write_all(s.as_bytes()).await?;
        Ok(())
    }

    pub async fn send_bytes(&mut self, s: &[u8]) -> Result<()> {
        self.wr.write_all(s).await?;
        Ok(())
    }

    /// Next line that is not a PING (PINGs are answered here).
    /// Cancel-safe as long as the PONG write completes, which for a
    /// few bytes on a healthy socket is immediate.
    pub async fn next_range(&mut self) -> Result<Option<std::ops::Range<usize>>> {
        loop {
            let Some(r) = self.rd.next_range().await? else {
                return Ok(None);
            };
            let line = self.rd.get(r.clone());
            if is_ping(line) {
                let mut pong = Vec::with_capacity(line.len() + 2);
                pong.extend_from_slice(b"PONG");
                pong.extend_from_slice(&line[4..]);
                pong.extend_from_slice(b"\r\n");
                self.wr.write_all(&pong).await?;
                continue;
            }
            return Ok(Some(r));
        }
    }

    /// The next line already buffered, if it is not a PING (a PING is left for
    /// [`next_range`](Self::next_range), which answers it). Never reads.
    pub fn buffered_range(&mut self) -> Option<std::ops::Range<usize>> {
        if is_ping(self.rd.buffered()) {
            return None;
        }
        self.rd.buffered_range()
    }

    /// Reads (and drops) lines until `pred` matches one; returns whether it did
    /// before the stream ended.
    pub async fn wait_for(&mut self, mut pred: impl FnMut(&Msg) -> bool) -> Result<()> {
        loop {
            let Some(r) = self.next_range().await? else {
                bail!("connection closed");
            };
            let m = Msg::parse(self.rd.get(r));
            if m.is("ERROR") {
                bail!("server closed: {}", String::from_utf8_lossy(self.rd_last(&m)));
            }
            if pred(&m) {
                return Ok(());
            }
        }
    }

    fn rd_last<'a>(&self, m: &Msg<'a>) -> &'a [u8] {
        m.trailing().unwrap_or(b"")
    }

    /// Sends QUIT and closes the write side; errors are ignored because the
    /// server may already have gone.
    pub async fn quit(mut self) {
        let _ = self.wr.write_all(b"QUIT :bench done\r\n").await;
        let _ = self.wr.shutdown().await;
    }
}

/// Whether `line` (or the buffered bytes a line starts with) is a server PING.
fn is_ping(line: &[u8]) -> bool {
    line.starts_with(b"PING") || line.starts_with(b"ping")
}

/// Opens an IRC-over-WebSocket connection (<https://ircv3.net/specs/extensions/websocket>,
/// `text.ircv3.net`: one line per message, no CR-LF) and returns the tool's end
/// of a byte stream carrying ordinary CR-LF lines. A task bridges the two, so
/// every scenario runs unchanged over WebSocket; its work is the tool's CPU,
/// never the server's.
async fn websocket(url: &str) -> Result<DuplexStream> {
    let mut req = url.into_client_request().context("WebSocket URL")?;
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("text.ircv3.net"));
    let (ws, _) = tokio_tungstenite::connect_async(req).await.with_context(|| format!("connect {url}"))?;
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let (mut tx, mut rx) = ws.split();
        let (rd, mut wr) = tokio::io::split(theirs);
        let mut lines = LineReader::new(rd);
        loop {
            tokio::select! {
                m = rx.next() => {
                    let data = match m {
                        Some(Ok(Message::Text(t))) => bytes::Bytes::from(t),
                        Some(Ok(Message::Binary(b))) => b,
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                        Some(Ok(_)) => continue, // pings are answered by tungstenite
                    };
                    if wr.write_all(&data).await.is_err() || wr.write_all(b"\r\n").await.is_err() {
                        break;
                    }
                }
                line = lines.next_range() => {
                    let Ok(Some(r)) = line else {
                        let _ = tx.close().await;
                        break;
                    };
                    let text = String::from_utf8_lossy(lines.get(r)).into_owned();
                    if tx.send(Message::text(text)).await.is_err() {
                        break;
                    }
                }
            }
        }
    });
    Ok(ours)
}

/// Standard base64 with padding (SASL PLAIN payloads are tiny).
pub fn base64_encode(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(super::base64_encode(b"fooba"), "Zm9vYmE=");
        assert_eq!(super::base64_encode(b"f"), "Zg==");
        assert_eq!(super::base64_encode(b"a\0a\0pw"), "YQBhAHB3");
    }
}
