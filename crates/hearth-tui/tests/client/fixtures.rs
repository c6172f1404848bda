//! Building states the way a server would: by feeding it lines.

use hearth_proto::Message;
use hearth_tui::state::{State, apply};

pub fn msg(line: &str) -> Message {
    Message::parse(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// Feeds lines to `st`, returning every line it wanted to send, as text.
pub fn feed(st: &mut State, lines: &[&str]) -> Vec<String> {
    lines.iter().flat_map(|l| apply(st, &msg(l))).map(|m| m.to_string()).collect()
}

pub fn sent(out: Vec<Message>) -> Vec<String> {
    out.into_iter().map(|m| m.to_string()).collect()
}

/// alice, logged in to a server that offers the usual IRCv3 capabilities.
pub fn online() -> State {
    let mut st = State::new("127.0.0.1:6667", "alice", Some("pw".into()));
    st.now = "2026-11-29T10:00:00.000Z".into();
    st.on_connected();
    feed(
        &mut st,
        &[
            ":srv CAP * LS :server-time message-tags echo-message batch labeled-response draft/chathistory draft/read-marker sasl soju.im/search",
            ":srv CAP alice ACK :server-time message-tags echo-message batch labeled-response draft/chathistory draft/read-marker sasl",
            ":srv 903 alice :SASL authentication successful",
            ":srv 001 alice :Welcome to Hearth, alice",
            ":srv 005 alice MONITOR=100 CHATHISTORY=100 :are supported by this server",
            ":srv 352 alice * bob h srv bob H :0 Bob",
            ":srv 352 alice * carol h srv carol H :0 Carol",
            ":srv 352 alice * alice h srv alice H :0 Alice",
            ":srv 352 alice * dave h srv dave H :0 Dave",
            ":srv 315 alice * :End of WHO list",
        ],
    );
    st
}

/// `online()` in #general with two days of scrollback.
pub fn in_room() -> State {
    let mut st = online();
    feed(
        &mut st,
        &[
            ":alice!a@h JOIN #general",
            ":srv 332 alice #general :Family news and plans",
            ":srv 353 alice = #general :alice bob carol",
            ":srv 366 alice #general :End of /NAMES list.",
            "@batch=h1 :srv BATCH +h1 chathistory #general",
            "@batch=h1;time=2026-11-28T21:15:00.000Z;msgid=m1 :bob!b@h PRIVMSG #general :Who is bringing the cake on Sunday?",
            "@batch=h1;time=2026-11-28T21:16:30.000Z;msgid=m2 :carol!c@h PRIVMSG #general :I can, if someone picks up the candles.",
            "@batch=h1;time=2026-11-29T08:02:00.000Z;msgid=m3 :bob!b@h PRIVMSG #general :\u{1}ACTION waves good morning\u{1}",
            "@batch=h1;time=2026-11-29T08:05:00.000Z;msgid=m4 :carol!c@h PRIVMSG #general :alice, are you coming too?",
            "BATCH -h1",
        ],
    );
    st
}
