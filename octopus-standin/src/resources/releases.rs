//! Releases: creating one freezes the project's current process and variables (and those of
//! its library variable sets) into snapshots, checks the selected package versions against
//! the process and against the channel's version rules (unless `IgnoreChannelRules`), and
//! refuses a version the project already has.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{find, must_exist, stamp};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::params::Params;
use crate::store::{Doc, Store, items, now, strings, text};

/// The writable fields of `ReleaseResource`.
const RELEASE: &[Field] = &[
    ("ProjectId", Ty::Str),
    ("ChannelId", Ty::Str),
    ("Version", Ty::Str),
    ("ReleaseNotes", Ty::Str),
    ("SelectedPackages", Ty::Array),
    ("BuildInformation", Ty::Array),
    ("IgnoreChannelRules", Ty::Bool),
    ("ProjectDeploymentProcessSnapshotId", Ty::Str),
    ("ProjectVariableSetSnapshotId", Ty::Str),
    ("LibraryVariableSetSnapshotIds", Ty::Array),
    ("VersionControlReference", Ty::Object),
];

/// The writable fields of `SelectedPackage`.
const SELECTED: &[Field] = &[
    ("StepName", Ty::Str),
    ("ActionName", Ty::Str),
    ("PackageReferenceName", Ty::Str),
    ("Version", Ty::Str),
];

/// `POST /api/{space}/releases`.
pub fn create(store: &mut Store, space: &str, body: &Value, params: &Params) -> ApiResult<Doc> {
    let mut doc = fields::take(body, RELEASE)?;
    let project_id = fields::required_text(&doc, "ProjectId")?;
    let project = find(store, Kind::Project, space, &project_id)?.clone();
    let project_id = text(&project, "Id").unwrap_or("").to_owned();
    if project.get("IsVersionControlled") == Some(&Value::Bool(true)) {
        return Err(ApiError::bad_request(format!(
            "The project '{}' is version controlled; a release of it must name a Git reference, which the stand-in does not serve.",
            text(&project, "Name").unwrap_or("")
        )));
    }
    let version = fields::required_text(&doc, "Version")?;
    unique_version(store, &project_id, &version, None)?;
    let channel = channel_of(store, space, &project_id, text(&doc, "ChannelId"))?;
    doc.insert("ChannelId".into(), json!(channel));
    let process_id = format!("deploymentprocess-{project_id}");
    let process = store.require(Kind::DeploymentProcess, &process_id)?.clone();
    let selected = check_packages(&process, &doc)?;
    check_feed_versions(store, space, &process, &selected)?;
    if let Some(ignore) = params.flag("ignoreChannelRules")? {
        doc.insert("IgnoreChannelRules".into(), json!(ignore));
    }
    if doc.get("IgnoreChannelRules") != Some(&Value::Bool(true)) {
        super::channel_rules::check_release(store.require(Kind::Channel, &channel)?, &selected)?;
    }
    // What a client sends is replaced: a server shows the build information it holds for the
    // selected versions, copied now (it does not change when build information is pushed later).
    let build_information = super::build_information::for_release(store, &process, &selected);
    doc.insert("BuildInformation".into(), Value::Array(build_information));
    doc.insert("SelectedPackages".into(), Value::Array(selected));
    let process_snapshot = super::processes::snapshot(store, Kind::DeploymentProcess, &process_id)?;
    let (variables_snapshot, library_snapshots) = freeze_variables(store, &project)?;
    doc.insert(
        "ProjectDeploymentProcessSnapshotId".into(),
        json!(process_snapshot),
    );
    doc.insert(
        "ProjectVariableSetSnapshotId".into(),
        json!(variables_snapshot),
    );
    doc.insert(
        "LibraryVariableSetSnapshotIds".into(),
        Value::Array(library_snapshots),
    );
    doc.insert("Assembled".into(), json!(now()));
    doc.insert("Version".into(), json!(version));
    if text(&doc, "ReleaseNotes").is_none() {
        doc.insert("ReleaseNotes".into(), json!(""));
    }
    let id = store.next_id(Kind::Release);
    let release_links = links(space, &id, &doc);
    stamp(&mut doc, Kind::Release, &id, space, &release_links);
    store.insert(Kind::Release, doc.clone());
    Ok(doc)
}

/// `PUT /api/{space}/releases/{id}`: notes, version, channel and package versions may change;
/// the snapshots may not.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let current = find(store, Kind::Release, space, id)?.clone();
    let id = text(&current, "Id").unwrap_or(id).to_owned();
    let mut doc = fields::take(body, RELEASE)?;
    for field in [
        "ProjectDeploymentProcessSnapshotId",
        "ProjectVariableSetSnapshotId",
        "LibraryVariableSetSnapshotIds",
        "ProjectId",
    ] {
        let sent = doc.get(field).filter(|v| !v.is_null() && *v != &json!([]));
        if sent.is_some_and(|v| Some(v) != current.get(field)) {
            return Err(ApiError::bad_request(format!(
                "{field} of release {} cannot be changed: a release's snapshots are frozen when it is created. Create a new release to pick up changes.",
                text(&current, "Version").unwrap_or("")
            )));
        }
        doc.insert(
            field.into(),
            current.get(field).cloned().unwrap_or(Value::Null),
        );
    }
    let project_id = text(&current, "ProjectId").unwrap_or("").to_owned();
    let version = fields::required_text(&doc, "Version")?;
    unique_version(store, &project_id, &version, Some(&id))?;
    let channel = channel_of(store, space, &project_id, text(&doc, "ChannelId"))?;
    doc.insert("ChannelId".into(), json!(channel));
    let process_id = text(&current, "ProjectDeploymentProcessSnapshotId")
        .unwrap_or("")
        .to_owned();
    let process = store.require(Kind::DeploymentProcess, &process_id)?.clone();
    let selected = check_packages(&process, &doc)?;
    check_feed_versions(store, space, &process, &selected)?;
    doc.insert("SelectedPackages".into(), Value::Array(selected));
    doc.insert(
        "Assembled".into(),
        current.get("Assembled").cloned().unwrap_or(Value::Null),
    );
    // Custom fields (2025, `releases/create/v1`) are not among the writable fields: kept.
    if let Some(custom) = current.get("CustomFields") {
        doc.insert("CustomFields".into(), custom.clone());
    }
    // Build information stays as it was when the release was created.
    doc.insert(
        "BuildInformation".into(),
        current
            .get("BuildInformation")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
    );
    let release_links = links(space, &id, &doc);
    stamp(&mut doc, Kind::Release, &id, space, &release_links);
    store.put(Kind::Release, doc.clone());
    Ok(doc)
}

/// `GET /api/{space}/projects/{id}/releases/{version}`.
pub fn by_version(app: &Arc<App>, space: &str, project: &str, version: &str) -> ApiResult<Value> {
    app.read(|s| {
        let project = find(s, Kind::Project, space, project)?;
        let project_id = text(project, "Id").unwrap_or("");
        s.all(Kind::Release)
            .iter()
            .find(|r| {
                text(r, "ProjectId") == Some(project_id)
                    && text(r, "Version").is_some_and(|v| v.eq_ignore_ascii_case(version))
            })
            .map(|r| Value::Object(r.clone()))
            .ok_or_else(|| ApiError::not_found("release", version))
    })
}

fn links(space: &str, id: &str, doc: &Doc) -> Vec<(&'static str, String)> {
    let project = text(doc, "ProjectId").unwrap_or("");
    let channel = text(doc, "ChannelId").unwrap_or("");
    vec![
        ("Project", format!("/api/{space}/projects/{project}")),
        ("Channel", format!("/api/{space}/channels/{channel}")),
        (
            "Deployments",
            format!("/api/{space}/releases/{id}/deployments{{?skip,take}}"),
        ),
        (
            "ProjectDeploymentProcessSnapshot",
            format!(
                "/api/{space}/deploymentprocesses/{}",
                text(doc, "ProjectDeploymentProcessSnapshotId").unwrap_or("")
            ),
        ),
        (
            "ProjectVariableSnapshot",
            format!(
                "/api/{space}/variables/{}",
                text(doc, "ProjectVariableSetSnapshotId").unwrap_or("")
            ),
        ),
        ("Web", format!("/app#/{space}/releases/{id}")),
    ]
}

fn unique_version(
    store: &Store,
    project: &str,
    version: &str,
    except: Option<&str>,
) -> ApiResult<()> {
    let taken = store.all(Kind::Release).iter().any(|r| {
        text(r, "ProjectId") == Some(project)
            && text(r, "Version").is_some_and(|v| v.eq_ignore_ascii_case(version))
            && text(r, "Id") != except
    });
    if taken {
        // The Swagger spec's 400 description of POST and PUT releases; OctopusDeploy/Issues
        // #5736 shows a 2023.1 server saying exactly this.
        return Err(ApiError::invalid(format!(
            "Release '{version}' already exists for this project. Please use a different version, or look at using a mask to auto-increment the number."
        )));
    }
    Ok(())
}

/// The release's channel: the one given (which must belong to the project) or the project's
/// default channel.
fn channel_of(store: &Store, space: &str, project: &str, given: Option<&str>) -> ApiResult<String> {
    match given {
        Some(channel) => {
            must_exist(store, Kind::Channel, space, "ChannelId", channel)?;
            let owner = store
                .get(Kind::Channel, channel)
                .and_then(|c| text(c, "ProjectId"));
            if owner != Some(project) {
                return Err(ApiError::invalid(format!(
                    "The channel '{channel}' does not belong to project '{project}'."
                )));
            }
            Ok(channel.to_owned())
        }
        None => store
            .all(Kind::Channel)
            .iter()
            .find(|c| {
                text(c, "ProjectId") == Some(project)
                    && c.get("IsDefault") == Some(&Value::Bool(true))
            })
            .and_then(|c| text(c, "Id").map(str::to_owned))
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "Project '{project}' has no default channel; name a ChannelId."
                ))
            }),
    }
}

/// Whether package selection `selected` is the one for package reference `reference` of
/// action `action` (Octopus's clients may name the step instead of the action).
pub fn selects(selected: &Doc, action: &str, reference: &str) -> bool {
    text(selected, "ActionName").or(text(selected, "StepName")) == Some(action)
        && text(selected, "PackageReferenceName").unwrap_or("") == reference
}

/// An action's package reference as `(name, package id)`: its `Name` (`""` for the primary
/// package) and its `PackageId`, each `""` when absent.
pub fn package_reference(package: &Value) -> (&str, &str) {
    let field = |name| package.get(name).and_then(Value::as_str).unwrap_or("");
    (field("Name"), field("PackageId"))
}

/// The version that the package selections `selected` (a release's `SelectedPackages`) give
/// package reference `reference` of action `action`, if any: the first that [`selects`] it.
pub fn selected_version<'a>(
    selected: impl IntoIterator<Item = &'a Value>,
    action: &str,
    reference: &str,
) -> Option<&'a str> {
    selected
        .into_iter()
        .filter_map(Value::as_object)
        .find(|s| selects(s, action, reference))
        .and_then(|s| text(s, "Version"))
}

/// Every package reference of every enabled action needs exactly one selected version; a
/// selection for a package the process does not have is refused.
pub(crate) fn check_packages(process: &Doc, release: &Doc) -> ApiResult<Vec<Value>> {
    let mut given = Vec::new();
    for selected in items(release, "SelectedPackages") {
        given.push(fields::take(selected, SELECTED)?);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut used = vec![false; given.len()];
    for step in items(process, "Steps") {
        let step_name = step.get("Name").and_then(Value::as_str).unwrap_or("");
        for action in items(step, "Actions") {
            if action.get("IsDisabled") == Some(&Value::Bool(true)) {
                continue;
            }
            let action_name = action.get("Name").and_then(Value::as_str).unwrap_or("");
            for package in items(action, "Packages") {
                let (reference, package_id) = package_reference(package);
                let found = given
                    .iter()
                    .enumerate()
                    .find(|(_, s)| selects(s, action_name, reference));
                match found {
                    Some((i, s)) if text(s, "Version").is_some_and(|v| !v.trim().is_empty()) => {
                        if let Some(slot) = used.get_mut(i) {
                            *slot = true;
                        }
                        out.push(json!({
                            "StepName": step_name,
                            "ActionName": action_name,
                            "PackageReferenceName": reference,
                            "Version": text(s, "Version"),
                        }));
                    }
                    _ => errors.push(format!(
                        "No version was selected for package {package_id} of step '{step_name}' (action '{action_name}'{}).",
                        if reference.is_empty() { String::new() } else { format!(", reference '{reference}'") }
                    )),
                }
            }
        }
    }
    for (s, used) in given.iter().zip(used) {
        if !used {
            errors.push(format!(
                "A version was selected for action '{}' package reference '{}', which the deployment process does not have.",
                text(s, "ActionName").or(text(s, "StepName")).unwrap_or(""),
                text(s, "PackageReferenceName").unwrap_or("")
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// Every selected version of a package on an external feed must be one the feed lists (its
/// seeded versions: see [`super::feeds`]); each missing one is named. Packages of the built-in
/// feed are checked when a deployment acquires them, and a feed given as a variable expression
/// is bound only then.
pub(crate) fn check_feed_versions(
    store: &Store,
    space: &str,
    process: &Doc,
    selected: &[Value],
) -> ApiResult<()> {
    let mut errors = Vec::new();
    for step in items(process, "Steps") {
        for action in items(step, "Actions") {
            let action_name = action.get("Name").and_then(Value::as_str).unwrap_or("");
            for package in items(action, "Packages") {
                let (reference, package_id) = package_reference(package);
                let feed_id = package.get("FeedId").and_then(Value::as_str).unwrap_or("");
                if feed_id == crate::store::BUILTIN_FEED
                    || super::feeds::is_expression(feed_id)
                    || super::feeds::is_expression(package_id)
                {
                    continue;
                }
                let Ok(feed) = find(store, Kind::Feed, space, feed_id) else {
                    continue;
                };
                if let Some(version) = selected_version(selected, action_name, reference)
                    && !super::feeds::has_version(store, feed, package_id, version)
                {
                    // The text of fixture `error.json`, with the feed named.
                    errors.push(format!(
                        "The package {package_id} version {version} was not found in the feed '{}'",
                        text(feed, "Name").unwrap_or(feed_id)
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// A release's `CustomFields` as a current server takes them (`--profile 2025`; go-octopusdeploy
/// `pkg/releases/release.go`, `CustomFields map[string]string`): `None` when the body has none
/// or the profile's server has no such field (2020.5 drops it, as it drops any unknown field);
/// anything but an object of strings is a 400.
pub fn custom_fields(profile: crate::profile::Profile, body: &Value) -> ApiResult<Option<Value>> {
    if !profile.is_current() {
        return Ok(None);
    }
    match body.get("CustomFields") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Ok(Some(Value::Object(map.clone())))
        }
        Some(_) => Err(ApiError::invalid(
            "The CustomFields field must be an object whose values are strings.",
        )),
    }
}

/// Stores `custom` as the `CustomFields` of release `id` (and of `doc`, its answer).
pub fn set_custom_fields(store: &mut Store, id: &str, doc: &mut Doc, custom: Option<Value>) {
    if let Some(custom) = custom {
        if let Some(stored) = store.get_mut(Kind::Release, id) {
            stored.insert("CustomFields".into(), custom.clone());
        }
        doc.insert("CustomFields".into(), custom);
    }
}

/// Freezes the project's variables, then those of each of its library variable sets, as
/// creating a release or a runbook snapshot does; returns the id of the project's snapshot
/// and those of the library sets' snapshots.
pub fn freeze_variables(store: &mut Store, project: &Doc) -> ApiResult<(String, Vec<Value>)> {
    let project_id = text(project, "Id").unwrap_or("");
    let variables = super::processes::snapshot(
        store,
        Kind::VariableSet,
        &format!("variableset-{project_id}"),
    )?;
    let mut library = Vec::new();
    for set in strings(project, "IncludedLibraryVariableSetIds") {
        let set_id = format!("variableset-{set}");
        library.push(json!(super::processes::snapshot(
            store,
            Kind::VariableSet,
            &set_id
        )?));
    }
    Ok((variables, library))
}
