//! Issue 10, point 12: `import --deploy-to ENV` checks that ENV (and the tenant) exist on the
//! secure instance before it imports anything. Refused, it leaves no release, package,
//! variable or process change on the instance, and nothing recorded as imported: the same
//! bundle imports afterwards as new.

use crate::harness::TestResult;
use crate::results::Trip;

#[test]
fn an_unknown_place_to_deploy_to_is_refused_before_anything_is_imported() -> TestResult {
    let trip = Trip::new();
    trip.zones.export("Payments API", "1.4.1", "p.zb").ok();
    let before = trip.zones.secure_state();
    for (environment, tenant, words) in [
        (
            "Moon Base",
            None,
            "environment \"Moon Base\" is not on this instance; it has: ",
        ),
        (
            "pci staging",
            None,
            "environment \"pci staging\" is not on this instance",
        ),
        (
            "PCI Staging",
            Some("Nobody Ltd"),
            "tenant \"Nobody Ltd\" is not on this instance",
        ),
    ] {
        let mut cmd = trip
            .zones
            .import("p.zb")
            .args(["--deploy-to", environment, "--key", "result-signer.key"])
            .args(["--result-out", "r.zb"]);
        if let Some(tenant) = tenant {
            cmd = cmd.args(["--tenant", tenant]);
        }
        let run = cmd.args(["--json"]).expect(1);
        run.stderr_has(words);
        assert_eq!(run.json()["error"]["code"], "not-found");
        // Not assert_eq: the whole instance would be printed.
        assert!(trip.zones.secure_state() == before, "the instance changed");
        assert!(!trip.zones.site.path("r.zb").exists());
    }
    // Nothing was recorded as imported: the bundle is new to the ledger, and imports.
    let report = trip.zones.import("p.zb").args(["--json"]).ok().json();
    assert_eq!(report["outcome"], "imported", "{report}");
    assert!(
        trip.zones.secure_state() != before,
        "the import changed nothing"
    );
    Ok(())
}
