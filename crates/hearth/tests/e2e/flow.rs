//! Flow control: a client that stops reading is cut off at its SendQ without slowing
//! anyone down, and flood control paces a fast sender without losing its lines.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hearth_proto::Message;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Notify;

use crate::harness::*;
use crate::robustness::{from, said};

/// Most lines one flooder sends before the test gives up on the SendQ ever filling.
const MAX_FLOOD_LINES: usize = 50_000;
/// Lines a flooder may be ahead of the other flooder's reading. The flooders must read
/// each other's lines as fast as they arrive — a reader that falls behind is, from the
/// server's point of view, exactly as slow as `slow`, and would rightly be cut off too.
const WINDOW: usize = 40;
const BATCH: usize = 10;

/// How many of one flooder's lines the other one has read so far.
#[derive(Default)]
struct Progress {
    heard: AtomicUsize,
    changed: Notify,
}

/// Sends `PRIVMSG #flood :<tag><i> <pad>` in batches until `stop` is set, then
/// `<tag>-done`, staying at most [`WINDOW`] lines ahead of `peer`. Returns how many
/// numbered lines were sent, and the write half (dropping it would end the session).
async fn flood(
    mut wr: OwnedWriteHalf,
    tag: &'static str,
    pad: usize,
    stop: Arc<AtomicBool>,
    peer: Arc<Progress>,
) -> (usize, OwnedWriteHalf) {
    let pad = "p".repeat(pad);
    let mut sent = 0;
    let mut batch = String::new();
    while !stop.load(Ordering::Relaxed) && sent < MAX_FLOOD_LINES {
        loop {
            let changed = peer.changed.notified();
            if sent - peer.heard.load(Ordering::Relaxed) <= WINDOW {
                break;
            }
            changed.await;
        }
        batch.clear();
        for _ in 0..BATCH {
            batch.push_str(&format!("PRIVMSG #flood :{tag}{sent} {pad}\r\n"));
            sent += 1;
        }
        wr.write_all(batch.as_bytes()).await.expect("a flooder was blocked or cut off");
    }
    wr.write_all(format!("PRIVMSG #flood :{tag}-done\r\n").as_bytes()).await.unwrap();
    (sent, wr)
}

/// What one flooder's reader saw of the other flooder and of `slow`.
struct Heard {
    /// Numbered lines from the other flooder, all in order.
    lines: usize,
    /// The QUIT reason of `slow`, if it was seen.
    slow_quit: Option<String>,
}

/// Reads everything until `<other>-done`, checking that `other`'s numbered lines arrive
/// complete and in order; sets `stop` when `slow` quits.
async fn listen(
    rd: &mut BufReader<OwnedReadHalf>,
    other: &str,
    other_tag: &str,
    stop: Arc<AtomicBool>,
    progress: Arc<Progress>,
) -> Heard {
    let mut heard = Heard { lines: 0, slow_quit: None };
    let done = format!("{other_tag}-done");
    let mut line = String::new();
    loop {
        line.clear();
        let n = rd.read_line(&mut line).await.expect("read");
        assert!(n > 0, "a flooder was disconnected");
        let m = Message::parse(line.trim_end()).unwrap();
        match m.command.as_str() {
            "PRIVMSG" if from(&m, other) => {
                let text = m.params.last().unwrap();
                if *text == done {
                    break;
                }
                let number = text[other_tag.len()..].split(' ').next().unwrap();
                assert_eq!(number, heard.lines.to_string(), "a line from {other} was lost or reordered");
                heard.lines += 1;
                progress.heard.store(heard.lines, Ordering::Relaxed);
                progress.changed.notify_one();
            }
            "QUIT" if from(&m, "slow") => {
                heard.slow_quit = Some(m.params[0].clone());
                stop.store(true, Ordering::Relaxed);
            }
            "ERROR" => panic!("the reader of {other} was disconnected after {} lines: {line}", heard.lines),
            _ => {}
        }
    }
    heard
}

#[tokio::test]
async fn sendq_overflow_disconnects_only_the_client_that_does_not_read() {
    let srv = start_with("[limits]\nsendq = 4096\n[flood]\nburst = 0\n").await;
    // A tiny receive window: otherwise the kernel buffers several MB on loopback
    // before the server-side queue even starts to fill.
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut slow = Client::from_stream(sock.connect(srv.addr).await.unwrap());
    slow.send("NICK slow").await;
    slow.send("USER slow 0 * :Slow").await;
    slow.expect_cmd("376").await;
    slow.send("JOIN #flood").await;
    slow.expect_cmd("366").await;

    let mut alice = Client::register(srv.addr, "alice").await;
    let mut bob = Client::register(srv.addr, "bob").await;
    for c in [&mut alice, &mut bob] {
        c.send("JOIN #flood").await;
        c.expect_cmd("366").await;
    }
    alice.expect(|m| m.command == "JOIN" && from(m, "bob")).await;
    // From here on `slow` reads nothing.

    let stop = Arc::new(AtomicBool::new(false));
    let (a_progress, b_progress) = (Arc::new(Progress::default()), Arc::new(Progress::default()));
    let (mut a_rd, a_wr) = alice.into_parts();
    let (mut b_rd, b_wr) = bob.into_parts();
    let started = Instant::now();
    let run = async {
        tokio::join!(
            tokio::spawn(flood(a_wr, "a", 400, stop.clone(), a_progress.clone())),
            tokio::spawn(flood(b_wr, "b", 100, stop.clone(), b_progress.clone())),
            listen(&mut a_rd, "bob", "b", stop.clone(), b_progress.clone()),
            listen(&mut b_rd, "alice", "a", stop.clone(), a_progress.clone()),
        )
    };
    let (a_sent, b_sent, a_heard, b_heard) = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the flood did not finish: someone was blocked");
    let ((a_sent, a_wr), (b_sent, b_wr)) = (a_sent.unwrap(), b_sent.unwrap());
    assert!(a_sent < MAX_FLOOD_LINES, "slow was never disconnected after {a_sent} lines");
    assert_eq!(a_heard.slow_quit.as_deref(), Some("SendQ exceeded"));
    assert_eq!(b_heard.slow_quit.as_deref(), Some("SendQ exceeded"));
    // Every line of each flooder reached the other one.
    assert_eq!(a_heard.lines, b_sent);
    assert_eq!(b_heard.lines, a_sent);
    eprintln!("sendq: alice sent {a_sent}, bob sent {b_sent} lines in {:?}", started.elapsed());

    // `slow` gets what was already in flight, then the connection ends.
    let rest = slow.read_to_close().await;
    assert!(rest.len() < a_sent + b_sent, "slow received everything: the SendQ did not apply");
    // Its backlog was dropped; once it reads again (within the linger time) it learns why.
    assert_eq!(rest.last().map(String::as_str), Some("ERROR :Closing Link: 127.0.0.1 (SendQ exceeded)"));
    // After the flood, the two still talk.
    let mut alice = Client::from_parts(a_rd, a_wr);
    let mut bob = Client::from_parts(b_rd, b_wr);
    alice.send("PRIVMSG #flood :calm again").await;
    bob.expect(|m| said(m, "alice", "calm again")).await;
    assert!(alice.sync().await.is_empty());
    srv.shutdown().await;
}

/// Registers `fast` and `watch` in `#f`.
async fn pair(srv: &TestServer) -> (Client, Client) {
    let mut fast = Client::register(srv.addr, "fast").await;
    let mut watch = Client::register(srv.addr, "watch").await;
    fast.send("JOIN #f").await;
    fast.expect_cmd("366").await;
    watch.send("JOIN #f").await;
    watch.expect_cmd("366").await;
    fast.expect(|m| m.command == "JOIN" && from(m, "watch")).await;
    (fast, watch)
}

/// `fast` sends `n` lines in one write; returns when each arrived at `watch`, checking
/// that none is lost or reordered.
async fn burst_arrivals(fast: &mut Client, watch: &mut Client, n: usize) -> Vec<Instant> {
    let batch: String = (0..n).map(|i| format!("PRIVMSG #f :line {i}\r\n")).collect();
    fast.send_raw(batch.as_bytes()).await;
    let mut times = Vec::new();
    for i in 0..n {
        let m = watch.expect_cmd("PRIVMSG").await;
        times.push(Instant::now());
        assert!(said(&m, "fast", &format!("line {i}")), "expected line {i}, got {m}");
    }
    times
}

#[tokio::test]
async fn flood_control_handles_the_burst_at_once_and_paces_the_rest() {
    let srv = start_with("[flood]\nburst = 5\nrate = 10\n").await;
    let (mut fast, mut watch) = pair(&srv).await;
    // Registering and joining used tokens; a clock is the only way to refill the bucket
    // (5 tokens at 10 per second).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let times = burst_arrivals(&mut fast, &mut watch, 25).await;
    let since_first = |i: usize| times[i] - times[0];
    assert!(since_first(4) < Duration::from_millis(80), "the burst was paced: {:?}", since_first(4));
    assert!(since_first(5) >= Duration::from_millis(50), "line 6 was not paced: {:?}", since_first(5));
    // 20 paced lines at 10 per second.
    let total = since_first(24);
    assert!(total >= Duration::from_millis(1500), "not paced: all 25 lines within {total:?}");
    assert!(total < Duration::from_millis(3500), "paced too slowly: {total:?}");
    // The paced client is still connected and in order.
    assert!(fast.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn flood_control_off_paces_nothing() {
    let srv = start_with("[flood]\nburst = 0\nrate = 1\n").await;
    let (mut fast, mut watch) = pair(&srv).await;
    let times = burst_arrivals(&mut fast, &mut watch, 200).await;
    let total = times[199] - times[0];
    assert!(total < Duration::from_millis(500), "paced with flood control off: {total:?}");
    assert!(fast.sync().await.is_empty());
    srv.shutdown().await;
}
