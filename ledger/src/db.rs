//! The file's path and the mapping from SQLite's errors to [`LedgerError`], in one place.

use std::path::PathBuf;

use rusqlite::ErrorCode;

use crate::{BUSY_TIMEOUT, LedgerError};

/// What every error about the file needs to name: the file.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    /// The ledger file.
    pub(crate) path: PathBuf,
}

impl Db {
    /// Maps a SQLite error met while doing `action`: a file that is not a database and a lock
    /// held past the busy timeout get their own variants; the rest is `Database`.
    pub(crate) fn err(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> LedgerError {
        let path = self.path.clone();
        move |source| match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => LedgerError::NotADatabase { path: path.clone() },
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => LedgerError::Busy {
                path: path.clone(),
                action,
                waited_secs: BUSY_TIMEOUT.as_secs(),
            },
            _ => LedgerError::Database {
                path: path.clone(),
                action,
                source,
            },
        }
    }

    /// The file is a database but not a ledger; `found` says what it is instead.
    pub(crate) fn not_a_ledger(&self, found: &str) -> LedgerError {
        LedgerError::NotALedger {
            path: self.path.clone(),
            found: found.to_owned(),
        }
    }

    /// A stored value in `table` that cannot be what it should be.
    pub(crate) fn row_invalid(&self, table: &'static str, detail: String) -> LedgerError {
        LedgerError::RowInvalid {
            path: self.path.clone(),
            table,
            detail,
        }
    }
}
