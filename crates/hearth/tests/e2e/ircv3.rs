//! IRCv3 capabilities, each with the semantics of its spec at ircv3.net.

use crate::harness::*;

async fn pair(a_caps: &[&str], b_caps: &[&str]) -> (TestServer, Client, Client) {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", a_caps).await;
    let mut b = Client::register_with_caps(srv.addr, "bob", b_caps).await;
    a.send("JOIN #v3").await;
    a.expect_cmd("366").await;
    b.send("JOIN #v3").await;
    b.expect_cmd("366").await;
    a.expect_cmd("JOIN").await;
    (srv, a, b)
}

#[tokio::test]
async fn echo_message_returns_the_senders_copy_with_msgid() {
    let (srv, mut a, mut b) = pair(&["echo-message", "message-tags"], &["message-tags"]).await;
    a.send("PRIVMSG #v3 :echo me").await;
    let echo = a.expect_cmd("PRIVMSG").await;
    assert_eq!(echo.params, ["#v3", "echo me"]);
    let delivered = b.expect_cmd("PRIVMSG").await;
    let id = echo.tag("msgid").expect("echo has msgid");
    assert_eq!(delivered.tag("msgid"), Some(id), "echo and delivery share the msgid");
    srv.shutdown().await;
}

#[tokio::test]
async fn server_time_tags_relayed_messages() {
    let (srv, mut a, mut b) = pair(&["server-time"], &[]).await;
    b.send("PRIVMSG #v3 :what time is it").await;
    let m = a.expect_cmd("PRIVMSG").await;
    let t = m.tag("time").expect("time tag");
    assert!(t.len() == 24 && t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
    // The plain client gets no tags at all.
    a.send("PRIVMSG #v3 :plain").await;
    let plain = b.expect_cmd("PRIVMSG").await;
    assert!(plain.tags.is_empty(), "{plain}");
    srv.shutdown().await;
}

#[tokio::test]
async fn labeled_response_single_batch_and_ack() {
    let (srv, mut a, _b) = pair(&["labeled-response", "batch", "echo-message"], &[]).await;
    // One reply: the label rides on it.
    a.send("@label=one PING :x").await;
    let pong = a.expect_cmd("PONG").await;
    assert_eq!(pong.tag("label"), Some("one"));
    // Several replies: a labeled-response batch.
    a.send("@label=two WHOIS bob").await;
    let start = a.expect_cmd("BATCH").await;
    assert_eq!(start.tag("label"), Some("two"));
    assert_eq!(start.params[1], "labeled-response");
    let id = start.params[0].trim_start_matches('+').to_string();
    let mut inside = 0;
    loop {
        let m = a.recv().await;
        if m.command == "BATCH" {
            assert_eq!(m.params[0], format!("-{id}"));
            break;
        }
        assert_eq!(m.tag("batch"), Some(id.as_str()), "{m}");
        inside += 1;
    }
    assert!(inside >= 4, "WHOIS has several replies");
    // No reply at all: ACK.
    a.send("@label=three PONG :nothing").await;
    let ack = a.expect_cmd("ACK").await;
    assert_eq!(ack.tag("label"), Some("three"));
    // The echo of a labelled PRIVMSG carries the label.
    a.send("@label=four PRIVMSG #v3 :labelled").await;
    let echo = a.expect_cmd("PRIVMSG").await;
    assert_eq!(echo.tag("label"), Some("four"));
    srv.shutdown().await;
}

#[tokio::test]
async fn client_tags_relay_only_to_message_tags_clients() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["message-tags"]).await;
    let mut b = Client::register_with_caps(srv.addr, "bob", &["message-tags"]).await;
    let mut c = Client::register(srv.addr, "carol").await;
    for cl in [&mut a, &mut b, &mut c] {
        cl.send("JOIN #tags").await;
        cl.expect_cmd("366").await;
    }
    a.send("@+draft/react=👍;+example.com/x=a\\sb;server-only=1 PRIVMSG #tags :tagged").await;
    let m = b.expect_cmd("PRIVMSG").await;
    assert_eq!(m.tag("+draft/react"), Some("👍"));
    assert_eq!(m.tag("+example.com/x"), Some("a b"));
    assert_eq!(m.tag("server-only"), None, "only client-only tags are relayed");
    assert!(m.tag("msgid").is_some());
    let plain = c.expect_cmd("PRIVMSG").await;
    assert!(plain.tags.is_empty());
    // TAGMSG reaches message-tags clients only.
    a.send("@+typing=active TAGMSG #tags").await;
    let t = b.expect_cmd("TAGMSG").await;
    assert_eq!(t.tag("+typing"), Some("active"));
    assert!(c.sync().await.iter().all(|m| m.command != "TAGMSG"));
    srv.shutdown().await;
}

#[tokio::test]
async fn away_notify_tells_channel_peers() {
    let (srv, mut a, mut b) = pair(&["away-notify"], &[]).await;
    b.send("AWAY :brb").await;
    let m = a.expect_cmd("AWAY").await;
    assert!(m.source.as_deref().unwrap().starts_with("bob!"));
    assert_eq!(m.params, ["brb"]);
    b.send("AWAY").await;
    let back = a.expect_cmd("AWAY").await;
    assert!(back.params.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn extended_join_multi_prefix_userhost_in_names() {
    let srv = start_server().await;
    let mut a =
        Client::register_with_caps(srv.addr, "alice", &["extended-join", "multi-prefix", "userhost-in-names"]).await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #x").await;
    a.expect_cmd("366").await;
    b.send("JOIN #x").await;
    let j = a.expect_cmd("JOIN").await;
    assert_eq!(j.params, ["#x", "*", "Real bob"]);
    a.send("MODE #x +v alice").await;
    a.expect_cmd("MODE").await;
    a.send("NAMES #x").await;
    let n = a.expect_cmd("353").await;
    let mut names: Vec<&str> = n.params[3].split(' ').collect();
    names.sort();
    assert_eq!(names, ["@+alice!~alice@127.0.0.1", "bob!~bob@127.0.0.1"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn setname_and_invite_notify() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["setname", "invite-notify"]).await;
    let mut b = Client::register_with_caps(srv.addr, "bob", &["setname"]).await;
    let mut c = Client::register(srv.addr, "carol").await;
    for cl in [&mut a, &mut b] {
        cl.send("JOIN #s").await;
        cl.expect_cmd("366").await;
    }
    b.send("SETNAME :Robert Tables").await;
    assert_eq!(b.expect_cmd("SETNAME").await.params, ["Robert Tables"]);
    let s = a.expect_cmd("SETNAME").await;
    assert!(s.source.as_deref().unwrap().starts_with("bob!"));
    a.send("MODE #s +o bob").await;
    a.expect_cmd("MODE").await;
    b.send("INVITE carol #s").await;
    c.expect_cmd("INVITE").await;
    let seen = a.expect_cmd("INVITE").await;
    assert_eq!(seen.params, ["carol", "#s"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn cap_ls_302_implies_cap_notify() {
    let srv = start_server().await;
    let mut a = Client::connect(srv.addr).await;
    a.send("CAP LS 302").await;
    a.expect(|m| m.command == "CAP" && m.params[2] != "*").await;
    a.send("CAP LIST").await;
    let l = a.expect_cmd("CAP").await;
    assert_eq!(l.params[1..], ["LIST".to_string(), "cap-notify".to_string()]);
    a.send("CAP FROB").await;
    a.expect_cmd("410").await;
    srv.shutdown().await;
}
