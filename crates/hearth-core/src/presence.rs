//! Presence the way the seeds had it: "you are alone", the arrival notice, and
//! "partner left".
//!
//! - **You are alone.** At login, after the welcome burst, a person with nobody else
//!   online is told so: `NOTICE <nick> :You are alone here right now; you will be told
//!   when someone arrives`. When the first other person arrives, one NOTICE names them
//!   (`bob is here now`); then nothing more (no repeats). `[presence] alone_notice`.
//! - **Partner left.** When a person leaves (their last session), everyone in an
//!   *active private conversation* with them is told at once: `NOTICE <nick> :bob has
//!   left`. A conversation is active when the two exchanged a private message (PRIVMSG
//!   or NOTICE, either way) within the last `[presence] conversation_minutes`, while
//!   both were online. A session that MONITORs the person gets the standard
//!   RPL_MONOFFLINE (731) instead — and the QUIT where they share a room — and no
//!   NOTICE, so no client is told twice; the user's other sessions get the NOTICE.
//!
//! A *person* is an account (all its sessions, under any nick, are one person) or,
//! without an account, one guest connection.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use hearth_proto::casefold;

use crate::client::{Client, ConnId};
use crate::server::{Ctx, Server};

/// The text of the "you are alone" notice.
pub const ALONE: &str = "You are alone here right now; you will be told when someone arrives";

/// Who is a person: an account, or a guest's connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Person {
    Account(String),
    Guest(ConnId),
}

/// What presence remembers about the people online.
#[derive(Debug, Default)]
pub struct Presence {
    /// People told they are alone, waiting for the first arrival.
    waiting: HashSet<Person>,
    /// Private conversations: person → partner → when they last exchanged a message.
    /// Both directions are kept; a person's entries go when they leave.
    talks: HashMap<Person, HashMap<Person, Instant>>,
}

fn person(c: &Client) -> Person {
    match &c.account {
        Some(a) => Person::Account(casefold(a)),
        None => Person::Guest(c.attached_to.unwrap_or(c.id)),
    }
}

impl Server {
    /// The registered users (main sessions) that are `who`.
    fn users_of(&self, who: &Person) -> Vec<ConnId> {
        self.clients
            .values()
            .filter(|c| c.registered && c.attached_to.is_none() && person(c) == *who)
            .map(|c| c.id)
            .collect()
    }

    /// Whether a registered user other than `who` is online.
    fn anyone_but(&self, who: &Person) -> bool {
        self.clients.values().any(|c| c.registered && c.attached_to.is_none() && person(c) != *who)
    }

    /// A server NOTICE to every session of user `user` except those for which `skip`
    /// holds.
    fn notice_user(&mut self, user: ConnId, text: &str, skip: impl Fn(&Server, ConnId) -> bool) {
        let nick = self.nick_of(user);
        let m = self.server_msg("NOTICE").with_param(nick).with_param(text);
        for sid in self.session_ids(user) {
            if !skip(self, sid) {
                self.send_message(sid, &m);
            }
        }
    }
}

/// A session of the user in `ctx` has just logged in (after the welcome burst): tells
/// those waiting that this person arrived (unless the person was here already), and
/// tells this session when it is alone.
pub(crate) fn logged_in(s: &mut Server, ctx: &mut Ctx) {
    if !s.cfg.alone_notice {
        return;
    }
    let me = person(s.client(ctx.id));
    let already_here = s.users_of(&me).iter().any(|u| *u != ctx.id) || ctx.session != ctx.id;
    if !already_here {
        let nick = s.nick_of(ctx.id);
        let waiting: Vec<Person> = s.presence.waiting.iter().filter(|p| **p != me).cloned().collect();
        for p in waiting {
            s.presence.waiting.remove(&p);
            for user in s.users_of(&p) {
                s.notice_user(user, &format!("{nick} is here now"), |_, _| false);
            }
        }
    }
    if !s.anyone_but(&me) {
        let nick = s.nick_of(ctx.id);
        ctx.reply(s.server_msg("NOTICE").with_param(nick).with_param(ALONE));
        s.presence.waiting.insert(me);
    }
}

/// Users `a` and `b` exchanged a private message (PRIVMSG or NOTICE): their
/// conversation is active from now on.
pub(crate) fn conversed(s: &mut Server, a: ConnId, b: ConnId) {
    let (Some(ca), Some(cb)) = (s.clients.get(&a), s.clients.get(&b)) else { return };
    let (pa, pb) = (person(ca), person(cb));
    if pa == pb || s.cfg.conversation_window.is_zero() {
        return;
    }
    let now = Instant::now();
    s.presence.talks.entry(pa.clone()).or_default().insert(pb.clone(), now);
    s.presence.talks.entry(pb).or_default().insert(pa, now);
}

/// User `client` (its last session) has just been removed: if that was the person's
/// last user, tells their active conversation partners, and forgets the person.
pub(crate) fn left(s: &mut Server, client: &Client) {
    if !client.registered {
        return;
    }
    let me = person(client);
    if !s.users_of(&me).is_empty() {
        // Still here under another nick.
        return;
    }
    s.presence.waiting.remove(&me);
    let Some(partners) = s.presence.talks.remove(&me) else { return };
    let window = s.cfg.conversation_window;
    let key = casefold(&client.nick);
    let text = format!("{} has left", client.nick);
    for (p, at) in partners {
        if let Some(theirs) = s.presence.talks.get_mut(&p) {
            theirs.remove(&me);
            if theirs.is_empty() {
                s.presence.talks.remove(&p);
            }
        }
        if at.elapsed() > window {
            continue;
        }
        for user in s.users_of(&p) {
            // A session that monitors the person got RPL_MONOFFLINE already.
            s.notice_user(user, &text, |s, sid| s.monitors.get(&key).is_some_and(|w| w.contains(&sid)));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hearth_proto::Message;

    use super::*;
    use crate::config::Config;
    use crate::sink::Sink;

    fn user(s: &mut Server, nick: &str, account: Option<&str>) -> (ConnId, Arc<Sink>) {
        let sink: Arc<Sink> = Arc::new(Sink::new(1 << 20));
        let id = s.connect("127.0.0.1".parse().unwrap(), sink.clone());
        s.clients.get_mut(&id).unwrap().account = account.map(str::to_string);
        line(s, id, &format!("NICK {nick}"));
        line(s, id, &format!("USER {nick} 0 * :{nick}"));
        (id, sink)
    }

    fn line(s: &mut Server, id: ConnId, text: &str) {
        s.handle(id, &Message::parse(text).unwrap());
    }

    /// The texts of the NOTICEs queued for `sink` so far.
    fn notices(sink: &Sink) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = Vec::new();
        if sink.queued_bytes() > 0 {
            rt.block_on(sink.next_batch(&mut out));
        }
        let text: String = out.iter().map(|b| String::from_utf8_lossy(b).to_string()).collect();
        text.lines()
            .filter_map(|l| Message::parse(l).ok())
            .filter(|m| m.command == "NOTICE")
            .map(|m| m.params[1].clone())
            .collect()
    }

    #[test]
    fn alone_then_one_arrival_notice_and_sessions_are_one_person() {
        let mut s = Server::new(Config::default());
        let (_, laptop) = user(&mut s, "alice", Some("alice"));
        assert!(notices(&laptop).contains(&ALONE.to_string()));
        // A second session of alice is no arrival, and is alone too.
        let (_, phone) = user(&mut s, "alice", Some("alice"));
        assert!(notices(&laptop).is_empty());
        assert_eq!(notices(&phone), [ALONE]);
        let (_, bob) = user(&mut s, "bob", None);
        assert_eq!(notices(&laptop), ["bob is here now"]);
        assert_eq!(notices(&phone), ["bob is here now"]);
        assert!(notices(&bob).is_empty(), "bob is not alone");
        let _carol = user(&mut s, "carol", None);
        assert!(notices(&laptop).is_empty(), "no repeats");
    }

    #[test]
    fn partner_left_tells_active_conversations_only() {
        let mut s = Server::new(Config { alone_notice: false, ..Config::default() });
        let (alice, alice_sink) = user(&mut s, "alice", None);
        let (bob, _) = user(&mut s, "bob", None);
        let (carol, carol_sink) = user(&mut s, "carol", None);
        line(&mut s, alice, "PRIVMSG bob :hi");
        s.disconnect(bob, "bye");
        let _ = (carol, notices(&carol_sink));
        assert!(notices(&alice_sink).contains(&"bob has left".to_string()));
        assert!(notices(&carol_sink).is_empty());
        assert!(s.presence.talks.is_empty());
    }
}
