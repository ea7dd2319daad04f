//! The variable merge: the bundle's variables into a target variable set, by (name, scope),
//! keeping everything else the target has.
//!
//! | bundle variable | target has the same name and scope | result |
//! |---|---|---|
//! | plain | no | added |
//! | plain | plain, same value and fields | kept |
//! | plain | plain, other value or fields | updated (its `Id` kept) |
//! | plain | sensitive | refused: a stored secret never becomes a plain value |
//! | sensitive | no | added, with the value from the secrets file |
//! | sensitive | sensitive | kept: sent back with its `Id` and an empty value, so Octopus keeps the secret (fields such as `Description` updated) |
//! | sensitive | plain | updated to sensitive, with the value from the secrets file |
//!
//! Variables of the target the bundle does not have (its own Production values, say) are
//! sent back exactly as read. Names match ignoring case; scopes as sets ([`scope_key`]).
//! Two bundle variables that become the same (name, scope) on the target are refused. A plain
//! variable with another scope that would take a secret's place is refused before the merge
//! ([`super::shadow`]).

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::names::{ImportedVariable, scope_key, scope_text};
use octopus_api::resources::{Other, Variable};
use serde_json::Value;

/// What a merge does to a variable set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// The whole set to send back.
    pub variables: Vec<Variable>,
    /// Variables added (name and scope, in the target's names).
    pub added: Vec<String>,
    /// Variables updated.
    pub updated: Vec<String>,
    /// Variables already as the bundle has them.
    pub kept: usize,
}

impl Merged {
    /// Whether the set must be written.
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.updated.is_empty()
    }
}

type Key = (String, BTreeMap<String, BTreeSet<String>>);

fn key(variable: &Variable) -> Key {
    (variable.name.to_lowercase(), scope_key(&variable.scope))
}

fn describe(imported: &ImportedVariable) -> String {
    format!(
        "{} ({})",
        imported.variable.name,
        scope_text(&imported.scope_names)
    )
}

/// Merges `bundle` into `current`; `secret` gives the secrets file's value for a sensitive
/// variable the target does not store. Errors list every conflict.
pub fn merge(
    current: &[Variable],
    bundle: &[ImportedVariable],
    secret: &dyn Fn(&ImportedVariable) -> Option<String>,
) -> Result<Merged, Vec<String>> {
    let mut merged = Merged {
        variables: current.to_vec(),
        ..Merged::default()
    };
    let mut conflicts = Vec::new();
    let mut seen = BTreeSet::new();
    for imported in bundle {
        let wanted = &imported.variable;
        let wanted_key = key(wanted);
        if !seen.insert(wanted_key.clone()) {
            conflicts.push(format!(
                "two variables of the bundle become {} on the target (the mapping file maps two scopes to one)",
                describe(imported)
            ));
            continue;
        }
        let found = merged.variables.iter_mut().find(|t| key(t) == wanted_key);
        match found {
            None => {
                let mut added = wanted.clone();
                if wanted.is_sensitive {
                    match secret(imported) {
                        Some(value) => added.value = Some(value),
                        None => {
                            conflicts.push(format!("{} has no value to store", describe(imported)));
                            continue;
                        }
                    }
                }
                merged.variables.push(added);
                merged.added.push(describe(imported));
            }
            Some(target) if wanted.is_sensitive && target.is_sensitive => {
                // Send it back by Id with an empty value: Octopus keeps the stored secret.
                target.value = Some(String::new());
                if fields_equal(target, wanted) {
                    merged.kept = merged.kept.saturating_add(1);
                } else {
                    set_fields(target, wanted);
                    merged.updated.push(describe(imported));
                }
            }
            Some(target) if wanted.is_sensitive => match secret(imported) {
                Some(value) => {
                    target.value = Some(value);
                    target.is_sensitive = true;
                    set_fields(target, wanted);
                    merged
                        .updated
                        .push(format!("{} (now sensitive)", describe(imported)));
                }
                None => conflicts.push(format!(
                    "{} is a plain value on the target and sensitive in the bundle, and has no value to store",
                    describe(imported)
                )),
            },
            Some(target) if target.is_sensitive => conflicts.push(format!(
                "{} is sensitive on the target but a plain value in the bundle; refusing to replace a stored secret with a plain value",
                describe(imported)
            )),
            Some(target) => {
                if target.value == wanted.value && fields_equal(target, wanted) {
                    merged.kept = merged.kept.saturating_add(1);
                } else {
                    target.value = wanted.value.clone();
                    set_fields(target, wanted);
                    merged.updated.push(describe(imported));
                }
            }
        }
    }
    if conflicts.is_empty() {
        Ok(merged)
    } else {
        Err(conflicts)
    }
}

fn kind_of(variable: &Variable) -> &str {
    variable
        .kind
        .as_deref()
        .unwrap_or(if variable.is_sensitive {
            "Sensitive"
        } else {
            "String"
        })
}

/// Whether `target` has the bundle's type and every field the bundle's variable carries
/// (`Description`, `Prompt`, ...; a missing field equals `null`).
fn fields_equal(target: &Variable, wanted: &Variable) -> bool {
    kind_of(target) == kind_of(wanted)
        && wanted
            .other
            .keys()
            .all(|k| field(&target.other, k) == field(&wanted.other, k))
}

fn field<'a>(other: &'a Other, key: &str) -> &'a Value {
    other.get(key).unwrap_or(&Value::Null)
}

fn set_fields(target: &mut Variable, wanted: &Variable) {
    target.kind = Some(kind_of(wanted).to_owned());
    for (k, v) in &wanted.other {
        target.other.insert(k.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn variable(value: serde_json::Value) -> Result<Variable, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn imported(value: serde_json::Value) -> Result<ImportedVariable, serde_json::Error> {
        let variable = variable(value)?;
        let scope_names = variable.scope.clone();
        Ok(ImportedVariable {
            variable,
            scope_names,
        })
    }

    fn target() -> Result<Vec<Variable>, serde_json::Error> {
        Ok(vec![
            variable(
                json!({"Id": "v1", "Name": "Threshold", "Value": "820", "Type": "String", "Scope": {}}),
            )?,
            variable(
                json!({"Id": "v2", "Name": "Url", "Value": "https://prod", "Type": "String", "Scope": {"Environment": ["Environments-2"]}}),
            )?,
            variable(
                json!({"Id": "v3", "Name": "Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": ["Environments-1"]}}),
            )?,
            variable(
                json!({"Id": "v4", "Name": "Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": ["Environments-2"]}}),
            )?,
        ])
    }

    #[test]
    fn the_bundle_adds_and_updates_and_the_targets_own_values_stay()
    -> Result<(), Box<dyn std::error::Error>> {
        let bundle = [
            imported(json!({"Name": "threshold", "Value": "850", "Type": "String", "Scope": {}}))?,
            imported(
                json!({"Name": "Url", "Value": "https://stg", "Type": "String", "Scope": {"Environment": ["Environments-1"]}}),
            )?,
            imported(
                json!({"Name": "Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": ["environments-1"]}}),
            )?,
            imported(
                json!({"Name": "NewSecret", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {}}),
            )?,
        ];
        let merged = merge(&target()?, &bundle, &|v| {
            (v.variable.name == "NewSecret").then(|| "from-file".to_owned())
        })
        .map_err(|c| c.join("; "))?;
        assert_eq!(merged.updated, ["threshold (unscoped)"]);
        assert_eq!(
            merged.added,
            ["Url (Environment = Environments-1)", "NewSecret (unscoped)"]
        );
        assert_eq!(merged.kept, 1);
        let by_id = |id: &str| {
            merged
                .variables
                .iter()
                .find(|v| v.id.as_deref() == Some(id))
        };
        assert_eq!(
            by_id("v1").and_then(|v| v.value.clone()).as_deref(),
            Some("850")
        );
        assert_eq!(
            by_id("v2").and_then(|v| v.value.clone()).as_deref(),
            Some("https://prod")
        );
        // The stored secret goes back by Id with an empty value; the other one as read.
        assert_eq!(
            by_id("v3").and_then(|v| v.value.clone()).as_deref(),
            Some("")
        );
        assert_eq!(by_id("v4").and_then(|v| v.value.clone()), None);
        let added = merged.variables.last().ok_or("added")?;
        assert_eq!(
            (added.id.as_deref(), added.value.as_deref()),
            (None, Some("from-file"))
        );
        assert!(merged.changed());
        Ok(())
    }

    #[test]
    fn merging_the_same_bundle_again_changes_nothing() -> Result<(), Box<dyn std::error::Error>> {
        let bundle = [
            imported(json!({"Name": "Threshold", "Value": "820", "Type": "String", "Scope": {}}))?,
            imported(
                json!({"Name": "Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": ["Environments-2"]}}),
            )?,
        ];
        let merged = merge(&target()?, &bundle, &|_| None).map_err(|c| c.join("; "))?;
        assert!(!merged.changed());
        assert_eq!(merged.kept, 2);
        Ok(())
    }

    #[test]
    fn a_stored_secret_never_becomes_a_plain_value_and_collisions_are_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let bundle = [
            imported(
                json!({"Name": "Token", "Value": "plain", "Type": "String", "Scope": {"Environment": ["Environments-1"]}}),
            )?,
            imported(
                json!({"Name": "Url", "Value": "a", "Scope": {"Environment": ["Environments-1"]}}),
            )?,
            imported(
                json!({"Name": "URL", "Value": "b", "Scope": {"Environment": ["Environments-1"]}}),
            )?,
        ];
        let conflicts = merge(&target()?, &bundle, &|_| None)
            .err()
            .ok_or("expected conflicts")?;
        assert_eq!(conflicts.len(), 2, "{conflicts:?}");
        assert!(conflicts[0].contains("refusing to replace a stored secret"));
        assert!(conflicts[1].starts_with("two variables of the bundle become URL"));
        Ok(())
    }

    #[test]
    fn a_plain_target_value_becomes_sensitive_with_the_files_value()
    -> Result<(), Box<dyn std::error::Error>> {
        let bundle = [imported(
            json!({"Name": "Threshold", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Scope": {}}),
        )?];
        let merged =
            merge(&target()?, &bundle, &|_| Some("s".to_owned())).map_err(|c| c.join("; "))?;
        assert_eq!(merged.updated, ["Threshold (unscoped) (now sensitive)"]);
        let v1 = merged.variables.first().ok_or("v1")?;
        assert!(
            v1.is_sensitive
                && v1.value.as_deref() == Some("s")
                && v1.kind.as_deref() == Some("Sensitive")
        );
        Ok(())
    }
}
