//! Tenants: the customers (or regions) a project is deployed for. A tenant is connected to
//! projects in some of their environments (`ProjectEnvironments`: project id -> environment
//! ids, Swagger `TenantResource`), and a tenanted deployment must stay within that connection.
//!
//! Rules (Octopus documentation, "Multi-tenant deployments FAQ"): a project deploys for tenants
//! only when its settings allow it (`TenantedDeploymentMode`, Swagger enum `Untenanted`,
//! `TenantedOrUntenanted`, `Tenanted`; `Untenanted` by default), and a tenant must be connected
//! to the project "including the environments where you want to deploy".

use serde_json::{Map, Value};

use super::{find, must_exist, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// The writable fields of `TenantResource`.
const TENANT: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("TenantTags", Ty::Array),
    ("ProjectEnvironments", Ty::Map),
    ("ClonedFromTenantId", Ty::Str),
];

/// `POST /api/{space}/tenants`.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let doc = fields::take(body, TENANT)?;
    let id = store.next_id(Kind::Tenant);
    save(store, space, &id, doc)
}

/// `PUT /api/{space}/tenants/{id}`.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let id = text(find(store, Kind::Tenant, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    let doc = fields::take(body, TENANT)?;
    save(store, space, &id, doc)
}

fn save(store: &mut Store, space: &str, id: &str, mut doc: Doc) -> ApiResult<Doc> {
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, Kind::Tenant, space, &name, Some(id), |_| true)?;
    let tags = tags(store, space, &doc)?;
    doc.insert("TenantTags".into(), Value::Array(tags));
    if let Some(source) = text(&doc, "ClonedFromTenantId") {
        must_exist(store, Kind::Tenant, space, "ClonedFromTenantId", source)?;
    }
    let connections = connections(store, space, &doc)?;
    doc.insert("ProjectEnvironments".into(), Value::Object(connections));
    stamp(
        &mut doc,
        Kind::Tenant,
        id,
        space,
        &[
            ("Web", format!("/app#/{space}/tenants/{id}/overview")),
            // go-octopusdeploy reads and writes tenant variables through this link.
            ("Variables", format!("/api/{space}/tenants/{id}/variables")),
        ],
    );
    store.put(Kind::Tenant, doc.clone());
    Ok(doc)
}

/// `TenantTags`, checked: each the canonical name (`Set/Tag`) of an existing tag, as its tag
/// set spells it (duplicates dropped).
fn tags(store: &Store, space: &str, doc: &Doc) -> ApiResult<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    let mut errors = Vec::new();
    for tag in crate::store::items(doc, "TenantTags") {
        let Some(name) = tag.as_str() else {
            errors.push("TenantTags must be a list of canonical tag names (Set/Tag).".to_owned());
            continue;
        };
        match super::tagsets::existing(store, space, name) {
            Some(canonical) if !out.contains(&Value::String(canonical.clone())) => {
                out.push(Value::String(canonical));
            }
            Some(_) => {}
            None => errors.push(format!(
                "TenantTags refers to tag '{name}', which does not exist in {space}: tags are named <tag set>/<tag>."
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// `ProjectEnvironments`, checked: every key an existing project, every value a list of
/// existing environments (duplicates dropped, order kept).
fn connections(store: &Store, space: &str, doc: &Doc) -> ApiResult<Map<String, Value>> {
    let given = doc
        .get("ProjectEnvironments")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (project, environments) in given {
        if let Err(e) = must_exist(store, Kind::Project, space, "ProjectEnvironments", &project) {
            errors.extend(e.errors);
            continue;
        }
        let Some(list) = environments.as_array() else {
            errors.push(format!(
                "ProjectEnvironments of project '{project}' must be a list of environment ids."
            ));
            continue;
        };
        let mut kept: Vec<Value> = Vec::new();
        for environment in list {
            let Some(env) = environment.as_str() else {
                errors.push(format!(
                    "ProjectEnvironments of project '{project}' must be a list of environment ids."
                ));
                continue;
            };
            match must_exist(store, Kind::Environment, space, "ProjectEnvironments", env) {
                Ok(()) if !kept.contains(environment) => kept.push(environment.clone()),
                Ok(()) => {}
                Err(e) => errors.extend(e.errors),
            }
        }
        out.insert(project, Value::Array(kept));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// Removes a deleted project (`Kind::Project`) or environment from every tenant's connections.
pub fn forget(store: &mut Store, kind: Kind, id: &str) {
    let tenants = store.ids_where(Kind::Tenant, |_| true);
    for tenant in tenants {
        let Some(doc) = store.get_mut(Kind::Tenant, &tenant) else {
            continue;
        };
        let Some(map) = doc
            .get_mut("ProjectEnvironments")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        match kind {
            Kind::Project => {
                map.remove(id);
            }
            _ => {
                for list in map.values_mut() {
                    if let Some(list) = list.as_array_mut() {
                        list.retain(|e| e.as_str() != Some(id));
                    }
                }
            }
        }
    }
}

/// The tenant of a deployment, checked against the project's `TenantedDeploymentMode` and the
/// tenant's connections; `None` for an untenanted deployment.
pub fn for_deployment(
    store: &Store,
    space: &str,
    project: &Doc,
    environment: &Doc,
    tenant_id: Option<&str>,
) -> ApiResult<Option<Doc>> {
    let project_name = text(project, "Name").unwrap_or("");
    let mode = text(project, "TenantedDeploymentMode").unwrap_or("Untenanted");
    let Some(tenant_id) = tenant_id else {
        if mode == "Tenanted" {
            return Err(ApiError::invalid(format!(
                "The project '{project_name}' is deployed only for tenants (its TenantedDeploymentMode is Tenanted): name a TenantId."
            )));
        }
        return Ok(None);
    };
    must_exist(store, Kind::Tenant, space, "TenantId", tenant_id)?;
    let tenant = store.require(Kind::Tenant, tenant_id)?;
    let tenant_name = text(tenant, "Name").unwrap_or("");
    if mode == "Untenanted" {
        return Err(ApiError::invalid(format!(
            "The project '{project_name}' does not allow tenanted deployments (its TenantedDeploymentMode is Untenanted), so it cannot be deployed for tenant '{tenant_name}'."
        )));
    }
    let project_id = text(project, "Id").unwrap_or("");
    let env_id = text(environment, "Id").unwrap_or("");
    let env_name = text(environment, "Name").unwrap_or("");
    let Some(connected) = tenant
        .get("ProjectEnvironments")
        .and_then(|m| m.get(project_id))
        .and_then(Value::as_array)
    else {
        return Err(ApiError::invalid(format!(
            "The tenant '{tenant_name}' is not connected to project '{project_name}': connect it in the tenant's ProjectEnvironments first."
        )));
    };
    if !connected.iter().any(|e| e.as_str() == Some(env_id)) {
        let names: Vec<&str> = connected
            .iter()
            .filter_map(Value::as_str)
            .map(|e| {
                store
                    .get(Kind::Environment, e)
                    .and_then(|d| text(d, "Name"))
                    .unwrap_or(e)
            })
            .collect();
        let reach = if names.is_empty() {
            "in no environment".to_owned()
        } else {
            format!("in {} only", names.join(", "))
        };
        return Err(ApiError::invalid(format!(
            "The tenant '{tenant_name}' is connected to project '{project_name}' {reach}, not in {env_name}: add {env_name} to the tenant's ProjectEnvironments to deploy there."
        )));
    }
    Ok(Some(tenant.clone()))
}
