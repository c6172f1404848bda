//! draft/event-playback, draft/message-redaction, draft/multiline and
//! draft/channel-rename over real TCP. Each test quotes the spec sentences it checks.

use hearth_proto::Message;

use crate::harness::*;

const PW: &str = "correct horse";
const BASE: &str = "[flood]\nburst = 0\n";
/// Caps of a client that reads history with CHATHISTORY.
const READER: &[&str] = &["draft/chathistory", "batch", "message-tags", "server-time"];

/// `CHATHISTORY <args>`: the lines of the chathistory batch (nested batches' lines
/// included), or the FAIL.
async fn history(c: &mut Client, args: &str) -> Result<Vec<Message>, Message> {
    c.send(&format!("CHATHISTORY {args}")).await;
    let start = c
        .expect(|m| {
            (m.command == "BATCH" && m.params[0].starts_with('+') && m.params[1] == "chathistory")
                || m.command == "FAIL"
        })
        .await;
    if start.command == "FAIL" {
        return Err(start);
    }
    let close = format!("-{}", &start.params[0][1..]);
    let mut lines = Vec::new();
    loop {
        let m = c.recv().await;
        if m.command == "BATCH" && m.params[0] == close {
            return Ok(lines);
        }
        lines.push(m);
    }
}

fn commands(lines: &[Message]) -> Vec<&str> {
    lines.iter().map(|m| m.command.as_str()).collect()
}

async fn join(c: &mut Client, room: &str) {
    c.send(&format!("JOIN {room}")).await;
    c.expect(|m| m.command == "366" && m.params[1].eq_ignore_ascii_case(room)).await;
}

#[tokio::test]
async fn event_playback_is_offered_and_replays_events_only_to_clients_that_asked() {
    let srv = start_with(BASE).await;
    for name in ["alice", "bob", "dave"] {
        srv.add_account(name, PW, false).await;
    }
    let mut probe = Client::connect(srv.addr).await;
    probe.send("CAP LS 302").await;
    let ls = probe.expect_cmd("CAP").await;
    let offered: Vec<&str> = ls.params.last().unwrap().split(' ').collect();
    for cap in [
        "draft/event-playback",
        "draft/message-redaction",
        "draft/channel-rename",
        "draft/multiline=max-bytes=4096,max-lines=32",
    ] {
        assert!(offered.contains(&cap), "{cap} not in {ls}");
    }

    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &[]).await;
    join(&mut bob, "#ev").await;
    let mut alice = Client::login(srv.addr, "alice", "alice", PW, &[READER, &["draft/event-playback"]].concat()).await;
    join(&mut alice, "#ev").await;
    let mut carol = Client::register(srv.addr, "carol").await;
    join(&mut carol, "#ev").await;
    bob.send("TOPIC #ev :the topic").await;
    bob.send("KICK #ev carol :enough").await;
    bob.send("NICK bobby").await;
    bob.send("PRIVMSG #ev :still here").await;
    bob.send("PART #ev :later").await;
    bob.sync().await;
    bob.send("JOIN #ev").await;
    bob.send("QUIT :gone").await;
    alice.expect(|m| m.command == "QUIT").await;

    // "The `draft/event-playback` capability MAY be negotiated. This allows the client
    // to signal that it is capable of receiving and correctly processing lines that
    // would normally produce a local state change (such as `JOIN` or `MODE`) in its
    // history batches."
    let lines = history(&mut alice, "LATEST #ev * 50").await.unwrap();
    assert_eq!(
        commands(&lines),
        ["JOIN", "JOIN", "JOIN", "TOPIC", "KICK", "NICK", "PRIVMSG", "PART", "JOIN", "QUIT"],
        "{lines:#?}"
    );
    assert!(lines[0].source.as_deref().unwrap().starts_with("bob!"));
    assert_eq!(lines[3].params, ["#ev", "the topic"]);
    assert_eq!(lines[4].params, ["#ev", "carol", "enough"]);
    assert_eq!(lines[5].params, ["bobby"]);
    assert_eq!(lines[7].params, ["#ev", "later"]);
    assert_eq!(lines[9].params, ["Quit: gone"]);
    assert!(lines.iter().all(|m| m.tag("msgid").is_some() && m.tag("time").is_some()));

    // "Servers MAY ONLY send `PRIVMSG` and `NOTICE` messages inside `chathistory`
    // batches, unless the `event-playback` capability described below is in use."
    let mut dave = Client::login(srv.addr, "dave", "dave", PW, READER).await;
    join(&mut dave, "#ev").await;
    let lines = history(&mut dave, "LATEST #ev * 50").await.unwrap();
    assert_eq!(commands(&lines), ["PRIVMSG"], "{lines:#?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn redact_deletes_for_everyone_and_stays_deleted_after_a_restart() {
    let srv = start_with(BASE).await;
    for name in ["alice", "bob"] {
        srv.add_account(name, PW, false).await;
    }
    srv.add_account("root", PW, true).await;
    // "Clients wishing to use this capability MUST negotiate the `message-tags`
    // capability with the server. Clients SHOULD negotiate the `echo-message`
    // capability in order to receive message IDs for their own messages".
    let redactor = [READER, &["echo-message", "draft/message-redaction", "standard-replies"]].concat();
    let mut alice = Client::login(srv.addr, "alice", "alice", PW, &redactor).await;
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &redactor).await;
    let mut carol = Client::register_with_caps(srv.addr, "carol", &["message-tags"]).await;
    let mut root = Client::login(srv.addr, "root", "root", PW, &redactor).await;
    for c in [&mut alice, &mut bob, &mut carol, &mut root] {
        join(c, "#r").await;
    }
    alice.send("PRIVMSG #r :an example").await;
    let mine = alice.expect_cmd("PRIVMSG").await.tag("msgid").unwrap().to_string();
    bob.send("PRIVMSG #r :join my network for cold hard chats").await;
    let spam = bob.expect(|m| m.command == "PRIVMSG" && m.params[1].starts_with("join")).await;
    let spam = spam.tag("msgid").unwrap().to_string();
    alice.send("PRIVMSG #r :a keeper").await;
    alice.expect_cmd("PRIVMSG").await;

    // "FAIL REDACT REDACT_FORBIDDEN <target> <target-msgid> :You are not authorised to
    // delete this message"
    bob.send(&format!("REDACT #r {mine}")).await;
    let fail = bob.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..4], ["REDACT", "REDACT_FORBIDDEN", "#r", mine.as_str()]);
    // "FAIL REDACT UNKNOWN_MSGID <target> <target-msgid> :This message does not exist or is too old"
    bob.send("REDACT #r nosuchid").await;
    let fail = bob.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..4], ["REDACT", "UNKNOWN_MSGID", "#r", "nosuchid"]);
    // "FAIL REDACT INVALID_TARGET <target> :You cannot delete messages from <target>"
    bob.send(&format!("REDACT #elsewhere {mine}")).await;
    let fail = bob.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..3], ["REDACT", "INVALID_TARGET", "#elsewhere"]);

    // Deleting one's own message: "SHOULD forward this `REDACT`, with an appropriate
    // prefix, to the target recipients that have negotiated the
    // `draft/message-redaction` capability".
    alice.send(&format!("REDACT #r {mine} :bad example")).await;
    let own = alice.expect_cmd("REDACT").await;
    assert_eq!(own.params, ["#r", mine.as_str(), "bad example"]);
    let seen = bob.expect_cmd("REDACT").await;
    assert!(seen.source.as_deref().unwrap().starts_with("alice!"));
    assert_eq!(seen.params, ["#r", mine.as_str(), "bad example"]);
    // An admin deletes someone else's message.
    root.send(&format!("REDACT #r {spam} spam")).await;
    let seen = bob.expect_cmd("REDACT").await;
    assert_eq!(seen.params, ["#r", spam.as_str(), "spam"]);
    // "MUST not forward this `REDACT` to target recipients that have not negotiated
    // this capability".
    let carol_saw = carol.sync().await;
    assert!(carol_saw.iter().all(|m| m.command != "REDACT"), "{carol_saw:?}");

    // "After a message is redacted, `chathistory` responses SHOULD either: exclude it
    // entirely …" — this server excludes it.
    let lines = history(&mut bob, "LATEST #r * 50").await.unwrap();
    let texts: Vec<&str> = lines.iter().map(|m| m.params[1].as_str()).collect();
    assert_eq!(texts, ["a keeper"]);
    drop((alice, bob, carol, root));

    // A restart replays whatever the journal held: the deletions are records in it,
    // applied in order, so nothing redacted comes back.
    let data = srv.stop().await;
    let srv = start_in(data, BASE).await;
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, READER).await;
    join(&mut bob, "#r").await;
    let lines = history(&mut bob, "LATEST #r * 50").await.unwrap();
    let texts: Vec<&str> = lines.iter().map(|m| m.params[1].as_str()).collect();
    assert_eq!(texts, ["a keeper"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn multiline_batches_are_delivered_whole_or_as_lines_and_stored_once() {
    let srv = start_with(BASE).await;
    for name in ["alice", "bob"] {
        srv.add_account(name, PW, false).await;
    }
    let ml = ["draft/multiline", "batch", "message-tags", "server-time"];
    let mut alice = Client::login(
        srv.addr,
        "alice",
        "alice",
        PW,
        &[&ml[..], &["echo-message", "labeled-response", "standard-replies"]].concat(),
    )
    .await;
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &[&ml[..], &["draft/chathistory"]].concat()).await;
    let mut carol = Client::register_with_caps(srv.addr, "carol", &["message-tags"]).await;
    for c in [&mut alice, &mut bob, &mut carol] {
        join(c, "#ml").await;
    }
    alice.send("@label=L1;+draft/reply=x BATCH +123 draft/multiline #ml").await;
    alice.send("@batch=123 PRIVMSG #ml hello").await;
    alice.send("@batch=123 PRIVMSG #ml :").await;
    alice.send("@batch=123 privmsg #ml :how is ").await;
    alice.send("@batch=123;draft/multiline-concat PRIVMSG #ml :everyone?").await;
    alice.send("BATCH -123").await;

    // "Servers MUST only include the label tag on the opening BATCH command when
    // replying to a client using `echo-message`."
    let open = alice.expect_cmd("BATCH").await;
    assert_eq!(open.tag("label"), Some("L1"));
    assert_eq!(open.params[1..], ["draft/multiline", "#ml"]);
    let msgid = open.tag("msgid").unwrap().to_string();

    // Capable recipients get the batch with the lines as composed.
    let open = bob.expect_cmd("BATCH").await;
    assert_eq!(open.tag("msgid"), Some(msgid.as_str()));
    assert_eq!(open.tag("+draft/reply"), Some("x"));
    let reference = &open.params[0][1..];
    let mut lines = Vec::new();
    loop {
        let m = bob.recv().await;
        if m.command == "BATCH" {
            assert_eq!(m.params[0], format!("-{reference}"));
            break;
        }
        assert_eq!(m.tag("batch"), Some(reference));
        lines.push((m.params[1].clone(), m.tag("draft/multiline-concat").is_some()));
    }
    let want =
        [("hello", false), ("", false), ("how is ", false), ("everyone?", true)].map(|(l, c)| (l.to_string(), c));
    assert_eq!(lines, want);

    // "When delivering multiline batches to clients that have not negotiated the
    // multiline capability, servers MUST deliver the component messages without using a
    // multiline BATCH." "Servers MUST NOT send blank lines to clients that have not
    // negotiated the multiline capability." "Servers MUST only include a message ID on
    // the first message of a batch when sending a fallback to non-supporting clients."
    let got: Vec<Message> = carol.sync().await.into_iter().filter(|m| m.command == "PRIVMSG").collect();
    let texts: Vec<&str> = got.iter().map(|m| m.params[1].as_str()).collect();
    assert_eq!(texts, ["hello", "how is ", "everyone?"]);
    assert_eq!(got[0].tag("msgid"), Some(msgid.as_str()));
    assert!(got[1..].iter().all(|m| m.tag("msgid").is_none()));

    // Stored as ONE history entry, replayed as a nested multiline batch to bob…
    let replay = history(&mut bob, "LATEST #ml * 10").await.unwrap();
    assert_eq!(commands(&replay), ["BATCH", "PRIVMSG", "PRIVMSG", "PRIVMSG", "PRIVMSG", "BATCH"], "{replay:#?}");
    assert_eq!(replay[0].tag("msgid"), Some(msgid.as_str()));
    assert!(replay[4].tag("draft/multiline-concat").is_some());
    // …and as its non-blank lines to a reader without draft/multiline.
    srv.add_account("dave", PW, false).await;
    let mut dave = Client::login(srv.addr, "dave", "dave", PW, READER).await;
    join(&mut dave, "#ml").await;
    let replay = history(&mut dave, "LATEST #ml * 10").await.unwrap();
    let texts: Vec<&str> = replay.iter().map(|m| m.params[1].as_str()).collect();
    assert_eq!(texts, ["hello", "how is ", "everyone?"]);

    // "MULTILINE_INVALID_TARGET <batch-target> <provided-target>: mismatched PRIVMSG
    // target within a batch"
    alice.send("BATCH +456 draft/multiline #ml").await;
    alice.send("@batch=456 PRIVMSG #bar hello").await;
    alice.send("BATCH -456").await;
    let fail = alice.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..4], ["BATCH", "MULTILINE_INVALID_TARGET", "#ml", "#bar"]);
    // "MULTILINE_MAX_LINES <limit>: `max-lines` limit exceeded"
    alice.send("BATCH +abc draft/multiline #ml").await;
    for i in 0..33 {
        alice.send(&format!("@batch=abc PRIVMSG #ml :line {i}")).await;
    }
    alice.send("BATCH -abc").await;
    let fail = alice.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..3], ["BATCH", "MULTILINE_MAX_LINES", "32"]);
    let carol_saw = carol.sync().await;
    assert!(carol_saw.iter().all(|m| m.command != "PRIVMSG"), "a refused batch leaked: {carol_saw:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn rename_moves_the_room_its_members_and_its_history() {
    let srv = start_with(BASE).await;
    for name in ["alice", "bob", "carol"] {
        srv.add_account(name, PW, false).await;
    }
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, &["draft/channel-rename"]).await;
    join(&mut bob, "#boaring").await;
    bob.send("TOPIC #boaring :Topic of the renamed channel").await;
    let mut alice = Client::login(srv.addr, "alice", "alice", PW, &[READER, &["draft/channel-rename"]].concat()).await;
    join(&mut alice, "#boaring").await;
    let mut carol = Client::login(srv.addr, "carol", "carol", PW, &[]).await;
    join(&mut carol, "#boaring").await;
    alice.send("PRIVMSG #boaring :said before the rename").await;
    join(&mut carol, "#taken").await;

    // "If existing error numerics (such as `ERR_CHANOPRIVSNEEDED`, …) are more
    // appropriate, they SHOULD be used instead."
    alice.send("RENAME #boaring #boring").await;
    let err = alice.expect_cmd("482").await;
    assert_eq!(err.params[1], "#boaring");
    // "FAIL RENAME CHANNEL_NAME_IN_USE <old-channel> <new-channel> :The channel name is already taken"
    bob.send("RENAME #boaring #taken").await;
    let fail = bob.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..4], ["RENAME", "CHANNEL_NAME_IN_USE", "#boaring", "#taken"]);

    bob.send("RENAME #boaring #boring :Typo fix").await;
    // "Clients that negotiate this capability indicate that they are capable of
    // handling the `RENAME` command."
    let m = bob.expect_cmd("RENAME").await;
    assert_eq!(m.params, ["#boaring", "#boring", "Typo fix"]);
    let m = alice.expect_cmd("RENAME").await;
    assert!(m.source.as_deref().unwrap().starts_with("bob!"));
    assert_eq!(m.params, ["#boaring", "#boring", "Typo fix"]);
    // Fallback: "Send the client a `PART` message for the old channel name, with part
    // message matching the rename reason if given" and "a `JOIN` message followed by the
    // usual messages that would be sent if the client had joined the new channel
    // normally (`RPL_TOPIC`, `RPL_TOPICWHOTIME`, `RPL_NAMREPLY`, `RPL_ENDOFNAMES` etc)."
    let part = carol.expect_cmd("PART").await;
    assert!(part.source.as_deref().unwrap().starts_with("carol!"));
    assert_eq!(part.params, ["#boaring", "Typo fix"]);
    let rest = carol.sync().await;
    assert_eq!(commands(&rest), ["JOIN", "332", "333", "353", "366"], "{rest:#?}");
    assert_eq!(rest[0].params, ["#boring"]);
    assert_eq!(rest[1].params[1..], ["#boring", "Topic of the renamed channel"]);
    // Without a reason: "The server to client command MUST always include the third
    // parameter, an empty string MAY be used if no reason is provided."
    bob.send("RENAME #boring #Boring").await;
    let m = alice.expect_cmd("RENAME").await;
    assert_eq!(m.params, ["#boring", "#Boring", ""]);
    // "This fallback SHOULD NOT be used if the rename only changes the case".
    assert!(carol.sync().await.is_empty());

    // "A channel rename preserves all channel state, such as membership, mode and topic."
    carol.send("PRIVMSG #Boring :after").await;
    let m = alice.expect_cmd("PRIVMSG").await;
    assert_eq!(m.params, ["#Boring", "after"]);
    // The history follows the rename, named as the channel is called now.
    let lines = history(&mut alice, "LATEST #boring * 10").await.unwrap();
    let got: Vec<(&str, &str)> = lines.iter().map(|m| (m.params[0].as_str(), m.params[1].as_str())).collect();
    assert_eq!(got, [("#Boring", "said before the rename"), ("#Boring", "after")]);
    assert!(history(&mut alice, "LATEST #boaring * 10").await.is_err());
    drop((alice, bob, carol));

    // The persistent room moved too: it survives a restart under its new name.
    let data = srv.stop().await;
    let srv = start_in(data, BASE).await;
    let mut bob = Client::login(srv.addr, "bob", "bob", PW, READER).await;
    bob.send("JOIN #boring").await;
    let topic = bob.expect_cmd("332").await;
    assert_eq!(topic.params[1..], ["#Boring", "Topic of the renamed channel"]);
    bob.expect_cmd("366").await;
    let lines = history(&mut bob, "LATEST #boring * 10").await.unwrap();
    assert_eq!(lines.len(), 2);
    bob.send("LIST #boaring").await;
    let list = bob.sync().await;
    assert!(list.iter().all(|m| m.command != "322"), "{list:#?}");
    srv.shutdown().await;
}
