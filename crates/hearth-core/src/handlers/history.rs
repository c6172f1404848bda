//! History: recording messages, CHATHISTORY, replay on join, MARKREAD.
//!
//! Access rule, enforced here and nowhere else: a channel's history is readable by
//! its current members (and operators); a conversation's only by its two
//! participants, identified by their accounts.

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
fn identity(s: &Server, id: ConnId) -> String {
    let c = s.client(id);
    match &c.account {
        Some(account) => casefold(account),
        None => format!("~{}", casefold(&c.nick)),
    }
}

/// Client-only tags as stored: `key=value;key2` (escaped as on the wire).
fn tags_to_string(tags: &[Tag]) -> String {
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
        sender: c.mask.clone(),
        sender_account: c.account.clone(),
        command: m.command.clone(),
        tags: tags_to_string(tags),
        text,
    };
    if !stored.target.contains(hearth_store::DM_SEPARATOR) {
        let key = stored.target.clone();
        remember(s, &key, &stored);
    }
    s.store_op(StoreOp::Message(stored));
}

/// The conversation key of a DM between `sender` and the client `other`.
pub(crate) fn dm_target(s: &Server, sender: ConnId, other: ConnId) -> String {
    dm_key(&identity(s, sender), &identity(s, other))
}

/// A stored message as `caps` should see it; `force_time` for chathistory batches.
fn replay_message(m: &StoredMessage, caps: hearth_proto::CapSet, prefix_time: bool) -> Message {
    let mut msg = Message::new(m.command.as_str()).with_source(m.sender.as_str()).with_param(m.recipient.as_str());
    if m.command != "TAGMSG" {
        let text = if prefix_time && !caps.contains(Cap::ServerTime) {
            // A client that cannot show server-time still learns when it was said.
            let when = humantime::format_rfc3339_seconds(to_time(m.time)).to_string().replace('T', " ");
            let when = when.trim_end_matches('Z');
            match m.text.strip_prefix("\u{1}ACTION ") {
                Some(rest) => format!("\u{1}ACTION [{when}] {rest}"),
                None => format!("[{when}] {}", m.text),
            }
        } else {
            m.text.clone()
        };
        msg = msg.with_param(text);
    }
    let relay = Relay::new(msg, server_time(to_time(m.time)))
        .with_msgid(m.msgid.clone())
        .with_account(m.sender_account.clone())
        .with_client_tags(tags_from_string(&m.tags));
    relay.message_for(caps)
}

/// TAGMSG only ever goes to clients with message-tags, replayed or live.
fn visible_to(m: &StoredMessage, caps: hearth_proto::CapSet) -> bool {
    m.command != "TAGMSG" || caps.contains(Cap::MessageTags)
}

/// Wraps `lines` in a batch when the client supports it.
fn batched(s: &mut Server, id: ConnId, kind: &str, target: Option<&str>, lines: Vec<Message>) -> Vec<Message> {
    if !s.client(id).caps.contains(Cap::Batch) {
        return lines;
    }
    s.batch(kind, target, lines)
}

/// After a JOIN: the read marker (draft/read-marker) and, for clients without
/// draft/chathistory, the last messages of the room.
pub(crate) fn after_join(s: &mut Server, ctx: &mut Ctx, key: &str, display: &str) {
    let Some(svc) = s.services.clone() else { return };
    // The session that joined (or is shown the join): its caps shape the replay.
    let c = s.client(ctx.session);
    let id = ctx.session;
    if c.caps.contains(Cap::ReadMarker)
        && let Some(acct) = c.account.clone()
    {
        let (store, key, display) = (svc.store.clone(), key.to_string(), display.to_string());
        s.spawn(async move {
            let marker = store.read_marker(&acct, &key).await.ok().flatten();
            let done: Completion = Box::new(move |s: &mut Server| send_marker(s, id, &display, marker));
            done
        });
    }
    // Replay comes from the room's in-memory tail, not a query: it holds exactly what
    // was said before this JOIN (anything later reaches the joiner live), and output
    // still waiting for its commit keeps these lines queued behind it.
    let c = s.client(id);
    if !s.cfg.history || s.cfg.replay_on_join == 0 || c.caps.contains(Cap::ChatHistory) {
        return;
    }
    let caps = c.caps;
    let Some(ch) = s.channels.get(key) else { return };
    let lines: Vec<Message> =
        ch.recent.iter().filter(|m| visible_to(m, caps)).map(|m| replay_message(m, caps, true)).collect();
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

fn send_marker(s: &mut Server, id: ConnId, target: &str, marker: Option<Timestamp>) {
    if !s.clients.contains_key(&id) {
        return;
    }
    let value = marker.map(|t| format!("timestamp={}", server_time(to_time(t)))).unwrap_or_else(|| "*".into());
    let m = s.server_msg("MARKREAD").with_param(target).with_param(value);
    s.send_message(id, &m);
}

/// The store key of a CHATHISTORY/MARKREAD target, if `id` may read it.
fn readable_target(s: &Server, id: ConnId, target: &str) -> Result<String, IrcError> {
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
    let label = ctx.label.take();
    if sub == "TARGETS" {
        let (Some(Bound::Time(a)), Some(Bound::Time(b))) = (parse_bound(&p[1]), parse_bound(&p[2])) else {
            return Err(bad_ref(&p[1]));
        };
        let (from, to) = if a <= b { (a, b) } else { (b, a) };
        let me = s.client(id).account.as_deref().map(casefold).unwrap_or_default();
        let channels = s.client(id).channels.clone();
        s.spawn(async move {
            let rows = match caught_up(&svc).await {
                Ok(()) => bounded(svc.store.targets(&me, &channels, from, to, limit)).await,
                Err(e) => Err(e),
            };
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
                                .with_param(format!("timestamp={}", server_time(to_time(t.latest))))
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
    let key = readable_target(s, id, &target)?;
    let first =
        if sub == "LATEST" && p[2] == "*" { None } else { Some(parse_bound(&p[2]).ok_or_else(|| bad_ref(&p[2]))?) };
    let second = if sub == "BETWEEN" { Some(parse_bound(&p[3]).ok_or_else(|| bad_ref(&p[3]))?) } else { None };
    s.spawn(async move {
        let store = &svc.store;
        let rows = match (sub.as_str(), &first, &second) {
            _ if let Err(e) = caught_up(&svc).await => Err(e),
            ("LATEST", f, _) => bounded(store.latest(&key, f.as_ref(), limit)).await,
            ("BEFORE", Some(f), _) => bounded(store.before(&key, f, limit)).await,
            ("AFTER", Some(f), _) => bounded(store.after(&key, f, limit)).await,
            ("AROUND", Some(f), _) => bounded(store.around(&key, f, limit)).await,
            ("BETWEEN", Some(f), Some(g)) => bounded(store.between(&key, f, g, limit)).await,
            _ => Ok(Vec::new()),
        };
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
                        rows.iter().filter(|m| visible_to(m, own)).map(|m| replay_message(m, caps, false)).collect();
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

/// How long a history query waits for the database to catch up with the journal
/// before it answers `FAIL CHATHISTORY MESSAGE_ERROR` instead of stale rows.
pub const STORED_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Everything delivered so far must be queryable: waits (boundedly) for the journal's
/// background inserts to reach the database.
async fn caught_up(svc: &crate::server::Services) -> Result<(), StoreError> {
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
    let target = msg.params[0].clone();
    let Some(account) = s.client(ctx.id).account.clone() else {
        return Err(IrcError::Fail("ACCOUNT_REQUIRED", vec![target], "Log in to keep read markers".into()));
    };
    let key = readable_target(s, ctx.id, &target)?;
    // The asking session (its account's other sessions learn of a moved marker too).
    let id = ctx.session;
    let set = match msg.params.get(1) {
        None => None,
        Some(raw) => match parse_bound(raw) {
            Some(Bound::Time(t)) => Some(t),
            _ => {
                return Err(IrcError::Fail("INVALID_PARAMS", vec![target, raw.clone()], "Expected timestamp=…".into()));
            }
        },
    };
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
