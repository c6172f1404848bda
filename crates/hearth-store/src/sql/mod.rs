//! The SQL backends. Both share one implementation of the trait
//! (`queries.rs`, included by each backend with its own `Db` type) because
//! the SQL is the same in both dialects; they differ in how they connect and
//! in their migrations (`migrations/sqlite/`, `migrations/postgres/`).

pub mod postgres;
pub(crate) mod search;
pub mod sqlite;

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use crate::types::Timestamp;

/// A place in a target's history order: `(time, seq)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pos(pub i64, pub i64);

impl Pos {
    pub const MIN: Pos = Pos(i64::MIN, i64::MIN);
    pub const MAX: Pos = Pos(i64::MAX, i64::MAX);
}

/// As an exclusive lower end, a timestamp excludes its whole millisecond.
pub(crate) fn lower_pos(t: Timestamp) -> Pos {
    Pos(t.0, i64::MAX)
}

/// As an exclusive upper end, a timestamp excludes its whole millisecond.
pub(crate) fn upper_pos(t: Timestamp) -> Pos {
    Pos(t.0, i64::MIN)
}

/// Which end of a range a limit is taken from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Forward,
    Backward,
}

/// Columns of `messages` that make a `StoredMessage`.
pub(crate) const MSG_COLUMNS: &str = "msgid, time, target, recipient, sender, sender_account, command, tags, text";

/// [`MSG_COLUMNS`] of the messages aliased `m` (search joins another table).
pub(crate) const MSG_COLUMNS_M: &str =
    "m.msgid, m.time, m.target, m.recipient, m.sender, m.sender_account, m.command, m.tags, m.text";

/// Bind parameters per inserted message.
const PARAMS_PER_MESSAGE: usize = 9;

/// Messages per multi-row INSERT: 9 × 128 = 1,152 parameters, well under
/// SQLite's 32,766 and PostgreSQL's 65,535.
pub(crate) fn chunk_len() -> usize {
    128
}

/// `INSERT … VALUES (…), (…) ON CONFLICT (msgid) DO NOTHING` for `rows`
/// messages, bound in the order of the column list.
///
/// `anonymous` writes `?` instead of `$n` (SQLite): SQLite looks a numbered
/// parameter's name up in a list, once per parameter, so a statement with
/// n numbered parameters costs O(n²) to bind — with 1,152 parameters that
/// was 15 % of the server's CPU per message (docs/performance.md).
pub(crate) fn append_sql(rows: usize, anonymous: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO messages (msgid, target, recipient, time, sender, sender_account, \
         command, tags, text) VALUES ",
    );
    push_values(&mut sql, rows, PARAMS_PER_MESSAGE, anonymous);
    sql.push_str(" ON CONFLICT (msgid) DO NOTHING");
    sql
}

/// Appends `(…), (…)`: `rows` tuples of `cols` placeholders, `?` when `anonymous`
/// (SQLite, see [`append_sql`]) or numbered `$1…` in order otherwise.
pub(crate) fn push_values(sql: &mut String, rows: usize, cols: usize, anonymous: bool) {
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            if anonymous {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&(r * cols + c + 1).to_string());
            }
        }
        sql.push(')');
    }
}

/// A migrator over migrations embedded in the binary (no files needed at run
/// time). `files` are `(file name, contents)`; names follow sqlx's
/// `<version>_<description>.sql`.
pub(crate) fn embedded_migrator(files: &[(&'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|(name, sql)| {
            let stem = name.trim_end_matches(".sql");
            let (version, description) = stem.split_once('_').unwrap_or((stem, ""));
            let version = version.parse().expect("migration file names start with a version");
            Migration::new(
                version,
                Cow::Owned(description.replace('_', " ")),
                MigrationType::Simple,
                AssertSqlSafe(*sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_sql_numbers_placeholders_in_order() {
        let sql = append_sql(2, false);
        assert!(sql.contains("($1, $2, $3, $4, $5, $6, $7, $8, $9), ($10,"));
        assert!(sql.ends_with("$18) ON CONFLICT (msgid) DO NOTHING"));
        let sql = append_sql(2, true);
        assert!(sql.contains("(?, ?, ?, ?, ?, ?, ?, ?, ?), (?, ?,"));
        assert!(!sql.contains('$'));
    }
}
