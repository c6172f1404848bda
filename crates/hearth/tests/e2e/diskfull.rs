//! A full disk, against the compiled binary whose data directory is a small tmpfs:
//!
//! > disk full on a small tmpfs (CI runs as root; skip with a message where mounting
//! > is not allowed) with recovery
//!
//! > when the journal itself cannot be written, the message is not delivered: the
//! > sender gets FAIL PRIVMSG TEMPORARILY_UNAVAILABLE … and nothing is acknowledged
//! > that is not durable; everything recovers by itself when space comes back, with an
//! > ERROR when the fault starts, WARN while it lasts and INFO when it ends, each with
//! > counts.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::outage::{config_text, export, relay, said, serve_logged, stop, wait_log};

/// Small enough to fill in a moment, large enough for the database and the journal.
const TMPFS_SIZE: &str = "size=4m";
/// A lasting fault is logged again after 10 s (`hearth_core::fault::REPEAT`).
const REPEAT: Duration = Duration::from_secs(10);

/// A tmpfs mounted on a fresh temporary directory, unmounted when dropped (also when
/// the test panics).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying the test is skipped) where mounting is not allowed.
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            println!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let umount = |lazy: bool| {
            let mut cmd = std::process::Command::new("umount");
            if lazy {
                // A killed server may still hold files open for a moment.
                cmd.arg("-l");
            }
            cmd.arg(self.dir.path()).status().is_ok_and(|s| s.success())
        };
        if !umount(false) && !umount(true) {
            eprintln!("warning: could not unmount {}", self.dir.path().display());
        }
    }
}

/// Writes 64 KiB chunks to `path` until the file system is full; returns the bytes
/// written.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("create the ballast file");
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
        assert!(written < 64 * 1024 * 1024, "the tmpfs does not fill up");
    }
    written
}

/// Bytes in the journal's segment files.
fn journal_bytes(data: &Path) -> u64 {
    let Ok(dir) = std::fs::read_dir(data.join("journal")) else { return 0 };
    dir.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()
}

/// Sends `text` to #c while the disk is full and returns the refusal it gets: no echo
/// comes first, nor after it.
async fn refused(sender: &mut Client, text: &str) -> hearth_proto::Message {
    let echo = |m: &hearth_proto::Message| m.command == "PRIVMSG" && m.params.last().is_some_and(|t| t == text);
    sender.send(&format!("PRIVMSG #c :{text}")).await;
    let reply = sender.expect(|m| matches!(m.command.as_str(), "FAIL" | "404") || echo(m)).await;
    let later = sender.sync().await;
    assert!(!later.iter().any(echo), "{}: an echo after the refusal: {later:?}", sender.nick);
    reply
}

/// Messages sent while the journal cannot be written are refused (never delivered,
/// never echoed, never exported); when space comes back the server works again by
/// itself, and everything delivered before and after is exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_messages_and_recovers_by_itself() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let data = tmpfs.path().to_path_buf();
    // Config and log outside the tmpfs: the log must not compete for the space.
    let outside = tempfile::tempdir().unwrap();
    let (config, log) = (outside.path().join("hearth.toml"), outside.path().join("stderr.log"));
    std::fs::write(&config, config_text(&data, "")).unwrap();
    let (mut child, addr) = serve_logged(&config, &log).await;

    let caps = ["standard-replies", "echo-message", "message-tags"];
    let mut sender = Client::register_with_caps(addr, "sender", &caps).await;
    let mut receiver = Client::register_with_caps(addr, "receiver", &["message-tags"]).await;
    // Without standard-replies the refusal is the numeric 404.
    let mut plain = Client::register(addr, "plain").await;
    let mut reader = Client::register_with_caps(addr, "reader", &["batch", "draft/chathistory"]).await;
    for c in [&mut sender, &mut receiver, &mut plain, &mut reader] {
        c.send("JOIN #c").await;
        c.expect_cmd("366").await;
    }
    let mut received = Vec::new();
    for i in 0..3 {
        received.push(relay(&mut sender, &mut receiver, &format!("before the disk fills {i}")).await.0);
    }
    // Once the database has them the journal is emptied: no page of it is left
    // with room for one more line. The inserter lingers (up to 5 s, as long as WAIT)
    // for more messages; a history read makes it store them now.
    reader.send("CHATHISTORY LATEST #c * 5").await;
    reader.expect(|m| m.command == "BATCH" && m.params[0].starts_with('-')).await;
    let deadline = Instant::now() + WAIT;
    while journal_bytes(&data) > 0 {
        assert!(Instant::now() < deadline, "the journal is not emptied once stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let ballast = data.join("ballast");
    let filled = fill(&ballast);
    let full_at = Instant::now();
    let mut refused_texts = Vec::new();
    for i in 0..3 {
        let text = format!("while the disk is full {i}");
        let reply = refused(&mut sender, &text).await;
        assert_eq!(reply.command, "FAIL", "refused, not delivered: {reply}");
        assert_eq!(reply.params[..3], ["PRIVMSG", "TEMPORARILY_UNAVAILABLE", "#c"], "{reply}");
        refused_texts.push(text);
    }
    let text = "plain client while the disk is full".to_string();
    let reply = refused(&mut plain, &text).await;
    assert_eq!(reply.command, "404", "the numeric for clients without standard-replies: {reply}");
    assert_eq!(reply.params[..2], ["plain", "#c"], "{reply}");
    refused_texts.push(text);
    let error = wait_log(&log, "ERROR", "appending to the history journal", WAIT).await;
    let error = error.unwrap_or_else(|| panic!("an ERROR when the fault starts; log:\n{}", read(&log)));

    // Still full a while later: the fault is reported again, with a count.
    tokio::time::sleep(REPEAT.saturating_sub(full_at.elapsed()) + Duration::from_millis(200)).await;
    let text = "still full".to_string();
    let reply = refused(&mut sender, &text).await;
    assert_eq!(reply.command, "FAIL", "{reply}");
    refused_texts.push(text);
    let warn = wait_log(&log, "WARN", "still failing after", WAIT).await;
    let warn = warn.unwrap_or_else(|| panic!("a WARN while the fault lasts; log:\n{}", read(&log)));
    let n = refused_texts.len();
    assert!(warn.contains(&format!("({n} messages refused so far)")), "{warn}");
    let between = receiver.sync().await;
    assert!(!between.iter().any(|m| m.command == "PRIVMSG"), "the receiver got a refused message: {between:?}");

    // Space comes back: the next messages go through, no restart needed.
    std::fs::remove_file(&ballast).unwrap();
    let freed_after = full_at.elapsed();
    for i in 0..3 {
        received.push(relay(&mut sender, &mut receiver, &format!("after space came back {i}")).await.0);
    }
    let info = wait_log(&log, "INFO", "works again", WAIT).await;
    let info = info.unwrap_or_else(|| panic!("an INFO when the fault ends; log:\n{}", read(&log)));
    assert!(info.contains("appending to the history journal"), "{info}");
    assert!(info.contains(&format!("({n} messages refused during the fault)")), "{info}");

    drop((sender, receiver, plain, reader));
    stop(&mut child, &log).await;
    let exported = export(&config, "#c").await;
    let stored: HashSet<&String> = exported.iter().map(|(id, _)| id).collect();
    let lost: Vec<&(String, String)> = received.iter().filter(|(id, _)| !stored.contains(id)).collect();
    let leaked: Vec<&(String, String)> = exported.iter().filter(|(_, t)| refused_texts.contains(t)).collect();
    let figures = format!(
        "{} delivered, {} stored, {} refused, {} lost, {} refused but stored; ballast {filled} bytes, disk full \
         for {freed_after:.1?}",
        received.len(),
        exported.len(),
        refused_texts.len(),
        lost.len(),
        leaked.len()
    );
    println!("disk full: {figures}");
    println!("  {error}\n  {warn}\n  {info}");
    assert!(lost.is_empty(), "delivered but not exported ({figures}): {lost:?}");
    assert!(leaked.is_empty(), "refused but exported ({figures}): {leaked:?}");
    assert_eq!(exported.len(), received.len(), "nothing else stored ({figures})");
    drop(tmpfs);
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Regression test for a loss found while writing the test above: the disk fills
/// while the journal's last page still has room, so messages are journaled and
/// delivered but SQLite's insert fails with SQLITE_FULL. The write connection used to
/// stay inside a transaction that was never committed: later inserts "succeeded", the
/// journal was emptied, and everything delivered was gone when the server stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_full_while_the_journal_writes_loses_nothing_delivered() {
    let Some(tmpfs) = Tmpfs::mount() else { return };
    let data = tmpfs.path().to_path_buf();
    let outside = tempfile::tempdir().unwrap();
    let (config, log) = (outside.path().join("hearth.toml"), outside.path().join("stderr.log"));
    std::fs::write(&config, config_text(&data, "")).unwrap();
    let (mut child, addr) = serve_logged(&config, &log).await;
    let caps = ["standard-replies", "echo-message", "message-tags"];
    let mut sender = Client::register_with_caps(addr, "sender", &caps).await;
    let mut receiver = Client::register_with_caps(addr, "receiver", &["message-tags"]).await;
    let mut reader = Client::register_with_caps(addr, "reader", &["batch", "draft/chathistory"]).await;
    for c in [&mut sender, &mut receiver, &mut reader] {
        c.send("JOIN #c").await;
        c.expect_cmd("366").await;
    }
    let mut received = vec![relay(&mut sender, &mut receiver, "first").await.0];
    // Full, but for one page: the next journal append takes it, leaving room for a
    // dozen more lines, while SQLite finds no space for its write-ahead log (the
    // inserter lingers, up to 5 s, until a reader hurries it: see below).
    let ballast = data.join("ballast");
    let filled = fill(&ballast);
    std::fs::OpenOptions::new().write(true).open(&ballast).unwrap().set_len(filled - 4096).unwrap();
    let mut refused_n = 0;
    for i in 0..40 {
        let text = format!("message {i} {}", "x".repeat(100));
        let echo = |m: &hearth_proto::Message| m.command == "PRIVMSG" && m.params.last() == Some(&text);
        sender.send(&format!("PRIVMSG #c :{text}")).await;
        if sender.expect(|m| m.command == "FAIL" || echo(m)).await.command == "FAIL" {
            refused_n += 1;
        } else {
            received.push(said(&receiver.expect(echo).await));
        }
    }
    // A history reader makes the inserter store now, into the full disk; the answer is
    // FAIL (the database cannot catch up) or the batch.
    reader.send("CHATHISTORY LATEST #c * 5").await;
    let answer = reader.expect(|m| m.command == "FAIL" || (m.command == "BATCH" && m.params[0].starts_with('-'))).await;
    println!("history read while the disk is full: {answer}");
    // The inserter retries while the disk is still full.
    tokio::time::sleep(Duration::from_secs(3)).await;
    std::fs::remove_file(&ballast).unwrap();
    for i in 0..3 {
        received.push(relay(&mut sender, &mut receiver, &format!("after space came back {i}")).await.0);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    drop((sender, receiver, reader));
    stop(&mut child, &log).await;
    let exported = export(&config, "#c").await;
    let stored: HashSet<&String> = exported.iter().map(|(id, _)| id).collect();
    let lost = received.iter().filter(|(id, _)| !stored.contains(id)).count();
    let figures = format!("{} delivered, {refused_n} refused, {} stored, {lost} lost", received.len(), exported.len());
    println!("database full: {figures}");
    assert!(received.len() > 4, "the journal had no room left: the case was not reached ({figures})");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().any(|l| l.contains("ERROR") && l.contains("storing history in the database")),
        "the database never ran out of space: the case was not reached ({figures}); log:\n{text}"
    );
    assert_eq!(lost, 0, "delivered but not stored ({figures}); log:\n{text}");
    drop(tmpfs);
}
