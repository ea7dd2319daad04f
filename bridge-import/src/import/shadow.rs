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
//! writes, and the bundle's own sensitive variables (their values come from the secure zone).
//! A pair with the very same owner, name and scope is left to the merge (`variable-conflict`).
//! Secrets of library variable sets the bundle does not carry are not read (see the threat
//! model).

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::names::{Table, action_table, scope_key, scope_text};

use super::refuse::refused;
use super::resolve::Resolved;
use super::target::ProjectState;

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

/// Refuses the bundle if one of its plain variables would shadow a secret.
pub fn check(resolved: &Resolved, state: &ProjectState) -> anyhow::Result<()> {
    let actions = action_table(&state.process.steps);
    let mut secrets = Vec::new();
    for set in &resolved.sets {
        let stored = state
            .variables
            .get(&set.owner.variable_set_id)
            .map(|s| s.variables.as_slice())
            .unwrap_or_default();
        for v in stored.iter().filter(|v| v.is_sensitive) {
            secrets.push(Secret {
                owner: set.owner.describe(),
                owner_id: set.owner.id.clone(),
                name: v.name.clone(),
                scope: v.scope.clone(),
                shown: scope_text(&names(&v.scope, state, &actions)),
                source: "stored on the target",
            });
        }
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
    use super::*;

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
