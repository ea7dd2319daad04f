//! Exactly once after a crash: an import killed (SIGKILL) right after its N-th write, for every
//! N from 1 until an import runs through, then run again without the kill, ends in the same
//! state as a clean import, every time, and its ledger verifies.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{TestResult, kill_at_each_write};
use crate::promote::Zones;

/// Packages of the crash release: with its process, variables, release and ledger writes, the
/// import makes well over 20 writes.
const PACKAGES: usize = 14;

/// A project with `PACKAGES` package steps and release 1.0.0 on the development stand-in, and
/// the same project (empty) on the secure one.
fn crash_release(zones: &Zones) -> TestResult {
    let dev = &zones.dev;
    for zone in [&zones.dev, &zones.pci] {
        zone.post(
            "/api/Spaces-1/projects",
            &json!({"Name": "Batch Settlement", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"}),
        );
    }
    let project = dev.get("/api/Spaces-1/projects/batch-settlement");
    let id = project["Id"].as_str().ok_or("no project id")?.to_owned();
    let dir = tempfile::tempdir()?;
    let mut steps = Vec::new();
    let mut selected = Vec::new();
    for i in 0..PACKAGES {
        let name = format!("Deploy part {i:02}");
        let package = format!("Batch.Part{i:02}");
        let file = dir.path().join(format!("{package}.1.0.0.zip"));
        std::fs::write(
            &file,
            format!("part {i} of the batch settlement release").repeat(50),
        )?;
        let status = Command::new("curl")
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-H",
                &format!("X-Octopus-ApiKey: {}", dev.key),
                "-F",
            ])
            .arg(format!("file=@{}", file.display()))
            .arg(format!("{}/api/Spaces-1/packages/raw", dev.url))
            .status()?;
        assert!(status.success());
        steps.push(json!({"Name": name, "Actions": [{"Name": name, "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": package, "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}]}]}));
        selected.push(json!({"ActionName": name, "Version": "1.0.0"}));
    }
    let mut process = dev.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"
    ));
    process["Steps"] = Value::Array(steps);
    dev.put(
        &format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"),
        &process,
    );
    dev.post("/api/Spaces-1/releases", &json!({"ProjectId": id, "Version": "1.0.0", "ReleaseNotes": "Nightly batch.", "SelectedPackages": selected}));
    Ok(())
}

/// The secure instance's state as far as the promotion goes, without ids and times that differ
/// between runs.
fn promoted_state(zones: &Zones) -> Value {
    let pci = &zones.pci;
    let release = pci.get("/api/Spaces-1/projects/batch-settlement/releases/1.0.0");
    let process = pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        release["ProjectDeploymentProcessSnapshotId"]
            .as_str()
            .unwrap_or("")
    ));
    let steps: Vec<Value> = process["Steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(
            |s| json!({"Name": s["Name"], "Packages": s["Actions"][0]["Packages"][0]["PackageId"]}),
        )
        .collect();
    let mut packages: Vec<Value> = pci
        .get("/api/Spaces-1/packages/all")
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| json!([p["PackageId"], p["Version"]]))
        .collect();
    packages.sort_by_key(Value::to_string);
    let releases = pci
        .get("/api/Spaces-1/releases/all")
        .as_array()
        .map_or(0, Vec::len);
    json!({"version": release["Version"], "notes": release["ReleaseNotes"], "selected": release["SelectedPackages"], "steps": steps, "packages": packages, "releases": releases})
}

#[test]
fn an_import_killed_at_any_write_completes_on_the_next_run() -> TestResult {
    let setup = || {
        let zones = Zones::new();
        crash_release(&zones)?;
        zones.export("Batch Settlement", "1.0.0", "batch.zb").ok();
        Ok(zones)
    };
    // The reference: a clean import.
    let clean = setup()?;
    clean.import("batch.zb").ok();
    let expected = promoted_state(&clean);
    let import = |zones: &Zones| zones.import("batch.zb");
    let points = kill_at_each_write(200, setup, import, |zones, n| {
        assert_eq!(promoted_state(zones), expected, "after a kill at write {n}");
        zones.import("batch.zb").ok().stdout_has("already imported");
        zones
            .site
            .import()
            .args(["ledger", "verify", "--ledger", "import.ledger"])
            .ok();
    })?;
    eprintln!("the import was killed at {points} different writes and always completed");
    assert!(points >= 20, "only {points} kill points were exercised");
    Ok(())
}
