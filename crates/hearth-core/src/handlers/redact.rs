//! REDACT: deleting a message (draft/message-redaction,
//! <https://ircv3.net/specs/extensions/message-redaction>).
//!
//! Who may: the message's author (the same account; for a guest, the same
//! `nick!user@host`), and server operators (admins) any message. The deletion is a
//! journal record applied in order with the messages around it, so a crash replay can
//! never bring the message back; it also leaves the room's replay tail at once.

use hearth_proto::{Cap, Message, casefold};
use hearth_store::journal::Redact;
use hearth_store::{Bound, StoreError, StoredMessage, dm_key};

use crate::client::ConnId;
use crate::error::IrcError;
use crate::handlers::history;
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::server::{Completion, Ctx, Server};

/// REDACT <target> <msgid> [:reason]
pub fn redact(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let (target, msgid) = (msg.params[0].clone(), msg.params[1].clone());
    let reason = msg.params.get(2).cloned();
    let key = redactable_target(s, ctx.id, &target)?;
    // A channel's recent messages are in memory; anything older is looked up.
    let recent = s.channels.get(&key).and_then(|ch| ch.recent.iter().find(|m| m.msgid == msgid).cloned());
    if let Some(m) = recent {
        return apply(s, ctx, &key, &target, &m, reason);
    }
    let Some(svc) = s.services.clone() else { return Err(unknown(&target, &msgid)) };
    let (id, label) = (ctx.id, ctx.label.take());
    s.spawn(async move {
        let found = match history::caught_up(&svc).await {
            Ok(()) => history::bounded(svc.store.around(&key, &Bound::MsgId(msgid.clone()), 1)).await,
            Err(e) => Err(e),
        };
        let done: Completion = Box::new(move |s: &mut Server| {
            if !s.clients.contains_key(&id) {
                return;
            }
            let mut ctx = Ctx::new(id, "REDACT", label);
            let result = match found {
                Ok(rows) => match rows.into_iter().find(|m| m.msgid == msgid) {
                    Some(m) => apply(s, &mut ctx, &key, &target, &m, reason),
                    None => Err(unknown(&target, &msgid)),
                },
                Err(StoreError::UnknownMsgid(_)) => Err(unknown(&target, &msgid)),
                Err(e) => {
                    tracing::warn!("REDACT lookup failed: {e}");
                    Err(IrcError::Fail(
                        "TEMPORARILY_UNAVAILABLE",
                        vec![target.clone(), msgid.clone()],
                        "History is unavailable right now, please try again in a minute".into(),
                    ))
                }
            };
            if let Err(e) = result {
                let nick = s.nick_of(id);
                ctx.reply(e.to_message(&s.cfg.server_name, &nick, "REDACT"));
            }
            s.flush(ctx);
        });
        done
    });
    Ok(())
}

/// `FAIL REDACT UNKNOWN_MSGID <target> <target-msgid> :This message does not exist or is too old`
fn unknown(target: &str, msgid: &str) -> IrcError {
    IrcError::Fail(
        "UNKNOWN_MSGID",
        vec![target.to_string(), msgid.to_string()],
        "This message does not exist or is too old".into(),
    )
}

/// The conversation key of `target` if `id` may redact there: a channel it is in (or
/// any channel, for an operator), or a direct conversation of its own.
fn redactable_target(s: &Server, id: ConnId, target: &str) -> Result<String, IrcError> {
    let invalid = || {
        IrcError::Fail("INVALID_TARGET", vec![target.to_string()], format!("You cannot delete messages from {target}"))
    };
    let c = s.client(id);
    if target.starts_with('#') || target.starts_with('&') {
        let key = casefold(target);
        let member = s.channels.get(&key).is_some_and(|ch| ch.members.contains_key(&id));
        return if member || (c.oper && s.channels.contains_key(&key)) { Ok(key) } else { Err(invalid()) };
    }
    match s.find_nick(target) {
        Some(other) => Ok(history::dm_target(s, id, other)),
        None => match &c.account {
            Some(me) => Ok(dm_key(&casefold(me), &casefold(target))),
            None => Err(invalid()),
        },
    }
}

/// Whether `id` wrote `m` (same account; for guests, the same full mask).
fn is_author(s: &Server, id: ConnId, m: &StoredMessage) -> bool {
    let c = s.client(id);
    match (&m.sender_account, &c.account) {
        (Some(theirs), Some(mine)) => casefold(theirs) == casefold(mine),
        (Some(_), None) => false,
        (None, _) => c.account.is_none() && casefold(&m.sender) == casefold(&c.mask),
    }
}

/// Deletes `m` (already found in `key`'s history) if `ctx.id` may, and tells those
/// who negotiated draft/message-redaction.
fn apply(
    s: &mut Server,
    ctx: &mut Ctx,
    key: &str,
    target: &str,
    m: &StoredMessage,
    reason: Option<String>,
) -> Result<(), IrcError> {
    // "Where `<msgid>` is the id of the message to be redacted, which MUST be a
    // `PRIVMSG`, `NOTICE`, or `TAGMSG`."
    let redactable = matches!(m.command.as_str(), "PRIVMSG" | "NOTICE" | "TAGMSG");
    if !redactable || !(s.client(ctx.id).oper || is_author(s, ctx.id, m)) {
        return Err(IrcError::Fail(
            "REDACT_FORBIDDEN",
            vec![target.to_string(), m.msgid.clone()],
            "You are not authorised to delete this message".into(),
        ));
    }
    if let Some(ch) = s.channels.get_mut(key) {
        ch.recent.retain(|x| x.msgid != m.msgid);
    }
    s.store_op(StoreOp::Redact(Redact { target: key.to_string(), msgid: m.msgid.clone() }));
    let c = s.client(ctx.id);
    let (mask, account, caps) = (c.mask.clone(), c.account.clone(), c.caps);
    // The target as the recipients know it: the channel's name, or the other side.
    let recipients: Vec<ConnId> = match s.channels.get(key) {
        Some(ch) => ch.members.keys().copied().collect(),
        None => s.find_nick(target).into_iter().collect(),
    };
    let shown = s.channels.get(key).map(|ch| ch.name.clone()).unwrap_or_else(|| target.to_string());
    let mut r = Message::new("REDACT").with_source(mask.as_str()).with_param(shown).with_param(m.msgid.as_str());
    if let Some(reason) = reason.filter(|r| !r.is_empty()) {
        r = r.with_param(reason);
    }
    let msgid = s.next_msgid();
    let mut relay = Relay::new(r, Server::now_time()).with_msgid(msgid).with_account(account);
    // "SHOULD forward this `REDACT` … to the target recipients that have negotiated the
    // `draft/message-redaction` capability" and "MUST not forward this `REDACT` to
    // target recipients that have not negotiated this capability".
    s.deliver(&mut relay, recipients, Some(ctx.id), Some(Cap::MessageRedaction));
    if caps.contains(Cap::MessageRedaction) {
        ctx.reply(relay.message_for(caps));
    }
    Ok(())
}
