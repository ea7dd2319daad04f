//! Schema versions: a fresh file gets the newest, a version 1 file is migrated in place and
//! keeps what it held.

use std::path::Path;

use bundle_format::channel::ChannelState;
use ledger::audit::{ZERO_HASH, entry_hash};
use ledger::{APPLICATION_ID, Ledger, PromotionKey, PromotionState, SCHEMA_VERSION, Verdict};
use rusqlite::Connection;

use super::{TestResult, deployment, deployment_key, release, state_of, temp_path};

/// The schema of version 1 as released, written out again: the file a version 1 build left.
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

/// Writes a version 1 ledger by hand at `path`: bundle 1 of `release(1)` accepted, its channel,
/// a promotion and the audit entry of the acceptance. Returns the accepted bundle's state.
fn version_1_file(path: &Path) -> Result<ChannelState, Box<dyn std::error::Error>> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let first = release(1)?;
    let digest = first.digest.to_hex();
    let conn = Connection::open(path)?;
    conn.execute_batch(SCHEMA_V1)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    conn.pragma_update(None, "user_version", 1)?;
    let at = "2026-11-03T12:00:00Z";
    conn.execute(
        "INSERT INTO bundles (digest, kind, channel, sequence, verdict, reason, at, project, version)
         VALUES (?1, 'release', 'dev->pci/release', 1, 'accepted', NULL, ?2, 'Payments API', '1.0.1')",
        [&digest, at],
    )?;
    conn.execute(
        "INSERT INTO channels (channel, sequence, digest) VALUES ('dev->pci/release', 1, ?1)",
        [&digest],
    )?;
    conn.execute(
        "INSERT INTO promotions VALUES ('Payments API', '1.0.1', 'pci', 'imported', ?1, ?2)",
        [&digest, at],
    )?;
    // The entries a version 1 build wrote with these rows (it had no bundle ids).
    let detail = format!(
        "{{\"channel\":\"dev->pci/release\",\"digest\":\"{digest}\",\"project\":\"Payments API\",\"sequence\":1,\"version\":\"1.0.1\"}}"
    );
    let hash = entry_hash(1, at, "bundle-accepted", &detail, ZERO_HASH);
    conn.execute(
        "INSERT INTO audit VALUES (1, ?1, 'bundle-accepted', ?2, ?3, ?4)",
        [at, &detail, ZERO_HASH, &hash],
    )?;
    let promotion = format!(
        "{{\"bundle\":\"{digest}\",\"previous_state\":null,\"project\":\"Payments API\",\"state\":\"imported\",\"target_zone\":\"pci\",\"version\":\"1.0.1\"}}"
    );
    let second = entry_hash(2, at, "promotion-state", &promotion, &hash);
    conn.execute(
        "INSERT INTO audit VALUES (2, ?1, 'promotion-state', ?2, ?3, ?4)",
        [at, &promotion, &hash, &second],
    )?;
    Ok(state_of(&first))
}

fn user_version(path: &Path) -> rusqlite::Result<i64> {
    Connection::open(path)?.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// The schema as SQLite keeps it (the statements that made each table, index and trigger).
fn schema_text(path: &Path) -> rusqlite::Result<Vec<(String, String)>> {
    Connection::open(path)?
        .prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect()
}

#[test]
fn a_version_1_file_is_migrated_and_keeps_its_rows() -> TestResult {
    let (_dir, path) = temp_path()?;
    let first = version_1_file(&path)?;
    assert_eq!(user_version(&path)?, 1);

    let mut ledger = Ledger::open(&path)?;
    assert_eq!(user_version(&path)?, SCHEMA_VERSION);
    let old = release(1)?;
    assert_eq!(ledger.channel_state(&old.channel)?, Some(first));
    assert!(ledger.was_accepted(&first.digest)?);
    let stored = ledger.bundle(&first.digest, Verdict::Accepted)?;
    assert_eq!(
        stored.as_ref().map(|b| (b.bundle_id, b.project.as_deref())),
        Some((None, Some("Payments API"))),
        "a version 1 row has no bundle id"
    );
    let key = PromotionKey {
        project: "Payments API".to_owned(),
        version: "1.0.1".to_owned(),
        target: old.channel.target.clone(),
    };
    assert_eq!(
        ledger.promotion(&key)?.map(|p| p.state),
        Some(PromotionState::Imported)
    );
    assert_eq!(ledger.verify()?.entries, 2, "the audit trail is kept");

    // The new API works on the migrated file.
    let second = release(2)?;
    ledger.record_accepted(&second, Some(&first))?;
    assert_eq!(
        ledger
            .bundle(&second.digest, Verdict::Accepted)?
            .map(|b| b.bundle_id),
        Some(second.bundle_id)
    );
    let record = deployment(deployment_key("PCI Staging", None)?, first.digest);
    ledger.set_deployment(&record)?;
    assert_eq!(ledger.deployments(None)?.len(), 1);
    assert_eq!(ledger.verify()?.entries, 4);

    // A migrated file and a fresh one hold the same schema: one road to the newest version.
    let (_fresh_dir, fresh) = temp_path()?;
    Ledger::open(&fresh)?;
    assert_eq!(schema_text(&path)?, schema_text(&fresh)?);
    Ok(())
}

#[test]
fn a_reader_migrates_a_version_1_file_too() -> TestResult {
    let (_dir, path) = temp_path()?;
    let first = version_1_file(&path)?;
    let ledger = Ledger::open_existing(&path)?;
    assert_eq!(user_version(&path)?, SCHEMA_VERSION);
    assert_eq!(ledger.deployments(None)?, []);
    assert_eq!(
        ledger.bundles(None, None, None)?.first().map(|b| b.digest),
        Some(first.digest)
    );
    // Opening it again finds nothing left to do.
    drop(ledger);
    assert_eq!(Ledger::open_existing(&path)?.verify()?.entries, 2);
    Ok(())
}

#[test]
fn a_fresh_file_has_the_newest_tables() -> TestResult {
    let (_dir, path) = temp_path()?;
    Ledger::open(&path)?;
    assert_eq!(user_version(&path)?, 3);
    let conn = Connection::open(&path)?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('bundles')")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    assert!(columns.iter().any(|c| c == "bundle_id"), "{columns:?}");
    // The checks hold for rows written by hand as well.
    for sql in [
        "INSERT INTO bundles (digest, bundle_id, kind, channel, sequence, verdict, at)
         VALUES (printf('%064d', 1), 'abc', 'release', 'dev->pci/release', 1, 'accepted', 'now')",
        "INSERT INTO deployments VALUES ('p', '1', 'pci', 'Staging', '', 'done',
         printf('%064d', 1), NULL, NULL, NULL, NULL, NULL, NULL, 'now', 'now')",
    ] {
        let err = conn.execute_batch(sql).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("CHECK constraint failed")),
            "{err:?}"
        );
    }
    Ok(())
}
