//! Build information: what a build server says about the build that made a package version
//! (`POST build-information`), kept per package id and version, and shown on that package
//! (`PackageVersionBuildInformation`) and on releases created for it (`BuildInformation`).
//!
//! Rules, from the 2020.5 Swagger spec's `build-information` operations unless noted:
//! - the body is `CreateOctopusBuildInformationCommand`: `PackageId`, `Version`,
//!   `OctopusBuildInformation` {`BuildEnvironment`, `BuildNumber`, `BuildUrl`, `Branch`,
//!   `VcsType`, `VcsRoot`, `VcsCommitNumber`, `Commits` [{`Id`, `Comment`, `LinkUrl`}]}
//!   (Octopus.Server.Extensibility `OctopusBuildInformation.cs`; go-octopusdeploy
//!   `pkg/buildinformation`; api-client `buildInformationRepository.js`); other fields are
//!   dropped as Octopus's deserialiser drops them, a field of the wrong type is a 400;
//! - `overwriteMode` (query, or `OverwriteMode` in the body as go-octopusdeploy sends it):
//!   `FailIfExists` (default) gives 409 "Metadata for the specified Package ID and version
//!   already exists. ..." for a package id and version that has build information,
//!   `OverwriteExisting` replaces it (same `Id`), `IgnoreIfExists` answers the stored one;
//! - the answer is 200 with `OctopusPackageVersionBuildInformationMappedResource` (the
//!   Swagger spec lists only 200), ids `BuildInformation-N`;
//! - a bad package id or version is a 400 "Invalid package metadata" with the Swagger's lines;
//! - `GET build-information` pages, with `packageId` (exact), `filter` (part of the package
//!   id; not both: "Only one of either packageId or filter may be specified.") and `latest`
//!   (the highest version of each package id), the filters of the root document's template
//!   (go-octopusdeploy `build_information_service.go`);
//! - `WorkItems` are derived by a server from the commits through its issue trackers; the
//!   stand-in has none, so they are always `[]`.
//!
//! Stand-in bounds (a 400 naming the bound): at most [`MAX_COMMITS`] commits, a comment of at
//! most [`MAX_COMMENT_CHARS`] characters and any other text of at most [`MAX_TEXT_CHARS`].

use serde_json::{Map, Value, json};

use super::by_package::PackageQuery;
use super::packages::{is_package_id, is_version};
use super::releases;
use super::{MODIFIED_BY, find};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::params::{self, Params};
use crate::store::{Doc, Store, items, now, text};

/// The most commits one build information record keeps.
pub const MAX_COMMITS: usize = 1000;
/// The longest commit comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 16 * 1024;
/// The longest other text (URLs, branch, build number, commit id), in characters.
pub const MAX_TEXT_CHARS: usize = 2048;

/// The 409's text: the Swagger spec's description of the `409` of `POST build-information`.
pub const EXISTS: &str = "Metadata for the specified Package ID and version already exists. To proceed anyway, specify an overwriteMode of OverwriteExisting or IgnoreIfExists.";

/// The fields of `CreateOctopusBuildInformationCommand`.
const COMMAND: &[Field] = &[
    ("PackageId", Ty::Str),
    ("Version", Ty::Str),
    ("OctopusBuildInformation", Ty::Object),
    ("OverwriteMode", Ty::Str),
    ("SpaceId", Ty::Str),
];

/// The text fields of `OctopusBuildInformation`.
const INFORMATION: &[Field] = &[
    ("BuildEnvironment", Ty::Str),
    ("BuildNumber", Ty::Str),
    ("BuildUrl", Ty::Str),
    ("Branch", Ty::Str),
    ("VcsType", Ty::Str),
    ("VcsRoot", Ty::Str),
    ("VcsCommitNumber", Ty::Str),
    ("Commits", Ty::Array),
];

/// The fields of a commit (`CommitDetails`).
const COMMIT: &[Field] = &[("Id", Ty::Str), ("Comment", Ty::Str), ("LinkUrl", Ty::Str)];

/// The fields a release shows per package (`ReleasePackageVersionBuildInformationResource`).
const ON_RELEASE: &[&str] = &[
    "PackageId",
    "Version",
    "BuildEnvironment",
    "BuildNumber",
    "BuildUrl",
    "Branch",
    "VcsType",
    "VcsRoot",
    "VcsCommitNumber",
    "VcsCommitUrl",
    "IssueTrackerName",
    "WorkItems",
    "Commits",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fail,
    Replace,
    Ignore,
}

fn mode(given: Option<&str>) -> ApiResult<Mode> {
    match given {
        None => Ok(Mode::Fail),
        Some(m) if m.eq_ignore_ascii_case("FailIfExists") => Ok(Mode::Fail),
        Some(m) if m.eq_ignore_ascii_case("OverwriteExisting") => Ok(Mode::Replace),
        Some(m) if m.eq_ignore_ascii_case("IgnoreIfExists") => Ok(Mode::Ignore),
        Some(other) => Err(ApiError::invalid(format!(
            "overwriteMode '{other}' is not one of FailIfExists, OverwriteExisting, IgnoreIfExists."
        ))),
    }
}

/// `POST /api/{space}/build-information`.
pub fn create(store: &mut Store, space: &str, body: &Value, params: &Params) -> ApiResult<Doc> {
    let command = fields::take(body, COMMAND)?;
    let mode = mode(
        params
            .get("overwriteMode")
            .or(text(&command, "OverwriteMode")),
    )?;
    let package_id = text(&command, "PackageId").unwrap_or("").trim().to_owned();
    let version = text(&command, "Version").unwrap_or("").trim().to_owned();
    let mut problems = Vec::new();
    if !is_package_id(&package_id) {
        problems.push("The package ID contains invalid characters. Examples of valid package IDs include 'MyPackage' and 'MyPackage.Sample'.".to_owned());
    }
    if !is_version(&version) {
        problems.push(
            "The version is invalid. Please supply a valid semver version number.".to_owned(),
        );
    }
    if !problems.is_empty() {
        return Err(ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            message: "Invalid package metadata".to_owned(),
            errors: problems,
        });
    }
    let information = command
        .get("OctopusBuildInformation")
        .filter(|v| !v.is_null())
        .ok_or_else(|| ApiError::invalid("The OctopusBuildInformation field is required."))?;
    let mut doc = read_information(information)?;
    let existing = of_package(store, &package_id, &version).cloned();
    let (id, created) = match (&existing, mode) {
        (Some(_), Mode::Fail) => return Err(ApiError::conflict(EXISTS)),
        (Some(old), Mode::Ignore) => return Ok(old.clone()),
        (Some(old), Mode::Replace) => (
            text(old, "Id").unwrap_or("").to_owned(),
            old.get("Created").cloned().unwrap_or(Value::Null),
        ),
        (None, _) => (store.next_id(Kind::BuildInformation), json!(now())),
    };
    doc.insert("PackageId".into(), json!(package_id));
    doc.insert("Version".into(), json!(version));
    doc.insert("Id".into(), json!(id));
    doc.insert("Created".into(), created);
    doc.insert("LastModifiedOn".into(), json!(now()));
    doc.insert("LastModifiedBy".into(), json!(MODIFIED_BY));
    doc.insert(
        "Links".into(),
        json!({ "Self": format!("/api/{space}/build-information/{id}") }),
    );
    store.put(Kind::BuildInformation, doc.clone());
    Ok(doc)
}

/// `OctopusBuildInformation` as the mapped resource's fields, bounded and typed.
fn read_information(information: &Value) -> ApiResult<Doc> {
    let taken = fields::take(information, INFORMATION)?;
    let mut doc = Doc::new();
    for (name, _) in INFORMATION.iter().filter(|(_, ty)| *ty == Ty::Str) {
        let value = text(&taken, name);
        bounded(
            &format!("OctopusBuildInformation.{name}"),
            value,
            MAX_TEXT_CHARS,
        )?;
        doc.insert((*name).into(), json!(value));
    }
    let commits: Vec<&Value> = items(&taken, "Commits").collect();
    if commits.len() > MAX_COMMITS {
        return Err(ApiError::invalid(format!(
            "OctopusBuildInformation.Commits has {} commits; the stand-in keeps at most {MAX_COMMITS}.",
            commits.len()
        )));
    }
    let root = text(&doc, "VcsRoot").map(str::to_owned);
    let git = text(&doc, "VcsType").is_some_and(|t| t.eq_ignore_ascii_case("Git"));
    let link = |sha: &str| git.then(|| commit_url(root.as_deref(), sha)).flatten();
    let mut kept = Vec::new();
    for (i, commit) in commits.into_iter().enumerate() {
        let c = fields::take(commit, COMMIT)?;
        let id = text(&c, "Id");
        bounded(
            &format!("OctopusBuildInformation.Commits[{i}].Id"),
            id,
            MAX_TEXT_CHARS,
        )?;
        bounded(
            &format!("OctopusBuildInformation.Commits[{i}].Comment"),
            text(&c, "Comment"),
            MAX_COMMENT_CHARS,
        )?;
        bounded(
            &format!("OctopusBuildInformation.Commits[{i}].LinkUrl"),
            text(&c, "LinkUrl"),
            MAX_TEXT_CHARS,
        )?;
        let link_url = text(&c, "LinkUrl")
            .map(str::to_owned)
            .or_else(|| id.and_then(link));
        kept.push(json!({"Id": id, "LinkUrl": link_url, "Comment": text(&c, "Comment")}));
    }
    let commit_link = text(&doc, "VcsCommitNumber").and_then(link);
    doc.insert("VcsCommitUrl".into(), json!(commit_link));
    doc.insert("Commits".into(), Value::Array(kept));
    doc.insert("WorkItems".into(), json!([]));
    doc.insert("IssueTrackerName".into(), Value::Null);
    doc.insert("IncompleteDataWarning".into(), Value::Null);
    Ok(doc)
}

/// Refuses a text longer than `limit` characters, naming the field and the bound.
fn bounded(field: &str, value: Option<&str>, limit: usize) -> ApiResult<()> {
    match value.map(|v| v.chars().count()) {
        Some(n) if n > limit => Err(ApiError::invalid(format!(
            "{field} is {n} characters long; the stand-in keeps at most {limit}."
        ))),
        _ => Ok(()),
    }
}

/// The web link of a commit of a Git repository served over HTTP(S), in the form GitHub,
/// GitLab and Bitbucket share (`<root>/commit/<sha>`); none for other roots. Off-spec: the
/// stand-in's choice of link, where Octopus asks its issue-tracker and VCS extensions.
fn commit_url(root: Option<&str>, sha: &str) -> Option<String> {
    let root = root?.trim_end_matches('/');
    let root = root.strip_suffix(".git").unwrap_or(root);
    (root.starts_with("https://") || root.starts_with("http://"))
        .then(|| format!("{root}/commit/{sha}"))
}

/// The build information of a package id and version (ids compared without case).
pub fn of_package<'a>(store: &'a Store, package_id: &str, version: &str) -> Option<&'a Doc> {
    store.all(Kind::BuildInformation).iter().find(|d| {
        text(d, "PackageId").is_some_and(|p| p.eq_ignore_ascii_case(package_id))
            && text(d, "Version").is_some_and(|v| v.eq_ignore_ascii_case(version))
    })
}

/// `GET /api/{space}/build-information`: one page, newest version first per package id.
pub fn list(store: &Store, path: &str, params: &Params) -> ApiResult<Value> {
    let query = PackageQuery::from_params(params, "packageId")?;
    let mut docs: Vec<Doc> = store
        .all(Kind::BuildInformation)
        .iter()
        .filter(|d| query.matches(d))
        .cloned()
        .collect();
    query.order(&mut docs);
    params::page(Kind::BuildInformation, path, docs, params)
}

/// `DELETE /api/{space}/build-information/{id}`.
pub fn delete(store: &mut Store, space: &str, id: &str) -> ApiResult<()> {
    let id = text(find(store, Kind::BuildInformation, space, id)?, "Id")
        .unwrap_or(id)
        .to_owned();
    store.remove(Kind::BuildInformation, &id);
    Ok(())
}

/// `DELETE /api/{space}/build-information/bulk?ids=a,b`: every id must exist, or nothing is
/// deleted.
pub fn delete_bulk(store: &mut Store, space: &str, params: &Params) -> ApiResult<()> {
    let ids = params
        .list("ids")
        .filter(|ids| !ids.is_empty())
        // The Swagger spec's description of this operation's 400.
        .ok_or_else(|| ApiError::invalid("No ids parameter was provided."))?;
    for id in &ids {
        find(store, Kind::BuildInformation, space, id)?;
    }
    for id in &ids {
        store.remove(Kind::BuildInformation, id);
    }
    Ok(())
}

/// What a release created now shows as `BuildInformation`: one entry per distinct package id
/// and version the release selects (through `process`, its snapshot) that has build
/// information, in process order. A copy, so later pushes do not change the release.
pub fn for_release(store: &Store, process: &Doc, selected: &[Value]) -> Vec<Value> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for step in items(process, "Steps") {
        for action in items(step, "Actions") {
            let action_name = action.get("Name").and_then(Value::as_str).unwrap_or("");
            for package in items(action, "Packages") {
                let (reference, package_id) = releases::package_reference(package);
                let Some(version) = releases::selected_version(selected, action_name, reference)
                else {
                    continue;
                };
                let key = (package_id.to_lowercase(), version.to_lowercase());
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                if let Some(info) = of_package(store, package_id, version) {
                    let entry: Map<String, Value> = ON_RELEASE
                        .iter()
                        .map(|f| {
                            (
                                (*f).to_owned(),
                                info.get(*f).cloned().unwrap_or(Value::Null),
                            )
                        })
                        .collect();
                    out.push(Value::Object(entry));
                }
            }
        }
    }
    out
}

/// A package document with its `PackageVersionBuildInformation` (null when none was pushed).
pub fn on_package(store: &Store, mut package: Doc) -> Doc {
    let info = of_package(
        store,
        text(&package, "PackageId").unwrap_or(""),
        text(&package, "Version").unwrap_or(""),
    )
    .cloned()
    .map_or(Value::Null, Value::Object);
    package.insert("PackageVersionBuildInformation".into(), info);
    package
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_links_are_made_for_http_git_roots_only() {
        let cases = [
            (
                Some("https://github.com/acme/payments.git"),
                Some("https://github.com/acme/payments/commit/abc"),
            ),
            (
                Some("https://gitlab.example/acme/payments/"),
                Some("https://gitlab.example/acme/payments/commit/abc"),
            ),
            (Some("git@github.com:acme/payments.git"), None),
            (Some("file:///srv/repo"), None),
            (None, None),
        ];
        for (root, want) in cases {
            assert_eq!(commit_url(root, "abc").as_deref(), want, "{root:?}");
        }
    }

    #[test]
    fn overwrite_modes_parse_without_case_and_refuse_others() {
        assert_eq!(mode(None).ok(), Some(Mode::Fail));
        assert_eq!(mode(Some("overwriteexisting")).ok(), Some(Mode::Replace));
        assert_eq!(mode(Some("IgnoreIfExists")).ok(), Some(Mode::Ignore));
        assert!(mode(Some("Replace")).is_err());
    }
}
