//! History benchmark: fills N messages (default 1,000,000) through the
//! `HistoryWriter` into a temporary SQLite store (and a throwaway PostgreSQL
//! schema when `HEARTH_TEST_POSTGRES` is set), then times
//! `latest(target, 100)` and `before(msgid, 100)`.
//!
//! `cargo run --release -p hearth-store --example history_bench [-- N]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_store::{
    Bound, HistoryWriter, PostgresOptions, PostgresStore, SqliteStore, Store, StoredMessage, Timestamp, WriterConfig,
};
use sqlx::Connection;

const TARGETS: u64 = 100;
const QUERIES: usize = 1_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);

    let dir = tempfile::tempdir()?;
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await?);
    run("sqlite", sqlite, n).await?;

    if let Ok(url) = std::env::var("HEARTH_TEST_POSTGRES") {
        let schema = format!("hearth_bench_{}", std::process::id());
        let options =
            PostgresOptions { schema: Some(schema.clone()), max_connections: 8, ..PostgresOptions::default() };
        let pg: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(&url, &options).await?);
        let result = run("postgres", pg, n).await;
        let mut conn = sqlx::PgConnection::connect(&url).await?;
        let drop = format!("DROP SCHEMA \"{schema}\" CASCADE");
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await?;
        result?;
    } else {
        println!("postgres: skipped (HEARTH_TEST_POSTGRES not set)");
    }
    Ok(())
}

fn message(i: u64, start: i64) -> StoredMessage {
    let target = format!("#chan{}", i % TARGETS);
    StoredMessage {
        msgid: format!("{i:016x}"),
        // ~10 messages per millisecond, so ties are common.
        time: Timestamp(start + (i / 10) as i64),
        recipient: target.clone(),
        target,
        sender: format!("user{}!u@example.org", i % 997),
        sender_account: Some(format!("user{}", i % 997)),
        command: "PRIVMSG".into(),
        tags: String::new(),
        text: "The quick brown fox jumps over the lazy dog, again and again.".into(),
    }
}

async fn run(name: &str, store: Arc<dyn Store>, n: u64) -> Result<(), Box<dyn std::error::Error>> {
    let (writer, task) = HistoryWriter::spawn(store.clone(), WriterConfig::default());
    let start_time = Timestamp::now().0;
    let started = Instant::now();
    let mut last = None;
    for i in 0..n {
        last = Some(writer.submit(message(i, start_time)).await?);
    }
    if let Some(last) = last {
        last.wait().await?;
    }
    let elapsed = started.elapsed();
    let batches = writer.stats().batches.load(std::sync::atomic::Ordering::Relaxed);
    drop(writer);
    task.await?;
    println!(
        "{name}: appended {n} messages via HistoryWriter in {:.1} s = {:.0} msg/s ({batches} commits, {:.0} msg/commit)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        n as f64 / batches.max(1) as f64,
    );

    // A small xorshift picks targets; reproducible, no dependency.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut latest = Vec::with_capacity(QUERIES);
    let mut before = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let target = format!("#chan{}", next() % TARGETS);
        let t = Instant::now();
        let page = store.latest(&target, None, 100).await?;
        latest.push(t.elapsed());
        assert_eq!(page.len(), 100.min((n / TARGETS) as usize));
        // Page back from somewhere in the middle of the target's history.
        let pick = next() % n;
        let bound = Bound::MsgId(format!("{pick:016x}"));
        let target = format!("#chan{}", pick % TARGETS);
        let t = Instant::now();
        store.before(&target, &bound, 100).await?;
        before.push(t.elapsed());
    }
    report(name, "latest(target, 100)", &mut latest);
    report(name, "before(msgid, 100)", &mut before);
    Ok(())
}

fn report(name: &str, what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: {what} over {} queries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
}
