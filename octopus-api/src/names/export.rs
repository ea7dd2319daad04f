//! Octopus resources -> the name-based model (the development side of a promotion).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::directory::{Directory, Table};
use super::import::NameKind;
use super::model::{
    NamedAction, NamedPackage, NamedProcess, NamedStep, NamedVariable, NamedVariableSet,
};
use super::references::{
    self, PROJECT_OWNER, RUNBOOK_OWNER, ScopeKind, input_kind, is_expression, property_kind,
    variable_value_kind,
};
use crate::resources::{DeploymentProcess, Other, PropertyValue, SensitiveValue, VariableSet};

/// Whose variables a variable set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerType {
    /// A project's own variables.
    Project,
    /// A library variable set.
    LibraryVariableSet,
}

impl OwnerType {
    fn as_str(self) -> &'static str {
        match self {
            OwnerType::Project => "Project",
            OwnerType::LibraryVariableSet => "LibraryVariableSet",
        }
    }
}

/// A sensitive value the importer must find on the secure side: whose, which, and where it
/// applies (names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRequirement {
    /// The project or library variable set.
    pub owner: String,
    /// The variable's name.
    pub name: String,
    /// `Sensitive` (or another secret type).
    pub kind: String,
    /// Scope dimension -> names.
    pub scope: BTreeMap<String, Vec<String>>,
}

/// Collects ids that have no name, so every one is reported at once.
#[derive(Default)]
pub(super) struct Unnamed(BTreeSet<String>);

impl Unnamed {
    pub(super) fn name(&mut self, table: &Table, what: &str, id: &str) -> String {
        match table.name_of(id) {
            Some(name) => name.to_owned(),
            None => {
                self.0.insert(format!("{what} {id}"));
                id.to_owned()
            }
        }
    }

    fn names(&mut self, table: &Table, what: &str, ids: &[String]) -> Vec<String> {
        ids.iter().map(|id| self.name(table, what, id)).collect()
    }

    /// The name of an id of `kind` in `directory` (`what` says where it was found).
    fn of_kind(&mut self, directory: &Directory, kind: NameKind, what: &str, id: &str) -> String {
        match directory.table(kind) {
            Some(table) => self.name(table, what, id),
            None => {
                self.0.insert(format!("{what} {id}"));
                id.to_owned()
            }
        }
    }

    pub(super) fn finish<T>(self, value: T) -> Result<T, Vec<String>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0.into_iter().collect())
        }
    }
}

/// A process (snapshot) as `process.json`: ids replaced by names, ids of steps, actions and
/// packages dropped. Errors list every id with no name.
pub fn process_to_names(
    process: &DeploymentProcess,
    project: &str,
    directory: &Directory,
) -> Result<NamedProcess, Vec<String>> {
    let mut unnamed = Unnamed::default();
    let steps = process
        .steps
        .iter()
        .map(|step| NamedStep {
            name: step.name.clone(),
            properties: properties(&step.properties, directory, &mut unnamed),
            actions: step
                .actions
                .iter()
                .map(|action| NamedAction {
                    name: action.name.clone(),
                    action_type: action.action_type.clone(),
                    is_disabled: action.is_disabled,
                    worker_pool: action
                        .other
                        .get("WorkerPoolId")
                        .and_then(Value::as_str)
                        .map(|pool| unnamed.name(&directory.worker_pools, "worker pool", pool)),
                    environments: unnamed.names(
                        &directory.environments,
                        "environment",
                        &action.environments,
                    ),
                    excluded_environments: unnamed.names(
                        &directory.environments,
                        "environment",
                        &action.excluded_environments,
                    ),
                    channels: unnamed.names(&directory.channels, "channel", &action.channels),
                    packages: action
                        .packages
                        .iter()
                        .map(|p| NamedPackage {
                            name: p.name.clone(),
                            package_id: p.package_id.clone(),
                            feed: if super::is_expression(&p.feed_id) {
                                p.feed_id.clone()
                            } else {
                                unnamed.name(&directory.feeds, "feed", &p.feed_id)
                            },
                            other: super::without_instance_fields(&p.other),
                        })
                        .collect(),
                    properties: properties(&action.properties, directory, &mut unnamed),
                    other: action_other(&action.other, directory, &mut unnamed),
                })
                .collect(),
            other: super::without_instance_fields(&step.other),
        })
        .collect();
    unnamed.finish(NamedProcess {
        project: project.to_owned(),
        steps,
        other: Other::new(),
    })
}

/// Properties with id values replaced by names. A sensitive property keeps its wire form
/// `{"HasValue": .., "NewValue": null}`: its value never travels.
pub(super) fn properties(
    props: &BTreeMap<String, PropertyValue>,
    directory: &Directory,
    unnamed: &mut Unnamed,
) -> BTreeMap<String, PropertyValue> {
    props
        .iter()
        .map(|(key, value)| {
            let value = match value {
                PropertyValue::Text(text) => match property_kind(key) {
                    Some(kind) if !is_expression(text) => PropertyValue::Text(
                        text.split(',')
                            .map(str::trim)
                            .filter(|id| !id.is_empty())
                            .map(|id| {
                                if is_expression(id) {
                                    id.to_owned()
                                } else {
                                    unnamed.of_kind(directory, kind, key, id)
                                }
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    _ => PropertyValue::Text(text.clone()),
                },
                PropertyValue::Sensitive(s) => PropertyValue::Sensitive(SensitiveValue {
                    has_value: s.has_value,
                    new_value: None,
                    hint: None,
                }),
            };
            (key.clone(), value)
        })
        .collect()
}

/// An action's unnamed fields without instance fields, and with the ids they hold named:
/// `Container.FeedId` -> `Container.Feed`, `GitDependencies[].GitCredentialId` ->
/// `GitDependencies[].GitCredential`, ids under [`references::INPUT_KEYS`] in `Inputs` -> names
/// (same key). Everything else round-trips unchanged.
fn action_other(other: &Other, directory: &Directory, unnamed: &mut Unnamed) -> Other {
    let mut other = super::without_instance_fields(other);
    if let Some(Value::Object(container)) = other.get_mut("Container")
        && let Some(feed) = container.remove("FeedId")
        && let Some(id) = feed.as_str().filter(|id| !id.is_empty())
    {
        let name = if is_expression(id) {
            id.to_owned()
        } else {
            unnamed.of_kind(directory, NameKind::Feed, "container feed", id)
        };
        container.insert("Feed".to_owned(), Value::String(name));
    }
    if let Some(Value::Array(dependencies)) = other.get_mut("GitDependencies") {
        for dependency in dependencies.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(credential) = dependency.remove("GitCredentialId")
                && let Some(id) = credential.as_str().filter(|id| !id.is_empty())
            {
                let name = if is_expression(id) {
                    id.to_owned()
                } else {
                    unnamed.of_kind(directory, NameKind::GitCredential, "git credential", id)
                };
                dependency.insert("GitCredential".to_owned(), Value::String(name));
            }
        }
    }
    if let Some(inputs) = other.get_mut("Inputs") {
        name_inputs(inputs, directory, unnamed);
    }
    other
}

/// Ids in a step package's `Inputs` (any depth) replaced by names.
fn name_inputs(value: &mut Value, directory: &Directory, unnamed: &mut Unnamed) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match (input_kind(key), item) {
                    (Some(kind), Value::String(id)) if !id.is_empty() && !is_expression(id) => {
                        *id = unnamed.of_kind(directory, kind, &format!("Inputs {key}"), id);
                    }
                    (_, item) => name_inputs(item, directory, unnamed),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                name_inputs(item, directory, unnamed);
            }
        }
        _ => {}
    }
}

/// A variable's value: the name of the resource for a `Certificate`, `WorkerPool` or
/// `*Account` variable, else as it is.
fn variable_value(
    value: Option<&String>,
    kind: Option<&str>,
    directory: &Directory,
    unnamed: &mut Unnamed,
) -> Option<String> {
    let value = value?;
    match variable_value_kind(kind) {
        Some(name_kind) if !value.is_empty() && !is_expression(value) => Some(unnamed.of_kind(
            directory,
            name_kind,
            &format!("{} variable value", kind.unwrap_or_default()),
            value,
        )),
        _ => Some(value.clone()),
    }
}

/// The names of a scope dimension's ids.
fn scope_names(
    dimension: &str,
    ids: &[String],
    directory: &Directory,
    actions: &Table,
    unnamed: &mut Unnamed,
) -> Vec<String> {
    match references::scope_kind(dimension) {
        ScopeKind::Ids(NameKind::Action) => unnamed.names(actions, "action", ids),
        ScopeKind::Ids(NameKind::Machine) => {
            unnamed.names(&directory.machines, "deployment target", ids)
        }
        ScopeKind::Ids(kind) => ids
            .iter()
            .map(|id| unnamed.of_kind(directory, kind, kind.noun(), id))
            .collect(),
        ScopeKind::ProcessOwner => ids
            .iter()
            .map(|id| {
                if let Some(name) = directory.runbooks.name_of(id) {
                    format!("{RUNBOOK_OWNER}{name}")
                } else if let Some(name) = directory.projects.name_of(id) {
                    format!("{PROJECT_OWNER}{name}")
                } else {
                    unnamed
                        .0
                        .insert(format!("process owner (runbook or project) {id}"));
                    id.clone()
                }
            })
            .collect(),
        // Roles and tenant tags are names already; an unknown dimension is refused on import.
        ScopeKind::Names(_) | ScopeKind::Text | ScopeKind::Unknown => ids.to_vec(),
    }
}

/// A variable set (snapshot) as `variables/*.json`: owner by name, scopes by name (actions by
/// their name in `actions`), variable ids dropped, sensitive values null.
pub fn variables_to_names(
    set: &VariableSet,
    owner_type: OwnerType,
    owner: &str,
    directory: &Directory,
    actions: &Table,
) -> Result<NamedVariableSet, Vec<String>> {
    let mut unnamed = Unnamed::default();
    let variables = set
        .variables
        .iter()
        .map(|variable| NamedVariable {
            name: variable.name.clone(),
            value: if variable.is_sensitive {
                None
            } else {
                variable_value(
                    variable.value.as_ref(),
                    variable.kind.as_deref(),
                    directory,
                    &mut unnamed,
                )
            },
            scope: variable
                .scope
                .iter()
                .map(|(dimension, ids)| {
                    let names = scope_names(dimension, ids, directory, actions, &mut unnamed);
                    (dimension.clone(), names)
                })
                .collect(),
            kind: Some(variable.kind.clone().unwrap_or_else(|| "String".to_owned())),
            is_sensitive: variable.is_sensitive,
            other: super::without_instance_fields(&variable.other),
        })
        .collect();
    unnamed.finish(NamedVariableSet {
        owner_type: owner_type.as_str().to_owned(),
        owner: owner.to_owned(),
        variables,
        other: Other::new(),
    })
}

/// One requirement per sensitive value of a named variable set.
pub fn secret_requirements(named: &NamedVariableSet) -> Vec<SecretRequirement> {
    named
        .variables
        .iter()
        .filter(|v| v.is_sensitive)
        .map(|v| SecretRequirement {
            owner: named.owner.clone(),
            name: v.name.clone(),
            kind: v.kind.clone().unwrap_or_else(|| "Sensitive".to_owned()),
            scope: v.scope.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::{DeploymentProcess, VariableSet};

    fn directory() -> Directory {
        Directory {
            environments: Table::new([
                ("Environments-1", "Development"),
                ("Environments-24", "Production"),
            ]),
            channels: Table::new([("Channels-1", "Default")]),
            feeds: Table::new([("feeds-builtin", "Octopus Server (built-in)")]),
            teams: Table::new([("teams-managers", "Managers")]),
            ..Directory::default()
        }
    }

    #[test]
    fn a_process_is_named_and_its_ids_dropped() -> Result<(), Box<dyn std::error::Error>> {
        let process: DeploymentProcess = serde_json::from_value(json!({
            "Id": "deploymentprocess-Projects-1-s-3-ABCDE", "Version": 3, "ProjectId": "Projects-1",
            "Steps": [{"Id": "s1", "Name": "Deploy", "Condition": "Success", "Properties": {"Octopus.Action.TargetRoles": "web"},
                "Actions": [{"Id": "a1", "Name": "Deploy", "ActionType": "Octopus.TentaclePackage", "WorkerPoolId": null,
                    "Environments": ["Environments-24"], "ExcludedEnvironments": [], "Channels": ["Channels-1"],
                    "Packages": [{"Id": "p1", "Name": "", "PackageId": "Payments.Api", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server", "Properties": {}}],
                    "Properties": {"Octopus.Action.Package.FeedId": "feeds-builtin", "Octopus.Action.Manual.ResponsibleTeamIds": "teams-managers",
                        "Token": {"HasValue": true, "NewValue": null}},
                    "Links": {}}]}]
        }))?;
        let named = serde_json::to_value(
            process_to_names(&process, "Payments API", &directory()).map_err(|e| e.join(", "))?,
        )?;
        let action = &named["Steps"][0]["Actions"][0];
        assert_eq!(named["Project"], "Payments API");
        assert_eq!(named["Steps"][0]["Condition"], "Success");
        assert!(
            named["Steps"][0].get("Id").is_none()
                && action.get("Id").is_none()
                && action.get("Links").is_none()
        );
        assert_eq!(action["Environments"], json!(["Production"]));
        assert_eq!(action["Channels"], json!(["Default"]));
        assert_eq!(
            action["Packages"][0],
            json!({"Name": "", "PackageId": "Payments.Api", "Feed": "Octopus Server (built-in)", "AcquisitionLocation": "Server", "Properties": {}})
        );
        assert_eq!(
            action["Properties"]["Octopus.Action.Package.FeedId"],
            "Octopus Server (built-in)"
        );
        assert_eq!(
            action["Properties"]["Octopus.Action.Manual.ResponsibleTeamIds"],
            "Managers"
        );
        assert_eq!(
            action["Properties"]["Token"],
            json!({"HasValue": true, "NewValue": null})
        );
        Ok(())
    }

    #[test]
    fn every_id_without_a_name_is_reported_at_once() -> Result<(), Box<dyn std::error::Error>> {
        let process: DeploymentProcess = serde_json::from_value(json!({
            "Id": "p", "Version": 1,
            "Steps": [{"Name": "S", "Actions": [{"Name": "A", "ActionType": "Octopus.Script", "WorkerPoolId": "WorkerPools-9",
                "Environments": ["Environments-77"], "Packages": [{"PackageId": "X", "FeedId": "Feeds-1001"}]}]}]
        }))?;
        let missing = process_to_names(&process, "P", &directory())
            .err()
            .ok_or("expected an error")?;
        assert_eq!(
            missing,
            [
                "environment Environments-77",
                "feed Feeds-1001",
                "worker pool WorkerPools-9"
            ]
        );
        Ok(())
    }

    #[test]
    fn variables_are_named_and_secrets_become_requirements()
    -> Result<(), Box<dyn std::error::Error>> {
        let set: VariableSet = serde_json::from_value(json!({
            "Id": "variableset-Projects-1-s-2-XYZAB", "OwnerId": "Projects-1", "Version": 2,
            "Variables": [
                {"Id": "v1", "Name": "Db.Host", "Value": "db.prod", "Type": "String", "IsSensitive": false, "Scope": {"Environment": ["Environments-24"]}},
                {"Id": "v2", "Name": "Db.Password", "Value": null, "Type": "Sensitive", "IsSensitive": true,
                    "Scope": {"Environment": ["Environments-24"], "Action": ["a1"], "Role": ["web"]}}
            ]
        }))?;
        let actions = Table::new([("a1", "Run migrations")]);
        let typed = variables_to_names(
            &set,
            OwnerType::Project,
            "Payments API",
            &directory(),
            &actions,
        )
        .map_err(|e| e.join(", "))?;
        let named = serde_json::to_value(&typed)?;
        assert_eq!(named["OwnerType"], "Project");
        assert_eq!(
            named["Variables"][0]["Scope"],
            json!({"Environment": ["Production"]})
        );
        assert!(named["Variables"][1]["Value"].is_null());
        assert!(named["Variables"][0].get("Id").is_none());
        let secrets = secret_requirements(&typed);
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].owner, "Payments API");
        assert_eq!(
            secrets[0].scope.get("Action"),
            Some(&vec!["Run migrations".to_owned()])
        );
        assert_eq!(secrets[0].scope.get("Role"), Some(&vec!["web".to_owned()]));
        Ok(())
    }
}
