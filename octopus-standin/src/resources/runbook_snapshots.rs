//! Runbook snapshots: a runbook's process and the project's variables frozen, as a release
//! freezes a deployment process (`processes::snapshot`), with the package versions the
//! runbook's steps use (`releases::check_packages`).
//!
//! Created by `POST runbookSnapshots` (2020.5 Swagger, `RunbookSnapshotResource`) or the
//! api-client's `POST projects/{projectId}/runbookSnapshots{?publish}` (api-client
//! `runbookSnapshotRepository.js`; 2025 only); on both, `publish=true` makes the new snapshot
//! the runbook's `PublishedRunbookSnapshotId` (OctopusDeploy/docs, REST example "Create and
//! publish a new runbook snapshot": `POST runbookSnapshots?publish=true`). A snapshot can also
//! be published by a `PUT` of the runbook naming it (the same example; OctopusDeploy/cli PR
//! #343). `runbookSnapshotTemplate` offers the next name and the packages a snapshot must
//! select, as that example reads it.
//!
//! Names are unique per runbook ("a runbook can have many snapshots, each with a unique
//! name", Octopus documentation, "Runbooks permissions"); the text of the refusal is the
//! stand-in's own.

use serde_json::{Value, json};

use super::{find, stamp};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, now, random_suffix, text};

/// The writable fields of `RunbookSnapshotResource`.
const SNAPSHOT: &[Field] = &[
    ("ProjectId", Ty::Str),
    ("RunbookId", Ty::Str),
    ("Name", Ty::Str),
    ("Notes", Ty::Str),
    ("SelectedPackages", Ty::Array),
];

/// `POST runbookSnapshots` and `POST projects/{projectId}/runbookSnapshots`: `project` is the
/// route's project (the body's `ProjectId` must then agree), `publish` the `?publish` flag.
pub fn create(
    store: &mut Store,
    space: &str,
    body: &Value,
    project: Option<&str>,
    publish: bool,
) -> ApiResult<Doc> {
    let mut doc = fields::take(body, SNAPSHOT)?;
    let runbook_id = fields::required_text(&doc, "RunbookId")?;
    let runbook = super::referred(store, Kind::Runbook, space, "RunbookId", &runbook_id)?.clone();
    let project_id = text(&runbook, "ProjectId").unwrap_or("").to_owned();
    if let Some(route_project) = project {
        let route_project = find(store, Kind::Project, space, route_project)?;
        if text(route_project, "Id") != Some(project_id.as_str()) {
            return Err(ApiError::invalid(format!(
                "The runbook '{runbook_id}' does not belong to project '{}'.",
                text(route_project, "Id").unwrap_or("")
            )));
        }
    }
    if let Some(given) = text(&doc, "ProjectId")
        && given != project_id
    {
        return Err(ApiError::invalid(format!(
            "ProjectId '{given}' is not the project of runbook '{runbook_id}' ({project_id})."
        )));
    }
    let name = fields::required_text(&doc, "Name")?;
    let clash = store.all(Kind::RunbookSnapshot).iter().any(|s| {
        text(s, "RunbookId") == Some(runbook_id.as_str())
            && text(s, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name))
    });
    if clash {
        return Err(ApiError::invalid(format!(
            "A runbook snapshot with the name '{name}' already exists for this runbook. Please choose a different name."
        )));
    }
    let project_doc = store.require(Kind::Project, &project_id)?.clone();
    let process_id = text(&runbook, "RunbookProcessId").unwrap_or("").to_owned();
    let process = store.require(Kind::RunbookProcess, &process_id)?.clone();
    let selected = super::releases::check_packages(&process, &doc)?;
    super::releases::check_feed_versions(store, space, &process, &selected)?;
    let frozen_process = super::processes::snapshot(store, Kind::RunbookProcess, &process_id)?;
    let (variables, library) = super::releases::freeze_variables(store, &project_doc)?;
    doc.insert("ProjectId".into(), json!(project_id));
    doc.insert("Name".into(), json!(name));
    if text(&doc, "Notes").is_none() {
        doc.insert("Notes".into(), json!(""));
    }
    doc.insert("SelectedPackages".into(), Value::Array(selected));
    doc.insert("FrozenRunbookProcessId".into(), json!(frozen_process));
    doc.insert("FrozenProjectVariableSetId".into(), json!(variables));
    // The field releases use, which the runner and the prompted-variable form read.
    doc.insert("ProjectVariableSetSnapshotId".into(), json!(variables));
    doc.insert(
        "LibraryVariableSetSnapshotIds".into(),
        Value::Array(library),
    );
    doc.insert("Assembled".into(), json!(now()));
    let id = store.next_id(Kind::RunbookSnapshot);
    stamp(
        &mut doc,
        Kind::RunbookSnapshot,
        &id,
        space,
        &[
            ("Project", format!("/api/{space}/projects/{project_id}")),
            ("Runbook", format!("/api/{space}/runbooks/{runbook_id}")),
            (
                "FrozenRunbookProcess",
                format!("/api/{space}/runbookProcesses/{frozen_process}"),
            ),
            (
                "RunbookRuns",
                format!("/api/{space}/runbookSnapshots/{id}/runbookRuns{{?skip,take}}"),
            ),
        ],
    );
    store.insert(Kind::RunbookSnapshot, doc.clone());
    if publish && let Some(r) = store.get_mut(Kind::Runbook, &runbook_id) {
        r.insert("PublishedRunbookSnapshotId".into(), json!(id));
    }
    Ok(doc)
}

/// The `PublishedRunbookSnapshotId` a saved runbook keeps: the one given, which must be a
/// snapshot of this runbook, else the one it had (none for a new runbook).
pub fn published_on_save(
    store: &Store,
    runbook: &str,
    given: Option<&Value>,
    current: Option<&Doc>,
) -> ApiResult<Value> {
    match given {
        Some(Value::String(snapshot)) if !snapshot.is_empty() => {
            let ok = store
                .get(Kind::RunbookSnapshot, snapshot)
                .is_some_and(|s| text(s, "RunbookId") == Some(runbook));
            if ok {
                Ok(json!(snapshot))
            } else {
                Err(ApiError::invalid(format!(
                    "PublishedRunbookSnapshotId refers to '{snapshot}', which is not a snapshot of runbook '{runbook}'."
                )))
            }
        }
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(current
            .and_then(|c| c.get("PublishedRunbookSnapshotId"))
            .cloned()
            .unwrap_or(Value::Null)),
        Some(_) => Err(ApiError::invalid(
            "The PublishedRunbookSnapshotId field must be a string.",
        )),
    }
}

/// `GET projects/{id}/runbookSnapshots/{name}`: a project's snapshot by name (or id).
pub fn by_name(store: &Store, space: &str, project: &str, name: &str) -> ApiResult<Doc> {
    let project = find(store, Kind::Project, space, project)?;
    let project_id = text(project, "Id").unwrap_or("");
    store
        .all(Kind::RunbookSnapshot)
        .iter()
        .find(|s| {
            text(s, "ProjectId") == Some(project_id)
                && (text(s, "Id") == Some(name)
                    || text(s, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name)))
        })
        .cloned()
        .ok_or_else(|| ApiError::not_found("runbook snapshot", name))
}

/// `GET runbookProcesses/{id}/runbookSnapshotTemplate` and `runbooks/{id}/runbookSnapshotTemplate`
/// (2020.5 Swagger, `RunbookSnapshotTemplateResource`): a fresh `NextNameIncrement`
/// ("Snapshot XXXXXXX", unused by the runbook) and one `ReleaseTemplatePackage` per package of
/// every enabled action, with the version the runbook's latest snapshot selected.
pub fn template(store: &Store, space: &str, kind: Kind, id: &str) -> ApiResult<Doc> {
    let (runbook, process) = match kind {
        Kind::Runbook => {
            let runbook = find(store, Kind::Runbook, space, id)?;
            let process = text(runbook, "RunbookProcessId").unwrap_or("");
            (runbook, find(store, Kind::RunbookProcess, space, process)?)
        }
        _ => {
            let process = find(store, Kind::RunbookProcess, space, id)?;
            if store.is_frozen(id) {
                return Err(ApiError::not_found(Kind::RunbookProcess.noun(), id));
            }
            let runbook = text(process, "RunbookId").unwrap_or("");
            (find(store, Kind::Runbook, space, runbook)?, process)
        }
    };
    let runbook_id = text(runbook, "Id").unwrap_or("");
    let snapshots: Vec<&Doc> = store
        .all(Kind::RunbookSnapshot)
        .iter()
        .filter(|s| text(s, "RunbookId") == Some(runbook_id))
        .collect();
    let name = loop {
        let candidate: String = format!("{}{}", random_suffix(), random_suffix())
            .chars()
            .take(7)
            .collect();
        let name = format!("Snapshot {candidate}");
        if !snapshots
            .iter()
            .any(|s| text(s, "Name").is_some_and(|n| n.eq_ignore_ascii_case(&name)))
        {
            break name;
        }
    };
    let last = snapshots.last();
    let project_name = store
        .get(Kind::Project, text(runbook, "ProjectId").unwrap_or(""))
        .and_then(|p| text(p, "Name"))
        .unwrap_or("");
    let mut packages = Vec::new();
    for step in items(process, "Steps").filter_map(Value::as_object) {
        for action in items(step, "Actions").filter_map(Value::as_object) {
            if action.get("IsDisabled") == Some(&Value::Bool(true)) {
                continue;
            }
            let action_name = text(action, "Name").unwrap_or("");
            for package in items(action, "Packages").filter_map(Value::as_object) {
                let reference = text(package, "Name").unwrap_or("");
                let feed_id = text(package, "FeedId").unwrap_or("");
                let feed = store
                    .get(Kind::Feed, feed_id)
                    .filter(|f| text(f, "SpaceId").is_none_or(|s| s == space));
                let last_version = last.and_then(|l| {
                    items(*l, "SelectedPackages")
                        .filter_map(Value::as_object)
                        .find(|s| super::releases::selects(s, action_name, reference))
                        .and_then(|s| text(s, "Version"))
                });
                packages.push(json!({
                    "ActionName": action_name,
                    "StepName": text(step, "Name"),
                    "PackageId": text(package, "PackageId"),
                    "PackageReferenceName": reference,
                    "FeedId": feed_id,
                    "FeedName": feed.and_then(|f| text(f, "Name")),
                    "IsResolvable": feed.is_some(),
                    "ProjectName": project_name,
                    "VersionSelectedLastRelease": last_version,
                }));
            }
        }
    }
    let process_id = text(process, "Id").unwrap_or("");
    let mut doc = Doc::new();
    doc.insert("RunbookId".into(), json!(runbook_id));
    doc.insert("RunbookProcessId".into(), json!(process_id));
    doc.insert("NextNameIncrement".into(), json!(name));
    doc.insert("Packages".into(), Value::Array(packages));
    doc.insert(
        "Links".into(),
        json!({"Self": format!("/api/{space}/runbookProcesses/{process_id}/runbookSnapshotTemplate")}),
    );
    Ok(doc)
}
