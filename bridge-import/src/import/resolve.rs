//! Step 4: every name of the release resolved on the target at once, through the mapping file,
//! with [`octopus_api::names::Resolver`]; every name that does not resolve is listed in one
//! refusal (`unresolved-names`), and nothing is written.
//!
//! It happens in two passes because the second needs what the first finds:
//!
//! 1. [`owners`]: the project and the library variable sets (by name, `[projects]` and
//!    `[library_variable_sets]` renames); each library set must be included in the project,
//!    or a release of it would not carry its variables.
//! 2. [`names`]: the release's channel, the process (environments, channels, feeds, worker
//!    pools, teams), the variables' scopes (actions by the names of the imported process), and
//!    the scopes of the secrets the release needs.

use std::collections::{BTreeMap, BTreeSet};

use bundle_format::manifest::SecretRequirement;
use octopus_api::names::{
    Directory, ImportedProcess, ImportedVariables, NameKind, NameMap, Resolver, ScopeOutcome,
    TENANT_SENSITIVE, Table, Unresolved, scope_key, scope_text,
};
use octopus_api::resources::{DeploymentProcess, Other, Project};

use super::content::ReleaseContent;
use super::refuse::refused;
use super::target::{Catalog, ProjectState};

/// The secret requirement kind the export side gives sensitive action properties; they are
/// checked against the process ([`ImportedProcess::needs_values`]), not as variables.
pub const SENSITIVE_PROPERTY: &str = "SensitiveProperty";

/// Whose variable set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// The project's own.
    Project,
    /// A library variable set's.
    Library,
}

/// A variable set's owner on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Project or library variable set.
    pub kind: OwnerKind,
    /// Its id.
    pub id: String,
    /// Its name on the target.
    pub name: String,
    /// Its variable set's id.
    pub variable_set_id: String,
}

impl Owner {
    /// `project "X"` or `library variable set "X"`.
    pub fn describe(&self) -> String {
        match self.kind {
            OwnerKind::Project => format!("project {:?}", self.name),
            OwnerKind::Library => format!("library variable set {:?}", self.name),
        }
    }
}

/// The target's project and library variable sets for a release.
#[derive(Debug, Clone)]
pub struct Owners {
    /// The project.
    pub project: Project,
    /// The project as a variable set owner.
    pub project_owner: Owner,
    /// Library variable sets by their bundle name (lowercase).
    pub libraries: BTreeMap<String, Owner>,
}

impl Owners {
    /// The owner the bundle calls `name`: the project if it is the release's project, else
    /// the library variable set of that name.
    pub fn of(&self, name: &str, release_project: &str) -> Option<&Owner> {
        if name.eq_ignore_ascii_case(release_project) {
            Some(&self.project_owner)
        } else {
            self.libraries.get(&name.to_lowercase())
        }
    }

    /// Every variable set id the import reads.
    pub fn variable_set_ids(&self) -> Vec<String> {
        std::iter::once(&self.project_owner)
            .chain(self.libraries.values())
            .map(|o| o.variable_set_id.clone())
            .collect()
    }
}

/// Pass 1: the project and library variable sets. If any of them does not resolve, the
/// refusal also lists what `others` finds (the names that do not depend on the project), so
/// that one run names everything it can.
pub fn owners(
    content: &ReleaseContent<'_>,
    catalog: &Catalog,
    map: &NameMap,
    target: &str,
    others: impl FnOnce() -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<Owners> {
    let directory = Directory::default();
    let mut resolver = Resolver::new(&directory, map);
    resolver.set_table(
        NameKind::Project,
        Table::new(
            catalog
                .projects
                .iter()
                .map(|p| (p.id.as_str(), p.name.as_str())),
        ),
    );
    resolver.set_table(
        NameKind::LibraryVariableSet,
        Table::new(
            catalog
                .libraries
                .iter()
                .map(|l| (l.id.as_str(), l.name.as_str())),
        ),
    );
    let release = &content.release;
    let project = resolver
        .resolve(NameKind::Project, &release.project, "the release")
        .and_then(|(id, _)| catalog.projects.iter().find(|p| p.id == id));
    let mut wanted: Vec<(String, String)> = content
        .variable_sets
        .iter()
        .filter(|s| !s.is_project())
        .map(|s| (s.owner.clone(), format!("the variables of {:?}", s.owner)))
        .collect();
    wanted.extend(
        release
            .secrets
            .iter()
            .filter(|s| !s.owner.eq_ignore_ascii_case(&release.project))
            .map(|s| {
                (
                    s.owner.clone(),
                    format!("secret {} of {:?}", s.name, s.owner),
                )
            }),
    );
    let mut libraries = BTreeMap::new();
    let mut not_included = Vec::new();
    for (name, used_in) in wanted {
        let Some((id, _)) = resolver.resolve(NameKind::LibraryVariableSet, &name, &used_in) else {
            continue;
        };
        let Some(library) = catalog.libraries.iter().find(|l| l.id == id) else {
            continue;
        };
        if let Some(project) = project
            && !project
                .included_library_variable_set_ids
                .contains(&library.id)
            && !not_included.contains(&library.name)
        {
            not_included.push(library.name.clone());
        }
        libraries.insert(
            name.to_lowercase(),
            Owner {
                kind: OwnerKind::Library,
                id: library.id.clone(),
                name: library.name.clone(),
                variable_set_id: library.variable_set_id.clone(),
            },
        );
    }
    let mut lines: Vec<String> = resolver
        .unresolved()
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(project) = project {
        lines.extend(not_included.iter().map(|name| {
            format!(
                "library variable set {name:?} is not included in project {:?} on the target, so a release of it would not carry those variables",
                project.name
            )
        }));
    }
    match project {
        Some(project) if lines.is_empty() => Ok(Owners {
            project_owner: Owner {
                kind: OwnerKind::Project,
                id: project.id.clone(),
                name: project.name.clone(),
                variable_set_id: project.variable_set_id.clone(),
            },
            project: project.clone(),
            libraries,
        }),
        _ => {
            let mut hint = OWNERS_HINT.to_owned();
            let others = others()?;
            if !others.is_empty() {
                hint.push('\n');
                hint.push_str(NAMES_HINT);
            }
            lines.extend(others);
            Err(unresolved_error(&lines, target, &hint))
        }
    }
}

const OWNERS_HINT: &str = "Hint: rename projects and library variable sets in the mapping file (--map FILE) under [projects] and [library_variable_sets]; include library variable sets in the project on the target";

/// The hint of a refusal for names the target lacks.
pub const NAMES_HINT: &str = "Hint: rename them in a mapping file (--map FILE), one table per kind, such as [environments] \"Staging\" = \"PCI Staging\"; to leave environments, channels or deployment targets the target does not have out of scopes and filters, add [unmapped] environments = \"drop\"";

/// The names that do not depend on the project (everything but channels), resolved against
/// `directory` with a new process: what pass 2 would also report, for a refusal in pass 1.
pub fn project_independent(
    content: &ReleaseContent<'_>,
    directory: &Directory,
    map: &NameMap,
) -> Vec<String> {
    let mut resolver = Resolver::new(directory, map);
    let empty = DeploymentProcess {
        id: String::new(),
        version: 0,
        steps: Vec::new(),
        other: Other::new(),
    };
    let process = resolver.process(&content.process, &empty);
    resolver.set_table(NameKind::Action, process.action_table());
    for set in &content.variable_sets {
        let _ = resolver.variables(set);
    }
    for secret in content
        .release
        .secrets
        .iter()
        .filter(|s| s.kind != TENANT_SENSITIVE)
    {
        let _ = resolver.scope(
            &secret.scope,
            &format!("secret {} of {:?}", secret.name, secret.owner),
        );
    }
    // Channels are the project's; step templates are decided once the project is known (a
    // template the bundle carries is created when missing).
    resolver
        .unresolved()
        .iter()
        .filter(|u| !matches!(u.kind, Some(NameKind::Channel | NameKind::StepTemplate)))
        .map(ToString::to_string)
        .collect()
}

/// A secret the release needs on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Whose variable.
    pub owner: Owner,
    /// The variable's name.
    pub name: String,
    /// Its type (`Sensitive`, ...).
    pub kind: String,
    /// Its scope in the target's ids.
    pub scope_ids: BTreeMap<String, Vec<String>>,
    /// Its scope in the target's names.
    pub scope_names: BTreeMap<String, Vec<String>>,
}

impl Requirement {
    /// `owner / name (scope)`, as the operator writes it in a secrets file.
    pub fn describe(&self) -> String {
        format!(
            "{} / {} ({})",
            self.owner.name,
            self.name,
            scope_text(&self.scope_names)
        )
    }
}

/// A variable set of the bundle, resolved.
#[derive(Debug, Clone)]
pub struct ResolvedSet {
    /// Its owner on the target.
    pub owner: Owner,
    /// Its variables, and those skipped.
    pub imported: ImportedVariables,
}

/// Everything the bundle names, on the target.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The release's channel: id and name.
    pub channel: (String, String),
    /// The process to write.
    pub process: ImportedProcess,
    /// The variable sets to merge, in bundle order.
    pub sets: Vec<ResolvedSet>,
    /// The secrets the release needs.
    pub requirements: Vec<Requirement>,
    /// Secrets not needed because their scope lost every name to `[unmapped] = "drop"`.
    pub skipped_requirements: Vec<String>,
}

/// Pass 2: every other name.
/// `extra` holds what the tenants pass ([`super::tenants::prepare`]) could not resolve: it is
/// listed in the same refusal.
pub fn names(
    content: &ReleaseContent<'_>,
    owners: &Owners,
    state: &ProjectState,
    map: &NameMap,
    target: &str,
    extra: Vec<String>,
) -> anyhow::Result<Resolved> {
    let release = &content.release;
    let mut resolver = Resolver::new(&state.directory, map);
    let channel = resolver.resolve(NameKind::Channel, &release.channel, "the release's channel");
    let process = resolver.process(&content.process, &state.process);
    resolver.set_table(NameKind::Action, process.action_table());
    let mut sets = Vec::new();
    for set in &content.variable_sets {
        let Some(owner) = owners.of(&set.owner, &release.project) else {
            continue;
        };
        sets.push(ResolvedSet {
            owner: owner.clone(),
            imported: resolver.variables(set),
        });
    }
    let mut requirements: Vec<Requirement> = Vec::new();
    let mut skipped_requirements = Vec::new();
    let mut seen = BTreeSet::new();
    for secret in release
        .secrets
        .iter()
        .filter(|s| s.kind != SENSITIVE_PROPERTY && s.kind != TENANT_SENSITIVE)
    {
        let Some(owner) = owners.of(&secret.owner, &release.project) else {
            continue;
        };
        let used_in = format!("secret {} of {:?}", secret.name, secret.owner);
        match resolver.scope(&secret.scope, &used_in) {
            ScopeOutcome::Mapped { ids, names } => {
                push_requirement(&mut requirements, &mut seen, owner, secret, ids, names);
            }
            ScopeOutcome::Skipped { dimension, dropped } => skipped_requirements.push(format!(
                "{} / {} ({}): its {dimension} scope {} is not on the target",
                secret.owner,
                secret.name,
                scope_text(&secret.scope),
                dropped.join(", ")
            )),
        }
    }
    // A sensitive variable the manifest forgot to list is still a secret the target needs.
    for set in &sets {
        for imported in set
            .imported
            .variables
            .iter()
            .filter(|v| v.variable.is_sensitive)
        {
            let v = &imported.variable;
            let secret = SecretRequirement {
                owner: set.owner.name.clone(),
                name: v.name.clone(),
                kind: v.kind.clone().unwrap_or_else(|| "Sensitive".to_owned()),
                scope: BTreeMap::new(),
            };
            push_requirement(
                &mut requirements,
                &mut seen,
                &set.owner,
                &secret,
                v.scope.clone(),
                imported.scope_names.clone(),
            );
        }
    }
    let unresolved = resolver.finish().err().unwrap_or_default();
    match channel {
        Some(channel) if unresolved.is_empty() && extra.is_empty() => Ok(Resolved {
            channel,
            process,
            sets,
            requirements,
            skipped_requirements,
        }),
        _ => {
            let mut lines = lines_of(&unresolved);
            lines.extend(extra);
            Err(unresolved_error(&lines, target, NAMES_HINT))
        }
    }
}

/// Owner id, lowercase name, scope key: one requirement per variable.
type RequirementKey = (String, String, BTreeMap<String, BTreeSet<String>>);

fn push_requirement(
    requirements: &mut Vec<Requirement>,
    seen: &mut BTreeSet<RequirementKey>,
    owner: &Owner,
    secret: &SecretRequirement,
    scope_ids: BTreeMap<String, Vec<String>>,
    scope_names: BTreeMap<String, Vec<String>>,
) {
    let key = (
        owner.id.clone(),
        secret.name.to_lowercase(),
        scope_key(&scope_ids),
    );
    if seen.insert(key) {
        requirements.push(Requirement {
            owner: owner.clone(),
            name: secret.name.clone(),
            kind: secret.kind.clone(),
            scope_ids,
            scope_names,
        });
    }
}

fn lines_of(unresolved: &[Unresolved]) -> Vec<String> {
    unresolved.iter().map(ToString::to_string).collect()
}

/// The one refusal that lists every name that did not resolve.
pub(super) fn unresolved_error(lines: &[String], target: &str, hint: &str) -> anyhow::Error {
    let count = lines.len();
    let noun = if count == 1 { "name" } else { "names" };
    let mut message = format!(
        "{count} {noun} of the release cannot be resolved on the target {target}; nothing was written:"
    );
    // Names from the bundle: escaped, so that none can start a line of its own.
    message.push_str(&bridge_cli::safe::bullets(lines));
    message.push('\n');
    message.push_str(hint);
    refused("unresolved-names", message)
}
