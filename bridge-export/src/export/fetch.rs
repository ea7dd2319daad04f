//! Reading a release from Octopus into the name-based model, and its packages onto disk.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::failure::Refused;
use octopus_api::names::{
    Directory, EXTERNAL_PACKAGES, ExternalPackage, ExternalPackages, NamedProcess,
    NamedVariableSet, OwnerType, PROJECT_DOCUMENT, ProjectNames, SecretRequirement, Table,
    is_expression, process_to_names, project_to_names, secret_requirements, variables_to_names,
};
use octopus_api::resources::{
    Channel, DeploymentProcess, Feed, LibraryVariableSet, Package, Project, PropertyValue, Release,
    VariableSet,
};
use octopus_api::{Client, segment};
use sha1::{Digest as _, Sha1};

/// Everything a release folder holds, read from Octopus.
#[derive(Debug)]
pub struct Fetched {
    /// The project's name.
    pub project: String,
    /// The release version.
    pub version: String,
    /// The release's channel, by name.
    pub channel: String,
    /// Release notes, if any.
    pub notes: Option<String>,
    /// `process.json`.
    pub process: NamedProcess,
    /// `variables/*.json`: the project's first, then each library variable set's.
    pub variables: Vec<NamedVariableSet>,
    /// Sensitive values the secure side must hold.
    pub secrets: Vec<SecretRequirement>,
    /// The packages, downloaded.
    pub packages: Vec<FetchedPackage>,
    /// The release's other documents (`files` in `release.toml`), in the order they are packed.
    pub documents: Vec<Document>,
}

/// One of the release's other documents: a JSON file of the release folder, packed as a
/// `file` entry, that `bridge-import` reads by its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Its name in the release folder and the bundle (`step-templates.json`).
    pub file: &'static str,
    /// Its content.
    pub json: serde_json::Value,
}

/// A package of the release, downloaded into the release folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPackage {
    /// Package id.
    pub id: String,
    /// Version.
    pub version: String,
    /// Path inside the release folder (`packages/<id>.<version><ext>`).
    pub file: String,
}

/// The kind of secret requirement a sensitive action property becomes: owner the project, name
/// the property, scope `Action` = the action's name.
pub const SENSITIVE_PROPERTY: &str = "SensitiveProperty";

/// Reads release `version` of `project` (name, slug or id) and downloads its packages into
/// `folder/packages/`.
pub fn fetch(
    client: &Client,
    project: &str,
    version: &str,
    folder: &Path,
) -> anyhow::Result<Fetched> {
    let project = find_project(client, project)?;
    if project.is_version_controlled {
        return Err(Refused {
            code: "version-controlled",
            message: format!(
                "project {} is version-controlled (config as code): its process lives in Git, which Zonebridge does not export yet\nHint: promote a project whose process is stored in Octopus",
                project.name
            ),
        }
        .into());
    }
    let release = find_release(client, &project, version)?;
    let channel: Channel = client.get(&format!(
        "channels/{}",
        opt(&release.channel_id, "ChannelId")?
    ))?;
    let process: DeploymentProcess = client.get(&format!(
        "deploymentprocesses/{}",
        opt(
            &release.project_deployment_process_snapshot_id,
            "ProjectDeploymentProcessSnapshotId"
        )?
    ))?;
    let directory = Directory::load(client, Some(&project.id))?;
    bridge_cli::octopus::warn_denied(&directory);
    let actions = Table::new(
        process
            .steps
            .iter()
            .flat_map(|s| &s.actions)
            .filter_map(|a| Some((a.id.as_deref()?, a.name.as_str()))),
    );
    let unnamed = |what: &str, ids: Vec<String>| Refused {
        code: "unnamed-ids",
        message: format!(
            "the {what} of release {} refers to ids that have no name on this instance: {}\nHint: the resource was deleted or is not readable with this API key",
            release.version,
            ids.join(", ")
        ),
    };
    let named_process = process_to_names(&process, &project.name, &directory)
        .map_err(|ids| unnamed("process", ids))?;
    let templates = super::templates::document(client, &process, &directory)?;
    let project_set: VariableSet = client.get(&format!(
        "variables/{}",
        opt(
            &release.project_variable_set_snapshot_id,
            "ProjectVariableSetSnapshotId"
        )?
    ))?;
    let mut variables = vec![
        variables_to_names(
            &project_set,
            OwnerType::Project,
            &project.name,
            &directory,
            &actions,
        )
        .map_err(|ids| unnamed("project variables", ids))?,
    ];
    let mut libraries = Vec::new();
    for snapshot in &release.library_variable_set_snapshot_ids {
        let set: VariableSet = client.get(&format!("variables/{snapshot}"))?;
        let library: LibraryVariableSet =
            client.get(&format!("libraryvariablesets/{}", set.owner_id))?;
        libraries.push(library.clone());
        variables.push(
            variables_to_names(
                &set,
                OwnerType::LibraryVariableSet,
                &library.name,
                &directory,
                &actions,
            )
            .map_err(|ids| unnamed(&format!("library variable set {}", library.name), ids))?,
        );
    }
    let mut secrets: Vec<SecretRequirement> =
        variables.iter().flat_map(secret_requirements).collect();
    secrets.extend(sensitive_properties(&process, &project.name));
    let (packages, external) = download_packages(client, &release, &process, folder)?;
    let versions: Vec<(String, String)> = packages
        .iter()
        .map(|p| (p.id.clone(), p.version.clone()))
        .chain(
            external
                .iter()
                .map(|p| (p.package_id.clone(), p.version.clone())),
        )
        .filter(|(id, _)| !is_expression(id))
        .collect();
    let build_information = super::build_information::document(client, &release, &versions)?;
    let mut documents = vec![
        source_document(client)?,
        project_document(client, &project, &release.version)?,
    ];
    documents.extend(templates);
    if let Some((tenants, tenant_secrets)) =
        super::tenants::read(client, &project, &libraries, &directory)?
    {
        secrets.extend(tenant_secrets);
        documents.push(Document {
            file: octopus_api::names::TENANTS_DOCUMENT,
            json: serde_json::to_value(&tenants)?,
        });
    }
    if !external.is_empty() {
        documents.push(Document {
            file: EXTERNAL_PACKAGES,
            json: serde_json::to_value(ExternalPackages {
                packages: external,
                other: Default::default(),
            })
            .context("cannot encode external-packages.json")?,
        });
    }
    documents.extend(build_information);
    Ok(Fetched {
        project: project.name,
        version: release.version.clone(),
        channel: channel.name,
        // The results note (`bridge-export results`) stays in this zone.
        notes: release
            .release_notes
            .as_deref()
            .map(crate::results::note::strip)
            .filter(|n| !n.trim().is_empty()),
        process: named_process,
        variables,
        secrets,
        packages,
        documents,
    })
}

/// `source.json`: the version of the server the release comes from (`GET /api`), for the
/// secure side's older-target check.
fn source_document(client: &Client) -> anyhow::Result<Document> {
    let json = serde_json::to_value(octopus_api::names::source::SourceDocument::new(
        client.server_version(),
    ))
    .context("cannot encode source.json")?;
    Ok(Document {
        file: octopus_api::names::source::SOURCE_DOCUMENT,
        json,
    })
}

/// `project.json`: the project, its channels and the library variable sets it includes, named
/// (see [`octopus_api::names::project_to_names`]).
fn project_document(client: &Client, project: &Project, version: &str) -> anyhow::Result<Document> {
    let channels: Vec<Channel> = client.get_all(&format!("projects/{}/channels", project.id))?;
    let mut libraries = Vec::new();
    for id in &project.included_library_variable_set_ids {
        let library: LibraryVariableSet = client.get(&format!("libraryvariablesets/{id}"))?;
        libraries.push(library);
    }
    let table = |items: Vec<serde_json::Value>| {
        let pairs: Vec<(String, String)> = items
            .iter()
            .filter_map(|i| {
                Some((
                    i.get("Id")?.as_str()?.to_owned(),
                    i.get("Name")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        Table::new(pairs.iter().map(|(id, name)| (id.as_str(), name.as_str())))
    };
    let names = ProjectNames {
        lifecycles: table(client.get_all("lifecycles")?),
        project_groups: table(client.get_all("projectgroups")?),
        channels: Table::new(channels.iter().map(|c| (c.id.as_str(), c.name.as_str()))),
    };
    let named = project_to_names(project, &channels, &libraries, &names).map_err(|ids| Refused {
        code: "unnamed-ids",
        message: format!(
            "the project of release {version} refers to ids that have no name on this instance: {}\nHint: the resource was deleted or is not readable with this API key",
            ids.join(", ")
        ),
    })?;
    Ok(Document {
        file: PROJECT_DOCUMENT,
        json: serde_json::to_value(&named)?,
    })
}

fn opt<'a>(value: &'a Option<String>, field: &str) -> anyhow::Result<&'a str> {
    value
        .as_deref()
        .with_context(|| format!("the release has no {field}"))
}

fn find_project(client: &Client, wanted: &str) -> anyhow::Result<Project> {
    let projects: Vec<Project> = client.get_all("projects")?;
    let found = projects.iter().find(|p| {
        p.id == wanted || p.name.eq_ignore_ascii_case(wanted) || p.slug.as_deref() == Some(wanted)
    });
    match found {
        Some(project) => Ok(project.clone()),
        None => Err(Refused {
            code: "project-not-found",
            message: format!(
                "there is no project {wanted:?} in space {} of {}\nHint: projects there: {}",
                client.space_id(),
                client.server(),
                projects
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into()),
    }
}

fn find_release(client: &Client, project: &Project, version: &str) -> anyhow::Result<Release> {
    let path = format!("projects/{}/releases/{}", project.id, segment(version));
    if let Some(release) = client.get_optional::<Release>(&path)? {
        return Ok(release);
    }
    let recent: Vec<Release> = client
        .get::<octopus_api::resources::Collection<Release>>(&format!(
            "projects/{}/releases?take=5",
            project.id
        ))?
        .items;
    Err(Refused {
        code: "release-not-found",
        message: format!(
            "project {} has no release {version}\nHint: its latest releases: {}",
            project.name,
            if recent.is_empty() {
                "none".to_owned()
            } else {
                recent
                    .iter()
                    .map(|r| r.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
    }
    .into())
}

/// Sensitive action properties that hold a value: the secure side must hold them too.
fn sensitive_properties(process: &DeploymentProcess, project: &str) -> Vec<SecretRequirement> {
    let mut out = Vec::new();
    for action in process.steps.iter().flat_map(|s| &s.actions) {
        for (key, value) in &action.properties {
            if matches!(value, PropertyValue::Sensitive(s) if s.has_value) {
                out.push(SecretRequirement {
                    owner: project.to_owned(),
                    name: key.clone(),
                    kind: SENSITIVE_PROPERTY.to_owned(),
                    scope: BTreeMap::from([("Action".to_owned(), vec![action.name.clone()])]),
                });
            }
        }
    }
    out
}

/// Downloads every selected package from the built-in feed into `folder/packages/`, checking
/// each against the feed's SHA-1. A package on an external feed (or on a feed chosen by a
/// variable expression) becomes a reference for `external-packages.json`: Octopus's API has no
/// route that downloads an external feed's package, so its bytes never travel.
fn download_packages(
    client: &Client,
    release: &Release,
    process: &DeploymentProcess,
    folder: &Path,
) -> anyhow::Result<(Vec<FetchedPackage>, Vec<ExternalPackage>)> {
    let feeds: Vec<Feed> = client.get_all("feeds")?;
    let mut wanted: Vec<(String, String)> = Vec::new();
    let mut external = Vec::new();
    for selected in &release.selected_packages {
        let action = process
            .steps
            .iter()
            .flat_map(|s| &s.actions)
            .find(|a| a.name == selected.action_name)
            .with_context(|| format!("the release selects a package for action {:?}, which its process does not have", selected.action_name))?;
        let reference = action
            .packages
            .iter()
            .find(|p| p.name == selected.package_reference_name)
            .with_context(|| {
                format!(
                    "action {:?} has no package reference {:?}",
                    action.name, selected.package_reference_name
                )
            })?;
        let feed = feeds.iter().find(|f| f.id == reference.feed_id);
        let on_external = match feed {
            Some(f) => f.feed_type != "BuiltIn",
            None if is_expression(&reference.feed_id) => true,
            None => {
                return Err(Refused {
                    code: "unnamed-ids",
                    message: format!(
                        "package {} {} of action {:?} comes from feed {}, which has no name on this instance\nHint: the feed was deleted or is not readable with this API key",
                        reference.package_id, selected.version, action.name, reference.feed_id
                    ),
                }
                .into());
            }
        };
        if on_external || is_expression(&reference.package_id) {
            external.push(ExternalPackage {
                action: action.name.clone(),
                package_reference: reference.name.clone(),
                feed: feed.map_or_else(|| reference.feed_id.clone(), |f| f.name.clone()),
                feed_type: feed.map(|f| f.feed_type.clone()),
                package_id: reference.package_id.clone(),
                version: selected.version.clone(),
                // The feed search API (`PackageVersionResource`) reports no content digest.
                digest: None,
                other: Default::default(),
            });
            continue;
        }
        let key = (reference.package_id.clone(), selected.version.clone());
        if !wanted.contains(&key) {
            wanted.push(key);
        }
    }
    let dir = folder.join("packages");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut fetched = Vec::new();
    for (id, version) in wanted {
        let resource = format!("packages/packages-{id}.{version}");
        let package: Package = client.get_optional(&resource)?.ok_or_else(|| Refused {
            code: "package-missing",
            message: format!("package {id} {version} is not in the built-in feed\nHint: push it before exporting the release"),
        })?;
        let file_name = format!(
            "{id}.{version}{}",
            package.file_extension.as_deref().unwrap_or(".zip")
        );
        // The name comes from the instance: it must be one plain file name that a bundle may
        // carry before anything is written under it.
        let entry = format!("packages/{file_name}");
        if file_name.contains('/') || bundle_format::names::EntryPath::new(&entry).is_err() {
            return Err(Refused {
                code: "package-name-invalid",
                message: format!(
                    "package {id} {version} has the file name {file_name:?} on the instance, which a bundle cannot carry (bundle spec 2.3: letters, digits and . _ + ~ @ = , -; no folders)"
                ),
            }
            .into());
        }
        let path: PathBuf = dir.join(&file_name);
        // Never more than the feed says the package holds, nor more than a bundle entry may
        // hold: a misbehaving server cannot fill the disk.
        let max_entry = bundle_format::limits::Limits::default().max_entry_bytes;
        let limit = package
            .package_size_bytes
            .unwrap_or(max_entry)
            .min(max_entry);
        let mut sink = HashingFile::create(&path, limit)?;
        client.download(&format!("{resource}/raw"), &mut sink)?;
        let sha1 = sink.finish()?;
        if package
            .hash
            .as_deref()
            .is_some_and(|h| !h.eq_ignore_ascii_case(&sha1))
        {
            return Err(Refused {
                code: "package-hash-mismatch",
                message: format!(
                    "package {id} {version} downloaded with SHA-1 {sha1}, but the feed says {}: the file changed or was damaged in transit\nHint: export again; if it persists, re-push the package",
                    package.hash.as_deref().unwrap_or("")
                ),
            }
            .into());
        }
        fetched.push(FetchedPackage {
            id,
            version,
            file: entry,
        });
    }
    Ok((fetched, external))
}

/// A file that hashes what is written to it and takes at most `limit` bytes.
struct HashingFile {
    file: std::io::BufWriter<std::fs::File>,
    hasher: Sha1,
    path: PathBuf,
    written: u64,
    limit: u64,
}

impl HashingFile {
    fn create(path: &Path, limit: u64) -> anyhow::Result<Self> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(HashingFile {
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hasher: Sha1::new(),
            path: path.to_owned(),
            written: 0,
            limit,
        })
    }

    fn finish(mut self) -> anyhow::Result<String> {
        self.file
            .flush()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written.saturating_add(buf.len() as u64) > self.limit {
            return Err(std::io::Error::other(format!(
                "the package is larger than the {} bytes the feed announced",
                self.limit
            )));
        }
        let n = self.file.write(buf)?;
        self.written = self.written.saturating_add(n as u64);
        self.hasher.update(buf.get(..n).unwrap_or(&[]));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
