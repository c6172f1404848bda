//! Several connections on one account: one user, many sessions (phone and laptop).
//!
//! Modelled on ergo's "multiclient" (with always-on off). The first connection of a
//! user is its *main* session: its [`Client`](crate::client::Client) holds what belongs
//! to the user — the nick (the key in the nick table), the channels (the key in their
//! member lists), away state, modes. A later connection that logs in to the same
//! account and asks for the same nick does not get `433`: it is *attached* to the user
//! as an extra session (`attached_to`), which has only its own socket, caps and
//! MONITOR list.
//!
//! - Commands from any session act as the user ([`Ctx::id`]); replies go back to the
//!   session that asked ([`Ctx::session`]).
//! - Everything sent to the user ([`Server::deliver`]) reaches every session, each in
//!   the form its own caps ask for.
//! - What one session does that the user itself would see (its own JOIN, PART, NICK,
//!   a PRIVMSG it sent) reaches the other sessions too — a sent message even without
//!   echo-message, as ergo does, so that every device shows the whole conversation.
//! - A session that joins late gets JOIN, topic and names of the user's channels.
//! - A session that leaves is detached quietly; only when the last one leaves does the
//!   user QUIT. When the main session leaves first, the oldest other session takes
//!   over the user's state and its place in the nick table and channels.

use hearth_proto::numeric::RPL_NOWAWAY;
use hearth_proto::{Cap, casefold};

use crate::client::{Client, ConnId};
use crate::outbound::Out;
use crate::relay::Relay;
use crate::server::{Ctx, Server, to_bytes};

/// Why a connection cannot be attached to the user holding its nick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NoAttach {
    /// Not logged in to the account that holds the nick (or multi-session is off).
    OtherUser,
    /// The account already has `max_sessions` sessions.
    Full(usize),
}

impl Server {
    /// The user `id` acts as: `id` itself, or the main session it is attached to.
    pub(crate) fn user_of(&self, id: ConnId) -> ConnId {
        self.clients.get(&id).and_then(|c| c.attached_to).unwrap_or(id)
    }

    /// Every session of user `user`, the main one first.
    pub(crate) fn session_ids(&self, user: ConnId) -> Vec<ConnId> {
        let mut v = vec![user];
        if let Some(c) = self.clients.get(&user) {
            v.extend(c.sessions.iter().copied());
        }
        v
    }

    /// The sessions of the acting user other than the one the command came from.
    pub(crate) fn siblings(&self, ctx: &Ctx) -> Vec<ConnId> {
        let mut v = self.session_ids(ctx.id);
        v.retain(|sid| *sid != ctx.session);
        v
    }

    /// The caps of the session a command came from (they shape its replies).
    pub(crate) fn session_caps(&self, ctx: &Ctx) -> hearth_proto::CapSet {
        self.clients.get(&ctx.session).map(|c| c.caps).unwrap_or_default()
    }

    /// Sends `relay` to the other sessions of the acting user that have `need` (if any).
    pub(crate) fn send_to_siblings(&mut self, ctx: &Ctx, relay: &mut Relay, need: Option<Cap>) {
        for sid in self.siblings(ctx) {
            let Some(c) = self.clients.get(&sid) else { continue };
            if need.is_some_and(|cap| !c.caps.contains(cap)) {
                continue;
            }
            let line = relay.bytes_for(c.caps);
            self.send_bytes(sid, line);
        }
    }

    /// Runs `f` once for each other session of the acting user with a reply buffer of
    /// its own (e.g. JOIN + topic + names after a join), and sends what it wrote.
    pub(crate) fn for_siblings(&mut self, ctx: &Ctx, f: impl Fn(&mut Server, &mut Ctx)) {
        for sid in self.siblings(ctx) {
            let mut sctx = Ctx::for_session(ctx.id, sid, &ctx.command, None);
            f(self, &mut sctx);
            self.flush(sctx);
        }
    }

    /// May connection `id` (registering, logged in) become a session of `owner`, the
    /// user holding the nick it asked for?
    pub(crate) fn may_attach(&self, id: ConnId, owner: ConnId) -> Result<(), NoAttach> {
        let (Some(me), Some(them)) = (self.clients.get(&id), self.clients.get(&owner)) else {
            return Err(NoAttach::OtherUser);
        };
        let same_account = match (&me.account, &them.account) {
            (Some(a), Some(b)) => casefold(a) == casefold(b),
            _ => false,
        };
        if !same_account || !them.registered || them.attached_to.is_some() || self.cfg.max_sessions < 2 {
            return Err(NoAttach::OtherUser);
        }
        let count = 1 + them.sessions.len();
        if count >= self.cfg.max_sessions {
            return Err(NoAttach::Full(self.cfg.max_sessions));
        }
        Ok(())
    }

    /// Makes registering connection `ctx.session` a session of `user`, and from now on
    /// lets `ctx` act as that user.
    pub(crate) fn attach(&mut self, ctx: &mut Ctx, user: ConnId) {
        let id = ctx.session;
        self.client_mut(user).sessions.push(id);
        let c = self.client_mut(id);
        c.attached_to = Some(user);
        c.registered = true;
        // The nick belongs to the user; this connection holds no key of its own.
        c.nick_key.clear();
        ctx.id = user;
        tracing::info!(user = %self.nick_of(user), session = id, "session attached");
    }

    /// What a newly attached session needs to show the user's state: JOIN, topic and
    /// names for each of the user's channels, and its away status.
    pub(crate) fn replay_user_state(&mut self, ctx: &mut Ctx) {
        for key in self.client(ctx.id).channels.clone() {
            crate::handlers::channel::show_join(self, ctx, &key, None);
        }
        if self.client(ctx.id).away.is_some() {
            self.num(ctx, RPL_NOWAWAY, [], "You have been marked as being away");
        }
    }

    /// Ends one session of a user that has several: the others carry on unchanged and
    /// nobody else hears of it.
    pub(crate) fn remove_session(&mut self, id: ConnId, reason: &str) {
        self.unwatch_all(id);
        let Some(c) = self.clients.get(&id) else { return };
        match c.attached_to {
            Some(user) => {
                if let Some(u) = self.clients.get_mut(&user) {
                    u.sessions.retain(|s| *s != id);
                }
            }
            None => self.hand_over(id),
        }
        let Some(client) = self.clients.remove(&id) else { return };
        tracing::info!(session = id, reason, "session detached");
        let error = hearth_proto::Message::new("ERROR").with_param(format!("Closing Link: {} ({reason})", client.host));
        self.outbox.push(Out::Close(client.sink.clone(), to_bytes(&error)));
    }

    /// The main session `old` is leaving while others remain: the oldest of them
    /// becomes the user. It takes over the user's state, and its id replaces `old` in
    /// the nick table and in every channel's member list.
    fn hand_over(&mut self, old: ConnId) {
        let Some(mut rest) = self.clients.get_mut(&old).map(|c| std::mem::take(&mut c.sessions)) else { return };
        if rest.is_empty() {
            return;
        }
        let heir = rest.remove(0);
        let Some(mut from) = self.clients.remove(&old) else { return };
        if let Some(to) = self.clients.get_mut(&heir) {
            move_user_state(&mut from, to);
            to.attached_to = None;
            to.sessions = rest.clone();
        }
        self.clients.insert(old, from);
        for sid in rest {
            if let Some(c) = self.clients.get_mut(&sid) {
                c.attached_to = Some(heir);
            }
        }
        let c = self.client(heir);
        let (key, channels) = (c.nick_key.clone(), c.channels.clone());
        self.nicks.insert(key, heir);
        for chan in channels {
            if let Some(ch) = self.channels.get_mut(chan.as_str())
                && let Some(status) = ch.members.remove(&old)
            {
                ch.members.insert(heir, status);
            }
        }
    }
}

/// Moves what belongs to the user (not to one connection) from `from` to `to`; `from`
/// is left with `to`'s old values and is about to be dropped.
fn move_user_state(from: &mut Client, to: &mut Client) {
    std::mem::swap(&mut from.nick, &mut to.nick);
    std::mem::swap(&mut from.nick_key, &mut to.nick_key);
    std::mem::swap(&mut from.user, &mut to.user);
    std::mem::swap(&mut from.realname, &mut to.realname);
    // Others keep seeing the user as they knew it: same nick!user@host.
    std::mem::swap(&mut from.host, &mut to.host);
    std::mem::swap(&mut from.mask, &mut to.mask);
    std::mem::swap(&mut from.invisible, &mut to.invisible);
    std::mem::swap(&mut from.oper, &mut to.oper);
    std::mem::swap(&mut from.away, &mut to.away);
    std::mem::swap(&mut from.channels, &mut to.channels);
    std::mem::swap(&mut from.invites, &mut to.invites);
    std::mem::swap(&mut from.signon, &mut to.signon);
    std::mem::swap(&mut from.last_active, &mut to.last_active);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hearth_proto::Message;

    use crate::client::ConnId;
    use crate::config::Config;
    use crate::server::Server;
    use crate::sink::Sink;

    /// A connection logged in to `account` (set directly: no store here) that
    /// registers as `nick`.
    fn login(s: &mut Server, account: &str, nick: &str) -> ConnId {
        let id = s.connect("127.0.0.1".parse().unwrap(), Arc::new(Sink::new(1 << 20)));
        s.clients.get_mut(&id).unwrap().account = Some(account.into());
        line(s, id, &format!("NICK {nick}"));
        line(s, id, &format!("USER {nick} 0 * :{nick}"));
        id
    }

    fn line(s: &mut Server, id: ConnId, text: &str) {
        s.handle(id, &Message::parse(text).unwrap());
    }

    #[test]
    fn the_oldest_other_session_takes_over_when_the_main_one_leaves() {
        let mut s = Server::new(Config::default());
        let laptop = login(&mut s, "alice", "alice");
        let phone = login(&mut s, "alice", "alice");
        let tablet = login(&mut s, "alice", "alice");
        assert_eq!(s.client(phone).attached_to, Some(laptop));
        assert_eq!(s.client(laptop).sessions, [phone, tablet]);
        assert_eq!(s.user_count(), 1);
        line(&mut s, phone, "JOIN #x");
        line(&mut s, phone, "AWAY :out");
        assert_eq!(s.client(laptop).channels, ["#x"], "a session acts as the user");
        assert_eq!(s.client(laptop).away.as_deref(), Some("out"));

        s.disconnect(laptop, "bye");
        assert_eq!(s.find_nick("alice"), Some(phone));
        assert_eq!(s.client(phone).attached_to, None);
        assert_eq!(s.client(phone).sessions, [tablet]);
        assert_eq!(s.client(tablet).attached_to, Some(phone));
        assert_eq!(s.client(phone).channels, ["#x"]);
        assert_eq!(s.client(phone).away.as_deref(), Some("out"));
        assert!(s.channels["#x"].members.contains_key(&phone));
        assert!(!s.channels["#x"].members.contains_key(&laptop));

        s.disconnect(tablet, "bye");
        assert!(s.client(phone).sessions.is_empty());
        s.disconnect(phone, "bye");
        assert_eq!(s.find_nick("alice"), None, "the last session takes the nick with it");
        assert!(!s.channels.contains_key("#x"));
    }

    #[test]
    fn another_account_or_one_session_too_many_is_not_attached() {
        let cfg = Config { max_sessions: 2, ..Config::default() };
        let mut s = Server::new(cfg);
        let one = login(&mut s, "alice", "alice");
        let two = login(&mut s, "alice", "alice");
        let three = login(&mut s, "alice", "alice");
        let other = login(&mut s, "mallory", "alice");
        assert_eq!(s.client(two).attached_to, Some(one));
        for id in [three, other] {
            assert!(!s.is_registered(id));
            assert_eq!(s.client(id).attached_to, None);
        }
        assert_eq!(s.find_nick("alice"), Some(one));
    }
}
