//! The executions form of a runbook run, `POST runbook-runs/create/v1` (2025 only): names in,
//! one run per environment and tenant out, answering `{RunbookRunServerTasks: [{RunbookRunId,
//! ServerTaskId}]}` (api-client `runs/createRunbookRunCommandV1.d.ts`,
//! `runs/runbookRunRepository.js`; `CreateExecutionBaseV1` in `createExecutionBaseV1.d.ts`).
//!
//! Names resolve within the space, by name (ignoring case) or id: `ProjectName`,
//! `RunbookName` (a runbook of that project), `EnvironmentNames` (at least one), `Tenants`,
//! `TenantTags` (canonical `Set/Tag`: the project's tenants that carry one of them and are
//! connected in the environment), `Snapshot` (a snapshot of the runbook; without it the
//! published one, and none published is [`super::runbook_runs::NO_SNAPSHOT`]),
//! `SkipStepNames` (steps or actions of the snapshot's process), `Variables` (prompted
//! variables by name). Every run is checked as a `POST runbookRuns` is before any is stored,
//! so a refusal leaves nothing behind.

use serde_json::{Value, json};

use super::find;
use super::runbook_runs::{self, NO_SNAPSHOT, Prepared};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, strings, text};

/// The fields of `CreateRunbookRunCommandV1` the stand-in reads (others, such as
/// `spaceName` and `spaceIdOrName`, address the request and are ignored, as in Octopus).
const COMMAND: &[Field] = &[
    ("ProjectName", Ty::Str),
    ("RunbookName", Ty::Str),
    ("EnvironmentNames", Ty::Array),
    ("Tenants", Ty::Array),
    ("TenantTags", Ty::Array),
    ("Snapshot", Ty::Str),
    ("SkipStepNames", Ty::Array),
    ("SpecificMachineNames", Ty::Array),
    ("ExcludedMachineNames", Ty::Array),
    ("UseGuidedFailure", Ty::Bool),
    ("ForcePackageDownload", Ty::Bool),
    ("Variables", Ty::Map),
];

/// `POST runbook-runs/create/v1`.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Value> {
    let command = fields::take(body, COMMAND)?;
    let prepared = plan(store, space, &command)?;
    let mut tasks = Vec::new();
    for run in prepared {
        let doc = runbook_runs::commit(store, space, run);
        tasks.push(json!({
            "RunbookRunId": text(&doc, "Id"),
            "ServerTaskId": text(&doc, "TaskId"),
        }));
    }
    Ok(json!({ "RunbookRunServerTasks": tasks }))
}

/// Resolves the names and checks every run, changing nothing.
fn plan(store: &Store, space: &str, command: &Doc) -> ApiResult<Vec<Prepared>> {
    let project_name = fields::required_text(command, "ProjectName")?;
    let project = named(store, Kind::Project, space, &project_name, |_| true)?.clone();
    let project_id = text(&project, "Id").unwrap_or("").to_owned();
    let runbook_name = fields::required_text(command, "RunbookName")?;
    let runbook = named(store, Kind::Runbook, space, &runbook_name, |r| {
        text(r, "ProjectId") == Some(project_id.as_str())
    })?
    .clone();
    let runbook_id = text(&runbook, "Id").unwrap_or("").to_owned();
    let snapshot = match text(command, "Snapshot").filter(|s| !s.trim().is_empty()) {
        Some(wanted) => named(store, Kind::RunbookSnapshot, space, wanted, |s| {
            text(s, "RunbookId") == Some(runbook_id.as_str())
        })?
        .clone(),
        None => {
            let published = text(&runbook, "PublishedRunbookSnapshotId")
                .ok_or_else(|| ApiError::invalid(NO_SNAPSHOT))?;
            store.require(Kind::RunbookSnapshot, published)?.clone()
        }
    };
    let environments = names(command, "EnvironmentNames")?;
    if environments.is_empty() {
        return Err(ApiError::invalid(
            "The EnvironmentNames field is required: name at least one environment.",
        ));
    }
    let environments: Vec<Doc> = environments
        .iter()
        .map(|e| named(store, Kind::Environment, space, e, |_| true).cloned())
        .collect::<ApiResult<_>>()?;
    let skip = skipped_actions(store, &snapshot, &names(command, "SkipStepNames")?)?;
    for field in ["SpecificMachineNames", "ExcludedMachineNames"] {
        if let Some(machine) = items(command, field).next() {
            return Err(ApiError::invalid(format!(
                "{field} names {machine}, which is not a deployment target of {space} (the stand-in has none)."
            )));
        }
    }
    let named_tenants: Vec<Doc> = names(command, "Tenants")?
        .iter()
        .map(|t| named(store, Kind::Tenant, space, t, |_| true).cloned())
        .collect::<ApiResult<_>>()?;
    let tags = names(command, "TenantTags")?;
    let variables = command
        .get("Variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut runs = Vec::new();
    for environment in &environments {
        let env_id = text(environment, "Id").unwrap_or("");
        let form = form_values(store, &snapshot, env_id, &variables)?;
        let mut tenants: Vec<Option<String>> = named_tenants
            .iter()
            .map(|t| text(t, "Id").map(str::to_owned))
            .collect();
        if !tags.is_empty() {
            let tagged = tagged_tenants(store, space, &project_id, env_id, &tags);
            if tagged.is_empty() {
                return Err(ApiError::invalid(format!(
                    "No tenant of project '{}' connected in {} carries any of the tags {}.",
                    text(&project, "Name").unwrap_or(""),
                    text(environment, "Name").unwrap_or(env_id),
                    tags.join(", ")
                )));
            }
            for t in tagged {
                if !tenants.contains(&Some(t.clone())) {
                    tenants.push(Some(t));
                }
            }
        }
        if tenants.is_empty() {
            tenants.push(None);
        }
        for tenant in tenants {
            let mut doc = Doc::new();
            doc.insert("RunbookId".into(), json!(runbook_id));
            doc.insert("RunbookSnapshotId".into(), json!(text(&snapshot, "Id")));
            doc.insert("EnvironmentId".into(), json!(env_id));
            doc.insert("TenantId".into(), json!(tenant));
            doc.insert("SkipActions".into(), json!(skip));
            doc.insert("FormValues".into(), Value::Object(form.clone()));
            for flag in ["UseGuidedFailure", "ForcePackageDownload"] {
                doc.insert(flag.into(), json!(command.get(flag) == Some(&json!(true))));
            }
            for list in ["SpecificMachineIds", "ExcludedMachineIds"] {
                doc.insert(list.into(), json!([]));
            }
            doc.insert("Comments".into(), Value::Null);
            runs.push(runbook_runs::prepare(store, space, doc)?);
        }
    }
    Ok(runs)
}

/// A resource of the space by id or name (ignoring case) among those `keep` accepts, or a 400
/// naming what was not found.
fn named<'a>(
    store: &'a Store,
    kind: Kind,
    space: &str,
    wanted: &str,
    keep: impl Fn(&Doc) -> bool,
) -> ApiResult<&'a Doc> {
    if let Ok(doc) = find(store, kind, space, wanted)
        && keep(doc)
    {
        return Ok(doc);
    }
    store
        .all(kind)
        .iter()
        .filter(|d| text(d, "SpaceId") == Some(space) && keep(d))
        .find(|d| text(d, "Name").is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Unable to find a {} named or with the id '{wanted}'.",
                kind.noun()
            ))
        })
}

/// The strings of an array field; anything else in it is refused.
fn names(command: &Doc, field: &str) -> ApiResult<Vec<String>> {
    items(command, field)
        .map(|v| match v.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
            _ => Err(ApiError::invalid(format!(
                "{field} must be a list of names; {v} is not one."
            ))),
        })
        .collect()
}

/// The ids of the actions that `SkipStepNames` names (a step skips all its actions).
fn skipped_actions(store: &Store, snapshot: &Doc, wanted: &[String]) -> ApiResult<Vec<String>> {
    let process = store.require(
        Kind::RunbookProcess,
        text(snapshot, "FrozenRunbookProcessId").unwrap_or(""),
    )?;
    let mut out = Vec::new();
    for name in wanted {
        let mut found = false;
        for step in items(process, "Steps").filter_map(Value::as_object) {
            let step_named = text(step, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name));
            for action in items(step, "Actions").filter_map(Value::as_object) {
                if step_named || text(action, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name))
                {
                    found = true;
                    out.extend(text(action, "Id").map(str::to_owned));
                }
            }
        }
        if !found {
            return Err(ApiError::invalid(format!(
                "SkipStepNames names '{name}', which is not a step of runbook snapshot '{}'.",
                text(snapshot, "Name").unwrap_or("")
            )));
        }
    }
    Ok(out)
}

/// `Variables` (prompted variables by name) as `FormValues` (by variable id).
fn form_values(
    store: &Store,
    snapshot: &Doc,
    environment: &str,
    given: &serde_json::Map<String, Value>,
) -> ApiResult<serde_json::Map<String, Value>> {
    let prompts = super::prompted::prompts(store, snapshot, environment);
    let mut form = serde_json::Map::new();
    for (name, value) in given {
        let Some(prompt) = prompts.iter().find(|p| p.name.eq_ignore_ascii_case(name)) else {
            return Err(ApiError::invalid(format!(
                "Variables names '{name}', which is not a prompted variable of runbook snapshot '{}'.",
                text(snapshot, "Name").unwrap_or("")
            )));
        };
        form.insert(prompt.id.clone(), value.clone());
    }
    Ok(form)
}

/// The project's tenants connected in `environment` that carry one of `tags`.
fn tagged_tenants(
    store: &Store,
    space: &str,
    project: &str,
    environment: &str,
    tags: &[String],
) -> Vec<String> {
    store
        .all(Kind::Tenant)
        .iter()
        .filter(|t| text(t, "SpaceId") == Some(space))
        .filter(|t| {
            strings(t, "TenantTags")
                .iter()
                .any(|tag| tags.iter().any(|w| w.eq_ignore_ascii_case(tag)))
        })
        .filter(|t| {
            t.get("ProjectEnvironments")
                .and_then(|m| m.get(project))
                .and_then(Value::as_array)
                .is_some_and(|envs| envs.iter().any(|e| e.as_str() == Some(environment)))
        })
        .filter_map(|t| text(t, "Id").map(str::to_owned))
        .collect()
}
