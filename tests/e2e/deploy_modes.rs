//! Deploying for a tenant, and a failure in guided-failure mode: the result says which tenant,
//! and that a person must choose what to do after the failed step.

use crate::harness::TestResult;
use crate::results::Trip;

#[test]
fn a_tenanted_deployment_names_its_tenant_on_both_sides() -> TestResult {
    let trip = Trip::new();
    let report = trip
        .promote_and_deploy(
            "Payments API",
            "1.4.1",
            "PCI Staging",
            "tenant.zb",
            &["--tenant", "Acquirer EU"],
        )
        .ok()
        .json();
    assert_eq!(report["deploy"]["tenant"], "Acquirer EU");
    let deployments = trip.zones.pci.get("/api/Spaces-1/deployments/all");
    let tenant = &deployments[0]["TenantId"];
    assert!(
        tenant.as_str().is_some_and(|t| t.starts_with("Tenants-")),
        "{deployments}"
    );
    let taken = trip.results("tenant.zb").ok().json();
    assert_eq!(taken["tenant"], "Acquirer EU");
    assert!(
        trip.dev_notes("payments-api", "1.4.1")
            .contains("| pci | PCI Staging | Acquirer EU | success |")
    );
    let status = trip.status();
    assert_eq!(
        status["promotions"][0]["deployments"][0]["tenant"],
        "Acquirer EU"
    );
    // An unknown tenant is refused by name before anything is deployed.
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "none.zb")
        .args(["--tenant", "Nobody Ltd"])
        .expect(1)
        .stderr_has("tenant \"Nobody Ltd\" is not on this instance");
    Ok(())
}

#[test]
fn a_guided_failure_is_reported_as_waiting_for_guidance_on_its_step() -> TestResult {
    let trip = Trip::new();
    let report = trip
        .promote_and_deploy(
            "Fraud Rules",
            "3.14.0",
            "PCI Staging",
            "guided.zb",
            &["--guided-failure", "--timeout", "2s"],
        )
        .expect(6)
        .json();
    let waiting = report["deploy"]["waiting"].as_str().unwrap_or("");
    assert!(
        waiting.starts_with("guidance after a failure") && waiting.contains("Validate rule set"),
        "{waiting}"
    );
    let taken = trip.results("guided.zb").ok().json();
    assert_eq!(taken["state"], "waiting");
    assert!(
        taken["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("guided failure")),
        "{taken}"
    );
    Ok(())
}

#[test]
fn an_environment_this_instance_lacks_is_refused_naming_the_ones_it_has() -> TestResult {
    let trip = Trip::new();
    trip.zones.export("Payments API", "1.4.1", "p.zb").ok();
    trip.zones.import("p.zb").ok();
    trip.deploy("Payments API", "1.4.1", "Moon Base", "none.zb")
        .expect(1)
        .stderr_has("environment \"Moon Base\" is not on this instance; it has: ")
        .stderr_has("PCI Staging");
    trip.deploy("Ledger Worker", "9.9.9", "PCI Staging", "none.zb")
        .expect(1)
        .stderr_has("no release bundle of Ledger Worker 9.9.9 was imported here");
    assert_eq!(
        trip.zones
            .pci
            .get("/api/Spaces-1/deployments/all")
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    Ok(())
}
