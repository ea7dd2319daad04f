//! Reading the target instance: what it has that the import needs to resolve names, compare
//! and merge. Reads only; nothing here writes.

use std::collections::BTreeMap;

use anyhow::Context as _;
use octopus_api::names::Directory;
use octopus_api::resources::{
    DeploymentProcess, LibraryVariableSet, Project, Release, VariableSet,
};
use octopus_api::{Client, segment};

use super::refuse::refused;

/// The space's projects and library variable sets.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Every project.
    pub projects: Vec<Project>,
    /// Every library variable set.
    pub libraries: Vec<LibraryVariableSet>,
}

/// Reads the space's projects and library variable sets.
pub fn catalog(client: &Client) -> anyhow::Result<Catalog> {
    Ok(Catalog {
        projects: client.get_all("projects")?,
        libraries: client.get_all("libraryvariablesets")?,
    })
}

/// What the target has of the project a release is imported into.
#[derive(Debug, Clone)]
pub struct ProjectState {
    /// The project.
    pub project: Project,
    /// Environments, the project's channels, feeds, worker pools, teams, deployment targets.
    pub directory: Directory,
    /// The project's live deployment process.
    pub process: DeploymentProcess,
    /// Variable sets by id: the project's and those of the library variable sets imported.
    pub variables: BTreeMap<String, VariableSet>,
    /// The release of the version being imported, if it exists already.
    pub release: Option<Release>,
}

/// The id of a project's deployment process.
pub fn process_id(project: &Project) -> String {
    project
        .deployment_process_id
        .clone()
        .unwrap_or_else(|| format!("deploymentprocess-{}", project.id))
}

/// Reads the state of `project`: its names, process, the variable sets `variable_set_ids`,
/// and release `version` if it exists. A version-controlled project is refused.
pub fn load(
    client: &Client,
    project: &Project,
    variable_set_ids: &[String],
    version: &str,
) -> anyhow::Result<ProjectState> {
    if project.is_version_controlled {
        return Err(refused(
            "version-controlled",
            format!(
                "project {} on the target is version-controlled (config as code): its process lives in Git, which Zonebridge cannot write yet\nHint: import into a project whose process is stored in Octopus",
                bridge_cli::safe::Shown(&project.name)
            ),
        ));
    }
    let directory = Directory::load(client, Some(&project.id)).context(
        "cannot read the target's environments, channels, feeds, worker pools and teams",
    )?;
    bridge_cli::octopus::warn_denied(&directory);
    let process: DeploymentProcess =
        client.get(&format!("deploymentprocesses/{}", process_id(project)))?;
    let mut variables = BTreeMap::new();
    for id in variable_set_ids {
        if !variables.contains_key(id) {
            let set: VariableSet = client.get(&format!("variables/{id}"))?;
            variables.insert(id.clone(), set);
        }
    }
    let release = client.get_optional::<Release>(&format!(
        "projects/{}/releases/{}",
        project.id,
        segment(version)
    ))?;
    Ok(ProjectState {
        project: project.clone(),
        directory,
        process,
        variables,
        release,
    })
}
