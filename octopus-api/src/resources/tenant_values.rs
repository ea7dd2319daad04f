//! Tenant variables: the values each tenant gives for the variable templates of a project
//! (per environment) and of the library variable sets it includes (common values).
//!
//! Octopus serves them two ways; [`TenantValues::read`] takes the current one when the server
//! has it and falls back to the older one, and [`TenantValues::write`] writes back in the same
//! form, changing only what it is asked to:
//!
//! ```text
//! 2024.1+  GET/PUT tenants/{id}/projectvariables   {Variables: [{Id, ProjectId, TemplateId,
//!          GET/PUT tenants/{id}/commonvariables      Value, Scope: {EnvironmentIds}}]}
//! older    GET/PUT tenants/{id}/variables           {ProjectVariables: {projectId: {Variables:
//!                                                     {envId: {templateId: value}}}},
//!                                                    LibraryVariables: {setId: {Variables:
//!                                                     {templateId: value}}}}
//! ```
//!
//! (go-octopusdeploy `variables/tenant_project_variable.go`, `tenant_common_variable.go`,
//! `tenant_variable.go`.) A value is a string, or for a sensitive template
//! `{"HasValue", "NewValue"}`; a sensitive value read back is `{"HasValue": true, "NewValue":
//! null}` and is kept when sent back so.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Other, Tenant};
use crate::client::Client;
use crate::error::OctopusError;

/// A variable template (`ActionTemplateParameterResource`) of a project or library set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VariableTemplate {
    /// Its id (a GUID), which values refer to.
    #[serde(default)]
    pub id: String,
    /// Its name: the variable name a deployment sees.
    pub name: String,
    /// `Octopus.ControlType` and the like.
    #[serde(default)]
    pub display_settings: BTreeMap<String, Value>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

impl VariableTemplate {
    /// Whether its values are secrets (`Octopus.ControlType` = `Sensitive`).
    pub fn is_sensitive(&self) -> bool {
        self.display_settings
            .get("Octopus.ControlType")
            .and_then(Value::as_str)
            == Some("Sensitive")
    }

    /// The templates of a project or library variable set (its `Templates` field).
    pub fn of(other: &Other) -> Vec<VariableTemplate> {
        other
            .get("Templates")
            .and_then(|t| serde_json::from_value(t.clone()).ok())
            .unwrap_or_default()
    }
}

/// A tenant's tags (`TenantTags`, canonical names `Set/Tag`).
pub fn tenant_tags(tenant: &Tenant) -> Vec<String> {
    strings(tenant.other.get("TenantTags"))
}

/// The environments a tenant is connected to for a project (`ProjectEnvironments`).
pub fn tenant_environments(tenant: &Tenant, project_id: &str) -> Option<Vec<String>> {
    let connected = tenant.other.get("ProjectEnvironments")?.get(project_id)?;
    Some(strings(Some(connected)))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// What a tenant value holds, as a read shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueState {
    /// A plain value.
    Plain(String),
    /// A sensitive value: whether one is stored (it is never shown).
    Secret {
        /// Whether the server stores a value.
        has_value: bool,
    },
}

fn state_of(value: &Value) -> Option<ValueState> {
    match value {
        Value::String(s) => Some(ValueState::Plain(s.clone())),
        Value::Object(o) => Some(ValueState::Secret {
            has_value: o.get("HasValue") == Some(&Value::Bool(true)),
        }),
        _ => None,
    }
}

/// One value of a tenant, in either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantValue {
    /// A common value (of a library variable set) rather than a project value.
    pub common: bool,
    /// The project or library variable set id.
    pub owner: String,
    /// The template id.
    pub template: String,
    /// The environment ids it applies to (empty: every environment).
    pub environments: Vec<String>,
    /// What it holds.
    pub state: ValueState,
}

/// A value to write. Its `Debug` never shows a sensitive value.
#[derive(Clone, PartialEq, Eq)]
pub struct ValueChange {
    /// A common value rather than a project value.
    pub common: bool,
    /// The project or library variable set id.
    pub owner: String,
    /// The template id.
    pub template: String,
    /// The environment id (project values), or `None` (common values).
    pub environment: Option<String>,
    /// The value; `secret` writes it as a sensitive value.
    pub value: String,
    /// Whether it is a sensitive value.
    pub secret: bool,
}

impl std::fmt::Debug for ValueChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueChange")
            .field("common", &self.common)
            .field("owner", &self.owner)
            .field("template", &self.template)
            .field("environment", &self.environment)
            .field(
                "value",
                if self.secret {
                    &"<redacted>"
                } else {
                    &self.value
                },
            )
            .finish()
    }
}

impl ValueChange {
    fn wire(&self) -> Value {
        if self.secret {
            json!({"HasValue": true, "NewValue": self.value})
        } else {
            Value::String(self.value.clone())
        }
    }
}

/// Which routes the server serves.
#[derive(Debug, Clone, PartialEq)]
enum Form {
    /// `projectvariables` and `commonvariables`, as read.
    Current { project: Value, common: Value },
    /// `variables`, as read.
    Combined(Value),
}

/// A tenant's values as the server has them, with the documents they were read from.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantValues {
    tenant_id: String,
    form: Form,
    /// Every value, in either form.
    pub values: Vec<TenantValue>,
}

impl TenantValues {
    /// Reads a tenant's values: `projectvariables` and `commonvariables` when the server has
    /// them (2024.1+), else `variables`.
    pub fn read(client: &Client, tenant_id: &str) -> Result<Self, OctopusError> {
        let project: Option<Value> =
            client.get_optional(&format!("tenants/{tenant_id}/projectvariables"))?;
        let form = match project {
            Some(project) => Form::Current {
                project,
                common: client.get(&format!("tenants/{tenant_id}/commonvariables"))?,
            },
            None => Form::Combined(client.get(&format!("tenants/{tenant_id}/variables"))?),
        };
        let values = match &form {
            Form::Current { project, common } => {
                let mut values = listed(project, false);
                values.extend(listed(common, true));
                values
            }
            Form::Combined(doc) => combined(doc),
        };
        Ok(TenantValues {
            tenant_id: tenant_id.to_owned(),
            form,
            values,
        })
    }

    /// Whether the server serves the 2024.1+ routes.
    pub fn current_routes(&self) -> bool {
        matches!(self.form, Form::Current { .. })
    }

    /// The value for a template in an environment (project values) or unscoped (common).
    pub fn find(
        &self,
        common: bool,
        owner: &str,
        template: &str,
        environment: Option<&str>,
    ) -> Option<&ValueState> {
        self.values
            .iter()
            .find(|v| {
                v.common == common
                    && v.owner == owner
                    && v.template == template
                    && match environment {
                        Some(env) => v.environments.iter().any(|e| e == env),
                        None => v.environments.is_empty(),
                    }
            })
            .map(|v| &v.state)
    }

    /// Writes `changes` in the form the values were read in; every other value is sent back
    /// as read (a sensitive one as `{"HasValue": true, "NewValue": null}`, which keeps it).
    pub fn write(&self, client: &Client, changes: &[ValueChange]) -> Result<(), OctopusError> {
        let id = &self.tenant_id;
        match &self.form {
            Form::Current { project, common } => {
                for (doc, is_common, route) in [
                    (project, false, "projectvariables"),
                    (common, true, "commonvariables"),
                ] {
                    let mine: Vec<&ValueChange> =
                        changes.iter().filter(|c| c.common == is_common).collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let body = json!({"Variables": payload(doc, is_common, &mine)});
                    let _: Value = client.put(&format!("tenants/{id}/{route}"), &body)?;
                }
            }
            Form::Combined(doc) => {
                let mut doc = doc.clone();
                for change in changes {
                    set_combined(&mut doc, change);
                }
                let _: Value = client.put(&format!("tenants/{id}/variables"), &doc)?;
            }
        }
        Ok(())
    }
}

fn owner_field(common: bool) -> &'static str {
    if common {
        "LibraryVariableSetId"
    } else {
        "ProjectId"
    }
}

fn environments_of(item: &Value) -> Vec<String> {
    strings(item.get("Scope").and_then(|s| s.get("EnvironmentIds")))
}

/// The values of a `projectvariables` or `commonvariables` answer.
fn listed(doc: &Value, common: bool) -> Vec<TenantValue> {
    let items = doc.get("Variables").and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(|item| {
            Some(TenantValue {
                common,
                owner: item.get(owner_field(common))?.as_str()?.to_owned(),
                template: item.get("TemplateId")?.as_str()?.to_owned(),
                environments: environments_of(item),
                state: state_of(item.get("Value")?)?,
            })
        })
        .collect()
}

/// The values of a combined `variables` answer.
fn combined(doc: &Value) -> Vec<TenantValue> {
    let mut out = Vec::new();
    let object = |v: Option<&Value>| v.and_then(Value::as_object).cloned().unwrap_or_default();
    for (project, entry) in object(doc.get("ProjectVariables")) {
        for (env, values) in object(entry.get("Variables")) {
            for (template, value) in object(Some(&values)) {
                if let Some(state) = state_of(&value) {
                    out.push(TenantValue {
                        common: false,
                        owner: project.clone(),
                        template,
                        environments: vec![env.clone()],
                        state,
                    });
                }
            }
        }
    }
    for (set, entry) in object(doc.get("LibraryVariables")) {
        for (template, value) in object(entry.get("Variables")) {
            if let Some(state) = state_of(&value) {
                out.push(TenantValue {
                    common: true,
                    owner: set.clone(),
                    template,
                    environments: Vec::new(),
                    state,
                });
            }
        }
    }
    out
}

/// The `Variables` of a `PUT`: every value read, in the payload shape, with `changes` applied.
/// A changed value that shares its entry with other environments is split out of it.
fn payload(doc: &Value, common: bool, changes: &[&ValueChange]) -> Vec<Value> {
    let field = owner_field(common);
    let mut out: Vec<Value> = doc
        .get("Variables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            json!({
                "Id": item.get("Id"),
                field: item.get(field),
                "TemplateId": item.get("TemplateId"),
                "Value": item.get("Value"),
                "Scope": {"EnvironmentIds": environments_of(item)},
            })
        })
        .collect();
    for change in changes {
        let same = |item: &Value| {
            item.get(field).and_then(Value::as_str) == Some(change.owner.as_str())
                && item.get("TemplateId").and_then(Value::as_str) == Some(change.template.as_str())
        };
        let envs: Vec<String> = change.environment.iter().cloned().collect();
        let found = out.iter_mut().find(|item| {
            same(item)
                && match &change.environment {
                    Some(env) => environments_of(item).contains(env),
                    None => environments_of(item).is_empty(),
                }
        });
        match found {
            Some(item) if environments_of(item) == envs => {
                item["Value"] = change.wire();
            }
            Some(item) => {
                let rest: Vec<String> = environments_of(item)
                    .into_iter()
                    .filter(|e| !envs.contains(e))
                    .collect();
                item["Scope"] = json!({"EnvironmentIds": rest});
                out.push(new_entry(field, change, &envs));
            }
            None => out.push(new_entry(field, change, &envs)),
        }
    }
    out
}

fn new_entry(field: &str, change: &ValueChange, envs: &[String]) -> Value {
    json!({
        field: change.owner,
        "TemplateId": change.template,
        "Value": change.wire(),
        "Scope": {"EnvironmentIds": envs},
    })
}

fn set_combined(doc: &mut Value, change: &ValueChange) {
    let (group, owner_field) = if change.common {
        ("LibraryVariables", "LibraryVariableSetId")
    } else {
        ("ProjectVariables", "ProjectId")
    };
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let groups = root
        .entry(group)
        .or_insert_with(|| Value::Object(Map::new()));
    if !groups.is_object() {
        *groups = Value::Object(Map::new());
    }
    let entry = &mut groups[change.owner.as_str()];
    if !entry.is_object() {
        *entry = json!({owner_field: change.owner, "Variables": {}});
    }
    let variables = &mut entry["Variables"];
    if !variables.is_object() {
        *variables = json!({});
    }
    let slot = match &change.environment {
        Some(env) => {
            let by_env = &mut variables[env.as_str()];
            if !by_env.is_object() {
                *by_env = json!({});
            }
            &mut by_env[change.template.as_str()]
        }
        None => &mut variables[change.template.as_str()],
    };
    *slot = change.wire();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(env: Option<&str>, value: &str) -> ValueChange {
        ValueChange {
            common: false,
            owner: "Projects-1".into(),
            template: "t1".into(),
            environment: env.map(str::to_owned),
            value: value.into(),
            secret: false,
        }
    }

    #[test]
    fn a_change_to_one_environment_of_a_shared_entry_splits_it_and_keeps_secrets() {
        let doc = json!({"Variables": [
            {"Id": "TenantVariables-1", "ProjectId": "Projects-1", "TemplateId": "t1", "Value": "a",
             "ProjectName": "P", "Scope": {"EnvironmentIds": ["Environments-1", "Environments-2"]}},
            {"Id": "TenantVariables-2", "ProjectId": "Projects-1", "TemplateId": "t2",
             "Value": {"HasValue": true, "NewValue": null}, "Scope": {"EnvironmentIds": ["Environments-1"]}}]});
        let c = change(Some("Environments-2"), "b");
        let out = payload(&doc, false, &[&c]);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["Scope"]["EnvironmentIds"], json!(["Environments-1"]));
        assert_eq!(out[0]["Value"], "a");
        assert!(out[0].get("ProjectName").is_none(), "payload fields only");
        assert_eq!(out[1]["Value"], json!({"HasValue": true, "NewValue": null}));
        assert_eq!(out[1]["Id"], "TenantVariables-2");
        assert_eq!(out[2]["Scope"]["EnvironmentIds"], json!(["Environments-2"]));
        assert_eq!(out[2]["Value"], "b");
        let c = change(Some("Environments-1"), "z");
        let single = json!({"Variables": [{"Id": "X", "ProjectId": "Projects-1", "TemplateId": "t1",
            "Value": "a", "Scope": {"EnvironmentIds": ["Environments-1"]}}]});
        let out = payload(&single, false, &[&c]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["Value"], "z");
    }

    #[test]
    fn the_combined_form_reads_and_writes_per_environment() {
        let mut doc = json!({"TenantId": "Tenants-1", "ProjectVariables": {"Projects-1": {
            "ProjectId": "Projects-1", "Variables": {"Environments-1": {"t1": "a",
            "t2": {"HasValue": true, "NewValue": null}}}}}, "LibraryVariables": {}});
        let values = combined(&doc);
        assert_eq!(values.len(), 2);
        assert!(values.contains(&TenantValue {
            common: false,
            owner: "Projects-1".into(),
            template: "t2".into(),
            environments: vec!["Environments-1".into()],
            state: ValueState::Secret { has_value: true },
        }));
        set_combined(&mut doc, &change(Some("Environments-2"), "b"));
        let mut secret = change(None, "s");
        secret.common = true;
        secret.owner = "LibraryVariableSets-1".into();
        secret.secret = true;
        set_combined(&mut doc, &secret);
        let p = &doc["ProjectVariables"]["Projects-1"]["Variables"];
        assert_eq!(p["Environments-1"]["t1"], "a");
        assert_eq!(p["Environments-2"]["t1"], "b");
        assert_eq!(
            doc["LibraryVariables"]["LibraryVariableSets-1"]["Variables"]["t1"],
            json!({"HasValue": true, "NewValue": "s"})
        );
    }
}
