//! Registration with and without CAP, PASS, nick rules.

use crate::harness::*;

#[tokio::test]
async fn registers_without_cap_and_gets_welcome_burst() {
    let srv = start_server().await;
    let mut c = Client::connect(srv.addr).await;
    c.send("NICK alice").await;
    c.send("USER alice 0 * :Alice A").await;
    let w = c.expect_cmd("001").await;
    assert_eq!(w.params[0], "alice");
    assert!(w.params[1].contains("alice!~alice@127.0.0.1"), "{w}");
    for code in ["002", "003", "004"] {
        c.expect_cmd(code).await;
    }
    let isupport = c.expect_cmd("005").await;
    let mut tokens: Vec<String> = isupport.params.clone();
    // However many 005 lines the tokens take (13 each at most).
    loop {
        let next = c.recv().await;
        if next.command != "005" {
            break;
        }
        tokens.extend(next.params);
    }
    for want in ["CHANTYPES=#&", "PREFIX=(ov)@+", "CASEMAPPING=ascii", "UTF8ONLY"] {
        assert!(tokens.iter().any(|t| t == want), "missing {want} in {tokens:?}");
    }
    c.expect_cmd("376").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn cap_negotiation_holds_registration_until_end() {
    let srv = start_server().await;
    let mut c = Client::connect(srv.addr).await;
    c.send("CAP LS 302").await;
    c.send("NICK bob").await;
    c.send("USER bob 0 * :Bob").await;
    // CAP LS 302 may continue over several lines (`LS *`): the last one has no `*`.
    let mut offered = String::new();
    loop {
        let ls = c.expect_cmd("CAP").await;
        assert_eq!(ls.params[1], "LS");
        offered.push_str(ls.params.last().unwrap());
        if ls.params[2] != "*" {
            break;
        }
    }
    assert!(offered.contains("echo-message"));
    c.send("CAP REQ :server-time nonexistent-cap").await;
    let nak = c.expect_cmd("CAP").await;
    assert_eq!(nak.params[1], "NAK");
    c.send("CAP REQ :server-time echo-message").await;
    let ack = c.expect_cmd("CAP").await;
    assert_eq!(ack.params[1..], ["ACK".to_string(), "server-time echo-message".to_string()]);
    // Nothing registers before CAP END.
    let before = c.sync().await;
    assert!(before.iter().all(|m| m.command != "001"), "registered before CAP END: {before:?}");
    c.send("CAP LIST").await;
    let list = c.expect_cmd("CAP").await;
    assert!(list.params.last().unwrap().contains("server-time"));
    c.send("CAP END").await;
    c.expect_cmd("001").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn nickname_rules() {
    let srv = start_server().await;
    let _a = Client::register(srv.addr, "alice").await;
    let mut c = Client::connect(srv.addr).await;
    c.send("NICK ALICE").await;
    let e = c.expect_cmd("433").await;
    assert_eq!(e.params[1], "ALICE");
    c.send("NICK 9bad").await;
    c.expect_cmd("432").await;
    c.send("NICK").await;
    c.expect_cmd("431").await;
    c.send("PRIVMSG alice :hi").await;
    c.expect_cmd("451").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn server_password_is_required_when_configured() {
    let srv = start_with("[server]\npassword = \"letmein\"\n[flood]\nburst = 0\n").await;
    let mut bad = Client::connect(srv.addr).await;
    bad.send("PASS wrong").await;
    bad.send("NICK mallory").await;
    bad.send("USER m 0 * :M").await;
    bad.expect_cmd("464").await;
    let rest = bad.read_to_close().await;
    assert!(rest.last().is_some_and(|l| l.starts_with("ERROR")), "{rest:?}");

    let mut good = Client::connect(srv.addr).await;
    good.send("PASS letmein").await;
    good.send("NICK carol").await;
    good.send("USER c 0 * :C").await;
    good.expect_cmd("001").await;
    srv.shutdown().await;
}
