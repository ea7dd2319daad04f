//! The ledger as its users see it: a file that keeps what it was told, refuses what it should,
//! and notices when someone changed it behind its back.
#![forbid(unsafe_code)]

#[path = "ledger/deployments.rs"]
mod deployments;
#[path = "ledger/listings.rs"]
mod listings;
#[path = "ledger/refusals.rs"]
mod refusals;
#[path = "ledger/schema.rs"]
mod schema;
#[path = "ledger/skips.rs"]
mod skips;
#[path = "ledger/tampering.rs"]
mod tampering;

use std::path::{Path, PathBuf};

use bundle_format::channel::{Channel, ChannelState};
use bundle_format::manifest::BundleKind;
use bundle_format::names::{BundleId, Digest, ZoneId};
use ledger::audit::{ZERO_HASH, entry_hash};
use ledger::{
    APPLICATION_ID, BundleRecord, DeploymentKey, DeploymentRecord, DeploymentState, EVENT_ACCEPTED,
    EVENT_EXPORTED, EVENT_PROMOTION, EVENT_REFUSED, Ledger, LedgerError, MAX_DETAIL_BYTES,
    MAX_REASON_BYTES, PromotionKey, PromotionState, SCHEMA_VERSION, TRUNCATED_MARK,
};
use rusqlite::Connection;
use serde_json::json;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A temporary folder and the path of a ledger inside it (in a subfolder that does not exist
/// yet, so that `open` must create it).
fn temp_path() -> Result<(tempfile::TempDir, PathBuf), std::io::Error> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state").join("import.ledger");
    Ok((dir, path))
}

fn channel(
    source: &str,
    target: &str,
    kind: BundleKind,
) -> Result<Channel, Box<dyn std::error::Error>> {
    Ok(Channel {
        source: ZoneId::new(source)?,
        target: ZoneId::new(target)?,
        kind,
    })
}

fn release(sequence: u64) -> Result<BundleRecord, Box<dyn std::error::Error>> {
    Ok(BundleRecord {
        digest: Digest::of(format!("release bundle {sequence}").as_bytes()),
        bundle_id: Some(bundle_id(&format!("release bundle {sequence}"))),
        channel: channel("dev", "pci", BundleKind::Release)?,
        sequence,
        project: Some("Payments API".to_owned()),
        version: Some(format!("1.0.{sequence}")),
    })
}

/// Result bundle `sequence` on `pci->dev/result`, answering release 1.0.1 of Payments API.
fn result(sequence: u64) -> Result<BundleRecord, Box<dyn std::error::Error>> {
    Ok(BundleRecord {
        digest: Digest::of(format!("result bundle {sequence}").as_bytes()),
        bundle_id: Some(bundle_id(&format!("result bundle {sequence}"))),
        channel: channel("pci", "dev", BundleKind::Result)?,
        sequence,
        project: Some("Payments API".to_owned()),
        version: Some("1.0.1".to_owned()),
    })
}

/// The deployment of Payments API 1.0.1 to `environment` of zone pci.
fn deployment_key(
    environment: &str,
    tenant: Option<&str>,
) -> Result<DeploymentKey, Box<dyn std::error::Error>> {
    Ok(DeploymentKey {
        project: "Payments API".to_owned(),
        version: "1.0.1".to_owned(),
        target: ZoneId::new("pci")?,
        environment: environment.to_owned(),
        tenant: tenant.map(str::to_owned),
    })
}

/// A deployment of `key` just requested, answering the release bundle `release`.
fn deployment(key: DeploymentKey, release: Digest) -> DeploymentRecord {
    let now = time::OffsetDateTime::now_utc();
    DeploymentRecord {
        key,
        state: DeploymentState::Requested,
        release_bundle: release,
        deployment_id: None,
        task_id: None,
        started: None,
        completed: None,
        waiting: None,
        result_bundle: None,
        requested_at: now,
        updated_at: now,
    }
}

/// The promotion of Payments API 1.0.1 to zone pci.
fn promotion_key() -> Result<PromotionKey, Box<dyn std::error::Error>> {
    Ok(PromotionKey {
        project: "Payments API".to_owned(),
        version: "1.0.1".to_owned(),
        target: ZoneId::new("pci")?,
    })
}

/// The events of the audit trail, oldest first.
fn events(ledger: &Ledger) -> Result<Vec<String>, LedgerError> {
    Ok(ledger
        .audit_entries()?
        .into_iter()
        .map(|e| e.event)
        .collect())
}

/// A bundle id made from `text` (the first 16 bytes of its SHA-256).
fn bundle_id(text: &str) -> BundleId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&Digest::of(text.as_bytes()).as_bytes()[..16]);
    BundleId::from_bytes(id)
}

fn state_of(record: &BundleRecord) -> ChannelState {
    ChannelState {
        sequence: record.sequence,
        digest: record.digest,
    }
}

/// A ledger with four audit entries: bundles 1 and 2 accepted, bundle 3 refused, a promotion.
fn four_entries(path: &Path) -> Result<Ledger, Box<dyn std::error::Error>> {
    let mut ledger = Ledger::open(path)?;
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    let second = release(2)?;
    ledger.record_accepted(&second, Some(&state_of(&first)))?;
    ledger.record_refused(&release(3)?, "signature invalid")?;
    let key = PromotionKey {
        project: "Payments API".to_owned(),
        version: "1.0.2".to_owned(),
        target: ZoneId::new("pci")?,
    };
    ledger.set_promotion(&key, PromotionState::Imported, second.digest)?;
    Ok(ledger)
}

/// A raw connection to the file, with the append-only triggers dropped, as someone with write
/// access to the file could do.
fn tamper(path: &Path, sql: &str) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_append_only_update;
         DROP TRIGGER IF EXISTS audit_append_only_delete;",
    )?;
    conn.execute_batch(sql)
}

#[test]
fn open_creates_the_file_and_reopening_keeps_the_state() -> TestResult {
    let (_dir, path) = temp_path()?;
    let first = release(1)?;
    {
        let mut ledger = Ledger::open(&path)?;
        assert_eq!(ledger.path(), path);
        assert_eq!(ledger.channel_state(&first.channel)?, None);
        ledger.record_accepted(&first, None)?;
    }
    assert!(path.is_file(), "the file and its folder were created");
    let ledger = Ledger::open(&path)?;
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    assert!(ledger.was_accepted(&first.digest)?);
    assert_eq!(ledger.audit_entries()?.len(), 1);
    let again = Ledger::open_existing(&path)?;
    assert_eq!(again.verify()?.entries, 1);
    Ok(())
}

#[test]
fn the_file_is_in_wal_mode_and_says_it_is_a_ledger() -> TestResult {
    let (_dir, path) = temp_path()?;
    let _ledger = Ledger::open(&path)?;
    let conn = Connection::open(&path)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    assert_eq!(mode, "wal");
    let id: i64 = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    assert_eq!(id, APPLICATION_ID);
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 3, "a fresh file gets the newest schema");
    Ok(())
}

#[test]
fn an_accepted_bundle_advances_its_channel_and_is_audited() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    let entry = ledger.record_accepted(&first, None)?;
    assert_eq!((entry.id, entry.event.as_str()), (1, EVENT_ACCEPTED));
    assert_eq!(entry.prev_hash, ZERO_HASH);
    let detail = entry.detail_json()?;
    assert_eq!(detail["digest"], first.digest.to_hex());
    assert_eq!(detail["channel"], "dev->pci/release");
    assert_eq!(detail["sequence"], 1);
    assert_eq!(detail["project"], "Payments API");

    let second = release(2)?;
    ledger.record_accepted(&second, Some(&state_of(&first)))?;
    assert_eq!(
        ledger.channel_state(&second.channel)?,
        Some(state_of(&second))
    );
    // Another channel is another position.
    let result = channel("pci", "dev", BundleKind::Result)?;
    assert_eq!(ledger.channel_state(&result)?, None);

    let conn = Connection::open(&path)?;
    let rows: Vec<(String, String, i64, String, Option<String>)> = conn
        .prepare("SELECT digest, channel, sequence, verdict, reason FROM bundles ORDER BY id")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    assert_eq!(
        rows,
        vec![
            (
                first.digest.to_hex(),
                "dev->pci/release".to_owned(),
                1,
                "accepted".to_owned(),
                None
            ),
            (
                second.digest.to_hex(),
                "dev->pci/release".to_owned(),
                2,
                "accepted".to_owned(),
                None
            ),
        ]
    );
    Ok(())
}

#[test]
fn a_refused_bundle_leaves_its_channel_alone() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    let forged = release(2)?;
    let entry = ledger.record_refused(&forged, "signature by an untrusted key")?;
    assert_eq!(entry.event, EVENT_REFUSED);
    assert_eq!(
        entry.detail_json()?["reason"],
        "signature by an untrusted key"
    );
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    assert!(!ledger.was_accepted(&forged.digest)?);
    // The same bundle may be refused again (it was carried twice); both are kept.
    ledger.record_refused(&forged, "signature by an untrusted key")?;
    assert_eq!(ledger.audit_entries()?.len(), 3);
    // A refused bundle can still be accepted later (for example once its key is trusted).
    ledger.record_accepted(&forged, Some(&state_of(&first)))?;
    assert!(ledger.was_accepted(&forged.digest)?);
    Ok(())
}

#[test]
fn a_long_reason_is_cut_at_a_character_boundary() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let reason = "é".repeat(MAX_REASON_BYTES);
    let entry = ledger.record_refused(&release(1)?, &reason)?;
    let stored = entry.detail_json()?["reason"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(stored.len() <= MAX_REASON_BYTES, "{}", stored.len());
    assert!(stored.ends_with(TRUNCATED_MARK));
    assert!(stored.starts_with("éé"));
    Ok(())
}

#[test]
fn accepting_a_bundle_twice_is_refused() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    assert!(!ledger.was_accepted(&first.digest)?);
    ledger.record_accepted(&first, None)?;
    assert!(ledger.was_accepted(&first.digest)?);
    // The same digest on another channel position: refused by digest, not by sequence.
    let mut again = first.clone();
    again.sequence = 2;
    let err = ledger.record_accepted(&again, Some(&state_of(&first)));
    assert!(
        matches!(err, Err(LedgerError::AlreadyAccepted { ref digest }) if *digest == first.digest.to_hex()),
        "{err:?}"
    );
    assert_eq!(ledger.audit_entries()?.len(), 1, "nothing was written");
    Ok(())
}

#[test]
fn a_channel_moves_only_forward_and_only_from_the_state_checked() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let mut other = Ledger::open(&path)?;
    let first = release(1)?;
    let second = release(2)?;
    // Both processes checked bundle 1 against an empty channel; only one may accept it.
    ledger.record_accepted(&first, None)?;
    let err = other.record_accepted(&second, None);
    assert!(
        matches!(
            err,
            Err(LedgerError::ChannelMoved {
                expected: None,
                found: Some(1),
                ..
            })
        ),
        "{err:?}"
    );
    let message = err.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.starts_with("channel dev->pci/release moved while the bundle was being checked: it was checked against no bundle, but the ledger now has bundle 1"),
        "{message}"
    );
    let mut old = release(1)?;
    old.digest = Digest::of(b"another bundle 1");
    let err = ledger.record_accepted(&old, Some(&state_of(&first)));
    assert!(
        matches!(
            err,
            Err(LedgerError::SequenceNotNewer {
                last: 1,
                got: 1,
                ..
            })
        ),
        "{err:?}"
    );
    let err = ledger.record_accepted(&release(0)?, None);
    assert!(
        matches!(err, Err(LedgerError::SequenceInvalid { sequence: 0, .. })),
        "{err:?}"
    );
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    assert_eq!(ledger.audit_entries()?.len(), 1);
    Ok(())
}

#[test]
fn an_exported_bundle_takes_its_channel_position_and_marks_the_promotion() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    let entry = ledger.record_exported(&first, None)?;
    assert_eq!(entry.event, EVENT_EXPORTED);
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    assert!(
        !ledger.was_accepted(&first.digest)?,
        "exported is not accepted"
    );
    let key = PromotionKey {
        project: "Payments API".to_owned(),
        version: "1.0.1".to_owned(),
        target: ZoneId::new("pci")?,
    };
    let promotion = ledger.promotion(&key)?;
    assert_eq!(
        promotion.map(|p| (p.state, p.bundle)),
        Some((PromotionState::Exported, first.digest))
    );
    let events: Vec<String> = ledger
        .audit_entries()?
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, [EVENT_EXPORTED, EVENT_PROMOTION]);
    // A second export that read the channel before the first was recorded is refused.
    let err = ledger.record_exported(&release(2)?, None);
    assert!(
        matches!(err, Err(LedgerError::ChannelMoved { .. })),
        "{err:?}"
    );
    ledger.record_exported(&release(2)?, Some(&state_of(&first)))?;
    assert_eq!(ledger.verify()?.entries, 4);
    Ok(())
}

#[test]
fn promotions_keep_their_latest_state_and_every_change_is_audited() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let key = PromotionKey {
        project: "Payments API".to_owned(),
        version: "2026.11.3".to_owned(),
        target: ZoneId::new("pci")?,
    };
    assert_eq!(ledger.promotion(&key)?, None);
    let bundle = Digest::of(b"bundle");
    for state in [
        PromotionState::Imported,
        PromotionState::Deploying,
        PromotionState::Succeeded,
    ] {
        ledger.set_promotion(&key, state, bundle)?;
    }
    let promotion = ledger.promotion(&key)?;
    assert_eq!(
        promotion.as_ref().map(|p| p.state),
        Some(PromotionState::Succeeded)
    );
    assert_eq!(promotion.as_ref().map(|p| p.bundle), Some(bundle));
    let other_zone = PromotionKey {
        target: ZoneId::new("pci-eu")?,
        ..key.clone()
    };
    assert_eq!(ledger.promotion(&other_zone)?, None);
    let entries = ledger.audit_entries()?;
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.event == EVENT_PROMOTION));
    let last = entries
        .last()
        .map(ledger::AuditEntry::detail_json)
        .transpose()?;
    assert_eq!(
        last,
        Some(json!({
            "project": "Payments API",
            "version": "2026.11.3",
            "target_zone": "pci",
            "state": "succeeded",
            "previous_state": "deploying",
            "bundle": bundle.to_hex(),
        }))
    );
    for state in PromotionState::ALL {
        assert_eq!(PromotionState::from_name(state.as_str()), Some(state));
    }
    Ok(())
}

#[test]
fn the_chain_verifies_and_each_hash_is_the_documented_encoding() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = four_entries(&path)?;
    ledger.append_audit("operator.note", &json!({"text": "quarterly check"}))?;
    let entries = ledger.audit_entries()?;
    let report = ledger.verify()?;
    assert_eq!(report.entries, 5);
    assert_eq!(
        report.head.as_deref(),
        entries.last().map(|e| e.hash.as_str())
    );
    let mut prev = ZERO_HASH.to_owned();
    for (n, entry) in (1..).zip(&entries) {
        assert_eq!(entry.id, n);
        assert_eq!(entry.prev_hash, prev);
        assert_eq!(
            entry.hash,
            independent_hash(
                entry.id,
                &entry.at,
                &entry.event,
                &entry.detail,
                &entry.prev_hash
            )
        );
        prev = entry.hash.clone();
    }
    assert_eq!(Ledger::open(&path)?.verify()?, report);
    Ok(())
}

/// The encoding of `ledger::audit`, written out again from its documentation.
fn independent_hash(id: u64, at: &str, event: &str, detail: &str, prev: &str) -> String {
    use sha2::Digest as _;
    let mut bytes = Vec::new();
    let domain = b"zonebridge-ledger-audit-v1";
    bytes.extend_from_slice(&(domain.len() as u64).to_be_bytes());
    bytes.extend_from_slice(domain);
    bytes.extend_from_slice(&id.to_be_bytes());
    for text in [at, event, detail, prev] {
        bytes.extend_from_slice(&(text.len() as u64).to_be_bytes());
        bytes.extend_from_slice(text.as_bytes());
    }
    hex::encode(sha2::Sha256::digest(&bytes))
}

#[test]
fn the_entry_hash_is_pinned() {
    // A test vector: if this changes, every existing ledger stops verifying.
    assert_eq!(
        entry_hash(
            1,
            "2026-11-03T12:00:00Z",
            "bundle-accepted",
            "{}",
            ZERO_HASH
        ),
        independent_hash(
            1,
            "2026-11-03T12:00:00Z",
            "bundle-accepted",
            "{}",
            ZERO_HASH
        )
    );
    assert_eq!(
        entry_hash(
            1,
            "2026-11-03T12:00:00Z",
            "bundle-accepted",
            "{}",
            ZERO_HASH
        ),
        "95ef1fefde21f0d96f2cf0e42f2f5616139fe522defd3150f42a2bb06a4f2425"
    );
}

/// One way of changing the file behind the ledger's back, and what `verify` must say.
struct Tampering {
    name: &'static str,
    sql: String,
    entry: u64,
    reason: &'static str,
}

fn tamperings(entries: &[ledger::AuditEntry]) -> Vec<Tampering> {
    let hash_of = |n: usize| {
        entries
            .get(n - 1)
            .map(|e| e.hash.clone())
            .unwrap_or_default()
    };
    let second = entries.get(1).cloned();
    let rehashed = second
        .map(|e| entry_hash(e.id, &e.at, &e.event, "{\"forged\":true}", &e.prev_hash))
        .unwrap_or_default();
    let first = entries.first().cloned();
    let restarted = first
        .map(|e| entry_hash(e.id, &e.at, &e.event, &e.detail, &"1".repeat(64)))
        .unwrap_or_default();
    vec![
        Tampering {
            name: "a detail changed",
            sql: "UPDATE audit SET detail = '{\"digest\":\"forged\"}' WHERE id = 2".to_owned(),
            entry: 2,
            reason: "its hash does not match its contents",
        },
        Tampering {
            name: "an event renamed",
            sql: "UPDATE audit SET event = 'bundle-accepted' WHERE id = 3".to_owned(),
            entry: 3,
            reason: "its hash does not match its contents",
        },
        Tampering {
            name: "a time changed",
            sql: "UPDATE audit SET at = '2020-01-01T00:00:00Z' WHERE id = 4".to_owned(),
            entry: 4,
            reason: "its hash does not match its contents",
        },
        Tampering {
            name: "a middle entry deleted",
            sql: "DELETE FROM audit WHERE id = 2".to_owned(),
            entry: 3,
            reason: "entry 2 before it is missing",
        },
        Tampering {
            name: "two middle entries deleted",
            sql: "DELETE FROM audit WHERE id IN (2, 3)".to_owned(),
            entry: 4,
            reason: "entries 2 to 3 before it are missing",
        },
        Tampering {
            name: "the first entry deleted",
            sql: "DELETE FROM audit WHERE id = 1".to_owned(),
            entry: 2,
            reason: "entry 1 before it is missing",
        },
        Tampering {
            name: "a deleted entry's successors renumbered",
            sql: "DELETE FROM audit WHERE id = 2; UPDATE audit SET id = id - 1 WHERE id > 2"
                .to_owned(),
            entry: 2,
            reason: "its hash does not match its contents",
        },
        Tampering {
            name: "two entries swapped",
            sql: "UPDATE audit SET id = -2 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; \
                  UPDATE audit SET id = 3 WHERE id = -2"
                .to_owned(),
            entry: 2,
            reason: "its hash does not match its contents",
        },
        Tampering {
            name: "a changed entry rehashed",
            sql: format!(
                "UPDATE audit SET detail = '{{\"forged\":true}}', hash = '{rehashed}' WHERE id = 2"
            ),
            entry: 3,
            reason: "its previous hash does not match the hash of entry 2",
        },
        Tampering {
            name: "a chain that does not start at zeros",
            sql: format!(
                "UPDATE audit SET prev_hash = '{}', hash = '{restarted}' WHERE id = 1",
                "1".repeat(64)
            ),
            entry: 1,
            reason: "it is the first entry, but its previous hash is not 64 zeros",
        },
        Tampering {
            name: "an entry's link pointed at itself",
            sql: format!("UPDATE audit SET prev_hash = '{}' WHERE id = 3", hash_of(3)),
            entry: 3,
            reason: "its hash does not match its contents",
        },
    ]
}

#[test]
fn tampering_with_the_audit_trail_is_detected_and_named() -> TestResult {
    let mut index = 0;
    loop {
        // A fresh ledger per case; the cases are built from its entries (they hold times).
        let (_dir, path) = temp_path()?;
        let entries = four_entries(&path)?.audit_entries()?;
        assert_eq!(entries.len(), 4);
        let Some(case) = tamperings(&entries).into_iter().nth(index) else {
            break;
        };
        index += 1;
        tamper(&path, &case.sql)?;
        match Ledger::open_existing(&path)?.verify() {
            Err(LedgerError::AuditChainBroken { entry, reason }) => {
                assert_eq!(entry, case.entry, "{}: {reason}", case.name);
                assert!(reason.contains(case.reason), "{}: {reason}", case.name);
            }
            other => panic!("{}: expected a broken chain, got {other:?}", case.name),
        }
    }
    assert_eq!(index, 11, "every case ran");
    Ok(())
}

#[test]
fn the_broken_chain_message_names_the_entry_and_what_to_do() -> TestResult {
    let (_dir, path) = temp_path()?;
    four_entries(&path)?;
    tamper(&path, "UPDATE audit SET detail = '{}' WHERE id = 2")?;
    let message = Ledger::open(&path)?
        .verify()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        message,
        "the audit trail is broken at entry 2: its hash does not match its contents: the entry was changed or moved after it was written\n\
         Hint: the ledger was changed outside Zonebridge; keep a copy of the file for investigation and compare it with a backup"
    );
    Ok(())
}

#[test]
fn removing_entries_from_the_end_shows_in_the_tables_or_in_the_head() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = four_entries(&path)?;
    ledger.append_audit("test.note", &json!({ "n": 5 }))?;
    let before = ledger.verify()?;
    drop(ledger);
    // A cut entry that carried no table's state leaves a shorter chain that verifies alone;
    // a head kept elsewhere notices it.
    tamper(&path, "DELETE FROM audit WHERE id = 5")?;
    let after = Ledger::open(&path)?.verify()?;
    assert_eq!((before.entries, after.entries), (5, 4));
    assert_ne!(
        before.head, after.head,
        "an operator who kept the head notices"
    );
    // A cut entry that carried a row's state leaves the row without its entry.
    tamper(&path, "DELETE FROM audit WHERE id = 4")?;
    let err = Ledger::open(&path)?
        .verify()
        .err()
        .ok_or("the cut is noticed")?;
    assert!(
        matches!(
            err,
            LedgerError::StateMismatch {
                table: "promotions",
                ..
            }
        ),
        "{err}"
    );
    Ok(())
}

#[test]
fn the_audit_table_refuses_changes_through_plain_sql() -> TestResult {
    let (_dir, path) = temp_path()?;
    four_entries(&path)?;
    let conn = Connection::open(&path)?;
    for sql in [
        "UPDATE audit SET detail = '{}' WHERE id = 2",
        "DELETE FROM audit WHERE id = 4",
    ] {
        let err = conn
            .execute_batch(sql)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("the audit trail is append-only"),
            "{sql}: {err}"
        );
    }
    assert_eq!(Ledger::open(&path)?.verify()?.entries, 4);
    Ok(())
}

#[test]
fn a_newer_schema_is_refused() -> TestResult {
    let (_dir, path) = temp_path()?;
    four_entries(&path)?;
    Connection::open(&path)?.pragma_update(None, "user_version", SCHEMA_VERSION + 1)?;
    for result in [Ledger::open(&path), Ledger::open_existing(&path)] {
        match result {
            Err(
                err @ LedgerError::SchemaTooNew {
                    found, supported, ..
                },
            ) => {
                assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
                let message = err.to_string();
                assert!(
                    message.contains(&format!(
                        "has schema version {}, newer than version {SCHEMA_VERSION}",
                        SCHEMA_VERSION + 1
                    )),
                    "{message}"
                );
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn a_file_that_is_not_a_database_is_refused_by_name() -> TestResult {
    let (_dir, path) = temp_path()?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = "this is a release note, not a ledger\n".repeat(100);
    std::fs::write(&path, &text)?;
    for result in [Ledger::open(&path), Ledger::open_existing(&path)] {
        let err = result.err();
        assert!(
            matches!(err, Some(LedgerError::NotADatabase { .. })),
            "{err:?}"
        );
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.starts_with(&format!("{} is not a SQLite database", path.display())),
            "{message}"
        );
        assert!(message.contains("Hint: "), "{message}");
    }
    assert_eq!(
        std::fs::read_to_string(&path)?,
        text,
        "the file is untouched"
    );
    Ok(())
}

#[test]
fn another_programs_database_is_refused_and_left_alone() -> TestResult {
    let (_dir, path) = temp_path()?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    Connection::open(&path)?.execute_batch("CREATE TABLE notes (text TEXT)")?;
    let err = Ledger::open(&path);
    assert!(
        matches!(err, Err(LedgerError::NotALedger { .. })),
        "{err:?}"
    );
    let tables: i64 =
        Connection::open(&path)?
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    assert_eq!(tables, 1, "no ledger table was added");
    Ok(())
}

#[test]
fn open_existing_does_not_create_a_missing_ledger() -> TestResult {
    let (_dir, path) = temp_path()?;
    let err = Ledger::open_existing(&path);
    assert!(matches!(err, Err(LedgerError::NotFound { .. })), "{err:?}");
    assert!(!path.exists());
    assert!(!path.parent().is_some_and(Path::exists), "nor its folder");
    Ok(())
}

#[test]
fn audit_details_and_event_names_are_bounded() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let big = json!({ "text": "x".repeat(MAX_DETAIL_BYTES) });
    let err = ledger.append_audit("operator.note", &big);
    assert!(
        matches!(err, Err(LedgerError::LimitExceeded { limit, .. }) if limit == MAX_DETAIL_BYTES as u64),
        "{err:?}"
    );
    for bad in [
        "",
        "Upper",
        "with space",
        "-leading",
        &"a".repeat(65),
        "naïve",
    ] {
        let err = ledger.append_audit(bad, &json!({}));
        assert!(
            matches!(err, Err(LedgerError::EventNameInvalid { .. })),
            "{bad:?}: {err:?}"
        );
    }
    let mut long = release(1)?;
    long.project = Some("p".repeat(ledger::MAX_NAME_BYTES + 1));
    let err = ledger.record_accepted(&long, None);
    assert!(
        matches!(err, Err(LedgerError::LimitExceeded { .. })),
        "{err:?}"
    );
    assert_eq!(ledger.verify()?.entries, 0, "nothing was written");
    let fits = json!({ "text": "x".repeat(MAX_DETAIL_BYTES - 20) });
    ledger.append_audit("operator.note", &fits)?;
    Ok(())
}

#[test]
fn two_threads_can_open_and_write_the_same_ledger() -> TestResult {
    let (_dir, path) = temp_path()?;
    const PER_THREAD: u32 = 40;
    let write = |name: &'static str| {
        let path = path.clone();
        std::thread::spawn(move || -> Result<(), LedgerError> {
            // Each thread opens the (possibly not yet created) file itself.
            let mut ledger = Ledger::open(&path)?;
            for n in 0..PER_THREAD {
                ledger.append_audit("test.write", &json!({ "thread": name, "n": n }))?;
            }
            Ok(())
        })
    };
    let threads = [write("a"), write("b")];
    for thread in threads {
        thread
            .join()
            .map_err(|_| std::io::Error::other("a writer thread panicked"))??;
    }
    let report = Ledger::open(&path)?.verify()?;
    assert_eq!(report.entries, u64::from(2 * PER_THREAD));
    Ok(())
}

#[test]
fn a_ledger_path_that_is_a_fifo_a_folder_or_a_device_is_named_before_sqlite_opens_it() -> TestResult
{
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("fifo.ledger");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    assert!(made.success(), "mkfifo failed");
    let folder = dir.path().join("folder.ledger");
    std::fs::create_dir(&folder)?;
    for (path, what) in [
        (fifo.as_path(), "a FIFO (named pipe)"),
        (folder.as_path(), "a directory"),
        (Path::new("/dev/null"), "a character device"),
    ] {
        for opened in [Ledger::open(path), Ledger::open_existing(path)] {
            let err = opened.err().ok_or("a non-regular ledger path is refused")?;
            assert!(matches!(err, LedgerError::NotAFile { .. }), "{err}");
            assert_eq!(err.code(), "not-a-file");
            assert!(
                err.to_string()
                    .contains(&format!("is {what}, not a regular file")),
                "{err}"
            );
        }
    }
    // Nothing was made beside them.
    assert_eq!(std::fs::read_dir(dir.path())?.count(), 2);
    Ok(())
}
