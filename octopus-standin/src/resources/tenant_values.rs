//! Tenant variable values: what each tenant gives for the variable templates of the projects
//! it is connected to (project templates, per environment) and of the library variable sets
//! those projects include (common templates). Octopus serves them two ways, and so does the
//! stand-in, over one store:
//!
//! ```text
//! GET/PUT/POST tenants/{id}/variables        the older combined TenantVariableResource:
//!   ProjectVariables {projectId: {Templates, Variables {envId: {templateId: value}}}}
//!   LibraryVariables {setId: {Templates, Variables {templateId: value}}}
//! GET/PUT tenants/{id}/projectvariables      2024.1+: Variables [{Id, ProjectId, TemplateId,
//! GET/PUT tenants/{id}/commonvariables         Template, Value, Scope {EnvironmentIds}}]
//!                                              (LibraryVariableSetId for common ones)
//! ```
//!
//! (go-octopusdeploy `variables/tenant_variable.go`, `project_variable.go`,
//! `library_variable.go`, `tenant_project_variable.go`, `tenant_common_variable.go`.) A value
//! is a string, or for a sensitive template `{"HasValue": true, "NewValue": ...}`: written with
//! `NewValue` it is stored apart, read it is `{"HasValue": true, "NewValue": null}`, and sent
//! back as read it is kept (go-octopusdeploy `core/property_value.go`). A write replaces the
//! tenant's values of that form; every id it names must exist and be connected (400).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{find, templates};
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::Params;
use crate::store::{Doc, Store, items, string_lists, strings, text};

/// Which templates a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Project templates (`projectvariables`).
    Project,
    /// Library variable set templates (`commonvariables`).
    Common,
}

impl Form {
    fn owner_field(self) -> &'static str {
        match self {
            Form::Project => "ProjectId",
            Form::Common => "LibraryVariableSetId",
        }
    }

    fn owner_kind(self) -> Kind {
        match self {
            Form::Project => Kind::Project,
            Form::Common => Kind::LibraryVariableSet,
        }
    }
}

/// A value as a client sent it.
enum Given {
    Plain(String),
    Secret(String),
    KeepSecret,
    Clear,
}

fn given(value: Option<&Value>, what: &str) -> ApiResult<Given> {
    match value {
        None | Some(Value::Null) => Ok(Given::Clear),
        Some(Value::String(s)) => Ok(Given::Plain(s.clone())),
        Some(Value::Object(o)) => match (o.get("HasValue"), o.get("NewValue")) {
            (_, Some(Value::String(s))) => Ok(Given::Secret(s.clone())),
            (Some(Value::Bool(true)), None | Some(Value::Null)) => Ok(Given::KeepSecret),
            (Some(Value::Bool(false)) | None, None | Some(Value::Null)) => Ok(Given::Clear),
            _ => Err(ApiError::invalid(format!(
                "The value of {what} must be a string or {{\"HasValue\", \"NewValue\"}}."
            ))),
        },
        Some(_) => Err(ApiError::invalid(format!(
            "The value of {what} must be a string or {{\"HasValue\", \"NewValue\"}}."
        ))),
    }
}

/// One value to store, checked.
struct NewValue {
    id: Option<String>,
    form: Form,
    owner: String,
    template: String,
    environments: Vec<String>,
    plain: Option<String>,
    secret: Option<String>,
}

/// The tenant, by id within the space (404 otherwise).
fn tenant(store: &Store, space: &str, id: &str) -> ApiResult<Doc> {
    Ok(find(store, Kind::Tenant, space, id)?.clone())
}

/// Project id -> the environment ids it is connected in.
fn connections(tenant: &Doc) -> Vec<(String, Vec<String>)> {
    string_lists(tenant, "ProjectEnvironments")
}

/// The library variable sets the tenant's projects include, in first-seen order.
fn library_sets(store: &Store, tenant: &Doc) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (project, _) in connections(tenant) {
        if let Some(p) = store.get(Kind::Project, &project) {
            for set in strings(p, "IncludedLibraryVariableSetIds") {
                if !out.contains(&set) {
                    out.push(set);
                }
            }
        }
    }
    out
}

fn values_of<'a>(store: &'a Store, tenant: &str, form: Form) -> Vec<&'a Doc> {
    store
        .all(Kind::TenantValue)
        .iter()
        .filter(|v| text(v, "TenantId") == Some(tenant) && v.contains_key(form.owner_field()))
        .collect()
}

fn scope_of(value: &Doc) -> Vec<String> {
    value
        .get("Scope")
        .and_then(|s| s.get("EnvironmentIds"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A value as a read shows it.
fn shown(store: &Store, value: &Doc) -> Value {
    if value.get("IsSensitive") == Some(&Value::Bool(true)) {
        let id = text(value, "Id").unwrap_or("");
        json!({"HasValue": store.secrets_of(id).contains_key("Value"), "NewValue": null})
    } else {
        value.get("Value").cloned().unwrap_or(Value::Null)
    }
}

fn owner_doc<'a>(store: &'a Store, form: Form, id: &str) -> Option<&'a Doc> {
    store.get(form.owner_kind(), id)
}

/// One value in the 2024.1+ form (`TenantProjectVariable`, `TenantCommonVariable`).
fn entry(store: &Store, value: &Doc, form: Form) -> Value {
    let owner = text(value, form.owner_field()).unwrap_or("");
    let template_id = text(value, "TemplateId").unwrap_or("");
    let owner_doc = owner_doc(store, form, owner);
    let owner_name = owner_doc.and_then(|d| text(d, "Name"));
    let template = owner_doc
        .and_then(|d| templates::find(d, template_id))
        .cloned()
        .map_or(Value::Null, Value::Object);
    let mut out = json!({
        "Id": text(value, "Id"),
        "TemplateId": template_id,
        "Template": template,
        "Value": shown(store, value),
        "Scope": {"EnvironmentIds": scope_of(value)},
        "Links": {},
    });
    if let Some(object) = out.as_object_mut() {
        object.insert(form.owner_field().into(), json!(owner));
        let name_field = match form {
            Form::Project => "ProjectName",
            Form::Common => "LibraryVariableSetName",
        };
        object.insert(name_field.into(), json!(owner_name));
    }
    out
}

/// `GET tenants/{id}/projectvariables` and `commonvariables` (`?includeMissingVariables`).
pub fn get_form(
    store: &Store,
    space: &str,
    id: &str,
    form: Form,
    params: &Params,
) -> ApiResult<Value> {
    let tenant = tenant(store, space, id)?;
    let tenant_id = text(&tenant, "Id").unwrap_or(id);
    let variables: Vec<Value> = values_of(store, tenant_id, form)
        .into_iter()
        .map(|v| entry(store, v, form))
        .collect();
    let mut out = json!({
        "TenantId": tenant_id,
        "TenantName": text(&tenant, "Name"),
        "Variables": variables,
        "Links": {"Self": format!("/api/{space}/tenants/{tenant_id}/{}", segment(form))},
    });
    // go-octopusdeploy's template spells it `IncludeMissingVariables`, its query struct
    // `includeMissingVariables`: both are read.
    let include = match params.flag("includeMissingVariables")? {
        Some(flag) => Some(flag),
        None => params.flag("IncludeMissingVariables")?,
    };
    if include == Some(true)
        && let Some(object) = out.as_object_mut()
    {
        object.insert(
            "MissingVariables".into(),
            Value::Array(missing(store, &tenant, form)),
        );
    }
    Ok(out)
}

fn segment(form: Form) -> &'static str {
    match form {
        Form::Project => "projectvariables",
        Form::Common => "commonvariables",
    }
}

/// Templates without a value: per project template the connected environments no value
/// covers; per common template, when it has no unscoped value.
fn missing(store: &Store, tenant: &Doc, form: Form) -> Vec<Value> {
    let tenant_id = text(tenant, "Id").unwrap_or("");
    let values = values_of(store, tenant_id, form);
    let mut out = Vec::new();
    let owners: Vec<(String, Vec<String>)> = match form {
        Form::Project => connections(tenant),
        Form::Common => library_sets(store, tenant)
            .into_iter()
            .map(|s| (s, Vec::new()))
            .collect(),
    };
    for (owner, envs) in owners {
        let Some(doc) = owner_doc(store, form, &owner) else {
            continue;
        };
        for template in items(doc, "Templates") {
            let template_id = template.get("Id").and_then(Value::as_str).unwrap_or("");
            let mine: Vec<&&Doc> = values
                .iter()
                .filter(|v| {
                    text(v, form.owner_field()) == Some(owner.as_str())
                        && text(v, "TemplateId") == Some(template_id)
                })
                .collect();
            let uncovered: Vec<String> = match form {
                Form::Project => envs
                    .iter()
                    .filter(|e| !mine.iter().any(|v| scope_of(v).contains(e)))
                    .cloned()
                    .collect(),
                Form::Common => Vec::new(),
            };
            let lacks = match form {
                Form::Project => !uncovered.is_empty(),
                Form::Common => !mine.iter().any(|v| scope_of(v).is_empty()),
            };
            if lacks {
                let mut missing = json!({
                    "TemplateId": template_id,
                    "Template": template,
                    "Value": null,
                    "Scope": {"EnvironmentIds": uncovered},
                });
                if let Some(object) = missing.as_object_mut() {
                    object.insert(form.owner_field().into(), json!(owner));
                }
                out.push(missing);
            }
        }
    }
    out
}

/// `PUT tenants/{id}/projectvariables` and `commonvariables`: the tenant's values of that form
/// become exactly the `Variables` given.
pub fn put_form(
    store: &mut Store,
    space: &str,
    id: &str,
    form: Form,
    body: &Value,
) -> ApiResult<Value> {
    let tenant = tenant(store, space, id)?;
    let tenant_id = text(&tenant, "Id").unwrap_or(id).to_owned();
    let list = match body.get("Variables") {
        Some(Value::Array(list)) => list.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(ApiError::invalid("The Variables field must be an array.")),
    };
    let old: Vec<Doc> = values_of(store, &tenant_id, form)
        .into_iter()
        .cloned()
        .collect();
    let mut errors = Vec::new();
    let mut new = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let number = index + 1;
        let owner = item
            .get(form.owner_field())
            .and_then(Value::as_str)
            .unwrap_or("");
        let template = item.get("TemplateId").and_then(Value::as_str).unwrap_or("");
        let environments: Vec<String> = item
            .get("Scope")
            .and_then(|s| s.get("EnvironmentIds"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let sent_id = item
            .get("Id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty());
        if let Some(sent) = sent_id
            && !old.iter().any(|o| text(o, "Id") == Some(sent))
        {
            errors.push(format!(
                "Variable {number}: Id '{sent}' is not a {} variable of tenant '{tenant_id}'.",
                segment(form).trim_end_matches("variables")
            ));
            continue;
        }
        let what = format!("variable {number}");
        match check(
            store,
            space,
            &tenant,
            form,
            owner,
            template,
            &environments,
            &what,
        ) {
            Ok(sensitive) => {
                let value = match given(item.get("Value"), &what) {
                    Ok(v) => v,
                    Err(e) => {
                        errors.extend(e.errors);
                        continue;
                    }
                };
                let kept = sent_id.and_then(|sent| store.secrets_of(sent).remove("Value"));
                match resolve(value, sensitive, kept, &what) {
                    Ok(Some((plain, secret))) => new.push(NewValue {
                        id: sent_id.map(str::to_owned),
                        form,
                        owner: owner.to_owned(),
                        template: template.to_owned(),
                        environments,
                        plain,
                        secret,
                    }),
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                }
            }
            Err(e) => errors.extend(e.errors),
        }
    }
    errors.extend(overlaps(&new));
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    replace(store, space, &tenant_id, &old, new);
    let variables: Vec<Value> = values_of(store, &tenant_id, form)
        .into_iter()
        .map(|v| entry(store, v, form))
        .collect();
    Ok(json!({"TenantId": tenant_id, "Variables": variables, "Links": {}}))
}

/// Checks that `owner` and `template` exist, the tenant is connected to them and the
/// environments are connected; whether the template is sensitive.
#[allow(clippy::too_many_arguments)]
fn check(
    store: &Store,
    space: &str,
    tenant: &Doc,
    form: Form,
    owner: &str,
    template: &str,
    environments: &[String],
    what: &str,
) -> ApiResult<bool> {
    let field = form.owner_field();
    super::must_exist(store, form.owner_kind(), space, field, owner)?;
    let tenant_name = text(tenant, "Name").unwrap_or("");
    let links = connections(tenant);
    let connected_envs = match form {
        Form::Project => match links.iter().find(|(p, _)| p == owner) {
            Some((_, envs)) => Some(envs.clone()),
            None => {
                return Err(ApiError::invalid(format!(
                    "The tenant '{tenant_name}' is not connected to project '{owner}' ({what})."
                )));
            }
        },
        Form::Common => {
            if !library_sets(store, tenant).iter().any(|s| s == owner) {
                return Err(ApiError::invalid(format!(
                    "No project the tenant '{tenant_name}' is connected to includes library variable set '{owner}' ({what})."
                )));
            }
            None
        }
    };
    let owner_doc = store.require(form.owner_kind(), owner)?;
    let Some(found) = templates::find(owner_doc, template) else {
        return Err(ApiError::invalid(format!(
            "TemplateId '{template}' is not a variable template of {} '{owner}' ({what}).",
            form.owner_kind().noun()
        )));
    };
    let mut errors = Vec::new();
    for env in environments {
        if super::must_exist(store, Kind::Environment, space, "EnvironmentIds", env).is_err() {
            errors.push(format!(
                "EnvironmentIds refers to environment '{env}', which does not exist in {space} ({what})."
            ));
        } else if connected_envs.as_ref().is_some_and(|c| !c.contains(env)) {
            errors.push(format!(
                "The tenant '{tenant_name}' is not connected to project '{owner}' in environment '{env}' ({what})."
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    Ok(templates::is_sensitive(found))
}

/// The plain and the secret part of a value to store.
type Stored = (Option<String>, Option<String>);

/// The plain and secret parts to store, `None` to store nothing.
fn resolve(
    value: Given,
    sensitive: bool,
    kept: Option<String>,
    what: &str,
) -> Result<Option<Stored>, String> {
    Ok(match (value, sensitive) {
        (Given::Clear, _) => None,
        (Given::Plain(s), false) => Some((Some(s), None)),
        (Given::Plain(s) | Given::Secret(s), true) => Some((None, Some(s))),
        (Given::Secret(_) | Given::KeepSecret, false) => {
            return Err(format!(
                "The value of {what} is a sensitive value, but its template is not sensitive."
            ));
        }
        (Given::KeepSecret, true) => match kept {
            Some(secret) => Some((None, Some(secret))),
            None => {
                return Err(format!(
                    "The value of {what} says HasValue but no value is stored for it: send its NewValue."
                ));
            }
        },
    })
}

/// Two values for the same template that cover the same environment.
fn overlaps(values: &[NewValue]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for v in values {
        let envs: Vec<String> = if v.environments.is_empty() {
            vec![String::new()]
        } else {
            v.environments.clone()
        };
        for env in envs {
            if !seen.insert((v.owner.clone(), v.template.clone(), env.clone())) {
                errors.push(format!(
                    "Template '{}' of '{}' has two values{}.",
                    v.template,
                    v.owner,
                    if env.is_empty() {
                        String::new()
                    } else {
                        format!(" for environment '{env}'")
                    }
                ));
            }
        }
    }
    errors
}

/// Removes `old` and stores `new`.
fn replace(store: &mut Store, space: &str, tenant: &str, old: &[Doc], new: Vec<NewValue>) {
    for o in old {
        if let Some(id) = text(o, "Id") {
            store.remove(Kind::TenantValue, id);
            store.clear_secrets(id);
        }
    }
    for v in new {
        let id = v.id.unwrap_or_else(|| store.next_id(Kind::TenantValue));
        let mut doc = Map::new();
        doc.insert("Id".into(), json!(id));
        doc.insert("SpaceId".into(), json!(space));
        doc.insert("TenantId".into(), json!(tenant));
        doc.insert(v.form.owner_field().into(), json!(v.owner));
        doc.insert("TemplateId".into(), json!(v.template));
        doc.insert("Scope".into(), json!({"EnvironmentIds": v.environments}));
        doc.insert("IsSensitive".into(), json!(v.secret.is_some()));
        doc.insert("Value".into(), json!(v.plain));
        store.set_secret(&id, "Value", v.secret);
        store.put(Kind::TenantValue, doc);
    }
}

/// `GET tenants/{id}/variables`: the combined form. Project values show under each
/// connected environment they cover; common values that are scoped to environments (2024.1+)
/// cannot be shown in this form and are left out.
pub fn get_combined(store: &Store, space: &str, id: &str) -> ApiResult<Value> {
    let tenant = tenant(store, space, id)?;
    let tenant_id = text(&tenant, "Id").unwrap_or(id).to_owned();
    let project_values = values_of(store, &tenant_id, Form::Project);
    let mut projects = Map::new();
    for (project, envs) in connections(&tenant) {
        let Some(doc) = store.get(Kind::Project, &project) else {
            continue;
        };
        let mut by_env = Map::new();
        for env in &envs {
            let mut values = Map::new();
            for v in project_values.iter().filter(|v| {
                text(v, "ProjectId") == Some(project.as_str()) && {
                    let scope = scope_of(v);
                    scope.is_empty() || scope.contains(env)
                }
            }) {
                values.insert(
                    text(v, "TemplateId").unwrap_or("").to_owned(),
                    shown(store, v),
                );
            }
            by_env.insert(env.clone(), Value::Object(values));
        }
        projects.insert(
            project.clone(),
            json!({
                "ProjectId": project,
                "ProjectName": text(doc, "Name"),
                "Templates": doc.get("Templates").cloned().unwrap_or(json!([])),
                "Variables": by_env,
                "Links": {"Project": format!("/api/{space}/projects/{project}")},
            }),
        );
    }
    let common_values = values_of(store, &tenant_id, Form::Common);
    let mut libraries = Map::new();
    for set in library_sets(store, &tenant) {
        let Some(doc) = store.get(Kind::LibraryVariableSet, &set) else {
            continue;
        };
        let mut values = Map::new();
        for v in common_values.iter().filter(|v| {
            text(v, "LibraryVariableSetId") == Some(set.as_str()) && scope_of(v).is_empty()
        }) {
            values.insert(
                text(v, "TemplateId").unwrap_or("").to_owned(),
                shown(store, v),
            );
        }
        libraries.insert(
            set.clone(),
            json!({
                "LibraryVariableSetId": set,
                "LibraryVariableSetName": text(doc, "Name"),
                "Templates": doc.get("Templates").cloned().unwrap_or(json!([])),
                "Variables": values,
                "Links": {"LibraryVariableSet": format!("/api/{space}/libraryvariablesets/{set}")},
            }),
        );
    }
    Ok(json!({
        "TenantId": tenant_id,
        "TenantName": text(&tenant, "Name"),
        "SpaceId": space,
        "ProjectVariables": projects,
        "LibraryVariables": libraries,
        "Links": {"Self": format!("/api/{space}/tenants/{tenant_id}/variables")},
    }))
}

/// `PUT` (or `POST`, as go-octopusdeploy sends it) `tenants/{id}/variables`: the tenant's
/// project values and unscoped common values become exactly those of the body (each project
/// value for one environment). Scoped common values, which this form cannot show, are kept.
pub fn put_combined(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Value> {
    let tenant = tenant(store, space, id)?;
    let tenant_id = text(&tenant, "Id").unwrap_or(id).to_owned();
    let old_project: Vec<Doc> = values_of(store, &tenant_id, Form::Project)
        .into_iter()
        .cloned()
        .collect();
    let old_common: Vec<Doc> = values_of(store, &tenant_id, Form::Common)
        .into_iter()
        .filter(|v| scope_of(v).is_empty())
        .cloned()
        .collect();
    let kept_secret =
        |old: &[Doc], owner_field: &str, owner: &str, template: &str, env: Option<&str>| {
            old.iter()
                .find(|v| {
                    text(v, owner_field) == Some(owner)
                        && text(v, "TemplateId") == Some(template)
                        && env.is_none_or(|e| {
                            let scope = scope_of(v);
                            scope.is_empty() || scope.iter().any(|s| s == e)
                        })
                })
                .and_then(|v| store.secrets_of(text(v, "Id")?).remove("Value"))
        };
    let mut errors = Vec::new();
    let mut new = Vec::new();
    let object = |v: Option<&Value>, what: &str| -> ApiResult<Map<String, Value>> {
        match v {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(o)) => Ok(o.clone()),
            Some(_) => Err(ApiError::invalid(format!("{what} must be an object."))),
        }
    };
    for (project, entry) in object(body.get("ProjectVariables"), "ProjectVariables")? {
        for (env, values) in object(entry.get("Variables"), "ProjectVariables.Variables")? {
            for (template, value) in object(Some(&values), "ProjectVariables.Variables")? {
                let what = format!("template '{template}' of project '{project}' in '{env}'");
                let env_list = vec![env.clone()];
                let outcome = check(
                    store,
                    space,
                    &tenant,
                    Form::Project,
                    &project,
                    &template,
                    &env_list,
                    &what,
                )
                .and_then(|sensitive| Ok((sensitive, given(Some(&value), &what)?)));
                match outcome {
                    Err(e) => errors.extend(e.errors),
                    Ok((sensitive, value)) => {
                        let kept =
                            kept_secret(&old_project, "ProjectId", &project, &template, Some(&env));
                        match resolve(value, sensitive, kept, &what) {
                            Ok(Some((plain, secret))) => new.push(NewValue {
                                id: None,
                                form: Form::Project,
                                owner: project.clone(),
                                template: template.clone(),
                                environments: env_list,
                                plain,
                                secret,
                            }),
                            Ok(None) => {}
                            Err(e) => errors.push(e),
                        }
                    }
                }
            }
        }
    }
    let mut new_common = Vec::new();
    for (set, entry) in object(body.get("LibraryVariables"), "LibraryVariables")? {
        for (template, value) in object(entry.get("Variables"), "LibraryVariables.Variables")? {
            let what = format!("template '{template}' of library variable set '{set}'");
            let outcome = check(
                store,
                space,
                &tenant,
                Form::Common,
                &set,
                &template,
                &[],
                &what,
            )
            .and_then(|sensitive| Ok((sensitive, given(Some(&value), &what)?)));
            match outcome {
                Err(e) => errors.extend(e.errors),
                Ok((sensitive, value)) => {
                    let kept =
                        kept_secret(&old_common, "LibraryVariableSetId", &set, &template, None);
                    match resolve(value, sensitive, kept, &what) {
                        Ok(Some((plain, secret))) => new_common.push(NewValue {
                            id: None,
                            form: Form::Common,
                            owner: set.clone(),
                            template: template.clone(),
                            environments: Vec::new(),
                            plain,
                            secret,
                        }),
                        Ok(None) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    replace(store, space, &tenant_id, &old_project, new);
    replace(store, space, &tenant_id, &old_common, new_common);
    get_combined(store, space, &tenant_id)
}

/// Forgets every value of a deleted tenant, or of a deleted project or library variable set.
pub fn forget(store: &mut Store, field: &str, id: &str) {
    for value in store.ids_where(Kind::TenantValue, |v| text(v, field) == Some(id)) {
        store.remove(Kind::TenantValue, &value);
        store.clear_secrets(&value);
    }
}
