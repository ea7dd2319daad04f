//! `build-information.json`: the build information of the release's packages, as the release
//! shows it (`BuildInformation`, frozen by the server when the release was created), so the
//! release recreated in the secure zone shows the same.
//!
//! A server that sends no `BuildInformation` field on the release (a proxy or an older API
//! that leaves it out) is asked per package instead: `build-information?packageId=P`, the
//! entry of the selected version. A release whose field is present but empty has none, and
//! none travels: the secure release must show what the development release shows.
//!
//! Credentials in URLs (`https://user:token@ci.example/...`, which CI systems write into
//! `VcsRoot` and `BuildUrl`) are removed before the document is written, and the export says
//! which fields it removed them from: nothing secret travels.

use anyhow::Context as _;
use bridge_cli::failure::Refused;
use octopus_api::names::build_information::{MAX_DOCUMENT_BYTES, PackageBuildInformation};
use octopus_api::names::{BUILD_INFORMATION_DOCUMENT, BuildInformationDocument};
use octopus_api::resources::Release;
use octopus_api::{Client, segment};
use serde_json::Value;

use super::fetch::Document;

/// `build-information.json` for `release`, whose selected packages are `packages` (id and
/// version, built-in and external feeds alike); `None` when none has build information.
pub fn document(
    client: &Client,
    release: &Release,
    packages: &[(String, String)],
) -> anyhow::Result<Option<Document>> {
    let built = build(
        &release.version,
        release.other.get("BuildInformation"),
        packages,
        |id| {
            client
                .get_all(&format!("build-information?packageId={}", segment(id)))
                .with_context(|| format!("cannot read the build information of package {id}"))
        },
    )?;
    let Some((document, stripped)) = built else {
        return Ok(None);
    };
    if !stripped.is_empty() {
        eprintln!(
            "warning: build information: credentials (user:password@) removed from the URLs of{}",
            bridge_cli::safe::bullets(&stripped)
        );
    }
    let json = serde_json::to_value(&document).context("cannot encode build-information.json")?;
    let size = json.to_string().len() as u64;
    if size > MAX_DOCUMENT_BYTES {
        return Err(Refused {
            code: "build-information-invalid",
            message: format!(
                "the build information of release {} is {size} bytes; at most {MAX_DOCUMENT_BYTES} travel\nHint: push smaller build information for its package versions (OverwriteExisting), create a new release and export that",
                bridge_cli::safe::Shown(&release.version)
            ),
        }
        .into());
    }
    Ok(Some(Document {
        file: BUILD_INFORMATION_DOCUMENT,
        json,
    }))
}

/// The document from what release `version` shows (`shown`, its `BuildInformation` field), or,
/// when it has no such field, from `records` (a package id's build information records) for
/// each of `packages`; with the fields credentials were stripped from. `None` when there is
/// no build information.
fn build(
    version: &str,
    shown: Option<&Value>,
    packages: &[(String, String)],
    mut records: impl FnMut(&str) -> anyhow::Result<Vec<Value>>,
) -> anyhow::Result<Option<(BuildInformationDocument, Vec<String>)>> {
    let entries: Vec<Value> = match shown {
        Some(Value::Array(shown)) => shown.clone(),
        Some(Value::Null) | None => {
            let mut found = Vec::new();
            for (id, wanted) in packages {
                let record = records(id)?.into_iter().find(|r| {
                    r.get("Version")
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case(wanted))
                });
                if let Some(record) = record
                    && !found.contains(&record)
                {
                    found.push(record);
                }
            }
            found
        }
        Some(other) => {
            return Err(anyhow::anyhow!(
                "release {version} has a BuildInformation that is not a list: {}",
                bridge_cli::safe::Shown(&other.to_string())
            ));
        }
    };
    let mut document = BuildInformationDocument::default();
    let mut stripped = Vec::new();
    for entry in &entries {
        let (named, removed) =
            PackageBuildInformation::from_release_entry(entry).with_context(|| {
                format!("the build information of release {version} is not of the form Octopus describes")
            })?;
        stripped.extend(removed);
        document.packages.push(named);
    }
    if document.packages.is_empty() {
        return Ok(None);
    }
    document.validate().map_err(|err| Refused {
        code: "build-information-invalid",
        message: format!(
            "the build information of release {} cannot travel: {}\nHint: push smaller build information for that package version (OverwriteExisting), create a new release and export that",
            bridge_cli::safe::Shown(&version),
            bridge_cli::safe::Shown(&err.to_string())
        ),
    })?;
    Ok(Some((document, stripped)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(package: &str, version: &str, build: &str) -> Value {
        json!({"Id": "BuildInformation-1", "PackageId": package, "Version": version, "BuildNumber": build,
               "BuildUrl": "https://bot:t0k3n@ci.example/runs/1", "Commits": [], "WorkItems": [],
               "Links": {"Self": "/api/Spaces-1/build-information/BuildInformation-1"}})
    }

    fn packages() -> Vec<(String, String)> {
        vec![
            ("Payments.Api".into(), "1.4.1".into()),
            ("Payments.Migrations".into(), "1.4.1".into()),
        ]
    }

    #[test]
    fn the_release_field_is_used_as_it_is_and_nothing_is_looked_up() -> anyhow::Result<()> {
        let shown = json!([record("Payments.Api", "1.4.1", "288")]);
        let built = build("1.4.1", Some(&shown), &packages(), |_| {
            Err(anyhow::anyhow!(
                "looked up although the release shows its own"
            ))
        })?;
        let (document, stripped) = built.ok_or_else(|| anyhow::anyhow!("no document"))?;
        assert_eq!(document.packages.len(), 1);
        assert_eq!(document.packages[0].build_number.as_deref(), Some("288"));
        assert_eq!(
            document.packages[0].build_url.as_deref(),
            Some("https://ci.example/runs/1")
        );
        assert_eq!(stripped, ["Payments.Api 1.4.1: BuildUrl"]);
        // An empty list: the release shows none, and none travels.
        let none = build("1.4.1", Some(&json!([])), &packages(), |_| {
            Err(anyhow::anyhow!("looked up although the release shows none"))
        })?;
        assert!(none.is_none());
        Ok(())
    }

    #[test]
    fn without_the_field_each_package_version_is_looked_up() -> anyhow::Result<()> {
        let mut asked = Vec::new();
        let built = build("1.4.1", None, &packages(), |id| {
            asked.push(id.to_owned());
            Ok(match id {
                "Payments.Api" => vec![
                    record("Payments.Api", "1.5.0", "300"),
                    record("Payments.Api", "1.4.1", "288"),
                ],
                _ => vec![record("Payments.Migrations", "1.4.0", "280")],
            })
        })?;
        assert_eq!(asked, ["Payments.Api", "Payments.Migrations"]);
        let (document, _) = built.ok_or_else(|| anyhow::anyhow!("no document"))?;
        assert_eq!(document.packages.len(), 1, "{document:?}");
        assert_eq!(document.packages[0].build_number.as_deref(), Some("288"));
        Ok(())
    }

    #[test]
    fn a_malformed_or_oversized_field_is_refused() {
        let not_a_list = build("1.4.1", Some(&json!({"PackageId": "A"})), &[], |_| {
            Ok(vec![])
        });
        assert!(not_a_list.is_err());
        let wrong_type = build(
            "1.4.1",
            Some(&json!([{"PackageId": "A", "Version": 7}])),
            &[],
            |_| Ok(vec![]),
        );
        assert!(wrong_type.is_err());
        let commits: Vec<Value> = (0..1001).map(|i| json!({"Id": format!("c{i}")})).collect();
        let huge = build(
            "1.4.1",
            Some(&json!([{"PackageId": "A", "Version": "1.0.0", "Commits": commits}])),
            &[],
            |_| Ok(vec![]),
        );
        let refused = huge.err().and_then(|e| e.downcast::<Refused>().ok());
        assert_eq!(refused.map(|r| r.code), Some("build-information-invalid"));
    }
}
