//! Reading rows back: bundles by digest and verdict, bundles and promotions as listings.

use bundle_format::manifest::BundleKind;
use bundle_format::names::{Digest, ZoneId};
use ledger::{Ledger, LedgerError, PromotionKey, PromotionState, Verdict};
use rusqlite::Connection;

use super::{TestResult, release, result, state_of, temp_path};

/// Release 1 accepted, release 2 refused twice, release 3 refused without a bundle id, and
/// result 1 exported.
fn mixed(path: &std::path::Path) -> Result<Ledger, Box<dyn std::error::Error>> {
    let mut ledger = Ledger::open(path)?;
    ledger.record_accepted(&release(1)?, None)?;
    ledger.record_refused(&release(2)?, "signature by an untrusted key")?;
    ledger.record_refused(&release(2)?, "expired")?;
    let mut anonymous = release(3)?;
    anonymous.bundle_id = None;
    anonymous.project = Some("Card Vault".to_owned());
    ledger.record_refused(&anonymous, "unreadable")?;
    ledger.record_exported(&result(1)?, None)?;
    Ok(ledger)
}

#[test]
fn a_bundle_is_found_by_digest_and_verdict() -> TestResult {
    let (_dir, path) = temp_path()?;
    let ledger = mixed(&path)?;
    let first = release(1)?;
    let stored = ledger
        .bundle(&first.digest, Verdict::Accepted)?
        .ok_or("bundle 1 is stored")?;
    assert_eq!(
        (
            stored.digest,
            stored.bundle_id,
            &stored.channel,
            stored.sequence,
            stored.verdict
        ),
        (
            first.digest,
            first.bundle_id,
            &first.channel,
            1,
            Verdict::Accepted
        )
    );
    assert_eq!(
        (stored.reason, stored.project, stored.version),
        (None, first.project, first.version)
    );
    assert!(stored.at <= time::OffsetDateTime::now_utc());
    assert_eq!(ledger.bundle(&first.digest, Verdict::Refused)?, None);

    // Refused twice: the newest row.
    let second = release(2)?.digest;
    let refused = ledger.bundle(&second, Verdict::Refused)?;
    assert_eq!(refused.and_then(|b| b.reason).as_deref(), Some("expired"));
    assert_eq!(ledger.bundle(&second, Verdict::Accepted)?, None);
    let anonymous = ledger.bundle(&release(3)?.digest, Verdict::Refused)?;
    assert_eq!(anonymous.map(|b| b.bundle_id), Some(None));
    let exported = ledger.bundle(&result(1)?.digest, Verdict::Exported)?;
    assert_eq!(
        exported.map(|b| b.channel.to_string()),
        Some("pci->dev/result".to_owned())
    );
    Ok(())
}

#[test]
fn bundles_are_listed_oldest_first_and_filtered() -> TestResult {
    let (_dir, path) = temp_path()?;
    let ledger = mixed(&path)?;
    let list = |kind, verdict, project| -> Result<Vec<(u64, Verdict)>, LedgerError> {
        Ok(ledger
            .bundles(kind, verdict, project)?
            .into_iter()
            .map(|b| (b.sequence, b.verdict))
            .collect())
    };
    use Verdict::{Accepted, Exported, Refused};
    assert_eq!(
        list(None, None, None)?,
        [
            (1, Accepted),
            (2, Refused),
            (2, Refused),
            (3, Refused),
            (1, Exported)
        ]
    );
    assert_eq!(list(Some(BundleKind::Result), None, None)?, [(1, Exported)]);
    assert_eq!(
        list(Some(BundleKind::Release), Some(Refused), None)?,
        [(2, Refused), (2, Refused), (3, Refused)]
    );
    assert_eq!(
        list(None, Some(Refused), Some("Card Vault"))?,
        [(3, Refused)]
    );
    assert_eq!(
        list(None, None, Some("Payments API"))?.len(),
        4,
        "the result names its release's project"
    );
    assert_eq!(list(None, Some(Exported), Some("Card Vault"))?, []);
    for verdict in Verdict::ALL {
        assert_eq!(Verdict::from_name(verdict.as_str()), Some(verdict));
    }
    Ok(())
}

#[test]
fn a_bundle_row_changed_by_hand_is_refused_by_name() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    ledger.record_accepted(&release(2)?, Some(&state_of(&first)))?;
    let conn = Connection::open(&path)?;
    for sql in [
        "UPDATE bundles SET channel = 'dev to pci' WHERE sequence = 2",
        "UPDATE bundles SET channel = 'dev->pci/result' WHERE sequence = 2",
    ] {
        conn.execute_batch(sql)?;
        let err = ledger.bundles(None, None, None);
        assert!(
            matches!(
                err,
                Err(LedgerError::RowInvalid {
                    table: "bundles",
                    ..
                })
            ),
            "{sql}: {err:?}"
        );
        assert!(err.is_err_and(|e| e.is_tampering()));
    }
    // The first row is still readable alone.
    assert!(ledger.bundle(&first.digest, Verdict::Accepted)?.is_some());
    Ok(())
}

#[test]
fn promotions_are_listed_in_key_order_and_by_project() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let key = |project: &str, version: &str, zone: &str| {
        ZoneId::new(zone).map(|target| PromotionKey {
            project: project.to_owned(),
            version: version.to_owned(),
            target,
        })
    };
    let bundle = Digest::of(b"bundle");
    for key in [
        key("Payments API", "1.0.2", "pci")?,
        key("Card Vault", "7.0.0", "pci")?,
        key("Payments API", "1.0.1", "pci-eu")?,
        key("Payments API", "1.0.1", "pci")?,
    ] {
        ledger.set_promotion(&key, PromotionState::Exported, bundle)?;
    }
    let listed: Vec<String> = ledger
        .promotions(None)?
        .iter()
        .map(|p| p.key.to_string())
        .collect();
    assert_eq!(
        listed,
        [
            "Card Vault 7.0.0 to pci",
            "Payments API 1.0.1 to pci",
            "Payments API 1.0.1 to pci-eu",
            "Payments API 1.0.2 to pci",
        ]
    );
    assert_eq!(ledger.promotions(Some("Payments API"))?.len(), 3);
    assert_eq!(ledger.promotions(Some("Nothing"))?, []);
    assert_eq!(ledger.verify()?.entries, 4);
    Ok(())
}
