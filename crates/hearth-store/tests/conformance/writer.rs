//! The history writer against each backend: acknowledgements come only after
//! the commit, so an acknowledged message is always visible to queries.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use hearth_store::{Bound, HistoryWriter, Store, WriterConfig};

use super::{ids, msg};

pub async fn acks_only_after_commit(store: Arc<dyn Store>) {
    let (writer, task) = HistoryWriter::spawn(store.clone(), WriterConfig::default());
    for i in 0..50 {
        let m = msg(&format!("w{i}"), "#w", 1_000 + i);
        writer.write(m).await.unwrap();
        // Acknowledged means committed means visible, to any connection.
        let got = store.around("#w", &Bound::MsgId(format!("w{i}")), 1).await.unwrap();
        assert_eq!(ids(&got), [format!("w{i}")]);
    }
    drop(writer);
    task.await.unwrap();
}

pub async fn concurrent_writers_are_batched(store: Arc<dyn Store>) {
    const TASKS: i64 = 8;
    const EACH: i64 = 250;
    let config = WriterConfig { queue: 4_096, max_batch: 256 };
    let (writer, task) = HistoryWriter::spawn(store.clone(), config);
    let mut senders = Vec::new();
    for t in 0..TASKS {
        let (writer, store) = (writer.clone(), store.clone());
        senders.push(tokio::spawn(async move {
            // Queue a window of messages, then check each as its ack arrives.
            let mut pending = Vec::new();
            for i in 0..EACH {
                let m = msg(&format!("t{t}-{i}"), &format!("#t{t}"), i);
                pending.push((m.msgid.clone(), writer.submit(m).await.unwrap()));
            }
            for (msgid, durable) in pending {
                durable.wait().await.unwrap();
                let got = store.around(&format!("#t{t}"), &Bound::MsgId(msgid), 1).await;
                assert!(got.is_ok_and(|g| g.len() == 1), "acked but not visible");
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    let stats = writer.stats();
    let committed = stats.messages.load(Ordering::Relaxed);
    let batches = stats.batches.load(Ordering::Relaxed);
    assert_eq!(committed, (TASKS * EACH) as u64);
    assert!(batches < committed, "{batches} batches for {committed} messages");
    drop(writer);
    task.await.unwrap();
    for t in 0..TASKS {
        assert_eq!(store.latest(&format!("#t{t}"), None, 1_000).await.unwrap().len(), EACH as usize);
    }
}

pub async fn shutdown_flushes_queue(store: Arc<dyn Store>) {
    let (writer, task) = HistoryWriter::spawn(store.clone(), WriterConfig { queue: 1_000, max_batch: 64 });
    for i in 0..500 {
        writer.try_send(msg(&format!("s{i}"), "#s", i)).unwrap();
    }
    drop(writer);
    task.await.unwrap();
    assert_eq!(store.latest("#s", None, 1_000).await.unwrap().len(), 500);
}
