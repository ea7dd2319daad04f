//! Runbook runs: a runbook snapshot run in an environment (for a tenant), carried out by a
//! server task (`Name` "RunbookRun", `Arguments.RunbookRunId`) that the runner executes as it
//! executes a deployment: the snapshot's frozen process with its frozen variables.
//!
//! ```text
//! POST runbookRuns (2020.5 Swagger, RunbookRunResource) ──┐
//! POST runbook-runs/create/v1 (2025, names) ── resolve ───┴─> prepare (checks, no change)
//!                                                             └─> commit: run + queued task
//! ```
//!
//! Rules, each a 400 naming what is wrong:
//! - the snapshot must be one of the runbook's; without one, "Please specify the Runbook
//!   Snapshot to run." (the text of a 2020.6 server, OctopusDeploy/Issues #6866), which the
//!   executions form also gives when the runbook has no published snapshot;
//! - the environment must be in the runbook's `EnvironmentScope`: `All` (every environment
//!   of the space), `Specified` (its `Environments`), `FromProjectLifecycles` (the
//!   environments of the lifecycles of the project and its channels; a lifecycle without
//!   phases has them all) (api-client `runbookEnvironmentScope.js`, Swagger `RunbookResource`);
//! - a tenant follows the runbook's `MultiTenancyMode` and the tenant's connections to the
//!   project (`tenants::for_deployment`); prompted variables are checked as a deployment's.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::stamp;
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, strings, text};

/// The writable fields of `RunbookRunResource`.
const RUN: &[Field] = &[
    ("RunbookId", Ty::Str),
    ("RunbookSnapshotId", Ty::Str),
    ("FrozenRunbookProcessId", Ty::Str),
    ("EnvironmentId", Ty::Str),
    ("TenantId", Ty::Str),
    ("Comments", Ty::Str),
    ("ForcePackageDownload", Ty::Bool),
    ("SkipActions", Ty::Array),
    ("SpecificMachineIds", Ty::Array),
    ("ExcludedMachineIds", Ty::Array),
    ("UseGuidedFailure", Ty::Bool),
    ("FormValues", Ty::Map),
    ("QueueTime", Ty::Str),
    ("QueueTimeExpiry", Ty::Str),
];

/// The text of a run without a snapshot (OctopusDeploy/Issues #6866).
pub const NO_SNAPSHOT: &str = "Please specify the Runbook Snapshot to run.";

/// A run checked and ready to be stored.
#[derive(Debug)]
pub struct Prepared {
    doc: Doc,
    runbook: Doc,
    environment: Doc,
    tenant: Option<Doc>,
    /// Prompted values: variable id -> (value, sensitive).
    prompted: BTreeMap<String, (String, bool)>,
}

/// `POST runbookRuns`: checks, then queues a task.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let doc = fields::take(body, RUN)?;
    let prepared = prepare(store, space, doc)?;
    Ok(commit(store, space, prepared))
}

/// Checks a run (`RunbookRunResource` fields) without changing anything.
pub fn prepare(store: &Store, space: &str, mut doc: Doc) -> ApiResult<Prepared> {
    let runbook_id = fields::required_text(&doc, "RunbookId")?;
    let runbook = super::referred(store, Kind::Runbook, space, "RunbookId", &runbook_id)?.clone();
    let snapshot_id = text(&doc, "RunbookSnapshotId")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::invalid(NO_SNAPSHOT))?
        .to_owned();
    let snapshot = super::referred(
        store,
        Kind::RunbookSnapshot,
        space,
        "RunbookSnapshotId",
        &snapshot_id,
    )?
    .clone();
    if text(&snapshot, "RunbookId") != Some(runbook_id.as_str()) {
        return Err(ApiError::invalid(format!(
            "The runbook snapshot '{snapshot_id}' is not a snapshot of runbook '{runbook_id}'."
        )));
    }
    let frozen = text(&snapshot, "FrozenRunbookProcessId")
        .unwrap_or("")
        .to_owned();
    if let Some(given) = text(&doc, "FrozenRunbookProcessId")
        && given != frozen
    {
        return Err(ApiError::invalid(format!(
            "FrozenRunbookProcessId '{given}' is not the process of runbook snapshot '{snapshot_id}' ({frozen})."
        )));
    }
    let environment_id = fields::required_text(&doc, "EnvironmentId")?;
    let environment = super::referred(
        store,
        Kind::Environment,
        space,
        "EnvironmentId",
        &environment_id,
    )?
    .clone();
    let project = store
        .require(Kind::Project, text(&runbook, "ProjectId").unwrap_or(""))?
        .clone();
    if project.get("IsDisabled") == Some(&Value::Bool(true)) {
        return Err(ApiError::invalid(format!(
            "The project '{}' is disabled, so its runbooks cannot be run.",
            text(&project, "Name").unwrap_or("")
        )));
    }
    check_scope(store, &runbook, &project, &environment)?;
    let tenant = tenant_of(store, space, &runbook, &project, &environment, &doc)?;
    let process = store.require(Kind::RunbookProcess, &frozen)?;
    let actions: Vec<String> = items(process, "Steps")
        .flat_map(|s| items(s, "Actions"))
        .filter_map(|a| a.get("Id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    for skipped in items(&doc, "SkipActions") {
        match skipped.as_str() {
            Some(a) if actions.iter().any(|id| id == a) => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "SkipActions names {skipped}, which is not an action of runbook snapshot '{snapshot_id}'."
                )));
            }
        }
    }
    for field in ["SpecificMachineIds", "ExcludedMachineIds"] {
        if let Some(machine) = items(&doc, field).next() {
            return Err(ApiError::invalid(format!(
                "{field} names {machine}, which is not a deployment target of {space} (the stand-in has none)."
            )));
        }
    }
    let prompted =
        super::prompted::check(store, &snapshot, &environment_id, doc.get("FormValues"))?;
    doc.insert("RunbookId".into(), json!(runbook_id));
    doc.insert("RunbookSnapshotId".into(), json!(snapshot_id));
    doc.insert("FrozenRunbookProcessId".into(), json!(frozen));
    doc.insert("EnvironmentId".into(), json!(environment_id));
    doc.insert("ProjectId".into(), json!(text(&project, "Id")));
    Ok(Prepared {
        doc,
        runbook,
        environment,
        tenant,
        prompted,
    })
}

/// Stores a prepared run and queues its task.
pub fn commit(store: &mut Store, space: &str, prepared: Prepared) -> Doc {
    let Prepared {
        mut doc,
        runbook,
        environment,
        tenant,
        prompted,
    } = prepared;
    let id = store.next_id(Kind::RunbookRun);
    let task_id = store.next_id(Kind::Task);
    let shown = super::prompted::keep(store, &id, prompted);
    doc.insert("FormValues".into(), shown);
    doc.insert(
        "TenantId".into(),
        json!(tenant.as_ref().and_then(|t| text(t, "Id"))),
    );
    let runbook_name = text(&runbook, "Name").unwrap_or("");
    let env_name = text(&environment, "Name").unwrap_or("");
    let for_tenant = super::deployments::for_tenant(tenant.as_ref());
    let description = format!("Run {runbook_name} in {env_name}{for_tenant}");
    doc.insert("Name".into(), json!(format!("Run {runbook_name}")));
    super::deployments::stamp_queued(&mut doc, &id, &task_id);
    let runbook_id = text(&doc, "RunbookId").unwrap_or("").to_owned();
    let snapshot_id = text(&doc, "RunbookSnapshotId").unwrap_or("").to_owned();
    let project_id = text(&doc, "ProjectId").unwrap_or("").to_owned();
    let environment_id = text(&doc, "EnvironmentId").unwrap_or("").to_owned();
    stamp(
        &mut doc,
        Kind::RunbookRun,
        &id,
        space,
        &[
            ("Runbook", format!("/api/{space}/runbooks/{runbook_id}")),
            (
                "RunbookSnapshot",
                format!("/api/{space}/runbookSnapshots/{snapshot_id}"),
            ),
            (
                "Environment",
                format!("/api/{space}/environments/{environment_id}"),
            ),
            ("Project", format!("/api/{space}/projects/{project_id}")),
            ("Task", format!("/api/tasks/{task_id}")),
            ("Web", format!("/app#/{space}/runbookRuns/{id}")),
        ],
    );
    store.insert(Kind::RunbookRun, doc.clone());
    super::tasks::queue_as(
        store,
        space,
        &task_id,
        "RunbookRun",
        json!({"RunbookRunId": id}),
        &description,
    );
    doc
}

/// Refuses an environment outside the runbook's `EnvironmentScope`, naming it.
fn check_scope(store: &Store, runbook: &Doc, project: &Doc, environment: &Doc) -> ApiResult<()> {
    let env_id = text(environment, "Id").unwrap_or("");
    let scope = text(runbook, "EnvironmentScope").unwrap_or("All");
    let allowed = match scope {
        "All" => true,
        "Specified" => strings(runbook, "Environments").iter().any(|e| e == env_id),
        "FromProjectLifecycles" => lifecycle_environments(store, project)
            .is_none_or(|envs| envs.iter().any(|e| e == env_id)),
        other => {
            return Err(ApiError::invalid(format!(
                "The runbook '{}' has the EnvironmentScope '{other}', which is not one of All, Specified, FromProjectLifecycles.",
                text(runbook, "Name").unwrap_or("")
            )));
        }
    };
    if allowed {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "The runbook '{}' cannot be run in the environment '{}': its EnvironmentScope is {scope}, which does not include that environment.",
        text(runbook, "Name").unwrap_or(""),
        text(environment, "Name").unwrap_or(env_id)
    )))
}

/// The environments of the project's lifecycle and its channels' lifecycles; `None` when one
/// of them has no phases (such a lifecycle allows every environment).
fn lifecycle_environments(store: &Store, project: &Doc) -> Option<Vec<String>> {
    let project_id = text(project, "Id").unwrap_or("");
    let mut lifecycles: Vec<String> = text(project, "LifecycleId")
        .map(str::to_owned)
        .into_iter()
        .collect();
    lifecycles.extend(
        store
            .all(Kind::Channel)
            .iter()
            .filter(|c| text(c, "ProjectId") == Some(project_id))
            .filter_map(|c| text(c, "LifecycleId").map(str::to_owned)),
    );
    let mut envs = Vec::new();
    for id in lifecycles {
        let Some(lifecycle) = store.get(Kind::Lifecycle, &id) else {
            continue;
        };
        let phases: Vec<&Value> = items(lifecycle, "Phases").collect();
        if phases.is_empty() {
            return None;
        }
        for phase in phases.iter().filter_map(|p| p.as_object()) {
            envs.extend(strings(phase, "AutomaticDeploymentTargets"));
            envs.extend(strings(phase, "OptionalDeploymentTargets"));
        }
    }
    Some(envs)
}

/// The run's tenant, checked against the runbook's `MultiTenancyMode` and the tenant's
/// connections to the project.
fn tenant_of(
    store: &Store,
    space: &str,
    runbook: &Doc,
    project: &Doc,
    environment: &Doc,
    doc: &Doc,
) -> ApiResult<Option<Doc>> {
    let name = text(runbook, "Name").unwrap_or("");
    let mode = text(runbook, "MultiTenancyMode").unwrap_or("Untenanted");
    match (text(doc, "TenantId"), mode) {
        (None, "Tenanted") => Err(ApiError::invalid(format!(
            "The runbook '{name}' runs only for tenants (its MultiTenancyMode is Tenanted): name a TenantId."
        ))),
        (None, _) => Ok(None),
        (Some(tenant), "Untenanted") => Err(ApiError::invalid(format!(
            "The runbook '{name}' does not run for tenants (its MultiTenancyMode is Untenanted), so it cannot run for tenant '{tenant}'."
        ))),
        (Some(tenant), _) => {
            // The connection checks of a deployment, whatever the project's own mode.
            let mut as_tenanted = project.clone();
            as_tenanted.insert(
                "TenantedDeploymentMode".into(),
                json!("TenantedOrUntenanted"),
            );
            super::tenants::for_deployment(store, space, &as_tenanted, environment, Some(tenant))
        }
    }
}
