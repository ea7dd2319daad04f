//! `external-packages.json`: the packages of a release that live on external feeds (Docker,
//! Helm, Maven, GitHub, external NuGet). They travel as references, never as files: the
//! secure side's feed of the same name (or the mapping file's `[feeds]` rename) must hold each
//! version, which the importer checks through the feed search API before anything is written.
//!
//! ```json
//! {"Packages": [{"Action": "Deploy to cluster", "PackageReference": "api",
//!   "Feed": "Docker Hub", "FeedType": "Docker", "PackageId": "payments/api",
//!   "Version": "1.25.3", "Digest": null}]}
//! ```
//!
//! `Feed` is the feed's name, or the variable expression the process has in its place
//! (`#{Kubernetes.Feed}`, `FeedType` then null): such a feed is chosen when the deployment runs,
//! so neither side can look it up beforehand. No instance id is ever in this document.

use serde::{Deserialize, Serialize};

use crate::resources::Other;

/// The document's name in a release folder and a bundle.
pub const EXTERNAL_PACKAGES: &str = "external-packages.json";

/// `external-packages.json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExternalPackages {
    /// One entry per package reference the release selects on an external feed.
    #[serde(default)]
    pub packages: Vec<ExternalPackage>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A package reference of the release on an external feed, with its selected version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExternalPackage {
    /// The action that uses it, by name.
    pub action: String,
    /// The package reference's name in that action (`""` for the primary package).
    #[serde(default)]
    pub package_reference: String,
    /// The feed's name, or the variable expression that chooses it.
    pub feed: String,
    /// `Docker`, `Helm`, `Maven`, `GitHub`, `NuGet`, ... (`None` for a feed expression).
    #[serde(default)]
    pub feed_type: Option<String>,
    /// The package id on the feed (an image, a chart, `group:artifact`, `owner/repo`).
    pub package_id: String,
    /// The selected version (an image tag, a chart version, ...).
    pub version: String,
    /// A content digest that pins the artifact, when the development side has one. Octopus's
    /// feed search API (`PackageVersionResource`) reports none, so an export through it leaves
    /// this empty and the secure side trusts its own registry's tag (docs/threat-model.md).
    #[serde(default)]
    pub digest: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

impl ExternalPackage {
    /// Whether the feed is a variable expression, chosen when the deployment runs.
    pub fn feed_is_expression(&self) -> bool {
        super::is_expression(&self.feed)
    }

    /// `payments/api 1.25.3 on feed "Docker Hub" (action "Deploy", reference "api")`.
    pub fn describe(&self) -> String {
        let reference = if self.package_reference.is_empty() {
            String::new()
        } else {
            format!(", reference {:?}", self.package_reference)
        };
        format!(
            "{} {} on feed {:?} (action {:?}{reference})",
            self.package_id, self.version, self.feed, self.action
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_fields_round_trip_and_an_expression_is_recognised()
    -> Result<(), Box<dyn std::error::Error>> {
        let text = json!({"Packages": [{"Action": "Deploy", "PackageReference": "api", "Feed": "#{Kubernetes.Feed}",
            "FeedType": null, "PackageId": "payments/api", "Version": "1.25.3", "Digest": null, "Platform": "linux/amd64"}],
            "Note": "kept"});
        let parsed: ExternalPackages = serde_json::from_value(text.clone())?;
        assert!(parsed.packages[0].feed_is_expression());
        assert_eq!(serde_json::to_value(&parsed)?, text);
        Ok(())
    }
}
