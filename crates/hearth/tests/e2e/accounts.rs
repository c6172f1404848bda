//! Accounts: SASL PLAIN and PASS logins, wrong passwords and their growing delay,
//! require_login, reserved nicknames, admins as operators, REGISTER, default rooms.

use std::time::{Duration, Instant};

use crate::harness::*;

const LOGIN: &str = "[accounts]\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n";

#[tokio::test]
async fn sasl_login_then_account_everywhere() {
    let srv = start_with(LOGIN).await;
    srv.add_account("alice", "correct horse", false).await;
    srv.add_account("bob", "battery staple", false).await;
    let mut a = Client::login(srv.addr, "alice", "alice", "correct horse", &["extended-join", "account-tag"]).await;
    let mut b = Client::login(srv.addr, "bob", "bob", "battery staple", &[]).await;
    a.send("JOIN #home").await;
    a.expect_cmd("366").await;
    b.send("JOIN #home").await;
    let j = a.expect_cmd("JOIN").await;
    assert_eq!(j.params, ["#home", "bob", "Real bob"], "extended-join carries the account");
    b.send("PRIVMSG #home :hi").await;
    let m = a.expect_cmd("PRIVMSG").await;
    assert_eq!(m.tag("account"), Some("bob"));
    a.send("WHOIS bob").await;
    let acct = a.expect_cmd("330").await;
    assert_eq!(acct.params[1..3], ["bob".to_string(), "bob".to_string()]);
    srv.shutdown().await;
}

#[tokio::test]
async fn wrong_password_fails_and_repeated_failures_slow_down() {
    let srv = start_with(LOGIN).await;
    srv.add_account("alice", "correct horse", false).await;
    let mut c = Client::connect(srv.addr).await;
    c.start_sasl("alice", &[]).await;
    c.send(&sasl_plain("alice", "wrong")).await;
    c.expect_cmd("904").await;
    // Second try: delayed by at least 250 ms.
    c.send("AUTHENTICATE PLAIN").await;
    c.expect_cmd("AUTHENTICATE").await;
    let t = Instant::now();
    c.send(&sasl_plain("alice", "still wrong")).await;
    c.expect_cmd("904").await;
    assert!(t.elapsed() >= Duration::from_millis(240), "{:?}", t.elapsed());
    // The delay is per IP and per account: another client from another address,
    // another account, is not slowed down.
    srv.add_account("bob", "battery staple", false).await;
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let t = Instant::now();
    let mut other = Client::from_socket(sock, srv.addr).await;
    other.start_sasl("bob", &[]).await;
    other.send(&sasl_plain("bob", "battery staple")).await;
    other.expect_cmd("903").await;
    assert!(t.elapsed() < Duration::from_millis(240), "{:?}", t.elapsed());
    // The right password still works after failures (after the delay).
    c.send("AUTHENTICATE PLAIN").await;
    c.expect_cmd("AUTHENTICATE").await;
    c.send(&sasl_plain("alice", "correct horse")).await;
    c.expect_cmd("903").await;
    // Aborting and unknown mechanisms.
    other.send("AUTHENTICATE PLAIN").await;
    other.expect_cmd("907").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn login_is_required_and_the_client_is_told_how() {
    let srv = start_with(LOGIN).await;
    let mut c = Client::connect(srv.addr).await;
    c.send("NICK guest").await;
    c.send("USER guest 0 * :Guest").await;
    let n = c.expect_cmd("NOTICE").await;
    assert!(n.params[1].contains("needs an account") && n.params[1].contains("SASL"), "{n}");
    let rest = c.read_to_close().await;
    assert!(rest.iter().all(|l| !l.contains(" 001 ")), "must not register: {rest:?}");
    assert!(rest.last().unwrap().contains("Login required"), "{rest:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn pass_account_password_logs_in_clients_without_sasl() {
    let srv = start_with(LOGIN).await;
    srv.add_account("carol", "hunter22!", false).await;
    let mut c = Client::connect(srv.addr).await;
    c.send("PASS carol:hunter22!").await;
    c.send("NICK carol").await;
    c.send("USER carol 0 * :Carol").await;
    c.expect_cmd("900").await;
    c.expect_cmd("001").await;
    let mut bad = Client::connect(srv.addr).await;
    bad.send("PASS carol:nope").await;
    bad.send("NICK carol2").await;
    bad.send("USER carol 0 * :Carol").await;
    bad.expect_cmd("464").await;
    let rest = bad.read_to_close().await;
    assert!(rest.last().unwrap().starts_with("ERROR"), "{rest:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn nicknames_of_accounts_are_reserved() {
    let srv = start_with("").await;
    srv.add_account("alice", "correct horse", false).await;
    // A guest (login not required here) cannot register as alice…
    let mut g = Client::connect(srv.addr).await;
    g.send("NICK alice").await;
    g.send("USER g 0 * :G").await;
    let e = g.expect_cmd("433").await;
    assert!(e.params.last().unwrap().contains("another account"), "{e}");
    g.send("NICK guest").await;
    g.expect_cmd("001").await;
    // …nor change to it later.
    g.send("NICK Alice").await;
    g.expect_cmd("433").await;
    // The owner can.
    let _a = Client::login(srv.addr, "alice", "alice", "correct horse", &[]).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn admins_are_operators() {
    let srv = start_with(LOGIN).await;
    srv.add_account("root", "admin-password", true).await;
    srv.add_account("bob", "battery staple", false).await;
    let mut admin = Client::connect(srv.addr).await;
    admin.start_sasl("root", &[]).await;
    admin.send(&sasl_plain("root", "admin-password")).await;
    admin.expect_cmd("903").await;
    admin.send("CAP END").await;
    admin.expect_cmd("381").await;
    let mut b = Client::login(srv.addr, "bob", "bob", "battery staple", &[]).await;
    b.send("JOIN #b").await;
    b.expect_cmd("366").await;
    // Admins see every room, secret ones included.
    b.send("JOIN #hidden").await;
    b.expect_cmd("366").await;
    b.send("MODE #hidden +s").await;
    b.expect_cmd("MODE").await;
    admin.send("LIST").await;
    let mut listed = Vec::new();
    loop {
        let m = admin.recv().await;
        match m.command.as_str() {
            "322" => listed.push(m.params[1].clone()),
            "323" => break,
            _ => {}
        }
    }
    assert!(listed.contains(&"#hidden".to_string()), "{listed:?}");
    // Not in the channel, not its operator: an admin may still KICK.
    admin.send("KICK #b bob :admin says so").await;
    let k = b.expect_cmd("KICK").await;
    assert_eq!(k.params, ["#b", "bob", "admin says so"]);
    admin.send("KILL bob :enough").await;
    let rest = b.read_to_close().await;
    assert!(rest.iter().any(|l| l.contains("KILL bob")), "{rest:?}");
    // Ordinary users cannot KILL.
    let mut b2 = Client::login(srv.addr, "bob", "bob", "battery staple", &[]).await;
    b2.send("KILL root :no").await;
    b2.expect_cmd("481").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn open_registration_creates_accounts() {
    let srv = start_with(
        "[accounts]\nregistration = \"open\"\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n",
    )
    .await;
    let mut c = Client::connect(srv.addr).await;
    c.send("CAP LS 302").await;
    let ls = c.expect_cmd("CAP").await;
    assert!(ls.params.last().unwrap().contains("draft/account-registration=before-connect"), "{ls}");
    c.send("NICK dora").await;
    c.send("USER dora 0 * :Dora").await;
    c.send("REGISTER * * short").await;
    let weak = c.expect_cmd("FAIL").await;
    assert_eq!(weak.params[1], "WEAK_PASSWORD");
    c.send("REGISTER * * long-enough-password").await;
    let ok = c.expect_cmd("REGISTER").await;
    assert_eq!(ok.params[..2], ["SUCCESS".to_string(), "dora".to_string()]);
    c.send("CAP END").await;
    c.expect_cmd("001").await;
    // The new account logs in later with SASL.
    let _again = Client::login(srv.addr, "dora2", "dora", "long-enough-password", &[]).await;
    srv.shutdown().await;

    let closed = start_with(LOGIN).await;
    let mut c = Client::connect(closed.addr).await;
    c.send("REGISTER eve * long-enough-password").await;
    let f = c.expect_cmd("FAIL").await;
    assert_eq!(f.params[..2], ["REGISTER".to_string(), "DISALLOWED".to_string()]);
    closed.shutdown().await;
}

#[tokio::test]
async fn everyone_joins_the_default_rooms() {
    let srv = start_with(&format!("{LOGIN}[rooms]\ndefault = [\"#general\", \"#news\"]\n")).await;
    srv.add_account("alice", "correct horse", false).await;
    let mut c = Client::connect(srv.addr).await;
    c.start_sasl("alice", &[]).await;
    c.send(&sasl_plain("alice", "correct horse")).await;
    c.expect_cmd("903").await;
    c.send("CAP END").await;
    let j1 = c.expect_cmd("JOIN").await;
    assert_eq!(j1.params[0], "#general");
    let j2 = c.expect_cmd("JOIN").await;
    assert_eq!(j2.params[0], "#news");
    srv.shutdown().await;
}
