//! Channel membership and channel state: JOIN, PART, TOPIC, NAMES, LIST, KICK, INVITE.

use std::time::SystemTime;

use hearth_proto::numeric::*;
use hearth_proto::{Cap, Message, casefold, is_valid_channel};

use crate::channel::{self, Channel, OP, Topic};
use crate::client::ConnId;
use crate::error::IrcError;
use crate::extban::Subject;
use crate::handlers::history::{self, Markers};
use crate::outbound::StoreOp;
use crate::relay::Relay;
use crate::server::{Ctx, Server, unix_secs};

/// JOIN <channel>{,<channel>} [<key>{,<key>}] | JOIN 0
pub fn join(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    if msg.params[0] == "0" {
        let keys = s.client(ctx.id).channels.clone();
        for key in keys {
            part_one(s, ctx, &key, None);
        }
        return Ok(());
    }
    let keys: Vec<String> = msg.params.get(1).map(|k| k.split(',').map(str::to_string).collect()).unwrap_or_default();
    let names: Vec<String> = msg.params[0].split(',').filter(|n| !n.is_empty()).map(str::to_string).collect();
    let run = move |s: &mut Server, ctx: &mut Ctx, markers: &Markers| {
        for (i, name) in names.iter().enumerate() {
            if let Err(e) = join_one(s, ctx, name, keys.get(i).map(String::as_str), markers) {
                let nick = s.nick_of(ctx.id);
                ctx.reply(e.to_message(&s.cfg.server_name, &nick, "JOIN"));
            }
        }
    };
    if history::join_needs_markers(s, ctx.session) {
        let wanted = msg.params[0].split(',').map(casefold).collect();
        history::join_with_markers(s, ctx.id, ctx.session, ctx.label.take(), wanted, run);
    } else {
        run(s, ctx, &Markers::new());
    }
    Ok(())
}

/// Joins a room from the configuration's `rooms.default` after registration.
pub(crate) fn join_default(s: &mut Server, ctx: &mut Ctx, name: &str) {
    let wanted = vec![casefold(name)];
    let name = name.to_string();
    let run = move |s: &mut Server, ctx: &mut Ctx, markers: &Markers| {
        if let Err(e) = join_one(s, ctx, &name, None, markers) {
            let nick = s.nick_of(ctx.id);
            ctx.reply(e.to_message(&s.cfg.server_name, &nick, "JOIN"));
        }
    };
    if history::join_needs_markers(s, ctx.session) {
        history::join_with_markers(s, ctx.id, ctx.session, None, wanted, run);
    } else {
        run(s, ctx, &Markers::new());
    }
}

fn join_one(s: &mut Server, ctx: &mut Ctx, name: &str, key: Option<&str>, markers: &Markers) -> Result<(), IrcError> {
    if !is_valid_channel(name, s.cfg.channel_len) {
        return Err(IrcError::NoSuchChannel(name.to_string()));
    }
    let chan_key = casefold(name);
    let c = s.client(ctx.id);
    if c.channels.iter().any(|k| *k == chan_key) {
        return Ok(());
    }
    if c.channels.len() >= s.cfg.max_channels_per_user {
        return Err(IrcError::TooManyChannels(name.to_string()));
    }
    let invited = c.invites.iter().any(|k| *k == chan_key);
    let who = Subject { mask: &c.mask, account: c.account.as_deref() };
    let account = c.account.as_deref().map(casefold);
    let status = match s.channels.get(&chan_key) {
        Some(ch) if ch.members.is_empty() && ch.op_accounts.is_empty() && ch.persistent => {
            // A stored room nobody runs yet: the first person in takes it over.
            check_entry(ch, c.oper, invited, who, key)?;
            if let Some(acct) = &account {
                let room = chan_key.clone();
                s.store_op(StoreOp::AddOperator(room, acct.clone()));
                s.channels.get_mut(&chan_key).expect("exists").op_accounts.push(acct.clone());
            }
            OP
        }
        Some(ch) => {
            check_entry(ch, c.oper, invited, who, key)?;
            if account.as_ref().is_some_and(|a| ch.op_accounts.contains(a)) { OP } else { 0 }
        }
        None => {
            let mut ch = Channel::new(name);
            ch.persistent = s.services.is_some();
            ch.modes.joined_history = s.cfg.history_visibility == crate::visibility::Visibility::Joined;
            let persistent = ch.persistent;
            s.channels.insert(chan_key.clone(), ch);
            // The room must be stored before its operator list refers to it.
            s.persist_room(&chan_key);
            if let Some(acct) = account.filter(|_| persistent) {
                s.channels.get_mut(&chan_key).expect("just inserted").op_accounts.push(acct.clone());
                s.store_op(StoreOp::AddOperator(chan_key.clone(), acct));
            }
            OP
        }
    };
    let ch = s.channels.get_mut(&chan_key).expect("just checked or created");
    ch.members.insert(ctx.id, status);
    let display = ch.name.clone();
    crate::visibility::joined(s, ctx.id, &chan_key);
    let c = s.client_mut(ctx.id);
    c.channels.push(chan_key.as_str().into());
    c.invites.retain(|k| *k != chan_key);
    announce_join(s, ctx, &chan_key, &display);
    send_topic(s, ctx, &chan_key, false);
    history::join_marker(s, ctx, &chan_key, &display, markers);
    send_names(s, ctx, &chan_key);
    history::after_join(s, ctx, &chan_key, &display);
    s.for_siblings(ctx, |s, sctx| show_join(s, sctx, &chan_key, Some(markers)));
    Ok(())
}

/// What a session of a user already in a channel is shown as if it had just joined:
/// its own JOIN, the topic, the read marker, the names and recent messages (another
/// session joined: `markers` are the ones fetched for that JOIN; or it attached:
/// `None`, and the marker is fetched and follows).
pub(crate) fn show_join(s: &mut Server, ctx: &mut Ctx, chan_key: &str, markers: Option<&Markers>) {
    let Some(display) = s.channels.get(chan_key).map(|c| c.name.clone()) else { return };
    let c = s.client(ctx.id);
    let caps = s.session_caps(ctx);
    let mut m = Message::new("JOIN").with_source(c.mask.as_str()).with_param(display.as_str());
    if caps.contains(Cap::ExtendedJoin) {
        m = m.with_param(c.account.as_deref().unwrap_or("*")).with_param(c.realname.as_str());
    }
    let relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
    ctx.reply(relay.message_for(caps));
    send_topic(s, ctx, chan_key, false);
    match markers {
        Some(markers) => history::join_marker(s, ctx, chan_key, &display, markers),
        None => history::marker_later(s, ctx.session, chan_key, &display),
    }
    send_names(s, ctx, chan_key);
    history::after_join(s, ctx, chan_key, &display);
}

/// May a client (oper? invited? who it is, the key it gave) enter `ch`?
fn check_entry(ch: &Channel, oper: bool, invited: bool, who: Subject<'_>, key: Option<&str>) -> Result<(), IrcError> {
    if invited || oper {
        return Ok(());
    }
    if ch.is_banned(who) {
        return Err(IrcError::BannedFromChan(ch.name.clone()));
    }
    // Modern IRC, invite-exception mode: "If their nickmask matches any one of the
    // masks set by this mode, and the channel is in invite-only mode, they do not need
    // to require an INVITE in order to join the channel."
    if ch.modes.invite_only && !ch.is_invex(who) {
        return Err(IrcError::InviteOnlyChan(ch.name.clone()));
    }
    if ch.modes.key.as_deref().is_some_and(|k| Some(k) != key) {
        return Err(IrcError::BadChannelKey(ch.name.clone()));
    }
    if ch.modes.limit.is_some_and(|l| ch.members.len() >= l) {
        return Err(IrcError::ChannelIsFull(ch.name.clone()));
    }
    Ok(())
}

/// Tells the channel (and the joiner, through its replies) that `ctx.id` joined.
fn announce_join(s: &mut Server, ctx: &mut Ctx, chan_key: &str, display: &str) {
    let c = s.client(ctx.id);
    let time = Server::now_time();
    let plain = Message::new("JOIN").with_source(c.mask.as_str()).with_param(display);
    let extended = plain.clone().with_param(c.account.as_deref().unwrap_or("*")).with_param(c.realname.as_str());
    let account = c.account.clone();
    let mut plain = Relay::new(plain, time.clone()).with_account(account.clone());
    let mut extended = Relay::new(extended, time).with_account(account);
    let (mask, account, realname) = (c.mask.clone(), c.account.clone(), c.realname.clone());
    let caps = s.session_caps(ctx);
    let own = if caps.contains(Cap::ExtendedJoin) { &extended } else { &plain };
    ctx.reply(own.message_for(caps));
    history::record_event(s, chan_key, &mask, account, "JOIN", realname.to_string());
    let members = s.members(chan_key);
    let (ext, std): (Vec<ConnId>, Vec<ConnId>) =
        members.into_iter().partition(|id| s.clients.get(id).is_some_and(|c| c.caps.contains(Cap::ExtendedJoin)));
    s.deliver(&mut extended, ext, Some(ctx.id), None);
    s.deliver(&mut plain, std, Some(ctx.id), None);
    // away-notify: a user who joins while away is announced as away right after.
    let c = s.client(ctx.id);
    if let Some(text) = c.away.clone() {
        let m = Message::new("AWAY").with_source(c.mask.as_str()).with_param(text);
        let mut away = Relay::new(m, Server::now_time()).with_account(c.account.clone());
        let members = s.members(chan_key);
        s.deliver(&mut away, members, Some(ctx.id), Some(Cap::AwayNotify));
    }
}

/// PART <channel>{,<channel>} [<reason>]
pub fn part(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let reason = msg.params.get(1).map(String::as_str);
    for name in msg.params[0].split(',').filter(|n| !n.is_empty()) {
        let key = casefold(name);
        let err = if !s.channels.contains_key(&key) {
            Some(IrcError::NoSuchChannel(name.to_string()))
        } else if !s.client(ctx.id).channels.iter().any(|k| *k == key) {
            Some(IrcError::NotOnChannel(name.to_string()))
        } else {
            part_one(s, ctx, &key, reason);
            None
        };
        if let Some(e) = err {
            let nick = s.nick_of(ctx.id);
            ctx.reply(e.to_message(&s.cfg.server_name, &nick, "PART"));
        }
    }
    Ok(())
}

/// Removes `ctx.id` from a channel it is in, telling everyone there.
fn part_one(s: &mut Server, ctx: &mut Ctx, chan_key: &str, reason: Option<&str>) {
    let Some(ch) = s.channels.get(chan_key) else { return };
    let c = s.client(ctx.id);
    let mut m = Message::new("PART").with_source(c.mask.as_str()).with_param(ch.name.as_str());
    if let Some(r) = reason.filter(|r| !r.is_empty()) {
        m = m.with_param(r);
    }
    let mut relay = Relay::new(m, Server::now_time()).with_account(c.account.clone());
    let (mask, account) = (c.mask.clone(), c.account.clone());
    let caps = s.session_caps(ctx);
    ctx.reply(relay.message_for(caps));
    s.send_to_siblings(ctx, &mut relay, None);
    let members = s.members(chan_key);
    s.deliver(&mut relay, members, Some(ctx.id), None);
    history::record_event(s, chan_key, &mask, account, "PART", reason.unwrap_or_default().to_string());
    remove_member(s, chan_key, ctx.id);
}

/// Drops `id` from a channel's member list (and the channel if it is now empty).
pub(crate) fn remove_member(s: &mut Server, chan_key: &str, id: ConnId) {
    crate::visibility::left(s, id, chan_key);
    if let Some(ch) = s.channels.get_mut(chan_key) {
        ch.members.remove(&id);
        if ch.members.is_empty() && !ch.persistent {
            s.channels.remove(chan_key);
        }
    }
    if let Some(c) = s.clients.get_mut(&id) {
        c.channels.retain(|k| k != chan_key);
    }
}

/// TOPIC <channel> [<topic>]
pub fn topic(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let name = &msg.params[0];
    let key = casefold(name);
    let Some(ch) = s.channels.get(&key) else {
        return Err(IrcError::NoSuchChannel(name.clone()));
    };
    let member = ch.members.contains_key(&ctx.id);
    let Some(text) = msg.params.get(1) else {
        if !member && ch.modes.secret && !s.client(ctx.id).oper {
            return Err(IrcError::NotOnChannel(name.clone()));
        }
        send_topic(s, ctx, &key, true);
        return Ok(());
    };
    if !member {
        return Err(IrcError::NotOnChannel(name.clone()));
    }
    if ch.modes.topic_lock && !ch.is_op(ctx.id) && !s.client(ctx.id).oper {
        return Err(IrcError::ChanOpPrivsNeeded(ch.name.clone()));
    }
    let text: String = text.chars().take(s.cfg.topic_len).collect();
    let c = s.client(ctx.id);
    let mask = c.mask.clone();
    let account = c.account.clone();
    let caps = s.session_caps(ctx);
    let ch = s.channels.get_mut(&key).expect("checked above");
    ch.topic =
        (!text.is_empty()).then(|| Topic { text: text.clone(), setter: mask.to_string(), time: SystemTime::now() });
    let m = Message::new("TOPIC").with_source(mask.as_str()).with_param(ch.name.as_str()).with_param(text.as_str());
    let mut relay = Relay::new(m, Server::now_time()).with_account(account.clone());
    ctx.reply(relay.message_for(caps));
    s.send_to_siblings(ctx, &mut relay, None);
    let members = s.members(&key);
    s.deliver(&mut relay, members, Some(ctx.id), None);
    history::record_event(s, &key, &mask, account, "TOPIC", text);
    s.persist_room(&key);
    Ok(())
}

/// RPL_TOPIC + RPL_TOPICWHOTIME, or RPL_NOTOPIC when `always` (a TOPIC query).
pub(crate) fn send_topic(s: &Server, ctx: &mut Ctx, chan_key: &str, always: bool) {
    let Some(ch) = s.channels.get(chan_key) else { return };
    match &ch.topic {
        Some(t) => {
            s.num(ctx, RPL_TOPIC, [ch.name.as_str()], &t.text);
            let nick = s.nick_of(ctx.id);
            ctx.reply(
                s.server_msg(RPL_TOPICWHOTIME)
                    .with_param(nick)
                    .with_param(ch.name.as_str())
                    .with_param(t.setter.as_str())
                    .with_param(unix_secs(t.time)),
            );
        }
        None if always => s.num(ctx, RPL_NOTOPIC, [ch.name.as_str()], "No topic is set"),
        None => {}
    }
}

/// NAMES [<channel>{,<channel>}]
pub fn names(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let oper = s.client(ctx.id).oper;
    match msg.params.first() {
        Some(list) => {
            for name in list.split(',').filter(|n| !n.is_empty()) {
                let key = casefold(name);
                let visible =
                    s.channels.get(&key).is_some_and(|ch| !ch.modes.secret || ch.members.contains_key(&ctx.id) || oper);
                if visible {
                    send_names(s, ctx, &key);
                } else {
                    s.num(ctx, RPL_ENDOFNAMES, [name], "End of /NAMES list");
                }
            }
        }
        None => s.num(ctx, RPL_ENDOFNAMES, ["*"], "End of /NAMES list"),
    }
    Ok(())
}

/// RPL_NAMREPLY lines (split to fit) and RPL_ENDOFNAMES.
pub(crate) fn send_names(s: &Server, ctx: &mut Ctx, chan_key: &str) {
    let Some(ch) = s.channels.get(chan_key) else { return };
    let me = s.client(ctx.id);
    let caps = s.session_caps(ctx);
    let multi = caps.contains(Cap::MultiPrefix);
    let full = caps.contains(Cap::UserhostInNames);
    let member = ch.members.contains_key(&ctx.id);
    let symbol = if ch.modes.secret { "@" } else { "=" };
    let mut entries: Vec<String> = Vec::with_capacity(ch.members.len());
    for (id, status) in &ch.members {
        let Some(c) = s.clients.get(id) else { continue };
        if !member && c.invisible {
            continue;
        }
        let who = if full { c.mask.as_str() } else { c.nick.as_str() };
        entries.push(format!("{}{}", channel::prefixes(*status, multi), who));
    }
    entries.sort_unstable();
    let budget = 400usize.saturating_sub(ch.name.len() + me.nick.len());
    let mut line = String::new();
    for e in entries {
        if !line.is_empty() && line.len() + e.len() + 1 > budget {
            s.num(ctx, RPL_NAMREPLY, [symbol, ch.name.as_str()], &line);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&e);
    }
    if !line.is_empty() {
        s.num(ctx, RPL_NAMREPLY, [symbol, ch.name.as_str()], &line);
    }
    s.num(ctx, RPL_ENDOFNAMES, [ch.name.as_str()], "End of /NAMES list");
}

/// LIST [<channel>{,<channel>}] [<filter>{,<filter>}]
///
/// Search extensions (ELIST=CMNTU), as Modern IRC defines them: "C: Searching based on
/// channel creation time, via the "C<val" and "C>val" modifiers to search for a channel
/// that was created either less than val minutes ago, or more than val minutes ago,
/// respectively"; "M: Searching based on a mask."; "N: Searching based on a
/// non-matching !mask. i.e., the opposite of M."; "T: Searching based on topic set
/// time, via the "T<val" and "T>val" modifiers …"; "U: Searching based on user count
/// within the channel, via the "<val" and ">val" modifiers".
pub fn list(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let oper = s.client(ctx.id).oper;
    let filter = ListFilter::parse(&msg.params);
    let now = SystemTime::now();
    s.num(ctx, RPL_LISTSTART, ["Channel"], "Users  Name");
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (key, ch) in &s.channels {
        // Secret rooms are listed to their members and to operators (admins) only.
        if ch.modes.secret && !ch.members.contains_key(&ctx.id) && !oper {
            continue;
        }
        if !filter.admits(key, ch, now) {
            continue;
        }
        let topic = ch.topic.as_ref().map(|t| t.text.clone()).unwrap_or_default();
        rows.push((ch.name.clone(), ch.members.len().to_string(), topic));
    }
    rows.sort();
    for (name, count, topic) in rows {
        s.num(ctx, RPL_LIST, [name.as_str(), count.as_str()], &topic);
    }
    s.num(ctx, RPL_LISTEND, [], "End of /LIST");
    Ok(())
}

/// The conditions of one LIST command; every one must hold.
#[derive(Debug, Default)]
struct ListFilter {
    /// Casefolded channel names or masks (M); any may match. `None`: all channels.
    masks: Option<Vec<String>>,
    /// Casefolded `!mask`s (N); none may match.
    not_masks: Vec<String>,
    min_users: usize,
    max_users: Option<usize>,
    /// Created at least / at most this many minutes ago (C>n / C<n).
    created_before_min: Option<u64>,
    created_within_min: Option<u64>,
    /// Topic set at least / at most this many minutes ago (T>n / T<n).
    topic_before_min: Option<u64>,
    topic_within_min: Option<u64>,
}

impl ListFilter {
    fn parse(params: &[String]) -> Self {
        let mut f = ListFilter::default();
        for item in params.iter().flat_map(|p| p.split(',')).filter(|i| !i.is_empty()) {
            let num = |s: &str| s.trim().parse::<u64>().ok();
            if let Some(n) = item.strip_prefix('>') {
                f.min_users = num(n).map_or(0, |n| n as usize + 1);
            } else if let Some(n) = item.strip_prefix('<') {
                f.max_users = num(n).map(|n| (n as usize).saturating_sub(1));
            } else if let Some(n) = item.strip_prefix("C>") {
                f.created_before_min = num(n);
            } else if let Some(n) = item.strip_prefix("C<") {
                f.created_within_min = num(n);
            } else if let Some(n) = item.strip_prefix("T>") {
                f.topic_before_min = num(n);
            } else if let Some(n) = item.strip_prefix("T<") {
                f.topic_within_min = num(n);
            } else if let Some(m) = item.strip_prefix('!') {
                f.not_masks.push(casefold(m));
            } else {
                f.masks.get_or_insert_with(Vec::new).push(casefold(item));
            }
        }
        f
    }

    fn admits(&self, key: &str, ch: &Channel, now: SystemTime) -> bool {
        let n = ch.members.len();
        let minutes_ago = |t: SystemTime| now.duration_since(t).map(|d| d.as_secs() / 60).unwrap_or(0);
        let created = minutes_ago(ch.created);
        let topic = ch.topic.as_ref().map(|t| minutes_ago(t.time));
        let matches = |m: &String| *m == key || hearth_proto::mask_matches(m, key);
        self.masks.as_ref().is_none_or(|ms| ms.iter().any(matches))
            && !self.not_masks.iter().any(matches)
            && n >= self.min_users
            && self.max_users.is_none_or(|max| n <= max)
            && self.created_before_min.is_none_or(|m| created > m)
            && self.created_within_min.is_none_or(|m| created < m)
            && self.topic_before_min.is_none_or(|m| topic.is_some_and(|t| t > m))
            && self.topic_within_min.is_none_or(|m| topic.is_some_and(|t| t < m))
    }
}

/// KICK <channel> <user>{,<user>} [<comment>]
pub fn kick(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let name = &msg.params[0];
    let key = casefold(name);
    let Some(ch) = s.channels.get(&key) else {
        return Err(IrcError::NoSuchChannel(name.clone()));
    };
    let me = s.client(ctx.id);
    if !me.oper {
        if !ch.members.contains_key(&ctx.id) {
            return Err(IrcError::NotOnChannel(ch.name.clone()));
        }
        if !ch.is_op(ctx.id) {
            return Err(IrcError::ChanOpPrivsNeeded(ch.name.clone()));
        }
    }
    let reason: String =
        msg.params.get(2).map(String::as_str).unwrap_or(&me.nick).chars().take(s.cfg.kick_len).collect();
    for target in msg.params[1].split(',').filter(|t| !t.is_empty()) {
        let Some(ch) = s.channels.get(&key) else { break };
        let display = ch.name.clone();
        let Some(tid) = s.find_nick(target).filter(|t| ch.members.contains_key(t)) else {
            let e = IrcError::UserNotInChannel(target.to_string(), display);
            let nick = s.nick_of(ctx.id);
            ctx.reply(e.to_message(&s.cfg.server_name, &nick, "KICK"));
            continue;
        };
        let me = s.client(ctx.id);
        let tnick = s.client(tid).nick.clone();
        let (mask, account) = (me.mask.clone(), me.account.clone());
        let event = format!("{tnick} {reason}");
        let m = Message::new("KICK")
            .with_source(me.mask.as_str())
            .with_param(display)
            .with_param(tnick)
            .with_param(reason.as_str());
        let mut relay = Relay::new(m, Server::now_time()).with_account(me.account.clone());
        let caps = s.session_caps(ctx);
        if s.channels.get(&key).is_some_and(|c| c.members.contains_key(&ctx.id)) {
            ctx.reply(relay.message_for(caps));
            s.send_to_siblings(ctx, &mut relay, None);
        }
        let members = s.members(&key);
        s.deliver(&mut relay, members, Some(ctx.id), None);
        history::record_event(s, &key, &mask, account, "KICK", event);
        remove_member(s, &key, tid);
    }
    Ok(())
}

/// INVITE <nickname> <channel>
pub fn invite(s: &mut Server, ctx: &mut Ctx, msg: &Message) -> Result<(), IrcError> {
    let (nick, name) = (&msg.params[0], &msg.params[1]);
    let Some(tid) = s.find_nick(nick) else {
        return Err(IrcError::NoSuchNick(nick.clone()));
    };
    let key = casefold(name);
    let me = s.client(ctx.id);
    let display;
    if let Some(ch) = s.channels.get(&key) {
        display = ch.name.clone();
        if !ch.members.contains_key(&ctx.id) && !me.oper {
            return Err(IrcError::NotOnChannel(display));
        }
        if ch.members.contains_key(&tid) {
            return Err(IrcError::UserOnChannel(s.client(tid).nick.to_string(), display));
        }
        if ch.modes.invite_only && !ch.is_op(ctx.id) && !me.oper {
            return Err(IrcError::ChanOpPrivsNeeded(display));
        }
    } else {
        return Err(IrcError::NoSuchChannel(name.clone()));
    }
    let t = s.client(tid);
    let tnick = t.nick.clone();
    let away = t.away.clone();
    let my_nick = s.nick_of(ctx.id);
    ctx.reply(s.server_msg(RPL_INVITING).with_param(my_nick).with_param(tnick.as_str()).with_param(display.as_str()));
    if let Some(a) = away {
        s.num(ctx, RPL_AWAY, [tnick.as_str()], &a);
    }
    let me = s.client(ctx.id);
    let m = Message::new("INVITE").with_source(me.mask.as_str()).with_param(tnick).with_param(display);
    let mut relay = Relay::new(m, Server::now_time()).with_account(me.account.clone());
    s.deliver(&mut relay, [tid], None, None);
    // invite-notify: channel operators who asked for it see the invite too.
    let ops: Vec<ConnId> = s
        .channels
        .get(&key)
        .map(|ch| ch.members.iter().filter(|(_, st)| **st & OP != 0).map(|(id, _)| *id).collect())
        .unwrap_or_default();
    s.deliver(&mut relay, ops.into_iter().filter(|id| *id != tid), Some(ctx.id), Some(Cap::InviteNotify));
    let t = s.client_mut(tid);
    if !t.invites.iter().any(|k| *k == key) {
        t.invites.push(key.into());
    }
    Ok(())
}
