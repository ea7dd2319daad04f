//! Finding, on the secure instance, what a deployment needs: the project and release (by the
//! names the release bundle carries, through the mapping file), the environment and the
//! tenant (by their names here). Reads only.

use octopus_api::names::{NameKind, NameMap};
use octopus_api::resources::{Environment, Project, Release, Tenant};
use octopus_api::{Client, segment};

use bridge_cli::safe::Shown;

use crate::import::refuse::refused;

/// The ids a deployment is created with.
#[derive(Debug, Clone)]
pub struct DeployTarget {
    /// The release here.
    pub release: Release,
    /// The environment here.
    pub environment: Environment,
    /// The tenant here, for a tenanted deployment.
    pub tenant: Option<Tenant>,
}

/// Looks up the release `version` of `project` (the bundle's name; the mapping file may
/// rename it), `environment` and `tenant` (names here; the mapping file may rename a
/// development-zone environment name too).
pub fn find(
    client: &Client,
    map: &NameMap,
    project: &str,
    version: &str,
    environment: &str,
    tenant: Option<&str>,
) -> anyhow::Result<DeployTarget> {
    let project_here = map.target_name(NameKind::Project, project);
    let project = client.find_by_name("projects", project_here, |p: &Project| &p.name)?.ok_or_else(|| {
        refused(
            "not-found",
            format!("project {project_here:?} is not on this instance\nHint: import the release bundle first (bridge-import import), with the same --map"),
        )
    })?;
    let release = client
        .get_optional::<Release>(&format!(
            "projects/{}/releases/{}",
            project.id,
            segment(version)
        ))?
        .ok_or_else(|| {
            refused(
                "not-found",
                format!(
                    "release {} of {} is not on this instance\nHint: import its release bundle first (bridge-import import)",
                    Shown(version),
                    Shown(&project.name)
                ),
            )
        })?;
    let (environment, tenant) = find_place(client, map, environment, tenant)?;
    Ok(DeployTarget {
        release,
        environment,
        tenant,
    })
}

/// Looks up `environment` (the mapping file may rename it) and `tenant` here, refusing by name
/// one that is missing. `import --deploy-to` calls it before it imports anything, so that an
/// unknown environment leaves nothing created on the instance or recorded in the ledger.
pub fn find_place(
    client: &Client,
    map: &NameMap,
    environment: &str,
    tenant: Option<&str>,
) -> anyhow::Result<(Environment, Option<Tenant>)> {
    let environment_here = map.target_name(NameKind::Environment, environment);
    let environment =
        match client.find_by_name("environments", environment_here, |e: &Environment| &e.name)? {
            Some(environment) => environment,
            None => {
                let known: Vec<Environment> = client.get_all("environments")?;
                let names: Vec<&str> = known.iter().map(|e| e.name.as_str()).collect();
                return Err(refused(
                    "not-found",
                    format!(
                        "environment {environment_here:?} is not on this instance; it has: {}",
                        Shown(names.join(", "))
                    ),
                ));
            }
        };
    let tenant = match tenant {
        None => None,
        Some(name) => Some(
            client
                .find_by_name("tenants", name, |t: &Tenant| &t.name)?
                .ok_or_else(|| {
                    refused(
                        "not-found",
                        format!("tenant {name:?} is not on this instance"),
                    )
                })?,
        ),
    };
    Ok((environment, tenant))
}
