//! The release step: what the release must hold (its channel, package selections, process
//! and variables, in the target's names), creating it, and comparing a release on the target
//! with it, whether it existed before the import (the same promotion completed earlier, or a
//! different release of that version) or was just created (the read-back check).

use anyhow::{Context as _, anyhow};
use octopus_api::Client;
use octopus_api::names::{
    Directory, ExternalPackage, OwnerType, action_table, process_to_names, variables_to_names,
};
use octopus_api::resources::{
    DeploymentProcess, Other, Release, SelectedPackage, Step, VariableSet,
};
use serde_json::{Value, json};

use super::compare::{as_json, first_difference, variables_difference};
use super::content::StagedPackage;
use super::refuse::refused;
use super::resolve::{Owner, OwnerKind, Resolved};
use super::target::ProjectState;

/// The release to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSpec {
    /// The target project's id.
    pub project_id: String,
    /// The version, as the bundle has it.
    pub version: String,
    /// The channel's id and name on the target.
    pub channel: (String, String),
    /// Release notes.
    pub notes: Option<String>,
    /// A version for every package reference of every enabled action.
    pub selected: Vec<SelectedPackage>,
}

/// For every package reference of every enabled action, the bundle's version of that
/// package id: the version `external` (`external-packages.json`) gives that action's reference,
/// else the version of the package file the bundle carries. A package the bundle does not
/// carry, or carries in two versions, is refused (`package-unselectable`), every such
/// reference listed.
pub fn selected_packages(
    steps: &[Step],
    packages: &[StagedPackage],
    external: &[ExternalPackage],
) -> anyhow::Result<Vec<SelectedPackage>> {
    let mut selected = Vec::new();
    let mut problems = Vec::new();
    for step in steps {
        for action in step.actions.iter().filter(|a| !a.is_disabled) {
            for reference in &action.packages {
                let on_external = external.iter().find(|e| {
                    e.action.eq_ignore_ascii_case(&action.name)
                        && e.package_reference.eq_ignore_ascii_case(&reference.name)
                });
                if let Some(found) = on_external {
                    selected.push(SelectedPackage {
                        step_name: Some(step.name.clone()),
                        action_name: action.name.clone(),
                        package_reference_name: reference.name.clone(),
                        version: found.version.clone(),
                    });
                    continue;
                }
                let mut versions: Vec<&str> = packages
                    .iter()
                    .filter(|p| p.reference.id.eq_ignore_ascii_case(&reference.package_id))
                    .map(|p| p.reference.version.as_str())
                    .collect();
                versions.dedup();
                match versions.as_slice() {
                    [version] => selected.push(SelectedPackage {
                        step_name: Some(step.name.clone()),
                        action_name: action.name.clone(),
                        package_reference_name: reference.name.clone(),
                        version: (*version).to_owned(),
                    }),
                    [] => problems.push(format!(
                        "action {:?} uses package {}, which the bundle does not carry",
                        action.name, reference.package_id
                    )),
                    several => problems.push(format!(
                        "the bundle carries package {} in versions {}; which one action {:?} deploys is ambiguous",
                        reference.package_id,
                        several.join(", "),
                        action.name
                    )),
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(selected);
    }
    Err(refused(
        "package-unselectable",
        format!(
            "the release cannot select its packages:{}\nHint: export the release again; a bundle carries exactly one version of each package its process uses",
            bridge_cli::safe::bullets(&problems)
        ),
    ))
}

/// What the release must hold, in the target's names.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The process, as `process_to_names` writes it.
    pub process: Value,
    /// Each variable set's variables from the bundle, as `variables_to_names` writes them.
    pub sets: Vec<(Owner, Vec<Value>)>,
}

fn owner_type(owner: &Owner) -> OwnerType {
    match owner.kind {
        OwnerKind::Project => OwnerType::Project,
        OwnerKind::Library => OwnerType::LibraryVariableSet,
    }
}

/// The bundle's process and variables as the target must hold them.
pub fn desired(resolved: &Resolved, state: &ProjectState) -> anyhow::Result<Desired> {
    let unnamed =
        |ids: Vec<String>| anyhow!("ids without a name on the target: {}", ids.join(", "));
    let process = DeploymentProcess {
        id: String::new(),
        version: 0,
        steps: resolved.process.steps.clone(),
        other: Other::new(),
    };
    let process = as_json(
        &process_to_names(&process, &state.project.name, &state.directory).map_err(unnamed)?,
    );
    let actions = resolved.process.action_table();
    let mut sets = Vec::new();
    for set in &resolved.sets {
        let variables = VariableSet {
            id: String::new(),
            owner_id: set.owner.id.clone(),
            version: 0,
            variables: set
                .imported
                .variables
                .iter()
                .map(|v| v.variable.clone())
                .collect(),
            scope_values: None,
            other: Other::new(),
        };
        let named = variables_to_names(
            &variables,
            owner_type(&set.owner),
            &set.owner.name,
            &state.directory,
            &actions,
        )
        .map_err(unnamed)?;
        sets.push((
            set.owner.clone(),
            named.variables.iter().map(as_json).collect(),
        ));
    }
    Ok(Desired { process, sets })
}

/// Creates the release.
pub fn create(client: &Client, spec: &ReleaseSpec) -> anyhow::Result<Release> {
    let mut body = json!({
        "ProjectId": spec.project_id,
        "ChannelId": spec.channel.0,
        "Version": spec.version,
        "SelectedPackages": spec.selected,
    });
    if let (Some(notes), Some(map)) = (&spec.notes, body.as_object_mut()) {
        map.insert("ReleaseNotes".to_owned(), json!(notes));
    }
    Ok(client.post("releases", &body)?)
}

/// The first way `release` (on the target) differs from `spec` and `desired`; `None` if it
/// holds exactly what the bundle says (fields the target adds aside). Notes are not compared:
/// they may be edited on the target.
pub fn difference(
    client: &Client,
    release: &Release,
    spec: &ReleaseSpec,
    desired: &Desired,
    state: &ProjectState,
) -> anyhow::Result<Option<String>> {
    if release.channel_id.as_deref() != Some(spec.channel.0.as_str()) {
        return Ok(Some(format!(
            "its channel is {}, the bundle's is {:?} ({})",
            release.channel_id.as_deref().unwrap_or("none"),
            spec.channel.1,
            spec.channel.0
        )));
    }
    if let Some(difference) = selection_difference(&release.selected_packages, &spec.selected) {
        return Ok(Some(difference));
    }
    let snapshot_id = release
        .project_deployment_process_snapshot_id
        .as_deref()
        .context("the release on the target has no process snapshot")?;
    let snapshot: DeploymentProcess = client.get(&format!("deploymentprocesses/{snapshot_id}"))?;
    let named = match process_to_names(&snapshot, &state.project.name, &state.directory) {
        Ok(named) => named,
        Err(ids) => {
            return Ok(Some(format!(
                "its process snapshot refers to ids without a name on the target: {}",
                ids.join(", ")
            )));
        }
    };
    if let Some(difference) = first_difference(&desired.process, &as_json(&named)) {
        return Ok(Some(format!("process: {difference}")));
    }
    let actions = action_table(&snapshot.steps);
    for (owner, variables) in &desired.sets {
        let Some(set) = variable_snapshot(client, release, owner)? else {
            return Ok(Some(format!(
                "it has no variable snapshot of {}",
                owner.describe()
            )));
        };
        let actual = match name_variables(&set, owner, &state.directory, &actions, variables) {
            Ok(actual) => actual,
            Err(ids) => {
                return Ok(Some(format!(
                    "its snapshot of {} refers to ids without a name on the target: {}",
                    owner.describe(),
                    ids.join(", ")
                )));
            }
        };
        if let Some(difference) = variables_difference(&owner.describe(), variables, &actual) {
            return Ok(Some(difference));
        }
    }
    Ok(None)
}

fn selection_difference(actual: &[SelectedPackage], wanted: &[SelectedPackage]) -> Option<String> {
    let key = |s: &SelectedPackage| {
        (
            s.action_name.to_lowercase(),
            s.package_reference_name.to_lowercase(),
        )
    };
    for w in wanted {
        let found = actual.iter().find(|a| key(a) == key(w));
        match found {
            Some(a) if a.version == w.version => {}
            Some(a) => {
                return Some(format!(
                    "it deploys version {} of action {:?}'s package, the bundle version {}",
                    a.version, w.action_name, w.version
                ));
            }
            None => {
                return Some(format!(
                    "it selects no package for action {:?}",
                    w.action_name
                ));
            }
        }
    }
    if actual.len() != wanted.len() {
        return Some(format!(
            "it selects {} packages, the bundle {}",
            actual.len(),
            wanted.len()
        ));
    }
    None
}

/// The release's snapshot of `owner`'s variables.
fn variable_snapshot(
    client: &Client,
    release: &Release,
    owner: &Owner,
) -> anyhow::Result<Option<VariableSet>> {
    match owner.kind {
        OwnerKind::Project => match &release.project_variable_set_snapshot_id {
            Some(id) => Ok(Some(client.get(&format!("variables/{id}"))?)),
            None => Ok(None),
        },
        OwnerKind::Library => {
            for id in &release.library_variable_set_snapshot_ids {
                let set: VariableSet = client.get(&format!("variables/{id}"))?;
                if set.owner_id == owner.id {
                    return Ok(Some(set));
                }
            }
            Ok(None)
        }
    }
}

/// The snapshot's variables named like the bundle's; only those whose names the bundle has
/// (the target's other variables may name things this comparison does not need).
fn name_variables(
    set: &VariableSet,
    owner: &Owner,
    directory: &Directory,
    actions: &octopus_api::names::Table,
    wanted: &[Value],
) -> Result<Vec<Value>, Vec<String>> {
    let names: Vec<String> = wanted
        .iter()
        .filter_map(|v| v.get("Name").and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect();
    let mut relevant = set.clone();
    relevant
        .variables
        .retain(|v| names.contains(&v.name.to_lowercase()));
    let named = variables_to_names(
        &relevant,
        owner_type(owner),
        &owner.name,
        directory,
        actions,
    )?;
    Ok(named.variables.iter().map(as_json).collect())
}
