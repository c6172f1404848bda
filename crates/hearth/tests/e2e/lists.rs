//! Channel lists and multi-target commands: +e, +I, extbans (account, mute) and their
//! persistence; KICK and NAMES with several targets; LIST search extensions (ELIST).

use crate::harness::*;

async fn joined(addr: std::net::SocketAddr, nick: &str, chan: &str) -> Client {
    let mut c = Client::register(addr, nick).await;
    c.send(&format!("JOIN {chan}")).await;
    c.expect_cmd("366").await;
    c
}

#[tokio::test]
async fn ban_exceptions_and_invite_exceptions() {
    let srv = start_server().await;
    let mut a = joined(srv.addr, "alice", "#x").await;
    let mut b = Client::register(srv.addr, "bob").await;
    let mut c = Client::register(srv.addr, "carol").await;
    a.send("MODE #x +be *!*@127.0.0.1 bob").await;
    let m = a.expect_cmd("MODE").await;
    assert_eq!(m.params, ["#x", "+be", "*!*@127.0.0.1", "bob!*@*"]);
    // Modern IRC, exception channel mode: "If their nickmask matches any one of the
    // masks set by this mode, and their nickmask also matches any one of the masks set
    // by the ban channel mode, they will not be blocked from joining due to the ban
    // mode."
    b.send("JOIN #x").await;
    b.expect_cmd("366").await;
    c.send("JOIN #x").await;
    c.expect_cmd("474").await;
    // "If a type A mode has been sent without an argument, the contents of the list
    // MUST be sent to the user": RPL_EXCEPTLIST (348) … RPL_ENDOFEXCEPTLIST (349).
    a.send("MODE #x e").await;
    let e = a.expect_cmd("348").await;
    assert_eq!(e.params[1..4], ["#x", "bob!*@*", "alice!~alice@127.0.0.1"]);
    a.expect_cmd("349").await;
    // Invite-exception channel mode: "If their nickmask matches any one of the masks
    // set by this mode, and the channel is in invite-only mode, they do not need to
    // require an INVITE in order to join the channel."
    a.send("MODE #x -b+iI *!*@127.0.0.1 carol").await;
    a.expect_cmd("MODE").await;
    let mut d = Client::register(srv.addr, "dave").await;
    d.send("JOIN #x").await;
    d.expect_cmd("473").await;
    c.send("JOIN #x").await;
    c.expect_cmd("366").await;
    a.send("MODE #x +I").await;
    let i = a.expect_cmd("346").await;
    assert_eq!(i.params[2], "carol!*@*");
    a.expect_cmd("347").await;
    // Only operators change lists; anyone may read them.
    c.send("MODE #x +e carol").await;
    c.expect_cmd("482").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn account_and_mute_extbans() {
    let srv = start_server().await;
    srv.add_account("dave", "dave-password", false).await;
    let mut a = joined(srv.addr, "alice", "#x").await;
    let mut b = joined(srv.addr, "bob", "#x").await;
    // EXTBAN: "Extbans may allow clients to issue bans based on account name".
    a.send("MODE #x +b ~a:DAVE").await;
    assert_eq!(a.expect_cmd("MODE").await.params, ["#x", "+b", "~a:DAVE"]);
    let mut d = Client::login(srv.addr, "dave", "dave", "dave-password", &[]).await;
    d.send("JOIN #x").await;
    d.expect_cmd("474").await;
    // "Extban masks SHOULD also be supported for the ban exception and invite
    // exception modes."
    a.send("MODE #x +e ~a:d*").await;
    a.expect_cmd("MODE").await;
    d.send("JOIN #x").await;
    d.expect_cmd("366").await;
    // ~q: mutes: bob stays in but cannot speak until voiced.
    a.send("MODE #x +b ~q:bob").await;
    assert_eq!(a.expect_cmd("MODE").await.params, ["#x", "+b", "~q:bob!*@*"]);
    b.send("PRIVMSG #x :hello?").await;
    let refused = b.expect_cmd("404").await;
    assert!(refused.params[2].contains("muted"), "{refused}");
    a.send("MODE #x +v bob").await;
    a.expect_cmd("MODE").await;
    b.send("PRIVMSG #x :now I can").await;
    assert_eq!(a.expect_cmd("PRIVMSG").await.params[1], "now I can");
    // Unknown extban types and mutes on other lists are refused (ERR_INVALIDMODEPARAM).
    a.send("MODE #x +b ~z:x").await;
    assert_eq!(a.expect_cmd("696").await.params[1..4], ["#x", "b", "~z:x"]);
    a.send("MODE #x +e ~q:bob").await;
    a.expect_cmd("696").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn exception_lists_survive_a_restart() {
    let srv = start_server().await;
    let mut a = joined(srv.addr, "alice", "#keep").await;
    a.send("MODE #keep +beI *!*@bad.example *!*@good.example ~a:friend").await;
    a.expect_cmd("MODE").await;
    a.send("MODE #keep -e *!*@good.example").await;
    a.expect_cmd("MODE").await;
    a.send("MODE #keep +e *!*@other.example").await;
    a.expect_cmd("MODE").await;
    a.sync().await;
    let data = srv.stop().await;
    let srv = start_in(data, "[flood]\nburst = 0\n").await;
    let mut c = Client::register(srv.addr, "carol").await;
    for (query, entry, end, want) in [
        ("b", "367", "368", "*!*@bad.example"),
        ("e", "348", "349", "*!*@other.example"),
        ("I", "346", "347", "~a:friend"),
    ] {
        c.send(&format!("MODE #keep {query}")).await;
        let got = c.expect_cmd(entry).await;
        assert_eq!(got.params[2], want, "list {query}");
        let next = c.recv().await;
        assert_eq!(next.command, end, "one entry on list {query}: {next}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn kick_and_names_take_several_targets() {
    let srv = start_server().await;
    let mut a = joined(srv.addr, "alice", "#k").await;
    let mut b = joined(srv.addr, "bob", "#k").await;
    let mut c = joined(srv.addr, "carol", "#k").await;
    a.send("JOIN #other").await;
    a.expect_cmd("366").await;
    // NAMES: "Servers MAY allow more than one target channel. They can advertise the
    // maximum the number of target users per NAMES command via the TARGMAX
    // RPL_ISUPPORT parameter." (Hearth: NAMES: and KICK: without a limit.)
    a.send("NAMES #k,#other").await;
    let first = a.expect_cmd("366").await;
    let second = a.expect_cmd("366").await;
    assert_eq!((first.params[1].as_str(), second.params[1].as_str()), ("#k", "#other"));
    // Modern IRC, KICK: "The server MUST NOT send KICK messages with multiple users to
    // clients."
    a.send("KICK #k bob,carol :out").await;
    let k1 = a.expect_cmd("KICK").await;
    let k2 = a.expect_cmd("KICK").await;
    assert_eq!((k1.params[1].as_str(), k2.params[1].as_str()), ("bob", "carol"));
    b.expect_cmd("KICK").await;
    c.expect(|m| m.command == "KICK" && m.params[1] == "carol").await;
    a.send("NAMES #k").await;
    let names = a.expect_cmd("353").await;
    assert_eq!(names.params[3], "@alice");
    srv.shutdown().await;
}

#[tokio::test]
async fn list_search_extensions() {
    let srv = start_server().await;
    let mut a = joined(srv.addr, "alice", "#aa").await;
    let _b = joined(srv.addr, "bob", "#aa").await;
    a.send("JOIN #ab,#b").await;
    a.expect(|m| m.command == "366" && m.params[1] == "#b").await;
    a.send("TOPIC #ab :hello").await;
    a.expect_cmd("TOPIC").await;
    async fn list(c: &mut Client, args: &str) -> Vec<String> {
        c.send(&format!("LIST {args}")).await;
        let mut out = Vec::new();
        loop {
            let m = c.recv().await;
            match m.command.as_str() {
                "322" => out.push(m.params[1].clone()),
                "323" => return out,
                _ => {}
            }
        }
    }
    // ELIST: "U: Searching based on user count within the channel, via the "<val" and
    // ">val" modifiers to search for a channel that has less or more than val users".
    assert_eq!(list(&mut a, ">1").await, ["#aa"]);
    assert_eq!(list(&mut a, "<2").await, ["#ab", "#b"]);
    // "M: Searching based on a mask." / "N: Searching based on a non-matching !mask."
    assert_eq!(list(&mut a, "#a*").await, ["#aa", "#ab"]);
    assert_eq!(list(&mut a, "!#a*").await, ["#b"]);
    // "C: … "C<val" and "C>val" modifiers to search for a channel that was created
    // either less than val minutes ago, or more than val minutes ago, respectively"
    assert_eq!(list(&mut a, "C<5").await, ["#aa", "#ab", "#b"]);
    assert!(list(&mut a, "C>5").await.is_empty());
    // "T: … a topic time that was set less than val minutes ago, or more than val
    // minutes ago, respectively."
    assert_eq!(list(&mut a, "T<5").await, ["#ab"]);
    assert!(list(&mut a, "T>5").await.is_empty());
    // Several filters: all must hold.
    assert_eq!(list(&mut a, "#a*,<2").await, ["#ab"]);
    srv.shutdown().await;
}
