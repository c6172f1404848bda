//! Connection registration and session commands: CAP, PASS, NICK, USER, PING, PONG, QUIT.

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, casefold, is_valid_nick};

use crate::error::IrcError;
use crate::relay::Relay;
use crate::server::{Ctx, Server, server_time};

/// The capabilities this server offers.
pub const OFFERED: &[Cap] = &[
    Cap::AccountNotify,
    Cap::AccountTag,
    Cap::AwayNotify,
    Cap::Batch,
    Cap::CapNotify,
    Cap::EchoMessage,
    Cap::ExtendedJoin,
    Cap::InviteNotify,
    Cap::LabeledResponse,
    Cap::MessageTags,
    Cap::MultiPrefix,
    Cap::ServerTime,
    Cap::Setname,
    Cap::StandardReplies,
    Cap::UserhostInNames,
];

fn offered(cap: Cap) -> bool {
    OFFERED.contains(&cap)
}

/// CAP LS [version] | CAP LIST | CAP REQ :<caps> | CAP END
pub fn cap(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let sub = msg.params[0].to_ascii_uppercase();
    let nick = s.nick_of(ctx.id);
    let reply = |s: &Server, parts: &[&str]| {
        let mut m = s.server_msg("CAP").with_param(nick.as_str());
        for p in parts {
            m = m.with_param(*p);
        }
        m
    };
    match sub.as_str() {
        "LS" => {
            let version: u32 = msg.params.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            let c = s.client_mut(ctx.id);
            if !c.registered {
                c.cap_negotiating = true;
            }
            c.cap_version = c.cap_version.max(version);
            if version >= 302 {
                // cap-notify is implied by CAP LS 302.
                c.caps.insert(Cap::CapNotify);
            }
            let names: Vec<&str> = OFFERED.iter().map(|c| c.name()).collect();
            // Keep each line well under 512 bytes; 302 clients accept continuation lines.
            let mut chunks: Vec<String> = Vec::new();
            let mut cur = String::new();
            for n in names {
                if !cur.is_empty() && cur.len() + n.len() + 1 > 350 && version >= 302 {
                    chunks.push(std::mem::take(&mut cur));
                }
                if !cur.is_empty() {
                    cur.push(' ');
                }
                cur.push_str(n);
            }
            chunks.push(cur);
            let last = chunks.len() - 1;
            for (i, chunk) in chunks.iter().enumerate() {
                let m = if i < last { reply(s, &["LS", "*", chunk]) } else { reply(s, &["LS", chunk]) };
                ctx.reply(m);
            }
        }
        "LIST" => {
            let caps = s.client(ctx.id).caps;
            let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
            ctx.reply(reply(s, &["LIST", &names.join(" ")]));
        }
        "REQ" => {
            let Some(list) = msg.params.get(1) else {
                return Err(IrcError::NeedMoreParams);
            };
            let mut caps = s.client(ctx.id).caps;
            let mut ok = true;
            for item in list.split(' ').filter(|x| !x.is_empty()) {
                let (remove, name) = match item.strip_prefix('-') {
                    Some(n) => (true, n),
                    None => (false, item),
                };
                match Cap::from_name(name).filter(|c| offered(*c)) {
                    // cap-notify cannot be disabled by a 302 client.
                    Some(Cap::CapNotify) if remove && s.client(ctx.id).cap_version >= 302 => ok = false,
                    Some(c) if remove => {
                        caps.remove(c);
                    }
                    Some(c) => {
                        caps.insert(c);
                    }
                    None => ok = false,
                }
            }
            let verdict = if ok { "ACK" } else { "NAK" };
            let c = s.client_mut(ctx.id);
            if ok {
                c.caps = caps;
            }
            if !c.registered {
                c.cap_negotiating = true;
            }
            ctx.reply(reply(s, &[verdict, list]));
        }
        "END" => {
            let c = s.client_mut(ctx.id);
            if !c.registered {
                c.cap_negotiating = false;
                try_register(s, ctx);
            }
        }
        _ => return Err(IrcError::InvalidCapCmd(msg.params[0].clone())),
    }
    Ok(())
}

/// PASS <password>
pub fn pass(s: &mut Server, _ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let id = _ctx.id;
    if s.client(id).registered {
        return Err(IrcError::AlreadyRegistered);
    }
    let ok = s.cfg.password.as_deref().is_none_or(|p| constant_time_eq(p.as_bytes(), msg.params[0].as_bytes()));
    s.client_mut(id).pass_ok = ok;
    Ok(())
}

/// Compares secrets without leaking where they differ through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// NICK <nickname>
pub fn nick(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let Some(new) = msg.params.first().filter(|n| !n.is_empty()) else {
        return Err(IrcError::NoNicknameGiven);
    };
    if !is_valid_nick(new, s.cfg.nick_len) {
        return Err(IrcError::ErroneousNickname(new.clone()));
    }
    let key = casefold(new);
    if let Some(&owner) = s.nicks.get(&key)
        && owner != ctx.id
    {
        return Err(IrcError::NicknameInUse(new.clone()));
    }
    let c = s.client(ctx.id);
    if c.nick == *new {
        return Ok(());
    }
    let old_key = c.nick_key.clone();
    if c.registered {
        let m = Message::new("NICK").with_source(c.mask.as_str()).with_param(new.as_str());
        let mut relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
        let caps = c.caps;
        ctx.reply(relay.message_for(caps));
        let peers = s.peers(ctx.id);
        s.deliver(&mut relay, peers, None, None);
    }
    if !old_key.is_empty() {
        s.nicks.remove(&old_key);
    }
    s.nicks.insert(key.clone(), ctx.id);
    let c = s.client_mut(ctx.id);
    c.nick = new.clone();
    c.nick_key = key;
    c.update_mask();
    if !c.registered {
        try_register(s, ctx);
    }
    Ok(())
}

/// USER <username> <mode> <unused> <realname>
pub fn user(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let realname_len = s.cfg.realname_len;
    let c = s.client_mut(ctx.id);
    if c.registered {
        return Err(IrcError::AlreadyRegistered);
    }
    // No ident lookup: the username is the client's claim, marked with '~'.
    let name: String =
        msg.params[0].chars().filter(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(*ch)).take(15).collect();
    c.user = format!("~{}", if name.is_empty() { "user" } else { &name });
    c.realname = msg.params[3].chars().take(realname_len).collect();
    c.got_user = true;
    c.update_mask();
    try_register(s, ctx);
    Ok(())
}

/// Finishes registration once NICK, USER (and CAP END, and PASS) are in.
fn try_register(s: &mut Server, ctx: &mut Ctx) {
    let c = s.client(ctx.id);
    if c.registered || c.nick_key.is_empty() || !c.got_user || c.cap_negotiating {
        return;
    }
    if s.cfg.password.is_some() && !c.pass_ok {
        let e = IrcError::PasswdMismatch.to_message(&s.cfg.server_name, &c.nick, "PASS");
        ctx.reply(e);
        s.quit_later(ctx.id, "Bad server password".into());
        return;
    }
    s.client_mut(ctx.id).registered = true;
    s.stats.max_users = s.stats.max_users.max(s.user_count());
    welcome(s, ctx);
}

/// 001–005, LUSERS and MOTD.
fn welcome(s: &mut Server, ctx: &mut Ctx) {
    let version = crate::VERSION;
    let c = s.client(ctx.id);
    let mask = c.mask.clone();
    let server = s.cfg.server_name.clone();
    let network = s.cfg.network.clone();
    s.num(ctx, RPL_WELCOME, [], &format!("Welcome to the {network} IRC Network {mask}"));
    s.num(ctx, RPL_YOURHOST, [], &format!("Your host is {server}, running version {version}"));
    s.num(ctx, RPL_CREATED, [], &format!("This server was created {}", server_time(s.created)));
    let nick = s.nick_of(ctx.id);
    ctx.reply(
        s.server_msg(RPL_MYINFO)
            .with_param(nick)
            .with_param(server.as_str())
            .with_param(version)
            .with_param("io")
            .with_param("biklmnostv")
            .with_param("bklov"),
    );
    isupport(s, ctx);
    crate::handlers::query::send_lusers(s, ctx);
    crate::handlers::query::send_motd(s, ctx);
    let modes = s.client(ctx.id).mode_string();
    if modes != "+" {
        let nick = s.nick_of(ctx.id);
        ctx.reply(s.server_msg("MODE").with_param(nick.as_str()).with_param(modes));
    }
}

/// RPL_ISUPPORT lines, at most 13 tokens each.
pub(crate) fn isupport(s: &Server, ctx: &mut Ctx) {
    let nick = s.nick_of(ctx.id);
    for chunk in s.isupport.chunks(13) {
        let mut m = s.server_msg(RPL_ISUPPORT).with_param(nick.as_str());
        for t in chunk {
            m = m.with_param(t.as_str());
        }
        ctx.reply(m.with_param("are supported by this server"));
    }
}

/// PING <token>
pub fn ping(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let server = s.cfg.server_name.clone();
    ctx.reply(s.server_msg("PONG").with_param(server).with_param(msg.params[0].as_str()));
    Ok(())
}

/// PONG [server] <token> — liveness is tracked by the listener on any input.
pub fn pong(_s: &mut Server, _ctx: &mut Ctx, _msg: &Message) -> Result<(), IrcError> {
    Ok(())
}

/// QUIT [<reason>]
pub fn quit(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let reason = match msg.params.first().filter(|r| !r.is_empty()) {
        Some(r) => format!("Quit: {r}"),
        None => "Client Quit".into(),
    };
    s.quit_later(ctx.id, reason);
    Ok(())
}
