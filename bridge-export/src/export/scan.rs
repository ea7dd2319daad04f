//! The final export-time scan (issue 11, "no development-zone id ever crosses"): once every
//! reference Zonebridge knows has been named, anything left in the release folder that looks
//! like an Octopus resource id ([`octopus_api::names::leak`]) refuses the export (`id-leak`),
//! naming each file and JSON path, so a field nobody has heard of cannot carry an id silently.

use bridge_cli::failure::Refused;
use octopus_api::names::leak::{Leak, find_ids};
use serde_json::{Value, json};

use super::fetch::Fetched;

/// How many places a refusal names before "and N more".
const SHOWN: usize = 20;

/// Every id-shaped value of the release folder `fetched` becomes, as `(file, leak)`: the
/// process, each variable set, the release description, the secrets' scopes and every other
/// document (the files are named as `folder::write` names them).
pub fn find(fetched: &Fetched) -> Vec<(String, Leak)> {
    let mut documents: Vec<(String, Value)> = Vec::new();
    documents.push(("process.json".to_owned(), json_of(&fetched.process)));
    for (index, set) in fetched.variables.iter().enumerate() {
        let name = if index == 0 {
            "variables/project.json".to_owned()
        } else {
            format!("variables/library-{index}.json")
        };
        documents.push((name, json_of(set)));
    }
    for document in &fetched.documents {
        documents.push((document.file.to_owned(), document.json.clone()));
    }
    if let Some(notes) = &fetched.notes {
        documents.push(("notes.md".to_owned(), Value::String(notes.clone())));
    }
    let secrets: Vec<Value> = fetched
        .secrets
        .iter()
        .map(|s| json!({"owner": s.owner, "name": s.name, "scope": s.scope}))
        .collect();
    documents.push(("release.toml secrets".to_owned(), Value::Array(secrets)));
    documents
        .into_iter()
        .flat_map(|(file, value)| {
            find_ids(&value)
                .into_iter()
                .map(move |leak| (file.clone(), leak))
        })
        .collect()
}

/// Refuses (`id-leak`) if [`find`] finds anything.
pub fn refuse_ids(fetched: &Fetched) -> anyhow::Result<()> {
    let found = find(fetched);
    if found.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = found
        .iter()
        .take(SHOWN)
        .map(|(file, leak)| format!("{file} {}: {:?}", leak.path, leak.value))
        .collect();
    let mut message = format!(
        "release {} of {} still holds {} value(s) shaped like development-zone Octopus ids after every known reference was named; nothing was written:",
        bridge_cli::safe::Shown(&fetched.version),
        bridge_cli::safe::Shown(&fetched.project),
        found.len()
    );
    message.push_str(&bridge_cli::safe::bullets(&lines));
    if found.len() > SHOWN {
        message.push_str(&format!(
            "\n  and {} more",
            found.len().saturating_sub(SHOWN)
        ));
    }
    message.push_str("\nHint: these fields refer to resources Zonebridge does not know how to name yet; change the step to refer to them through a variable expression (#{...}) or remove the field, and report the field so that it can be named");
    Err(Refused {
        code: "id-leak",
        message,
    }
    .into())
}

/// The named model as JSON (strings and maps with string keys: cannot fail).
fn json_of(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use octopus_api::names::{NamedProcess, NamedVariableSet, SecretRequirement};
    use serde_json::json;

    use super::*;
    use crate::export::fetch::Document;

    fn fetched() -> Result<Fetched, serde_json::Error> {
        Ok(Fetched {
            project: "Payments API".into(),
            version: "1.4.1".into(),
            channel: "Default".into(),
            notes: Some("Fixes the timeout seen with Projects-1 last week.".into()),
            process: serde_json::from_value::<NamedProcess>(json!({
                "Project": "Payments API",
                "Steps": [{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.Script",
                    "Properties": {"Octopus.Action.Package.FeedId": "#{Octopus.Action.Package.FeedId}"}}]}]
            }))?,
            variables: vec![serde_json::from_value::<NamedVariableSet>(json!({
                "OwnerType": "Project", "Owner": "Payments API",
                "Variables": [{"Name": "Release", "Value": "1.0.0-rc.1", "Scope": {"Role": ["web-01"]}}]
            }))?],
            secrets: Vec::new(),
            packages: Vec::new(),
            documents: Vec::new(),
        })
    }

    #[test]
    fn a_clean_release_passes() -> Result<(), Box<dyn std::error::Error>> {
        let clean = fetched()?;
        assert!(find(&clean).is_empty(), "{:?}", find(&clean));
        refuse_ids(&clean)?;
        Ok(())
    }

    #[test]
    fn ids_in_every_carried_document_are_named_by_file_and_path()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut leaky = fetched()?;
        leaky.process.steps[0].actions[0].other.insert(
            "SomethingNew".into(),
            json!({"Refs": ["ok", "LibraryVariableSets-2"]}),
        );
        leaky.variables[0].variables[0].value = Some("Environments-9,Environments-10".into());
        leaky.documents.push(Document {
            file: "tenants.json",
            json: json!({"Tenants": [{"Name": "Acme", "Id": "Tenants-4"}]}),
        });
        leaky.notes = Some("Spaces-1".into());
        leaky.secrets.push(SecretRequirement {
            owner: "Payments API".into(),
            name: "Db.Password".into(),
            kind: "Sensitive".into(),
            scope: BTreeMap::from([("Tenant".to_owned(), vec!["Tenants-7".to_owned()])]),
        });
        let found: Vec<(String, String, String)> = find(&leaky)
            .into_iter()
            .map(|(file, leak)| (file, leak.path, leak.value))
            .collect();
        let expected = [
            (
                "process.json",
                "$.Steps[0].Actions[0].SomethingNew.Refs[1]",
                "LibraryVariableSets-2",
            ),
            (
                "variables/project.json",
                "$.Variables[0].Value",
                "Environments-9,Environments-10",
            ),
            ("tenants.json", "$.Tenants[0].Id", "Tenants-4"),
            ("notes.md", "$", "Spaces-1"),
            ("release.toml secrets", "$[0].scope.Tenant[0]", "Tenants-7"),
        ];
        assert_eq!(
            found,
            expected.map(|(f, p, v)| (f.to_owned(), p.to_owned(), v.to_owned()))
        );
        let err = refuse_ids(&leaky).err().ok_or("expected a refusal")?;
        let refused = err.downcast_ref::<Refused>().ok_or("not a refusal")?;
        assert_eq!(refused.code, "id-leak");
        assert!(refused.message.contains(
            "- process.json $.Steps[0].Actions[0].SomethingNew.Refs[1]: \"LibraryVariableSets-2\""
        ), "{}", refused.message);
        assert!(
            refused.message.contains("still holds 5 value(s)"),
            "{}",
            refused.message
        );
        Ok(())
    }
}
