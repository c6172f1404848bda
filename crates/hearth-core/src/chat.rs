//! Chat requests: consent before private messages, and messages to people who are
//! offline (issue 9). The ACCEPT command and the login summary are in
//! [`crate::handlers::accept`].
//!
//! "The first private message from someone not yet accepted is **held**, not
//! delivered." What is persistent lives here in memory, loaded at start
//! ([`Server::restore_chat`]) and changed only together with a journal record
//! ([`StoreOp::Chat`]), so nothing is acknowledged that a crash could lose:
//! - accept lists, per **account** (shared by all its sessions). The entry `*` means
//!   "anyone may write" (caller-ID user mode `-g`);
//! - chat requests, pending (with the held messages) or declined (to bound repeats);
//! - unread counts of offline accounts, for the summary at their next login.
//!
//! Who may write to whom ([`admit`]), in order: the policy `open` lets everyone; a
//! message to oneself, to a guest (no account) or from an admin (IRC operator) always
//! goes; then the recipient's accept list (`*` included); under `rooms`, people who
//! share a room. Anything else from an account is a chat request; a guest cannot make
//! one. Writing to someone puts them on the writer's own accept list, so the answer is
//! never a request in turn.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use hearth_proto::numeric::{ERR_TARGUMODEG, RPL_TARGNOTIFY, RPL_UMODEGMSG};
use hearth_proto::{Cap, Message, Tag, casefold};
use hearth_store::journal::Op;
use hearth_store::{ChatRequest, StoredMessage, Timestamp, Unread, dm_key};

use crate::client::ConnId;
use crate::error::numeric;
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::server::{Ctx, Server};

/// Who may start a private conversation (`[dm] policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmPolicy {
    /// Only people the recipient accepted; others send a chat request.
    Request,
    /// Anyone may write to anyone (Hearth before chat requests).
    Open,
    /// People who share a room may write directly; others send a chat request.
    Rooms,
}

/// The `[dm]` settings.
#[derive(Debug, Clone)]
pub struct DmConfig {
    pub policy: DmPolicy,
    /// Messages of earlier conversation both people get when a request is accepted.
    pub history_on_accept: usize,
    /// A pending request is dropped after this long.
    pub request_expiry: Duration,
    /// Messages held per request; more are refused until the recipient answers.
    pub max_held: usize,
    /// Pending requests one account may have at once.
    pub max_pending_per_sender: usize,
    /// After a decline, the same person cannot ask again for this long.
    pub decline_cooldown: Duration,
}

impl Default for DmConfig {
    fn default() -> Self {
        DmConfig {
            policy: DmPolicy::Request,
            history_on_accept: 20,
            request_expiry: Duration::from_secs(30 * 86_400),
            max_held: 5,
            max_pending_per_sender: 10,
            decline_cooldown: Duration::from_secs(7 * 86_400),
        }
    }
}

/// The accept-list entry that stands for "anyone" (user mode `-g`).
pub const ANYONE: &str = "*";

/// The vendor tags of Hearth's structured form (see docs/protocol.md).
pub const TAG_REQUEST: &str = "hearth.chat/request";
pub const TAG_PEER: &str = "hearth.chat/peer";
pub const TAG_HELD: &str = "hearth.chat/held";

/// The persistent chat state, in memory.
#[derive(Debug, Default)]
pub struct Chat {
    /// Casefolded account → casefolded accounts it accepts (and maybe [`ANYONE`]).
    pub(crate) accepts: HashMap<String, BTreeSet<String>>,
    /// (sender, recipient) account keys → request.
    pub(crate) requests: BTreeMap<(String, String), ChatRequest>,
    /// Casefolded account → what it got while offline, by sender.
    pub(crate) unread: HashMap<String, Vec<Unread>>,
    /// (sending user, recipient account) already told "is offline" (not persistent:
    /// being told again after a restart is harmless).
    pub(crate) told_offline: HashSet<(ConnId, String)>,
}

/// What [`admit`] decided for one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Deliver (or store, for someone offline) now.
    Now,
    /// Held as part of a chat request: echo it to the sender, deliver nothing.
    Held,
    /// Not sent; the sender was told (or, for NOTICE and TAGMSG, silently dropped).
    No,
}

/// The recipient of a private message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Peer<'a> {
    Online(ConnId),
    /// An account with nobody logged in (casefolded name).
    Offline(&'a str),
}

impl Server {
    /// Loads accept lists, chat requests and unread counts (at start, before serving).
    pub fn restore_chat(&mut self, accepts: Vec<(String, String)>, requests: Vec<ChatRequest>, unread: Vec<Unread>) {
        for (account, other) in accepts {
            self.chat.accepts.entry(account).or_default().insert(other);
        }
        for r in requests {
            self.chat.requests.insert((r.sender.clone(), r.recipient.clone()), r);
        }
        for u in unread {
            self.chat.unread.entry(u.account.clone()).or_default().push(u);
        }
    }
}

/// The casefolded account of user `id`, if logged in.
pub(crate) fn account_key(s: &Server, id: ConnId) -> Option<String> {
    s.clients.get(&id)?.account.as_deref().map(casefold)
}

/// Does `to` accept messages from `from` (an account, or `None` for a guest)?
pub(crate) fn accepts(s: &Server, to: &str, from: Option<&str>) -> bool {
    s.chat.accepts.get(to).is_some_and(|l| l.contains(ANYONE) || from.is_some_and(|f| l.contains(f)))
}

/// Is caller-ID (`+g`) on for `account`?
pub(crate) fn caller_id(s: &Server, account: Option<&str>) -> bool {
    s.services.is_some()
        && s.cfg.dm.policy != DmPolicy::Open
        && account.is_some_and(|a| !s.chat.accepts.get(a).is_some_and(|l| l.contains(ANYONE)))
}

/// Adds `other` to `account`'s accept list (journaled). Returns whether it was new.
pub(crate) fn accept_add(s: &mut Server, account: &str, other: &str) -> bool {
    let added = s.chat.accepts.entry(account.to_string()).or_default().insert(other.to_string());
    if added {
        s.store_op(StoreOp::Chat(Op::AcceptAdd { account: account.into(), other: other.into() }));
    }
    added
}

/// Takes `other` off `account`'s accept list (journaled). Returns whether it was there.
pub(crate) fn accept_remove(s: &mut Server, account: &str, other: &str) -> bool {
    let removed = s.chat.accepts.get_mut(account).is_some_and(|l| l.remove(other));
    if removed {
        s.store_op(StoreOp::Chat(Op::AcceptRemove { account: account.into(), other: other.into() }));
    }
    removed
}

/// Stores (journals) the current state of request `key`.
pub(crate) fn save_request(s: &mut Server, key: &(String, String)) {
    if let Some(r) = s.chat.requests.get(key).cloned() {
        s.store_op(StoreOp::Chat(Op::ChatRequest(r)));
    }
}

/// Forgets request `key` (journaled); returns it.
pub(crate) fn drop_request(s: &mut Server, key: &(String, String)) -> Option<ChatRequest> {
    let r = s.chat.requests.remove(key)?;
    s.store_op(StoreOp::Chat(Op::DropChatRequest { sender: key.0.clone(), recipient: key.1.clone() }));
    Some(r)
}

/// Drops pending requests past `[dm] request_expiry` and declines past the cooldown.
pub(crate) fn expire(s: &mut Server) {
    let now = Timestamp::now();
    let (expiry, cooldown) = (s.cfg.dm.request_expiry, s.cfg.dm.decline_cooldown);
    let old: Vec<(String, String)> = s
        .chat
        .requests
        .iter()
        .filter(|(_, r)| match r.declined {
            None => r.created < now.saturating_sub(expiry),
            Some(at) => at < now.saturating_sub(cooldown),
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in old {
        drop_request(s, &k);
    }
}

/// The nick in a stored `nick!user@host` and the `user@host`.
pub(crate) fn split_mask(mask: &str) -> (&str, &str) {
    mask.split_once('!').unwrap_or((mask, "*@*"))
}

/// A server NOTICE to session `sid`, with Hearth's structured tags when the session
/// has message-tags.
pub(crate) fn notice(s: &Server, sid: ConnId, text: &str, tags: &[(&str, &str)]) -> Message {
    let mut m = s.server_msg("NOTICE").with_param(s.nick_of(sid)).with_param(text);
    if s.clients.get(&sid).is_some_and(|c| c.caps.contains(Cap::MessageTags)) {
        m.tags.extend(tags.iter().map(|(k, v)| Tag::new(*k, *v)));
    }
    m
}

/// Sends `text` (with `tags`) as a NOTICE to every session of `user`.
pub(crate) fn notice_user(s: &mut Server, user: ConnId, text: &str, tags: &[(&str, &str)]) {
    for sid in s.session_ids(user) {
        let m = notice(s, sid, text, tags);
        s.send_message(sid, &m);
    }
}

/// The user logged in to `account` right now, if any (its main connection).
pub(crate) fn online(s: &Server, account: &str) -> Option<ConnId> {
    s.clients
        .values()
        .find(|c| {
            c.registered && c.attached_to.is_none() && c.account.as_deref().map(casefold).as_deref() == Some(account)
        })
        .map(|c| c.id)
}

/// The account `target` names when nobody uses that nick: a PRIVMSG to it is stored
/// for the account's next login instead of `401`.
pub(crate) fn offline_account(s: &Server, target: &str) -> Option<String> {
    let key = casefold(target);
    (s.services.is_some() && s.cfg.history && s.account_names.contains(&key) && online(s, &key).is_none())
        .then_some(key)
}

/// May this PRIVMSG / NOTICE / TAGMSG from `ctx` go to `peer` now? `verb` is the
/// command; `relay` and `time` are the message as it would be delivered.
pub(crate) fn admit(s: &mut Server, ctx: &mut Ctx, verb: &str, peer: Peer, relay: &Relay, tags: &[Tag]) -> Admit {
    if s.cfg.dm.policy == DmPolicy::Open || s.services.is_none() {
        return Admit::Now;
    }
    let to = match peer {
        Peer::Online(t) if t == ctx.id => return Admit::Now,
        Peer::Online(t) => account_key(s, t),
        Peer::Offline(a) => Some(a.to_string()),
    };
    // "Guests … can only be written to": no account, no accept list to consult.
    let Some(to) = to else { return Admit::Now };
    let from = account_key(s, ctx.id);
    if from.as_deref() == Some(to.as_str()) {
        return Admit::Now;
    }
    let shares_room = matches!(peer, Peer::Online(t) if s.peers(ctx.id).contains(&t));
    // "Admins can always write."
    let allowed = s.client(ctx.id).oper
        || accepts(s, &to, from.as_deref())
        || (s.cfg.dm.policy == DmPolicy::Rooms && shares_room);
    if allowed {
        if let Some(f) = &from {
            accept_add(s, f, &to);
            // Writing to someone who asked to chat with you answers their request:
            // "Messaging a user automatically accepts them" (as on caller-ID servers).
            let theirs = (to.clone(), f.clone());
            if s.chat.requests.get(&theirs).is_some_and(|r| r.declined.is_none())
                && let Some(r) = drop_request(s, &theirs)
            {
                let nick = display_of(s, peer, relay);
                crate::handlers::accept::accepted(s, ctx.id, &nick, r);
            }
        }
        return Admit::Now;
    }
    if verb != "PRIVMSG" {
        // NOTICE never gets an error reply, and typing notifications are no request.
        return Admit::No;
    }
    let nick = display_of(s, peer, relay);
    let Some(from) = from else {
        refuse(
            s,
            ctx,
            &nick,
            &format!(
                "{nick} only takes private messages from people they accepted, and only people with an account can ask; log in first"
            ),
        );
        return Admit::No;
    };
    hold(s, ctx, (from, to), peer, &nick, relay, tags)
}

/// The recipient's nick as the sender wrote it to (the relay's target).
fn display_of(s: &Server, peer: Peer, relay: &Relay) -> String {
    match peer {
        Peer::Online(t) => s.nick_of(t),
        Peer::Offline(_) => relay.message().params.first().cloned().unwrap_or_default(),
    }
}

/// `716` and a readable NOTICE: the message was not sent.
fn refuse(s: &mut Server, ctx: &mut Ctx, nick: &str, why: &str) {
    s.num(ctx, ERR_TARGUMODEG, [nick], "is in +g mode (server-side ignore).");
    let m = notice(s, ctx.session, &format!("Not sent: {why}"), &[(TAG_REQUEST, "refused"), (TAG_PEER, nick)]);
    ctx.reply(m);
}

/// Holds the message as (part of) the chat request `key` = (sender, recipient).
fn hold(
    s: &mut Server,
    ctx: &mut Ctx,
    key: (String, String),
    peer: Peer,
    nick: &str,
    relay: &Relay,
    tags: &[Tag],
) -> Admit {
    expire(s);
    let now = Timestamp::now();
    if let Some(at) = s.chat.requests.get(&key).and_then(|r| r.declined) {
        let again = at.0 + s.cfg.dm.decline_cooldown.as_millis() as i64;
        let when = crate::handlers::accept::day(Timestamp(again));
        refuse(s, ctx, nick, &format!("{nick} declined your chat request; you can ask again from {when}"));
        return Admit::No;
    }
    let max_held = s.cfg.dm.max_held.max(1);
    let held = held_message(s, ctx.id, &key, nick, relay, tags);
    if let Some(r) = s.chat.requests.get_mut(&key) {
        if r.held.len() >= max_held {
            let text = format!(
                "{nick} has not answered your chat request yet, and {max_held} messages are already waiting; wait for them to accept"
            );
            refuse(s, ctx, nick, &text);
            return Admit::No;
        }
        r.held.push(held);
        let n = r.held.len().to_string();
        save_request(s, &key);
        let text = format!("Held for {nick} until they accept your chat request ({n} of {max_held} messages)");
        let m = notice(s, ctx.session, &text, &[(TAG_REQUEST, "held"), (TAG_PEER, nick), (TAG_HELD, &n)]);
        ctx.reply(m);
        return Admit::Held;
    }
    let pending = s.chat.requests.values().filter(|r| r.sender == key.0 && r.declined.is_none()).count();
    if pending >= s.cfg.dm.max_pending_per_sender {
        let text = format!(
            "you already have {pending} chat requests waiting for an answer; wait until some are answered (ACCEPT * lists them)"
        );
        refuse(s, ctx, nick, &text);
        return Admit::No;
    }
    let request =
        ChatRequest { sender: key.0.clone(), recipient: key.1.clone(), created: now, declined: None, held: vec![held] };
    s.chat.requests.insert(key.clone(), request);
    save_request(s, &key);
    accept_add(s, &key.0, &key.1);
    // As ircd-hybrid and InspIRCd do for a user in +g mode …
    s.num(ctx, ERR_TARGUMODEG, [nick], "is in +g mode (server-side ignore).");
    s.num(ctx, RPL_TARGNOTIFY, [nick], "has been informed that you messaged them.");
    // … and in words.
    let waiting = match peer {
        Peer::Online(_) => "waiting for them to accept",
        Peer::Offline(_) => "they are offline and will see it when they log in",
    };
    let text = format!("Chat request sent to {nick}; {waiting}. Your message is held until then.");
    let m = notice(s, ctx.session, &text, &[(TAG_REQUEST, "sent"), (TAG_PEER, nick), (TAG_HELD, "1")]);
    ctx.reply(m);
    if let Peer::Online(t) = peer {
        let r = s.chat.requests[&key].clone();
        tell_recipient(s, t, &r);
    }
    Admit::Held
}

/// The held copy of a message: what history would store, not stored yet.
fn held_message(
    s: &Server,
    sender: ConnId,
    key: &(String, String),
    nick: &str,
    relay: &Relay,
    tags: &[Tag],
) -> StoredMessage {
    let c = s.client(sender);
    let m = relay.message();
    StoredMessage {
        msgid: relay.msgid().unwrap_or_default().to_string(),
        time: Timestamp::now(),
        target: dm_key(&key.0, &key.1),
        recipient: nick.to_string(),
        sender: c.mask.to_string(),
        sender_account: c.account.clone(),
        command: m.command.clone(),
        tags: crate::handlers::history::tags_to_string(tags),
        text: m.params.get(1).cloned().unwrap_or_default(),
    }
}

/// `718` and a NOTICE saying how to answer, to every session of `user`, about `r`.
pub(crate) fn tell_recipient(s: &mut Server, user: ConnId, r: &ChatRequest) {
    for sid in s.session_ids(user) {
        tell_recipient_session(s, sid, r);
    }
}

/// `718` and a NOTICE saying how to answer, to session `sid`, about `r`.
fn tell_recipient_session(s: &mut Server, sid: ConnId, r: &ChatRequest) {
    for m in request_lines(s, sid, r) {
        s.send_message(sid, &m);
    }
}

/// `718` and a NOTICE saying how to answer, for session `sid`, about `r`.
pub(crate) fn request_lines(s: &Server, sid: ConnId, r: &ChatRequest) -> [Message; 2] {
    let mask = r.held.first().map(|m| m.sender.clone()).unwrap_or_else(|| r.sender.clone());
    let (nick, userhost) = split_mask(&mask);
    let n = r.held.len().to_string();
    let text = format!(
        "{nick} wants to chat with you privately ({n} message(s) waiting). To accept: /accept {nick} \
         (or /quote ACCEPT {nick}). To decline: /quote ACCEPT -{nick}"
    );
    let me = s.nick_of(sid);
    let g = numeric(
        &s.cfg.server_name,
        RPL_UMODEGMSG,
        &me,
        [nick, userhost],
        &format!("is messaging you, and you have user mode +g set. Use /ACCEPT +{nick} to allow."),
    );
    let m = notice(s, sid, &text, &[(TAG_REQUEST, "received"), (TAG_PEER, nick), (TAG_HELD, &n)]);
    [g, m]
}

/// After a PRIVMSG to offline `account` was stored: counts it for the summary at the
/// next login, and tells the sender once.
pub(crate) fn note_offline(s: &mut Server, ctx: &mut Ctx, account: &str, nick: &str, now: SystemTime) {
    let (sender, sender_nick) = {
        let c = s.client(ctx.id);
        let key = match &c.account {
            Some(a) => casefold(a),
            None => format!("~{}", casefold(&c.nick)),
        };
        (key, c.nick.clone())
    };
    let list = s.chat.unread.entry(account.to_string()).or_default();
    let u = match list.iter_mut().find(|u| u.sender == sender) {
        Some(u) => {
            u.count += 1;
            u.sender_nick = sender_nick.to_string();
            u.clone()
        }
        None => {
            let u = Unread {
                account: account.into(),
                sender,
                sender_nick: sender_nick.to_string(),
                first: Timestamp::from(now),
                count: 1,
            };
            list.push(u.clone());
            u
        }
    };
    s.store_op(StoreOp::Chat(Op::Unread(u)));
    if s.chat.told_offline.insert((ctx.id, account.to_string())) {
        let text = format!("{nick} is offline; they will get your messages when they log in");
        let m = notice(s, ctx.session, &text, &[(TAG_REQUEST, "offline"), (TAG_PEER, nick)]);
        ctx.reply(m);
    }
}
