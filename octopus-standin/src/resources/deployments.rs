//! Deployments: a release sent to an environment, gated by the lifecycle of its channel (or
//! project), carried out by a server task that the runner picks up in the background.
//!
//! Lifecycle rule (Octopus documentation, "Lifecycles"): the phases are walked in order; a
//! release may go to any environment of the first phase that is not yet complete, and to
//! every environment of earlier phases. A phase is complete when the release has succeeded
//! in `MinimumEnvironmentsBeforePromotion` of its environments (all of them when 0); an
//! optional phase never blocks. A lifecycle without phases allows every environment.
//!
//! A deployment may name a `TenantId`; `tenants::for_deployment` checks it against the
//! project's `TenantedDeploymentMode` and the tenant's connections before anything is queued.

use serde_json::{Value, json};

use super::{MODIFIED_BY, find, referred, stamp};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, now, strings, text};

/// The writable fields of `DeploymentResource`.
const DEPLOYMENT: &[Field] = &[
    ("ReleaseId", Ty::Str),
    ("EnvironmentId", Ty::Str),
    ("TenantId", Ty::Str),
    ("Comments", Ty::Str),
    ("ForcePackageDownload", Ty::Bool),
    ("ForcePackageRedeployment", Ty::Bool),
    ("SkipActions", Ty::Array),
    ("SpecificMachineIds", Ty::Array),
    ("ExcludedMachineIds", Ty::Array),
    ("UseGuidedFailure", Ty::Bool),
    ("FormValues", Ty::Map),
    ("QueueTime", Ty::Str),
    ("QueueTimeExpiry", Ty::Str),
];

/// Sets the fields a deployment and a runbook run share when queued: the task that carries
/// it out, its manifest variable set, who queued it and when, and no failure yet.
pub fn stamp_queued(doc: &mut Doc, id: &str, task_id: &str) {
    doc.insert(
        "ManifestVariableSetId".into(),
        json!(format!("variableset-{id}")),
    );
    doc.insert("TaskId".into(), json!(task_id));
    doc.insert("Created".into(), json!(now()));
    doc.insert("DeployedBy".into(), json!(MODIFIED_BY));
    doc.insert("DeployedById".into(), json!("Users-1"));
    doc.insert("DeployedToMachineIds".into(), json!([]));
    doc.insert("FailureEncountered".into(), json!(false));
}

/// The end of a task's description naming the tenant it runs for (" for Acme"), or nothing.
pub fn for_tenant(tenant: Option<&Doc>) -> String {
    tenant
        .and_then(|t| text(t, "Name"))
        .map(|t| format!(" for {t}"))
        .unwrap_or_default()
}

/// `POST /api/{space}/deployments`: checks the lifecycle, then queues a task.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let mut doc = fields::take(body, DEPLOYMENT)?;
    let release_id = fields::required_text(&doc, "ReleaseId")?;
    let environment_id = fields::required_text(&doc, "EnvironmentId")?;
    let release = referred(store, Kind::Release, space, "ReleaseId", &release_id)?.clone();
    let environment = referred(
        store,
        Kind::Environment,
        space,
        "EnvironmentId",
        &environment_id,
    )?
    .clone();
    let project = find(
        store,
        Kind::Project,
        space,
        text(&release, "ProjectId").unwrap_or(""),
    )?
    .clone();
    if project.get("IsDisabled") == Some(&Value::Bool(true)) {
        return Err(ApiError::invalid(format!(
            "The project '{}' is disabled, so its releases cannot be deployed.",
            text(&project, "Name").unwrap_or("")
        )));
    }
    let tenant = super::tenants::for_deployment(
        store,
        space,
        &project,
        &environment,
        text(&doc, "TenantId"),
    )?;
    check_lifecycle(store, &release, &project, &environment)?;
    let prompted = super::prompted::check(store, &release, &environment_id, doc.get("FormValues"))?;
    let id = store.next_id(Kind::Deployment);
    let shown = super::prompted::keep(store, &id, prompted);
    doc.insert("FormValues".into(), shown);
    let task_id = store.next_id(Kind::Task);
    let project_id = text(&project, "Id").unwrap_or("").to_owned();
    let env_name = text(&environment, "Name").unwrap_or("").to_owned();
    let for_tenant = for_tenant(tenant.as_ref());
    let description = format!(
        "Deploy {} release {} to {env_name}{for_tenant}",
        text(&project, "Name").unwrap_or(""),
        text(&release, "Version").unwrap_or("")
    );
    doc.insert("ProjectId".into(), json!(project_id));
    doc.insert("ChannelId".into(), json!(text(&release, "ChannelId")));
    doc.insert(
        "DeploymentProcessId".into(),
        json!(text(&release, "ProjectDeploymentProcessSnapshotId")),
    );
    doc.insert("Name".into(), json!(format!("Deploy to {env_name}")));
    stamp_queued(&mut doc, &id, &task_id);
    doc.insert("Changes".into(), json!([]));
    doc.insert("ChangesMarkdown".into(), json!(""));
    stamp(
        &mut doc,
        Kind::Deployment,
        &id,
        space,
        &[
            ("Release", format!("/api/{space}/releases/{release_id}")),
            (
                "Environment",
                format!("/api/{space}/environments/{environment_id}"),
            ),
            ("Project", format!("/api/{space}/projects/{project_id}")),
            ("Task", format!("/api/tasks/{task_id}")),
            ("Web", format!("/app#/{space}/deployments/{id}")),
            (
                "Interruptions",
                format!("/api/{space}/interruptions?regarding={id}"),
            ),
        ],
    );
    store.insert(Kind::Deployment, doc.clone());
    super::tasks::queue(store, space, &task_id, &id, &description);
    Ok(doc)
}

/// Refuses an environment the release may not reach yet, naming the phase it waits for.
pub fn check_lifecycle(
    store: &Store,
    release: &Doc,
    project: &Doc,
    environment: &Doc,
) -> ApiResult<()> {
    let channel = store.get(Kind::Channel, text(release, "ChannelId").unwrap_or(""));
    let lifecycle_id = channel
        .and_then(|c| text(c, "LifecycleId"))
        .or(text(project, "LifecycleId"))
        .unwrap_or("");
    let lifecycle = store.require(Kind::Lifecycle, lifecycle_id)?;
    let phases = lifecycle
        .get("Phases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if phases.is_empty() {
        return Ok(());
    }
    let env_id = text(environment, "Id").unwrap_or("");
    let release_id = text(release, "Id").unwrap_or("");
    let name = |id: &str| {
        store
            .get(Kind::Environment, id)
            .and_then(|e| text(e, "Name"))
            .unwrap_or(id)
            .to_owned()
    };
    let refuse = |reason: String| {
        ApiError::invalid(format!(
            "Release {} of project '{}' cannot be deployed to {}: {reason}",
            text(release, "Version").unwrap_or(""),
            text(project, "Name").unwrap_or(""),
            text(environment, "Name").unwrap_or("")
        ))
    };
    let in_lifecycle = phases.iter().any(|phase| {
        phase.as_object().is_some_and(|p| {
            strings(p, "AutomaticDeploymentTargets")
                .iter()
                .chain(strings(p, "OptionalDeploymentTargets").iter())
                .any(|t| t == env_id)
        })
    });
    if !in_lifecycle {
        return Err(refuse(format!(
            "the environment is not part of the lifecycle '{}'.",
            text(lifecycle, "Name").unwrap_or("")
        )));
    }
    for phase in &phases {
        let phase = phase.as_object().cloned().unwrap_or_default();
        let mut targets = strings(&phase, "AutomaticDeploymentTargets");
        targets.extend(strings(&phase, "OptionalDeploymentTargets"));
        if targets.iter().any(|t| t == env_id) {
            return Ok(());
        }
        if phase.get("IsOptionalPhase") == Some(&Value::Bool(true)) {
            continue;
        }
        let succeeded: Vec<&String> = targets
            .iter()
            .filter(|t| succeeded_in(store, release_id, t))
            .collect();
        let needed = needed_in(&phase, targets.len());
        if succeeded.len() < needed {
            let missing: Vec<String> = targets
                .iter()
                .filter(|t| !succeeded.contains(t))
                .map(|t| name(t))
                .collect();
            return Err(refuse(format!(
                "the lifecycle '{}' requires phase '{}' to be complete first ({} of its environments must have a successful deployment of this release; still missing: {}).",
                text(lifecycle, "Name").unwrap_or(""),
                text(&phase, "Name").unwrap_or(""),
                needed,
                missing.join(", ")
            )));
        }
    }
    Err(refuse(format!(
        "the environment is not part of the lifecycle '{}'.",
        text(lifecycle, "Name").unwrap_or("")
    )))
}

/// Whether a deployment of the release to the environment finished successfully.
fn succeeded_in(store: &Store, release: &str, environment: &str) -> bool {
    store.all(Kind::Deployment).iter().any(|d| {
        text(d, "ReleaseId") == Some(release)
            && text(d, "EnvironmentId") == Some(environment)
            && store
                .get(Kind::Task, text(d, "TaskId").unwrap_or(""))
                .is_some_and(|t| text(t, "State") == Some("Success"))
    })
}

/// The lifecycle a release follows: its channel's, else its project's.
pub fn lifecycle_of(store: &Store, release: &Doc) -> Option<Doc> {
    let channel = store.get(Kind::Channel, text(release, "ChannelId").unwrap_or(""));
    let project = store.get(Kind::Project, text(release, "ProjectId").unwrap_or(""));
    let id = channel
        .and_then(|c| text(c, "LifecycleId"))
        .or(project.and_then(|p| text(p, "LifecycleId")))?;
    store.get(Kind::Lifecycle, id).cloned()
}

/// How many of a phase's `targets` environments need a successful deployment before the
/// phase is complete: `MinimumEnvironmentsBeforePromotion`, or all of them when it is 0.
fn needed_in(phase: &Doc, targets: usize) -> usize {
    let minimum = phase
        .get("MinimumEnvironmentsBeforePromotion")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if minimum == 0 {
        targets
    } else {
        usize::try_from(minimum).unwrap_or(usize::MAX).min(targets)
    }
}

/// Whether a phase lets a release go on to the next one: optional, or enough of its
/// environments have a successful deployment of the release (the rule of [`check_lifecycle`]).
pub fn phase_complete(store: &Store, release: &str, phase: &Doc) -> bool {
    if phase.get("IsOptionalPhase") == Some(&Value::Bool(true)) {
        return true;
    }
    let mut targets = strings(phase, "AutomaticDeploymentTargets");
    targets.extend(strings(phase, "OptionalDeploymentTargets"));
    let succeeded = targets
        .iter()
        .filter(|t| succeeded_in(store, release, t))
        .count();
    succeeded >= needed_in(phase, targets.len())
}
