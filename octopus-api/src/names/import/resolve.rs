//! [`Resolver`]: bundle names -> the target's ids, collecting every name it cannot resolve.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::model::{NamedAction, NamedProcess, NamedStep, NamedVariableSet};
use super::{NameKind, NameMap, Problem, Unmapped, Unresolved};
use crate::names::directory::{Directory, Table};
use crate::names::references::{
    PROJECT_OWNER, RUNBOOK_OWNER, ScopeKind, input_kind, is_expression, property_kind, scope_kind,
    variable_value_kind,
};
use crate::resources::{
    Action, DeploymentProcess, Other, PackageReference, PropertyValue, SensitiveValue, Step,
    Variable,
};

/// The id a new action has in an action table until the process is written: variable scopes
/// can then name it before Octopus gives it a real id.
pub const NEW_ACTION_PREFIX: &str = "new-action:";

/// A process ready to write: the bundle's steps with the target's ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedProcess {
    /// The steps. Steps, actions and package references that the target's process already
    /// has (by name) keep their ids, so variables scoped to them keep their scope.
    pub steps: Vec<Step>,
    /// Sensitive action properties that hold a value in the bundle but that the target's
    /// action of the same name does not store: each needs a value (see [`Self::fill`]).
    pub needs_values: Vec<PropertySlot>,
}

/// One sensitive action property.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PropertySlot {
    /// The action's name.
    pub action: String,
    /// The property's key.
    pub property: String,
}

impl ImportedProcess {
    /// Gives the sensitive property `slot` the value `value` to store.
    pub fn fill(&mut self, slot: &PropertySlot, value: &str) {
        let actions = self.steps.iter_mut().flat_map(|s| s.actions.iter_mut());
        for action in actions.filter(|a| a.name == slot.action) {
            if let Some(PropertyValue::Sensitive(s)) = action.properties.get_mut(&slot.property) {
                s.has_value = true;
                s.new_value = Some(value.to_owned());
            }
        }
    }

    /// The action table of these steps: each action's id, or a placeholder
    /// (`new-action:<name>`) for an action the target does not have yet.
    pub fn action_table(&self) -> Table {
        action_table(&self.steps)
    }
}

/// The action table (id -> name) of a process's steps; actions without an id get the
/// placeholder `new-action:<name>`.
pub fn action_table(steps: &[Step]) -> Table {
    let pairs: Vec<(String, String)> = steps
        .iter()
        .flat_map(|s| &s.actions)
        .map(|a| {
            let id =
                a.id.clone()
                    .unwrap_or_else(|| format!("{NEW_ACTION_PREFIX}{}", a.name));
            (id, a.name.clone())
        })
        .collect();
    Table::new(pairs.iter().map(|(id, name)| (id.as_str(), name.as_str())))
}

/// A variable set ready to merge: the bundle's variables with the target's ids in their
/// scopes, and those left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportedVariables {
    /// Variables to add or update.
    pub variables: Vec<ImportedVariable>,
    /// Variables left out because a scope dimension lost every name to `[unmapped] = "drop"`.
    pub skipped: Vec<SkippedVariable>,
}

/// One variable of [`ImportedVariables`].
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedVariable {
    /// The variable: no `Id`, scope in the target's ids, sensitive ones without a value.
    pub variable: Variable,
    /// Its scope in the target's names.
    pub scope_names: BTreeMap<String, Vec<String>>,
}

impl ImportedVariables {
    /// Replaces the placeholder ids of new actions (`new-action:<name>`) in `Action` scopes
    /// by the ids `actions` gives those names, once the process is written.
    pub fn with_actions(&mut self, actions: &Table) {
        for imported in &mut self.variables {
            if let Some(ids) = imported.variable.scope.get_mut("Action") {
                for id in ids.iter_mut() {
                    let real = id
                        .strip_prefix(NEW_ACTION_PREFIX)
                        .and_then(|name| actions.id_of(name));
                    if let Some(real) = real {
                        *id = real.to_owned();
                    }
                }
            }
        }
    }
}

/// A variable left out of the import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedVariable {
    /// Its name.
    pub name: String,
    /// Its scope as the bundle has it.
    pub scope: BTreeMap<String, Vec<String>>,
    /// The dimension that became empty.
    pub dimension: String,
    /// The names dropped from it.
    pub dropped: Vec<String>,
}

/// What a scope becomes on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeOutcome {
    /// The scope, in ids and in the target's names.
    Mapped {
        /// Dimension -> ids (names for roles and tenant tags).
        ids: BTreeMap<String, Vec<String>>,
        /// Dimension -> the target's names.
        names: BTreeMap<String, Vec<String>>,
    },
    /// A dimension lost every name it had: whatever the scope applies to is left out (never
    /// made unscoped, which would widen it).
    Skipped {
        /// The dimension.
        dimension: String,
        /// The names dropped from it.
        dropped: Vec<String>,
    },
}

enum Lookup {
    Found { id: String, name: String },
    Dropped,
    Missing,
}

/// Resolves bundle names to the target's ids through a [`NameMap`], collecting every name it
/// cannot resolve (see [`Resolver::finish`]).
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    map: &'a NameMap,
    tables: BTreeMap<NameKind, Table>,
    unresolved: Vec<Unresolved>,
}

impl<'a> Resolver<'a> {
    /// A resolver over the target's `directory`. Projects, library variable sets and actions
    /// have no table until [`Resolver::set_table`] gives them one.
    pub fn new(directory: &Directory, map: &'a NameMap) -> Self {
        let tables = BTreeMap::from([
            (NameKind::Environment, directory.environments.clone()),
            (NameKind::Channel, directory.channels.clone()),
            (NameKind::Feed, directory.feeds.clone()),
            (NameKind::WorkerPool, directory.worker_pools.clone()),
            (NameKind::Team, directory.teams.clone()),
            (NameKind::Machine, directory.machines.clone()),
            (NameKind::Account, directory.accounts.clone()),
            (NameKind::Certificate, directory.certificates.clone()),
            (NameKind::GitCredential, directory.git_credentials.clone()),
            (NameKind::Tenant, directory.tenants.clone()),
            (NameKind::TenantTag, directory.tenant_tags.clone()),
            (NameKind::Runbook, directory.runbooks.clone()),
            (NameKind::StepTemplate, directory.step_templates.clone()),
            (NameKind::Project, directory.projects.clone()),
        ]);
        Self {
            map,
            tables,
            unresolved: Vec::new(),
        }
    }

    /// Sets (or replaces) the table of `kind`: the target's projects, library variable sets,
    /// or the actions of the process being imported.
    pub fn set_table(&mut self, kind: NameKind, table: Table) {
        self.tables.insert(kind, table);
    }

    /// The names not resolved so far.
    pub fn unresolved(&self) -> &[Unresolved] {
        &self.unresolved
    }

    /// `Ok` if every name resolved, else every name that did not, each with where it is used.
    pub fn finish(self) -> Result<(), Vec<Unresolved>> {
        if self.unresolved.is_empty() {
            Ok(())
        } else {
            Err(self.unresolved)
        }
    }

    /// The target's id and name for a name that must exist (a project, the release's channel,
    /// a feed, a worker pool, a team); `None` (and recorded) if it does not.
    pub fn resolve(
        &mut self,
        kind: NameKind,
        name: &str,
        used_in: &str,
    ) -> Option<(String, String)> {
        match self.lookup(kind, name, used_in, false) {
            Lookup::Found { id, name } => Some((id, name)),
            Lookup::Dropped | Lookup::Missing => None,
        }
    }

    fn lookup(&mut self, kind: NameKind, name: &str, used_in: &str, may_drop: bool) -> Lookup {
        let renamed = self.map.renamed(kind, name).map(str::to_owned);
        let target = renamed.as_deref().unwrap_or(name);
        let table = self.tables.get(&kind);
        if let Some(id) = table.and_then(|t| t.id_of(target)) {
            let canonical = table.and_then(|t| t.name_of(id)).unwrap_or(target);
            return Lookup::Found {
                id: id.to_owned(),
                name: canonical.to_owned(),
            };
        }
        if may_drop && renamed.is_none() && self.map.unmapped(kind) == Unmapped::Drop {
            return Lookup::Dropped;
        }
        self.record(Some(kind), name, renamed, Problem::NotOnTarget, used_in);
        Lookup::Missing
    }

    fn record(
        &mut self,
        kind: Option<NameKind>,
        name: &str,
        renamed_to: Option<String>,
        problem: Problem,
        used_in: &str,
    ) {
        let same = |u: &&mut Unresolved| {
            u.kind == kind && u.problem == problem && u.name.eq_ignore_ascii_case(name)
        };
        match self.unresolved.iter_mut().find(same) {
            Some(found) => {
                if !found.used_in.iter().any(|p| p == used_in) {
                    found.used_in.push(used_in.to_owned());
                }
            }
            None => self.unresolved.push(Unresolved {
                kind,
                name: name.to_owned(),
                renamed_to,
                problem,
                used_in: vec![used_in.to_owned()],
            }),
        }
    }

    /// An action's inclusion filter (`Environments`, `Channels`): ids of the names the target
    /// has; dropping names until nothing is left is refused (the action would run everywhere).
    fn include_filter(&mut self, kind: NameKind, names: &[String], used_in: &str) -> Vec<String> {
        let (ids, dropped) = self.filter(kind, names, used_in);
        if ids.is_empty() {
            for name in &dropped {
                self.record(Some(kind), name, None, Problem::FilterWouldWiden, used_in);
            }
        }
        ids
    }

    /// Ids of the names the target has, and the names dropped.
    fn filter(
        &mut self,
        kind: NameKind,
        names: &[String],
        used_in: &str,
    ) -> (Vec<String>, Vec<String>) {
        let mut ids: Vec<String> = Vec::new();
        let mut dropped = Vec::new();
        for name in names {
            match self.lookup(kind, name, used_in, kind.droppable()) {
                Lookup::Found { id, .. } => {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                Lookup::Dropped => dropped.push(name.clone()),
                Lookup::Missing => {}
            }
        }
        (ids, dropped)
    }

    /// A variable scope (names) on the target. `Role` and `TenantTag` values are names on both
    /// sides and pass as they are; a dimension this importer does not know is recorded.
    pub fn scope(&mut self, scope: &BTreeMap<String, Vec<String>>, used_in: &str) -> ScopeOutcome {
        let mut ids = BTreeMap::new();
        let mut names = BTreeMap::new();
        let mut skipped = None;
        for (dimension, values) in scope.iter().filter(|(_, v)| !v.is_empty()) {
            let kind = match scope_kind(dimension) {
                ScopeKind::Ids(kind) | ScopeKind::Names(kind) => Some(kind),
                ScopeKind::ProcessOwner => Some(NameKind::Runbook),
                ScopeKind::Text => None,
                ScopeKind::Unknown => {
                    self.record(None, dimension, None, Problem::UnknownScope, used_in);
                    continue;
                }
            };
            let mut dimension_ids: Vec<String> = Vec::new();
            let mut dimension_names: Vec<String> = Vec::new();
            let mut dropped = Vec::new();
            for value in values {
                let found = match kind {
                    None => Some((value.clone(), value.clone())),
                    Some(NameKind::Runbook) => self.process_owner(value, used_in),
                    Some(kind) => match self.lookup(kind, value, used_in, kind.droppable()) {
                        Lookup::Found { id, name } => Some((id, name)),
                        Lookup::Dropped => {
                            dropped.push(value.clone());
                            None
                        }
                        Lookup::Missing => None,
                    },
                };
                if let Some((id, name)) = found
                    && !dimension_ids.iter().any(|i| i.eq_ignore_ascii_case(&id))
                {
                    dimension_ids.push(id);
                    dimension_names.push(name);
                }
            }
            if dimension_ids.is_empty() {
                if !dropped.is_empty() && skipped.is_none() {
                    skipped = Some((dimension.clone(), dropped));
                }
            } else {
                ids.insert(dimension.clone(), dimension_ids);
                names.insert(dimension.clone(), dimension_names);
            }
        }
        match skipped {
            Some((dimension, dropped)) => ScopeOutcome::Skipped { dimension, dropped },
            None => ScopeOutcome::Mapped { ids, names },
        }
    }

    /// A `ProcessOwner` scope value (`Runbook/<name>` or `Project/<name>`, see
    /// [`crate::names::references`]) as the target's id and name in the same form.
    fn process_owner(&mut self, value: &str, used_in: &str) -> Option<(String, String)> {
        let (kind, prefix, name) = if let Some(name) = value.strip_prefix(RUNBOOK_OWNER) {
            (NameKind::Runbook, RUNBOOK_OWNER, name)
        } else if let Some(name) = value.strip_prefix(PROJECT_OWNER) {
            (NameKind::Project, PROJECT_OWNER, name)
        } else {
            self.record(None, "ProcessOwner", None, Problem::UnknownScope, used_in);
            return None;
        };
        self.resolve(kind, name, used_in)
            .map(|(id, name)| (id, format!("{prefix}{name}")))
    }

    /// A variable's value on the target: the id of the named resource for a `Certificate`,
    /// `WorkerPool` or `*Account` variable, else as it is.
    fn variable_value(
        &mut self,
        value: Option<&String>,
        kind: Option<&str>,
        used_in: &str,
    ) -> Option<String> {
        let value = value?;
        match variable_value_kind(kind) {
            Some(name_kind) if !value.is_empty() && !is_expression(value) => Some(
                self.resolve(name_kind, value, &format!("the value of {used_in}"))
                    .map(|(id, _)| id)
                    .unwrap_or_default(),
            ),
            _ => Some(value.clone()),
        }
    }

    /// The names an action's unnamed fields hold, resolved to the target's ids (the reverse of
    /// the export side's naming): `Container.Feed` -> `Container.FeedId`,
    /// `GitDependencies[].GitCredential` -> `GitCredentialId`, names in `Inputs` -> ids.
    fn action_references(&mut self, other: &mut Other, place: &str) {
        if let Some(Value::Object(container)) = other.get_mut("Container") {
            let feed = match container.remove("Feed") {
                Some(Value::String(name)) if is_expression(&name) => Value::String(name),
                Some(Value::String(name)) if !name.is_empty() => self
                    .resolve(NameKind::Feed, &name, &format!("the container of {place}"))
                    .map_or(Value::Null, |(id, _)| Value::String(id)),
                _ => Value::Null,
            };
            container.insert("FeedId".to_owned(), feed);
        }
        if let Some(Value::Array(dependencies)) = other.get_mut("GitDependencies") {
            for dependency in dependencies.iter_mut().filter_map(Value::as_object_mut) {
                let used_in = format!(
                    "git dependency {:?} of {place}",
                    dependency.get("Name").and_then(Value::as_str).unwrap_or("")
                );
                let credential = match dependency.remove("GitCredential") {
                    Some(Value::String(name)) if is_expression(&name) => Value::String(name),
                    Some(Value::String(name)) if !name.is_empty() => self
                        .resolve(NameKind::GitCredential, &name, &used_in)
                        .map_or(Value::Null, |(id, _)| Value::String(id)),
                    _ => Value::Null,
                };
                dependency.insert("GitCredentialId".to_owned(), credential);
            }
        }
        if let Some(inputs) = other.get_mut("Inputs") {
            self.resolve_inputs(inputs, &format!("the inputs of {place}"));
        }
    }

    fn resolve_inputs(&mut self, value: &mut Value, used_in: &str) {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    match (input_kind(key), item) {
                        (Some(kind), Value::String(name))
                            if !name.is_empty() && !is_expression(name) =>
                        {
                            *name = self
                                .resolve(kind, name, used_in)
                                .map(|(id, _)| id)
                                .unwrap_or_default();
                        }
                        (_, item) => self.resolve_inputs(item, used_in),
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.resolve_inputs(item, used_in);
                }
            }
            _ => {}
        }
    }

    /// Properties with id-valued ones resolved; sensitive ones without a value (see
    /// [`Resolver::process`] for what becomes of them).
    pub(crate) fn properties(
        &mut self,
        properties: &BTreeMap<String, PropertyValue>,
        used_in: &str,
    ) -> BTreeMap<String, PropertyValue> {
        let mut out = BTreeMap::new();
        for (key, value) in properties {
            let value = match value {
                PropertyValue::Text(text) => match property_kind(key) {
                    Some(kind) if !is_expression(text) => {
                        let place = format!("property {key} of {used_in}");
                        let ids: Vec<String> = text
                            .split(',')
                            .map(str::trim)
                            .filter(|name| !name.is_empty())
                            .filter_map(|name| {
                                if is_expression(name) {
                                    return Some(name.to_owned());
                                }
                                self.resolve(kind, name, &place).map(|(id, _)| id)
                            })
                            .collect();
                        PropertyValue::Text(ids.join(","))
                    }
                    _ => PropertyValue::Text(text.clone()),
                },
                PropertyValue::Sensitive(s) => PropertyValue::Sensitive(SensitiveValue {
                    has_value: s.has_value,
                    new_value: None,
                    hint: s.hint.clone(),
                }),
            };
            out.insert(key.clone(), value);
        }
        out
    }

    /// The bundle's process on the target: names resolved, and the ids of the steps, actions
    /// and package references `existing` has by the same names reused.
    ///
    /// A sensitive action property that the target's action of the same name stores is sent as
    /// `{"HasValue": true, "NewValue": null}`, which keeps the stored value for the same action
    /// id, whatever `HasValue` the bundle says (a secret is the secure zone's; the importer
    /// refuses a bundle that would replace or clear one before this runs). One with a value in
    /// the bundle that the target does not store is listed in [`ImportedProcess::needs_values`].
    pub fn process(
        &mut self,
        named: &NamedProcess,
        existing: &DeploymentProcess,
    ) -> ImportedProcess {
        let mut needs_values = Vec::new();
        let steps = named
            .steps
            .iter()
            .map(|step| self.step(step, existing, &mut needs_values))
            .collect();
        ImportedProcess {
            steps,
            needs_values,
        }
    }

    fn step(
        &mut self,
        step: &NamedStep,
        existing: &DeploymentProcess,
        needs_values: &mut Vec<PropertySlot>,
    ) -> Step {
        let old = existing
            .steps
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&step.name));
        let place = format!("step {:?}", step.name);
        let actions = step
            .actions
            .iter()
            .map(|action| {
                let old = existing
                    .steps
                    .iter()
                    .flat_map(|s| &s.actions)
                    .find(|a| a.name.eq_ignore_ascii_case(&action.name));
                self.action(action, old, needs_values)
            })
            .collect();
        Step {
            id: old.and_then(|s| s.id.clone()),
            name: step.name.clone(),
            properties: self.properties(&step.properties, &place),
            actions,
            other: super::super::without_instance_fields(&step.other),
        }
    }

    fn action(
        &mut self,
        action: &NamedAction,
        old: Option<&Action>,
        needs_values: &mut Vec<PropertySlot>,
    ) -> Action {
        let place = format!("action {:?}", action.name);
        let environments = self.include_filter(
            NameKind::Environment,
            &action.environments,
            &format!("{place} Environments"),
        );
        let (excluded_environments, _) = self.filter(
            NameKind::Environment,
            &action.excluded_environments,
            &format!("{place} ExcludedEnvironments"),
        );
        let channels = self.include_filter(
            NameKind::Channel,
            &action.channels,
            &format!("{place} Channels"),
        );
        let mut other = super::super::without_instance_fields(&action.other);
        self.action_references(&mut other, &place);
        let worker_pool = action.worker_pool.as_ref().and_then(|pool| {
            self.resolve(NameKind::WorkerPool, pool, &place)
                .map(|(id, _)| id)
        });
        other.insert(
            "WorkerPoolId".to_owned(),
            worker_pool.map_or(Value::Null, Value::String),
        );
        let packages = action
            .packages
            .iter()
            .map(|package| {
                let used_in = format!("package {} of {place}", package.package_id);
                let id = old
                    .into_iter()
                    .flat_map(|a| &a.packages)
                    .find(|p| p.name.eq_ignore_ascii_case(&package.name))
                    .and_then(|p| p.id.clone());
                PackageReference {
                    id,
                    name: package.name.clone(),
                    package_id: package.package_id.clone(),
                    // A feed chosen by a variable when the deployment runs travels as written.
                    feed_id: if crate::names::is_expression(&package.feed) {
                        package.feed.clone()
                    } else {
                        self.resolve(NameKind::Feed, &package.feed, &used_in)
                            .map(|(id, _)| id)
                            .unwrap_or_default()
                    },
                    other: super::super::without_instance_fields(&package.other),
                }
            })
            .collect();
        let mut properties = self.properties(&action.properties, &place);
        for (key, value) in &mut properties {
            let PropertyValue::Sensitive(s) = value else {
                continue;
            };
            let stored = old
                .and_then(|a| a.properties.get(key))
                .is_some_and(|v| matches!(v, PropertyValue::Sensitive(stored) if stored.has_value));
            if stored {
                // The secure zone's value stays, even where the development zone has none.
                s.has_value = true;
            } else if s.has_value {
                needs_values.push(PropertySlot {
                    action: action.name.clone(),
                    property: key.clone(),
                });
            }
        }
        Action {
            id: old.and_then(|a| a.id.clone()),
            name: action.name.clone(),
            action_type: action.action_type.clone(),
            is_disabled: action.is_disabled,
            environments,
            excluded_environments,
            channels,
            packages,
            properties,
            other,
        }
    }

    /// The bundle's variables on the target: scopes resolved (actions through the action
    /// table set with [`Resolver::set_table`]), sensitive values absent.
    pub fn variables(&mut self, set: &NamedVariableSet) -> ImportedVariables {
        let owner = if set.is_project() {
            format!("project {:?}", set.owner)
        } else {
            format!("library variable set {:?}", set.owner)
        };
        let mut imported = ImportedVariables::default();
        for variable in &set.variables {
            let used_in = format!("variable {} of {owner}", variable.name);
            match self.scope(&variable.scope, &used_in) {
                ScopeOutcome::Skipped { dimension, dropped } => {
                    imported.skipped.push(SkippedVariable {
                        name: variable.name.clone(),
                        scope: variable.scope.clone(),
                        dimension,
                        dropped,
                    })
                }
                ScopeOutcome::Mapped { ids, names } => imported.variables.push(ImportedVariable {
                    variable: Variable {
                        id: None,
                        name: variable.name.clone(),
                        value: if variable.is_sensitive {
                            None
                        } else {
                            self.variable_value(
                                variable.value.as_ref(),
                                variable.kind.as_deref(),
                                &used_in,
                            )
                        },
                        kind: variable.kind.clone(),
                        is_sensitive: variable.is_sensitive,
                        scope: ids,
                        other: super::super::without_instance_fields(&variable.other),
                    },
                    scope_names: names,
                }),
            }
        }
        imported
    }
}
