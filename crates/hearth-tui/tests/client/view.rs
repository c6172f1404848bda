//! Screen snapshots with ratatui's `TestBackend`, one per state the person meets.
//! The `.snap` files under `snapshots/` are the screens, character for character.

use hearth_tui::command::command;
use hearth_tui::state::{Phase, State, accept_request};
use hearth_tui::view::{self, Colors};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use crate::fixtures::*;

fn screen(st: &State, width: u16, height: u16, colors: Colors) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    t.draw(|f| view::draw(f, st, colors)).unwrap();
    t
}

fn snap(st: &State, width: u16, height: u16) -> String {
    screen(st, width, height, Colors::Basic).backend().to_string()
}

#[test]
fn connecting() {
    let mut st = State::new("127.0.0.1:6667", "alice", Some("pw".into()));
    st.now = "2026-11-29T10:00:00.000Z".into();
    insta::assert_snapshot!("connecting", snap(&st, 80, 24));
    st.on_connected();
    insta::assert_snapshot!("logging_in", snap(&st, 80, 24));
}

#[test]
fn numbered_list_of_people_online() {
    let mut st = online();
    command(&mut st, "/list");
    insta::assert_snapshot!("numbered_list", snap(&st, 80, 24));
}

#[test]
fn room_with_scrollback_and_date_separators() {
    let mut st = in_room();
    command(&mut st, "/msg bob hi"); // an open private chat in the sidebar
    let general = st.find("#general").unwrap();
    feed(&mut st, &["@time=2026-11-29T10:05:00.000Z;msgid=n1 :bob!b@h PRIVMSG #general :see you all at noon"]);
    st.select(general);
    feed(&mut st, &["@time=2026-11-29T10:06:00.000Z;msgid=n2 :dave!d@h NOTICE alice :psst"]);
    insta::assert_snapshot!("room_80x24", snap(&st, 80, 24));
}

#[test]
fn room_at_a_narrow_size_hides_the_sidebar_and_wraps() {
    let st = in_room();
    insta::assert_snapshot!("room_narrow_40x12", snap(&st, 40, 12));
}

#[test]
fn scrolled_back() {
    let mut st = in_room();
    let at = st.current;
    st.convs[at].scroll = 2;
    insta::assert_snapshot!("room_scrolled", snap(&st, 60, 8));
}

#[test]
fn waiting_for_bob_to_accept() {
    let mut st = online();
    command(&mut st, "1");
    command(&mut st, "hi bob, got a minute?");
    feed(
        &mut st,
        &[
            ":srv 716 alice bob :is in +g mode (server-side ignore.)",
            ":srv 717 alice bob :has been informed that you messaged them.",
            ":srv NOTICE alice :Chat request sent to bob; waiting for bob to accept.",
        ],
    );
    insta::assert_snapshot!("waiting_for_bob", snap(&st, 80, 24));
}

#[test]
fn incoming_request_prompt() {
    let mut st = online();
    feed(
        &mut st,
        &[
            ":srv 718 alice bob bob@hearth :is messaging you, and you have user mode +g set.",
            ":srv NOTICE alice :bob would like to chat with you.",
        ],
    );
    insta::assert_snapshot!("accept_decline_prompt", snap(&st, 80, 24));
}

#[test]
fn history_after_acceptance() {
    let mut st = online();
    feed(&mut st, &[":srv 718 alice bob bob@hearth :is messaging you, and you have user mode +g set."]);
    accept_request(&mut st);
    feed(
        &mut st,
        &[
            ":srv BATCH +h chathistory bob",
            "@batch=h;time=2026-11-29T09:58:00.000Z;msgid=p1 :bob!b@h PRIVMSG alice :hi alice, are you there?",
            "@batch=h;time=2026-11-29T09:58:30.000Z;msgid=p2 :bob!b@h PRIVMSG alice :it's about Sunday",
            ":srv BATCH -h",
            "@time=2026-11-29T10:00:10.000Z;msgid=p3 :alice!a@h PRIVMSG bob :yes, here!",
        ],
    );
    insta::assert_snapshot!("history_after_acceptance", snap(&st, 80, 24));
}

#[test]
fn alone_and_partner_left_notices() {
    let mut st = online();
    command(&mut st, "1");
    feed(
        &mut st,
        &[
            "@time=2026-11-29T10:00:20.000Z :bob!b@h PRIVMSG alice :gotta go, bye!",
            "@time=2026-11-29T10:00:30.000Z :srv 731 alice :bob",
            "@time=2026-11-29T10:00:31.000Z :srv NOTICE alice :bob has left the chat.",
            "@time=2026-11-29T10:00:32.000Z :srv NOTICE alice :You are alone: nobody else is online.",
        ],
    );
    insta::assert_snapshot!("partner_left_alone", snap(&st, 80, 24));
}

#[test]
fn disconnected_title() {
    let mut st = in_room();
    st.on_disconnected("connection reset by peer", 4);
    assert!(matches!(st.phase, Phase::Disconnected { .. }));
    insta::assert_snapshot!("disconnected", snap(&st, 80, 10));
}

#[test]
fn colours_fall_back_to_the_16_ansi_colours_and_none_with_no_color() {
    let st = in_room();
    let colours = |c: Colors| {
        let t = screen(&st, 80, 24, c);
        t.backend().buffer().content().iter().flat_map(|cell| [cell.fg, cell.bg]).collect::<Vec<Color>>()
    };
    assert!(colours(Colors::Rich).iter().any(|c| matches!(c, Color::Indexed(_))));
    assert!(colours(Colors::Basic).iter().all(|c| !matches!(c, Color::Indexed(_) | Color::Rgb(..))));
    assert!(colours(Colors::Mono).iter().all(|c| *c == Color::Reset));
    assert_eq!(Colors::detect(true, "truecolor", "xterm-256color"), Colors::Mono);
    assert_eq!(Colors::detect(false, "", "xterm-256color"), Colors::Rich);
    assert_eq!(Colors::detect(false, "", "linux"), Colors::Basic);
}

#[test]
fn wrap_keeps_words_and_splits_long_ones() {
    assert_eq!(view::wrap("one two three", 7), ["one two", "three"]);
    assert_eq!(view::wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    assert_eq!(view::wrap("", 4), [""]);
}

#[test]
fn sidebar_shows_unread_counts() {
    let mut st = in_room();
    command(&mut st, "/msg bob hi");
    feed(
        &mut st,
        &[
            "@time=2026-11-29T10:05:00.000Z;msgid=u1 :carol!c@h PRIVMSG #general :anyone up for a walk?",
            "@time=2026-11-29T10:06:00.000Z;msgid=u2 :dave!d@h PRIVMSG #general :alice: you?",
            "@time=2026-11-29T10:07:00.000Z;msgid=u3 :carol!c@h PRIVMSG alice :psst",
        ],
    );
    insta::assert_snapshot!("sidebar_unread", snap(&st, 80, 12));
}
