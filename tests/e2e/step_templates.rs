//! Library step templates end to end: a release of Fraud Rules whose process uses a template
//! of the development zone is exported (the template travels in `step-templates.json`, by
//! name, without its sensitive default) and imported into a secure zone that has no such
//! template (created), an older one (updated), the same one (used as it is), or another one
//! at the same or a newer version (refused, nothing written).

use serde_json::{Value, json};

use crate::harness::{TestResult, kill_at_each_write, plan_step};
use crate::promote::Zones;
use crate::results::decompressed;
use crate::standins::Standin;

/// The development zone's sensitive parameter default: it must never leave the zone.
const DEV_SECRET: &str = "dev-template-secret-7731";

const SCRIPT: &str = "echo \"smoke test of #{Smoke.Url}\"";

/// The template "Smoke test" as a zone creates it, with `script` as its script.
fn template(script: &str, secret: Value) -> Value {
    json!({
        "Name": "Smoke test", "Description": "Calls the health endpoint after a deployment.",
        "ActionType": "Octopus.Script",
        "Properties": {"Octopus.Action.Script.ScriptBody": script, "Octopus.Action.Script.Syntax": "Bash",
                       "Octopus.Action.Script.ScriptSource": "Inline", "Octopus.Action.RunOnServer": "true"},
        "Packages": [],
        "Parameters": [
            {"Name": "Smoke.Url", "Label": "URL", "HelpText": "The endpoint to call",
             "DefaultValue": "https://health.internal", "DisplaySettings": {"Octopus.ControlType": "SingleLineText"}},
            {"Name": "Smoke.Token", "Label": "Token", "HelpText": "",
             "DefaultValue": secret, "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}
        ]
    })
}

/// Creates "Smoke test" on `zone` with `script` and saves it until it is at `version`;
/// returns its id.
fn put_template(zone: &Standin, script: &str, secret: Value, version: i64) -> String {
    let created = zone.post("/api/Spaces-1/actiontemplates", &template(script, secret));
    let id = created["Id"].as_str().unwrap_or_default().to_owned();
    assert!(!id.is_empty(), "template not created: {created}");
    let mut current = created;
    while current["Version"].as_i64().unwrap_or(i64::MAX) < version {
        current = zone.put(&format!("/api/Spaces-1/actiontemplates/{id}"), &current);
    }
    assert_eq!(current["Version"], version);
    id
}

fn template_of(zone: &Standin) -> Value {
    zone.get("/api/Spaces-1/actiontemplates?name=Smoke%20test")["Items"][0].clone()
}

/// On the development zone: "Smoke test" at version 1, a step of Fraud Rules that uses it, and
/// release 3.15.0 of that process, exported as `fraud.zb`.
fn export_release(zones: &Zones) {
    let id = put_template(&zones.dev, SCRIPT, json!(DEV_SECRET), 1);
    release_using(zones, &[("Smoke test", &id, "1")]);
    zones.export("Fraud Rules", "3.15.0", "fraud.zb").ok();
}

/// Adds to Fraud Rules one step per `(name, template id, template version)` and creates
/// release 3.15.0.
fn release_using(zones: &Zones, uses: &[(&str, &str, &str)]) {
    let dev = &zones.dev;
    let project = dev.get("/api/Spaces-1/projects/fraud-rules");
    let path = format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        project["DeploymentProcessId"].as_str().unwrap_or_default()
    );
    let mut process = dev.get(&path);
    let Some(steps) = process["Steps"].as_array_mut() else {
        panic!("the Fraud Rules process has no steps");
    };
    for (name, id, version) in uses {
        steps.push(json!({"Name": name, "Condition": "Success", "StartTrigger": "StartAfterPrevious",
            "PackageRequirement": "LetOctopusDecide", "Properties": {},
            "Actions": [{"Name": name, "ActionType": "Octopus.Script", "Packages": [],
                "Properties": {"Octopus.Action.Script.ScriptBody": SCRIPT, "Octopus.Action.Script.Syntax": "Bash",
                    "Octopus.Action.Script.ScriptSource": "Inline", "Octopus.Action.RunOnServer": "true",
                    "Octopus.Action.Template.Id": id, "Octopus.Action.Template.Version": version,
                    "Smoke.Url": "https://scoring.internal/health"}}]}));
    }
    let written = dev.put(&path, &process);
    assert!(
        written["Steps"].is_array(),
        "process not written: {written}"
    );
    let release = dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project["Id"], "Version": "3.15.0", "SelectedPackages": []}),
    );
    assert_eq!(release["Version"], "3.15.0", "{release}");
}

/// What the import may change on the secure side, templates included.
fn secure_state(zones: &Zones) -> Value {
    let mut templates = Vec::new();
    for t in zones
        .pci
        .get("/api/Spaces-1/actiontemplates/all")
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = t["Id"].as_str().unwrap_or_default();
        let version = t["Version"].as_i64().unwrap_or_default();
        templates.push(t.clone());
        templates.push(zones.pci.get(&format!(
            "/api/Spaces-1/actiontemplates/{id}/versions/{version}"
        )));
    }
    json!({"instance": zones.secure_state(), "templates": templates})
}

/// The secure zone's Fraud Rules 3.15.0 "Smoke test" action, from the release's snapshot.
fn imported_action(zones: &Zones) -> Value {
    let project = zones.pci.get("/api/Spaces-1/projects/fraud-rules");
    let release = zones.pci.get(&format!(
        "/api/Spaces-1/projects/{}/releases/3.15.0",
        project["Id"].as_str().unwrap_or_default()
    ));
    let process = zones.pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        release["ProjectDeploymentProcessSnapshotId"]
            .as_str()
            .unwrap_or_default()
    ));
    process["Steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Actions"].as_array().cloned().unwrap_or_default())
        .find(|a| a["Name"] == "Smoke test")
        .unwrap_or(Value::Null)
}

fn import_json(zones: &Zones, extra: &[&str]) -> crate::harness::Run {
    zones.import("fraud.zb").args(["--json"]).args(extra).run()
}

/// The plan line of the step template step.
fn plan_line(report: &Value) -> Value {
    plan_step(report, "step-template")
}

#[test]
fn a_template_missing_on_the_target_is_created_and_the_process_points_at_it() -> TestResult {
    let zones = Zones::new();
    export_release(&zones);
    // The bundle carries the template by name: no development-zone template id, and never
    // the sensitive default.
    let bundle = String::from_utf8_lossy(&decompressed(&zones.site.path("fraud.zb"))).into_owned();
    assert!(bundle.contains("step-templates.json") && bundle.contains("Smoke test"));
    assert!(
        !bundle.contains(DEV_SECRET),
        "the sensitive default travelled"
    );
    assert!(
        !bundle.contains("ActionTemplates-"),
        "a template id travelled"
    );

    // A dry run plans the creation and writes nothing.
    let before = secure_state(&zones);
    let dry = import_json(&zones, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(plan_line(&dry.json())["action"], "create");
    assert_eq!(secure_state(&zones), before, "a dry run wrote");

    let run = import_json(&zones, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(plan_line(&run.json())["action"], "create");
    let created = template_of(&zones.pci);
    assert_eq!(created["Version"], 0, "a new template starts at 0");
    assert_eq!(
        created["Properties"]["Octopus.Action.Script.ScriptBody"],
        SCRIPT
    );
    assert_eq!(
        created["Parameters"][1]["DefaultValue"],
        json!({"HasValue": false, "NewValue": null}),
        "a bundle never sets a secret"
    );
    let action = imported_action(&zones);
    assert_eq!(
        action["Properties"]["Octopus.Action.Template.Id"], created["Id"],
        "the secure zone's own template"
    );
    assert_eq!(action["Properties"]["Octopus.Action.Template.Version"], "0");
    // The same bundle again: nothing to do.
    let after = secure_state(&zones);
    zones.import("fraud.zb").ok();
    assert_eq!(secure_state(&zones), after);
    Ok(())
}

#[test]
fn an_older_template_with_other_content_is_updated() -> TestResult {
    let zones = Zones::new();
    export_release(&zones);
    let secure_id = put_template(
        &zones.pci,
        "echo old",
        json!({"HasValue": true, "NewValue": "pci-own-secret"}),
        0,
    );
    let run = import_json(&zones, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = plan_line(&run.json());
    assert_eq!(line["action"], "update");
    assert!(
        line["detail"]
            .as_str()
            .is_some_and(|d| d.contains("version 0 is older")
                && d.contains("Octopus.Action.Script.ScriptBody")),
        "{line}"
    );
    let updated = template_of(&zones.pci);
    assert_eq!(updated["Id"], secure_id.as_str());
    assert_eq!(updated["Version"], 1);
    assert_eq!(
        updated["Properties"]["Octopus.Action.Script.ScriptBody"],
        SCRIPT
    );
    assert_eq!(
        updated["Parameters"][1]["DefaultValue"]["HasValue"], true,
        "the secure zone's own secret default is kept"
    );
    let action = imported_action(&zones);
    assert_eq!(
        action["Properties"]["Octopus.Action.Template.Id"],
        secure_id.as_str()
    );
    assert_eq!(action["Properties"]["Octopus.Action.Template.Version"], "1");
    Ok(())
}

#[test]
fn a_template_with_the_same_content_is_used_as_it_is() -> TestResult {
    let zones = Zones::new();
    export_release(&zones);
    // Same content at another version, and no sensitive default: secrets are the zone's own.
    let secure_id = put_template(&zones.pci, SCRIPT, Value::Null, 4);
    let before = template_of(&zones.pci);
    let run = import_json(&zones, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(plan_line(&run.json())["action"], "keep");
    assert_eq!(template_of(&zones.pci), before, "the template was written");
    let action = imported_action(&zones);
    assert_eq!(
        action["Properties"]["Octopus.Action.Template.Id"],
        secure_id.as_str()
    );
    assert_eq!(action["Properties"]["Octopus.Action.Template.Version"], "4");
    Ok(())
}

#[test]
fn a_template_with_other_content_at_the_same_or_a_newer_version_is_refused() -> TestResult {
    for version in [1, 2] {
        let zones = Zones::new();
        export_release(&zones);
        put_template(&zones.pci, "echo secure-zone version", Value::Null, version);
        let before = secure_state(&zones);
        let run = zones.import("fraud.zb").args(["--json"]).run();
        assert_eq!(run.code, 1, "{}", run.stdout());
        let error = &run.json()["error"];
        assert_eq!(error["code"], "step-template-conflict", "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        let relation = if version == 1 {
            "the same version"
        } else {
            "a newer version"
        };
        assert!(
            message.contains(&format!(
                "step template \"Smoke test\" version 1 in the bundle and \"Smoke test\" version {version} on the target ({relation}) differ: Properties > Octopus.Action.Script.ScriptBody: the bundle has"
            )),
            "{message}"
        );
        assert!(message.contains("nothing was written"), "{error}");
        assert!(
            error["hint"].as_str().is_some_and(
                |h| h.contains("never picks one side") && h.contains("[step_templates]")
            ),
            "{error}"
        );
        assert_eq!(secure_state(&zones), before, "a refusal wrote");
        // The same refusal without --json, for people.
        zones
            .import("fraud.zb")
            .expect(1)
            .stderr_has("error: the bundle's step templates conflict with the target's; nothing was written:")
            .stderr_has("the target \"echo secure-zone version\"");
    }
    Ok(())
}

#[test]
fn the_mapping_file_renames_a_template() -> TestResult {
    let zones = Zones::new();
    export_release(&zones);
    let mapping = zones.site.path("mapping.toml");
    let text = std::fs::read_to_string(&mapping)?;
    std::fs::write(
        &mapping,
        format!("{text}\n[step_templates]\n\"Smoke test\" = \"PCI smoke test\"\n"),
    )?;
    let mut renamed = template(SCRIPT, Value::Null);
    renamed["Name"] = json!("PCI smoke test");
    let created = zones.pci.post("/api/Spaces-1/actiontemplates", &renamed);
    let run = import_json(&zones, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = plan_line(&run.json());
    assert_eq!(
        (&line["action"], &line["subject"]),
        (&json!("keep"), &json!("\"PCI smoke test\""))
    );
    assert_eq!(
        imported_action(&zones)["Properties"]["Octopus.Action.Template.Id"],
        created["Id"]
    );
    Ok(())
}

#[test]
fn an_export_using_a_template_at_two_versions_is_refused() -> TestResult {
    let zones = Zones::new();
    let id = put_template(&zones.dev, SCRIPT, Value::Null, 1);
    release_using(
        &zones,
        &[("Smoke test", &id, "1"), ("Smoke test again", &id, "0")],
    );
    let run = zones
        .export("Fraud Rules", "3.15.0", "fraud.zb")
        .args(["--json"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error = &run.json()["error"];
    assert_eq!(error["code"], "step-template-version", "{error}");
    assert!(
        error["message"].as_str().is_some_and(|m| m.contains(
            "step template \"Smoke test\" is used at versions 0, 1 by actions \"Smoke test\" (version 1), \"Smoke test again\" (version 0)"
        )),
        "{error}"
    );
    assert!(
        error["hint"]
            .as_str()
            .is_some_and(|h| h.contains("latest version"))
    );
    assert!(
        !zones.site.path("fraud.zb").exists(),
        "a refused export wrote a bundle"
    );
    Ok(())
}

#[test]
fn an_import_killed_at_any_write_completes_with_the_template_created_once() -> TestResult {
    let setup = || {
        let zones = Zones::new();
        export_release(&zones);
        Ok(zones)
    };
    let import = |zones: &Zones| zones.import("fraud.zb");
    let points = kill_at_each_write(50, setup, import, |zones, n| {
        let all = zones.pci.get("/api/Spaces-1/actiontemplates/all");
        assert_eq!(
            all.as_array().map_or(0, Vec::len),
            1,
            "after a kill at write {n}: {all}"
        );
        let template = template_of(&zones.pci);
        assert_eq!(
            template["Version"], 0,
            "after a kill at write {n}: saved again"
        );
        let action = imported_action(zones);
        assert_eq!(
            action["Properties"]["Octopus.Action.Template.Id"],
            template["Id"]
        );
        assert_eq!(action["Properties"]["Octopus.Action.Template.Version"], "0");
    })?;
    assert!(points >= 3, "only {points} kill points were exercised");
    Ok(())
}

#[test]
fn a_refusal_before_the_project_is_known_does_not_count_a_template_to_create_as_missing()
-> TestResult {
    let zones = Zones::new();
    export_release(&zones);
    let mapping = zones.site.path("mapping.toml");
    let text = std::fs::read_to_string(&mapping)?;
    std::fs::write(
        &mapping,
        format!("{text}\n[projects]\n\"Fraud Rules\" = \"Fraud Rules (absent)\"\n"),
    )?;
    let run = zones.import("fraud.zb").args(["--json"]).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let error = &run.json()["error"];
    // The project is missing: `--create-missing` would create it (its own refusal lists what
    // is missing), and the templates it would create are never listed among them.
    assert_eq!(error["code"], "missing-on-target", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("Fraud Rules"), "{error}");
    assert!(!message.contains("step template"), "{error}");
    Ok(())
}
