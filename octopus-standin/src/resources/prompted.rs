//! Prompted variables: values a person gives when deploying.
//!
//! A variable with a `Prompt` (`VariablePromptOptions`: `Label`, `Description`, `Required`,
//! `DisplaySettings`) in the release's variable snapshots is an element of the deployment
//! preview's form (`GET releases/{id}/deployments/preview/{environment}[/{tenant}]`,
//! `DeploymentPreviewResource.Form`): the element's `Name` is the variable's id, its
//! `Control` a `VariableValue` (`Name`, `Label`, `Description`, `IsSecure`; Octopus.Client
//! `Forms/VariableValue.cs`), `IsValueRequired` the prompt's `Required` (Swagger
//! `FormElement`). A deployment sends the values as `FormValues`, keyed by those ids (octo
//! `DeployReleaseCommand`, OctopusClients `DeploymentResource.FormValues`); the runner uses
//! them as the variables' values.
//!
//! The stand-in's own rules (Octopus's exact texts are not public): a key of `FormValues`
//! that is not a prompted variable of the release, a value that is not a string, and a
//! required prompted variable without a non-blank value are refused with 400, naming them;
//! a sensitive value is kept out of the deployment document (stored like a secret).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{find, must_exist};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, Store, items, strings, text};

/// One prompted variable of a release.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The variable's id: the form element's name and the `FormValues` key.
    pub id: String,
    /// The variable's name.
    pub name: String,
    /// The prompt's label (the name when it has none).
    pub label: String,
    /// The prompt's description.
    pub description: String,
    /// Whether a value must be given.
    pub required: bool,
    /// Whether the variable is sensitive.
    pub sensitive: bool,
    /// The variable's own value, offered as the default (empty for a sensitive one).
    pub default: String,
    /// The prompt's display settings.
    pub display: Value,
}

/// The prompted variables of `release` that apply in `environment` (a value scoped to other
/// environments is not asked for).
pub fn prompts(store: &Store, release: &Doc, environment: &str) -> Vec<Prompt> {
    let mut sets = strings(release, "LibraryVariableSetSnapshotIds");
    sets.extend(text(release, "ProjectVariableSetSnapshotId").map(str::to_owned));
    let mut out = Vec::new();
    for set in sets {
        let Some(doc) = store.get(Kind::VariableSet, &set) else {
            continue;
        };
        for v in items(doc, "Variables").filter_map(Value::as_object) {
            let Some(prompt) = v.get("Prompt").and_then(Value::as_object) else {
                continue;
            };
            let scoped_out = v
                .get("Scope")
                .and_then(|s| s.get("Environment"))
                .and_then(Value::as_array)
                .is_some_and(|envs| {
                    !envs.is_empty() && !envs.iter().any(|e| e.as_str() == Some(environment))
                });
            if scoped_out {
                continue;
            }
            let name = text(v, "Name").unwrap_or("").to_owned();
            let sensitive = v.get("IsSensitive") == Some(&Value::Bool(true));
            let label = prompt
                .get("Label")
                .and_then(Value::as_str)
                .filter(|l| !l.is_empty())
                .unwrap_or(&name)
                .to_owned();
            out.push(Prompt {
                id: text(v, "Id").unwrap_or("").to_owned(),
                label,
                description: prompt
                    .get("Description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                required: prompt.get("Required") == Some(&Value::Bool(true)),
                default: if sensitive {
                    String::new()
                } else {
                    text(v, "Value").unwrap_or("").to_owned()
                },
                display: prompt
                    .get("DisplaySettings")
                    .cloned()
                    .unwrap_or_else(|| json!({})),
                sensitive,
                name,
            });
        }
    }
    out
}

/// `GET releases/{id}/deployments/preview/{environment}[/{tenant}]`.
pub fn preview(
    app: &Arc<App>,
    space: &str,
    release: &str,
    environment: &str,
    tenant: Option<&str>,
) -> ApiResult<Value> {
    app.read(|s| {
        let release = find(s, Kind::Release, space, release)?;
        must_exist(s, Kind::Environment, space, "environment", environment)?;
        if let Some(tenant) = tenant {
            must_exist(s, Kind::Tenant, space, "tenant", tenant)?;
        }
        let prompts = prompts(s, release, environment);
        let values: Map<String, Value> = prompts
            .iter()
            .map(|p| (p.id.clone(), json!(p.default)))
            .collect();
        let elements: Vec<Value> = prompts
            .iter()
            .map(|p| {
                json!({
                    "Name": p.id,
                    "Control": {
                        "Type": "VariableValue",
                        "Name": p.name,
                        "Label": p.label,
                        "Description": p.description,
                        "Required": p.required,
                        "IsSecure": p.sensitive,
                        "DisplaySettings": p.display,
                    },
                    "IsValueRequired": p.required,
                })
            })
            .collect();
        let project = s
            .get(Kind::Project, text(release, "ProjectId").unwrap_or(""))
            .cloned()
            .unwrap_or_default();
        Ok(json!({
            "StepsToExecute": [],
            "Form": {"Values": values, "Elements": elements},
            "UseGuidedFailureModeByDefault": text(&project, "DefaultGuidedFailureMode") == Some("On"),
            "Changes": [],
            "ChangesMarkdown": "",
            "Links": {},
        }))
    })
}

/// The prompted values of a deployment, checked: every key a prompted variable of the
/// release, every value a string, every required one given. By variable id: (value,
/// sensitive).
pub fn check(
    store: &Store,
    release: &Doc,
    environment: &str,
    form: Option<&Value>,
) -> ApiResult<BTreeMap<String, (String, bool)>> {
    let prompts = prompts(store, release, environment);
    let given = form.and_then(Value::as_object).cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut values = BTreeMap::new();
    for (key, value) in &given {
        let Some(prompt) = prompts.iter().find(|p| &p.id == key) else {
            errors.push(format!(
                "FormValues names '{key}', which is not a prompted variable of {} in this environment.",
                // A release, or a runbook snapshot (which has a name, not a version).
                match text(release, "Version") {
                    Some(version) => format!("release {version}"),
                    None => format!("runbook snapshot '{}'", text(release, "Name").unwrap_or("")),
                }
            ));
            continue;
        };
        match value {
            Value::String(v) => {
                values.insert(key.clone(), (v.clone(), prompt.sensitive));
            }
            Value::Null => {}
            _ => errors.push(format!(
                "The value of the prompted variable '{}' must be a string.",
                prompt.name
            )),
        }
    }
    let missing: Vec<&str> = prompts
        .iter()
        .filter(|p| p.required)
        .filter(|p| values.get(&p.id).is_none_or(|(v, _)| v.trim().is_empty()))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        errors.push(format!(
            "Please provide a value for the required prompted variables: {}.",
            missing.join(", ")
        ));
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// Keeps checked prompted values for the deployment or runbook run `owner`: the sensitive
/// ones like secrets, out of the document; returns the others as its `FormValues`.
pub fn keep(store: &mut Store, owner: &str, values: BTreeMap<String, (String, bool)>) -> Value {
    let mut shown = Map::new();
    for (variable, (value, sensitive)) in values {
        if sensitive {
            store.set_secret(&secret_owner(owner), &variable, Some(value));
        } else {
            shown.insert(variable, Value::String(value));
        }
    }
    Value::Object(shown)
}

/// Where a deployment's sensitive prompted values are kept.
pub fn secret_owner(deployment: &str) -> String {
    format!("formvalues-{deployment}")
}
