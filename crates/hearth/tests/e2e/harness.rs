//! Test harness: the real server on 127.0.0.1:0 and line-level clients over real TCP.

use std::net::SocketAddr;
use std::time::Duration;

use hearth::app::Running;
use hearth::config::FileConfig;
use hearth_proto::Message;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// How long any single expectation waits before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server started in-process on an OS-chosen port, with its own data directory.
pub struct TestServer {
    pub addr: SocketAddr,
    pub running: Option<Running>,
    pub data: tempfile::TempDir,
    pub config: FileConfig,
}

impl TestServer {
    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }

    /// Creates an account directly in the store (what `hearth user add` does) and tells
    /// the running server its nickname is now reserved.
    pub async fn add_account(&self, name: &str, password: &str, admin: bool) {
        let store = hearth::app::open_store(&self.config).await.expect("open store");
        let params = hearth_store::password::Argon2Params::insecure_fast();
        let hash = hearth_store::password::hash_password(password, &params);
        store.create_account(name, &hash).await.expect("create account");
        if admin {
            store.set_admin(name, true).await.expect("set admin");
        }
        let names: Vec<String> = store.accounts().await.unwrap().into_iter().map(|a| a.name).collect();
        self.running.as_ref().unwrap().shared.lock().set_account_names(names);
    }

    /// Shuts down gracefully and returns the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        self.data
    }
}

/// The real server with default configuration (flood control off unless asked for).
pub async fn start_server() -> TestServer {
    start_with("[flood]\nburst = 0\n").await
}

/// The real server with `toml` as its configuration file text. Unless the text says
/// otherwise, login is not required, no default rooms exist and argon2 is cheap.
pub async fn start_with(toml: &str) -> TestServer {
    let data = tempfile::tempdir().expect("temp dir");
    start_in(data, toml).await
}

/// Like [`start_with`] on an existing data directory (for restart tests).
pub async fn start_in(data: tempfile::TempDir, toml: &str) -> TestServer {
    let cfg = test_config(data.path(), toml);
    let running = hearth::app::start(&cfg, &["127.0.0.1:0".parse().unwrap()]).await.expect("server starts");
    TestServer { addr: running.addrs[0], running: Some(running), data, config: cfg }
}

/// The configuration [`start_with`] uses.
pub fn test_config(data_dir: &std::path::Path, toml: &str) -> FileConfig {
    let mut text = format!("data_dir = {:?}\n{toml}\n", data_dir.display().to_string());
    if !toml.contains("[accounts]") {
        text.push_str("[accounts]\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n");
    }
    // Chat requests (issue 9) are the default, but most tests are about other things
    // and expect private messages to arrive at once: they get the "open" policy
    // unless they ask for a `[dm]` section of their own.
    if !toml.contains("[dm]") {
        text.push_str("[dm]\npolicy = \"open\"\n");
    }
    if !toml.contains("[rooms]") {
        text.push_str("[rooms]\ndefault = []\n");
    }
    // "You are alone" and arrival notices would interleave with what other tests
    // expect; the presence tests ask for them.
    if !toml.contains("[presence]") {
        text.push_str("[presence]\nalone_notice = false\n");
    }
    if !toml.contains("[web]") {
        // No HTTP listener unless a test asks: the default 8080 would clash.
        text.push_str("[web]\nlisten = []\n");
    }
    FileConfig::parse(&text).expect("test config parses")
}

/// `hearth --config FILE serve --listen 127.0.0.1:0` as its own process, and the
/// address it printed.
pub async fn serve_binary(config: &std::path::Path) -> (tokio::process::Child, SocketAddr) {
    serve_binary_with(config, None, WAIT).await
}

/// [`serve_binary`] with the server's stderr written to `log` (shown when it does not
/// start), waiting at most `wait` for the listening line.
pub async fn serve_binary_with(
    config: &std::path::Path,
    log: Option<&std::path::Path>,
    wait: Duration,
) -> (tokio::process::Child, SocketAddr) {
    let stderr = match log {
        Some(path) => std::process::Stdio::from(std::fs::File::create(path).expect("create the log file")),
        None => std::process::Stdio::null(),
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--config")
        .arg(config)
        .args(["serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn hearth");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(wait, out.read_line(&mut line)).await.expect("no listening line").unwrap();
    let addr = listening_addr(&line, "irc").unwrap_or_else(|| {
        let log = log.map(|p| std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default();
        panic!("unexpected first line {line:?}; log:\n{log}")
    });
    (child, addr)
}

/// The first `name=ADDR` of a `hearth: listening …` line.
pub fn listening_addr(line: &str, name: &str) -> Option<SocketAddr> {
    line.trim_end()
        .strip_prefix("hearth: listening ")?
        .split(' ')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

/// One IRC connection, read line by line.
pub struct Client {
    pub nick: String,
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    /// Lines seen by the last `expect`, for failure messages.
    seen: Vec<String>,
    token: u64,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).await.expect("connect"))
    }

    /// Wraps an already connected socket (e.g. one with a small receive buffer).
    pub fn from_stream(stream: TcpStream) -> Client {
        stream.set_nodelay(true).unwrap();
        let (rd, wr) = stream.into_split();
        Client { nick: "*".into(), rd: BufReader::new(rd), wr, seen: Vec::new(), token: 0 }
    }

    /// The raw halves, for tests that read and write at the same time from two tasks.
    pub fn into_parts(self) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
        (self.rd, self.wr)
    }

    /// Puts halves from [`Client::into_parts`] back together.
    pub fn from_parts(rd: BufReader<OwnedReadHalf>, wr: OwnedWriteHalf) -> Client {
        Client { nick: "*".into(), rd, wr, seen: Vec::new(), token: 0 }
    }

    /// Connects from a socket bound beforehand (e.g. to 127.0.0.2).
    pub async fn from_socket(sock: tokio::net::TcpSocket, addr: SocketAddr) -> Client {
        let stream = sock.connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        let (rd, wr) = stream.into_split();
        Client { nick: "*".into(), rd: BufReader::new(rd), wr, seen: Vec::new(), token: 0 }
    }

    /// Connects, registers as `nick` without CAP, waits for the end of the MOTD.
    pub async fn register(addr: SocketAddr, nick: &str) -> Client {
        Self::register_with_caps(addr, nick, &[]).await
    }

    /// Connects, negotiates `caps` (all must be ACKed), registers as `nick`.
    pub async fn register_with_caps(addr: SocketAddr, nick: &str, caps: &[&str]) -> Client {
        let mut c = Client::connect(addr).await;
        if !caps.is_empty() {
            c.send("CAP LS 302").await;
            c.send(&format!("CAP REQ :{}", caps.join(" "))).await;
            let ack = c.expect(|m| m.command == "CAP" && m.params[1] != "LS").await;
            assert_eq!(ack.params[1], "ACK", "caps {caps:?} not acknowledged: {ack}");
        }
        c.send(&format!("NICK {nick}")).await;
        c.send(&format!("USER {nick} 0 * :Real {nick}")).await;
        if !caps.is_empty() {
            c.send("CAP END").await;
        }
        c.expect(|m| m.command == "376" || m.command == "422").await;
        c.nick = nick.to_string();
        c
    }

    /// Connects and logs in with SASL PLAIN as `account`, registering as `nick` with
    /// `caps` (plus sasl). Panics unless login and registration succeed.
    pub async fn login(addr: SocketAddr, nick: &str, account: &str, password: &str, caps: &[&str]) -> Client {
        let mut c = Client::connect(addr).await;
        c.start_sasl(nick, caps).await;
        c.send(&sasl_plain(account, password)).await;
        c.expect_cmd("903").await;
        c.send("CAP END").await;
        c.expect(|m| m.command == "376" || m.command == "422").await;
        c.nick = nick.to_string();
        c
    }

    /// CAP REQ (sasl + caps), NICK, USER, AUTHENTICATE PLAIN; waits for `AUTHENTICATE +`.
    pub async fn start_sasl(&mut self, nick: &str, caps: &[&str]) {
        self.send("CAP LS 302").await;
        let mut all = vec!["sasl"];
        all.extend_from_slice(caps);
        self.send(&format!("CAP REQ :{}", all.join(" "))).await;
        let ack = self.expect(|m| m.command == "CAP" && m.params[1] != "LS").await;
        assert_eq!(ack.params[1], "ACK", "{ack}");
        self.send(&format!("NICK {nick}")).await;
        self.send(&format!("USER {nick} 0 * :Real {nick}")).await;
        self.send("AUTHENTICATE PLAIN").await;
        let plus = self.expect_cmd("AUTHENTICATE").await;
        assert_eq!(plus.params, ["+"]);
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.wr.write_all(bytes).await.expect("write to server");
    }

    /// The next line, or `None` at EOF. Panics after [`WAIT`].
    pub async fn recv_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match tokio::time::timeout(WAIT, self.rd.read_line(&mut line)).await {
            Err(_) => panic!("{}: no line within {WAIT:?}; seen so far: {:#?}", self.nick, self.seen),
            Ok(Err(e)) => panic!("{}: read error {e}", self.nick),
            Ok(Ok(0)) => None,
            Ok(Ok(_)) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
        }
    }

    /// The next message. Panics at EOF or after [`WAIT`].
    pub async fn recv(&mut self) -> Message {
        let line = self.recv_line().await.unwrap_or_else(|| panic!("{}: connection closed", self.nick));
        self.seen.push(line.clone());
        Message::parse(&line).unwrap_or_else(|e| panic!("server sent an unparsable line {line:?}: {e}"))
    }

    /// Skips messages until one matches `pred`, and returns it.
    pub async fn expect(&mut self, pred: impl Fn(&Message) -> bool) -> Message {
        self.seen.clear();
        loop {
            let m = self.recv().await;
            if pred(&m) {
                return m;
            }
        }
    }

    /// Skips messages until one with `command` arrives.
    pub async fn expect_cmd(&mut self, command: &str) -> Message {
        self.expect(|m| m.command == command).await
    }

    /// Round-trips a PING so that everything the server sent before is read; returns
    /// the messages that arrived in between (PONG excluded).
    pub async fn sync(&mut self) -> Vec<Message> {
        self.token += 1;
        let token = format!("sync{}", self.token);
        self.send(&format!("PING {token}")).await;
        let mut before = Vec::new();
        loop {
            let m = self.recv().await;
            if m.command == "PONG" && m.params.last() == Some(&token) {
                return before;
            }
            before.push(m);
        }
    }

    /// Reads until the server closes the connection; returns what came before.
    pub async fn read_to_close(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(l) = self.recv_line().await {
            lines.push(l);
        }
        lines
    }
}

/// `AUTHENTICATE <base64(\0account\0password)>`.
pub fn sasl_plain(account: &str, password: &str) -> String {
    use base64::Engine;
    let raw = format!("\0{account}\0{password}");
    format!("AUTHENTICATE {}", base64::engine::general_purpose::STANDARD.encode(raw))
}
