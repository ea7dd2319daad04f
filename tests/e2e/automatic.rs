//! Nothing starts by itself on the secure side: an import into a project whose lifecycle
//! deploys automatically, which has an enabled trigger, or which creates releases when a
//! package arrives, is refused naming each, with nothing written; `--allow-automatic-start`
//! lets it through (and Octopus then deploys on its own). Packages are uploaded only after
//! the process and variables are written.

use serde_json::{Value, json};

use crate::harness::TestResult;
use crate::promote::Zones;

fn project(zones: &Zones) -> Value {
    zones.pci.get("/api/Spaces-1/projects/payments-api")
}

/// Makes the first phase of Payments API's lifecycle on the secure side deploy to PCI Staging
/// automatically; returns the environment's id.
fn automatic_first_phase(zones: &Zones) -> String {
    let lifecycle_id = project(zones)["LifecycleId"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let path = format!("/api/Spaces-1/lifecycles/{lifecycle_id}");
    let mut lifecycle = zones.pci.get(&path);
    let staging = lifecycle["Phases"][0]["OptionalDeploymentTargets"][0].clone();
    lifecycle["Phases"][0]["AutomaticDeploymentTargets"] = json!([staging]);
    lifecycle["Phases"][0]["OptionalDeploymentTargets"] = json!([]);
    let saved = zones.pci.put(&path, &lifecycle);
    assert_eq!(
        saved["Phases"][0]["AutomaticDeploymentTargets"],
        json!([staging]),
        "{saved}"
    );
    staging.as_str().unwrap_or("").to_owned()
}

fn add_trigger(zones: &Zones, name: &str, disabled: bool) {
    let project = project(zones);
    let staging = zones
        .pci
        .get("/api/Spaces-1/environments?name=PCI%20Staging")["Items"][0]["Id"]
        .clone();
    let created = zones.pci.post(
        "/api/Spaces-1/projecttriggers",
        &json!({
            "Name": name, "ProjectId": project["Id"], "IsDisabled": disabled,
            "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-01-01T02:00:00", "DaysOfWeek": ["Monday"]},
            "Action": {"ActionType": "DeployLatestRelease", "SourceEnvironmentIds": [staging], "DestinationEnvironmentId": staging},
        }),
    );
    assert_eq!(created["Name"], name, "{created}");
}

fn deployments(zones: &Zones) -> usize {
    zones
        .pci
        .get("/api/Spaces-1/deployments/all")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn an_automatic_phase_is_refused_with_nothing_written_and_allowed_by_the_flag() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    automatic_first_phase(&zones);
    let before = zones.secure_state();
    let refused = zones.import("payments.zb").expect(1);
    refused
        .stderr_has("phase \"PCI Staging\" deploys automatically to PCI Staging as soon as the release is created")
        .stderr_has("nothing was written")
        .stderr_has("--allow-automatic-start");
    // No release, no package, process and variables untouched, nothing deployed.
    assert_eq!(zones.secure_state(), before);
    assert_eq!(deployments(&zones), 0);
    // --json names the code.
    let json = zones.import("payments.zb").args(["--json"]).expect(1);
    assert_eq!(json.json()["error"]["code"], "automatic-start");
    // With the flag: imported, with a warning; Octopus deploys the new release by itself.
    zones
        .import("payments.zb")
        .args(["--allow-automatic-start"])
        .ok()
        .stderr_has("WARNING: --allow-automatic-start");
    assert_eq!(
        deployments(&zones),
        1,
        "the automatic phase deployed the release"
    );
    let ledger = std::fs::read(zones.site.path("import.ledger"))?;
    let wal = std::fs::read(zones.site.path("import.ledger-wal")).unwrap_or_default();
    let needle = b"import.automatic-start";
    assert!(
        ledger.windows(needle.len()).any(|w| w == needle)
            || wal.windows(needle.len()).any(|w| w == needle),
        "the ledger's audit trail records what was allowed"
    );
    Ok(())
}

#[test]
fn an_enabled_trigger_is_refused_and_a_disabled_one_is_not() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    add_trigger(&zones, "Nightly to staging", false);
    add_trigger(&zones, "Old schedule", true);
    let before = zones.secure_state();
    zones
        .import("payments.zb")
        .expect(1)
        .stderr_has("automatic-start")
        .stderr_has("project trigger \"Nightly to staging\" is enabled: deploys the latest release on a schedule (OnceDailySchedule)");
    assert_eq!(zones.secure_state(), before);
    // Disabled, the remaining trigger does not stop the import.
    let mut trigger = zones.pci.get("/api/Spaces-1/projecttriggers/all")[0].clone();
    assert_eq!(trigger["Name"], "Nightly to staging");
    trigger["IsDisabled"] = json!(true);
    let path = format!(
        "/api/Spaces-1/projecttriggers/{}",
        trigger["Id"].as_str().unwrap_or("")
    );
    zones.pci.put(&path, &trigger);
    zones.import("payments.zb").ok();
    Ok(())
}

#[test]
fn automatic_release_creation_and_every_other_starter_are_listed_in_one_refusal() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    automatic_first_phase(&zones);
    add_trigger(&zones, "Nightly to staging", false);
    let mut doc = project(&zones);
    doc["AutoCreateRelease"] = json!(true);
    doc["ReleaseCreationStrategy"] = json!({
        "ReleaseCreationPackage": {"DeploymentAction": "Deploy API", "PackageReference": ""},
    });
    let path = format!(
        "/api/Spaces-1/projects/{}",
        doc["Id"].as_str().unwrap_or("")
    );
    zones.pci.put(&path, &doc);
    let before = zones.secure_state();
    zones
        .import("payments.zb")
        .expect(1)
        .stderr_has("deploys automatically to PCI Staging")
        .stderr_has("project trigger \"Nightly to staging\"")
        .stderr_has("creates a release by itself when the package of step \"Deploy API\" is pushed to the built-in feed (AutoCreateRelease)");
    assert_eq!(zones.secure_state(), before);
    // A dry run refuses the same way, and writes nothing either.
    zones
        .import("payments.zb")
        .args(["--dry-run"])
        .expect(1)
        .stderr_has("automatic-start");
    assert_eq!(zones.secure_state(), before);
    Ok(())
}

/// The secure side's process, the project's variables and the packages, as one value.
fn written(zones: &Zones) -> (Value, Value, usize) {
    let id = project(zones)["Id"].as_str().unwrap_or("").to_owned();
    let process = zones.pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"
    ))["Steps"]
        .clone();
    let variables = zones
        .pci
        .get(&format!("/api/Spaces-1/variables/variableset-{id}"))["Variables"]
        .clone();
    let packages = zones
        .pci
        .get("/api/Spaces-1/packages/all")
        .as_array()
        .map_or(0, Vec::len);
    (process, variables, packages)
}

#[test]
fn packages_are_uploaded_only_after_the_process_and_variables_are_written() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    // One write per run: each run is killed right after its first write, and the next run
    // goes on from there (exactly once), until one runs through. The killed runs leave their
    // staging folders behind: in a TMPDIR of this test's own, so that no other test's run
    // finds (and reports removing) them.
    let tmp = zones.site.path("tmp");
    std::fs::create_dir_all(&tmp)?;
    let tmp = tmp.to_str().ok_or("the temp path is not UTF-8")?.to_owned();
    let mut states = Vec::new();
    for _ in 0..20 {
        let run = zones
            .import("payments.zb")
            .env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", "1")
            .env("TMPDIR", &tmp)
            .run();
        states.push(written(&zones));
        if run.code == 0 {
            break;
        }
    }
    let (process, variables, packages) = written(&zones);
    assert!(packages >= 2, "the release's packages arrived");
    assert_ne!(process, json!([]), "the process arrived");
    let first_package = states
        .iter()
        .position(|(_, _, p)| *p > 0)
        .ok_or("no run uploaded a package")?;
    assert!(
        first_package >= 2,
        "process and variables come first: {states:?}"
    );
    for (p, v, _) in states.iter().skip(first_package) {
        assert_eq!(p, &process, "the process was final before any package");
        assert_eq!(v, &variables, "the variables were final before any package");
    }
    Ok(())
}

#[test]
fn the_channels_own_lifecycle_is_the_one_checked() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    let staging = zones
        .pci
        .get("/api/Spaces-1/environments?name=PCI%20Staging")["Items"][0]["Id"]
        .clone();
    let lifecycle = zones.pci.post(
        "/api/Spaces-1/lifecycles",
        &json!({"Name": "Hotfix (automatic)", "Phases": [
            {"Name": "Straight to staging", "AutomaticDeploymentTargets": [staging], "OptionalDeploymentTargets": []},
        ]}),
    );
    let project = project(&zones);
    let channels = zones.pci.get(&format!(
        "/api/Spaces-1/projects/{}/channels",
        project["Id"].as_str().unwrap_or("")
    ));
    let mut channel = channels["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["IsDefault"] == true)
        .cloned()
        .ok_or("no default channel")?;
    channel["LifecycleId"] = lifecycle["Id"].clone();
    let path = format!(
        "/api/Spaces-1/channels/{}",
        channel["Id"].as_str().unwrap_or("")
    );
    let saved = zones.pci.put(&path, &channel);
    assert_eq!(saved["LifecycleId"], lifecycle["Id"], "{saved}");
    let before = zones.secure_state();
    zones
        .import("payments.zb")
        .expect(1)
        .stderr_has("lifecycle \"Hotfix (automatic)\", phase \"Straight to staging\" deploys automatically to PCI Staging");
    assert_eq!(zones.secure_state(), before);
    Ok(())
}
