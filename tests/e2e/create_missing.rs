//! Issue 11, point 6: `import --create-missing` creates what the secure side lacks of the
//! release's project (the project, its channels with their version rules, the library
//! variable sets it includes) from the bundle's `project.json`, then imports and deploys; without
//! the flag the refusal lists every missing one and nothing is written. A release that breaks
//! its channel's version rules is refused before anything is written.

use serde_json::{Value, json};

use crate::harness::TestResult;
use crate::promote::Zones;
use crate::results::Trip;

/// The secure side loses Fraud Rules and the library variable set Common Settings (renamed
/// away, as the stand-in's DELETE answers no JSON), and learns the lifecycle's name.
fn without_fraud_rules(zones: &Zones) {
    for (path, name) in [
        (
            "/api/Spaces-1/projects/fraud-rules",
            "Fraud Rules (retired)",
        ),
        (
            "/api/Spaces-1/libraryvariablesets/all",
            "Common Settings (retired)",
        ),
    ] {
        let mut found = zones.pci.get(path);
        if let Some(all) = found.as_array() {
            found = all
                .iter()
                .find(|l| l["Name"] == "Common Settings")
                .cloned()
                .unwrap_or(Value::Null);
        }
        found["Name"] = json!(name);
        let segment = if path.contains("projects") {
            "projects"
        } else {
            "libraryvariablesets"
        };
        let id = found["Id"].as_str().unwrap_or("").to_owned();
        zones
            .pci
            .put(&format!("/api/Spaces-1/{segment}/{id}"), &found);
    }
    let mapping = zones.site.path("mapping.toml");
    let mut text = std::fs::read_to_string(&mapping).unwrap_or_default();
    text.push_str("\n[lifecycles]\n\"Dev to Staging\" = \"PCI Release\"\n");
    std::fs::write(&mapping, text).unwrap_or_else(|e| panic!("cannot extend the mapping: {e}"));
}

fn project_named<'a>(projects: &'a Value, name: &str) -> Option<&'a Value> {
    projects
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["Name"] == name)
}

#[test]
fn without_the_flag_every_missing_thing_is_listed_and_nothing_written() -> TestResult {
    let zones = Zones::new();
    without_fraud_rules(&zones);
    zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();
    // The project travels by name: no development-zone id of it is in the bundle.
    let plain = crate::results::decompressed(&zones.site.path("fraud.zb"));
    let text = String::from_utf8_lossy(&plain);
    assert!(
        text.contains("\"ProjectGroup\": \"Risk\""),
        "no project.json"
    );
    for id in [
        "ProjectGroups-",
        "Lifecycles-",
        "Channels-",
        "LibraryVariableSets-",
        "Projects-",
    ] {
        assert!(!text.contains(id), "{id} in the bundle");
    }
    let before = zones.secure_state();
    let run = zones.import("fraud.zb").args(["--json"]).expect(1);
    assert_eq!(run.json()["error"]["code"], "missing-on-target");
    let refused = zones.import("fraud.zb").expect(1);
    refused.stderr_has("nothing was written");
    refused.stderr_has("project \"Fraud Rules\"");
    refused.stderr_has("library variable set \"Common Settings\"");
    refused.stderr_has("channel \"Default\"");
    refused.stderr_has("Hint: pass --create-missing");
    assert!(zones.secure_state() == before, "the instance changed");
    // A dry run with the flag shows what it would create and writes nothing.
    let dry = zones
        .import("fraud.zb")
        .args(["--create-missing", "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(dry["outcome"], "dry-run", "{dry}");
    let steps: Vec<(String, String)> = dry["plan"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["action"].as_str().unwrap_or("").to_owned(),
                s["subject"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for wanted in [
        ("create", "project \"Fraud Rules\""),
        ("create", "library variable set \"Common Settings\""),
        ("create", "channel \"Default\""),
    ] {
        assert!(
            steps.contains(&(wanted.0.to_owned(), wanted.1.to_owned())),
            "{wanted:?} not in {steps:?}"
        );
    }
    assert!(
        zones.secure_state() == before,
        "the dry run changed the instance"
    );
    Ok(())
}

#[test]
fn create_missing_imports_and_deploys_and_a_rerun_is_a_no_op() -> TestResult {
    let trip = Trip::new();
    let zones = &trip.zones;
    without_fraud_rules(zones);
    zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();
    let report = zones
        .import("fraud.zb")
        .args(["--create-missing", "--json"])
        .ok()
        .json();
    assert_eq!(report["outcome"], "imported", "{report}");
    let projects = zones.pci.get("/api/Spaces-1/projects/all");
    let project = project_named(&projects, "Fraud Rules").ok_or("no Fraud Rules")?;
    let groups = zones.pci.get("/api/Spaces-1/projectgroups/all");
    let risk = project_named(&groups, "Risk").ok_or("no Risk group")?;
    assert_eq!(project["ProjectGroupId"], risk["Id"]);
    let lifecycles = zones.pci.get("/api/Spaces-1/lifecycles/all");
    let pci_release = project_named(&lifecycles, "PCI Release").ok_or("no lifecycle")?;
    assert_eq!(project["LifecycleId"], pci_release["Id"]);
    assert_eq!(project["AutoCreateRelease"], false);
    let libraries = zones.pci.get("/api/Spaces-1/libraryvariablesets/all");
    let common = project_named(&libraries, "Common Settings").ok_or("not created")?;
    assert_eq!(
        project["IncludedLibraryVariableSetIds"],
        json!([common["Id"]]),
        "{project}"
    );
    // Each creation is in the audit trail, with what was created.
    let ledger = ::ledger::Ledger::open_existing(zones.site.path("import.ledger"))?;
    let created: Vec<Value> = ledger
        .audit_entries()?
        .into_iter()
        .filter(|e| e.event == "import.create")
        .map(|e| e.detail_json())
        .collect::<Result<_, _>>()?;
    let kinds: Vec<(&str, &str, &str)> = created
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or(""),
                d["name"].as_str().unwrap_or(""),
                d["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("library variable set", "Common Settings", "created"),
            ("project", "Fraud Rules", "created"),
            ("project", "Fraud Rules", "library variable sets included"),
        ],
        "{created:?}"
    );
    assert_eq!(created[1]["id"], project["Id"]);
    // The created project's release deploys on the secure side.
    let deployed = trip
        .deploy("Fraud Rules", "3.13.0", "PCI Staging", "result.zb")
        .ok()
        .json();
    assert_eq!(deployed["state"], "success", "{deployed}");
    // A re-run creates nothing and writes nothing.
    let before = zones.secure_state();
    zones
        .import("fraud.zb")
        .args(["--create-missing"])
        .ok()
        .stdout_has("already imported");
    assert!(
        zones.secure_state() == before,
        "the re-run changed the instance"
    );
    Ok(())
}

#[test]
fn a_release_breaking_its_channels_version_rule_is_refused_with_nothing_written() -> TestResult {
    let zones = Zones::new();
    // The development zone's Payments API channel allows 4.x only; release 1.4.1 carries a
    // 1.x package (the stand-in checks rules when a release is created, as Octopus does, so
    // the rule is added after the release exists).
    let dev_project = zones.dev.get("/api/Spaces-1/projects/payments-api");
    let dev_id = dev_project["Id"].as_str().unwrap_or("");
    let process = zones.dev.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{dev_id}"
    ));
    let action = process["Steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Actions"].as_array().cloned().unwrap_or_default())
        .find(|a| a["Packages"].as_array().is_some_and(|p| !p.is_empty()))
        .ok_or("Payments API has no package step")?;
    let mut channel = zones
        .dev
        .get(&format!("/api/Spaces-1/projects/{dev_id}/channels"))["Items"][0]
        .clone();
    channel["Rules"] = json!([{
        "VersionRange": "[4.0,5.0)", "Tag": "",
        "ActionPackages": [{"DeploymentAction": action["Name"], "PackageReference": action["Packages"][0]["Name"]}]
    }]);
    let channel_id = channel["Id"].as_str().unwrap_or("").to_owned();
    zones
        .dev
        .put(&format!("/api/Spaces-1/channels/{channel_id}"), &channel);
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    let before = zones.secure_state();
    // The secure channel has no rules: the bundle's differ, refused naming both.
    let differ = zones.import("payments.zb").args(["--json"]).expect(1);
    assert_eq!(differ.json()["error"]["code"], "channel-rules-differ");
    let differ = zones.import("payments.zb").expect(1);
    differ.stderr_has("the target's version rules are none; the bundle's are ");
    differ.stderr_has("range \"[4.0,5.0)\"");
    assert!(zones.secure_state() == before, "the instance changed");
    // With --create-missing the rules would be the bundle's, which the release breaks:
    // refused before anything is written, the rules included.
    let broken = zones
        .import("payments.zb")
        .args(["--create-missing", "--json"])
        .expect(1);
    assert_eq!(broken.json()["error"]["code"], "channel-rule");
    let broken = zones
        .import("payments.zb")
        .args(["--create-missing"])
        .expect(1);
    broken.stderr_has("break the version rules of channel \"Default\"; nothing was written");
    broken.stderr_has("not in version range \"[4.0,5.0)\"");
    assert!(zones.secure_state() == before, "the instance changed");
    let pci_project = zones.pci.get("/api/Spaces-1/projects/payments-api");
    let pci_channels = zones.pci.get(&format!(
        "/api/Spaces-1/projects/{}/channels",
        pci_project["Id"].as_str().unwrap_or("")
    ));
    assert_eq!(
        pci_channels["Items"][0]["Rules"],
        json!([]),
        "{pci_channels}"
    );
    Ok(())
}

/// How many of each the secure side has: projects named Fraud Rules, library variable sets
/// named Common Settings, Fraud Rules' channels and included sets, releases of it.
fn created_counts(zones: &Zones) -> Value {
    let projects = zones.pci.get("/api/Spaces-1/projects/all");
    let fraud: Vec<&Value> = projects
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["Name"] == "Fraud Rules")
        .collect();
    let libraries = zones.pci.get("/api/Spaces-1/libraryvariablesets/all");
    let common = libraries
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["Name"] == "Common Settings")
        .count();
    let (channels, included, releases) = match fraud.first() {
        Some(project) => {
            let id = project["Id"].as_str().unwrap_or("");
            (
                zones
                    .pci
                    .get(&format!("/api/Spaces-1/projects/{id}/channels"))["TotalResults"]
                    .clone(),
                project["IncludedLibraryVariableSetIds"].clone(),
                zones
                    .pci
                    .get(&format!("/api/Spaces-1/projects/{id}/releases"))["TotalResults"]
                    .clone(),
            )
        }
        None => (Value::Null, Value::Null, Value::Null),
    };
    json!({
        "projects": fraud.len(), "libraries": common, "channels": channels,
        "included": included.as_array().map(Vec::len), "releases": releases,
    })
}

#[test]
fn a_crash_while_creating_leaves_what_a_rerun_completes_exactly_once() -> TestResult {
    let mut points = 0;
    for n in 1.. {
        let zones = Zones::new();
        without_fraud_rules(&zones);
        zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();
        let killed = zones
            .import("fraud.zb")
            .args(["--create-missing"])
            .env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", &n.to_string())
            .run();
        assert_eq!(
            killed.code, -1,
            "run {n} should have been killed:\n{}",
            killed.stderr
        );
        points += 1;
        // The creations are the import's first writes (library set, project, inclusion);
        // after them a kill lands in the usual import, which crash.rs covers.
        let creations_done = killed.stderr.contains("(project libraries)");
        zones.import("fraud.zb").args(["--create-missing"]).ok();
        assert_eq!(
            created_counts(&zones),
            json!({"projects": 1, "libraries": 1, "channels": 1, "included": 1, "releases": 1}),
            "after a kill at write {n}"
        );
        zones
            .import("fraud.zb")
            .args(["--create-missing"])
            .ok()
            .stdout_has("already imported");
        if creations_done {
            break;
        }
    }
    assert_eq!(points, 3, "library set, project, inclusion");
    Ok(())
}

#[test]
fn a_missing_channel_of_an_existing_project_is_named_then_created() -> TestResult {
    let zones = Zones::new();
    // The secure Fraud Rules has its default channel under another name.
    let project = zones.pci.get("/api/Spaces-1/projects/fraud-rules");
    let id = project["Id"].as_str().unwrap_or("").to_owned();
    let mut channel = zones
        .pci
        .get(&format!("/api/Spaces-1/projects/{id}/channels"))["Items"][0]
        .clone();
    channel["Name"] = json!("Mainline");
    let channel_id = channel["Id"].as_str().unwrap_or("").to_owned();
    zones
        .pci
        .put(&format!("/api/Spaces-1/channels/{channel_id}"), &channel);
    zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();
    let before = zones.secure_state();
    let refused = zones.import("fraud.zb").expect(1);
    refused.stderr_has("lacks what release channel \"Default\" of project \"Fraud Rules\" needs; nothing was written:\n  - channel \"Default\": not on the target\nHint: pass --create-missing");
    assert!(zones.secure_state() == before, "the instance changed");
    let report = zones
        .import("fraud.zb")
        .args(["--create-missing", "--json"])
        .ok()
        .json();
    assert_eq!(report["outcome"], "imported", "{report}");
    assert_eq!(
        report["plan"]["steps"][0],
        json!({"step": "channel", "subject": "channel \"Default\"", "action": "create", "detail": "0 version rule(s)"})
    );
    let channels = zones
        .pci
        .get(&format!("/api/Spaces-1/projects/{id}/channels"));
    let names: Vec<(&str, bool)> = channels["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["Name"].as_str().unwrap_or(""), c["IsDefault"] == true))
        .collect();
    assert_eq!(names, vec![("Mainline", false), ("Default", true)]);
    let release = zones
        .pci
        .get(&format!("/api/Spaces-1/projects/{id}/releases/3.13.0"));
    let default = channels["Items"][1]["Id"].clone();
    assert_eq!(release["ChannelId"], default);
    Ok(())
}
