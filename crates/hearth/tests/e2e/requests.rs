//! Chat requests (consent before private messages), over real TCP.
//!
//! From issue 9: "The first private message from someone not yet accepted is **held**,
//! not delivered"; "`ACCEPT nick` accepts: the held messages are delivered, and
//! **both** people get a brief history of their conversation"; "`ACCEPT -nick`
//! declines or withdraws. A pending requester is told politely that the request was
//! declined; the held messages are discarded"; "Pending requests survive disconnects
//! and restarts"; "Admins can always write. Anti-spam: a bound on pending requests per
//! sender, and on repeated requests after a decline."

use hearth_proto::Message;

use crate::harness::*;

/// Login required, chat requests on (the default policy, said explicitly).
fn config(dm: &str) -> String {
    format!(
        "[flood]\nburst = 0\n[accounts]\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n\
         [dm]\npolicy = \"request\"\n{dm}"
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

fn privmsgs(lines: &[Message]) -> Vec<String> {
    lines.iter().filter(|m| m.command == "PRIVMSG").map(|m| m.params[1].clone()).collect()
}

#[tokio::test]
async fn a_request_is_held_then_accepted_with_history_for_both() {
    // An earlier conversation, from before chat requests were turned on.
    let srv = start_with(&config("").replace("policy = \"request\"", "policy = \"open\"")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    let mut b = login(&srv, "bob", &[]).await;
    a.send("PRIVMSG bob :earlier, from alice").await;
    b.expect_cmd("PRIVMSG").await;
    b.send("PRIVMSG alice :earlier, from bob").await;
    a.expect_cmd("PRIVMSG").await;
    drop((a, b));
    let data = srv.stop().await;

    let srv = start_in(data, &config("")).await;
    let mut a = login(&srv, "alice", &[]).await;
    let mut b = login(&srv, "bob", &["draft/chathistory", "batch", "server-time", "message-tags"]).await;
    // Under "open" nobody was put on an accept list: bob accepts nobody now.
    a.send("PRIVMSG bob :hello bob, may we talk?").await;
    // "Use the caller-ID numerics as ircd-hybrid/InspIRCd do (716, 717) plus a
    // readable NOTICE."
    let e716 = a.expect_cmd("716").await;
    assert_eq!(e716.params[..2], ["alice", "bob"]);
    let r717 = a.expect_cmd("717").await;
    assert_eq!(r717.params[2], "has been informed that you messaged them.");
    a.expect(|m| is_notice_with(m, "Chat request sent to bob")).await;
    // "The recipient gets the request (718 plus a readable NOTICE saying how to answer)."
    let r718 = b.expect_cmd("718").await;
    assert_eq!(r718.params[1], "alice");
    assert!(r718.params[3].contains("/ACCEPT +alice"), "{r718}");
    let how = b.expect_cmd("NOTICE").await;
    assert!(how.params[1].contains("/accept alice") && how.params[1].contains("ACCEPT -alice"), "{how}");
    // Hearth's own clients get the structured form.
    assert_eq!(how.tag("hearth.chat/request"), Some("received"));
    assert_eq!(how.tag("hearth.chat/peer"), Some("alice"));

    a.send("PRIVMSG bob :it is about the picnic").await;
    a.expect(|m| is_notice_with(m, "(2 of 5 messages)")).await;
    assert!(privmsgs(&b.sync().await).is_empty(), "nothing is delivered before bob accepts");

    b.send("ACCEPT alice").await;
    b.expect(|m| is_notice_with(m, "alice can now write to you")).await;
    // bob (draft/chathistory): a chathistory batch of the earlier conversation, then
    // the held messages with their original time.
    let open = b.expect_cmd("BATCH").await;
    assert_eq!(open.params[1..], ["chathistory", "alice"]);
    let mut batch = Vec::new();
    loop {
        let m = b.recv().await;
        if m.command == "BATCH" {
            break;
        }
        batch.push(m);
    }
    assert_eq!(privmsgs(&batch), ["earlier, from alice", "earlier, from bob"]);
    let held1 = b.expect_cmd("PRIVMSG").await;
    assert_eq!(held1.params, ["bob", "hello bob, may we talk?"]);
    assert!(held1.tag("time").is_some(), "held messages keep their time");
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "it is about the picnic");

    // alice (no draft/chathistory) is told, then sees the history with dates in front.
    a.expect(|m| is_notice_with(m, "bob accepted your chat request")).await;
    a.expect(|m| is_notice_with(m, "Your earlier conversation with bob:")).await;
    let first = a.expect_cmd("PRIVMSG").await;
    assert!(first.params[1].starts_with('[') && first.params[1].ends_with("] earlier, from alice"), "{first}");
    assert!(a.expect_cmd("PRIVMSG").await.params[1].ends_with("] earlier, from bob"));

    // From now on both ways go straight through.
    a.send("PRIVMSG bob :great").await;
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "great");
    b.send("PRIVMSG alice :see you there").await;
    assert_eq!(a.expect_cmd("PRIVMSG").await.params[1], "see you there");
    b.send("ACCEPT *").await;
    assert_eq!(b.expect_cmd("281").await.params, ["bob", "alice"]);
    b.expect_cmd("282").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn a_decline_tells_the_requester_and_discards_the_held_messages() {
    let srv = start_with(&config("")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    let mut b = login(&srv, "bob", &["draft/chathistory", "batch", "server-time", "message-tags"]).await;
    a.send("PRIVMSG bob :buy my stuff").await;
    b.expect_cmd("718").await;
    b.send("ACCEPT -alice").await;
    b.expect(|m| is_notice_with(m, "You declined alice's chat request")).await;
    let told = a.expect(|m| is_notice_with(m, "declined your chat request")).await;
    assert!(told.params[1].contains("sorry"), "told politely: {told}");
    // The held message is gone: not in bob's history with alice.
    b.send("CHATHISTORY LATEST alice * 10").await;
    b.expect_cmd("BATCH").await;
    assert_eq!(b.expect_cmd("BATCH").await.params[0].chars().next(), Some('-'), "empty history");
    // Asking again right away is refused ("a bound … on repeated requests after a
    // decline").
    a.send("PRIVMSG bob :pretty please").await;
    a.expect_cmd("716").await;
    a.expect(|m| is_notice_with(m, "you can ask again from")).await;
    assert!(b.sync().await.iter().all(|m| m.command != "718" && m.command != "PRIVMSG"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_pending_request_survives_a_restart_and_is_answered_later() {
    let srv = start_with(&config("")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    let mut b = login(&srv, "bob", &[]).await;
    a.send("PRIVMSG bob :are you there?").await;
    a.expect_cmd("717").await;
    b.expect_cmd("718").await;
    drop((a, b));
    let data = srv.stop().await;

    let srv = start_in(data, &config("")).await;
    // "They are shown again at login and can be answered later."
    let mut b = login(&srv, "bob", &[]).await;
    let shown = b.expect_cmd("718").await;
    assert_eq!(shown.params[1], "alice");
    b.expect(|m| is_notice_with(m, "alice wants to chat with you")).await;
    let mut a = login(&srv, "alice", &[]).await;
    a.expect(|m| is_notice_with(m, "Your chat request to bob is still waiting")).await;
    b.send("ACCEPT alice").await;
    let held = b.expect_cmd("PRIVMSG").await;
    // Delivered late: a client without server-time gets the original time in front.
    assert!(held.params[1].ends_with("] are you there?"), "{held}");
    assert!(held.source.as_deref().is_some_and(|s| s.starts_with("alice!")), "{held}");
    a.expect(|m| is_notice_with(m, "bob accepted your chat request")).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn writing_back_to_a_requester_accepts_the_request() {
    let srv = start_with(&config("")).await;
    accounts(&srv, &["alice", "bob"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    let mut b = login(&srv, "bob", &[]).await;
    a.send("PRIVMSG bob :lunch?").await;
    b.expect_cmd("718").await;
    // bob simply answers: alice's request is accepted, her held message delivered.
    b.send("PRIVMSG alice :sure, where?").await;
    a.expect(|m| is_notice_with(m, "bob accepted your chat request")).await;
    assert_eq!(a.expect_cmd("PRIVMSG").await.params[1], "sure, where?");
    assert!(b.expect_cmd("PRIVMSG").await.params[1].ends_with("] lunch?"));
    a.send("PRIVMSG bob :the usual place").await;
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "the usual place");
    srv.shutdown().await;
}

#[tokio::test]
async fn admins_can_always_write() {
    let srv = start_with(&config("")).await;
    srv.add_account("root", "root-password", true).await;
    accounts(&srv, &["bob"]).await;
    let mut root = login(&srv, "root", &[]).await;
    let mut b = login(&srv, "bob", &[]).await;
    root.send("PRIVMSG bob :the server restarts at noon").await;
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "the server restarts at noon");
    assert!(root.sync().await.iter().all(|m| m.command != "716"));
    srv.shutdown().await;
}

#[tokio::test]
async fn held_messages_and_pending_requests_are_bounded() {
    let srv = start_with(&config("max_held = 2\nmax_pending_per_sender = 1\n")).await;
    accounts(&srv, &["alice", "bob", "carol"]).await;
    let mut a = login(&srv, "alice", &[]).await;
    a.send("PRIVMSG bob :one").await;
    a.expect(|m| is_notice_with(m, "Chat request sent to bob")).await;
    a.send("PRIVMSG bob :two").await;
    a.expect(|m| is_notice_with(m, "(2 of 2 messages)")).await;
    // "A few more messages may be held (bounded); the rest are refused with a clear
    // reply."
    a.send("PRIVMSG bob :three").await;
    a.expect_cmd("716").await;
    a.expect(|m| is_notice_with(m, "2 messages are already waiting")).await;
    // "a bound on pending requests per sender"
    a.send("PRIVMSG carol :hi carol").await;
    a.expect_cmd("716").await;
    a.expect(|m| is_notice_with(m, "chat requests waiting for an answer")).await;
    // bob, logging in, finds exactly the two held messages.
    let mut b = login(&srv, "bob", &[]).await;
    b.expect(|m| is_notice_with(m, "(2 message(s) waiting)")).await;
    b.send("ACCEPT alice").await;
    let got: Vec<String> = {
        let mut v = Vec::new();
        while v.len() < 2 {
            v.extend(privmsgs(&[b.expect_cmd("PRIVMSG").await]));
        }
        v
    };
    assert!(got[0].ends_with("] one") && got[1].ends_with("] two"), "{got:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn mode_minus_g_lets_anyone_write_and_guests_cannot_ask() {
    let srv = start_with(&config("").replace("require_login = true", "require_login = false")).await;
    accounts(&srv, &["alice", "bob", "carol"]).await;
    let mut b = login(&srv, "bob", &[]).await;
    // "the caller-ID user mode +g is on by default under "request""
    b.send("MODE bob").await;
    assert_eq!(b.expect_cmd("221").await.params[1], "+g");
    b.send("MODE bob -g").await;
    assert_eq!(b.expect_cmd("MODE").await.params[1], "-g");
    let mut a = login(&srv, "alice", &[]).await;
    a.send("PRIVMSG bob :hi, no request needed").await;
    assert_eq!(b.expect_cmd("PRIVMSG").await.params[1], "hi, no request needed");

    // A guest (no account) cannot send a chat request …
    let mut _carol = login(&srv, "carol", &[]).await;
    let mut guest = Client::register(srv.addr, "visitor").await;
    guest.send("PRIVMSG carol :hello?").await;
    guest.expect_cmd("716").await;
    guest.expect(|m| is_notice_with(m, "log in first")).await;
    // … but anyone may write to a guest.
    a.send("PRIVMSG visitor :welcome").await;
    assert_eq!(guest.expect_cmd("PRIVMSG").await.params[1], "welcome");
    srv.shutdown().await;
}
