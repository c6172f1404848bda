//! Replies checked against the text of the specs: each test quotes the sentence it
//! enforces (IRCv3 at ircv3.net, Modern IRC at modern.ircdocs.horse), and where a spec
//! leaves a choice, what ergo sends for the same input.

use base64::Engine;
use hearth_proto::Message;

use crate::harness::*;

const PW: &str = "correct horse";
const STD: &[&str] = &["standard-replies"];

fn is(m: &Message, command: &str, params: &[&str]) -> bool {
    m.command == command && m.params.iter().map(String::as_str).eq(params.iter().copied())
}

// ----- draft/read-marker -----

/// "If the draft/read-marker capability is negotiated, after the server sends a server
/// JOIN command to the client for a corresponding channel, the server MUST send a
/// MARKREAD command for that channel. The command MUST be sent before the
/// RPL_ENDOFNAMES reply for that channel following the JOIN."
/// "If there is no known last read message timestamp, the timestamp parameter is a
/// literal *." (https://ircv3.net/specs/extensions/read-marker)
#[tokio::test]
async fn read_marker_comes_before_end_of_names() {
    let srv = start_server().await;
    srv.add_account("alice", PW, false).await;
    let mut a =
        Client::login(srv.addr, "alice", "alice", PW, &["draft/read-marker", "labeled-response", "batch"]).await;
    a.send("JOIN #room").await;
    let lines = until_end_of_names(&mut a).await;
    assert!(lines.iter().any(|m| is(m, "MARKREAD", &["#room", "*"])), "{lines:?}");
    let stamp = "timestamp=2026-01-01T10:00:00.000Z";
    a.send(&format!("MARKREAD #room {stamp}")).await;
    assert_eq!(a.expect_cmd("MARKREAD").await.params, ["#room", stamp]);
    a.send("PART #room").await;
    // A stored marker, with a label: one labelled batch with the JOIN, MARKREAD, 366.
    a.send("@label=j1 JOIN #room").await;
    let start = a.expect(|m| m.tag("label") == Some("j1")).await;
    assert!(is(&start, "BATCH", &[&start.params[0], "labeled-response"]), "{start}");
    let lines = until_end_of_names(&mut a).await;
    let markread = lines.iter().position(|m| is(m, "MARKREAD", &["#room", stamp]));
    let join = lines.iter().position(|m| m.command == "JOIN");
    assert!(join < markread && markread.is_some(), "{lines:?}");
    assert!(lines.iter().all(|m| m.tag("batch") == Some(&start.params[0][1..])), "{lines:?}");
    // No second MARKREAD after the names.
    assert!(a.sync().await.iter().all(|m| m.command != "MARKREAD"));
    srv.shutdown().await;
}

/// Reads up to and including the 366 that ends the names of a JOIN.
async fn until_end_of_names(c: &mut Client) -> Vec<Message> {
    let mut lines = Vec::new();
    loop {
        let m = c.recv().await;
        let end = m.command == "366";
        lines.push(m);
        if end {
            return lines;
        }
    }
}

/// "If the server receives a MARKREAD command with missing parameters, the
/// NEED_MORE_PARAMS error code MUST be returned."
/// "FAIL MARKREAD NEED_MORE_PARAMS :Missing parameters"
/// The capability is offered in CAP LS, before any login, as ergo does; the spec does
/// not tie markers to accounts, so a guest's live as long as its connection (no
/// ACCOUNT_REQUIRED, a code the spec does not define).
#[tokio::test]
async fn markread_without_parameters_and_for_guests() {
    let srv = start_server().await;
    let mut c = Client::connect(srv.addr).await;
    c.send("CAP LS 302").await;
    let ls = c.expect_cmd("CAP").await;
    assert!(ls.params.last().unwrap().split(' ').any(|c| c == "draft/read-marker"), "{ls}");
    let mut g = Client::register_with_caps(srv.addr, "guest", &["draft/read-marker", "standard-replies"]).await;
    g.send("MARKREAD").await;
    let fail = g.expect(|m| m.command == "FAIL" || m.command == "461").await;
    assert!(is(&fail, "FAIL", &["MARKREAD", "NEED_MORE_PARAMS", "Missing parameters"]), "{fail}");
    g.send("JOIN #room").await;
    let lines = until_end_of_names(&mut g).await;
    assert!(lines.iter().any(|m| is(m, "MARKREAD", &["#room", "*"])), "{lines:?}");
    let stamp = "timestamp=2026-01-01T10:00:00.000Z";
    g.send(&format!("MARKREAD #room {stamp}")).await;
    assert!(is(&g.expect_cmd("MARKREAD").await, "MARKREAD", &["#room", stamp]));
    g.send("MARKREAD #room timestamp=2025-01-01T10:00:00.000Z").await;
    assert!(is(&g.expect_cmd("MARKREAD").await, "MARKREAD", &["#room", stamp]), "only forward");
    g.send("MARKREAD bob").await;
    assert!(is(&g.expect_cmd("MARKREAD").await, "MARKREAD", &["bob", "*"]));
    srv.shutdown().await;
}

// ----- LUSERS -----

/// RPL_LOCALUSERS (265): "<u> and <m> are non-negative integers and represent the
/// number of clients currently and the maximum number of clients that have been
/// connected directly to this server at one time"; connections that have not
/// registered are another count, RPL_LUSERUNKNOWN (253): "the number of connections
/// to this server that are currently in an unknown state". (modern.ircdocs.horse)
#[tokio::test]
async fn lusers_maximum_counts_registered_users_only() {
    let srv = start_server().await;
    let mut pending = Vec::new();
    for i in 0..3 {
        let mut p = Client::connect(srv.addr).await;
        p.send(&format!("NICK pending{i}")).await;
        p.send("PING x").await;
        p.expect_cmd("PONG").await;
        pending.push(p);
    }
    let mut a = Client::register(srv.addr, "alice").await;
    a.send("LUSERS").await;
    let local = a.expect_cmd("265").await;
    assert_eq!(local.params[1..3], ["1".to_string(), "1".to_string()], "{local}");
    let global = a.expect_cmd("266").await;
    assert_eq!(global.params[1..3], ["1".to_string(), "1".to_string()], "{global}");
    srv.shutdown().await;
}

// ----- echo-message to oneself -----

/// labeled-response: "When a client sends a message to itself, the server MUST NOT
/// include the label tag, except for any acknowledgment sent with the echo-message
/// mechanism. This allows clients to differentiate between the echoed message
/// response, and the delivered message." (https://ircv3.net/specs/extensions/labeled-response)
/// "When a client sends a private message to its own nick, echo-message will result in
/// duplicate messages being sent by the server, as both sent and received messages."
#[tokio::test]
async fn a_message_to_oneself_is_delivered_and_echoed() {
    let srv = start_server().await;
    srv.add_account("alice", PW, false).await;
    let caps = ["echo-message", "labeled-response", "batch", "message-tags", "draft/chathistory", "server-time"];
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &caps).await;
    for (i, (tags, verb, rest)) in
        [("", "PRIVMSG", "alice :hi"), ("", "NOTICE", "alice :note"), (";+react=x", "TAGMSG", "alice")]
            .into_iter()
            .enumerate()
    {
        let label = format!("s{i}");
        a.send(&format!("@label={label}{tags} {verb} {rest}")).await;
        let first = a.expect_cmd(verb).await;
        let second = a.expect_cmd(verb).await;
        assert_eq!(first.tag("label"), None, "the delivered copy is not labelled: {first}");
        assert_eq!(second.tag("label"), Some(label.as_str()), "the echo is: {second}");
        assert_eq!(first.tag("msgid"), second.tag("msgid"));
        assert!(a.sync().await.iter().all(|m| m.command != verb), "exactly twice");
    }
    // Without a label both still arrive.
    a.send("PRIVMSG alice :again").await;
    a.expect(|m| is(m, "PRIVMSG", &["alice", "again"])).await;
    a.expect(|m| is(m, "PRIVMSG", &["alice", "again"])).await;
    // Without echo-message only the delivered copy.
    let mut b = Client::register(srv.addr, "bob").await;
    b.send("PRIVMSG bob :solo").await;
    b.expect(|m| is(m, "PRIVMSG", &["bob", "solo"])).await;
    assert!(b.sync().await.iter().all(|m| m.command != "PRIVMSG"));
    // The conversation with oneself is in the history.
    a.send("CHATHISTORY LATEST alice * 10").await;
    let mut texts = Vec::new();
    loop {
        let m = a.recv().await;
        if m.command == "PRIVMSG" || m.command == "NOTICE" {
            texts.push(m.params[1].clone());
        }
        if m.command == "BATCH" && m.params[0].starts_with('-') {
            break;
        }
    }
    assert_eq!(texts, ["hi", "note", "again"]);
    srv.shutdown().await;
}

// ----- channel keys -----

/// "If the value is invalid, they SHOULD return ERR_INVALIDMODEPARAM" —
/// "<client> <target chan/user> <mode char> <parameter> :<description>"; the rejected
/// key is sent as `*` in the parameter slot, as other servers send it (it may be
/// empty, hold spaces, or be too long). (modern.ircdocs.horse, key channel mode)
#[tokio::test]
async fn invalid_channel_keys_get_696_with_a_star() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    a.send("JOIN #c").await;
    a.expect_cmd("366").await;
    let long = "k".repeat(40);
    for line in ["MODE #c +k :two words".to_string(), format!("MODE #c +k {long}"), "MODE #c +k : ".to_string()] {
        a.send(&line).await;
        let m = a.expect_cmd("696").await;
        assert_eq!(m.params[..4], ["alice", "#c", "k", "*"].map(String::from), "{line}: {m}");
    }
    srv.shutdown().await;
}

// ----- UTF8ONLY -----

/// "Servers publishing this token MUST NOT relay content (such as PRIVMSG or NOTICE
/// message data, channel topics, or realnames) containing non-UTF-8 data to clients."
/// "Client: USER u s e :<non-utf8 realname> / Server: FAIL USER INVALID_UTF8 :…"
/// (https://ircv3.net/specs/extensions/utf8-only). The USER is refused, so the client
/// cannot register: it is told so and the connection closes, never left waiting.
#[tokio::test]
async fn a_realname_that_is_not_utf8_is_refused_aloud() {
    let srv = start_server().await;
    for caps in [STD, &[][..]] {
        let mut c = Client::connect(srv.addr).await;
        if !caps.is_empty() {
            c.send("CAP REQ :standard-replies").await;
            c.expect_cmd("CAP").await;
            c.send("CAP END").await;
        }
        c.send("NICK utf").await;
        c.send_raw(b"USER u 0 * :Caf\xe9 Ol\xe9\r\n").await;
        let lines = c.read_to_close().await;
        let told = if caps.is_empty() {
            lines.iter().any(|l| l.contains("NOTICE") && l.contains("UTF-8"))
        } else {
            lines.iter().any(|l| l.contains("FAIL USER INVALID_UTF8"))
        };
        assert!(told, "{lines:?}");
        assert!(lines.last().unwrap().starts_with("ERROR"), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains(" 001 ")), "{lines:?}");
    }
    srv.shutdown().await;
}

/// "When sent with the FAIL command, it indicates that the client's message was
/// rejected because it contained invalid UTF-8 data." "If the server is unable to
/// parse the sent command then it MAY send a FAIL command with no command name (i.e. *)."
/// "Client: PRIVMSG #ircv3 :<non-utf-8 message> / Server: FAIL PRIVMSG INVALID_UTF8 :…"
#[tokio::test]
async fn a_privmsg_that_is_not_utf8_gets_fail_privmsg_invalid_utf8() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", STD).await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send_raw(b"PRIVMSG bob :caf\xe9\r\n").await;
    let fail = a.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..2], ["PRIVMSG", "INVALID_UTF8"].map(String::from), "{fail}");
    a.send_raw(b"\xff\xfe x\r\n").await;
    let fail = a.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..2], ["*", "INVALID_UTF8"].map(String::from), "{fail}");
    assert!(b.sync().await.iter().all(|m| m.command != "PRIVMSG"), "nothing relayed");
    srv.shutdown().await;
}

// ----- unknown commands -----

/// "ERR_UNKNOWNCOMMAND (421) <client> <command> :Unknown command — Sent to a registered
/// client to indicate that the command they sent isn't known by the server."
/// labeled-response: "the server MUST include the same tag and value in any response
/// produced from this message". The command is whatever token the client sent.
#[tokio::test]
async fn unknown_commands_get_a_labelled_421() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["labeled-response", "batch"]).await;
    for command in ["NONEXISTENT_COMMAND", "FOO123", "X-Y"] {
        a.send(&format!("@label=u1 {command} a b")).await;
        let m = a.expect(|m| m.command == "421" || m.command == "FAIL" || m.command == "NOTICE").await;
        assert_eq!(m.command, "421", "{command}: {m}");
        assert_eq!(m.params[1], command);
        assert_eq!(m.tag("label"), Some("u1"), "{m}");
    }
    srv.shutdown().await;
}

// ----- tag length -----

/// "Clients MUST NOT send messages with tag data exceeding 4094 bytes, this includes
/// tags with or without the client-only prefix." "Servers MUST reply with the
/// ERR_INPUTTOOLONG (417) error numeric if a client sends a message with more tag data
/// than the allowed limit." (https://ircv3.net/specs/extensions/message-tags)
#[tokio::test]
async fn all_tags_count_toward_the_4094_byte_limit() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["message-tags"]).await;
    // "aa=" + value + ";" + "+b=" + value: 4095 bytes, half of it without the '+'.
    let value = "v".repeat(2044);
    a.send(&format!("@aa={value};+b={value} PING x")).await;
    a.expect_cmd("417").await;
    // 4094 bytes of tag data pass.
    let value = "v".repeat(4094 - 2);
    a.send(&format!("@a={value} PING fits")).await;
    let pong = a.expect(|m| m.command == "PONG" || m.command == "417").await;
    assert_eq!(pong.command, "PONG", "{pong}");
    srv.shutdown().await;
}

// ----- WHO -----

/// "The mask can be one of the following: … An exact nickname, in which case a single
/// user is returned. A mask pattern, in which case all visible users whose nickname
/// matches are listed." "Visible users are users who either aren't invisible (user
/// mode +i) or have a common channel with the requesting client."
/// (modern.ircdocs.horse, WHO message)
#[tokio::test]
async fn who_with_an_exact_nick_shows_an_invisible_user() {
    let srv = start_server().await;
    let mut e = Client::register(srv.addr, "evan").await;
    e.send("MODE evan +i").await;
    e.expect_cmd("MODE").await;
    let mut a = Client::register(srv.addr, "alice").await;
    a.send("WHO evan").await;
    let row = a.expect(|m| m.command == "352" || m.command == "315").await;
    assert_eq!(row.command, "352", "{row}");
    assert_eq!(row.params[5], "evan");
    a.send("WHO e*").await;
    let row = a.expect(|m| m.command == "352" || m.command == "315").await;
    assert_eq!(row.command, "315", "a mask still hides +i: {row}");
    srv.shutdown().await;
}

// ----- away-notify -----

/// "clients will be sent an AWAY message when a user sharing a channel with them sets,
/// changes or removes their away state, as well as when a user joins and has an away
/// message set." (https://ircv3.net/specs/extensions/away-notify)
#[tokio::test]
async fn an_away_user_joining_is_announced_as_away() {
    let srv = start_server().await;
    let mut a = Client::register_with_caps(srv.addr, "alice", &["away-notify"]).await;
    let mut plain = Client::register(srv.addr, "carol").await;
    for c in [&mut a, &mut plain] {
        c.send("JOIN #c").await;
        c.expect_cmd("366").await;
    }
    let mut b = Client::register(srv.addr, "bob").await;
    b.send("AWAY :lunch").await;
    b.expect_cmd("306").await;
    b.send("JOIN #c").await;
    a.expect(|m| m.command == "JOIN" && m.source.as_deref().is_some_and(|s| s.starts_with("bob!"))).await;
    let away = a.recv().await;
    assert!(is(&away, "AWAY", &["lunch"]), "right after the JOIN: {away}");
    assert!(away.source.unwrap().starts_with("bob!"));
    assert!(plain.sync().await.iter().all(|m| m.command != "AWAY"), "only with away-notify");
    srv.shutdown().await;
}

// ----- MODE +o, USER -----

/// "ERR_NOSUCHNICK (401) <client> <nickname> :No such nick/channel — Indicates that no
/// client can be found for the supplied nickname." (ERR_USERNOTINCHANNEL, 441, is for
/// a user who exists but is not in the channel.)
/// "The minimum length of <username> is 1, ie. it MUST NOT be empty. If it is empty,
/// the server SHOULD reject the command with ERR_NEEDMOREPARAMS (even if an empty
/// parameter is provided)" — held to the realname as well (modern.ircdocs.horse, USER).
#[tokio::test]
async fn op_for_nobody_is_401_and_an_empty_realname_is_461() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    a.send("JOIN #c").await;
    a.expect_cmd("366").await;
    a.send("MODE #c +o nosuchnick").await;
    let m = a.expect(|m| m.command == "401" || m.command == "441").await;
    assert!(is(&m, "401", &["alice", "nosuchnick", "No such nick/channel"]), "{m}");
    let _b = Client::register(srv.addr, "bob").await;
    a.send("MODE #c +o bob").await;
    assert_eq!(a.expect(|m| m.command == "401" || m.command == "441").await.command, "441");

    let mut c = Client::connect(srv.addr).await;
    c.send("NICK dora").await;
    c.send("USER u * * :").await;
    let m = c.expect(|m| m.command == "461" || m.command == "001").await;
    assert_eq!(m.params[..2], ["dora", "USER"].map(String::from), "{m}");
    srv.shutdown().await;
}

// ----- CHATHISTORY -----

/// "CHATHISTORY TARGETS <nickname | channel name> <YYYY-MM-DDThh:mm:ss.sssZ>"
/// "If the target does not exist or the client does not have permissions to query it,
/// the INVALID_TARGET error code SHOULD be returned:
/// FAIL CHATHISTORY INVALID_TARGET the_given_command the_given_target :Messages could
/// not be retrieved" (https://ircv3.net/specs/extensions/chathistory)
#[tokio::test]
async fn chathistory_targets_and_invalid_target_follow_the_spec() {
    let srv = start_server().await;
    srv.add_account("alice", PW, false).await;
    let caps = ["draft/chathistory", "batch", "standard-replies", "labeled-response"];
    let mut a = Client::login(srv.addr, "alice", "alice", PW, &caps).await;
    a.send("JOIN #chan").await;
    a.expect_cmd("366").await;
    a.send("PRIVMSG #chan :hello").await;
    a.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00.000Z timestamp=2100-01-01T00:00:00.000Z 10").await;
    let line = a.expect_cmd("CHATHISTORY").await;
    assert_eq!(line.params[..2], ["TARGETS", "#chan"].map(String::from));
    let stamp = &line.params[2];
    assert!(!stamp.contains('='), "{line}");
    assert!(humantime::parse_rfc3339(stamp).is_ok() && stamp.ends_with('Z') && stamp.len() == 24, "{line}");
    a.send("@label=h1 CHATHISTORY LATEST #x * 10").await;
    let fail = a.expect_cmd("FAIL").await;
    assert_eq!(fail.params[..4], ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#x"].map(String::from), "{fail}");
    assert_eq!(fail.tag("label"), Some("h1"));
    srv.shutdown().await;
}

// ----- REGISTER -----

const OPEN: &str =
    "[accounts]\nregistration = \"open\"\nrequire_login = false\nargon2_memory_kib = 8\nargon2_iterations = 1\n";

/// "custom-account-name - if present, the account name can be different from the
/// user's current nickname" / "FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK <account>
/// <message> — Sent by the server to indicate that the desired account name does not
/// match the user's current nick, when it must match." / "FAIL REGISTER ACCOUNT_EXISTS
/// <account> <message> — … because someone already registered it."
/// "before-connect - if present, indicates the server supports early registration"
/// (https://ircv3.net/specs/extensions/account-registration)
#[tokio::test]
async fn register_names_the_account_after_the_nick() {
    let srv = start_with(OPEN).await;
    srv.add_account("taken", PW, false).await;
    let mut c = Client::connect(srv.addr).await;
    c.send("CAP LS 302").await;
    let ls = c.expect_cmd("CAP").await;
    let value = ls.params.last().unwrap().split(' ').find(|c| c.starts_with("draft/account-registration")).unwrap();
    assert_eq!(value, "draft/account-registration=before-connect", "no custom-account-name: {ls}");
    c.send("CAP REQ :standard-replies").await;
    c.expect_cmd("CAP").await;
    c.send("NICK dora").await;
    c.send("REGISTER someone-else * long-enough-password").await;
    let f = c.expect_cmd("FAIL").await;
    assert_eq!(f.params[..3], ["REGISTER", "ACCOUNT_NAME_MUST_BE_NICK", "someone-else"].map(String::from), "{f}");
    c.send("NICK taken").await;
    c.send("REGISTER * * short").await;
    let f = c.expect_cmd("FAIL").await;
    assert_eq!(f.params[..3], ["REGISTER", "ACCOUNT_EXISTS", "taken"].map(String::from), "{f}");
    c.send("NICK dora").await;
    c.send("REGISTER DORA * long-enough-password").await;
    let ok = c.expect_cmd("REGISTER").await;
    assert_eq!(ok.params[..2], ["SUCCESS", "DORA"].map(String::from), "{ok}");
    srv.shutdown().await;

    // Without open registration there is no REGISTER to advertise, early or not.
    let closed = start_server().await;
    let mut c = Client::connect(closed.addr).await;
    c.send("CAP LS 302").await;
    let ls = c.expect_cmd("CAP").await;
    assert!(!ls.params.last().unwrap().contains("before-connect"), "{ls}");
    closed.shutdown().await;
}

// ----- SASL -----

/// "904 aka ERR_SASLFAIL is sent when the SASL authentication fails because of invalid
/// credentials or other errors not explicitly mentioned by other numerics." "905 aka
/// ERR_SASLTOOLONG is sent when … the client-sent AUTHENTICATE command was too long
/// (i.e. the parameter longer than 400 bytes)." (https://ircv3.net/specs/extensions/sasl-3.1)
/// A payload too long as a whole is such an other error: 904, as ergo sends ("SASL
/// authentication failed: Passphrase too long") — here once the payload has ended, so
/// that its remaining chunks are not read as a new mechanism.
#[tokio::test]
async fn an_oversized_sasl_payload_gets_904_after_it_ends() {
    let srv = start_server().await;
    srv.add_account("alice", PW, false).await;
    let mut c = Client::connect(srv.addr).await;
    c.start_sasl("alice", &[]).await;
    let chunk = "A".repeat(400);
    for _ in 0..6 {
        c.send(&format!("AUTHENTICATE {chunk}")).await;
    }
    c.send("AUTHENTICATE QUFB").await;
    let lines = c.sync().await;
    let codes: Vec<&str> = lines.iter().map(|m| m.command.as_str()).collect();
    assert_eq!(codes, ["904"], "{lines:?}");
    // A single line over 400 bytes is 905.
    c.send("AUTHENTICATE PLAIN").await;
    c.expect_cmd("AUTHENTICATE").await;
    c.send(&format!("AUTHENTICATE {chunk}A")).await;
    c.expect_cmd("905").await;
    // And a good login still works afterwards.
    c.send("AUTHENTICATE PLAIN").await;
    c.expect_cmd("AUTHENTICATE").await;
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{PW}"));
    c.send(&format!("AUTHENTICATE {plain}")).await;
    c.expect_cmd("903").await;
    srv.shutdown().await;
}
