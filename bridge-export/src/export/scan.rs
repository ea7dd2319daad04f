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
