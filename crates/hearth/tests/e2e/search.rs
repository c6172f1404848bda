//! SEARCH (soju.im/search, https://codeberg.org/emersion/soju/src/branch/master/doc/ext/search.md)
//! over real TCP: results in a batch, the filters, and access control — nobody finds
//! text from a room they are not in, or from someone else's conversation.

use hearth_proto::Message;

use crate::harness::*;

const PW: &str = "correct horse";
/// A searching client. draft/chathistory keeps JOIN from replaying history, so the
/// only batches are the search's.
const SEARCHER: &[&str] = &["soju.im/search", "batch", "message-tags", "server-time", "draft/chathistory"];

/// Sends `SEARCH <attrs>` and returns the lines of the batch it answers with, or the
/// `FAIL SEARCH` it gets instead.
async fn search(c: &mut Client, attrs: &str) -> Result<Vec<Message>, Message> {
    c.send(&format!("SEARCH {attrs}")).await;
    let start = c
        .expect(|m| {
            (m.command == "BATCH" && m.params[0].starts_with('+')) || (m.command == "FAIL" && m.params[0] == "SEARCH")
        })
        .await;
    if start.command == "FAIL" {
        return Err(start);
    }
    // "The `search` extension uses the `soju.im/search` capability and introduces a
    // new command, `SEARCH`, and batch type, `soju.im/search`."
    assert_eq!(start.params[1], "soju.im/search", "{attrs}: {start}");
    let id = start.params[0][1..].to_string();
    let mut lines = Vec::new();
    loop {
        let m = c.recv().await;
        if m.command == "BATCH" && m.params[0] == format!("-{id}") {
            return Ok(lines);
        }
        assert_eq!(m.tag("batch"), Some(id.as_str()), "{attrs}: a line inside the batch without its tag: {m}");
        lines.push(m);
    }
}

/// The texts found by `SEARCH <attrs>`, in the order given.
async fn texts(c: &mut Client, attrs: &str) -> Vec<String> {
    let lines = search(c, attrs).await.unwrap_or_else(|f| panic!("SEARCH {attrs}: {f}"));
    lines.iter().map(|m| m.params[1].clone()).collect()
}

async fn server_with(accounts: &[&str]) -> TestServer {
    let srv = start_server().await;
    for a in accounts {
        srv.add_account(a, PW, false).await;
    }
    srv
}

async fn join(c: &mut Client, room: &str) {
    c.send(&format!("JOIN {room}")).await;
    c.expect_cmd("366").await;
}

async fn say(c: &mut Client, target: &str, text: &str) {
    c.send(&format!("PRIVMSG {target} :{text}")).await;
}

#[tokio::test]
async fn search_returns_matches_in_a_batch_oldest_first() {
    let srv = server_with(&["alice", "bob"]).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, SEARCHER).await;
    let mut b = Client::login(srv.addr, "bob", "bob", PW, SEARCHER).await;
    join(&mut a, "#chan").await;
    join(&mut b, "#chan").await;
    say(&mut b, "#chan", "That was fast!").await;
    say(&mut a, "#chan", "Fast is hard.").await;
    say(&mut b, "#chan", "slow and steady").await;
    b.sync().await;
    a.sync().await;

    // "These messages MUST be `PRIVMSG` or `NOTICE` messages." "The order of returned
    // messages within the batch is implementation-defined, but SHOULD be ascending time
    // order". Words match whole and case-insensitively.
    let lines = search(&mut a, "text=fast").await.unwrap();
    let got: Vec<(&str, &str, &str)> = lines
        .iter()
        .map(|m| (m.source.as_deref().unwrap().split('!').next().unwrap(), m.params[0].as_str(), m.params[1].as_str()))
        .collect();
    assert_eq!(got, [("bob", "#chan", "That was fast!"), ("alice", "#chan", "Fast is hard.")]);
    for m in &lines {
        assert_eq!(m.command, "PRIVMSG");
        // "When provided, the msgid tag that identifies each individual message in a
        // response MUST be the msgid tag as originally sent by the IRC server."
        assert!(m.tag("msgid").is_some() && m.tag("time").is_some(), "{m}");
    }
    // "If no content exists to return, the server SHOULD return an empty batch".
    assert!(search(&mut a, "text=nowhere").await.unwrap().is_empty());
    // Attribute values are escaped like tag values: `\s` is a space. All words count.
    assert_eq!(texts(&mut a, "text=slow\\ssteady").await, ["slow and steady"]);
    assert!(texts(&mut a, "text=slow\\sfast").await.is_empty());
    // Query syntax characters are plain text, never an error.
    assert_eq!(texts(&mut a, "text=\"fast\"*\\sOR\\sNEAR(").await, Vec::<String>::new());
    assert_eq!(texts(&mut a, "text=\"FAST\"*").await, ["That was fast!", "Fast is hard."]);
    srv.shutdown().await;
}

#[tokio::test]
async fn search_filters_by_sender_room_time_and_limit() {
    let srv = server_with(&["alice", "bob"]).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, SEARCHER).await;
    let mut b = Client::login(srv.addr, "bob", "bob", PW, SEARCHER).await;
    for room in ["#one", "#two"] {
        join(&mut a, room).await;
        join(&mut b, room).await;
    }
    // Each in a later millisecond than the one before, for the time filters.
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(5));
    say(&mut a, "#one", "apple one").await;
    a.sync().await;
    pause().await;
    say(&mut b, "#one", "apple two").await;
    b.sync().await;
    pause().await;
    say(&mut b, "#two", "apple three").await;
    b.sync().await;
    pause().await;
    let lines = search(&mut a, "text=apple").await.unwrap();
    let third = lines[2].tag("time").unwrap().to_string();
    let second = lines[1].tag("time").unwrap().to_string();
    say(&mut a, "#two", "apple four").await;
    a.sync().await;

    // "`from`: the message was sent with this nick."
    assert_eq!(texts(&mut a, "text=apple;from=BOB").await, ["apple two", "apple three"]);
    // "`in`: the message was sent to this target (channel or user)."
    assert_eq!(texts(&mut a, "text=apple;in=#two").await, ["apple three", "apple four"]);
    assert_eq!(texts(&mut a, "from=bob;in=#one").await, ["apple two"], "no text: every message that fits");
    // "`after`: the message was sent at or after this time", "`before`: … at or before".
    assert_eq!(texts(&mut a, &format!("text=apple;after={third}")).await, ["apple three", "apple four"]);
    assert_eq!(texts(&mut a, &format!("text=apple;before={second}")).await, ["apple one", "apple two"]);
    // "`limit`: a number representing an upper bound on the count of messages to
    // return." "If `after` is specified, messages SHOULD be searched from that time.
    // Otherwise, messages SHOULD be searched from the `before` time, which defaults to
    // the current server time."
    assert_eq!(texts(&mut a, "text=apple;limit=2").await, ["apple three", "apple four"]);
    assert_eq!(texts(&mut a, "text=apple;limit=2;after=2000-01-01T00:00:00.000Z").await, ["apple one", "apple two"]);
    // "If the selectors were invalid, the `INVALID_PARAMS` error code SHOULD be returned."
    for bad in ["limit=0", "limit=lots", "after=yesterday", "before=2019-13-40T00:00:00Z"] {
        let fail = search(&mut a, bad).await.unwrap_err();
        assert_eq!(fail.params[1], "INVALID_PARAMS", "{bad}: {fail}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn nobody_finds_text_from_a_room_they_are_not_in_or_from_someone_elses_conversation() {
    let srv = server_with(&["alice", "bob", "carol"]).await;
    let mut a = Client::login(srv.addr, "alice", "alice", PW, SEARCHER).await;
    let mut b = Client::login(srv.addr, "bob", "bob", PW, SEARCHER).await;
    let mut c = Client::login(srv.addr, "carol", "carol", PW, SEARCHER).await;
    let mut guest = Client::register_with_caps(srv.addr, "dave", SEARCHER).await;
    join(&mut a, "#secret").await;
    join(&mut b, "#secret").await;
    join(&mut c, "#open").await;
    say(&mut a, "#secret", "secret room plan").await;
    say(&mut a, "bob", "secret direct plan").await;
    say(&mut guest, "alice", "secret guest plan").await;
    say(&mut c, "#open", "open plan").await;
    for x in [&mut a, &mut b, &mut c, &mut guest] {
        x.sync().await;
    }

    // Members find the room; each participant finds their own conversations.
    assert_eq!(texts(&mut a, "text=secret").await, ["secret room plan", "secret direct plan", "secret guest plan"]);
    assert_eq!(texts(&mut b, "text=secret").await, ["secret room plan", "secret direct plan"]);
    assert_eq!(texts(&mut guest, "text=secret").await, ["secret guest plan"]);
    // Carol is in neither: not in the room, not in those conversations.
    assert_eq!(texts(&mut c, "text=plan").await, ["open plan"]);
    assert!(texts(&mut c, "text=secret").await.is_empty());
    assert!(texts(&mut c, "from=alice").await.is_empty());
    let fail = search(&mut c, "text=secret;in=#secret").await.unwrap_err();
    assert_eq!(fail.params[1..3], ["INVALID_PARAMS", "in"], "{fail}");
    // `in=<nick>` is always the searcher's own conversation with that nick.
    assert!(texts(&mut c, "text=secret;in=alice").await.is_empty());
    assert!(texts(&mut c, "text=secret;in=bob").await.is_empty());
    assert_eq!(texts(&mut b, "text=secret;in=alice").await, ["secret direct plan"]);
    let fail = search(&mut c, "text=secret;in=alice\\sbob").await.unwrap_err();
    assert_eq!(fail.params[1..3], ["INVALID_PARAMS", "in"], "{fail}");
    // Alice's conversation with the guest stays hers once he is gone.
    guest.send("QUIT").await;
    guest.read_to_close().await;
    assert_eq!(texts(&mut a, "text=guest;in=dave").await, ["secret guest plan"]);
    // Leaving the room ends access to its history.
    b.send("PART #secret").await;
    b.expect_cmd("PART").await;
    assert_eq!(texts(&mut b, "text=secret").await, ["secret direct plan"]);
    let fail = search(&mut b, "in=#secret").await.unwrap_err();
    assert_eq!(fail.params[1], "INVALID_PARAMS", "{fail}");
    srv.shutdown().await;
}

#[tokio::test]
async fn search_needs_its_capability_and_never_finds_a_redacted_message() {
    let srv = server_with(&["alice"]).await;
    // "The `soju.im/search` capability MUST be negotiated."
    let mut plain = Client::login(srv.addr, "alice", "alice", PW, &["batch"]).await;
    plain.send("SEARCH text=x").await;
    assert_eq!(plain.expect_cmd("421").await.params[1], "SEARCH");

    let mut caps = SEARCHER.to_vec();
    caps.extend(["draft/message-redaction", "echo-message"]);
    let mut a = Client::login(srv.addr, "alice_2", "alice", PW, &caps).await;
    join(&mut a, "#r").await;
    say(&mut a, "#r", "oops wrong window").await;
    let echo = a.expect_cmd("PRIVMSG").await;
    let msgid = echo.tag("msgid").unwrap().to_string();
    assert_eq!(texts(&mut a, "text=oops").await, ["oops wrong window"]);
    a.send(&format!("REDACT #r {msgid}")).await;
    a.expect_cmd("REDACT").await;
    assert!(texts(&mut a, "text=oops").await.is_empty(), "a redacted message is gone from search");
    srv.shutdown().await;
}

#[tokio::test]
async fn search_without_batch_or_server_time_still_answers() {
    let srv = server_with(&["alice"]).await;
    // "Servers SHOULD NOT enforce that clients support all related capabilities
    // before using the search extension."
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &["soju.im/search", "draft/chathistory"]).await;
    join(&mut a, "#p").await;
    say(&mut a, "#p", "plain words").await;
    a.sync().await;
    a.send("SEARCH text=plain").await;
    let m = a.expect_cmd("PRIVMSG").await;
    assert!(m.tags.is_empty(), "{m}");
    assert!(m.params[1].starts_with('[') && m.params[1].ends_with("] plain words"), "time in front: {m}");
    srv.shutdown().await;
}

/// Issue 9, "Who may read a room's past": `joined` "applies to everything: replay on
/// join, CHATHISTORY, search and the login summary". A newcomer to a +H room finds
/// nothing said before they joined, and what was said after.
#[tokio::test]
async fn search_in_a_joined_room_finds_only_what_was_said_since_joining() {
    let srv = server_with(&["ann", "bea"]).await;
    let mut ann = Client::login(srv.addr, "ann", "ann", PW, &["echo-message"]).await;
    join(&mut ann, "#quiet").await;
    ann.send("MODE #quiet +H").await;
    ann.expect(|m| m.command == "MODE").await;
    say(&mut ann, "#quiet", "secret plans before bea").await;
    let mut bea = Client::login(srv.addr, "bea", "bea", PW, SEARCHER).await;
    join(&mut bea, "#quiet").await;
    say(&mut ann, "#quiet", "public plans after bea").await;
    bea.expect(|m| m.command == "PRIVMSG").await;
    assert_eq!(texts(&mut bea, "text=plans").await, ["public plans after bea"]);
    srv.shutdown().await;
}
