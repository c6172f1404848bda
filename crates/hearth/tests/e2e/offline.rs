//! Messages to people who are offline, and the summary at login, over real TCP.
//!
//! From issue 9: "A private message to an **account** that is offline is stored, not
//! refused. The sender is told once: "bob is offline; they will get it when they log
//! in"". "At login, a person gets one summary: new private messages by sender, and
//! unread counts per room from their read markers." "Clients without
//! `draft/chathistory` also get the missed private messages replayed, with their
//! original time. Capable clients fetch them with CHATHISTORY TARGETS/LATEST."

use hearth_proto::Message;

use crate::harness::*;

fn config(policy: &str) -> String {
    format!(
        "[flood]\nburst = 0\n[accounts]\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n\
         [rooms]\ndefault = [\"#general\"]\n[dm]\npolicy = \"{policy}\"\n"
    )
}

async fn accounts(srv: &TestServer, names: &[&str]) {
    for n in names {
        srv.add_account(n, &format!("{n}-password"), false).await;
    }
}

async fn login(srv: &TestServer, name: &str, caps: &[&str]) -> Client {
    Client::login(srv.addr, name, name, &format!("{name}-password"), caps).await
}

fn is_notice_with(m: &Message, text: &str) -> bool {
    m.command == "NOTICE" && m.params.last().is_some_and(|t| t.contains(text))
}

#[tokio::test]
async fn an_offline_message_arrives_at_the_next_login_with_the_summary() {
    let srv = start_with(&config("open")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    // bob reads #general up to alice's first line, then leaves.
    let mut b = login(&srv, "bob", &["server-time", "draft/read-marker"]).await;
    b.expect_cmd("366").await;
    a.send("PRIVMSG #general :good morning").await;
    let seen = b.expect_cmd("PRIVMSG").await;
    b.send(&format!("MARKREAD #general timestamp={}", seen.tag("time").unwrap())).await;
    b.expect_cmd("MARKREAD").await;
    b.send("QUIT").await;
    b.read_to_close().await;

    a.send("PRIVMSG #general :lunch at one?").await;
    a.send("PRIVMSG #general :anyone?").await;
    // Not 401: stored, and the sender is told once.
    a.send("PRIVMSG bob :are you coming to lunch?").await;
    let told = a.expect(|m| m.command == "NOTICE" || m.command == "401").await;
    assert!(is_notice_with(&told, "bob is offline; they will get your messages when they log in"), "{told}");
    a.send("PRIVMSG bob :we are at the usual place").await;
    a.send("PRIVMSG bob :bring an umbrella").await;
    let later = a.sync().await;
    assert!(later.iter().all(|m| m.command != "NOTICE" && m.command != "401"), "told only once: {later:?}");

    // bob's plain client: one summary, then the missed messages with their time.
    let mut b = login(&srv, "bob", &[]).await;
    let summary = b.expect(|m| is_notice_with(m, "While you were away")).await;
    assert_eq!(summary.params[1], "While you were away: 3 messages from alice; #general: 2 new");
    let mut missed = Vec::new();
    while missed.len() < 3 {
        let m = b.expect_cmd("PRIVMSG").await;
        assert!(m.source.as_deref().unwrap().starts_with("alice!"), "{m}");
        missed.push(m.params[1].clone());
    }
    assert!(missed[0].starts_with('[') && missed[0].ends_with("] are you coming to lunch?"), "{missed:?}");
    assert!(missed[2].ends_with("] bring an umbrella"));
    // Once only: the next login has nothing new to report.
    b.send("QUIT").await;
    b.read_to_close().await;
    let mut b = login(&srv, "bob", &[]).await;
    assert!(b.sync().await.iter().all(|m| !is_notice_with(m, "While you were away: 3")));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_capable_client_gets_the_summary_and_fetches_with_chathistory() {
    let srv = start_with(&config("open")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    a.send("PRIVMSG bob :ping me when you are back").await;
    a.expect(|m| is_notice_with(m, "bob is offline")).await;
    let caps = ["draft/chathistory", "batch", "server-time", "message-tags"];
    let mut b = login(&srv, "bob", &caps).await;
    let summary = b.expect(|m| is_notice_with(m, "While you were away")).await;
    assert_eq!(summary.params[1], "While you were away: 1 message from alice");
    assert!(b.sync().await.iter().all(|m| m.command != "PRIVMSG"), "no replay for draft/chathistory clients");
    b.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10").await;
    let t = b.expect(|m| m.command == "CHATHISTORY").await;
    assert_eq!(t.params[..2], ["TARGETS", "alice"]);
    b.send("CHATHISTORY LATEST alice * 10").await;
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "ping me when you are back");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_request_to_someone_offline_waits_for_their_login() {
    let srv = start_with(&config("request")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    // "Chat-request rules apply as when they are online."
    a.send("PRIVMSG bob :hello stranger").await;
    a.expect_cmd("717").await;
    a.expect(|m| is_notice_with(m, "they are offline and will see it when they log in")).await;
    let mut b = login(&srv, "bob", &[]).await;
    b.expect_cmd("718").await;
    b.send("ACCEPT alice").await;
    // Delivered late, so a client without server-time sees when it was written.
    assert!(b.expect_cmd("PRIVMSG").await.params[1].ends_with("] hello stranger"));
    // A name that is no account is still 401.
    a.send("PRIVMSG nobody :hi").await;
    a.expect_cmd("401").await;
    srv.shutdown().await;
}
