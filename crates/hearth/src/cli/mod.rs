//! The admin commands: `hearth user …`, `hearth history …`, `hearth export`.
//!
//! Each uses the data directory and database the configuration names (the same
//! `--config` as `serve`), does one thing and exits. Reading (`user list`) goes to
//! the database directly. Changing (`user add|del|passwd|admin`, `history purge|trim`)
//! goes to the running server through its control socket, so the one process that owns
//! the data applies it; when no server runs, the command locks the data directory,
//! applies what the history journal holds, and changes the database itself
//! ([`Ctx::request`]). `export` first makes sure the database has everything that was
//! delivered ([`Ctx::history_store`]).
//!
//! Errors are `anyhow` messages that end with what to do next; `main` prints
//! them as `hearth: error: …` and exits with status 1.
//!
//! # Layout
//! ```text
//! mod.rs      this overview, Ctx (config + how to re-run), open the store, targets, prompts
//! time.rs     YYYY-MM-DD / RFC 3339 parsing and UTC formatting
//! user.rs     hearth user add|list|del|passwd|admin, password input
//! history.rs  hearth history purge|trim
//! admin.rs    hearth admin who|rooms|kick|broadcast|shutdown|purge|stats (running server)
//! console.rs  hearth console: the admin commands interactively
//! backup.rs   hearth backup DIR
//! export.rs   hearth export: text and JSON Lines renderers, per-day files
//! ```

pub mod admin;
pub mod backup;
pub mod console;
pub mod export;
pub mod history;
pub mod time;
pub mod user;

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::bail;
use hearth::config::FileConfig;
use hearth::control::{self, Request, Response};
use hearth::datadir::{DataDirLock, LockError};
use hearth_store::{Backend, PostgresOptions, SqliteOptions, Store, StoreConfig, casefold, dm_key};

/// What every admin command gets: the configuration, and how to name the
/// command line in hints so that a suggested command opens the same database.
pub struct Ctx {
    pub cfg: FileConfig,
    /// `hearth` or `hearth --config FILE`.
    pub invocation: String,
}

impl Ctx {
    pub fn new(cfg: FileConfig, config_path: Option<&Path>) -> Ctx {
        let invocation = match config_path {
            Some(p) => format!("hearth --config {}", p.display()),
            None => "hearth".to_string(),
        };
        Ctx { cfg, invocation }
    }

    /// A command to suggest, e.g. ``hint("user list")`` gives `` `hearth user list` ``.
    pub fn hint(&self, args: &str) -> String {
        format!("`{} {args}`", self.invocation)
    }

    /// Opens the configured store (migrating it if needed). Small pools: one
    /// command needs one connection, and the server may be using the rest.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn Store>> {
        let config = StoreConfig {
            location: self.cfg.store_location(),
            sqlite: SqliteOptions {
                synchronous_full: self.cfg.database.fsync,
                read_connections: 1,
                ..SqliteOptions::default()
            },
            postgres: PostgresOptions { max_connections: 2, ..PostgresOptions::default() },
        };
        hearth_store::open_store(&config).await.map_err(|e| {
            // An unwritable database is found, just in the wrong state: its
            // error says what to fix, and pointing at the config would mislead.
            let hint = match e {
                hearth_store::StoreError::NotWritable { .. } => "",
                _ => {
                    "; check `data_dir` or `[database] url` in the config file (given with --config), \
                      and that the database server is running"
                }
            };
            anyhow::Error::new(e).context(format!("cannot open the database ({}){hint}", self.describe_store()))
        })
    }

    /// Where a change is carried out: by the running server, or here with the data
    /// directory locked and the journal applied.
    async fn admin(&self) -> anyhow::Result<Admin> {
        let dir = &self.cfg.data_dir;
        if let Some(client) = control::Client::connect(dir).await? {
            return Ok(Admin::Server(client));
        }
        let lock = match DataDirLock::acquire(dir) {
            Ok(lock) => lock,
            Err(LockError::Held { pid, .. }) => bail!(
                "a Hearth server{} holds the data directory {} but does not answer on its control socket {}; if it \
                 is starting, try again in a moment, otherwise see its log",
                pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
                dir.display(),
                control::socket_path(dir).display()
            ),
            Err(e) => return Err(e.into()),
        };
        let store = self.open_store().await?;
        hearth::app::drain_journal(&self.cfg, &*store).await?;
        Ok(Admin::Direct { store, _lock: lock })
    }

    /// Carries out a change (see the module docs for where).
    pub async fn request(&self, req: Request) -> anyhow::Result<Response> {
        match self.admin().await? {
            Admin::Server(mut client) => client.call(&req).await,
            Admin::Direct { store, .. } => Ok(control::apply_direct(&*store, &req).await),
        }
    }

    /// The database with everything delivered so far in it, for reading history; keep
    /// the lock (when there is one) while reading.
    pub async fn history_store(&self) -> anyhow::Result<(Arc<dyn Store>, Option<DataDirLock>)> {
        match self.admin().await? {
            Admin::Server(mut client) => {
                let r = client.call(&Request::Flush).await?;
                if !r.ok {
                    bail!("{}", r.message);
                }
                Ok((self.open_store().await?, None))
            }
            Admin::Direct { store, _lock } => Ok((store, Some(_lock))),
        }
    }

    /// The database, for messages: never shows a password from the URL.
    pub fn describe_store(&self) -> String {
        match Backend::from_location(&self.cfg.store_location()) {
            Backend::Sqlite(dir) => format!("SQLite in {}", dir.display()),
            Backend::Postgres(url) => format!("PostgreSQL at {}", redact_url(&url)),
        }
    }
}

/// Where a change is carried out.
enum Admin {
    Server(control::Client),
    Direct { store: Arc<dyn Store>, _lock: DataDirLock },
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_string() };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_string(),
    }
}

/// Whose history a command is about: a room, or a direct conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Room { name: String },
    Conversation { a: String, b: String },
}

impl Target {
    /// From `--room` / `--conversation` (clap already made them exclusive).
    pub fn from_args(room: Option<&str>, conversation: Option<&str>) -> anyhow::Result<Option<Target>> {
        match (room, conversation) {
            (Some(room), _) => Target::room(room).map(Some),
            (None, Some(pair)) => Target::conversation(pair).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// `#general`, or `general` (a `#` is added).
    fn room(input: &str) -> anyhow::Result<Target> {
        let name = if input.starts_with(['#', '&']) { input.to_string() } else { format!("#{input}") };
        if !hearth_proto::is_valid_channel(&name, 200) {
            bail!("`{input}` is not a room name; write it like #general (the # may be left out)");
        }
        Ok(Target::Room { name })
    }

    /// `alice,bob`; a guest (someone not logged in) is written `~nick`, as the server
    /// stores them: `alice,~bob`.
    fn conversation(input: &str) -> anyhow::Result<Target> {
        let names: Vec<&str> = input.split(',').map(str::trim).collect();
        let valid = |n: &str| hearth_proto::is_valid_nick(n.strip_prefix('~').unwrap_or(n), 64);
        match names[..] {
            [a, b] if valid(a) && valid(b) => Ok(Target::Conversation { a: a.to_string(), b: b.to_string() }),
            _ => bail!(
                "`{input}` is not a conversation; give the two nicks separated by a comma, e.g. alice,bob \
                 (a guest who was not logged in is written with a ~, e.g. alice,~bob)"
            ),
        }
    }

    /// The store's key: the casefolded room name, or the conversation's [`dm_key`].
    pub fn key(&self) -> String {
        match self {
            Target::Room { name } => casefold(name),
            Target::Conversation { a, b } => dm_key(a, b),
        }
    }

    /// For people: `#general`, `the conversation of alice and bob`.
    pub fn describe(&self) -> String {
        match self {
            Target::Room { name } => name.clone(),
            Target::Conversation { a, b } => format!("the conversation of {a} and {b}"),
        }
    }

    /// A file-name stem: the casefolded room without its `#`, or `alice+bob`
    /// (`+` cannot occur in a nick). Path separators and control characters
    /// become `_`, so a room name can never escape the output directory.
    pub fn file_stem(&self) -> String {
        let raw = match self {
            Target::Room { name } => casefold(&name[1..]),
            Target::Conversation { .. } => {
                self.key().replacen(hearth_store::DM_SEPARATOR, "+", 1).replace('~', "guest-")
            }
        };
        let mut stem: String =
            raw.chars().map(|c| if c.is_control() || matches!(c, '/' | '\\' | ':') { '_' } else { c }).collect();
        if stem.starts_with('.') {
            stem.replace_range(..1, "_");
        }
        stem
    }
}

/// Asks a yes/no question on the terminal; anything but `yes` is no. Refuses
/// (with `refusal`) when standard input is not a terminal, rather than guess.
pub fn confirm(question: &str, refusal: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("{refusal}");
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question} Type `yes` to go on: ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}

/// `1 message`, `2 messages`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Runs one admin command on a small runtime of its own.
pub fn block_on(fut: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(fut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("postgres://h/db?x=a@b"), "postgres://h/db?x=a@b");
    }

    #[test]
    fn targets() {
        let room = Target::from_args(Some("General"), None).unwrap().unwrap();
        assert_eq!(room.key(), "#general");
        assert_eq!(room.file_stem(), "general");
        let dm = Target::from_args(None, Some("Bob,alice")).unwrap().unwrap();
        assert_eq!(dm.key(), "alice bob");
        assert_eq!(dm.file_stem(), "alice+bob");
        assert!(Target::from_args(None, Some("alice")).is_err());
        let guest = Target::from_args(None, Some("alice,~Bob")).unwrap().unwrap();
        assert_eq!(guest.key(), "alice ~bob");
        assert_eq!(guest.file_stem(), "alice+guest-bob");
        assert!(Target::from_args(None, Some("alice,~")).is_err());
        assert!(Target::from_args(Some("#a b"), None).is_err());
        let odd = Target::from_args(Some("#../x/y"), None).unwrap().unwrap();
        assert_eq!(odd.file_stem(), "_._x_y");
    }
}
