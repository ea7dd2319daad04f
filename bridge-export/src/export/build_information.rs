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
    let entries: Vec<Value> = match release.other.get("BuildInformation") {
        Some(Value::Array(shown)) => shown.clone(),
        Some(Value::Null) | None => from_feed(client, packages)?,
        Some(other) => {
            return Err(anyhow::anyhow!(
                "release {} has a BuildInformation that is not a list: {}",
                release.version,
                bridge_cli::safe::Shown(&other.to_string())
            ));
        }
    };
    let mut document = BuildInformationDocument::default();
    let mut stripped = Vec::new();
    for entry in &entries {
        let (named, removed) =
            PackageBuildInformation::from_release_entry(entry).with_context(|| {
                format!(
                    "the build information of release {} is not of the form Octopus describes",
                    release.version
                )
            })?;
        stripped.extend(removed);
        document.packages.push(named);
    }
    if document.packages.is_empty() {
        return Ok(None);
    }
    if !stripped.is_empty() {
        eprintln!(
            "warning: build information: credentials (user:password@) removed from the URLs of{}",
            bridge_cli::safe::bullets(&stripped)
        );
    }
    document.validate().map_err(|err| Refused {
        code: "build-information-invalid",
        message: format!(
            "the build information of release {} cannot travel: {}\nHint: push smaller build information for that package version (OverwriteExisting), create a new release and export that",
            bridge_cli::safe::Shown(&release.version),
            bridge_cli::safe::Shown(&err.to_string())
        ),
    })?;
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

/// The build information of each package version, read from `build-information` (for a
/// release that does not show its own).
fn from_feed(client: &Client, packages: &[(String, String)]) -> anyhow::Result<Vec<Value>> {
    let mut found = Vec::new();
    for (id, version) in packages {
        let records: Vec<Value> = client
            .get_all(&format!("build-information?packageId={}", segment(id)))
            .with_context(|| format!("cannot read the build information of package {id}"))?;
        let record = records.into_iter().find(|r| {
            r.get("Version")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(version))
        });
        if let Some(record) = record
            && !found.contains(&record)
        {
            found.push(record);
        }
    }
    Ok(found)
}
