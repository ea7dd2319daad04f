//! Hand edits of the tables that enforce replay protection, and cuts of the audit trail: each
//! makes `verify` (or the check against a head kept elsewhere) fail, naming what disagrees.

use std::path::Path;

use bundle_format::manifest::LedgerHead;
use bundle_format::names::Digest;
use ledger::audit::entry_hash;
use ledger::{DeploymentState, Ledger, LedgerError, STATE_EVENTS};
use rusqlite::Connection;
use serde_json::json;

use super::{TestResult, deployment, deployment_key, release, state_of, tamper, temp_path};

/// A ledger with every kind of state: bundles 1 and 2 accepted, bundle 3 refused, a promotion,
/// a deployment, bundle 4 skipped and a head received. Returns its head.
fn full(path: &Path) -> Result<LedgerHead, Box<dyn std::error::Error>> {
    let mut ledger = super::four_entries(path)?;
    let first = release(1)?;
    let mut record = deployment(deployment_key("PCI Staging", None)?, first.digest);
    ledger.set_deployment(&record)?;
    record.state = DeploymentState::Deploying;
    record.task_id = Some("ServerTasks-7".to_owned());
    ledger.set_deployment(&record)?;
    ledger.skip(&first.channel, 4, "lost on the way", "alice")?;
    let head = LedgerHead {
        entries: 3,
        hash: Digest::of(b"a peer's entry 3"),
    };
    ledger.record_peer_head(
        &bundle_format::names::ZoneId::new("pci")?,
        &head,
        Digest::of(b"r1"),
    )?;
    ledger.verify()?;
    Ok(ledger.head()?.ok_or("the ledger has entries")?)
}

/// What `verify` says after `sql` was run on a full ledger.
fn verdict_after(sql: &str) -> Result<LedgerError, Box<dyn std::error::Error>> {
    let (_dir, path) = temp_path()?;
    full(&path)?;
    tamper(&path, sql)?;
    let ledger = Ledger::open_existing(&path)?;
    match ledger.verify() {
        Ok(report) => Err(format!("{sql}: still verifies ({} entries)", report.entries).into()),
        Err(err) => Ok(err),
    }
}

fn mismatch(err: &LedgerError) -> Option<(&'static str, String)> {
    match err {
        LedgerError::StateMismatch { table, .. } => Some((table, err.to_string())),
        _ => None,
    }
}

#[test]
fn an_untouched_ledger_verifies_with_every_kind_of_state() -> TestResult {
    let (_dir, path) = temp_path()?;
    let head = full(&path)?;
    let ledger = Ledger::open_existing(&path)?;
    let report = ledger.verify()?;
    assert_eq!(report.entries, head.entries);
    assert_eq!(report.head, Some(head.hash.to_hex()));
    ledger.check_anchor(&head)?;
    Ok(())
}

#[test]
fn moving_a_channel_back_is_named_as_reopening_the_replay_window() -> TestResult {
    let digest = release(1)?.digest.to_hex();
    for sql in [
        format!("UPDATE channels SET sequence = 1, digest = '{digest}'"),
        "DELETE FROM channels".to_owned(),
        "UPDATE channels SET sequence = 9".to_owned(),
    ] {
        let err = verdict_after(&sql)?;
        let (table, message) = mismatch(&err).ok_or_else(|| format!("{sql}: {err}"))?;
        assert_eq!(table, "channels", "{sql}: {message}");
        assert!(message.contains("channel dev->pci/release"), "{message}");
        assert_eq!(err.code(), "ledger-state-mismatch");
        assert!(err.is_tampering());
    }
    let err = verdict_after("UPDATE channels SET sequence = 1")?;
    assert!(
        err.to_string().contains("re-opens the replay window"),
        "{err}"
    );
    assert!(
        err.to_string().contains("sequence 1 (audit trail: 2)"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_deleted_added_or_changed_bundle_row_is_named() -> TestResult {
    let first = release(1)?.digest.to_hex();
    let cases = [
        ("DELETE FROM bundles WHERE sequence = 2", "has no such row"),
        (
            "DELETE FROM bundles WHERE verdict = 'refused'",
            "has no such row",
        ),
        (
            "UPDATE bundles SET verdict = 'refused', reason = 'x' WHERE sequence = 1",
            "was changed",
        ),
        (
            "UPDATE bundles SET sequence = 7 WHERE sequence = 3",
            "was changed",
        ),
        (
            "UPDATE bundles SET digest = printf('%064d', 0) WHERE sequence = 1",
            "has no such row",
        ),
        (
            &*format!(
                "INSERT INTO bundles (digest, kind, channel, sequence, verdict, at)
                 VALUES ('{first}', 'release', 'dev->pci/release', 5, 'exported', 'now')"
            ),
            "has no audit entry",
        ),
    ];
    for (sql, says) in cases {
        let err = verdict_after(sql)?;
        let (table, message) = mismatch(&err).ok_or_else(|| format!("{sql}: {err}"))?;
        assert_eq!(table, "bundles", "{sql}: {message}");
        assert!(message.contains(says), "{sql}: {message}");
    }
    Ok(())
}

#[test]
fn a_changed_promotion_or_deployment_is_named() -> TestResult {
    let cases = [
        (
            "UPDATE promotions SET state = 'succeeded'",
            "promotions",
            "state \"succeeded\" (audit trail: \"imported\")",
        ),
        ("DELETE FROM promotions", "promotions", "no row for it"),
        (
            "UPDATE deployments SET state = 'success'",
            "deployments",
            "state \"success\"",
        ),
        (
            "UPDATE deployments SET task_id = 'ServerTasks-8'",
            "deployments",
            "task_id",
        ),
        ("DELETE FROM deployments", "deployments", "no row for it"),
        (
            "INSERT INTO promotions VALUES ('Other', '1', 'pci', 'imported', printf('%064d', 0), 'now')",
            "promotions",
            "added by hand",
        ),
        (
            "DELETE FROM channel_skips",
            "channel_skips",
            "has no such row",
        ),
        (
            "UPDATE channel_skips SET reason = 'other'",
            "channel_skips",
            "was changed",
        ),
        (
            "UPDATE peer_heads SET entries = 1",
            "peer_heads",
            "was changed",
        ),
    ];
    for (sql, want_table, says) in cases {
        let err = verdict_after(sql)?;
        let (table, message) = mismatch(&err).ok_or_else(|| format!("{sql}: {err}"))?;
        assert_eq!(table, want_table, "{sql}: {message}");
        assert!(message.contains(says), "{sql}: {message}");
    }
    Ok(())
}

#[test]
fn deleting_the_last_entries_is_noticed() -> TestResult {
    for cut in 1..=4 {
        let (_dir, path) = temp_path()?;
        let head = full(&path)?;
        tamper(
            &path,
            &format!("DELETE FROM audit WHERE id > {}", head.entries - cut),
        )?;
        let ledger = Ledger::open_existing(&path)?;
        let err = ledger.verify().err().ok_or("a cut tail is noticed")?;
        assert!(mismatch(&err).is_some(), "cut {cut}: {err}");
        let err = ledger
            .check_anchor(&head)
            .err()
            .ok_or("the head is behind")?;
        assert!(
            matches!(err, LedgerError::HeadBehind { entries, anchored, .. } if entries == head.entries - cut && anchored == head.entries),
            "{err}"
        );
        assert!(err.to_string().contains("went backwards"), "{err}");
    }
    Ok(())
}

#[test]
fn an_edited_entry_breaks_the_chain() -> TestResult {
    for sql in [
        "UPDATE audit SET detail = replace(detail, 'Payments API', 'Payments APJ') WHERE id = 1",
        "UPDATE audit SET event = 'bundle-refused' WHERE id = 2",
        "UPDATE audit SET at = '2020-01-01T00:00:00Z' WHERE id = 3",
    ] {
        let err = verdict_after(sql)?;
        assert!(
            matches!(err, LedgerError::AuditChainBroken { .. }),
            "{sql}: {err}"
        );
    }
    Ok(())
}

/// Rewrites entries from `from` on with `edit` applied to each detail, and re-chains every
/// hash after it: what someone who knows the encoding can do to the file.
fn rechain(path: &Path, from: i64, edit: &dyn Fn(&str) -> String) -> TestResult {
    tamper(path, "SELECT 1")?;
    let conn = Connection::open(path)?;
    let rows: Vec<(i64, String, String, String, String)> = conn
        .prepare("SELECT id, at, event, detail, prev_hash FROM audit ORDER BY id")?
        .query_map([], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut prev: Option<String> = None;
    for (id, at, event, detail, stored_prev) in rows {
        let prev_hash = prev.clone().unwrap_or(stored_prev);
        let detail = if id >= from { edit(&detail) } else { detail };
        let hash = entry_hash(id.cast_unsigned(), &at, &event, &detail, &prev_hash);
        conn.execute(
            "UPDATE audit SET detail = ?1, prev_hash = ?2, hash = ?3 WHERE id = ?4",
            rusqlite::params![detail, prev_hash, hash, id],
        )?;
        prev = Some(hash);
    }
    Ok(())
}

#[test]
fn a_truncated_and_rechained_trail_is_caught_by_the_anchored_head() -> TestResult {
    // Cut the tail and its rows consistently: only the head kept elsewhere shows it.
    let (_dir, path) = temp_path()?;
    let head = full(&path)?;
    tamper(
        &path,
        &format!(
            "DELETE FROM audit WHERE id = {}; DELETE FROM peer_heads;",
            head.entries
        ),
    )?;
    let ledger = Ledger::open_existing(&path)?;
    ledger.verify()?;
    let err = ledger.check_anchor(&head).err().ok_or("behind")?;
    assert!(matches!(err, LedgerError::HeadBehind { .. }), "{err}");
    assert_eq!(err.code(), "ledger-head-behind");

    // Rewrite an old entry and re-chain everything after it: the chain verifies, the head
    // kept elsewhere does not match any more.
    let (_dir, path) = temp_path()?;
    let head = full(&path)?;
    rechain(&path, 5, &|detail| {
        detail.replace("lost on the way", "lost")
    })?;
    tamper(&path, "UPDATE channel_skips SET reason = 'lost'")?;
    let ledger = Ledger::open_existing(&path)?;
    ledger.verify()?;
    let err = ledger.check_anchor(&head).err().ok_or("rewritten")?;
    assert!(
        matches!(&err, LedgerError::HeadRewritten { entry, .. } if *entry == head.entries),
        "{err}"
    );
    assert!(err.to_string().contains("rewritten"), "{err}");
    Ok(())
}

#[test]
fn state_events_are_written_only_with_their_rows() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    for event in STATE_EVENTS {
        let err = ledger.append_audit(event, &json!({})).err();
        assert!(
            matches!(err, Some(LedgerError::ValueInvalid { .. })),
            "{event}: {err:?}"
        );
    }
    assert_eq!(ledger.verify()?.entries, 0);
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    ledger.record_accepted(&release(2)?, Some(&state_of(&first)))?;
    ledger.verify()?;
    Ok(())
}

#[test]
fn a_version_2_ledger_verifies_after_its_migration() -> TestResult {
    let (_dir, path) = temp_path()?;
    let first = release(1)?;
    {
        // What a version 2 build leaves: the same rows and entries, no version 3 tables.
        let mut ledger = super::four_entries(&path)?;
        ledger.set_deployment(&deployment(
            deployment_key("PCI Staging", Some("Acme"))?,
            first.digest,
        ))?;
    }
    tamper(
        &path,
        "DROP TABLE channel_skips; DROP TABLE peer_heads; PRAGMA user_version = 2;",
    )?;
    let mut ledger = Ledger::open(&path)?;
    assert_eq!(ledger.verify()?.entries, 5);
    ledger.skip(&first.channel, 5, "lost", "bob")?;
    assert_eq!(ledger.verify()?.entries, 6);
    Ok(())
}

#[test]
fn a_channel_moved_back_by_hand_is_not_moved_again() -> TestResult {
    let first = release(1)?;
    let digest = first.digest.to_hex();
    for sql in [
        format!("UPDATE channels SET sequence = 1, digest = '{digest}'"),
        "DELETE FROM channels".to_owned(),
    ] {
        let (_dir, path) = temp_path()?;
        full(&path)?;
        tamper(&path, &sql)?;
        let mut ledger = Ledger::open(&path)?;
        // An importer reads the position first: the edited row is refused there.
        let err = ledger
            .channel_state(&first.channel)
            .err()
            .ok_or_else(|| format!("{sql}: the edited position was read"))?;
        let (table, message) = mismatch(&err).ok_or_else(|| format!("{sql}: {err}"))?;
        assert_eq!(table, "channels");
        assert!(message.contains("refusing to move it"), "{message}");
        assert!(
            message.contains("audit entry 2 recorded bundle 2"),
            "{message}"
        );
        // And the commit point refuses as well, whatever state a caller claims it checked.
        let replayed = release(2)?;
        let position = (sql.starts_with("UPDATE")).then(|| super::state_of(&first));
        let err = ledger.record_accepted(&replayed, position.as_ref()).err();
        assert!(
            matches!(err, Some(LedgerError::StateMismatch { .. })),
            "{sql}: {err:?}"
        );
        let skip = ledger.skip(&first.channel, 2, "x", "mallory").err();
        assert!(
            matches!(skip, Some(LedgerError::StateMismatch { .. })),
            "{skip:?}"
        );
    }
    Ok(())
}
