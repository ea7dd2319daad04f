//! The last line of defence of "no development-zone id ever crosses": after every known
//! reference is named ([`super::references`]), a scan of everything a release folder will
//! carry for values that still look like Octopus resource ids. A field we have never heard of
//! (a new step property, an unknown key in `Inputs`) then refuses the export, naming its JSON
//! path, instead of carrying an id the secure side could take for one of its own.
//!
//! The rule (also in `docs/operator-guide.md`, "Ids that would cross"): a JSON string value or
//! object key is id-shaped when, trimmed, it is
//!
//! - `<Collection>-<digits>` for a collection in [`COLLECTIONS`] (`Feeds-12`, `Accounts-3`,
//!   `ActionTemplates-7`, `Spaces-1`; case as Octopus writes it), or
//! - a composite or fixed id that starts with one of [`PREFIXES`] (ignoring case):
//!   `deploymentprocess-Projects-1`, `variableset-LibraryVariableSets-2`, `feeds-builtin`,
//!   `teams-managers`, ...;
//!
//! or when it is a comma-separated list with such an element (`Teams-1,Teams-2`), or when it
//! is itself JSON (an object or array in a string, as some step properties hold) with such a
//! value inside. `feeds-builtin` counts: the built-in feed travels by name like every other.
//!
//! Not id-shaped: free text that merely mentions an id (`"see Projects-1"`), variable
//! expressions (`#{Octopus.Action.Package.FeedId}`), versions (`1.0.0-rc.1`), names that end
//! in digits but are no Octopus collection (`Payments-2`, `web-01`).

use serde_json::Value;

/// Octopus collections whose documents have ids `<Collection>-<n>`.
pub const COLLECTIONS: &[&str] = &[
    "Accounts",
    "ActionTemplates",
    "ApiKeys",
    "Artifacts",
    "BuildInformation",
    "Certificates",
    "Channels",
    "CommunityActionTemplates",
    "DeploymentFreezes",
    "DeploymentProcesses",
    "Deployments",
    "Environments",
    "Events",
    "Feeds",
    "GitCredentials",
    "GitHubAppConnections",
    "Interruptions",
    "LibraryVariableSets",
    "Lifecycles",
    "MachinePolicies",
    "Machines",
    "ProjectGroups",
    "ProjectTriggers",
    "Projects",
    "Proxies",
    "Releases",
    "RunbookRuns",
    "RunbookSnapshots",
    "Runbooks",
    "ScheduledTriggers",
    "ServerTasks",
    "Spaces",
    "Subscriptions",
    "TagSets",
    "Teams",
    "Tenants",
    "UserRoles",
    "Users",
    "Variables",
    "WorkerPools",
    "Workers",
];

/// Prefixes of composite and fixed ids (matched ignoring case).
pub const PREFIXES: &[&str] = &[
    "deploymentprocess-",
    "variableset-",
    "runbookprocess-",
    "feeds-",
    "teams-",
];

/// A value that looks like an Octopus id, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// JSON path in the document: `$.Steps[0].Actions[1].Properties["X"]`.
    pub path: String,
    /// The id-shaped value (or the key).
    pub value: String,
}

/// Every id-shaped value and key in `value`, in document order.
pub fn find_ids(value: &Value) -> Vec<Leak> {
    let mut found = Vec::new();
    walk(value, &mut "$".to_owned(), &mut found);
    found
}

/// Whether one text is id-shaped (whole, or an element of a comma list), without looking
/// into JSON it may hold.
pub fn is_id_shaped(text: &str) -> bool {
    text.split(',').map(str::trim).any(is_one_id)
}

fn is_one_id(text: &str) -> bool {
    if let Some((collection, number)) = text.rsplit_once('-')
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && COLLECTIONS.contains(&collection)
    {
        return true;
    }
    PREFIXES.iter().any(|prefix| {
        text.len() > prefix.len()
            && text
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
            && !text.contains(char::is_whitespace)
    })
}

fn walk(value: &Value, path: &mut String, found: &mut Vec<Leak>) {
    match value {
        Value::String(text) => check_text(text, path, found),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    path.push('.');
                    path.push_str(key);
                } else {
                    path.push_str(&format!("[{}]", Value::String(key.clone())));
                }
                if is_id_shaped(key) {
                    found.push(Leak {
                        path: format!("{path} (key)"),
                        value: key.clone(),
                    });
                }
                walk(item, path, found);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn check_text(text: &str, path: &mut String, found: &mut Vec<Leak>) {
    if is_id_shaped(text) {
        found.push(Leak {
            path: path.clone(),
            value: text.to_owned(),
        });
        return;
    }
    // JSON in a string (`Octopus.Action.KubernetesContainers.Containers`, ...).
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(inner) = serde_json::from_str::<Value>(text)
    {
        let len = path.len();
        path.push_str(" (JSON) $");
        let mut inner_found = Vec::new();
        walk(&inner, &mut String::new(), &mut inner_found);
        for leak in inner_found {
            found.push(Leak {
                path: format!("{path}{}", leak.path),
                value: leak.value,
            });
        }
        path.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(value: &Value) -> Vec<(String, String)> {
        find_ids(value)
            .into_iter()
            .map(|l| (l.path, l.value))
            .collect()
    }

    #[test]
    fn ids_of_every_kind_are_found_with_their_path() {
        let doc = json!({
            "Steps": [{"Name": "S", "Actions": [
                {"Name": "A", "Properties": {"Octopus.Action.Foo.AccountId": "Accounts-3"}},
                {"Name": "B", "Properties": {"Octopus.Action.Template.Id": "ActionTemplates-7",
                    "Team": "Teams-1, Teams-2", "Feed": " feeds-builtin "},
                 "SomethingNew": {"Deep": [{"Ref": "WorkerPools-5"}, "Spaces-1"]}}
            ]}],
            "Owner": "deploymentprocess-Projects-1",
            "Tenants-4": "a key that is an id",
            "Nested": "{\"Containers\":[{\"FeedId\":\"Feeds-12\"}]}"
        });
        assert_eq!(
            paths(&doc),
            [
                (
                    "$.Nested (JSON) $.Containers[0].FeedId".to_owned(),
                    "Feeds-12".to_owned()
                ),
                (
                    "$.Owner".to_owned(),
                    "deploymentprocess-Projects-1".to_owned()
                ),
                (
                    "$.Steps[0].Actions[0].Properties[\"Octopus.Action.Foo.AccountId\"]".to_owned(),
                    "Accounts-3".to_owned()
                ),
                (
                    "$.Steps[0].Actions[1].Properties.Feed".to_owned(),
                    " feeds-builtin ".to_owned()
                ),
                (
                    "$.Steps[0].Actions[1].Properties[\"Octopus.Action.Template.Id\"]".to_owned(),
                    "ActionTemplates-7".to_owned()
                ),
                (
                    "$.Steps[0].Actions[1].Properties.Team".to_owned(),
                    "Teams-1, Teams-2".to_owned()
                ),
                (
                    "$.Steps[0].Actions[1].SomethingNew.Deep[0].Ref".to_owned(),
                    "WorkerPools-5".to_owned()
                ),
                (
                    "$.Steps[0].Actions[1].SomethingNew.Deep[1]".to_owned(),
                    "Spaces-1".to_owned()
                ),
                ("$[\"Tenants-4\"] (key)".to_owned(), "Tenants-4".to_owned()),
            ]
        );
    }

    #[test]
    fn every_collection_and_prefix_is_id_shaped() {
        for collection in COLLECTIONS {
            assert!(is_id_shaped(&format!("{collection}-1")), "{collection}");
            assert!(is_id_shaped(&format!("{collection}-12345")), "{collection}");
        }
        for id in [
            "variableset-LibraryVariableSets-2",
            "runbookProcess-Runbooks-1",
            "feeds-builtin-releases",
            "teams-managers",
            "Certificates-2,Certificates-3",
        ] {
            assert!(is_id_shaped(id), "{id}");
        }
    }

    #[test]
    fn names_versions_expressions_and_sentences_are_not_ids() {
        let doc = json!({
            "Version": "1.0.0-rc.1",
            "Feed": "#{Octopus.Action.Package.FeedId}",
            "Expression": "#{Feeds-12}x",
            "Notes": "This release fixes the bug seen in Projects-1 last week.",
            "Names": ["Payments-2", "web-01", "Release-1", "projects-1x", "Projects-", "Projects-1a", "Feeds - 1", "teams- x"],
            "Role": "k8s",
            "Json": "{\"not\": \"an id\"}",
            "Broken": "{Feeds-12",
            "Numbers": [1, 2.5, true, null]
        });
        assert_eq!(paths(&doc), Vec::<(String, String)>::new());
    }
}
