//! Releases, packages in the built-in feed, deployments and their tasks.

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

/// `DeploymentResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    /// `Deployments-N` (absent when creating one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Releases-N`.
    pub release_id: String,
    /// `Environments-N`.
    pub environment_id: String,
    /// `ServerTasks-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `TaskResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// `ServerTasks-N`.
    pub id: String,
    /// `Queued`, `Executing`, `Success`, `Failed`, `Canceled`, `TimedOut`, `Cancelling`.
    pub state: String,
    /// Whether it has ended.
    #[serde(default)]
    pub is_completed: bool,
    /// Whether it ended well.
    #[serde(default)]
    pub finished_successfully: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Whether it waits for a manual intervention.
    #[serde(default)]
    pub has_pending_interruptions: bool,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
