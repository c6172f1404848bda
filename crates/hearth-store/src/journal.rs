//! The history journal: a message is durable once it is appended here, before any
//! database commit.
//!
//! Committing a database transaction for every message (or every group of them)
//! before delivery costs a few hundred microseconds; appending one line per message
//! to a file costs one `write` into the page cache, which survives a crash or
//! `kill -9` of the server just as well (not a power cut, unless `fsync` is asked for —
//! the same promise as SQLite's `synchronous = NORMAL`). The database is filled from
//! the same batches right after, in the background; at start-up whatever the journal
//! holds is (re)applied — appending a stored msgid again is a no-op — and the journal
//! is cleared.
//!
//! Format: one JSON object (a [`StoredMessage`]) per line, in segment files
//! `journal-<n>.log`. A segment is deleted once everything in it is in the database.
//! A torn last line (the process died inside a `write`) is ignored: the messages in it
//! were never acknowledged, so nobody received them.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::types::StoredMessage;

/// Start a new segment past this size.
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// Where an append ended: (segment, bytes into it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
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

/// What the journal held at start-up, to be applied to the database.
#[derive(Debug, Default)]
pub struct Leftover {
    pub messages: Vec<StoredMessage>,
    /// Segment files to delete once `messages` are in the database.
    pub segments: Vec<PathBuf>,
    /// Lines that could not be read (a torn last write).
    pub torn: usize,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("journal-{n}.log"))
}

fn segment_number(path: &Path) -> Option<u64> {
    path.file_name()?.to_str()?.strip_prefix("journal-")?.strip_suffix(".log")?.parse().ok()
}

impl Journal {
    /// Opens the journal in `dir` (created if missing). Returns the journal, writing to a
    /// fresh segment, and what earlier runs left in it.
    pub fn open(dir: &Path, fsync: bool) -> io::Result<(Journal, Leftover)> {
        fs::create_dir_all(dir)?;
        let mut found: Vec<(u64, PathBuf)> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| segment_number(&e.path()).map(|n| (n, e.path())))
            .collect();
        found.sort();
        let mut left = Leftover::default();
        for (_, path) in &found {
            let reader = BufReader::new(File::open(path)?);
            for line in reader.split(b'\n') {
                let line = line?;
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_slice::<StoredMessage>(&line) {
                    Ok(m) => left.messages.push(m),
                    Err(_) => left.torn += 1,
                }
            }
            left.segments.push(path.clone());
        }
        let segment = found.last().map_or(0, |(n, _)| n + 1);
        let file = OpenOptions::new().create(true).append(true).open(segment_path(dir, segment))?;
        Ok((Journal { dir: dir.to_path_buf(), file, segment, offset: 0, fsync, buf: Vec::new(), torn: false }, left))
    }

    /// Appends `messages` with one `write` (and an `fsync` when configured). When this
    /// returns, they survive the process dying.
    pub fn append(&mut self, messages: &[StoredMessage]) -> io::Result<Position> {
        self.buf.clear();
        if self.torn {
            self.buf.push(b'\n');
        }
        for m in messages {
            serde_json::to_writer(&mut self.buf, m).map_err(io::Error::other)?;
            self.buf.push(b'\n');
        }
        if let Err(e) = self.file.write_all(&self.buf) {
            self.torn = true;
            return Err(e);
        }
        self.torn = false;
        if self.fsync {
            self.file.sync_data()?;
        }
        self.offset += self.buf.len() as u64;
        if self.buf.capacity() > 1024 * 1024 {
            self.buf = Vec::new();
        }
        let at = Position { segment: self.segment, offset: self.offset };
        if self.offset >= SEGMENT_BYTES {
            self.segment += 1;
            self.offset = 0;
            self.file = OpenOptions::new().create(true).append(true).open(segment_path(&self.dir, self.segment))?;
        }
        Ok(at)
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
}

/// Deletes every segment before `upto.segment` (their messages are all in the
/// database) and, when `upto` is the end of everything written, empties the current
/// one too.
pub fn release(dir: &Path, upto: Position, deleted_before: &mut u64) {
    while *deleted_before < upto.segment {
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
    use crate::types::Timestamp;

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

    #[test]
    fn leftovers_come_back_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, left) = Journal::open(dir.path(), false).unwrap();
        assert!(left.messages.is_empty());
        j.append(&[msg("a"), msg("b")]).unwrap();
        j.append(&[msg("c")]).unwrap();
        drop(j);
        // A write torn by a crash.
        let mut f = OpenOptions::new().append(true).open(segment_path(dir.path(), 0)).unwrap();
        f.write_all(b"{\"msgid\":\"d\",\"ti").unwrap();
        let (_j, left) = Journal::open(dir.path(), false).unwrap();
        let ids: Vec<_> = left.messages.iter().map(|m| m.msgid.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(left.messages[0], msg("a"));
        assert_eq!(left.torn, 1);
        assert_eq!(left.segments.len(), 1);
    }

    #[test]
    fn released_segments_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path(), false).unwrap();
        let p = j.append(&[msg("a")]).unwrap();
        assert_eq!(p.segment, 0);
        let mut deleted = 0;
        release(dir.path(), Position { segment: 1, offset: 0 }, &mut deleted);
        assert!(!segment_path(dir.path(), 0).exists());
        assert_eq!(deleted, 1);
    }
}
