//! One client's commands are answered strictly in order, also when a command needs
//! asynchronous work (a history query, a password check): its later lines wait, other
//! clients never do.
//!
//! Modern IRC (modern.ircdocs.horse, "Message Processing"): "Servers MUST process
//! messages from a client in the order they are received" — and clients (and every IRC
//! test tool) rely on it by sending `PING` as an end-of-replies marker.

use std::time::{Duration, Instant};

use crate::harness::*;

const OPEN: &str =
    "[accounts]\nregistration = \"open\"\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n";

/// Everything up to the `PONG <token>`, in order.
async fn until_pong(c: &mut Client, token: &str) -> Vec<hearth_proto::Message> {
    let mut seen = Vec::new();
    loop {
        let m = c.recv().await;
        if m.command == "PONG" && m.params.last().map(String::as_str) == Some(token) {
            return seen;
        }
        seen.push(m);
    }
}

#[tokio::test]
async fn chathistory_replies_come_before_the_next_commands_replies() {
    let srv = start_server().await;
    let mut c = Client::register_with_caps(srv.addr, "ann", &["draft/chathistory", "batch", "server-time"]).await;
    c.send("JOIN #c").await;
    c.expect_cmd("366").await;
    for i in 0..5 {
        c.send(&format!("PRIVMSG #c :line {i}")).await;
    }
    c.sync().await;
    // Both in one write: the PING is read while the query may still be running.
    c.send_raw(b"CHATHISTORY LATEST #c * 10\r\nPING after-latest\r\n").await;
    let seen = until_pong(&mut c, "after-latest").await;
    assert_eq!(seen.iter().filter(|m| m.command == "PRIVMSG").count(), 5, "{seen:?}");
    let last = seen.last().expect("a batch");
    assert!(last.command == "BATCH" && last.params[0].starts_with('-'), "the batch ends before the PONG: {seen:?}");

    let now = "2100-01-01T00:00:00.000Z";
    c.send_raw(
        format!("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp={now} 10\r\nPING t\r\n").as_bytes(),
    )
    .await;
    let seen = until_pong(&mut c, "t").await;
    assert!(seen.iter().any(|m| m.command == "CHATHISTORY" && m.params[0] == "TARGETS"), "{seen:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn sasl_and_register_replies_come_before_the_next_commands_replies() {
    let srv = start_with(OPEN).await;
    srv.add_account("bea", "correct horse", false).await;
    let mut c = Client::connect(srv.addr).await;
    c.start_sasl("bea", &[]).await;
    c.send_raw(format!("{}\r\nPING after-sasl\r\n", sasl_plain("bea", "correct horse")).as_bytes()).await;
    let seen = until_pong(&mut c, "after-sasl").await;
    assert!(seen.iter().any(|m| m.command == "903"), "the login answer comes before the PONG: {seen:?}");

    let mut d = Client::connect(srv.addr).await;
    d.send("CAP LS 302").await;
    d.send("CAP REQ :draft/account-registration").await;
    d.expect(|m| m.command == "CAP" && m.params[1] == "ACK").await;
    d.send("NICK cid").await;
    d.send("USER cid 0 * :Cid").await;
    d.send_raw(b"REGISTER * * long-enough-password\r\nPING after-register\r\n").await;
    let seen = until_pong(&mut d, "after-register").await;
    assert!(seen.iter().any(|m| m.command == "REGISTER" && m.params[0] == "SUCCESS"), "{seen:?}");
    srv.shutdown().await;
}

/// "(other clients never wait)": while one client's login waits out its failure delay,
/// everyone else is answered at once.
#[tokio::test]
async fn a_waiting_client_does_not_hold_up_anyone_else() {
    let srv = start_with(OPEN).await;
    srv.add_account("dee", "correct horse", false).await;
    let mut slow = Client::connect(srv.addr).await;
    slow.start_sasl("dee", &[]).await;
    slow.send(&sasl_plain("dee", "wrong")).await;
    slow.expect_cmd("904").await;
    slow.send("AUTHENTICATE PLAIN").await;
    slow.expect_cmd("AUTHENTICATE").await;
    slow.send(&sasl_plain("dee", "wrong")).await;
    slow.expect_cmd("904").await;
    // The third attempt waits (growing delay); its PING waits with it.
    slow.send("AUTHENTICATE PLAIN").await;
    slow.expect_cmd("AUTHENTICATE").await;
    let started = Instant::now();
    slow.send_raw(format!("{}\r\nPING slow\r\n", sasl_plain("dee", "wrong")).as_bytes()).await;

    let mut other = Client::register(srv.addr, "eve").await;
    let t = Instant::now();
    other.sync().await;
    assert!(t.elapsed() < Duration::from_millis(200), "another client waited {:?}", t.elapsed());

    let seen = until_pong(&mut slow, "slow").await;
    assert!(seen.iter().any(|m| m.command == "904"), "{seen:?}");
    assert!(started.elapsed() >= Duration::from_millis(200), "the delay applied ({:?})", started.elapsed());
    srv.shutdown().await;
}
