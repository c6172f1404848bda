//! WHO (and WHOX), WHOIS, NAMES, ISON, USERHOST, AWAY, LUSERS, MOTD, VERSION, TIME.

use crate::harness::*;

async fn two_in_channel() -> (TestServer, Client, Client) {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #q").await;
    a.expect_cmd("366").await;
    b.send("JOIN #q").await;
    b.expect_cmd("366").await;
    (srv, a, b)
}

#[tokio::test]
async fn who_and_whox() {
    let (srv, mut a, _b) = two_in_channel().await;
    a.send("WHO #q").await;
    let mut rows = Vec::new();
    loop {
        let m = a.recv().await;
        match m.command.as_str() {
            "352" => rows.push(m),
            "315" => break,
            _ => {}
        }
    }
    rows.sort_by(|x, y| x.params[5].cmp(&y.params[5]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].params[1..7], ["#q", "~alice", "127.0.0.1", "hearth.local", "alice", "H@"]);
    assert_eq!(rows[0].params[7], "0 Real alice");
    assert_eq!(rows[1].params[6], "H");
    a.send("WHO bob %tnuhcfar,7").await;
    let x = a.expect_cmd("354").await;
    assert_eq!(x.params[1..], ["7", "*", "~bob", "127.0.0.1", "bob", "H", "0", "Real bob"]);
    a.expect_cmd("315").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn whois_shows_user_channels_idle_and_away() {
    let (srv, mut a, mut b) = two_in_channel().await;
    b.send("AWAY :lunch").await;
    b.expect_cmd("306").await;
    a.send("WHOIS bob").await;
    let user = a.expect_cmd("311").await;
    assert_eq!(user.params[1..], ["bob", "~bob", "127.0.0.1", "*", "Real bob"]);
    let chans = a.expect_cmd("319").await;
    assert_eq!(chans.params[2], "#q");
    a.expect_cmd("312").await;
    let away = a.expect_cmd("301").await;
    assert_eq!(away.params[2], "lunch");
    a.expect_cmd("317").await;
    a.expect_cmd("318").await;
    a.send("WHOIS ghost").await;
    a.expect_cmd("401").await;
    a.expect_cmd("318").await;
    // PRIVMSG to an away user tells the sender.
    a.send("PRIVMSG bob :you there?").await;
    assert_eq!(a.expect_cmd("301").await.params[2], "lunch");
    b.send("AWAY").await;
    b.expect_cmd("305").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn names_ison_userhost() {
    let (srv, mut a, _b) = two_in_channel().await;
    a.send("NAMES #q").await;
    let n = a.expect_cmd("353").await;
    assert_eq!(n.params[1..3], ["=", "#q"]);
    let mut names: Vec<&str> = n.params[3].split(' ').collect();
    names.sort();
    assert_eq!(names, ["@alice", "bob"]);
    a.expect_cmd("366").await;
    a.send("ISON bob ghost alice").await;
    assert_eq!(a.expect_cmd("303").await.params[1], "bob alice");
    a.send("USERHOST bob").await;
    assert_eq!(a.expect_cmd("302").await.params[1], "bob=+~bob@127.0.0.1");
    srv.shutdown().await;
}

#[tokio::test]
async fn informational_commands() {
    let srv = start_with("[server]\nmotd = \"line one\\nline two\"\n").await;
    let mut a = Client::register(srv.addr, "alice").await;
    a.send("MOTD").await;
    a.expect_cmd("375").await;
    assert_eq!(a.expect_cmd("372").await.params[1], "- line one");
    assert_eq!(a.expect_cmd("372").await.params[1], "- line two");
    a.expect_cmd("376").await;
    a.send("LUSERS").await;
    assert!(a.expect_cmd("251").await.params[1].contains("There are 1 users"));
    a.send("VERSION").await;
    assert!(a.expect_cmd("351").await.params[1].starts_with("hearth-"));
    a.expect_cmd("005").await;
    a.send("TIME").await;
    a.expect_cmd("391").await;
    a.send("PING :are you there").await;
    let pong = a.expect_cmd("PONG").await;
    assert_eq!(pong.params, ["hearth.local", "are you there"]);
    a.send("MODE alice +i").await;
    assert_eq!(a.expect_cmd("MODE").await.params, ["alice", "+i"]);
    a.send("MODE alice").await;
    assert_eq!(a.expect_cmd("221").await.params[1], "+i");
    a.send("MODE bob +i").await;
    a.expect_cmd("401").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn private_messages_between_two_users() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("PRIVMSG bob :psst").await;
    let m = b.expect_cmd("PRIVMSG").await;
    assert_eq!(m.source.as_deref(), Some("alice!~alice@127.0.0.1"));
    assert_eq!(m.params, ["bob", "psst"]);
    b.send("NOTICE alice :heard you").await;
    assert_eq!(a.expect_cmd("NOTICE").await.params, ["alice", "heard you"]);
    a.send("PRIVMSG nobody :hello").await;
    a.expect_cmd("401").await;
    a.send("PRIVMSG bob").await;
    a.expect_cmd("412").await;
    a.send("PRIVMSG").await;
    a.expect_cmd("411").await;
    // NOTICE never provokes an error reply.
    a.send("NOTICE nobody :hello").await;
    assert!(a.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn nick_change_and_quit_reach_channel_peers() {
    let (srv, mut a, mut b) = two_in_channel().await;
    b.send("NICK robert").await;
    let n = a.expect_cmd("NICK").await;
    assert_eq!(n.source.as_deref(), Some("bob!~bob@127.0.0.1"));
    assert_eq!(n.params, ["robert"]);
    assert_eq!(b.expect_cmd("NICK").await.params, ["robert"]);
    b.send("QUIT :good night").await;
    let q = a.expect_cmd("QUIT").await;
    assert_eq!(q.source.as_deref(), Some("robert!~bob@127.0.0.1"));
    assert_eq!(q.params, ["Quit: good night"]);
    let rest = b.read_to_close().await;
    assert!(rest.last().unwrap().starts_with("ERROR :Closing Link"), "{rest:?}");
    // The nick is free again.
    let _again = Client::register(srv.addr, "robert").await;
    srv.shutdown().await;
}
