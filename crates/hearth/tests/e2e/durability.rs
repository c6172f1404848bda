//! The core promise of history, against the compiled binary: whatever anyone received
//! was stored, even when the server is killed with SIGKILL in the middle of heavy
//! traffic; and the database opens again afterwards.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_proto::Message;
use hearth_store::Timestamp;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::Child;

use crate::harness::*;

const SENDERS: usize = 3;
/// Bounds on the load: messages in total, and time.
const MAX_MESSAGES: usize = 20_000;
const MAX_LOAD: Duration = Duration::from_secs(10);
/// The kill comes once the receiver has seen this many messages, or after
/// `KILL_AFTER`, whichever is first: while the senders are still sending.
const KILL_AT: usize = 6_000;
const KILL_AFTER: Duration = Duration::from_millis(1500);
const BURST: usize = 50;

/// `kill -<signal> <pid>` (the test crate forbids the unsafe `libc::kill`).
fn signal(child: &Child, signal: &str) {
    let pid = child.id().expect("still running").to_string();
    let ok = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap();
    assert!(ok.success(), "kill -{signal} {pid}");
}

/// Reads until EOF (or a reset), recording the msgid of every PRIVMSG; counts them in
/// `seen` as they come.
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

/// Writes PRIVMSGs in bursts until told to stop, the shared budget is spent, time is
/// up or the server is gone.
async fn flood(mut wr: OwnedWriteHalf, n: usize, budget: Arc<AtomicUsize>, stop: Arc<AtomicBool>) -> usize {
    let started = Instant::now();
    let mut written = 0;
    while !stop.load(Ordering::Relaxed) && started.elapsed() < MAX_LOAD {
        if budget.fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| b.checked_sub(BURST)).is_err() {
            break;
        }
        let burst: String =
            (0..BURST).map(|i| format!("PRIVMSG #load :sender {n} message {}\r\n", written + i)).collect();
        if wr.write_all(burst.as_bytes()).await.is_err() {
            break;
        }
        written += BURST;
    }
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn everything_delivered_before_kill_9_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    let text = format!(
        "data_dir = {:?}\n[accounts]\nrequire_login = false\n[rooms]\ndefault = []\n[flood]\nburst = 0\n",
        dir.path().join("data").display().to_string()
    );
    std::fs::write(&config, &text).unwrap();
    let (mut child, addr) = serve_binary(&config).await;

    let mut clients = vec![Client::register_with_caps(addr, "receiver", &["message-tags"]).await];
    for n in 0..SENDERS {
        clients.push(Client::register_with_caps(addr, &format!("sender{n}"), &["echo-message", "message-tags"]).await);
    }
    for c in &mut clients {
        c.send("JOIN #load").await;
        c.expect_cmd("366").await;
    }
    let received = Arc::new(AtomicUsize::new(0));
    let (budget, stop) = (Arc::new(AtomicUsize::new(MAX_MESSAGES)), Arc::new(AtomicBool::new(false)));
    let (mut readers, mut senders, mut keep) = (Vec::new(), Vec::new(), Vec::new());
    for (n, c) in clients.into_iter().enumerate() {
        let (rd, wr) = c.into_parts();
        let seen = if n == 0 { received.clone() } else { Arc::new(AtomicUsize::new(0)) };
        readers.push(tokio::spawn(record(rd, seen)));
        if n == 0 {
            keep.push(wr);
        } else {
            senders.push(tokio::spawn(flood(wr, n, budget.clone(), stop.clone())));
        }
    }

    let started = Instant::now();
    while received.load(Ordering::Relaxed) < KILL_AT && started.elapsed() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    signal(&child, "KILL");
    let killed_at = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let status = child.wait().await.unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{status:?}");
    let mut written = 0;
    for s in senders {
        written += s.await.unwrap();
    }
    let mut seen: HashSet<String> = HashSet::new();
    for r in readers {
        seen.extend(r.await.unwrap());
    }
    drop(keep);

    // The server starts again on what kill -9 left: it applies its history journal
    // to the database, and the history is complete.
    let (mut child, addr) = serve_binary(&config).await;
    let mut c = Client::register_with_caps(addr, "reader", &["draft/chathistory", "batch", "message-tags"]).await;
    c.send("JOIN #load").await;
    c.expect_cmd("366").await;
    c.send("CHATHISTORY LATEST #load * 1000").await;
    let mut replayed = Vec::new();
    loop {
        let m = c.recv().await;
        match m.command.as_str() {
            "PRIVMSG" => replayed.push(m.tag("msgid").unwrap().to_string()),
            "BATCH" if m.params[0].starts_with('-') => break,
            _ => {}
        }
    }
    signal(&child, "TERM");
    c.read_to_close().await;
    let status = tokio::time::timeout(WAIT, child.wait()).await.expect("exit after SIGTERM").unwrap();
    assert!(status.success(), "{status:?}");

    let cfg = hearth::config::FileConfig::load(&config).unwrap();
    let store = hearth::app::open_store(&cfg).await.expect("the database opens after kill -9");
    let stored: HashSet<String> = store
        .export("#load", Timestamp::MIN, Timestamp::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.command == "PRIVMSG")
        .map(|m| m.msgid)
        .collect();
    drop(store);
    let lost: Vec<&String> = seen.iter().filter(|id| !stored.contains(*id)).collect();
    let figures = format!(
        "{written} written, {} received by anyone, {} stored, killed after {killed_at:?}",
        seen.len(),
        stored.len()
    );
    println!("kill -9: {figures}");
    assert!(
        lost.is_empty(),
        "{} received but not stored ({figures}), e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    assert!(seen.len() >= 200, "too little traffic to mean anything: {figures}");
    assert!(written > seen.len(), "the kill must land while messages are in flight: {figures}");
    assert!(replayed.iter().all(|id| stored.contains(id)), "CHATHISTORY returned only stored messages");
    assert_eq!(replayed.len(), stored.len().min(1000), "CHATHISTORY sees the whole recovered history");
}
