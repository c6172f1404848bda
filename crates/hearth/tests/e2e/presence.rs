//! Presence the way the seeds had it, and who may read a room's past (issue 9), over
//! real TCP: "you are alone" and the arrival notice, "partner left", and rooms whose
//! newcomers see only what was said after they joined (channel mode `+H`).

use hearth_proto::Message;

use crate::harness::*;

const PW: &str = "correct horse";
/// Presence notices on (the harness turns them off for every other test).
const ALONE_ON: &str = "[flood]\nburst = 0\n[presence]\nalone_notice = true\n";
const BASE: &str = "[flood]\nburst = 0\n";
const ALONE: &str = "You are alone here right now; you will be told when someone arrives";
/// Caps of a client that reads history with CHATHISTORY.
const READER: &[&str] = &["draft/chathistory", "batch", "message-tags", "server-time"];

/// The texts of the server NOTICEs among `lines`.
fn notices(lines: &[Message]) -> Vec<String> {
    lines.iter().filter(|m| m.command == "NOTICE").map(|m| m.params[1].clone()).collect()
}

// ----- "You are alone" -----

#[tokio::test]
async fn alone_at_login_then_one_arrival_notice() {
    // "**"You are alone"**: at login, when no other person is online, a NOTICE says so.
    // When the first other person arrives, one NOTICE names them. No repeats"
    let srv = start_with(ALONE_ON).await;
    let mut alice = Client::register(srv.addr, "alice").await;
    assert_eq!(notices(&alice.sync().await), [ALONE], "after the welcome burst");

    let mut bob = Client::register(srv.addr, "bob").await;
    assert!(notices(&bob.sync().await).is_empty(), "bob is not alone");
    let n = alice.expect_cmd("NOTICE").await;
    assert_eq!(n.params, ["alice", "bob is here now"]);
    assert_eq!(n.source.as_deref(), Some("hearth.local"));

    let mut carol = Client::register(srv.addr, "carol").await;
    carol.sync().await;
    bob.send("QUIT").await;
    bob.read_to_close().await;
    assert!(notices(&alice.sync().await).is_empty(), "one arrival notice, no repeats");
    srv.shutdown().await;
}

#[tokio::test]
async fn several_sessions_of_one_account_are_one_person() {
    // "Several sessions of one account are one person."
    let srv = start_with(ALONE_ON).await;
    srv.add_account("alice", PW, false).await;
    let mut laptop = Client::login(srv.addr, "alice", "alice", PW, &[]).await;
    assert_eq!(notices(&laptop.sync().await), [ALONE]);
    // A second session: still alone, and no arrival for the first.
    let mut phone = Client::login(srv.addr, "alice", "alice", PW, &[]).await;
    assert_eq!(notices(&phone.sync().await), [ALONE]);
    assert!(notices(&laptop.sync().await).is_empty(), "alice's own second session is nobody new");

    let _bob = Client::register(srv.addr, "bob").await;
    for c in [&mut laptop, &mut phone] {
        assert_eq!(notices(&c.sync().await), ["bob is here now"], "every session of the person");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn the_alone_notice_can_be_switched_off() {
    // "it can be switched off in config"
    let srv = start_with("[flood]\nburst = 0\n[presence]\nalone_notice = false\n").await;
    let mut alice = Client::register(srv.addr, "alice").await;
    assert!(notices(&alice.sync().await).is_empty());
    let _bob = Client::register(srv.addr, "bob").await;
    assert!(notices(&alice.sync().await).is_empty());
    srv.shutdown().await;
}

// ----- Partner left -----

#[tokio::test]
async fn partner_left_is_told_at_once() {
    // "**Partner left**: when someone disconnects, everyone in an active private
    // conversation with them is told at once. That means a NOTICE for plain clients,
    // and MONITOR/QUIT for capable clients."
    let srv = start_with(BASE).await;
    srv.add_account("bob", PW, false).await;
    let mut alice = Client::register(srv.addr, "alice").await;
    let mut carol = Client::register(srv.addr, "carol").await;
    let mut dave = Client::register(srv.addr, "dave").await;
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &[]).await;
    let mut bob2 = Client::login(srv.addr, "bob", "bob", PW, &[]).await;

    // alice and bob talk; carol talks to bob but MONITORs him; dave never talked.
    alice.send("PRIVMSG bob :are you there?").await;
    bob.expect_cmd("PRIVMSG").await;
    bob.send("PRIVMSG carol :hello").await;
    carol.expect_cmd("PRIVMSG").await;
    carol.send("MONITOR + bob").await;
    carol.expect_cmd("730").await;

    // One of bob's sessions leaves: bob is still here.
    bob2.send("QUIT :phone off").await;
    bob2.read_to_close().await;
    assert!(notices(&alice.sync().await).is_empty(), "bob has another session");

    bob.send("QUIT :gone").await;
    bob.read_to_close().await;
    let n = alice.expect_cmd("NOTICE").await;
    assert_eq!(n.params, ["alice", "bob has left"]);
    // The monitoring client gets the standard RPL_MONOFFLINE, not a second notice.
    let lines = carol.sync().await;
    assert!(lines.iter().any(|m| m.command == "731" && m.params[1] == "bob"), "{lines:?}");
    assert!(notices(&lines).is_empty(), "{lines:?}");
    assert!(notices(&dave.sync().await).is_empty(), "dave was in no conversation with bob");
    srv.shutdown().await;
}

#[tokio::test]
async fn partner_left_can_be_switched_off() {
    let srv = start_with("[flood]\nburst = 0\n[presence]\nalone_notice = false\nconversation_minutes = 0\n").await;
    let mut alice = Client::register(srv.addr, "alice").await;
    let mut bob = Client::register(srv.addr, "bob").await;
    alice.send("PRIVMSG bob :hi").await;
    bob.expect_cmd("PRIVMSG").await;
    bob.send("QUIT").await;
    bob.read_to_close().await;
    assert!(notices(&alice.sync().await).is_empty());
    srv.shutdown().await;
}

// ----- Who may read a room's past -----

/// Sends `CHATHISTORY <args>` and returns the lines of its batch.
async fn chathistory(c: &mut Client, args: &str) -> Vec<Message> {
    c.send(&format!("CHATHISTORY {args}")).await;
    let start = c
        .expect(|m| {
            (m.command == "BATCH" && m.params[0].starts_with('+'))
                || (m.command == "FAIL" && m.params[0] == "CHATHISTORY")
        })
        .await;
    assert_eq!(start.command, "BATCH", "CHATHISTORY {args}: {start}");
    let id = start.params[0][1..].to_string();
    let mut lines = Vec::new();
    loop {
        let m = c.recv().await;
        if m.command == "BATCH" && m.params[0] == format!("-{id}") {
            return lines;
        }
        lines.push(m);
    }
}

/// The texts of the PRIVMSGs among `lines`.
fn texts(lines: &[Message]) -> Vec<String> {
    lines.iter().filter(|m| m.command == "PRIVMSG").map(|m| m.params[1].clone()).collect()
}

const PAST: &str = "timestamp=2000-01-01T00:00:00.000Z";
const FUTURE: &str = "timestamp=2100-01-01T00:00:00.000Z";

/// Every CHATHISTORY way into `#den`'s past, as `reader` sees it: the PRIVMSG texts
/// each answers with. `around` is a msgid to centre AROUND on.
async fn every_path(reader: &mut Client, around: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for args in [
        "LATEST #den * 50".to_string(),
        format!("LATEST #den {PAST} 50"),
        format!("BEFORE #den {FUTURE} 50"),
        format!("AFTER #den {PAST} 50"),
        format!("AFTER #den msgid={around} 50"),
        format!("AROUND #den msgid={around} 50"),
        format!("BETWEEN #den {PAST} {FUTURE} 50"),
        format!("BETWEEN #den {FUTURE} {PAST} 50"),
        format!("BETWEEN #den msgid={around} {FUTURE} 50"),
    ] {
        let got = texts(&chathistory(reader, &args).await);
        out.push((args, got));
    }
    out
}

/// Whether CHATHISTORY TARGETS between `from` and `to` lists `#den`.
async fn targets_list_den(reader: &mut Client, from: &str, to: &str) -> bool {
    let lines = chathistory(reader, &format!("TARGETS {from} {to} 50")).await;
    lines.iter().any(|m| m.params.get(1).is_some_and(|t| t.eq_ignore_ascii_case("#den")))
}

#[tokio::test]
async fn a_joined_room_shows_a_newcomer_nothing_from_before_their_join() {
    joined_room_hides_the_past(BASE).await;
}

#[tokio::test]
async fn a_joined_room_shows_a_newcomer_nothing_from_before_their_join_on_postgres() {
    let Some(url) = hearth_store::testing::pg_url() else { return };
    let guard = hearth_store::testing::PgSchema::create(&url).await;
    let in_schema = guard.url_in_schema();
    joined_room_hides_the_past(&format!("{BASE}[database]\nurl = {in_schema:?}\n")).await;
    assert!(guard.count("room_members").await >= 2, "memberships went to PostgreSQL");
}

/// "`joined`, where a member sees only what was said while they were a member. It
/// applies to everything: replay on join, CHATHISTORY, search and the login summary."
/// — "a `joined` room: a newcomer gets nothing from before their join, through any
/// path."
async fn joined_room_hides_the_past(toml: &str) {
    let srv = start_with(toml).await;
    for name in ["alice", "bob", "carol"] {
        srv.add_account(name, PW, false).await;
    }
    let mut alice = Client::login(srv.addr, "alice", "alice", PW, &["echo-message", "message-tags"]).await;
    alice.send("JOIN #Den").await;
    alice.expect_cmd("366").await;
    alice.send("MODE #den +H").await;
    let mode = alice.expect_cmd("MODE").await;
    assert_eq!(mode.params[1..], ["+H"]);
    let mut before = Vec::new();
    for i in 1..=3 {
        alice.send(&format!("PRIVMSG #den :before {i}")).await;
        before.push(alice.expect_cmd("PRIVMSG").await.tag("msgid").unwrap().to_string());
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    // A plain client: nothing replayed on join.
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &[]).await;
    bob.send("JOIN #den").await;
    bob.expect_cmd("366").await;
    let replay = bob.sync().await;
    assert!(texts(&replay).is_empty(), "replay on join: {replay:?}");

    // A CHATHISTORY client: nothing from before its JOIN through any subcommand.
    let mut carol = Client::login(srv.addr, "carol", "carol", PW, READER).await;
    carol.send("JOIN #den").await;
    let joined_at = carol.expect_cmd("JOIN").await.tag("time").unwrap().to_string();
    carol.expect_cmd("366").await;
    alice.send("PRIVMSG #den :after 1").await;
    alice.expect_cmd("PRIVMSG").await;
    carol.expect_cmd("PRIVMSG").await;
    bob.expect_cmd("PRIVMSG").await;
    for (args, got) in every_path(&mut carol, &before[1]).await {
        assert!(got.iter().all(|t| t == "after 1"), "CHATHISTORY {args}: {got:?}");
    }
    assert_eq!(texts(&chathistory(&mut carol, "LATEST #den * 50").await), ["after 1"]);
    assert_eq!(texts(&chathistory(&mut carol, &format!("AFTER #den {PAST} 1")).await), ["after 1"]);
    // TARGETS lists the room only in a window with something carol may read.
    assert!(!targets_list_den(&mut carol, PAST, &format!("timestamp={joined_at}")).await);
    assert!(targets_list_den(&mut carol, PAST, FUTURE).await);
    // Its founder, a member all along, still sees everything.
    let mut alice_reader = Client::login(srv.addr, "alice", "alice", PW, READER).await;
    let all = texts(&chathistory(&mut alice_reader, "LATEST #den * 50").await);
    assert_eq!(all, ["before 1", "before 2", "before 3", "after 1"]);
    drop(alice_reader);

    // A restart: the mode and the memberships are kept.
    drop((alice, bob, carol));
    let data = srv.stop().await;
    let srv = start_in(data, toml).await;
    let mut carol = Client::login(srv.addr, "carol", "carol", PW, READER).await;
    carol.send("JOIN #den").await;
    carol.expect_cmd("366").await;
    carol.send("MODE #den").await;
    assert!(carol.expect_cmd("324").await.params[2].contains('H'), "+H survives a restart");
    for (args, got) in every_path(&mut carol, &before[1]).await {
        assert!(got.iter().all(|t| t == "after 1"), "after a restart, CHATHISTORY {args}: {got:?}");
    }
    assert_eq!(
        texts(&chathistory(&mut carol, "LATEST #den * 50").await),
        ["after 1"],
        "a disconnect does not end a membership: what was said since the JOIN stays readable"
    );
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &[]).await;
    bob.send("JOIN #den").await;
    bob.expect_cmd("366").await;
    let replay = texts(&bob.sync().await);
    assert!(replay.len() == 1 && replay[0].ends_with("] after 1"), "replay on join after a restart: {replay:?}");

    // Leaving and joining again hides what was said in between, and before.
    carol.send("PART #den").await;
    carol.expect_cmd("PART").await;
    bob.send("PRIVMSG #den :while carol was away").await;
    bob.sync().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    carol.send("JOIN #den").await;
    carol.expect_cmd("366").await;
    assert!(texts(&chathistory(&mut carol, "LATEST #den * 50").await).is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn a_shared_room_keeps_todays_behaviour() {
    // "`shared`, where members see the room's whole history (today's behaviour)"
    let srv = start_with(BASE).await;
    srv.add_account("alice", PW, false).await;
    srv.add_account("carol", PW, false).await;
    let mut alice = Client::login(srv.addr, "alice", "alice", PW, &[]).await;
    alice.send("JOIN #den").await;
    alice.expect_cmd("366").await;
    alice.send("PRIVMSG #den :before").await;
    alice.sync().await;
    let mut bob = Client::register(srv.addr, "bob").await;
    bob.send("JOIN #den").await;
    bob.expect_cmd("366").await;
    assert_eq!(texts(&bob.sync().await).len(), 1, "replayed on join");
    let mut carol = Client::login(srv.addr, "carol", "carol", PW, READER).await;
    carol.send("JOIN #den").await;
    carol.expect_cmd("366").await;
    assert_eq!(texts(&chathistory(&mut carol, "LATEST #den * 50").await), ["before"]);
    assert!(targets_list_den(&mut carol, PAST, FUTURE).await);
    srv.shutdown().await;
}

#[tokio::test]
async fn history_visibility_defaults_from_config_and_is_advertised() {
    // "default from config (`[rooms] history_visibility`)"; the mode is in CHANMODES.
    let srv = start_with("[flood]\nburst = 0\n[rooms]\ndefault = []\nhistory_visibility = \"joined\"\n").await;
    let mut c = Client::connect(srv.addr).await;
    c.send("NICK alice").await;
    c.send("USER alice 0 * :alice").await;
    let myinfo = c.expect_cmd("004").await;
    assert!(myinfo.params[4].contains('H'), "{myinfo}");
    let isupport = c.expect(|m| m.command == "005" && m.params.iter().any(|p| p.starts_with("CHANMODES="))).await;
    assert!(isupport.params.contains(&"CHANMODES=beI,k,l,Himnst".to_string()), "{isupport}");
    c.expect_cmd("376").await;
    c.send("JOIN #new").await;
    c.expect_cmd("366").await;
    c.send("MODE #new").await;
    assert_eq!(c.expect_cmd("324").await.params[2], "+ntH");
    // Room operators may turn it off; others may not.
    let mut bob = Client::register(srv.addr, "bob").await;
    bob.send("JOIN #new").await;
    bob.expect_cmd("366").await;
    bob.send("MODE #new -H").await;
    bob.expect_cmd("482").await;
    c.send("MODE #new -H").await;
    assert_eq!(c.expect_cmd("MODE").await.params[1..], ["-H"]);
    srv.shutdown().await;
}
