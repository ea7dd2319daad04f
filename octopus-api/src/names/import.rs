//! The name-based model -> Octopus resources of the target instance (the secure side of a
//! promotion): the reverse of [`super::export`].
//!
//! ```text
//! process.json, variables/*.json ──serde──> NamedProcess, NamedVariableSet      (model)
//!   NameMap (the operator's mapping file: renames, [unmapped] rules)             (map)
//!   Directory of the target + the process's action table
//!     ──Resolver──> Steps and Variables with the target's ids                    (resolve)
//!                   + every name the target lacks, collected, never the first only
//! ```
//!
//! Every lookup goes through one [`Resolver`], which collects every [`Unresolved`] name with
//! the places that use it, so an import is refused once with the whole list and nothing is
//! written. A name is first renamed by the [`NameMap`], then looked up in the target's
//! [`Directory`] ignoring case, as Octopus does.
//!
//! What "drop" means where (`[unmapped] environments = "drop"`):
//!
//! | where | a name the target lacks | if that empties the list |
//! |---|---|---|
//! | action `ExcludedEnvironments` | removed | fine: nothing is excluded |
//! | action `Environments`, `Channels` (filters) | removed | refused: the action would run everywhere |
//! | variable scope `Environment`, `Channel`, `Machine` | removed | the variable is skipped, never made unscoped |
//!
//! A name the mapping file renames explicitly is never dropped: a rename to a name the target
//! lacks is a mistake in the mapping file and is reported.

mod resolve;

use std::collections::BTreeMap;
use std::fmt;

pub use resolve::{
    ImportedProcess, ImportedVariable, ImportedVariables, NEW_ACTION_PREFIX, PropertySlot,
    Resolver, ScopeOutcome, SkippedVariable, action_table,
};

/// The kinds of names a bundle uses for things that have ids on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NameKind {
    /// An environment (action filters, variable scopes).
    Environment,
    /// A channel of the project (release, action filters, variable scopes).
    Channel,
    /// A package feed.
    Feed,
    /// A worker pool.
    WorkerPool,
    /// A team (manual intervention responsibility).
    Team,
    /// A deployment target (variable scopes).
    Machine,
    /// An action of the process being imported (variable scopes).
    Action,
    /// A project.
    Project,
    /// A library variable set.
    LibraryVariableSet,
    /// An account (Azure, AWS, Google Cloud, username/password, token, SSH key pair):
    /// `*Account` variables, step properties.
    Account,
    /// A certificate (`Certificate` variables).
    Certificate,
    /// A git credential (`GitDependencies[].GitCredentialId`).
    GitCredential,
    /// A tenant (variable scopes, tenant variables).
    Tenant,
    /// A tenant tag, `TagSet/Tag` (variable scopes, tenants).
    TenantTag,
    /// A runbook of the project (variable scope `ProcessOwner`).
    Runbook,
    /// A library step template (`Octopus.Action.Template.Id`).
    StepTemplate,
    /// A lifecycle (projects and channels created with `--create-missing`).
    Lifecycle,
    /// A project group (projects created with `--create-missing`).
    ProjectGroup,
}

impl NameKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [Self; 18] = [
        Self::Project,
        Self::LibraryVariableSet,
        Self::ProjectGroup,
        Self::Lifecycle,
        Self::Channel,
        Self::Environment,
        Self::Feed,
        Self::WorkerPool,
        Self::Team,
        Self::Machine,
        Self::Account,
        Self::Certificate,
        Self::GitCredential,
        Self::Tenant,
        Self::TenantTag,
        Self::Runbook,
        Self::StepTemplate,
        Self::Action,
    ];

    /// The kind in a sentence: `environment`, `worker pool`, ...
    pub fn noun(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Channel => "channel",
            Self::Feed => "feed",
            Self::WorkerPool => "worker pool",
            Self::Team => "team",
            Self::Machine => "deployment target",
            Self::Action => "action",
            Self::Project => "project",
            Self::LibraryVariableSet => "library variable set",
            Self::Account => "account",
            Self::Certificate => "certificate",
            Self::GitCredential => "git credential",
            Self::Tenant => "tenant",
            Self::TenantTag => "tenant tag",
            Self::Runbook => "runbook",
            Self::StepTemplate => "step template",
            Self::Lifecycle => "lifecycle",
            Self::ProjectGroup => "project group",
        }
    }

    /// The mapping file's table for this kind: `environments`, `worker_pools`, ... (`None`
    /// for actions, whose names are the process's own and are never renamed).
    pub fn table(self) -> Option<&'static str> {
        match self {
            Self::Environment => Some("environments"),
            Self::Channel => Some("channels"),
            Self::Feed => Some("feeds"),
            Self::WorkerPool => Some("worker_pools"),
            Self::Team => Some("teams"),
            Self::Machine => Some("machines"),
            Self::Project => Some("projects"),
            Self::LibraryVariableSet => Some("library_variable_sets"),
            Self::Account => Some("accounts"),
            Self::Certificate => Some("certificates"),
            Self::GitCredential => Some("git_credentials"),
            Self::Tenant => Some("tenants"),
            Self::TenantTag => Some("tenant_tags"),
            Self::Runbook => Some("runbooks"),
            Self::StepTemplate => Some("step_templates"),
            Self::Lifecycle => Some("lifecycles"),
            Self::ProjectGroup => Some("project_groups"),
            Self::Action => None,
        }
    }

    /// Whether `[unmapped]` may drop names of this kind from scopes and filters.
    pub fn droppable(self) -> bool {
        matches!(self, Self::Environment | Self::Channel | Self::Machine)
    }
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// What happens to a scope or filter name the target lacks and the mapping does not rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// The import is refused, naming it (the default).
    #[default]
    Refuse,
    /// It is left out of scopes and filters (see the module documentation for the details).
    Drop,
}

/// The operator's renames from the bundle's (development-zone) names to the target's, per
/// kind, and what to do with scope names the target lacks. Names match ignoring case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    renames: BTreeMap<(NameKind, String), String>,
    unmapped: BTreeMap<NameKind, Unmapped>,
}

impl NameMap {
    /// No renames; every unmapped name refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames `from` (a bundle name) to `to` (a target name). Returns the earlier target if
    /// `from` was already renamed (ignoring case): the caller decides whether that is an error.
    pub fn rename(&mut self, kind: NameKind, from: &str, to: &str) -> Option<String> {
        self.renames
            .insert((kind, from.to_lowercase()), to.to_owned())
    }

    /// Sets what happens to names of `kind` the target lacks.
    pub fn set_unmapped(&mut self, kind: NameKind, rule: Unmapped) {
        self.unmapped.insert(kind, rule);
    }

    /// The rule for names of `kind` the target lacks (refuse unless set).
    pub fn unmapped(&self, kind: NameKind) -> Unmapped {
        self.unmapped.get(&kind).copied().unwrap_or_default()
    }

    /// The target's name for a bundle name: the rename if there is one, else the name itself.
    pub fn target_name<'a>(&'a self, kind: NameKind, name: &'a str) -> &'a str {
        self.renamed(kind, name).unwrap_or(name)
    }

    /// The rename of a bundle name, if the mapping has one.
    pub fn renamed(&self, kind: NameKind, name: &str) -> Option<&str> {
        self.renames
            .get(&(kind, name.to_lowercase()))
            .map(String::as_str)
    }

    /// How many renames there are.
    pub fn len(&self) -> usize {
        self.renames.len()
    }

    /// Whether there are no renames.
    pub fn is_empty(&self) -> bool {
        self.renames.is_empty()
    }
}

/// Why a name could not be used on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Problem {
    /// The target has nothing of that name.
    NotOnTarget,
    /// Dropping it (`[unmapped] ... = "drop"`) would empty an action's filter, so the action
    /// would run everywhere instead of nowhere.
    FilterWouldWiden,
    /// A variable scope dimension this importer does not know how to map.
    UnknownScope,
}

/// A name of the bundle that has no id on the target, and every place that uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// What kind of thing; `None` for a variable scope dimension ([`Problem::UnknownScope`]).
    pub kind: Option<NameKind>,
    /// The name as the bundle has it (for [`Problem::UnknownScope`], the dimension).
    pub name: String,
    /// The target name the mapping file renamed it to, if it did.
    pub renamed_to: Option<String>,
    /// Why it cannot be used.
    pub problem: Problem,
    /// Where the bundle uses it, in the order found, each place once.
    pub used_in: Vec<String>,
}

/// How many places an [`Unresolved`] line names before "and N more".
const PLACES_SHOWN: usize = 3;

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.map_or("scope dimension", NameKind::noun);
        match (self.problem, &self.renamed_to) {
            (Problem::UnknownScope, _) => write!(
                f,
                "variable scope {:?}: not a scope dimension this importer can map",
                self.name
            )?,
            (Problem::FilterWouldWiden, _) => write!(
                f,
                "{kind} {:?}: not on the target, and dropping it would empty the filter, so the action would run in every {kind}",
                self.name
            )?,
            (Problem::NotOnTarget, Some(to)) => write!(
                f,
                "{kind} {:?}: the mapping file renames it to {to:?}, which the target does not have",
                self.name
            )?,
            (Problem::NotOnTarget, None) => write!(f, "{kind} {:?}: not on the target", self.name)?,
        }
        let shown: Vec<&str> = self
            .used_in
            .iter()
            .take(PLACES_SHOWN)
            .map(String::as_str)
            .collect();
        write!(f, " (used in {}", shown.join("; "))?;
        let more = self.used_in.len().saturating_sub(PLACES_SHOWN);
        if more > 0 {
            write!(f, "; and {more} more")?;
        }
        f.write_str(")")
    }
}

/// A variable scope, normalised for matching: dimensions without values left out, values
/// lowercased and as a set. Two scopes match when their keys are equal.
pub fn scope_key(
    scope: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, std::collections::BTreeSet<String>> {
    scope
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(dimension, values)| {
            (
                dimension.clone(),
                values.iter().map(|v| v.to_lowercase()).collect(),
            )
        })
        .collect()
}

/// A scope for people: `Environment = PCI Staging, Production; Role = web`, or `unscoped`.
pub fn scope_text(scope: &BTreeMap<String, Vec<String>>) -> String {
    let parts: Vec<String> = scope
        .iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(dimension, values)| format!("{dimension} = {}", values.join(", ")))
        .collect();
    if parts.is_empty() {
        "unscoped".to_owned()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests;
