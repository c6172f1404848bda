//! Queries and per-user state: WHO, WHOIS, AWAY, ISON, USERHOST, MOTD, LUSERS, VERSION,
//! TIME, SETNAME, KILL.

use std::time::SystemTime;

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, casefold, mask_matches};

use crate::channel::prefixes;
use crate::client::{Client, ConnId};
use crate::error::IrcError;
use crate::relay::Relay;
use crate::server::{Ctx, Server, server_time, unix_secs};

/// WHO <mask> [%<fields>[,<token>]]  (WHOX when the second parameter starts with '%')
pub fn who(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let mask = msg.params.first().map(String::as_str).unwrap_or("*");
    let whox = msg.params.get(1).and_then(|p| p.strip_prefix('%')).map(|p| {
        let (fields, token) = p.split_once(',').unwrap_or((p, ""));
        (fields.to_string(), token.to_string())
    });
    let me = s.client(ctx.id);
    let multi = s.session_caps(ctx).contains(Cap::MultiPrefix);
    let mut rows: Vec<(String, ConnId, u8)> = Vec::new();
    if mask.starts_with('#') || mask.starts_with('&') {
        if let Some(ch) = s.channels.get(&casefold(mask)) {
            let member = ch.members.contains_key(&ctx.id);
            if member || !ch.modes.secret || me.oper {
                for (id, st) in &ch.members {
                    let invisible = s.clients.get(id).is_some_and(|c| c.invisible);
                    if member || !invisible || me.oper {
                        rows.push((ch.name.clone(), *id, *st));
                    }
                }
            }
        }
    } else {
        let shared: std::collections::HashSet<ConnId> = s.peers(ctx.id).into_iter().collect();
        // +i hides a user from masks and channel listings, not from a query for its
        // exact nickname (which WHOIS would answer anyway).
        let exact = s.find_nick(mask);
        for c in s.clients.values().filter(|c| c.registered) {
            let visible = !c.invisible || c.id == ctx.id || me.oper || shared.contains(&c.id) || exact == Some(c.id);
            let hit = mask == "*"
                || mask == "0"
                || mask_matches(mask, &c.nick)
                || mask_matches(mask, &c.mask)
                || mask_matches(mask, &c.host)
                || mask_matches(mask, &c.realname);
            if visible && hit {
                rows.push(("*".into(), c.id, 0));
            }
        }
    }
    let nick = me.nick.clone();
    let server = s.cfg.server_name.clone();
    for (chan, id, status) in rows {
        let Some(c) = s.clients.get(&id) else { continue };
        let mut flags = String::from(if c.away.is_some() { "G" } else { "H" });
        if c.oper {
            flags.push('*');
        }
        flags.push_str(prefixes(status, multi));
        // Bot mode: "the `B` WHO flag" marks bots (after the status prefixes, as
        // ergo and InspIRCd send it).
        if c.bot {
            flags.push('B');
        }
        let m = match &whox {
            None => s
                .server_msg(RPL_WHOREPLY)
                .with_param(nick.as_str())
                .with_param(chan)
                .with_param(c.user.as_str())
                .with_param(c.host.as_str())
                .with_param(server.as_str())
                .with_param(c.nick.as_str())
                .with_param(flags)
                .with_param(format!("0 {}", c.realname)),
            Some((fields, token)) => whox_row(s, &nick, fields, token, &chan, c, flags),
        };
        ctx.reply(m);
    }
    s.num(ctx, RPL_ENDOFWHO, [mask], "End of WHO list");
    Ok(())
}

/// One RPL_WHOSPCRPL (354) with the requested fields in the fixed WHOX order.
fn whox_row(s: &Server, nick: &str, fields: &str, token: &str, chan: &str, c: &Client, flags: String) -> Message {
    let mut m = s.server_msg(RPL_WHOSPCRPL).with_param(nick);
    let idle = SystemTime::now().duration_since(c.last_active).map(|d| d.as_secs()).unwrap_or(0);
    for f in "tcuihsnfdlaor".chars().filter(|f| fields.contains(*f)) {
        let v = match f {
            't' => token.to_string(),
            'c' => chan.to_string(),
            'u' => c.user.to_string(),
            'i' => c.host.to_string(),
            'h' => c.host.to_string(),
            's' => s.cfg.server_name.clone(),
            'n' => c.nick.to_string(),
            'f' => flags.clone(),
            'd' => "0".into(),
            'l' => idle.to_string(),
            'a' => c.account.clone().unwrap_or_else(|| "0".into()),
            'o' => "n/a".into(),
            _ => c.realname.to_string(),
        };
        // Only the realname may be a trailing parameter; anything else empty becomes "*".
        let v = if v.is_empty() && f != 'r' { "*".into() } else { v };
        m = m.with_param(v);
    }
    m
}

/// WHOIS [<server>] <nick>
pub fn whois(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let target = msg.params.get(1).unwrap_or(&msg.params[0]).clone();
    let Some(tid) = s.find_nick(&target).filter(|id| s.is_registered(*id)) else {
        let nick = s.nick_of(ctx.id);
        ctx.reply(IrcError::NoSuchNick(target.clone()).to_message(&s.cfg.server_name, &nick, "WHOIS"));
        s.num(ctx, RPL_ENDOFWHOIS, [target.as_str()], "End of /WHOIS list");
        return Ok(());
    };
    let me = s.client(ctx.id);
    let multi = s.session_caps(ctx).contains(Cap::MultiPrefix);
    let see_all = me.oper || tid == ctx.id;
    let t = s.client(tid);
    let tn = t.nick.clone();
    let nick = me.nick.clone();
    ctx.reply(
        s.server_msg(RPL_WHOISUSER)
            .with_param(nick.as_str())
            .with_param(tn.as_str())
            .with_param(t.user.as_str())
            .with_param(t.host.as_str())
            .with_param("*")
            .with_param(t.realname.as_str()),
    );
    let mut chans = Vec::new();
    for key in &t.channels {
        let Some(ch) = s.channels.get(key.as_str()) else { continue };
        if ch.modes.secret && !see_all && !ch.members.contains_key(&ctx.id) {
            continue;
        }
        chans.push(format!("{}{}", prefixes(ch.members[&tid], multi), ch.name));
    }
    if !chans.is_empty() {
        s.num(ctx, RPL_WHOISCHANNELS, [tn.as_str()], &chans.join(" "));
    }
    let server = s.cfg.server_name.clone();
    s.num(ctx, RPL_WHOISSERVER, [tn.as_str(), server.as_str()], &s.cfg.network.clone());
    let t = s.client(tid);
    if t.oper {
        s.num(ctx, RPL_WHOISOPERATOR, [tn.as_str()], "is an IRC operator");
    }
    if t.bot {
        let network = s.cfg.network.clone();
        s.num(ctx, RPL_WHOISBOT, [tn.as_str()], &format!("is a Bot on {network}"));
    }
    let t = s.client(tid);
    if let Some(away) = t.away.clone() {
        s.num(ctx, RPL_AWAY, [tn.as_str()], &away);
    }
    if let Some(acct) = t.account.clone() {
        s.num(ctx, RPL_WHOISACCOUNT, [tn.as_str(), acct.as_str()], "is logged in as");
    }
    let t = s.client(tid);
    let idle = SystemTime::now().duration_since(t.last_active).map(|d| d.as_secs()).unwrap_or(0).to_string();
    let signon = unix_secs(t.signon);
    s.num(ctx, RPL_WHOISIDLE, [tn.as_str(), idle.as_str(), signon.as_str()], "seconds idle, signon time");
    s.num(ctx, RPL_ENDOFWHOIS, [tn.as_str()], "End of /WHOIS list");
    Ok(())
}

/// AWAY [<text>]
pub fn away(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let text: Option<String> =
        msg.params.first().filter(|t| !t.is_empty()).map(|t| t.chars().take(s.cfg.away_len).collect());
    let c = s.client_mut(ctx.id);
    c.away = text.as_deref().map(Box::from);
    let mut m = Message::new("AWAY").with_source(c.mask.as_str());
    if let Some(t) = &text {
        m = m.with_param(t.as_str());
    }
    let mut relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
    let (code, said) = match text {
        Some(_) => (RPL_NOWAWAY, "You have been marked as being away"),
        None => (RPL_UNAWAY, "You are no longer marked as being away"),
    };
    s.num(ctx, code, [], said);
    // Away is the user's, not one connection's: every session hears of the change.
    s.for_siblings(ctx, |s, sctx| s.num(sctx, code, [], said));
    let peers = s.peers(ctx.id);
    s.deliver(&mut relay, peers.clone(), None, Some(Cap::AwayNotify));
    s.deliver_to_watchers(&mut relay, ctx.id, &peers, Cap::AwayNotify);
    Ok(())
}

/// ISON <nick>{ <nick>}
pub fn ison(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let online: Vec<String> = msg
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter_map(|n| s.find_nick(n).filter(|id| s.is_registered(*id)))
        .map(|id| s.client(id).nick.to_string())
        .collect();
    s.num(ctx, RPL_ISON, [], &online.join(" "));
    Ok(())
}

/// USERHOST <nick>{ <nick>} (at most 5)
pub fn userhost(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let replies: Vec<String> = msg
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .take(5)
        .filter_map(|n| s.find_nick(n).filter(|id| s.is_registered(*id)))
        .map(|id| {
            let c = s.client(id);
            let oper = if c.oper { "*" } else { "" };
            let here = if c.away.is_some() { '-' } else { '+' };
            format!("{}{}={}{}@{}", c.nick, oper, here, c.user, c.host)
        })
        .collect();
    s.num(ctx, RPL_USERHOST, [], &replies.join(" "));
    Ok(())
}

/// MOTD [<server>]
pub fn motd(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    send_motd(s, ctx);
    Ok(())
}

pub(crate) fn send_motd(s: &Server, ctx: &mut Ctx) {
    if s.cfg.motd.is_empty() {
        s.num(ctx, ERR_NOMOTD, [], "MOTD File is missing");
        return;
    }
    let server = s.cfg.server_name.clone();
    s.num(ctx, RPL_MOTDSTART, [], &format!("- {server} Message of the day - "));
    for line in &s.cfg.motd {
        s.num(ctx, RPL_MOTD, [], &format!("- {line}"));
    }
    s.num(ctx, RPL_ENDOFMOTD, [], "End of /MOTD command.");
}

/// LUSERS
pub fn lusers(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    send_lusers(s, ctx);
    Ok(())
}

pub(crate) fn send_lusers(s: &Server, ctx: &mut Ctx) {
    // Users, not connections: extra sessions of a user are not counted again.
    let registered: Vec<&Client> =
        s.clients.values().map(|c| &**c).filter(|c| c.registered && c.attached_to.is_none()).collect();
    let users = registered.len();
    let invisible = registered.iter().filter(|c| c.invisible).count();
    let opers = registered.iter().filter(|c| c.oper).count();
    let unknown = s.clients.len() - users;
    let max = s.stats.max_users.max(users);
    s.num(
        ctx,
        RPL_LUSERCLIENT,
        [],
        &format!("There are {} users and {invisible} invisible on 1 servers", users - invisible),
    );
    if opers > 0 {
        s.num(ctx, RPL_LUSEROP, [opers.to_string().as_str()], "operator(s) online");
    }
    if unknown > 0 {
        s.num(ctx, RPL_LUSERUNKNOWN, [unknown.to_string().as_str()], "unknown connection(s)");
    }
    s.num(ctx, RPL_LUSERCHANNELS, [s.channels.len().to_string().as_str()], "channels formed");
    s.num(ctx, RPL_LUSERME, [], &format!("I have {users} clients and 0 servers"));
    let (u, m) = (users.to_string(), max.to_string());
    s.num(ctx, RPL_LOCALUSERS, [u.as_str(), m.as_str()], &format!("Current local users {users}, max {max}"));
    s.num(ctx, RPL_GLOBALUSERS, [u.as_str(), m.as_str()], &format!("Current global users {users}, max {max}"));
}

/// VERSION [<server>]
pub fn version(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    let server = s.cfg.server_name.clone();
    s.num(ctx, RPL_VERSION, [crate::VERSION, server.as_str()], "Hearth, a private chat server");
    crate::handlers::registration::isupport(s, ctx);
    Ok(())
}

/// TIME [<server>]
pub fn time(s: &mut Server, ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    let server = s.cfg.server_name.clone();
    s.num(ctx, RPL_TIME, [server.as_str()], &server_time(SystemTime::now()));
    Ok(())
}

/// SETNAME <realname>
pub fn setname(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let name = &msg.params[0];
    if name.is_empty() || name.chars().count() > s.cfg.realname_len {
        return Err(IrcError::Fail("INVALID_REALNAME", vec![], "Realname is empty or too long".into()));
    }
    let c = s.client_mut(ctx.id);
    c.realname = name.as_str().into();
    let m = Message::new("SETNAME").with_source(c.mask.as_str()).with_param(name.as_str());
    let mut relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
    let caps = s.session_caps(ctx);
    if caps.contains(Cap::Setname) {
        ctx.reply(relay.message_for(caps));
    }
    s.send_to_siblings(ctx, &mut relay, Some(Cap::Setname));
    let peers = s.peers(ctx.id);
    s.deliver(&mut relay, peers.clone(), None, Some(Cap::Setname));
    s.deliver_to_watchers(&mut relay, ctx.id, &peers, Cap::Setname);
    Ok(())
}

/// KILL <nick> [<reason>] — operators only.
pub fn kill(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(tid) = s.find_nick(&msg.params[0]) else {
        return Err(IrcError::NoSuchNick(msg.params[0].clone()));
    };
    let reason = msg.params.get(1).cloned().unwrap_or_else(|| "No reason given".into());
    let me = s.client(ctx.id);
    let killer = me.nick.clone();
    let m = Message::new("KILL")
        .with_source(me.mask.as_str())
        .with_param(s.client(tid).nick.as_str())
        .with_param(reason.as_str());
    // Every session of the user goes; the main one last, so that it is the one to QUIT.
    for sid in s.session_ids(tid) {
        s.send_message(sid, &m);
        s.quit_later(sid, format!("Killed ({killer} ({reason}))"));
    }
    Ok(())
}
