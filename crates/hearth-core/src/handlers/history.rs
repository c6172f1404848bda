//! History: recording messages, CHATHISTORY, replay on join, MARKREAD.
//!
//! Access rule, enforced here and nowhere else: a channel's history is readable by
//! its current members (and operators); a conversation's only by its two
//! participants, identified by their accounts. In a room with history visibility
//! `joined` (`+H`), a member reads only what was said since their membership began
//! ([`crate::visibility::visible_from`]), through every path here.

use std::collections::HashMap;
use std::time::SystemTime;

use hearth_proto::{Cap, Message, Tag, casefold, escape_tag_value, unescape_tag_value};
use hearth_store::{Bound, StoreError, StoredMessage, Timestamp, dm_key, dm_peer};

use crate::client::ConnId;
use crate::error::IrcError;
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::rooms::to_time;
use crate::server::{Completion, Ctx, Server, server_time};

/// Who a DM participant is in the store: the account if logged in, else `~nick`.
/// The `~` (never in an account name, which must be a valid nickname) keeps a
/// guest's conversations away from an account that later takes the same name.
pub(crate) fn identity(s: &Server, id: ConnId) -> String {
    let c = s.client(id);
    match &c.account {
        Some(account) => casefold(account),
        None => format!("~{}", casefold(&c.nick)),
    }
}

/// Client-only tags as stored: `key=value;key2` (escaped as on the wire).
pub(crate) fn tags_to_string(tags: &[Tag]) -> String {
    let mut out = String::new();
    for t in tags {
        if !out.is_empty() {
            out.push(';');
        }
        out.push_str(&t.key);
        if !t.value.is_empty() {
            out.push('=');
            escape_tag_value(&t.value, &mut out);
        }
    }
    out
}

fn tags_from_string(s: &str) -> Vec<Tag> {
    s.split(';')
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('=') {
            Some((k, v)) => Tag::new(k, unescape_tag_value(v)),
            None => Tag::new(t, ""),
        })
        .collect()
}

/// Is this message worth keeping? TAGMSG only when it carries more than typing.
pub(crate) fn worth_storing(command: &str, tags: &[Tag]) -> bool {
    command != "TAGMSG" || tags.iter().any(|t| t.key != "+typing" && t.key != "+draft/typing")
}

/// Queues a relayed message for the store; its delivery waits for the commit.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    s: &mut Server,
    sender: ConnId,
    target_key: String,
    recipient: &str,
    relay: &Relay,
    time: SystemTime,
    tags: &[Tag],
) {
    if s.services.is_none() || !s.cfg.history {
        return;
    }
    let m = relay.message();
    if !worth_storing(&m.command, tags) {
        return;
    }
    let c = s.client(sender);
    let text = if m.command == "TAGMSG" { String::new() } else { m.params.get(1).cloned().unwrap_or_default() };
    let stored = StoredMessage {
        msgid: relay.msgid().unwrap_or_default().to_string(),
        time: Timestamp::from(time),
        target: target_key,
        recipient: recipient.to_string(),
        sender: c.mask.to_string(),
        sender_account: c.account.clone(),
        command: m.command.clone(),
        tags: tags_to_string(tags),
        text,
    };
    store_message(s, stored);
}

/// Queues a message (PRIVMSG, NOTICE, TAGMSG) for the store and a channel's replay tail.
pub(crate) fn store_message(s: &mut Server, stored: StoredMessage) {
    if !stored.target.contains(hearth_store::DM_SEPARATOR) {
        let key = stored.target.clone();
        remember(s, &key, &stored);
    }
    s.store_op(StoreOp::Message(stored));
}

/// The commands that are events (draft/event-playback) rather than messages.
pub(crate) const EVENTS: &[&str] = &["JOIN", "PART", "QUIT", "KICK", "NICK", "TOPIC"];

/// Records a channel event (draft/event-playback) — JOIN, PART, QUIT, KICK, NICK,
/// TOPIC — in channel `chan_key`'s history, from `mask` (`account`). `text` is as
/// [`StoredMessage::text`] documents for events. Events stay out of the replay tail:
/// they are replayed only through CHATHISTORY, to clients that asked for them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_event(
    s: &mut Server,
    chan_key: &str,
    mask: &str,
    account: Option<String>,
    command: &str,
    text: String,
) {
    if s.services.is_none() || !s.cfg.history {
        return;
    }
    let Some(display) = s.channels.get(chan_key).map(|ch| ch.name.clone()) else { return };
    let stored = StoredMessage {
        msgid: s.next_msgid(),
        time: Timestamp::now(),
        target: chan_key.to_string(),
        recipient: display,
        sender: mask.to_string(),
        sender_account: account,
        command: command.to_string(),
        tags: String::new(),
        text,
    };
    s.store_op(StoreOp::Message(stored));
}

/// The conversation key of a DM between `sender` and the client `other`.
pub(crate) fn dm_target(s: &Server, sender: ConnId, other: ConnId) -> String {
    dm_key(&identity(s, sender), &identity(s, other))
}

/// A stored line as `caps` should see it; `prefix_time` puts the time into the text for
/// clients without server-time (replay on join). A multiline message (draft/multiline)
/// becomes a nested `draft/multiline` batch for clients with draft/multiline and batch,
/// and its non-blank lines (msgid on the first) for the others.
pub(crate) fn replay_lines(m: &StoredMessage, caps: hearth_proto::CapSet, prefix_time: bool) -> Vec<Message> {
    let source = m.sender.as_str();
    let mut client_tags = tags_from_string(&m.tags);
    client_tags.retain(|t| t.key != hearth_store::MULTILINE_TAG);
    let relay = |msg: Message, msgid: Option<&str>, tags: Vec<Tag>| {
        let mut r =
            Relay::new(msg, server_time(to_time(m.time))).with_account(m.sender_account.clone()).with_client_tags(tags);
        if let Some(id) = msgid {
            r = r.with_msgid(id.to_string());
        }
        r.message_for(caps)
    };
    if let Some(lines) = m.lines() {
        if caps.contains(Cap::Multiline) && caps.contains(Cap::Batch) {
            // The batch reference only has to be unique on this connection.
            let id = format!("ml{}", m.msgid);
            let open = Message::new("BATCH")
                .with_source(source)
                .with_param(format!("+{id}"))
                .with_param("draft/multiline")
                .with_param(m.recipient.as_str());
            let mut out = vec![relay(open, Some(&m.msgid), client_tags)];
            for (line, concat) in lines {
                let mut l = Message::new(m.command.as_str())
                    .with_source(source)
                    .with_param(m.recipient.as_str())
                    .with_param(line);
                l.tags.push(Tag::new("batch", id.as_str()));
                if concat {
                    l.tags.push(Tag::new("draft/multiline-concat", ""));
                }
                out.push(l);
            }
            out.push(Message::new("BATCH").with_source(source).with_param(format!("-{id}")));
            return out;
        }
        let mut out = Vec::new();
        for (line, _) in lines.into_iter().filter(|(l, _)| !l.is_empty()) {
            let first = out.is_empty();
            let text = timed_text(m, line, caps, prefix_time);
            let msg =
                Message::new(m.command.as_str()).with_source(source).with_param(m.recipient.as_str()).with_param(text);
            let tags = if first { client_tags.clone() } else { Vec::new() };
            out.push(relay(msg, first.then_some(m.msgid.as_str()), tags));
        }
        return out;
    }
    let mut msg = Message::new(m.command.as_str()).with_source(source);
    match m.command.as_str() {
        "TAGMSG" => msg = msg.with_param(m.recipient.as_str()),
        "PRIVMSG" | "NOTICE" => {
            msg = msg.with_param(m.recipient.as_str()).with_param(timed_text(m, &m.text, caps, prefix_time))
        }
        "JOIN" if caps.contains(Cap::ExtendedJoin) => {
            let account = m.sender_account.as_deref().unwrap_or("*");
            msg = msg.with_param(m.recipient.as_str()).with_param(account).with_param(m.text.as_str());
        }
        "JOIN" => msg = msg.with_param(m.recipient.as_str()),
        "PART" => {
            msg = msg.with_param(m.recipient.as_str());
            if !m.text.is_empty() {
                msg = msg.with_param(m.text.as_str());
            }
        }
        "KICK" => {
            let (kicked, reason) = m.text.split_once(' ').unwrap_or((m.text.as_str(), ""));
            msg = msg.with_param(m.recipient.as_str()).with_param(kicked).with_param(reason);
        }
        "QUIT" | "NICK" => msg = msg.with_param(m.text.as_str()),
        _ => msg = msg.with_param(m.recipient.as_str()).with_param(m.text.as_str()),
    }
    vec![relay(msg, Some(&m.msgid), client_tags)]
}

/// `text` with its time in front for clients that cannot show server-time.
fn timed_text(m: &StoredMessage, text: &str, caps: hearth_proto::CapSet, prefix_time: bool) -> String {
    if !prefix_time || caps.contains(Cap::ServerTime) {
        return text.to_string();
    }
    // A client that cannot show server-time still learns when it was said.
    let when = humantime::format_rfc3339_seconds(to_time(m.time)).to_string().replace('T', " ");
    let when = when.trim_end_matches('Z');
    match text.strip_prefix("\u{1}ACTION ") {
        Some(rest) => format!("\u{1}ACTION [{when}] {rest}"),
        None => format!("[{when}] {text}"),
    }
}

/// TAGMSG only ever goes to clients with message-tags, replayed or live; events
/// (JOIN, PART, …) only to clients with draft/event-playback. The chathistory spec:
/// "The `draft/event-playback` capability MAY be negotiated. This allows the client to
/// signal that it is capable of receiving and correctly processing lines that would
/// normally produce a local state change (such as `JOIN` or `MODE`) in its history
/// batches."
fn visible_to(m: &StoredMessage, caps: hearth_proto::CapSet) -> bool {
    match m.command.as_str() {
        "PRIVMSG" | "NOTICE" => true,
        "TAGMSG" => caps.contains(Cap::MessageTags),
        _ => caps.contains(Cap::EventPlayback),
    }
}

/// Wraps `lines` in a batch when the client supports it.
pub(crate) fn batched(
    s: &mut Server,
    id: ConnId,
    kind: &str,
    target: Option<&str>,
    lines: Vec<Message>,
) -> Vec<Message> {
    if !s.client(id).caps.contains(Cap::Batch) {
        return lines;
    }
    s.batch(kind, target, lines)
}

/// Read markers of an account fetched for a JOIN, by casefolded channel name.
pub(crate) type Markers = HashMap<String, Option<Timestamp>>;

/// Does a JOIN by `id` have to wait for read markers from the store? (draft/read-marker
/// wants them "before the RPL_ENDOFNAMES reply for that channel following the JOIN".)
pub(crate) fn join_needs_markers(s: &Server, id: ConnId) -> bool {
    let c = s.client(id);
    s.services.is_some() && c.caps.contains(Cap::ReadMarker) && c.account.is_some()
}

/// Fetches the read markers of `keys`, then runs `join` with them, its replies
/// labelled with `label`. Nothing changes before: the JOIN happens as a whole once
/// the markers are in, so every member sees it in the same order as the joiner.
pub(crate) fn join_with_markers(
    s: &mut Server,
    id: ConnId,
    session: ConnId,
    label: Option<String>,
    keys: Vec<String>,
    join: impl FnOnce(&mut Server, &mut Ctx, &Markers) + Send + 'static,
) {
    let Some(svc) = s.services.clone() else { return };
    let Some(account) = s.client(id).account.clone() else { return };
    s.spawn(async move {
        let mut markers = Markers::new();
        for key in keys {
            let marker = bounded(svc.store.read_marker(&account, &key)).await.unwrap_or_else(|e| {
                tracing::warn!("read marker of {key} unavailable: {e}");
                None
            });
            markers.insert(key, marker);
        }
        let done: Completion = Box::new(move |s: &mut Server| {
            if !s.clients.contains_key(&id) || !s.clients.contains_key(&session) {
                return;
            }
            let mut ctx = Ctx::for_session(id, session, "JOIN", label);
            join(s, &mut ctx, &markers);
            s.flush(ctx);
        });
        done
    });
}

/// The read marker of a channel just joined, for a client with draft/read-marker:
/// from `markers` for an account, from the connection for a guest, `*` for none.
pub(crate) fn join_marker(s: &Server, ctx: &mut Ctx, key: &str, display: &str, markers: &Markers) {
    let c = s.client(ctx.session);
    if s.services.is_none() || !c.caps.contains(Cap::ReadMarker) {
        return;
    }
    let marker = match &c.account {
        Some(_) => markers.get(key).copied().flatten(),
        None => c.guest_markers.as_ref().and_then(|m| m.get(key).copied()),
    };
    ctx.reply(marker_message(s, display, marker));
}

/// After a JOIN: for clients without draft/chathistory, the last messages of the room.
pub(crate) fn after_join(s: &mut Server, ctx: &mut Ctx, key: &str, display: &str) {
    if s.services.is_none() {
        return;
    }
    // The session that joined (or is shown the join): its caps shape the replay.
    let id = ctx.session;
    // Replay comes from the room's in-memory tail, not a query: it holds exactly what
    // was said before this JOIN (anything later reaches the joiner live), and output
    // still waiting for its commit keeps these lines queued behind it.
    let c = s.client(id);
    if !s.cfg.history || s.cfg.replay_on_join == 0 || c.caps.contains(Cap::ChatHistory) {
        return;
    }
    let caps = c.caps;
    let since = crate::visibility::visible_from(s, ctx.id, key).unwrap_or(Timestamp::MIN);
    let Some(ch) = s.channels.get(key) else { return };
    let lines: Vec<Message> = ch
        .recent
        .iter()
        .filter(|m| m.time >= since && visible_to(m, caps))
        .flat_map(|m| replay_lines(m, caps, true))
        .collect();
    if lines.is_empty() {
        return;
    }
    let lines = batched(s, id, "chathistory", Some(display), lines);
    ctx.replies.extend(lines);
}

/// Remembers a channel message in the room's replay tail.
pub(crate) fn remember(s: &mut Server, key: &str, m: &StoredMessage) {
    let keep = s.cfg.replay_on_join;
    if keep == 0 {
        return;
    }
    if let Some(ch) = s.channels.get_mut(key) {
        ch.recent.push_back(m.clone());
        while ch.recent.len() > keep {
            ch.recent.pop_front();
        }
    }
}

/// `MARKREAD <target> timestamp=…`, or `MARKREAD <target> *` when there is no marker.
fn marker_message(s: &Server, target: &str, marker: Option<Timestamp>) -> Message {
    let value = marker.map(|t| format!("timestamp={}", server_time(to_time(t)))).unwrap_or_else(|| "*".into());
    s.server_msg("MARKREAD").with_param(target).with_param(value)
}

/// The read marker of a channel for a session attached to a user already in it: fetched
/// from the store and sent when it comes (after the names: the JOIN it is shown was
/// the user's, long ago).
pub(crate) fn marker_later(s: &mut Server, session: ConnId, key: &str, display: &str) {
    let Some(svc) = s.services.clone() else { return };
    let c = s.client(session);
    if !c.caps.contains(Cap::ReadMarker) {
        return;
    }
    let Some(account) = c.account.clone() else { return };
    let (key, display) = (key.to_string(), display.to_string());
    s.spawn(async move {
        let marker = bounded(svc.store.read_marker(&account, &key)).await.ok().flatten();
        let done: Completion = Box::new(move |s: &mut Server| send_marker(s, session, &display, marker));
        done
    });
}

fn send_marker(s: &mut Server, id: ConnId, target: &str, marker: Option<Timestamp>) {
    if !s.clients.contains_key(&id) {
        return;
    }
    let m = marker_message(s, target, marker);
    s.send_message(id, &m);
}

/// The store key of a CHATHISTORY/MARKREAD target, if `id` may read it.
pub(crate) fn readable_target(s: &Server, id: ConnId, target: &str) -> Result<String, IrcError> {
    let invalid = || IrcError::Fail("INVALID_TARGET", vec![target.to_string()], "You cannot read that history".into());
    let c = s.client(id);
    if target.starts_with('#') || target.starts_with('&') {
        let key = casefold(target);
        let member = s.channels.get(&key).is_some_and(|ch| ch.members.contains_key(&id));
        return if member || c.oper { Ok(key) } else { Err(invalid()) };
    }
    // Private conversations are keyed by accounts: without one there is no history.
    let Some(me) = c.account.as_deref().map(casefold) else { return Err(invalid()) };
    let other = match s.find_nick(target) {
        Some(oid) => identity(s, oid),
        None => casefold(target),
    };
    Ok(dm_key(&me, &other))
}

fn parse_bound(raw: &str) -> Option<Bound> {
    if let Some(id) = raw.strip_prefix("msgid=") {
        return (!id.is_empty()).then(|| Bound::MsgId(id.to_string()));
    }
    let ts = raw.strip_prefix("timestamp=")?;
    let t = humantime::parse_rfc3339_weak(ts).ok()?;
    Some(Bound::Time(Timestamp::from(t)))
}

/// CHATHISTORY LATEST|BEFORE|AFTER|AROUND <target> <ref> <limit> |
/// CHATHISTORY BETWEEN <target> <ref> <ref> <limit> | CHATHISTORY TARGETS <ts> <ts> <limit>
pub fn chathistory(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(svc) = s.services.clone().filter(|_| s.cfg.history) else {
        return Err(IrcError::UnknownCommand);
    };
    let p = &msg.params;
    let sub = p[0].to_ascii_uppercase();
    let needed = match sub.as_str() {
        "LATEST" | "BEFORE" | "AFTER" | "AROUND" | "TARGETS" => 4,
        "BETWEEN" => 5,
        _ => return Err(IrcError::Fail("INVALID_PARAMS", vec![p[0].clone()], "Unknown CHATHISTORY subcommand".into())),
    };
    if p.len() < needed {
        return Err(IrcError::Fail("NEED_MORE_PARAMS", vec![sub], "Missing parameters".into()));
    }
    let limit = match p[needed - 1].parse::<usize>() {
        Ok(n) if n > 0 => n.min(s.cfg.chathistory_max),
        _ => return Err(IrcError::Fail("INVALID_PARAMS", vec![sub, p[needed - 1].clone()], "Invalid limit".into())),
    };
    let bad_ref = |r: &str| {
        IrcError::Fail("INVALID_PARAMS", vec![sub.clone(), r.to_string()], "Invalid message reference".into())
    };
    let id = ctx.id;
    // The answer goes to the session that asked, shaped by its caps.
    let session = ctx.session;
    if sub == "TARGETS" {
        let (Some(Bound::Time(a)), Some(Bound::Time(b))) = (parse_bound(&p[1]), parse_bound(&p[2])) else {
            return Err(bad_ref(&p[1]));
        };
        // The reply comes later; errors above still go out labelled with `ctx`.
        let label = ctx.label.take();
        let (from, to) = if a <= b { (a, b) } else { (b, a) };
        let me = s.client(id).account.as_deref().map(casefold).unwrap_or_default();
        let channels: Vec<String> = s.client(id).channels.iter().map(ToString::to_string).collect();
        // Rooms whose past is partly hidden (+H): a room is listed only when its latest
        // message in the window is visible (then a visible one is in the window).
        let hidden: HashMap<String, Timestamp> = channels
            .iter()
            .filter_map(|k| crate::visibility::visible_from(s, id, k).map(|t| (k.to_string(), t)))
            .collect();
        s.spawn(async move {
            let rows = match caught_up(&svc).await {
                Ok(()) => bounded(svc.store.targets(&me, &channels, from, to, limit + hidden.len())).await,
                Err(e) => Err(e),
            };
            let rows = rows.map(|mut rows| {
                rows.retain(|t| hidden.get(&t.target).is_none_or(|since| t.latest >= *since));
                rows.truncate(limit);
                rows
            });
            let done: Completion = Box::new(move |s: &mut Server| {
                let lines = match rows {
                    Ok(rows) => rows
                        .into_iter()
                        .map(|t| {
                            let shown = match dm_peer(&t.target, &me) {
                                Some(peer) => peer.to_string(),
                                None => s.channels.get(&t.target).map(|c| c.name.clone()).unwrap_or(t.target.clone()),
                            };
                            s.server_msg("CHATHISTORY")
                                .with_param("TARGETS")
                                .with_param(shown)
                                // "CHATHISTORY TARGETS <nickname | channel name> <YYYY-MM-DDThh:mm:ss.sssZ>"
                                .with_param(server_time(to_time(t.latest)))
                        })
                        .collect(),
                    Err(e) => {
                        tracing::warn!("CHATHISTORY TARGETS failed: {e}");
                        if !s.clients.contains_key(&session) {
                            return;
                        }
                        let mut ctx = Ctx::new(session, "CHATHISTORY", label);
                        let e = IrcError::Fail(
                            "MESSAGE_ERROR",
                            vec!["TARGETS".into()],
                            "History is unavailable right now, please try again in a minute".into(),
                        );
                        let nick = s.nick_of(id);
                        ctx.reply(e.to_message(&s.cfg.server_name, &nick, "CHATHISTORY"));
                        s.flush(ctx);
                        return;
                    }
                };
                if !s.clients.contains_key(&session) {
                    return;
                }
                let mut ctx = Ctx::new(session, "CHATHISTORY", label);
                ctx.replies = batched(s, session, "draft/chathistory-targets", None, lines);
                s.flush(ctx);
            });
            done
        });
        return Ok(());
    }
    let target = p[1].clone();
    let key = readable_target(s, id, &target).map_err(|_| {
        IrcError::Fail("INVALID_TARGET", vec![sub.clone(), target.clone()], "Messages could not be retrieved".into())
    })?;
    let first =
        if sub == "LATEST" && p[2] == "*" { None } else { Some(parse_bound(&p[2]).ok_or_else(|| bad_ref(&p[2]))?) };
    let second = if sub == "BETWEEN" { Some(parse_bound(&p[3]).ok_or_else(|| bad_ref(&p[3]))?) } else { None };
    let since = crate::visibility::visible_from(s, id, &key);
    let label = ctx.label.take();
    let events = s.client(id).caps.contains(Cap::EventPlayback);
    // Pages that run into the past (BEFORE, LATEST *) or the future (AFTER) are topped
    // up past the events a client without draft/event-playback does not get.
    let direction = match (sub.as_str(), &first) {
        ("BEFORE", _) | ("LATEST", None) if !events => Some(true),
        ("AFTER", _) if !events => Some(false),
        _ => None,
    };
    s.spawn(async move {
        let store = &svc.store;
        // In a `joined` room (+H) pages that run forward start where the member may
        // read; what is hidden is dropped from every page afterwards.
        let bounds = match caught_up(&svc).await {
            Ok(()) => bounded(crate::visibility::clamp_bounds(&**store, &key, &sub, first, second, since)).await,
            Err(e) => Err(e),
        };
        let rows = match bounds {
            Err(e) => Err(e),
            Ok((first, second)) => match (sub.as_str(), &first, &second) {
                ("LATEST", f, _) => bounded(store.latest(&key, f.as_ref(), limit)).await,
                ("BEFORE", Some(f), _) => bounded(store.before(&key, f, limit)).await,
                ("AFTER", Some(f), _) => bounded(store.after(&key, f, limit)).await,
                ("AROUND", Some(f), _) => bounded(store.around(&key, f, limit)).await,
                ("BETWEEN", Some(f), Some(g)) => bounded(store.between(&key, f, g, limit)).await,
                _ => Ok(Vec::new()),
            },
        };
        let rows = match (rows, direction) {
            (Ok(rows), Some(backward)) => top_up(&**store, &key, rows, limit, backward).await,
            (rows, _) => rows,
        };
        let rows = rows.map(|mut rows| {
            crate::visibility::retain_visible(&mut rows, since);
            rows
        });
        let done: Completion = Box::new(move |s: &mut Server| {
            if !s.clients.contains_key(&session) {
                return;
            }
            let mut ctx = Ctx::new(session, "CHATHISTORY", label);
            match rows {
                Ok(rows) => {
                    // Inside a chathistory batch time and msgid always travel.
                    let own = s.client(session).caps;
                    let mut caps = own;
                    caps.insert(Cap::ServerTime);
                    caps.insert(Cap::MessageTags);
                    let lines: Vec<Message> =
                        rows.iter().filter(|m| visible_to(m, own)).flat_map(|m| replay_lines(m, caps, false)).collect();
                    ctx.replies = batched(s, session, "chathistory", Some(&target), lines);
                }
                Err(StoreError::UnknownMsgid(m)) => {
                    let e = IrcError::Fail("INVALID_MSGREFID", vec![sub, m], "Unknown message id".into());
                    let nick = s.nick_of(id);
                    ctx.reply(e.to_message(&s.cfg.server_name, &nick, "CHATHISTORY"));
                }
                Err(e) => {
                    tracing::warn!("CHATHISTORY failed: {e}");
                    let e =
                        IrcError::Fail("MESSAGE_ERROR", vec![sub, target], "History is unavailable right now".into());
                    let nick = s.nick_of(id);
                    ctx.reply(e.to_message(&s.cfg.server_name, &nick, "CHATHISTORY"));
                }
            }
            s.flush(ctx);
        });
        done
    });
    Ok(())
}

/// Drops events from a page of `limit` rows and, while it came back full, fetches
/// further back (`backward`) or further on, so that the page still holds up to `limit`
/// messages: paging with BEFORE/AFTER then never sees short pages before the end.
async fn top_up(
    store: &dyn hearth_store::Store,
    key: &str,
    mut rows: Vec<StoredMessage>,
    limit: usize,
    backward: bool,
) -> Result<Vec<StoredMessage>, StoreError> {
    let is_message = |m: &StoredMessage| !EVENTS.contains(&m.command.as_str());
    let mut full = rows.len() == limit;
    let mut edge = if backward { rows.first() } else { rows.last() }.map(|m| m.msgid.clone());
    rows.retain(is_message);
    while full && rows.len() < limit {
        let Some(at) = edge.take() else { break };
        let want = limit - rows.len();
        let bound = Bound::MsgId(at);
        let mut page = if backward {
            bounded(store.before(key, &bound, want)).await?
        } else {
            bounded(store.after(key, &bound, want)).await?
        };
        full = page.len() == want;
        edge = if backward { page.first() } else { page.last() }.map(|m| m.msgid.clone());
        page.retain(is_message);
        if backward {
            page.append(&mut rows);
            rows = page;
        } else {
            rows.append(&mut page);
        }
    }
    Ok(rows)
}

/// How long a history query waits for the database to catch up with the journal
/// before it answers `FAIL CHATHISTORY MESSAGE_ERROR` instead of stale rows.
pub const STORED_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Everything delivered so far must be queryable: waits (boundedly) for the journal's
/// background inserts to reach the database.
pub(crate) async fn caught_up(svc: &crate::server::Services) -> Result<(), StoreError> {
    if svc.outbound.wait_stored(STORED_WAIT).await {
        Ok(())
    } else {
        Err(StoreError::Unavailable(format!(
            "the database is more than {}s behind the history journal",
            STORED_WAIT.as_secs()
        )))
    }
}

/// The longest a history query may take: a database connection that went silent
/// (a host that vanished, not one that refuses) must not leave the client waiting.
pub const QUERY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// `query`, or `Unavailable` after [`QUERY_WAIT`].
pub(crate) async fn bounded<T>(query: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(QUERY_WAIT, query).await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!("the database did not answer within {}s", QUERY_WAIT.as_secs())))
    })
}

/// MARKREAD <target> [timestamp=<time>]
pub fn markread(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(svc) = s.services.clone() else { return Err(IrcError::UnknownCommand) };
    // "If the server receives a MARKREAD command with missing parameters, the
    // NEED_MORE_PARAMS error code MUST be returned."
    let Some(target) = msg.params.first().filter(|t| !t.is_empty()).cloned() else {
        return Err(IrcError::Fail("NEED_MORE_PARAMS", vec![], "Missing parameters".into()));
    };
    let set = match msg.params.get(1) {
        None => None,
        Some(raw) => match parse_bound(raw) {
            Some(Bound::Time(t)) => Some(t),
            _ => {
                return Err(IrcError::Fail("INVALID_PARAMS", vec![target, raw.clone()], "Expected timestamp=…".into()));
            }
        },
    };
    let Some(account) = s.client(ctx.id).account.clone() else {
        return guest_markread(s, ctx, &target, set);
    };
    let key = readable_target(s, ctx.id, &target)?;
    // The asking session (its account's other sessions learn of a moved marker too).
    let id = ctx.session;
    s.spawn(async move {
        let marker = match set {
            Some(t) => svc.store.set_read_marker(&account, &key, t).await.map(Some),
            None => svc.store.read_marker(&account, &key).await,
        };
        let done: Completion = Box::new(move |s: &mut Server| {
            let marker = marker.unwrap_or_else(|e| {
                tracing::error!("MARKREAD failed: {e}");
                None
            });
            if set.is_some() && marker == set {
                // The marker moved: every session of the account learns it. (An
                // earlier time left it in place; only the asker hears that.)
                let folded = casefold(&account);
                let sessions: Vec<ConnId> = s
                    .clients
                    .values()
                    .filter(|c| c.account.as_deref().map(casefold).as_deref() == Some(&folded))
                    .filter(|c| c.caps.contains(Cap::ReadMarker) || c.id == id)
                    .map(|c| c.id)
                    .collect();
                for sid in sessions {
                    send_marker(s, sid, &target, marker);
                }
            } else {
                send_marker(s, id, &target, marker);
            }
        });
        done
    });
    Ok(())
}

/// MARKREAD for a client without an account: the marker lives in the connection
/// (the spec does not tie read markers to accounts, and the capability is offered
/// before anyone could log in).
fn guest_markread(s: &mut Server, ctx: &mut Ctx, target: &str, set: Option<Timestamp>) -> Result<(), IrcError> {
    if target.starts_with(['#', '&']) {
        readable_target(s, ctx.id, target)?;
    }
    let key = casefold(target);
    let markers = s.client_mut(ctx.id).guest_markers.get_or_insert_default();
    if let Some(t) = set {
        // Only ever forward: an older time leaves the stored one, which is the reply.
        let stored = markers.entry(key.clone()).or_insert(t);
        *stored = (*stored).max(t);
    }
    let marker = markers.get(&key).copied();
    ctx.reply(marker_message(s, target, marker));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_storage_form() {
        let tags = vec![Tag::new("+draft/react", "a b;c"), Tag::new("+flag", "")];
        let s = tags_to_string(&tags);
        assert_eq!(tags_from_string(&s), tags);
    }

    #[test]
    fn typing_notifications_are_not_stored() {
        assert!(!worth_storing("TAGMSG", &[Tag::new("+typing", "active")]));
        assert!(worth_storing("TAGMSG", &[Tag::new("+draft/react", "x")]));
        assert!(worth_storing("PRIVMSG", &[]));
    }

    #[test]
    fn bounds_parse() {
        assert_eq!(parse_bound("msgid=abc"), Some(Bound::MsgId("abc".into())));
        assert!(matches!(parse_bound("timestamp=2026-01-02T03:04:05.678Z"), Some(Bound::Time(_))));
        assert_eq!(parse_bound("timestamp=yesterday"), None);
        assert_eq!(parse_bound("*"), None);
    }
}
