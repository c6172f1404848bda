//! The history journal: a message is durable once it is appended here, before any
//! database commit — and the journal is also the queue from which the database is filled.
//!
//! Committing a database transaction for every message (or every group of them)
//! before delivery costs a few hundred microseconds; appending one line per message
//! to a file costs one `write` into the page cache, which survives a crash or
//! `kill -9` of the server just as well (not a power cut, unless `fsync` is asked for —
//! the same promise as SQLite's `synchronous = NORMAL`).
//!
//! # Records
//! One JSON object per line ([`Record`]): a [`StoredMessage`], or a history operation
//! that must happen *in order* with the messages around it — a [`Purge`], a
//! [`Trim`], a [`Redact`] (one message deleted, draft/message-redaction) or a
//! [`Rename`] (a channel's history moved to its new name, draft/channel-rename).
//! Because these travel through the journal, replaying the journal after a crash
//! replays them too, after the messages they concern: nothing purged or redacted can
//! come back, and no message lands under a name its channel no longer has. Replaying
//! is idempotent (a stored msgid is skipped; a purge or trim with recorded bounds
//! deletes the same rows again; a redaction deletes the same msgid again; a rename
//! moves whatever is still under the old key).
//!
//! # Files
//! Segments `journal-<n>.log`, written by one [`Journal`], read by one [`Reader`]
//! (the database inserter), which follows the writer through the files: nothing is
//! buffered in memory between the two, however far the database falls behind (a
//! PostgreSQL outage, a full disk), so memory stays bounded by one read chunk. When the
//! reader has stored everything, the writer truncates its segment
//! ([`Journal::checkpoint`]); older segments are deleted as soon as the reader has
//! passed them. So a clean stop leaves an empty journal, and a restart replays only
//! what was not yet in the database.
//!
//! Before anything else reads the database — `hearth serve` at start, `hearth export`,
//! `hearth history purge` with the server stopped — [`drain`] applies what is left.
//! A segment with bytes that cannot be read (a write torn by a full disk or a power
//! cut, or a damaged file) keeps every intact record, is moved aside as
//! `damaged-<n>-<unix ms>.log` and reported with a WARN.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::store::Store;
use crate::types::{Ban, ChatRequest, Retention, Room, StoredMessage, Timestamp, Unread};

/// Start a new segment past this size.
pub const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// The most bytes one [`Reader::read`] takes in.
pub const READ_CHUNK: usize = 1024 * 1024;

/// Deletes history in order with the messages around it: of `target` (a conversation
/// key) only when given, and only messages older than `before` when given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    /// Identifies the request, so whoever asked can learn the result.
    pub id: u64,
    pub target: Option<String>,
    pub before: Option<Timestamp>,
}

/// Applies a retention policy in order with the messages around it, relative to the
/// recorded `now` (so a replay deletes the same rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trim {
    pub id: u64,
    pub max_age_ms: Option<u64>,
    pub max_per_target: Option<u64>,
    pub now: Timestamp,
}

impl Trim {
    pub fn new(id: u64, policy: &Retention, now: Timestamp) -> Trim {
        Trim {
            id,
            max_age_ms: policy.max_age.map(|d| d.as_millis().min(u128::from(u64::MAX)) as u64),
            max_per_target: policy.max_per_target,
            now,
        }
    }

    pub fn policy(&self) -> Retention {
        Retention { max_age: self.max_age_ms.map(Duration::from_millis), max_per_target: self.max_per_target }
    }
}

/// Deletes one message (`msgid` of conversation `target`) in order with the messages
/// around it: REDACT (draft/message-redaction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redact {
    pub target: String,
    pub msgid: String,
}

/// Moves the history (and read markers) of channel key `from` to the channel named
/// `to` (as displayed), in order with the messages around it: RENAME
/// (draft/channel-rename). See [`Store::rename_history`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

/// One journal line: a history message, or a change of persistent state that must
/// happen in order with the messages around it and survive a crash before the database
/// has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Message(StoredMessage),
    Purge(Purge),
    Trim(Trim),
    Redact(Redact),
    Rename(Rename),
    Op(Op),
}

/// A change of persistent room state (topic, modes, bans, operators, memberships), journaled
/// like a message so that it is never lost to a database outage and never blocks delivery.
/// Serialised externally tagged: `{"room":{…}}`, `{"add_ban":{…}}`, … (messages are
/// plain objects, always starting with `{"msgid"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Purge(Purge),
    Trim(Trim),
    Room(Room),
    AddBan {
        room: String,
        ban: Ban,
    },
    RemoveBan {
        room: String,
        mask: String,
    },
    AddOperator {
        room: String,
        account: String,
    },
    RemoveOperator {
        room: String,
        account: String,
    },
    /// A room renamed (draft/channel-rename), with its bans and operators.
    RenameRoom {
        from: String,
        to: String,
    },
    Redact(Redact),
    Rename(Rename),
    /// `other` added to `account`'s accept list (ACCEPT nick, or writing to someone).
    AcceptAdd {
        account: String,
        other: String,
    },
    /// `other` taken off `account`'s accept list (ACCEPT -nick).
    AcceptRemove {
        account: String,
        other: String,
    },
    /// A chat request created, added to (a held message) or declined.
    ChatRequest(ChatRequest),
    /// A chat request answered, withdrawn or expired.
    DropChatRequest {
        sender: String,
        recipient: String,
    },
    /// An offline account's unread count from one sender (absolute values).
    Unread(Unread),
    /// An account logged in: its unread counts are shown and forgotten.
    ClearUnread {
        account: String,
    },
    /// `account` has been a member of `room` since `since` (a JOIN that starts a
    /// membership): history visibility, see [`Store::set_member`].
    JoinRoom {
        room: String,
        account: String,
        since: Timestamp,
    },
    /// `account`'s membership of `room` ended (PART, KICK).
    LeaveRoom {
        room: String,
        account: String,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum OpRef<'a> {
    Purge(&'a Purge),
    Trim(&'a Trim),
    Redact(&'a Redact),
    Rename(&'a Rename),
}

impl Record {
    fn write_json(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Record::Message(m) => serde_json::to_writer(&mut *buf, m),
            Record::Purge(p) => serde_json::to_writer(&mut *buf, &OpRef::Purge(p)),
            Record::Trim(t) => serde_json::to_writer(&mut *buf, &OpRef::Trim(t)),
            Record::Op(op) => serde_json::to_writer(&mut *buf, op),
            Record::Redact(r) => serde_json::to_writer(&mut *buf, &OpRef::Redact(r)),
            Record::Rename(r) => serde_json::to_writer(&mut *buf, &OpRef::Rename(r)),
        }
        .map_err(io::Error::other)
    }

    /// Parses one line (without its newline).
    pub fn parse(line: &[u8]) -> Option<Record> {
        if line.starts_with(b"{\"msgid\"") {
            return serde_json::from_slice::<StoredMessage>(line).ok().map(Record::Message);
        }
        match serde_json::from_slice::<Op>(line).ok()? {
            Op::Purge(p) => Some(Record::Purge(p)),
            Op::Trim(t) => Some(Record::Trim(t)),
            Op::Redact(r) => Some(Record::Redact(r)),
            Op::Rename(r) => Some(Record::Rename(r)),
            op => Some(Record::Op(op)),
        }
    }
}

/// A place in the journal: (segment, bytes into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

impl Position {
    /// About how many bytes lie between this position and a later `end` (segments end
    /// near [`SEGMENT_BYTES`]).
    pub fn bytes_until(&self, end: Position) -> u64 {
        if end.segment <= self.segment {
            return end.offset.saturating_sub(self.offset);
        }
        (end.segment - self.segment) * SEGMENT_BYTES + end.offset - self.offset.min(SEGMENT_BYTES)
    }
}

/// The append side of the journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    segment: u64,
    offset: u64,
    fsync: bool,
    buf: Vec<u8>,
    /// A write failed part-way (e.g. disk full): start the next one on a new line so
    /// the torn bytes spoil only themselves.
    torn: bool,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("journal-{n}.log"))
}

fn segment_number(path: &Path) -> Option<u64> {
    path.file_name()?.to_str()?.strip_prefix("journal-")?.strip_suffix(".log")?.parse().ok()
}

/// The segment files in `dir`, oldest first.
pub fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut found: Vec<(u64, PathBuf)> = match fs::read_dir(dir) {
        Ok(entries) => {
            entries.filter_map(|e| e.ok()).filter_map(|e| segment_number(&e.path()).map(|n| (n, e.path()))).collect()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    found.sort();
    Ok(found)
}

/// Bytes the journal holds (what the database has not caught up with, roughly).
pub fn size(dir: &Path) -> u64 {
    segments(dir).unwrap_or_default().iter().filter_map(|(_, p)| fs::metadata(p).ok()).map(|m| m.len()).sum()
}

impl Journal {
    /// Opens the journal in `dir` (created if missing) for appending, on a new segment
    /// after any that exist. Call [`drain`] first: segments left by an earlier run are
    /// not read by this journal's [`Reader`].
    pub fn create(dir: &Path, fsync: bool) -> io::Result<Journal> {
        fs::create_dir_all(dir)?;
        let segment = segments(dir)?.last().map_or(0, |(n, _)| n + 1);
        let file = OpenOptions::new().create(true).append(true).open(segment_path(dir, segment))?;
        let offset = file.metadata()?.len();
        Ok(Journal { dir: dir.to_path_buf(), file, segment, offset, fsync, buf: Vec::new(), torn: false })
    }

    /// Appends `records` with one `write` (and an `fsync` when configured). When this
    /// returns `Ok`, they survive the process dying. Returns where the next append goes
    /// (a [`Reader`] that reaches it has read everything written so far).
    pub fn append(&mut self, records: &[Record]) -> io::Result<Position> {
        self.buf.clear();
        if self.torn {
            self.buf.push(b'\n');
        }
        for r in records {
            r.write_json(&mut self.buf)?;
            self.buf.push(b'\n');
        }
        let written =
            self.file.write_all(&self.buf).and_then(|()| if self.fsync { self.file.sync_data() } else { Ok(()) });
        if let Err(e) = written {
            self.torn = true;
            // Part of the buffer may be in the file: the end is wherever the file ends.
            if let Ok(m) = self.file.metadata() {
                self.offset = m.len();
            }
            return Err(e);
        }
        self.torn = false;
        self.offset += self.buf.len() as u64;
        if self.buf.capacity() > 1024 * 1024 {
            self.buf = Vec::new();
        }
        if self.offset >= SEGMENT_BYTES {
            // Failing here is harmless: the records are written; the next append
            // simply tries the new segment again.
            if let Ok(file) =
                OpenOptions::new().create(true).append(true).open(segment_path(&self.dir, self.segment + 1))
            {
                self.segment += 1;
                self.offset = 0;
                self.file = file;
            }
        }
        Ok(self.position())
    }

    /// Whether every append is followed by an `fsync`.
    pub fn fsyncs(&self) -> bool {
        self.fsync
    }

    /// Where the next append goes.
    pub fn position(&self) -> Position {
        Position { segment: self.segment, offset: self.offset }
    }

    /// The directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything up to `stored` is in the database: when that is everything written,
    /// empty the current segment. Returns the new position when it did.
    pub fn checkpoint(&mut self, stored: Position) -> io::Result<Option<Position>> {
        if stored != self.position() || self.offset == 0 {
            return Ok(None);
        }
        self.file.set_len(0)?;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.offset = 0;
        Ok(Some(self.position()))
    }
}

/// What a [`Reader`] could not read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skipped {
    /// Unreadable lines (torn writes, damage).
    pub records: u64,
    pub bytes: u64,
}

/// Follows a journal's segments from a position, returning whole records.
#[derive(Debug)]
pub struct Reader {
    dir: PathBuf,
    cursor: Position,
    file: Option<(u64, File)>,
    pub skipped: Skipped,
}

impl Reader {
    pub fn new(dir: &Path, from: Position) -> Reader {
        Reader { dir: dir.to_path_buf(), cursor: from, file: None, skipped: Skipped::default() }
    }

    /// How far this reader has read.
    pub fn position(&self) -> Position {
        self.cursor
    }

    /// Moves the cursor (after the writer's [`Journal::checkpoint`]).
    pub fn reset(&mut self, to: Position) {
        self.cursor = to;
    }

    /// Reads the records from the cursor up to `upto` (a position the writer returned:
    /// segments before `upto.segment` are complete), at most about `max_bytes` of them.
    /// Segments passed entirely are closed; the caller deletes them after storing.
    pub fn read(&mut self, upto: Position, max_bytes: usize) -> io::Result<Vec<Record>> {
        // The read buffer lives for this call only: it is up to READ_CHUNK (1 MiB)
        // large, and the inserter reads once per batch (issue 12: kept between reads,
        // it showed as 1 MB in the heap profile of an idle server).
        let mut chunk: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut taken = 0usize;
        loop {
            let Position { segment, offset } = self.cursor;
            if segment > upto.segment || (segment == upto.segment && offset >= upto.offset) || taken >= max_bytes {
                return Ok(out);
            }
            let finished = segment < upto.segment;
            let file = match &self.file {
                Some((n, f)) if *n == segment => f,
                _ => match File::open(segment_path(&self.dir, segment)) {
                    Ok(f) => &self.file.insert((segment, f)).1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && finished => {
                        self.next_segment();
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            let limit = if finished { u64::MAX } else { upto.offset };
            let want = ((limit - offset) as usize).min(max_bytes - taken).min(READ_CHUNK);
            chunk.resize(want, 0);
            let n = read_full_at(file, &mut chunk, offset)?;
            let data = &chunk[..n];
            let complete = match data.iter().rposition(|&b| b == b'\n') {
                Some(last) => last + 1,
                // No line end before the end of a finished segment: damage; a line
                // longer than a chunk is too (no record comes near that size).
                None if (finished && n < want) || n == READ_CHUNK => n,
                // A line cut by this call's byte budget: the next call reads it whole.
                None => return Ok(out),
            };
            for line in data[..complete].split(|&b| b == b'\n') {
                if line.is_empty() {
                    continue;
                }
                match Record::parse(line) {
                    Some(r) => out.push(r),
                    None => {
                        self.skipped.records += 1;
                        self.skipped.bytes += line.len() as u64 + 1;
                    }
                }
            }
            if n == 0 && finished {
                self.next_segment();
                continue;
            }
            self.cursor.offset += complete as u64;
            taken += complete;
            if complete == 0 {
                return Ok(out);
            }
        }
    }

    fn next_segment(&mut self) {
        self.cursor = Position { segment: self.cursor.segment + 1, offset: 0 };
        self.file = None;
    }
}

fn read_full_at(file: &File, buf: &mut [u8], mut offset: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset) {
            Ok(0) => break,
            Ok(k) => {
                n += k;
                offset += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The outcome of one purge or trim.
pub type OpResult = (u64, u64);

/// Applies `records` to `store` in order: runs of messages in one transaction each,
/// operations one by one. Returns `(id, rows deleted)` of each operation. Safe to
/// repeat after a failure part-way.
pub async fn apply(store: &dyn Store, records: &[Record]) -> Result<Vec<OpResult>> {
    let mut results = Vec::new();
    let mut run: Vec<StoredMessage> = Vec::new();
    for r in records {
        match r {
            Record::Message(m) => run.push(m.clone()),
            Record::Purge(p) => {
                flush_run(store, &mut run).await?;
                results.push((p.id, store.purge(p.target.as_deref(), p.before).await?));
            }
            Record::Trim(t) => {
                flush_run(store, &mut run).await?;
                results.push((t.id, store.trim(&t.policy(), t.now).await?));
            }
            Record::Redact(r) => {
                flush_run(store, &mut run).await?;
                skip_permanent(store.redact(&r.target, &r.msgid).await.map(drop))?;
            }
            Record::Rename(r) => {
                flush_run(store, &mut run).await?;
                skip_permanent(store.rename_history(&r.from, &r.to).await.map(drop))?;
            }
            Record::Op(op) => {
                flush_run(store, &mut run).await?;
                let done = match op {
                    Op::Purge(p) => store.purge(p.target.as_deref(), p.before).await.map(drop),
                    Op::Trim(t) => store.trim(&t.policy(), t.now).await.map(drop),
                    Op::Room(room) => store.upsert_room(room).await,
                    Op::AddBan { room, ban } => store.add_ban(room, ban).await.map(drop),
                    Op::RemoveBan { room, mask } => store.remove_ban(room, mask).await.map(drop),
                    Op::AddOperator { room, account } => store.add_operator(room, account).await.map(drop),
                    Op::RemoveOperator { room, account } => store.remove_operator(room, account).await.map(drop),
                    Op::RenameRoom { from, to } => store.rename_room(from, to).await.map(drop),
                    Op::Redact(r) => store.redact(&r.target, &r.msgid).await.map(drop),
                    Op::Rename(r) => store.rename_history(&r.from, &r.to).await.map(drop),
                    Op::AcceptAdd { account, other } => store.accept_add(account, other).await.map(drop),
                    Op::AcceptRemove { account, other } => store.accept_remove(account, other).await.map(drop),
                    Op::ChatRequest(r) => store.put_chat_request(r).await,
                    Op::DropChatRequest { sender, recipient } => {
                        store.delete_chat_request(sender, recipient).await.map(drop)
                    }
                    Op::Unread(u) => store.put_unread(u).await,
                    Op::ClearUnread { account } => store.clear_unread(account).await.map(drop),
                    Op::JoinRoom { room, account, since } => store.set_member(room, account, *since).await,
                    Op::LeaveRoom { room, account } => store.remove_member(room, account).await.map(drop),
                };
                skip_permanent(done)?;
            }
        }
    }
    flush_run(store, &mut run).await?;
    Ok(results)
}

/// A change the database refuses for good (an operator grant for an account deleted
/// meanwhile, a redaction of a message already gone) has nothing to retry, and must not
/// hold up what comes after it: it is skipped with a WARN.
fn skip_permanent(done: Result<()>) -> Result<()> {
    match done {
        Err(e) if e.is_permanent() => {
            tracing::warn!("skipped a journaled change the database refused: {e}");
            Ok(())
        }
        other => other,
    }
}

async fn flush_run(store: &dyn Store, run: &mut Vec<StoredMessage>) -> Result<()> {
    if !run.is_empty() {
        store.append(run).await?;
        run.clear();
    }
    Ok(())
}

/// What [`drain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    pub records: u64,
    pub segments: u64,
    pub skipped: Skipped,
    /// Where damaged segments were moved.
    pub damaged: Vec<PathBuf>,
}

/// Applies everything the journal in `dir` holds to `store`, oldest first, and
/// removes the segments (moving damaged ones aside). Call it with the data directory
/// locked, before anything reads the database. Nothing is removed that was not
/// stored: a failure leaves the rest for the next attempt.
pub async fn drain(dir: &Path, store: &dyn Store) -> Result<Drained> {
    let mut done = Drained::default();
    for (n, path) in segments(dir)? {
        let mut reader = Reader::new(dir, Position { segment: n, offset: 0 });
        let end = Position { segment: n + 1, offset: 0 };
        loop {
            let records = reader.read(end, READ_CHUNK)?;
            if records.is_empty() && reader.position() == end {
                break;
            }
            apply(store, &records).await?;
            done.records += records.len() as u64;
        }
        done.segments += 1;
        if reader.skipped.records > 0 {
            let aside = dir.join(format!("damaged-{n}-{}.log", Timestamp::now().0));
            fs::rename(&path, &aside)?;
            tracing::warn!(
                segment = %path.display(),
                moved_to = %aside.display(),
                skipped_records = reader.skipped.records,
                skipped_bytes = reader.skipped.bytes,
                "the history journal had damaged lines: every intact record was stored; the damaged segment was kept aside"
            );
            done.skipped.records += reader.skipped.records;
            done.skipped.bytes += reader.skipped.bytes;
            done.damaged.push(aside);
        } else {
            fs::remove_file(&path)?;
        }
    }
    Ok(done)
}

/// Deletes every segment before `upto` (all of it is in the database).
pub fn release(dir: &Path, upto: u64, deleted_before: &mut u64) {
    while *deleted_before < upto {
        let path = segment_path(dir, *deleted_before);
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!("cannot delete journal segment {}: {e}", path.display());
            return;
        }
        *deleted_before += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> StoredMessage {
        StoredMessage {
            msgid: id.into(),
            time: Timestamp(1),
            target: "#a".into(),
            recipient: "#a".into(),
            sender: "n!u@h".into(),
            sender_account: None,
            command: "PRIVMSG".into(),
            tags: String::new(),
            text: "hi \"there\"\nnewline".into(),
        }
    }

    fn m(id: &str) -> Record {
        Record::Message(msg(id))
    }

    fn ids(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| match r {
                Record::Message(m) => m.msgid.clone(),
                Record::Purge(p) => format!("purge{}", p.id),
                Record::Trim(t) => format!("trim{}", t.id),
                Record::Op(op) => format!("{op:?}"),
                Record::Redact(r) => format!("redact {}", r.msgid),
                Record::Rename(r) => format!("rename {}", r.to),
            })
            .collect()
    }

    #[test]
    fn records_round_trip_and_old_lines_parse() {
        let purge = Record::Purge(Purge { id: 7, target: Some("#a".into()), before: None });
        let trim = Record::Trim(Trim::new(
            8,
            &Retention { max_age: Some(Duration::from_secs(60)), max_per_target: Some(5) },
            Timestamp(9),
        ));
        let redact = Record::Redact(Redact { target: "#a".into(), msgid: "x".into() });
        let rename = Record::Rename(Rename { from: "#a".into(), to: "#b".into() });
        let room = Record::Op(Op::AddOperator { room: "#a".into(), account: "alice".into() });
        let joined = Record::Op(Op::JoinRoom { room: "#a".into(), account: "alice".into(), since: Timestamp(5) });
        let left = Record::Op(Op::LeaveRoom { room: "#a".into(), account: "alice".into() });
        for r in [m("x"), purge, trim, redact, rename, room, joined, left] {
            let mut buf = Vec::new();
            r.write_json(&mut buf).unwrap();
            assert_eq!(Record::parse(&buf), Some(r));
        }
        assert!(Record::parse(b"{\"msgid\":\"d\",\"ti").is_none());
    }

    #[test]
    fn the_reader_follows_the_writer_and_checkpoints_empty_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), false).unwrap();
        let mut r = Reader::new(dir.path(), j.position());
        j.append(&[m("a"), m("b")]).unwrap();
        let end = j.append(&[m("c")]).unwrap();
        assert_eq!(ids(&r.read(end, READ_CHUNK).unwrap()), ["a", "b", "c"]);
        assert_eq!(r.position(), end);
        assert!(r.read(end, READ_CHUNK).unwrap().is_empty());
        let at = j.checkpoint(r.position()).unwrap().expect("caught up");
        r.reset(at);
        assert_eq!(fs::metadata(segment_path(dir.path(), 0)).unwrap().len(), 0);
        let end = j.append(&[m("d")]).unwrap();
        assert_eq!(ids(&r.read(end, READ_CHUNK).unwrap()), ["d"]);
        // Behind the writer: no checkpoint.
        j.append(&[m("e")]).unwrap();
        assert_eq!(j.checkpoint(r.position()).unwrap(), None);
    }

    #[test]
    fn reads_are_bounded_and_cross_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), false).unwrap();
        let mut r = Reader::new(dir.path(), j.position());
        let batch: Vec<Record> = (0..1000).map(|i| m(&format!("{i:05}"))).collect();
        while j.position().segment == 0 {
            j.append(&batch).unwrap();
        }
        let end = j.append(&[m("last")]).unwrap();
        let mut got = 0;
        let mut last = String::new();
        loop {
            let records = r.read(end, 64 * 1024).unwrap();
            if records.is_empty() {
                break;
            }
            got += records.len();
            last = ids(&records).pop().unwrap();
        }
        assert_eq!(last, "last");
        assert_eq!(r.position(), end);
        assert!(got > 1000);
        assert_eq!(r.skipped, Skipped::default());
    }

    #[test]
    fn torn_writes_spoil_only_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), false).unwrap();
        j.append(&[m("a")]).unwrap();
        // What a write cut short by a full disk leaves behind, then a good append.
        OpenOptions::new()
            .append(true)
            .open(segment_path(dir.path(), 0))
            .unwrap()
            .write_all(b"{\"msgid\":\"x")
            .unwrap();
        j.torn = true;
        j.offset = fs::metadata(segment_path(dir.path(), 0)).unwrap().len();
        let end = j.append(&[m("b")]).unwrap();
        let mut r = Reader::new(dir.path(), Position::default());
        assert_eq!(ids(&r.read(end, READ_CHUNK).unwrap()), ["a", "b"]);
        assert_eq!(r.skipped.records, 1);
    }

    #[test]
    fn released_segments_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path(), false).unwrap();
        let p = j.append(&[m("a")]).unwrap();
        assert_eq!(p.segment, 0);
        let mut deleted = 0;
        release(dir.path(), 1, &mut deleted);
        assert!(!segment_path(dir.path(), 0).exists());
        assert_eq!(deleted, 1);
    }
}
