//! Tolerant reading (issue 11, point 9): Octopus writes `null` where our types expect a
//! string, a list or a map (an action property whose value was never set, a package reference
//! without a name, a variable scope dimension with no values), and servers since 2022 do so in
//! more places. These read such a `null` as the empty value, so a real payload never fails to
//! decode; what we write back is then the empty value (or, for a property, no property), which
//! Octopus treats as the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::PropertyValue;

/// `null` (or absent, with `#[serde(default)]`) reads as `T::default()`.
pub fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Properties: the map may be `null`, and a property whose value is `null` is left out (a
/// property without a value and an absent one mean the same to Octopus).
pub fn properties<'de, D>(deserializer: D) -> Result<BTreeMap<String, PropertyValue>, D::Error>
where
    D: Deserializer<'de>,
{
    let map = Option::<BTreeMap<String, Option<PropertyValue>>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, value)| Some((key, value?)))
        .collect())
}

/// A variable scope: the map may be `null`, and a dimension whose values are `null` is left
/// out (no values: the dimension does not restrict).
pub fn scope<'de, D>(deserializer: D) -> Result<BTreeMap<String, Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    let map = Option::<BTreeMap<String, Option<Vec<String>>>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, values)| Some((key, values?)))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::resources::{
        DeploymentProcess, Interruption, InterruptionKind, TaskDetails, VariableSet,
    };

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn null_properties_and_null_strings_of_a_process_read() -> TestResult {
        // The shape of a 2024 server's process: nulls where 2020.5 wrote strings or lists.
        let process: DeploymentProcess = serde_json::from_value(json!({
            "Id": "deploymentprocess-Projects-1", "Version": 3, "ProjectId": "Projects-1",
            "Steps": [{"Id": "s1", "Name": "Deploy", "Properties": null, "Condition": "Success",
                "Actions": [{"Id": "a1", "Name": "Deploy", "ActionType": "Octopus.Script",
                    "Environments": null, "ExcludedEnvironments": null, "Channels": null, "TenantTags": null,
                    "Packages": [{"Id": "p1", "Name": null, "PackageId": "Payments.Api", "FeedId": "feeds-builtin", "Properties": null}],
                    "GitDependencies": null, "Container": {"Image": null, "FeedId": null},
                    "Properties": {"Octopus.Action.Script.ScriptBody": "echo hi", "Octopus.Action.RunOnServer": null,
                        "Secret": {"HasValue": true, "NewValue": null}}}]}]
        }))?;
        let action = &process.steps[0].actions[0];
        assert!(process.steps[0].properties.is_empty());
        assert!(action.environments.is_empty() && action.channels.is_empty());
        assert_eq!(action.packages[0].name, "");
        assert_eq!(action.properties.len(), 2, "{:?}", action.properties);
        assert!(!action.properties.contains_key("Octopus.Action.RunOnServer"));
        // Unknown fields, nulls included, round-trip unchanged.
        let written = serde_json::to_value(action)?;
        assert_eq!(written["GitDependencies"], json!(null));
        assert_eq!(written["TenantTags"], json!(null));
        assert_eq!(written["Container"], json!({"Image": null, "FeedId": null}));
        Ok(())
    }

    #[test]
    fn null_values_names_and_scopes_of_variables_read() -> TestResult {
        let set: VariableSet = serde_json::from_value(json!({
            "Id": "variableset-Projects-1", "OwnerId": null, "Version": 1,
            "Variables": [{"Id": "v1", "Name": "Empty", "Value": null, "Type": "String", "IsSensitive": false,
                "Scope": {"Environment": null, "Role": ["web"]}, "Description": null, "Prompt": null},
                {"Id": "v2", "Name": "Unscoped", "Value": "1", "Scope": null}],
            "ScopeValues": {"Environments": null, "Machines": [], "Actions": null, "Roles": [], "Channels": null, "TenantTags": [], "Processes": null}
        }))?;
        assert_eq!(set.owner_id, "");
        assert_eq!(set.variables[0].scope.len(), 1);
        assert!(set.variables[1].scope.is_empty());
        Ok(())
    }

    #[test]
    fn interruptions_read_the_type_servers_send_since_2022_3() -> TestResult {
        // OctopusClients `InterruptionResource.Type`; go-octopusdeploy `InterruptionType`.
        let form = json!({"Elements": [{"Name": "Instructions"}, {"Name": "Notes"}, {"Name": "Result"}], "Values": {}});
        let manual: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-1", "Title": "Approve release 1.4.1", "Type": "ManualIntervention", "IsPending": true, "Form": form
        }))?;
        assert_eq!(manual.kind(), InterruptionKind::ManualIntervention);
        // The Type wins over the form.
        let guided: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-2", "Title": "Deploy Payments API", "Type": "GuidedFailure", "IsPending": true,
            "Form": {"Elements": [{"Name": "Notes"}, {"Name": "Result"}], "Values": {}}
        }))?;
        assert_eq!(guided.kind(), InterruptionKind::GuidedFailure);
        let newer: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-3", "Title": "Waiting for pull request", "Type": "PullRequestCompletion", "IsPending": true,
            "Form": null, "CorrelationId": null, "TaskId": null
        }))?;
        assert_eq!(
            newer.kind(),
            InterruptionKind::Other("PullRequestCompletion".to_owned())
        );
        assert_eq!(
            newer.kind().to_string(),
            "PullRequestCompletion interruption"
        );
        // Before 2022.3: no Type, the form tells.
        let old: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-4", "Title": null, "IsPending": true,
            "Form": {"Elements": [{"Name": "Guidance"}], "Values": {}}
        }))?;
        assert_eq!(old.kind(), InterruptionKind::GuidedFailure);
        assert_eq!(old.title, "");
        // Before 2022.3, a real server's guided failure, told by its title as OctopusClients
        // does when `Type` is absent.
        let titled: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-5", "Title": "The deployment requires failure guidance", "IsPending": true,
            "Form": {"Elements": [{"Name": "Notes"}, {"Name": "Result"}], "Values": {}}
        }))?;
        assert_eq!(titled.kind(), InterruptionKind::GuidedFailure);
        Ok(())
    }

    #[test]
    fn activity_trees_with_null_names_and_children_read() -> TestResult {
        let details: TaskDetails = serde_json::from_value(json!({
            "Task": {"Id": "ServerTasks-1", "State": "Executing"},
            "ActivityLogs": [{"Name": "Deploy", "Status": "Running", "Children": [
                {"Name": null, "Status": "Pending", "Children": null}]}]
        }))?;
        assert_eq!(details.activity_logs[0].children[0].name, "");
        Ok(())
    }
}
