//! Contract tests against the payload fixtures: on the scenario of `contract`, tasks,
//! deployments, releases, snapshots and sensitive values behave as the real payloads in
//! `fixtures/octopus` show (their fields, ids, states and how secrets read back).

use serde_json::{Value, json};

use crate::contract::{
    Checker, SPACE, build, is_numbered, keys, missing_keys, snapshot_version, text, variable,
};
use crate::harness::{Standin, TestResult, id};
use crate::swagger::{fixture, is_date_time};

/// Asserts that `doc` has every field `fixture` has (less `except`).
fn assert_fields_of(what: &str, doc: &Value, fixture: &Value, except: &[&str]) {
    let missing = missing_keys(doc, fixture, except);
    assert!(
        missing.is_empty(),
        "{what} lacks {missing:?} of its fixture: {doc}"
    );
}

#[test]
fn contract_tasks_and_deployments_behave_as_the_fixtures_show() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let deployment_id = id(&sc.deployment)?;

    // Tasks: `ServerTasks-N` with the fields of fixture `task.json`, and Octopus's states:
    // `Executing` with a pending interruption while the manual step waits, then `Success`.
    let task_fixture = fixture("task.json")?;
    let task = c.one(&s, &format!("/api/tasks/{}", sc.task), "TaskResource")?;
    assert!(is_numbered(&sc.task, "ServerTasks"), "task id {}", sc.task);
    assert_fields_of("the task", &task, &task_fixture, &[]);
    assert_eq!(task["Name"], task_fixture["Name"]);
    assert_eq!(task["Arguments"]["DeploymentId"], json!(deployment_id));
    assert_eq!(
        task["Links"]["Self"],
        json!(format!("/api/tasks/{}", sc.task))
    );
    for (field, waiting, done) in [
        ("State", json!("Executing"), json!("Success")),
        ("HasPendingInterruptions", json!(true), json!(false)),
        ("IsCompleted", json!(false), json!(true)),
        ("FinishedSuccessfully", json!(false), json!(true)),
        ("HasBeenPickedUpByProcessor", json!(true), json!(true)),
    ] {
        assert_eq!(
            sc.waiting_task[field], waiting,
            "{field} while waiting: {}",
            sc.waiting_task
        );
        assert_eq!(task[field], done, "{field} when done: {task}");
    }
    assert_eq!(task["ErrorMessage"], json!(""));
    for field in ["QueueTime", "StartTime", "CompletedTime", "LastUpdatedTime"] {
        assert!(is_date_time(text(&task, field)?), "{field} of {task}");
    }
    // Display forms as in the fixture: "Monday, March 20, 2017 9:00 PM", "32 seconds".
    let completed = text(&task, "Completed")?;
    assert!(
        completed.split(", ").count() == 3
            && (completed.ends_with(" AM") || completed.ends_with(" PM")),
        "Completed {completed:?}, fixture {}",
        task_fixture["Completed"]
    );
    let duration = text(&task, "Duration")?;
    assert!(
        [" second", " seconds", " minute", " minutes"]
            .iter()
            .any(|unit| duration.ends_with(unit)),
        "Duration {duration:?}, fixture {}",
        task_fixture["Duration"]
    );

    // Deployments: the fields of fixture `deployment.json`; the process is the release's
    // snapshot and the manifest is `variableset-Deployments-N`.
    let deployment_fixture = fixture("deployment.json")?;
    let deployment = c.one(
        &s,
        &format!("{SPACE}/deployments/{deployment_id}"),
        "DeploymentResource",
    )?;
    assert!(
        is_numbered(&deployment_id, "Deployments"),
        "{deployment_id}"
    );
    assert_fields_of("the deployment", &deployment, &deployment_fixture, &[]);
    assert_eq!(deployment["TaskId"], json!(sc.task));
    assert_eq!(deployment["TenantId"], json!(sc.tenant));
    assert_eq!(
        task["Description"],
        json!("Deploy Payments release 1.0.0 to Development for Acme EU")
    );
    assert_eq!(
        deployment["ManifestVariableSetId"],
        json!(format!("variableset-{deployment_id}"))
    );
    assert_eq!(
        deployment["DeploymentProcessId"],
        sc.release["ProjectDeploymentProcessSnapshotId"]
    );
    assert_eq!(
        deployment["Links"]["Task"],
        json!(format!("/api/tasks/{}", sc.task))
    );
    c.finish(2);
    Ok(())
}

#[test]
fn contract_releases_and_snapshots_behave_as_the_fixtures_show() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let project = &sc.project;

    // The fixtures' snapshot ids all have the form `<live id>-s-<version>-XXXXX`.
    let release_fixture = fixture("release.json")?;
    let deployment_fixture = fixture("deployment.json")?;
    for fixture_id in [
        &deployment_fixture["DeploymentProcessId"],
        &release_fixture["ProjectDeploymentProcessSnapshotId"],
        &release_fixture["ProjectVariableSetSnapshotId"],
        &release_fixture["LibraryVariableSetSnapshotIds"][0],
    ] {
        let fixture_id = fixture_id.as_str().ok_or("a fixture's snapshot id")?;
        let live = fixture_id.split("-s-").next().unwrap_or("");
        assert!(snapshot_version(fixture_id, live).is_some(), "{fixture_id}");
    }

    // The release has the fields of fixture `release.json` (less `SelectedGitResources`, which
    // the 2020.5 spec does not declare; see swagger.rs) and the same `SelectedPackages` form.
    let release = c.one(
        &s,
        &format!("{SPACE}/releases/{}", id(&sc.release)?),
        "ReleaseResource",
    )?;
    assert_fields_of(
        "the release",
        &release,
        &release_fixture,
        &["SelectedGitResources"],
    );
    assert_eq!(
        keys(&release["SelectedPackages"][0]),
        keys(&release_fixture["SelectedPackages"][0])
    );

    // Its snapshots are `<live id>-s-<Version of the live document>-XXXXX`.
    let library_snapshots = release["LibraryVariableSetSnapshotIds"]
        .as_array()
        .ok_or("no LibraryVariableSetSnapshotIds")?;
    assert_eq!(library_snapshots.len(), 1, "{release}");
    for (snapshot, live, definition) in [
        (
            &release["ProjectDeploymentProcessSnapshotId"],
            format!("deploymentprocess-{project}"),
            "DeploymentProcessResource",
        ),
        (
            &release["ProjectVariableSetSnapshotId"],
            format!("variableset-{project}"),
            "VariableSetResource",
        ),
        (
            &release["LibraryVariableSetSnapshotIds"][0],
            format!("variableset-{}", sc.library),
            "VariableSetResource",
        ),
    ] {
        let snapshot = snapshot.as_str().ok_or("a snapshot id")?;
        let segment = if definition == "VariableSetResource" {
            "variables"
        } else {
            "deploymentprocesses"
        };
        let live_doc = c.one(&s, &format!("{SPACE}/{segment}/{live}"), definition)?;
        assert_eq!(
            snapshot_version(snapshot, &live),
            live_doc["Version"].as_i64(),
            "snapshot {snapshot} of {live}"
        );
        let frozen = c.one(&s, &format!("{SPACE}/{segment}/{snapshot}"), definition)?;
        assert_eq!(frozen["Id"], json!(snapshot));
        if segment == "deploymentprocesses" {
            assert_eq!(live_doc["LastSnapshotId"], json!(snapshot));
        }
    }

    // Processes have the fields of fixture `deployment-process.json`, down to the package
    // reference (`Name` "", `FeedId` `feeds-builtin`), live and in the snapshot.
    let process_fixture = fixture("deployment-process.json")?;
    let step_fixture = &process_fixture["Steps"][0];
    let action_fixture = &step_fixture["Actions"][0];
    for process_id in [
        format!("deploymentprocess-{project}"),
        text(&release, "ProjectDeploymentProcessSnapshotId")?.to_owned(),
    ] {
        let process = s.ok(&format!("{SPACE}/deploymentprocesses/{process_id}"))?;
        assert!(
            process_id.starts_with("deploymentprocess-Projects-"),
            "{process_id}"
        );
        assert_fields_of(&process_id, &process, &process_fixture, &[]);
        let step = &process["Steps"][1];
        assert_fields_of("the package step", step, step_fixture, &[]);
        let action = &step["Actions"][0];
        assert_fields_of("the package action", action, action_fixture, &[]);
        let package = &action["Packages"][0];
        assert_eq!(
            keys(package),
            keys(&action_fixture["Packages"][0]),
            "{package}"
        );
        assert_eq!(package["Name"], json!(""));
        assert_eq!(package["FeedId"], json!("feeds-builtin"));
        assert_eq!(package["AcquisitionLocation"], json!("Server"));
    }
    c.finish(6);
    Ok(())
}

#[test]
fn contract_sensitive_values_read_back_as_the_fixtures_show() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let mut c = Checker::new()?;
    let sc = build(&s, &mut c)?;
    let project = &sc.project;
    let [dev, test, prod] = &sc.environments;
    let process_snapshot = text(&sc.release, "ProjectDeploymentProcessSnapshotId")?;
    let variables_snapshot = text(&sc.release, "ProjectVariableSetSnapshotId")?;

    // A sensitive action property reads back as `{"HasValue": true, "NewValue": null}`.
    for process_id in [
        format!("deploymentprocess-{project}"),
        process_snapshot.to_owned(),
    ] {
        let process = c.one(
            &s,
            &format!("{SPACE}/deploymentprocesses/{process_id}"),
            "DeploymentProcessResource",
        )?;
        assert_eq!(
            process["Steps"][0]["Actions"][0]["Properties"]["Zonebridge.ApiToken"],
            json!({"HasValue": true, "NewValue": null}),
            "the sensitive property of {process_id}"
        );
    }

    // A sensitive variable reads back as in fixture `variable-set.json`: `"Value": null`,
    // `"Type": "Sensitive"`, `"IsSensitive": true`, with the fixture's fields; others keep
    // their values, scoped as in the fixture (`{"Environment": [...]}`).
    let set_fixture = fixture("variable-set.json")?;
    let sensitive_fixture = &set_fixture["Variables"][2];
    assert_eq!(sensitive_fixture["Type"], json!("Sensitive"));
    for set in [
        format!("variableset-{project}"),
        variables_snapshot.to_owned(),
    ] {
        let doc = c.one(
            &s,
            &format!("{SPACE}/variables/{set}"),
            "VariableSetResource",
        )?;
        let secret = variable(&doc, "Db.Password", &json!({"Environment": [dev, test]}))?;
        assert_eq!(keys(secret), keys(sensitive_fixture), "{secret}");
        for field in ["Value", "Type", "IsSensitive"] {
            assert_eq!(
                secret[field], sensitive_fixture[field],
                "{field} of {secret}"
            );
        }
        let plain = variable(&doc, "Greeting", &json!({}))?;
        assert_eq!(
            (&plain["Value"], &plain["IsSensitive"]),
            (&json!("Hello"), &json!(false))
        );
        let scoped = variable(&doc, "Greeting", &json!({"Environment": [prod]}))?;
        assert_eq!(scoped["Value"], json!("Good day"));
    }
    let library = c.one(
        &s,
        &format!("{SPACE}/variables/variableset-{}", sc.library),
        "VariableSetResource",
    )?;
    let token = variable(&library, "Shared.Token", &json!({}))?;
    for field in ["Value", "Type", "IsSensitive"] {
        assert_eq!(token[field], sensitive_fixture[field], "{field} of {token}");
    }

    // `ScopeValues` has the lists of fixture `variable-set.scope-values.json`, with names.
    let project_set = s.ok(&format!("{SPACE}/variables/variableset-{project}"))?;
    let scope_fixture = fixture("variable-set.scope-values.json")?;
    let scope_values = &project_set["ScopeValues"];
    assert_fields_of(
        "ScopeValues",
        scope_values,
        &scope_fixture["ScopeValues"],
        &[],
    );
    assert!(
        scope_values["Environments"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e == &json!({"Id": dev, "Name": "Development"})),
        "ScopeValues {scope_values}"
    );
    // No response of the scenario showed a secret (checked by `Checker`).
    c.finish(5);
    Ok(())
}
