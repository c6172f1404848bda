//! Hostile and malformed input: it never panics the server, never reaches other
//! clients, gets the documented reply, and leaves the sender's connection usable.
//!
//! Every test puts the offender (`bad`) and a well-behaved client (`good`) in one
//! channel and checks afterwards that they still hear each other — and that `good`
//! received nothing caused by the bad input.

use hearth_proto::{MAX_CLIENT_TAGS_LEN, MAX_TAGS_LEN, Message};

use crate::harness::*;

/// Is `m` from `nick` (`nick!user@host`)?
pub fn from(m: &Message, nick: &str) -> bool {
    m.source.as_deref().is_some_and(|s| s.split('!').next() == Some(nick))
}

/// A PRIVMSG from `nick` with exactly `text`.
pub fn said(m: &Message, nick: &str, text: &str) -> bool {
    m.command == "PRIVMSG" && from(m, nick) && m.params.last().map(String::as_str) == Some(text)
}

/// Registers `bad` (with `caps`) and `good`; both join `#room`.
async fn room(srv: &TestServer, bad_caps: &[&str], good_caps: &[&str]) -> (Client, Client) {
    let mut bad = Client::register_with_caps(srv.addr, "bad", bad_caps).await;
    let mut good = Client::register_with_caps(srv.addr, "good", good_caps).await;
    bad.send("JOIN #room").await;
    bad.expect_cmd("366").await;
    good.send("JOIN #room").await;
    good.expect_cmd("366").await;
    bad.expect(|m| m.command == "JOIN" && from(m, "good")).await;
    (bad, good)
}

/// `good` got nothing since its last read, then `bad` and `good` still talk both ways.
async fn assert_still_chatting(bad: &mut Client, good: &mut Client) {
    let stray = good.sync().await;
    assert!(stray.is_empty(), "bystander received something from bad input: {stray:?}");
    bad.send("PRIVMSG #room :still here").await;
    good.expect(|m| said(m, "bad", "still here")).await;
    good.send("PRIVMSG #room :hello bad").await;
    bad.expect(|m| said(m, "good", "hello bad")).await;
    let rest = bad.sync().await;
    assert!(rest.iter().all(|m| m.command != "ERROR"), "{rest:?}");
}

/// Waits for `ERR_INPUTTOOLONG` (417) and checks its shape.
async fn expect_417(c: &mut Client) {
    let m = c.expect(|m| m.command.len() == 3 || m.command == "NOTICE" || m.command == "FAIL").await;
    assert_eq!(m.command, "417", "{m}");
    assert_eq!(m.params[0], c.nick);
    assert_eq!(m.params.last().unwrap(), "Input line was too long");
}

#[tokio::test]
async fn oversized_body_gets_417_and_the_connection_stays_usable() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    bad.send(&format!("PRIVMSG #room :{}", "x".repeat(600))).await;
    expect_417(&mut bad).await;
    // One byte over: 511 bytes + CRLF.
    let mut line = "PRIVMSG #room :".to_string();
    line.push_str(&"y".repeat(511 - line.len()));
    bad.send(&line).await;
    expect_417(&mut bad).await;
    assert_still_chatting(&mut bad, &mut good).await;
    // Exactly at the limit (510 bytes + CRLF) is relayed whole.
    line.pop();
    bad.send(&line).await;
    let got = good.expect_cmd("PRIVMSG").await;
    assert_eq!(got.params[1].len(), 510 - "PRIVMSG #room :".len());
    assert!(bad.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn unterminated_20k_line_is_rejected_and_discarded_up_to_its_newline() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    let chunk = "PRIVMSG #room :".to_string() + &"z".repeat(4985);
    for _ in 0..4 {
        bad.send_raw(chunk.as_bytes()).await;
    }
    // The server answers as soon as it knows the line is too long, before its end.
    expect_417(&mut bad).await;
    bad.send_raw(b"tail of the long line QUIT :not a command\r\nPRIVMSG #room :after the storm\r\n").await;
    good.expect(|m| said(m, "bad", "after the storm")).await;
    let between = bad.sync().await;
    assert!(between.is_empty(), "the tail of the long line was interpreted: {between:?}");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn line_without_a_command_gets_a_notice_and_no_disconnect() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    for line in [":prefix-only", "@tag=1", ":prefix ", "@a=b :source", "@tag=1 "] {
        bad.send(line).await;
        let m = bad.expect(|_| true).await;
        assert_eq!(m.command, "NOTICE", "{line:?} → {m}");
        assert_eq!(m.params[0], "bad");
        assert!(m.params[1].contains("no command"), "{line:?} → {m}");
    }
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn line_without_a_command_gets_fail_with_standard_replies() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &["standard-replies"], &[]).await;
    bad.send(":prefix-only").await;
    let m = bad.expect(|_| true).await;
    assert_eq!((m.command.as_str(), m.params[0].as_str(), m.params[1].as_str()), ("FAIL", "*", "INVALID_LINE"), "{m}");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_gets_a_notice_and_is_not_relayed() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    bad.send_raw(b"PRIVMSG #room :caf\xe9 \xff\xfe\r\n").await;
    let m = bad.expect(|_| true).await;
    assert_eq!(m.command, "NOTICE", "{m}");
    assert!(m.params[1].contains("UTF-8"), "{m}");
    // A lone continuation byte and a truncated sequence at the very end of the line.
    bad.send_raw(b"\x80\r\nPRIVMSG #room :\xe2\x82\r\n").await;
    assert_eq!(bad.expect(|_| true).await.command, "NOTICE");
    assert_eq!(bad.expect(|_| true).await.command, "NOTICE");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn invalid_utf8_gets_fail_invalid_utf8_with_standard_replies() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &["standard-replies"], &[]).await;
    bad.send_raw(b"PRIVMSG #room :\xc3\x28\r\n").await;
    let m = bad.expect(|_| true).await;
    // UTF8ONLY: FAIL <command> when the command can be read, `*` only when it cannot.
    assert_eq!(
        (m.command.as_str(), m.params[0].as_str(), m.params[1].as_str()),
        ("FAIL", "PRIVMSG", "INVALID_UTF8"),
        "{m}"
    );
    assert_eq!(m.source.as_deref(), Some("hearth.local"));
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn nul_bytes_are_rejected_and_not_relayed() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    for raw in [&b"PRIVMSG #room :a\0b\r\n"[..], b"\0\r\n", b"PRIV\0MSG #room :x\r\n", b"PRIVMSG #room\0 :x\r\n"] {
        bad.send_raw(raw).await;
        let m = bad.expect(|_| true).await;
        assert_eq!(m.command, "NOTICE", "{raw:?} → {m}");
        assert!(m.params[1].contains("NUL"), "{raw:?} → {m}");
    }
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn bare_cr_inside_a_line_is_not_smuggled_as_a_second_line() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    bad.send_raw(b"PRIVMSG #room :one\rQUIT :smuggled\r\n").await;
    let m = bad.expect(|_| true).await;
    assert_eq!(m.command, "NOTICE", "{m}");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn ten_thousand_parameters_get_417() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    bad.send(&format!("PRIVMSG{}", " x".repeat(10_000))).await;
    expect_417(&mut bad).await;
    // Many parameters that still fit in 512 bytes are harmless.
    bad.send(&format!("PRIVMSG #room{} :fits", " x".repeat(200))).await;
    good.expect(|m| said(m, "bad", "x")).await;
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

/// `@k=vvv… rest` whose tag section (with `@` and the space) is `section` bytes.
fn with_tags(section: usize, key: &str, rest: &str) -> String {
    format!("@{key}={} {rest}", "v".repeat(section - 3 - key.len()))
}

#[tokio::test]
async fn tag_section_over_8191_bytes_gets_417() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &["message-tags"], &["message-tags"]).await;
    bad.send(&with_tags(MAX_TAGS_LEN + 1, "k", "PRIVMSG #room :too many tags")).await;
    expect_417(&mut bad).await;
    // Far over: longer than any line the reader buffers.
    bad.send(&with_tags(20_000, "k", "PRIVMSG #room :way too many tags")).await;
    expect_417(&mut bad).await;
    assert_still_chatting(&mut bad, &mut good).await;
    // A client may send 4094 bytes of tag data, with or without the '+' (IRCv3
    // message-tags): '@' + 4094 + ' ' passes, 8191 does not.
    bad.send(&with_tags(MAX_TAGS_LEN, "k", "PRIVMSG #room :too many for a client")).await;
    expect_417(&mut bad).await;
    bad.send(&with_tags(MAX_CLIENT_TAGS_LEN + 2, "k", "PRIVMSG #room :just fits")).await;
    good.expect(|m| said(m, "bad", "just fits")).await;
    assert!(bad.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn client_only_tags_over_4094_bytes_get_417() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &["message-tags"], &["message-tags"]).await;
    // "+a=" + value: 4095 bytes of client-only tag data.
    let value = "w".repeat(MAX_CLIENT_TAGS_LEN - 2);
    bad.send(&format!("@+a={value} TAGMSG #room")).await;
    expect_417(&mut bad).await;
    bad.send(&format!("@+a={value} PRIVMSG #room :tagged")).await;
    expect_417(&mut bad).await;
    assert_still_chatting(&mut bad, &mut good).await;
    // 4094 bytes exactly is relayed intact to message-tags clients.
    let value = "w".repeat(MAX_CLIENT_TAGS_LEN - 3);
    bad.send(&format!("@+a={value} TAGMSG #room")).await;
    let m = good.expect_cmd("TAGMSG").await;
    assert!(from(&m, "bad"), "{m}");
    assert_eq!(m.tag("+a").map(str::len), Some(value.len()));
    assert!(bad.sync().await.is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_command_gets_421() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    for (line, cmd) in [("FOO", "FOO"), ("xyzzy a b :c d", "XYZZY"), ("999 x", "999")] {
        bad.send(line).await;
        let m = bad.expect(|_| true).await;
        assert_eq!(m.command, "421", "{line} → {m}");
        assert_eq!(m.params[..2], ["bad".to_string(), cmd.to_string()], "{m}");
    }
    // Any token is a command: one with punctuation is unknown too, not unparsable.
    bad.send("PRIV-MSG #room :x").await;
    assert_eq!(bad.expect(|_| true).await.command, "421");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn missing_parameters_get_461() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    for line in [
        "JOIN",
        "PART",
        "TOPIC",
        "KICK #room",
        "KICK",
        "INVITE good",
        "MODE",
        "WHOIS",
        "TAGMSG",
        "USER x",
        "PASS",
        "CAP",
        "PING",
        "ISON",
        "USERHOST",
        "SETNAME",
        "KILL",
    ] {
        bad.send(line).await;
        let m = bad.expect(|_| true).await;
        let cmd = line.split(' ').next().unwrap();
        assert_eq!(m.command, "461", "{line} → {m}");
        assert_eq!(m.params[..2], ["bad".to_string(), cmd.to_string()], "{line} → {m}");
    }
    bad.send("PRIVMSG").await;
    assert_eq!(bad.expect(|_| true).await.command, "411");
    bad.send("PRIVMSG #room").await;
    assert_eq!(bad.expect(|_| true).await.command, "412");
    bad.send("PRIVMSG #room :").await;
    assert_eq!(bad.expect(|_| true).await.command, "412");
    assert_still_chatting(&mut bad, &mut good).await;
    // Before registration the nickname in the reply is `*`.
    let mut fresh = Client::connect(srv.addr).await;
    fresh.send("USER onlyone").await;
    let m = fresh.expect(|_| true).await;
    assert_eq!(m.command, "461", "{m}");
    assert_eq!(m.params[..2], ["*".to_string(), "USER".to_string()]);
    srv.shutdown().await;
}

/// A half-sent line never blocks anyone; the staller is dropped by the timeouts.
#[tokio::test]
async fn stalled_half_line_does_not_block_others_and_is_dropped_by_timeouts() {
    let srv =
        start_with("[timeouts]\nping_interval = 0.3\nping_timeout = 0.3\nregistration = 0.5\n[flood]\nburst = 0\n")
            .await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    let mut talker = Client::register(srv.addr, "talker").await;
    talker.send("JOIN #room").await;
    talker.expect_cmd("366").await;
    // An unregistered connection that stalls inside its NICK line.
    let mut unreg = Client::connect(srv.addr).await;
    unreg.send_raw(b"NICK stal").await;
    bad.send_raw(b"PRIVMSG #room :half a li").await;

    let chat = async {
        let (mut seen_good, mut seen_talker) = (Vec::new(), Vec::new());
        for i in 0..5 {
            let text = format!("round {i}");
            talker.send(&format!("PRIVMSG #room :{text}")).await;
            wait_answering_pings(&mut good, &mut seen_good, |m| said(m, "talker", &text)).await;
            good.send(&format!("PRIVMSG #room :re {text}")).await;
            wait_answering_pings(&mut talker, &mut seen_talker, |m| said(m, "good", &format!("re {text}"))).await;
        }
        // Both bystanders see the staller go, with the reason.
        let is_quit = |m: &Message| m.command == "QUIT" && from(m, "bad");
        tokio::join!(
            wait_answering_pings(&mut good, &mut seen_good, is_quit),
            wait_answering_pings(&mut talker, &mut seen_talker, is_quit),
        );
        for seen in [seen_good, seen_talker] {
            let quit = seen.iter().find(|m| is_quit(m)).unwrap();
            assert!(quit.params[0].starts_with("Ping timeout"), "{quit}");
        }
    };
    let stalled = async {
        let lines = bad.read_to_close().await;
        assert!(lines.iter().any(|l| l.contains("PING")), "no PING before the timeout: {lines:?}");
        assert!(lines.last().is_some_and(|l| l.starts_with("ERROR") && l.contains("Ping timeout")), "{lines:?}");
    };
    let unregistered = async {
        let lines = unreg.read_to_close().await;
        assert!(
            lines.last().is_some_and(|l| l.starts_with("ERROR") && l.contains("Registration timed out")),
            "{lines:?}"
        );
    };
    tokio::join!(chat, stalled, unregistered);
    // The bystanders are still fine.
    good.send("PRIVMSG #room :after").await;
    wait_answering_pings(&mut talker, &mut Vec::new(), |m| said(m, "good", "after")).await;
    srv.shutdown().await;
}

/// A client that sends QUIT followed by more input in the same write still gets its
/// `ERROR` line and a clean close (closing a socket with unread input makes the kernel
/// send a TCP reset, which destroys what the client has not read yet).
#[tokio::test]
async fn quit_with_more_input_behind_it_still_gets_error_and_a_clean_close() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &[], &[]).await;
    let mut burst = b"QUIT :leaving now\r\n".to_vec();
    for i in 0..2000 {
        burst.extend_from_slice(format!("PRIVMSG #room :after quit {i}\r\n").as_bytes());
    }
    bad.send_raw(&burst).await;
    let lines = bad.read_to_close().await;
    assert_eq!(lines, ["ERROR :Closing Link: 127.0.0.1 (Quit: leaving now)"]);
    let quit = good.expect_cmd("QUIT").await;
    assert!(from(&quit, "bad") && quit.params[0] == "Quit: leaving now", "{quit}");
    assert!(good.sync().await.is_empty(), "lines after QUIT were relayed");
    srv.shutdown().await;
}

/// Reads messages into `seen`, answering server PINGs, until `seen` holds one that
/// matches `pred` (which may have arrived during an earlier wait).
pub async fn wait_answering_pings(c: &mut Client, seen: &mut Vec<Message>, pred: impl Fn(&Message) -> bool) {
    while !seen.iter().any(&pred) {
        let m = c.recv().await;
        if m.command == "PING" {
            c.send(&format!("PONG :{}", m.params.last().map(String::as_str).unwrap_or(""))).await;
        } else {
            seen.push(m);
        }
    }
}

/// Deterministic pseudo-random junk (all byte values, CR/LF, NUL, tags, colons) never
/// disconnects the sender or reaches the bystander — unless it happens to be a valid
/// command, which the fixed seed ensures it is not.
#[tokio::test]
async fn garbage_spray_never_hurts_anyone() {
    let srv = start_server().await;
    let (mut bad, mut good) = room(&srv, &["message-tags", "standard-replies"], &[]).await;
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[u8] = b"@:; =+\\\r\n\0#!~*,xX\xff\xc3\xa9\x80";
    let mut junk = Vec::new();
    for _ in 0..400 {
        let len = (next() % 300) as usize;
        for _ in 0..len {
            let r = next();
            let b = if r % 3 == 0 { (r >> 8) as u8 } else { alphabet[(r >> 8) as usize % alphabet.len()] };
            // Keep the junk from forming real commands: no uppercase or lowercase letters
            // other than x/X (invalid commands are parse errors, not 421s).
            junk.push(if b.is_ascii_alphabetic() && b != b'x' && b != b'X' { b'~' } else { b });
        }
        junk.extend_from_slice(b"\r\n");
    }
    for piece in junk.chunks(777) {
        bad.send_raw(piece).await;
    }
    let replies = bad.sync().await;
    assert!(replies.iter().all(|m| m.command != "ERROR"), "{replies:?}");
    assert_still_chatting(&mut bad, &mut good).await;
    srv.shutdown().await;
}
