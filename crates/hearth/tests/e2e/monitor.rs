//! MONITOR (https://ircv3.net/specs/extensions/monitor) and extended-monitor
//! (https://ircv3.net/specs/extensions/extended-monitor) over real TCP.

use crate::harness::*;

const NO_FLOOD: &str = "[flood]\nburst = 0\n";

/// The comma-separated list a MONITOR numeric carries, as a sorted vector.
fn entries(m: &hearth_proto::Message) -> Vec<String> {
    let mut v: Vec<String> = m.params.last().unwrap().split(',').map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test]
async fn monitor_is_advertised_in_isupport() {
    // The spec's ISUPPORT token: MONITOR=<limit>, the most targets one list holds.
    let srv = start_with("[flood]\nburst = 0\n[limits]\nmax_monitor = 7\n").await;
    let mut c = Client::connect(srv.addr).await;
    c.send("NICK isu").await;
    c.send("USER isu 0 * :isu").await;
    let token =
        c.expect(|m| m.command == "005" && m.params.iter().any(|p| p.starts_with("MONITOR="))).await.params.clone();
    assert!(token.contains(&"MONITOR=7".to_string()), "{token:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn monitor_reports_online_offline_and_nick_changes() {
    let srv = start_with(NO_FLOOD).await;
    let mut w = Client::register(srv.addr, "watcher").await;
    // "If any of the targets being added are offline, the server will generate
    // RPL_MONOFFLINE numerics listing those targets that are offline."
    w.send("MONITOR + alice,Bob").await;
    let off = w.expect_cmd("731").await;
    assert_eq!(entries(&off), ["Bob", "alice"]);
    assert_eq!(off.params[0], "watcher");

    // RPL_MONONLINE "is used to indicate to a client that either a target has just
    // become online, or that a target they have added to their monitor list is online"
    // — as `nick!user@host`.
    let mut alice = Client::register(srv.addr, "alice").await;
    let on = w.expect_cmd("730").await;
    assert_eq!(on.params.last().unwrap(), "alice!~alice@127.0.0.1");

    // A nick change is the old nick going offline and the new one coming online.
    alice.send("NICK bob").await;
    alice.expect_cmd("NICK").await;
    let off = w.expect_cmd("731").await;
    assert_eq!(off.params.last().unwrap(), "alice");
    let on = w.expect_cmd("730").await;
    assert_eq!(on.params.last().unwrap(), "bob!~alice@127.0.0.1", "targets are matched case-insensitively");

    // Adding a target that is online answers RPL_MONONLINE at once.
    w.send("MONITOR + bob").await;
    let on = w.expect_cmd("730").await;
    assert_eq!(on.params.last().unwrap(), "bob!~alice@127.0.0.1");

    // RPL_MONOFFLINE: "either a target has just left the IRC network, or … a target
    // they have added to their monitor list is offline".
    alice.send("QUIT :bye").await;
    let off = w.expect_cmd("731").await;
    assert_eq!(off.params.last().unwrap(), "bob");
    srv.shutdown().await;
}

#[tokio::test]
async fn monitor_list_status_remove_and_clear() {
    let srv = start_with(NO_FLOOD).await;
    let mut w = Client::register(srv.addr, "watcher").await;
    let _carol = Client::register(srv.addr, "carol").await;
    w.send("MONITOR + alice,bob,carol").await;
    w.sync().await;

    // "Outputs the current list of targets being monitored. All output will use
    // RPL_MONLIST, and the output will be terminated with RPL_ENDOFMONLIST."
    w.send("MONITOR L").await;
    let list = w.expect_cmd("732").await;
    assert_eq!(entries(&list), ["alice", "bob", "carol"]);
    w.expect_cmd("733").await;

    // "Removes the given list of targets … No output will be returned."
    w.send("MONITOR - bob").await;
    assert!(w.sync().await.is_empty(), "MONITOR - answers nothing");
    w.send("MONITOR L").await;
    assert_eq!(entries(&w.expect_cmd("732").await), ["alice", "carol"]);
    w.expect_cmd("733").await;

    // "Outputs for each target in the list being monitored, whether the client is
    // online or offline."
    w.send("MONITOR S").await;
    let got = w.sync().await;
    let on: Vec<_> = got.iter().filter(|m| m.command == "730").collect();
    let off: Vec<_> = got.iter().filter(|m| m.command == "731").collect();
    assert_eq!(on.len(), 1, "{got:?}");
    assert_eq!(on[0].params.last().unwrap(), "carol!~carol@127.0.0.1");
    assert_eq!(off.len(), 1, "{got:?}");
    assert_eq!(off[0].params.last().unwrap(), "alice");

    // "Clears the list of targets being monitored. No output will be returned."
    w.send("MONITOR C").await;
    assert!(w.sync().await.is_empty(), "MONITOR C answers nothing");
    w.send("MONITOR L").await;
    let end = w.expect(|m| m.command == "732" || m.command == "733").await;
    assert_eq!(end.command, "733", "the list is empty after MONITOR C");

    // A cleared target no longer notifies.
    let _alice = Client::register(srv.addr, "alice").await;
    let got = w.sync().await;
    assert!(got.iter().all(|m| m.command != "730"), "{got:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn monitor_list_is_bounded() {
    let srv = start_with("[flood]\nburst = 0\n[limits]\nmax_monitor = 2\n").await;
    let mut w = Client::register(srv.addr, "watcher").await;
    // ":<server> 734 <nick> <limit> <targets> :Monitor list is full." — the targets
    // that did not fit; the others are added.
    w.send("MONITOR + a1,a2,a3,a4").await;
    let got = w.sync().await;
    let off = got.iter().find(|m| m.command == "731").expect("731 for what was added");
    assert_eq!(entries(off), ["a1", "a2"]);
    let full = got.iter().find(|m| m.command == "734").expect("734 for the rest");
    assert_eq!(full.params[1..3], ["2".to_string(), "a3,a4".to_string()]);
    // Re-adding a target already in a full list is not an error.
    w.send("MONITOR + a1").await;
    let got = w.sync().await;
    assert!(got.iter().all(|m| m.command != "734"), "{got:?}");
    w.send("MONITOR L").await;
    assert_eq!(entries(&w.expect_cmd("732").await), ["a1", "a2"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn extended_monitor_sends_away_and_setname_without_a_shared_channel() {
    let srv = start_with(NO_FLOOD).await;
    // "The extended-monitor capability advertises that the server supports sending
    // such extended notifications [AWAY, ACCOUNT, CHGHOST and SETNAME] for monitored
    // nicks."
    let mut ext = Client::register_with_caps(srv.addr, "ext", &["extended-monitor", "away-notify", "setname"]).await;
    let mut plain = Client::register_with_caps(srv.addr, "plain", &["away-notify", "setname"]).await;
    let mut alice = Client::register_with_caps(srv.addr, "alice", &["setname"]).await;
    ext.send("MONITOR + alice").await;
    plain.send("MONITOR + alice").await;
    ext.expect_cmd("730").await;
    plain.expect_cmd("730").await;

    alice.send("AWAY :lunch").await;
    alice.expect_cmd("306").await;
    let away = ext.expect_cmd("AWAY").await;
    assert_eq!(away.source.as_deref(), Some("alice!~alice@127.0.0.1"));
    assert_eq!(away.params, ["lunch"]);
    alice.send("SETNAME :Alice Liddell").await;
    alice.expect_cmd("SETNAME").await;
    let name = ext.expect_cmd("SETNAME").await;
    assert_eq!(name.params, ["Alice Liddell"]);

    // Without extended-monitor, monitoring alone carries no such notifications.
    let got = plain.sync().await;
    assert!(got.iter().all(|m| m.command != "AWAY" && m.command != "SETNAME"), "{got:?}");

    // Sharing a channel too, the watcher still gets each notification once.
    ext.send("JOIN #x").await;
    ext.expect_cmd("366").await;
    alice.send("JOIN #x").await;
    alice.expect_cmd("366").await;
    ext.expect_cmd("JOIN").await;
    // away-notify: "…as well as when a user joins and has an away message set."
    let joined_away = ext.expect_cmd("AWAY").await;
    assert_eq!(joined_away.params, ["lunch"]);
    alice.send("AWAY").await;
    alice.expect_cmd("305").await;
    let got = ext.sync().await;
    assert_eq!(got.iter().filter(|m| m.command == "AWAY").count(), 1, "{got:?}");
    srv.shutdown().await;
}
