//! The IRCv3 capabilities Hearth offers, in one table.
//!
//! [`Cap`] is the table; [`CapSet`] is a `Copy` bitset of negotiated caps, so a
//! session can carry its caps around cheaply and fan-out can key serialised
//! variants on them.

use std::fmt;

macro_rules! caps {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $spec:literal;)*) => {
        /// One capability. The discriminant is its bit in a [`CapSet`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Cap {
            $($(#[$doc])* $variant,)*
        }

        impl Cap {
            /// Every capability, in declaration (= bit) order.
            pub const ALL: &'static [Cap] = &[$(Cap::$variant),*];

            /// The name as it appears in `CAP LS` / `CAP REQ`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Cap::$variant => $name,)*
                }
            }

            /// Where the capability is specified.
            pub fn spec(self) -> &'static str {
                match self {
                    $(Cap::$variant => $spec,)*
                }
            }

            /// The capability called `name` (exact, case-sensitive as in
            /// IRCv3), or `None` if Hearth does not know it.
            pub fn from_name(name: &str) -> Option<Cap> {
                match name {
                    $($name => Some(Cap::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

caps! {
    CapNotify = "cap-notify", "https://ircv3.net/specs/extensions/capability-negotiation#cap-notify";
    ServerTime = "server-time", "https://ircv3.net/specs/extensions/server-time";
    MessageTags = "message-tags", "https://ircv3.net/specs/extensions/message-tags";
    EchoMessage = "echo-message", "https://ircv3.net/specs/extensions/echo-message";
    Batch = "batch", "https://ircv3.net/specs/extensions/batch";
    LabeledResponse = "labeled-response", "https://ircv3.net/specs/extensions/labeled-response";
    MultiPrefix = "multi-prefix", "https://ircv3.net/specs/extensions/multi-prefix";
    UserhostInNames = "userhost-in-names", "https://ircv3.net/specs/extensions/userhost-in-names";
    AwayNotify = "away-notify", "https://ircv3.net/specs/extensions/away-notify";
    ExtendedJoin = "extended-join", "https://ircv3.net/specs/extensions/extended-join";
    AccountTag = "account-tag", "https://ircv3.net/specs/extensions/account-tag";
    AccountNotify = "account-notify", "https://ircv3.net/specs/extensions/account-notify";
    InviteNotify = "invite-notify", "https://ircv3.net/specs/extensions/invite-notify";
    Setname = "setname", "https://ircv3.net/specs/extensions/setname";
    StandardReplies = "standard-replies", "https://ircv3.net/specs/extensions/standard-replies";
    Sasl = "sasl", "https://ircv3.net/specs/extensions/sasl-3.2";
    ChatHistory = "draft/chathistory", "https://ircv3.net/specs/extensions/chathistory";
    /// Replays JOIN/PART/etc. in history, defined inside the chathistory spec.
    EventPlayback = "draft/event-playback", "https://ircv3.net/specs/extensions/chathistory";
    ReadMarker = "draft/read-marker", "https://ircv3.net/specs/extensions/read-marker";
    AccountRegistration = "draft/account-registration", "https://ircv3.net/specs/extensions/account-registration";
    Chghost = "chghost", "https://ircv3.net/specs/extensions/chghost";
    MessageRedaction = "draft/message-redaction", "https://ircv3.net/specs/extensions/message-redaction";
    Multiline = "draft/multiline", "https://ircv3.net/specs/extensions/multiline";
    ChannelRename = "draft/channel-rename", "https://ircv3.net/specs/extensions/channel-rename";
    /// AWAY/ACCOUNT/SETNAME/CHGHOST for monitored nicks without a shared channel.
    ExtendedMonitor = "extended-monitor", "https://ircv3.net/specs/extensions/extended-monitor";
    /// Advertised in CAP LS only (never requested): the TLS upgrade policy.
    Sts = "sts", "https://ircv3.net/specs/extensions/sts";
    /// Full-text search of history (SEARCH), a soju extension.
    Search = "soju.im/search", "https://codeberg.org/emersion/soju/src/branch/master/doc/ext/search.md";
}

impl Cap {
    /// This capability's bit in [`CapSet::bits`].
    pub const fn bit(self) -> u64 {
        1 << (self as u8)
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of capabilities as a 64-bit mask: `Copy`, allocation-free, usable as
/// a hash key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CapSet(u64);

// A compile-time guard: growing past 64 caps needs a wider CapSet.
const _: () = assert!(Cap::ALL.len() <= 64);

impl CapSet {
    /// The empty set.
    pub const fn empty() -> CapSet {
        CapSet(0)
    }

    /// Every known capability.
    pub fn all() -> CapSet {
        Cap::ALL.iter().copied().collect()
    }

    /// Whether `cap` is in the set.
    pub const fn contains(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }

    /// Adds `cap`; returns whether it was newly added.
    pub fn insert(&mut self, cap: Cap) -> bool {
        let added = !self.contains(cap);
        self.0 |= cap.bit();
        added
    }

    /// Removes `cap`; returns whether it was present.
    pub fn remove(&mut self, cap: Cap) -> bool {
        let present = self.contains(cap);
        self.0 &= !cap.bit();
        present
    }

    /// A copy with `cap` added, for building constant sets.
    pub const fn with(self, cap: Cap) -> CapSet {
        CapSet(self.0 | cap.bit())
    }

    /// The members, in [`Cap::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Cap> {
        Cap::ALL.iter().copied().filter(move |c| self.contains(*c))
    }

    /// The raw mask; bit `n` is the capability with discriminant `n`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Whether no capability is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many capabilities are set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }
}

impl FromIterator<Cap> for CapSet {
    fn from_iter<I: IntoIterator<Item = Cap>>(iter: I) -> CapSet {
        let mut set = CapSet::empty();
        set.extend(iter);
        set
    }
}

impl Extend<Cap> for CapSet {
    fn extend<I: IntoIterator<Item = Cap>>(&mut self, iter: I) {
        for cap in iter {
            self.insert(cap);
        }
    }
}

impl fmt::Debug for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(Cap::name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for &cap in Cap::ALL {
            assert_eq!(Cap::from_name(cap.name()), Some(cap));
            // IRCv3's own, or a vendor extension from its vendor (`soju.im/…`).
            let vendor = cap.name().split_once('/').map(|(v, _)| v).filter(|v| v.contains('.'));
            let home = match vendor {
                Some("soju.im") => "https://codeberg.org/emersion/soju/",
                _ => "https://ircv3.net/specs/",
            };
            assert!(cap.spec().starts_with(home), "{cap}");
        }
        let mut names: Vec<_> = Cap::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Cap::ALL.len());
    }

    #[test]
    fn discriminants_follow_all_order() {
        for (i, &cap) in Cap::ALL.iter().enumerate() {
            assert_eq!(cap as usize, i);
        }
    }

    #[test]
    fn unknown_and_wrong_case_names_are_none() {
        assert_eq!(Cap::from_name("msgid"), None);
        assert_eq!(Cap::from_name("SASL"), None);
        assert_eq!(Cap::from_name("draft/chathistory"), Some(Cap::ChatHistory));
        assert_eq!(Cap::from_name("chathistory"), None);
    }

    #[test]
    fn capset_operations() {
        let mut set = CapSet::empty();
        assert!(set.is_empty());
        assert!(set.insert(Cap::Sasl));
        assert!(!set.insert(Cap::Sasl));
        set.insert(Cap::ServerTime);
        assert!(set.contains(Cap::Sasl) && set.contains(Cap::ServerTime));
        assert!(!set.contains(Cap::Batch));
        assert_eq!(set.len(), 2);
        assert_eq!(set.iter().collect::<Vec<_>>(), [Cap::ServerTime, Cap::Sasl]);
        assert!(set.remove(Cap::Sasl));
        assert!(!set.remove(Cap::Sasl));
        assert_eq!(set.bits(), Cap::ServerTime.bit());
        assert_eq!(format!("{set:?}"), "{\"server-time\"}");
    }

    #[test]
    fn capset_all_and_const_builder() {
        assert_eq!(CapSet::all().len(), Cap::ALL.len());
        const TAGS: CapSet = CapSet::empty().with(Cap::MessageTags).with(Cap::ServerTime);
        assert_eq!(TAGS.len(), 2);
    }
}
