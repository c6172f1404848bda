//! The client model: what the person sees, as plain data, changed by pure functions.
//!
//! [`apply`] takes one message from the server and returns the lines to send back
//! (PONG, CAP REQ, AUTHENTICATE, MARKREAD…); [`crate::command::command`] does the
//! same for what the person typed. Nothing here does I/O or reads a clock: the app
//! sets [`State::now`] before each call.

use std::collections::{BTreeSet, HashMap};

use hearth_proto::{Message, casefold, numeric as n};

use crate::input::Input;
pub use crate::messages::mentions;
use crate::messages::{self, counts, event};
use crate::{presence, register};

/// The capabilities the client asks for when the server offers them.
pub const WANTED_CAPS: &[&str] = &[
    "server-time",
    "message-tags",
    "echo-message",
    "batch",
    "labeled-response",
    "draft/chathistory",
    "draft/event-playback",
    "draft/read-marker",
    "multi-prefix",
    "away-notify",
    "extended-monitor",
    "soju.im/search",
];

/// How many past private conversations load their history at login.
pub const TARGETS_PRELOAD: usize = 10;

/// How many lines one CHATHISTORY request asks for.
pub const HISTORY_PAGE: usize = 50;

/// Where the connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Registering,
    Online,
    Disconnected { reason: String, retry_in: u64 },
}

/// What a conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The home buffer: server messages, the online list, help.
    Home,
    Room,
    Private,
}

/// How a line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Message,
    Action,
    Notice,
    /// Joins, parts, quits, topic changes.
    Event,
    /// Said by the client itself (help, "connecting…").
    Info,
    Error,
}

/// One line of scrollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `server-time` form; sorts as text.
    pub time: String,
    pub from: String,
    pub text: String,
    pub kind: LineKind,
    pub msgid: Option<String>,
    /// Mentions the person's nick.
    pub mention: bool,
}

/// A room, a private chat or the home buffer.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub name: String,
    pub kind: Kind,
    pub lines: Vec<Line>,
    pub unread: usize,
    pub mentioned: bool,
    pub topic: String,
    pub members: Vec<String>,
    /// Rows scrolled back from the bottom (0 = following new lines).
    pub scroll: usize,
    /// A chat request was sent and the other person has not accepted yet.
    pub waiting: bool,
    /// The room was left or the partner went away.
    pub left: bool,
    /// The newest read marker known (`server-time` form).
    pub read_marker: Option<String>,
    /// CHATHISTORY BEFORE returned nothing: no older lines exist.
    pub history_done: bool,
    pub fetching: bool,
}

impl Conversation {
    pub fn new(name: &str, kind: Kind) -> Conversation {
        Conversation {
            name: name.to_string(),
            kind,
            lines: Vec::new(),
            unread: 0,
            mentioned: false,
            topic: String::new(),
            members: Vec::new(),
            scroll: 0,
            waiting: false,
            left: false,
            read_marker: None,
            history_done: false,
            fetching: false,
        }
    }

    /// Adds a line in time order; a line whose msgid is already here is dropped
    /// (history replays overlap what was seen live). Returns whether it was added.
    pub fn insert(&mut self, line: Line) -> bool {
        if line.msgid.is_some() && self.lines.iter().any(|l| l.msgid == line.msgid) {
            return false;
        }
        let at = self.lines.partition_point(|l| l.time <= line.time);
        self.lines.insert(at, line);
        true
    }

    pub(crate) fn oldest_time(&self) -> Option<&str> {
        self.lines.iter().find(|l| l.kind != LineKind::Info).map(|l| l.time.as_str())
    }

    pub fn newest_time(&self) -> Option<&str> {
        self.lines.iter().rev().find(|l| l.kind != LineKind::Info).map(|l| l.time.as_str())
    }
}

/// Someone asked to chat with the person (numeric 718).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub nick: String,
    pub userhost: String,
}

/// An open `BATCH`.
#[derive(Debug, Clone)]
pub(crate) struct Batch {
    pub(crate) kind: String,
    pub(crate) target: String,
    pub(crate) count: usize,
}

/// Everything the screen shows and the client remembers.
#[derive(Debug, Clone)]
pub struct State {
    /// `host:port` as the person gave it.
    pub server: String,
    pub nick: String,
    pub account: String,
    pub password: Option<String>,
    pub phase: Phase,
    /// Capabilities the server offered (name → value).
    pub offered: HashMap<String, String>,
    /// Capabilities acknowledged.
    pub caps: BTreeSet<String>,
    /// The server announced MONITOR in ISUPPORT.
    pub monitor: bool,
    pub convs: Vec<Conversation>,
    pub current: usize,
    /// People online (from WHO, MONITOR, joins and quits), without the person.
    pub online: Vec<String>,
    /// Incoming chat requests waiting for [a]ccept / [d]ecline.
    pub requests: Vec<Request>,
    pub input: Input,
    /// The time given to lines without `server-time`; set by the app.
    pub now: String,
    /// Ring the bell at the next draw.
    pub bell: bool,
    /// The person asked to leave; the app ends after sending QUIT.
    pub quitting: bool,
    /// The newest `server-time` seen: the start of the gap after a reconnect.
    pub last_seen: Option<String>,
    /// Connected once already: the next welcome fills the gap from history.
    pub reconnecting: bool,
    /// The server refused the password: the app does not reconnect.
    pub login_failed: bool,
    /// The last private message sent (target, text), shown if the server holds it.
    pub last_sent: Option<(String, String)>,
    pub(crate) batches: HashMap<String, Batch>,
    pub(crate) who: Option<Vec<String>>,
    pub(crate) cap_ls: Vec<String>,
}

impl State {
    pub fn new(server: &str, nick: &str, password: Option<String>) -> State {
        let mut home = Conversation::new("hearth", Kind::Home);
        home.history_done = true;
        State {
            server: server.to_string(),
            nick: nick.to_string(),
            account: nick.to_string(),
            password,
            phase: Phase::Connecting,
            offered: HashMap::new(),
            caps: BTreeSet::new(),
            monitor: false,
            convs: vec![home],
            current: 0,
            online: Vec::new(),
            requests: Vec::new(),
            input: Input::default(),
            now: String::new(),
            bell: false,
            quitting: false,
            last_seen: None,
            reconnecting: false,
            login_failed: false,
            last_sent: None,
            batches: HashMap::new(),
            who: None,
            cap_ls: Vec::new(),
        }
    }

    pub fn has_cap(&self, cap: &str) -> bool {
        self.caps.contains(cap)
    }

    /// The conversation with `name`, if open (names compare casefolded).
    pub fn find(&self, name: &str) -> Option<usize> {
        let folded = casefold(name);
        self.convs.iter().position(|c| c.kind != Kind::Home && casefold(&c.name) == folded)
    }

    /// The conversation with `name`, opened if needed.
    pub fn open(&mut self, name: &str) -> usize {
        if let Some(i) = self.find(name) {
            return i;
        }
        let kind = if is_channel(name) { Kind::Room } else { Kind::Private };
        self.convs.push(Conversation::new(name, kind));
        self.convs.len() - 1
    }

    pub fn current(&self) -> &Conversation {
        &self.convs[self.current]
    }

    /// Adds a line the client says itself to conversation `at`.
    pub fn info(&mut self, at: usize, text: impl Into<String>) {
        let line = Line {
            time: self.now.clone(),
            from: String::new(),
            text: text.into(),
            kind: LineKind::Info,
            msgid: None,
            mention: false,
        };
        self.convs[at].lines.push(line);
    }

    /// Shows conversation `at`, clears its unread count and marks it read.
    pub fn select(&mut self, at: usize) -> Vec<Message> {
        if at >= self.convs.len() {
            return Vec::new();
        }
        self.current = at;
        let conv = &mut self.convs[at];
        conv.unread = 0;
        conv.mentioned = false;
        self.mark_read(at)
    }

    /// MARKREAD for the newest line of conversation `at`, when the server keeps markers.
    pub(crate) fn mark_read(&mut self, at: usize) -> Vec<Message> {
        let conv = &mut self.convs[at];
        let Some(newest) = conv.newest_time().map(str::to_string) else { return Vec::new() };
        if conv.kind == Kind::Home || conv.read_marker.as_deref() >= Some(newest.as_str()) {
            return Vec::new();
        }
        conv.read_marker = Some(newest.clone());
        if !self.caps.contains("draft/read-marker") {
            return Vec::new();
        }
        vec![Message::new("MARKREAD").with_params([conv.name.clone(), format!("timestamp={newest}")])]
    }

    /// The person number `n` (1-based) of the online list.
    pub fn person(&self, number: usize) -> Option<&str> {
        self.online.get(number.checked_sub(1)?).map(String::as_str)
    }

    /// Nicks for Tab completion: the current room's members, the online list, partners.
    pub fn completion_nicks(&self) -> Vec<String> {
        let mut v = self.current().members.clone();
        v.extend(self.online.iter().cloned());
        v.extend(self.convs.iter().filter(|c| c.kind == Kind::Private).map(|c| c.name.clone()));
        v
    }

    pub(crate) fn is_me(&self, nick: &str) -> bool {
        casefold(nick) == casefold(&self.nick)
    }

    pub(crate) fn set_online(&mut self, nick: &str, online: bool) {
        let folded = casefold(nick);
        self.online.retain(|n| casefold(n) != folded);
        if online && !self.is_me(nick) {
            self.online.push(nick.to_string());
            self.online.sort_by_key(|n| casefold(n));
        }
    }

    /// The lines that start a connection: CAP LS first, so registration waits for CAP END.
    pub fn on_connected(&mut self) -> Vec<Message> {
        self.phase = Phase::Registering;
        self.caps.clear();
        self.offered.clear();
        self.batches.clear();
        self.cap_ls.clear();
        let text = format!("Connected to {}, logging in as {}…", self.server, self.account);
        self.info(0, text);
        vec![
            Message::new("CAP").with_params(["LS", "302"]),
            Message::new("NICK").with_param(self.nick.clone()),
            Message::new("USER").with_params([self.account.clone(), "0".into(), "*".into(), self.account.clone()]),
        ]
    }

    /// The connection dropped; the app retries in `retry_in` seconds.
    pub fn on_disconnected(&mut self, reason: &str, retry_in: u64) {
        if self.phase == Phase::Online {
            self.reconnecting = true;
        }
        self.phase = Phase::Disconnected { reason: reason.to_string(), retry_in };
        let text = if self.login_failed {
            format!("Disconnected ({reason}). Not reconnecting: check the account and password. Ctrl-C leaves.")
        } else {
            format!("Disconnected ({reason}); reconnecting in {retry_in} s…")
        };
        self.info(self.current, text);
    }
}

pub fn is_channel(name: &str) -> bool {
    name.starts_with(['#', '&'])
}

/// The nick of a `nick!user@host` source.
pub fn nick_of(source: &str) -> &str {
    source.split('!').next().unwrap_or(source)
}

/// Applies one message from the server; returns the lines to send back.
pub fn apply(st: &mut State, msg: &Message) -> Vec<Message> {
    let mut out = Vec::new();
    if let Some(t) = msg.tag("time")
        && st.last_seen.as_deref() < Some(t)
    {
        st.last_seen = Some(t.to_string());
    }
    let from = msg.source.as_deref().map(nick_of).unwrap_or("").to_string();
    let p = |i: usize| msg.param(i).unwrap_or("");
    match msg.command.as_str() {
        "PING" => out.push(Message::new("PONG").with_params(msg.params.clone())),
        "CAP" => register::cap(st, msg, &mut out),
        "AUTHENTICATE" if p(0) == "+" => out.extend(register::sasl_plain(st)),
        n::RPL_SASLSUCCESS => out.push(Message::new("CAP").with_param("END")),
        n::ERR_SASLFAIL | n::ERR_SASLTOOLONG | n::ERR_SASLABORTED | n::ERR_PASSWDMISMATCH => {
            // Trying again with the same password would fail the same way.
            st.login_failed = true;
            let at = st.current;
            st.info(at, format!("Login failed: {}", msg.params.last().map_or("", String::as_str)));
            if msg.command != n::ERR_PASSWDMISMATCH {
                out.push(Message::new("CAP").with_param("END"));
            }
        }
        n::RPL_WELCOME => register::welcome(st, msg, &mut out),
        n::RPL_ISUPPORT => st.monitor |= msg.params.iter().any(|p| p == "MONITOR" || p.starts_with("MONITOR=")),
        n::ERR_NICKNAMEINUSE if st.phase == Phase::Registering => {
            st.nick.push('_');
            out.push(Message::new("NICK").with_param(st.nick.clone()));
        }
        n::RPL_WHOREPLY => {
            // <me> <channel> <user> <host> <server> <nick> <flags> :<hops> <realname>
            if let Some(list) = st.who.as_mut() {
                list.push(p(5).to_string());
            }
        }
        n::RPL_ENDOFWHO => {
            if let Some(list) = st.who.take() {
                st.online.clear();
                for nick in list {
                    st.set_online(&nick, true);
                }
            }
        }
        n::RPL_MONONLINE | n::RPL_MONOFFLINE => presence::monitor(st, msg),
        // Only for rooms joined: a NAMES or TOPIC query about another room opens nothing.
        n::RPL_TOPIC if st.find(p(1)).is_some() => {
            let at = st.open(p(1));
            st.convs[at].topic = p(2).to_string();
        }
        n::RPL_NAMREPLY if st.find(p(2)).is_some() => {
            let at = st.open(p(2));
            for name in p(3).split(' ').filter(|s| !s.is_empty()) {
                let nick = name.trim_start_matches(['~', '&', '@', '%', '+']);
                let nick = nick_of(nick).to_string();
                if !st.convs[at].members.contains(&nick) {
                    st.convs[at].members.push(nick);
                }
            }
        }
        // Hearth's chat requests, in ircd-hybrid caller-ID form.
        n::ERR_TARGUMODEG | n::RPL_TARGNOTIFY => {
            let at = st.open(p(1));
            st.convs[at].waiting = true;
            // The message was held, not delivered (so not echoed either): say so.
            if let Some((target, text)) = st.last_sent.take()
                && casefold(&target) == casefold(p(1))
            {
                st.info(at, format!("(held until {} accepts) {text}", p(1)));
            }
        }
        n::RPL_UMODEGMSG => {
            let nick = p(1).to_string();
            if !st.requests.iter().any(|r| casefold(&r.nick) == casefold(&nick)) {
                st.requests.push(Request { nick: nick.clone(), userhost: p(2).to_string() });
                st.bell = true;
            }
        }
        "BATCH" => messages::batch(st, msg),
        "PRIVMSG" | "NOTICE" => messages::message(st, msg, &from, &mut out),
        // Replayed events (draft/event-playback inside a history batch) are shown,
        // but describe the past: they change no membership.
        "JOIN" | "PART" | "KICK" | "QUIT" | "NICK" if msg.tag("batch").is_some_and(|b| st.batches.contains_key(b)) => {
            presence::replayed(st, msg, &from)
        }
        "JOIN" => presence::join(st, msg, &from, &mut out),
        "PART" | "KICK" => presence::part(st, msg, &from),
        "QUIT" => presence::quit(st, msg, &from),
        "NICK" => presence::nick(st, msg, &from),
        "TOPIC" => {
            let at = st.open(p(0));
            st.convs[at].topic = p(1).to_string();
            event(st, at, msg, format!("{from} set the topic: {}", p(1)));
        }
        // CHATHISTORY TARGETS <nick | channel> <time>: a past private conversation.
        "CHATHISTORY" if p(0) == "TARGETS" && !is_channel(p(1)) && !p(1).is_empty() => {
            let fresh = st.find(p(1)).is_none();
            let at = st.open(p(1));
            // The most recent few load now (marker first) so their unread counts show.
            let loaded = st.convs.iter().filter(|c| c.kind == Kind::Private && c.fetching).count();
            if fresh && loaded < TARGETS_PRELOAD {
                if st.caps.contains("draft/read-marker") {
                    out.push(Message::new("MARKREAD").with_param(p(1)));
                }
                out.extend(fetch_older(st, at));
            }
        }
        "MARKREAD" => {
            if let Some(at) = st.find(p(0))
                && let Some(ts) = p(1).strip_prefix("timestamp=")
            {
                let conv = &mut st.convs[at];
                conv.read_marker = Some(ts.to_string());
                conv.unread = conv.lines.iter().filter(|l| counts(l) && l.time.as_str() > ts).count();
                if conv.unread == 0 {
                    conv.mentioned = false;
                }
            }
        }
        "ERROR" => st.info(st.current, format!("Server closed the connection: {}", p(0))),
        "FAIL" => {
            let text = format!("{} {}: {}", p(0), p(1), msg.params.last().map_or("", String::as_str));
            st.info(st.current, text);
        }
        cmd if cmd.len() == 3 && cmd.as_bytes().iter().all(u8::is_ascii_digit) => numeric(st, msg),
        _ => {}
    }
    out
}

/// Numerics without a meaning of their own are shown in the home buffer;
/// errors also in the conversation being looked at.
fn numeric(st: &mut State, msg: &Message) {
    const QUIET: &[&str] = &[
        n::RPL_YOURHOST,
        n::RPL_CREATED,
        n::RPL_MYINFO,
        n::RPL_ENDOFNAMES,
        n::RPL_TOPICWHOTIME,
        "333",
        "353",
        "366",
        "900",
        "903",
        "730",
        "731",
        "732",
        "733",
    ];
    if QUIET.contains(&msg.command.as_str()) {
        return;
    }
    let error = msg.command.starts_with('4') || msg.command.starts_with('5');
    // The text is the last parameter; errors also name what they are about.
    let last = msg.params.last().map_or("", String::as_str);
    let about = msg.params.get(1..msg.params.len().saturating_sub(1)).unwrap_or(&[]).join(" ");
    let text = if error && !about.is_empty() { format!("{about}: {last}") } else { last.to_string() };
    if error && st.current != 0 {
        let at = st.current;
        st.info(at, text.clone());
        st.convs[at].lines.last_mut().unwrap().kind = LineKind::Error;
    }
    st.info(0, text);
    if error {
        st.convs[0].lines.last_mut().unwrap().kind = LineKind::Error;
    }
}

/// CHATHISTORY BEFORE for conversation `at` (PgUp at the top of the scrollback).
pub fn fetch_older(st: &mut State, at: usize) -> Vec<Message> {
    let conv = &mut st.convs[at];
    if conv.kind == Kind::Home || conv.history_done || conv.fetching || !st.caps.contains("draft/chathistory") {
        return Vec::new();
    }
    conv.fetching = true;
    let anchor = conv.oldest_time().map_or_else(|| "*".to_string(), |t| format!("timestamp={t}"));
    let sub = if anchor == "*" { "LATEST" } else { "BEFORE" };
    vec![Message::new("CHATHISTORY").with_params([
        sub.to_string(),
        conv.name.clone(),
        anchor,
        HISTORY_PAGE.to_string(),
    ])]
}

/// The online list was asked for: WHO everyone (the replies replace the list).
pub fn refresh_online(st: &mut State) -> Vec<Message> {
    if st.phase != Phase::Online || st.who.is_some() {
        return Vec::new();
    }
    st.who = Some(Vec::new());
    vec![Message::new("WHO").with_param("*")]
}

/// [a]ccept: ACCEPT the first pending request, open the chat and load its history.
pub fn accept_request(st: &mut State) -> Vec<Message> {
    if st.requests.is_empty() {
        return Vec::new();
    }
    let r = st.requests.remove(0);
    let mut out = vec![Message::new("ACCEPT").with_param(r.nick.clone())];
    let at = st.open(&r.nick);
    out.extend(st.select(at));
    st.info(at, format!("You accepted {}'s chat request.", r.nick));
    out.extend(fetch_older(st, at));
    out
}

/// [d]ecline: ACCEPT -nick for the first pending request.
pub fn decline_request(st: &mut State) -> Vec<Message> {
    if st.requests.is_empty() {
        return Vec::new();
    }
    let r = st.requests.remove(0);
    st.info(st.current, format!("You declined {}'s chat request.", r.nick));
    vec![Message::new("ACCEPT").with_param(format!("-{}", r.nick))]
}
