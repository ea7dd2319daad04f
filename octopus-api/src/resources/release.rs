//! Releases and packages in the built-in feed.

use serde::{Deserialize, Serialize};

use super::Other;

/// `ReleaseResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Release {
    /// `Releases-N` (absent when creating one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The version (unique in its project).
    pub version: String,
    /// `Projects-N`.
    pub project_id: String,
    /// `Channels-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Release notes (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_notes: Option<String>,
    /// The frozen process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_deployment_process_snapshot_id: Option<String>,
    /// The frozen project variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_variable_set_snapshot_id: Option<String>,
    /// The frozen library variable sets.
    #[serde(default)]
    pub library_variable_set_snapshot_ids: Vec<String>,
    /// The package versions it deploys.
    #[serde(default)]
    pub selected_packages: Vec<SelectedPackage>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `SelectedPackage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SelectedPackage {
    /// The step's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_name: Option<String>,
    /// The action's name.
    pub action_name: String,
    /// The package reference's name ("" for the primary package).
    #[serde(default)]
    pub package_reference_name: String,
    /// The version.
    pub version: String,
}

/// `PackageFromBuiltInFeedResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Package {
    /// `packages-<PackageId>.<Version>`.
    pub id: String,
    /// The package id.
    pub package_id: String,
    /// The version.
    pub version: String,
    /// Lowercase hex SHA-1 of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    /// The file's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_size_bytes: Option<u64>,
    /// `.zip`, `.tar.gz`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_extension: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
