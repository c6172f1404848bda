//! Persistent rooms: channels, their topic, modes, bans and operators survive
//! restarts. With a store every channel is a room; rooms stay when empty.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hearth_proto::casefold;
use hearth_store::{Room, RoomState, Timestamp};

use crate::channel::{Ban, Channel, Topic};
use crate::outbound::StoreOp;
use crate::server::Server;

pub(crate) fn to_time(t: Timestamp) -> SystemTime {
    if t.0 >= 0 { UNIX_EPOCH + Duration::from_millis(t.0 as u64) } else { UNIX_EPOCH }
}

/// The store's view of a channel.
pub(crate) fn to_room(ch: &Channel) -> Room {
    Room {
        name: ch.name.clone(),
        topic: ch.topic.as_ref().map(|t| hearth_store::Topic {
            text: t.text.clone(),
            set_by: t.setter.clone(),
            set_at: Timestamp::from(t.time),
        }),
        modes: ch.flag_string(),
        key: ch.modes.key.clone(),
        limit: ch.modes.limit.map(|l| l.min(u32::MAX as usize) as u32),
        created_at: Timestamp::from(ch.created),
    }
}

impl Server {
    /// Recreates the rooms loaded from the store (at start-up).
    pub fn restore_rooms(&mut self, rooms: Vec<RoomState>) {
        for state in rooms {
            let r = state.room;
            let mut ch = Channel::new(&r.name);
            ch.persistent = true;
            ch.created = to_time(r.created_at);
            ch.set_flags(&r.modes);
            ch.modes.key = r.key;
            ch.modes.limit = r.limit.map(|l| l as usize);
            ch.topic = r.topic.map(|t| Topic { text: t.text, setter: t.set_by, time: to_time(t.set_at) });
            for b in state.bans {
                let entry = Ban { mask: b.mask, setter: b.set_by, time: to_time(b.set_at) };
                ch.list_mut(b.list).push(entry);
            }
            ch.op_accounts = state.operators;
            self.channels.insert(casefold(&r.name), ch);
        }
    }

    /// Loads each room's replay tail (at start-up, after [`Server::restore_rooms`]).
    pub fn preload_recent(&mut self, room: &str, messages: Vec<hearth_store::StoredMessage>) {
        let keep = self.cfg.replay_on_join;
        if let Some(ch) = self.channels.get_mut(&casefold(room)) {
            // Events (draft/event-playback) are for CHATHISTORY only, never replayed on join.
            let messages: Vec<_> = messages
                .into_iter()
                .filter(|m| !crate::handlers::history::EVENTS.contains(&m.command.as_str()))
                .collect();
            ch.recent = messages.into_iter().rev().take(keep).rev().collect();
        }
    }

    /// Makes sure each named room exists (and is stored).
    pub fn ensure_rooms(&mut self, names: &[String]) {
        for name in names {
            let key = casefold(name);
            if !self.channels.contains_key(&key) {
                let mut ch = Channel::new(name);
                ch.persistent = self.services.is_some();
                ch.modes.joined_history = self.cfg.history_visibility == crate::visibility::Visibility::Joined;
                self.channels.insert(key.clone(), ch);
                self.persist_room(&key);
            }
        }
        self.commit();
    }

    /// Stores a channel's current topic and modes.
    pub(crate) fn persist_room(&mut self, key: &str) {
        if let Some(ch) = self.channels.get(key).filter(|c| c.persistent) {
            let room = to_room(ch);
            self.store_op(StoreOp::Room(room));
        }
    }
}
