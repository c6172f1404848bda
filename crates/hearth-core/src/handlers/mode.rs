//! MODE for channels (+o +v +i +k +l +m +n +t +s, ban list +b) and users (+i).

use std::time::SystemTime;

use hearth_proto::numeric::*;
use hearth_proto::{Message, casefold};

use crate::channel::{Ban, OP, VOICE};
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
            'i' => {
                let c = s.client_mut(ctx.id);
                if c.invisible != add {
                    c.invisible = add;
                    push_change(&mut changed, &mut last_sign, add, 'i');
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
    match (mask.find('!'), mask.find('@')) {
        (Some(_), Some(_)) => mask.to_string(),
        (Some(_), None) => format!("{mask}@*"),
        (None, Some(_)) => format!("*!{mask}"),
        (None, None) => format!("{mask}!*@*"),
    }
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
    // A bare ban-list query: "MODE #chan b" / "+b".
    if modes.trim_start_matches('+') == "b" && msg.params.len() == 2 {
        let bans = ch.bans.clone();
        let nick = s.nick_of(ctx.id);
        for b in bans {
            ctx.reply(
                s.server_msg(RPL_BANLIST)
                    .with_param(nick.as_str())
                    .with_param(display.as_str())
                    .with_param(b.mask)
                    .with_param(b.setter)
                    .with_param(unix_secs(b.time)),
            );
        }
        s.num(ctx, RPL_ENDOFBANLIST, [display.as_str()], "End of channel ban list");
        return Ok(());
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
        let takes_arg = matches!(mc, 'o' | 'v' | 'b') || (mc == 'k') || (mc == 'l' && add);
        if !matches!(mc, 'o' | 'v' | 'b' | 'k' | 'l' | 'i' | 'm' | 'n' | 's' | 't') {
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
                None if mc == 'b' => {
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
                match s.nicks.get(&casefold(&nick)).copied().filter(|id| ch.members.contains_key(id)) {
                    None => Err(IrcError::UserNotInChannel(nick, display.clone())),
                    Some(tid) => {
                        let st = ch.members.get_mut(&tid).expect("member");
                        let before = *st;
                        if add {
                            *st |= bit
                        } else {
                            *st &= !bit
                        }
                        let shown = s.clients.get(&tid).map(|c| c.nick.clone()).unwrap_or(nick);
                        Ok((before != *st).then_some(shown))
                    }
                }
            }
            'b' => {
                let mask = normalize_ban(&arg.unwrap_or_default());
                let exists = ch.bans.iter().position(|b| casefold(&b.mask) == casefold(&mask));
                match (add, exists) {
                    (true, Some(_)) | (false, None) => Ok(None),
                    (true, None) if ch.bans.len() >= s.cfg.max_bans => Err(IrcError::BanListFull(display.clone(), 'b')),
                    (true, None) => {
                        let ban = Ban { mask: mask.clone(), setter, time: SystemTime::now() };
                        if ch.persistent {
                            store_ops.push(StoreOp::AddBan(
                                key.clone(),
                                hearth_store::Ban {
                                    mask: ban.mask.clone(),
                                    set_by: ban.setter.clone(),
                                    set_at: hearth_store::Timestamp::from(ban.time),
                                },
                            ));
                        }
                        ch.bans.push(ban);
                        Ok(Some(mask))
                    }
                    (false, Some(i)) => {
                        let removed = ch.bans.remove(i).mask;
                        if ch.persistent {
                            store_ops.push(StoreOp::RemoveBan(key.clone(), removed.clone()));
                        }
                        Ok(Some(removed))
                    }
                }
            }
            'k' if add => {
                let k = arg.unwrap_or_default();
                if k.is_empty() || k.len() > 23 || k.contains([' ', ',']) {
                    Err(IrcError::InvalidModeParam(display.clone(), 'k', k, "Invalid key"))
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
    if applied.chars().any(|c| "imnstkl".contains(c)) {
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
