//! Output that must wait for the database: group commit, then delivery in order.
//!
//! When history is on, a message is made durable *before* anyone receives it (its
//! echo included), so whatever was delivered survives `kill -9`. Every command's
//! output and store operations travel together as one [`Entry`] through a single
//! queue. The writer task takes everything queued at once, makes all of its messages
//! durable in one step — one append to the [`Journal`] (or, without a journal, one
//! database transaction) — and only then pushes the entries' lines to their sinks, in
//! order. While anything is in flight, later output queues behind it too, so nobody
//! ever sees events out of order. With a journal, the database is filled from the same
//! batches right after, off the delivery path; history queries first wait for it to
//! catch up ([`Outbound::wait_stored`]), so they always see what was delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hearth_store::journal::{self, Journal, Position};
use hearth_store::{Ban, Room, Store, StoredMessage};
use tokio::sync::{mpsc, watch};

use crate::client::ConnId;
use crate::sink::Sink;

/// A change to persist.
#[derive(Debug, Clone)]
pub enum StoreOp {
    Message(StoredMessage),
    Room(Room),
    AddBan(String, Ban),
    RemoveBan(String, String),
    AddOperator(String, String),
    RemoveOperator(String, String),
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
    pub ops: Vec<StoreOp>,
    pub out: Vec<Out>,
}

/// Handle to the writer task.
#[derive(Debug, Clone)]
pub struct Outbound {
    tx: mpsc::UnboundedSender<Entry>,
    in_flight: Arc<AtomicUsize>,
    /// Batches appended to the journal so far.
    journaled: Arc<AtomicU64>,
    /// The journal and the queue into the database, shared by the writer task and
    /// [`Outbound::journal_now`]; appending and queueing happen under one lock so the
    /// database receives batches in journal order.
    journal: Option<Arc<parking_lot::Mutex<JournalSide>>>,
    /// Batches of the journal that are in the database.
    stored: watch::Receiver<u64>,
}

/// The append end of the journal.
#[derive(Debug)]
struct JournalSide {
    journal: Journal,
    seq: u64,
    to_insert: mpsc::UnboundedSender<Journaled>,
}

impl JournalSide {
    /// Appends and queues for the database; `Err` gives the messages back.
    fn append(&mut self, messages: Vec<StoredMessage>, journaled: &AtomicU64) -> Result<(), Vec<StoredMessage>> {
        match self.journal.append(&messages) {
            Ok(at) => {
                self.seq += 1;
                journaled.store(self.seq, Ordering::Release);
                let _ = self.to_insert.send(Journaled { messages, at, seq: self.seq });
                Ok(())
            }
            Err(e) => {
                tracing::error!("history journal append failed, committing to the database instead: {e}");
                Err(messages)
            }
        }
    }
}

/// A journaled batch on its way into the database.
#[derive(Debug)]
struct Journaled {
    messages: Vec<StoredMessage>,
    at: Position,
    seq: u64,
}

/// Entries per transaction at most.
const MAX_BATCH: usize = 1024;
/// The longest a history query waits for the database to catch up.
const STORED_WAIT: Duration = Duration::from_secs(60);
/// Journaled batches per database transaction at most.
const INSERT_BATCH: usize = 256;
/// How long the database inserter waits for more batches before a transaction.
const INSERT_LINGER: Duration = Duration::from_millis(5);
/// Entries delivered between two yields to the runtime.
const DELIVER_SLICE: usize = 4;

impl Outbound {
    /// The handle and the writer future (the caller spawns it). With a `journal`,
    /// messages are durable once journaled and go into `store` in the background;
    /// without one, each batch is committed to `store` before delivery.
    pub fn new(
        store: Arc<dyn Store>,
        journal: Option<Journal>,
    ) -> (Outbound, impl Future<Output = ()> + Send + 'static) {
        let (tx, rx) = mpsc::unbounded_channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let journaled = Arc::new(AtomicU64::new(0));
        let (stored_tx, stored) = watch::channel(0u64);
        let (ins_tx, ins_rx) = mpsc::unbounded_channel();
        let dir = journal.as_ref().map(|j| (j.dir().to_path_buf(), j.position().segment));
        let journal = journal
            .map(|journal| Arc::new(parking_lot::Mutex::new(JournalSide { journal, seq: 0, to_insert: ins_tx })));
        let writer = run(rx, store.clone(), journal.clone(), in_flight.clone(), journaled.clone());
        let inserter = insert(ins_rx, store, stored_tx, dir);
        let both = async move {
            tokio::join!(writer, inserter);
        };
        (Outbound { tx, in_flight, journaled, journal, stored }, both)
    }

    /// Makes `messages` durable right now (one journal append) when nothing else is
    /// in flight, so their delivery need not wait for the writer task. `Err` gives
    /// them back: use [`Outbound::send`].
    ///
    /// Never with `fsync` on: the caller holds the server's state lock, and an
    /// `fsync` (milliseconds on an SD card) there would stall every client.
    pub fn journal_now(&self, messages: Vec<StoredMessage>) -> Result<(), Vec<StoredMessage>> {
        match &self.journal {
            Some(j) if !self.busy() => {
                let mut side = j.lock();
                if side.journal.fsyncs() { Err(messages) } else { side.append(messages, &self.journaled) }
            }
            _ => Err(messages),
        }
    }

    /// Waits until every message delivered so far is in the database (at once
    /// without a journal), or at most [`STORED_WAIT`]: a database that is down must
    /// not leave history requests unanswered forever.
    pub async fn wait_stored(&self) {
        let target = self.journaled.load(Ordering::Acquire);
        let mut stored = self.stored.clone();
        let caught_up = tokio::time::timeout(STORED_WAIT, stored.wait_for(|s| *s >= target)).await;
        if caught_up.is_err() {
            tracing::warn!("the database is {STORED_WAIT:?} behind the history journal; answering from what it has");
        }
    }

    /// True while entries wait for a commit: new output must queue behind them.
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Waits (at most `limit`) until everything queued is stored and delivered.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while self.busy() || *self.stored.borrow() < self.journaled.load(Ordering::Acquire) {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Queues an entry. If the writer has stopped (shutdown), the output is delivered
    /// at once and the operations are dropped with an error in the log.
    pub fn send(&self, entry: Entry) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Err(mpsc::error::SendError(entry)) = self.tx.send(entry) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            tracing::error!(ops = entry.ops.len(), "history writer stopped; output sent without storing");
            deliver(entry.out);
        }
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Entry>,
    store: Arc<dyn Store>,
    journal: Option<Arc<parking_lot::Mutex<JournalSide>>>,
    in_flight: Arc<AtomicUsize>,
    journaled: Arc<AtomicU64>,
) {
    let mut batch: Vec<Entry> = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut messages: Vec<StoredMessage> = Vec::new();
        let mut others: Vec<StoreOp> = Vec::new();
        for e in &mut batch {
            for op in e.ops.drain(..) {
                match op {
                    StoreOp::Message(m) => messages.push(m),
                    other => others.push(other),
                }
            }
        }
        if !messages.is_empty() {
            // A page-cache append: microseconds, so it runs right here.
            let appended = match &journal {
                Some(j) => j.lock().append(messages, &journaled),
                None => Err(messages),
            };
            if let Err(messages) = appended {
                retry("append history", || store.append(&messages)).await;
            }
        }
        for op in others {
            apply(&*store, op).await;
        }
        let n = batch.len();
        for (i, e) in batch.drain(..).enumerate() {
            deliver(e.out);
            if i % DELIVER_SLICE == DELIVER_SLICE - 1 {
                // Let the recipients' writers drain between slices: a whole commit's
                // worth of lines at once would look like a burst no SendQ can hold.
                tokio::task::yield_now().await;
            }
        }
        in_flight.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Fills the database from journaled batches (group commit), then lets the journal
/// forget them.
async fn insert(
    mut rx: mpsc::UnboundedReceiver<Journaled>,
    store: Arc<dyn Store>,
    stored: watch::Sender<u64>,
    journal_dir: Option<(std::path::PathBuf, u64)>,
) {
    let mut deleted_before = journal_dir.as_ref().map_or(0, |(_, first)| *first);
    let mut batch: Vec<Journaled> = Vec::new();
    while rx.recv_many(&mut batch, INSERT_BATCH).await > 0 {
        // The database is off the delivery path: letting the next batches join this
        // transaction costs nobody anything and saves a transaction per message.
        tokio::time::sleep(INSERT_LINGER).await;
        while batch.len() < INSERT_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let messages: Vec<StoredMessage> = batch.iter_mut().flat_map(|b| std::mem::take(&mut b.messages)).collect();
        retry("append history", || store.append(&messages)).await;
        let last = batch.last().expect("recv_many returned at least one");
        if let Some((dir, _)) = &journal_dir {
            journal::release(dir, last.at, &mut deleted_before);
        }
        stored.send_replace(last.seq);
        batch.clear();
    }
}

/// Keeps trying until the database accepts the write: delivering a message that is
/// not stored would break the durability promise, and dropping it would lose it.
async fn retry<F, Fut, T>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = hearth_store::Result<T>>,
{
    let mut delay = Duration::from_millis(50);
    loop {
        match f().await {
            Ok(_) => return,
            Err(e) => {
                tracing::error!("{what} failed, retrying in {delay:?}: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

async fn apply(store: &dyn Store, op: StoreOp) {
    let result = match &op {
        StoreOp::Message(m) => store.append(std::slice::from_ref(m)).await.map(|_| ()),
        StoreOp::Room(r) => store.upsert_room(r).await,
        StoreOp::AddBan(room, b) => store.add_ban(room, b).await.map(|_| ()),
        StoreOp::RemoveBan(room, mask) => store.remove_ban(room, mask).await.map(|_| ()),
        StoreOp::AddOperator(room, acct) => store.add_operator(room, acct).await.map(|_| ()),
        StoreOp::RemoveOperator(room, acct) => store.remove_operator(room, acct).await.map(|_| ()),
    };
    if let Err(e) = result {
        // Room metadata is not worth stalling chat for; say so loudly.
        tracing::error!("storing {op:?} failed: {e}");
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
