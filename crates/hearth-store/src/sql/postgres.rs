//! The PostgreSQL backend, for deployments that already run one.

use std::time::Duration;

use sqlx::Postgres as Db;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, Pool, migrate::Migrator};

/// Tuning for [`PostgresStore::connect_with`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Keep Hearth's tables in this schema (created if missing) by putting
    /// it first in every connection's `search_path`. Letters, digits and `_`
    /// only. Tests use a fresh random schema each to stay apart.
    pub schema: Option<String>,
    /// Pool size.
    pub max_connections: u32,
    /// How long a query waits for a working connection — an idle one that
    /// answers a ping, or a new one that finishes its handshake — before it
    /// fails with a pool timeout. While the server is unreachable every call
    /// fails after this long instead of hanging until it is back (sqlx's
    /// default is 30 s). The first connection at start has the same limit.
    pub acquire_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { schema: None, max_connections: 8, acquire_timeout: Duration::from_secs(3) }
    }
}

/// [`Store`](crate::Store) on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PostgresStore {
    read: Pool<Db>,
    write: Pool<Db>,
}

type ThisStore = PostgresStore;

impl PostgresStore {
    /// PostgreSQL has its own tools for this.
    async fn backup_impl(&self, _path: &std::path::Path) -> crate::Result<()> {
        Err(crate::StoreError::InvalidInput(
            "hearth backup copies the SQLite database; with PostgreSQL use pg_dump (see docs/install.md)".into(),
        ))
    }

    /// Connects to `url` (`postgres://user@host/db`) with default options
    /// and applies pending migrations.
    pub async fn connect(url: &str) -> crate::Result<PostgresStore> {
        PostgresStore::connect_with(url, &PostgresOptions::default()).await
    }

    /// [`PostgresStore::connect`] with explicit options. Like every later
    /// call, fails after `options.acquire_timeout` when the server does not
    /// answer.
    pub async fn connect_with(url: &str, options: &PostgresOptions) -> crate::Result<PostgresStore> {
        let mut connect: PgConnectOptions = url.parse()?;
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            let create = async {
                let mut conn = sqlx::PgConnection::connect_with(&connect).await?;
                let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                conn.close().await
            };
            tokio::time::timeout(options.acquire_timeout, create).await.map_err(|_| sqlx::Error::PoolTimedOut)??;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await?;
        migrator().run(&pool).await?;
        mark_opened(&pool).await?;
        Ok(PostgresStore { read: pool.clone(), write: pool })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.write.close().await;
    }
}

/// Schema names go into SQL text, so only plain identifiers are allowed.
fn check_schema_name(schema: &str) -> crate::Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(crate::StoreError::InvalidInput(format!("schema name {schema:?}"))) }
}

/// The PostgreSQL migrations, embedded from `migrations/postgres/`.
pub fn migrator() -> Migrator {
    super::embedded_migrator(&[
        ("0001_initial.sql", include_str!("../../migrations/postgres/0001_initial.sql")),
        ("0002_meta.sql", include_str!("../../migrations/postgres/0002_meta.sql")),
        ("0004_ban_lists.sql", include_str!("../../migrations/postgres/0004_ban_lists.sql")),
        ("0005_chat_requests.sql", include_str!("../../migrations/postgres/0005_chat_requests.sql")),
        ("0006_room_members.sql", include_str!("../../migrations/postgres/0006_room_members.sql")),
        ("0007_search.sql", include_str!("../../migrations/postgres/0007_search.sql")),
        ("0008_account_certs.sql", include_str!("../../migrations/postgres/0008_account_certs.sql")),
        ("0009_login_tokens.sql", include_str!("../../migrations/postgres/0009_login_tokens.sql")),
        ("0010_search_insert_by_batch.sql", include_str!("../../migrations/postgres/0010_search_insert_by_batch.sql")),
    ])
}

/// Full-text matching on the generated `text_tsv` column (migration 0007), with
/// the 'simple' configuration it was built with.
const TEXT_MATCH: super::search::TextMatch = super::search::TextMatch {
    from: "messages m",
    condition: "m.text_tsv @@ to_tsquery('simple', $?)",
    order: "m.seq",
    query: crate::search::tsquery,
};

include!("rows.rs");
include!("queries.rs");
