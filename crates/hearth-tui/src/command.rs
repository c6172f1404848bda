//! What the person typed, turned into state changes and lines to send.
//!
//! `/commands` work everywhere; the seed's words `_LIST_` and `_QUIT_` too. In the
//! home buffer a bare number opens a private chat with that person of the
//! online list; elsewhere plain text is a message to the conversation shown.

use hearth_proto::{Message, escape_tag_value};

use crate::state::{Kind, Line, LineKind, Phase, State, fetch_older, is_channel, refresh_online};

/// The `/help` text, one line each.
pub const HELP: &[&str] = &[
    "Commands:",
    "  NUMBER or /NUMBER  chat with person NUMBER",
    "  /msg NICK [TEXT]   private chat",
    "  /join #ROOM        /part [REASON]",
    "  /topic [TEXT]      /me ACTION",
    "  /search TEXT       /nick NEW",
    "  /accept [NICK]     /decline [NICK]",
    "  /close             /quote RAW LINE",
    "  /list, _LIST_      who is online",
    "  /quit, _QUIT_      leave (also Ctrl-C)",
    "Keys:",
    "  Ctrl-N, Ctrl-P, Alt-1..9  switch conversation",
    "  PgUp, PgDn, Esc    scroll, back to the end",
    "  Tab                complete a nick",
    "  Up, Down           input history",
    "  a, d               accept, decline a request",
];

/// Handles one submitted input line; returns the lines to send.
pub fn command(st: &mut State, input: &str) -> Vec<Message> {
    let line = input.trim_end();
    if line.is_empty() {
        return Vec::new();
    }
    match line.trim() {
        "_LIST_" => return list(st),
        "_QUIT_" => return quit(st, ""),
        _ => {}
    }
    if st.current().kind == Kind::Home
        && let Ok(n) = line.trim().parse::<usize>()
    {
        return open_person(st, n);
    }
    let Some(rest) = line.strip_prefix('/') else {
        return say(st, line, false);
    };
    if let Some(text) = rest.strip_prefix('/') {
        return say(st, &format!("/{text}"), false); // "//text" sends "/text"
    }
    let (cmd, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let args = args.trim();
    if let Ok(n) = cmd.parse::<usize>() {
        return open_person(st, n);
    }
    match cmd.to_ascii_lowercase().as_str() {
        "join" | "j" if !args.is_empty() => {
            let mut words = args.split(' ');
            let room = words.next().unwrap_or("");
            let room = if is_channel(room) { room.to_string() } else { format!("#{room}") };
            let mut m = Message::new("JOIN").with_param(room);
            if let Some(key) = words.next() {
                m = m.with_param(key);
            }
            vec![m]
        }
        "part" | "leave" => {
            let conv = st.current();
            if conv.kind != Kind::Room {
                return usage(st, "/part works in a room; /close closes a private chat.");
            }
            let mut m = Message::new("PART").with_param(conv.name.clone());
            if !args.is_empty() {
                m = m.with_param(args);
            }
            vec![m]
        }
        "topic" => {
            let conv = st.current();
            if conv.kind != Kind::Room {
                return usage(st, "/topic works in a room.");
            }
            let mut m = Message::new("TOPIC").with_param(conv.name.clone());
            if !args.is_empty() {
                m = m.with_param(args);
            }
            vec![m]
        }
        "me" if !args.is_empty() => say(st, args, true),
        "msg" | "query" | "q" if !args.is_empty() => {
            let (nick, text) = args.split_once(' ').unwrap_or((args, ""));
            let mut out = open_chat(st, nick);
            if !text.trim().is_empty() {
                out.extend(say(st, text.trim(), false));
            }
            out
        }
        "list" | "who" => list(st),
        "quit" | "exit" => quit(st, args),
        "search" if !args.is_empty() => search(st, args),
        "accept" => answer(st, args, true),
        "decline" => answer(st, args, false),
        "nick" if !args.is_empty() => vec![Message::new("NICK").with_param(args)],
        "close" => close(st),
        "quote" | "raw" if !args.is_empty() => match Message::parse(args) {
            Ok(m) => vec![m],
            Err(e) => usage(st, &format!("Not an IRC line: {e}")),
        },
        "help" => {
            let at = st.current;
            HELP.iter().for_each(|l| st.info(at, *l));
            Vec::new()
        }
        _ => usage(st, &format!("Unknown command or missing argument: /{cmd}. /help lists the commands.")),
    }
}

fn usage(st: &mut State, text: &str) -> Vec<Message> {
    let at = st.current;
    st.info(at, text);
    Vec::new()
}

/// The person with number `n` of the online list.
fn open_person(st: &mut State, n: usize) -> Vec<Message> {
    match st.person(n).map(str::to_string) {
        Some(nick) => open_chat(st, &nick),
        None => usage(st, &format!("No person number {n}: /list shows who is online.")),
    }
}

/// Opens (and shows) the private chat with `nick`, loading its recent history.
pub fn open_chat(st: &mut State, nick: &str) -> Vec<Message> {
    let fresh = st.find(nick).is_none();
    let at = st.open(nick);
    let mut out = Vec::new();
    if fresh && st.monitor && st.convs[at].kind == Kind::Private {
        out.push(Message::new("MONITOR").with_params(["+", nick]));
    }
    out.extend(show(st, at));
    out
}

/// Shows conversation `at`, loading its latest history the first time.
pub fn show(st: &mut State, at: usize) -> Vec<Message> {
    let mut out = st.select(at);
    if st.convs.get(at).is_some_and(|c| c.newest_time().is_none()) {
        out.extend(fetch_older(st, at));
    }
    out
}

/// A message (or `/me` action) to the conversation shown.
fn say(st: &mut State, text: &str, action: bool) -> Vec<Message> {
    let conv = st.current();
    if conv.kind == Kind::Home {
        return usage(st, "This is the home list: type a person's number, /msg NICK or /join #ROOM.");
    }
    if st.phase != Phase::Online {
        return usage(st, "Not connected: the message was not sent.");
    }
    let target = conv.name.clone();
    let body = if action { format!("\u{1}ACTION {text}\u{1}") } else { text.to_string() };
    if !st.has_cap("echo-message") {
        // The server will not echo it: show it now.
        let line = Line {
            time: st.now.clone(),
            from: st.nick.clone(),
            text: text.to_string(),
            kind: if action { LineKind::Action } else { LineKind::Message },
            msgid: None,
            mention: false,
        };
        let at = st.current;
        st.convs[at].insert(line);
    }
    let at = st.current;
    st.convs[at].scroll = 0;
    if st.convs[at].kind == Kind::Private && st.has_cap("echo-message") {
        st.last_sent = Some((target.clone(), text.to_string()));
    }
    vec![Message::new("PRIVMSG").with_params([target, body])]
}

/// `/list`, `_LIST_`: the home buffer with the numbered list, refreshed by WHO.
fn list(st: &mut State) -> Vec<Message> {
    let mut out = st.select(0);
    out.extend(refresh_online(st));
    let rows: Vec<String> = st.online.iter().enumerate().map(|(i, n)| format!("  {:>2}  {n}", i + 1)).collect();
    if rows.is_empty() {
        st.info(0, "Nobody else is online (yet).");
    } else {
        st.info(0, "Online now — type a number to chat:");
        rows.into_iter().for_each(|r| st.info(0, r));
    }
    out
}

/// `/quit`, `_QUIT_`, Ctrl-C: QUIT and leave.
pub fn quit(st: &mut State, reason: &str) -> Vec<Message> {
    st.quitting = true;
    let reason = if reason.is_empty() { "Leaving" } else { reason };
    vec![Message::new("QUIT").with_param(reason)]
}

/// `/search TEXT`: soju.im/search in the conversation shown (everywhere from home).
fn search(st: &mut State, text: &str) -> Vec<Message> {
    if !st.offered.contains_key("soju.im/search") {
        return usage(st, "This server does not offer search.");
    }
    let mut attrs = String::from("text=");
    escape_tag_value(text, &mut attrs);
    let conv = st.current();
    if conv.kind != Kind::Home {
        attrs.push_str(";in=");
        escape_tag_value(&conv.name, &mut attrs);
    }
    let at = st.current;
    st.info(at, format!("Searching for “{text}”…"));
    vec![Message::new("SEARCH").with_param(attrs)]
}

/// `/accept [NICK]`, `/decline [NICK]` (also the a/d keys for the first request).
fn answer(st: &mut State, nick: &str, accept: bool) -> Vec<Message> {
    if !nick.is_empty()
        && let Some(i) =
            st.requests.iter().position(|r| hearth_proto::casefold(&r.nick) == hearth_proto::casefold(nick))
    {
        let r = st.requests.remove(i);
        st.requests.insert(0, r);
    } else if !nick.is_empty() {
        // Not asked (yet): ACCEPT works ahead of a request too.
        let param = if accept { nick.to_string() } else { format!("-{nick}") };
        return vec![Message::new("ACCEPT").with_param(param)];
    }
    if accept { crate::state::accept_request(st) } else { crate::state::decline_request(st) }
}

/// `/close`: closes a private chat, or parts a room.
fn close(st: &mut State) -> Vec<Message> {
    let at = st.current;
    let conv = &st.convs[at];
    match conv.kind {
        Kind::Home => usage(st, "The home list cannot be closed."),
        Kind::Room if !conv.left => vec![Message::new("PART").with_param(conv.name.clone())],
        _ => {
            let mut out = Vec::new();
            if st.monitor && conv.kind == Kind::Private {
                out.push(Message::new("MONITOR").with_params(["-", conv.name.as_str()]));
            }
            st.convs.remove(at);
            out.extend(st.select(at.saturating_sub(1).min(st.convs.len() - 1)));
            out
        }
    }
}
