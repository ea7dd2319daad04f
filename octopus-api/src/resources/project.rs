//! Projects and what they hang from: groups, lifecycles, channels, environments, feeds,
//! library variable sets.

use serde::{Deserialize, Serialize};

use super::Other;

/// `ProjectResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Project {
    /// `Projects-N`.
    pub id: String,
    /// Its name (unique in the space).
    pub name: String,
    /// Its slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// `ProjectGroups-N`.
    #[serde(default)]
    pub project_group_id: String,
    /// `Lifecycles-N`.
    #[serde(default)]
    pub lifecycle_id: String,
    /// `deploymentprocess-Projects-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_process_id: Option<String>,
    /// `variableset-Projects-N`.
    #[serde(default)]
    pub variable_set_id: String,
    /// The library variable sets it includes.
    #[serde(default)]
    pub included_library_variable_set_ids: Vec<String>,
    /// Config-as-code: the process lives in Git.
    #[serde(default)]
    pub is_version_controlled: bool,
    /// Disabled projects cannot be deployed.
    #[serde(default)]
    pub is_disabled: bool,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `ProjectGroupResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectGroup {
    /// `ProjectGroups-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `ChannelResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Channel {
    /// `Channels-N`.
    pub id: String,
    /// Its name (unique in its project).
    pub name: String,
    /// `Projects-N`.
    #[serde(default)]
    pub project_id: String,
    /// Its own lifecycle, if not the project's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_id: Option<String>,
    /// Whether it is the project's default channel.
    #[serde(default)]
    pub is_default: bool,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `EnvironmentResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    /// `Environments-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `LifecycleResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Lifecycle {
    /// `Lifecycles-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its phases, in order.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `PhaseResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Phase {
    /// Its name.
    pub name: String,
    /// Environments deployed to automatically.
    #[serde(default)]
    pub automatic_deployment_targets: Vec<String>,
    /// Environments deployed to by hand.
    #[serde(default)]
    pub optional_deployment_targets: Vec<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `FeedResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Feed {
    /// `feeds-builtin`, `Feeds-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `BuiltIn`, `NuGet`, `Docker`, ...
    #[serde(default)]
    pub feed_type: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `LibraryVariableSetResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibraryVariableSet {
    /// `LibraryVariableSets-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `variableset-LibraryVariableSets-N`.
    #[serde(default)]
    pub variable_set_id: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
