//! Keys: the [a]ccept / [d]ecline prompt, Ctrl-C, Tab, scrolling.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hearth_tui::app::key;
use ratatui::layout::Rect;

use crate::fixtures::*;

const SCREEN: Rect = Rect { x: 0, y: 0, width: 80, height: 24 };

fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn a_and_d_answer_a_request_only_when_the_input_is_empty() {
    let mut st = online();
    feed(&mut st, &[":srv 718 alice bob bob@h :is messaging you, and you have user mode +g set."]);
    st.input.insert('x');
    assert!(sent(key(&mut st, press(KeyCode::Char('a')), SCREEN)).is_empty());
    assert_eq!(st.input.text, "xa");
    st.input.clear();
    assert_eq!(sent(key(&mut st, press(KeyCode::Char('a')), SCREEN)), ["ACCEPT bob", "CHATHISTORY LATEST bob * 50"]);
}

#[test]
fn ctrl_c_quits_with_a_quit() {
    let mut st = online();
    let out = sent(key(&mut st, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), SCREEN));
    assert_eq!(out, ["QUIT Leaving"]);
    assert!(st.quitting);
}

#[test]
fn typing_enter_and_tab() {
    let mut st = in_room();
    for c in "ca".chars() {
        key(&mut st, press(KeyCode::Char(c)), SCREEN);
    }
    key(&mut st, press(KeyCode::Tab), SCREEN);
    assert_eq!(st.input.text, "carol: ");
    key(&mut st, press(KeyCode::Char('!')), SCREEN);
    assert_eq!(sent(key(&mut st, press(KeyCode::Enter), SCREEN)), ["PRIVMSG #general :carol: !"]);
    key(&mut st, press(KeyCode::Up), SCREEN);
    assert_eq!(st.input.text, "carol: !");
}

#[test]
fn page_up_at_the_top_asks_for_older_lines() {
    let mut st = in_room();
    let out = sent(key(&mut st, press(KeyCode::PageUp), SCREEN));
    assert_eq!(out, ["CHATHISTORY BEFORE #general timestamp=2026-11-28T21:15:00.000Z 50"]);
    key(&mut st, press(KeyCode::Esc), SCREEN);
    assert_eq!(st.current().scroll, 0);
}
