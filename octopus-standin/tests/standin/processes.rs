//! Deployment processes: steps and actions stored as given, sensitive properties never
//! readable, `Version` optimistic concurrency.

use serde_json::json;

use crate::harness::{Standin, TestResult, expect, script_step};

const STALE: &str = "Changes to this deployment process could not be saved, because another user has made changes to the deployment process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.";

#[test]
fn steps_actions_packages_and_properties_are_stored_as_given() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let process = standin.set_steps(
        &project,
        json!([{
            "Name": "Deploy API",
            "Properties": {"Octopus.Action.TargetRoles": "payments-api"},
            "Actions": [{
                "Name": "Deploy API",
                "ActionType": "Octopus.TentaclePackage",
                "Environments": [],
                "Packages": [{"Name": "", "PackageId": "Payments.Api", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {}}],
                "Properties": {"Octopus.Action.Package.PackageId": "Payments.Api", "Octopus.Action.Package.FeedId": "feeds-builtin", "Custom.Thing": "kept"}
            }]
        }]),
    )?;
    assert_eq!(process["Version"], 1);
    let stored = standin.ok(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
    ))?;
    let action = &stored["Steps"][0]["Actions"][0];
    assert_eq!(
        stored["Steps"][0]["Properties"]["Octopus.Action.TargetRoles"],
        "payments-api"
    );
    assert_eq!(action["Properties"]["Custom.Thing"], "kept");
    assert_eq!(action["Packages"][0]["PackageId"], "Payments.Api");
    assert_eq!(action["Packages"][0]["FeedId"], "feeds-builtin");
    assert!(
        action["Id"].as_str().is_some_and(|id| id.len() == 36),
        "actions get GUID ids: {action}"
    );
    // A package on a feed that does not exist is refused.
    let mut bad = stored.clone();
    bad["Steps"][0]["Actions"][0]["Packages"][0]["FeedId"] = json!("feeds-nowhere");
    let refused = expect(
        standin.put(
            &format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"),
            &bad,
        )?,
        400,
    )?;
    assert!(
        refused["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("feeds-nowhere")),
        "{refused}"
    );
    Ok(())
}

#[test]
fn a_stale_version_is_refused_with_octopus_message() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Ledger", "Lifecycles-1")?;
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let mut first = standin.ok(&path)?;
    let mut second = first.clone();
    first["Steps"] = json!([script_step("One", "echo one")]);
    expect(standin.put(&path, &first)?, 200)?;
    second["Steps"] = json!([script_step("Two", "echo two")]);
    let refused = expect(standin.put(&path, &second)?, 400)?;
    assert_eq!(
        refused["ErrorMessage"],
        "There was a problem with your request."
    );
    assert_eq!(refused["Errors"][0], STALE);
    // The first writer's change stands.
    assert_eq!(standin.ok(&path)?["Steps"][0]["Name"], "One");
    // A missing Version is refused too.
    let mut versionless = standin.ok(&path)?;
    versionless.as_object_mut().map(|o| o.remove("Version"));
    expect(standin.put(&path, &versionless)?, 400)?;
    Ok(())
}

#[test]
fn sensitive_action_properties_are_never_readable_and_kept_when_sent_back() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Fraud Rules", "Lifecycles-1")?;
    let mut step = script_step("Notify", "echo '#{Octopus.Action.Name}'");
    step["Actions"][0]["Properties"]["Custom.Token"] =
        json!({"HasValue": true, "NewValue": "tok-very-secret"});
    standin.set_steps(&project, json!([step]))?;
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let stored = standin.ok(&path)?;
    assert_eq!(
        stored["Steps"][0]["Actions"][0]["Properties"]["Custom.Token"],
        json!({"HasValue": true, "NewValue": null})
    );
    // No route shows the value: not the process, its list, or the raw text of any response.
    for p in [
        path.clone(),
        "/api/Spaces-1/deploymentprocesses".to_owned(),
        format!("/api/Spaces-1/projects/{project}"),
    ] {
        let text = standin
            .client()
            .get(format!("{}{p}", standin.url))
            .header("X-Octopus-ApiKey", crate::harness::KEY)
            .send()?
            .text()?;
        assert!(!text.contains("tok-very-secret"), "{p} leaks the secret");
    }
    // Sent back as read ({HasValue: true, NewValue: null}) the value stays; HasValue false clears it.
    let kept = expect(standin.put(&path, &stored)?, 200)?;
    assert_eq!(
        kept["Steps"][0]["Actions"][0]["Properties"]["Custom.Token"]["HasValue"],
        true
    );
    let mut cleared = kept.clone();
    cleared["Steps"][0]["Actions"][0]["Properties"]["Custom.Token"] =
        json!({"HasValue": false, "NewValue": null});
    let cleared = expect(standin.put(&path, &cleared)?, 200)?;
    assert_eq!(
        cleared["Steps"][0]["Actions"][0]["Properties"]["Custom.Token"]["HasValue"],
        false
    );
    Ok(())
}

#[test]
fn a_version_controlled_project_refuses_process_changes() -> TestResult {
    let standin = Standin::start()?;
    let project = crate::harness::id(&standin.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Git Ops", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "IsVersionControlled": true}),
    )?)?;
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let mut process = standin.ok(&path)?;
    process["Steps"] = json!([script_step("One", "true")]);
    let refused = expect(standin.put(&path, &process)?, 400)?;
    assert!(
        refused["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("version controlled")),
        "{refused}"
    );
    Ok(())
}
