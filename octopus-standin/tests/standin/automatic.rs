//! What starts by itself: a lifecycle phase with automatic deployment targets deploys a
//! release as it enters the phase (on creation for the first phase, after a successful
//! deployment for the next); a project that creates releases from a built-in feed package
//! gets a release when that package is pushed; project triggers are stored and checked;
//! required prompted variables are enforced and their values reach the script.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::conforms;

const WAIT: Duration = Duration::from_secs(30);

/// A lifecycle of two phases: `first` deployed automatically, then `second` (automatic too
/// when `second_automatic`).
fn lifecycle(
    standin: &Standin,
    first: &str,
    second: &str,
    second_automatic: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let (auto, manual) = if second_automatic {
        (json!([second]), json!([]))
    } else {
        (json!([]), json!([second]))
    };
    id(&standin.create(
        "/api/Spaces-1/lifecycles",
        &json!({"Name": "Auto", "Phases": [
            {"Name": "Test", "AutomaticDeploymentTargets": [first], "OptionalDeploymentTargets": []},
            {"Name": "Live", "AutomaticDeploymentTargets": auto, "OptionalDeploymentTargets": manual},
        ]}),
    )?)
}

fn deployments_of(
    standin: &Standin,
    release: &str,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    Ok(
        standin.ok(&format!("/api/Spaces-1/releases/{release}/deployments"))?["Items"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    )
}

/// Waits until the release has `count` deployments, all finished; returns them.
fn settled(
    standin: &Standin,
    release: &str,
    count: usize,
) -> Result<Vec<Value>, Box<dyn std::error::Error>> {
    let start = std::time::Instant::now();
    loop {
        let deployments = deployments_of(standin, release)?;
        let mut done = deployments.len() == count;
        for d in &deployments {
            let task = standin.ok(&format!(
                "/api/tasks/{}",
                d["TaskId"].as_str().unwrap_or("")
            ))?;
            done &= task["IsCompleted"] == json!(true);
        }
        if done {
            return Ok(deployments);
        }
        if start.elapsed() > WAIT {
            return Err(
                format!("release {release} did not settle at {count}: {deployments:?}").into(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_automatic_phase_deploys_a_new_release_and_the_next_one_after_success() -> TestResult {
    let standin = Standin::start()?;
    let test = standin.environment("Test")?;
    let live = standin.environment("Live")?;
    let lifecycle = lifecycle(&standin, &test, &live, true)?;
    let project = standin.project("Shop", &lifecycle)?;
    standin.set_steps(
        &project,
        json!([script_step("Say", "echo on #{Octopus.Environment.Name}")]),
    )?;
    let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
    // Nobody asked: Test, then (Test complete) Live.
    let deployments = settled(&standin, &release, 2)?;
    let mut environments: Vec<&str> = deployments
        .iter()
        .filter_map(|d| d["EnvironmentId"].as_str())
        .collect();
    environments.sort_unstable();
    let mut expected = vec![test.as_str(), live.as_str()];
    expected.sort_unstable();
    assert_eq!(environments, expected);
    assert!(
        deployments.iter().all(|d| d["Comments"]
            .as_str()
            .is_some_and(|c| c.starts_with("Automatic deployment"))),
        "{deployments:?}"
    );
    Ok(())
}

#[test]
fn a_manual_second_phase_waits_and_a_manual_first_phase_starts_nothing() -> TestResult {
    let standin = Standin::start()?;
    let test = standin.environment("Test")?;
    let live = standin.environment("Live")?;
    let lifecycle = lifecycle(&standin, &test, &live, false)?;
    let project = standin.project("Shop", &lifecycle)?;
    let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
    let deployments = settled(&standin, &release, 1)?;
    assert_eq!(deployments[0]["EnvironmentId"], json!(test));
    // The default lifecycle has no automatic phase: a release there stays undeployed.
    let other = standin.project("Quiet", "Lifecycles-1")?;
    let quiet = id(&standin.release(&other, "1.0.0", json!([]))?)?;
    std::thread::sleep(Duration::from_millis(300));
    assert!(deployments_of(&standin, &quiet)?.is_empty());
    Ok(())
}

#[test]
fn a_package_pushed_to_the_built_in_feed_creates_a_release_of_a_project_that_asks_for_it()
-> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Shop", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([{"Name": "Deploy", "Actions": [{
            "Name": "Deploy", "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": "Shop.Web", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}],
            "Properties": {}
        }]}]),
    )?;
    let path = format!("/api/Spaces-1/projects/{project}");
    let mut doc = standin.ok(&path)?;
    doc["AutoCreateRelease"] = json!(true);
    doc["ReleaseCreationStrategy"] = json!({
        "ReleaseCreationPackage": {"DeploymentAction": "Deploy", "PackageReference": ""},
        "ChannelId": null,
    });
    expect(standin.put(&path, &doc)?, 200)?;
    // Another package: no release.
    expect(standin.upload("Other.Thing.1.0.0.zip", b"other", "")?, 201)?;
    let releases = |s: &Standin| -> Result<Value, Box<dyn std::error::Error>> {
        Ok(s.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?["Items"].clone())
    };
    assert_eq!(releases(&standin)?, json!([]));
    // The package the strategy names: a release of that version, selecting it.
    expect(standin.upload("Shop.Web.2.3.0.zip", b"web", "")?, 201)?;
    let created = releases(&standin)?;
    assert_eq!(created[0]["Version"], "2.3.0", "{created}");
    assert_eq!(created[0]["SelectedPackages"][0]["Version"], "2.3.0");
    // Switched off, a push creates nothing.
    let mut doc = standin.ok(&path)?;
    doc["AutoCreateRelease"] = json!(false);
    expect(standin.put(&path, &doc)?, 200)?;
    expect(standin.upload("Shop.Web.2.4.0.zip", b"web2", "")?, 201)?;
    assert_eq!(releases(&standin)?.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[test]
fn project_triggers_are_listed_by_project_and_their_ids_are_checked() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Test")?;
    let project = standin.project("Shop", "Lifecycles-1")?;
    let trigger = standin.create(
        "/api/Spaces-1/projecttriggers",
        &json!({
            "Name": "Nightly", "ProjectId": project, "IsDisabled": false,
            "Filter": {"FilterType": "OnceDailySchedule", "StartTime": "2024-01-01T02:00:00", "DaysOfWeek": ["Monday"], "Timezone": "UTC"},
            "Action": {"ActionType": "DeployLatestRelease", "SourceEnvironmentIds": [env], "DestinationEnvironmentId": env, "ShouldRedeployWhenReleaseIsCurrent": true, "Variables": null, "TenantIds": [], "TenantTags": []},
        }),
    )?;
    // Unknown fields of the filter and action are kept.
    assert_eq!(trigger["Filter"]["Timezone"], "UTC");
    assert_eq!(
        trigger["Action"]["ShouldRedeployWhenReleaseIsCurrent"],
        true
    );
    let listed = standin.ok(&format!("/api/Spaces-1/projects/{project}/triggers"))?;
    assert_eq!(listed["ItemType"], "ProjectTrigger");
    assert_eq!(listed["Items"][0]["Name"], "Nightly");
    // A trigger whose filter and action carry only their types matches the Swagger
    // definitions (which declare no subtype fields), alone and in a list.
    let plain = standin.create(
        "/api/Spaces-1/projecttriggers",
        &json!({"Name": "Plain", "ProjectId": project, "Filter": {"FilterType": "MachineFilter"}, "Action": {"ActionType": "AutoDeploy"}}),
    )?;
    conforms("ProjectTriggerResource", &plain)?;
    let plain_id = id(&plain)?;
    conforms(
        "ProjectTriggerResource",
        &standin.ok(&format!("/api/Spaces-1/projecttriggers/{plain_id}"))?,
    )?;
    let page = standin.ok(&format!("/api/Spaces-1/projecttriggers?ids={plain_id}"))?;
    assert_eq!(page["Items"][0]["Name"], "Plain", "{page}");
    conforms("ResourceCollection_of_ProjectTriggerResource", &page)?;
    // A foreign environment id, an unknown action type, a step the process lacks: 400.
    for (body, says) in [
        (
            json!({"Name": "Bad", "ProjectId": project, "Filter": {"FilterType": "MachineFilter", "Environments": ["Environments-999"]}, "Action": {"ActionType": "AutoDeploy"}}),
            "Environments-999",
        ),
        (
            json!({"Name": "Bad", "ProjectId": project, "Filter": {"FilterType": "MachineFilter"}, "Action": {"ActionType": "LaunchRockets"}}),
            "LaunchRockets",
        ),
        (
            json!({"Name": "Bad", "ProjectId": project, "Filter": {"FilterType": "FeedFilter", "Packages": [{"DeploymentAction": "Nope", "PackageReference": ""}]}, "Action": {"ActionType": "CreateRelease"}}),
            "Nope",
        ),
        (
            json!({"Name": "Bad", "ProjectId": "Projects-999", "Filter": {"FilterType": "MachineFilter"}, "Action": {"ActionType": "AutoDeploy"}}),
            "Projects-999",
        ),
    ] {
        let refused = expect(standin.post("/api/Spaces-1/projecttriggers", &body)?, 400)?;
        assert!(refused.to_string().contains(says), "{refused}");
    }
    Ok(())
}

#[test]
fn required_prompted_variables_are_enforced_and_reach_the_script_masked_when_sensitive()
-> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let project = standin.project("Shop", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([script_step(
            "Say",
            "echo \"ticket=#{Change.Ticket} token=#{Change.Token}\""
        )]),
    )?;
    standin.set_variables(
        &project,
        json!([
            {"Name": "Change.Ticket", "Value": "", "Prompt": {"Label": "Change ticket", "Description": "", "Required": true, "DisplaySettings": {}}},
            {"Name": "Change.Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Prompt": {"Label": "Token", "Required": false}},
            {"Name": "Plain", "Value": "x"},
        ]),
    )?;
    let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
    let preview = standin.ok(&format!(
        "/api/Spaces-1/releases/{release}/deployments/preview/{env}"
    ))?;
    conforms("DeploymentPreviewResource", &preview)?;
    let elements = preview["Form"]["Elements"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(elements.len(), 2, "{preview}");
    let element = |name: &str| {
        elements
            .iter()
            .find(|e| e["Control"]["Name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let ticket = element("Change.Ticket");
    let token = element("Change.Token");
    assert_eq!(ticket["IsValueRequired"], true);
    assert_eq!(ticket["Control"]["Label"], "Change ticket");
    assert_eq!(token["Control"]["IsSecure"], true);
    let ticket_id = ticket["Name"].as_str().unwrap_or("").to_owned();
    let token_id = token["Name"].as_str().unwrap_or("").to_owned();
    // A foreign environment id: 400, as for a deployment.
    expect(
        standin.get(&format!(
            "/api/Spaces-1/releases/{release}/deployments/preview/Environments-999"
        ))?,
        400,
    )?;
    // Missing the required one: 400 naming it, and no deployment.
    let refused = expect(
        standin.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": env, "FormValues": {token_id.clone(): "s3cr3t-token"}}),
        )?,
        400,
    )?;
    assert!(refused.to_string().contains("Change.Ticket"), "{refused}");
    // A key that is no prompted variable: 400.
    let refused = expect(
        standin.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": env, "FormValues": {ticket_id.clone(): "CHG-1", "not-a-variable": "x"}}),
        )?,
        400,
    )?;
    assert!(refused.to_string().contains("not-a-variable"), "{refused}");
    assert!(deployments_of(&standin, &release)?.is_empty());
    // Both given: the script sees them; the sensitive one is masked and not in the document.
    let deployment = standin.create(
        "/api/Spaces-1/deployments",
        &json!({"ReleaseId": release, "EnvironmentId": env, "FormValues": {ticket_id.clone(): "CHG-1234", token_id.clone(): "s3cr3t-token"}}),
    )?;
    assert!(
        !deployment.to_string().contains("s3cr3t-token"),
        "{deployment}"
    );
    assert_eq!(deployment["FormValues"][&ticket_id], "CHG-1234");
    let task = deployment["TaskId"].as_str().unwrap_or("").to_owned();
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    let log = standin.raw_log(&task)?;
    assert!(log.contains("ticket=CHG-1234 token=********"), "{log}");
    assert!(!log.contains("s3cr3t-token"), "{log}");
    Ok(())
}
