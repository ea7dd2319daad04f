//! The tables, and the check that a file holds a ledger of a schema this build understands.
//!
//! The file says what it is in two SQLite header fields: `application_id` is
//! [`APPLICATION_ID`] ("ZBLG"), and `user_version` is the schema version. A fresh file (both 0,
//! no tables) gets the schema in one transaction; a file with another application id, or with
//! tables but no id, is another program's and is never written; a newer version is refused.
//!
//! An older version is migrated in the same transaction that read its header. A fresh file
//! takes the same road: version 1, then every migration, so that the tables a new file gets
//! and the tables an upgraded file gets come from the same statements.

use rusqlite::{Connection, TransactionBehavior};

use crate::LedgerError;
use crate::db::Db;

/// The schema version this build writes and reads (SQLite `user_version`).
pub const SCHEMA_VERSION: i64 = 3;

/// The SQLite `application_id` of a ledger: the ASCII bytes "ZBLG".
pub const APPLICATION_ID: i64 = 0x5A42_4C47;

/// Version 1 of the schema. Checks repeat the rules the code follows, so that a row written
/// by hand that breaks them is refused by SQLite itself; triggers refuse to change or delete
/// audit entries (a guard against mistakes: someone with the file can drop them, which is why
/// the entries are hash-chained as well).
const SCHEMA_V1: &str = "
CREATE TABLE bundles (
    id        INTEGER PRIMARY KEY,
    digest    TEXT    NOT NULL CHECK (length(digest) = 64),
    kind      TEXT    NOT NULL CHECK (kind IN ('release', 'result')),
    channel   TEXT    NOT NULL,
    sequence  INTEGER NOT NULL CHECK (sequence >= 0),
    verdict   TEXT    NOT NULL CHECK (verdict IN ('accepted', 'refused', 'exported')),
    reason    TEXT,
    at        TEXT    NOT NULL,
    project   TEXT,
    version   TEXT,
    CHECK ((verdict = 'refused') = (reason IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX bundles_accepted_digest ON bundles (digest) WHERE verdict = 'accepted';
CREATE INDEX bundles_digest ON bundles (digest);

CREATE TABLE channels (
    channel   TEXT    PRIMARY KEY,
    sequence  INTEGER NOT NULL CHECK (sequence >= 1),
    digest    TEXT    NOT NULL CHECK (length(digest) = 64)
) STRICT;

CREATE TABLE promotions (
    project     TEXT NOT NULL,
    version     TEXT NOT NULL,
    target_zone TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('exported', 'imported', 'deploying',
                                               'succeeded', 'failed', 'result_returned')),
    bundle      TEXT NOT NULL CHECK (length(bundle) = 64),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (project, version, target_zone)
) STRICT;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    event     TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
";

/// The migrations, in order: `MIGRATIONS[n]` takes a file from version `n + 1` to `n + 2`.
/// Released entries are never edited (files out there went through them); a change is a new
/// entry, and [`SCHEMA_VERSION`] is one more than their count.
const MIGRATIONS: [&str; 2] = [MIGRATION_V2, MIGRATION_V3];

// A new migration without a new version (or the reverse) does not build.
const _: () = assert!(MIGRATIONS.len() as i64 + 1 == SCHEMA_VERSION);

/// Version 2: deployments. Each bundle row may name its bundle id (16 bytes as 32 hex; `NULL`
/// in rows written by version 1), and `deployments` holds the latest state of each release's
/// deployment to one environment (and tenant) of a zone, whose history is the audit trail.
/// An untenanted deployment has tenant `''`, because a primary key column cannot be `NULL`
/// in a way that keeps two untenanted rows for the same environment apart.
const MIGRATION_V2: &str = "
ALTER TABLE bundles ADD COLUMN bundle_id TEXT CHECK (length(bundle_id) = 32);

CREATE TABLE deployments (
    project        TEXT NOT NULL,
    version        TEXT NOT NULL,
    target_zone    TEXT NOT NULL,
    environment    TEXT NOT NULL,
    tenant         TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('requested', 'deploying', 'success', 'failed',
                                                  'canceled', 'timed-out', 'waiting')),
    release_bundle TEXT NOT NULL CHECK (length(release_bundle) = 64),
    deployment_id  TEXT,
    task_id        TEXT,
    started        TEXT,
    completed      TEXT,
    waiting        TEXT,
    result_bundle  TEXT CHECK (length(result_bundle) = 64),
    requested_at   TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (project, version, target_zone, environment, tenant)
) STRICT;
";

/// Version 3: bundles given up on, and ledger heads received from the other side. Both are
/// state that `ledger verify` checks against the audit trail like every other table: each row
/// is written in the transaction of the audit entry that carries it (`channel-skip`,
/// `ledger-head-received`).
const MIGRATION_V3: &str = "
CREATE TABLE channel_skips (
    channel   TEXT    NOT NULL,
    sequence  INTEGER NOT NULL CHECK (sequence >= 1),
    reason    TEXT    NOT NULL CHECK (length(reason) >= 1),
    operator  TEXT    NOT NULL,
    at        TEXT    NOT NULL,
    PRIMARY KEY (channel, sequence)
) STRICT;

CREATE TABLE peer_heads (
    id        INTEGER PRIMARY KEY,
    zone      TEXT    NOT NULL,
    entries   INTEGER NOT NULL CHECK (entries >= 0),
    head      TEXT    NOT NULL CHECK (length(head) = 64),
    bundle    TEXT    NOT NULL CHECK (length(bundle) = 64),
    at        TEXT    NOT NULL
) STRICT;
";

/// Whether [`check`] may give a fresh file the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fresh {
    /// Create the tables in an empty file.
    Initialise,
    /// Refuse an empty file: a ledger was expected to be there already.
    Refuse,
}

/// What [`check_in`] found in a file it could not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A ledger of this build's schema version (now, if it migrated or created it).
    Current,
    /// A ledger of an older version, left as it was: the transaction could not write.
    Older,
}

/// Checks that the file is a ledger of a known schema version, creating the schema in a
/// fresh file when `fresh` allows and migrating an older one.
///
/// Runs in one `BEGIN IMMEDIATE` transaction when it may create the file, so that two
/// processes opening a new file at once create the tables once. An opener that may not create
/// it (`ledger verify`) reads in a deferred transaction, so that it does not wait for writers;
/// if it finds an older version it starts again under the write lock, reading the header
/// again because another process may have migrated the file in between.
pub(crate) fn check(conn: &mut Connection, db: &Db, fresh: Fresh) -> Result<(), LedgerError> {
    if check_in(conn, db, fresh, fresh == Fresh::Initialise)? == Found::Older {
        check_in(conn, db, fresh, true)?;
    }
    Ok(())
}

/// One attempt of [`check`]: under the write lock (`BEGIN IMMEDIATE`) when `may_write`,
/// else in a deferred transaction that only reads.
fn check_in(
    conn: &mut Connection,
    db: &Db,
    fresh: Fresh,
    may_write: bool,
) -> Result<Found, LedgerError> {
    let behavior = if may_write {
        TransactionBehavior::Immediate
    } else {
        TransactionBehavior::Deferred
    };
    let tx = conn
        .transaction_with_behavior(behavior)
        .map_err(db.err("open a transaction"))?;
    let read = |pragma: &str| {
        tx.pragma_query_value(None, pragma, |row| row.get::<_, i64>(0))
            .map_err(db.err("read the header"))
    };
    let application_id = read("application_id")?;
    let mut version = read("user_version")?;
    let tables: i64 = tx
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(db.err("list the tables"))?;

    if application_id == 0 && version == 0 && tables == 0 {
        if fresh == Fresh::Refuse {
            return Err(db.not_a_ledger("an empty database"));
        }
        tx.execute_batch(SCHEMA_V1)
            .map_err(db.err("create the tables"))?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(db.err("write the header"))?;
        version = 1;
    } else if application_id != APPLICATION_ID {
        return Err(db.not_a_ledger(&format!(
            "its application id is {application_id:#010x}, a ledger's is {APPLICATION_ID:#010x}"
        )));
    }
    if version > SCHEMA_VERSION {
        return Err(LedgerError::SchemaTooNew {
            path: db.path.clone(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(db.not_a_ledger(&format!("its schema version is {version}")));
    }
    if version < SCHEMA_VERSION {
        if !may_write {
            return Ok(Found::Older);
        }
        // `version` is 1 or more here, so the first migration to run is `version - 1`.
        let done = usize::try_from(version.saturating_sub(1)).unwrap_or(usize::MAX);
        for migration in MIGRATIONS.iter().skip(done) {
            tx.execute_batch(migration)
                .map_err(db.err("migrate the schema"))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(db.err("write the header"))?;
    }
    tx.commit().map_err(db.err("update the schema"))?;
    Ok(Found::Current)
}
