//! The embedded SQLite backend (the default): one file, `hearth.db`, in the
//! data directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Sqlite as Db;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, migrate::Migrator};

/// The database file inside the data directory.
pub const DB_FILE: &str = "hearth.db";

/// Tuning for [`SqliteStore::open_with`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// `synchronous = FULL` instead of `NORMAL`. In WAL mode NORMAL never
    /// corrupts the database, but a power cut may lose the last commits;
    /// FULL syncs every commit and costs write throughput.
    pub synchronous_full: bool,
    /// How long a connection waits for a lock before `SQLITE_BUSY`.
    pub busy_timeout: Duration,
    /// Read connections. Writes always go through one dedicated connection,
    /// so writers queue in-process instead of spinning on the file lock.
    pub read_connections: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { synchronous_full: false, busy_timeout: Duration::from_secs(5), read_connections: 4 }
    }
}

/// [`Store`](crate::Store) on SQLite, WAL mode, foreign keys on.
///
/// sqlx runs each SQLite connection on its own thread, so no call blocks the
/// async runtime.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    read: Pool<Db>,
    write: Pool<Db>,
    path: PathBuf,
}

type ThisStore = SqliteStore;

impl SqliteStore {
    /// Opens (creating on first start) `data_dir/hearth.db` with default
    /// options, and applies pending migrations.
    pub async fn open(data_dir: &Path) -> crate::Result<SqliteStore> {
        SqliteStore::open_with(data_dir, &SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with explicit options. Creates `data_dir` if it
    /// is missing.
    ///
    /// SQLite quietly opens a file it cannot write read-only, and the first
    /// write fails much later. So every open writes once (`meta.opened_at`),
    /// and a database that cannot be written — a read-only file, directory
    /// or file system — is refused here with [`StoreError::NotWritable`].
    ///
    /// [`StoreError::NotWritable`]: crate::StoreError::NotWritable
    pub async fn open_with(data_dir: &Path, options: &SqliteOptions) -> crate::Result<SqliteStore> {
        let path = data_dir.join(DB_FILE);
        let (read, write) = open_pools(data_dir, &path, options).await.map_err(|e| {
            if e.is_not_writable() {
                crate::StoreError::NotWritable { path: path.clone(), dir: data_dir.to_owned(), cause: e.to_string() }
            } else {
                e
            }
        })?;
        tracing::debug!(path = %path.display(), "sqlite store open");
        Ok(SqliteStore { read, write, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `VACUUM INTO`: a consistent, compact copy, taken while the server keeps writing.
    async fn backup_impl(&self, path: &Path) -> crate::Result<()> {
        let target = path.to_str().ok_or_else(|| crate::StoreError::InvalidInput("backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.read).await?;
        Ok(())
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Creates the directory, opens the writer (which creates the file and
/// switches it to WAL before any reader connects), migrates, proves the file
/// writable, then opens the readers.
async fn open_pools(data_dir: &Path, path: &Path, options: &SqliteOptions) -> crate::Result<(Pool<Db>, Pool<Db>)> {
    tokio::fs::create_dir_all(data_dir).await?;
    let synchronous = if options.synchronous_full { SqliteSynchronous::Full } else { SqliteSynchronous::Normal };
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous)
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true);
    let write = SqlitePoolOptions::new().max_connections(1).connect_with(connect.clone()).await?;
    migrator().run(&write).await?;
    mark_opened(&write).await?;
    let read = SqlitePoolOptions::new().max_connections(options.read_connections.max(1)).connect_with(connect).await?;
    Ok((read, write))
}

/// The SQLite migrations, embedded from `migrations/sqlite/`.
pub fn migrator() -> Migrator {
    super::embedded_migrator(&[
        ("0001_initial.sql", include_str!("../../migrations/sqlite/0001_initial.sql")),
        ("0002_meta.sql", include_str!("../../migrations/sqlite/0002_meta.sql")),
        ("0004_ban_lists.sql", include_str!("../../migrations/sqlite/0004_ban_lists.sql")),
        ("0005_chat_requests.sql", include_str!("../../migrations/sqlite/0005_chat_requests.sql")),
        ("0006_room_members.sql", include_str!("../../migrations/sqlite/0006_room_members.sql")),
        ("0007_search.sql", include_str!("../../migrations/sqlite/0007_search.sql")),
        ("0008_account_certs.sql", include_str!("../../migrations/sqlite/0008_account_certs.sql")),
        ("0009_login_tokens.sql", include_str!("../../migrations/sqlite/0009_login_tokens.sql")),
        ("0010_search_insert_by_batch.sql", include_str!("../../migrations/sqlite/0010_search_insert_by_batch.sql")),
    ])
}

/// Full-text matching through the FTS5 table `messages_fts` (migration 0007),
/// walked in rowid (= `seq`) order so that a LIMIT stops the walk early.
const TEXT_MATCH: super::search::TextMatch = super::search::TextMatch {
    from: "messages_fts CROSS JOIN messages m ON m.seq = messages_fts.rowid",
    condition: "messages_fts MATCH $?",
    order: "messages_fts.rowid",
    query: crate::search::fts5_query,
};

include!("rows.rs");
include!("queries.rs");

#[cfg(test)]
mod statement_cache_tests {
    use super::*;
    use crate::{Store, StoredMessage, Timestamp};

    fn batch(from: usize, n: usize) -> Vec<StoredMessage> {
        (from..from + n)
            .map(|i| StoredMessage {
                msgid: format!("m{i}"),
                time: Timestamp(i as i64),
                target: "#room".into(),
                recipient: "#room".into(),
                sender: "n!u@h".into(),
                sender_account: None,
                command: if i % 2 == 0 { "PRIVMSG".into() } else { "JOIN".into() },
                tags: String::new(),
                text: "hello".into(),
            })
            .collect()
    }

    /// Batches of every size from 1 to 130 messages (what a busy inserter hands over)
    /// leave only a handful of prepared statements in the write connection's cache:
    /// the full-chunk INSERT and the small ones of a quiet server. A cached statement
    /// per size held megabytes of SQLite's heap (issue 12).
    #[tokio::test]
    async fn batches_of_every_size_do_not_fill_the_statement_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let mut next = 0;
        for n in 1..=130 {
            store.append(&batch(next, n)).await.unwrap();
            next += n;
        }
        let stored = store.history_count_for_test().await;
        assert_eq!(stored, next as i64, "every message is stored");
        let conn = store.write.acquire().await.unwrap();
        let cached = sqlx::Connection::cached_statements_size(&*conn);
        assert!(cached <= 12, "{cached} statements stay prepared after batches of 130 sizes");
    }

    impl SqliteStore {
        async fn history_count_for_test(&self) -> i64 {
            sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&self.read).await.unwrap()
        }
    }
}
