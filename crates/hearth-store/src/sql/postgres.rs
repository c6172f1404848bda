//! The PostgreSQL backend, for deployments that already run one.

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
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions { schema: None, max_connections: 8 }
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
    /// Connects to `url` (`postgres://user@host/db`) with default options
    /// and applies pending migrations.
    pub async fn connect(url: &str) -> crate::Result<PostgresStore> {
        PostgresStore::connect_with(url, &PostgresOptions::default()).await
    }

    /// [`PostgresStore::connect`] with explicit options.
    pub async fn connect_with(url: &str, options: &PostgresOptions) -> crate::Result<PostgresStore> {
        let mut connect: PgConnectOptions = url.parse()?;
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
            let mut conn = sqlx::PgConnection::connect_with(&connect).await?;
            let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            conn.execute(sqlx::AssertSqlSafe(sql)).await?;
            conn.close().await?;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new().max_connections(options.max_connections.max(1)).connect_with(connect).await?;
        migrator().run(&pool).await?;
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
    super::embedded_migrator(&[("0001_initial.sql", include_str!("../../migrations/postgres/0001_initial.sql"))])
}

include!("rows.rs");
include!("queries.rs");
