//! Authentication cannot be used to exhaust the server or lock an owner out: many
//! concurrent SASL attempts keep memory bounded, and concurrent guessing at an account
//! from other addresses delays neither its owner much nor goes unthrottled itself.
//!
//! Replies checked here, from IRCv3 SASL 3.1 (https://ircv3.net/specs/extensions/sasl-3.1):
//! "904 ERR_SASLFAIL ... Sent when the SASL authentication fails because of invalid
//! credentials or other errors not explicitly mentioned by other numerics" — both a
//! wrong password and a refusal to check now (too many pending, server busy) are 904;
//! "903 RPL_SASLSUCCESS ... Sent when the SASL authentication finishes successfully".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth_proto::Message;
use hearth_store::password::{Argon2Params, hash_password};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::harness::*;

/// The server's defaults, repeated to compute the memory bound.
const HASH_THREADS: u64 = 2;
const ARGON2_MIB: u64 = 19;

/// A connection from `127.0.0.<host>`, with CAP sasl negotiated, NICK/USER sent and
/// `AUTHENTICATE PLAIN` answered by `AUTHENTICATE +`.
async fn sasl_ready(addr: SocketAddr, host: u8, nick: &str) -> (BufReader<OwnedReadHalf>, OwnedWriteHalf) {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::from(([127, 0, 0, host], 0))).unwrap();
    let mut c = Client::from_socket(sock, addr).await;
    c.nick = nick.to_string();
    c.start_sasl(nick, &[]).await;
    c.into_parts()
}

/// Waits up to `limit` for the end of a SASL exchange: 903 (success) or 904.
async fn sasl_verdict(rd: &mut BufReader<OwnedReadHalf>, limit: Duration) -> Message {
    let deadline = tokio::time::Instant::now() + limit;
    let mut line = String::new();
    loop {
        line.clear();
        match tokio::time::timeout_at(deadline, rd.read_line(&mut line)).await {
            Err(_) => panic!("no 903/904 within {limit:?}"),
            Ok(Ok(0)) => panic!("connection closed before 903/904"),
            Ok(r) => r.expect("read"),
        };
        let m = Message::parse(line.trim_end()).unwrap_or_else(|e| panic!("unparsable {line:?}: {e}"));
        if m.command == "903" || m.command == "904" {
            return m;
        }
    }
}

/// A 904 that refuses to check now (as opposed to "wrong account or password").
fn is_refusal(m: &Message) -> bool {
    m.command == "904" && m.params.last().is_some_and(|t| t.contains("try again"))
}

/// `VmHWM` (peak resident set) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Regression (issue): 200 concurrent SASL attempts with unknown accounts, 10 addresses
/// × 20 connections, took the server from 11 MB to 3.9 GB RSS, never given back.
/// Against the real binary, so that the peak RSS measured is the server's alone, with
/// the default argon2 cost (19 MiB) and the default limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sasl_attempts_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hearth.toml");
    let text = format!("data_dir = {:?}\n[rooms]\ndefault = []\n", dir.path().join("data").display().to_string());
    std::fs::write(&config, text).unwrap();
    let (child, addr) = serve_binary(&config).await;
    let pid = child.id().expect("running");
    let started = Instant::now();

    let mut attempts = tokio::task::JoinSet::new();
    for host in 2..=11u8 {
        for n in 0..20 {
            attempts.spawn(async move {
                let nick = format!("g{host}x{n}");
                let (mut rd, mut wr) = sasl_ready(addr, host, &nick).await;
                wr.write_all(format!("{}\r\n", sasl_plain(&format!("ghost{host}x{n}"), "guess")).as_bytes())
                    .await
                    .unwrap();
                let sent = Instant::now();
                let verdict = sasl_verdict(&mut rd, Duration::from_secs(40)).await;
                (sent.elapsed(), verdict, rd, wr)
            });
        }
    }
    let (mut wrong, mut refused, mut slowest, mut keep) = (0, 0, Duration::ZERO, Vec::new());
    while let Some(done) = attempts.join_next().await {
        let (took, verdict, rd, wr) = done.expect("every attempt is answered");
        assert_eq!(verdict.command, "904", "unknown accounts never log in: {verdict}");
        if is_refusal(&verdict) {
            refused += 1
        } else {
            wrong += 1
        }
        slowest = slowest.max(took);
        keep.push((rd, wr)); // all 200 stay connected until the end
    }
    let peak_kib = peak_rss_kib(pid);
    let bound_kib = (100 + HASH_THREADS * ARGON2_MIB) * 1024;
    println!(
        "200 concurrent SASL attempts: {wrong} checked, {refused} refused (retry later); slowest answer {slowest:?}; \
         all answered {:?} after start; server peak RSS (VmHWM) {:.1} MiB, bound {} MiB",
        started.elapsed(),
        peak_kib as f64 / 1024.0,
        bound_kib / 1024
    );
    assert_eq!(wrong + refused, 200);
    assert!(wrong >= 10, "at least one check per address ran: {wrong}");
    assert!(slowest < Duration::from_secs(30), "{slowest:?}");
    assert!(peak_kib < bound_kib, "peak RSS {peak_kib} KiB is over {bound_kib} KiB");
    drop(keep);
    drop(child);
}

/// Issue: 20 concurrent wrong passwords for one account were all checked at once, and
/// the account's growing delay then made its real owner wait 30 s. Now 20 connections
/// from 127.0.0.2–5 keep guessing alice's password while alice logs in from 127.0.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_from_other_addresses_does_not_lock_the_owner_out() {
    let srv = start_with("[accounts]\nrequire_login = true\n[flood]\nburst = 0\n").await;
    // The real argon2 cost, so that checks take as long as in production.
    let store = hearth::app::open_store(&srv.config).await.unwrap();
    store.create_account("alice", &hash_password("correct horse", &Argon2Params::default())).await.unwrap();
    srv.running.as_ref().unwrap().shared.lock().set_account_names(["alice".to_string()]);

    // Every verdict an attacker got: (when, refused rather than checked?).
    let replies = Arc::new(Mutex::new(Vec::new()));
    let (addr, t0) = (srv.addr, Instant::now());
    let mut attackers = tokio::task::JoinSet::new();
    for host in 2..=5u8 {
        for n in 0..5 {
            let replies = replies.clone();
            attackers.spawn(async move {
                let (mut rd, mut wr) = sasl_ready(addr, host, &format!("x{host}y{n}")).await;
                for guess in 0.. {
                    let line = format!("{}\r\n", sasl_plain("alice", &format!("guess{n}-{guess}")));
                    wr.write_all(line.as_bytes()).await.unwrap();
                    let verdict = sasl_verdict(&mut rd, Duration::from_secs(40)).await;
                    assert_eq!(verdict.command, "904", "a guess succeeded: {verdict}");
                    replies.lock().unwrap().push((t0.elapsed(), is_refusal(&verdict)));
                    if is_refusal(&verdict) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    wr.write_all(b"AUTHENTICATE PLAIN\r\n").await.unwrap();
                    let mut next = Client::from_parts(rd, wr);
                    next.expect(|m| m.command == "AUTHENTICATE" && m.params == ["+"]).await;
                    (rd, wr) = next.into_parts();
                }
            });
        }
    }
    // Let the guessing run long enough that the old policy would have had alice wait 30 s.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut alice = Client::connect(srv.addr).await;
    alice.start_sasl("alice", &[]).await;
    let asked = Instant::now();
    alice.send(&sasl_plain("alice", "correct horse")).await;
    let (mut rd, _wr) = alice.into_parts();
    let verdict = sasl_verdict(&mut rd, Duration::from_secs(30)).await;
    let owner_took = asked.elapsed();
    let attack_time = t0.elapsed();
    attackers.abort_all();
    while let Some(ended) = attackers.join_next().await {
        if let Err(e) = ended
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    let replies = replies.lock().unwrap().clone();
    let checked: Vec<_> = replies.iter().filter(|(_, refused)| !refused).map(|(t, _)| *t).collect();
    let refused = replies.len() - checked.len();
    let at_once = checked.iter().filter(|t| **t < Duration::from_millis(200)).count();
    println!(
        "owner logged in after {owner_took:?} under attack; attackers in {attack_time:?}: {} wrong-password \
         verdicts ({at_once} within 200 ms of the start), {refused} refusals",
        checked.len()
    );
    assert_eq!(verdict.command, "903", "the owner logs in: {verdict}");
    assert!(owner_took < Duration::from_secs(5), "the owner waited {owner_took:?}");
    assert!(refused > 0, "more than max_logins_per_ip pending checks from one address are refused");
    assert!(at_once <= 4, "{at_once} of the 20 simultaneous guesses were checked at once");
    // Unthrottled, 20 connections get hundreds of guesses checked in that time (a check
    // takes tens of milliseconds); the delays leave each address a handful.
    assert!(checked.len() <= 48, "{} guesses checked in {attack_time:?}", checked.len());
    srv.shutdown().await;
}
