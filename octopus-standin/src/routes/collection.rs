//! The generic read operations: paged lists, `/all` arrays, single resources and the
//! sub-collections of a parent, with the filters and orderings Octopus applies.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::json;
use crate::app::App;
use crate::error::ApiResult;
use crate::kind::Kind;
use crate::params::{self, Params};
use crate::resources;
use crate::store::{Doc, Store, strings, text};

/// `GET /api/{space}/{collection}`: one page.
pub fn list(
    app: &Arc<App>,
    kind: Kind,
    space: Option<&str>,
    path: &str,
    params: &Params,
) -> ApiResult<Response> {
    let docs = app.read(|s| select(s, kind, space, params))?;
    let docs = shaped(app, kind, docs);
    Ok(json(
        StatusCode::OK,
        params::page(kind, path, docs, params)?,
    ))
}

/// `GET /api/{space}/{collection}/all`: every match as a bare array.
pub fn all(
    app: &Arc<App>,
    kind: Kind,
    space: Option<&str>,
    params: &Params,
) -> ApiResult<Response> {
    let docs = app.read(|s| select(s, kind, space, params))?;
    let docs = shaped(app, kind, docs);
    Ok(json(
        StatusCode::OK,
        Value::Array(docs.into_iter().map(Value::Object).collect()),
    ))
}

/// `GET /api/{space}/{collection}/{id}`. Projects also answer to their slug.
pub fn one(app: &Arc<App>, kind: Kind, space: Option<&str>, id: &str) -> ApiResult<Response> {
    let doc = app.read(|s| find(s, kind, space, id).map(|d| present(s, kind, d.clone())))?;
    let doc = crate::shapes::present(app.config.profile, kind, doc);
    Ok(json(StatusCode::OK, Value::Object(doc)))
}

/// The documents in the shape of the profile's server (`shapes`).
fn shaped(app: &App, kind: Kind, docs: Vec<Doc>) -> Vec<Doc> {
    docs.into_iter()
        .map(|d| crate::shapes::present(app.config.profile, kind, d))
        .collect()
}

/// A resource by id (or a project by slug), within the space when one is given.
fn find<'a>(store: &'a Store, kind: Kind, space: Option<&str>, id: &str) -> ApiResult<&'a Doc> {
    match space {
        Some(space) => resources::find(store, kind, space, id),
        None => store.require(kind, id),
    }
}

/// `GET /api/{space}/{parent}/{id}/{sub}`: releases or channels of a project, releases of a
/// channel, deployments of a release, projects of a project group.
pub fn children(
    app: &Arc<App>,
    space: &str,
    parent: Kind,
    id: &str,
    sub: &str,
    path: &str,
    params: &Params,
) -> ApiResult<Response> {
    let (kind, docs) = app.read(|s| -> ApiResult<(Kind, Vec<Doc>)> {
        let parent_doc = find(s, parent, Some(space), id)?;
        let parent_id = text(parent_doc, "Id").unwrap_or(id).to_owned();
        let (kind, field) = match (parent, sub) {
            (Kind::Project, "releases") => (Kind::Release, "ProjectId"),
            (Kind::Project, "channels") => (Kind::Channel, "ProjectId"),
            (Kind::Project, "runbooks") => (Kind::Runbook, "ProjectId"),
            (Kind::Channel, "releases") => (Kind::Release, "ChannelId"),
            (Kind::Release, "deployments") => (Kind::Deployment, "ReleaseId"),
            (Kind::Project, "triggers") => (Kind::ProjectTrigger, "ProjectId"),
            (Kind::Project, "runbookSnapshots") => (Kind::RunbookSnapshot, "ProjectId"),
            (Kind::Runbook, "runbookSnapshots") => (Kind::RunbookSnapshot, "RunbookId"),
            (Kind::RunbookSnapshot, "runbookRuns") => (Kind::RunbookRun, "RunbookSnapshotId"),
            _ => (Kind::Project, "ProjectGroupId"),
        };
        // `searchByVersion` (2022+, api-client `ReleaseRepository.listForProject`): releases
        // whose version contains it, ignoring case; an older server ignores the parameter.
        let search = params
            .get("searchByVersion")
            .filter(|_| kind == Kind::Release && app.config.profile.is_current())
            .map(str::to_lowercase);
        let docs = select(s, kind, Some(space), params)?
            .into_iter()
            .filter(|d| text(d, field) == Some(parent_id.as_str()))
            .filter(|d| {
                search.as_ref().is_none_or(|want| {
                    text(d, "Version").is_some_and(|v| v.to_lowercase().contains(want.as_str()))
                })
            })
            .collect();
        Ok((kind, docs))
    })?;
    let docs = shaped(app, kind, docs);
    Ok(json(
        StatusCode::OK,
        params::page(kind, path, docs, params)?,
    ))
}

fn in_space(doc: &Doc, space: Option<&str>) -> bool {
    match (space, text(doc, "SpaceId")) {
        (Some(space), Some(doc_space)) => space == doc_space,
        _ => true,
    }
}

/// The documents a list shows: in the space, filtered, in Octopus's order.
fn select(store: &Store, kind: Kind, space: Option<&str>, params: &Params) -> ApiResult<Vec<Doc>> {
    let mut docs: Vec<Doc> = store
        .all(kind)
        .iter()
        .filter(|d| in_space(d, space))
        .filter(|d| !is_snapshot(store, kind, d))
        .cloned()
        .collect();
    docs = params::filter(docs, params);
    docs.retain(|d| matches_kind_filters(store, kind, d, params));
    if params.flag("pendingOnly")? == Some(true) && kind == Kind::Interruption {
        docs.retain(|d| d.get("IsPending") == Some(&Value::Bool(true)));
    }
    sort(kind, &mut docs);
    Ok(docs
        .into_iter()
        .map(|d| present(store, kind, d))
        .map(|d| in_list(kind, d))
        .collect())
}

/// What a list shows of a resource: a package's list entry is a `PackageResource`, which has
/// no `Hash` or `PackageSizeBytes` (the Swagger spec's `GET packages` returns
/// `ResourceCollection_of_PackageResource`); `GET packages/{id}` shows them.
pub fn in_list(kind: Kind, mut doc: Doc) -> Doc {
    if kind == Kind::Package {
        doc.remove("Hash");
        doc.remove("PackageSizeBytes");
    }
    doc
}

/// Adds what Octopus computes on read: `ScopeValues` of a variable set.
fn present(store: &Store, kind: Kind, doc: Doc) -> Doc {
    if kind == Kind::VariableSet {
        resources::variables::with_scope_values(store, doc)
    } else if kind == Kind::Package {
        resources::build_information::on_package(store, doc)
    } else {
        doc
    }
}

fn is_snapshot(store: &Store, kind: Kind, doc: &Doc) -> bool {
    matches!(
        kind,
        Kind::DeploymentProcess | Kind::VariableSet | Kind::RunbookProcess
    ) && text(doc, "Id").is_some_and(|id| store.is_frozen(id))
}

/// The filters of the `Links` templates in the root document (fixture `api-root`):
/// deployments by `projects`, `environments`, `tenants`, `channels` (comma-separated ids);
/// tasks by `states` and, through their deployment, `project`, `environment`, `tenant`;
/// interruptions by `regarding`; tenants by `projectId` (connected to that project).
fn matches_kind_filters(store: &Store, kind: Kind, doc: &Doc, params: &Params) -> bool {
    let field_in = |doc: &Doc, param: &str, field: &str| {
        params
            .list(param)
            .is_none_or(|wanted| text(doc, field).is_some_and(|v| wanted.iter().any(|w| w == v)))
    };
    match kind {
        Kind::Deployment => {
            field_in(doc, "projects", "ProjectId")
                && field_in(doc, "environments", "EnvironmentId")
                && field_in(doc, "tenants", "TenantId")
                && field_in(doc, "channels", "ChannelId")
        }
        Kind::Task => {
            let by_deployment = ["project", "environment", "tenant"]
                .iter()
                .any(|p| params.get(p).is_some());
            field_in(doc, "states", "State")
                && (!by_deployment
                    || deployment_of_task(store, doc).is_some_and(|d| {
                        field_in(d, "project", "ProjectId")
                            && field_in(d, "environment", "EnvironmentId")
                            && field_in(d, "tenant", "TenantId")
                    }))
        }
        // The api-client's `RunbookRunListArgs` (`runs/runbookRunRepository.d.ts`); `ids` and
        // `partialName` are the generic filters.
        Kind::RunbookRun => {
            field_in(doc, "projects", "ProjectId")
                && field_in(doc, "environments", "EnvironmentId")
                && field_in(doc, "tenants", "TenantId")
                && field_in(doc, "runbooks", "RunbookId")
                && params.get("taskState").is_none_or(|state| {
                    store
                        .get(Kind::Task, text(doc, "TaskId").unwrap_or(""))
                        .is_some_and(|t| text(t, "State") == Some(state))
                })
        }
        Kind::Runbook => field_in(doc, "projectIds", "ProjectId"),
        Kind::Interruption => params.get("regarding").is_none_or(|r| {
            text(doc, "TaskId") == Some(r)
                || strings(doc, "RelatedDocumentIds").iter().any(|d| d == r)
        }),
        Kind::Tenant => params.get("projectId").is_none_or(|p| {
            doc.get("ProjectEnvironments")
                .and_then(Value::as_object)
                .is_some_and(|m| m.contains_key(p))
        }),
        _ => true,
    }
}

/// The deployment or runbook run a task carries out (`Arguments.DeploymentId`,
/// `Arguments.RunbookRunId`).
fn deployment_of_task<'a>(store: &'a Store, task: &Doc) -> Option<&'a Doc> {
    let arguments = task.get("Arguments")?;
    if let Some(run) = arguments.get("RunbookRunId").and_then(Value::as_str) {
        return store.get(Kind::RunbookRun, run);
    }
    let id = arguments.get("DeploymentId")?.as_str()?;
    store.get(Kind::Deployment, id)
}

/// Projects and most named resources by name; environments by `SortOrder`; releases,
/// deployments and tasks newest first.
fn sort(kind: Kind, docs: &mut [Doc]) {
    match kind {
        Kind::Environment | Kind::TagSet => {
            docs.sort_by_key(|d| d.get("SortOrder").and_then(Value::as_i64).unwrap_or(0))
        }
        Kind::Project
        | Kind::ProjectGroup
        | Kind::Lifecycle
        | Kind::LibraryVariableSet
        | Kind::Tenant => docs.sort_by_key(|d| text(d, "Name").unwrap_or("").to_lowercase()),
        Kind::Release | Kind::Deployment | Kind::Task | Kind::Interruption => docs.reverse(),
        Kind::RunbookSnapshot | Kind::RunbookRun => docs.reverse(),
        _ => {}
    }
}
