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
    Cap::ChannelRename,
    Cap::ExtendedJoin,
    Cap::ExtendedMonitor,
    Cap::InviteNotify,
    Cap::LabeledResponse,
    Cap::MessageRedaction,
    Cap::MessageTags,
    Cap::MultiPrefix,
    Cap::ServerTime,
    Cap::Setname,
    Cap::StandardReplies,
    Cap::UserhostInNames,
];

/// The capabilities this server offers right now, with their CAP LS 302 values.
pub fn offered(s: &Server) -> Vec<(Cap, Option<&'static str>)> {
    let mut caps: Vec<(Cap, Option<&'static str>)> = OFFERED.iter().map(|c| (*c, None)).collect();
    if s.services.is_some() {
        caps.push((Cap::Sasl, Some(if s.cfg.sasl_external { "PLAIN,EXTERNAL" } else { "PLAIN" })));
        caps.push((Cap::ReadMarker, None));
        if s.cfg.history {
            caps.push((Cap::ChatHistory, None));
            caps.push((Cap::EventPlayback, None));
            caps.push((Cap::Search, None));
        }
        if s.cfg.open_registration {
            caps.push((Cap::AccountRegistration, Some("before-connect")));
        }
    }
    caps.push((Cap::Multiline, Some(crate::handlers::multiline::CAP_VALUE)));
    caps.sort_by_key(|(c, _)| c.name());
    caps
}

/// CAP LS [version] | CAP LIST | CAP REQ :<caps> | CAP END
pub fn cap(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let sub = msg.params[0].to_ascii_uppercase();
    // Caps belong to the connection, not to the user: each session negotiates its own.
    let nick = s.nick_of(ctx.session);
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
            let c = s.client_mut(ctx.session);
            if !c.registered {
                c.cap_negotiating = true;
            }
            c.cap_version = c.cap_version.max(version);
            if version >= 302 {
                // cap-notify is implied by CAP LS 302.
                c.caps.insert(Cap::CapNotify);
            }
            let mut names: Vec<String> = offered(s)
                .into_iter()
                .map(|(c, v)| match v {
                    Some(v) if version >= 302 => format!("{}={v}", c.name()),
                    _ => c.name().to_string(),
                })
                .collect();
            // STS is announced, never requested (so it is not in `offered`); its value
            // depends on the connection: the TLS port, or the policy's duration on TLS.
            if let Some(sts) = &s.cfg.sts
                && version >= 302
            {
                names.push(format!("{}={}", Cap::Sts.name(), sts.value(s.client(ctx.session).conn.tls)));
                names.sort();
            }
            // Keep each line well under 512 bytes; 302 clients accept continuation lines.
            let mut chunks: Vec<String> = Vec::new();
            let mut cur = String::new();
            for n in &names {
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
            let caps = s.client(ctx.session).caps;
            let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
            ctx.reply(reply(s, &["LIST", &names.join(" ")]));
        }
        "REQ" => {
            let Some(list) = msg.params.get(1) else {
                return Err(IrcError::NeedMoreParams);
            };
            let mut caps = s.client(ctx.session).caps;
            let available = offered(s);
            let mut ok = true;
            for item in list.split(' ').filter(|x| !x.is_empty()) {
                let (remove, name) = match item.strip_prefix('-') {
                    Some(n) => (true, n),
                    None => (false, item),
                };
                match Cap::from_name(name).filter(|c| available.iter().any(|(o, _)| o == c)) {
                    // cap-notify cannot be disabled by a 302 client.
                    Some(Cap::CapNotify) if remove && s.client(ctx.session).cap_version >= 302 => ok = false,
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
            let c = s.client_mut(ctx.session);
            if ok {
                c.caps = caps;
            }
            if !c.registered {
                c.cap_negotiating = true;
            }
            ctx.reply(reply(s, &[verdict, list]));
        }
        "END" => {
            let c = s.client_mut(ctx.session);
            if !c.registered {
                c.cap_negotiating = false;
                try_register(s, ctx);
            }
        }
        _ => return Err(IrcError::InvalidCapCmd(msg.params[0].clone())),
    }
    Ok(())
}

/// PASS <password> | PASS <account>:<password>
///
/// With a server password configured, PASS is that password. Otherwise, on a server
/// with accounts, `account:password` logs in (for clients without SASL).
pub fn pass(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let id = ctx.id;
    if s.client(id).registered {
        return Err(IrcError::AlreadyRegistered);
    }
    let given = &msg.params[0];
    match s.cfg.password.as_deref() {
        Some(p) => s.client_mut(id).pass_ok = constant_time_eq(p.as_bytes(), given.as_bytes()),
        None => {
            let login = given.split_once(':').filter(|_| s.services.is_some());
            let c = s.client_mut(id);
            c.pass_ok = true;
            c.pass_login = login.map(|(a, p)| Box::new((a.to_string(), p.to_string())));
        }
    }
    Ok(())
}

/// True when `key` (casefolded nick) is an account name that `id` is not logged in as.
fn reserved_for_other(s: &Server, id: crate::ConnId, key: &str) -> bool {
    s.account_names.contains(key) && s.client(id).account.as_deref().map(casefold).as_deref() != Some(key)
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
    if let Some(&owner) = s.nicks.get(key.as_str())
        && owner != ctx.id
        && !may_become_session(s, ctx.id, owner)
    {
        return Err(IrcError::NicknameInUse(new.clone()));
    }
    if s.client(ctx.id).registered && reserved_for_other(s, ctx.id, &key) {
        return Err(IrcError::NicknameReserved(new.clone()));
    }
    let c = s.client(ctx.id);
    if c.nick == *new {
        return Ok(());
    }
    let old_key = c.nick_key.clone();
    if c.registered {
        let departed = crate::whowas::Entry::of(c, std::time::SystemTime::now());
        s.whowas.record(departed);
        let c = s.client(ctx.id);
        let m = Message::new("NICK").with_source(c.mask.as_str()).with_param(new.as_str());
        let mut relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
        let caps = s.session_caps(ctx);
        ctx.reply(relay.message_for(caps));
        s.send_to_siblings(ctx, &mut relay, None);
        let peers = s.peers(ctx.id);
        s.deliver(&mut relay, peers, None, None);
        // draft/event-playback: the change is part of every channel's history.
        let c = s.client(ctx.id);
        let (mask, account, channels) = (c.mask.clone(), c.account.clone(), c.channels.clone());
        for key in channels {
            crate::handlers::history::record_event(s, &key, &mask, account.clone(), "NICK", new.clone());
        }
    }
    if !old_key.is_empty() && s.nicks.get(old_key.as_str()) == Some(&ctx.id) {
        s.nicks.remove(old_key.as_str());
    }
    // A nick held by a logged-in user stays theirs until try_register decides.
    s.nicks.entry(key.as_str().into()).or_insert(ctx.id);
    let old_nick = std::mem::replace(&mut s.client_mut(ctx.id).nick, new.as_str().into());
    let renamed = old_key != key;
    let c = s.client_mut(ctx.id);
    c.nick_key = key.into();
    c.update_mask();
    if !c.registered {
        try_register(s, ctx);
    } else {
        // MONITOR: the old nick went offline (unless only its case changed), the new
        // one came online.
        if renamed {
            s.monitor_offline(&old_nick);
        }
        s.monitor_online(ctx.id);
    }
    Ok(())
}

/// Before registration, a nick held by a logged-in user is not refused at once: this
/// connection may be logging in to the same account, to become one more session of
/// that user ([`crate::sessions`]). [`try_register`] decides once the login is known.
fn may_become_session(s: &Server, id: crate::ConnId, owner: crate::ConnId) -> bool {
    s.cfg.max_sessions > 1
        && !s.client(id).registered
        && s.clients.get(&owner).is_some_and(|o| o.registered && o.account.is_some())
}

/// USER <username> <mode> <unused> <realname>
pub fn user(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let realname_len = s.cfg.realname_len;
    let c = s.client_mut(ctx.id);
    if c.registered {
        return Err(IrcError::AlreadyRegistered);
    }
    // An empty username or realname counts as missing (Modern IRC, USER message).
    if msg.params[0].is_empty() || msg.params[3].is_empty() {
        return Err(IrcError::NeedMoreParams);
    }
    // No ident lookup: the username is the client's claim, marked with '~'.
    let name: String =
        msg.params[0].chars().filter(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(*ch)).take(15).collect();
    c.user = compact_str::format_compact!("~{}", if name.is_empty() { "user" } else { &name });
    c.realname = msg.params[3].chars().take(realname_len).collect();
    c.got_user = true;
    c.update_mask();
    try_register(s, ctx);
    Ok(())
}

/// Finishes registration once NICK, USER (and CAP END, PASS, a login) are in.
pub(crate) fn try_register(s: &mut Server, ctx: &mut Ctx) {
    let c = s.client(ctx.id);
    if c.registered || c.nick_key.is_empty() || !c.got_user || c.cap_negotiating || c.auth_pending {
        return;
    }
    if s.cfg.password.is_some() && !c.pass_ok {
        let e = IrcError::PasswdMismatch.to_message(&s.cfg.server_name, &c.nick, "PASS");
        ctx.reply(e);
        s.quit_later(ctx.id, "Bad server password".into());
        return;
    }
    if let Some((account, password)) = s.client_mut(ctx.id).pass_login.take().map(|b| *b)
        && s.client(ctx.id).account.is_none()
    {
        crate::auth::start_login(s, ctx.id, account, password, crate::auth::Via::Pass, ctx.label.clone());
        return;
    }
    let c = s.client(ctx.id);
    if s.services.is_some() && s.cfg.require_login && c.account.is_none() {
        let how = if s.cfg.open_registration {
            "log in with SASL PLAIN or PASS account:password, or create an account with REGISTER"
        } else {
            "log in with SASL PLAIN, or give account:password as the server password (PASS); \
             ask the administrator for an account (hearth user add NAME)"
        };
        let nick = c.nick.clone();
        ctx.reply(
            s.server_msg("NOTICE").with_param(nick.as_str()).with_param(format!("This server needs an account: {how}")),
        );
        if c.caps.contains(Cap::StandardReplies) {
            ctx.reply(IrcError::Fail("ACCOUNT_REQUIRED", vec![], format!("Login required: {how}")).to_message(
                &s.cfg.server_name,
                &nick,
                "*",
            ));
        }
        s.quit_later(ctx.id, "Login required".into());
        return;
    }
    if reserved_for_other(s, ctx.id, &c.nick_key) {
        let nick = c.nick.clone();
        ctx.reply(IrcError::NicknameReserved(nick.to_string()).to_message(&s.cfg.server_name, "*", "NICK"));
        return;
    }
    if let Some(&owner) = s.nicks.get(c.nick_key.as_str())
        && owner != ctx.id
    {
        match s.may_attach(ctx.id, owner) {
            Ok(()) => {
                s.attach(ctx, owner);
                welcome(s, ctx);
                s.replay_user_state(ctx);
                crate::handlers::accept::on_login(s, ctx);
                crate::presence::logged_in(s, ctx);
            }
            Err(why) => {
                let c = s.client_mut(ctx.id);
                let nick = std::mem::replace(&mut c.nick, "*".into());
                // Not registered: the client picks another nick, as after any 433.
                c.nick_key.clear();
                let mut m = IrcError::NicknameInUse(nick.to_string()).to_message(&s.cfg.server_name, "*", "NICK");
                if let crate::sessions::NoAttach::Full(max) = why {
                    let text =
                        format!("Nickname is already in use: its account has {max} connections, the most allowed");
                    *m.params.last_mut().expect("433 has a text") = text;
                }
                ctx.reply(m);
            }
        }
        return;
    }
    s.client_mut(ctx.id).registered = true;
    s.stats.max_users = s.stats.max_users.max(s.user_count());
    welcome(s, ctx);
    s.monitor_online(ctx.id);
    for room in s.cfg.default_rooms.clone() {
        crate::handlers::channel::join_default(s, ctx, &room);
    }
    crate::handlers::accept::on_login(s, ctx);
    crate::presence::logged_in(s, ctx);
}

/// 001–005, LUSERS and MOTD.
fn welcome(s: &mut Server, ctx: &mut Ctx) {
    let version = crate::VERSION;
    let account = crate::chat::account_key(s, ctx.id);
    s.client_mut(ctx.id).caller_id = crate::chat::caller_id(s, account.as_deref());
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
            .with_param("Bgiow")
            .with_param("HIbeiklmnostv")
            .with_param("Ibeklov"),
    );
    isupport(s, ctx);
    crate::handlers::query::send_lusers(s, ctx);
    crate::handlers::query::send_motd(s, ctx);
    let modes = s.client(ctx.id).mode_string();
    if modes != "+" {
        let nick = s.nick_of(ctx.id);
        ctx.reply(s.server_msg("MODE").with_param(nick.as_str()).with_param(modes));
    }
    if s.client(ctx.id).oper {
        s.num(ctx, RPL_YOUREOPER, [], "You are now an IRC operator");
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
    // Only this connection: another session of the same user carries on.
    s.quit_later(ctx.session, reason);
    Ok(())
}
