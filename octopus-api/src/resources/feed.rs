//! The feed search API: which versions of a package a feed (built-in or external) holds.

use serde::{Deserialize, Serialize};

use super::{Collection, Other};
use crate::client::{Client, segment};
use crate::error::OctopusError;

/// `PackageVersionResource`: one version a feed search returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageVersion {
    /// The package id, as the feed spells it.
    #[serde(default)]
    pub package_id: String,
    /// The version (a Docker tag, a chart version, ...).
    #[serde(default)]
    pub version: String,
    /// The feed searched.
    #[serde(default)]
    pub feed_id: Option<String>,
    /// Its size, when the feed reports one.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// When it was published, when the feed reports it.
    #[serde(default)]
    pub published: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// How many versions one search reads: `filter` matches part of a version, so `1.2` also
/// returns `1.2.3`; the exact one is picked from these.
const SEARCH_TAKE: usize = 100;

/// The version `version` of `package_id` on feed `feed_id`, if the feed has it, through the
/// feed search API (`GET feeds/{id}/packages/versions?packageId=&filter=&includePreRelease=true&take=`;
/// Swagger `getPackageVersionSearch_Spaces`, go-octopusdeploy `SearchPackageVersionsQuery`).
/// Versions compare ignoring case, as feeds compare package ids.
pub fn find_version(
    client: &Client,
    feed_id: &str,
    package_id: &str,
    version: &str,
) -> Result<Option<PackageVersion>, OctopusError> {
    let found: Collection<PackageVersion> =
        client.get(&versions_path(feed_id, package_id, version))?;
    Ok(exact(found.items, version))
}

/// The search for `version` of `package_id` on `feed_id`, every value percent-encoded: a
/// version or package id from a bundle cannot add or change a query parameter.
fn versions_path(feed_id: &str, package_id: &str, version: &str) -> String {
    format!(
        "feeds/{}/packages/versions?packageId={}&filter={}&includePreRelease=true&take={SEARCH_TAKE}",
        segment(feed_id),
        segment(package_id),
        segment(version)
    )
}

/// The item that is exactly `version` (ignoring case): `filter` also returns longer versions
/// (`1.25.30` for `1.25.3`), and a server may answer with anything.
fn exact(items: Vec<PackageVersion>, version: &str) -> Option<PackageVersion> {
    items
        .into_iter()
        .find(|v| v.version.eq_ignore_ascii_case(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hostile_version_or_package_id_stays_inside_its_parameter() {
        assert_eq!(
            versions_path("Feeds-3", "payments/api", "1.0&take=1#x"),
            "feeds/Feeds-3/packages/versions?packageId=payments%2Fapi&filter=1.0%26take%3D1%23x&includePreRelease=true&take=100"
        );
        assert_eq!(
            versions_path("Feeds-3", "a b?c=d", "1.0\n"),
            "feeds/Feeds-3/packages/versions?packageId=a%20b%3Fc%3Dd&filter=1.0%0A&includePreRelease=true&take=100"
        );
    }

    #[test]
    fn only_the_exact_version_counts() -> Result<(), serde_json::Error> {
        let items: Vec<PackageVersion> = serde_json::from_value(serde_json::json!([
            {"PackageId": "payments/api", "Version": "1.25.30"},
            {"PackageId": "payments/api", "Version": "1.25.3-rc.1"},
            {"PackageId": "payments/api", "Version": "V1.25.3"}
        ]))?;
        assert_eq!(exact(items.clone(), "1.25.3"), None);
        assert_eq!(
            exact(items, "v1.25.3").map(|v| v.version),
            Some("V1.25.3".to_owned())
        );
        Ok(())
    }
}
