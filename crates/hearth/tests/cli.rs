//! The admin command line, driven through the compiled `hearth` binary with a
//! temporary config file: accounts, history purge, export. The test opens the
//! same database through the store API to check what the commands did and to
//! insert history.
//!
//! The PostgreSQL test runs when `HEARTH_TEST_POSTGRES` holds a URL such as
//! `postgres://postgres@127.0.0.1/test` (in a fresh schema, dropped
//! afterwards); otherwise it prints "skipped: HEARTH_TEST_POSTGRES not set".

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use hearth_store::password::verify_password;
use hearth_store::{PostgresOptions, PostgresStore, SqliteStore, Store, StoredMessage, Timestamp, dm_key};

/// 2026-11-20T00:00:00Z.
const NOV_20: i64 = 1_795_132_800_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A config file in a temporary directory, with cheap argon2 parameters.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn sqlite() -> Setup {
        Setup::with_extra("")
    }

    fn with_extra(extra: &str) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("hearth.toml");
        let text = format!(
            "data_dir = {:?}\n{extra}\n[accounts]\nargon2_memory_kib = 8\nargon2_iterations = 1\n",
            dir.path().join("data")
        );
        std::fs::write(&config, text).expect("write config");
        Setup { dir, config }
    }

    /// Runs `hearth --config FILE args…` with `stdin` piped in (never a terminal).
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run hearth");
        if let Some(input) = stdin {
            // A command that refuses its arguments may exit before reading its input:
            // the write then fails with a broken pipe, which is not the test's concern.
            let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        }
        Out::from(child.wait_with_output().expect("wait for hearth"))
    }

    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(&self.dir.path().join("data")).await.expect("open store"))
    }
}

#[derive(Debug)]
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Out {
    #[track_caller]
    fn success(self) -> Out {
        assert!(self.ok, "expected success: {self:#?}");
        self
    }

    #[track_caller]
    fn failure(self, needle: &str) -> Out {
        assert!(!self.ok, "expected failure: {self:#?}");
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}: {self:#?}");
        self
    }
}

fn message(msgid: &str, time: i64, target: &str, sender: &str, command: &str, text: &str) -> StoredMessage {
    StoredMessage {
        msgid: msgid.into(),
        time: Timestamp::from_millis(time),
        target: target.into(),
        recipient: target.into(),
        sender: format!("{sender}!{sender}@127.0.0.1"),
        sender_account: Some(sender.into()),
        command: command.into(),
        tags: String::new(),
        text: text.into(),
    }
}

/// The account commands, in the order an admin would use them.
async fn check_accounts(setup: &Setup, store: impl AsyncFn() -> Arc<dyn Store>) {
    setup.run(&["user", "add", "Alice", "--password-stdin"], Some("first-password\n")).success();
    setup
        .run(&["user", "add", "alice", "--password-stdin"], Some("other-password\n"))
        .failure("an account named Alice already exists");
    let out = setup.run(&["user", "add", "bob", "--admin", "--password-stdin"], Some("bob-password\r\n")).success();
    assert!(out.stdout.contains("created account bob (administrator)"), "{out:?}");

    let out = setup.run(&["user", "list"], None).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out:?}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains("ADMIN") && lines[0].contains("CREATED (UTC)"));
    assert!(lines[1].starts_with("Alice") && lines[1].contains(" no "), "{out:?}");
    assert!(lines[2].starts_with("bob") && lines[2].contains(" yes "), "{out:?}");

    let before = store().await.account("alice").await.unwrap().unwrap();
    assert!(verify_password("first-password", &before.password_hash));
    assert!(verify_password("bob-password", &store().await.account("bob").await.unwrap().unwrap().password_hash));
    setup.run(&["user", "passwd", "ALICE", "--password-stdin"], Some("second-password\n")).success();
    let after = store().await.account("alice").await.unwrap().unwrap();
    assert_ne!(before.password_hash, after.password_hash);
    assert!(verify_password("second-password", &after.password_hash));
    assert!(!verify_password("first-password", &after.password_hash));

    setup.run(&["user", "admin", "alice", "on"], None).success();
    assert!(store().await.account("alice").await.unwrap().unwrap().admin);
    setup.run(&["user", "admin", "alice", "off"], None).success();
    assert!(!store().await.account("alice").await.unwrap().unwrap().admin);
    setup.run(&["user", "admin", "carol", "on"], None).failure("no account named carol; see `hearth --config");

    setup.run(&["user", "del", "alice"], None).success();
    assert!(store().await.account("alice").await.unwrap().is_none());
    setup.run(&["user", "del", "alice"], None).failure("no account named alice");
    setup
        .run(&["user", "passwd", "alice", "--password-stdin"], Some("whatever-pass\n"))
        .failure("no account named alice");
}

#[tokio::test]
async fn user_commands_manage_accounts() {
    let setup = Setup::sqlite();
    check_accounts(&setup, async || setup.store().await).await;
}

#[tokio::test]
async fn user_add_refuses_bad_input_without_leaking_the_password() {
    let setup = Setup::sqlite();
    let out = setup.run(&["user", "add", "carol"], None).failure("not a terminal");
    assert!(out.stderr.contains("--password-stdin"), "{out:?}");
    setup.run(&["user", "add", "carol", "--password-stdin"], Some("\n")).failure("the password is empty");
    let out = setup.run(&["user", "add", "carol", "--password-stdin"], Some("short7!\n")).failure("at least 8");
    assert!(!out.stderr.contains("short7!") && !out.stdout.contains("short7!"), "{out:?}");
    setup.run(&["user", "add", "carol", "--password-stdin"], Some("")).failure("standard input is empty");
    setup
        .run(&["user", "add", "9carol", "--password-stdin"], Some("long-enough\n"))
        .failure("cannot be an account name");
    setup.run(&["user", "add", &"c".repeat(31), "--password-stdin"], Some("long-enough\n")).failure("at most 30");
    assert!(setup.store().await.accounts().await.unwrap().is_empty());
}

/// Two days of #general and one direct conversation.
async fn fill_history(store: &dyn Store) {
    let dm = dm_key("alice", "bob");
    store
        .append(&[
            message("g1", NOV_20 + 9 * HOUR, "#general", "alice", "PRIVMSG", "good morning"),
            message("g2", NOV_20 + 9 * HOUR + 1000, "#general", "bob", "NOTICE", "the build is green"),
            message("g3", NOV_20 + DAY + 5 * HOUR, "#general", "alice", "PRIVMSG", "\x01ACTION waves\x01"),
            message("g4", NOV_20 + DAY + 6 * HOUR, "#general", "bob", "TAGMSG", ""),
            message("d1", NOV_20 + DAY + 7 * HOUR, &dm, "bob", "PRIVMSG", "psst"),
            message("o1", NOV_20 + 8 * HOUR, "#other", "carol", "PRIVMSG", "elsewhere"),
        ])
        .await
        .expect("append");
}

#[tokio::test]
async fn export_writes_text_and_json_by_day() {
    let setup = Setup::sqlite();
    fill_history(&*setup.store().await).await;

    let out = setup.run(&["export", "--room", "General"], None).success();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "Hearth log of #General, 2026-11-20 to 2026-11-21 (times are UTC)",
            "[2026-11-20 09:00:00] <alice> good morning",
            "[2026-11-20 09:00:01] -bob- the build is green",
            "[2026-11-21 05:00:00] * alice waves",
        ],
        "{out:?}"
    );

    let out = setup.run(&["export", "--room", "#general", "--date", "2026-11-21", "--format", "json"], None).success();
    let rows: Vec<serde_json::Value> = out.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2, "{out:?}");
    assert_eq!(
        rows[0],
        serde_json::json!({"time": "2026-11-21T05:00:00.000Z", "msgid": "g3", "nick": "alice", "account": "alice",
                           "command": "PRIVMSG", "text": "\u{1}ACTION waves\u{1}"})
    );
    assert_eq!(rows[1]["command"], "TAGMSG");

    let out =
        setup.run(&["export", "--room", "general", "--since", "2026-11-20T09:00:01Z", "--until", "2026-11-20"], None);
    assert_eq!(out.success().stdout.lines().count(), 2, "header and the NOTICE");

    let logs = setup.dir.path().join("logs");
    let out = setup.run(&["export", "--room", "#general", "--out", logs.to_str().unwrap()], None).success();
    assert!(out.stdout.contains("general-2026-11-20.txt (2 messages)"), "{out:?}");
    let day1 = std::fs::read_to_string(logs.join("general-2026-11-20.txt")).unwrap();
    assert!(day1.starts_with("Hearth log of #general, 2026-11-20 (times are UTC)\n"), "{day1}");
    assert!(day1.contains("<alice> good morning") && !day1.contains("waves"), "{day1}");
    let day2 = std::fs::read_to_string(logs.join("general-2026-11-21.txt")).unwrap();
    assert!(day2.contains("* alice waves") && !day2.contains("good morning"), "{day2}");
    assert_eq!(files(&logs), ["general-2026-11-20.txt", "general-2026-11-21.txt"]);

    let json_dir = setup.dir.path().join("json");
    setup
        .run(&["export", "--room", "#general", "--format", "json", "--out", json_dir.to_str().unwrap()], None)
        .success();
    assert_eq!(files(&json_dir), ["general-2026-11-20.jsonl", "general-2026-11-21.jsonl"]);
    let day2 = std::fs::read_to_string(json_dir.join("general-2026-11-21.jsonl")).unwrap();
    assert_eq!(day2.lines().count(), 2);

    let out = setup.run(&["export", "--conversation", "Bob,alice"], None).success();
    assert!(out.stdout.contains("conversation of Bob and alice"), "{out:?}");
    assert!(out.stdout.contains("[2026-11-21 07:00:00] <bob> psst"), "{out:?}");

    let out = setup.run(&["export", "--room", "#nowhere"], None).success();
    assert!(out.stdout.is_empty() && out.stderr.contains("no messages stored for #nowhere"), "{out:?}");
    setup.run(&["export", "--room", "#general", "--date", "yesterday"], None).failure("YYYY-MM-DD");
    setup
        .run(&["export", "--room", "#general", "--since", "2026-11-21", "--until", "2026-11-20"], None)
        .failure("swap");
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn purge_before_deletes_only_older_messages() {
    let setup = Setup::sqlite();
    let store = setup.store().await;
    fill_history(&*store).await;

    let out = setup.run(&["history", "purge", "--room", "#general", "--before", "2026-11-21"], None).success();
    assert!(out.stdout.contains("deleted 2 messages of #general"), "{out:?}");
    let left = store.export("#general", Timestamp::MIN, Timestamp::MAX).await.unwrap();
    assert_eq!(left.iter().map(|m| m.msgid.as_str()).collect::<Vec<_>>(), ["g3", "g4"]);
    assert_eq!(store.export("#other", Timestamp::MIN, Timestamp::MAX).await.unwrap().len(), 1, "other rooms kept");

    let out = setup.run(&["history", "purge", "--before", "2026-11-21T05:30:00Z"], None).success();
    assert!(out.stdout.contains("deleted 2 messages of every room and conversation"), "{out:?}");

    setup.run(&["history", "purge", "--room", "#general"], None).failure("add --yes");
    assert_eq!(store.export("#general", Timestamp::MIN, Timestamp::MAX).await.unwrap().len(), 1);
    let out = setup.run(&["history", "purge", "--yes"], None).success();
    assert!(out.stdout.contains("deleted 2 messages"), "{out:?}");
    setup.run(&["history", "purge", "--before", "last week"], None).failure("YYYY-MM-DD");
}

#[tokio::test]
async fn trim_applies_the_configured_retention() {
    let setup = Setup::sqlite();
    let out = setup.run(&["history", "trim"], None).success();
    assert!(out.stdout.contains("nothing to trim"), "{out:?}");

    let setup = Setup::with_extra("[history]\nmax_per_target = 1\n");
    fill_history(&*setup.store().await).await;
    let out = setup.run(&["history", "trim"], None).success();
    assert!(out.stdout.contains("deleted 3 messages"), "{out:?}");
}

/// The same account commands against PostgreSQL, in a fresh schema reached
/// through the URL's `options=-csearch_path=…`.
#[tokio::test]
async fn user_commands_work_on_postgres() {
    let Some(url) = hearth_store::testing::pg_url() else { return };
    let schema = hearth_store::testing::PgSchema::create(&url).await;
    let options =
        PostgresOptions { schema: Some(schema.name.clone()), max_connections: 2, ..PostgresOptions::default() };
    // Creates the tables in the schema.
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(&url, &options).await.expect("connect"));
    let cli_url = schema.url_in_schema();
    let setup = Setup::with_extra(&format!("[database]\nurl = {cli_url:?}\n"));
    check_accounts(&setup, async || store.clone()).await;

    fill_history(&*store).await;
    let out = setup.run(&["export", "--room", "#general", "--date", "2026-11-20"], None).success();
    assert!(out.stdout.contains("<alice> good morning"), "{out:?}");
    let out = setup.run(&["history", "purge", "--before", "2026-11-21"], None).success();
    assert!(out.stdout.contains("deleted 3 messages"), "{out:?}");
}
