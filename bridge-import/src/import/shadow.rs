//! Step 4c: a plain variable of the bundle never takes the place of a secret
//! (`secret-shadowed`). Replacing a stored secret by a plain value of the same name and scope
//! is refused by the merge ([`super::variables`]); the same effect is had by adding a plain
//! value of the same name with a MORE specific scope, which Octopus then prefers wherever both
//! apply: secret `Db.Password` unscoped on the target, and the bundle brings `Db.Password` =
//! "x" scoped to `Environment = PCI Production`. Every such pair is refused, naming both.
//!
//! Which value Octopus uses (Octopus documentation, "Scoping variables", section "Scope
//! specificity", <https://octopus.com/docs/projects/variables/getting-started#scope-specificity>):
//! among the values whose every scope dimension contains the deployment's value, the most
//! specific wins, in this order, most specific first:
//!
//! 1. the current step/action (`Action`)
//! 2. the current machine (`Machine`)
//! 3. roles of the current machine, targeted by the step or not (`Role`)
//! 4. the target tenant (`Tenant`)
//! 5. the target tenant tag (`TenantTag`)
//! 6. the target environment (`Environment`)
//! 7. the target channel (`Channel`)
//! 8. the current deployment or runbook process (`ProcessOwner`)
//! 9. the project; no scope (least specific)
//!
//! A value's rank is the set of dimensions its scope names, compared from the most specific
//! dimension down (so `Action` alone outranks `Environment` + `Channel`); the stand-in's runner
//! ranks the same way (`octopus-standin/src/runner/variables.rs`). A plain value shadows a
//! secret when
//!
//! - both can apply to one deployment: for every single-valued dimension both name, their
//!   values share one (a deployment has one environment, channel, machine, tenant, action,
//!   process); `Role` and `TenantTag` always can (a machine has many roles, a tenant many
//!   tags), and
//! - its rank is higher than or equal to the secret's (at equal rank the winner is not
//!   documented: refused too).
//!
//! The secrets are the sensitive variables the target stores in the variable sets the bundle
//! writes and in every other library variable set the target's project includes (a secure-zone
//! set such as "PCI Secrets" that never travels: [`other_sets`]), and the bundle's own
//! sensitive variables (their values come from the secure zone). A pair with the very same
//! owner, name and scope is left to the merge (`variable-conflict`).

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::Client;
use octopus_api::names::{Table, action_table, scope_key, scope_text};
use octopus_api::resources::VariableSet;

use super::refuse::refused;
use super::resolve::{Owner, OwnerKind, Resolved};
use super::target::{Catalog, ProjectState};

/// A scope: dimension -> ids (names for roles and tenant tags).
pub type Scope = BTreeMap<String, Vec<String>>;

/// The dimensions in Octopus's order of precedence, most specific first.
const PRECEDENCE: &[&str] = &[
    "Action",
    "Machine",
    "Role",
    "Tenant",
    "TenantTag",
    "Environment",
    "Channel",
    "ProcessOwner",
];

/// Dimensions a deployment can match with several values at once.
const MULTI_VALUED: &[&str] = &["Role", "TenantTag"];

/// The scope's rank: bit `n` set for the `n`-th least specific dimension it names, so that
/// comparing ranks compares from the most specific dimension down. Unknown dimensions add
/// nothing (a secret scoped by one is then ranked low, which refuses more, never less).
pub fn rank(scope: &Scope) -> u32 {
    PRECEDENCE
        .iter()
        .rev()
        .enumerate()
        .filter(|(_, d)| scope.get(**d).is_some_and(|v| !v.is_empty()))
        .fold(0, |rank, (bit, _)| rank | (1u32 << bit))
}

/// Whether one deployment can match both scopes.
pub fn overlap(a: &Scope, b: &Scope) -> bool {
    let (a, b) = (scope_key(a), scope_key(b));
    a.iter().all(|(dimension, values)| {
        MULTI_VALUED.contains(&dimension.as_str())
            || b.get(dimension)
                .is_none_or(|other| !values.is_disjoint(other))
    })
}

/// Whether a plain value scoped `plain` would be used instead of a secret scoped `secret`
/// somewhere (see the module documentation).
pub fn shadows(plain: &Scope, secret: &Scope) -> bool {
    overlap(plain, secret) && rank(plain) >= rank(secret)
}

struct Secret {
    owner: String,
    owner_id: String,
    name: String,
    scope: Scope,
    shown: String,
    source: &'static str,
}

/// The library variable sets the target's project includes that the bundle does not write
/// (reads only): their secrets are seen by every deployment of the project too.
pub fn other_sets(
    client: &Client,
    catalog: &Catalog,
    state: &ProjectState,
) -> anyhow::Result<Vec<(Owner, VariableSet)>> {
    let mut sets = Vec::new();
    for id in &state.project.included_library_variable_set_ids {
        let Some(library) = catalog.libraries.iter().find(|l| &l.id == id) else {
            continue;
        };
        if state.variables.contains_key(&library.variable_set_id) {
            continue;
        }
        let variables: VariableSet =
            client.get(&format!("variables/{}", library.variable_set_id))?;
        let owner = Owner {
            kind: OwnerKind::Library,
            id: library.id.clone(),
            name: library.name.clone(),
            variable_set_id: library.variable_set_id.clone(),
        };
        sets.push((owner, variables));
    }
    Ok(sets)
}

/// Refuses the bundle if one of its plain variables would shadow a secret: one of the target's
/// (in the sets the bundle writes, or in `others`, see [`other_sets`]) or one of the bundle's.
pub fn check(
    resolved: &Resolved,
    state: &ProjectState,
    others: &[(Owner, VariableSet)],
) -> anyhow::Result<()> {
    let actions = action_table(&state.process.steps);
    let mut secrets = Vec::new();
    let written = resolved.sets.iter().map(|set| {
        let stored = state
            .variables
            .get(&set.owner.variable_set_id)
            .map(|s| s.variables.as_slice())
            .unwrap_or_default();
        (&set.owner, stored)
    });
    let others = others
        .iter()
        .map(|(owner, set)| (owner, set.variables.as_slice()));
    for (owner, stored) in written.chain(others) {
        for v in stored.iter().filter(|v| v.is_sensitive) {
            secrets.push(Secret {
                owner: owner.describe(),
                owner_id: owner.id.clone(),
                name: v.name.clone(),
                scope: v.scope.clone(),
                shown: scope_text(&names(&v.scope, state, &actions)),
                source: "stored on the target",
            });
        }
    }
    for set in &resolved.sets {
        for v in set
            .imported
            .variables
            .iter()
            .filter(|v| v.variable.is_sensitive)
        {
            secrets.push(Secret {
                owner: set.owner.describe(),
                owner_id: set.owner.id.clone(),
                name: v.variable.name.clone(),
                scope: v.variable.scope.clone(),
                shown: scope_text(&v.scope_names),
                source: "a secret of the bundle",
            });
        }
    }
    let mut found = BTreeSet::new();
    for set in &resolved.sets {
        for plain in set
            .imported
            .variables
            .iter()
            .filter(|v| !v.variable.is_sensitive)
        {
            let variable = &plain.variable;
            for secret in &secrets {
                if !secret.name.eq_ignore_ascii_case(&variable.name)
                    || (secret.owner_id == set.owner.id
                        && scope_key(&secret.scope) == scope_key(&variable.scope))
                    || !shadows(&variable.scope, &secret.scope)
                {
                    continue;
                }
                found.insert(format!(
                    "the plain variable {} ({}) of {} would be used instead of the secret {} ({}) of {}, {}, wherever both apply",
                    variable.name,
                    scope_text(&plain.scope_names),
                    set.owner.describe(),
                    secret.name,
                    secret.shown,
                    secret.owner,
                    secret.source
                ));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = found.into_iter().collect();
    Err(refused(
        "secret-shadowed",
        format!(
            "{} of the bundle would take the place of a secret; nothing was written:\n  - {}\nHint: Octopus uses the most specifically scoped value (action, machine, role, tenant, tenant tag, environment, channel, process, then unscoped), so a plain value with a scope as specific as a secret's replaces it there. Rename the variable in the development zone, make it sensitive, or narrow it to a scope the secret does not cover",
            if found.len() == 1 {
                "a plain variable".to_owned()
            } else {
                format!("{} plain variables", found.len())
            },
            found.join("\n  - ")
        ),
    ))
}

/// A stored scope in the target's names, for messages (ids without a name stay ids).
fn names(scope: &Scope, state: &ProjectState, actions: &Table) -> Scope {
    let directory = &state.directory;
    scope
        .iter()
        .map(|(dimension, ids)| {
            let table = match dimension.as_str() {
                "Environment" => Some(&directory.environments),
                "Channel" => Some(&directory.channels),
                "Machine" => Some(&directory.machines),
                "Action" => Some(actions),
                _ => None,
            };
            let shown = ids
                .iter()
                .map(|id| table.and_then(|t| t.name_of(id)).unwrap_or(id).to_owned())
                .collect();
            (dimension.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use octopus_api::names::{ImportedProcess, ImportedVariable, ImportedVariables};
    use octopus_api::resources::{DeploymentProcess, Project, VariableSet};
    use serde_json::json;

    use super::super::resolve::ResolvedSet;
    use super::super::resolve::{Owner, OwnerKind};
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn owner(kind: OwnerKind, id: &str, name: &str) -> Owner {
        Owner {
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
            variable_set_id: format!("variableset-{id}"),
        }
    }

    /// A bundle variable: scope in ids, and the same in names for messages.
    fn imported(name: &str, sensitive: bool, scope: &[(&str, &[&str])]) -> ImportedVariable {
        let ids = super::tests::scope(scope);
        ImportedVariable {
            variable: octopus_api::resources::Variable {
                id: None,
                name: name.to_owned(),
                value: (!sensitive).then(|| "plain".to_owned()),
                kind: None,
                is_sensitive: sensitive,
                scope: ids.clone(),
                other: Default::default(),
            },
            scope_names: ids
                .iter()
                .map(|(d, v)| (d.clone(), v.iter().map(|i| format!("<{i}>")).collect()))
                .collect(),
        }
    }

    /// The target: project "P" stores secret Token for Environments-2; library "L" stores
    /// secret Smtp.Password unscoped.
    fn state() -> Result<ProjectState, serde_json::Error> {
        let project: Project = serde_json::from_value(json!({
            "Id": "Projects-1", "Name": "P", "VariableSetId": "variableset-Projects-1"
        }))?;
        let process: DeploymentProcess =
            serde_json::from_value(json!({"Id": "deploymentprocess-Projects-1", "Version": 1}))?;
        let set =
            |id: &str, variables: serde_json::Value| -> Result<VariableSet, serde_json::Error> {
                serde_json::from_value(json!({"Id": id, "Variables": variables}))
            };
        let directory = octopus_api::names::Directory {
            environments: Table::new([("Environments-2", "PCI Production")]),
            ..Default::default()
        };
        Ok(ProjectState {
            project,
            directory,
            process,
            variables: BTreeMap::from([
                (
                    "variableset-Projects-1".to_owned(),
                    set(
                        "variableset-Projects-1",
                        json!([{"Id": "v1", "Name": "Token", "Value": null,
                        "IsSensitive": true, "Scope": {"Environment": ["Environments-2"]}}]),
                    )?,
                ),
                (
                    "variableset-LibraryVariableSets-1".to_owned(),
                    set(
                        "variableset-LibraryVariableSets-1",
                        json!([{"Id": "v2", "Name": "Smtp.Password",
                        "Value": null, "IsSensitive": true, "Scope": {}}]),
                    )?,
                ),
            ]),
            release: None,
        })
    }

    fn resolved(project: Vec<ImportedVariable>, library: Vec<ImportedVariable>) -> Resolved {
        let set = |owner: Owner, variables| ResolvedSet {
            owner,
            imported: ImportedVariables {
                variables,
                skipped: Vec::new(),
            },
        };
        Resolved {
            channel: ("Channels-1".to_owned(), "Default".to_owned()),
            process: ImportedProcess {
                steps: Vec::new(),
                needs_values: Vec::new(),
            },
            sets: vec![
                set(owner(OwnerKind::Project, "Projects-1", "P"), project),
                set(
                    owner(OwnerKind::Library, "LibraryVariableSets-1", "L"),
                    library,
                ),
            ],
            requirements: Vec::new(),
            skipped_requirements: Vec::new(),
        }
    }

    #[test]
    fn the_refusal_names_the_plain_variable_and_the_secret_with_their_scopes() -> TestResult {
        let project = vec![
            // Shadows the library's unscoped secret from another owner.
            imported(
                "SMTP.PASSWORD",
                false,
                &[("Environment", &["Environments-2"])],
            ),
            // The same scope as the stored secret: left to the merge, not reported here.
            imported("Token", false, &[("Environment", &["Environments-2"])]),
            // Shadows the bundle's own secret Api.Key (Environment) through an action.
            imported("Api.Key", false, &[("Action", &["new-action:Deploy"])]),
            imported("Api.Key", true, &[("Environment", &["Environments-2"])]),
            // Less specific than Token: fine.
            imported("Token", false, &[]),
        ];
        let err = check(&resolved(project, Vec::new()), &state()?, &[])
            .err()
            .ok_or("expected a refusal")?;
        let text = format!("{err:#}");
        assert!(
            text.starts_with("2 plain variables of the bundle would take the place of a secret"),
            "{text}"
        );
        assert!(text.contains(
            "the plain variable SMTP.PASSWORD (Environment = <Environments-2>) of project \"P\" would be used instead of the secret Smtp.Password (unscoped) of library variable set \"L\", stored on the target, wherever both apply"
        ), "{text}");
        assert!(text.contains(
            "the plain variable Api.Key (Action = <new-action:Deploy>) of project \"P\" would be used instead of the secret Api.Key (Environment = <Environments-2>) of project \"P\", a secret of the bundle"
        ), "{text}");
        assert!(!text.contains("plain variable Token"), "{text}");
        Ok(())
    }

    #[test]
    fn a_secret_of_a_library_set_the_bundle_does_not_carry_is_seen() -> TestResult {
        let secrets: VariableSet = serde_json::from_value(json!({
            "Id": "variableset-LibraryVariableSets-9",
            "Variables": [{"Id": "v9", "Name": "Db.Password", "Value": null, "IsSensitive": true, "Scope": {}}]
        }))?;
        let others = [(
            owner(OwnerKind::Library, "LibraryVariableSets-9", "PCI Secrets"),
            secrets,
        )];
        let project = vec![imported("Db.Password", false, &[])];
        let text = format!(
            "{:#}",
            check(&resolved(project, Vec::new()), &state()?, &others)
                .err()
                .ok_or("expected a refusal")?
        );
        assert!(
            text.contains("the plain variable Db.Password (unscoped) of project \"P\" would be used instead of the secret Db.Password (unscoped) of library variable set \"PCI Secrets\", stored on the target"),
            "{text}"
        );
        let project = vec![imported("Db.Password.Hint", false, &[])];
        check(&resolved(project, Vec::new()), &state()?, &others)?;
        Ok(())
    }

    #[test]
    fn less_specific_disjoint_or_other_names_pass() -> TestResult {
        let project = vec![
            imported("Token", false, &[]),
            imported("Token", false, &[("Environment", &["Environments-1"])]),
            imported("Token2", false, &[("Action", &["a1"])]),
        ];
        let library = vec![imported(
            "Smtp.Password.Hint",
            false,
            &[("Environment", &["Environments-2"])],
        )];
        check(&resolved(project, library), &state()?, &[])?;
        // The stored secret's scope is shown in the target's names.
        let project = vec![imported("token", false, &[("Machine", &["Machines-1"])])];
        let text = format!(
            "{:#}",
            check(&resolved(project, Vec::new()), &state()?, &[])
                .err()
                .ok_or("expected a refusal")?
        );
        assert!(
            text.contains("the secret Token (Environment = PCI Production) of project \"P\""),
            "{text}"
        );
        Ok(())
    }

    fn scope(pairs: &[(&str, &[&str])]) -> Scope {
        pairs
            .iter()
            .map(|(d, v)| ((*d).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect()
    }

    #[test]
    fn the_rank_follows_octopus_precedence() {
        let action = rank(&scope(&[("Action", &["a1"])]));
        let env_channel = rank(&scope(&[("Environment", &["e"]), ("Channel", &["c"])]));
        let env = rank(&scope(&[("Environment", &["e"])]));
        let machine = rank(&scope(&[("Machine", &["m"])]));
        let tenant = rank(&scope(&[("Tenant", &["t"])]));
        let role = rank(&scope(&[("Role", &["web"])]));
        assert!(action > machine && machine > role && role > tenant && tenant > env);
        assert!(action > env_channel && env_channel > env && env > 0);
        assert_eq!(rank(&scope(&[])), 0);
        assert_eq!(rank(&scope(&[("Environment", &[])])), 0);
    }

    #[test]
    fn a_plain_value_as_or_more_specific_than_a_secret_shadows_it() {
        let unscoped = scope(&[]);
        let production = scope(&[("Environment", &["Environments-2"])]);
        let prod_and_staging = scope(&[("Environment", &["Environments-1", "environments-2"])]);
        for (plain, secret) in [
            // The brief's example: a secret unscoped, a plain value for PCI Production.
            (production.clone(), unscoped.clone()),
            // Equal: the winner is not documented.
            (production.clone(), production.clone()),
            (unscoped.clone(), unscoped.clone()),
            // Narrower in the same dimension (overlapping sets, ignoring case).
            (production.clone(), prod_and_staging.clone()),
            // More specific dimensions.
            (scope(&[("Machine", &["Machines-1"])]), production.clone()),
            (scope(&[("Role", &["db"])]), production.clone()),
            (scope(&[("Tenant", &["Tenants-1"])]), production.clone()),
            (scope(&[("TenantTag", &["Tier/Gold"])]), production.clone()),
            (
                scope(&[("Action", &["a1"])]),
                scope(&[
                    ("Environment", &["Environments-2"]),
                    ("Channel", &["Channels-1"]),
                ]),
            ),
            (
                scope(&[
                    ("Channel", &["Channels-1"]),
                    ("Environment", &["Environments-2"]),
                ]),
                production.clone(),
            ),
            // Roles overlap whatever their names: a machine has many.
            (
                scope(&[("Role", &["web"]), ("Environment", &["Environments-2"])]),
                scope(&[("Role", &["db"])]),
            ),
        ] {
            assert!(shadows(&plain, &secret), "{plain:?} over {secret:?}");
        }
    }

    #[test]
    fn a_less_specific_or_disjoint_plain_value_does_not_shadow() {
        let production = scope(&[("Environment", &["Environments-2"])]);
        let staging = scope(&[("Environment", &["Environments-1"])]);
        for (plain, secret) in [
            // Less specific: the secret wins wherever it applies.
            (scope(&[]), production.clone()),
            (production.clone(), scope(&[("Action", &["a1"])])),
            (
                production.clone(),
                scope(&[
                    ("Environment", &["Environments-2"]),
                    ("Channel", &["Channels-1"]),
                ]),
            ),
            (production.clone(), scope(&[("Tenant", &["Tenants-1"])])),
            // Disjoint: never both in one deployment.
            (staging.clone(), production.clone()),
            (scope(&[("Action", &["a2"])]), scope(&[("Action", &["a1"])])),
            (
                scope(&[
                    ("Environment", &["Environments-1"]),
                    ("Machine", &["Machines-1"]),
                ]),
                production.clone(),
            ),
            (
                scope(&[("Machine", &["Machines-2"])]),
                scope(&[("Machine", &["Machines-1"])]),
            ),
        ] {
            assert!(!shadows(&plain, &secret), "{plain:?} over {secret:?}");
        }
    }
}
