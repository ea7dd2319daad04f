//! Exactly once after a crash, for deploying: `deploy` killed (SIGKILL) right after each of its
//! writes (ledger intent, the deployment created, ledger "deploying", the promotion, the result
//! file, the ledger's record of the result), then run again without the kill, leaves exactly one
//! deployment on the secure instance and one result on the channel, which the development side
//! takes in; a result written before the kill is written again byte for byte.

use crate::harness::TestResult;
use crate::results::Trip;

/// The writes of one deploy that ends in success (see the module documentation).
const WRITES: u32 = 6;

#[test]
fn a_deploy_killed_after_any_write_completes_once_when_run_again() -> TestResult {
    for kill_after in 1..=WRITES {
        let trip = Trip::new();
        trip.zones
            .export("Payments API", "1.4.1", "payments.zb")
            .ok();
        trip.zones.import("payments.zb").ok();
        let site = &trip.zones.site;
        let killed = trip
            .deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
            .env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", &kill_after.to_string())
            .run();
        assert_eq!(
            killed.code, -1,
            "write {kill_after}: not killed\n{}",
            killed.stderr
        );
        let before = std::fs::read(site.path("result.zb")).ok();
        let report = trip
            .deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
            .ok()
            .json();
        assert_eq!(report["state"], "success", "write {kill_after}: {report}");
        let deployments = trip.zones.pci.get("/api/Spaces-1/deployments/all");
        assert_eq!(
            deployments.as_array().map(Vec::len),
            Some(1),
            "write {kill_after}: {deployments}"
        );
        let after = std::fs::read(site.path("result.zb"))?;
        // Writes 5 and 6 come after the result file: it is there, and stays byte for byte.
        assert_eq!(before.is_some(), kill_after >= 5, "write {kill_after}");
        if let Some(before) = &before {
            assert!(
                before == &after,
                "write {kill_after}: the result was rewritten with other bytes"
            );
        }
        if let Some(sequence) = report["result"]["sequence"].as_u64() {
            assert_eq!(sequence, 1, "write {kill_after}");
        }
        let taken = trip.results("result.zb").ok().json();
        assert_eq!(taken["position"], "pci->dev/result 1", "write {kill_after}");
        let again = trip
            .deploy("Payments API", "1.4.1", "PCI Staging", "other.zb")
            .ok()
            .json();
        assert_eq!(again["outcome"], "already-deployed", "write {kill_after}");
        site.import()
            .args(["ledger", "verify", "--ledger", "import.ledger"])
            .ok();
    }
    Ok(())
}
