//! Helpers for tests that run against PostgreSQL: a fresh schema per test, dropped
//! when the test ends (passed or panicked), so runs never see each other's data.
//!
//! Used by this crate's conformance suite and by the end-to-end tests of the binary.
//!
//! [`TcpProxy`] sits between a client and a server (PostgreSQL, or Hearth
//! itself) and can be cut and restored, for outage tests. [`ReadOnlyDir`] is
//! a data directory a test fills and then makes unwritable.

mod proxy;
mod readonly;

pub use proxy::TcpProxy;
pub use readonly::ReadOnlyDir;

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{Connection, Row};

/// The environment variable that holds the test database URL.
pub const PG_ENV: &str = "HEARTH_TEST_POSTGRES";

/// The test database URL, or `None` (after printing that the test is skipped).
pub fn pg_url() -> Option<String> {
    let url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty());
    if url.is_none() {
        println!("skipped: {PG_ENV} not set");
    }
    url
}

/// A schema that exists for one test.
#[derive(Debug)]
pub struct PgSchema {
    pub url: String,
    pub name: String,
}

impl PgSchema {
    /// Creates a uniquely named schema in the database at `url`.
    pub async fn create(url: &str) -> PgSchema {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("hearth_test_{}_{nanos}_{n}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(url).await.expect("connect to the test database");
        let sql = format!("CREATE SCHEMA \"{name}\"");
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.expect("create schema");
        let _ = conn.close().await;
        PgSchema { url: url.to_string(), name }
    }

    /// `url` with the schema as its search path, for configs that only take a URL.
    pub fn url_in_schema(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.url, self.name)
    }

    /// Rows in `table` of this schema.
    pub async fn count(&self, table: &str) -> i64 {
        let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
        let sql = format!("SELECT count(*) FROM \"{}\".{table}", self.name);
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.expect("count");
        row.get(0)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.name.clone());
        // Drop cannot be async: a thread with its own small runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                let sql = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await?;
                conn.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop schema {}", self.name);
        }
    }
}
