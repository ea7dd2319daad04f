//! A refused bundle does not jam its channel (bundle spec 9.3): refused for something the
//! secure side can fix, it is imported when given again after the fix, and the bundle after it
//! says what it waits for. Giving a bundle up is `channel skip`, explicit and audited; the
//! skipped bundle can never be imported afterwards. The ledger verifies after all of it.

use ::ledger::{EVENT_SKIP, Ledger};
use serde_json::Value;

use crate::harness::{Cmd, TestResult};
use crate::promote::Zones;

/// `bridge-import channel skip` on the secure ledger, with `extra` arguments.
fn skip(zones: &Zones, extra: &[&str]) -> Cmd {
    zones
        .site
        .import()
        .args(["channel", "skip", "--channel", "dev->pci/release"])
        .args(["--ledger", "import.ledger"])
        .args(extra)
}

fn verify_ledger(zones: &Zones) {
    zones
        .site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok()
        .stdout_has("tables match the audit trail");
}

#[test]
fn a_bundle_refused_for_a_missing_secret_is_imported_after_the_fix() -> TestResult {
    let zones = Zones::new();
    zones.forget_stored_secret("Database.Password");
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();

    // Bundle 1 is refused: the secure side has no value for a secret it needs.
    zones
        .import_without_secrets("payments.zb")
        .expect(1)
        .stderr_has("Database.Password");
    // Bundle 2, given before the fix, says it waits for bundle 1 and why.
    let waiting = zones.import_without_secrets("fraud.zb").expect(1);
    waiting.stderr_has(
        "bundle 1 missing on channel dev->pci/release: waiting for bundle 1, refused at ",
    );
    waiting.stderr_has(" for secrets-missing; this is bundle 2");
    waiting.stderr_has(
        "Hint: fix what refused bundle 1 and give it again (it is taken once the fix is in), or give it up with `bridge-import channel skip --channel dev->pci/release --sequence 1 --reason TEXT`",
    );
    let json = zones
        .import_without_secrets("fraud.zb")
        .args(["--json"])
        .expect(1)
        .json();
    assert_eq!(json["error"]["code"], "gap", "{json}");

    // The fix: the secrets file has the value. Bundle 1 is imported, then bundle 2.
    let first = zones.import("payments.zb").args(["--json"]).ok().json();
    assert_eq!(first["outcome"], "imported", "{first}");
    let second = zones.import("fraud.zb").args(["--json"]).ok().json();
    assert_eq!(second["outcome"], "imported", "{second}");
    assert_eq!(second["sequence"], 2);
    zones
        .import("payments.zb")
        .ok()
        .stdout_has("already imported");
    verify_ledger(&zones);
    Ok(())
}

#[test]
fn a_bundle_never_carried_is_named_as_missing_with_the_skip_command() -> TestResult {
    let zones = Zones::new();
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "second.zb").ok();
    zones.export("Ledger Worker", "2.0.3", "third.zb").ok();
    zones.import("first.zb").ok();
    let run = zones.import("third.zb").expect(1);
    assert_eq!(
        run.stderr,
        "error: bundle 2 missing on channel dev->pci/release; this is bundle 3\n\
         Hint: carry bundle 2 and give it first; if it is lost for good, give it up with \
         `bridge-import channel skip --channel dev->pci/release --sequence 2 --reason TEXT`\n"
    );
    zones.import("second.zb").ok();
    zones.import("third.zb").ok();
    verify_ledger(&zones);
    Ok(())
}

#[test]
fn skipping_is_explicit_audited_and_final() -> TestResult {
    let zones = Zones::new();
    zones.forget_stored_secret("Database.Password");
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "third.zb").ok();
    zones.import("first.zb").ok();
    zones.import_without_secrets("payments.zb").expect(1);

    // No reason: a usage error; a blank reason: refused. Nothing is skipped.
    skip(&zones, &["--sequence", "2"])
        .expect(2)
        .stderr_has("--reason");
    skip(
        &zones,
        &["--sequence", "2", "--reason", "   ", "--operator", "alice"],
    )
    .expect(1)
    .stderr_has("the reason is empty");
    // Nobody to name in the audit trail: a usage error.
    skip(&zones, &["--sequence", "2", "--reason", "lost"])
        .expect(2)
        .stderr_has("Hint: pass --operator NAME");
    // Behind the channel's position, or a channel this side does not receive: refused.
    skip(
        &zones,
        &["--sequence", "1", "--reason", "x", "--operator", "alice"],
    )
    .expect(1)
    .stderr_has("already accepted bundle 1");
    zones
        .site
        .import()
        .args([
            "channel",
            "skip",
            "--channel",
            "dev->pci release",
            "--sequence",
            "2",
        ])
        .args(["--reason", "x", "--ledger", "import.ledger"])
        .expect(2)
        .stderr_has("is not a channel");
    zones
        .import_without_secrets("third.zb")
        .expect(1)
        .stderr_has("waiting for bundle 2");

    // The skip, with its reason and operator.
    let json = skip(
        &zones,
        &[
            "--sequence",
            "2",
            "--reason",
            "superseded by 1.4.2",
            "--operator",
            "alice",
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(json["sequence"], 2);
    assert_eq!(json["reason"], "superseded by 1.4.2");
    assert_eq!(json["operator"], "alice");
    skip(
        &zones,
        &["--sequence", "2", "--reason", "again", "--operator", "bob"],
    )
    .expect(1)
    .stderr_has("skipped already");

    // Bundle 3 is imported now; bundle 2, given later (even fixed), is refused as skipped.
    let third = zones.import("third.zb").args(["--json"]).ok().json();
    assert_eq!(third["outcome"], "imported", "{third}");
    assert_eq!(third["gap"], "2 to 2");
    let late = zones
        .import("payments.zb")
        .args(["--json"])
        .expect(1)
        .json();
    assert_eq!(late["error"]["code"], "skipped", "{late}");
    verify_ledger(&zones);

    // The audit trail holds the skip, with who and why.
    let ledger = Ledger::open_existing(zones.site.path("import.ledger"))?;
    let skips: Vec<Value> = ledger
        .audit_entries()?
        .into_iter()
        .filter(|e| e.event == EVENT_SKIP)
        .map(|e| e.detail_json())
        .collect::<Result<_, _>>()?;
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(skips[0]["operator"], "alice");
    assert_eq!(skips[0]["reason"], "superseded by 1.4.2");
    assert_eq!(skips[0]["channel"], "dev->pci/release");
    Ok(())
}

#[test]
fn a_skipped_bundle_given_before_the_next_one_is_refused_as_skipped() -> TestResult {
    let zones = Zones::new();
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "second.zb").ok();
    zones.import("first.zb").ok();
    skip(&zones, &["--sequence", "2", "--reason", "lost in transit"])
        .env("USER", "bob")
        .ok()
        .stdout_has("skipped bundle 2 on channel dev->pci/release");
    let run = zones.import("second.zb").expect(1);
    run.stderr_has(
        "bundle 2 on channel dev->pci/release was skipped with `channel skip`; it can no longer be imported",
    );
    let json = zones.import("second.zb").args(["--json"]).expect(1).json();
    assert_eq!(json["error"]["code"], "skipped", "{json}");
    verify_ledger(&zones);
    Ok(())
}

#[test]
fn a_policy_with_allow_gaps_is_refused_pointing_to_channel_skip() -> TestResult {
    let zones = Zones::new();
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    let path = zones.site.path("pci.toml");
    let policy = std::fs::read_to_string(&path)?;
    std::fs::write(&path, format!("{policy}\n[channels]\nallow_gaps = true\n"))?;
    let run = zones.import("first.zb").expect(3);
    run.stderr_has("`[channels] allow_gaps = true` is no longer accepted");
    run.stderr_has("bridge-import channel skip --channel CHANNEL --sequence N --reason TEXT");
    let json = zones.import("first.zb").args(["--json"]).expect(3).json();
    assert_eq!(json["error"]["code"], "policy-invalid", "{json}");
    // Nothing was recorded for a bundle that was never looked at.
    assert!(!zones.site.path("import.ledger").exists());
    std::fs::write(&path, format!("{policy}\n[channels]\nallow_gaps = false\n"))?;
    zones.import("first.zb").ok();
    Ok(())
}

#[test]
fn a_lost_result_is_given_up_on_the_development_side() -> TestResult {
    let trip = crate::results::Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "first.zb", &[])
        .ok();
    trip.promote_and_deploy("Fraud Rules", "3.13.0", "PCI Staging", "second.zb", &[])
        .ok();
    let site = &trip.zones.site;
    // The first result never arrives: the second says what it waits for.
    trip.results("second.zb").expect(1).stderr_has(
        "bundle 1 missing on channel pci->dev/result; this is bundle 2\nHint: carry bundle 1 and give it first; if it is lost for good, give it up with `bridge-export channel skip --channel pci->dev/result --sequence 1 --reason TEXT`",
    );
    // The development side cannot skip on a channel it sends on.
    site.export()
        .args([
            "channel",
            "skip",
            "--channel",
            "dev->pci/release",
            "--sequence",
            "3",
        ])
        .args([
            "--reason",
            "x",
            "--operator",
            "carol",
            "--ledger",
            "export.ledger",
        ])
        .expect(1)
        .stderr_has("this side sends on that channel");
    site.export()
        .args([
            "channel",
            "skip",
            "--channel",
            "pci->dev/result",
            "--sequence",
            "1",
        ])
        .args([
            "--reason",
            "result lost; outcome checked by phone",
            "--operator",
            "carol",
        ])
        .args(["--ledger", "export.ledger"])
        .ok();
    let second = trip.results("second.zb").ok().json();
    assert_eq!(second["outcome"], "recorded", "{second}");
    assert_eq!(second["gap"], "1 to 1");
    let late = trip.results("first.zb").expect(1).json();
    assert_eq!(late["error"]["code"], "skipped", "{late}");
    site.export()
        .args(["ledger", "verify", "--ledger", "export.ledger"])
        .ok()
        .stdout_has("tables match the audit trail");
    Ok(())
}
