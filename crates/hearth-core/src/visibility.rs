//! Who may read a room's past: history visibility, channel mode `+H`.
//!
//! A room is either **shared** (`-H`, today's behaviour: its members read its whole
//! history) or **joined** (`+H`: a member reads only what was said while they were a
//! member). Room operators set it with `MODE #room +H` / `-H`; new rooms start with
//! `[rooms] history_visibility` from the config; it is persisted with the room's other
//! modes.
//!
//! # Membership
//! A membership starts when a person JOINs a room they are not a member of, and ends
//! when they PART or are KICKed. A disconnect does not end it: a member who comes back
//! reads what was said while they were away (that is what the login summary counts).
//! Leaving and joining again starts a new membership, which hides what was said in
//! between *and* before: the simple, privacy-preserving rule. Memberships of accounts
//! are journaled ([`StoreOp::JoinRoom`], [`StoreOp::LeaveRoom`]) and loaded at start
//! ([`Server::restore_memberships`]), so they survive restarts. A guest (no account)
//! is a member from their JOIN in this session only; a guest who logs in keeps it, as
//! the account's.
//!
//! Memberships are kept for every room, shared or not, so that switching a room to
//! `joined` later has a start time for everyone in it.
//!
//! # Who sees everything
//! IRC operators (server admins) are not limited: they may already read any room, and
//! `hearth export` shows an admin every message anyway. Private conversations are not
//! rooms: their two participants always see all of them.
//!
//! # Where it applies
//! [`visible_from`] is the one rule. The replay on join, every CHATHISTORY subcommand
//! (TARGETS included) and — through the same function — search and the login summary
//! apply it.

use std::collections::HashMap;

use hearth_proto::casefold;
use hearth_store::{Bound, Membership, Store, StoreError, StoredMessage, Timestamp};

use crate::client::ConnId;
use crate::outbound::StoreOp;
use crate::server::Server;

/// A room's history visibility (`[rooms] history_visibility`, channel mode `+H`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Members see the room's whole history (`-H`).
    #[default]
    Shared,
    /// A member sees only what was said while they were a member (`+H`).
    Joined,
}

/// Since when each member of one room has been a member.
#[derive(Debug, Default)]
pub struct Memberships {
    /// Casefolded account → start of its current membership (persistent).
    accounts: HashMap<String, Timestamp>,
    /// A guest's membership, for this session only.
    guests: HashMap<ConnId, Timestamp>,
}

/// From when user `id` may read room `room_key`'s history: `None` for everything (a
/// shared room, a private conversation, an IRC operator), `Some(t)` for messages with
/// `time >= t` only, `Some(Timestamp::MAX)` for nothing (a `joined` room `id` is not a
/// member of).
///
/// This answers *from when*, not *whether*: the caller checks first that `id` may read
/// the target at all (a member of the room, a participant of the conversation). Search
/// and the login summary call it for every room they show, like CHATHISTORY does.
pub fn visible_from(s: &Server, id: ConnId, room_key: &str) -> Option<Timestamp> {
    let ch = s.channels.get(room_key)?;
    if !ch.modes.joined_history {
        return None;
    }
    let user = s.user_of(id);
    let c = s.clients.get(&user)?;
    if c.oper {
        return None;
    }
    let since = match &c.account {
        Some(account) => ch.memberships.accounts.get(&casefold(account)),
        None => ch.memberships.guests.get(&user),
    };
    Some(since.copied().unwrap_or(Timestamp::MAX))
}

/// User `id` just joined room `key` (it is in the member list already): starts its
/// membership unless it has one (an account that was a member when it last left).
pub(crate) fn joined(s: &mut Server, id: ConnId, key: &str) {
    let account = s.client(id).account.as_deref().map(casefold);
    let Some(ch) = s.channels.get_mut(key) else { return };
    // Nothing said before this JOIN may count as said during the membership, even
    // within the same millisecond.
    let newest = ch.recent.back().map(|m| Timestamp(m.time.0.saturating_add(1)));
    let since = Timestamp::now().max(newest.unwrap_or(Timestamp::MIN));
    match account {
        Some(account) => {
            if ch.memberships.accounts.contains_key(&account) {
                return;
            }
            ch.memberships.accounts.insert(account.clone(), since);
            if ch.persistent {
                s.store_op(StoreOp::JoinRoom { room: key.to_string(), account, since });
            }
        }
        None => {
            ch.memberships.guests.insert(id, since);
        }
    }
}

/// User `id` is leaving room `key` (PART, KICK): its membership ends.
pub(crate) fn left(s: &mut Server, id: ConnId, key: &str) {
    let account = s.clients.get(&id).and_then(|c| c.account.as_deref().map(casefold));
    let Some(ch) = s.channels.get_mut(key) else { return };
    match account {
        Some(account) => {
            if ch.memberships.accounts.remove(&account).is_some() && ch.persistent {
                s.store_op(StoreOp::LeaveRoom { room: key.to_string(), account });
            }
        }
        None => {
            ch.memberships.guests.remove(&id);
        }
    }
}

/// Connection `id` just logged in to an account, perhaps while already in rooms as a
/// guest: its memberships become the account's (an account that is a member already
/// keeps its own start).
pub(crate) fn logged_in(s: &mut Server, id: ConnId) {
    let Some(c) = s.clients.get(&id) else { return };
    let Some(account) = c.account.as_deref().map(casefold) else { return };
    for key in c.channels.clone() {
        let Some(ch) = s.channels.get_mut(key.as_str()) else { continue };
        let Some(since) = ch.memberships.guests.remove(&id) else { continue };
        if ch.memberships.accounts.contains_key(&account) {
            continue;
        }
        ch.memberships.accounts.insert(account.clone(), since);
        if ch.persistent {
            s.store_op(StoreOp::JoinRoom { room: key.to_string(), account: account.clone(), since });
        }
    }
}

/// A guest's session ended: its memberships end with it (an account's stay).
pub(crate) fn guest_gone(s: &mut Server, id: ConnId, channels: &[compact_str::CompactString]) {
    for key in channels {
        if let Some(ch) = s.channels.get_mut(key.as_str()) {
            ch.memberships.guests.remove(&id);
        }
    }
}

/// Account `key` (casefolded) was deleted: its memberships go (the store drops them
/// with the account), so that a new account of the same name starts afresh.
pub(crate) fn forget_account(s: &mut Server, key: &str) {
    for ch in s.channels.values_mut() {
        ch.memberships.accounts.remove(key);
    }
}

impl Server {
    /// Restores the memberships loaded from the store (at start-up, after
    /// [`Server::restore_rooms`]).
    pub fn restore_memberships(&mut self, list: Vec<Membership>) {
        for m in list {
            if let Some(ch) = self.channels.get_mut(&casefold(&m.room)) {
                ch.memberships.accounts.insert(casefold(&m.account), m.since);
            }
        }
    }
}

/// Drops the rows `since` hides.
pub(crate) fn retain_visible(rows: &mut Vec<StoredMessage>, since: Option<Timestamp>) {
    if let Some(t) = since {
        rows.retain(|m| m.time >= t);
    }
}

/// The time of a bound: a timestamp's own, a msgid's message's.
async fn time_of(store: &dyn Store, key: &str, b: &Bound) -> Result<Timestamp, StoreError> {
    match b {
        Bound::Time(t) => Ok(*t),
        // AROUND with a limit of 1 is the message itself.
        Bound::MsgId(id) => match store.around(key, b, 1).await?.first() {
            Some(m) => Ok(m.time),
            None => Err(StoreError::UnknownMsgid(id.clone())),
        },
    }
}

/// `b`, or the start of what `since` shows when `b` lies before it — as an exclusive
/// lower end (a timestamp excludes its whole millisecond, so `since - 1ms` keeps
/// messages from `since` on).
async fn raise(store: &dyn Store, key: &str, b: Bound, since: Timestamp) -> Result<Bound, StoreError> {
    if time_of(store, key, &b).await? < since { Ok(Bound::Time(Timestamp(since.0.saturating_sub(1)))) } else { Ok(b) }
}

/// The bounds of a CHATHISTORY query of `sub` on room `key`, so that a page that runs
/// forward starts where `since` allows and still holds up to its limit. Pages that run
/// backward (BEFORE, AROUND's first half, BETWEEN from the later end) need no change:
/// what `since` hides is their oldest part, dropped afterwards by [`retain_visible`].
pub(crate) async fn clamp_bounds(
    store: &dyn Store,
    key: &str,
    sub: &str,
    first: Option<Bound>,
    second: Option<Bound>,
    since: Option<Timestamp>,
) -> Result<(Option<Bound>, Option<Bound>), StoreError> {
    let Some(since) = since else { return Ok((first, second)) };
    let start = Bound::Time(Timestamp(since.0.saturating_sub(1)));
    match (sub, first, second) {
        ("LATEST", None, _) => Ok((Some(start), None)),
        ("LATEST" | "AFTER", Some(f), _) => Ok((Some(raise(store, key, f, since).await?), None)),
        ("BETWEEN", Some(a), Some(b)) => {
            if time_of(store, key, &a).await? <= time_of(store, key, &b).await? {
                Ok((Some(raise(store, key, a, since).await?), Some(b)))
            } else {
                Ok((Some(a), Some(raise(store, key, b, since).await?)))
            }
        }
        (_, first, second) => Ok((first, second)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hearth_proto::Message;

    use super::*;
    use crate::config::Config;
    use crate::sink::Sink;

    fn user(s: &mut Server, nick: &str, account: Option<&str>) -> ConnId {
        let id = s.connect("127.0.0.1".parse().unwrap(), Arc::new(Sink::new(1 << 20)));
        s.clients.get_mut(&id).unwrap().account = account.map(str::to_string);
        line(s, id, &format!("NICK {nick}"));
        line(s, id, &format!("USER {nick} 0 * :{nick}"));
        id
    }

    fn line(s: &mut Server, id: ConnId, text: &str) {
        s.handle(id, &Message::parse(text).unwrap());
    }

    #[test]
    fn a_joined_room_shows_each_member_what_was_said_since_their_membership_began() {
        let mut s = Server::new(Config::default());
        let alice = user(&mut s, "alice", Some("alice"));
        let guest = user(&mut s, "guest", None);
        line(&mut s, alice, "JOIN #x");
        assert_eq!(visible_from(&s, alice, "#x"), None, "shared by default");
        line(&mut s, alice, "MODE #x +H");
        assert!(s.channels["#x"].modes.joined_history);
        let since = visible_from(&s, alice, "#x").expect("joined");
        assert!(since <= Timestamp::now());
        assert_eq!(visible_from(&s, guest, "#x"), Some(Timestamp::MAX), "not a member: nothing");
        line(&mut s, guest, "JOIN #x");
        assert!(visible_from(&s, guest, "#x").unwrap() >= since);

        // A guest's membership ends with its session; PART ends an account's.
        s.disconnect(guest, "bye");
        assert!(s.channels["#x"].memberships.guests.is_empty());
        line(&mut s, alice, "PART #x");
        assert_eq!(visible_from(&s, alice, "#x"), None, "the room is gone");
        assert!(!s.channels.contains_key("#x"));
    }

    #[test]
    fn a_guest_who_logs_in_keeps_its_membership() {
        let mut s = Server::new(Config::default());
        let guest = user(&mut s, "gus", None);
        line(&mut s, guest, "JOIN #x");
        line(&mut s, guest, "MODE #x +H");
        let since = visible_from(&s, guest, "#x").expect("a member");
        s.clients.get_mut(&guest).unwrap().account = Some("Gus".into());
        logged_in(&mut s, guest);
        assert_eq!(visible_from(&s, guest, "#x"), Some(since), "now the account's");
        assert!(s.channels["#x"].memberships.guests.is_empty());
    }
}
