//! Deployments, and the result bundles that carry them back: the latest state per key, every
//! change audited, and the result transactions all or nothing.

use bundle_format::names::Digest;
use ledger::{
    DeploymentState, EVENT_ACCEPTED, EVENT_DEPLOYMENT, EVENT_EXPORTED, EVENT_PROMOTION, Ledger,
    LedgerError, MAX_REASON_BYTES, PromotionState, TRUNCATED_MARK, Verdict,
};
use rusqlite::Connection;
use serde_json::json;
use time::macros::datetime;

use super::{
    TestResult, deployment, deployment_key, events, promotion_key, release, result, state_of,
    temp_path,
};

#[test]
fn a_deployment_keeps_its_latest_state_and_when_it_was_requested() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let key = deployment_key("PCI Staging", Some("Acme"))?;
    assert_eq!(ledger.deployment(&key)?, None);
    let release_bundle = Digest::of(b"release");
    let requested = deployment(key.clone(), release_bundle);
    ledger.set_deployment(&requested)?;
    // Moved back by hand, so that "kept" and "set to now" differ.
    Connection::open(&path)?
        .execute_batch("UPDATE deployments SET requested_at = '2020-01-01T00:00:00Z'")?;

    let mut running = requested.clone();
    running.state = DeploymentState::Waiting;
    running.deployment_id = Some("Deployments-41".to_owned());
    running.task_id = Some("ServerTasks-97".to_owned());
    running.started = Some(datetime!(2026-11-03 14:00:05 +02:00));
    running.waiting = Some("manual intervention on step 'Finance sign-off'".to_owned());
    ledger.set_deployment(&running)?;
    let stored = ledger.deployment(&key)?.ok_or("the deployment is stored")?;
    assert_eq!(stored.requested_at, datetime!(2020-01-01 00:00:00 UTC));
    assert!(stored.updated_at > stored.requested_at, "updated now");
    assert_eq!(
        stored,
        ledger::DeploymentRecord {
            requested_at: stored.requested_at,
            updated_at: stored.updated_at,
            ..running.clone()
        }
    );

    let mut done = running.clone();
    done.state = DeploymentState::Success;
    done.completed = Some(datetime!(2026-11-03 12:07:00 UTC));
    done.waiting = None;
    ledger.set_deployment(&done)?;
    let stored = ledger.deployment(&key)?.ok_or("the deployment is stored")?;
    assert_eq!(
        (stored.state, stored.requested_at, stored.completed),
        (
            DeploymentState::Success,
            datetime!(2020-01-01 00:00:00 UTC),
            done.completed
        )
    );
    // Requested again (a redeployment): a new request time.
    ledger.set_deployment(&requested)?;
    let stored = ledger.deployment(&key)?.ok_or("the deployment is stored")?;
    assert!(stored.requested_at > datetime!(2020-01-01 00:00:00 UTC));

    let entries = ledger.audit_entries()?;
    assert!(entries.iter().all(|e| e.event == EVENT_DEPLOYMENT));
    let previous: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| e.detail_json().map(|d| d["previous_state"].clone()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        previous,
        [
            json!(null),
            json!("requested"),
            json!("waiting"),
            json!("success")
        ]
    );
    let waiting = entries.get(1).map(|e| e.detail_json()).transpose()?;
    assert_eq!(
        waiting,
        Some(json!({
            "project": "Payments API",
            "version": "1.0.1",
            "target_zone": "pci",
            "environment": "PCI Staging",
            "tenant": "Acme",
            "state": "waiting",
            "previous_state": "requested",
            "deployment_id": "Deployments-41",
            "task_id": "ServerTasks-97",
            "started": "2026-11-03T12:00:05Z",
            "completed": null,
            "waiting": "manual intervention on step 'Finance sign-off'",
            "release_bundle": release_bundle.to_hex(),
            "result_bundle": null,
        }))
    );
    assert_eq!(ledger.verify()?.entries, 4);
    Ok(())
}

#[test]
fn deployments_are_listed_in_key_order_and_by_project() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let bundle = Digest::of(b"release");
    let mut other = deployment_key("Production", None)?;
    other.project = "Card Vault".to_owned();
    let keys = [
        deployment_key("Production", Some("Globex"))?,
        deployment_key("PCI Staging", None)?,
        other.clone(),
        deployment_key("Production", Some("Acme"))?,
        deployment_key("Production", None)?,
    ];
    for key in &keys {
        ledger.set_deployment(&deployment(key.clone(), bundle))?;
    }
    let listed: Vec<String> = ledger
        .deployments(None)?
        .iter()
        .map(|d| d.key.to_string())
        .collect();
    assert_eq!(
        listed,
        [
            "Card Vault 1.0.1 to pci/Production",
            "Payments API 1.0.1 to pci/PCI Staging",
            "Payments API 1.0.1 to pci/Production",
            "Payments API 1.0.1 to pci/Production for tenant Acme",
            "Payments API 1.0.1 to pci/Production for tenant Globex",
        ]
    );
    let vault = ledger.deployments(Some("Card Vault"))?;
    assert_eq!(vault.iter().map(|d| &d.key).collect::<Vec<_>>(), [&other]);
    assert_eq!(ledger.deployments(Some("Nothing"))?, []);
    assert_eq!(ledger.verify()?.entries, 5);
    Ok(())
}

#[test]
fn deployment_values_are_bounded() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let bundle = Digest::of(b"release");
    let err = ledger.set_deployment(&deployment(deployment_key("Staging", Some(""))?, bundle));
    assert!(
        matches!(
            err,
            Err(LedgerError::ValueInvalid {
                what: "the tenant name",
                ..
            })
        ),
        "{err:?}"
    );
    let long = "e".repeat(ledger::MAX_NAME_BYTES + 1);
    let err = ledger.set_deployment(&deployment(deployment_key(&long, None)?, bundle));
    assert!(
        matches!(err, Err(LedgerError::LimitExceeded { .. })),
        "{err:?}"
    );
    let mut far = deployment(deployment_key("Staging", None)?, bundle);
    far.started = Some(datetime!(-0001-01-01 00:00:00 UTC));
    let err = ledger.set_deployment(&far);
    assert!(
        matches!(err, Err(LedgerError::ValueInvalid { .. })),
        "{err:?}"
    );
    assert_eq!(ledger.verify()?.entries, 0, "nothing was written");

    let mut waiting = deployment(deployment_key("Staging", None)?, bundle);
    waiting.state = DeploymentState::Waiting;
    waiting.waiting = Some("w".repeat(2 * MAX_REASON_BYTES));
    ledger.set_deployment(&waiting)?;
    let stored = ledger
        .deployment(&waiting.key)?
        .and_then(|d| d.waiting)
        .unwrap_or_default();
    assert!(stored.len() <= MAX_REASON_BYTES && stored.ends_with(TRUNCATED_MARK));
    Ok(())
}

#[test]
fn deployment_states_have_stable_names() {
    let names: Vec<&str> = DeploymentState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "requested",
            "deploying",
            "waiting",
            "success",
            "failed",
            "canceled",
            "timed-out"
        ]
    );
    for state in DeploymentState::ALL {
        assert_eq!(DeploymentState::from_name(state.as_str()), Some(state));
        assert_eq!(state.to_string(), state.as_str());
    }
    let done: Vec<bool> = DeploymentState::ALL.map(DeploymentState::is_final).into();
    assert_eq!(done, [false, false, false, true, true, true, true]);
    assert_eq!(DeploymentState::from_name("succeeded"), None);
}

/// The secure side: release 1 accepted and its promotion imported, as `bridge-import` leaves it.
fn secure_side(path: &std::path::Path) -> Result<Ledger, Box<dyn std::error::Error>> {
    let mut ledger = Ledger::open(path)?;
    let release = release(1)?;
    ledger.record_accepted(&release, None)?;
    ledger.set_promotion(&promotion_key()?, PromotionState::Imported, release.digest)?;
    Ok(ledger)
}

#[test]
fn a_result_exported_records_its_bundle_deployment_and_promotion_together() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = secure_side(&path)?;
    let first = result(1)?;
    let mut done = deployment(deployment_key("PCI Staging", None)?, release(1)?.digest);
    done.state = DeploymentState::Success;
    done.result_bundle = Some(first.digest);
    let entry = ledger.record_result_exported(
        &first,
        None,
        &done,
        Some((&promotion_key()?, PromotionState::Succeeded)),
    )?;
    assert_eq!(entry.event, EVENT_EXPORTED);
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    let stored = ledger.bundle(&first.digest, Verdict::Exported)?;
    assert_eq!(stored.map(|b| b.sequence), Some(1));
    assert_eq!(
        ledger.deployment(&done.key)?.map(|d| d.result_bundle),
        Some(Some(first.digest))
    );
    // The promotion takes the state given, never Exported, with the result as its bundle.
    let promotion = ledger.promotion(&promotion_key()?)?;
    assert_eq!(
        promotion.map(|p| (p.state, p.bundle)),
        Some((PromotionState::Succeeded, first.digest))
    );
    assert_eq!(
        events(&ledger)?,
        [
            EVENT_ACCEPTED,
            EVENT_PROMOTION,
            EVENT_EXPORTED,
            EVENT_DEPLOYMENT,
            EVENT_PROMOTION
        ]
    );

    // Without a promotion, promotions are left alone.
    let second = result(2)?;
    ledger.record_result_exported(&second, Some(&state_of(&first)), &done, None)?;
    assert_eq!(
        ledger.promotion(&promotion_key()?)?.map(|p| p.bundle),
        Some(first.digest)
    );
    assert_eq!(ledger.verify()?.entries, 7);
    Ok(())
}

#[test]
fn a_result_export_that_fails_anywhere_writes_nothing() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = secure_side(&path)?;
    let first = result(1)?;
    let done = deployment(deployment_key("PCI Staging", None)?, release(1)?.digest);
    ledger.record_result_exported(&first, None, &done, None)?;
    let before = ledger.verify()?;

    let second = result(2)?;
    let mut failed = done.clone();
    failed.state = DeploymentState::Failed;
    // Checked against a channel state that is no longer the ledger's.
    let promotion = Some((&promotion_key()?, PromotionState::Failed));
    let err = ledger.record_result_exported(&second, None, &failed, promotion);
    assert!(
        matches!(err, Err(LedgerError::ChannelMoved { .. })),
        "{err:?}"
    );
    // The bundle row and channel are written before the deployment is refused.
    let mut bad = failed.clone();
    bad.key.tenant = Some(String::new());
    let err = ledger.record_result_exported(&second, Some(&state_of(&first)), &bad, promotion);
    assert!(
        matches!(err, Err(LedgerError::ValueInvalid { .. })),
        "{err:?}"
    );

    assert_eq!(ledger.verify()?, before, "no audit entry");
    assert_eq!(ledger.bundle(&second.digest, Verdict::Exported)?, None);
    assert_eq!(
        ledger.channel_state(&first.channel)?,
        Some(state_of(&first))
    );
    assert_eq!(
        ledger.deployment(&done.key)?.map(|d| d.state),
        Some(DeploymentState::Requested)
    );
    assert_eq!(
        ledger.promotion(&promotion_key()?)?.map(|p| p.state),
        Some(PromotionState::Imported)
    );
    Ok(())
}

#[test]
fn a_result_accepted_returns_the_promotion_once() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let release = release(1)?;
    ledger.record_exported(&release, None)?;
    let first = result(1)?;
    let mut done = deployment(deployment_key("PCI Staging", Some("Acme"))?, release.digest);
    done.state = DeploymentState::Failed;
    done.result_bundle = Some(first.digest);
    let entry = ledger.record_result_accepted(&first, None, &done, &promotion_key()?)?;
    assert_eq!(entry.event, EVENT_ACCEPTED);
    assert!(ledger.was_accepted(&first.digest)?);
    let promotion = ledger.promotion(&promotion_key()?)?;
    assert_eq!(
        promotion.map(|p| (p.state, p.bundle)),
        Some((PromotionState::ResultReturned, first.digest))
    );
    assert_eq!(
        ledger.deployment(&done.key)?.map(|d| d.state),
        Some(DeploymentState::Failed)
    );
    assert_eq!(
        events(&ledger)?,
        [
            EVENT_EXPORTED,
            EVENT_PROMOTION,
            EVENT_ACCEPTED,
            EVENT_DEPLOYMENT,
            EVENT_PROMOTION
        ]
    );
    let before = ledger.verify()?;

    // The same result again, even at a later position: refused, nothing written.
    let mut again = first.clone();
    again.sequence = 2;
    let err =
        ledger.record_result_accepted(&again, Some(&state_of(&first)), &done, &promotion_key()?);
    assert!(
        matches!(err, Err(LedgerError::AlreadyAccepted { .. })),
        "{err:?}"
    );
    let err = ledger.record_result_accepted(&result(2)?, None, &done, &promotion_key()?);
    assert!(
        matches!(err, Err(LedgerError::ChannelMoved { .. })),
        "{err:?}"
    );
    assert_eq!(ledger.verify()?, before);
    Ok(())
}

#[test]
fn a_result_bundle_exported_plainly_leaves_promotions_alone() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = result(1)?;
    ledger.record_exported(&first, None)?;
    assert_eq!(ledger.promotions(None)?, []);
    assert_eq!(events(&ledger)?, [EVENT_EXPORTED]);
    assert_eq!(ledger.verify()?.entries, 1);
    Ok(())
}
