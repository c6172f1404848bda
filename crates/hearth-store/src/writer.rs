//! `HistoryWriter`: group commit for history.
//!
//! One tokio task owns all history writes. Senders queue messages on a
//! bounded channel; the task takes everything already queued (up to
//! `max_batch`), appends it in ONE transaction and only then acknowledges
//! each message. Under load, batches grow by themselves, so the cost of a
//! commit (an fsync with SQLite `synchronous = FULL`) is shared by many
//! messages; when idle, a lone message is committed at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::types::StoredMessage;

/// Sizes for [`HistoryWriter::spawn`].
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Messages that may wait in the queue; `submit` waits when it is full.
    pub queue: usize,
    /// Most messages committed in one transaction.
    pub max_batch: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig { queue: 8192, max_batch: 1024 }
    }
}

/// Counters of what the writer committed, for metrics.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Committed transactions.
    pub batches: AtomicU64,
    /// Messages in committed transactions.
    pub messages: AtomicU64,
    /// Transactions that failed (their messages were acknowledged with an
    /// error).
    pub failures: AtomicU64,
}

type Ack = oneshot::Sender<Result<()>>;

struct Job {
    message: StoredMessage,
    ack: Option<Ack>,
}

/// The sending side of the history writer task. Cheap to clone; the task
/// stops after every clone is dropped and the queue is drained.
#[derive(Clone, Debug)]
pub struct HistoryWriter {
    tx: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
}

/// Resolves once the message it stands for is committed (or its batch
/// failed). Dropping it does not cancel the write.
#[derive(Debug)]
#[must_use = "a Durable does nothing unless waited on; drop it for fire-and-forget"]
pub struct Durable(oneshot::Receiver<Result<()>>);

impl Durable {
    /// Waits for the commit. `BatchFailed` when the transaction failed,
    /// `WriterClosed` when the task died first.
    pub async fn wait(self) -> Result<()> {
        self.0.await.unwrap_or(Err(StoreError::WriterClosed))
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("msgid", &self.message.msgid).finish()
    }
}

impl HistoryWriter {
    /// Starts the writer task on the current tokio runtime. The handle ends
    /// once every `HistoryWriter` clone is dropped and the queue is flushed:
    /// await it at shutdown so nothing queued is lost.
    pub fn spawn(store: Arc<dyn Store>, config: WriterConfig) -> (HistoryWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let stats = Arc::new(WriterStats::default());
        let task = tokio::spawn(run(store, rx, config.max_batch.max(1), Arc::clone(&stats)));
        (HistoryWriter { tx, stats }, task)
    }

    /// Queues `message` and waits until it is committed.
    pub async fn write(&self, message: StoredMessage) -> Result<()> {
        self.submit(message).await?.wait().await
    }

    /// Queues `message` (waiting for room in the queue) and returns a
    /// [`Durable`] to await its commit.
    pub async fn submit(&self, message: StoredMessage) -> Result<Durable> {
        let (ack, durable) = oneshot::channel();
        self.tx.send(Job { message, ack: Some(ack) }).await.map_err(|_| StoreError::WriterClosed)?;
        Ok(Durable(durable))
    }

    /// Queues `message` without waiting: `QueueFull` when the queue is full.
    /// For the core's hot path, which must never block on storage.
    pub fn try_submit(&self, message: StoredMessage) -> Result<Durable> {
        let (ack, durable) = oneshot::channel();
        self.tx.try_send(Job { message, ack: Some(ack) }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => StoreError::WriterClosed,
        })?;
        Ok(Durable(durable))
    }

    /// Queues `message` without waiting and without an acknowledgement.
    pub fn try_send(&self, message: StoredMessage) -> Result<()> {
        self.tx.try_send(Job { message, ack: None }).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StoreError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => StoreError::WriterClosed,
        })
    }

    /// What the writer has committed so far.
    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, max_batch: usize, stats: Arc<WriterStats>) {
    let mut jobs = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut jobs, max_batch).await > 0 {
        let (messages, acks): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.message, j.ack)).unzip();
        match store.append(&messages).await {
            Ok(_) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                stats.messages.fetch_add(messages.len() as u64, Ordering::Relaxed);
                for ack in acks.into_iter().flatten() {
                    let _ = ack.send(Ok(()));
                }
            }
            Err(err) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%err, messages = messages.len(), "history batch failed");
                let text = err.to_string();
                for ack in acks.into_iter().flatten() {
                    let _ = ack.send(Err(StoreError::BatchFailed(text.clone())));
                }
            }
        }
    }
}
