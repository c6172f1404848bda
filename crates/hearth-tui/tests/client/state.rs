//! `apply` and `command`: pure functions from lines and input to state and replies.

use hearth_tui::command::command;
use hearth_tui::state::{Kind, LineKind, Phase, State, accept_request, decline_request, fetch_older};

use crate::fixtures::*;

#[test]
fn registration_asks_for_offered_caps_then_logs_in_with_sasl_plain() {
    let mut st = State::new("srv:6667", "alice", Some("pw".into()));
    let first = sent(st.on_connected());
    assert_eq!(first, ["CAP LS 302", "NICK alice", "USER alice 0 * alice"]);
    let out =
        feed(&mut st, &[":srv CAP * LS * :sasl server-time", ":srv CAP * LS :batch draft/chathistory unknown-cap"]);
    assert_eq!(out, ["CAP REQ :server-time batch draft/chathistory sasl"]);
    let out = feed(&mut st, &[":srv CAP alice ACK :server-time batch draft/chathistory sasl"]);
    assert_eq!(out, ["AUTHENTICATE PLAIN"]);
    let out = feed(&mut st, &["AUTHENTICATE +"]);
    // base64("alice\0alice\0pw")
    assert_eq!(out, ["AUTHENTICATE YWxpY2UAYWxpY2UAcHc="]);
    let out = feed(&mut st, &[":srv 900 alice alice!a@h alice :You are now logged in", ":srv 903 alice :SASL ok"]);
    assert_eq!(out, ["CAP END"]);
    st.now = "2026-11-29T10:00:00.000Z".into();
    let out = feed(&mut st, &[":srv 001 alice :Welcome"]);
    assert_eq!(st.phase, Phase::Online);
    assert_eq!(
        out,
        ["WHO *", "CHATHISTORY TARGETS timestamp=1970-01-01T00:00:00.000Z timestamp=2026-11-29T10:00:00.000Z 50"]
    );
    // Past private conversations appear in the sidebar, the latest few with their history.
    let out = feed(
        &mut st,
        &[
            ":srv BATCH +t draft/chathistory-targets",
            "@batch=t :srv CHATHISTORY TARGETS carol 2026-11-20T10:00:00.000Z",
            "@batch=t :srv CHATHISTORY TARGETS #general 2026-11-21T10:00:00.000Z",
            ":srv BATCH -t",
        ],
    );
    let carol = st.find("carol").unwrap();
    assert_eq!(st.convs[carol].kind, Kind::Private);
    assert!(st.find("#general").is_none());
    assert_eq!(out, ["CHATHISTORY LATEST carol * 50"]);
    assert!(sent(hearth_tui::command::show(&mut st, carol)).is_empty(), "already on its way");
}

#[test]
fn without_sasl_the_password_goes_as_pass_account_password() {
    let mut st = State::new("srv:6667", "alice", Some("pw".into()));
    st.on_connected();
    let out = feed(&mut st, &[":srv CAP * LS :server-time"]);
    assert_eq!(out, ["PASS alice:pw", "CAP REQ server-time"]);
    assert_eq!(feed(&mut st, &[":srv CAP * ACK server-time"]), ["CAP END"]);
}

#[test]
fn a_server_without_caps_still_registers() {
    let mut st = State::new("srv:6667", "alice", None);
    st.on_connected();
    assert_eq!(feed(&mut st, &[":srv CAP * LS :"]), ["CAP END"]);
    assert_eq!(feed(&mut st, &[":srv 433 * alice :Nickname is already in use"]), ["NICK alice_"]);
    feed(&mut st, &[":srv 001 alice_ :Welcome"]);
    assert_eq!(st.nick, "alice_");
    assert_eq!(feed(&mut st, &["PING :tok"]), ["PONG tok"]);
}

#[test]
fn who_numbers_the_people_online_without_me() {
    let st = online();
    assert_eq!(st.online, ["bob", "carol", "dave"]);
    assert_eq!(st.person(2), Some("carol"));
    assert_eq!(st.person(0), None);
}

#[test]
fn a_number_in_the_home_list_opens_a_private_chat_with_history() {
    let mut st = online();
    let out = sent(command(&mut st, "1"));
    assert_eq!(out, ["MONITOR + bob", "CHATHISTORY LATEST bob * 50"]);
    assert_eq!(st.current().name, "bob");
    assert_eq!(st.current().kind, Kind::Private);
    // A number inside a conversation is just a message.
    assert_eq!(sent(command(&mut st, "2")), ["PRIVMSG bob 2"]);
}

#[test]
fn slash_msg_opens_and_sends() {
    let mut st = online();
    let out = sent(command(&mut st, "/msg carol see you at 5"));
    assert_eq!(out, ["MONITOR + carol", "CHATHISTORY LATEST carol * 50", "PRIVMSG carol :see you at 5"]);
    assert_eq!(sent(command(&mut st, "/7")), Vec::<String>::new());
    assert!(st.current().lines.last().unwrap().text.contains("No person number 7"));
}

#[test]
fn chat_request_sent_shows_waiting_until_the_partner_writes() {
    let mut st = online();
    command(&mut st, "1");
    command(&mut st, "hi bob");
    feed(
        &mut st,
        &[
            ":srv 716 alice bob :is in +g mode (server-side ignore.)",
            ":srv 717 alice bob :has been informed that you messaged them.",
        ],
    );
    let at = st.find("bob").unwrap();
    assert!(st.convs[at].waiting);
    assert_eq!(st.convs[at].lines.last().unwrap().text, "(held until bob accepts) hi bob");
    feed(&mut st, &["@time=2026-11-29T10:01:00.000Z :bob!b@h PRIVMSG alice :hi alice!"]);
    assert!(!st.convs[at].waiting);
}

#[test]
fn a_server_notice_that_bob_answered_ends_waiting_in_his_chat() {
    let mut st = online();
    command(&mut st, "1");
    feed(&mut st, &[":srv 717 alice bob :has been informed that you messaged them."]);
    st.select(0);
    feed(&mut st, &[":srv NOTICE alice :Chat request sent to bob; waiting for bob to accept."]);
    assert!(st.convs[st.find("bob").unwrap()].waiting, "still waiting");
    feed(&mut st, &[":srv NOTICE alice :bob accepted your chat request."]);
    let at = st.find("bob").unwrap();
    assert!(!st.convs[at].waiting);
    assert_eq!(st.convs[at].lines.last().unwrap().text, "bob accepted your chat request.");
}

#[test]
fn history_batch_after_acceptance_ends_waiting() {
    let mut st = online();
    command(&mut st, "1");
    feed(&mut st, &[":srv 717 alice bob :has been informed that you messaged them."]);
    feed(
        &mut st,
        &[
            ":srv BATCH +x chathistory bob",
            "@batch=x;time=2026-11-29T09:59:00.000Z;msgid=a :alice!a@h PRIVMSG bob :hi bob",
            ":srv BATCH -x",
        ],
    );
    let conv = st.current();
    assert!(!conv.waiting);
    assert_eq!(conv.lines.iter().filter(|l| l.kind == LineKind::Message).count(), 1);
}

#[test]
fn incoming_request_is_accepted_or_declined_with_accept() {
    let mut st = online();
    feed(&mut st, &[":srv 718 alice bob bob@hearth :is messaging you, and you have user mode +g set."]);
    assert_eq!(st.requests.len(), 1);
    assert!(st.bell);
    let out = sent(accept_request(&mut st));
    assert_eq!(out, ["ACCEPT bob", "CHATHISTORY LATEST bob * 50"]);
    assert_eq!(st.current().name, "bob");
    feed(&mut st, &[":srv 718 alice carol carol@hearth :is messaging you, and you have user mode +g set."]);
    assert_eq!(sent(decline_request(&mut st)), ["ACCEPT -carol"]);
    assert!(st.requests.is_empty());
    assert_eq!(sent(command(&mut st, "/decline dave")), ["ACCEPT -dave"]);
}

#[test]
fn seed_words_list_and_quit() {
    let mut st = online();
    command(&mut st, "/msg bob x");
    let out = sent(command(&mut st, "_LIST_"));
    assert_eq!(out, ["WHO *"]);
    assert_eq!(st.current, 0);
    assert!(st.convs[0].lines.iter().any(|l| l.text.contains("2  carol")));
    let out = sent(command(&mut st, "_QUIT_"));
    assert_eq!(out, ["QUIT Leaving"]);
    assert!(st.quitting);
}

#[test]
fn everyday_commands() {
    let mut st = in_room();
    assert_eq!(sent(command(&mut st, "/join kitchen")), ["JOIN #kitchen"]);
    assert_eq!(sent(command(&mut st, "/topic Sunday lunch")), ["TOPIC #general :Sunday lunch"]);
    assert_eq!(sent(command(&mut st, "/me waves")), ["PRIVMSG #general :\u{1}ACTION waves\u{1}"]);
    assert_eq!(sent(command(&mut st, "/search cake day")), ["SEARCH text=cake\\sday;in=#general"]);
    assert_eq!(sent(command(&mut st, "/part bye")), ["PART #general bye"]);
    assert_eq!(sent(command(&mut st, "//not a command")), ["PRIVMSG #general :/not a command"]);
    assert_eq!(sent(command(&mut st, "/quote WHOIS bob")), ["WHOIS bob"]);
}

#[test]
fn without_echo_message_own_lines_are_shown_at_once() {
    let mut st = State::new("srv", "alice", None);
    st.now = "2026-11-29T10:00:00.000Z".into();
    st.on_connected();
    feed(&mut st, &[":srv CAP * LS :", ":srv 001 alice :hi", ":alice!a@h JOIN #c"]);
    command(&mut st, "hello");
    assert_eq!(st.current().lines.last().unwrap().text, "hello");
}

#[test]
fn history_lines_sort_by_time_and_duplicates_are_dropped() {
    let mut st = in_room();
    let before = st.current().lines.len();
    feed(
        &mut st,
        &[
            "@time=2026-11-28T21:16:30.000Z;msgid=m2 :carol!c@h PRIVMSG #general :I can, if someone picks up the candles.",
        ],
    );
    assert_eq!(st.current().lines.len(), before);
    let times: Vec<&str> = st.current().lines.iter().map(|l| l.time.as_str()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

#[test]
fn unread_counts_mentions_and_read_markers() {
    let mut st = in_room();
    command(&mut st, "/msg bob hi"); // look at another conversation
    let general = st.find("#general").unwrap();
    feed(
        &mut st,
        &[
            "@time=2026-11-29T10:05:00.000Z;msgid=n1 :bob!b@h PRIVMSG #general :anyone?",
            "@time=2026-11-29T10:06:00.000Z;msgid=n2 :carol!c@h PRIVMSG #general :alice: lunch?",
        ],
    );
    assert_eq!(st.convs[general].unread, 2);
    assert!(st.convs[general].mentioned);
    assert!(st.convs[general].lines.last().unwrap().mention);
    assert!(st.bell);
    // Another session of alice read up to the first: the count follows the marker.
    feed(&mut st, &["MARKREAD #general timestamp=2026-11-29T10:05:00.000Z"]);
    assert_eq!(st.convs[general].unread, 1);
    // Looking at the room marks it read on the server.
    let out = sent(st.select(general));
    assert_eq!(out, ["MARKREAD #general timestamp=2026-11-29T10:06:00.000Z"]);
    assert_eq!(st.convs[general].unread, 0);
}

#[test]
fn scrolling_to_the_top_fetches_older_history_until_none_is_left() {
    let mut st = in_room();
    let at = st.current;
    assert_eq!(sent(fetch_older(&mut st, at)), ["CHATHISTORY BEFORE #general timestamp=2026-11-28T21:15:00.000Z 50"]);
    assert_eq!(sent(fetch_older(&mut st, at)), Vec::<String>::new(), "one request at a time");
    feed(&mut st, &[":srv BATCH +e chathistory #general", ":srv BATCH -e"]);
    assert!(st.convs[at].history_done);
    assert!(fetch_older(&mut st, at).is_empty());
}

#[test]
fn reconnect_rejoins_and_fills_the_gap_with_chathistory_after() {
    let mut st = in_room();
    command(&mut st, "/msg bob hi");
    st.on_disconnected("connection reset", 1);
    assert!(matches!(st.phase, Phase::Disconnected { .. }));
    st.on_connected();
    let out = feed(
        &mut st,
        &[
            ":srv CAP * LS :server-time draft/chathistory sasl",
            ":srv CAP * ACK :server-time draft/chathistory sasl",
            ":srv 903 alice :ok",
        ],
    );
    assert_eq!(out, ["CAP REQ :server-time draft/chathistory sasl", "AUTHENTICATE PLAIN", "CAP END"]);
    let out = feed(&mut st, &[":srv 001 alice :Welcome back"]);
    assert_eq!(
        out,
        [
            "WHO *",
            "MONITOR + bob",
            "JOIN #general",
            "CHATHISTORY AFTER #general timestamp=2026-11-29T08:05:00.000Z 100",
            "CHATHISTORY AFTER bob timestamp=2026-11-29T08:05:00.000Z 100",
        ]
    );
}

#[test]
fn partner_leaving_and_server_notices_are_shown_plainly() {
    let mut st = online();
    command(&mut st, "1");
    feed(&mut st, &[":srv NOTICE alice :You are alone: nobody else is online."]);
    let last = st.current().lines.last().unwrap().clone();
    assert_eq!((last.kind, last.from.as_str()), (LineKind::Notice, ""));
    assert_eq!(last.text, "You are alone: nobody else is online.");
    feed(&mut st, &[":srv 731 alice :bob"]);
    assert!(st.current().left);
    assert_eq!(st.current().lines.last().unwrap().text, "bob has left");
    assert!(!st.online.contains(&"bob".to_string()));
    // Someone who was not online to begin with is just offline.
    command(&mut st, "/msg erin hi");
    feed(&mut st, &[":srv 731 alice :erin"]);
    assert_eq!(st.current().lines.last().unwrap().text, "erin is offline");
}

#[test]
fn quits_joins_and_nick_changes_update_the_online_list() {
    let mut st = in_room();
    feed(&mut st, &[":erin!e@h JOIN #general", ":bob!b@h NICK robert", ":carol!c@h QUIT :bye"]);
    assert_eq!(st.online, ["dave", "erin", "robert"]);
    assert!(st.current().members.contains(&"robert".to_string()));
    assert!(!st.current().members.contains(&"carol".to_string()));
}

#[test]
fn search_results_are_listed_where_the_search_was_typed() {
    let mut st = in_room();
    command(&mut st, "/search cake");
    feed(
        &mut st,
        &[
            ":srv BATCH +s soju.im/search",
            "@batch=s;time=2026-11-28T21:15:00.000Z;msgid=m1 :bob!b@h PRIVMSG #general :Who is bringing the cake on Sunday?",
            ":srv BATCH -s",
        ],
    );
    assert_eq!(
        st.current().lines.last().unwrap().text,
        "2026-11-28 21:15 #general <bob> Who is bringing the cake on Sunday?"
    );
}

#[test]
fn a_refused_password_stops_reconnecting() {
    let mut st = State::new("srv", "alice", Some("wrong".into()));
    st.on_connected();
    feed(&mut st, &[":srv CAP * LS :sasl", ":srv CAP * ACK :sasl", "AUTHENTICATE +"]);
    assert_eq!(feed(&mut st, &[":srv 904 alice :SASL authentication failed"]), ["CAP END"]);
    assert!(st.login_failed);
    st.on_disconnected("connection closed", 1);
    assert!(st.current().lines.last().unwrap().text.contains("Not reconnecting"));
}

#[test]
fn unread_counts_of_past_chats_follow_their_read_markers() {
    let mut st = online();
    st.select(0);
    let out = feed(&mut st, &[":srv CHATHISTORY TARGETS bob 2026-11-29T09:00:00.000Z"]);
    assert_eq!(out, ["MARKREAD bob", "CHATHISTORY LATEST bob * 50"]);
    feed(
        &mut st,
        &[
            ":srv MARKREAD bob timestamp=2026-11-29T08:00:00.000Z",
            ":srv BATCH +b chathistory bob",
            "@batch=b;time=2026-11-29T07:00:00.000Z;msgid=o1 :bob!b@h PRIVMSG alice :old news",
            "@batch=b;time=2026-11-29T08:30:00.000Z;msgid=o2 :bob!b@h PRIVMSG alice :new one",
            "@batch=b;time=2026-11-29T09:00:00.000Z;msgid=o3 :bob!b@h PRIVMSG alice :and another",
            ":srv BATCH -b",
        ],
    );
    let bob = st.find("bob").unwrap();
    assert_eq!(st.convs[bob].unread, 2);
    assert!(!st.bell, "history does not ring");
}

#[test]
fn replayed_joins_and_quits_change_no_membership() {
    let mut st = in_room();
    let members = st.current().members.clone();
    feed(
        &mut st,
        &[
            ":srv BATCH +r chathistory #general",
            "@batch=r;time=2026-11-27T10:00:00.000Z;msgid=j1 :alice!a@h JOIN #general",
            "@batch=r;time=2026-11-27T10:01:00.000Z;msgid=j2 :bob!b@h QUIT :gone",
            ":srv BATCH -r",
        ],
    );
    assert_eq!(st.current().members, members);
    assert!(st.online.contains(&"bob".to_string()));
    assert!(st.current().lines.iter().any(|l| l.text == "bob quit"));
}

#[test]
fn joining_shows_the_room_but_a_rejoin_after_reconnect_does_not() {
    let mut st = in_room();
    command(&mut st, "/msg bob hi");
    let bob = st.current;
    st.on_disconnected("reset", 1);
    st.on_connected();
    feed(&mut st, &[":srv CAP * LS :", ":srv 001 alice :back", ":alice!a@h JOIN #general"]);
    assert_eq!(st.current, bob, "the rejoin does not steal the screen");
    feed(&mut st, &[":alice!a@h JOIN #kitchen"]);
    assert_eq!(st.current().name, "#kitchen");
    // NAMES or TOPIC about a room not joined opens nothing.
    feed(&mut st, &[":srv 353 alice = #elsewhere :x y", ":srv 332 alice #elsewhere :t"]);
    assert!(st.find("#elsewhere").is_none());
}
