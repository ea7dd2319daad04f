//! Step 5: every secret the release needs is satisfied on the secure side, or the import is
//! refused (`secrets-missing`) listing every missing one, before anything is written.
//!
//! A requirement (owner, name, scope mapped to the target's names) is satisfied by
//!
//! 1. a sensitive variable the target already stores with the same owner, name and scope
//!    (the stored value is kept: the merge sends it back by `Id` with an empty value), or
//! 2. a `[[secret]]` of the secrets file with the same owner, name and scope (names on the
//!    target), whose value the merge stores.
//!
//! Sensitive action properties work the same way: the value the target stores for the action
//! of that name is kept (a bundle that would replace or clear it was refused before, in
//! [`super::properties`]), else the secrets file must have owner = the project, name = the
//! property key, scope = `{ Action = ["<action name>"] }`. Nothing else can give a value.
//!
//! Values are never printed; only owners, names and scopes are.

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::names::{PropertySlot, scope_key};

use super::refuse::refused;
use super::resolve::{Owners, Resolved};
use super::secrets::{SecretValue, SecretsFile};
use super::target::ProjectState;
use super::tenants::TenantPlan;

type Key = (String, String, BTreeMap<String, BTreeSet<String>>);

/// Where each secret comes from.
#[derive(Debug, Clone, Default)]
pub struct SecretSources {
    values: BTreeMap<Key, SecretValue>,
    /// Sensitive action properties and their values from the secrets file.
    pub properties: Vec<(PropertySlot, SecretValue)>,
    /// Requirements the target stores already.
    pub stored: usize,
    /// Requirements taken from the secrets file.
    pub from_file: usize,
    /// Entries of the secrets file no requirement used (owner / name (scope)).
    pub unused: Vec<String>,
}

impl SecretSources {
    /// The secrets file's value for a variable of owner `owner_id` named `name` with the
    /// scope `scope_names` (names on the target).
    pub fn value_for(
        &self,
        owner_id: &str,
        name: &str,
        scope_names: &BTreeMap<String, Vec<String>>,
    ) -> Option<&SecretValue> {
        self.values.get(&(
            owner_id.to_owned(),
            name.to_lowercase(),
            scope_key(scope_names),
        ))
    }
}

/// Checks every requirement of `resolved` against the target and the secrets file.
pub fn check(
    resolved: &Resolved,
    owners: &Owners,
    state: &ProjectState,
    secrets: &SecretsFile,
    tenants: &TenantPlan,
) -> anyhow::Result<SecretSources> {
    let mut sources = SecretSources::default();
    // Sensitive tenant values were checked by the tenants pass: its findings join these.
    let mut used = tenants.used_lines.clone();
    let mut missing = tenants.missing.clone();
    for requirement in &resolved.requirements {
        let key = scope_key(&requirement.scope_ids);
        let stored = state
            .variables
            .get(&requirement.owner.variable_set_id)
            .is_some_and(|set| {
                set.variables.iter().any(|v| {
                    v.is_sensitive
                        && v.name.eq_ignore_ascii_case(&requirement.name)
                        && scope_key(&v.scope) == key
                })
            });
        if stored {
            sources.stored = sources.stored.saturating_add(1);
            continue;
        }
        match secrets.find(
            &requirement.owner.name,
            &requirement.name,
            &requirement.scope_names,
        ) {
            Some(entry) => {
                used.insert(entry.line);
                sources.from_file = sources.from_file.saturating_add(1);
                sources.values.insert(
                    (
                        requirement.owner.id.clone(),
                        requirement.name.to_lowercase(),
                        scope_key(&requirement.scope_names),
                    ),
                    entry.value.clone(),
                );
            }
            None => missing.push(format!(
                "{} (a {} variable of {})",
                requirement.describe(),
                requirement.kind,
                requirement.owner.describe()
            )),
        }
    }
    let project = &owners.project.name;
    for slot in &resolved.process.needs_values {
        let scope = BTreeMap::from([("Action".to_owned(), vec![slot.action.clone()])]);
        match secrets.find(project, &slot.property, &scope) {
            Some(entry) => {
                used.insert(entry.line);
                sources.from_file = sources.from_file.saturating_add(1);
                sources.properties.push((slot.clone(), entry.value.clone()));
            }
            None => missing.push(format!(
                "{project} / {} (Action = {}) (a sensitive property of action {:?}; the target's action of that name stores no value)",
                slot.property, slot.action, slot.action
            )),
        }
    }
    sources.unused = secrets
        .entries
        .iter()
        .filter(|e| !used.contains(&e.line))
        .map(|e| format!("line {}: {}", e.line, e.describe()))
        .collect();
    if missing.is_empty() {
        return Ok(sources);
    }
    let count = missing.len();
    let noun = if count == 1 { "secret" } else { "secrets" };
    let mut message = format!(
        "{count} {noun} the release needs {} neither stored on the target nor in the secrets file; nothing was written:",
        if count == 1 { "is" } else { "are" }
    );
    // Names from the bundle: escaped, so that none can start a line of its own.
    message.push_str(&bridge_cli::safe::bullets(&missing));
    message.push_str("\nHint: store each on the target (a sensitive variable with exactly that scope, or the action's sensitive property), or give its value in a secrets file (--secrets FILE, mode 0600) as [[secret]] owner, name, scope, value (and tenant, for a tenant's value)");
    Err(refused("secrets-missing", message))
}
