//! Messages between users: PRIVMSG, NOTICE, TAGMSG.

use std::time::SystemTime;

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, Tag, casefold};

use crate::channel::{OP, VOICE};
use crate::chat::{self, Admit, Peer};
use crate::client::ConnId;
use crate::error::IrcError;
use crate::extban::Subject;
use crate::handlers::history;
use crate::relay::Relay;
use crate::server::{Ctx, Server, server_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Privmsg,
    Notice,
    Tagmsg,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Privmsg => "PRIVMSG",
            Kind::Notice => "NOTICE",
            Kind::Tagmsg => "TAGMSG",
        }
    }
}

/// PRIVMSG <target>{,<target>} <text>
pub fn privmsg(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    send(s, ctx, msg, Kind::Privmsg)
}

/// NOTICE <target>{,<target>} <text> — never answered with an error (RFC 2812 §3.3.2).
pub fn notice(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    // `send` reports no per-target errors for NOTICE; drop the overall one too.
    let _ = send(s, ctx, msg, Kind::Notice);
    Ok(())
}

/// TAGMSG <target>{,<target>} — carries only client-only tags (message-tags).
pub fn tagmsg(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    send(s, ctx, msg, Kind::Tagmsg)
}

fn send(s: &mut Server, ctx: &mut Ctx, msg: &Message, kind: Kind) -> Result<(), IrcError> {
    if msg.tag("batch").is_some() && kind != Kind::Tagmsg {
        // A line of a client batch (draft/multiline): collected until `BATCH -`.
        return crate::handlers::multiline::line(s, ctx, msg, kind.verb());
    }
    let Some(targets) = msg.params.first().filter(|t| !t.is_empty()) else {
        return Err(IrcError::NoRecipient);
    };
    let text = match kind {
        Kind::Tagmsg => None,
        _ => match msg.params.get(1).filter(|t| !t.is_empty()) {
            Some(t) => Some(t.as_str()),
            None => return Err(IrcError::NoTextToSend),
        },
    };
    let targets: Vec<&str> = targets.split(',').filter(|t| !t.is_empty()).collect();
    if targets.len() > s.cfg.max_targets {
        return Err(IrcError::TooManyTargets(targets[s.cfg.max_targets].to_string()));
    }
    let client_tags: Vec<Tag> = msg
        .tags
        .iter()
        .filter(|t| t.key.starts_with('+') && !s.cfg.client_tag_deny.contains(&t.key))
        .cloned()
        .collect();
    if kind == Kind::Privmsg {
        s.client_mut(ctx.id).last_active = SystemTime::now();
    }
    for target in targets {
        let result = if let Some((status, chan)) = channel_target(target) {
            to_channel(s, ctx, kind, status, chan, target, text, &client_tags)
        } else {
            to_user(s, ctx, kind, target, text, &client_tags)
        };
        if let Err(e) = result
            && kind != Kind::Notice
        {
            let nick = s.nick_of(ctx.id);
            ctx.reply(e.to_message(&s.cfg.server_name, &nick, kind.verb()));
        }
    }
    Ok(())
}

/// `#chan` → (0, "#chan"); `@#chan` → (OP, "#chan"); `+#chan` → (VOICE, "#chan").
fn channel_target(target: &str) -> Option<(u8, &str)> {
    let (status, rest) = match target.as_bytes().first()? {
        b'@' => (OP, &target[1..]),
        b'+' => (VOICE, &target[1..]),
        _ => (0, target),
    };
    matches!(rest.as_bytes().first(), Some(b'#' | b'&')).then_some((status, rest))
}

fn build_relay(
    s: &mut Server,
    ctx: &Ctx,
    kind: Kind,
    target: &str,
    text: Option<&str>,
    tags: &[Tag],
) -> (Relay, SystemTime) {
    s.messages_total += 1;
    let now = SystemTime::now();
    let c = s.client(ctx.id);
    let mut m = Message::new(kind.verb()).with_source(c.mask.as_str()).with_param(target);
    if let Some(t) = text {
        m = m.with_param(t);
    }
    let account = c.account.clone();
    let bot = c.bot;
    let msgid = s.next_msgid();
    let relay = Relay::new(m, server_time(now))
        .with_msgid(msgid)
        .with_account(account)
        .with_client_tags(tags.to_vec())
        .with_bot(bot);
    (relay, now)
}

/// The sender's own copy (echo-message), labelled like any reply; and a copy for each
/// other session of the sender, echo-message or not, so every device shows what was
/// said from any of them (as ergo does).
fn echo(s: &mut Server, ctx: &mut Ctx, kind: Kind, relay: &mut Relay) {
    let caps = s.session_caps(ctx);
    if caps.contains(Cap::EchoMessage) && (kind != Kind::Tagmsg || caps.contains(Cap::MessageTags)) {
        ctx.reply(relay.message_for(caps));
    }
    let need = (kind == Kind::Tagmsg).then_some(Cap::MessageTags);
    s.send_to_siblings(ctx, relay, need);
}

/// Whether `id` may speak in `ch` (+n, +m, bans; operators always may).
pub(crate) fn may_send(s: &Server, id: ConnId, ch: &crate::channel::Channel) -> Result<(), IrcError> {
    let me = s.client(id);
    let status = ch.members.get(&id).copied();
    if !me.oper {
        if status.is_none() && ch.modes.no_external {
            return Err(IrcError::CannotSendToChan(ch.name.clone(), "no external messages"));
        }
        let voiced = status.is_some_and(|st| st & (OP | VOICE) != 0);
        if ch.modes.moderated && !voiced {
            return Err(IrcError::CannotSendToChan(ch.name.clone(), "moderated"));
        }
        let who = Subject { mask: &me.mask, account: me.account.as_deref() };
        if !voiced && ch.is_banned(who) {
            return Err(IrcError::CannotSendToChan(ch.name.clone(), "banned"));
        }
        if !voiced && ch.is_muted(who) {
            return Err(IrcError::CannotSendToChan(ch.name.clone(), "muted"));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn to_channel(
    s: &mut Server,
    ctx: &mut Ctx,
    kind: Kind,
    min_status: u8,
    chan: &str,
    target: &str,
    text: Option<&str>,
    tags: &[Tag],
) -> Result<(), IrcError> {
    let key = casefold(chan);
    let Some(ch) = s.channels.get(&key) else {
        return Err(IrcError::NoSuchChannel(chan.to_string()));
    };
    may_send(s, ctx.id, ch)?;
    let mut recipients: Vec<ConnId> = Vec::with_capacity(ch.members.len());
    recipients.extend(
        ch.members
            .iter()
            .filter(|(_, st)| min_status == 0 || **st & OP != 0 || (min_status == VOICE && **st & VOICE != 0))
            .map(|(id, _)| *id),
    );
    let shown = if min_status == 0 { ch.name.clone() } else { format!("{}{}", &target[..1], ch.name) };
    let (mut relay, now) = build_relay(s, ctx, kind, &shown, text, tags);
    let need = (kind == Kind::Tagmsg).then_some(Cap::MessageTags);
    s.deliver(&mut relay, recipients, Some(ctx.id), need);
    echo(s, ctx, kind, &mut relay);
    // Messages to the ops/voiced only (STATUSMSG) stay out of the shared history.
    if min_status == 0 {
        history::record(s, ctx.id, key, &shown, &relay, now, tags);
    }
    Ok(())
}

fn to_user(
    s: &mut Server,
    ctx: &mut Ctx,
    kind: Kind,
    target: &str,
    text: Option<&str>,
    tags: &[Tag],
) -> Result<(), IrcError> {
    let Some(tid) = s.find_nick(target).filter(|id| s.is_registered(*id)) else {
        return to_offline(s, ctx, kind, target, text, tags);
    };
    let t = s.client(tid);
    let (tnick, away) = (t.nick.clone(), t.away.clone());
    let (mut relay, now) = build_relay(s, ctx, kind, &tnick, text, tags);
    let need = (kind == Kind::Tagmsg).then_some(Cap::MessageTags);
    match chat::admit(s, ctx, kind.verb(), Peer::Online(tid), &relay, tags) {
        Admit::Now => {}
        Admit::Held => {
            echo(s, ctx, kind, &mut relay);
            return Ok(());
        }
        Admit::No => return Ok(()),
    }
    if tid == ctx.id {
        // A message to oneself is delivered like any other (to every session of the
        // user), outside the reply (so never labelled), and then echoed to the sending
        // session as the reply when echo-message is on: the labeled-response spec keeps
        // the label for the echo only.
        s.deliver(&mut relay, [tid], None, need);
        let caps = s.session_caps(ctx);
        if caps.contains(Cap::EchoMessage) && need.is_none_or(|cap| caps.contains(cap)) {
            ctx.reply(relay.message_for(caps));
        }
    } else {
        s.deliver(&mut relay, [tid], None, need);
        echo(s, ctx, kind, &mut relay);
    }
    let key = history::dm_target(s, ctx.id, tid);
    history::record(s, ctx.id, key, &tnick, &relay, now, tags);
    if kind != Kind::Tagmsg {
        crate::presence::conversed(s, ctx.id, tid);
    }
    if kind == Kind::Privmsg
        && let Some(a) = away
    {
        s.num(ctx, RPL_AWAY, [tnick.as_str()], &a);
    }
    Ok(())
}

/// A PRIVMSG to an account nobody is logged in to: "A private message to an
/// **account** that is offline is stored, not refused" (issue 9) — as a chat request
/// when the account has not accepted the sender. Anything else offline is `401`.
fn to_offline(
    s: &mut Server,
    ctx: &mut Ctx,
    kind: Kind,
    target: &str,
    text: Option<&str>,
    tags: &[Tag],
) -> Result<(), IrcError> {
    let account = chat::offline_account(s, target).filter(|_| kind == Kind::Privmsg);
    let Some(account) = account else {
        return Err(IrcError::NoSuchNick(target.to_string()));
    };
    let (mut relay, now) = build_relay(s, ctx, kind, target, text, tags);
    match chat::admit(s, ctx, kind.verb(), Peer::Offline(&account), &relay, tags) {
        Admit::Now => {}
        Admit::Held => {
            echo(s, ctx, kind, &mut relay);
            return Ok(());
        }
        Admit::No => return Ok(()),
    }
    echo(s, ctx, kind, &mut relay);
    let sender = match &s.client(ctx.id).account {
        Some(a) => casefold(a),
        None => format!("~{}", casefold(&s.client(ctx.id).nick)),
    };
    history::record(s, ctx.id, hearth_store::dm_key(&sender, &account), target, &relay, now, tags);
    chat::note_offline(s, ctx, &account, target, now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statusmsg_targets() {
        assert_eq!(channel_target("#a"), Some((0, "#a")));
        assert_eq!(channel_target("@#a"), Some((OP, "#a")));
        assert_eq!(channel_target("+&a"), Some((VOICE, "&a")));
        assert_eq!(channel_target("nick"), None);
        assert_eq!(channel_target("@nick"), None);
        assert_eq!(channel_target(""), None);
    }
}
