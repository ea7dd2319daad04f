//! Comparing what the bundle says (after mapping, in the target's names) with what the target
//! has, naming the first difference. Both sides go through the export direction
//! (`process_to_names`, `variables_to_names`) with the target's directory, so they are
//! compared in the same form.
//!
//! The rule: every field the bundle carries must be on the target with an equal value; fields
//! only the target has are its own (defaults, links) and ignored. Arrays must have the same
//! length and match element by element (steps, actions and packages keep their order). A
//! missing field, `null`, `""`, `[]` and `{}` all mean "no value". Variables are matched by
//! name and scope (as sets), not by position; variables only the target has are ignored.

use std::collections::BTreeMap;

use octopus_api::names::{scope_key, scope_text};
use serde_json::Value;

const NO_VALUE: Value = Value::Null;

/// The longest value quoted in a difference.
const SHOWN_CHARS: usize = 60;

/// The generic JSON form of a named document, which the comparison walks. Serialising the
/// named model (strings, maps with string keys) cannot fail.
pub fn as_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The first place where `actual` lacks or differs from what `desired` says, as
/// `Steps "Deploy" > Actions "Deploy" > Environments: the bundle has [..], the target [..]`.
pub fn first_difference(desired: &Value, actual: &Value) -> Option<String> {
    diff(desired, actual, &mut Vec::new())
}

fn diff(desired: &Value, actual: &Value, path: &mut Vec<String>) -> Option<String> {
    if is_blank(desired) && is_blank(actual) {
        return None;
    }
    match (desired, actual) {
        (Value::Object(d), Value::Object(a)) => {
            for (key, d_value) in d {
                path.push(key.clone());
                let found = diff(d_value, a.get(key).unwrap_or(&NO_VALUE), path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        (Value::Array(d), Value::Array(a)) if d.len() != a.len() => Some(format!(
            "{}: the bundle has {} ({}), the target {} ({})",
            where_(path),
            d.len(),
            labels(d),
            a.len(),
            labels(a)
        )),
        (Value::Array(d), Value::Array(a)) => {
            // Elements are named after the array: `Steps "Deploy"`, or `Packages #1`.
            let parent = path.pop();
            let mut found = None;
            for (index, (d_item, a_item)) in d.iter().zip(a).enumerate() {
                let label = match d_item.get("Name").and_then(Value::as_str) {
                    Some(name) => format!("{name:?}"),
                    None => format!("#{}", index.saturating_add(1)),
                };
                path.push(match &parent {
                    Some(parent) => format!("{parent} {label}"),
                    None => label,
                });
                found = diff(d_item, a_item, path);
                path.pop();
                if found.is_some() {
                    break;
                }
            }
            if let Some(parent) = parent {
                path.push(parent);
            }
            found
        }
        _ if desired == actual => None,
        _ => Some(format!(
            "{}: the bundle has {}, the target {}",
            where_(path),
            show(desired),
            show(actual)
        )),
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn where_(path: &[String]) -> String {
    if path.is_empty() {
        "the document".to_owned()
    } else {
        path.join(" > ")
    }
}

fn labels(items: &[Value]) -> String {
    let names: Vec<String> = items
        .iter()
        .map(|item| match item.get("Name").and_then(Value::as_str) {
            Some(name) => format!("{name:?}"),
            None => show(item),
        })
        .collect();
    names.join(", ")
}

fn show(value: &Value) -> String {
    if value.is_null() {
        return "nothing".to_owned();
    }
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

fn scope_of(variable: &Value) -> BTreeMap<String, Vec<String>> {
    variable
        .get("Scope")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_default()
}

fn name_of(variable: &Value) -> &str {
    variable.get("Name").and_then(Value::as_str).unwrap_or("")
}

/// The first variable of `desired` (named variables, in the target's names) that `actual`
/// lacks or has otherwise. A sensitive variable's value is never compared (it cannot be read).
pub fn variables_difference(owner: &str, desired: &[Value], actual: &[Value]) -> Option<String> {
    for wanted in desired {
        let scope = scope_of(wanted);
        let key = scope_key(&scope);
        let label = format!(
            "variable {} ({}) of {owner}",
            name_of(wanted),
            scope_text(&scope)
        );
        let found = actual.iter().find(|a| {
            name_of(a).eq_ignore_ascii_case(name_of(wanted)) && scope_key(&scope_of(a)) == key
        });
        let Some(found) = found else {
            return Some(format!("{label}: missing on the target"));
        };
        let mut wanted = wanted.clone();
        if let Some(map) = wanted.as_object_mut() {
            map.remove("Name");
            map.remove("Scope");
            if map.get("IsSensitive") == Some(&Value::Bool(true)) {
                map.remove("Value");
            }
        }
        if let Some(difference) = first_difference(&wanted, found) {
            return Some(format!("{label}: {difference}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_only_the_target_has_are_ignored_and_blanks_are_equal() {
        let desired = json!({"Steps": [{"Name": "Deploy", "Notes": null, "Actions": [{"Name": "Deploy", "TenantTags": []}]}]});
        let actual = json!({"Id": "p", "Steps": [{"Name": "Deploy", "Slug": "deploy", "Actions": [{"Name": "Deploy", "Links": {}}]}]});
        assert_eq!(first_difference(&desired, &actual), None);
    }

    #[test]
    fn the_first_difference_is_named_by_path() {
        let desired = json!({"Steps": [{"Name": "Deploy", "Actions": [{"Name": "Run", "Properties": {"Script": "echo 1"}}]}]});
        let actual = json!({"Steps": [{"Name": "Deploy", "Actions": [{"Name": "Run", "Properties": {"Script": "echo 2"}}]}]});
        assert_eq!(
            first_difference(&desired, &actual).as_deref(),
            Some(
                "Steps \"Deploy\" > Actions \"Run\" > Properties > Script: the bundle has \"echo 1\", the target \"echo 2\""
            )
        );
        let fewer = json!({"Steps": []});
        assert_eq!(
            first_difference(&desired, &fewer).as_deref(),
            Some("Steps: the bundle has 1 (\"Deploy\"), the target 0 ()")
        );
    }

    #[test]
    fn variables_match_by_name_and_scope_and_secrets_by_type_only() {
        let desired = [
            json!({"Name": "Url", "Value": "https://stg", "Scope": {"Environment": ["PCI Staging"]}, "Type": "String", "IsSensitive": false}),
            json!({"Name": "Token", "Value": null, "Scope": {}, "Type": "Sensitive", "IsSensitive": true}),
        ];
        let actual = [
            json!({"Name": "Token", "Value": null, "Scope": {}, "Type": "Sensitive", "IsSensitive": true}),
            json!({"Name": "url", "Value": "https://stg", "Scope": {"Environment": ["pci staging"]}, "Type": "String", "IsSensitive": false}),
            json!({"Name": "Url", "Value": "https://prod", "Scope": {"Environment": ["Production"]}, "Type": "String", "IsSensitive": false}),
        ];
        assert_eq!(
            variables_difference("project \"P\"", &desired, &actual),
            None
        );
        let changed = [
            json!({"Name": "Url", "Value": "https://other", "Scope": {"Environment": ["PCI Staging"]}, "Type": "String", "IsSensitive": false}),
        ];
        assert_eq!(
            variables_difference("project \"P\"", &changed, &actual).as_deref(),
            Some(
                "variable Url (Environment = PCI Staging) of project \"P\": Value: the bundle has \"https://other\", the target \"https://stg\""
            )
        );
        let missing = [json!({"Name": "Gone", "Value": "1", "Scope": {}})];
        assert_eq!(
            variables_difference("project \"P\"", &missing, &actual).as_deref(),
            Some("variable Gone (unscoped) of project \"P\": missing on the target")
        );
    }
}
