//! Output that must be durable first: the journal, then delivery in order; the database
//! filled from the journal in the background.
//!
//! When history is on, a message is made durable *before* anyone receives it (its
//! echo included), so whatever was delivered survives `kill -9`. Every command's
//! output and store operations travel together as one [`Entry`]. In the common case the
//! core appends its records to the [`Journal`] right away ([`Outbound::journal_now`]);
//! while anything is in flight (or with `fsync` on), entries queue for the writer task,
//! which appends everything queued at once and only then pushes the entries' lines to
//! their sinks, in order.
//!
//! **Never deliver what is not durable.** When the journal cannot be written (a full
//! disk, a read-only file system), the command's output is dropped and its sender gets
//! the entry's `fail` reply instead (`FAIL PRIVMSG TEMPORARILY_UNAVAILABLE`); the fault
//! is logged when it starts, while it lasts and when it ends.
//!
//! **The database follows the journal.** The inserter task reads the journal files
//! behind the writer ([`journal::Reader`]) and stores what it reads, retrying until the
//! database takes it; nothing is queued in memory between the two, so a database that
//! is down or slow costs disk, not memory. Once the database has everything, the
//! journal is emptied. History queries first wait (boundedly) for the database to catch
//! up ([`Outbound::wait_stored`]), so they see everything that was delivered.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hearth_store::journal::{self, Journal, Op, Position, Purge, Reader, Record, Redact, Rename, Trim};
use hearth_store::{Ban, Room, Store, StoredMessage};
use tokio::sync::{Notify, mpsc, watch};

use crate::client::ConnId;
use crate::fault::Fault;
use crate::sink::Sink;

/// A change to persist.
#[derive(Debug, Clone)]
pub enum StoreOp {
    /// A history line: journaled, then stored.
    Message(StoredMessage),
    /// A purge, journaled in order with the messages around it.
    Purge(Purge),
    /// A retention run, journaled likewise.
    Trim(Trim),
    /// One message deleted (REDACT), journaled likewise.
    Redact(Redact),
    /// A channel's history moved to its new name (RENAME), journaled likewise.
    RenameHistory(Rename),
    /// A room's row, bans and operators moved to its new name: (old, new name).
    RenameRoom(String, String),
    Room(Room),
    AddBan(String, Ban),
    RemoveBan(String, String),
    AddOperator(String, String),
    RemoveOperator(String, String),
    /// Accept lists, chat requests, unread counts ([`crate::chat`]).
    Chat(Op),
    /// A room membership began (history visibility): room key, account key, since.
    JoinRoom {
        room: String,
        account: String,
        since: hearth_store::Timestamp,
    },
    /// A room membership ended (PART, KICK): room key, account key.
    LeaveRoom {
        room: String,
        account: String,
    },
}

impl StoreOp {
    /// Its journal record: every change of persistent state is journaled, so that it
    /// survives a crash and a database outage and never makes delivery wait.
    pub(crate) fn into_record(self) -> Record {
        match self {
            StoreOp::Message(m) => Record::Message(m),
            StoreOp::Purge(p) => Record::Purge(p),
            StoreOp::Trim(t) => Record::Trim(t),
            StoreOp::Redact(r) => Record::Redact(r),
            StoreOp::RenameHistory(r) => Record::Rename(r),
            StoreOp::RenameRoom(from, to) => Record::Op(Op::RenameRoom { from, to }),
            StoreOp::Room(room) => Record::Op(Op::Room(room)),
            StoreOp::AddBan(room, ban) => Record::Op(Op::AddBan { room, ban }),
            StoreOp::RemoveBan(room, mask) => Record::Op(Op::RemoveBan { room, mask }),
            StoreOp::AddOperator(room, account) => Record::Op(Op::AddOperator { room, account }),
            StoreOp::RemoveOperator(room, account) => Record::Op(Op::RemoveOperator { room, account }),
            StoreOp::Chat(op) => Record::Op(op),
            StoreOp::JoinRoom { room, account, since } => Record::Op(Op::JoinRoom { room, account, since }),
            StoreOp::LeaveRoom { room, account } => Record::Op(Op::LeaveRoom { room, account }),
        }
    }
}

/// One line (or the final line) for one connection.
#[derive(Debug)]
pub enum Out {
    Line(ConnId, Arc<Sink>, Bytes),
    Close(Arc<Sink>, Bytes),
}

/// The output and store operations of one command.
#[derive(Debug, Default)]
pub struct Entry {
    /// Records to journal before `out` may be delivered.
    pub records: Vec<Record>,
    pub out: Vec<Out>,
    /// Sent instead of `out` when the entry's records cannot be made durable.
    pub fail: Option<Out>,
}

/// What [`Outbound::journal_now`] did.
#[derive(Debug)]
pub enum Journaled {
    /// Durable: deliver.
    Done,
    /// Not now (something is in flight, or appends `fsync`): send the records through
    /// [`Outbound::send`].
    Later(Vec<Record>),
    /// The journal cannot be written: deliver nothing, tell the sender. The records
    /// come back so the caller can undo what it remembered of them.
    Failed(Vec<Record>),
}

/// Why [`Outbound::wait_result`] has no count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpError {
    /// The journal could not be written: the operation did not happen.
    Refused,
    /// Not applied within the time limit: it is in the journal and will be applied
    /// when the database can take it.
    Pending,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Waiting,
    Done(u64),
    Refused,
}

/// Handle to the writer and inserter tasks.
#[derive(Debug, Clone)]
pub struct Outbound {
    tx: mpsc::UnboundedSender<Entry>,
    inner: Arc<Inner>,
    /// Appends the database has caught up with.
    stored: watch::Receiver<u64>,
}

/// What the handle and both tasks share.
#[derive(Debug)]
struct Inner {
    in_flight: AtomicUsize,
    side: parking_lot::Mutex<JournalSide>,
    /// Appends so far (successful ones).
    journaled: AtomicU64,
    /// Wakes the inserter after an append.
    wake: Notify,
    /// Cuts the inserter's linger short: somebody waits for the database.
    hurry: Notify,
    /// Results of purges and trims somebody waits for: id → rows deleted.
    results: parking_lot::Mutex<HashMap<u64, Slot>>,
    /// Records the writer task could not journal, for the core to forget.
    refused: parking_lot::Mutex<Vec<Record>>,
    any_refused: std::sync::atomic::AtomicBool,
    /// Whether the inserter is failing to store (the database is down or refuses).
    store_failing: std::sync::atomic::AtomicBool,
}

/// The append end of the journal.
#[derive(Debug)]
struct JournalSide {
    journal: Journal,
    /// Where the last successful append ended: what the inserter may read up to.
    end: Position,
    appends: u64,
    fault: Fault,
    /// How far the inserter has stored.
    stored_at: Position,
    /// Set while the database is more than `max_lag` bytes of journal behind: senders
    /// are paced until it catches up.
    pacing: Arc<std::sync::atomic::AtomicBool>,
    max_lag: u64,
}

impl JournalSide {
    /// Appends; `false` when the journal cannot be written (logged here).
    fn append(&mut self, records: &[Record], journaled: &AtomicU64, wake: &Notify) -> bool {
        match self.journal.append(records) {
            Ok(end) => {
                self.end = end;
                self.note_lag();
                self.appends += 1;
                journaled.store(self.appends, Ordering::Release);
                self.fault.log_ok("appending to the history journal", "messages refused");
                wake.notify_one();
                true
            }
            Err(e) => {
                let what = format!(
                    "appending to the history journal in {} (messages are refused until it works again)",
                    self.journal.dir().display()
                );
                self.fault.log_fail(&what, "messages refused", records.len() as u64, &e);
                false
            }
        }
    }
}

impl JournalSide {
    /// Paces senders while the database is more than `max_lag` behind.
    fn note_lag(&self) {
        let lagging = self.stored_at.bytes_until(self.end) > self.max_lag;
        if self.pacing.load(Ordering::Relaxed) != lagging {
            self.pacing.store(lagging, Ordering::Relaxed);
            if lagging {
                tracing::warn!(
                    max_lag_bytes = self.max_lag,
                    "the database is far behind the history journal: pacing senders until it catches up"
                );
            } else {
                tracing::info!("the database caught up with the history journal: senders are no longer paced");
            }
        }
    }

    /// The inserter stored everything up to `at`.
    fn stored(&mut self, at: Position) {
        self.stored_at = at;
        self.note_lag();
    }
}

/// Entries per writer batch at most.
const MAX_BATCH: usize = 1024;
/// How long the database inserter waits for more appends before a transaction, unless
/// somebody waits for the database ([`Outbound::wait_stored`] cuts it short).
///
/// A transaction costs far more than a row (the commit's WAL frames, the full-text
/// index's flush, a round trip to the database thread per statement): at chat rates a
/// short linger meant a transaction per message or two, and storing was two thirds of
/// the server's CPU per DM (docs/performance.md, issue 12). The messages are durable in
/// the journal meanwhile, so lingering costs nothing but freshness of the database,
/// which every history query restores by hurrying the inserter. 5 s rather than 1 s:
/// in a quiet room (1 msg/s) a transaction then carries about five messages, and the
/// server's CPU per message fell from 1,004–1,132 µs (two runs) to 671–926 µs (six)
/// in compare.sh's `chat`.
const INSERT_LINGER: Duration = Duration::from_secs(5);
/// A backlog this large is stored at once, without lingering first.
const LINGER_UNTIL_BYTES: u64 = 512 * 1024;
/// Entries delivered between two yields to the runtime.
const DELIVER_SLICE: usize = 4;
/// Longest pause between two attempts to store.
const MAX_RETRY: Duration = Duration::from_secs(2);

impl Outbound {
    /// The handle and the future running the writer and the inserter (the caller
    /// spawns it). `journal` must be freshly created after [`journal::drain`].
    ///
    /// `max_lag` bounds how far (in journal bytes) the database may fall behind before
    /// senders are paced ([`Outbound::pacing`]).
    pub fn new(
        store: Arc<dyn Store>,
        journal: Journal,
        max_lag: u64,
    ) -> (Outbound, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stored_tx, stored) = watch::channel(0u64);
        let start = journal.position();
        let dir = journal.dir().to_path_buf();
        let inner = Arc::new(Inner {
            in_flight: AtomicUsize::new(0),
            side: parking_lot::Mutex::new(JournalSide {
                journal,
                end: start,
                appends: 0,
                fault: Fault::default(),
                stored_at: start,
                pacing: Default::default(),
                max_lag: max_lag.max(1),
            }),
            journaled: AtomicU64::new(0),
            wake: Notify::new(),
            hurry: Notify::new(),
            results: Default::default(),
            refused: Default::default(),
            any_refused: Default::default(),
            store_failing: Default::default(),
        });
        let writer = run(rx, inner.clone());
        let inserter = insert(store, inner.clone(), stored_tx, dir, start);
        let ob = Outbound { tx, inner, stored };
        let both = async move {
            tokio::join!(writer, inserter);
        };
        (ob, both)
    }

    /// Makes `records` durable right now (one journal append) when nothing else is in
    /// flight, so their delivery need not wait for the writer task.
    ///
    /// Never with `fsync` on: the caller holds the server's state lock, and an `fsync`
    /// (milliseconds on an SD card) there would stall every client.
    pub fn journal_now(&self, records: Vec<Record>) -> Journaled {
        if self.busy() {
            return Journaled::Later(records);
        }
        let mut side = self.inner.side.lock();
        if side.journal.fsyncs() {
            return Journaled::Later(records);
        }
        if side.append(&records, &self.inner.journaled, &self.inner.wake) {
            Journaled::Done
        } else {
            Journaled::Failed(records)
        }
    }

    /// Waits until every message delivered so far is in the database, at most `limit`.
    /// `false` when the database is behind: the caller must say so rather than answer
    /// from stale rows.
    pub async fn wait_stored(&self, limit: Duration) -> bool {
        let target = self.inner.journaled.load(Ordering::Acquire);
        let mut stored = self.stored.clone();
        if *stored.borrow() < target {
            self.inner.hurry.notify_one();
        }
        tokio::time::timeout(limit, stored.wait_for(|s| *s >= target)).await.is_ok_and(|r| r.is_ok())
    }

    /// Bytes of history journal the database has not stored yet (`/metrics`).
    pub fn lag_bytes(&self) -> u64 {
        let side = self.inner.side.lock();
        side.stored_at.bytes_until(side.end)
    }

    /// Journal appends since start (`/metrics`).
    pub fn journal_appends(&self) -> u64 {
        self.inner.journaled.load(Ordering::Relaxed)
    }

    /// Set while the database is too far behind the journal: connections then handle
    /// message commands slowly (flow control) until it catches up. Nobody is cut off
    /// and nothing is dropped; the flag is shared so listeners can check it cheaply.
    pub fn pacing(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.inner.side.lock().pacing.clone()
    }

    /// Whether storing into the database is failing right now.
    pub fn store_failing(&self) -> bool {
        self.inner.store_failing.load(Ordering::Relaxed)
    }

    /// Asks to learn the result of the purge or trim `id` (call before queueing it).
    pub fn expect_result(&self, id: u64) {
        self.inner.results.lock().insert(id, Slot::Waiting);
    }

    /// Purge or trim `id` could not be journaled.
    pub fn fail_result(&self, id: u64) {
        if let Some(slot) = self.inner.results.lock().get_mut(&id) {
            *slot = Slot::Refused;
        }
        self.inner.wake.notify_one();
    }

    /// Records the writer task could not journal since the last call.
    pub fn take_refused(&self) -> Option<Vec<Record>> {
        if !self.inner.any_refused.swap(false, Ordering::AcqRel) {
            return None;
        }
        Some(std::mem::take(&mut *self.inner.refused.lock()))
    }

    /// Waits (at most `limit`) until purge or trim `id` is applied to the database;
    /// returns how many messages it deleted.
    pub async fn wait_result(&self, id: u64, limit: Duration) -> Result<u64, OpError> {
        self.inner.hurry.notify_one();
        let mut stored = self.stored.clone();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let slot = self.inner.results.lock().get(&id).copied();
            match slot {
                Some(Slot::Done(n)) => {
                    self.inner.results.lock().remove(&id);
                    return Ok(n);
                }
                Some(Slot::Refused) | None => {
                    self.inner.results.lock().remove(&id);
                    return Err(OpError::Refused);
                }
                Some(Slot::Waiting) => {}
            }
            let tick = tokio::time::Instant::now() + Duration::from_millis(100);
            if tokio::time::timeout_at(deadline.min(tick), stored.changed()).await.is_err()
                && tokio::time::Instant::now() >= deadline
            {
                self.inner.results.lock().remove(&id);
                return Err(OpError::Pending);
            }
        }
    }

    /// True while entries wait for a commit: new output must queue behind them.
    pub fn busy(&self) -> bool {
        self.inner.in_flight.load(Ordering::Acquire) > 0
    }

    /// Waits (at most `limit`) until everything queued is delivered and stored, and the
    /// journal is empty.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.busy() || *self.stored.borrow() < self.inner.journaled.load(Ordering::Acquire) {
            self.inner.hurry.notify_one();
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Queues an entry. If the writer has stopped (shutdown), nothing is delivered that
    /// needed storing.
    pub fn send(&self, entry: Entry) {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Err(mpsc::error::SendError(entry)) = self.tx.send(entry) {
            self.inner.in_flight.fetch_sub(1, Ordering::AcqRel);
            tracing::error!(records = entry.records.len(), "history writer stopped; output dropped");
            if entry.records.is_empty() {
                deliver(entry.out);
            }
        }
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Entry>, ob: Arc<Inner>) {
    let mut batch: Vec<Entry> = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut records: Vec<Record> = Vec::new();
        let journaled_entries: Vec<bool> = batch.iter().map(|e| !e.records.is_empty()).collect();
        for e in &mut batch {
            records.append(&mut e.records);
        }
        // A page-cache append (plus an fsync when configured), off the state lock.
        let durable = records.is_empty() || ob.side.lock().append(&records, &ob.journaled, &ob.wake);
        if !durable {
            ob.refused.lock().extend(records);
            ob.any_refused.store(true, Ordering::Release);
        }
        let n = batch.len();
        for (i, e) in batch.drain(..).enumerate() {
            if durable || !journaled_entries[i] {
                deliver(e.out);
            } else if let Some(fail) = e.fail {
                deliver(vec![fail]);
            }
            if i % DELIVER_SLICE == DELIVER_SLICE - 1 {
                // Let the recipients' writers drain between slices: a whole commit's
                // worth of lines at once would look like a burst no SendQ can hold.
                tokio::task::yield_now().await;
            }
        }
        ob.in_flight.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Follows the journal and stores what it reads, retrying until the database takes it;
/// empties the journal whenever the database has caught up.
async fn insert(store: Arc<dyn Store>, ob: Arc<Inner>, stored: watch::Sender<u64>, dir: PathBuf, start: Position) {
    let mut reader = Reader::new(&dir, start);
    let mut deleted_before = start.segment;
    let mut fault = Fault::default();
    let mut skipped = reader.skipped;
    let mut lingered = false;
    loop {
        let (upto, appends) = {
            let s = ob.side.lock();
            (s.end, s.appends)
        };
        if reader.position() == upto {
            journal::release(&dir, upto.segment, &mut deleted_before);
            {
                let mut s = ob.side.lock();
                if s.end == upto {
                    match s.journal.checkpoint(upto) {
                        Ok(Some(at)) => {
                            s.end = at;
                            reader.reset(at);
                        }
                        Ok(None) => {}
                        Err(e) => tracing::warn!("cannot empty the history journal: {e}"),
                    }
                }
                s.stored(reader.position());
            }
            stored.send_replace(appends);
            ob.wake.notified().await;
            lingered = false;
            continue;
        }
        if !lingered && reader.position().bytes_until(upto) < LINGER_UNTIL_BYTES {
            // Let more appends join this transaction: the database is off the delivery
            // path, and a transaction per message or two would be wasted work. (Not only
            // after the journal ran dry: at a steady rate the next few messages are
            // always there by the time a transaction ends.)
            tokio::select! {
                () = tokio::time::sleep(INSERT_LINGER) => {}
                () = ob.hurry.notified() => {}
            }
            lingered = true;
            continue;
        }
        lingered = false;
        let records = match reader.read(upto, journal::READ_CHUNK) {
            Ok(r) => r,
            Err(e) => {
                fault.log_fail("reading the history journal", "attempts", 1, &e);
                tokio::time::sleep(MAX_RETRY).await;
                continue;
            }
        };
        if reader.skipped != skipped {
            tracing::info!(
                records = reader.skipped.records - skipped.records,
                bytes = reader.skipped.bytes - skipped.bytes,
                "skipped the remains of journal appends that failed (those messages were refused, not delivered)"
            );
            skipped = reader.skipped;
        }
        let mut delay = Duration::from_millis(50);
        loop {
            match journal::apply(&*store, &records).await {
                Ok(results) => {
                    if fault.active() {
                        ob.store_failing.store(false, Ordering::Relaxed);
                    }
                    fault.log_ok("storing history in the database", "failed attempts");
                    if !results.is_empty() {
                        let mut wanted = ob.results.lock();
                        for (id, n) in results {
                            if let Some(slot) = wanted.get_mut(&id) {
                                *slot = Slot::Done(n);
                            }
                        }
                    }
                    break;
                }
                Err(e) => {
                    ob.store_failing.store(true, Ordering::Relaxed);
                    let what = format!(
                        "storing history in the database (messages stay in the journal, {} bytes, until it works)",
                        journal::size(&dir)
                    );
                    fault.log_fail(&what, "failed attempts", 1, &e);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY);
                }
            }
        }
        journal::release(&dir, reader.position().segment, &mut deleted_before);
        ob.side.lock().stored(reader.position());
    }
}

/// Pushes lines to their sinks. An overflow marks the sink, which wakes its reader
/// to end that session ("SendQ exceeded").
pub fn deliver(out: Vec<Out>) {
    for o in out {
        match o {
            Out::Line(_, sink, bytes) => {
                sink.push(bytes);
            }
            Out::Close(sink, bytes) => sink.close_with(Some(bytes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::{SqliteStore, Timestamp};

    fn said(id: &str) -> Record {
        Record::Message(StoredMessage {
            msgid: id.into(),
            time: Timestamp::now(),
            target: "#a".into(),
            recipient: "#a".into(),
            sender: "amy!u@h".into(),
            sender_account: None,
            command: "PRIVMSG".into(),
            tags: String::new(),
            text: format!("message {id}"),
        })
    }

    /// The inserter lingers up to INSERT_LINGER for more appends; whoever reads the
    /// database first (CHATHISTORY, SEARCH, `admin rooms`, export) hurries it, so a
    /// message is queryable at once, not a second later.
    #[tokio::test]
    async fn a_reader_of_the_database_cuts_the_linger_short() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("hearth-outbound-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir).await.unwrap());
        let journal = Journal::create(&dir.join("journal"), false).unwrap();
        let (ob, run) = Outbound::new(store.clone(), journal, 64 << 20);
        tokio::spawn(run);
        for (i, id) in ["m1", "m2"].into_iter().enumerate() {
            assert!(matches!(ob.journal_now(vec![said(id)]), Journaled::Done));
            let t = std::time::Instant::now();
            assert!(ob.wait_stored(Duration::from_secs(3)).await);
            let waited = t.elapsed();
            assert!(waited < INSERT_LINGER / 4, "append {i}: the database caught up only after {waited:?}");
            assert_eq!(store.latest("#a", None, 10).await.unwrap().len(), i + 1);
        }
        drop(ob);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
