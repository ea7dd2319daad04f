//! Projects. Creating one also creates its deployment process, its variable set and its
//! default channel, as Octopus does.

use serde_json::{Value, json};

use super::{find, must_exist, stamp, unique_name};
use crate::error::ApiResult;
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, strings, text};

/// The writable fields of `ProjectResource`.
const PROJECT: &[Field] = &[
    ("Name", Ty::Str),
    ("Slug", Ty::Str),
    ("Description", Ty::Str),
    ("ProjectGroupId", Ty::Str),
    ("LifecycleId", Ty::Str),
    ("IsDisabled", Ty::Bool),
    ("AutoCreateRelease", Ty::Bool),
    ("DefaultGuidedFailureMode", Ty::Str),
    ("DefaultToSkipIfAlreadyInstalled", Ty::Bool),
    ("DiscreteChannelRelease", Ty::Bool),
    ("IncludedLibraryVariableSetIds", Ty::Array),
    ("TenantedDeploymentMode", Ty::Str),
    ("Templates", Ty::Array),
    ("ReleaseNotesTemplate", Ty::Str),
    ("DeploymentChangesTemplate", Ty::Str),
    ("IsVersionControlled", Ty::Bool),
    ("VersionControlSettings", Ty::Object),
    ("VersioningStrategy", Ty::Object),
    ("ProjectConnectivityPolicy", Ty::Object),
    ("AutoDeployReleaseOverrides", Ty::Array),
    ("ReleaseCreationStrategy", Ty::Object),
    ("ExtensionSettings", Ty::Array),
    ("ClonedFromProjectId", Ty::Str),
];

/// Creates a project with its process, variable set and default channel.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(Kind::Project);
    let doc = save(store, space, &id, body)?;
    let process_id = format!("deploymentprocess-{id}");
    store.insert(
        Kind::DeploymentProcess,
        super::processes::empty(&process_id, &id, space),
    );
    let set_id = format!("variableset-{id}");
    store.insert(
        Kind::VariableSet,
        super::variables::empty(&set_id, &id, space),
    );
    let channel_id = store.next_id(Kind::Channel);
    let channel = fields::take(
        &json!({"Name": "Default", "ProjectId": id, "IsDefault": true}),
        super::simple::CHANNEL,
    )?;
    super::simple::save_channel(store, space, &channel_id, channel)?;
    Ok(doc)
}

/// Replaces a project's settings (its process and variables have their own routes).
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::Project, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    save(store, space, &id, body)
}

/// Deletes a project with its process, variables, channels and releases.
pub fn delete(store: &mut Store, space: &str, id: &str) -> ApiResult<()> {
    let id = text(find(store, Kind::Project, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    store.remove(Kind::Project, &id);
    super::tenants::forget(store, Kind::Project, &id);
    super::tenant_values::forget(store, "ProjectId", &id);
    store.remove(Kind::DeploymentProcess, &format!("deploymentprocess-{id}"));
    let set = format!("variableset-{id}");
    store.remove(Kind::VariableSet, &set);
    store.clear_secrets(&set);
    for kind in [Kind::Channel, Kind::Release, Kind::ProjectTrigger] {
        let owned = store.ids_where(kind, |d| text(d, "ProjectId") == Some(id.as_str()));
        for doc in owned {
            store.remove(kind, &doc);
        }
    }
    // Its runbooks go with it, with their processes and snapshots (runs stay, as deployments
    // do, beside their tasks).
    for kind in [Kind::Runbook, Kind::RunbookProcess, Kind::RunbookSnapshot] {
        let owned = store.ids_where(kind, |d| text(d, "ProjectId") == Some(id.as_str()));
        for doc in owned {
            store.remove(kind, &doc);
        }
    }
    Ok(())
}

fn save(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, PROJECT)?;
    super::templates::normalise(&mut doc, store.get(Kind::Project, id))?;
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, Kind::Project, space, &name, Some(id), |_| true)?;
    let group = fields::required_text(&doc, "ProjectGroupId")?;
    must_exist(store, Kind::ProjectGroup, space, "ProjectGroupId", &group)?;
    let lifecycle = fields::required_text(&doc, "LifecycleId")?;
    must_exist(store, Kind::Lifecycle, space, "LifecycleId", &lifecycle)?;
    for set in strings(&doc, "IncludedLibraryVariableSetIds") {
        must_exist(
            store,
            Kind::LibraryVariableSet,
            space,
            "IncludedLibraryVariableSetIds",
            &set,
        )?;
    }
    if text(&doc, "Slug").is_none() {
        doc.insert("Slug".into(), json!(slug(&name)));
    }
    for (field, default) in [
        ("DefaultGuidedFailureMode", "EnvironmentDefault"),
        ("TenantedDeploymentMode", "Untenanted"),
    ] {
        if text(&doc, field).is_none() {
            doc.insert(field.into(), json!(default));
        }
    }
    // The Swagger enum `ProjectResource.TenantedDeploymentMode`.
    let mode = text(&doc, "TenantedDeploymentMode").unwrap_or("");
    if !["Untenanted", "TenantedOrUntenanted", "Tenanted"].contains(&mode) {
        return Err(crate::error::ApiError::invalid(format!(
            "TenantedDeploymentMode '{mode}' is not valid: use Untenanted, TenantedOrUntenanted or Tenanted."
        )));
    }
    if doc
        .get("ProjectConnectivityPolicy")
        .is_none_or(Value::is_null)
    {
        doc.insert(
            "ProjectConnectivityPolicy".into(),
            json!({"AllowDeploymentsToNoTargets": false, "ExcludeUnhealthyTargets": false, "SkipMachineBehavior": "None", "TargetRoles": []}),
        );
    }
    doc.insert(
        "DeploymentProcessId".into(),
        json!(format!("deploymentprocess-{id}")),
    );
    doc.insert("VariableSetId".into(), json!(format!("variableset-{id}")));
    stamp(
        &mut doc,
        Kind::Project,
        id,
        space,
        &[
            (
                "Releases",
                format!("/api/{space}/projects/{id}/releases{{/version}}{{?skip,take}}"),
            ),
            (
                "Channels",
                format!("/api/{space}/projects/{id}/channels{{?skip,take}}"),
            ),
            (
                "DeploymentProcess",
                format!("/api/{space}/deploymentprocesses/deploymentprocess-{id}"),
            ),
            (
                "Variables",
                format!("/api/{space}/variables/variableset-{id}"),
            ),
            ("Web", format!("/app#/{space}/projects/{id}")),
        ],
    );
    store.put(Kind::Project, doc.clone());
    Ok(doc)
}

/// Octopus's slug: lower case, runs of other characters as one dash.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}
