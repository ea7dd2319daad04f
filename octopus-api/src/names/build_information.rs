//! `build-information.json`: what the development server knows of the builds that made the
//! release's packages (bundle spec 13, release documents), so that the release recreated in
//! the secure zone shows the same `BuildInformation`.
//!
//! ```text
//! export: release.BuildInformation (frozen when it was created)   ──┐
//!         or, when the release has no such field,                   ├─> strip user:pass@ ─> build-information.json
//!         GET build-information?packageId=P (version V)            ──┘
//! import: build-information.json ─> validate (bounds, shape, no credentials in URLs)
//!         ─> POST build-information?overwriteMode=FailIfExists, before the packages and the release
//! ```
//!
//! ```json
//! {"Packages": [{"PackageId": "Payments.Api", "Version": "1.4.0", "BuildEnvironment": "GitHub Actions",
//!   "BuildNumber": "288", "BuildUrl": "https://ci.example/runs/288", "Branch": "main",
//!   "VcsType": "Git", "VcsRoot": "https://github.com/acme/payments", "VcsCommitNumber": "314cf2c3",
//!   "VcsCommitUrl": "https://github.com/acme/payments/commit/314cf2c3",
//!   "Commits": [{"Id": "314cf2c3", "Comment": "PAY-12 retry", "LinkUrl": null}], "WorkItems": []}]}
//! ```
//!
//! The shape is strict (unknown fields refused), every length bounded, and no URL may carry
//! credentials (`scheme://user:pass@host`): the document is the development zone's CI talking
//! to the secure zone, and it holds nothing an Octopus id or a secret could hide in unnoticed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The document's name in a release folder and bundle.
pub const BUILD_INFORMATION_DOCUMENT: &str = "build-information.json";

/// The largest document read, in bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
/// The most packages the document describes.
pub const MAX_PACKAGES: usize = 1000;
/// The most commits per package.
pub const MAX_COMMITS: usize = 1000;
/// The most work items per package.
pub const MAX_WORK_ITEMS: usize = 1000;
/// The longest commit comment or work item description, in characters.
pub const MAX_COMMENT_CHARS: usize = 16 * 1024;
/// The longest other text (ids, versions, URLs, branch), in characters.
pub const MAX_TEXT_CHARS: usize = 2048;

/// `build-information.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BuildInformationDocument {
    /// One entry per package id and version of the release that has build information.
    pub packages: Vec<PackageBuildInformation>,
}

/// The build information of one package version (`ReleasePackageVersionBuildInformation`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct PackageBuildInformation {
    /// The package id.
    pub package_id: String,
    /// The package version.
    pub version: String,
    /// The CI system (`GitHub Actions`, `TeamCity`).
    #[serde(default)]
    pub build_environment: Option<String>,
    /// The build's number.
    #[serde(default)]
    pub build_number: Option<String>,
    /// The build's web page.
    #[serde(default)]
    pub build_url: Option<String>,
    /// The branch built.
    #[serde(default)]
    pub branch: Option<String>,
    /// `Git`, `TFVC`, ...
    #[serde(default)]
    pub vcs_type: Option<String>,
    /// The repository.
    #[serde(default)]
    pub vcs_root: Option<String>,
    /// The commit built.
    #[serde(default)]
    pub vcs_commit_number: Option<String>,
    /// The commit's web page, as the development server derived it (not pushed: the target
    /// derives its own from `VcsRoot`).
    #[serde(default)]
    pub vcs_commit_url: Option<String>,
    /// The commits in the build.
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// The work items the development server's issue trackers found (not pushed: the target
    /// derives its own from the commits).
    #[serde(default)]
    pub work_items: Vec<WorkItem>,
}

/// `CommitDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Commit {
    /// The commit id.
    #[serde(default)]
    pub id: Option<String>,
    /// The commit message.
    #[serde(default)]
    pub comment: Option<String>,
    /// The commit's web page.
    #[serde(default)]
    pub link_url: Option<String>,
}

/// `WorkItemLink`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct WorkItem {
    /// The work item's id (`PAY-12`).
    #[serde(default)]
    pub id: Option<String>,
    /// Its title.
    #[serde(default)]
    pub description: Option<String>,
    /// Its web page.
    #[serde(default)]
    pub link_url: Option<String>,
    /// The issue tracker.
    #[serde(default)]
    pub source: Option<String>,
}

/// Why a `build-information.json` is refused. Each names the package and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildInformationError {
    /// More entries than a bound allows.
    #[error("{what} has {count} entries; at most {limit} are accepted")]
    TooMany {
        /// What (`Packages`, `Payments.Api 1.4.0: Commits`).
        what: String,
        /// How many it has.
        count: usize,
        /// The bound.
        limit: usize,
    },
    /// A text longer than its bound.
    #[error("{field} is {length} characters long; at most {limit} are accepted")]
    TooLong {
        /// The field.
        field: String,
        /// Its length in characters.
        length: usize,
        /// The bound.
        limit: usize,
    },
    /// A control character where text is expected (line breaks and tabs allowed in comments).
    #[error("{field} holds a control character (U+{code:04X})")]
    ControlCharacter {
        /// The field.
        field: String,
        /// The character.
        code: u32,
    },
    /// A URL with credentials in it (`https://user:token@host`).
    #[error("{field} carries credentials (user:password@ in the URL); credentials never travel")]
    Credentials {
        /// The field.
        field: String,
    },
    /// A package id or version that Octopus would refuse.
    #[error("{field} {value:?} is not a valid package id or version")]
    BadPackage {
        /// The field.
        field: String,
        /// The value.
        value: String,
    },
    /// The same package id and version twice.
    #[error("package {package} {version} is described twice")]
    Duplicate {
        /// The package id.
        package: String,
        /// The version.
        version: String,
    },
}

impl BuildInformationDocument {
    /// Checks every bound and rule of the document (bundle spec 13, `build-information.json`).
    pub fn validate(&self) -> Result<(), BuildInformationError> {
        count("Packages", self.packages.len(), MAX_PACKAGES)?;
        let mut seen = BTreeSet::new();
        for entry in &self.packages {
            entry.validate()?;
            let key = (
                entry.package_id.to_lowercase(),
                entry.version.to_lowercase(),
            );
            if !seen.insert(key) {
                return Err(BuildInformationError::Duplicate {
                    package: entry.package_id.clone(),
                    version: entry.version.clone(),
                });
            }
        }
        Ok(())
    }

    /// The entry of a package id and version (compared without case), if any.
    pub fn of(&self, package_id: &str, version: &str) -> Option<&PackageBuildInformation> {
        self.packages.iter().find(|p| {
            p.package_id.eq_ignore_ascii_case(package_id) && p.version.eq_ignore_ascii_case(version)
        })
    }
}

impl PackageBuildInformation {
    /// `Payments.Api 1.4.0`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.package_id, self.version)
    }

    fn validate(&self) -> Result<(), BuildInformationError> {
        let at = |field: &str| format!("{} {}: {field}", self.package_id, self.version);
        if !is_package_id(&self.package_id) {
            return Err(BuildInformationError::BadPackage {
                field: "PackageId".into(),
                value: clip(&self.package_id),
            });
        }
        if !is_version(&self.version) {
            return Err(BuildInformationError::BadPackage {
                field: format!("{}: Version", self.package_id),
                value: clip(&self.version),
            });
        }
        for (field, value) in [
            ("BuildEnvironment", &self.build_environment),
            ("BuildNumber", &self.build_number),
            ("Branch", &self.branch),
            ("VcsType", &self.vcs_type),
            ("VcsCommitNumber", &self.vcs_commit_number),
        ] {
            text(&at(field), value.as_deref(), MAX_TEXT_CHARS, false)?;
        }
        for (field, value) in [
            ("BuildUrl", &self.build_url),
            ("VcsRoot", &self.vcs_root),
            ("VcsCommitUrl", &self.vcs_commit_url),
        ] {
            url(&at(field), value.as_deref())?;
        }
        count(&at("Commits"), self.commits.len(), MAX_COMMITS)?;
        for (i, commit) in self.commits.iter().enumerate() {
            let field = |f: &str| at(&format!("Commits[{i}].{f}"));
            text(&field("Id"), commit.id.as_deref(), MAX_TEXT_CHARS, false)?;
            text(
                &field("Comment"),
                commit.comment.as_deref(),
                MAX_COMMENT_CHARS,
                true,
            )?;
            url(&field("LinkUrl"), commit.link_url.as_deref())?;
        }
        count(&at("WorkItems"), self.work_items.len(), MAX_WORK_ITEMS)?;
        for (i, item) in self.work_items.iter().enumerate() {
            let field = |f: &str| at(&format!("WorkItems[{i}].{f}"));
            text(&field("Id"), item.id.as_deref(), MAX_TEXT_CHARS, false)?;
            text(
                &field("Description"),
                item.description.as_deref(),
                MAX_COMMENT_CHARS,
                true,
            )?;
            text(
                &field("Source"),
                item.source.as_deref(),
                MAX_TEXT_CHARS,
                false,
            )?;
            url(&field("LinkUrl"), item.link_url.as_deref())?;
        }
        Ok(())
    }

    /// The entry as a server shows it on a release (`ReleasePackageVersionBuildInformation`),
    /// its URLs without credentials; the second value names each field stripped.
    pub fn from_release_entry(value: &Value) -> Result<(Self, Vec<String>), serde_json::Error> {
        // A server's entry has fields this document does not carry (`IssueTrackerName`,
        // `Id`, `Links`...): only the declared ones are taken.
        let mut taken = serde_json::Map::new();
        if let Some(object) = value.as_object() {
            for field in [
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
            ] {
                if let Some(v) = object.get(field) {
                    taken.insert(field.into(), v.clone());
                }
            }
            let pick = |item: &Value, fields: &[&str]| -> Value {
                let mut out = serde_json::Map::new();
                for f in fields {
                    if let Some(v) = item.get(*f) {
                        out.insert((*f).into(), v.clone());
                    }
                }
                Value::Object(out)
            };
            for (field, keep) in [
                ("Commits", &["Id", "Comment", "LinkUrl"][..]),
                ("WorkItems", &["Id", "Description", "LinkUrl", "Source"][..]),
            ] {
                let items: Vec<Value> = object
                    .get(field)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|i| pick(i, keep)).collect())
                    .unwrap_or_default();
                taken.insert(field.into(), Value::Array(items));
            }
        }
        let mut entry: Self = serde_json::from_value(Value::Object(taken))?;
        let stripped = entry.strip_credentials();
        Ok((entry, stripped))
    }

    /// Removes `user:pass@` from every URL; returns the fields it was removed from.
    pub fn strip_credentials(&mut self) -> Vec<String> {
        let mut stripped = Vec::new();
        let name = self.describe();
        let mut strip = |field: String, value: &mut Option<String>| {
            if let Some(v) = value
                && let Some(clean) = without_credentials(v)
            {
                *v = clean;
                stripped.push(format!("{name}: {field}"));
            }
        };
        strip("BuildUrl".into(), &mut self.build_url);
        strip("VcsRoot".into(), &mut self.vcs_root);
        strip("VcsCommitUrl".into(), &mut self.vcs_commit_url);
        for (i, c) in self.commits.iter_mut().enumerate() {
            strip(format!("Commits[{i}].LinkUrl"), &mut c.link_url);
        }
        for (i, w) in self.work_items.iter_mut().enumerate() {
            strip(format!("WorkItems[{i}].LinkUrl"), &mut w.link_url);
        }
        stripped
    }

    /// The body of `POST build-information` (`CreateOctopusBuildInformationCommand`): what a
    /// build server pushes. `VcsCommitUrl` and `WorkItems` are the server's to derive.
    pub fn to_command(&self) -> Value {
        serde_json::json!({
            "PackageId": self.package_id,
            "Version": self.version,
            "OctopusBuildInformation": {
                "BuildEnvironment": self.build_environment,
                "BuildNumber": self.build_number,
                "BuildUrl": self.build_url,
                "Branch": self.branch,
                "VcsType": self.vcs_type,
                "VcsRoot": self.vcs_root,
                "VcsCommitNumber": self.vcs_commit_number,
                "Commits": self.commits.iter().map(|c| serde_json::json!({
                    "Id": c.id, "Comment": c.comment, "LinkUrl": c.link_url,
                })).collect::<Vec<_>>(),
            },
        })
    }

    /// The first field where `shown` (a server's build information for this package version,
    /// on a release or in `build-information`) differs from this entry in what a push sets;
    /// `None` when they agree. Fields the server derives are not compared.
    pub fn difference(&self, shown: &Value) -> Option<String> {
        for (field, mine) in [
            ("BuildEnvironment", &self.build_environment),
            ("BuildNumber", &self.build_number),
            ("BuildUrl", &self.build_url),
            ("Branch", &self.branch),
            ("VcsType", &self.vcs_type),
            ("VcsRoot", &self.vcs_root),
            ("VcsCommitNumber", &self.vcs_commit_number),
        ] {
            let theirs = shown.get(field).and_then(Value::as_str);
            if norm(theirs) != norm(mine.as_deref()) {
                return Some(format!(
                    "{}: {field} is {theirs:?} there, {mine:?} in the bundle",
                    self.describe()
                ));
            }
        }
        let commits: Vec<(Option<&str>, Option<&str>)> = shown
            .get("Commits")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|c| {
                        (
                            norm(c.get("Id").and_then(Value::as_str)),
                            norm(c.get("Comment").and_then(Value::as_str)),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mine: Vec<(Option<&str>, Option<&str>)> = self
            .commits
            .iter()
            .map(|c| (norm(c.id.as_deref()), norm(c.comment.as_deref())))
            .collect();
        (commits != mine).then(|| {
            format!(
                "{}: its commits differ ({} there, {} in the bundle)",
                self.describe(),
                commits.len(),
                mine.len()
            )
        })
    }
}

/// An empty text and none are the same to a server.
fn norm(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

fn count(what: &str, count: usize, limit: usize) -> Result<(), BuildInformationError> {
    if count > limit {
        return Err(BuildInformationError::TooMany {
            what: what.to_owned(),
            count,
            limit,
        });
    }
    Ok(())
}

fn text(
    field: &str,
    value: Option<&str>,
    limit: usize,
    multiline: bool,
) -> Result<(), BuildInformationError> {
    let Some(value) = value else { return Ok(()) };
    let length = value.chars().count();
    if length > limit {
        return Err(BuildInformationError::TooLong {
            field: field.to_owned(),
            length,
            limit,
        });
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if let Some(c) = value.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(BuildInformationError::ControlCharacter {
            field: field.to_owned(),
            code: u32::from(c),
        });
    }
    Ok(())
}

fn url(field: &str, value: Option<&str>) -> Result<(), BuildInformationError> {
    text(field, value, MAX_TEXT_CHARS, false)?;
    if value.is_some_and(|v| without_credentials(v).is_some()) {
        return Err(BuildInformationError::Credentials {
            field: field.to_owned(),
        });
    }
    Ok(())
}

/// `url` without its user information (`https://user:token@host/x` -> `https://host/x`), or
/// `None` when it has none. Only `scheme://` URLs have user information: `git@host:path`
/// (scp form) names a user and no secret, and stays.
pub fn without_credentials(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end)?;
    let at = authority.rfind('@')?;
    let host_and_path = rest.get(at + 1..)?;
    Some(format!("{scheme}://{host_and_path}"))
}

/// A shortened value for a message (a hostile value may be long).
fn clip(value: &str) -> String {
    value.chars().take(80).collect()
}

/// Octopus's package id rule: letters, digits, `.`, `-`, `_`, starting with a letter or digit,
/// at most 100 characters.
fn is_package_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.len() <= 100
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A version of 2 to 4 numbers with an optional `-prerelease` and `+metadata` (SemVer as
/// Octopus reads it), at most 100 characters.
fn is_version(v: &str) -> bool {
    let (core, meta) = v.split_once('+').unwrap_or((v, ""));
    let (numbers, pre) = core.split_once('-').unwrap_or((core, ""));
    let parts: Vec<&str> = numbers.split('.').collect();
    v.len() <= 100
        && (2..=4).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && pre
            .bytes()
            .chain(meta.bytes())
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
}

#[cfg(test)]
mod tests;
