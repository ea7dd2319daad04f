//! The write side of each resource kind: what a create (`POST`) or replace (`PUT`) takes,
//! checks and derives, with Octopus's rules. Reads are generic (`routes::collection`).

pub mod action_templates;
pub mod automatic;
pub mod build_information;
pub mod by_package;
pub mod channel_rules;
pub mod deployments;
pub mod executions;
pub mod feeds;
pub mod interruptions;
pub mod library_sets;
pub mod lifecycles;
pub mod packages;
pub mod processes;
pub mod projects;
pub mod prompted;
pub mod references;
pub mod releases;
pub mod runbook_executions;
pub mod runbook_runs;
pub mod runbook_snapshots;
pub mod simple;
pub mod tagsets;
pub mod tasks;
pub mod templates;
pub mod tenant_values;
pub mod tenants;
pub mod triggers;
pub mod users;
pub mod variables;

use std::sync::Arc;

use serde_json::{Value, json};

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::Params;
use crate::store::{Doc, Store, now, text};

/// Who Octopus says made a change (the API key's user on a fresh instance).
pub const MODIFIED_BY: &str = "admin";

/// `POST /api/{space}/{collection}`.
pub fn create(
    app: &Arc<App>,
    kind: Kind,
    space: &str,
    body: &Value,
    params: &Params,
) -> ApiResult<Doc> {
    let doc = match kind {
        Kind::Environment | Kind::ProjectGroup | Kind::Feed => {
            app.write(|s| simple::create(s, kind, space, body))?
        }
        Kind::Lifecycle => app.write(|s| lifecycles::create(s, space, body))?,
        Kind::Channel => app.write(|s| simple::create_channel(s, space, body))?,
        Kind::LibraryVariableSet => app.write(|s| library_sets::create(s, space, body))?,
        Kind::Project => app.write(|s| projects::create(s, space, body))?,
        Kind::Release => {
            // A release entering a phase with automatic deployment targets is deployed there
            // at once (see `automatic`).
            let custom = releases::custom_fields(app.config.profile, body)?;
            let doc = app.write(|s| {
                let mut doc = releases::create(s, space, body, params)?;
                let id = text(&doc, "Id").unwrap_or("").to_owned();
                releases::set_custom_fields(s, &id, &mut doc, custom);
                automatic::deploy_due(s, space, &id);
                Ok(doc)
            })?;
            app.wake.notify_one();
            doc
        }
        Kind::Tenant => app.write(|s| tenants::create(s, space, body))?,
        k if references::KINDS.contains(&k) => {
            app.write(|s| references::create(s, kind, space, body))?
        }
        Kind::ProjectTrigger => app.write(|s| triggers::create(s, space, body))?,
        Kind::TagSet => app.write(|s| tagsets::create(s, space, body))?,
        Kind::ActionTemplate => app.write(|s| action_templates::create(s, space, body))?,
        Kind::Deployment => {
            let doc = app.write(|s| deployments::create(s, space, body))?;
            app.wake.notify_one();
            doc
        }
        Kind::RunbookSnapshot => {
            let publish = params.flag("publish")?.unwrap_or(false);
            app.write(|s| runbook_snapshots::create(s, space, body, None, publish))?
        }
        Kind::RunbookRun => {
            let doc = app.write(|s| runbook_runs::create(s, space, body))?;
            app.wake.notify_one();
            doc
        }
        _ => return Err(not_writable(kind, "created")),
    };
    Ok(doc)
}

/// `PUT /api/{space}/{collection}/{id}`.
pub fn update(app: &Arc<App>, kind: Kind, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    match kind {
        Kind::Environment | Kind::ProjectGroup | Kind::Feed => {
            app.write(|s| simple::update(s, kind, space, id, body))
        }
        Kind::Lifecycle => app.write(|s| lifecycles::update(s, space, id, body)),
        Kind::Channel => app.write(|s| simple::update_channel(s, space, id, body)),
        Kind::LibraryVariableSet => app.write(|s| library_sets::update(s, space, id, body)),
        Kind::Project => app.write(|s| projects::update(s, space, id, body)),
        Kind::DeploymentProcess => app.write(|s| processes::update(s, space, id, body)),
        Kind::VariableSet => app.write(|s| variables::update(s, space, id, body)),
        Kind::Release => {
            let custom = releases::custom_fields(app.config.profile, body)?;
            app.write(|s| {
                let mut doc = releases::update(s, space, id, body)?;
                let id = text(&doc, "Id").unwrap_or("").to_owned();
                releases::set_custom_fields(s, &id, &mut doc, custom);
                Ok(doc)
            })
        }
        Kind::Tenant => app.write(|s| tenants::update(s, space, id, body)),
        k if references::KINDS.contains(&k) => {
            app.write(|s| references::update(s, kind, space, id, body))
        }
        Kind::ProjectTrigger => app.write(|s| triggers::update(s, space, id, body)),
        Kind::TagSet => app.write(|s| tagsets::update(s, space, id, body)),
        Kind::ActionTemplate => app.write(|s| action_templates::update(s, space, id, body)),
        Kind::RunbookProcess => {
            app.write(|s| processes::update_of(s, Kind::RunbookProcess, space, id, body))
        }
        _ => Err(not_writable(kind, "changed")),
    }
}

/// `DELETE /api/{space}/{collection}/{id}`.
pub fn delete(app: &Arc<App>, kind: Kind, space: &str, id: &str) -> ApiResult<()> {
    match kind {
        Kind::Environment
        | Kind::ProjectGroup
        | Kind::Lifecycle
        | Kind::LibraryVariableSet
        | Kind::Channel
        | Kind::Feed
        | Kind::Release
        | Kind::Tenant
        | Kind::ProjectTrigger => app.write(|s| {
            let doc = find(s, kind, space, id)?;
            let id = text(doc, "Id").unwrap_or(id).to_owned();
            if id == crate::store::BUILTIN_FEED {
                return Err(ApiError::invalid("The built-in feed cannot be deleted."));
            }
            if kind == Kind::Channel && doc.get("IsDefault") == Some(&Value::Bool(true)) {
                return Err(ApiError::invalid(
                    "The default channel of a project cannot be deleted.",
                ));
            }
            s.remove(kind, &id);
            if kind == Kind::Environment {
                tenants::forget(s, kind, &id);
            }
            match kind {
                Kind::Tenant => tenant_values::forget(s, "TenantId", &id),
                Kind::LibraryVariableSet => tenant_values::forget(s, "LibraryVariableSetId", &id),
                _ => {}
            }
            Ok(())
        }),
        Kind::Project => app.write(|s| projects::delete(s, space, id)),
        Kind::ActionTemplate => app.write(|s| action_templates::delete(s, space, id)),
        Kind::Package => packages::delete(app, space, id),
        Kind::BuildInformation => app.write(|s| build_information::delete(s, space, id)),
        _ => Err(not_writable(kind, "deleted")),
    }
}

fn not_writable(kind: Kind, verb: &str) -> ApiError {
    ApiError::invalid(format!(
        "A {} cannot be {verb} through this route (the stand-in serves the routes Zonebridge uses; see octopus-standin/README.md).",
        kind.noun()
    ))
}

/// A resource by id (or a project by slug) within a space, or Octopus's 404.
pub fn find<'a>(store: &'a Store, kind: Kind, space: &str, id: &str) -> ApiResult<&'a Doc> {
    store
        .all(kind)
        .iter()
        .filter(|d| text(d, "SpaceId").is_none_or(|s| s == space))
        .find(|d| {
            text(d, "Id") == Some(id)
                || (kind == Kind::Project && text(d, "Slug").is_some_and(|s| s == id))
        })
        .ok_or_else(|| ApiError::not_found(kind.noun(), id))
}

/// Adds the fields the server owns: `Id`, `SpaceId`, `LastModifiedOn`, `LastModifiedBy`, and
/// `Links` with `Self` and the given extra links.
pub fn stamp(doc: &mut Doc, kind: Kind, id: &str, space: &str, extra_links: &[(&str, String)]) {
    doc.insert("Id".into(), json!(id));
    doc.insert("SpaceId".into(), json!(space));
    doc.insert("LastModifiedOn".into(), json!(now()));
    doc.insert("LastModifiedBy".into(), json!(MODIFIED_BY));
    let mut links = serde_json::Map::new();
    links.insert(
        "Self".into(),
        json!(format!("/api/{space}/{}/{id}", kind.segment())),
    );
    for (name, href) in extra_links {
        links.insert((*name).into(), json!(href));
    }
    doc.insert("Links".into(), Value::Object(links));
}

/// Refuses a second resource of the same kind and name within `scope` (the space, or a
/// project for channels); `except` is the resource being replaced.
pub fn unique_name(
    store: &Store,
    kind: Kind,
    space: &str,
    name: &str,
    except: Option<&str>,
    same_scope: impl Fn(&Doc) -> bool,
) -> ApiResult<()> {
    let clash = store.all(kind).iter().any(|d| {
        text(d, "SpaceId") == Some(space)
            && text(d, "Name").is_some_and(|n| n.eq_ignore_ascii_case(name))
            && text(d, "Id") != except
            && same_scope(d)
    });
    if clash {
        return Err(ApiError::invalid(format!(
            "A {} with the name '{name}' already exists. Please choose a different name.",
            kind.noun()
        )));
    }
    Ok(())
}

/// Refuses a reference to a resource that does not exist in the space.
pub fn must_exist(store: &Store, kind: Kind, space: &str, field: &str, id: &str) -> ApiResult<()> {
    referred(store, kind, space, field, id).map(|_| ())
}

/// The resource that `field` refers to, or `must_exist`'s 400 when it is not in the space.
pub fn referred<'a>(
    store: &'a Store,
    kind: Kind,
    space: &str,
    field: &str,
    id: &str,
) -> ApiResult<&'a Doc> {
    store
        .get(kind, id)
        .filter(|d| text(d, "SpaceId") == Some(space))
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "{field} refers to {} '{id}', which does not exist in {space}.",
                kind.noun()
            ))
        })
}
