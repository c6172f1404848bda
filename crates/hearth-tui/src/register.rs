//! Registration: CAP LS 302 negotiation, SASL PLAIN (or PASS account:password when
//! the server has no SASL), and what to do once welcomed.

use base64::Engine;
use hearth_proto::Message;

use crate::state::{Kind, Phase, State, WANTED_CAPS};

/// `AUTHENTICATE +` answered: the PLAIN blob, in 400-byte chunks as SASL wants
/// (and a final `+` when the last chunk is full).
pub(crate) fn sasl_plain(st: &State) -> Vec<Message> {
    let pass = st.password.clone().unwrap_or_default();
    let blob = format!("{0}\0{0}\0{pass}", st.account);
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    let mut out: Vec<Message> = b64
        .as_bytes()
        .chunks(400)
        .map(|c| Message::new("AUTHENTICATE").with_param(String::from_utf8_lossy(c).into_owned()))
        .collect();
    if b64.len().is_multiple_of(400) {
        out.push(Message::new("AUTHENTICATE").with_param("+"));
    }
    out
}

pub(crate) fn cap(st: &mut State, msg: &Message, out: &mut Vec<Message>) {
    let sub = msg.param(1).unwrap_or("");
    let last = msg.params.last().cloned().unwrap_or_default();
    match sub {
        "LS" => {
            st.cap_ls.push(last);
            if msg.param(2) == Some("*") {
                return; // more lines follow
            }
            for item in std::mem::take(&mut st.cap_ls).iter().flat_map(|l| l.split(' ')) {
                let (name, value) = item.split_once('=').unwrap_or((item, ""));
                if !name.is_empty() {
                    st.offered.insert(name.to_string(), value.to_string());
                }
            }
            let mut want: Vec<&str> = WANTED_CAPS.iter().copied().filter(|c| st.offered.contains_key(*c)).collect();
            let sasl = st.password.is_some() && st.offered.contains_key("sasl");
            if sasl {
                want.push("sasl");
            } else if let Some(pass) = &st.password {
                // No SASL: the account and password as the server password.
                out.push(Message::new("PASS").with_param(format!("{}:{pass}", st.account)));
            }
            if want.is_empty() {
                out.push(Message::new("CAP").with_param("END"));
            } else {
                out.push(Message::new("CAP").with_params(["REQ".to_string(), want.join(" ")]));
            }
        }
        "ACK" => {
            for c in last.split(' ').filter(|c| !c.is_empty()) {
                match c.strip_prefix('-') {
                    Some(off) => st.caps.remove(off),
                    None => st.caps.insert(c.to_string()),
                };
            }
            if st.phase == Phase::Registering {
                if st.caps.contains("sasl") && st.password.is_some() {
                    out.push(Message::new("AUTHENTICATE").with_param("PLAIN"));
                } else {
                    out.push(Message::new("CAP").with_param("END"));
                }
            }
        }
        "NAK" if st.phase == Phase::Registering => out.push(Message::new("CAP").with_param("END")),
        _ => {}
    }
}

/// 001: registration is done. Look who is online; after a reconnect, rejoin
/// the rooms and fill the gap from history.
pub(crate) fn welcome(st: &mut State, msg: &Message, out: &mut Vec<Message>) {
    if let Some(me) = msg.param(0) {
        st.nick = me.to_string();
    }
    st.phase = Phase::Online;
    st.info(0, format!("Logged in as {}. Type a person's number to chat, /help for commands.", st.nick));
    st.who = Some(Vec::new());
    out.push(Message::new("WHO").with_param("*"));
    let privates: Vec<String> = st.convs.iter().filter(|c| c.kind == Kind::Private).map(|c| c.name.clone()).collect();
    if st.monitor && !privates.is_empty() {
        out.push(Message::new("MONITOR").with_params(["+".to_string(), privates.join(",")]));
    }
    if !st.reconnecting {
        // The private conversations of the past, for the sidebar.
        if st.caps.contains("draft/chathistory") {
            out.push(Message::new("CHATHISTORY").with_params([
                "TARGETS".to_string(),
                "timestamp=1970-01-01T00:00:00.000Z".to_string(),
                format!("timestamp={}", st.now),
                "50".to_string(),
            ]));
        }
        return;
    }
    for conv in st.convs.iter().filter(|c| c.kind == Kind::Room && !c.left) {
        out.push(Message::new("JOIN").with_param(conv.name.clone()));
    }
    if let (true, Some(since)) = (st.caps.contains("draft/chathistory"), st.last_seen.clone()) {
        for conv in st.convs.iter().filter(|c| c.kind != Kind::Home && !c.left) {
            out.push(Message::new("CHATHISTORY").with_params([
                "AFTER".to_string(),
                conv.name.clone(),
                format!("timestamp={since}"),
                "100".to_string(),
            ]));
        }
    }
}
