//! `tenants.json`: the tenants connected to the released project, with their tags, the
//! environments they are connected in for it, and their values for the project's templates
//! and for the common templates of the library variable sets the release includes, all by
//! name. Sensitive values never travel: each one the development instance stores becomes a
//! `TenantSensitive` secret requirement (see [`octopus_api::names::TENANT_SENSITIVE`]).
//!
//! Tenant values are not frozen in a release's snapshots (Octopus reads them when it deploys),
//! so they are read live, as they are at export.

use std::collections::BTreeMap;

use bridge_cli::failure::Refused;
use octopus_api::Client;
use octopus_api::names::{
    Directory, NamedTenant, NamedTenantValue, SecretRequirement, TENANT_SENSITIVE, TenantsDocument,
};
use octopus_api::resources::{
    LibraryVariableSet, Project, Tenant, TenantValues, ValueState, VariableTemplate,
    tenant_environments, tenant_tags,
};

/// The tenants of `project` by name, and the secrets their sensitive values need; `None` when
/// no tenant is connected to it (or the instance has no tenants).
pub fn read(
    client: &Client,
    project: &Project,
    libraries: &[LibraryVariableSet],
    directory: &Directory,
) -> anyhow::Result<Option<(TenantsDocument, Vec<SecretRequirement>)>> {
    let tenants: Vec<Tenant> = match client.get_all(&format!("tenants?projectId={}", project.id)) {
        Ok(tenants) => tenants,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if tenants.is_empty() {
        return Ok(None);
    }
    let project_templates = VariableTemplate::of(&project.other);
    let library_templates: Vec<(&LibraryVariableSet, Vec<VariableTemplate>)> = libraries
        .iter()
        .map(|l| (l, VariableTemplate::of(&l.other)))
        .collect();
    let mut unnamed = Vec::new();
    let mut env_name = |id: &str| match directory.environments.name_of(id) {
        Some(name) => Some(name.to_owned()),
        None => {
            unnamed.push(id.to_owned());
            None
        }
    };
    let mut document = TenantsDocument::default();
    let mut secrets = Vec::new();
    for tenant in &tenants {
        let connected = tenant_environments(tenant, &project.id).unwrap_or_default();
        let mut named = NamedTenant {
            name: tenant.name.clone(),
            tags: tenant_tags(tenant),
            environments: connected.iter().filter_map(|e| env_name(e)).collect(),
            ..NamedTenant::default()
        };
        let values = TenantValues::read(client, &tenant.id)?;
        for value in &values.values {
            let (owner, template) = if value.common {
                let Some((library, templates)) =
                    library_templates.iter().find(|(l, _)| l.id == value.owner)
                else {
                    continue; // a library variable set this release does not include
                };
                let Some(t) = templates.iter().find(|t| t.id == value.template) else {
                    continue; // a value left behind by a deleted template
                };
                (library.name.clone(), t)
            } else {
                if value.owner != project.id {
                    continue;
                }
                let Some(t) = project_templates.iter().find(|t| t.id == value.template) else {
                    continue;
                };
                (project.name.clone(), t)
            };
            // Project values per connected environment; common values unscoped or per
            // environment as the server scopes them.
            let environments: Vec<Option<String>> = if value.environments.is_empty() {
                if value.common {
                    vec![None]
                } else {
                    connected.iter().map(|e| Some(e.clone())).collect()
                }
            } else {
                value.environments.iter().map(|e| Some(e.clone())).collect()
            };
            for environment in environments {
                let environment = match environment {
                    Some(id) => match env_name(&id) {
                        Some(name) => Some(name),
                        None => continue,
                    },
                    None => None,
                };
                match &value.state {
                    ValueState::Plain(text) => {
                        let named_value = NamedTenantValue {
                            library_variable_set: value.common.then(|| owner.clone()),
                            template: template.name.clone(),
                            environment,
                            value: text.clone(),
                            other: Default::default(),
                        };
                        if value.common {
                            named.common_values.push(named_value);
                        } else {
                            named.project_values.push(named_value);
                        }
                    }
                    ValueState::Secret { has_value: true } => {
                        let mut scope =
                            BTreeMap::from([("Tenant".to_owned(), vec![tenant.name.clone()])]);
                        if let Some(env) = environment {
                            scope.insert("Environment".to_owned(), vec![env]);
                        }
                        secrets.push(SecretRequirement {
                            owner: owner.clone(),
                            name: template.name.clone(),
                            kind: TENANT_SENSITIVE.to_owned(),
                            scope,
                        });
                    }
                    ValueState::Secret { has_value: false } => {}
                }
            }
        }
        document.tenants.push(named);
    }
    if !unnamed.is_empty() {
        unnamed.sort();
        unnamed.dedup();
        return Err(Refused {
            code: "unnamed-ids",
            message: format!(
                "the tenants of project {} refer to environments that have no name on this instance: {}\nHint: the resource was deleted or is not readable with this API key",
                project.name,
                unnamed.join(", ")
            ),
        }
        .into());
    }
    Ok(Some((document, secrets)))
}
