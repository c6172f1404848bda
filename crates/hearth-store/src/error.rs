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
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
