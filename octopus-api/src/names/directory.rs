//! Id <-> name tables of one instance, loaded once per export or import.

use std::collections::BTreeMap;

use super::import::NameKind;
use crate::client::Client;
use crate::error::OctopusError;
use crate::resources::{Channel, Environment, Feed};

/// Ids and names of one kind of resource. Names match ignoring case, as Octopus's do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    by_id: BTreeMap<String, String>,
    by_name: BTreeMap<String, String>,
}

impl Table {
    /// A table of `(id, name)` pairs.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut table = Table::default();
        for (id, name) in pairs {
            table.insert(id, name);
        }
        table
    }

    /// Adds one pair.
    pub fn insert(&mut self, id: &str, name: &str) {
        self.by_id.insert(id.to_owned(), name.to_owned());
        self.by_name.insert(name.to_lowercase(), id.to_owned());
    }

    /// The name of an id.
    pub fn name_of(&self, id: &str) -> Option<&str> {
        self.by_id.get(id).map(String::as_str)
    }

    /// The id of a name.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.by_name.get(&name.to_lowercase()).map(String::as_str)
    }

    /// Every name, in id order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_id.values().map(String::as_str)
    }
}

/// The names of an instance that a process or variable set may refer to by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Environments.
    pub environments: Table,
    /// The project's channels.
    pub channels: Table,
    /// Feeds (the built-in feed and external ones).
    pub feeds: Table,
    /// Worker pools.
    pub worker_pools: Table,
    /// Teams (for manual-intervention responsibility).
    pub teams: Table,
    /// Deployment targets.
    pub machines: Table,
    /// Accounts (cloud, username/password, token, SSH).
    pub accounts: Table,
    /// Certificates.
    pub certificates: Table,
    /// Git credentials.
    pub git_credentials: Table,
    /// Tenants.
    pub tenants: Table,
    /// Tenant tags: canonical name (`TagSet/Tag`) to itself, as Octopus uses the canonical
    /// name as the tag's id in scopes and tenants.
    pub tenant_tags: Table,
    /// The project's runbooks.
    pub runbooks: Table,
    /// Library step templates (`actiontemplates`).
    pub step_templates: Table,
    /// Every project of the space (Deploy-a-Release steps name another project).
    pub projects: Table,
    /// The optional tables the API key may not read (403): left empty, for the command to
    /// report as warnings naming the permission that would fill them.
    pub denied: Vec<DeniedRead>,
}

/// An optional table the API key may not read: Octopus answered 403.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedRead {
    /// The collection (`workerpools`, `/api/teams`, ...).
    pub path: String,
    /// The permission Octopus named as missing.
    pub permission: String,
}

impl std::fmt::Display for DeniedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the API key may not read {} (missing permission {}): references to them cannot be named or resolved. Hint: grant the key's role {} if the release uses them",
            self.path, self.permission, self.permission
        )
    }
}

impl Directory {
    /// The table of names of `kind` (`None` for actions and library variable sets, whose
    /// tables come from the process and the catalog, and for lifecycles and project groups).
    pub fn table(&self, kind: NameKind) -> Option<&Table> {
        match kind {
            NameKind::Environment => Some(&self.environments),
            NameKind::Channel => Some(&self.channels),
            NameKind::Feed => Some(&self.feeds),
            NameKind::WorkerPool => Some(&self.worker_pools),
            NameKind::Team => Some(&self.teams),
            NameKind::Machine => Some(&self.machines),
            NameKind::Account => Some(&self.accounts),
            NameKind::Certificate => Some(&self.certificates),
            NameKind::GitCredential => Some(&self.git_credentials),
            NameKind::Tenant => Some(&self.tenants),
            NameKind::TenantTag => Some(&self.tenant_tags),
            NameKind::Runbook => Some(&self.runbooks),
            NameKind::StepTemplate => Some(&self.step_templates),
            NameKind::Project => Some(&self.projects),
            NameKind::Action
            | NameKind::LibraryVariableSet
            | NameKind::Lifecycle
            | NameKind::ProjectGroup => None,
        }
    }

    /// Loads the tables of the client's space; channels are those of `project_id`.
    ///
    /// Worker pools, teams, deployment targets, accounts, certificates, git credentials,
    /// tenants, tag sets, runbooks and step templates are read when the instance serves them;
    /// an instance without those routes (404) simply has none, and one whose API key may not
    /// read them (403) has none and lists them in `denied`.
    pub fn load(client: &Client, project_id: Option<&str>) -> Result<Self, OctopusError> {
        let environments: Vec<Environment> = client.get_all("environments")?;
        let feeds: Vec<Feed> = client.get_all("feeds")?;
        let channels: Vec<Channel> = match project_id {
            Some(project) => client.get_all(&format!("projects/{project}/channels"))?,
            None => Vec::new(),
        };
        let denied = std::cell::RefCell::new(Vec::new());
        let optional = |path: &str| -> Result<Table, OctopusError> {
            optional_read(client, path, &denied).map(|items| table_of(&items))
        };
        let mut directory = Directory {
            environments: Table::new(
                environments
                    .iter()
                    .map(|e| (e.id.as_str(), e.name.as_str())),
            ),
            channels: Table::new(channels.iter().map(|c| (c.id.as_str(), c.name.as_str()))),
            feeds: Table::new(feeds.iter().map(|f| (f.id.as_str(), f.name.as_str()))),
            worker_pools: optional("workerpools")?,
            teams: optional("/api/teams")?,
            machines: optional("machines")?,
            accounts: optional("accounts")?,
            certificates: optional("certificates")?,
            git_credentials: optional("git-credentials")?,
            tenants: optional("tenants")?,
            tenant_tags: Table::default(),
            runbooks: match project_id {
                Some(project) => optional(&format!("projects/{project}/runbooks"))?,
                None => Table::default(),
            },
            step_templates: optional("actiontemplates")?,
            projects: optional("projects")?,
            denied: Vec::new(),
        };
        let tags = tag_table(client, &denied)?;
        directory.tenant_tags = tags;
        directory.denied = denied.into_inner();
        Ok(directory)
    }
}

/// Every item of an optional collection: an instance without the route (404) has none; a key
/// that may not read it (403) gets none and the refusal is noted in `denied`.
fn optional_read(
    client: &Client,
    path: &str,
    denied: &std::cell::RefCell<Vec<DeniedRead>>,
) -> Result<Vec<serde_json::Value>, OctopusError> {
    match client.get_all::<serde_json::Value>(path) {
        Ok(items) => Ok(items),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => match e.missing_permission() {
            Some(permission) => {
                denied.borrow_mut().push(DeniedRead {
                    path: path.to_owned(),
                    permission: permission.to_owned(),
                });
                Ok(Vec::new())
            }
            None => Err(e),
        },
    }
}

/// Tenant tags by canonical name (`TagSet/Tag`), read from the tag sets (`tagsets`).
fn tag_table(
    client: &Client,
    denied: &std::cell::RefCell<Vec<DeniedRead>>,
) -> Result<Table, OctopusError> {
    let sets = optional_read(client, "tagsets", denied)?;
    let mut table = Table::default();
    for set in &sets {
        let tags = set.get("Tags").and_then(serde_json::Value::as_array);
        for tag in tags.into_iter().flatten() {
            let canonical = tag
                .get("CanonicalTagName")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    let set_name = set.get("Name")?.as_str()?;
                    let tag_name = tag.get("Name")?.as_str()?;
                    Some(format!("{set_name}/{tag_name}"))
                });
            if let Some(canonical) = canonical {
                table.insert(&canonical, &canonical);
            }
        }
    }
    Ok(table)
}

fn table_of(items: &[serde_json::Value]) -> Table {
    Table::new(
        items
            .iter()
            .filter_map(|item| Some((item.get("Id")?.as_str()?, item.get("Name")?.as_str()?))),
    )
}
