//! Domain types the [`Store`](crate::Store) speaks in, and the key helpers
//! (casefolding, direct-message conversation keys) every caller must agree on.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The separator inside a direct-message conversation key.
///
/// A space: RFC 2812 forbids it in both nicknames and channel names, so a
/// conversation key can never collide with a channel or a nick. (NUL would do
/// too, but PostgreSQL `TEXT` cannot hold it.)
pub const DM_SEPARATOR: char = ' ';

/// Casefolds a name the way the store keys it: ASCII lowercase, matching
/// Hearth's `CASEMAPPING=ascii`. Idempotent, so already-folded keys pass through.
pub fn casefold(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The conversation key of a direct-message conversation between `a` and `b`
/// (nicks or account names): both casefolded, sorted, joined by
/// [`DM_SEPARATOR`]. `dm_key("Bob", "alice") == "alice bob"`; the key is the
/// same whichever side sends.
pub fn dm_key(a: &str, b: &str) -> String {
    let (a, b) = (casefold(a), casefold(b));
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    format!("{first}{DM_SEPARATOR}{second}")
}

/// The two participants of a conversation key, or `None` for a channel key.
pub fn dm_participants(key: &str) -> Option<(&str, &str)> {
    key.split_once(DM_SEPARATOR)
}

/// The other participant of conversation `key`, seen from `me` (casefolded),
/// or `None` when `key` is not a conversation of `me`. A conversation with
/// oneself yields oneself.
pub fn dm_peer<'k>(key: &'k str, me: &str) -> Option<&'k str> {
    let (a, b) = dm_participants(key)?;
    if a == me {
        Some(b)
    } else if b == me {
        Some(a)
    } else {
        None
    }
}

/// A point in time: milliseconds since the Unix epoch, UTC. Stored as an
/// integer; IRCv3 `server-time` has millisecond precision, so nothing is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The earliest representable time; a lower bound that matches everything.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable time; an upper bound that matches everything.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// The current wall-clock time, truncated to the millisecond.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// From milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// `self - d`, saturating at [`Timestamp::MIN`].
    pub fn saturating_sub(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Timestamp {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// A registered account. Only the password *hash* is ever stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The name as first registered (original case).
    pub name: String,
    /// An argon2id PHC string, see [`crate::password`].
    pub password_hash: String,
    /// Server administrator.
    pub admin: bool,
    pub created_at: Timestamp,
}

/// A login token of an account, as listed (the token itself is never stored, only its
/// SHA-256, see [`crate::login_token`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginToken {
    /// Short random id, for listing and revoking.
    pub id: String,
    /// The account's casefolded name.
    pub account: String,
    /// What the client called the device ("Firefox on Linux").
    pub device: String,
    pub created_at: Timestamp,
    /// The last login with it, if any.
    pub last_used_at: Option<Timestamp>,
}

/// A channel topic with its setter and time (RPL_TOPICWHOTIME).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Topic {
    pub text: String,
    pub set_by: String,
    pub set_at: Timestamp,
}

/// The persistent state of a registered room (channel), apart from its ban
/// list and operators, which have their own methods.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Room {
    /// The name in original case, e.g. `#Hearth`.
    pub name: String,
    pub topic: Option<Topic>,
    /// Simple modes without parameters, e.g. `"nt"`; the key and limit are
    /// kept apart in `key` and `limit`.
    pub modes: String,
    /// `+k` channel key.
    pub key: Option<String>,
    /// `+l` user limit.
    pub limit: Option<u32>,
    /// Set by the store on first upsert; ignored on input.
    pub created_at: Timestamp,
}

/// Which of a room's mask lists an entry is on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BanList {
    /// `+b`: bans (and mute extbans).
    #[default]
    Ban,
    /// `+e`: ban exceptions.
    Exception,
    /// `+I`: invite exceptions.
    InviteException,
}

impl BanList {
    /// The channel mode letter: `b`, `e` or `I`.
    pub fn letter(self) -> char {
        match self {
            BanList::Ban => 'b',
            BanList::Exception => 'e',
            BanList::InviteException => 'I',
        }
    }

    pub fn from_letter(c: char) -> Option<Self> {
        match c {
            'b' => Some(BanList::Ban),
            'e' => Some(BanList::Exception),
            'I' => Some(BanList::InviteException),
            _ => None,
        }
    }

    /// The mask as [`Store::remove_ban`](crate::Store::remove_ban) takes it: plain for
    /// `+b`, `"<letter> <mask>"` for the other lists. A mode parameter has no spaces,
    /// so the forms of different lists never collide.
    pub fn qualify(self, mask: &str) -> String {
        match self {
            BanList::Ban => mask.to_string(),
            other => format!("{} {mask}", other.letter()),
        }
    }

    /// Inverse of [`BanList::qualify`].
    pub fn split(qualified: &str) -> (Self, &str) {
        let mut chars = qualified.chars();
        match (chars.next().and_then(Self::from_letter), chars.next()) {
            (Some(list), Some(' ')) if list != BanList::Ban => (list, &qualified[2..]),
            _ => (BanList::Ban, qualified),
        }
    }
}

/// An entry of a room's ban, exception or invite-exception list.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ban {
    /// The mask as set, e.g. `*!*@example.com`. Unique per room and list,
    /// compared casefolded.
    pub mask: String,
    pub set_by: String,
    pub set_at: Timestamp,
    #[serde(default)]
    pub list: BanList,
}

/// Everything needed to restore one room after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomState {
    pub room: Room,
    /// Oldest first.
    pub bans: Vec<Ban>,
    /// Casefolded account names with persistent `+o`, sorted.
    pub operators: Vec<String>,
}

/// An account's membership of a room: since when it has been a member
/// (history visibility: in a room with `+H` a member reads only what was said
/// from `since` on). Keys are casefolded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Membership {
    pub room: String,
    pub account: String,
    pub since: Timestamp,
}

/// One line of history.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredMessage {
    /// The IRCv3 `msgid`; unique across the whole store.
    pub msgid: String,
    /// Server time of the message.
    pub time: Timestamp,
    /// The conversation key: the casefolded channel name, or [`dm_key`] of
    /// the two parties for a direct message.
    pub target: String,
    /// The target parameter exactly as sent (channel name or nick, original
    /// case), needed to replay the line.
    pub recipient: String,
    /// The message source to replay: `nick!user@host`, or at least the nick.
    pub sender: String,
    /// The sender's account, if logged in.
    pub sender_account: Option<String>,
    /// `PRIVMSG`, `NOTICE`, `TAGMSG`, or an event (draft/event-playback): `JOIN`,
    /// `PART`, `QUIT`, `KICK`, `NICK`, `TOPIC`.
    pub command: String,
    /// Client-only tags, serialised as on the wire (without the leading `@`). A
    /// multiline message (draft/multiline) also carries [`MULTILINE_TAG`] here.
    pub tags: String,
    /// The trailing text; empty for `TAGMSG`. For events: the realname (`JOIN`), the
    /// reason (`PART`, `QUIT`), `<kicked nick> <reason>` (`KICK`), the new nick
    /// (`NICK`), the topic (`TOPIC`). A multiline message holds its lines joined by
    /// `\n` (see [`StoredMessage::lines`]).
    pub text: String,
}

/// A chat request (consent before private messages): `sender` wrote to `recipient`,
/// who has not accepted them yet. Both are casefolded account names. While pending
/// (`declined` is `None`) it holds the first few messages (`held`, oldest first),
/// delivered on acceptance and discarded on a decline. A declined request is kept for
/// a while only to bound repeated requests.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatRequest {
    pub sender: String,
    pub recipient: String,
    pub created: Timestamp,
    pub declined: Option<Timestamp>,
    pub held: Vec<StoredMessage>,
}

/// Private messages `account` received from `sender` (casefolded account, or `~nick`
/// for a guest) while it was offline: how many, and when the first came. For the
/// summary at its next login.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Unread {
    pub account: String,
    pub sender: String,
    /// The sender's nick as last seen, for the summary.
    pub sender_nick: String,
    pub first: Timestamp,
    pub count: u64,
}

/// The server tag that marks a stored multiline message (draft/multiline): its value
/// lists, comma-separated, the indices of the lines sent with
/// `draft/multiline-concat`. It has no `+`, so no client-only tag can collide with it.
pub const MULTILINE_TAG: &str = "draft/multiline";

impl StoredMessage {
    /// The lines of a multiline message with their `draft/multiline-concat` flag, as
    /// the client composed them; `None` for an ordinary message.
    pub fn lines(&self) -> Option<Vec<(&str, bool)>> {
        let concat = self.tags.split(';').find_map(|t| {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            (k == MULTILINE_TAG).then_some(v)
        })?;
        let concat: Vec<usize> = concat.split(',').filter_map(|i| i.parse().ok()).collect();
        Some(self.text.split('\n').enumerate().map(|(i, l)| (l, concat.contains(&i))).collect())
    }

    /// The message as its reader sees it: for a multiline message the "combined
    /// message value" (lines joined by `\n`, except concatenated ones), else `text`.
    pub fn combined_text(&self) -> String {
        match self.lines() {
            None => self.text.clone(),
            Some(lines) => {
                let mut out = String::with_capacity(self.text.len());
                for (i, (line, concat)) in lines.iter().enumerate() {
                    if i > 0 && !concat {
                        out.push('\n');
                    }
                    out.push_str(line);
                }
                out
            }
        }
    }
}

/// A reference point in a conversation's history (CHATHISTORY `msgid=` or
/// `timestamp=`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// A stored message of the same target. Resolving a msgid that is unknown,
    /// or belongs to another target, fails with
    /// [`StoreError::UnknownMsgid`](crate::StoreError::UnknownMsgid).
    MsgId(String),
    /// A point in time.
    Time(Timestamp),
}

/// One entry of CHATHISTORY TARGETS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSummary {
    /// The conversation key (channel key or [`dm_key`]).
    pub target: String,
    /// Time of the latest message of `target` inside the requested window.
    pub latest: Timestamp,
}

/// A retention policy for [`Store::trim`](crate::Store::trim).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete messages older than this.
    pub max_age: Option<Duration>,
    /// Keep at most this many of the newest messages per target.
    pub max_per_target: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_key_is_symmetric_and_casefolded() {
        assert_eq!(dm_key("Bob", "alice"), "alice bob");
        assert_eq!(dm_key("ALICE", "bob"), dm_key("bob", "alice"));
        assert_eq!(dm_peer("alice bob", "alice"), Some("bob"));
        assert_eq!(dm_peer("alice bob", "bob"), Some("alice"));
        assert_eq!(dm_peer("alice bob", "carol"), None);
        assert_eq!(dm_peer("#chan", "alice"), None);
    }

    #[test]
    fn multiline_lines_and_combined_text() {
        let mut m = StoredMessage {
            msgid: "x".into(),
            time: Timestamp(0),
            target: "#a".into(),
            recipient: "#a".into(),
            sender: "n".into(),
            sender_account: None,
            command: "PRIVMSG".into(),
            tags: "+a=b;draft/multiline=2".into(),
            text: "hello\nhow is \neveryone?".into(),
        };
        assert_eq!(m.lines().unwrap(), [("hello", false), ("how is ", false), ("everyone?", true)]);
        assert_eq!(m.combined_text(), "hello\nhow is everyone?");
        m.tags = "+a=b".into();
        assert_eq!(m.lines(), None);
        assert_eq!(m.combined_text(), m.text);
    }

    #[test]
    fn timestamp_from_system_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_234);
        assert_eq!(Timestamp::from(t), Timestamp(1_234));
        assert_eq!(Timestamp(10).saturating_sub(Duration::from_millis(3)), Timestamp(7));
    }
}
