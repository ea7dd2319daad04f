//! The file's path and the mapping from SQLite's errors to [`LedgerError`], in one place.

use std::path::PathBuf;

use rusqlite::types::FromSql;
use rusqlite::{Connection, ErrorCode, Params, Row};

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

impl Db {
    /// Runs `sql` with `params` on `conn` and turns each row into a `T` with `read`, in the
    /// order SQLite returns them: one place for the loop over rows of every read.
    pub(crate) fn query<T, P: Params>(
        &self,
        conn: &Connection,
        table: &'static str,
        sql: &str,
        params: P,
        mut read: impl FnMut(&Stored<'_, '_>) -> Result<T, LedgerError>,
    ) -> Result<Vec<T>, LedgerError> {
        let action = "read the ledger";
        let mut stmt = conn.prepare(sql).map_err(self.err(action))?;
        let mut rows = stmt.query(params).map_err(self.err(action))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(self.err(action))? {
            found.push(read(&Stored {
                row,
                db: self,
                table,
            })?);
        }
        Ok(found)
    }
}

/// One stored row being read back: its columns by name, and a value that cannot be what it
/// should be reported as [`LedgerError::RowInvalid`] naming the table and column.
pub(crate) struct Stored<'a, 'r> {
    row: &'a Row<'r>,
    db: &'a Db,
    table: &'static str,
}

impl Stored<'_, '_> {
    /// The column's value as stored (the tables are STRICT, so SQLite has checked its type).
    pub(crate) fn get<T: FromSql>(&self, column: &str) -> Result<T, LedgerError> {
        self.row.get(column).map_err(self.db.err("read the ledger"))
    }

    /// The text column `column`, parsed by `parse`; a value it refuses is a row invalid.
    pub(crate) fn parse<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, LedgerError> {
        let text: String = self.get(column)?;
        parse(&text).ok_or_else(|| self.invalid(column, &text))
    }

    /// As [`Stored::parse`], for a column that may be `NULL`.
    pub(crate) fn parse_optional<T>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, LedgerError> {
        let text: Option<String> = self.get(column)?;
        text.map(|text| parse(&text).ok_or_else(|| self.invalid(column, &text)))
            .transpose()
    }

    /// The column `column` holds `value`, which it should not.
    pub(crate) fn invalid(&self, column: &str, value: &dyn std::fmt::Debug) -> LedgerError {
        self.db
            .row_invalid(self.table, format!("column {column} holds {value:?}"))
    }
}
