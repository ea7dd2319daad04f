//! The payload shapes of the 2025 profile (`shapes`): the fields a current server adds to
//! projects and releases appear in every form they are read and written under `2025`, and
//! nowhere under `2020.5`; apart from them a 2025 document still validates against the 2020.5
//! Swagger definition (the contract tests hold `2020.5` to it exactly).

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::Spec;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The fields `shapes` adds, per Swagger definition, as `validate_allowing` paths.
const PROJECT_ADDS: &[&str] = &["$.PersistenceSettings"];
const RELEASE_ADDS: &[&str] = &["$.SelectedGitResources", "$.CustomFields"];

/// A project with one step and release 1.0.0 made through `releases/create/v1` (2025) or the
/// classic route (2020.5); returns (project id, release id).
fn scenario(s: &Standin, current: bool) -> Res<(String, String)> {
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    let release = if current {
        let created = expect(
            s.post(
                "/api/Spaces-1/releases/create/v1",
                &json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "CustomFields": {"Ticket": "CHG-7"}}),
            )?,
            200,
        )?;
        created["ReleaseId"]
            .as_str()
            .ok_or("no ReleaseId")?
            .to_owned()
    } else {
        id(&s.release(&project, "1.0.0", json!([]))?)?
    };
    Ok((project, release))
}

/// Every form a project and a release of the scenario are read or written in.
fn forms(s: &Standin, project: &str, release: &str) -> Res<Vec<(String, &'static str, Value)>> {
    let mut out = Vec::new();
    let project_path = format!("/api/Spaces-1/projects/{project}");
    out.push((
        project_path.clone(),
        "ProjectResource",
        s.ok(&project_path)?,
    ));
    out.push((
        "projects (list)".into(),
        "ProjectResource",
        s.ok("/api/Spaces-1/projects")?["Items"][0].clone(),
    ));
    out.push((
        "projects/all".into(),
        "ProjectResource",
        s.ok("/api/projects/all")?[0].clone(),
    ));
    let read = s.ok(&project_path)?;
    out.push((
        "PUT project".into(),
        "ProjectResource",
        expect(s.put(&project_path, &read)?, 200)?,
    ));
    let release_path = format!("/api/Spaces-1/releases/{release}");
    out.push((
        release_path.clone(),
        "ReleaseResource",
        s.ok(&release_path)?,
    ));
    out.push((
        "releases (list)".into(),
        "ReleaseResource",
        s.ok("/api/Spaces-1/releases")?["Items"][0].clone(),
    ));
    out.push((
        "projects/{id}/releases".into(),
        "ReleaseResource",
        s.ok(&format!("{project_path}/releases"))?["Items"][0].clone(),
    ));
    out.push((
        "projects/{id}/releases/1.0.0".into(),
        "ReleaseResource",
        s.ok(&format!("{project_path}/releases/1.0.0"))?,
    ));
    let mut edited = s.ok(&release_path)?;
    edited["ReleaseNotes"] = json!("Edited.");
    out.push((
        "PUT release".into(),
        "ReleaseResource",
        expect(s.put(&release_path, &edited)?, 200)?,
    ));
    Ok(out)
}

#[test]
fn the_2025_profile_adds_current_fields_to_projects_and_releases() -> TestResult {
    let s = Standin::start()?;
    let (project, release) = scenario(&s, true)?;
    let spec = Spec::load()?;
    for (what, definition, doc) in forms(&s, &project, &release)? {
        let allowed = if definition == "ProjectResource" {
            PROJECT_ADDS
        } else {
            RELEASE_ADDS
        };
        let problems = spec.validate_allowing(definition, &doc, allowed);
        assert!(problems.is_empty(), "{what}: {problems:?}");
        if definition == "ProjectResource" {
            assert_eq!(
                doc["PersistenceSettings"],
                json!({"Type": "Database"}),
                "{what}"
            );
            assert_eq!(
                doc["Links"]["DeploymentProcess"],
                format!("/api/Spaces-1/projects/{project}/deploymentprocesses"),
                "{what}"
            );
            assert!(
                doc["Links"]["Releases"]
                    .as_str()
                    .is_some_and(|l| l.ends_with("{?skip,take,searchByVersion}")),
                "{what}"
            );
        } else {
            assert_eq!(doc["SelectedGitResources"], json!([]), "{what}");
            assert_eq!(
                doc["CustomFields"],
                json!({"Ticket": "CHG-7"}),
                "{what}: kept through an edit too"
            );
        }
    }
    // The project's links lead where they say.
    let links = s.ok(&format!("/api/Spaces-1/projects/{project}"))?["Links"].clone();
    let process = s.ok(links["DeploymentProcess"].as_str().ok_or("no link")?)?;
    assert_eq!(process["Id"], format!("deploymentprocess-{project}"));
    // A release created the classic way has no custom fields; the Git resources are there.
    let plain = s.release(&project, "1.1.0", json!([]))?;
    assert_eq!(plain["SelectedGitResources"], json!([]));
    assert!(plain.get("CustomFields").is_none(), "{plain}");
    Ok(())
}

#[test]
fn the_2020_5_profile_shows_none_of_them() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let (project, release) = scenario(&s, false)?;
    let spec = Spec::load()?;
    for (what, definition, doc) in forms(&s, &project, &release)? {
        let problems = spec.validate(definition, &doc);
        assert!(problems.is_empty(), "{what}: {problems:?}");
        for field in [
            "PersistenceSettings",
            "SelectedGitResources",
            "CustomFields",
        ] {
            assert!(doc.get(field).is_none(), "{what} shows {field}");
        }
        if definition == "ProjectResource" {
            assert_eq!(
                doc["Links"]["DeploymentProcess"],
                format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}")
            );
        }
    }
    Ok(())
}

#[test]
fn the_root_document_links_the_current_user_on_both_profiles() -> TestResult {
    for profile in ["2020.5", "2025"] {
        let s = Standin::start_with(&["--profile", profile])?;
        let root = s.ok("/api")?;
        assert_eq!(root["Links"]["CurrentUser"], "/api/users/me", "{profile}");
        assert_eq!(s.ok("/api/users/me")?["Id"], "Users-1", "{profile}");
        let problems = Spec::load()?.validate("RootResource", &root);
        assert!(problems.is_empty(), "{profile}: {problems:?}");
    }
    // Under a path base, the link carries it.
    let s = Standin::start_with(&["--path-base", "/octopus"])?;
    assert_eq!(
        s.ok("/octopus/api")?["Links"]["CurrentUser"],
        "/octopus/api/users/me"
    );
    Ok(())
}

#[test]
fn custom_fields_through_the_classic_release_routes() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    let created = s.create(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.0.0", "CustomFields": {"Ticket": "CHG-1"}}),
    )?;
    assert_eq!(created["CustomFields"], json!({"Ticket": "CHG-1"}));
    let path = format!("/api/Spaces-1/releases/{}", id(&created)?);
    // A PUT that sends them changes them; one that leaves them out keeps them.
    let mut edited = s.ok(&path)?;
    edited["CustomFields"] = json!({"Ticket": "CHG-2", "Owner": "ops"});
    let saved = expect(s.put(&path, &edited)?, 200)?;
    assert_eq!(
        saved["CustomFields"],
        json!({"Ticket": "CHG-2", "Owner": "ops"})
    );
    let mut without = saved.clone();
    if let Some(map) = without.as_object_mut() {
        map.remove("CustomFields");
    }
    expect(s.put(&path, &without)?, 200)?;
    assert_eq!(s.ok(&path)?["CustomFields"]["Owner"], "ops");
    // Values must be strings; nothing is created or changed by a refused body.
    for bad in [json!({"Ticket": 1}), json!(["CHG-1"]), json!("CHG-1")] {
        let reply = s.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": project, "Version": "2.0.0", "CustomFields": bad}),
        )?;
        let body = expect(reply, 400)?;
        assert_eq!(
            body["Errors"][0],
            "The CustomFields field must be an object whose values are strings."
        );
        let mut changed = s.ok(&path)?;
        changed["CustomFields"] = bad.clone();
        assert_eq!(s.put(&path, &changed)?.status, 400);
    }
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?["TotalResults"],
        1
    );
    // A 2020.5 server has no such field: dropped, as any unknown field.
    let old = Standin::start_with(&["--profile", "2020.5"])?;
    let project = old.project("Payments API", "Lifecycles-1")?;
    let created = old.create(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.0.0", "CustomFields": {"Ticket": 1}}),
    )?;
    assert!(created.get("CustomFields").is_none(), "{created}");
    Ok(())
}
