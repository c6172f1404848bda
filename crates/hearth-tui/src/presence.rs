//! Who is where: joins, parts, quits, nick changes and MONITOR replies, kept in
//! the online list and the rooms' member lists, and shown as event lines.

use hearth_proto::{Message, casefold, numeric as n};

use crate::messages::event;
use crate::state::{Kind, State, nick_of};

/// 730/731 RPL_MONONLINE / RPL_MONOFFLINE: the online list, and a partner leaving or coming back.
pub(crate) fn monitor(st: &mut State, msg: &Message) {
    let p = |i: usize| msg.param(i).unwrap_or("");
    let online = msg.command == n::RPL_MONONLINE;
    for target in p(1).split(',').filter(|t| !t.is_empty()) {
        let nick = nick_of(target).to_string();
        let was_online = st.online.iter().any(|n| casefold(n) == casefold(&nick));
        st.set_online(&nick, online);
        // A private partner going away (or coming back) is said in the chat.
        if let Some(at) = st.find(&nick)
            && st.convs[at].kind == Kind::Private
            && st.convs[at].left == online
        {
            st.convs[at].left = !online;
            let text = match (online, was_online) {
                (true, _) => format!("{nick} is back"),
                (false, true) => format!("{nick} has left"),
                (false, false) => format!("{nick} is offline"),
            };
            event(st, at, msg, text);
        }
    }
}

/// JOIN/PART/KICK/QUIT/NICK inside a history batch (draft/event-playback): shown, but
/// they describe the past and change no membership.
pub(crate) fn replayed(st: &mut State, msg: &Message, from: &str) {
    let p = |i: usize| msg.param(i).unwrap_or("");
    if let Some(b) = msg.tag("batch").and_then(|b| st.batches.get(b))
        && let Some(at) = st.find(&b.target.clone())
    {
        let what = match msg.command.as_str() {
            "JOIN" => "joined".to_string(),
            "PART" => "left".to_string(),
            "KICK" => format!("removed {}", p(1)),
            "QUIT" => "quit".to_string(),
            _ => format!("is now known as {}", p(0)),
        };
        event(st, at, msg, format!("{from} {what}"));
    }
}

/// JOIN <channel>
pub(crate) fn join(st: &mut State, msg: &Message, from: &str, out: &mut Vec<Message>) {
    let p = |i: usize| msg.param(i).unwrap_or("");
    // A room joined anew is shown; a rejoin after a reconnect is not.
    let shown = st.find(p(0)).is_none_or(|at| st.convs[at].left);
    let at = st.open(p(0));
    let conv = &mut st.convs[at];
    if !conv.members.iter().any(|m| casefold(m) == casefold(from)) {
        conv.members.push(from.to_string());
    }
    if st.is_me(from) {
        st.convs[at].left = false;
        st.convs[at].members.clear();
        if shown {
            out.extend(st.select(at));
        }
    } else {
        event(st, at, msg, format!("{from} joined"));
        st.set_online(from, true);
    }
}

/// PART <channel> [<reason>] | KICK <channel> <nick> [<reason>]
pub(crate) fn part(st: &mut State, msg: &Message, from: &str) {
    let p = |i: usize| msg.param(i).unwrap_or("");
    let (chan, who) = if msg.command == "KICK" { (p(0), p(1)) } else { (p(0), from) };
    if let Some(at) = st.find(chan) {
        st.convs[at].members.retain(|m| casefold(m) != casefold(who));
        let text = if msg.command == "KICK" {
            format!("{who} was removed by {from} ({})", p(2))
        } else {
            format!("{who} left")
        };
        event(st, at, msg, text);
        if st.is_me(who) {
            st.convs[at].left = true;
        }
    }
}

/// QUIT [<reason>]
pub(crate) fn quit(st: &mut State, msg: &Message, from: &str) {
    st.set_online(from, false);
    for at in 0..st.convs.len() {
        let conv = &mut st.convs[at];
        let member = conv.members.iter().any(|m| casefold(m) == casefold(from));
        conv.members.retain(|m| casefold(m) != casefold(from));
        let partner = conv.kind == Kind::Private && casefold(&conv.name) == casefold(from);
        if partner {
            conv.left = true;
            event(st, at, msg, format!("{from} has left"));
        } else if member {
            event(st, at, msg, format!("{from} quit"));
        }
    }
}

/// NICK <nick>
pub(crate) fn nick(st: &mut State, msg: &Message, from: &str) {
    let p = |i: usize| msg.param(i).unwrap_or("");
    let new = p(0).to_string();
    if st.is_me(from) {
        st.nick = new.clone();
    } else {
        st.set_online(from, false);
        st.set_online(&new, true);
    }
    for conv in &mut st.convs {
        for m in conv.members.iter_mut().filter(|m| casefold(m) == casefold(from)) {
            *m = new.clone();
        }
        if conv.kind == Kind::Private && casefold(&conv.name) == casefold(from) {
            conv.name = new.clone();
        }
    }
}
