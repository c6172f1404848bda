//! Backends facing an unusable database: refused at open, or failing fast
//! during an outage and recovering after it. Not part of the shared suite:
//! each failure is specific to one backend.

use std::time::{Duration, Instant};

use hearth_store::testing::{PgSchema, ReadOnlyDir, TcpProxy, pg_url};
use hearth_store::{PostgresOptions, PostgresStore, SqliteStore, Store, StoreError};

/// Regression: a read-only `hearth.db` used to open (SQLite falls back to
/// read-only) and then fail every history write, retried forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_only_database_is_refused_at_open() {
    let Some(dir) = ReadOnlyDir::create() else { return };
    let store = SqliteStore::open(dir.path()).await.expect("open writable store");
    store.create_account("alice", "h").await.unwrap();
    store.close().await;
    drop(store);
    dir.make_read_only();

    let err = SqliteStore::open(dir.path()).await.expect_err("a read-only database must be refused");
    assert!(matches!(err, StoreError::NotWritable { .. }), "{err:?}");
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains("read-only or cannot be written"), "{text}");
    assert!(text.contains(&dir.path().join(hearth_store::DB_FILE).display().to_string()), "{text}");
    assert!(text.contains("ls -ld"), "{text}");
}

/// A call that must fail within `limit` rather than wait for the database.
#[track_caller]
fn assert_fails_fast<T: std::fmt::Debug>(what: &str, started: Instant, result: Result<T, StoreError>) {
    let took = started.elapsed();
    println!("{what}: {took:?} {result:?}");
    assert!(result.is_err(), "{what} during the outage: {result:?}");
    assert!(took <= Duration::from_secs(5), "{what} took {took:?} to fail");
}

/// Regression: during a PostgreSQL outage calls hung until it ended (sqlx
/// waits 30 s for a connection by default); now they fail after the pool's
/// acquire timeout, and the pool reconnects once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_calls_fail_fast_during_outage_and_recover() {
    let Some(url) = pg_url() else { return };
    let schema = PgSchema::create(&url).await;
    let (proxy, proxied) = TcpProxy::for_url(&url).await.expect("start proxy");
    let options =
        PostgresOptions { schema: Some(schema.name.clone()), max_connections: 2, ..PostgresOptions::default() };
    let store = PostgresStore::connect_with(&proxied, &options).await.expect("connect through the proxy");
    store.create_account("alice", "h").await.unwrap();
    store.append(&[crate::msg("m1", "#hearth", 1)]).await.unwrap();

    proxy.pause();
    // The first calls find their pooled connections closed; later ones wait
    // for new connections that the proxy holds silent.
    for _ in 0..2 {
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(30), store.account("alice")).await.expect("hung");
        assert_fails_fast("account()", started, result);
        let started = Instant::now();
        let result =
            tokio::time::timeout(Duration::from_secs(30), store.latest("#hearth", None, 10)).await.expect("hung");
        assert_fails_fast("latest()", started, result);
    }

    proxy.resume();
    let alice = store.account("alice").await.expect("the pool reconnects after the outage");
    assert_eq!(alice.map(|a| a.name).as_deref(), Some("alice"));
    assert_eq!(crate::ids(&store.latest("#hearth", None, 10).await.unwrap()), ["m1"]);
    store.close().await;
}
