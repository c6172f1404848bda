//! Search benchmark: fills N messages (default 1,000,000) into a temporary SQLite
//! store (and a throwaway PostgreSQL schema when `HEARTH_TEST_POSTGRES` is set), then
//! times `Store::search` as the SEARCH command runs it: a reader in 10 of the 100
//! rooms plus their own conversations, limit 100.
//!
//! `cargo run --release -p hearth-store --example search_bench [-- N]`
//!
//! The text is drawn from a 5,000-word vocabulary with a skewed (Zipf-like)
//! frequency, 5–14 words a message, so queries meet both words in most messages
//! and words in a few hundred. Query kinds, mixed evenly:
//! - `word`: one word (a common, middling or rare one);
//! - `two words`: two words, both required;
//! - `from`: one word from one sender;
//! - `in`: one word in one room;
//! - `after`: one word, from a random point in time on (the limit then keeps the
//!   earliest matches).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_store::{
    PostgresOptions, PostgresStore, SearchQuery, SearchTarget, SqliteStore, Store, StoredMessage, Timestamp, dm_key,
};
use sqlx::Connection;

const ROOMS: u64 = 100;
const USERS: u64 = 1_000;
const VOCABULARY: usize = 5_000;
const QUERIES: usize = 1_000;
const BATCH: usize = 20_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let words = vocabulary();

    let dir = tempfile::tempdir()?;
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).await?);
    run("sqlite", sqlite, n, &words).await?;

    if let Ok(url) = std::env::var("HEARTH_TEST_POSTGRES") {
        let schema = format!("hearth_search_bench_{}", std::process::id());
        let options =
            PostgresOptions { schema: Some(schema.clone()), max_connections: 8, ..PostgresOptions::default() };
        let pg: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(&url, &options).await?);
        let result = run("postgres", pg, n, &words).await;
        let mut conn = sqlx::PgConnection::connect(&url).await?;
        let drop = format!("DROP SCHEMA \"{schema}\" CASCADE");
        sqlx::query(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await?;
        result?;
    } else {
        println!("postgres: skipped (HEARTH_TEST_POSTGRES not set)");
    }
    Ok(())
}

/// A reproducible xorshift generator; no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A vocabulary index, skewed: index 0 is the most frequent.
    fn word(&mut self) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((VOCABULARY as f64) * u.powi(4)) as usize
    }
}

/// Pronounceable distinct words of 4 to 9 letters.
fn vocabulary() -> Vec<String> {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "nu", "ra", "te", "so", "vi", "de", "ba", "po", "ze", "fu", "gi", "ha", "je", "qua", "wy",
        "xe", "cor", "tin", "mal", "ser", "dun",
    ];
    let mut out = Vec::with_capacity(VOCABULARY);
    let mut i = 0usize;
    while out.len() < VOCABULARY {
        let (a, b, c) = (i % 24, (i / 24) % 24, (i / 576) % 24);
        let mut w = format!("{}{}", SYLLABLES[a], SYLLABLES[b]);
        if i >= 576 {
            w.push_str(SYLLABLES[c]);
        }
        if i >= 576 * 24 {
            break;
        }
        out.push(w);
        i += 1;
    }
    out
}

fn message(i: u64, start: i64, rng: &mut Rng, words: &[String]) -> StoredMessage {
    let user = rng.below(USERS);
    // One message in ten is a direct message between two of the first 50 users.
    let target = if i % 10 == 9 {
        dm_key(&format!("user{}", user % 50), &format!("user{}", (user + 1 + rng.below(49)) % 50))
    } else {
        format!("#chan{}", rng.below(ROOMS))
    };
    let len = 5 + rng.below(10) as usize;
    let text: Vec<&str> = (0..len).map(|_| words[rng.word()].as_str()).collect();
    StoredMessage {
        msgid: format!("{i:016x}"),
        // ~10 messages per millisecond, so ties are common.
        time: Timestamp(start + (i / 10) as i64),
        recipient: target.clone(),
        target,
        sender: format!("user{user}!u@example.org"),
        sender_account: Some(format!("user{user}")),
        command: "PRIVMSG".into(),
        tags: String::new(),
        text: text.join(" "),
    }
}

async fn run(name: &str, store: Arc<dyn Store>, n: u64, words: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let start_time = Timestamp::now().0 - (n / 10) as i64;
    let started = Instant::now();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut i = 0;
    while i < n {
        let batch: Vec<StoredMessage> =
            (i..(i + BATCH as u64).min(n)).map(|j| message(j, start_time, &mut rng, words)).collect();
        store.append(&batch).await?;
        i += batch.len() as u64;
    }
    let elapsed = started.elapsed();
    println!(
        "{name}: appended {n} messages in batches of {BATCH} in {:.1} s = {:.0} msg/s (search index included)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
    );

    let kinds = ["word", "two words", "from", "in", "after"];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    let mut all = Vec::with_capacity(QUERIES);
    let mut hits = 0usize;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for q in 0..QUERIES {
        let me = rng.below(50);
        let first = rng.below(ROOMS);
        // The rooms the reader is in: 10 consecutive ones.
        let rooms: Vec<SearchTarget> =
            (0..10).map(|k| SearchTarget::all(format!("#chan{}", (first + k) % ROOMS))).collect();
        // Words across the whole range: a third common, a third middling, a third rare.
        let word = match q % 3 {
            0 => &words[rng.below(20) as usize],
            1 => &words[200 + rng.below(800) as usize],
            _ => &words[2_000 + rng.below(3_000) as usize],
        };
        let mut query = SearchQuery {
            targets: rooms.clone(),
            participant: Some(format!("user{me}")),
            text: Some(word.clone()),
            limit: 100,
            ..SearchQuery::default()
        };
        let kind = q % kinds.len();
        match kinds[kind] {
            "two words" => query.text = Some(format!("{word} {}", words[rng.word()])),
            "from" => query.sender = Some(format!("user{}", rng.below(USERS))),
            "in" => {
                query.targets = vec![rooms[0].clone()];
                query.participant = None;
            }
            "after" => query.after = Some(Timestamp(start_time + rng.below(n / 10) as i64)),
            _ => {}
        }
        let t = Instant::now();
        hits += store.search(&query).await?.len();
        let took = t.elapsed();
        samples[kind].push(took);
        all.push(took);
    }
    report(name, "all kinds", &mut all);
    for (kind, s) in kinds.iter().zip(samples.iter_mut()) {
        report(name, kind, s);
    }
    println!("{name}: {:.1} results per query on average", hits as f64 / QUERIES as f64);
    Ok(())
}

fn report(name: &str, what: &str, samples: &mut [Duration]) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "{name}: search {what} over {} queries: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
}
