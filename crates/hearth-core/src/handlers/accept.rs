//! ACCEPT (answering chat requests), caller-ID `+g`, and what a person is shown at
//! login: pending requests and "While you were away: …". See [`crate::chat`].

use hearth_proto::numeric::{ERR_ACCEPTEXIST, ERR_ACCEPTNOT, ERR_NOSUCHNICK, RPL_ACCEPTLIST, RPL_ENDOFACCEPT};
use hearth_proto::{Cap, CapSet, Message, casefold};
use hearth_store::{Bound, ChatRequest, StoredMessage, Timestamp, Unread, dm_key};

use crate::chat::{self, ANYONE, TAG_HELD, TAG_PEER, TAG_REQUEST};
use crate::client::ConnId;
use crate::error::IrcError;
use crate::handlers::history::{self, bounded, caught_up, replay_lines};
use crate::outbound::StoreOp;
use crate::rooms::to_time;
use crate::server::{Completion, Ctx, Server};

/// `2026-11-29`, for texts.
pub(crate) fn day(t: Timestamp) -> String {
    let s = humantime::format_rfc3339_seconds(to_time(t)).to_string();
    s.get(..10).unwrap_or(&s).to_string()
}

/// ACCEPT <nick>{,<nick>} | ACCEPT -<nick> | ACCEPT *
///
/// `nick` (or `+nick`) accepts: a pending request's held messages are delivered and
/// both people get a brief history. `-nick` declines a request, withdraws one's own,
/// or takes `nick` off the accept list. `*` lists the accept list and the requests.
pub fn accept(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(me) = chat::account_key(s, ctx.id).filter(|_| s.services.is_some()) else {
        let m = chat::notice(
            s,
            ctx.session,
            "ACCEPT: accept lists belong to accounts; log in to use them",
            &[(TAG_REQUEST, "refused")],
        );
        ctx.reply(m);
        return Ok(());
    };
    chat::expire(s);
    for item in msg.params[0].split(',').filter(|i| !i.is_empty()) {
        if item == "*" {
            list(s, ctx, &me);
        } else if let Some(nick) = item.strip_prefix('-') {
            decline(s, ctx, &me, nick);
        } else {
            accept_one(s, ctx, &me, item.strip_prefix('+').unwrap_or(item));
        }
    }
    Ok(())
}

/// The account `name` stands for (a nick online, or an account name), with the nick
/// to show; `None` (and `401` sent) when neither.
fn resolve(s: &mut Server, ctx: &mut Ctx, name: &str) -> Option<(String, String)> {
    if let Some(id) = s.find_nick(name).filter(|id| s.is_registered(*id)) {
        if let Some(a) = chat::account_key(s, id) {
            return Some((a, s.nick_of(id)));
        }
    } else if s.account_names.contains(&casefold(name)) {
        return Some((casefold(name), name.to_string()));
    }
    s.num(ctx, ERR_NOSUCHNICK, [name], "No such nick/channel (only people with an account can be accepted)");
    None
}

fn accept_one(s: &mut Server, ctx: &mut Ctx, me: &str, name: &str) {
    let Some((other, nick)) = resolve(s, ctx, name) else { return };
    let added = chat::accept_add(s, me, &other);
    let key = (other.clone(), me.to_string());
    let request = match s.chat.requests.get(&key) {
        Some(r) if r.declined.is_none() => chat::drop_request(s, &key),
        Some(_) => {
            // Accepting after a decline lifts it.
            chat::drop_request(s, &key);
            None
        }
        None => None,
    };
    if !added && request.is_none() {
        s.num(ctx, ERR_ACCEPTEXIST, [nick.as_str()], "is already on your accept list");
        return;
    }
    let text = format!("{nick} can now write to you privately");
    let m = chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "accepted"), (TAG_PEER, &nick)]);
    ctx.reply(m);
    if let Some(r) = request {
        accepted(s, ctx.id, &nick, r);
    }
}

/// Request `r` was accepted by user `me_id`: its messages become history (journaled
/// now), the requester is told, then both get the history of their conversation from
/// before the request and the recipient the held messages.
pub(crate) fn accepted(s: &mut Server, me_id: ConnId, requester_nick: &str, r: ChatRequest) {
    if s.cfg.history {
        for m in &r.held {
            history::store_message(s, m.clone());
        }
    }
    let me_nick = s.nick_of(me_id);
    let requester = chat::online(s, &r.sender);
    if let Some(u) = requester {
        let text = format!("{me_nick} accepted your chat request; you can now write to each other");
        chat::notice_user(s, u, &text, &[(TAG_REQUEST, "accepted"), (TAG_PEER, &me_nick)]);
    }
    let Some(svc) = s.services.clone() else { return };
    let limit = if s.cfg.history { s.cfg.dm.history_on_accept } else { 0 };
    let key = dm_key(&r.sender, &r.recipient);
    let before = Bound::Time(r.created);
    let (sender_account, requester_nick) = (r.sender.clone(), requester_nick.to_string());
    s.spawn(async move {
        let rows = if limit == 0 {
            Ok(Vec::new())
        } else {
            match caught_up(&svc).await {
                Ok(()) => bounded(svc.store.before(&key, &before, limit)).await,
                Err(e) => Err(e),
            }
        };
        let done: Completion = Box::new(move |s: &mut Server| {
            let rows = rows.unwrap_or_else(|e| {
                tracing::warn!("history for an accepted chat request unavailable: {e}");
                Vec::new()
            });
            if s.clients.contains_key(&me_id) {
                for sid in s.session_ids(me_id) {
                    send_history(s, sid, &requester_nick, &rows);
                    let caps = s.client(sid).caps;
                    for m in &r.held {
                        for line in replay_lines(m, caps, true) {
                            s.send_message(sid, &line);
                        }
                    }
                }
            }
            if let Some(u) = chat::online(s, &sender_account) {
                let me_nick = s.nick_of(me_id);
                for sid in s.session_ids(u) {
                    send_history(s, sid, &me_nick, &rows);
                }
            }
        });
        done
    });
}

/// Earlier messages of a conversation with `peer` to session `sid`: a chathistory batch
/// for clients with draft/chathistory, lines with their date in front for others.
fn send_history(s: &mut Server, sid: ConnId, peer: &str, rows: &[StoredMessage]) {
    if rows.is_empty() {
        return;
    }
    let own = s.client(sid).caps;
    let capable = own.contains(Cap::ChatHistory);
    let mut caps = own;
    if capable {
        caps.insert(Cap::ServerTime);
        caps.insert(Cap::MessageTags);
    } else {
        caps.remove(Cap::ServerTime);
    }
    let mut lines: Vec<Message> = rows
        .iter()
        .filter(|m| matches!(m.command.as_str(), "PRIVMSG" | "NOTICE"))
        .flat_map(|m| replay_lines(m, caps, true))
        .collect();
    if capable && own.contains(Cap::Batch) {
        lines = s.batch("chathistory", Some(peer), lines);
    } else {
        let head = format!("Your earlier conversation with {peer}:");
        let m = chat::notice(s, sid, &head, &[(TAG_REQUEST, "history"), (TAG_PEER, peer)]);
        lines.insert(0, m);
    }
    for l in lines {
        s.send_message(sid, &l);
    }
}

fn decline(s: &mut Server, ctx: &mut Ctx, me: &str, name: &str) {
    let Some((other, nick)) = resolve(s, ctx, name) else { return };
    let me_nick = s.nick_of(ctx.id);
    let mut done = false;
    // A request from them: declined, its messages discarded, they are told.
    let theirs = (other.clone(), me.to_string());
    if s.chat.requests.get(&theirs).is_some_and(|r| r.declined.is_none()) {
        if let Some(r) = s.chat.requests.get_mut(&theirs) {
            r.declined = Some(Timestamp::now());
            r.held.clear();
        }
        chat::save_request(s, &theirs);
        if let Some(u) = chat::online(s, &other) {
            let text = format!(
                "{me_nick} has declined your chat request, sorry. Your held messages were not delivered and have been discarded."
            );
            chat::notice_user(s, u, &text, &[(TAG_REQUEST, "declined"), (TAG_PEER, &me_nick)]);
        }
        let text = format!("You declined {nick}'s chat request; their messages were discarded");
        let m = chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "declined"), (TAG_PEER, &nick)]);
        ctx.reply(m);
        done = true;
    }
    // One's own request: withdrawn.
    let mine = (me.to_string(), other.clone());
    if s.chat.requests.get(&mine).is_some_and(|r| r.declined.is_none()) {
        chat::drop_request(s, &mine);
        if let Some(u) = chat::online(s, &other) {
            let text = format!("{me_nick} withdrew their chat request");
            chat::notice_user(s, u, &text, &[(TAG_REQUEST, "withdrawn"), (TAG_PEER, &me_nick)]);
        }
        let text = format!("You withdrew your chat request to {nick}");
        let m = chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "withdrawn"), (TAG_PEER, &nick)]);
        ctx.reply(m);
        done = true;
    }
    if chat::accept_remove(s, me, &other) {
        let text = format!("{nick} is no longer on your accept list");
        let m = chat::notice(s, ctx.session, &text, &[]);
        ctx.reply(m);
        done = true;
    }
    if !done {
        s.num(ctx, ERR_ACCEPTNOT, [nick.as_str()], "is not on your accept list");
    }
}

/// `281` per accepted account, `282`, then a NOTICE per pending request.
fn list(s: &mut Server, ctx: &mut Ctx, me: &str) {
    let accepted: Vec<String> =
        s.chat.accepts.get(me).map(|l| l.iter().filter(|a| *a != ANYONE).cloned().collect()).unwrap_or_default();
    for a in accepted {
        s.num(ctx, RPL_ACCEPTLIST, [a.as_str()], "");
        // 281 carries no text: drop the empty trailing parameter.
        if let Some(m) = ctx.replies.last_mut() {
            m.params.pop();
        }
    }
    s.num(ctx, RPL_ENDOFACCEPT, [], "End of /ACCEPT list.");
    let requests: Vec<ChatRequest> = s.chat.requests.values().filter(|r| r.declined.is_none()).cloned().collect();
    for r in requests {
        if r.recipient == me {
            let nick = sender_nick(&r);
            let n = r.held.len().to_string();
            let text =
                format!("Waiting for your answer: {nick} ({n} message(s) held; /quote ACCEPT {nick} or -{nick})");
            let m =
                chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "received"), (TAG_PEER, &nick), (TAG_HELD, &n)]);
            ctx.reply(m);
        } else if r.sender == me {
            let nick = recipient_nick(&r);
            let n = r.held.len().to_string();
            let text = format!("Your chat request to {nick} is waiting for their answer ({n} message(s) held)");
            let m = chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "pending"), (TAG_PEER, &nick), (TAG_HELD, &n)]);
            ctx.reply(m);
        }
    }
}

fn sender_nick(r: &ChatRequest) -> String {
    r.held.first().map(|m| chat::split_mask(&m.sender).0.to_string()).unwrap_or_else(|| r.sender.clone())
}

fn recipient_nick(r: &ChatRequest) -> String {
    r.held.first().map(|m| m.recipient.clone()).unwrap_or_else(|| r.recipient.clone())
}

/// `MODE <me> +g|-g`: caller-ID on or off for the account (persistent: it is the
/// accept-list entry `*`). Returns whether it changed; `None` when `g` is not
/// available (policy `open`, no accounts).
pub(crate) fn set_caller_id(s: &mut Server, id: ConnId, on: bool) -> Option<bool> {
    if s.cfg.dm.policy == chat::DmPolicy::Open || s.services.is_none() {
        return None;
    }
    let account = chat::account_key(s, id)?;
    let changed = if on { chat::accept_remove(s, &account, ANYONE) } else { chat::accept_add(s, &account, ANYONE) };
    s.client_mut(id).caller_id = on;
    Some(changed)
}

/// At login (after 001 and the default rooms) of user `ctx.id` on session
/// `ctx.session`: its pending requests, both ways, and the summary of what came while
/// it was away.
pub(crate) fn on_login(s: &mut Server, ctx: &mut Ctx) {
    let Some(me) = chat::account_key(s, ctx.id).filter(|_| s.services.is_some()) else { return };
    s.client_mut(ctx.id).caller_id = chat::caller_id(s, Some(&me));
    chat::expire(s);
    // "Pending requests survive disconnects and restarts. They are shown again at login
    // and can be answered later."
    let requests: Vec<ChatRequest> = s.chat.requests.values().filter(|r| r.declined.is_none()).cloned().collect();
    for r in requests {
        if r.recipient == me {
            ctx.replies.extend(chat::request_lines(s, ctx.session, &r));
        } else if r.sender == me {
            let nick = recipient_nick(&r);
            let n = r.held.len().to_string();
            let text = format!("Your chat request to {nick} is still waiting for their answer ({n} message(s) held)");
            let m = chat::notice(s, ctx.session, &text, &[(TAG_REQUEST, "pending"), (TAG_PEER, &nick), (TAG_HELD, &n)]);
            ctx.reply(m);
        }
    }
    let unread = s.chat.unread.remove(&me).unwrap_or_default();
    if !unread.is_empty() {
        s.store_op(StoreOp::Chat(hearth_store::journal::Op::ClearUnread { account: me.clone() }));
    }
    s.chat.told_offline.retain(|(_, a)| *a != me);
    summary(s, ctx.session, me, unread);
}

/// "While you were away: 3 messages from alice; #general: 12 new" to `session`, then
/// the missed private messages with their time for a client without
/// draft/chathistory (a capable one fetches them with CHATHISTORY TARGETS/LATEST).
fn summary(s: &mut Server, session: ConnId, me: String, unread: Vec<Unread>) {
    let Some(svc) = s.services.clone() else { return };
    if !s.cfg.history {
        return;
    }
    let user = s.user_of(session);
    // In a `joined` room (+H) only what was said while the person was a member counts.
    let rooms: Vec<(String, String, Option<Timestamp>)> = s
        .client(user)
        .channels
        .iter()
        .filter_map(|k| {
            s.channels
                .get(k.as_str())
                .map(|c| (k.to_string(), c.name.clone(), crate::visibility::visible_from(s, session, k)))
        })
        .collect();
    let replay = !s.client(session).caps.contains(Cap::ChatHistory);
    s.spawn(async move {
        let mut counts = Vec::new();
        let mut missed = Vec::new();
        if caught_up(&svc).await.is_ok() {
            for (key, name, visible_from) in rooms {
                let Ok(Some(marker)) = bounded(svc.store.read_marker(&me, &key)).await else { continue };
                let Ok(rows) = bounded(svc.store.after(&key, &Bound::Time(marker), 1000)).await else { continue };
                let n = rows
                    .iter()
                    .filter(|m| matches!(m.command.as_str(), "PRIVMSG" | "NOTICE"))
                    .filter(|m| visible_from.is_none_or(|t| m.time >= t))
                    .count();
                if n > 0 {
                    counts.push((name, n));
                }
            }
            if replay {
                for u in &unread {
                    let key = dm_key(&me, &u.sender);
                    let from = Bound::Time(Timestamp(u.first.0 - 1));
                    let limit = (u.count as usize).min(100);
                    if let Ok(rows) = bounded(svc.store.after(&key, &from, limit)).await {
                        missed.extend(rows);
                    }
                }
                missed.sort_by_key(|m| m.time);
            }
        }
        let done: Completion = Box::new(move |s: &mut Server| {
            if !s.clients.contains_key(&session) || (unread.is_empty() && counts.is_empty()) {
                return;
            }
            let mut parts: Vec<String> = unread
                .iter()
                .map(|u| format!("{} message{} from {}", u.count, if u.count == 1 { "" } else { "s" }, u.sender_nick))
                .collect();
            parts.extend(counts.iter().map(|(room, n)| format!("{room}: {n} new")));
            let text = format!("While you were away: {}", parts.join("; "));
            let m = chat::notice(s, session, &text, &[(TAG_REQUEST, "summary")]);
            s.send_message(session, &m);
            let caps: CapSet = s.client(session).caps;
            for m in &missed {
                for line in replay_lines(m, caps, true) {
                    s.send_message(session, &line);
                }
            }
        });
        done
    });
}
