//! Variable sets (of projects and of library variable sets): values with scopes, sensitive
//! values kept out of the document, `Version` optimistic concurrency, frozen snapshots.
//!
//! Sensitive values follow what was measured on a real server: a sensitive variable re-sent
//! with its `Id` and an empty `Value` keeps its stored secret; re-sent without its `Id` it is
//! a new variable and the secret is gone. Reads always show `"Value": null` for a sensitive
//! variable (fixture `variable-set.json`). `ScopeValues` maps the ids used in scopes to names
//! (fixture `variable-set.scope-values.json`).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::find;
use super::processes::{check_version, refuse_frozen, version_of};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, new_guid, strings, text};

/// The writable fields of `VariableResource`.
const VARIABLE: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("Value", Ty::Str),
    ("Description", Ty::Str),
    ("Scope", Ty::Map),
    ("IsEditable", Ty::Bool),
    ("Prompt", Ty::Object),
    ("Type", Ty::Str),
    ("IsSensitive", Ty::Bool),
];

/// The variable types of the Swagger enum `VariableResource.Type`.
const TYPES: &[&str] = &[
    "String",
    "Sensitive",
    "Certificate",
    "AmazonWebServicesAccount",
    "AzureAccount",
    "WorkerPool",
    // Newer servers (go-octopusdeploy `variables`, Octopus docs "Account variables").
    "GoogleCloudAccount",
    "UsernamePasswordAccount",
    "GenericOidcAccount",
    "AmazonWebServicesOidcAccount",
];

/// The scope keys Octopus uses, and the kind of resource their ids name (if checked here).
const SCOPES: &[(&str, Option<Kind>)] = &[
    ("Environment", Some(Kind::Environment)),
    ("Channel", Some(Kind::Channel)),
    ("Action", None),
    ("Role", None),
    ("Machine", None),
    ("TenantTag", None),
    ("TargetRole", None),
    ("Tenant", Some(Kind::Tenant)),
    ("Project", Some(Kind::Project)),
    // Runbook or project ids: checked by `references::check_variable`.
    ("ProcessOwner", None),
];

/// The variable set a new project or library variable set starts with.
pub fn empty(id: &str, owner: &str, space: &str) -> Doc {
    let mut doc = Map::new();
    doc.insert("OwnerId".into(), json!(owner));
    doc.insert("Version".into(), json!(0));
    doc.insert("Variables".into(), json!([]));
    super::stamp(&mut doc, Kind::VariableSet, id, space, &[]);
    doc
}

/// `PUT /api/{space}/variables/{id}`.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let current = find(store, Kind::VariableSet, space, id)?.clone();
    refuse_frozen(store, Kind::VariableSet, id)?;
    check_version(&current, body, "variable set")?;
    refuse_version_controlled(store, text(&current, "OwnerId"))?;
    let given = fields::object(body)?;
    let variables_in = match given.get("Variables") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(v)) => v.clone(),
        Some(_) => return Err(ApiError::invalid("The Variables field must be an array.")),
    };
    let old_secrets = store.secrets_of(id);
    let mut secrets = Vec::new();
    let mut variables = Vec::new();
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for variable in &variables_in {
        let mut v = fields::take(variable, VARIABLE)?;
        let name = fields::required_text(&v, "Name")?;
        let sent_id = text(&v, "Id").filter(|i| !i.is_empty()).map(str::to_owned);
        let var_id = sent_id.clone().unwrap_or_else(new_guid);
        if !ids.insert(var_id.clone()) {
            errors.push(format!(
                "Variable ids must be unique: '{var_id}' is used twice."
            ));
        }
        v.insert("Id".into(), json!(var_id));
        if variable.get("IsEditable").is_none_or(Value::is_null) {
            v.insert("IsEditable".into(), json!(true));
        }
        let ty = text(&v, "Type").unwrap_or("String").to_owned();
        if !TYPES.contains(&ty.as_str()) {
            errors.push(format!(
                "Variable '{name}' has Type '{ty}', which is not one of {}.",
                TYPES.join(", ")
            ));
        }
        let sensitive = ty == "Sensitive" || v.get("IsSensitive") == Some(&Value::Bool(true));
        v.insert(
            "Type".into(),
            json!(if sensitive { "Sensitive" } else { ty.as_str() }),
        );
        v.insert("IsSensitive".into(), json!(sensitive));
        check_scope(store, space, &name, &v, &mut errors);
        super::references::check_variable(store, space, &v, &mut errors);
        if sensitive {
            let new_value = text(&v, "Value")
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let kept = match (new_value, &sent_id) {
                (Some(new), _) => Some(new),
                (None, Some(sent)) => old_secrets.get(sent).cloned(),
                (None, None) => None,
            };
            if let Some(secret) = kept {
                secrets.push((var_id, secret));
            }
            v.insert("Value".into(), Value::Null);
        }
        variables.push(Value::Object(v));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    let mut doc = current.clone();
    doc.insert("Variables".into(), Value::Array(variables));
    doc.insert(
        "Version".into(),
        json!(version_of(&current).saturating_add(1)),
    );
    doc.insert("LastModifiedOn".into(), json!(crate::store::now()));
    doc.remove("ScopeValues");
    store.clear_secrets(id);
    for (var_id, secret) in secrets {
        store.set_secret(id, &var_id, Some(secret));
    }
    store.put(Kind::VariableSet, doc.clone());
    Ok(with_scope_values(store, doc))
}

fn check_scope(store: &Store, space: &str, name: &str, v: &Doc, errors: &mut Vec<String>) {
    let Some(scope) = v.get("Scope").and_then(Value::as_object) else {
        return;
    };
    for (key, ids) in scope {
        let Some((_, kind)) = SCOPES.iter().find(|(k, _)| k == key) else {
            errors.push(format!(
                "Variable '{name}' has a scope '{key}', which is not one of {}.",
                SCOPES
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            continue;
        };
        let Some(ids) = ids.as_array() else {
            errors.push(format!(
                "The {key} scope of variable '{name}' must be an array of ids."
            ));
            continue;
        };
        for id in ids {
            match (id.as_str(), kind) {
                (Some(id), Some(kind)) => {
                    if super::must_exist(store, *kind, space, key, id).is_err() {
                        errors.push(format!(
                            "Variable '{name}' is scoped to {} '{id}', which does not exist.",
                            kind.noun()
                        ));
                    }
                }
                (Some(tag), None) if key == "TenantTag" => {
                    if super::tagsets::existing(store, space, tag).is_none() {
                        errors.push(format!(
                            "Variable '{name}' is scoped to tenant tag '{tag}', which does not exist."
                        ));
                    }
                }
                (Some(_), None) => {}
                (None, _) => errors.push(format!(
                    "The {key} scope of variable '{name}' must hold ids (strings)."
                )),
            }
        }
    }
}

/// Refuses changes to the process or variables of a version-controlled (config-as-code)
/// project, whose process lives in Git rather than in these documents.
pub fn refuse_version_controlled(store: &Store, project: Option<&str>) -> ApiResult<()> {
    let Some(doc) = project.and_then(|p| store.get(Kind::Project, p)) else {
        return Ok(());
    };
    if doc.get("IsVersionControlled") == Some(&Value::Bool(true)) {
        return Err(ApiError::bad_request(format!(
            "The project '{}' is version controlled: its deployment process and variables are stored in Git and cannot be changed through this route.",
            text(doc, "Name").unwrap_or("")
        )));
    }
    Ok(())
}

/// Adds `ScopeValues`: the names of everything a scope in this set may refer to.
pub fn with_scope_values(store: &Store, mut doc: Doc) -> Doc {
    let space = text(&doc, "SpaceId").unwrap_or("").to_owned();
    let owner = text(&doc, "OwnerId").unwrap_or("").to_owned();
    let named = |docs: Vec<&Doc>| -> Vec<Value> {
        docs.into_iter()
            .map(|d| json!({"Id": text(d, "Id"), "Name": text(d, "Name")}))
            .collect()
    };
    let environments = named(
        store
            .all(Kind::Environment)
            .iter()
            .filter(|d| text(d, "SpaceId") == Some(space.as_str()))
            .collect(),
    );
    let channels = named(
        store
            .all(Kind::Channel)
            .iter()
            .filter(|d| text(d, "ProjectId") == Some(owner.as_str()))
            .collect(),
    );
    let mut actions = Vec::new();
    let mut processes = Vec::new();
    if let Some(project) = store.get(Kind::Project, &owner) {
        let process_id = format!("deploymentprocess-{owner}");
        if let Some(process) = store.get(Kind::DeploymentProcess, &process_id) {
            for step in items(process, "Steps") {
                for action in items(step, "Actions") {
                    actions.push(json!({"Id": action.get("Id"), "Name": action.get("Name")}));
                }
            }
        }
        processes
            .push(json!({"Id": owner, "Name": text(project, "Name"), "ProcessType": "Deployment"}));
        for runbook in store
            .all(Kind::Runbook)
            .iter()
            .filter(|r| text(r, "ProjectId") == Some(owner.as_str()))
        {
            processes.push(
                json!({"Id": text(runbook, "Id"), "Name": text(runbook, "Name"), "ProcessType": "Runbook"}),
            );
        }
    }
    let mut roles = BTreeSet::new();
    for v in items(&doc, "Variables") {
        if let Some(scope) = v.get("Scope").and_then(Value::as_object) {
            let scope = Doc::from_iter(scope.clone());
            roles.extend(strings(&scope, "Role"));
        }
    }
    let roles: Vec<Value> = roles
        .into_iter()
        .map(|r| json!({"Id": r, "Name": r}))
        .collect();
    doc.insert(
        "ScopeValues".into(),
        json!({
            "Environments": environments,
            "Machines": [],
            "Actions": actions,
            "Roles": roles,
            "Channels": channels,
            "TenantTags": [],
            "Processes": processes,
        }),
    );
    doc
}
