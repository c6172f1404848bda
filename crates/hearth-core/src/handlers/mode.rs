//! MODE for channels (+o +v +i +k +l +m +n +t +s +H, mask lists +b +e +I) and users
//! (+i +w +B, -o).

use std::time::SystemTime;

use hearth_proto::numeric::*;
use hearth_proto::{Message, casefold};

use hearth_store::BanList;

use crate::channel::{Ban, Channel, OP, VOICE};
use crate::error::IrcError;
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::server::{Ctx, Server, unix_secs};

/// Parameterised modes accepted in one MODE command (ISUPPORT `MODES`).
const MAX_PARAM_MODES: usize = 6;

/// MODE <target> [<modestring> [<mode arguments>…]]
pub fn mode(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let target = &msg.params[0];
    if target.starts_with('#') || target.starts_with('&') { channel_mode(s, ctx, msg) } else { user_mode(s, ctx, msg) }
}

fn user_mode(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let target = &msg.params[0];
    let Some(tid) = s.find_nick(target) else {
        return Err(IrcError::NoSuchNick(target.clone()));
    };
    if tid != ctx.id {
        return Err(IrcError::UsersDontMatch);
    }
    let Some(modes) = msg.params.get(1) else {
        let m = s.client(ctx.id).mode_string();
        s.num(ctx, RPL_UMODEIS, [], &m);
        return Ok(());
    };
    let mut add = true;
    let mut changed = String::new();
    let mut last_sign = None;
    let mut unknown = false;
    for ch in modes.chars() {
        match ch {
            '+' => add = true,
            '-' => add = false,
            'i' | 'w' | 'B' => {
                let c = s.client_mut(ctx.id);
                let slot = match ch {
                    'i' => &mut c.invisible,
                    'w' => &mut c.wallops,
                    _ => &mut c.bot,
                };
                if *slot != add {
                    *slot = add;
                    push_change(&mut changed, &mut last_sign, add, ch);
                }
            }
            // Operator status is granted by the server, never taken by MODE +o.
            'o' if !add => {
                let c = s.client_mut(ctx.id);
                if c.oper {
                    c.oper = false;
                    push_change(&mut changed, &mut last_sign, false, 'o');
                }
            }
            'o' => {}
            'g' => match crate::handlers::accept::set_caller_id(s, ctx.id, add) {
                Some(true) => push_change(&mut changed, &mut last_sign, add, 'g'),
                Some(false) => {}
                None => unknown = true,
            },
            _ => unknown = true,
        }
    }
    if unknown {
        let nick = s.nick_of(ctx.id);
        ctx.reply(IrcError::UmodeUnknownFlag.to_message(&s.cfg.server_name, &nick, "MODE"));
    }
    if !changed.is_empty() {
        let nick = s.nick_of(ctx.id);
        ctx.reply(Message::new("MODE").with_source(nick.as_str()).with_param(nick.as_str()).with_param(changed));
    }
    Ok(())
}

fn push_change(out: &mut String, last: &mut Option<bool>, add: bool, mode: char) {
    if *last != Some(add) {
        out.push(if add { '+' } else { '-' });
        *last = Some(add);
    }
    out.push(mode);
}

/// `nick` → `nick!*@*`, `user@host` → `*!user@host`, `nick!user` → `nick!user@*`.
pub fn normalize_ban(mask: &str) -> String {
    crate::extban::normalize_hostmask(mask)
}

/// The numerics that list a mask list: entry, end, end text.
fn list_numerics(list: BanList) -> (&'static str, &'static str, &'static str) {
    match list {
        BanList::Ban => (RPL_BANLIST, RPL_ENDOFBANLIST, "End of channel ban list"),
        BanList::Exception => (RPL_EXCEPTLIST, RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
        BanList::InviteException => (RPL_INVEXLIST, RPL_ENDOFINVEXLIST, "End of channel invite exception list"),
    }
}

/// Sends the entries of one list and its end numeric.
fn send_list(s: &Server, ctx: &mut Ctx, key: &str, list: BanList) {
    let Some(ch) = s.channels.get(key) else { return };
    let (entry, end, text) = list_numerics(list);
    let nick = s.nick_of(ctx.id);
    for b in ch.list(list) {
        ctx.reply(
            s.server_msg(entry)
                .with_param(nick.as_str())
                .with_param(ch.name.as_str())
                .with_param(b.mask.as_str())
                .with_param(b.setter.as_str())
                .with_param(unix_secs(b.time)),
        );
    }
    s.num(ctx, end, [ch.name.as_str()], text);
}

fn channel_mode(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let name = &msg.params[0];
    let key = casefold(name);
    let Some(ch) = s.channels.get(&key) else {
        return Err(IrcError::NoSuchChannel(name.clone()));
    };
    let display = ch.name.clone();
    let member = ch.members.contains_key(&ctx.id);
    let Some(modes) = msg.params.get(1) else {
        let mut params = vec![display.clone()];
        params.extend(ch.modes.to_params(member || s.client(ctx.id).oper));
        let nick = s.nick_of(ctx.id);
        let mut m = s.server_msg(RPL_CHANNELMODEIS).with_param(nick.as_str());
        for p in params {
            m = m.with_param(p);
        }
        ctx.reply(m);
        let created = unix_secs(ch.created);
        ctx.reply(s.server_msg(RPL_CREATIONTIME).with_param(nick).with_param(display).with_param(created));
        return Ok(());
    };
    // A bare list query: "MODE #chan b" / "+e" / "I". Modern IRC: "If a type A mode
    // has been sent without an argument, the contents of the list MUST be sent to the
    // user".
    if msg.params.len() == 2 {
        let mut letters = modes.trim_start_matches('+').chars();
        if let (Some(list), None) = (letters.next().and_then(BanList::from_letter), letters.next()) {
            send_list(s, ctx, &key, list);
            return Ok(());
        }
    }
    let privileged = ch.is_op(ctx.id) || s.client(ctx.id).oper;
    let mut args = msg.params[2..].iter();
    let mut add = true;
    let mut applied = String::new();
    let mut applied_args: Vec<String> = Vec::new();
    let mut last_sign = None;
    let mut param_modes = 0;
    let mut errors: Vec<IrcError> = Vec::new();
    let mut store_ops: Vec<StoreOp> = Vec::new();
    let mut denied = false;
    for mc in modes.chars() {
        match mc {
            '+' => {
                add = true;
                continue;
            }
            '-' => {
                add = false;
                continue;
            }
            _ => {}
        }
        let takes_arg = matches!(mc, 'o' | 'v' | 'b' | 'e' | 'I') || (mc == 'k') || (mc == 'l' && add);
        if !matches!(mc, 'o' | 'v' | 'b' | 'e' | 'I' | 'k' | 'l' | 'i' | 'm' | 'n' | 's' | 't' | 'H') {
            errors.push(IrcError::UnknownMode(mc));
            continue;
        }
        let arg = if takes_arg {
            param_modes += 1;
            if param_modes > MAX_PARAM_MODES {
                break;
            }
            match args.next() {
                Some(a) => Some(a.clone()),
                None if mc == 'k' && !add => None,
                None if matches!(mc, 'b' | 'e' | 'I') => {
                    // "+b" without a mask lists bans; nothing to apply here.
                    continue;
                }
                None => {
                    errors.push(IrcError::NeedMoreParams);
                    continue;
                }
            }
        } else {
            None
        };
        if !privileged {
            denied = true;
            continue;
        }
        let ch = s.channels.get_mut(&key).expect("channel exists");
        let setter = s.clients.get(&ctx.id).map(|c| c.mask.clone()).unwrap_or_default();
        let result: Result<Option<String>, IrcError> = match mc {
            'o' | 'v' => {
                let bit = if mc == 'o' { OP } else { VOICE };
                let nick = arg.unwrap_or_default();
                match s
                    .nicks
                    .get(casefold(&nick).as_str())
                    .copied()
                    .filter(|id| s.clients.get(id).is_some_and(|c| c.registered))
                {
                    None => Err(IrcError::NoSuchNick(nick)),
                    Some(tid) if !ch.members.contains_key(&tid) => {
                        Err(IrcError::UserNotInChannel(nick, display.clone()))
                    }
                    Some(tid) => {
                        let st = ch.members.get_mut(&tid).expect("member");
                        let before = *st;
                        if add {
                            *st |= bit
                        } else {
                            *st &= !bit
                        }
                        let shown = s.clients.get(&tid).map_or(nick, |c| c.nick.to_string());
                        Ok((before != *st).then_some(shown))
                    }
                }
            }
            'b' | 'e' | 'I' => {
                let list = BanList::from_letter(mc).expect("a list mode");
                let given = arg.unwrap_or_default();
                match crate::extban::normalize(list, &given) {
                    Err(why) => Err(IrcError::InvalidModeParam(display.clone(), mc, given, why)),
                    Ok(mask) => {
                        edit_list(ch, &key, list, add, mask, setter.to_string(), s.cfg.max_bans, &mut store_ops)
                    }
                }
            }
            'k' if add => {
                let k = arg.unwrap_or_default();
                if k.is_empty() || k.len() > 23 || k.contains([' ', ',']) {
                    // The rejected key goes back as `*`, as other servers send it: it may
                    // be empty, hold spaces or be too long to echo.
                    Err(IrcError::InvalidModeParam(display.clone(), 'k', "*".into(), "Invalid key"))
                } else {
                    ch.modes.key = Some(k.clone());
                    Ok(Some(k))
                }
            }
            'k' => Ok(ch.modes.key.take().map(|_| "*".to_string())),
            'l' if add => match arg.as_deref().unwrap_or("").parse::<usize>() {
                Ok(n) if n > 0 => {
                    ch.modes.limit = Some(n);
                    Ok(Some(n.to_string()))
                }
                _ => Err(IrcError::InvalidModeParam(
                    display.clone(),
                    'l',
                    arg.unwrap_or_default(),
                    "Invalid limit (a positive number)",
                )),
            },
            'l' => Ok(ch.modes.limit.take().map(|_| String::new())),
            flag => {
                let slot = match flag {
                    'i' => &mut ch.modes.invite_only,
                    'm' => &mut ch.modes.moderated,
                    'n' => &mut ch.modes.no_external,
                    's' => &mut ch.modes.secret,
                    // History visibility (crate::visibility).
                    'H' => &mut ch.modes.joined_history,
                    _ => &mut ch.modes.topic_lock,
                };
                let changed = *slot != add;
                *slot = add;
                Ok(changed.then(String::new))
            }
        };
        match result {
            Ok(Some(shown_arg)) => {
                push_change(&mut applied, &mut last_sign, add, mc);
                if !shown_arg.is_empty() {
                    applied_args.push(shown_arg);
                }
            }
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    if denied {
        errors.push(IrcError::ChanOpPrivsNeeded(display.clone()));
    }
    let nick = s.nick_of(ctx.id);
    for e in errors {
        ctx.reply(e.to_message(&s.cfg.server_name, &nick, "MODE"));
    }
    for op in store_ops {
        s.store_op(op);
    }
    if applied.chars().any(|c| "imnstklH".contains(c)) {
        s.persist_room(&key);
    }
    if !applied.is_empty() {
        let me = s.client(ctx.id);
        let mut m = Message::new("MODE").with_source(me.mask.as_str()).with_param(display).with_param(applied);
        for a in applied_args {
            m = m.with_param(a);
        }
        let mut relay = Relay::new(m, Server::now_time()).with_account(me.account.clone());
        ctx.reply(relay.message_for(s.session_caps(ctx)));
        s.send_to_siblings(ctx, &mut relay, None);
        let members = s.members(&key);
        s.deliver(&mut relay, members, Some(ctx.id), None);
    }
    Ok(())
}

/// Adds `mask` to, or removes it from, one of `ch`'s lists (persisted for stored
/// rooms). `Ok(Some(mask))` when the list changed.
#[allow(clippy::too_many_arguments)]
fn edit_list(
    ch: &mut Channel,
    key: &str,
    list: BanList,
    add: bool,
    mask: String,
    setter: String,
    max: usize,
    store_ops: &mut Vec<StoreOp>,
) -> Result<Option<String>, IrcError> {
    let persistent = ch.persistent;
    let display = ch.name.clone();
    let entries = ch.list_mut(list);
    let exists = entries.iter().position(|b| casefold(&b.mask) == casefold(&mask));
    match (add, exists) {
        (true, Some(_)) | (false, None) => Ok(None),
        (true, None) if entries.len() >= max => Err(IrcError::BanListFull(display, list.letter())),
        (true, None) => {
            let ban = Ban { mask: mask.clone(), setter, time: SystemTime::now() };
            if persistent {
                store_ops.push(StoreOp::AddBan(
                    key.to_string(),
                    hearth_store::Ban {
                        mask: ban.mask.clone(),
                        set_by: ban.setter.clone(),
                        set_at: hearth_store::Timestamp::from(ban.time),
                        list,
                    },
                ));
            }
            entries.push(ban);
            Ok(Some(mask))
        }
        (false, Some(i)) => {
            let removed = entries.remove(i).mask;
            if persistent {
                store_ops.push(StoreOp::RemoveBan(key.to_string(), list.qualify(&removed)));
            }
            Ok(Some(removed))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_masks_are_completed() {
        assert_eq!(normalize_ban("bob"), "bob!*@*");
        assert_eq!(normalize_ban("bob!u"), "bob!u@*");
        assert_eq!(normalize_ban("u@h"), "*!u@h");
        assert_eq!(normalize_ban("a!b@c"), "a!b@c");
    }
}
