//! Releases: snapshots of the process and variables frozen at creation, selected packages
//! checked against the process, duplicate versions refused.

use serde_json::json;

use crate::harness::{Standin, TestResult, expect, id, package_step, script_step};

#[test]
fn a_release_freezes_the_process_and_variables_it_was_created_from() -> TestResult {
    let standin = Standin::start()?;
    let library = standin.create(
        "/api/Spaces-1/libraryvariablesets",
        &json!({"Name": "Common"}),
    )?;
    let project = id(&standin.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Payments API", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "IncludedLibraryVariableSetIds": [library["Id"]]}),
    )?)?;
    standin.set_steps(&project, json!([script_step("Migrate", "echo v1")]))?;
    standin.set_variables(&project, json!([{"Name": "Color", "Value": "blue"}]))?;
    let release = standin.release(&project, "1.4.0", json!([]))?;
    let process_snapshot = release["ProjectDeploymentProcessSnapshotId"]
        .as_str()
        .ok_or("no process snapshot")?;
    let variables_snapshot = release["ProjectVariableSetSnapshotId"]
        .as_str()
        .ok_or("no variable snapshot")?;
    assert!(
        process_snapshot.starts_with(&format!("deploymentprocess-{project}-s-1-")),
        "{process_snapshot}"
    );
    assert!(
        variables_snapshot.starts_with(&format!("variableset-{project}-s-1-")),
        "{variables_snapshot}"
    );
    assert_eq!(
        release["LibraryVariableSetSnapshotIds"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        release["ChannelId"],
        standin.ok(&format!("/api/Spaces-1/projects/{project}/channels"))?["Items"][0]["Id"]
    );
    // Changing the live project afterwards leaves the snapshots alone.
    standin.set_steps(&project, json!([script_step("Migrate", "echo v2")]))?;
    standin.set_variables(&project, json!([{"Name": "Color", "Value": "green"}]))?;
    let frozen = standin.ok(&format!(
        "/api/Spaces-1/deploymentprocesses/{process_snapshot}"
    ))?;
    assert_eq!(
        frozen["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Script.ScriptBody"],
        "echo v1"
    );
    let frozen_vars = standin.ok(&format!("/api/Spaces-1/variables/{variables_snapshot}"))?;
    assert_eq!(frozen_vars["Variables"][0]["Value"], "blue");
    // Changing a snapshot is refused.
    let mut edited = frozen.clone();
    edited["Steps"] = json!([]);
    let refused = expect(
        standin.put(
            &format!("/api/Spaces-1/deploymentprocesses/{process_snapshot}"),
            &edited,
        )?,
        400,
    )?;
    assert!(
        refused["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("snapshot")),
        "{refused}"
    );
    expect(
        standin.put(
            &format!("/api/Spaces-1/variables/{variables_snapshot}"),
            &frozen_vars,
        )?,
        400,
    )?;
    // So is pointing the release at other snapshots.
    let mut repointed = release.clone();
    repointed["ProjectDeploymentProcessSnapshotId"] = json!(format!("deploymentprocess-{project}"));
    expect(
        standin.put(
            &format!("/api/Spaces-1/releases/{}", id(&release)?),
            &repointed,
        )?,
        400,
    )?;
    // Notes may change.
    let mut noted = release.clone();
    noted["ReleaseNotes"] = json!("Fixes the rounding bug.");
    let noted = expect(
        standin.put(&format!("/api/Spaces-1/releases/{}", id(&release)?), &noted)?,
        200,
    )?;
    assert_eq!(noted["ReleaseNotes"], "Fixes the rounding bug.");
    assert_eq!(
        noted["ProjectDeploymentProcessSnapshotId"],
        process_snapshot
    );
    Ok(())
}

#[test]
fn selected_packages_are_checked_against_the_process() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Ledger Worker", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([package_step("Deploy worker", "Ledger.Worker")]),
    )?;
    let missing = expect(
        standin.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": "2.0.3", "SelectedPackages": []}),
        )?,
        400,
    )?;
    assert!(
        missing["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("Ledger.Worker") && e.contains("Deploy worker")),
        "{missing}"
    );
    let versionless = expect(
        standin.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": "2.0.3", "SelectedPackages": [{"ActionName": "Deploy worker", "Version": ""}]}),
        )?,
        400,
    )?;
    assert!(
        versionless["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("No version")),
        "{versionless}"
    );
    let stranger = expect(
        standin.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": "2.0.3", "SelectedPackages": [
                {"ActionName": "Deploy worker", "PackageReferenceName": "", "Version": "2.0.3"},
                {"ActionName": "No such step", "PackageReferenceName": "", "Version": "1.0.0"}
            ]}),
        )?,
        400,
    )?;
    assert!(
        stranger["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("No such step")),
        "{stranger}"
    );
    let release = standin.release(
        &project,
        "2.0.3",
        json!([{"ActionName": "Deploy worker", "Version": "2.0.3"}]),
    )?;
    assert_eq!(
        release["SelectedPackages"],
        json!([{"StepName": "Deploy worker", "ActionName": "Deploy worker", "PackageReferenceName": "", "Version": "2.0.3"}])
    );
    Ok(())
}

#[test]
fn a_duplicate_version_is_refused_and_releases_are_found_by_version() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Fraud Rules", "Lifecycles-1")?;
    let release = standin.release(&project, "3.1.0", json!([]))?;
    let duplicate = expect(
        standin.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": "3.1.0"}),
        )?,
        400,
    )?;
    assert_eq!(
        duplicate["ErrorMessage"],
        "There was a problem with your request."
    );
    assert_eq!(
        duplicate["Errors"][0],
        "Release '3.1.0' already exists for this project. Please use a different version, or look at using a mask to auto-increment the number."
    );
    let found = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases/3.1.0"))?;
    assert_eq!(found["Id"], release["Id"]);
    let found = standin.ok("/api/Spaces-1/projects/fraud-rules/releases/3.1.0")?;
    assert_eq!(found["Id"], release["Id"]);
    expect(
        standin.get(&format!("/api/Spaces-1/projects/{project}/releases/9.9.9"))?,
        404,
    )?;
    // Path segments are percent-decoded, and a `+` stays a `+` (SemVer build metadata).
    let build = standin.release(&project, "3.2.0+build.7", json!([]))?;
    for path in ["3.2.0+build.7", "3.2.0%2Bbuild.7"] {
        let found = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases/{path}"))?;
        assert_eq!(found["Id"], build["Id"], "{path}");
    }
    let list = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?;
    assert_eq!(list["ItemType"], "Release");
    assert_eq!(list["TotalResults"], 2);
    assert_eq!(list["Items"][0]["Version"], "3.2.0+build.7", "newest first");
    Ok(())
}

#[test]
fn a_deployed_release_takes_new_notes_but_keeps_its_snapshots() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    let data = data.to_str().ok_or("path is not UTF-8")?;
    // Held to the 2020.5 Swagger spec below (`conforms`), so behaving as that server.
    let standin = Standin::start_with(&["--data", data, "--profile", "2020.5"])?;
    let env = standin.environment("Development")?;
    let project = standin.project("Fraud Rules", "Lifecycles-1")?;
    standin.set_steps(&project, json!([script_step("Validate", "echo valid")]))?;
    let release = standin.create(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "3.14.0", "ReleaseNotes": "- New rules."}),
    )?;
    let path = format!("/api/Spaces-1/releases/{}", id(&release)?);
    let task = standin.deploy(&id(&release)?, &env)?["TaskId"]
        .as_str()
        .ok_or("no TaskId")?
        .to_owned();
    let done = standin.wait_for_task(&task, std::time::Duration::from_secs(30))?;
    assert_eq!(done["State"], "Success");

    // Everything as read, only the notes changed: accepted, and nothing else moves.
    let read = standin.ok(&path)?;
    let mut edited = read.clone();
    edited["ReleaseNotes"] =
        json!("- New rules.\n\nDeployed to Development: task failed on R-114.");
    let saved = expect(standin.put(&path, &edited)?, 200)?;
    crate::swagger::conforms("ReleaseResource", &saved)?;
    let unchanged = |doc: &serde_json::Value| {
        let mut doc = doc.clone();
        if let Some(o) = doc.as_object_mut() {
            for volatile in ["ReleaseNotes", "LastModifiedOn", "LastModifiedBy"] {
                o.remove(volatile);
            }
        }
        doc
    };
    assert_eq!(unchanged(&saved), unchanged(&read));
    assert_eq!(saved["ReleaseNotes"], edited["ReleaseNotes"]);
    // The frozen fields stay refused, one at a time, and leave the release as it was.
    for (field, value) in [
        (
            "ProjectDeploymentProcessSnapshotId",
            json!(format!("deploymentprocess-{project}")),
        ),
        (
            "ProjectVariableSetSnapshotId",
            json!(format!("variableset-{project}")),
        ),
        (
            "LibraryVariableSetSnapshotIds",
            json!(["variableset-LibraryVariableSets-1"]),
        ),
        ("ProjectId", json!("Projects-99")),
    ] {
        let mut changed = saved.clone();
        changed[field] = value;
        changed["ReleaseNotes"] = json!("should not be saved");
        let refused = expect(standin.put(&path, &changed)?, 400)?;
        assert!(
            refused["ErrorMessage"].as_str().is_some_and(
                |m| m.starts_with(&format!("{field} of release 3.14.0 cannot be changed"))
            ),
            "{refused}"
        );
    }
    assert_eq!(standin.ok(&path)?["ReleaseNotes"], edited["ReleaseNotes"]);
    // Persisted: it reads back after a restart, by id and by version.
    standin.kill()?;
    let standin = Standin::start_with(&["--data", data])?;
    assert_eq!(standin.ok(&path)?["ReleaseNotes"], edited["ReleaseNotes"]);
    let by_version = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases/3.14.0"))?;
    assert_eq!(by_version["ReleaseNotes"], edited["ReleaseNotes"]);
    let deployments = standin.ok(&format!("{path}/deployments"))?;
    assert_eq!(deployments["TotalResults"], 1);
    Ok(())
}
