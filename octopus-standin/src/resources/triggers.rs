//! Project triggers (`projecttriggers`, `projects/{id}/triggers`): what makes Octopus create
//! a release or deploy without anyone asking.
//!
//! Shapes: Swagger `ProjectTriggerResource` (`Name`, `Description`, `ProjectId`, `IsDisabled`,
//! `Filter`, `Action`), `TriggerFilterResource.FilterType` and `TriggerActionResource.ActionType`
//! enums; the fields of each filter and action as go-octopusdeploy's `pkg/triggers` and
//! `pkg/filters` name them (`Environments`, `Roles`, `EventGroups`, `EventCategories` of a
//! deployment-target filter; `Packages` of a feed filter; `SourceEnvironmentIds`,
//! `DestinationEnvironmentId`, `EnvironmentId`, `EnvironmentIds`, `ChannelId`, `TenantIds`
//! of the actions). Every id given must exist in the space (a channel in the project), and
//! a feed filter's `Packages` must name actions of the project's process; the rest of each
//! filter and action is kept as given. The stand-in stores triggers; it does not run their
//! schedules or watch external feeds (see README).

use serde_json::{Map, Value};

use super::{find, must_exist, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, text};

/// The writable fields of `ProjectTriggerResource`.
const TRIGGER: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("ProjectId", Ty::Str),
    ("IsDisabled", Ty::Bool),
    ("Filter", Ty::Object),
    ("Action", Ty::Object),
];

/// `TriggerFilterResource.FilterType` (Swagger 2020.5), and `GitFilter` of current servers
/// (go-octopusdeploy `filters.GitFilter`).
pub const FILTER_TYPES: &[&str] = &[
    "ContinuousDailySchedule",
    "CronExpressionSchedule",
    "DailySchedule",
    "DaysPerMonthSchedule",
    "DaysPerWeekSchedule",
    "MachineFilter",
    "OnceDailySchedule",
    "FeedFilter",
    "GitFilter",
];

/// `TriggerActionResource.ActionType` (Swagger 2020.5).
pub const ACTION_TYPES: &[&str] = &[
    "AutoDeploy",
    "DeployLatestRelease",
    "DeployNewRelease",
    "RunRunbook",
    "CreateRelease",
];

/// Creates a trigger.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let id = store.next_id(Kind::ProjectTrigger);
    save(store, space, &id, body)
}

/// Replaces a trigger.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::ProjectTrigger, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    save(store, space, &id, body)
}

fn save(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, TRIGGER)?;
    let name = fields::required_text(&doc, "Name")?;
    let project = fields::required_text(&doc, "ProjectId")?;
    must_exist(store, Kind::Project, space, "ProjectId", &project)?;
    unique_name(store, Kind::ProjectTrigger, space, &name, Some(id), |d| {
        text(d, "ProjectId") == Some(project.as_str())
    })?;
    let filter = typed(&doc, "Filter", "FilterType", FILTER_TYPES)?;
    let action = typed(&doc, "Action", "ActionType", ACTION_TYPES)?;
    check_filter(store, space, &project, &filter)?;
    check_action(store, space, &project, &action)?;
    doc.insert("Filter".into(), Value::Object(filter));
    doc.insert("Action".into(), Value::Object(action));
    stamp(
        &mut doc,
        Kind::ProjectTrigger,
        id,
        space,
        &[("Project", format!("/api/{space}/projects/{project}"))],
    );
    store.put(Kind::ProjectTrigger, doc.clone());
    Ok(doc)
}

/// The `Filter` or `Action` object, whose type field must be one of `known`.
fn typed(doc: &Doc, field: &str, kind: &str, known: &[&str]) -> ApiResult<Map<String, Value>> {
    let object = doc
        .get(field)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| ApiError::invalid(format!("The {field} field is required.")))?;
    match object.get(kind).and_then(Value::as_str) {
        Some(t) if known.contains(&t) => Ok(object),
        Some(t) => Err(ApiError::invalid(format!(
            "{field}.{kind} '{t}' is not valid: use one of {}.",
            known.join(", ")
        ))),
        None => Err(ApiError::invalid(format!(
            "The {field}.{kind} field is required."
        ))),
    }
}

fn id_list(object: &Map<String, Value>, field: &str) -> ApiResult<Vec<String>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    ApiError::invalid(format!("Every item of {field} must be a string."))
                })
            })
            .collect(),
        Some(_) => Err(ApiError::invalid(format!(
            "The {field} field must be an array."
        ))),
    }
}

fn one_id(object: &Map<String, Value>, field: &str) -> Option<String> {
    object
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn check_filter(
    store: &Store,
    space: &str,
    project: &str,
    filter: &Map<String, Value>,
) -> ApiResult<()> {
    for env in id_list(filter, "Environments")? {
        must_exist(store, Kind::Environment, space, "Filter.Environments", &env)?;
    }
    if filter.get("FilterType").and_then(Value::as_str) == Some("FeedFilter") {
        let process = store
            .get(
                Kind::DeploymentProcess,
                &format!("deploymentprocess-{project}"),
            )
            .cloned()
            .unwrap_or_default();
        for package in filter
            .get("Packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let action = package
                .get("DeploymentAction")
                .and_then(Value::as_str)
                .unwrap_or("");
            let known = items(&process, "Steps")
                .flat_map(|s| {
                    s.get("Actions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .any(|a| a.get("Name").and_then(Value::as_str) == Some(action));
            if !known {
                return Err(ApiError::invalid(format!(
                    "Filter.Packages names the step '{action}', which the project's deployment process does not have."
                )));
            }
        }
    }
    Ok(())
}

fn check_action(
    store: &Store,
    space: &str,
    project: &str,
    action: &Map<String, Value>,
) -> ApiResult<()> {
    let mut environments = id_list(action, "SourceEnvironmentIds")?;
    environments.extend(id_list(action, "EnvironmentIds")?);
    environments.extend(one_id(action, "DestinationEnvironmentId"));
    environments.extend(one_id(action, "EnvironmentId"));
    for env in environments {
        must_exist(store, Kind::Environment, space, "Action", &env)?;
    }
    for tenant in id_list(action, "TenantIds")? {
        must_exist(store, Kind::Tenant, space, "Action.TenantIds", &tenant)?;
    }
    if let Some(channel) = one_id(action, "ChannelId") {
        must_exist(store, Kind::Channel, space, "Action.ChannelId", &channel)?;
        let owner = store
            .get(Kind::Channel, &channel)
            .and_then(|c| text(c, "ProjectId"));
        if owner != Some(project) {
            return Err(ApiError::invalid(format!(
                "Action.ChannelId '{channel}' does not belong to project '{project}'."
            )));
        }
    }
    Ok(())
}
