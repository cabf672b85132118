//! The one error type of the store: a machine-readable kind, a message for people, and the path
//! of the database it happened in.
//!
//! Owns: the mapping of SQLite failures to kinds. Never: make callers match on message text.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, for callers to branch on (the CLI maps kinds to exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The data directory could not be created or the database file could not be opened.
    Io,
    /// Another process held the database locked for longer than the busy timeout.
    Busy,
    /// The database was written by a newer Slipway whose schema this build does not know.
    SchemaTooNew,
    /// The run, instance, module, version or cloud does not exist.
    NotFound,
    /// A run id, cloud name or similar key is already taken.
    AlreadyExists,
    /// The request contradicts the stored state (a final run changing state, two versions of
    /// one image needed by one recipe, …).
    Conflict,
    /// The input is malformed: a bad name, an unknown driver kind, settings that are not an object.
    Invalid,
    /// A stored value cannot be read back (unknown state name, unreadable module body).
    Corrupt,
    /// Any other SQLite failure.
    Database,
}

impl ErrorKind {
    /// A stable code for logs, JSON output and the UI.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Io => "store.io",
            ErrorKind::Busy => "store.busy",
            ErrorKind::SchemaTooNew => "store.schema_too_new",
            ErrorKind::NotFound => "store.not_found",
            ErrorKind::AlreadyExists => "store.already_exists",
            ErrorKind::Conflict => "store.conflict",
            ErrorKind::Invalid => "store.invalid",
            ErrorKind::Corrupt => "store.corrupt",
            ErrorKind::Database => "store.database",
        }
    }
}

/// An error of the store, naming the database file it concerns.
#[derive(Debug)]
pub struct StoreError {
    kind: ErrorKind,
    message: String,
    path: PathBuf,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message without the database path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The database file (or data directory) the error concerns.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (database {})", self.message, self.path.display())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An error before it learns which database it happened in; every public method turns it into a
/// [`StoreError`] with [`Problem::at`].
#[derive(Debug)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub message: String,
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Problem {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            message: message.into(),
            source: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Problem::new(ErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Problem::new(ErrorKind::Invalid, message)
    }

    pub fn corrupt(message: impl Into<String>) -> Self {
        Problem::new(ErrorKind::Corrupt, message)
    }

    pub fn at(self, path: &Path) -> StoreError {
        StoreError {
            kind: self.kind,
            message: self.message,
            path: path.to_path_buf(),
            source: self.source,
        }
    }
}

impl From<rusqlite::Error> for Problem {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let kind = match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ErrorKind::Busy,
            Some(ErrorCode::ConstraintViolation) => match &e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    ErrorKind::AlreadyExists
                }
                rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    ErrorKind::NotFound
                }
                _ => ErrorKind::Invalid,
            },
            Some(
                ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull,
            ) => ErrorKind::Io,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => ErrorKind::Corrupt,
            _ => match e {
                rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..)
                | rusqlite::Error::InvalidColumnType(..) => ErrorKind::Corrupt,
                _ => ErrorKind::Database,
            },
        };
        let message = match kind {
            ErrorKind::Busy => format!("the database stayed locked by another process: {e}"),
            _ => format!("database error: {e}"),
        };
        Problem {
            kind,
            message,
            source: Some(Box::new(e)),
        }
    }
}

pub(crate) type Res<T> = Result<T, Problem>;
