//! The request dispatcher: one handler that checks the API key, splits the path and sends it
//! to the right operation.
//!
//! Routes are matched by hand rather than by axum's router because Octopus serves every
//! space-scoped route twice, with and without `/{spaceId}` (the Swagger spec lists both
//! forms), and because `packages/raw` and `packages/{id}` must not shadow each other.
//!
//! ```text
//! /api                                root document
//! /api/spaces[/all|/{id}]             spaces
//! /api/{spaceId}                      space root
//! /api[/{spaceId}]/{collection}       paged list (GET), create (POST)
//! /api[/{spaceId}]/{collection}/all   bare array
//! /api[/{spaceId}]/{collection}/{id}  one resource (GET, PUT, DELETE)
//! /api[/{spaceId}]/channels/rule-test  a version against a channel rule (GET, POST)
//! ... and the sub-resources listed in `scoped`.
//! ```

pub mod collection;
pub mod root;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::Params;
use crate::permissions;
use crate::resources;
use crate::store::DEFAULT_SPACE;

/// The largest JSON request body the stand-in reads.
pub const MAX_JSON_BODY: usize = 16 * 1024 * 1024;

/// The header that carries the API key.
pub const API_KEY_HEADER: &str = "X-Octopus-ApiKey";

/// Every `/api` request comes here.
///
/// The root document and a space's root are served without a key, as their Swagger
/// operations have no `security` block; a wrong key is refused everywhere. A role key
/// (`--role-key`) is checked against the permission table (`permissions::RULES`) before the
/// request is routed: outside its role, 403 with Octopus's body. Octopus.Client
/// sends PUT and DELETE as POST with `X-HTTP-Method-Override`, which is honoured.
pub async fn api(State(app): State<Arc<App>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/api") else {
        return ApiError::no_route(&path).into_response();
    };
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = effective_method(&req);
    let anonymous = method == Method::GET
        && (segs.is_empty() || (segs.len() == 1 && segs.first().is_some_and(|s| is_space_id(s))));
    let mut req = req;
    match key(&app, &req) {
        Key::Admin => {
            req.extensions_mut().insert(resources::users::Caller::Admin);
        }
        Key::Role(index) => {
            req.extensions_mut()
                .insert(resources::users::Caller::Role(index));
            // The path after the optional space segment decides the permission.
            let scoped = match segs.split_first() {
                Some((first, rest)) if is_space_id(first) => rest,
                _ => segs.as_slice(),
            };
            let granted = |p: &str| {
                app.config
                    .role_keys
                    .get(index)
                    .is_some_and(|role| role.grants(p))
            };
            if let Some(permission) = permissions::required(&method, scoped)
                && !granted(permission)
            {
                drain(req).await;
                return crate::error::forbidden(permission);
            }
            let query = Params::parse(req.uri().query());
            if let Some(permission) = permissions::extra(&method, scoped, &query)
                && !granted(permission)
            {
                drain(req).await;
                return crate::error::forbidden(permission);
            }
        }
        Key::Missing if anonymous => {}
        Key::Missing | Key::Wrong => {
            drain(req).await;
            return ApiError::unauthorized().into_response();
        }
    }
    // Links the stand-in writes carry the path base it is served under (`--path-base`).
    let path = format!("{}{path}", app.config.path_base);
    match route(&app, req, method, &path, &segs).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// The most of a refused request's body read before answering.
pub(crate) const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads and drops what is left of a refused request's body before the answer goes out, as
/// Octopus's web server (Kestrel) does for a request answered early: a client still writing
/// an upload (a package pushed with a key that lacks the permission) then reads the 401 or
/// 403 instead of a connection closed under it. A body beyond [`DRAIN_LIMIT`] is left, and
/// the connection closes as before.
pub(crate) async fn drain(req: Request) {
    // Only the answer matters; a body that cannot be read changes nothing in it.
    let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await;
}

enum Key {
    Missing,
    Wrong,
    /// The admin key (`--api-key`): everything.
    Admin,
    /// The role key at this index of `--role-key`.
    Role(usize),
}

/// The key may come as the `X-Octopus-ApiKey` header or the `ApiKey` query parameter, the two
/// `securityDefinitions` of the Swagger spec.
fn key(app: &App, req: &Request) -> Key {
    let header = req
        .headers()
        .get(API_KEY_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let query = Params::parse(req.uri().query());
    match header.or(query.get("ApiKey").map(str::to_owned)) {
        None => Key::Missing,
        Some(k) if constant_time_eq(k.as_bytes(), app.config.api_key.as_bytes()) => Key::Admin,
        Some(k) => app
            .config
            .role_keys
            .iter()
            .position(|role| constant_time_eq(k.as_bytes(), role.key.as_bytes()))
            .map_or(Key::Wrong, Key::Role),
    }
}

fn effective_method(req: &Request) -> Method {
    let override_to = req
        .headers()
        .get("X-HTTP-Method-Override")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_uppercase);
    match (req.method(), override_to.as_deref()) {
        (&Method::POST, Some("PUT")) => Method::PUT,
        (&Method::POST, Some("DELETE")) => Method::DELETE,
        (m, _) => m.clone(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A path segment with its percent escapes decoded (`refs%2Fheads%2Fmain`); `+` stays `+`.
fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn is_space_id(segment: &str) -> bool {
    segment
        .strip_prefix("Spaces-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

async fn route(
    app: &Arc<App>,
    req: Request,
    method: Method,
    path: &str,
    segs: &[&str],
) -> ApiResult<Response> {
    let params = Params::parse(req.uri().query());
    match (&method, segs) {
        (&Method::GET, []) => Ok(json(StatusCode::OK, root::api_root(app))),
        (&Method::GET, ["spaces"]) => collection::list(app, Kind::Space, None, path, &params),
        (&Method::GET, ["spaces", "all"]) => collection::all(app, Kind::Space, None, &params),
        (&Method::GET, ["spaces", id]) => collection::one(app, Kind::Space, None, id),
        // Not space-scoped; in the 2020.5 Swagger too.
        (&Method::GET, ["users", "me"]) => {
            let caller = req
                .extensions()
                .get::<resources::users::Caller>()
                .copied()
                .ok_or_else(ApiError::unauthorized)?;
            let role_key = match caller {
                resources::users::Caller::Role(i) => {
                    app.config.role_keys.get(i).map(|r| r.key.as_str())
                }
                resources::users::Caller::Admin => None,
            };
            ok(resources::users::me(caller, role_key))
        }
        // The executions API (2022.3+): only under a space id, as its route requires one.
        (&Method::POST, [space, "releases", "create", "v1"]) if is_space_id(space) => {
            current_only(app, path)?;
            app.read(|s| s.require(Kind::Space, space).map(|_| ()))?;
            let body = json_body(req).await?;
            ok(resources::executions::release::create(app, space, &body)?)
        }
        (
            &Method::POST,
            [
                space,
                "deployments",
                "create",
                form @ ("untenanted" | "tenanted"),
                "v1",
            ],
        ) if is_space_id(space) => {
            current_only(app, path)?;
            app.read(|s| s.require(Kind::Space, space).map(|_| ()))?;
            let body = json_body(req).await?;
            let form = if *form == "tenanted" {
                resources::executions::deploy::Form::Tenanted
            } else {
                resources::executions::deploy::Form::Untenanted
            };
            ok(resources::executions::deploy::create(
                app, space, form, &body,
            )?)
        }
        (_, [space, rest @ ..]) if is_space_id(space) => {
            app.read(|s| s.require(Kind::Space, space).map(|_| ()))?;
            scoped(app, req, &method, space, rest, path, &params).await
        }
        (_, [first, ..]) if Kind::from_segment(first).is_some() => {
            scoped(app, req, &method, DEFAULT_SPACE, segs, path, &params).await
        }
        _ => Err(ApiError::no_route(path)),
    }
}

async fn scoped(
    app: &Arc<App>,
    req: Request,
    method: &Method,
    space: &str,
    segs: &[&str],
    path: &str,
    params: &Params,
) -> ApiResult<Response> {
    let sp = Some(space);
    match (method, segs) {
        (&Method::GET, []) => Ok(json(
            StatusCode::OK,
            root::space_root(&app.config.path_base, space),
        )),
        // Served by current servers only (absent from the 2020.5 Swagger spec): Git
        // credentials and the 2024.1+ tenant variable forms; 2020.5 answers 404.
        (_, ["git-credentials", ..] | ["tenants", _, "projectvariables" | "commonvariables"])
            if !app.config.profile.is_current() =>
        {
            Err(ApiError::no_route(path))
        }
        // Packages: upload and download before the generic `{id}` forms.
        (&Method::POST, ["packages", "raw"]) => {
            resources::packages::upload(app, space, req, params).await
        }
        (&Method::GET, ["packages", id, "raw"]) => {
            resources::packages::download(app, space, id).await
        }
        (&Method::GET, ["packages"]) => resources::packages::list(app, path, params),
        (&Method::GET, ["feeds", id, "packages", "versions"]) => {
            resources::feeds::versions(app, space, id, path, params)
        }
        // Sub-collections.
        // A project's live process by the project (2022+; api-client
        // `DeploymentProcessRepository.get`/`update`).
        (&Method::GET, ["projects", id, "deploymentprocesses"]) => {
            current_only(app, path)?;
            let process = app.read(|s| resources::processes::of_project(s, space, id))?;
            collection::one(app, Kind::DeploymentProcess, sp, &process)
        }
        (&Method::PUT, ["projects", id, "deploymentprocesses"]) => {
            current_only(app, path)?;
            let process = app.read(|s| resources::processes::of_project(s, space, id))?;
            let body = json_body(req).await?;
            ok(Value::Object(resources::update(
                app,
                Kind::DeploymentProcess,
                space,
                &process,
                &body,
            )?))
        }
        (&Method::GET, ["projects", id, "releases", version]) => {
            let release = resources::releases::by_version(app, space, id, version)?;
            ok(crate::shapes::present_value(
                app.config.profile,
                Kind::Release,
                release,
            ))
        }
        (
            &Method::GET,
            [
                "projects",
                id,
                sub @ ("releases" | "channels" | "runbooks" | "triggers"),
            ],
        ) => collection::children(app, space, Kind::Project, id, sub, path, params),
        (&Method::GET, ["channels", id, "releases"]) => {
            collection::children(app, space, Kind::Channel, id, "releases", path, params)
        }
        (&Method::GET, ["releases", id, "deployments", "preview", environment]) => ok(
            resources::prompted::preview(app, space, id, environment, None)?,
        ),
        (
            &Method::GET,
            [
                "releases",
                id,
                "deployments",
                "preview",
                environment,
                tenant,
            ],
        ) => ok(resources::prompted::preview(
            app,
            space,
            id,
            environment,
            Some(tenant),
        )?),
        (&Method::GET, ["releases", id, "deployments"]) => {
            collection::children(app, space, Kind::Release, id, "deployments", path, params)
        }
        (&Method::GET, ["projectgroups", id, "projects"]) => {
            collection::children(app, space, Kind::ProjectGroup, id, "projects", path, params)
        }
        (&Method::GET, ["actiontemplates", id, "versions", version]) => {
            ok(Value::Object(app.read(|s| {
                resources::action_templates::at_version(s, space, id, version)
            })?))
        }
        (&Method::GET, ["channels", "rule-test"]) => {
            ok(resources::channel_rules::rule_test(params, None)?)
        }
        (&Method::POST, ["channels", "rule-test"]) => {
            let body = json_body(req).await?;
            ok(resources::channel_rules::rule_test(params, Some(&body))?)
        }
        (&Method::GET, ["tasks", id, "details"]) => ok(resources::tasks::details(app, id)?),
        (&Method::GET, ["tasks", id, "raw"]) => resources::tasks::raw(app, id),
        (&Method::GET, ["interruptions", id, "responsible"]) => {
            ok(resources::interruptions::responsible(app, id)?)
        }
        (&Method::PUT, ["interruptions", id, "responsible"]) => {
            ok(resources::interruptions::take_responsibility(app, id)?)
        }
        (&Method::POST, ["interruptions", id, "submit"]) => {
            let body = json_body(req).await?;
            ok(resources::interruptions::submit(app, id, &body)?)
        }
        // Tenant variables: the older combined form and the 2024.1+ forms.
        (&Method::GET, ["tenants", id, "variables"]) => {
            ok(app.read(|s| resources::tenant_values::get_combined(s, space, id))?)
        }
        (&Method::PUT | &Method::POST, ["tenants", id, "variables"]) => {
            let body = json_body(req).await?;
            ok(app.write(|s| resources::tenant_values::put_combined(s, space, id, &body))?)
        }
        (
            &Method::GET,
            [
                "tenants",
                id,
                form @ ("projectvariables" | "commonvariables"),
            ],
        ) => {
            let form = tenant_form(form);
            ok(app.read(|s| resources::tenant_values::get_form(s, space, id, form, params))?)
        }
        (
            &Method::PUT,
            [
                "tenants",
                id,
                form @ ("projectvariables" | "commonvariables"),
            ],
        ) => {
            let form = tenant_form(form);
            let body = json_body(req).await?;
            ok(app.write(|s| resources::tenant_values::put_form(s, space, id, form, &body))?)
        }
        // Runbooks: snapshots, processes and runs beside the generic forms (resources::
        // runbook_snapshots, runbook_runs, runbook_executions).
        (&Method::GET, ["projects", id, "runbookSnapshots"]) => collection::children(
            app,
            space,
            Kind::Project,
            id,
            "runbookSnapshots",
            path,
            params,
        ),
        (&Method::GET, ["projects", id, "runbookSnapshots", name]) => {
            ok(Value::Object(app.read(|s| {
                resources::runbook_snapshots::by_name(s, space, id, name)
            })?))
        }
        (&Method::POST, ["projects", id, "runbookSnapshots"]) => {
            current_only(app, path)?;
            let publish = params.flag("publish")?.unwrap_or(false);
            let body = json_body(req).await?;
            let doc = app.write(|s| {
                resources::runbook_snapshots::create(s, space, &body, Some(id), publish)
            })?;
            Ok(json(StatusCode::CREATED, Value::Object(doc)))
        }
        (&Method::POST, ["projects", id, "runbooks"]) => {
            current_only(app, path)?;
            let body = json_body(req).await?;
            let doc =
                app.write(|s| resources::references::create_runbook_in(s, space, id, &body))?;
            Ok(json(StatusCode::CREATED, Value::Object(doc)))
        }
        (&Method::GET, ["projects", project, "runbookProcesses", id]) => {
            current_only(app, path)?;
            ok(Value::Object(app.read(|s| {
                resources::processes::runbook_process_in(s, space, project, id)
            })?))
        }
        (&Method::PUT, ["projects", project, "runbookProcesses", id]) => {
            current_only(app, path)?;
            let body = json_body(req).await?;
            ok(Value::Object(app.write(|s| {
                resources::processes::runbook_process_in(s, space, project, id)?;
                resources::processes::update_of(s, Kind::RunbookProcess, space, id, &body)
            })?))
        }
        (
            &Method::GET,
            [
                seg @ ("runbooks" | "runbookProcesses"),
                id,
                "runbookSnapshotTemplate",
            ],
        ) => {
            let kind = if *seg == "runbooks" {
                Kind::Runbook
            } else {
                Kind::RunbookProcess
            };
            ok(Value::Object(app.read(|s| {
                resources::runbook_snapshots::template(s, space, kind, id)
            })?))
        }
        (&Method::GET, ["runbooks", id, "runbookSnapshots"]) => collection::children(
            app,
            space,
            Kind::Runbook,
            id,
            "runbookSnapshots",
            path,
            params,
        ),
        (&Method::GET, ["runbookSnapshots", id, "runbookRuns"]) => collection::children(
            app,
            space,
            Kind::RunbookSnapshot,
            id,
            "runbookRuns",
            path,
            params,
        ),
        (&Method::POST, ["runbook-runs", "create", "v1"]) => {
            current_only(app, path)?;
            let body = json_body(req).await?;
            let answer = app.write(|s| resources::runbook_executions::create(s, space, &body))?;
            app.wake.notify_one();
            Ok(json(StatusCode::OK, answer))
        }
        // Build information: the list's filters, the create's overwrite modes and the bulk
        // delete are its own.
        (&Method::GET, ["build-information"]) => {
            ok(app.read(|s| resources::build_information::list(s, path, params))?)
        }
        (&Method::POST, ["build-information"]) => {
            let body = json_body(req).await?;
            let doc =
                app.write(|s| resources::build_information::create(s, space, &body, params))?;
            ok(Value::Object(doc))
        }
        (&Method::DELETE, ["build-information", "bulk"]) => {
            app.write(|s| resources::build_information::delete_bulk(s, space, params))?;
            Ok(StatusCode::OK.into_response())
        }
        // The generic forms.
        (&Method::GET, [seg]) => collection::list(app, kind(seg, path)?, sp, path, params),
        (&Method::GET, [seg, "all"]) => collection::all(app, kind(seg, path)?, sp, params),
        (&Method::GET, [seg, id]) => collection::one(app, kind(seg, path)?, sp, id),
        (&Method::POST, [seg]) => {
            let kind = kind(seg, path)?;
            let body = json_body(req).await?;
            let doc = resources::create(app, kind, space, &body, params)?;
            let doc = crate::shapes::present(app.config.profile, kind, doc);
            Ok(json(StatusCode::CREATED, Value::Object(doc)))
        }
        (&Method::PUT, [seg, id]) => {
            let kind = kind(seg, path)?;
            let body = json_body(req).await?;
            let doc = resources::update(app, kind, space, id, &body)?;
            ok(Value::Object(crate::shapes::present(
                app.config.profile,
                kind,
                doc,
            )))
        }
        (&Method::DELETE, [seg, id]) => {
            resources::delete(app, kind(seg, path)?, space, id)?;
            Ok(StatusCode::OK.into_response())
        }
        _ => Err(ApiError::no_route(path)),
    }
}

/// Refuses a route newer than the profile's server with the 404 such a server gives for a
/// path it does not have (`--profile 2020.5` has no executions API, for one); a current
/// profile passes. Routes added after 2020.5 call this first.
pub fn current_only(app: &App, path: &str) -> ApiResult<()> {
    if app.config.profile.is_current() {
        Ok(())
    } else {
        Err(ApiError::no_route(path))
    }
}

fn tenant_form(segment: &str) -> resources::tenant_values::Form {
    if segment == "projectvariables" {
        resources::tenant_values::Form::Project
    } else {
        resources::tenant_values::Form::Common
    }
}

fn kind(segment: &str, path: &str) -> ApiResult<Kind> {
    Kind::from_segment(segment)
        // Tenant values are served only through their tenant's routes.
        .filter(|k| !matches!(k, Kind::Space | Kind::TenantValue))
        .ok_or_else(|| ApiError::no_route(path))
}

/// Reads a JSON request body of at most [`MAX_JSON_BODY`] bytes.
pub async fn json_body(req: Request) -> ApiResult<Value> {
    let bytes = axum::body::to_bytes(req.into_body(), MAX_JSON_BODY)
        .await
        .map_err(|_| {
            ApiError::invalid(format!(
                "The request body is larger than the stand-in accepts ({MAX_JSON_BODY} bytes)."
            ))
        })?;
    if bytes.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid JSON: {e}.")))
}

/// A JSON response.
pub fn json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Value) -> ApiResult<Response> {
    Ok(json(StatusCode::OK, body))
}

/// A plain response body (the raw task log).
pub fn text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        Body::from(body),
    )
        .into_response()
}
