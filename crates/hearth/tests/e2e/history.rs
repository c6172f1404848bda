//! History: what is said survives restarts (and `kill -9`), CHATHISTORY pages through
//! it exactly, only the people entitled to it can read it, and read markers follow an
//! account across its sessions.
//!
//! The PostgreSQL variant of the restart test runs when `HEARTH_TEST_POSTGRES` holds a
//! URL such as `postgres://postgres@127.0.0.1/test` (in a fresh schema, dropped
//! afterwards); otherwise it prints "skipped: HEARTH_TEST_POSTGRES not set".

use std::collections::HashSet;
use std::time::{Duration, UNIX_EPOCH};

use hearth_proto::Message;
use hearth_store::{StoredMessage, Timestamp};

use crate::harness::*;

const PW: &str = "correct horse";
const BASE: &str = "[flood]\nburst = 0\n";
/// Caps of a client that reads history with CHATHISTORY.
const READER: &[&str] = &["draft/chathistory", "batch", "message-tags", "server-time"];

/// Sends `CHATHISTORY <args>` and returns the lines of the batch it answers with, or
/// the `FAIL CHATHISTORY` it gets instead. Needs the `batch` capability.
async fn chathistory(c: &mut Client, args: &str) -> Result<Vec<Message>, Message> {
    c.send(&format!("CHATHISTORY {args}")).await;
    let start = c
        .expect(|m| {
            (m.command == "BATCH" && m.params[0].starts_with('+'))
                || (m.command == "FAIL" && m.params[0] == "CHATHISTORY")
        })
        .await;
    if start.command == "FAIL" {
        return Err(start);
    }
    let kind = if args.starts_with("TARGETS") { "draft/chathistory-targets" } else { "chathistory" };
    assert_eq!(start.params[1], kind, "{args}: {start}");
    let id = start.params[0][1..].to_string();
    let mut lines = Vec::new();
    loop {
        let m = c.recv().await;
        if m.command == "BATCH" && m.params[0] == format!("-{id}") {
            return Ok(lines);
        }
        assert_eq!(m.tag("batch"), Some(id.as_str()), "{args}: a line inside the batch without its tag: {m}");
        lines.push(m);
    }
}

/// Like [`chathistory`], for requests that must fail with `code`; returns the FAIL.
async fn chathistory_fails(c: &mut Client, args: &str, code: &str) -> Message {
    match chathistory(c, args).await {
        Ok(lines) => panic!("CHATHISTORY {args}: expected FAIL {code}, got {} lines: {lines:?}", lines.len()),
        Err(fail) => {
            assert_eq!(fail.params[1], code, "CHATHISTORY {args}: {fail}");
            fail
        }
    }
}

fn msgids(lines: &[Message]) -> Vec<String> {
    lines.iter().map(|m| m.tag("msgid").expect("msgid inside a chathistory batch").to_string()).collect()
}

fn nick_of(m: &Message) -> &str {
    m.source.as_deref().unwrap_or("").split('!').next().unwrap_or("")
}

/// Command, sender nick and text of a relayed line.
fn line_of(m: &Message) -> (&str, &str, &str) {
    (m.command.as_str(), nick_of(m), m.params.get(1).map_or("", String::as_str))
}

/// What one message looked like live: for comparing with its replays.
#[derive(Debug, Clone)]
struct Seen {
    msgid: String,
    time: String,
    from: String,
    command: String,
    text: String,
}

impl Seen {
    fn of(m: &Message) -> Seen {
        Seen {
            msgid: m.tag("msgid").expect("msgid").to_string(),
            time: m.tag("time").expect("time").to_string(),
            from: nick_of(m).to_string(),
            command: m.command.clone(),
            text: m.params.get(1).cloned().unwrap_or_default(),
        }
    }
}

// ----- 1. restarts -----

#[tokio::test]
async fn history_and_rooms_survive_a_restart() {
    restart_keeps_history_and_rooms(BASE).await;
}

#[tokio::test]
async fn history_and_rooms_survive_a_restart_on_postgres() {
    let Some(url) = hearth_store::testing::pg_url() else { return };
    let guard = hearth_store::testing::PgSchema::create(&url).await;
    let in_schema = guard.url_in_schema();
    restart_keeps_history_and_rooms(&format!("{BASE}[database]\nurl = {in_schema:?}\n")).await;
    // 5 messages, and the JOIN/PART/… events (draft/event-playback) around them.
    assert!(guard.count("messages").await >= 5, "the history went to PostgreSQL, in the test's schema");
}

/// Messages, topic, modes (+m, +k), bans and an account's +o in a room; a graceful
/// stop; a new server on the same database gives all of it back.
async fn restart_keeps_history_and_rooms(toml: &str) {
    let srv = start_with(toml).await;
    srv.add_account("alice", PW, false).await;
    srv.add_account("bob", PW, false).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &["echo-message", "message-tags", "server-time"]).await;
    let mut b = Client::login(srv.addr, "bob", "bob", PW, &["message-tags"]).await;
    a.send("JOIN #Den").await;
    a.expect_cmd("366").await;
    b.send("JOIN #den").await;
    b.expect_cmd("366").await;
    let mut said = Vec::new();
    a.send("PRIVMSG #den :good morning").await;
    said.push(Seen::of(&a.expect_cmd("PRIVMSG").await));
    b.send("PRIVMSG #den :\u{1}ACTION waves\u{1}").await;
    said.push(Seen::of(&a.expect_cmd("PRIVMSG").await));
    a.send(&format!("@+draft/react=\u{1F44B};+draft/reply={} TAGMSG #den", said[1].msgid)).await;
    let react = a.expect_cmd("TAGMSG").await;
    said.push(Seen::of(&react));
    a.send("NOTICE #den :see you after the restart").await;
    said.push(Seen::of(&a.expect_cmd("NOTICE").await));
    b.expect(|m| m.command == "NOTICE").await;
    a.send("TOPIC #den :Cosy corner").await;
    a.send("MODE #den +mk sekrit").await;
    a.send("MODE #den +b bad!*@*").await;
    a.send("MODE #den").await;
    let modes = a.expect_cmd("324").await.params[1..].to_vec();
    assert_eq!(modes, ["#Den", "+mntk", "sekrit"]);
    a.sync().await;
    drop((a, b));
    let data = srv.stop().await;

    let srv = start_in(data, toml).await;
    let mut guest = Client::register(srv.addr, "bad").await;
    guest.send("JOIN #den sekrit").await;
    guest.expect_cmd("474").await;
    // server-time without message-tags: the replay carries the original times.
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &["server-time", "batch"]).await;
    a.send("JOIN #den").await;
    a.expect_cmd("475").await;
    a.send("JOIN #den sekrit").await;
    assert_eq!(a.expect_cmd("332").await.params[2], "Cosy corner");
    let names = a.expect_cmd("353").await;
    assert_eq!(names.params[3], "@alice", "the room's operator account is op again");
    a.expect_cmd("366").await;
    let start = a.expect_cmd("BATCH").await;
    assert_eq!(start.params[1..], ["chathistory", "#Den"]);
    let texts: Vec<&Seen> = said.iter().filter(|s| s.command != "TAGMSG").collect();
    for s in &texts {
        let m = a.recv().await;
        assert_eq!(line_of(&m), (s.command.as_str(), s.from.as_str(), s.text.as_str()), "{m}");
        assert_eq!(m.tag("time"), Some(s.time.as_str()), "{m}");
        assert_eq!(m.tag("msgid"), None, "no message-tags, no msgid: {m}");
    }
    let end = a.recv().await;
    assert_eq!(end.command, "BATCH", "a TAGMSG must not reach a client without message-tags: {end}");
    a.send("MODE #den").await;
    assert_eq!(a.expect_cmd("324").await.params[1..], modes);
    a.send("MODE #den b").await;
    assert_eq!(a.expect_cmd("367").await.params[2], "bad!*@*");

    // No server-time: each line says when it was said.
    let mut b = Client::login(srv.addr, "bob", "bob", PW, &[]).await;
    b.send("JOIN #den sekrit").await;
    assert_eq!(b.expect_cmd("353").await.params[3], "@alice bob");
    b.expect_cmd("366").await;
    for s in &texts {
        let m = b.recv().await;
        assert!(m.tags.is_empty(), "{m}");
        let when = format!("[{}]", s.time[..19].replace('T', " "));
        let shown = match s.text.strip_prefix("\u{1}ACTION ") {
            Some(rest) => format!("\u{1}ACTION {when} {rest}"),
            None => format!("{when} {}", s.text),
        };
        assert_eq!(line_of(&m), (s.command.as_str(), s.from.as_str(), shown.as_str()), "{m}");
    }
    let after = b.sync().await;
    assert!(after.iter().all(|m| m.command != "TAGMSG"), "{after:?}");

    // CHATHISTORY: everything, TAGMSG included, with the original msgid and time.
    let mut r = Client::login(srv.addr, "alice_ch", "alice", PW, READER).await;
    r.send("JOIN #den sekrit").await;
    r.expect_cmd("366").await;
    let lines = chathistory(&mut r, "LATEST #den * 10").await.unwrap();
    assert!(lines.iter().all(|m| m.command != "PRIVMSG" || m.tag("batch").is_some()), "no replay with chathistory");
    let got: Vec<Seen> = lines.iter().map(Seen::of).collect();
    assert_eq!(format!("{got:?}"), format!("{said:?}"));
    assert_eq!(lines[2].tag("+draft/react"), Some("\u{1F44B}"));
    assert_eq!(lines[2].tag("+draft/reply"), Some(said[1].msgid.as_str()));
    // New messages after the restart get new ids and join the same history.
    a.send("PRIVMSG #den :after the restart").await;
    b.expect(|m| m.command == "PRIVMSG" && m.params[1] == "after the restart").await;
    let lines = chathistory(&mut r, "LATEST #den * 10").await.unwrap();
    assert_eq!(lines.len(), said.len() + 1);
    assert_eq!(lines.last().unwrap().params[1], "after the restart");
    assert_eq!(msgids(&lines).iter().collect::<HashSet<_>>().len(), lines.len(), "msgids stay unique");
    srv.shutdown().await;
}

// ----- 2. paging -----

const BIG: usize = 10_000;

/// `BIG` messages in `#big`, two per second (pairs share a millisecond, as a burst
/// does), ending a day ago; plus one in `#other`. Returns them in order.
async fn fill_big(cfg: &hearth::config::FileConfig) -> Vec<StoredMessage> {
    let store = hearth::app::open_store(cfg).await.expect("open store");
    let start = Timestamp::now().as_millis() - 86_400_000 - (BIG as i64 / 2) * 1000;
    let all: Vec<StoredMessage> = (0..BIG)
        .map(|i| {
            let who = ["alice", "bob"][i % 2];
            StoredMessage {
                msgid: format!("{start:x}-{:x}", i + 1),
                time: Timestamp::from_millis(start + (i as i64 / 2) * 1000),
                target: "#big".into(),
                recipient: "#big".into(),
                sender: format!("{who}!{who}@127.0.0.1"),
                sender_account: Some(who.into()),
                command: "PRIVMSG".into(),
                tags: String::new(),
                text: format!("message {i}"),
            }
        })
        .collect();
    for chunk in all.chunks(2_000) {
        assert_eq!(store.append(chunk).await.unwrap(), chunk.len() as u64);
    }
    let mut other = all[0].clone();
    other.msgid = "elsewhere-1".into();
    other.target = "#other".into();
    store.append(&[other]).await.unwrap();
    all
}

fn time_tag(t: Timestamp) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(t.as_millis() as u64)).to_string()
}

/// The batch's lines are exactly `want`, in order, as stored.
#[track_caller]
fn assert_slice(what: &str, lines: &[Message], want: &[StoredMessage]) {
    let got = msgids(lines);
    let expected: Vec<&str> = want.iter().map(|m| m.msgid.as_str()).collect();
    assert_eq!(got, expected, "{what}");
    for (l, m) in lines.iter().zip(want) {
        assert_eq!(l.params, [m.recipient.as_str(), m.text.as_str()], "{what}");
        assert_eq!(l.source.as_deref(), Some(m.sender.as_str()), "{what}");
        assert_eq!(l.tag("time"), Some(time_tag(m.time).as_str()), "{what}");
        assert_eq!(l.tag("account"), m.sender_account.as_deref(), "{what}");
    }
}

#[tokio::test]
async fn chathistory_pages_through_ten_thousand_messages_exactly() {
    let data = tempfile::tempdir().unwrap();
    let toml = format!("{BASE}[history]\nmax_page = 500\n");
    let all = fill_big(&test_config(data.path(), &toml)).await;
    let srv = start_in(data, &toml).await;
    srv.add_account("alice", PW, false).await;
    let mut c = Client::login(srv.addr, "alice", "alice", PW, &[READER, &["account-tag"]].concat()).await;
    c.send("JOIN #big").await;
    c.expect_cmd("366").await;

    // Backwards: LATEST, then BEFORE the oldest seen, until nothing is left.
    let mut pages = vec![chathistory(&mut c, "LATEST #big * 100").await.unwrap()];
    loop {
        let oldest = msgids(pages.last().unwrap())[0].clone();
        let page = chathistory(&mut c, &format!("BEFORE #big msgid={oldest} 100")).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert_eq!(page.len(), 100, "10,000 is a whole number of pages");
        pages.push(page);
    }
    let backwards: Vec<Message> = pages.into_iter().rev().flatten().collect();
    assert_eq!(backwards.len(), BIG, "no gaps, no duplicates");
    assert_slice("paging backwards", &backwards, &all);

    // Forwards: AFTER a time before the first, then AFTER the newest seen.
    let before_all = time_tag(Timestamp::from_millis(all[0].time.as_millis() - 1));
    let mut forwards = chathistory(&mut c, &format!("AFTER #big timestamp={before_all} 100")).await.unwrap();
    loop {
        let newest = msgids(&forwards).pop().unwrap();
        let page = chathistory(&mut c, &format!("AFTER #big msgid={newest} 100")).await.unwrap();
        if page.is_empty() {
            break;
        }
        forwards.extend(page);
    }
    assert_eq!(forwards.len(), BIG);
    assert_slice("paging forwards", &forwards, &all);

    // BETWEEN: strictly between, from either end, the limit applied from the first.
    let id = |i: usize| all[i].msgid.clone();
    let between = chathistory(&mut c, &format!("BETWEEN #big msgid={} msgid={} 500", id(100), id(200))).await;
    assert_slice("BETWEEN up", &between.unwrap(), &all[101..200]);
    let between = chathistory(&mut c, &format!("BETWEEN #big msgid={} msgid={} 500", id(200), id(100))).await;
    assert_slice("BETWEEN down", &between.unwrap(), &all[101..200]);
    let between = chathistory(&mut c, &format!("BETWEEN #big msgid={} msgid={} 10", id(100), id(200))).await;
    assert_slice("BETWEEN up, limited", &between.unwrap(), &all[101..111]);
    let between = chathistory(&mut c, &format!("BETWEEN #big msgid={} msgid={} 10", id(200), id(100))).await;
    assert_slice("BETWEEN down, limited", &between.unwrap(), &all[190..200]);
    // Timestamps: 2000 and 2001 share one, as do 2100 and 2101; both pairs are outside.
    let (t1, t2) = (time_tag(all[2000].time), time_tag(all[2100].time));
    let between = chathistory(&mut c, &format!("BETWEEN #big timestamp={t1} timestamp={t2} 1000")).await;
    assert_slice("BETWEEN timestamps", &between.unwrap(), &all[2002..2100]);

    // AROUND: half before, the message itself and the rest after.
    let around = chathistory(&mut c, &format!("AROUND #big msgid={} 10", id(5000))).await.unwrap();
    assert_slice("AROUND", &around, &all[4995..5005]);
    let around = chathistory(&mut c, &format!("AROUND #big msgid={} 10", id(2))).await.unwrap();
    assert_slice("AROUND near the start", &around, &all[0..7]);
    let latest = chathistory(&mut c, &format!("LATEST #big msgid={} 100", id(BIG - 5))).await.unwrap();
    assert_slice("LATEST after a msgid", &latest, &all[BIG - 4..]);

    // Limits above history.max_page are capped to it.
    let capped = chathistory(&mut c, "LATEST #big * 5000").await.unwrap();
    assert_slice("LATEST capped", &capped, &all[BIG - 500..]);
    let capped = chathistory(&mut c, &format!("AFTER #big msgid={} 100000", id(0))).await.unwrap();
    assert_slice("AFTER capped", &capped, &all[1..501]);

    // Unknown references, and msgids of another target.
    let fail = chathistory_fails(&mut c, "BEFORE #big msgid=no-such-id 10", "INVALID_MSGREFID").await;
    assert_eq!(fail.params[2..4], ["BEFORE".to_string(), "no-such-id".to_string()]);
    chathistory_fails(&mut c, "AROUND #big msgid=elsewhere-1 10", "INVALID_MSGREFID").await;
    chathistory_fails(&mut c, &format!("BETWEEN #big msgid={} msgid=nope 10", id(5)), "INVALID_MSGREFID").await;
    // Bad limits and parameters.
    for args in [
        "LATEST #big * 0",
        "LATEST #big * -1",
        "LATEST #big * many",
        "BEFORE #big * 10",
        "BEFORE #big yesterday 10",
        "AFTER #big msgid= 10",
        "AFTER #big timestamp=noon 10",
        "BETWEEN #big timestamp=2026-01-01T00:00:00.000Z * 10",
        "SIDEWAYS #big * 10",
        "TARGETS * * 10",
    ] {
        chathistory_fails(&mut c, args, "INVALID_PARAMS").await;
    }
    chathistory_fails(&mut c, "LATEST #big *", "NEED_MORE_PARAMS").await;
    srv.shutdown().await;
}

// ----- 3. who may read what -----

const FOREVER: &str = "timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z";

/// The conversations and rooms CHATHISTORY TARGETS lists for `c`.
async fn targets(c: &mut Client) -> Vec<String> {
    let lines = chathistory(c, &format!("TARGETS {FOREVER} 50")).await.unwrap();
    let mut names: Vec<String> = lines.iter().map(|m| m.params[1].clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn history_is_only_for_members_and_participants() {
    let srv = start_server().await;
    for name in ["alice", "bob", "carol"] {
        srv.add_account(name, PW, false).await;
    }
    srv.add_account("root", PW, true).await;
    let caps = [READER, &["echo-message"]].concat();
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &caps).await;
    let mut b = Client::login(srv.addr, "bob", "bob", PW, &caps).await;
    let mut c = Client::login(srv.addr, "carol", "carol", PW, &caps).await;
    let mut guest = Client::register_with_caps(srv.addr, "guest", READER).await;
    for (cl, room) in [(&mut a, "#secret"), (&mut b, "#secret"), (&mut c, "#public")] {
        cl.send(&format!("JOIN {room}")).await;
        cl.expect_cmd("366").await;
    }
    a.send("PRIVMSG #secret :room talk").await;
    let room_id = a.expect_cmd("PRIVMSG").await.tag("msgid").unwrap().to_string();
    a.send("PRIVMSG bob :psst bob").await;
    let dm1 = a.expect_cmd("PRIVMSG").await.tag("msgid").unwrap().to_string();
    b.send("PRIVMSG alice :psst alice").await;
    let dm2 = b.expect(|m| m.command == "PRIVMSG" && m.params[0] == "alice").await.tag("msgid").unwrap().to_string();
    c.send("PRIVMSG #public :anyone?").await;
    c.expect_cmd("PRIVMSG").await;
    guest.send("PRIVMSG alice :hello from a guest").await;
    a.expect(|m| m.command == "PRIVMSG" && m.params[1] == "hello from a guest").await;

    // Non-members: no room history, not even whether a msgid exists.
    for args in ["LATEST #secret * 10", &format!("AROUND #secret msgid={room_id} 10")] {
        chathistory_fails(&mut c, args, "INVALID_TARGET").await;
        chathistory_fails(&mut guest, args, "INVALID_TARGET").await;
    }
    // Admins may read any room.
    let mut root = Client::login(srv.addr, "root", "root", PW, READER).await;
    assert_eq!(msgids(&chathistory(&mut root, "LATEST #secret * 10").await.unwrap()), [room_id.as_str()]);
    // Members may.
    assert_eq!(msgids(&chathistory(&mut b, "LATEST #secret * 10").await.unwrap()), [room_id]);

    // A third account only ever sees her own conversation with either of them.
    for args in ["LATEST alice * 10", "LATEST bob * 10", "LATEST Alice * 10", "LATEST alice,bob * 10"] {
        assert_eq!(chathistory(&mut c, args).await.unwrap(), [], "carol: {args}");
    }
    for args in [format!("AROUND alice msgid={dm1} 10"), format!("BEFORE bob msgid={dm2} 10")] {
        chathistory_fails(&mut c, &args, "INVALID_MSGREFID").await;
    }
    // Both participants see the conversation, from either side and any session.
    let both = [dm1.clone(), dm2.clone()];
    assert_eq!(msgids(&chathistory(&mut a, "LATEST bob * 10").await.unwrap()), both);
    assert_eq!(msgids(&chathistory(&mut b, "LATEST alice * 10").await.unwrap()), both);
    let mut phone = Client::login(srv.addr, "alice_phone", "alice", PW, READER).await;
    assert_eq!(msgids(&chathistory(&mut phone, "LATEST bob * 10").await.unwrap()), both);
    let lines = chathistory(&mut phone, &format!("AFTER bob msgid={dm1} 10")).await.unwrap();
    assert_eq!(lines[0].params, ["alice", "psst alice"]);
    // …also when the other one is offline (conversations are keyed by account).
    b.send("QUIT").await;
    b.read_to_close().await;
    assert_eq!(msgids(&chathistory(&mut a, "LATEST bob * 10").await.unwrap()), both);
    // Without an account there is no conversation history at all.
    chathistory_fails(&mut guest, "LATEST alice * 10", "INVALID_TARGET").await;

    // TARGETS: only one's own rooms and conversations.
    // A guest's conversations are keyed apart from accounts' (see the next test).
    assert_eq!(targets(&mut a).await, ["#secret", "bob", "~guest"]);
    assert_eq!(chathistory(&mut a, "LATEST ~guest * 10").await.unwrap()[0].params[1], "hello from a guest");
    assert_eq!(targets(&mut c).await, ["#public"]);
    assert_eq!(targets(&mut guest).await, Vec::<String>::new());
    srv.shutdown().await;
}

/// Regression: a guest's conversations were keyed by its nick, the way accounts'
/// are, so an account registered later under that name could read them.
#[tokio::test]
async fn an_account_does_not_inherit_a_former_guests_conversations() {
    let srv = start_with(&format!(
        "{BASE}[accounts]\nregistration = \"open\"\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n"
    ))
    .await;
    srv.add_account("alice", PW, false).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, READER).await;
    let mut guest = Client::register(srv.addr, "dora").await;
    guest.send("PRIVMSG alice :hi, guest dora here").await;
    a.expect_cmd("PRIVMSG").await;
    a.send("PRIVMSG dora :a reply meant for guest dora").await;
    guest.expect_cmd("PRIVMSG").await;
    guest.send("QUIT").await;
    guest.read_to_close().await;
    let mut c = Client::register(srv.addr, "dora").await;
    c.send("REGISTER * * long-enough-password").await;
    c.expect_cmd("REGISTER").await;
    let mut dora = Client::login(srv.addr, "dora_", "dora", "long-enough-password", READER).await;
    assert_eq!(chathistory(&mut dora, "LATEST alice * 10").await.unwrap(), []);
    assert_eq!(targets(&mut dora).await, Vec::<String>::new());
    // Alice still has her conversation with the guest.
    assert_eq!(chathistory(&mut a, "LATEST ~dora * 10").await.unwrap().len(), 2);
    srv.shutdown().await;
}

// ----- 4. read markers -----

#[tokio::test]
async fn read_markers_move_forward_and_follow_the_account() {
    let srv = start_server().await;
    srv.add_account("alice", PW, false).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &["draft/read-marker"]).await;
    let mut a2 = Client::login(srv.addr, "alice2", "alice", PW, &["draft/read-marker"]).await;
    let mut plain = Client::login(srv.addr, "alice3", "alice", PW, &[]).await;
    a.send("JOIN #room").await;
    // draft/read-marker: the MARKREAD comes before the 366 that follows the JOIN.
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", "*"], "no marker yet");
    a.expect_cmd("366").await;
    a.send("MARKREAD #room").await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", "*"]);

    let later = "timestamp=2026-01-01T10:00:00.000Z";
    a.send(&format!("MARKREAD #room {later}")).await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", later]);
    assert_eq!(a2.expect_cmd("MARKREAD").await.params, ["#room", later], "pushed to the other session");
    let quiet = plain.sync().await;
    assert!(quiet.iter().all(|m| m.command != "MARKREAD"), "only to sessions with the cap: {quiet:?}");
    // Only forward: an earlier time leaves the marker where it is.
    a.send("MARKREAD #room timestamp=2025-12-31T23:59:59.999Z").await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", later]);
    let quiet = a2.sync().await;
    assert!(quiet.iter().all(|m| m.command != "MARKREAD"), "a marker that did not move is no news: {quiet:?}");
    a.send("MARKREAD #room").await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", later]);
    let newer = "timestamp=2026-01-01T10:00:00.001Z";
    a.send(&format!("MARKREAD #room {newer}")).await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", newer]);
    assert_eq!(a2.expect_cmd("MARKREAD").await.params, ["#room", newer]);
    // Joining tells a read-marker client where it left off.
    a2.send("JOIN #room").await;
    assert_eq!(a2.expect_cmd("MARKREAD").await.params, ["#room", newer]);
    a2.expect_cmd("366").await;
    // Conversations have markers too; bad requests fail.
    a.send(&format!("MARKREAD bob {later}")).await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["bob", later]);
    for (line, code) in [("MARKREAD #room yesterday", "INVALID_PARAMS"), ("MARKREAD #elsewhere", "INVALID_TARGET")] {
        a.send(line).await;
        assert_eq!(a.expect_cmd("FAIL").await.params[..2], ["MARKREAD".to_string(), code.to_string()], "{line}");
    }
    // A guest's markers live as long as its connection (no ACCOUNT_REQUIRED: the
    // spec defines no such code).
    let mut guest = Client::register(srv.addr, "guest").await;
    guest.send("MARKREAD bob").await;
    assert_eq!(guest.expect_cmd("MARKREAD").await.params, ["bob", "*"]);
    srv.shutdown().await;
}

/// With `[database] fsync = true` messages take the writer task's path (no journal
/// append under the state lock) and still arrive in order and in history.
#[tokio::test]
async fn fsync_mode_delivers_in_order_and_stores() {
    let srv = start_with(&format!("{BASE}[database]\nfsync = true\n")).await;
    let mut a = Client::register_with_caps(srv.addr, "alice", READER).await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #sync").await;
    a.expect_cmd("366").await;
    b.send("JOIN #sync").await;
    b.expect_cmd("366").await;
    for i in 0..20 {
        b.send(&format!("PRIVMSG #sync :line {i}")).await;
    }
    for i in 0..20 {
        let m = a.expect_cmd("PRIVMSG").await;
        assert_eq!(m.params[1], format!("line {i}"));
    }
    let lines = chathistory(&mut a, "LATEST #sync * 100").await.expect("history");
    let texts: Vec<&str> = lines.iter().map(|m| m.params[1].as_str()).collect();
    let want: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    assert_eq!(texts, want);
    srv.shutdown().await;
}
