//! Fault injection against the compiled binary: what was said stays said, what was
//! deleted stays deleted, whatever happens to the process in between.
//!
//! From the trust issue: "A durability promise is tested against every fault, not one:
//! kill -9, disk full, read-only files, the database going away, a second process, a
//! damaged file, then the restart. Never acknowledge or deliver what is not durable
//! yet." Disk full is in `diskfull.rs`, the database going away in `outage.rs`, a
//! read-only database in `binary.rs`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_proto::Message;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, Command};

use crate::harness::*;

/// A config file and data directory for the binary.
pub(crate) struct Setup {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) config: PathBuf,
}

impl Setup {
    pub(crate) fn new(extra: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hearth.toml");
        Setup::write(&dir, &config, extra);
        Setup { dir, config }
    }

    fn write(dir: &tempfile::TempDir, config: &Path, extra: &str) {
        let text = format!(
            "data_dir = {:?}\n[accounts]\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n\
             [rooms]\ndefault = []\n[flood]\nburst = 0\n{extra}\n",
            dir.path().join("data").display().to_string()
        );
        std::fs::write(config, text).unwrap();
    }

    /// A second config file on the same data directory.
    pub(crate) fn variant(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        Setup::write(&self.dir, &path, extra);
        path
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub(crate) fn stderr_file(&self, n: usize) -> PathBuf {
        self.dir.path().join(format!("serve-{n}.log"))
    }

    /// `hearth serve` on 127.0.0.1:0; stderr goes to `serve-<n>.log`.
    pub(crate) async fn serve(&self, n: usize) -> (Child, SocketAddr) {
        crate::harness::serve_binary_with(&self.config, Some(&self.stderr_file(n)), WAIT).await
    }

    /// `hearth --config FILE args…`, with `stdin`.
    pub(crate) async fn run_with(&self, config: &Path, args: &[&str], stdin: &str) -> std::process::Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--config")
            .arg(config)
            .args(args)
            .env_remove("HEARTH_CONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).await.unwrap();
        drop(input);
        tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("command finishes")
            .unwrap()
    }

    pub(crate) async fn run(&self, args: &[&str]) -> std::process::Output {
        self.run_with(&self.config, args, "").await
    }

    /// `hearth export --format json` of `target` (`--room #x` or `--conversation a,b`):
    /// the msgids.
    pub(crate) async fn export(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["export", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all).await;
        assert!(out.status.success(), "export {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                (v["command"] == "PRIVMSG").then(|| v["msgid"].as_str().unwrap().to_string())
            })
            .collect()
    }
}

pub(crate) fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `kill -<signal> <pid>` (the test crate forbids the unsafe `libc::kill`).
pub(crate) fn signal(child: &Child, signal: &str) {
    let pid = child.id().expect("still running").to_string();
    let ok = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

pub(crate) async fn stop(mut child: Child) {
    signal(&child, "TERM");
    let status =
        tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exit after SIGTERM").unwrap();
    assert!(status.success(), "{status:?}");
}

pub(crate) async fn kill9(mut child: Child) {
    signal(&child, "KILL");
    child.wait().await.unwrap();
}

/// Sends `n` messages to `target` and returns their msgids (from the echoes).
pub(crate) async fn say(c: &mut Client, target: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        c.send(&format!("PRIVMSG {target} :message {i} to {target}")).await;
        let echo = c.expect(|m| m.command == "PRIVMSG" && m.params[0] == target).await;
        ids.push(echo.tag("msgid").expect("msgid").to_string());
    }
    ids
}

/// The lines a client gets for its JOIN (the names list, then the replay of recent
/// messages for clients without draft/chathistory).
pub(crate) async fn join(c: &mut Client, chan: &str) -> Vec<Message> {
    c.send(&format!("JOIN {chan}")).await;
    c.sync().await
}

fn journal_bytes(data: &Path) -> u64 {
    std::fs::read_dir(data.join("journal"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("journal-"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

pub(crate) const CAPS: &[&str] = &["echo-message", "message-tags", "server-time"];

/// "One writer per data directory: `serve` takes an exclusive lock … and a second
/// `serve` refuses to start, naming the running process."
#[tokio::test]
async fn a_second_serve_on_the_same_data_directory_is_refused() {
    let s = Setup::new("");
    let (first, addr) = s.serve(0).await;
    let pid = first.id().unwrap();
    let mut alice = Client::register_with_caps(addr, "alice", CAPS).await;
    join(&mut alice, "#c").await;
    let before = say(&mut alice, "#c", 3).await;

    let out = s.run(&["serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]).await;
    assert!(!out.status.success(), "a second server started on the same data directory");
    let err = stderr(&out);
    assert!(err.contains(&format!("pid {pid}")) && err.contains("data directory"), "{err}");
    assert!(stdout(&out).is_empty(), "the second server printed a listening line");

    // The first one never noticed: it still takes messages, and stores them all.
    let after = say(&mut alice, "#c", 2).await;
    stop(first).await;
    let stored = s.export(&["--room", "#c"]).await;
    assert_eq!(stored, [before, after].concat());
}

/// "a purge or trim can never be undone by a later journal replay; a purge on a running
/// server also removes the messages from the in-memory replay tail" — after a crash
/// and after a clean stop, with the server running and stopped.
#[tokio::test]
async fn purged_and_trimmed_history_never_comes_back() {
    let s = Setup::new("");
    let (server, addr) = s.serve(0).await;
    let mut alice = Client::register_with_caps(addr, "alice", CAPS).await;
    join(&mut alice, "#x").await;
    join(&mut alice, "#y").await;
    say(&mut alice, "#x", 5).await;
    let y = say(&mut alice, "#y", 5).await;

    // Purge on the running server (through its control socket).
    let out = s.run(&["history", "purge", "--room", "#x", "--yes"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // 5 messages and alice's JOIN (history keeps events too: draft/event-playback).
    assert!(stdout(&out).contains("deleted 6 messages of #x"), "{}", stdout(&out));

    // The replay tail forgot them at once: a newcomer without chathistory gets no
    // replay of #x, and still the replay of #y.
    let mut bob = Client::register(addr, "bob").await;
    let replayed = join(&mut bob, "#x").await;
    assert!(replayed.iter().all(|m| m.command != "PRIVMSG"), "purged messages replayed: {replayed:?}");
    let replayed = join(&mut bob, "#y").await;
    assert_eq!(replayed.iter().filter(|m| m.command == "PRIVMSG").count(), 5);

    // A crash right after: the journal still held the purged messages' lines, but the
    // purge is journaled after them, so replaying cannot bring them back. `export`
    // with the server stopped applies the journal first.
    kill9(server).await;
    assert!(s.export(&["--room", "#x"]).await.is_empty(), "purged messages came back after kill -9");
    assert_eq!(s.export(&["--room", "#y"]).await, y);

    // Restart, more messages, a clean stop: the journal is left empty.
    let (server, addr) = s.serve(1).await;
    let mut alice = Client::register_with_caps(addr, "alice", CAPS).await;
    join(&mut alice, "#x").await;
    let x2 = say(&mut alice, "#x", 3).await;
    assert!(s.export(&["--room", "#x"]).await == x2, "export through the running server sees what was said");
    stop(server).await;
    assert_eq!(journal_bytes(&s.data()), 0, "a clean stop leaves the journal empty");
    let log = std::fs::read_to_string(s.stderr_file(1)).unwrap();
    assert!(!log.contains("had not finished storing"), "{log}");

    // Purge with the server stopped, then start: nothing comes back.
    let out = s.run(&["history", "purge", "--room", "#x", "--yes"]).await;
    // 3 messages and the events around them (JOINs, QUITs: draft/event-playback).
    assert!(stdout(&out).contains("deleted 5 messages"), "{}{}", stdout(&out), stderr(&out));
    let (server, addr) = s.serve(2).await;
    assert!(s.export(&["--room", "#x"]).await.is_empty(), "purged offline, back after a restart");

    // Trim through the running server, then crash: the trim holds too.
    let trim_config = s.variant("trim.toml", "[history]\nmax_per_target = 2\n");
    let out = s.run_with(&trim_config, &["history", "trim"], "").await;
    // 3 messages of #y and the events before them (history keeps JOINs too).
    assert!(stdout(&out).contains("deleted 4 messages"), "{}{}", stdout(&out), stderr(&out));
    let mut c = Client::register(addr, "carol").await;
    let replayed = join(&mut c, "#y").await;
    assert_eq!(replayed.iter().filter(|m| m.command == "PRIVMSG").count(), 2, "the replay tail was trimmed too");
    kill9(server).await;
    assert_eq!(s.export(&["--room", "#y"]).await, y[3..], "trimmed messages came back after kill -9");
}

/// Reads until EOF, recording the msgid of every PRIVMSG.
async fn record(mut rd: BufReader<OwnedReadHalf>, seen: Arc<AtomicUsize>) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut line = String::new();
    loop {
        line.clear();
        match tokio::time::timeout(Duration::from_secs(20), rd.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return ids,
            Err(_) => panic!("no EOF within 20 s of a kill"),
        }
        let m = Message::parse(line.trim_end()).unwrap_or_else(|e| panic!("unparsable {line:?}: {e}"));
        if m.command == "PRIVMSG" {
            ids.insert(m.tag("msgid").unwrap_or_else(|| panic!("no msgid: {m}")).to_string());
            seen.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes PRIVMSG bursts until told to stop or the server is gone.
async fn flood(mut wr: OwnedWriteHalf, n: usize, stop: Arc<AtomicBool>) -> usize {
    let mut written = 0;
    while !stop.load(Ordering::Relaxed) && written < 20_000 {
        let burst: String = (0..20).map(|i| format!("PRIVMSG #load :sender {n} message {}\r\n", written + i)).collect();
        if wr.write_all(burst.as_bytes()).await.is_err() {
            break;
        }
        written += 20;
        tokio::task::yield_now().await;
    }
    written
}

/// "kill -9 at random moments under load (at least 20 iterations, every delivered
/// message present afterwards, via `export` before and after the restart)".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_at_random_moments_loses_nothing_delivered() {
    const ITERATIONS: usize = 20;
    let s = Setup::new("");
    let mut delivered: HashSet<String> = HashSet::new();
    let mut written_total = 0;
    // A fixed pseudo-random sequence of kill moments, 30–330 ms into the load.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for iteration in 0..ITERATIONS {
        let (server, addr) = s.serve(iteration).await;
        let mut receiver = Client::register_with_caps(addr, "receiver", &["message-tags"]).await;
        join(&mut receiver, "#load").await;
        let mut senders = Vec::new();
        for n in 0..2 {
            let mut c = Client::register(addr, &format!("sender{n}")).await;
            join(&mut c, "#load").await;
            senders.push(c);
        }
        let seen = Arc::new(AtomicUsize::new(0));
        let stop_flag = Arc::new(AtomicBool::new(false));
        let (rd, keep) = receiver.into_parts();
        let reader = tokio::spawn(record(rd, seen.clone()));
        let floods: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(n, c)| {
                let (mut rd, wr) = c.into_parts();
                // Read what the senders get (everyone's messages), or they overflow.
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while tokio::io::AsyncReadExt::read(&mut rd, &mut buf).await.is_ok_and(|n| n > 0) {}
                });
                tokio::spawn(flood(wr, n, stop_flag.clone()))
            })
            .collect();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = Duration::from_millis(30 + x % 300);
        tokio::time::sleep(at).await;
        kill9(server).await;
        stop_flag.store(true, Ordering::Relaxed);
        for f in floods {
            written_total += f.await.unwrap();
        }
        let got = reader.await.unwrap();
        drop(keep);
        delivered.extend(got);

        // With the server still stopped, export shows everything delivered so far.
        let exported: HashSet<String> = s.export(&["--room", "#load"]).await.into_iter().collect();
        let lost = delivered.iter().filter(|id| !exported.contains(*id)).count();
        assert_eq!(lost, 0, "iteration {iteration} (kill at {at:?}): {lost} delivered messages not exported");
    }
    // And once more after a last restart and a clean stop.
    let (server, _) = s.serve(ITERATIONS).await;
    stop(server).await;
    let exported: HashSet<String> = s.export(&["--room", "#load"]).await.into_iter().collect();
    let lost = delivered.iter().filter(|id| !exported.contains(*id)).count();
    println!(
        "kill -9 x{ITERATIONS}: {written_total} written, {} delivered, {} stored, {lost} lost",
        delivered.len(),
        exported.len()
    );
    assert_eq!(lost, 0);
    assert!(delivered.len() > 1000, "too little traffic to mean anything: {}", delivered.len());
}

/// "Damaged journal: start, keep every intact record, move the damaged segment aside
/// (`journal/damaged-…`) instead of deleting it, and log a WARN with how many
/// bytes/records were skipped."
#[tokio::test]
async fn a_damaged_journal_keeps_every_intact_record_and_is_set_aside() {
    let s = Setup::new("");
    let journal = s.data().join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    let line = |id: &str| {
        serde_json::to_string(&hearth_store::StoredMessage {
            msgid: id.into(),
            time: hearth_store::Timestamp::now(),
            target: "#d".into(),
            recipient: "#d".into(),
            sender: "dana!u@h".into(),
            sender_account: None,
            command: "PRIVMSG".into(),
            tags: String::new(),
            text: format!("text of {id}"),
        })
        .unwrap()
    };
    let text = format!("{}\n{}\n{{\"msgid\":\"bro\u{1}ken\n{}\n{{\"msgid\":\"torn", line("m1"), line("m2"), line("m3"));
    std::fs::write(journal.join("journal-0.log"), text).unwrap();

    let (server, _) = s.serve(0).await;
    stop(server).await;
    assert_eq!(s.export(&["--room", "#d"]).await, ["m1", "m2", "m3"]);
    let log = std::fs::read_to_string(s.stderr_file(0)).unwrap();
    let warn = log.lines().find(|l| l.contains("WARN") && l.contains("damaged")).unwrap_or_else(|| panic!("{log}"));
    assert!(warn.contains("skipped_records=2"), "{warn}");
    let names: Vec<String> =
        std::fs::read_dir(&journal).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let aside: Vec<&String> = names.iter().filter(|n| n.starts_with("damaged-0-")).collect();
    assert_eq!(aside.len(), 1, "{names:?}");
    assert!(std::fs::read_to_string(journal.join(aside[0])).unwrap().contains("bro\u{1}ken"), "kept as it was");
}

/// "`hearth user del` disconnects the account's sessions (with a reason)".
#[tokio::test]
async fn deleting_an_account_disconnects_its_sessions() {
    let s = Setup::new("");
    let out = s.run_with(&s.config, &["user", "add", "alice", "--password-stdin"], "correct horse\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (server, addr) = s.serve(0).await;
    let mut phone = Client::login(addr, "alice", "alice", "correct horse", &[]).await;
    let mut laptop = Client::login(addr, "alice", "alice", "correct horse", &[]).await;
    let mut bob = Client::register(addr, "bob").await;
    join(&mut phone, "#c").await;
    join(&mut bob, "#c").await;

    let out = s.run(&["user", "del", "alice"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 sessions disconnected"), "{}", stdout(&out));
    for session in [&mut phone, &mut laptop] {
        let last = session.read_to_close().await;
        assert!(last.iter().any(|l| l.starts_with("ERROR") && l.contains("Account deleted")), "{last:?}");
    }
    let quit = bob.expect_cmd("QUIT").await;
    assert!(quit.params[0].contains("Account deleted"), "{quit}");
    stop(server).await;
}

/// "guest conversations (`~nick`) can be purged and exported by name".
#[tokio::test]
async fn guest_conversations_can_be_exported_and_purged_by_name() {
    let s = Setup::new("");
    let (server, addr) = s.serve(0).await;
    let mut amy = Client::register_with_caps(addr, "amy", CAPS).await;
    let _ben = Client::register(addr, "ben").await;
    let ids = say(&mut amy, "ben", 2).await;
    assert_eq!(s.export(&["--conversation", "~amy,~ben"]).await, ids);
    let out = s.run(&["history", "purge", "--conversation", "~ben,~amy", "--yes"]).await;
    assert!(stdout(&out).contains("deleted 2 messages"), "{}{}", stdout(&out), stderr(&out));
    stop(server).await;
    assert!(s.export(&["--conversation", "~amy,~ben"]).await.is_empty());
}

/// Admin commands that change data wait for nobody: with no server they lock the
/// data directory themselves, and a server that starts meanwhile is refused.
#[tokio::test]
async fn commands_without_a_server_take_the_lock() {
    let s = Setup::new("");
    let _lock = hearth::datadir::DataDirLock::acquire(&s.data()).unwrap();
    let out = s.run(&["history", "purge", "--room", "#x", "--yes"]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("pid {}", std::process::id())), "{}", stderr(&out));
    let started = Instant::now();
    let out = s.run(&["serve", "--listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0"]).await;
    assert!(!out.status.success() && started.elapsed() < Duration::from_secs(5), "{}", stderr(&out));
}

/// "Bounded memory under any load: the journal→database queue has a byte bound; when
/// it is full, senders are paced (flow control), nobody is cut off and nothing is
/// dropped." The database is stalled by another connection holding SQLite's write lock;
/// the queue is the journal file itself, and past `max_lag_mib` senders are paced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_paces_senders_and_loses_nothing() {
    use sqlx::Connection;
    let server = start_with("[flood]\nburst = 0\n[database]\nmax_lag_mib = 1\n").await;
    let pacing = server.running.as_ref().unwrap().shared.lock().pacing().expect("history is on");
    let mut rx = Client::register_with_caps(server.addr, "rx", &["message-tags"]).await;
    let mut tx = Client::register_with_caps(server.addr, "tx", CAPS).await;
    join(&mut rx, "#c").await;
    join(&mut tx, "#c").await;

    // Another process holds the database's write lock: inserts wait and fail.
    let db = server.data.path().join("hearth.db");
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut blocker).await.unwrap();

    // Over 1 MiB of journal: about 4,000 messages of 300 bytes.
    let text = "x".repeat(250);
    let total = 6_000;
    let (rd, mut wr) = tx.into_parts();
    let writer = tokio::spawn(async move {
        for i in 0..total {
            wr.write_all(format!("PRIVMSG #c :{i} {text}\r\n").as_bytes()).await.unwrap();
        }
        wr
    });
    let mut rx_ids = Vec::new();
    let started = Instant::now();
    let mut paced_seen = false;
    while rx_ids.len() < total && started.elapsed() < Duration::from_secs(60) {
        let m = rx.recv().await;
        if m.command == "PRIVMSG" {
            rx_ids.push(m.tag("msgid").unwrap().to_string());
        }
        if !paced_seen && pacing.load(Ordering::Relaxed) {
            paced_seen = true;
            // Paced, not stopped: messages keep arriving, slowly; then the database
            // comes back.
            let before = rx_ids.len();
            let m = rx.expect_cmd("PRIVMSG").await;
            rx_ids.push(m.tag("msgid").unwrap().to_string());
            assert!(rx_ids.len() > before);
            sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
        }
    }
    assert!(paced_seen, "senders were never paced although the database was stalled");
    assert_eq!(rx_ids.len(), total, "every message was delivered (nobody was cut off)");
    let mut wr = writer.await.unwrap();
    let mut tx = Client::from_parts(rd, {
        wr.flush().await.unwrap();
        wr
    });
    tx.sync().await;
    drop(blocker);
    let deadline = Instant::now() + Duration::from_secs(20);
    while pacing.load(Ordering::Relaxed) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!pacing.load(Ordering::Relaxed), "still pacing after the database came back");
    let store = hearth::app::open_store(&server.config).await.unwrap();
    let outbound_deadline = Instant::now() + Duration::from_secs(20);
    let mut stored = 0;
    while Instant::now() < outbound_deadline {
        let all = store.export("#c", hearth_store::Timestamp::MIN, hearth_store::Timestamp::MAX).await.unwrap();
        stored = all.iter().filter(|m| m.command == "PRIVMSG").count();
        if stored == total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("stalled database: {total} sent, {} delivered, {stored} stored", rx_ids.len());
    assert_eq!(stored, total, "every delivered message is stored once the database is back");
    server.shutdown().await;
}
