//! Deployment processes: steps, actions, packages and properties stored as given, with
//! sensitive properties kept out of the document, `Version` optimistic concurrency, and frozen
//! snapshots for releases.
//!
//! A property is a string, or for a sensitive one `{"HasValue": true, "NewValue": "..."}`
//! when set; it is read back as `{"HasValue": true, "NewValue": null}`. Sending
//! `{"HasValue": true, "NewValue": null}` keeps the stored value of the same action (matched by
//! action `Id`); `{"HasValue": false}` clears it.

use serde_json::{Map, Value, json};

use super::{find, stamp};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, new_guid, random_suffix, text};

/// The writable fields of `DeploymentStepResource`.
const STEP: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("PackageRequirement", Ty::Str),
    ("Properties", Ty::Map),
    ("Condition", Ty::Str),
    ("StartTrigger", Ty::Str),
    ("Actions", Ty::Array),
    // Sent by servers since 2022 (issue 11): kept, not dropped.
    ("Type", Ty::Str),
];

/// The writable fields of `DeploymentActionResource`.
const ACTION: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("Slug", Ty::Str),
    ("ActionType", Ty::Str),
    ("Notes", Ty::Str),
    ("IsDisabled", Ty::Bool),
    ("IsRequired", Ty::Bool),
    ("CanBeUsedForProjectVersioning", Ty::Bool),
    ("Condition", Ty::Str),
    ("WorkerPoolId", Ty::Str),
    ("WorkerPoolVariable", Ty::Str),
    ("Container", Ty::Object),
    ("Environments", Ty::Array),
    ("ExcludedEnvironments", Ty::Array),
    ("Channels", Ty::Array),
    ("TenantTags", Ty::Array),
    ("Packages", Ty::Array),
    ("Properties", Ty::Map),
    // Newer than the 2020.5 Swagger (go-octopusdeploy `deployments/deployment_action.go`).
    ("GitDependencies", Ty::Array),
    ("Inputs", Ty::Object),
    ("StepPackageVersion", Ty::Str),
];

/// The writable fields of `PackageReference`.
const PACKAGE: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("PackageId", Ty::Str),
    ("FeedId", Ty::Str),
    ("AcquisitionLocation", Ty::Str),
    ("Properties", Ty::Map),
    // Newer than the 2020.5 Swagger (OctopusClients `PackageReference`).
    ("StepPackageInputsReferenceId", Ty::Str),
];

/// Fields newer than the 2020.5 Swagger: kept when a client sends them (a modern server
/// stores them), never added with a default to a document that did not have them (the
/// contract tests hold the stand-in to the 2020.5 definitions for everything else).
const MODERN: &[&str] = &[
    "Type",
    "GitDependencies",
    "Inputs",
    "StepPackageVersion",
    "StepPackageInputsReferenceId",
];

/// [`fields::take`], without the [`MODERN`] fields `given` does not hold.
fn take(given: &Value, table: &[Field]) -> ApiResult<Doc> {
    let mut doc = fields::take(given, table)?;
    for field in MODERN {
        if given.get(*field).is_none_or(Value::is_null) {
            doc.remove(*field);
        }
    }
    Ok(doc)
}

/// The process a new project starts with: no steps, `Version` 0.
pub fn empty(id: &str, project: &str, space: &str) -> Doc {
    let mut doc = Map::new();
    doc.insert("ProjectId".into(), json!(project));
    doc.insert("Steps".into(), json!([]));
    doc.insert("Version".into(), json!(0));
    doc.insert("LastSnapshotId".into(), Value::Null);
    stamp(
        &mut doc,
        Kind::DeploymentProcess,
        id,
        space,
        &[("Project", format!("/api/{space}/projects/{project}"))],
    );
    doc
}

/// The process a new runbook starts with (`RunbookProcess-{runbookId}`): no steps, `Version` 0.
pub fn empty_runbook(runbook: &str, project: &str, space: &str) -> Doc {
    let id = format!("RunbookProcess-{runbook}");
    let mut doc = Map::new();
    doc.insert("ProjectId".into(), json!(project));
    doc.insert("RunbookId".into(), json!(runbook));
    doc.insert("Steps".into(), json!([]));
    doc.insert("Version".into(), json!(0));
    doc.insert("LastSnapshotId".into(), Value::Null);
    stamp(
        &mut doc,
        Kind::RunbookProcess,
        &id,
        space,
        &[
            ("Project", format!("/api/{space}/projects/{project}")),
            ("Runbook", format!("/api/{space}/runbooks/{runbook}")),
        ],
    );
    doc
}

/// The runbook process `id` of `project` (`projects/{projectId}/runbookProcesses/{id}`, the
/// api-client's `runbookProcessRepository.js`): a process of another project is not found.
pub fn runbook_process_in(store: &Store, space: &str, project: &str, id: &str) -> ApiResult<Doc> {
    let project = find(store, Kind::Project, space, project)?;
    let project_id = text(project, "Id").unwrap_or("");
    find(store, Kind::RunbookProcess, space, id)
        .ok()
        .filter(|p| text(p, "ProjectId") == Some(project_id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(Kind::RunbookProcess.noun(), id))
}

/// `PUT /api/{space}/deploymentprocesses/{id}`.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    update_of(store, Kind::DeploymentProcess, space, id, body)
}

/// `PUT` of a deployment process or a runbook process (`runbookProcesses/{id}`): the same
/// steps and actions rules for both, as Octopus's `IProcess` (api-client
/// `deploymentProcesses`) is one shape with a `RunbookId` added for runbooks.
pub fn update_of(
    store: &mut Store,
    kind: Kind,
    space: &str,
    id: &str,
    body: &Value,
) -> ApiResult<Doc> {
    let current = find(store, kind, space, id)?.clone();
    refuse_frozen(store, kind, id)?;
    check_version(&current, body, kind.noun())?;
    super::variables::refuse_version_controlled(store, text(&current, "ProjectId"))?;
    let given = fields::object(body)?;
    let steps_in = match given.get("Steps") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(steps)) => steps.clone(),
        Some(_) => return Err(ApiError::invalid("The Steps field must be an array.")),
    };
    let old_secrets = store.secrets_of(id);
    let mut secrets = Vec::new();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    let mut step_names = Vec::new();
    let mut action_names = Vec::new();
    for step in &steps_in {
        let mut step = take(step, STEP)?;
        ensure_id(&mut step);
        let name = fields::required_text(&step, "Name")?;
        if step_names
            .iter()
            .any(|n: &String| n.eq_ignore_ascii_case(&name))
        {
            errors.push(format!(
                "Step names must be unique: '{name}' is used twice."
            ));
        }
        step_names.push(name);
        default_text(&mut step, "Condition", "Success");
        default_text(&mut step, "StartTrigger", "StartAfterPrevious");
        default_text(&mut step, "PackageRequirement", "LetOctopusDecide");
        check_properties(&step, "step", &mut errors);
        let mut actions = Vec::new();
        let actions_in = step
            .get("Actions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if actions_in.is_empty() {
            errors.push(format!(
                "Step '{}' has no actions.",
                text(&step, "Name").unwrap_or("")
            ));
        }
        for action in &actions_in {
            let mut action = take(action, ACTION)?;
            ensure_id(&mut action);
            let action_id = text(&action, "Id").unwrap_or("").to_owned();
            let name = fields::required_text(&action, "Name")?;
            if action_names
                .iter()
                .any(|n: &String| n.eq_ignore_ascii_case(&name))
            {
                errors.push(format!(
                    "Action names must be unique: '{name}' is used twice."
                ));
            }
            action_names.push(name.clone());
            if text(&action, "ActionType").is_none_or(str::is_empty) {
                errors.push(format!("Action '{name}' has no ActionType."));
            }
            if text(&action, "Slug").is_none() {
                action.insert("Slug".into(), json!(super::projects::slug(&name)));
            }
            default_text(&mut action, "Condition", "Success");
            super::action_templates::check_action(store, space, &action, &name, &mut errors);
            let mut packages = Vec::new();
            for package in action
                .get("Packages")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let mut package = take(&package, PACKAGE)?;
                ensure_id(&mut package);
                if package.get("Name").is_none_or(Value::is_null) {
                    package.insert("Name".into(), json!(""));
                }
                default_text(&mut package, "AcquisitionLocation", "Server");
                match text(&package, "PackageId") {
                    Some(p) if !p.is_empty() => {}
                    _ => errors.push(format!("A package of action '{name}' has no PackageId.")),
                }
                match text(&package, "FeedId") {
                    Some(feed) if store.get(Kind::Feed, feed).is_some() => {}
                    // A feed chosen by a variable when the deployment runs (a real
                    // process: OctopusDeploy/docs "Managing space resources",
                    // `"FeedId": "#{Kubernetes.Deployment.Feed}"`).
                    Some(feed) if super::feeds::is_expression(feed) => {}
                    other => errors.push(format!(
                        "A package of action '{name}' refers to feed '{}', which does not exist.",
                        other.unwrap_or("")
                    )),
                }
                packages.push(Value::Object(package));
            }
            action.insert("Packages".into(), Value::Array(packages));
            super::references::check_action(store, space, &action, &mut errors);
            take_sensitive(
                &mut action,
                &action_id,
                &old_secrets,
                &mut secrets,
                &mut errors,
            );
            action.insert("Links".into(), json!({}));
            actions.push(Value::Object(action));
        }
        step.insert("Actions".into(), Value::Array(actions));
        steps.push(Value::Object(step));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    let mut doc = current.clone();
    doc.insert("Steps".into(), Value::Array(steps));
    doc.insert(
        "Version".into(),
        json!(version_of(&current).saturating_add(1)),
    );
    doc.insert("LastModifiedOn".into(), json!(crate::store::now()));
    store.clear_secrets(id);
    for (key, value) in secrets {
        store.set_secret(id, &key, Some(value));
    }
    store.put(kind, doc.clone());
    Ok(doc)
}

/// Freezes a copy of a live process (or variable set) for a release; returns the snapshot id
/// (`deploymentprocess-Projects-1-s-4-XXGLW`, fixture `deployment.json`).
pub fn snapshot(store: &mut Store, kind: Kind, id: &str) -> ApiResult<String> {
    let mut doc = store.require(kind, id)?.clone();
    let version = version_of(&doc);
    let snapshot_id = format!("{id}-s-{version}-{}", random_suffix());
    let space = text(&doc, "SpaceId")
        .unwrap_or(crate::store::DEFAULT_SPACE)
        .to_owned();
    doc.insert("Id".into(), json!(snapshot_id));
    doc.insert(
        "Links".into(),
        json!({"Self": format!("/api/{space}/{}/{snapshot_id}", kind.segment())}),
    );
    let process = matches!(kind, Kind::DeploymentProcess | Kind::RunbookProcess);
    if process {
        doc.insert("LastSnapshotId".into(), Value::Null);
    }
    for (key, value) in store.secrets_of(id) {
        store.set_secret(&snapshot_id, &key, Some(value));
    }
    store.insert(kind, doc);
    store.freeze(&snapshot_id);
    if let Some(live) = store.get_mut(kind, id).filter(|_| process) {
        live.insert("LastSnapshotId".into(), json!(snapshot_id));
    }
    Ok(snapshot_id)
}

/// A snapshot refuses every change.
pub fn refuse_frozen(store: &Store, kind: Kind, id: &str) -> ApiResult<()> {
    if store.is_frozen(id) {
        let (taken, owner) = match kind {
            Kind::RunbookProcess => ("runbook snapshot", "runbook"),
            _ => ("release", "project"),
        };
        return Err(ApiError::bad_request(format!(
            "The {} '{id}' is a snapshot taken when a {taken} was created and cannot be modified. Change the {owner}'s {} instead; the change applies to {taken}s created afterwards.",
            kind.noun(),
            kind.noun()
        )));
    }
    Ok(())
}

/// Optimistic concurrency: a `PUT` must carry the `Version` it read.
pub fn check_version(current: &Doc, body: &Value, noun: &str) -> ApiResult<()> {
    let stored = version_of(current);
    match body.get("Version").and_then(Value::as_i64) {
        Some(sent) if sent == stored => Ok(()),
        Some(_) => Err(ApiError::invalid(stale_message(noun))),
        None => Err(ApiError::invalid(format!(
            "The Version field is required: send back the Version of the {noun} you loaded."
        ))),
    }
}

/// Octopus's text for a stale `Version` (the Swagger spec's 400 descriptions of
/// `PUT deploymentprocesses/{id}` and `PUT variables/{id}`).
fn stale_message(noun: &str) -> String {
    if noun == "runbook process" {
        // Octopus's text for a deployment process, said of the runbook's process.
        "Changes to this runbook process could not be saved, because another user has made changes to the runbook process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.".to_owned()
    } else if noun == "variable set" {
        "Changes to these variables could not be saved, because another user has made changes to the variables between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.".to_owned()
    } else {
        "Changes to this deployment process could not be saved, because another user has made changes to the deployment process between when you started editing and when you saved your changes. Please reload or open a new tab to make your changes.".to_owned()
    }
}

/// The document's `Version`.
pub fn version_of(doc: &Doc) -> i64 {
    doc.get("Version").and_then(Value::as_i64).unwrap_or(0)
}

fn ensure_id(doc: &mut Doc) {
    if text(doc, "Id").is_none_or(str::is_empty) {
        doc.insert("Id".into(), json!(new_guid()));
    }
}

fn default_text(doc: &mut Doc, field: &str, value: &str) {
    if text(doc, field).is_none() {
        doc.insert(field.into(), json!(value));
    }
}

fn check_properties(doc: &Doc, what: &str, errors: &mut Vec<String>) {
    if let Some(props) = doc.get("Properties").and_then(Value::as_object) {
        for (key, value) in props {
            if !value.is_string() {
                errors.push(format!("The {what} property {key} must be a string."));
            }
        }
    }
}

/// Moves sensitive property values out of the action into `secrets` (keyed
/// `<actionId>/<property>`) and leaves `{"HasValue": .., "NewValue": null}` in their place.
fn take_sensitive(
    action: &mut Doc,
    action_id: &str,
    old: &std::collections::BTreeMap<String, String>,
    secrets: &mut Vec<(String, String)>,
    errors: &mut Vec<String>,
) {
    let Some(props) = action.get_mut("Properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in props.iter_mut() {
        let slot = format!("{action_id}/{key}");
        match value {
            Value::String(_) => {}
            Value::Object(sensitive) => {
                let has_value = sensitive.get("HasValue").and_then(Value::as_bool).unwrap_or(false);
                let kept = match sensitive.get("NewValue") {
                    Some(Value::String(new)) if has_value => Some(new.clone()),
                    None | Some(Value::Null) if has_value => old.get(&slot).cloned(),
                    _ => None,
                };
                let has = kept.is_some();
                if let Some(secret) = kept {
                    secrets.push((slot, secret));
                }
                *value = json!({"HasValue": has, "NewValue": Value::Null});
            }
            _ => errors.push(format!(
                "The action property {key} must be a string, or {{\"HasValue\", \"NewValue\"}} for a sensitive value."
            )),
        }
    }
}

/// The id of the live deployment process of project `project` (an id or slug) in `space`, for
/// `projects/{id}/deploymentprocesses`: the same document as `deploymentprocesses/{id}`.
pub fn of_project(store: &Store, space: &str, project: &str) -> ApiResult<String> {
    let project = find(store, Kind::Project, space, project)?;
    Ok(format!(
        "deploymentprocess-{}",
        text(project, "Id").unwrap_or("")
    ))
}
