//! The client's types against the payload fixtures: each fixture deserialises into its type
//! and serialises back to the same JSON (nulls aside), so no field is misnamed or lost.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use octopus_api::ErrorBody;
use octopus_api::resources::{
    Collection, Deployment, DeploymentProcess, PropertyValue, Release, RootDocument, Task,
    VariableSet,
};

use crate::harness::{TestResult, fixtures};

fn read(name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(fixtures().join(name))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    Ok(serde_json::from_slice(bytes)?)
}

/// Drops null members, which Octopus and the types may write or leave out alike.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(
    name: &str,
) -> Result<T, Box<dyn std::error::Error>> {
    let original = read(name)?;
    let typed: T = serde_json::from_value(original.clone())?;
    let again = serde_json::to_value(&typed)?;
    assert_eq!(
        without_nulls(again),
        without_nulls(original),
        "{name} does not round-trip"
    );
    Ok(typed)
}

#[test]
fn payload_fixtures_round_trip_through_the_types() -> TestResult {
    let root: RootDocument = round_trip("api-root.2019.7.12.json")?;
    assert_eq!(root.application, "Octopus Deploy");
    let task: Task = round_trip("task.json")?;
    assert_eq!((task.state.as_str(), task.is_completed), ("Success", true));
    let process: DeploymentProcess = round_trip("deployment-process.json")?;
    let action = process
        .steps
        .first()
        .and_then(|s| s.actions.first())
        .ok_or("no action")?;
    assert_eq!(
        action.packages.first().map(|p| p.feed_id.as_str()),
        Some("feeds-builtin")
    );
    assert!(
        matches!(action.properties.get("Octopus.Action.WindowsService.StartMode"), Some(PropertyValue::Text(t)) if t == "auto")
    );
    let variables: VariableSet = round_trip("variable-set.json")?;
    let secret = variables
        .variables
        .iter()
        .find(|v| v.is_sensitive)
        .ok_or("no sensitive variable")?;
    assert_eq!(
        (secret.kind.as_deref(), secret.value.as_deref()),
        (Some("Sensitive"), None)
    );
    let scoped: VariableSet = round_trip("variable-set.scope-values.json")?;
    assert!(
        scoped
            .scope_values
            .is_some_and(|s| !s.environments.is_empty())
    );
    let release: Release = round_trip("release.json")?;
    assert_eq!(release.selected_packages.len(), 2);
    assert_eq!(release.library_variable_set_snapshot_ids.len(), 3);
    let deployment: Deployment = round_trip("deployment.json")?;
    assert_eq!(deployment.task_id.as_deref(), Some("ServerTasks-36069"));
    let tasks: Collection<Task> = round_trip("task-list.page0.json")?;
    assert_eq!((tasks.items.len(), tasks.total_results), (30, 139));
    assert!(tasks.links.contains_key("Page.Next"));
    let branches: Collection<Value> = round_trip("paged-collection.git-branches.json")?;
    assert!(!branches.links.contains_key("Page.Next"));
    Ok(())
}

#[test]
fn error_fixtures_read_as_error_bodies() -> TestResult {
    let plain: ErrorBody = serde_json::from_value(read("error.json")?)?;
    assert!(plain.errors.is_empty());
    let validation: ErrorBody = serde_json::from_value(read("error.400.json")?)?;
    assert_eq!(
        validation.to_string(),
        "There was a problem with your request.; The name field is required; The email address field is required"
    );
    Ok(())
}

#[test]
fn sensitive_properties_read_and_write_in_octopus_wire_form() -> TestResult {
    let value: PropertyValue = serde_json::from_str(r#"{"HasValue": true, "NewValue": null}"#)?;
    assert!(matches!(&value, PropertyValue::Sensitive(s) if s.has_value && s.new_value.is_none()));
    // NewValue is always written: Octopus.Client reads it without a null check.
    assert_eq!(
        serde_json::to_string(&value)?,
        r#"{"HasValue":true,"NewValue":null}"#
    );
    let plain: PropertyValue = serde_json::from_str(r#""True""#)?;
    assert_eq!(plain, PropertyValue::Text("True".into()));
    Ok(())
}
