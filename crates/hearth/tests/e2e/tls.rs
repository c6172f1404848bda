//! IRC over TLS: the self-signed first start, STS, SASL EXTERNAL with a client
//! certificate, and certificate reload on SIGHUP (the real binary).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hearth_proto::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::harness::*;

/// A line client over any stream (here: TLS).
pub struct Lines<S> {
    rd: BufReader<ReadHalf<S>>,
    wr: WriteHalf<S>,
}

impl<S: AsyncRead + AsyncWrite> Lines<S> {
    pub fn new(stream: S) -> Self {
        let (rd, wr) = tokio::io::split(stream);
        Lines { rd: BufReader::new(rd), wr }
    }

    pub async fn send(&mut self, line: &str) {
        self.wr.write_all(format!("{line}\r\n").as_bytes()).await.expect("write");
        self.wr.flush().await.expect("flush");
    }

    /// The next message; `None` at EOF.
    pub async fn recv(&mut self) -> Option<Message> {
        let mut line = String::new();
        let n = tokio::time::timeout(WAIT, self.rd.read_line(&mut line)).await.expect("no line in time").ok()?;
        if n == 0 {
            return None;
        }
        Some(Message::parse(line.trim_end()).expect("parsable line"))
    }

    pub async fn expect(&mut self, pred: impl Fn(&Message) -> bool) -> Message {
        loop {
            let m = self.recv().await.expect("connection closed");
            if pred(&m) {
                return m;
            }
        }
    }

    pub async fn expect_cmd(&mut self, cmd: &str) -> Message {
        self.expect(|m| m.command == cmd).await
    }
}

/// A self-signed certificate for `localhost` and its key, as PEM.
pub fn make_cert(name: &str) -> (String, String) {
    let made = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
    (made.cert.pem(), made.signing_key.serialize_pem())
}

/// SHA-256 (hex) of the first certificate in a PEM text.
pub fn pem_fingerprint(pem: &str) -> String {
    hearth_net::tls::fingerprint(&CertificateDer::from_pem_slice(pem.as_bytes()).unwrap())
}

/// A TLS client that trusts exactly `ca_pem`, optionally presenting a client certificate.
pub fn connector(ca_pem: &str, client: Option<(&str, &str)>) -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    TlsConnector::from(Arc::new(config))
}

pub async fn tls_connect(addr: SocketAddr, connector: &TlsConnector) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(WAIT, connector.connect(ServerName::try_from("localhost").unwrap(), tcp))
        .await
        .expect("handshake in time")
        .expect("TLS handshake")
}

/// The CAP LS 302 values, as one string.
async fn cap_ls<S: AsyncRead + AsyncWrite>(c: &mut Lines<S>) -> String {
    c.send("CAP LS 302").await;
    let mut all = String::new();
    loop {
        let m = c.expect_cmd("CAP").await;
        all.push_str(m.params.last().unwrap());
        all.push(' ');
        if m.params[2] != "*" {
            return all;
        }
    }
}

fn tls_toml(extra: &str) -> String {
    format!("[server]\ntls_listen = [\"127.0.0.1:0\"]\n{extra}")
}

#[tokio::test]
async fn first_start_makes_a_self_signed_certificate_clients_can_trust() {
    let srv = start_with(&tls_toml("")).await;
    let running = srv.running.as_ref().unwrap();
    let tls_addr = running.tls_addrs[0];
    let (cert, key) = hearth::tls::self_signed_paths(srv.data.path());
    let pem = std::fs::read_to_string(&cert).expect("self-signed certificate written");
    assert!(std::fs::read_to_string(&key).unwrap().contains("PRIVATE KEY"));
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o077, 0, "key readable by others");
    }
    assert_eq!(running.tls.as_ref().unwrap().fingerprint(), pem_fingerprint(&pem));
    assert!(running.description.starts_with("irc=") && running.description.contains(&format!("ircs={tls_addr}")));

    let mut c = Lines::new(tls_connect(tls_addr, &connector(&pem, None)).await);
    let caps = cap_ls(&mut c).await;
    assert!(caps.contains("sasl=PLAIN,EXTERNAL"), "{caps}");
    assert!(!caps.contains("sts"), "no STS with a self-signed certificate: {caps}");
    c.send("CAP END").await;
    c.send("NICK tls").await;
    c.send("USER tls 0 * :T").await;
    c.expect_cmd("001").await;
    c.send("QUIT :bye").await;
    c.expect_cmd("ERROR").await;

    // A restart keeps the same certificate.
    let data = srv.stop().await;
    let srv = start_in(data, &tls_toml("")).await;
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), pem, "the certificate was made again");
    srv.shutdown().await;
}

/// Certificate files of the operator, in `dir`.
fn write_cert_files(dir: &Path, name: &str) -> (String, String) {
    let (cert, key) = make_cert("localhost");
    std::fs::write(dir.join(format!("{name}.pem")), &cert).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), &key).unwrap();
    (cert, key)
}

#[tokio::test]
async fn sts_tells_plain_clients_the_port_and_tls_clients_the_duration() {
    let files = tempfile::tempdir().unwrap();
    let (cert, _) = write_cert_files(files.path(), "server");
    let extra = format!(
        "[tls]\ncert = {:?}\nkey = {:?}\nsts_duration = 600\n",
        files.path().join("server.pem").display().to_string(),
        files.path().join("server.key").display().to_string()
    );
    let srv = start_with(&tls_toml(&extra)).await;
    let tls_addr = srv.running.as_ref().unwrap().tls_addrs[0];

    let mut plain = Lines::new(TcpStream::connect(srv.addr).await.unwrap());
    let caps = cap_ls(&mut plain).await;
    assert!(caps.contains(&format!("sts=port={}", tls_addr.port())), "{caps}");
    let mut old = Lines::new(TcpStream::connect(srv.addr).await.unwrap());
    old.send("CAP LS").await;
    let m = old.expect_cmd("CAP").await;
    assert!(!m.params.last().unwrap().contains("sts"), "STS needs CAP LS 302: {m}");

    let mut secure = Lines::new(tls_connect(tls_addr, &connector(&cert, None)).await);
    let caps = cap_ls(&mut secure).await;
    assert!(caps.contains("sts=duration=600"), "{caps}");
    assert!(!caps.contains("sts=port"), "{caps}");
    srv.shutdown().await;
}

#[tokio::test]
async fn sasl_external_logs_in_with_a_registered_client_certificate() {
    let srv =
        start_with(&tls_toml("[accounts]\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n")).await;
    srv.add_account("alice", "password1", false).await;
    let tls_addr = srv.running.as_ref().unwrap().tls_addrs[0];
    let server_pem = std::fs::read_to_string(hearth::tls::self_signed_paths(srv.data.path()).0).unwrap();
    let (client_cert, client_key) = make_cert("alice-laptop");
    let store = hearth::app::open_store(&srv.config).await.unwrap();
    assert!(store.add_cert("alice", &pem_fingerprint(&client_cert)).await.unwrap());

    // With the registered certificate: logged in as alice.
    let mut c = Lines::new(tls_connect(tls_addr, &connector(&server_pem, Some((&client_cert, &client_key)))).await);
    start_external(&mut c, "alice").await;
    assert_eq!(c.expect_cmd("AUTHENTICATE").await.params, ["+"]);
    c.send("AUTHENTICATE +").await;
    let logged = c.expect_cmd("900").await;
    assert_eq!(logged.params[2], "alice");
    c.expect_cmd("903").await;
    c.send("CAP END").await;
    c.expect_cmd("001").await;

    // An unknown certificate: refused, and the reason says what to do.
    let (other_cert, other_key) = make_cert("stranger");
    let mut c = Lines::new(tls_connect(tls_addr, &connector(&server_pem, Some((&other_cert, &other_key)))).await);
    start_external(&mut c, "stranger").await;
    c.expect_cmd("AUTHENTICATE").await;
    c.send("AUTHENTICATE +").await;
    let fail = c.expect_cmd("904").await;
    assert!(fail.params.last().unwrap().contains("hearth user cert add"), "{fail}");

    // No certificate at all: refused at once.
    let mut c = Lines::new(tls_connect(tls_addr, &connector(&server_pem, None)).await);
    start_external(&mut c, "nocert").await;
    let fail = c.expect_cmd("904").await;
    assert!(fail.params.last().unwrap().contains("client certificate"), "{fail}");

    // The registered certificate with another account named as authzid: refused.
    let mut c = Lines::new(tls_connect(tls_addr, &connector(&server_pem, Some((&client_cert, &client_key)))).await);
    start_external(&mut c, "mallory").await;
    c.expect_cmd("AUTHENTICATE").await;
    use base64::Engine;
    c.send(&format!("AUTHENTICATE {}", base64::engine::general_purpose::STANDARD.encode("bob"))).await;
    c.expect_cmd("904").await;
    let failures = srv.running.as_ref().unwrap().shared.lock().login_failures();
    assert_eq!(failures, 2, "unknown certificate and wrong authzid count as failed logins");
    srv.shutdown().await;
}

/// CAP REQ sasl, NICK, USER, AUTHENTICATE EXTERNAL.
async fn start_external(c: &mut Lines<TlsStream<TcpStream>>, nick: &str) {
    c.send("CAP REQ :sasl").await;
    c.expect_cmd("CAP").await;
    c.send(&format!("NICK {nick}")).await;
    c.send(&format!("USER {nick} 0 * :X")).await;
    c.send("AUTHENTICATE EXTERNAL").await;
}

#[tokio::test]
async fn sighup_reloads_the_certificate_without_dropping_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, _) = write_cert_files(dir.path(), "server");
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[accounts]\nrequire_login = false\n[rooms]\ndefault = []\n[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--config")
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(WAIT, out.read_line(&mut line)).await.unwrap().unwrap();
    let names: Vec<&str> = line
        .trim_end()
        .strip_prefix("hearth: listening ")
        .unwrap()
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(names, ["irc", "ircs", "web"], "{line:?}");
    let ircs = listening_addr(&line, "ircs").unwrap();

    let mut old = Lines::new(tls_connect(ircs, &connector(&cert_a, None)).await);
    old.send("NICK early").await;
    old.send("USER early 0 * :E").await;
    old.expect_cmd("001").await;

    let (cert_b, _) = write_cert_files(dir.path(), "server");
    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    // New handshakes get the new certificate (the old one is no longer trusted here).
    let trusting_b = connector(&cert_b, None);
    let mut reloaded = false;
    for _ in 0..50 {
        let tcp = TcpStream::connect(ircs).await.unwrap();
        if trusting_b.connect(ServerName::try_from("localhost").unwrap(), tcp).await.is_ok() {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reloaded, "the new certificate is not served after SIGHUP");
    // The connection made before is still there.
    old.send("PING :still").await;
    let pong = old.expect_cmd("PONG").await;
    assert_eq!(pong.params.last().map(String::as_str), Some("still"));
    assert!(child.try_wait().unwrap().is_none(), "SIGHUP ended the server");

    // A broken file on reload keeps the certificate in use.
    std::fs::write(dir.path().join("server.pem"), "garbage").unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    tls_connect(ircs, &trusting_b).await;

    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn web_side_is_https_with_the_same_certificate_when_tls_is_on() {
    let srv = start_with(&tls_toml("[web]\nlisten = [\"127.0.0.1:0\"]\n")).await;
    let web = srv.running.as_ref().unwrap().web_addrs[0];
    let pem = std::fs::read_to_string(hearth::tls::self_signed_paths(srv.data.path()).0).unwrap();
    let mut tls = tls_connect(web, &connector(&pem, None)).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut raw = Vec::new();
    use tokio::io::AsyncReadExt;
    // A peer that closes without close_notify is an ordinary end (STACK.md, trap 7).
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut raw)).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("ok\n"), "{text}");
    // Plain HTTP is not served there.
    let mut plain = TcpStream::connect(web).await.unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut buf)).await.unwrap();
    assert!(!String::from_utf8_lossy(&buf).contains("ok\n"));
    srv.shutdown().await;
}

#[tokio::test]
async fn user_cert_commands_add_list_and_delete_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[accounts]\nargon2_memory_kib = 8\nargon2_iterations = 1\n",
            dir.path().join("data").display().to_string()
        ),
    )
    .unwrap();
    let run = |args: &[&str], input: &str| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"));
        cmd.arg("--config").arg(&config).args(args).env_remove("HEARTH_CONFIG").env_remove("RUST_LOG");
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    assert!(run(&["user", "add", "alice", "--password-stdin"], "long-enough\n").0);
    let (cert, _) = make_cert("alice-laptop");
    let file = dir.path().join("alice.pem");
    std::fs::write(&file, &cert).unwrap();
    let fp = pem_fingerprint(&cert);
    let (ok, out, err) = run(&["user", "cert", "add", "alice", "--file", file.to_str().unwrap()], "");
    assert!(ok && out.contains(&fp), "{out}{err}");
    // The same certificate by fingerprint, with colons and upper case: already there.
    let colons: Vec<String> = fp.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).to_uppercase()).collect();
    let (ok, out, _) = run(&["user", "cert", "add", "ALICE", &colons.join(":")], "");
    assert!(ok && out.contains("already"), "{out}");
    let (ok, out, _) = run(&["user", "cert", "list", "alice"], "");
    assert!(ok);
    assert_eq!(out, format!("{fp}\n"));
    let (ok, _, err) = run(&["user", "cert", "add", "alice", "not-a-fingerprint"], "");
    assert!(!ok && err.contains("SHA-256"), "{err}");
    let (ok, _, err) = run(&["user", "cert", "add", "nobody", &fp], "");
    assert!(!ok && err.contains("no account named nobody"), "{err}");
    let (ok, out, _) = run(&["user", "cert", "del", "alice", &fp], "");
    assert!(ok && out.contains("removed"), "{out}");
    let (ok, out, _) = run(&["user", "cert", "list", "alice"], "");
    assert!(ok && out.is_empty());
}
