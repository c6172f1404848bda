//! Timeouts and connection limits: PING timeout, registration timeout, per-IP and
//! total connection limits.

use std::time::{Duration, Instant};

use crate::harness::*;
use crate::robustness::{from, said, wait_answering_pings};

const FAST_PING: &str = "[timeouts]\nping_interval = 0.3\nping_timeout = 0.3\n[flood]\nburst = 0\n";

/// Registers `nick` and joins `#t`.
async fn member(srv: &TestServer, nick: &str) -> Client {
    let mut c = Client::register(srv.addr, nick).await;
    c.send("JOIN #t").await;
    c.expect_cmd("366").await;
    c
}

#[tokio::test]
async fn unanswered_ping_disconnects_and_peers_see_ping_timeout() {
    let srv = start_with(FAST_PING).await;
    let mut idle = member(&srv, "idle").await;
    let mut awake = member(&srv, "awake").await;
    idle.expect(|m| m.command == "JOIN" && from(m, "awake")).await;
    let started = Instant::now();
    let idle_side = async {
        let ping = idle.expect(|_| true).await;
        assert_eq!(ping.command, "PING", "{ping}");
        assert_eq!(ping.params, ["hearth.local"]);
        let rest = idle.read_to_close().await;
        let last = rest.last().cloned().unwrap_or_default();
        assert!(last.starts_with("ERROR :") && last.contains("Ping timeout"), "{rest:?}");
    };
    let mut seen = Vec::new();
    let awake_side = wait_answering_pings(&mut awake, &mut seen, |m| m.command == "QUIT" && from(m, "idle"));
    tokio::join!(idle_side, awake_side);
    let quit = seen.iter().find(|m| m.command == "QUIT").unwrap();
    assert!(quit.params[0].starts_with("Ping timeout"), "{quit}");
    // PING after 0.3 s of silence, disconnect 0.3 s later.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(3), "{took:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn answering_pings_keeps_a_client_connected_past_several_intervals() {
    let srv = start_with(FAST_PING).await;
    let mut awake = member(&srv, "awake").await;
    let mut other = member(&srv, "other").await;
    awake.expect(|m| m.command == "JOIN" && from(m, "other")).await;
    let started = Instant::now();
    let awake_side = async {
        // Four PINGs answered: more than four intervals of 0.3 s.
        for _ in 0..4 {
            let m = awake.recv().await;
            assert_eq!(m.command, "PING", "{m}");
            awake.send(&format!("PONG :{}", m.params[0])).await;
        }
        assert!(started.elapsed() >= Duration::from_millis(1200), "{:?}", started.elapsed());
        assert!(awake.sync().await.is_empty());
        awake.send("PRIVMSG #t :four pings answered").await;
    };
    // `other` answers its PINGs too, so that it is still there to talk to afterwards.
    let mut seen = Vec::new();
    let other_side = wait_answering_pings(&mut other, &mut seen, |m| said(m, "awake", "four pings answered"));
    tokio::join!(awake_side, other_side);
    assert!(seen.iter().all(|m| m.command != "QUIT"), "{seen:?}");
    other.send("PRIVMSG #t :still there?").await;
    wait_answering_pings(&mut awake, &mut Vec::new(), |m| said(m, "other", "still there?")).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn registration_timeout_closes_connections_that_never_register() {
    let srv = start_with("[timeouts]\nregistration = 0.5\n[flood]\nburst = 0\n").await;
    let started = Instant::now();
    let mut silent = Client::connect(srv.addr).await;
    // Half a registration: NICK and USER but a CAP negotiation that never ends.
    let mut capper = Client::connect(srv.addr).await;
    capper.send("CAP LS 302").await;
    capper.send("NICK capper").await;
    capper.send("USER capper 0 * :C").await;
    let mut quick = Client::register(srv.addr, "quick").await;
    let (silent_lines, capper_lines) = tokio::join!(silent.read_to_close(), capper.read_to_close());
    let took = started.elapsed();
    for lines in [&silent_lines, &capper_lines] {
        let last = lines.last().cloned().unwrap_or_default();
        assert!(last.starts_with("ERROR :") && last.contains("Registration timed out"), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains(" 001 ")), "{lines:?}");
    }
    assert!(took >= Duration::from_millis(450) && took < Duration::from_secs(3), "{took:?}");
    // The client that registered in time outlived the registration deadline.
    assert!(quick.sync().await.is_empty());
    srv.shutdown().await;
}

/// Connects and reads what a refused connection gets: one ERROR line, then EOF.
async fn refused(srv: &TestServer, greet_first: bool) -> Vec<String> {
    let mut c = Client::connect(srv.addr).await;
    if greet_first {
        // A real client sends its registration before reading anything.
        c.send("NICK late").await;
        c.send("USER late 0 * :L").await;
    }
    c.read_to_close().await
}

/// Registers `nick`, retrying while the server still counts a connection that was
/// just closed (its slot is released when the server-side task ends, which may be a
/// moment after the client sees EOF).
async fn register_when_slot_frees(srv: &TestServer, nick: &str) -> Client {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut c = Client::connect(srv.addr).await;
        c.send(&format!("NICK {nick}")).await;
        c.send(&format!("USER {nick} 0 * :{nick}")).await;
        let first = c.recv_line().await.unwrap_or_default();
        if !first.starts_with("ERROR") {
            c.expect_cmd("376").await;
            c.nick = nick.to_string();
            return c;
        }
        assert!(Instant::now() < deadline, "the slot was never released: {first}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn per_ip_limit_refuses_the_third_connection_and_frees_slots_on_close() {
    let srv = start_with("[limits]\nmax_per_ip = 2\n[flood]\nburst = 0\n").await;
    let mut one = member(&srv, "one").await;
    let mut two = member(&srv, "two").await;
    one.expect(|m| m.command == "JOIN" && from(m, "two")).await;
    for greet_first in [false, true] {
        let lines = refused(&srv, greet_first).await;
        assert_eq!(lines, ["ERROR :Too many connections from your address"], "greet_first={greet_first}");
    }
    // The refusals did not disturb the admitted clients.
    assert!(one.sync().await.is_empty());
    one.send("QUIT :bye").await;
    one.read_to_close().await;
    two.expect(|m| m.command == "QUIT" && from(m, "one")).await;
    let mut three = register_when_slot_frees(&srv, "three").await;
    three.send("JOIN #t").await;
    two.expect(|m| m.command == "JOIN" && from(m, "three")).await;
    // Full again.
    assert_eq!(refused(&srv, false).await, ["ERROR :Too many connections from your address"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn total_connection_limit_refuses_when_full() {
    let srv = start_with("[limits]\nmax_clients = 2\n[flood]\nburst = 0\n").await;
    let mut one = member(&srv, "one").await;
    let _two = member(&srv, "two").await;
    assert_eq!(refused(&srv, true).await, ["ERROR :Server is full, try again later"]);
    one.send("QUIT").await;
    one.read_to_close().await;
    register_when_slot_frees(&srv, "three").await;
    srv.shutdown().await;
}
