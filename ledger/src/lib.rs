//! Zonebridge's durable memory on each side: every bundle accepted or refused and why (and, on
//! the sending side, every bundle made), the last bundle of each channel, each promotion's
//! state, the latest state of each deployment, and an append-only audit trail in which every
//! entry carries the hash of the one before it.
//!
//! One SQLite file per side, opened with [`Ledger::open`]: write-ahead logging,
//! `synchronous=FULL` (a committed row survives a crash or a power loss), foreign keys on, and a
//! busy timeout so that two processes take turns instead of failing. Every write is one
//! `BEGIN IMMEDIATE` transaction: accepting a bundle inserts its row, advances its channel and
//! appends its audit entry, or does none of these. A file of an older schema version is
//! migrated when it is opened, in the transaction that reads its header.
//!
//! # Schema (version 3)
//!
//! ```text
//!  header: application_id = 0x5A424C47 ("ZBLG"), user_version = 3 (schema version)
//!
//!  bundles: every bundle seen or made         channels: last bundle of each channel
//!  +-----------+---------------------------+  +-----------+-----------------------------+
//!  | id        | INTEGER PRIMARY KEY       |  | channel   | TEXT PRIMARY KEY            |
//!  | digest    | TEXT, 64 hex              |  |           |   "dev->pci/release"        |
//!  | kind      | 'release' | 'result'      |  | sequence  | INTEGER >= 1                |
//!  | channel   | TEXT "dev->pci/release"   |  | digest    | TEXT, 64 hex                |
//!  | sequence  | INTEGER                   |  +-----------+-----------------------------+
//!  | verdict   | 'accepted' | 'refused'    |
//!  |           | | 'exported' (sender)     |  promotions: where each release stands
//!  | reason    | TEXT, set iff refused     |  +-------------+---------------------------+
//!  | at        | TEXT, RFC 3339 UTC        |  | project     | TEXT  \                   |
//!  | project   | TEXT NULL                 |  | version     | TEXT   > PRIMARY KEY      |
//!  | version   | TEXT NULL                 |  | target_zone | TEXT  /                   |
//!  | bundle_id | TEXT NULL, 32 hex (v2)    |  | state       | exported | imported |     |
//!  +-----------+---------------------------+  |             | deploying | succeeded |   |
//!    digest unique among accepted rows        |             | failed | result_returned  |
//!                                             | bundle      | TEXT, 64 hex              |
//!  audit: append-only, hash-chained           | updated_at  | TEXT, RFC 3339 UTC        |
//!  +-----------+---------------------------+  +-------------+---------------------------+
//!  | id        | INTEGER PRIMARY KEY 1,2,..|
//!  | at        | TEXT, RFC 3339 UTC        |  deployments (v2): latest state of each one
//!  | event     | TEXT "bundle-accepted"    |  +----------------+---------------------------+
//!  | detail    | TEXT, JSON, <= 64 KiB     |  | project        | TEXT  \                   |
//!  | prev_hash | TEXT = hash of entry id-1 |  | version        | TEXT   |                  |
//!  | hash      | TEXT = SHA-256, see audit |  | target_zone    | TEXT   > PRIMARY KEY      |
//!  +-----------+---------------------------+  | environment    | TEXT   |                  |
//!    prev_hash of entry 1: 64 zeros           | tenant         | TEXT  /   '' = none       |
//!                                             | state          | 'requested' | 'deploying' |
//!                                             |                | | 'waiting' | 'success'   |
//!                                             |                | | 'failed' | 'canceled'   |
//!                                             |                | | 'timed-out'             |
//!                                             | release_bundle | TEXT, 64 hex              |
//!                                             | deployment_id  | TEXT NULL, Deployments-N  |
//!                                             | task_id        | TEXT NULL, ServerTasks-N  |
//!                                             | started        | TEXT NULL, RFC 3339 UTC   |
//!                                             | completed      | TEXT NULL, RFC 3339 UTC   |
//!                                             | waiting        | TEXT NULL, a sentence     |
//!                                             | result_bundle  | TEXT NULL, 64 hex         |
//!                                             | requested_at   | TEXT, RFC 3339 UTC        |
//!                                             | updated_at     | TEXT, RFC 3339 UTC        |
//!                                             +----------------+---------------------------+
//! ```
//!
//! The hash of an audit entry covers a canonical, length-prefixed encoding of its id, time,
//! event, detail and previous hash; [`Ledger::verify`] recomputes every hash and link and names
//! the first entry that does not verify. The encoding is drawn in [`audit`].
//!
//! Version 3 adds `channel_skips` (channel, sequence, reason, operator, at: bundles given up
//! on with `channel skip`) and `peer_heads` (zone, entries, head, bundle, at: the other side's
//! ledger heads, carried home by result bundles).
//!
//! # What the chain does and does not show
//!
//! Changing, deleting or reordering any entry but the last breaks the chain at a named entry.
//! Every change to a table that enforces replay protection (bundles, channels, promotions,
//! deployments, skips, received heads) is written in the transaction of an audit entry that
//! carries the new state, and [`Ledger::verify`] replays the chain and compares each table with
//! it (see `replay`), so a hand-edited row, or a cut entry that carried a row's state, is named.
//! Removing entries from the end together with their rows, or rewriting the whole trail and
//! re-chaining it, still verifies on its own: a head kept elsewhere catches that
//! ([`Ledger::check_anchor`]; the secure side's head travels home in each result bundle).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
mod bundles;
mod db;
mod deployments;
mod error;
mod heads;
mod promotions;
mod refusals;
mod replay;
mod schema;
mod skips;
mod stored;

use std::path::Path;
use std::time::{Duration, Instant};

use bundle_format::names::Digest;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use crate::audit::{AuditEntry, VerifyReport};
pub use crate::bundles::{BundleRecord, EVENT_ACCEPTED, EVENT_EXPORTED, EVENT_REFUSED};
pub use crate::deployments::{DeploymentKey, DeploymentRecord, DeploymentState, EVENT_DEPLOYMENT};
pub use crate::error::LedgerError;
pub use crate::heads::{EVENT_HEAD, PeerHead, head_went_backwards};
pub use crate::promotions::{EVENT_PROMOTION, Promotion, PromotionKey, PromotionState};
pub use crate::refusals::{
    EVENT_REFUSED_UNVERIFIED, MAX_INPUT_BYTES, UnverifiedBundle, bound_text,
};
pub use crate::schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use crate::skips::{EVENT_SKIP, Skip};
pub use crate::stored::{StoredBundle, Verdict};

use crate::db::Db;
use crate::schema::Fresh;

/// The audit events that carry a table's state: written only together with their rows, and
/// replayed by [`Ledger::verify`] to check the tables.
pub const STATE_EVENTS: [&str; 7] = [
    EVENT_ACCEPTED,
    EVENT_EXPORTED,
    EVENT_REFUSED,
    EVENT_PROMOTION,
    EVENT_DEPLOYMENT,
    EVENT_SKIP,
    EVENT_HEAD,
];

/// How long a write waits for another process's transaction before giving up with
/// [`LedgerError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest audit detail (JSON text) recorded; larger ones are refused.
pub const MAX_DETAIL_BYTES: usize = 64 * 1024;

/// The longest refusal reason stored; longer ones are cut at a character boundary and end in
/// [`TRUNCATED_MARK`].
pub const MAX_REASON_BYTES: usize = 4 * 1024;

/// What ends a reason that was cut to [`MAX_REASON_BYTES`].
pub const TRUNCATED_MARK: &str = " [truncated]";

/// The longest project name, release version or zone id recorded; longer ones are refused.
pub const MAX_NAME_BYTES: usize = 1024;

/// One side's ledger: an open SQLite file.
///
/// Reads take `&self`; writes take `&mut self` and are each one transaction. To share a ledger
/// between threads, open it once per thread: SQLite and [`BUSY_TIMEOUT`] take care of turns.
#[derive(Debug)]
pub struct Ledger {
    conn: Connection,
    db: Db,
}

impl Ledger {
    /// Opens the ledger at `path`, creating the file (and its folder) with the current schema
    /// if it does not exist yet.
    ///
    /// Refuses a file that is not a SQLite database ([`LedgerError::NotADatabase`]), another
    /// program's database ([`LedgerError::NotALedger`]) and a ledger written by a newer schema
    /// ([`LedgerError::SchemaTooNew`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let path = path.as_ref();
        refuse_non_regular(path)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| LedgerError::CreateFolder {
                path: parent.to_owned(),
                source,
            })?;
        }
        Self::open_with(path, OpenFlags::default(), Fresh::Initialise)
    }

    /// Opens the ledger at `path`, which must exist already and be a ledger
    /// ([`LedgerError::NotFound`] otherwise); for commands that only read, such as
    /// `ledger verify`, so that a mistyped path is not silently created.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, LedgerError> {
        let path = path.as_ref();
        refuse_non_regular(path)?;
        if !path.is_file() {
            return Err(LedgerError::NotFound {
                path: path.to_owned(),
            });
        }
        let flags = OpenFlags::default().difference(OpenFlags::SQLITE_OPEN_CREATE);
        Self::open_with(path, flags, Fresh::Refuse)
    }

    fn open_with(path: &Path, flags: OpenFlags, fresh: Fresh) -> Result<Self, LedgerError> {
        let db = Db {
            path: path.to_owned(),
        };
        let mut conn = Connection::open_with_flags(path, flags).map_err(db.err("open"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(db.err("set the busy timeout"))?;
        // The first statement that reads the file: a file that is not a database fails here.
        // Switching a new file to WAL needs it alone for a moment, and SQLite answers "busy"
        // at once instead of calling the busy handler, so the wait is done here.
        let mode: String = retry_while_busy(|| {
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        })
        .map_err(db.err("switch to write-ahead logging"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LedgerError::WalUnavailable {
                path: path.to_owned(),
                mode,
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db.err("set synchronous=FULL"))?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(db.err("turn foreign keys on"))?;
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
            .map_err(db.err("turn defensive mode on"))?;
        schema::check(&mut conn, &db, fresh)?;
        Ok(Self { conn, db })
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// Starts a write: `BEGIN IMMEDIATE` takes the write lock now (waiting up to
    /// [`BUSY_TIMEOUT`]), so that what the transaction reads cannot change before it commits.
    fn write(&mut self, action: &'static str) -> Result<Transaction<'_>, LedgerError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db.err(action))
    }
}

/// Runs `attempt` again while SQLite reports the file busy or locked, for up to
/// [`BUSY_TIMEOUT`], for the few statements that do not wait through the busy handler.
fn retry_while_busy<T>(mut attempt: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let start = Instant::now();
    loop {
        match attempt() {
            Err(err)
                if matches!(
                    err.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Now, as stored: RFC 3339 in UTC, whole seconds (`2026-11-03T12:00:00Z`).
fn now_text() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// Parses a stored time.
fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Parses a stored digest (64 hex).
fn parse_digest(text: &str) -> Option<Digest> {
    Digest::from_hex(text).ok()
}

/// Checks a name (project, version, zone) against [`MAX_NAME_BYTES`].
fn check_name(what: &'static str, value: &str) -> Result<(), LedgerError> {
    if value.len() > MAX_NAME_BYTES {
        return Err(LedgerError::LimitExceeded {
            what,
            size: value.len() as u64,
            limit: MAX_NAME_BYTES as u64,
        });
    }
    Ok(())
}

/// A FIFO, device, socket or folder at the ledger's path is named at once ([`LedgerError::NotAFile`]).
fn refuse_non_regular(path: &Path) -> Result<(), LedgerError> {
    match bundle_format::regular_file::not_regular_at(path) {
        Some(kind) => Err(LedgerError::NotAFile {
            path: path.to_owned(),
            kind,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What only the ledger's own connection can show: its per-connection settings.
    #[test]
    fn the_connection_is_crash_safe_and_checks_foreign_keys()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let ledger = Ledger::open(dir.path().join("side.ledger"))?;
        let pragma = |name: &str| -> rusqlite::Result<i64> {
            ledger.conn.pragma_query_value(None, name, |row| row.get(0))
        };
        // synchronous: 2 is FULL (every commit waits for the disk).
        assert_eq!(pragma("synchronous")?, 2);
        assert_eq!(pragma("foreign_keys")?, 1);
        assert_eq!(pragma("busy_timeout")?, 10_000);
        let mode: String = ledger
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        assert_eq!(mode, "wal");
        Ok(())
    }

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        let short = "signature invalid";
        assert_eq!(bundles::bound_reason(short), short);
        let long = format!("a{}", "€".repeat(MAX_REASON_BYTES));
        let cut = bundles::bound_reason(&long);
        assert!(cut.len() <= MAX_REASON_BYTES);
        assert!(cut.ends_with(TRUNCATED_MARK));
    }
}
