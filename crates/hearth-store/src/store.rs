//! The `Store` trait: everything Hearth persists, at the level of the domain.

use async_trait::async_trait;

use crate::error::Result;
use crate::search::SearchQuery;
use crate::types::{
    Account, Ban, Bound, ChatRequest, LoginToken, Membership, Retention, Room, RoomState, StoredMessage, TargetSummary,
    Timestamp, Unread,
};

/// Hearth's persistence. Object safe: the core holds an `Arc<dyn Store>`.
///
/// Contracts shared by every method:
/// - **Casefolding.** Every name or key argument (account, room, target,
///   mask) is folded with [`casefold`](crate::casefold) (ASCII lowercase)
///   before use, so `Alice` and `alice` are the same account. Names are also
///   returned in their original case where the type has a display name.
/// - **Atomicity.** Each call is one statement or one transaction: it happens
///   whole or not at all.
/// - **Order.** History is ordered by `(time, insertion order)`; every
///   history result is chronological (oldest first), whichever end the
///   limit was applied from.
/// - **Limits.** A `limit` of 0 returns nothing; the store applies no cap of
///   its own (the core enforces CHATHISTORY's).
/// - **Blocking.** Every call is async I/O; none blocks a runtime worker.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // ----- accounts -----

    /// Registers `name` with `password_hash` (never a plain password).
    /// Fails with `AlreadyExists` when the casefolded name is taken.
    async fn create_account(&self, name: &str, password_hash: &str) -> Result<Account>;

    /// The account named `name` (case-insensitive), if any.
    async fn account(&self, name: &str) -> Result<Option<Account>>;

    /// All accounts, ordered by casefolded name.
    async fn accounts(&self) -> Result<Vec<Account>>;

    /// Number of accounts.
    async fn account_count(&self) -> Result<u64>;

    /// Deletes an account with its read markers, accept list, room
    /// operator grants and room memberships. Returns whether it existed. Its history stays.
    async fn delete_account(&self, name: &str) -> Result<bool>;

    /// Replaces the password hash and revokes the account's login tokens, in one
    /// transaction. `NotFound` for an unknown account.
    async fn set_password_hash(&self, name: &str, password_hash: &str) -> Result<()>;

    /// Grants or revokes server admin. `NotFound` for an unknown account.
    async fn set_admin(&self, name: &str, admin: bool) -> Result<()>;

    // ----- rooms -----

    /// Creates the room or replaces its topic, modes, key and limit (keyed by
    /// the casefolded `room.name`; the stored display name follows the
    /// latest upsert). `created_at` is set on creation and kept afterwards.
    async fn upsert_room(&self, room: &Room) -> Result<()>;

    /// One room, if registered.
    async fn room(&self, name: &str) -> Result<Option<Room>>;

    /// All rooms, ordered by casefolded name.
    async fn rooms(&self) -> Result<Vec<Room>>;

    /// Deletes a room with its bans, operators and memberships. Returns whether it existed.
    /// Its history stays (see [`Store::purge`]).
    async fn delete_room(&self, name: &str) -> Result<bool>;

    /// Renames room `from` to `to` (draft/channel-rename), keeping its topic,
    /// modes, `created_at`, bans, operators and memberships, atomically. The new display
    /// name is `to` as given; `to` may differ from `from` only in case.
    /// Returns `false` (and changes nothing) when `from` is not registered;
    /// `AlreadyExists` when another room is registered as `to`. History
    /// moves separately, through the journal ([`Store::rename_history`]).
    async fn rename_room(&self, from: &str, to: &str) -> Result<bool>;

    /// Adds `ban` to `room`'s list `ban.list` (bans, exceptions or invite
    /// exceptions). Returns `false` (and changes nothing) when the casefolded mask
    /// is already on that list. `NotFound` when the room is not registered.
    async fn add_ban(&self, room: &str, ban: &Ban) -> Result<bool>;

    /// Removes a mask (compared casefolded) from one list; `mask` is qualified
    /// with its list by [`BanList::qualify`](crate::BanList::qualify) (a plain
    /// mask is a `+b` ban). Returns whether it was listed.
    async fn remove_ban(&self, room: &str, mask: &str) -> Result<bool>;

    /// Every list entry of the room (all three lists), oldest first (ties by
    /// list and mask).
    async fn bans(&self, room: &str) -> Result<Vec<Ban>>;

    /// Gives `account` persistent `+o` in `room`. Returns `false` when it had
    /// it already. `NotFound` when the room or the account does not exist.
    async fn add_operator(&self, room: &str, account: &str) -> Result<bool>;

    /// Takes persistent `+o` away. Returns whether it was granted.
    async fn remove_operator(&self, room: &str, account: &str) -> Result<bool>;

    /// Casefolded account names with persistent `+o` in `room`, sorted.
    async fn operators(&self, room: &str) -> Result<Vec<String>>;

    /// Records that `account` has been a member of `room` since `since`,
    /// replacing an earlier membership (a new one starts at each JOIN after a
    /// PART or KICK). Idempotent. `NotFound` when the room or the account does
    /// not exist.
    async fn set_member(&self, room: &str, account: &str, since: Timestamp) -> Result<()>;

    /// Ends `account`'s membership of `room` (PART, KICK). Returns whether
    /// there was one.
    async fn remove_member(&self, room: &str, account: &str) -> Result<bool>;

    /// Every membership of every room, ordered by room and account key: what
    /// the core needs at start.
    async fn memberships(&self) -> Result<Vec<Membership>>;

    /// Every room with its bans and operators: what the core needs at start.
    /// Not one snapshot: run it before accepting clients.
    async fn load_rooms(&self) -> Result<Vec<RoomState>> {
        let mut out = Vec::new();
        for room in self.rooms().await? {
            let bans = self.bans(&room.name).await?;
            let operators = self.operators(&room.name).await?;
            out.push(RoomState { room, bans, operators });
        }
        Ok(out)
    }

    // ----- history -----

    /// Stores `messages` in ONE transaction, all or none. A message whose
    /// msgid is already stored is skipped (so a retried batch is harmless).
    /// Returns how many were inserted. Callers normally go through
    /// [`HistoryWriter`](crate::HistoryWriter), which batches for them.
    async fn append(&self, messages: &[StoredMessage]) -> Result<u64>;

    /// CHATHISTORY LATEST: the newest `limit` messages of `target`, only
    /// those strictly after `after` when given.
    async fn latest(&self, target: &str, after: Option<&Bound>, limit: usize) -> Result<Vec<StoredMessage>>;

    /// CHATHISTORY BEFORE: the `limit` messages immediately before `bound`
    /// (exclusive).
    async fn before(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>>;

    /// CHATHISTORY AFTER: the `limit` messages immediately after `bound`
    /// (exclusive).
    async fn after(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>>;

    /// CHATHISTORY AROUND: up to `limit` messages centred on `bound`:
    /// `limit / 2` strictly before it, and the rest from it on (a msgid
    /// bound's own message comes first among those; for a timestamp, messages
    /// at exactly that time do).
    async fn around(&self, target: &str, bound: &Bound, limit: usize) -> Result<Vec<StoredMessage>>;

    /// CHATHISTORY BETWEEN: messages strictly between `a` and `b`. When `a`
    /// is earlier than `b`, the first `limit` after `a`; when later, the
    /// last `limit` before `a` (the limit is applied from `a`'s side).
    async fn between(&self, target: &str, a: &Bound, b: &Bound, limit: usize) -> Result<Vec<StoredMessage>>;

    /// CHATHISTORY TARGETS for the user `me` (casefolded nick or account):
    /// among `channels` (the keys of the channels the user may read) and the
    /// direct conversations `me` takes part in, those with a message strictly
    /// between `from` and `to`, each with its latest message time in that
    /// window. Ordered by that time, oldest first; when `from` is later than
    /// `to` the limit keeps the latest ones, otherwise the earliest ones.
    async fn targets(
        &self,
        me: &str,
        channels: &[String],
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<TargetSummary>>;

    /// Every message of `target` with `from <= time <= to`, chronological:
    /// for exports, not for CHATHISTORY.
    async fn export(&self, target: &str, from: Timestamp, to: Timestamp) -> Result<Vec<StoredMessage>>;

    /// Full-text search (soju.im/search): PRIVMSG and NOTICE messages inside the
    /// query's scope that meet every condition it gives (see [`SearchQuery`]).
    ///
    /// Text matches by words: every word of `text` must occur in the message as a
    /// whole word, case folded (`fast` finds "FAST!" but not "fasting"). The text
    /// is never parsed as query syntax (see [`search_terms`](crate::search_terms)).
    /// When `after` is given the limit keeps the earliest matches, otherwise the
    /// latest ("searched from" that end, as the extension says), by stored order,
    /// which follows time. The result is chronological (by time, ties in stored
    /// order). Purged, redacted and trimmed messages are never found; a renamed
    /// channel's messages are found under its new key.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<StoredMessage>>;

    // ----- read markers -----

    /// Moves `account`'s read marker on `target` to `time`, only forward:
    /// an earlier `time` leaves it. Returns the marker as stored afterwards.
    /// `NotFound` for an unknown account.
    async fn set_read_marker(&self, account: &str, target: &str, time: Timestamp) -> Result<Timestamp>;

    /// The read marker, if one was ever set.
    async fn read_marker(&self, account: &str, target: &str) -> Result<Option<Timestamp>>;

    // ----- retention -----

    /// Deletes history: of `target` only when given, and only messages with
    /// `time < before` when given (both `None` empties the history).
    /// Returns how many messages were deleted.
    async fn purge(&self, target: Option<&str>, before: Option<Timestamp>) -> Result<u64>;

    /// Deletes message `msgid` of conversation `target` (REDACT,
    /// draft/message-redaction). Returns whether it was stored; deleting it
    /// again is harmless (a journal replay does).
    async fn redact(&self, target: &str, msgid: &str) -> Result<bool>;

    /// Moves every message and read marker of channel key `from` to the key
    /// of `to` (a channel rename; `to` is the new name as displayed, and
    /// becomes the moved messages' `recipient`), atomically. Messages keep
    /// their order; a read marker already set on the new key stays when it
    /// is later. Returns how many messages moved. Idempotent; `to` may differ
    /// from `from` only in case.
    async fn rename_history(&self, from: &str, to: &str) -> Result<u64>;

    /// Applies a retention policy relative to `now`: drops messages older
    /// than `max_age`, then keeps only the newest `max_per_target` of every
    /// target. Returns how many messages were deleted. Each target is its own
    /// transaction, so a long trim never holds the writer for long.
    async fn trim(&self, policy: &Retention, now: Timestamp) -> Result<u64>;

    // ----- accept lists -----

    /// Lets `other` (nick or account) send direct messages to `account`.
    /// Returns `false` when already accepted; `NotFound` for an unknown
    /// account. (Enforcement is the core's, a later feature.)
    async fn accept_add(&self, account: &str, other: &str) -> Result<bool>;

    /// Removes `other` from `account`'s accept list. Returns whether listed.
    async fn accept_remove(&self, account: &str, other: &str) -> Result<bool>;

    /// `account`'s accept list, casefolded and sorted.
    async fn accept_list(&self, account: &str) -> Result<Vec<String>>;

    /// Every accept-list entry of every account: (account, accepted), casefolded,
    /// sorted. What the core loads at start.
    async fn accept_lists(&self) -> Result<Vec<(String, String)>>;

    // ----- chat requests and unread private messages -----

    /// Creates or replaces the request from `r.sender` to `r.recipient` (held
    /// messages and all). `NotFound` when either account does not exist.
    async fn put_chat_request(&self, r: &ChatRequest) -> Result<()>;

    /// Deletes the request from `sender` to `recipient`. Returns whether it existed.
    async fn delete_chat_request(&self, sender: &str, recipient: &str) -> Result<bool>;

    /// Every request, pending or declined, oldest first (ties by sender, recipient).
    async fn chat_requests(&self) -> Result<Vec<ChatRequest>>;

    /// Creates or replaces `u.account`'s unread count from `u.sender` (absolute
    /// values, so repeating it is harmless). `NotFound` for an unknown account.
    async fn put_unread(&self, u: &Unread) -> Result<()>;

    /// Forgets every unread count of `account` (it logged in). Returns how many.
    async fn clear_unread(&self, account: &str) -> Result<u64>;

    /// Every unread count, by account then first time.
    async fn unread(&self) -> Result<Vec<Unread>>;

    // ----- administration -----

    /// Stored messages (events included) per conversation key, for `hearth admin rooms`.
    async fn message_counts(&self) -> Result<Vec<(String, u64)>>;

    /// Writes a consistent copy of the whole database to `path` (a file that must not
    /// exist yet) while others keep using it: SQLite only (`VACUUM INTO`); PostgreSQL
    /// answers `InvalidInput` (use `pg_dump`).
    async fn backup_to(&self, path: &std::path::Path) -> Result<()>;

    // ----- client certificates (SASL EXTERNAL) -----

    /// Registers a client-certificate fingerprint (lowercase hex SHA-256, as given)
    /// for SASL EXTERNAL. `false` when the account already has it; `AlreadyExists`
    /// when another account has it; `NotFound` when the account does not exist.
    async fn add_cert(&self, account: &str, fingerprint: &str) -> Result<bool>;

    /// Removes a fingerprint from an account; `false` when it did not have it.
    async fn remove_cert(&self, account: &str, fingerprint: &str) -> Result<bool>;

    /// An account's fingerprints, sorted.
    async fn certs(&self, account: &str) -> Result<Vec<String>>;

    /// The account a fingerprint logs in to. Deleting the account removes its
    /// fingerprints.
    async fn account_by_cert(&self, fingerprint: &str) -> Result<Option<Account>>;

    // ----- login tokens ("stay signed in") -----

    /// Stores a login token of `account`: its id, the SHA-256 of the token
    /// ([`login_token::hash`](crate::login_token::hash)) and a device name. `NotFound`
    /// when the account does not exist; `AlreadyExists` when the id or hash is taken.
    async fn add_login_token(&self, account: &str, id: &str, token_hash: &str, device: &str) -> Result<LoginToken>;

    /// An account's login tokens, oldest first (ties by id).
    async fn login_tokens(&self, account: &str) -> Result<Vec<LoginToken>>;

    /// Revokes one token of `account`; `false` when it has no token `id`.
    async fn delete_login_token(&self, account: &str, id: &str) -> Result<bool>;

    /// Revokes every token of `account`; returns how many. Changing the password
    /// ([`Store::set_password_hash`]) and deleting the account do it too.
    async fn delete_login_tokens(&self, account: &str) -> Result<u64>;

    /// The token with this hash and its account, if any.
    async fn account_by_login_token(&self, token_hash: &str) -> Result<Option<(LoginToken, Account)>>;

    /// Records a login with token `id` at `now`. Returns whether it exists.
    async fn touch_login_token(&self, id: &str, now: Timestamp) -> Result<bool>;
}
