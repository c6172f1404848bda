//! RENAME: renaming a channel (draft/channel-rename,
//! <https://ircv3.net/specs/extensions/channel-rename>).
//!
//! "A channel rename preserves all channel state, such as membership, mode and topic."
//! The persistent room (its row, bans and operators) moves at once; its history moves
//! through the journal, in order with the messages around it, so a message said just
//! before the rename is stored under the new name too.

use hearth_proto::{Cap, Message, casefold, is_valid_channel};
use hearth_store::journal::Rename;

use crate::client::ConnId;
use crate::error::IrcError;
use crate::handlers::channel::{send_names, send_topic};
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::server::{Ctx, Server};

/// RENAME <channel> <new channel> [:reason]
pub fn rename(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let (old, new) = (msg.params[0].as_str(), msg.params[1].as_str());
    let reason = msg.params.get(2).cloned().unwrap_or_default();
    let (old_key, new_key) = (casefold(old), casefold(new));
    let Some(ch) = s.channels.get(&old_key) else {
        return Err(IrcError::NoSuchChannel(old.to_string()));
    };
    let oper = s.client(ctx.id).oper;
    if !oper {
        if !ch.members.contains_key(&ctx.id) {
            return Err(IrcError::NotOnChannel(ch.name.clone()));
        }
        if !ch.is_op(ctx.id) {
            return Err(IrcError::ChanOpPrivsNeeded(ch.name.clone()));
        }
    }
    let old_name = ch.name.clone();
    let fail = |code, why: &str| IrcError::Fail(code, vec![old_name.clone(), new.to_string()], why.to_string());
    // "Server implementations MAY prevent channel renames that change the prefix type".
    if !is_valid_channel(new, s.cfg.channel_len) || new.as_bytes()[0] != old_name.as_bytes()[0] {
        return Err(fail("CANNOT_RENAME", "The channel cannot be renamed to that name"));
    }
    if new_key != old_key && s.channels.contains_key(&new_key) {
        return Err(fail("CHANNEL_NAME_IN_USE", "The channel name is already taken"));
    }
    if new == old_name {
        return Ok(());
    }
    move_channel(s, &old_key, &new_key, new);
    let c = s.client(ctx.id);
    let (mask, account) = (c.mask.clone(), c.account.clone());
    let m = Message::new("RENAME").with_source(mask.as_str()).with_param(old_name.as_str()).with_param(new).with_param(
        // "The server to client command MUST always include the third parameter, an
        // empty string MAY be used if no reason is provided."
        reason.as_str(),
    );
    let mut relay = Relay::new(m, Server::now_time()).with_account(account);
    let case_only = new_key == old_key;
    for id in s.members(&new_key) {
        let caps = s.client(id).caps;
        if caps.contains(Cap::ChannelRename) {
            if id == ctx.id {
                ctx.reply(relay.message_for(caps));
            } else {
                s.deliver(&mut relay, [id], None, None);
            }
        } else if !case_only {
            // "This fallback SHOULD NOT be used if the rename only changes the case of
            // the channel name".
            fallback(s, ctx, id, &old_name, new, &reason);
        }
    }
    Ok(())
}

/// Moves the channel, its members' memberships and invites, its replay tail and its
/// stored room and history from `old_key` to `new` (`new_key` casefolded).
fn move_channel(s: &mut Server, old_key: &str, new_key: &str, new: &str) {
    let mut ch = s.channels.remove(old_key).expect("checked by the caller");
    ch.name = new.to_string();
    for m in ch.recent.iter_mut() {
        m.target = new_key.to_string();
        m.recipient = new.to_string();
    }
    let persistent = ch.persistent;
    for c in s.clients.values_mut() {
        for key in c.channels.iter_mut().chain(c.invites.iter_mut()) {
            if key == old_key {
                *key = new_key.into();
            }
        }
    }
    s.channels.insert(new_key.to_string(), ch);
    if persistent {
        s.store_op(StoreOp::RenameRoom(old_key.to_string(), new.to_string()));
    }
    s.store_op(StoreOp::RenameHistory(Rename { from: old_key.to_string(), to: new.to_string() }));
}

/// "Send the client a `PART` message for the old channel name, with part message
/// matching the rename reason if given; Send the client a `JOIN` message followed by
/// the usual messages that would be sent if the client had joined the new channel
/// normally (`RPL_TOPIC`, `RPL_TOPICWHOTIME`, `RPL_NAMREPLY`, `RPL_ENDOFNAMES` etc)."
fn fallback(s: &mut Server, ctx: &mut Ctx, id: ConnId, old: &str, new: &str, reason: &str) {
    let c = s.client(id);
    let (caps, mask) = (c.caps, c.mask.clone());
    let mut part = Message::new("PART").with_source(mask.as_str()).with_param(old);
    if !reason.is_empty() {
        part = part.with_param(reason);
    }
    let mut join = Message::new("JOIN").with_source(mask.as_str()).with_param(new);
    if caps.contains(Cap::ExtendedJoin) {
        join = join.with_param(c.account.as_deref().unwrap_or("*")).with_param(c.realname.as_str());
    }
    let time = Server::now_time();
    let account = c.account.clone();
    let mut own = Ctx::new(id, "RENAME", None);
    own.reply(Relay::new(part, time.clone()).with_account(account.clone()).message_for(caps));
    own.reply(Relay::new(join, time).with_account(account).message_for(caps));
    let key = casefold(new);
    send_topic(s, &mut own, &key, false);
    send_names(s, &mut own, &key);
    if id == ctx.id {
        ctx.replies.extend(own.replies);
    } else {
        s.flush(own);
    }
}
