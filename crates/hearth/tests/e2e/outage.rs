//! A PostgreSQL outage, against the compiled binary with its log in a file:
//!
//! > PostgreSQL outage: WARN within seconds of the pool failing, chat keeps flowing
//! > through the journal, CHATHISTORY/logins answer a clear temporary failure within
//! > a few seconds instead of hanging, and everything catches up afterwards with
//! > nothing lost.
//!
//! > PostgreSQL unreachable for a while (e.g. through a TCP proxy the test controls)
//! > with nothing lost.
//!
//! The database sits behind a [`TcpProxy`]; `pause()` drops its connections and holds
//! new ones silent (a blackholed route, the hardest case: nothing fails fast).
//!
//! Also home to the helpers for running the binary with its log in a file, which
//! `diskfull.rs` shares.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hearth_proto::Message;
use hearth_store::testing::{PgSchema, TcpProxy, pg_url};
use tokio::process::{Child, Command};

use crate::harness::*;

/// Caps of the client that asks for history.
const READER_CAPS: &[&str] = &["standard-replies", "draft/chathistory", "batch", "server-time", "message-tags"];
/// Longest the outage may take to be logged as lasting (a WARN comes about 10 s after
/// the ERROR, at the next failed attempt, and one attempt takes up to 3 s).
const MAX_OUTAGE: Duration = Duration::from_secs(28);
/// How often the sender speaks during the outage.
const TICK: Duration = Duration::from_millis(500);
/// "Promptly": a message relayed through the journal, with the database down.
const PROMPT: Duration = Duration::from_secs(1);
/// "Within a few seconds instead of hanging".
const ANSWER_WITHIN: Duration = Duration::from_secs(8);

// ----- the binary, its log in a file (also used by diskfull.rs) -----

/// `hearth --config FILE serve --listen 127.0.0.1:0` with stderr (the log) going to
/// `log`; returns the process and the address it printed.
pub async fn serve_logged(config: &Path, log: &Path) -> (Child, SocketAddr) {
    serve_binary_with(config, Some(log), WAIT * 2).await
}

/// SIGTERM, then waits (boundedly) for a clean exit.
pub async fn stop(child: &mut Child, log: &Path) {
    let pid = child.id().expect("still running").to_string();
    let ok = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(ok.success(), "kill -TERM {pid}");
    let status =
        tokio::time::timeout(Duration::from_secs(15), child.wait()).await.expect("exit after SIGTERM").unwrap();
    assert!(status.success(), "{status:?}; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
}

/// `hearth --config FILE export --room ROOM --format json`: (msgid, text) per message
/// (PRIVMSG/NOTICE; joins and other events are stored too, for event-playback).
pub async fn export(config: &Path, room: &str) -> Vec<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--config")
        .arg(config)
        .args(["export", "--room", room, "--format", "json"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), out).await.expect("export finishes").expect("run export");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "export failed: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .filter(|v| matches!(v["command"].as_str(), Some("PRIVMSG" | "NOTICE")))
        .map(|v| (v["msgid"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string()))
        .collect()
}

/// Lines of the log at `level` (`ERROR`, `WARN`, `INFO`) that contain `needle`.
pub fn log_lines(log: &Path, level: &str, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines().filter(|l| l.contains(&format!(" {level} ")) && l.contains(needle)).map(str::to_string).collect()
}

/// Waits (at most `limit`) until the log has a line at `level` containing `needle`.
pub async fn wait_log(log: &Path, level: &str, needle: &str, limit: Duration) -> Option<String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(l) = log_lines(log, level, needle).into_iter().next() {
            return Some(l);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The config file text every binary test here uses, plus `extra`.
pub fn config_text(data_dir: &Path, extra: &str) -> String {
    format!(
        "data_dir = {:?}\n{extra}\n[accounts]\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n\
         [rooms]\ndefault = []\n[flood]\nburst = 0\n[log]\nlevel = \"info\"\n",
        data_dir.display().to_string()
    )
}

/// The (msgid, text) of a PRIVMSG.
pub fn said(m: &Message) -> (String, String) {
    let id = m.tag("msgid").unwrap_or_else(|| panic!("no msgid: {m}")).to_string();
    (id, m.params.last().cloned().unwrap_or_default())
}

// ----- the test -----

/// Sends `text` to #c and waits for the receiver to get it; returns it and how long
/// that took.
pub async fn relay(sender: &mut Client, receiver: &mut Client, text: &str) -> ((String, String), Duration) {
    let sent = Instant::now();
    sender.send(&format!("PRIVMSG #c :{text}")).await;
    let m = receiver.expect(|m| m.command == "PRIVMSG" && m.params.last().is_some_and(|t| t == text)).await;
    let took = sent.elapsed();
    let echo = sender.expect(|m| m.command == "PRIVMSG").await;
    assert_eq!(said(&echo), said(&m), "the echo is the message delivered");
    (said(&m), took)
}

/// `CHATHISTORY LATEST #c * 100`: the msgids, or the FAIL line.
async fn latest(reader: &mut Client) -> Result<Vec<String>, Message> {
    reader.send("CHATHISTORY LATEST #c * 100").await;
    let mut ids = Vec::new();
    let mut batch = None;
    loop {
        let m = reader.recv().await;
        match m.command.as_str() {
            "FAIL" => return Err(m),
            "BATCH" if m.params[0].starts_with('+') && m.params.get(1).is_some_and(|t| t == "chathistory") => {
                batch = Some(m.params[0][1..].to_string());
            }
            "BATCH" if batch.as_deref().is_some_and(|b| m.params[0] == format!("-{b}")) => return Ok(ids),
            "PRIVMSG" if batch.is_some() && m.tag("batch") == batch.as_deref() => ids.push(said(&m).0),
            _ => {}
        }
    }
}

/// A new connection logging in with SASL PLAIN: the reply and how long it took.
async fn try_login(addr: SocketAddr) -> (Message, Duration) {
    let mut c = Client::connect(addr).await;
    c.start_sasl("guest", &[]).await;
    let asked = Instant::now();
    c.send(&sasl_plain("guest", "password1")).await;
    let reply = tokio::time::timeout(ANSWER_WITHIN, c.expect(|m| m.command == "903" || m.command == "904"))
        .await
        .unwrap_or_else(|_| panic!("no answer to a login within {ANSWER_WITHIN:?} of the outage"));
    (reply, asked.elapsed())
}

/// The receiver gets every message promptly while PostgreSQL is unreachable; history
/// and logins fail fast and clearly; the log says ERROR at the start, WARN while it
/// lasts and INFO at the end; afterwards everything delivered is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_keeps_chat_flowing_and_loses_nothing() {
    let Some(url) = pg_url() else { return };
    let schema = PgSchema::create(&url).await;
    let (proxy, proxied) = TcpProxy::for_url(&schema.url_in_schema()).await.expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = (dir.path().join("hearth.toml"), dir.path().join("stderr.log"));
    std::fs::write(&config, config_text(&dir.path().join("data"), &format!("[database]\nurl = {proxied:?}\n")))
        .unwrap();
    let (mut child, addr) = serve_logged(&config, &log).await;

    let mut sender = Client::register_with_caps(addr, "sender", &["echo-message", "message-tags"]).await;
    let mut receiver = Client::register_with_caps(addr, "receiver", &["message-tags"]).await;
    let mut reader = Client::register_with_caps(addr, "reader", READER_CAPS).await;
    for c in [&mut sender, &mut receiver, &mut reader] {
        c.send("JOIN #c").await;
        c.expect_cmd("366").await;
    }
    let mut received = Vec::new();
    for i in 0..5 {
        received.push(relay(&mut sender, &mut receiver, &format!("before the outage {i}")).await.0);
    }
    let ids = latest(&mut reader).await.unwrap_or_else(|f| panic!("history works before the outage: {f}"));
    assert_eq!(ids.len(), 5, "history works before the outage");

    // The outage. History and a login are asked for while the sender goes on talking.
    proxy.pause();
    let paused = Instant::now();
    let history = tokio::spawn(async move {
        // After a first message of the outage, so the database is behind the journal.
        tokio::time::sleep(TICK * 2).await;
        let asked = Instant::now();
        let answer = tokio::time::timeout(ANSWER_WITHIN, latest(&mut reader))
            .await
            .unwrap_or_else(|_| panic!("CHATHISTORY hangs: no answer within {ANSWER_WITHIN:?} of the outage"));
        (answer, asked.elapsed(), reader)
    });
    let login = tokio::spawn(async move {
        tokio::time::sleep(TICK * 2).await;
        try_login(addr).await
    });
    let mut slowest = Duration::ZERO;
    let mut during = 0;
    let warned = loop {
        let (m, took) = relay(&mut sender, &mut receiver, &format!("during the outage {during}")).await;
        received.push(m);
        during += 1;
        slowest = slowest.max(took);
        assert!(took < PROMPT, "message {during} of the outage took {took:?} to arrive: chat must keep flowing");
        if let Some(w) = log_lines(&log, "WARN", "still failing after").into_iter().next() {
            break w;
        }
        assert!(
            paused.elapsed() < MAX_OUTAGE,
            "no WARN within {MAX_OUTAGE:?} of the outage; log:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        tokio::time::sleep(TICK).await;
    };
    let outage = paused.elapsed();
    let (answer, history_took, mut reader) = history.await.unwrap();
    let fail = answer.expect_err("CHATHISTORY cannot answer with the database behind and unreachable");
    assert_eq!(fail.params[..2], ["CHATHISTORY", "MESSAGE_ERROR"], "{fail}");
    let (login_reply, login_took) = login.await.unwrap();
    assert_eq!(login_reply.command, "904", "{login_reply}");
    assert!(login_reply.params.last().unwrap().contains("unavailable"), "a clear temporary failure: {login_reply}");
    let error = log_lines(&log, "ERROR", "storing history in the database");
    assert!(!error.is_empty(), "an ERROR when the fault starts; log:\n{}", std::fs::read_to_string(&log).unwrap());

    // The database comes back: history catches up by itself.
    proxy.resume();
    let resumed = Instant::now();
    let want: HashSet<&String> = received.iter().map(|(id, _)| id).collect();
    loop {
        match latest(&mut reader).await {
            Ok(ids) if ids.iter().collect::<HashSet<_>>() == want => break,
            other => assert!(
                resumed.elapsed() < Duration::from_secs(15),
                "history has not caught up 15 s after the outage: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let caught_up = resumed.elapsed();
    let info = wait_log(&log, "INFO", "works again", WAIT).await;
    let info =
        info.unwrap_or_else(|| panic!("an INFO when the fault ends; log:\n{}", std::fs::read_to_string(&log).unwrap()));
    assert!(info.contains("storing history in the database"), "{info}");

    drop((sender, receiver, reader));
    stop(&mut child, &log).await;
    let exported = export(&config, "#c").await;
    let stored: HashSet<&String> = exported.iter().map(|(id, _)| id).collect();
    let lost: Vec<&(String, String)> = received.iter().filter(|(id, _)| !stored.contains(id)).collect();
    let figures = format!(
        "{} delivered ({during} during a {outage:.1?} outage), {} stored, {} lost; slowest delivery during the \
         outage {slowest:?}; CHATHISTORY failed after {history_took:.2?}, login after {login_took:.2?}; caught up \
         {caught_up:.2?} after the outage",
        received.len(),
        stored.len(),
        lost.len()
    );
    println!("postgres outage: {figures}");
    println!("  {}\n  {warned}\n  {info}", error[0]);
    assert!(lost.is_empty(), "delivered but not stored ({figures}): {lost:?}");
    assert_eq!(stored.len(), received.len(), "nothing stored that was not delivered ({figures})");
    assert!(schema.count("messages").await >= received.len() as i64, "stored in the test's schema");
    assert!(history_took < ANSWER_WITHIN && login_took < ANSWER_WITHIN, "{figures}");
    drop(proxy);
}

/// Room changes during an outage (found while writing the test above): they used to
/// be written to the database before delivery — every JOIN of a new room or TOPIC
/// stalled everyone's messages for the 3 s pool timeout — and were dropped when the
/// write failed. Now they are journaled like messages: delivery does not wait for the
/// database, and the change is stored when it is back.
#[tokio::test]
async fn room_changes_during_an_outage_neither_stall_chat_nor_get_lost() {
    let Some(url) = pg_url() else { return };
    let schema = PgSchema::create(&url).await;
    let (proxy, proxied) = TcpProxy::for_url(&schema.url_in_schema()).await.expect("proxy");
    let dir = tempfile::tempdir().unwrap();
    let (config, log) = (dir.path().join("hearth.toml"), dir.path().join("stderr.log"));
    std::fs::write(&config, config_text(&dir.path().join("data"), &format!("[database]\nurl = {proxied:?}\n")))
        .unwrap();
    let (mut child, addr) = serve_logged(&config, &log).await;
    let mut sender = Client::register_with_caps(addr, "sender", &["echo-message", "message-tags"]).await;
    let mut receiver = Client::register_with_caps(addr, "receiver", &["message-tags"]).await;
    let mut op = Client::register(addr, "op").await;
    for c in [&mut sender, &mut receiver] {
        c.send("JOIN #c").await;
        c.expect_cmd("366").await;
    }
    proxy.pause();
    // New rooms and a topic, each a write the database cannot take now.
    op.send("JOIN #new1,#new2,#new3").await;
    op.send("TOPIC #new1 :set during the outage").await;
    op.expect(|m| m.command == "TOPIC").await;
    let (_, took) = relay(&mut sender, &mut receiver, "right after the room changes").await;
    assert!(took < Duration::from_millis(500), "a message waited {took:?} behind room changes");
    proxy.resume();
    // Everything reaches the database, and a restart finds it there.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop(&mut child, &log).await;
    let (mut child, addr) = serve_logged(&config, &log).await;
    let mut c = Client::register(addr, "later").await;
    c.send("TOPIC #new1").await;
    let topic = c.expect(|m| m.command == "332" || m.command == "331").await;
    assert_eq!(topic.command, "332", "the topic set during the outage was lost: {topic}");
    assert_eq!(topic.params.last().map(String::as_str), Some("set during the outage"));
    c.send("LIST").await;
    let mut listed = Vec::new();
    loop {
        let m = c.recv().await;
        match m.command.as_str() {
            "322" => listed.push(m.params[1].clone()),
            "323" => break,
            _ => {}
        }
    }
    assert!(listed.contains(&"#new2".to_string()), "rooms made during the outage are kept: {listed:?}");
    stop(&mut child, &log).await;
}
