//! Step 4b: a bundle never sets, replaces or clears a sensitive action property that the target
//! stores (`sensitive-property`), exactly as a stored sensitive variable is never replaced
//! (see [`super::variables`]). Secrets are the secure zone's: the development zone may say
//! that an action needs one, never what it is, nor that the secure zone's should go.
//!
//! Each action of the target's live process with a sensitive property that stores a value is
//! looked up in the bundle by name (ignoring case, as the resolver reuses action ids):
//!
//! | the bundle's action of that name | result | why |
//! |---|---|---|
//! | none (the action was removed or renamed) | refused | writing the process would drop the stored value with the action |
//! | another `ActionType` | refused | the stored value would be handed to a step that does something else with it (a script that sends it away, say) |
//! | without the property, or with it under another case (`db.password` for `Db.Password`) | refused | the stored value would be cleared, or moved to a plain property |
//! | the property as a plain string | refused | the stored secret would be replaced by a value from outside |
//! | the property sensitive, with `NewValue` set | refused | values never travel: `bridge-export` never writes one, so this bundle was crafted or altered before it was signed |
//! | the property sensitive, `HasValue` false (or missing) | kept: sent as `{"HasValue": true, "NewValue": null}` | the development zone often has no value where the secure zone has one; "no value there" is not an order to clear it here |
//! | the property sensitive, `HasValue` true | kept: sent as `{"HasValue": true, "NewValue": null}` | the normal case |
//!
//! A sensitive property carrying a value is refused on any action, stored or not: a value the
//! target does not store comes only from the secrets file ([`super::requirements`]).
//! Refusals list every property, naming the step, the action and the property, before
//! anything is written; making the change on the target first (removing the property, the
//! action or its value) and importing again is the fix, so that dropping a secret is always a
//! secure-zone decision.

use octopus_api::names::{NamedAction, NamedProcess};
use octopus_api::resources::{Action, DeploymentProcess, PropertyValue};

use super::refuse::refused;

/// Refuses the bundle's process if it would set, replace or clear a sensitive action property
/// the target stores, or if it carries a sensitive value.
pub fn check(bundle: &NamedProcess, live: &DeploymentProcess) -> anyhow::Result<()> {
    let found = problems(bundle, live);
    if found.is_empty() {
        return Ok(());
    }
    let count = found.len();
    Err(refused(
        "sensitive-property",
        format!(
            "the bundle would set, replace or clear {count} sensitive action propert{} of the target; nothing was written:\n  - {}\nHint: secrets stay the secure zone's: a bundle may only keep a stored value or ask for one from the secrets file. If the change is intended, make it on the target first (remove the property, its value or the action), then import again",
            if count == 1 { "y" } else { "ies" },
            found.join("\n  - ")
        ),
    ))
}

/// Every problem, one line each (step, action, property, what).
pub fn problems(bundle: &NamedProcess, live: &DeploymentProcess) -> Vec<String> {
    let mut found = Vec::new();
    let bundle_actions: Vec<(&str, &NamedAction)> = bundle
        .steps
        .iter()
        .flat_map(|s| s.actions.iter().map(move |a| (s.name.as_str(), a)))
        .collect();
    // Values in the bundle, on any action.
    for (step, action) in &bundle_actions {
        for (key, value) in &action.properties {
            if let PropertyValue::Sensitive(s) = value
                && s.new_value.is_some()
            {
                found.push(format!(
                    "{}: the bundle carries a value for it; sensitive values never travel in a bundle",
                    place(step, &action.name, key)
                ));
            }
        }
    }
    for step in &live.steps {
        for stored in &step.actions {
            let keys = stored_keys(stored);
            if keys.is_empty() {
                continue;
            }
            let Some((bundle_step, action)) = bundle_actions
                .iter()
                .find(|(_, a)| a.name.eq_ignore_ascii_case(&stored.name))
            else {
                for key in keys {
                    found.push(format!(
                        "{}: stored on the target, and the bundle has no action {:?} (removed or renamed): the stored value would be dropped",
                        place(&step.name, &stored.name, key),
                        stored.name
                    ));
                }
                continue;
            };
            for key in keys {
                let at = place(bundle_step, &action.name, key);
                if action.action_type != stored.action_type {
                    found.push(format!(
                        "{at}: stored on the target for an action of type {}, and the bundle makes the action a {}: a stored secret is never handed to an action of another type",
                        stored.action_type, action.action_type
                    ));
                    continue;
                }
                match action.properties.get(key) {
                    Some(PropertyValue::Sensitive(s)) if s.new_value.is_none() => {}
                    // Listed above with every value the bundle carries.
                    Some(PropertyValue::Sensitive(_)) => {}
                    Some(PropertyValue::Text(_)) => found.push(format!(
                        "{at}: sensitive on the target, a plain value in the bundle: a stored secret is never replaced by a value from outside"
                    )),
                    None => match action
                        .properties
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(key))
                    {
                        Some(other) => found.push(format!(
                            "{at}: stored on the target, and the bundle has it as {other} instead: the stored value would be cleared"
                        )),
                        None => found.push(format!(
                            "{at}: stored on the target, and the bundle's action does not have it: the stored value would be cleared"
                        )),
                    },
                }
            }
        }
    }
    found
}

/// The keys of `action`'s sensitive properties that store a value.
fn stored_keys(action: &Action) -> Vec<&String> {
    action
        .properties
        .iter()
        .filter(|(_, v)| matches!(v, PropertyValue::Sensitive(s) if s.has_value))
        .map(|(k, _)| k)
        .collect()
}

fn place(step: &str, action: &str, property: &str) -> String {
    format!("step {step:?}, action {action:?}, property {property}")
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The target: "Run migrations" (a script) stores Custom.DbPassword; Custom.Empty has none.
    fn live() -> Result<DeploymentProcess, serde_json::Error> {
        serde_json::from_value(json!({
            "Id": "deploymentprocess-Projects-1", "Version": 3,
            "Steps": [{"Id": "s1", "Name": "Migrate", "Actions": [{
                "Id": "a1", "Name": "Run migrations", "ActionType": "Octopus.Script",
                "Properties": {
                    "Octopus.Action.Script.ScriptBody": "migrate",
                    "Custom.DbPassword": {"HasValue": true, "NewValue": null},
                    "Custom.Empty": {"HasValue": false, "NewValue": null}
                }}]}]
        }))
    }

    /// The bundle's process with the action's type and properties replaced.
    fn bundle(action_type: &str, properties: Value) -> Result<NamedProcess, serde_json::Error> {
        serde_json::from_value(json!({
            "Project": "Payments API",
            "Steps": [{"Name": "Migrate", "Actions": [{
                "Name": "run MIGRATIONS", "ActionType": action_type, "Properties": properties
            }]}]
        }))
    }

    #[test]
    fn keeping_a_stored_value_passes() -> TestResult {
        for password in [
            json!({"HasValue": true, "NewValue": null}),
            json!({"HasValue": false, "NewValue": null}),
            json!({"HasValue": false}),
            json!({"NewValue": null}),
        ] {
            let process = bundle(
                "Octopus.Script",
                json!({"Custom.DbPassword": password, "Octopus.Action.Script.ScriptBody": "new"}),
            )?;
            assert_eq!(problems(&process, &live()?), Vec::<String>::new());
        }
        // A property that stores nothing on the target may go, or become plain.
        let process = bundle(
            "Octopus.Script",
            json!({"Custom.DbPassword": {"HasValue": true}, "Custom.Empty": "plain"}),
        )?;
        assert!(problems(&process, &live()?).is_empty());
        Ok(())
    }

    #[test]
    fn setting_replacing_clearing_or_moving_a_stored_value_is_refused() -> TestResult {
        let at = "step \"Migrate\", action \"run MIGRATIONS\", property Custom.DbPassword: ";
        for (properties, expected) in [
            (
                json!({"Custom.DbPassword": "attacker"}),
                "sensitive on the target, a plain value in the bundle",
            ),
            (
                json!({"Custom.DbPassword": ""}),
                "sensitive on the target, a plain value in the bundle",
            ),
            (
                json!({"Custom.DbPassword": {"HasValue": true, "NewValue": "attacker"}}),
                "the bundle carries a value for it",
            ),
            (
                json!({"Custom.DbPassword": {"HasValue": false, "NewValue": "attacker"}}),
                "the bundle carries a value for it",
            ),
            (
                json!({"custom.dbpassword": "attacker"}),
                "the bundle has it as custom.dbpassword instead",
            ),
            (
                json!({"Octopus.Action.Script.ScriptBody": "migrate"}),
                "the bundle's action does not have it",
            ),
        ] {
            let found = problems(&bundle("Octopus.Script", properties.clone())?, &live()?);
            assert_eq!(found.len(), 1, "{properties}: {found:?}");
            assert!(
                found[0].starts_with(at) && found[0].contains(expected),
                "{properties}: {found:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn another_action_type_or_a_removed_action_is_refused() -> TestResult {
        let process = bundle(
            "Octopus.HttpRequest",
            json!({"Custom.DbPassword": {"HasValue": true, "NewValue": null}}),
        )?;
        let found = problems(&process, &live()?);
        assert_eq!(
            found,
            [
                "step \"Migrate\", action \"run MIGRATIONS\", property Custom.DbPassword: stored on the target for an action of type Octopus.Script, and the bundle makes the action a Octopus.HttpRequest: a stored secret is never handed to an action of another type"
            ]
        );
        let renamed: NamedProcess = serde_json::from_value(json!({
            "Project": "Payments API",
            "Steps": [{"Name": "Migrate", "Actions": [{"Name": "Run migrations v2", "ActionType": "Octopus.Script"}]}]
        }))?;
        let found = problems(&renamed, &live()?);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("step \"Migrate\", action \"Run migrations\", property Custom.DbPassword: stored on the target, and the bundle has no action \"Run migrations\""),
            "{found:?}"
        );
        Ok(())
    }

    #[test]
    fn a_value_in_the_bundle_is_refused_on_any_action_and_the_refusal_names_the_fix() -> TestResult
    {
        let process: NamedProcess = serde_json::from_value(json!({
            "Project": "Payments API",
            "Steps": [
                {"Name": "Migrate", "Actions": [{"Name": "Run migrations", "ActionType": "Octopus.Script",
                    "Properties": {"Custom.DbPassword": {"HasValue": true, "NewValue": null}}}]},
                {"Name": "Notify", "Actions": [{"Name": "Post", "ActionType": "Octopus.Script",
                    "Properties": {"Token": {"HasValue": true, "NewValue": "s3cr3t-in-bundle"}}}]}
            ]
        }))?;
        let err = check(&process, &live()?)
            .err()
            .ok_or("expected a refusal")?;
        let text = format!("{err:#}");
        assert!(
            text.contains("clear 1 sensitive action property of the target")
                && text.contains(
                    "step \"Notify\", action \"Post\", property Token: the bundle carries a value"
                )
                && text.contains("Hint: secrets stay the secure zone's")
                && !text.contains("s3cr3t-in-bundle"),
            "{text}"
        );
        assert!(
            check(
                &bundle("Octopus.Script", json!({}))?,
                &DeploymentProcess {
                    steps: Vec::new(),
                    ..live()?
                }
            )
            .is_ok()
        );
        Ok(())
    }
}
