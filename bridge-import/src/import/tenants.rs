//! Tenants (`tenants.json`): the tenants connected to the project, their tags and their values
//! for the project's templates and the common templates of the library variable sets, applied
//! to the target's own tenants.
//!
//! ```text
//! tenants.json + TenantSensitive secrets of the manifest
//!   tenants, tags, environments (mapping file [tenants] [tenant_tags] [environments]),
//!   templates by name on the target's project and library variable sets
//!     │ every name the target lacks: listed with the others in one refusal (unresolved-names)
//!   GET tenants/{id}/projectvariables + commonvariables (2024.1+), else tenants/{id}/variables
//!   plain values: equal -> kept, else -> written
//!   sensitive values: stored on the target -> kept (never replaced); else the secrets file
//!     ([[secret]] tenant = ...); else listed with the other missing secrets (secrets-missing)
//! writes (after the packages, before the process):
//!   PUT tenants/{id}             the project-environment connections the bundle needs
//!   PUT the values' route        only the values that differ, everything else sent back as read
//! ```
//!
//! Tenants and tags are never created or changed: which tenants exist, and how they are
//! tagged, is the secure zone's decision. The connection of a tenant to the project in an
//! environment is added when the bundle needs it, since it is part of how the project is
//! deployed (the development zone connected it, and its values cannot be stored without it);
//! it is shown in the plan and recorded in the audit trail.

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::Client;
use octopus_api::names::{
    NameKind, NameMap, Resolver, TENANT_SENSITIVE, TenantsDocument, Unmapped,
};
use octopus_api::resources::{
    Tenant, TenantValues, ValueChange, ValueState, VariableTemplate, tenant_environments,
};
use serde_json::{Value, json};

use super::content::ReleaseContent;
use super::hook::Writes;
use super::record::AuditStep;
use super::resolve::{Owner, OwnerKind, Owners};
use super::secrets::SecretsFile;
use super::target::{Catalog, ProjectState};

/// What the import does to one tenant.
#[derive(Debug, Clone)]
pub struct TenantWork {
    /// The tenant on the target, as read.
    pub tenant: Tenant,
    /// Environments (id, name) to add to its connection to the project.
    pub connect: Vec<(String, String)>,
    /// Its values, as read.
    pub values: TenantValues,
    /// The values to write, with a description for people (never a value).
    pub changes: Vec<(ValueChange, String)>,
    /// Plain values already equal on the target.
    pub kept: usize,
    /// Sensitive values the target stores.
    pub secrets_stored: usize,
    /// Sensitive values taken from the secrets file.
    pub secrets_from_file: usize,
}

impl TenantWork {
    /// Whether anything is written.
    pub fn changed(&self) -> bool {
        !self.connect.is_empty() || !self.changes.is_empty()
    }

    /// The plan line's detail.
    pub fn detail(&self) -> String {
        let mut parts = Vec::new();
        if !self.connect.is_empty() {
            let names: Vec<&str> = self.connect.iter().map(|(_, n)| n.as_str()).collect();
            parts.push(format!("connect to the project in {}", names.join(", ")));
        }
        parts.push(format!(
            "{} values written, {} kept",
            self.changes.len(),
            self.kept
        ));
        let changed: Vec<&str> = self
            .changes
            .iter()
            .map(|(_, d)| d.as_str())
            .take(5)
            .collect();
        if !changed.is_empty() {
            parts.push(format!("changes: {}", changed.join("; ")));
        }
        parts.push(format!(
            "sensitive: {} stored on the target, {} from the secrets file",
            self.secrets_stored, self.secrets_from_file
        ));
        parts.join(", ")
    }
}

/// The tenants' work, and what the secrets check needs to know.
#[derive(Debug, Clone, Default)]
pub struct TenantPlan {
    /// Per tenant.
    pub work: Vec<TenantWork>,
    /// Sensitive tenant values neither stored nor in the secrets file.
    pub missing: Vec<String>,
    /// Lines of the secrets file used.
    pub used_lines: BTreeSet<usize>,
}

/// A template of the target, by its owner.
struct Template<'a> {
    owner: &'a Owner,
    id: String,
    name: String,
    sensitive: bool,
}

/// A tenant of the bundle on the target: id, name, the environments (id, name) it must be
/// connected in, and the values it must have.
type ResolvedTenant<'a> = (String, String, Vec<(String, String)>, Vec<Wanted<'a>>);

/// A value the bundle wants, resolved.
struct Wanted<'a> {
    template: Template<'a>,
    environment: Option<(String, String)>,
    value: Option<String>,
}

/// Resolves `tenants.json` and the `TenantSensitive` secrets on the target and plans the
/// writes. Names the target lacks come back as lines for the one `unresolved-names` refusal
/// (and then nothing is planned).
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    client: &Client,
    document: Option<&TenantsDocument>,
    content: &ReleaseContent<'_>,
    owners: &Owners,
    catalog: &Catalog,
    state: &ProjectState,
    map: &NameMap,
    secrets: &SecretsFile,
) -> anyhow::Result<(TenantPlan, Vec<String>)> {
    let release = &content.release;
    let sensitive: Vec<_> = release
        .secrets
        .iter()
        .filter(|s| s.kind == TENANT_SENSITIVE)
        .collect();
    let empty = TenantsDocument::default();
    let document = document.unwrap_or(&empty);
    let mut resolver = Resolver::new(&state.directory, map);
    let mut lines = Vec::new();
    let templates_of = |owner: &Owner| -> Vec<VariableTemplate> {
        match owner.kind {
            OwnerKind::Project => VariableTemplate::of(&state.project.other),
            OwnerKind::Library => catalog
                .libraries
                .iter()
                .find(|l| l.id == owner.id)
                .map(|l| VariableTemplate::of(&l.other))
                .unwrap_or_default(),
        }
    };
    let template = |owner: &'_ Owner, name: &str, used_in: &str, lines: &mut Vec<String>| {
        let found = templates_of(owner)
            .into_iter()
            .find(|t| t.name.eq_ignore_ascii_case(name));
        if found.is_none() {
            let line = format!(
                "variable template {name:?} of {}: not on the target (used in {used_in})",
                owner.describe()
            );
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
        found
    };
    // Tenant names of the bundle: the document's, and those of sensitive values.
    let mut names: Vec<String> = document.tenants.iter().map(|t| t.name.clone()).collect();
    for s in &sensitive {
        for t in s.scope.get("Tenant").into_iter().flatten() {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(t)) {
                names.push(t.clone());
            }
        }
    }
    // An environment the target lacks is left out when `[unmapped] environments = "drop"`
    // (its values are not applied), as in variable scopes; otherwise it is reported.
    let dropped = |env: &str| {
        map.renamed(NameKind::Environment, env).is_none()
            && map.unmapped(NameKind::Environment) == Unmapped::Drop
            && state.directory.environments.id_of(env).is_none()
    };
    let mut resolved: Vec<ResolvedTenant> = Vec::new();
    for name in &names {
        let used_in = format!("the tenants of {:?}", release.project);
        let found = resolver.resolve(NameKind::Tenant, name, &used_in);
        let mut environments = Vec::new();
        let mut wanted = Vec::new();
        if let Some(named) = document
            .tenants
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
        {
            for tag in &named.tags {
                let _ = resolver.resolve(
                    NameKind::TenantTag,
                    tag,
                    &format!("the tags of tenant {name:?}"),
                );
            }
            for env in named.environments.iter().filter(|e| !dropped(e)) {
                let used_in = format!("the connection of tenant {name:?} to the project");
                if let Some(found) = resolver.resolve(NameKind::Environment, env, &used_in) {
                    environments.push(found);
                }
            }
            for value in &named.project_values {
                let used_in = format!("the values of tenant {name:?}");
                if value.environment.as_deref().is_some_and(dropped) {
                    continue;
                }
                let env = value
                    .environment
                    .as_deref()
                    .and_then(|e| resolver.resolve(NameKind::Environment, e, &used_in));
                let owner = &owners.project_owner;
                if let Some(t) = template(owner, &value.template, &used_in, &mut lines) {
                    wanted.push(Wanted {
                        template: Template {
                            owner,
                            id: t.id.clone(),
                            name: t.name.clone(),
                            sensitive: t.is_sensitive(),
                        },
                        environment: env,
                        value: Some(value.value.clone()),
                    });
                }
            }
            for value in &named.common_values {
                let used_in = format!("the common values of tenant {name:?}");
                let set = value.library_variable_set.as_deref().unwrap_or("");
                let Some(owner) = owners.libraries.get(&set.to_lowercase()) else {
                    lines.push(format!(
                        "library variable set {set:?}: not one the release includes (used in {used_in})"
                    ));
                    continue;
                };
                if value.environment.as_deref().is_some_and(dropped) {
                    continue;
                }
                let env = value
                    .environment
                    .as_deref()
                    .and_then(|e| resolver.resolve(NameKind::Environment, e, &used_in));
                if let Some(t) = template(owner, &value.template, &used_in, &mut lines) {
                    wanted.push(Wanted {
                        template: Template {
                            owner,
                            id: t.id.clone(),
                            name: t.name.clone(),
                            sensitive: t.is_sensitive(),
                        },
                        environment: env,
                        value: Some(value.value.clone()),
                    });
                }
            }
        }
        for s in sensitive.iter().filter(|s| {
            s.scope
                .get("Tenant")
                .is_some_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case(name)))
        }) {
            let used_in = format!("secret {} of tenant {name:?}", s.name);
            let Some(owner) = owners.of(&s.owner, &release.project) else {
                continue; // reported by the owners pass
            };
            let env_name = s.scope.get("Environment").and_then(|e| e.first());
            if env_name.is_some_and(|e| dropped(e)) {
                continue;
            }
            let env = s
                .scope
                .get("Environment")
                .and_then(|e| e.first())
                .and_then(|e| resolver.resolve(NameKind::Environment, e, &used_in));
            if let Some(t) = template(owner, &s.name, &used_in, &mut lines) {
                wanted.push(Wanted {
                    template: Template {
                        owner,
                        id: t.id.clone(),
                        name: t.name.clone(),
                        sensitive: true,
                    },
                    environment: env,
                    value: None,
                });
                if !t.is_sensitive() {
                    lines.push(format!(
                        "variable template {:?} of {}: not sensitive on the target, but tenant {name:?} has a sensitive value for it",
                        t.name,
                        owner.describe()
                    ));
                }
            }
        }
        for w in wanted
            .iter()
            .filter(|w| w.value.is_some() && w.template.sensitive)
        {
            lines.push(format!(
                "variable template {:?} of {}: sensitive on the target, but the bundle carries a plain value for tenant {name:?}",
                w.template.name,
                w.template.owner.describe()
            ));
        }
        if let Some((id, target_name)) = found {
            resolved.push((id, target_name, environments, wanted));
        }
    }
    let mut all: Vec<String> = resolver
        .unresolved()
        .iter()
        .map(ToString::to_string)
        .collect();
    all.extend(lines);
    if !all.is_empty() {
        return Ok((TenantPlan::default(), all));
    }
    let mut plan = TenantPlan::default();
    let project_id = &state.project.id;
    for (id, target_name, environments, wanted) in resolved {
        let tenant: Tenant = client.get(&format!("tenants/{id}"))?;
        let values = TenantValues::read(client, &id)?;
        let connected = tenant_environments(&tenant, project_id).unwrap_or_default();
        let mut connect: Vec<(String, String)> = Vec::new();
        let need = environments
            .iter()
            .chain(wanted.iter().filter_map(|w| w.environment.as_ref()));
        for (env_id, env_name) in need {
            if !connected.contains(env_id) && !connect.iter().any(|(i, _)| i == env_id) {
                connect.push((env_id.clone(), env_name.clone()));
            }
        }
        let mut work = TenantWork {
            tenant,
            connect,
            values,
            changes: Vec::new(),
            kept: 0,
            secrets_stored: 0,
            secrets_from_file: 0,
        };
        for w in wanted {
            let common = w.template.owner.kind == OwnerKind::Library;
            let env_id = w.environment.as_ref().map(|(i, _)| i.as_str());
            let env_name = w.environment.as_ref().map(|(_, n)| n.clone());
            let current = work
                .values
                .find(common, &w.template.owner.id, &w.template.id, env_id);
            let place = format!(
                "{} of {}{}",
                w.template.name,
                w.template.owner.name,
                env_name
                    .as_ref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default()
            );
            let change = |value: String, secret: bool| ValueChange {
                common,
                owner: w.template.owner.id.clone(),
                template: w.template.id.clone(),
                environment: env_id.map(str::to_owned),
                value,
                secret,
            };
            match (&w.value, current) {
                (Some(value), Some(ValueState::Plain(now))) if now == value => work.kept += 1,
                (Some(value), _) => work
                    .changes
                    .push((change(value.clone(), false), place.clone())),
                (None, Some(ValueState::Secret { has_value: true })) => work.secrets_stored += 1,
                (None, _) => {
                    let scope: BTreeMap<String, Vec<String>> = env_name
                        .iter()
                        .map(|e| ("Environment".to_owned(), vec![e.clone()]))
                        .collect();
                    match secrets.find_tenant(
                        &target_name,
                        &w.template.owner.name,
                        &w.template.name,
                        &scope,
                    ) {
                        Some(entry) => {
                            plan.used_lines.insert(entry.line);
                            work.secrets_from_file += 1;
                            work.changes.push((
                                change(entry.value.expose().to_owned(), true),
                                format!("{place} (sensitive, from the secrets file)"),
                            ));
                        }
                        None => plan.missing.push(format!(
                            "tenant {target_name}: {} / {} ({}) (a sensitive tenant value; give it in the secrets file with tenant = {target_name:?})",
                            w.template.owner.name,
                            w.template.name,
                            octopus_api::names::scope_text(&scope)
                        )),
                    }
                }
            }
        }
        plan.work.push(work);
    }
    Ok((plan, Vec::new()))
}

/// Writes each tenant's connection and values (only what differs) and records it.
pub fn apply(
    client: &Client,
    project_id: &str,
    version: &str,
    work: &[TenantWork],
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<()> {
    for tenant in work {
        let id = &tenant.tenant.id;
        if !tenant.connect.is_empty() {
            let mut doc = tenant.tenant.clone();
            let connections = doc
                .other
                .entry("ProjectEnvironments")
                .or_insert_with(|| json!({}));
            if !connections.is_object() {
                *connections = json!({});
            }
            let list = &mut connections[project_id];
            if !list.is_array() {
                *list = json!([]);
            }
            if let Value::Array(list) = list {
                list.extend(tenant.connect.iter().map(|(e, _)| json!(e)));
            }
            let _: Value = client.put(&format!("tenants/{id}"), &doc)?;
            writes.done("tenant connection")?;
        }
        if !tenant.changes.is_empty() {
            let changes: Vec<ValueChange> = tenant.changes.iter().map(|(c, _)| c.clone()).collect();
            tenant.values.write(client, &changes)?;
            writes.done("tenant variables")?;
        }
        audit.push(AuditStep {
            event: "import.tenant",
            detail: json!({
                "tenant": tenant.tenant.name,
                "version": version,
                "action": if tenant.changed() { "updated" } else { "kept" },
                "connected": tenant.connect.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
                "written": tenant.changes.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
                "kept": tenant.kept,
                "secrets_stored": tenant.secrets_stored,
                "secrets_from_file": tenant.secrets_from_file,
                "routes": if tenant.values.current_routes() { "projectvariables, commonvariables" } else { "variables" },
            }),
        });
    }
    Ok(())
}
