//! What Octopus starts by itself, and the stand-in with it:
//!
//! ```text
//! release created ──────────────────┐
//! deployment succeeded ─────────────┤──> deploy_due: each phase in order, its
//!                                   │    AutomaticDeploymentTargets not yet deployed
//!                                   │    -> POST deployments (the same rules as a person's);
//!                                   │    stop after the first phase not complete
//! package pushed to the built-in ───┘
//!   feed ──> release_on_push: each project with AutoCreateRelease whose
//!            ReleaseCreationStrategy.ReleaseCreationPackage is that package
//!            -> POST releases (then deploy_due)
//! ```
//!
//! Sources: Octopus documentation "Lifecycles" ("Automatic deployment: deploy to this
//! environment automatically when the release enters this phase"), Swagger
//! `PhaseResource.AutomaticDeploymentTargets`; "Built-in feed triggers" / "Automatic release
//! creation" (a package pushed to the built-in feed creates a release), Swagger
//! `ProjectResource.AutoCreateRelease`, `ReleaseCreationStrategyResource.ReleaseCreationPackage`
//! (`DeploymentActionPackageResource`: `DeploymentAction`, `PackageReference`), go-octopusdeploy
//! `projects.ReleaseCreationStrategy`, the Terraform provider's `octopusdeploy_built_in_trigger`.

use serde_json::{Value, json};

use super::deployments::{lifecycle_of, phase_complete};
use crate::kind::Kind;
use crate::params::Params;
use crate::store::{BUILTIN_FEED, Doc, Store, items, strings, text};

/// Starts the automatic deployments a release is due: returns the deployments created.
/// A deployment Octopus would refuse (a tenanted-only project, a required prompted variable
/// without a value) is not created, as Octopus does not start it either.
pub fn deploy_due(store: &mut Store, space: &str, release_id: &str) -> Vec<String> {
    let mut created = Vec::new();
    let Some(release) = store.get(Kind::Release, release_id).cloned() else {
        return created;
    };
    let Some(lifecycle) = lifecycle_of(store, &release) else {
        return created;
    };
    for phase in items(&lifecycle, "Phases") {
        let Some(phase) = phase.as_object() else {
            continue;
        };
        for env in strings(phase, "AutomaticDeploymentTargets") {
            let deployed = store.all(Kind::Deployment).iter().any(|d| {
                text(d, "ReleaseId") == Some(release_id) && text(d, "EnvironmentId") == Some(&env)
            });
            if deployed {
                continue;
            }
            let body = json!({
                "ReleaseId": release_id,
                "EnvironmentId": env,
                "Comments": format!(
                    "Automatic deployment: lifecycle '{}', phase '{}'.",
                    text(&lifecycle, "Name").unwrap_or(""),
                    text(phase, "Name").unwrap_or("")
                ),
            });
            if let Ok(doc) = super::deployments::create(store, space, &body)
                && let Some(id) = text(&doc, "Id")
            {
                created.push(id.to_owned());
            }
        }
        if !phase_complete(store, release_id, phase) {
            break;
        }
    }
    created
}

/// After a new package `package_id` `version` arrived in the built-in feed: creates a release
/// of every project that creates releases from that package, and starts what each is due.
/// Returns the releases created.
pub fn release_on_push(
    store: &mut Store,
    space: &str,
    package_id: &str,
    version: &str,
) -> Vec<String> {
    let projects: Vec<Doc> = store
        .all(Kind::Project)
        .iter()
        .filter(|p| {
            text(p, "SpaceId") == Some(space)
                && p.get("AutoCreateRelease") == Some(&Value::Bool(true))
                && p.get("IsDisabled") != Some(&Value::Bool(true))
        })
        .cloned()
        .collect();
    let mut created = Vec::new();
    for project in projects {
        let Some(body) = release_body(store, &project, package_id, version) else {
            continue;
        };
        if let Ok(doc) = super::releases::create(store, space, &body, &Params::default())
            && let Some(id) = text(&doc, "Id").map(str::to_owned)
        {
            deploy_due(store, space, &id);
            created.push(id);
        }
    }
    created
}

/// The release `project` creates for the pushed package, if its strategy names it: version
/// the package's, that package selected at it, every other built-in package at its latest.
fn release_body(store: &Store, project: &Doc, package_id: &str, version: &str) -> Option<Value> {
    let strategy = project.get("ReleaseCreationStrategy")?.as_object()?;
    let wanted = strategy.get("ReleaseCreationPackage")?.as_object()?;
    let step = wanted.get("DeploymentAction")?.as_str()?;
    let reference = wanted
        .get("PackageReference")
        .and_then(Value::as_str)
        .unwrap_or("");
    let project_id = text(project, "Id")?;
    let process = store.get(
        Kind::DeploymentProcess,
        &format!("deploymentprocess-{project_id}"),
    )?;
    let mut matched = false;
    let mut selected = Vec::new();
    for action in items(process, "Steps")
        .flat_map(|s| {
            s.get("Actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_object)
        .filter(|a| a.get("IsDisabled") != Some(&Value::Bool(true)))
    {
        let action_name = text(action, "Name").unwrap_or("");
        for package in items(action, "Packages").filter_map(Value::as_object) {
            let name = text(package, "Name").unwrap_or("");
            let id = text(package, "PackageId").unwrap_or("");
            let builtin = text(package, "FeedId") == Some(BUILTIN_FEED);
            let chosen = if action_name == step && name == reference {
                if id != package_id || !builtin {
                    return None;
                }
                matched = true;
                version.to_owned()
            } else if builtin {
                latest(store, id)?
            } else {
                // An external feed the stand-in cannot search: Octopus would pick its latest
                // version; the stand-in creates no release rather than guess one.
                return None;
            };
            selected.push(json!({
                "ActionName": action_name,
                "PackageReferenceName": name,
                "Version": chosen,
            }));
        }
    }
    let taken = store.all(Kind::Release).iter().any(|r| {
        text(r, "ProjectId") == Some(project_id)
            && text(r, "Version").is_some_and(|v| v.eq_ignore_ascii_case(version))
    });
    if !matched || taken {
        return None;
    }
    let mut body = json!({
        "ProjectId": project_id,
        "Version": version,
        "SelectedPackages": selected,
        "ReleaseNotes": format!("Created automatically when {package_id} {version} was pushed to the built-in feed."),
    });
    if let (Some(channel), Some(map)) = (
        strategy
            .get("ChannelId")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty()),
        body.as_object_mut(),
    ) {
        map.insert("ChannelId".into(), json!(channel));
    }
    Some(body)
}

/// The highest version of a package in the built-in feed.
pub fn latest(store: &Store, package_id: &str) -> Option<String> {
    store
        .all(Kind::Package)
        .iter()
        .filter(|p| text(p, "PackageId") == Some(package_id))
        .filter_map(|p| text(p, "Version"))
        .max_by(|a, b| super::packages::compare_versions(a, b))
        .map(str::to_owned)
}
