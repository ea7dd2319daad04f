//! External feeds: their per-type fields, their `Password` (a sensitive value kept out of the
//! document), the feed search API that lists a package's versions, and the versions a feed
//! "has".
//!
//! A real server asks the external registry (Docker Hub, a Helm repository, ...) when a client
//! searches a feed; the stand-in never sends traffic off the machine, so it answers from the
//! versions seeded into the feed itself, in the stand-in-only field [`STANDIN_PACKAGES`]:
//!
//! ```json
//! {"Name": "Docker Hub", "FeedType": "Docker", "FeedUri": "https://index.docker.io",
//!  "StandinPackages": {"payments/api": ["1.25.3", "1.25.4"], "nginx": ["1.27.0"]}}
//! ```
//!
//! The built-in feed lists the packages uploaded to it.
//!
//! ```text
//! GET feeds/{id}/packages/versions?packageId=&take=&skip=&versionRange=&includePreRelease=&filter=
//!   -> ResourceCollection of PackageVersionResource {Id, FeedId, PackageId, Version, Title,
//!      Published, SizeBytes, ReleaseNotes, Links}, newest version first
//! ```

use std::cmp::Ordering;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::find;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::{self, Params};
use crate::routes::json;
use crate::store::{BUILTIN_FEED, Doc, Store, text};

/// The stand-in-only field of a feed that lists what its registry holds: package id ->
/// versions. Not an Octopus field: a real server asks the registry.
pub const STANDIN_PACKAGES: &str = "StandinPackages";

/// The sensitive field of a feed (`FeedResource.Password`, a `SensitiveValue`).
const PASSWORD: &str = "Password";

/// The most versions one feed package may list in a seed.
const MAX_VERSIONS: usize = 10_000;

/// Whether a `FeedId` is a variable expression (`#{Kubernetes.Feed}`), bound when a
/// deployment runs, rather than a feed's id.
pub fn is_expression(feed: &str) -> bool {
    feed.contains("#{")
}

/// The links a feed document carries: the search templates of go-octopusdeploy
/// `uritemplates/links.go` (`FeedSearchPackageVersions`) and the `FeedResource` links.
pub fn links(space: &str, id: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "SearchPackageVersionsTemplate",
            format!(
                "/api/{space}/feeds/{id}/packages/versions{{?packageId,take,skip,includePreRelease,versionRange,preReleaseTag,filter,includeReleaseNotes}}"
            ),
        ),
        (
            "SearchPackagesTemplate",
            format!("/api/{space}/feeds/{id}/packages/search{{?term,take,skip}}"),
        ),
    ]
}

/// Checks the stand-in-only package list and takes the `Password` out of the document:
/// `{"HasValue": true, "NewValue": "..."}` stores it, `{"HasValue": true, "NewValue": null}`
/// keeps the stored one, `{"HasValue": false}` (or none) clears it; the document then holds
/// `{"HasValue": .., "NewValue": null}`, as Octopus reads sensitive values back.
pub fn prepare(store: &mut Store, id: &str, doc: &mut Doc) -> ApiResult<()> {
    check_packages(doc)?;
    let stored = store.secrets_of(id).contains_key(PASSWORD);
    let (has_value, new_value) = match doc.get(PASSWORD) {
        None | Some(Value::Null) => (false, None),
        Some(Value::Object(o)) => {
            let has = o.get("HasValue").and_then(Value::as_bool).unwrap_or(false);
            match o.get("NewValue") {
                Some(Value::String(s)) => (true, Some(s.clone())),
                None | Some(Value::Null) => (has && stored, None),
                Some(_) => {
                    return Err(ApiError::invalid(
                        "The Password field's NewValue must be a string or null.",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "The Password field must be a sensitive value {\"HasValue\": .., \"NewValue\": ..}.",
            ));
        }
    };
    match (has_value, new_value) {
        (true, Some(value)) => store.set_secret(id, PASSWORD, Some(value)),
        (true, None) => {}
        (false, _) => store.set_secret(id, PASSWORD, None),
    }
    doc.insert(
        PASSWORD.into(),
        json!({"HasValue": has_value, "NewValue": null}),
    );
    Ok(())
}

/// `StandinPackages` must be an object of package id -> array of non-empty version strings.
fn check_packages(doc: &Doc) -> ApiResult<()> {
    let Some(packages) = doc.get(STANDIN_PACKAGES) else {
        return Ok(());
    };
    let bad = || {
        ApiError::invalid(format!(
            "{STANDIN_PACKAGES} (a stand-in-only field) must map each package id to an array of at most {MAX_VERSIONS} non-empty version strings."
        ))
    };
    match packages {
        Value::Null => Ok(()),
        Value::Object(map) => {
            for (package, versions) in map {
                let versions = versions.as_array().ok_or_else(bad)?;
                if package.trim().is_empty()
                    || versions.len() > MAX_VERSIONS
                    || versions
                        .iter()
                        .any(|v| v.as_str().is_none_or(|s| s.trim().is_empty()))
                {
                    return Err(bad());
                }
            }
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// One version a feed holds.
#[derive(Debug, Clone)]
struct Listed {
    package_id: String,
    version: String,
    size: Option<u64>,
    published: Option<String>,
}

/// Every version of `package_id` that `feed` holds: the built-in feed's uploaded packages,
/// an external feed's seeded ones. Package ids match ignoring case, as Octopus's feeds do.
fn listed(store: &Store, feed: &Doc, package_id: &str) -> Vec<Listed> {
    if text(feed, "Id") == Some(BUILTIN_FEED) {
        return store
            .all(Kind::Package)
            .iter()
            .filter(|p| text(p, "PackageId").is_some_and(|id| id.eq_ignore_ascii_case(package_id)))
            .map(|p| Listed {
                package_id: text(p, "PackageId").unwrap_or(package_id).to_owned(),
                version: text(p, "Version").unwrap_or("").to_owned(),
                size: p.get("PackageSizeBytes").and_then(Value::as_u64),
                published: text(p, "Published").map(str::to_owned),
            })
            .collect();
    }
    external(feed, package_id)
}

/// The versions of `package_id` seeded into an external feed.
fn external(feed: &Doc, package_id: &str) -> Vec<Listed> {
    let Some(Value::Object(packages)) = feed.get(STANDIN_PACKAGES) else {
        return Vec::new();
    };
    packages
        .iter()
        .filter(|(id, _)| id.eq_ignore_ascii_case(package_id))
        .flat_map(|(id, versions)| {
            versions
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|v| Listed {
                    package_id: id.clone(),
                    version: v.to_owned(),
                    size: None,
                    published: None,
                })
        })
        .collect()
}

/// Whether `feed` holds `version` of `package_id` (versions compare as text, ignoring case).
pub fn has_version(store: &Store, feed: &Doc, package_id: &str, version: &str) -> bool {
    listed(store, feed, package_id)
        .iter()
        .any(|l| l.version.eq_ignore_ascii_case(version))
}

/// Whether an external feed's seeded list holds `version` of `package_id`.
pub fn lists(feed: &Doc, package_id: &str, version: &str) -> bool {
    external(feed, package_id)
        .iter()
        .any(|l| l.version.eq_ignore_ascii_case(version))
}

/// `GET /api/{space}/feeds/{id}/packages/versions`: the feed search API (Swagger
/// `getPackageVersionSearch_Spaces`, go-octopusdeploy `SearchPackageVersionsQuery`).
pub fn versions(
    app: &Arc<App>,
    space: &str,
    id: &str,
    path: &str,
    params: &Params,
) -> ApiResult<Response> {
    let package_id = match params.get("packageId") {
        Some(p) if !p.trim().is_empty() => p.to_owned(),
        // The Swagger 400 description of the operation.
        _ => {
            return Err(ApiError::bad_request(
                "No packageId parameter was provided.",
            ));
        }
    };
    let range = match params.get("versionRange") {
        Some(r) if !r.trim().is_empty() => Some(Range::parse(r).ok_or_else(|| {
            ApiError::bad_request(format!(
                "The 'versionRange' parameter was not a valid NuGet version-range (see http://g.octopushq.com/NuGetVersioning): '{r}'"
            ))
        })?),
        _ => None,
    };
    let pre_release = params.flag("includePreRelease")?.unwrap_or(false);
    let filter = params.get("filter").map(str::to_lowercase);
    let (feed_id, mut found) = app.read(|s| -> ApiResult<(String, Vec<Listed>)> {
        let feed = find(s, Kind::Feed, space, id)?;
        Ok((
            text(feed, "Id").unwrap_or(id).to_owned(),
            listed(s, feed, &package_id),
        ))
    })?;
    found.retain(|l| {
        let version = Version::parse(&l.version);
        (pre_release || !version.is_pre_release())
            && range.as_ref().is_none_or(|r| r.contains(&version))
            && filter
                .as_deref()
                .is_none_or(|f| l.version.to_lowercase().contains(f))
    });
    found.sort_by(|a, b| Version::parse(&b.version).cmp(&Version::parse(&a.version)));
    found.dedup_by(|a, b| a.version.eq_ignore_ascii_case(&b.version));
    let docs: Vec<Doc> = found
        .into_iter()
        .map(|l| {
            let mut doc = Map::new();
            doc.insert(
                "Id".into(),
                json!(format!("{}.{}", l.package_id, l.version)),
            );
            doc.insert("FeedId".into(), json!(feed_id));
            doc.insert("PackageId".into(), json!(l.package_id));
            doc.insert("Version".into(), json!(l.version));
            doc.insert("Title".into(), json!(l.package_id));
            doc.insert("Published".into(), json!(l.published));
            doc.insert("SizeBytes".into(), json!(l.size));
            doc.insert("ReleaseNotes".into(), Value::Null);
            doc.insert("Links".into(), json!({}));
            doc
        })
        .collect();
    let mut page = params::page(Kind::Package, path, docs, params)?;
    page["ItemType"] = json!("PackageVersion");
    Ok(json(StatusCode::OK, page))
}

/// A version for ordering: numeric parts compare as numbers, then a release sorts after its
/// pre-releases, then the pre-release label as text. Docker tags that are not versions
/// (`latest`, `alpine`) have no numeric parts and sort before every version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    numbers: Vec<u64>,
    pre: String,
}

impl Version {
    fn parse(text: &str) -> Self {
        let core = text.split('+').next().unwrap_or("");
        let core = core.strip_prefix(['v', 'V']).unwrap_or(core);
        let (numbers, pre) = core.split_once('-').unwrap_or((core, ""));
        let parsed: Option<Vec<u64>> = numbers.split('.').map(|n| n.parse().ok()).collect();
        match parsed {
            Some(numbers) => Version {
                numbers,
                pre: pre.to_lowercase(),
            },
            None => Version {
                numbers: Vec::new(),
                pre: text.to_lowercase(),
            },
        }
    }

    fn is_pre_release(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.numbers.len().max(other.numbers.len());
        for i in 0..width {
            let a = self.numbers.get(i).copied().unwrap_or(0);
            let b = other.numbers.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A NuGet version range: `1.0` (at least), `[1.0]` (exactly), `[1.0,2.0)`, `(,2.0]`, ...
#[derive(Debug, Clone)]
struct Range {
    low: Option<(Version, bool)>,
    high: Option<(Version, bool)>,
}

impl Range {
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (open, rest) = match text.chars().next()? {
            '[' => (true, text.get(1..)?),
            '(' => (false, text.get(1..)?),
            _ if text.contains(['[', ']', '(', ')', ',']) => return None,
            _ => {
                return Some(Range {
                    low: Some((Version::parse(text), true)),
                    high: None,
                });
            }
        };
        let close = match rest.chars().last()? {
            ']' => true,
            ')' => false,
            _ => return None,
        };
        let inner = rest.get(..rest.len().checked_sub(1)?)?;
        let bound = |s: &str, inclusive: bool| {
            let s = s.trim();
            (!s.is_empty()).then(|| (Version::parse(s), inclusive))
        };
        match inner.split_once(',') {
            None if open && close && !inner.trim().is_empty() => Some(Range {
                low: bound(inner, true),
                high: bound(inner, true),
            }),
            None => None,
            Some((low, high)) => Some(Range {
                low: bound(low, open),
                high: bound(high, close),
            }),
        }
    }

    fn contains(&self, version: &Version) -> bool {
        let above = self
            .low
            .as_ref()
            .is_none_or(|(low, inclusive)| version > low || (*inclusive && version == low));
        let below = self
            .high
            .as_ref()
            .is_none_or(|(high, inclusive)| version < high || (*inclusive && version == high));
        above && below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(range: &str, version: &str) -> bool {
        Range::parse(range).is_some_and(|r| r.contains(&Version::parse(version)))
    }

    #[test]
    fn nuget_ranges_include_and_exclude_their_bounds() {
        assert!(contains("[1.25.3]", "1.25.3"));
        assert!(!contains("[1.25.3]", "1.25.4"));
        assert!(contains("1.2", "1.10"));
        assert!(!contains("1.2", "1.1.9"));
        assert!(contains("[1.0,2.0)", "1.9.9"));
        assert!(!contains("[1.0,2.0)", "2.0"));
        assert!(contains("(,2.0]", "2.0"));
        assert!(!contains("(1.0,)", "1.0"));
        // Malformed ranges are refused (the route answers 400), never read as "anything".
        for bad in ["[1.0", "[]", "(1.0]", "(1.0)", ")", "[", "1.0]", "1.0,2.0"] {
            assert!(Range::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn releases_sort_after_their_pre_releases_and_tags_before_versions() {
        let mut versions = ["1.25.3-alpine", "1.25.3", "latest", "1.3.0", "1.25.10"]
            .map(Version::parse)
            .to_vec();
        versions.sort();
        let order: Vec<String> = versions
            .iter()
            .map(|v| format!("{:?}{}", v.numbers, v.pre))
            .collect();
        assert_eq!(
            order,
            [
                "[]latest",
                "[1, 3, 0]",
                "[1, 25, 3]alpine",
                "[1, 25, 3]",
                "[1, 25, 10]"
            ]
        );
    }
}
