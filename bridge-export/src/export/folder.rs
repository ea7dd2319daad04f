//! Writing a fetched release as a release folder (bundle spec 13): `release.toml`,
//! `process.json`, `variables/*.json`, the other documents (`files`), `notes.md`; packages are
//! already in `packages/`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::fetch::Fetched;

#[derive(Serialize)]
struct ReleaseToml<'a> {
    project: &'a str,
    version: &'a str,
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes_file: Option<&'a str>,
    process: &'a str,
    variables: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<&'a str>,
    packages: Vec<PackageToml<'a>>,
    secrets: Vec<SecretToml<'a>>,
}

#[derive(Serialize)]
struct PackageToml<'a> {
    id: &'a str,
    version: &'a str,
    file: &'a str,
}

#[derive(Serialize)]
struct SecretToml<'a> {
    owner: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    scope: &'a BTreeMap<String, Vec<String>>,
}

/// Writes the release folder's files into `folder` (which already holds `packages/`).
pub fn write(fetched: &Fetched, folder: &Path) -> anyhow::Result<()> {
    let write_file = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = folder.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write_file("process.json", &json_bytes(&fetched.process)?)?;
    let mut variables = Vec::new();
    for (index, set) in fetched.variables.iter().enumerate() {
        let name = if index == 0 {
            "variables/project.json".to_owned()
        } else {
            format!("variables/library-{index}.json")
        };
        write_file(&name, &json_bytes(set)?)?;
        variables.push(name);
    }
    for document in &fetched.documents {
        write_file(document.file, &json_bytes(&document.json)?)?;
    }
    if let Some(notes) = &fetched.notes {
        write_file("notes.md", notes.as_bytes())?;
    }
    let toml = ReleaseToml {
        project: &fetched.project,
        version: &fetched.version,
        channel: &fetched.channel,
        notes_file: fetched.notes.as_ref().map(|_| "notes.md"),
        process: "process.json",
        variables,
        files: fetched.documents.iter().map(|d| d.file).collect(),
        packages: fetched
            .packages
            .iter()
            .map(|p| PackageToml {
                id: &p.id,
                version: &p.version,
                file: &p.file,
            })
            .collect(),
        secrets: fetched
            .secrets
            .iter()
            .map(|s| SecretToml {
                owner: &s.owner,
                name: &s.name,
                kind: &s.kind,
                scope: &s.scope,
            })
            .collect(),
    };
    let text = toml::to_string(&toml).context("cannot write release.toml")?;
    write_file("release.toml", text.as_bytes())
}

fn json_bytes(value: &impl Serialize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("cannot encode JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}
