//! Hearth's persistence: accounts, rooms (channels), history, read markers.
//!
//! The core talks to one object-safe trait, [`Store`], through an
//! `Arc<dyn Store>`; it never sees SQL. Two backends implement it with the
//! same SQL text and pass the same conformance suite
//! (`tests/conformance.rs`):
//!
//! - [`SqliteStore`] — embedded, the default: `hearth.db` in the data
//!   directory, WAL mode, `synchronous = NORMAL` (FULL on request).
//! - [`PostgresStore`] — for deployments that run PostgreSQL; an optional
//!   schema keeps Hearth's tables apart.
//!
//! [`open_store`] picks one from a location string. Schema migrations are
//! embedded in the binary and applied on open.
//!
//! The server writes history through the [`journal`]: a record is durable once
//! appended there, and the database is filled from the journal files (see
//! `hearth-core`'s `outbound`). [`HistoryWriter`] (group commit straight into
//! the store, acknowledging after each commit) serves the benchmarks and tools.
//!
//! Names are matched case-insensitively: see [`casefold`], and [`dm_key`]
//! for the key of a direct-message conversation. Times are [`Timestamp`]s,
//! integer milliseconds UTC.
//!
//! # Layout
//!
//! ```text
//! lib.rs          this overview, re-exports, open_store()
//! store.rs        trait Store: every method's contract
//! types.rs        domain types (Account, Room, StoredMessage, Bound, …), casefold, dm_key
//! error.rs        StoreError
//! password.rs     argon2id hash_password / verify_password (run off the event loop)
//! writer.rs       HistoryWriter: batching, group commit, acks after commit
//! search.rs       SearchQuery, SearchTarget; words of a search → FTS5 / tsquery text
//! sql/mod.rs      shared SQL helpers, embedded migrator
//! sql/search.rs   the search statement: shared clauses, per-dialect text match
//! sql/queries.rs  the Store impl, include!d by both backends (one SQL text)
//! sql/rows.rs     row decoding and range helpers, include!d likewise
//! sql/sqlite.rs   SqliteStore: open, pragmas, reader pool + one writer connection
//! sql/postgres.rs PostgresStore: connect, search_path schema, acquire timeout
//! testing.rs      test helpers: PgSchema (a schema per test), pg_url()
//! testing/proxy.rs  TcpProxy: a relay a test can cut (outage tests)
//! testing/readonly.rs  ReadOnlyDir: a directory a test fills, then makes unwritable
//! migrations/sqlite/, migrations/postgres/   versioned schema, one dialect each
//! tests/conformance.rs   one suite, run against both backends
//! examples/history_bench.rs   1M-message fill and query latency
//! examples/search_bench.rs    1M-message fill and search latency
//! ```
#![forbid(unsafe_code)]

mod error;
pub mod journal;
pub mod login_token;
pub mod password;
mod search;
mod sql;
mod store;
pub mod testing;
mod types;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{Result, StoreError};
pub use search::{MAX_TERMS, SearchQuery, SearchTarget, search_terms};
pub use sql::postgres::{PostgresOptions, PostgresStore};
pub use sql::sqlite::{DB_FILE, SqliteOptions, SqliteStore};
pub use store::Store;
pub use types::{
    Account, Ban, BanList, Bound, ChatRequest, DM_SEPARATOR, LoginToken, MULTILINE_TAG, Membership, Retention, Room,
    RoomState, StoredMessage, TargetSummary, Timestamp, Topic, Unread, casefold, dm_key, dm_participants, dm_peer,
};
pub use writer::{Durable, HistoryWriter, WriterConfig, WriterStats};

/// Where and how to open the store.
#[derive(Clone, Debug, Default)]
pub struct StoreConfig {
    /// A `postgres://` or `postgresql://` URL, or else a data directory for
    /// SQLite (an optional `sqlite:` prefix is stripped).
    pub location: String,
    /// SQLite tuning (ignored for PostgreSQL).
    pub sqlite: SqliteOptions,
    /// PostgreSQL tuning (ignored for SQLite).
    pub postgres: PostgresOptions,
}

/// Which backend a location string selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Backend {
    /// `postgres://…` and `postgresql://…` select PostgreSQL; anything else
    /// is a SQLite data directory.
    pub fn from_location(location: &str) -> Backend {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Backend::Postgres(location.to_owned())
        } else {
            let dir = location.strip_prefix("sqlite:").unwrap_or(location);
            Backend::Sqlite(PathBuf::from(dir))
        }
    }
}

/// Opens the backend `config.location` selects and applies migrations.
pub async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>> {
    Ok(match Backend::from_location(&config.location) {
        Backend::Sqlite(dir) => Arc::new(SqliteStore::open_with(&dir, &config.sqlite).await?),
        Backend::Postgres(url) => Arc::new(PostgresStore::connect_with(&url, &config.postgres).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_location() {
        assert_eq!(Backend::from_location("postgres://u@h/db"), Backend::Postgres("postgres://u@h/db".into()));
        assert!(matches!(Backend::from_location("postgresql://h"), Backend::Postgres(_)));
        assert_eq!(Backend::from_location("/var/lib/hearth"), Backend::Sqlite("/var/lib/hearth".into()));
        assert_eq!(Backend::from_location("sqlite:data"), Backend::Sqlite("data".into()));
    }
}
