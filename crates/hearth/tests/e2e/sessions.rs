//! Several connections on one account (phone and laptop at once), over real TCP.
//!
//! From the issue: "the second login with the same account attaches to the same nick
//! instead of getting `433`; messages, echoes, joins, away state and read markers are
//! shared across the sessions; the nick quits only when the last session leaves."

use crate::harness::*;

const LOGIN: &str =
    "[flood]\nburst = 0\n[accounts]\nrequire_login = true\nargon2_memory_kib = 8\nargon2_iterations = 1\n";

async fn alice_and_bob() -> TestServer {
    let srv = start_with(LOGIN).await;
    srv.add_account("alice", "correct horse", false).await;
    srv.add_account("bob", "battery staple", false).await;
    srv
}

async fn alice(srv: &TestServer, caps: &[&str]) -> Client {
    Client::login(srv.addr, "alice", "alice", "correct horse", caps).await
}

async fn bob(srv: &TestServer) -> Client {
    Client::login(srv.addr, "bob", "bob", "battery staple", &[]).await
}

#[tokio::test]
async fn second_login_attaches_to_the_same_nick_and_gets_its_channels() {
    let srv = alice_and_bob().await;
    let mut laptop = alice(&srv, &[]).await;
    laptop.send("JOIN #home").await;
    laptop.expect_cmd("366").await;
    laptop.send("TOPIC #home :welcome home").await;
    laptop.expect_cmd("TOPIC").await;

    // Same account, same nick: no 433, a welcome as alice …
    let mut phone = Client::connect(srv.addr).await;
    phone.start_sasl("alice", &[]).await;
    phone.send(&sasl_plain("alice", "correct horse")).await;
    phone.expect_cmd("903").await;
    phone.send("CAP END").await;
    let welcome = phone.expect(|m| m.command == "001" || m.command == "433").await;
    assert_eq!(welcome.command, "001", "{welcome}");
    assert_eq!(welcome.params[0], "alice");
    phone.expect_cmd("376").await;
    // … then the user's channels, as if it had joined them: JOIN, topic, names.
    let join = phone.expect_cmd("JOIN").await;
    assert_eq!(join.params[0], "#home");
    assert_eq!(phone.expect_cmd("332").await.params[2], "welcome home");
    let names = phone.expect_cmd("353").await;
    assert_eq!(names.params.last().unwrap(), "@alice", "one user, listed once");
    phone.expect_cmd("366").await;

    // Nobody else sees anything of the attach, and the laptop is not told either.
    let mut b = bob(&srv).await;
    b.send("LUSERS").await;
    let count = b.expect_cmd("251").await;
    assert!(count.params.last().unwrap().starts_with("There are 2 users"), "{count}");
    assert!(laptop.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn messages_to_the_nick_reach_every_session_and_sent_ones_are_echoed_to_the_others() {
    let srv = alice_and_bob().await;
    let mut laptop = alice(&srv, &["echo-message"]).await;
    let mut phone = alice(&srv, &[]).await;
    let mut b = bob(&srv).await;

    // A message to the nick is delivered to every session.
    b.send("PRIVMSG alice :hello both").await;
    for s in [&mut laptop, &mut phone] {
        let m = s.expect_cmd("PRIVMSG").await;
        assert_eq!(m.params, ["alice", "hello both"]);
        assert!(m.source.as_deref().unwrap().starts_with("bob!"));
    }

    // Sent from the phone (no echo-message): the laptop gets the copy, like ergo, so
    // both devices show the whole conversation; the phone gets none; bob gets one.
    phone.send("PRIVMSG bob :from my phone").await;
    let m = laptop.expect_cmd("PRIVMSG").await;
    assert_eq!(m.params, ["bob", "from my phone"]);
    assert!(m.source.as_deref().unwrap().starts_with("alice!"));
    let got = b.expect_cmd("PRIVMSG").await;
    assert_eq!(got.params, ["bob", "from my phone"]);
    assert!(phone.sync().await.iter().all(|m| m.command != "PRIVMSG"));
    assert!(b.sync().await.iter().all(|m| m.command != "PRIVMSG"), "bob gets it once");

    // Sent from the laptop (echo-message): its own echo, and the phone's copy.
    laptop.send("PRIVMSG bob :from my laptop").await;
    assert_eq!(laptop.expect_cmd("PRIVMSG").await.params[1], "from my laptop");
    assert_eq!(phone.expect_cmd("PRIVMSG").await.params[1], "from my laptop");

    // In a channel: bob sees the message once; the other session sees it too.
    for c in [&mut laptop, &mut b] {
        c.send("JOIN #home").await;
        c.expect_cmd("366").await;
    }
    phone.expect_cmd("366").await;
    phone.send("PRIVMSG #home :channel hello").await;
    assert_eq!(laptop.expect_cmd("PRIVMSG").await.params, ["#home", "channel hello"]);
    assert_eq!(b.expect_cmd("PRIVMSG").await.params, ["#home", "channel hello"]);
    assert!(b.sync().await.iter().all(|m| m.command != "PRIVMSG"), "bob gets it once");
    assert!(phone.sync().await.iter().all(|m| m.command != "PRIVMSG"));
    srv.shutdown().await;
}

#[tokio::test]
async fn join_part_nick_and_away_by_one_session_are_the_users() {
    let srv = alice_and_bob().await;
    let mut laptop = alice(&srv, &[]).await;
    let mut phone = alice(&srv, &[]).await;
    let mut b = bob(&srv).await;
    b.send("JOIN #club").await;
    b.expect_cmd("366").await;

    // A JOIN by one session: the other session is shown the join (names included),
    // the channel sees one user arrive.
    phone.send("JOIN #club").await;
    phone.expect_cmd("366").await;
    assert_eq!(laptop.expect_cmd("JOIN").await.params[0], "#club");
    let names = laptop.expect_cmd("353").await;
    assert!(names.params.last().unwrap().contains("alice"), "{names}");
    laptop.expect_cmd("366").await;
    let got = b.sync().await;
    assert_eq!(got.iter().filter(|m| m.command == "JOIN").count(), 1, "{got:?}");

    // Away is the user's: set on the laptop, the phone hears it, bob gets RPL_AWAY.
    laptop.send("AWAY :at lunch").await;
    laptop.expect_cmd("306").await;
    phone.expect_cmd("306").await;
    b.send("PRIVMSG alice :you there?").await;
    let away = b.expect_cmd("301").await;
    assert_eq!(away.params[1..], ["alice".to_string(), "at lunch".to_string()]);
    phone.send("AWAY").await;
    phone.expect_cmd("305").await;
    laptop.expect_cmd("305").await;

    // NICK from one session renames the user; everyone sees it once.
    laptop.send("NICK alice_").await;
    assert_eq!(laptop.expect_cmd("NICK").await.params, ["alice_"]);
    assert_eq!(phone.expect_cmd("NICK").await.params, ["alice_"]);
    assert_eq!(b.expect_cmd("NICK").await.params, ["alice_"]);
    laptop.send("NICK alice").await;
    phone.expect_cmd("NICK").await;

    // PART by one session: both sessions see it, the channel sees one PART.
    laptop.send("PART #club :bye").await;
    laptop.expect_cmd("PART").await;
    assert_eq!(phone.expect_cmd("PART").await.params[0], "#club");
    let got = b.sync().await;
    assert_eq!(got.iter().filter(|m| m.command == "PART").count(), 1, "{got:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn the_nick_quits_only_when_the_last_session_leaves() {
    let srv = alice_and_bob().await;
    let mut watcher = bob(&srv).await;
    watcher.send("MONITOR + alice").await;
    watcher.expect_cmd("731").await;
    let mut laptop = alice(&srv, &[]).await;
    watcher.expect_cmd("730").await;
    let mut phone = alice(&srv, &[]).await;
    watcher.send("JOIN #home").await;
    watcher.expect_cmd("366").await;
    laptop.send("JOIN #home").await;
    laptop.expect_cmd("366").await;
    phone.expect_cmd("366").await;
    watcher.expect_cmd("JOIN").await;

    // The first (main) session leaves: nobody else hears of it — no QUIT, no 731.
    laptop.send("QUIT :switching to phone").await;
    laptop.read_to_close().await;
    let got = watcher.sync().await;
    assert!(got.iter().all(|m| m.command != "QUIT" && m.command != "731"), "{got:?}");
    assert!(phone.sync().await.is_empty(), "the other session is not told either");

    // The phone carries on as alice: in the channel, reachable by nick.
    watcher.send("PRIVMSG #home :still there?").await;
    assert_eq!(phone.expect_cmd("PRIVMSG").await.params, ["#home", "still there?"]);
    watcher.send("PRIVMSG alice :direct").await;
    assert_eq!(phone.expect_cmd("PRIVMSG").await.params, ["alice", "direct"]);
    phone.send("PRIVMSG #home :yes").await;
    let m = watcher.expect_cmd("PRIVMSG").await;
    assert!(m.source.as_deref().unwrap().starts_with("alice!"));

    // A new session attaches to the phone's user just as well.
    let mut tablet = alice(&srv, &[]).await;
    assert_eq!(tablet.expect_cmd("JOIN").await.params[0], "#home");
    tablet.send("QUIT").await;
    tablet.read_to_close().await;
    assert!(watcher.sync().await.iter().all(|m| m.command != "QUIT"));

    // The last session leaves: now alice quits, and MONITOR says she is offline.
    phone.send("QUIT :gone").await;
    let quit = watcher.expect_cmd("QUIT").await;
    assert!(quit.source.as_deref().unwrap().starts_with("alice!"));
    assert_eq!(watcher.expect_cmd("731").await.params.last().unwrap(), "alice");
    srv.shutdown().await;
}

#[tokio::test]
async fn sessions_per_account_are_limited_and_other_accounts_cannot_attach() {
    let srv = start_with(&format!("{LOGIN}max_sessions = 2\n")).await;
    srv.add_account("alice", "correct horse", false).await;
    srv.add_account("mallory", "evil plans", false).await;
    let _one = alice(&srv, &[]).await;
    let _two = alice(&srv, &[]).await;

    // A third session is over the limit: 433 with the reason, and the connection
    // stays unregistered (it may pick another nick).
    let mut three = Client::connect(srv.addr).await;
    three.start_sasl("alice", &[]).await;
    three.send(&sasl_plain("alice", "correct horse")).await;
    three.expect_cmd("903").await;
    three.send("CAP END").await;
    let refused = three.expect(|m| m.command == "433" || m.command == "001").await;
    assert_eq!(refused.command, "433", "{refused}");
    assert!(refused.params.last().unwrap().contains("2 connections"), "{refused}");

    // Another account never attaches to alice.
    let mut m = Client::connect(srv.addr).await;
    m.start_sasl("alice", &[]).await;
    m.send(&sasl_plain("mallory", "evil plans")).await;
    m.expect_cmd("903").await;
    m.send("CAP END").await;
    let refused = m.expect(|m| m.command.len() == 3 && m.command.starts_with('4') || m.command == "001").await;
    assert!(refused.command == "433" || refused.command == "432", "{refused}");
    srv.shutdown().await;
}

#[tokio::test]
async fn read_markers_are_shared_and_history_answers_the_session_that_asked() {
    let srv = alice_and_bob().await;
    let caps = ["draft/read-marker", "draft/chathistory", "batch", "server-time", "message-tags"];
    let mut laptop = alice(&srv, &caps).await;
    let mut phone = alice(&srv, &caps).await;
    laptop.send("JOIN #home").await;
    // read-marker: "The command MUST be sent before the RPL_ENDOFNAMES reply for that
    // channel following the JOIN."
    assert_eq!(laptop.expect_cmd("MARKREAD").await.params, ["#home", "*"]);
    laptop.expect_cmd("366").await;
    // The phone is shown the join, read marker included.
    assert_eq!(phone.expect_cmd("MARKREAD").await.params, ["#home", "*"]);
    phone.expect_cmd("366").await;
    laptop.send("PRIVMSG #home :note to self").await;
    phone.expect_cmd("PRIVMSG").await;

    // Read on the phone: the laptop's marker moves too.
    let read = "timestamp=2026-01-01T10:00:00.000Z";
    phone.send(&format!("MARKREAD #home {read}")).await;
    assert_eq!(phone.expect_cmd("MARKREAD").await.params, ["#home", read]);
    assert_eq!(laptop.expect_cmd("MARKREAD").await.params, ["#home", read]);

    // CHATHISTORY from the phone is answered on the phone only.
    phone.send("CHATHISTORY LATEST #home * 10").await;
    let batch = phone.expect_cmd("BATCH").await;
    assert_eq!(batch.params[1], "chathistory");
    assert_eq!(phone.expect_cmd("PRIVMSG").await.params, ["#home", "note to self"]);
    let got = laptop.sync().await;
    assert!(got.iter().all(|m| m.command != "BATCH" && m.command != "PRIVMSG"), "{got:?}");
    srv.shutdown().await;
}
