//! The one conformance suite every `Store` backend must pass.
//!
//! Each check is a plain `async fn(Arc<dyn Store>)` in a topic module; the
//! `conformance!` macro turns every check into one test per backend
//! (`sqlite::name`, `postgres::name`). Every test gets a fresh store: a
//! temporary directory for SQLite, a fresh random schema for PostgreSQL
//! (dropped afterwards, even when the test panics). The PostgreSQL tests run
//! only when `HEARTH_TEST_POSTGRES` holds a URL, e.g.
//! `postgres://postgres@127.0.0.1/test`; otherwise they print
//! "skipped: HEARTH_TEST_POSTGRES not set" and pass.
//!
//! `failures.rs` holds the tests of one backend facing a broken database
//! (read-only file, outage).

mod accounts;
mod failures;
mod history;
mod memberships;
mod requests;
mod rooms;
mod search;
mod writer;

use std::sync::Arc;

use hearth_store::testing::PgSchema;
use hearth_store::{PostgresOptions, PostgresStore, SqliteStore, Store, StoredMessage, Timestamp};

pub use hearth_store::testing::PG_ENV;

/// A store for one test, plus whatever must be cleaned up after it.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<PgSchema>,
}

impl Fixture {
    pub async fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).await.expect("open sqlite store");
        Fixture { store: Arc::new(store), _dir: Some(dir), _schema: None }
    }

    pub async fn postgres() -> Option<Fixture> {
        let url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let guard = PgSchema::create(&url).await;
        let options =
            PostgresOptions { schema: Some(guard.name.clone()), max_connections: 4, ..PostgresOptions::default() };
        let store = PostgresStore::connect_with(&url, &options).await.expect("connect postgres");
        Some(Fixture { store: Arc::new(store), _dir: None, _schema: Some(guard) })
    }
}

/// A channel message `id` on `target` at `time` ms.
pub fn msg(id: &str, target: &str, time: i64) -> StoredMessage {
    StoredMessage {
        msgid: id.to_owned(),
        time: Timestamp(time),
        target: target.to_owned(),
        recipient: target.to_owned(),
        sender: "alice!a@example.org".to_owned(),
        sender_account: Some("alice".to_owned()),
        command: "PRIVMSG".to_owned(),
        tags: String::new(),
        text: format!("text of {id}"),
    }
}

/// The msgids of `messages`, in order.
pub fn ids(messages: &[StoredMessage]) -> Vec<String> {
    messages.iter().map(|m| m.msgid.clone()).collect()
}

macro_rules! conformance {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let fx = super::Fixture::sqlite().await;
                    super::$module::$check(fx.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let Some(fx) = super::Fixture::postgres().await else {
                        println!("skipped: HEARTH_TEST_POSTGRES not set");
                        return;
                    };
                    super::$module::$check(fx.store.clone()).await;
                }
            )*
        }
    };
}

conformance! {
    accounts::create_get_list_count,
    accounts::duplicate_name_in_other_case_already_exists,
    accounts::password_and_admin_updates,
    accounts::delete_cascades_markers_ops_and_accepts,
    accounts::accept_lists,
    requests::chat_requests_round_trip_and_cascade,
    requests::unread_counts_are_absolute_and_cleared,
    requests::every_accept_list_at_once,
    accounts::client_certificates,
    accounts::login_tokens,
    rooms::upsert_get_list_delete,
    rooms::bans_add_remove_list,
    rooms::exception_lists_are_separate,
    rooms::operators_need_room_and_account,
    rooms::load_rooms_restores_everything,
    rooms::rename_room_keeps_state_bans_and_operators,
    memberships::memberships_set_replace_remove_and_list,
    memberships::memberships_follow_renames_and_deletions,
    memberships::journaled_memberships_apply_in_order,
    history::append_skips_duplicate_msgids,
    history::latest_is_chronological_and_casefolded,
    history::latest_after_bound,
    history::before_and_after_by_msgid_and_timestamp,
    history::unknown_or_foreign_msgid_is_an_error,
    history::same_millisecond_keeps_insertion_order,
    history::paging_10000_without_gaps_or_duplicates,
    history::around_msgid_and_timestamp,
    history::between_both_directions,
    history::dm_conversation_key_is_shared,
    history::targets_window_and_limit,
    history::read_markers_only_move_forward,
    history::purge_by_target_and_time,
    history::trim_by_age_and_count,
    history::export_is_inclusive_and_chronological,
    history::zero_limit_returns_nothing,
    history::redact_deletes_one_message_of_its_target,
    history::journal_replay_keeps_redacted_messages_deleted,
    history::rename_history_moves_messages_and_markers,
    history::message_counts_per_target,
    search::search_matches_words_case_folded_and_chronological,
    search::search_finds_only_privmsg_and_notice,
    search::search_indexes_each_message_once_across_replays,
    search::search_filters_sender_time_and_limit,
    search::search_stays_inside_its_scope,
    search::search_never_finds_purged_redacted_or_trimmed_messages,
    search::search_text_is_never_query_syntax,
    writer::acks_only_after_commit,
    writer::concurrent_writers_are_batched,
    writer::shutdown_flushes_queue,
}

#[tokio::test]
async fn sqlite_open_creates_directory_and_survives_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let store = SqliteStore::open(&dir).await.unwrap();
    assert!(dir.join(hearth_store::DB_FILE).exists());
    store.create_account("Alice", "$hash").await.unwrap();
    store.append(&[msg("m1", "#hearth", 1)]).await.unwrap();
    store.close().await;
    // Reopening applies no migration twice and keeps the data.
    let store = SqliteStore::open(&dir).await.unwrap();
    assert_eq!(store.account_count().await.unwrap(), 1);
    assert_eq!(ids(&store.latest("#hearth", None, 10).await.unwrap()), ["m1"]);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(
            &sqlx::SqlitePool::connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(store.path()))
                .await
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// `hearth backup`: a consistent copy that opens as a database of its own.
#[tokio::test]
async fn sqlite_backup_is_a_working_copy_and_postgres_says_use_pg_dump() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&tmp.path().join("live")).await.unwrap();
    store.append(&[msg("m1", "#hearth", 1), msg("m2", "#hearth", 2)]).await.unwrap();
    let copy_dir = tmp.path().join("copy");
    std::fs::create_dir_all(&copy_dir).unwrap();
    store.backup_to(&copy_dir.join(hearth_store::DB_FILE)).await.unwrap();
    assert!(store.backup_to(&copy_dir.join(hearth_store::DB_FILE)).await.is_err(), "never overwrites");
    store.append(&[msg("m3", "#hearth", 3)]).await.unwrap();
    let copy = SqliteStore::open(&copy_dir).await.unwrap();
    assert_eq!(ids(&copy.latest("#hearth", None, 10).await.unwrap()), ["m1", "m2"]);
    if let Some(fx) = Fixture::postgres().await {
        let err = fx.store.backup_to(&tmp.path().join("pg.db")).await.unwrap_err().to_string();
        assert!(err.contains("pg_dump"), "{err}");
    }
}

#[tokio::test]
async fn open_store_picks_backend_by_location() {
    let tmp = tempfile::tempdir().unwrap();
    let config = hearth_store::StoreConfig { location: tmp.path().display().to_string(), ..Default::default() };
    let store = hearth_store::open_store(&config).await.unwrap();
    assert_eq!(store.account_count().await.unwrap(), 0);
}
