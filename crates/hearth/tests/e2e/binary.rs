//! The compiled `hearth` binary: the stdout contract, signals and graceful shutdown,
//! configuration errors, and the command line.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// `hearth` with a clean environment (no inherited config or log settings), run in a
/// fresh working directory (the default data directory is `./hearth-data`).
fn hearth(args: &[&str]) -> Command {
    let cwd = tempfile::tempdir().unwrap().keep();
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(cwd).env_remove("HEARTH_CONFIG").env_remove("RUST_LOG").kill_on_drop(true);
    cmd
}

/// A config file in `dir` for a server that anyone may join without an account, with
/// its data in `dir`; `extra` is appended.
fn open_config(dir: &Path, extra: &str) -> String {
    let data = dir.join("data");
    write_config(
        dir,
        &format!(
            "data_dir = {:?}\n{extra}\n[accounts]\nrequire_login = false\n[rooms]\ndefault = []\n",
            data.display().to_string()
        ),
    )
}

/// A running `hearth serve` and the address from its `listening` line.
struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

/// Starts `hearth <args>` and waits for `hearth: listening irc=127.0.0.1:PORT`.
async fn serve(args: &[&str]) -> Served {
    serve_with_stderr(args, Stdio::null()).await
}

/// [`serve`] with stderr going to `stderr` (piped: take it from `child`).
async fn serve_with_stderr(args: &[&str], stderr: Stdio) -> Served {
    // The default web listener (127.0.0.1:8080) would clash between tests.
    let mut args = args.to_vec();
    if args.contains(&"serve") && !args.contains(&"--web-listen") {
        args.extend(["--web-listen", "127.0.0.1:0"]);
    }
    let mut child = hearth(&args).stdout(Stdio::piped()).stderr(stderr).spawn().expect("spawn hearth");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(WAIT, stdout.read_line(&mut line)).await.expect("no listening line").unwrap();
    assert!(line.starts_with("hearth: listening irc="), "unexpected first stdout line {line:?}");
    let addr = listening_addr(&line, "irc").unwrap_or_else(|| panic!("bad address in {line:?}"));
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{line:?}");
    Served { child, stdout, addr }
}

impl Served {
    fn signal(&self, name: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let ok = std::process::Command::new("kill").args([&format!("-{name}"), &pid]).status().unwrap();
        assert!(ok.success(), "kill -{name} {pid}");
    }

    /// Waits for the exit (bounded) and returns the status and the rest of stdout.
    async fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .expect("hearth did not exit within 5 s")
            .unwrap();
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).await.unwrap();
        (status, rest)
    }
}

/// Runs `hearth <args>` to completion.
async fn run(args: &[&str]) -> Output {
    let out = tokio::time::timeout(WAIT, hearth(args).stdin(Stdio::null()).output()).await;
    out.expect("hearth did not exit").expect("run hearth")
}

/// Runs `hearth <args>` to completion with `input` on stdin.
async fn run_with_input(args: &[&str], input: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut child = hearth(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).await.unwrap();
    let out = tokio::time::timeout(WAIT, child.wait_with_output()).await;
    out.expect("hearth did not exit").expect("run hearth")
}

/// Two registered clients get NOTICE then `ERROR :Server shutting down`; exit 0.
async fn graceful_shutdown_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = open_config(dir.path(), "");
    let srv = serve(&["serve", "--config", &config, "--listen", "127.0.0.1:0"]).await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #home").await;
    a.expect_cmd("366").await;
    b.send("JOIN #home").await;
    b.expect_cmd("366").await;
    a.send("PRIVMSG #home :before the signal").await;
    b.expect_cmd("PRIVMSG").await;
    assert!(a.sync().await.iter().all(|m| m.command == "JOIN"));
    srv.signal(signal);
    let (la, lb) = tokio::join!(a.read_to_close(), b.read_to_close());
    for (nick, lines) in [("alice", la), ("bob", lb)] {
        assert_eq!(lines.len(), 2, "{nick}: {lines:?}");
        assert!(lines[0].starts_with(&format!(":hearth.local NOTICE {nick} :")), "{nick}: {lines:?}");
        assert!(lines[0].to_lowercase().contains("shutting down"), "{nick}: {lines:?}");
        assert_eq!(lines[1], "ERROR :Server shutting down", "{nick}");
    }
    let (status, rest) = srv.finish().await;
    assert!(status.success(), "exit status {status:?} after SIG{signal}");
    assert_eq!(rest, "", "stdout must hold only the listening line");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    graceful_shutdown_on("TERM").await;
}

#[tokio::test]
async fn sigint_shuts_down_gracefully() {
    graceful_shutdown_on("INT").await;
}

/// A supervisor may signal as soon as it sees the `listening` line: the signal handlers
/// must already be installed by then, or the default action kills the process
/// (status "signal 15", no ERROR to clients).
#[tokio::test]
async fn signal_right_after_the_listening_line_is_a_graceful_shutdown() {
    for signal in ["TERM", "INT", "TERM", "INT", "TERM"] {
        let srv = serve(&["serve", "--listen", "127.0.0.1:0"]).await;
        srv.signal(signal);
        let (status, rest) = srv.finish().await;
        assert!(status.success(), "SIG{signal} right after start: {status:?}");
        assert_eq!(rest, "");
    }
}

#[tokio::test]
async fn serve_prints_one_listening_line_per_listener() {
    // No config file at all: built-in defaults plus --listen.
    let srv = serve(&["serve", "--listen", "127.0.0.1:0"]).await;
    let mut c = Client::connect(srv.addr).await;
    c.send("PING :hello").await;
    let pong = c.expect_cmd("PONG").await;
    assert_eq!(pong.params.last().map(String::as_str), Some("hello"));
    srv.signal("TERM");
    let (status, rest) = srv.finish().await;
    assert!(status.success());
    assert_eq!(rest, "");

    // Two listeners: still exactly one line, naming both.
    let dir = tempfile::tempdir().unwrap();
    let config = open_config(dir.path(), "");
    let mut child = hearth(&[
        "serve",
        "-c",
        &config,
        "-l",
        "127.0.0.1:0",
        "--listen",
        "127.0.0.1:0",
        "--web-listen",
        "127.0.0.1:0",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(WAIT, stdout.read_line(&mut line)).await.unwrap().unwrap();
    let addrs: Vec<SocketAddr> = line
        .trim_end()
        .strip_prefix("hearth: listening ")
        .unwrap()
        .split(' ')
        .filter_map(|kv| kv.strip_prefix("irc=").map(|a| a.parse().unwrap()))
        .collect();
    assert_eq!(addrs.len(), 2, "{line:?}");
    assert_ne!(addrs[0].port(), addrs[1].port());
    for addr in addrs {
        let mut c = Client::register(addr, "two").await;
        c.send("QUIT").await;
        c.read_to_close().await;
    }
    let served = Served { child, stdout, addr: "127.0.0.1:1".parse().unwrap() };
    served.signal("TERM");
    let (status, rest) = served.finish().await;
    assert!(status.success());
    assert_eq!(rest, "");
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("hearth.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[tokio::test]
async fn invalid_config_fails_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        // A bad value.
        ("[server]\nname = \"irc.example.org\"\n\n[limits]\nsendq = 10\n", "line 5", "limits.sendq"),
        // An unknown key (a typo).
        ("[timeouts]\nping_interval = 3\nping_timeuot = 3\n", "line 3", "ping_timeuot"),
        // A wrong type.
        ("[flood]\nburst = \"lots\"\n", "line 2", "burst"),
    ];
    for (text, line, key) in cases {
        let path = write_config(dir.path(), text);
        let p = path.as_str();
        for args in [["serve", "--config", p], ["--config", p, "serve"]] {
            let out = run(&[&args[..], &["--listen", "127.0.0.1:0"]].concat()).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{args:?} accepted:\n{text}");
            assert!(stderr.contains(&path), "file not named: {stderr}");
            assert!(stderr.contains(line), "line not named ({line}): {stderr}");
            assert!(stderr.contains(key), "key not named ({key}): {stderr}");
            assert!(out.stdout.is_empty(), "printed a listening line: {:?}", String::from_utf8_lossy(&out.stdout));
        }
    }
    // A file that does not exist.
    let missing = dir.path().join("missing.toml");
    let out = run(&["serve", "--config", missing.to_str().unwrap()]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(missing.to_str().unwrap()));
}

#[tokio::test]
async fn config_is_accepted_before_and_after_the_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    // The port comes from the file (no --listen), so a listening line proves it was read.
    let path = open_config(dir.path(), "[server]\nname = \"irc.test\"\nlisten = [\"127.0.0.1:0\"]\n");
    let p = path.as_str();
    for args in [["--config", p, "serve"], ["serve", "--config", p], ["serve", "-c", p]] {
        let srv = serve(&args).await;
        let mut c = Client::connect(srv.addr).await;
        c.send("NICK cfg").await;
        c.send("USER cfg 0 * :C").await;
        let welcome = c.expect_cmd("001").await;
        assert_eq!(welcome.source.as_deref(), Some("irc.test"), "{args:?}: config not applied");
        srv.signal("TERM");
        let (status, _) = srv.finish().await;
        assert!(status.success(), "{args:?}: {status:?}");
    }
}

#[tokio::test]
async fn help_mentions_config_and_listen() {
    for args in [&["--help"][..], &["serve", "--help"], &["help", "serve"]] {
        let out = run(args).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {:?}", out.status);
        assert!(text.contains("--config"), "{args:?} does not mention --config:\n{text}");
        assert!(text.contains("--listen"), "{args:?} does not mention --listen:\n{text}");
    }
    let out = run(&["--version"]).await;
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("hearth "));
    // No subcommand, or an unknown flag: usage error, not a panic.
    for args in [&[][..], &["serve", "--no-such-flag"], &["serve", "--listen", "not-an-address"]] {
        let out = run(args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}

/// Serves with `extra` in the config and stderr to a pipe, stops with SIGTERM,
/// and returns everything logged.
async fn logs_of_a_run(extra: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = open_config(dir.path(), extra);
    let mut srv = serve_with_stderr(&["serve", "--config", &config, "--listen", "127.0.0.1:0"], Stdio::piped()).await;
    let mut stderr = srv.child.stderr.take().unwrap();
    srv.signal("TERM");
    let (status, _) = srv.finish().await;
    assert!(status.success(), "{status:?}");
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).await.unwrap();
    assert!(logs.contains("listening"), "the info lines are missing: {logs:?}");
    logs
}

/// Regression: log lines carried ANSI colour codes when stderr was a file.
#[tokio::test]
async fn logs_have_no_colour_codes_when_stderr_is_not_a_terminal() {
    let logs = logs_of_a_run("").await;
    assert!(!logs.contains("\x1b["), "escape codes in {logs:?}");
}

#[tokio::test]
async fn json_log_format_writes_one_object_per_line() {
    let logs = logs_of_a_run("[log]\nformat = \"json\"\n").await;
    assert!(!logs.contains("\x1b["), "escape codes in {logs:?}");
    for line in logs.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        assert!(value["level"].is_string() && value["fields"].is_object(), "{line}");
    }
}

/// Regression: a read-only `hearth.db` started, then logged `append history
/// failed, retrying` forever. It must be refused at start, saying why.
#[tokio::test]
async fn read_only_database_is_refused_at_start() {
    let Some(data) = hearth_store::testing::ReadOnlyDir::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("data_dir = {:?}\n[accounts]\nargon2_memory_kib = 8\nargon2_iterations = 1\n", data.path()),
    );
    let out = run_with_input(&["user", "add", "alice", "--config", &config, "--password-stdin"], "long-enough\n").await;
    assert!(out.status.success(), "user add: {out:?}");
    data.make_read_only();

    let started = std::time::Instant::now();
    let out = run(&["serve", "--config", &config, "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a read-only database was accepted: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(3), "refusing took {:?}", started.elapsed());
    assert!(stderr.contains("read-only or cannot be written"), "{stderr}");
    assert!(stderr.contains(&data.path().join("hearth.db").display().to_string()), "{stderr}");
    assert!(stderr.contains("ls -ld"), "{stderr}");
    assert!(out.stdout.is_empty(), "printed a listening line: {:?}", String::from_utf8_lossy(&out.stdout));
}
