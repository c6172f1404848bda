//! The store's typed errors.

/// What a [`Store`](crate::Store) call can fail with.
///
/// The first variants are domain outcomes the core maps to numerics or `FAIL`;
/// the rest are infrastructure failures it can only log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Creating something whose (casefolded) name is taken.
    #[error("{kind} {name:?} already exists")]
    AlreadyExists { kind: &'static str, name: String },
    /// Changing or attaching to something that does not exist.
    #[error("{kind} {name:?} not found")]
    NotFound { kind: &'static str, name: String },
    /// A [`Bound::MsgId`](crate::Bound::MsgId) not stored for that target
    /// (CHATHISTORY `INVALID_MSGREFID`).
    #[error("unknown msgid {0:?}")]
    UnknownMsgid(String),
    /// An argument the store refuses, e.g. a schema name with odd characters.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The history writer's queue is full (only from `try_submit`).
    #[error("history writer queue is full")]
    QueueFull,
    /// The history writer's task has stopped.
    #[error("history writer is closed")]
    WriterClosed,
    /// The batch holding this message failed to commit; the cause was logged
    /// once by the writer and is repeated here as text.
    #[error("history batch failed: {0}")]
    BatchFailed(String),
    /// The database is behind or unreachable; try again later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be written: a read-only file, directory or file
    /// system, or a file owned by another user. Found when the store opens
    /// (every open writes once), so the server refuses to start instead of
    /// failing every write afterwards.
    #[error(
        "the database file {path} is read-only or cannot be written ({cause}); check the owner and permissions \
         of the file and of its directory, e.g. `ls -ld {dir} {path}`: the user running hearth must be able to \
         write both, on a file system mounted read-write"
    )]
    NotWritable { path: std::path::PathBuf, dir: std::path::PathBuf, cause: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// An answer about the data (it exists already, it is missing, it is refused)
    /// rather than a failure to reach or write the database: retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            StoreError::AlreadyExists { .. }
                | StoreError::NotFound { .. }
                | StoreError::UnknownMsgid(_)
                | StoreError::InvalidInput(_)
        )
    }
}

/// Shorthand for results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether this error says the database (or its directory) cannot be
    /// written: SQLite's `READONLY`, `CANTOPEN` and `PERM` result codes, or
    /// an I/O error for permissions or a read-only file system.
    pub(crate) fn is_not_writable(&self) -> bool {
        match self {
            StoreError::Database(e) => sqlx_not_writable(e),
            StoreError::Migrate(
                sqlx::migrate::MigrateError::Execute(e) | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) => sqlx_not_writable(e),
            StoreError::Io(e) => io_not_writable(e),
            _ => false,
        }
    }
}

fn sqlx_not_writable(err: &sqlx::Error) -> bool {
    const SQLITE_PERM: i64 = 3;
    const SQLITE_READONLY: i64 = 8;
    const SQLITE_CANTOPEN: i64 = 14;
    match err {
        // SQLite reports extended result codes; the primary code is the low byte.
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            let code = db.code().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
            matches!(code & 0xff, SQLITE_PERM | SQLITE_READONLY | SQLITE_CANTOPEN)
        }
        sqlx::Error::Io(e) => io_not_writable(e),
        _ => false,
    }
}

fn io_not_writable(err: &std::io::Error) -> bool {
    matches!(err.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem)
}

/// Turns a unique-key violation into `AlreadyExists` and a foreign-key
/// violation into `NotFound`; anything else stays a database error.
pub(crate) fn classify(err: sqlx::Error, kind: &'static str, name: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                return StoreError::AlreadyExists { kind, name: name.to_owned() };
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => {
                return StoreError::NotFound { kind, name: name.to_owned() };
            }
            _ => {}
        }
    }
    StoreError::Database(err)
}
