//! Channels: chat between three clients, PART/JOIN 0, TOPIC, modes, KICK, INVITE, LIST.

use crate::harness::*;

#[tokio::test]
async fn three_clients_chat_in_a_channel() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    let mut c = Client::register(srv.addr, "carol").await;
    for cl in [&mut a, &mut b, &mut c] {
        cl.send("JOIN #family").await;
        cl.expect_cmd("366").await;
    }
    // Earlier members saw the later joins.
    let j = a.expect_cmd("JOIN").await;
    assert!(j.source.as_deref().unwrap().starts_with("bob!"));
    a.expect_cmd("JOIN").await;
    b.expect_cmd("JOIN").await;
    a.send("PRIVMSG #family :dinner at seven").await;
    for cl in [&mut b, &mut c] {
        let m = cl.expect_cmd("PRIVMSG").await;
        assert_eq!(m.source.as_deref(), Some("alice!~alice@127.0.0.1"));
        assert_eq!(m.params, ["#family", "dinner at seven"]);
    }
    // Without echo-message the sender does not get its own message back.
    let own = a.sync().await;
    assert!(own.iter().all(|m| m.command != "PRIVMSG"), "{own:?}");
    c.send("NOTICE #family :ok").await;
    assert_eq!(a.expect_cmd("NOTICE").await.params[1], "ok");
    assert_eq!(b.expect_cmd("NOTICE").await.params[1], "ok");
    // PART reaches everyone, then the parted client no longer receives.
    b.send("PART #family :gotta go").await;
    let p = a.expect_cmd("PART").await;
    assert_eq!(p.params, ["#family", "gotta go"]);
    b.expect_cmd("PART").await;
    a.send("PRIVMSG #family :still here?").await;
    c.expect_cmd("PRIVMSG").await;
    let after = b.sync().await;
    assert!(after.iter().all(|m| m.command != "PRIVMSG"), "{after:?}");
    // JOIN 0 parts every channel.
    c.send("JOIN #other").await;
    c.expect_cmd("366").await;
    c.send("JOIN 0").await;
    let parts: Vec<_> = c.sync().await.into_iter().filter(|m| m.command == "PART").collect();
    assert_eq!(parts.len(), 2, "{parts:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn outsiders_cannot_send_to_no_external_channel() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut m = Client::register(srv.addr, "mallory").await;
    a.send("JOIN #private").await;
    a.expect_cmd("366").await;
    m.send("PRIVMSG #private :let me in").await;
    let e = m.expect_cmd("404").await;
    assert_eq!(e.params[1], "#private");
    m.send("PRIVMSG #nowhere :hello").await;
    m.expect_cmd("403").await;
    let seen = a.sync().await;
    assert!(seen.iter().all(|x| x.command != "PRIVMSG"));
    srv.shutdown().await;
}

#[tokio::test]
async fn topic_set_query_and_lock() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #t").await;
    a.expect_cmd("366").await;
    b.send("JOIN #t").await;
    b.expect_cmd("366").await;
    b.send("TOPIC #t").await;
    b.expect_cmd("331").await;
    a.send("TOPIC #t :Plans for Saturday").await;
    let t = b.expect_cmd("TOPIC").await;
    assert_eq!(t.params, ["#t", "Plans for Saturday"]);
    a.expect_cmd("TOPIC").await;
    // +t is on by default: a non-op cannot change it.
    b.send("TOPIC #t :hijack").await;
    b.expect_cmd("482").await;
    let mut c = Client::register(srv.addr, "carol").await;
    c.send("JOIN #t").await;
    let topic = c.expect_cmd("332").await;
    assert_eq!(topic.params[2], "Plans for Saturday");
    let who = c.expect_cmd("333").await;
    assert!(who.params[2].starts_with("alice!"));
    srv.shutdown().await;
}

#[tokio::test]
async fn first_joiner_is_op_and_modes_apply() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #m").await;
    let names = a.expect_cmd("353").await;
    assert_eq!(names.params.last().unwrap(), "@alice");
    b.send("JOIN #m").await;
    b.expect_cmd("366").await;
    // Non-op cannot set modes.
    b.send("MODE #m +m").await;
    b.expect_cmd("482").await;
    // Query.
    a.send("MODE #m").await;
    let is = a.expect_cmd("324").await;
    assert_eq!(is.params[2], "+nt");
    a.expect_cmd("329").await;
    // Moderated: bob cannot speak until voiced.
    a.send("MODE #m +m").await;
    let m = b.expect_cmd("MODE").await;
    assert_eq!(m.params, ["#m", "+m"]);
    b.send("PRIVMSG #m :hello?").await;
    b.expect_cmd("404").await;
    a.send("MODE #m +v bob").await;
    assert_eq!(b.expect_cmd("MODE").await.params, ["#m", "+v", "bob"]);
    b.send("PRIVMSG #m :thanks").await;
    assert_eq!(a.expect_cmd("PRIVMSG").await.params[1], "thanks");
    // +o hands out operator status.
    a.send("MODE #m +o bob").await;
    a.expect_cmd("MODE").await;
    b.expect_cmd("MODE").await;
    b.send("MODE #m -m+k sesame").await;
    let mk = a.expect_cmd("MODE").await;
    assert_eq!(mk.params, ["#m", "-m+k", "sesame"]);
    // Key, limit, invite-only keep others out.
    let mut c = Client::register(srv.addr, "carol").await;
    c.send("JOIN #m").await;
    c.expect_cmd("475").await;
    c.send("JOIN #m wrong").await;
    c.expect_cmd("475").await;
    a.send("MODE #m -k+l *  2").await;
    a.expect_cmd("MODE").await;
    c.send("JOIN #m").await;
    c.expect_cmd("471").await;
    a.send("MODE #m -l+i").await;
    a.expect_cmd("MODE").await;
    c.send("JOIN #m").await;
    c.expect_cmd("473").await;
    // Unknown mode letters and bad parameters get their numerics.
    a.send("MODE #m +z").await;
    a.expect_cmd("472").await;
    a.send("MODE #m +l nope").await;
    a.expect_cmd("696").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn bans_keep_out_and_silence() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #b").await;
    a.expect_cmd("366").await;
    b.send("JOIN #b").await;
    b.expect_cmd("366").await;
    a.send("MODE #b +b bob").await;
    let mb = a.expect_cmd("MODE").await;
    assert_eq!(mb.params, ["#b", "+b", "bob!*@*"]);
    a.send("MODE #b +b").await;
    let entry = a.expect_cmd("367").await;
    assert_eq!(entry.params[2], "bob!*@*");
    a.expect_cmd("368").await;
    // A banned member cannot speak.
    b.send("PRIVMSG #b :can you hear me").await;
    b.expect_cmd("404").await;
    b.send("PART #b").await;
    b.expect_cmd("PART").await;
    b.send("JOIN #b").await;
    b.expect_cmd("474").await;
    a.send("MODE #b -b bob!*@*").await;
    a.expect_cmd("MODE").await;
    b.send("JOIN #b").await;
    b.expect_cmd("366").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn kick_and_invite() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    let mut c = Client::register(srv.addr, "carol").await;
    for cl in [&mut a, &mut b, &mut c] {
        cl.send("JOIN #k").await;
        cl.expect_cmd("366").await;
    }
    b.send("KICK #k carol").await;
    b.expect_cmd("482").await;
    a.send("KICK #k carol :be nice").await;
    for cl in [&mut a, &mut b, &mut c] {
        let k = cl.expect_cmd("KICK").await;
        assert_eq!(k.params, ["#k", "carol", "be nice"]);
    }
    a.send("KICK #k nobody").await;
    a.expect_cmd("441").await;
    // carol is out: she no longer gets channel messages.
    a.send("PRIVMSG #k :after kick").await;
    b.expect_cmd("PRIVMSG").await;
    assert!(c.sync().await.iter().all(|m| m.command != "PRIVMSG"));
    // Invite-only: an invitation lets her back in.
    a.send("MODE #k +i").await;
    a.expect_cmd("MODE").await;
    c.send("JOIN #k").await;
    c.expect_cmd("473").await;
    a.send("INVITE carol #k").await;
    let inviting = a.expect_cmd("341").await;
    assert_eq!(inviting.params[1..], ["carol".to_string(), "#k".to_string()]);
    let inv = c.expect_cmd("INVITE").await;
    assert_eq!(inv.params, ["carol", "#k"]);
    c.send("JOIN #k").await;
    c.expect_cmd("366").await;
    a.send("INVITE carol #k").await;
    a.expect_cmd("443").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn list_shows_public_channels_only() {
    let srv = start_server().await;
    let mut a = Client::register(srv.addr, "alice").await;
    let mut b = Client::register(srv.addr, "bob").await;
    a.send("JOIN #open,#hidden").await;
    a.expect_cmd("366").await;
    a.expect_cmd("366").await;
    a.send("TOPIC #open :come in").await;
    a.expect_cmd("TOPIC").await;
    a.send("MODE #hidden +s").await;
    a.expect_cmd("MODE").await;
    b.send("LIST").await;
    let mut rows = Vec::new();
    loop {
        let m = b.recv().await;
        match m.command.as_str() {
            "322" => rows.push(m.params[1..].to_vec()),
            "323" => break,
            _ => {}
        }
    }
    assert_eq!(rows, vec![vec!["#open".to_string(), "1".into(), "come in".into()]]);
    srv.shutdown().await;
}
