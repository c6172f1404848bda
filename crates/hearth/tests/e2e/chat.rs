//! `hearth chat` for real: the binary in a tmux pane against `hearth serve`, with a
//! plain TCP client on the other side. Skipped (with a message) without tmux.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::harness::*;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

/// A tmux server of its own (`-L`), so the test never touches anyone else's sessions.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("run tmux")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "chat"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "tmux send-keys {keys:?}");
    }

    /// Types `text` literally, then Enter.
    fn line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "chat"]).stdout).into_owned()
    }

    /// Waits until the screen shows `text`.
    async fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "the screen never showed {text:?}:\n{screen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

async fn user_add(config: &Path, name: &str, password: &str) {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["user", "add", name, "--password-stdin"])
        .env_remove("HEARTH_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).await.unwrap();
    assert!(child.wait().await.unwrap().success(), "user add {name}");
}

/// A running `hearth serve` with accounts alice and bob, bob logged in from a plain TCP
/// client and in #family, and `hearth chat` logged in as alice in a tmux pane.
struct Chat {
    dir: tempfile::TempDir,
    _server: tokio::process::Child,
    bob: Client,
    tmux: Tmux,
}

/// `None` (after printing why) when tmux is missing.
async fn start_chat() -> Option<Chat> {
    if std::process::Command::new("tmux").arg("-V").output().is_err() {
        println!("skipped: tmux is not installed (apt-get install tmux)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[accounts]\nargon2_memory_kib = 8\nargon2_iterations = 1\n[rooms]\ndefault = []\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    user_add(&config, "alice", "alice-password").await;
    user_add(&config, "bob", "bob-password").await;
    let (server, addr) = serve_binary(&config).await;

    // bob: a plain TCP client, online first so alice's list numbers him 1.
    let mut bob = Client::login(addr, "bob", "bob", "bob-password", &[]).await;
    bob.send("JOIN #family").await;
    bob.expect_cmd("366").await;

    let pw = dir.path().join("alice.pw");
    std::fs::write(&pw, "alice-password\n").unwrap();
    // The pid and a counter keep tests running in parallel on tmux servers of their own.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmux = Tmux { socket: format!("hearth-e2e-{}-{n}", std::process::id()) };
    // A clean environment: no settings file from the real home, no server config.
    let cmd = format!(
        "env -u HEARTH_CONFIG XDG_CONFIG_HOME={} TERM=xterm {BIN} chat --server {addr} --user alice --password-file {}",
        dir.path().display(),
        pw.display()
    );
    let out = tmux.run(&["new-session", "-d", "-s", "chat", "-x", "100", "-y", "30", &cmd]);
    assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    tmux.wait_for("Logged in as alice").await;
    tmux.wait_for("1 bob").await; // numbered in the online list
    Some(Chat { dir, _server: server, bob, tmux })
}

/// alice joins #family from the terminal; bob sees her arrive.
async fn join_family(c: &mut Chat) {
    c.tmux.line("/join #family");
    c.tmux.wait_for("#family").await;
    c.bob.expect(|m| m.command == "JOIN" && m.source.as_deref().unwrap_or("").starts_with("alice!")).await;
}

#[tokio::test]
async fn hearth_chat_in_tmux_talks_to_a_plain_client() {
    let Some(mut c) = start_chat().await else { return };

    // A room: what alice types reaches bob, and bob's reply shows on her screen.
    join_family(&mut c).await;
    let (tmux, bob) = (&c.tmux, &mut c.bob);
    tmux.line("hello from the terminal");
    let m = bob.expect(|m| m.command == "PRIVMSG").await;
    assert_eq!(m.params, ["#family", "hello from the terminal"]);
    assert!(m.source.unwrap().starts_with("alice!"));
    bob.send("PRIVMSG #family :hi alice, bob here").await;
    tmux.wait_for("hi alice, bob here").await;

    // The seed's flow: _LIST_, a number, a private message.
    tmux.line("_LIST_");
    tmux.wait_for("type a number to chat").await;
    tmux.line("1");
    tmux.wait_for("Private chat with bob").await;
    tmux.line("just between us");
    // A chat request (the default [dm] policy): held until bob accepts; alice is told
    // she is waiting, bob gets 718.
    tmux.wait_for("waiting for bob to accept").await;
    bob.expect(|m| m.command == "718").await;
    bob.send("ACCEPT alice").await;
    let m = bob.expect(|m| m.command == "PRIVMSG" && m.params[0] == "bob").await;
    // Delivered on acceptance with its original time (a date in front for a client
    // without server-time).
    assert!(m.params[1].ends_with("just between us"), "{m}");

    // Ctrl-C leaves cleanly: bob sees alice QUIT.
    tmux.keys(&["C-c"]);
    let m = bob.expect(|m| m.command == "QUIT").await;
    assert!(m.source.unwrap().starts_with("alice!"), "the QUIT is alice's");
}

#[tokio::test]
async fn hearth_chat_reconnects_after_a_drop_and_fills_the_gap() {
    let Some(mut c) = start_chat().await else { return };
    join_family(&mut c).await;
    // The server drops alice (an admin kick); bob writes while she is away.
    let config = c.dir.path().join("hearth.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["admin", "kick", "alice", "testing", "reconnects"])
        .env_remove("HEARTH_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "admin kick: {}", String::from_utf8_lossy(&out.stderr));
    c.bob.expect(|m| m.command == "QUIT" && m.source.as_deref().unwrap_or("").starts_with("alice!")).await;
    c.bob.send("PRIVMSG #family :said while you were away").await;
    c.tmux.wait_for("reconnecting in").await;
    // Back (after 1 s), in #family again, with what was said in between.
    c.bob.expect(|m| m.command == "JOIN" && m.source.as_deref().unwrap_or("").starts_with("alice!")).await;
    c.tmux.wait_for("said while you were away").await;
    c.tmux.line("back again");
    let m = c.bob.expect(|m| m.command == "PRIVMSG").await;
    assert_eq!(m.params, ["#family", "back again"]);
}
