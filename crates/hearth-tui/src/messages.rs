//! PRIVMSG, NOTICE and BATCH: where a line goes, whether it is new, unread or a
//! mention, and chathistory / search batches.

use hearth_proto::{Message, casefold};

use crate::state::{Batch, Kind, Line, LineKind, Phase, State, is_channel};

pub(crate) fn batch(st: &mut State, msg: &Message) {
    let reference = msg.param(0).unwrap_or("");
    if let Some(id) = reference.strip_prefix('+') {
        let kind = msg.param(1).unwrap_or("").to_string();
        let target = msg.param(2).unwrap_or("").to_string();
        st.batches.insert(id.to_string(), Batch { kind, target, count: 0 });
    } else if let Some(id) = reference.strip_prefix('-')
        && let Some(b) = st.batches.remove(id)
        && b.kind == "chathistory"
        && let Some(at) = st.find(&b.target)
    {
        let conv = &mut st.convs[at];
        conv.fetching = false;
        if b.count == 0 {
            conv.history_done = true;
        }
        // History with the partner means the request was accepted.
        conv.waiting = conv.waiting && b.count == 0;
    }
}

/// Whether a line counts as unread.
pub(crate) fn counts(l: &Line) -> bool {
    matches!(l.kind, LineKind::Message | LineKind::Action | LineKind::Notice)
}

pub(crate) fn event(st: &mut State, at: usize, msg: &Message, text: String) {
    let line = Line {
        time: msg.tag("time").map_or_else(|| st.now.clone(), str::to_string),
        from: String::new(),
        text,
        kind: LineKind::Event,
        msgid: msg.tag("msgid").map(str::to_string),
        mention: false,
    };
    st.convs[at].insert(line);
}

pub(crate) fn message(st: &mut State, msg: &Message, from: &str, out: &mut Vec<Message>) {
    let target = msg.param(0).unwrap_or("");
    let mut text = msg.param(1).unwrap_or("").to_string();
    let server_notice = !msg.source.as_deref().unwrap_or("").contains('!');
    let history = msg.tag("batch").is_some_and(|b| st.batches.get(b).is_some_and(|b| b.kind == "chathistory"));
    let mine = st.is_me(from) && !server_notice;
    // Before registration a notice is about the connection: the home buffer.
    // A server notice about a pending request ("bob accepted / declined…") goes to
    // that chat and ends the wait.
    let answered = server_notice
        .then(|| {
            let folded = casefold(&text);
            let answer = (folded.contains("accepted") || folded.contains("declined")) && !folded.contains("waiting");
            st.convs.iter().position(|c| c.waiting && answer && crate::state::mentions(&text, &c.name))
        })
        .flatten();
    if let Some(at) = answered {
        st.convs[at].waiting = false;
    }
    let at = if let Some(at) = answered {
        at
    } else if st.phase != Phase::Online && server_notice {
        0
    } else if server_notice {
        st.current
    } else if is_channel(target) || mine {
        st.open(target)
    } else if msg.command == "NOTICE" && st.find(from).is_none() {
        st.current
    } else {
        st.open(from)
    };
    if let Some(b) = msg.tag("batch").and_then(|b| st.batches.get_mut(b)) {
        b.count += 1;
        if b.kind == "soju.im/search" {
            // A search hit: shown where the search was typed, not filed as new.
            let time = msg.tag("time").unwrap_or("");
            let hit = format!("{} {} {target} <{from}> {text}", crate::time::day(time), crate::time::hhmm(time));
            st.info(st.current, hit);
            return;
        }
    }
    let mut kind = if msg.command == "NOTICE" { LineKind::Notice } else { LineKind::Message };
    if let Some(action) = text.strip_prefix("\u{1}ACTION ") {
        text = action.trim_end_matches('\u{1}').to_string();
        kind = LineKind::Action;
    } else if text.starts_with('\u{1}') {
        return; // other CTCP
    }
    let mention = !mine && !server_notice && mentions(&text, &st.nick);
    let line = Line {
        time: msg.tag("time").map_or_else(|| st.now.clone(), str::to_string),
        from: if server_notice { String::new() } else { from.to_string() },
        text,
        kind,
        msgid: msg.tag("msgid").map(str::to_string),
        mention,
    };
    let newer_than_marker = st.convs[at].read_marker.as_deref().is_none_or(|m| line.time.as_str() > m);
    if !st.convs[at].insert(line) {
        return;
    }
    let conv = &mut st.convs[at];
    if !mine && !server_notice {
        conv.waiting = false; // they wrote: the request was accepted
        conv.left = false;
    }
    if mine || (history && !newer_than_marker) {
        return;
    }
    let private = conv.kind == Kind::Private;
    if at == st.current && conv.scroll == 0 {
        if !history {
            out.extend(st.mark_read(at));
        }
    } else if !server_notice {
        conv.unread += 1;
        conv.mentioned |= mention || private;
    }
    if !history && (mention || (private && at != st.current)) {
        st.bell = true;
    }
}

/// Whether `text` names `nick` as a word.
pub fn mentions(text: &str, nick: &str) -> bool {
    let nick = casefold(nick);
    casefold(text).split(|c: char| !(c.is_alphanumeric() || "-_[]{}\\|^`".contains(c))).any(|w| w == nick)
}
