//! `POST /api/{spaceId}/deployments/create/untenanted/v1` and `.../tenanted/v1`
//! (`CreateDeploymentUntenantedCommandV1`, `CreateDeploymentTenantedCommandV1`): a release
//! named by project and version, sent to environments (untenanted) or to tenants in one
//! environment (tenanted), one classic `POST deployments` ([`deployments::create`]) per
//! target, so lifecycle, tenant and prompted-variable rules are the same. Every target is
//! checked before any deployment is queued. Answers `{DeploymentServerTasks: [{DeploymentId,
//! ServerTaskId}]}` with 200.
//!
//! - `EnvironmentNames` / `EnvironmentName`: names or ids; the unknown ones are refused in one
//!   message, in the text a current server gives ("Unable to locate deployment environment(s)
//!   named ..."; OctopusDeploy/run-runbook-action#431).
//! - `Tenants`: names or ids. `TenantTags`: canonical tag names (`Set/Tag`); a tenant matches
//!   when it has one of the given tags of every tag set named (tags of one set widen the
//!   match, tags of different sets narrow it, as Octopus's tenant tag filters do), and only
//!   tenants connected to the project in that environment are taken.
//! - `SkipStepNames`: steps (or actions) of the release's process snapshot by name.
//! - `Variables`: prompted variable values by variable name (the classic route takes them by
//!   variable id as `FormValues`).
//! - `SpecificMachineNames`, `ExcludedMachineNames`: the stand-in has no deployment targets
//!   (it runs every step on the server), so any name is an unknown target.
//! - `UseGuidedFailure` absent: the project's `DefaultGuidedFailureMode` decides.
//! - `RunAt`, `NoRunAfter`: the classic `QueueTime`, `QueueTimeExpiry`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Command, by_name, check_space, project};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::resources::{deployments, prompted, tenants};
use crate::store::{Doc, Store, items, string_lists, strings, text};

/// Which of the two commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `create/untenanted/v1`.
    Untenanted,
    /// `create/tenanted/v1`.
    Tenanted,
}

/// What both commands share, read from the body.
struct Common {
    space_id: Option<String>,
    space_or_name: Option<String>,
    project: Option<String>,
    version: Option<String>,
    force_redeploy: bool,
    force_download: bool,
    guided: Option<bool>,
    machines: Vec<String>,
    excluded: Vec<String>,
    skip: Vec<String>,
    variables: BTreeMap<String, String>,
    run_at: Option<String>,
    no_run_after: Option<String>,
}

impl Common {
    fn read(cmd: &mut Command<'_>) -> Self {
        Common {
            space_id: cmd.text("SpaceId"),
            space_or_name: cmd.text("SpaceIdOrName"),
            project: cmd.text("ProjectName"),
            version: cmd.text("ReleaseVersion"),
            force_redeploy: cmd.flag("ForcePackageRedeployment").unwrap_or(false),
            force_download: cmd.flag("ForcePackageDownload").unwrap_or(false),
            guided: cmd.flag("UseGuidedFailure"),
            machines: cmd.list("SpecificMachineNames"),
            excluded: cmd.list("ExcludedMachineNames"),
            skip: cmd.list("SkipStepNames"),
            variables: cmd.map("Variables"),
            run_at: cmd.text("RunAt"),
            no_run_after: cmd.text("NoRunAfter"),
        }
    }
}

/// Creates the deployments the command describes.
pub fn create(app: &Arc<App>, space: &str, form: Form, body: &Value) -> ApiResult<Value> {
    let mut cmd = Command::new(body)?;
    let common = Common::read(&mut cmd);
    let _ = (cmd.flag("UpdateVariableSnapshot"), cmd.text("Priority"));
    let (environments, tenant_names, tags) = match form {
        Form::Untenanted => (cmd.list("EnvironmentNames"), Vec::new(), Vec::new()),
        Form::Tenanted => (
            cmd.text("EnvironmentName").into_iter().collect(),
            cmd.list("Tenants"),
            cmd.list("TenantTags"),
        ),
    };
    cmd.finish()?;
    let tasks = app.write(|s| {
        check_space(
            s,
            space,
            common.space_id.as_deref(),
            common.space_or_name.as_deref(),
        )?;
        let project = project(s, space, common.project.as_deref())?.clone();
        let release = release(s, &project, common.version.as_deref())?;
        let environments = resolve_environments(s, space, form, &environments)?;
        let mut targets: Vec<(Doc, Option<String>)> = Vec::new();
        match form {
            Form::Untenanted => targets.extend(environments.into_iter().map(|e| (e, None))),
            Form::Tenanted => {
                let environment = environments
                    .into_iter()
                    .next()
                    .ok_or_else(|| ApiError::invalid("The EnvironmentName field is required."))?;
                for tenant in
                    resolve_tenants(s, space, &project, &environment, &tenant_names, &tags)?
                {
                    targets.push((environment.clone(), Some(tenant)));
                }
            }
        }
        unknown_machines(&common.machines, &common.excluded)?;
        let skip = skip_actions(s, &release, &common.skip)?;
        // Every target is checked before anything is queued: the classic route's own checks.
        let mut bodies = Vec::new();
        for (environment, tenant) in &targets {
            let env_id = text(environment, "Id").unwrap_or("");
            tenants::for_deployment(s, space, &project, environment, tenant.as_deref())?;
            deployments::check_lifecycle(s, &release, &project, environment)?;
            let form_values = form_values(s, &release, env_id, &common.variables)?;
            prompted::check(s, &release, env_id, Some(&form_values))?;
            let guided = common.guided.unwrap_or_else(|| {
                text(&project, "DefaultGuidedFailureMode") == Some("On")
                    || (text(&project, "DefaultGuidedFailureMode") != Some("Off")
                        && environment.get("UseGuidedFailure") == Some(&Value::Bool(true)))
            });
            bodies.push(json!({
                "ReleaseId": text(&release, "Id"),
                "EnvironmentId": env_id,
                "TenantId": tenant,
                "ForcePackageRedeployment": common.force_redeploy,
                "ForcePackageDownload": common.force_download,
                "UseGuidedFailure": guided,
                "SkipActions": skip,
                "FormValues": form_values,
                "QueueTime": common.run_at,
                "QueueTimeExpiry": common.no_run_after,
            }));
        }
        let mut tasks = Vec::new();
        for body in bodies {
            let doc = deployments::create(s, space, &body)?;
            tasks.push(
                json!({"DeploymentId": text(&doc, "Id"), "ServerTaskId": text(&doc, "TaskId")}),
            );
        }
        Ok(tasks)
    })?;
    app.wake.notify_one();
    Ok(json!({ "DeploymentServerTasks": tasks }))
}

/// The project's release with `version` (ignoring case), or the 400 naming it.
fn release(store: &Store, project: &Doc, version: Option<&str>) -> ApiResult<Doc> {
    let version =
        version.ok_or_else(|| ApiError::invalid("The ReleaseVersion field is required."))?;
    let project_id = text(project, "Id").unwrap_or("");
    store
        .all(Kind::Release)
        .iter()
        .find(|r| {
            text(r, "ProjectId") == Some(project_id)
                && text(r, "Version").is_some_and(|v| v.eq_ignore_ascii_case(version))
        })
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Unable to locate release '{version}' of project '{}'.",
                text(project, "Name").unwrap_or("")
            ))
        })
}

fn resolve_environments(
    store: &Store,
    space: &str,
    form: Form,
    names: &[String],
) -> ApiResult<Vec<Doc>> {
    if names.is_empty() {
        return Err(ApiError::invalid(match form {
            Form::Untenanted => "The EnvironmentNames field must name at least one environment.",
            Form::Tenanted => "The EnvironmentName field is required.",
        }));
    }
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match by_name(store, Kind::Environment, space, name, |_| true) {
            Some(e) if !found.iter().any(|f: &Doc| text(f, "Id") == text(e, "Id")) => {
                found.push(e.clone())
            }
            Some(_) => {}
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::invalid(format!(
            "Unable to locate deployment environment(s) named '{}'",
            missing.join("', '")
        )));
    }
    Ok(found)
}

/// The tenants named, and those the tags select among the tenants connected to the project in
/// the environment; ids, in a stable order, each once.
fn resolve_tenants(
    store: &Store,
    space: &str,
    project: &Doc,
    environment: &Doc,
    names: &[String],
    tags: &[String],
) -> ApiResult<Vec<String>> {
    if names.is_empty() && tags.is_empty() {
        return Err(ApiError::invalid(
            "A tenanted deployment must name Tenants or TenantTags.",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match by_name(store, Kind::Tenant, space, name, |_| true).and_then(|t| text(t, "Id")) {
            Some(id) if !out.iter().any(|o| o == id) => out.push(id.to_owned()),
            Some(_) => {}
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::invalid(format!(
            "Unable to locate tenant(s) named '{}'",
            missing.join("', '")
        )));
    }
    if tags.is_empty() {
        return Ok(out);
    }
    let mut by_set: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unknown = Vec::new();
    for tag in tags {
        match crate::resources::tagsets::existing(store, space, tag) {
            Some(canonical) => {
                let set = canonical.split('/').next().unwrap_or("").to_lowercase();
                by_set
                    .entry(set)
                    .or_default()
                    .push(canonical.to_lowercase());
            }
            None => unknown.push(tag.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::invalid(format!(
            "Unable to locate tenant tag(s) '{}': give canonical names such as 'Region/Europe'.",
            unknown.join("', '")
        )));
    }
    let project_id = text(project, "Id").unwrap_or("");
    let env_id = text(environment, "Id").unwrap_or("");
    let mut tagged = 0usize;
    for tenant in store
        .all(Kind::Tenant)
        .iter()
        .filter(|t| text(t, "SpaceId") == Some(space))
    {
        let has: Vec<String> = strings(tenant, "TenantTags")
            .iter()
            .map(|t| t.to_lowercase())
            .collect();
        let matches = by_set
            .values()
            .all(|wanted| wanted.iter().any(|w| has.contains(w)));
        let connected: BTreeMap<String, Vec<String>> = string_lists(tenant, "ProjectEnvironments");
        let here = connected
            .get(project_id)
            .is_some_and(|envs| envs.iter().any(|e| e == env_id));
        if matches
            && here
            && let Some(id) = text(tenant, "Id")
        {
            tagged += 1;
            if !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
    }
    if tagged == 0 && names.is_empty() {
        return Err(ApiError::invalid(format!(
            "No tenant connected to project '{}' in {} has the tags '{}'.",
            text(project, "Name").unwrap_or(""),
            text(environment, "Name").unwrap_or(""),
            tags.join("', '")
        )));
    }
    Ok(out)
}

fn unknown_machines(specific: &[String], excluded: &[String]) -> ApiResult<()> {
    let all: Vec<&str> = specific
        .iter()
        .chain(excluded)
        .map(String::as_str)
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Unable to locate deployment target(s) named '{}'",
        all.join("', '")
    )))
}

/// The ids of the actions of the steps named (a step's name or one action's name).
fn skip_actions(store: &Store, release: &Doc, names: &[String]) -> ApiResult<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let process = store.require(
        Kind::DeploymentProcess,
        text(release, "ProjectDeploymentProcessSnapshotId").unwrap_or(""),
    )?;
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        let mut hit = false;
        for step in items(process, "Steps").filter_map(Value::as_object) {
            let step_named = text(step, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name));
            for action in items(step, "Actions").filter_map(Value::as_object) {
                let action_named =
                    text(action, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name));
                if (step_named || action_named)
                    && let Some(id) = text(action, "Id")
                {
                    hit = true;
                    ids.push(id.to_owned());
                }
            }
        }
        if !hit {
            missing.push(name.as_str());
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::invalid(format!(
            "Unable to locate step(s) named '{}' in the deployment process of release {}.",
            missing.join("', '"),
            text(release, "Version").unwrap_or("")
        )));
    }
    Ok(ids)
}

/// `Variables` (by variable name) as the classic route's `FormValues` (by variable id).
fn form_values(
    store: &Store,
    release: &Doc,
    environment: &str,
    given: &BTreeMap<String, String>,
) -> ApiResult<Value> {
    let prompts = prompted::prompts(store, release, environment);
    let mut out = serde_json::Map::new();
    let mut unknown = Vec::new();
    for (name, value) in given {
        match prompts.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
            Some(p) => {
                out.insert(p.id.clone(), Value::String(value.clone()));
            }
            None => unknown.push(name.as_str()),
        }
    }
    if !unknown.is_empty() {
        return Err(ApiError::invalid(format!(
            "Variables names '{}', which is not a prompted variable of release {} in this environment.",
            unknown.join("', '"),
            text(release, "Version").unwrap_or("")
        )));
    }
    Ok(Value::Object(out))
}
