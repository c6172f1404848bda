//! A channel: members with their prefixes, modes, topic, mask lists and invites.

use std::collections::HashMap;
use std::time::SystemTime;

use hearth_store::BanList;

use crate::client::ConnId;
use crate::extban::{self, Subject};

/// Channel-member status bits.
pub const OP: u8 = 1;
pub const VOICE: u8 = 2;

/// Topic text with who set it and when.
#[derive(Debug, Clone)]
pub struct Topic {
    pub text: String,
    pub setter: String,
    pub time: SystemTime,
}

/// An entry of a mask list (`+b`, `+e`, `+I`).
#[derive(Debug, Clone)]
pub struct Ban {
    pub mask: String,
    pub setter: String,
    pub time: SystemTime,
}

/// Channel modes without parameters and the two with one (`+k`, `+l`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modes {
    pub invite_only: bool,
    pub moderated: bool,
    pub no_external: bool,
    pub secret: bool,
    pub topic_lock: bool,
    pub key: Option<String>,
    pub limit: Option<usize>,
    /// +H: history visibility `joined` — a member reads only what was said while they
    /// were a member ([`crate::visibility`]).
    pub joined_history: bool,
}

impl Modes {
    /// Modes a new channel starts with.
    pub fn new_channel() -> Self {
        Modes { no_external: true, topic_lock: true, ..Modes::default() }
    }

    /// `+ntk key`-style string for RPL_CHANNELMODEIS; the key only for members.
    pub fn to_params(&self, show_key: bool) -> Vec<String> {
        let mut flags = String::from("+");
        let mut args = Vec::new();
        for (on, c) in [
            (self.invite_only, 'i'),
            (self.moderated, 'm'),
            (self.no_external, 'n'),
            (self.secret, 's'),
            (self.topic_lock, 't'),
            (self.joined_history, 'H'),
        ] {
            if on {
                flags.push(c);
            }
        }
        if let Some(key) = &self.key {
            flags.push('k');
            args.push(if show_key { key.clone() } else { "*".into() });
        }
        if let Some(limit) = self.limit {
            flags.push('l');
            args.push(limit.to_string());
        }
        let mut out = vec![flags];
        out.extend(args);
        out
    }
}

/// A channel and everything that lives in it.
#[derive(Debug)]
pub struct Channel {
    /// The name as first created (display form).
    pub name: String,
    /// Member connection → status bits (`OP`, `VOICE`).
    pub members: HashMap<ConnId, u8>,
    pub modes: Modes,
    pub topic: Option<Topic>,
    pub bans: Vec<Ban>,
    /// +e: ban exceptions.
    pub excepts: Vec<Ban>,
    /// +I: invite exceptions (let matching users past +i).
    pub invex: Vec<Ban>,
    pub created: SystemTime,
    /// Stored in the database; survives restarts and stays when empty.
    pub persistent: bool,
    /// Casefolded accounts that get +o when they join.
    pub op_accounts: Vec<String>,
    /// The last messages (up to `replay_on_join`), replayed to people who join.
    pub recent: std::collections::VecDeque<hearth_store::StoredMessage>,
    /// Since when each member has been one (history visibility, `+H`).
    pub memberships: crate::visibility::Memberships,
}

impl Channel {
    pub fn new(name: &str) -> Self {
        Channel {
            name: name.to_string(),
            members: HashMap::new(),
            modes: Modes::new_channel(),
            topic: None,
            bans: Vec::new(),
            excepts: Vec::new(),
            invex: Vec::new(),
            created: SystemTime::now(),
            persistent: false,
            op_accounts: Vec::new(),
            recent: Default::default(),
            memberships: Default::default(),
        }
    }

    /// The simple modes as the store keeps them (`"imnstH"` subset, no key/limit).
    pub fn flag_string(&self) -> String {
        let m = &self.modes;
        [
            (m.invite_only, 'i'),
            (m.moderated, 'm'),
            (m.no_external, 'n'),
            (m.secret, 's'),
            (m.topic_lock, 't'),
            (m.joined_history, 'H'),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect()
    }

    /// Applies a stored flag string (see [`Channel::flag_string`]).
    pub fn set_flags(&mut self, flags: &str) {
        let m = &mut self.modes;
        m.invite_only = flags.contains('i');
        m.moderated = flags.contains('m');
        m.no_external = flags.contains('n');
        m.secret = flags.contains('s');
        m.topic_lock = flags.contains('t');
        m.joined_history = flags.contains('H');
    }

    pub fn is_op(&self, id: ConnId) -> bool {
        self.members.get(&id).is_some_and(|s| s & OP != 0)
    }

    pub fn can_speak(&self, id: ConnId) -> bool {
        self.members.get(&id).is_some_and(|s| s & (OP | VOICE) != 0)
    }

    /// Whether a ban (not a mute) matches `who` and no exception does.
    pub fn is_banned(&self, who: Subject<'_>) -> bool {
        self.bans.iter().any(|b| !extban::is_mute(&b.mask) && extban::matches(&b.mask, who)) && !self.is_excepted(who)
    }

    /// Whether a mute (`~q:`) matches `who` and no exception does.
    pub fn is_muted(&self, who: Subject<'_>) -> bool {
        self.bans.iter().any(|b| extban::is_mute(&b.mask) && extban::matches(&b.mask, who)) && !self.is_excepted(who)
    }

    fn is_excepted(&self, who: Subject<'_>) -> bool {
        self.excepts.iter().any(|e| extban::matches(&e.mask, who))
    }

    /// Whether an invite exception (+I) lets `who` past +i.
    pub fn is_invex(&self, who: Subject<'_>) -> bool {
        self.invex.iter().any(|e| extban::matches(&e.mask, who))
    }

    /// One of the mask lists.
    pub fn list(&self, list: BanList) -> &Vec<Ban> {
        match list {
            BanList::Ban => &self.bans,
            BanList::Exception => &self.excepts,
            BanList::InviteException => &self.invex,
        }
    }

    pub fn list_mut(&mut self, list: BanList) -> &mut Vec<Ban> {
        match list {
            BanList::Ban => &mut self.bans,
            BanList::Exception => &mut self.excepts,
            BanList::InviteException => &mut self.invex,
        }
    }
}

/// The prefix characters for a member, highest first (`@`, `+`, `@+` with multi-prefix).
pub fn prefixes(status: u8, multi: bool) -> &'static str {
    match (status & OP != 0, status & VOICE != 0, multi) {
        (true, true, true) => "@+",
        (true, _, _) => "@",
        (false, true, _) => "+",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_string_hides_key_from_outsiders() {
        let m = Modes { key: Some("sekrit".into()), limit: Some(5), ..Modes::new_channel() };
        assert_eq!(m.to_params(true), vec!["+ntkl", "sekrit", "5"]);
        assert_eq!(m.to_params(false), vec!["+ntkl", "*", "5"]);
    }

    #[test]
    fn prefix_order() {
        assert_eq!(prefixes(OP | VOICE, true), "@+");
        assert_eq!(prefixes(OP | VOICE, false), "@");
        assert_eq!(prefixes(VOICE, false), "+");
        assert_eq!(prefixes(0, true), "");
    }
}
