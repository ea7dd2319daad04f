//! The name-based model as it travels in a bundle (`process.json`, `variables/*.json`),
//! typed: what [`super::export`] writes and [`super::import`] reads back, one definition for
//! both sides. Unknown fields are kept in `other`
//! and written to the target as they are (they are Octopus's own fields, such as `Condition`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::resources::{Other, PropertyValue};

/// `process.json`: a deployment process with names instead of ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedProcess {
    /// The project's name.
    pub project: String,
    /// The steps, in order.
    #[serde(default)]
    pub steps: Vec<NamedStep>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A step of [`NamedProcess`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedStep {
    /// Its name (unique in the process).
    pub name: String,
    /// Step properties (id-valued ones hold names).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Its actions.
    #[serde(default)]
    pub actions: Vec<NamedAction>,
    /// Everything else (`Condition`, `StartTrigger`, `PackageRequirement`, ...).
    #[serde(flatten)]
    pub other: Other,
}

/// An action of [`NamedStep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedAction {
    /// Its name (unique in the process).
    pub name: String,
    /// `Octopus.Script`, `Octopus.TentaclePackage`, ...
    pub action_type: String,
    /// Disabled actions do not run.
    #[serde(default)]
    pub is_disabled: bool,
    /// The worker pool, by name.
    #[serde(default)]
    pub worker_pool: Option<String>,
    /// Environments it runs in, by name (empty: all).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Environments it never runs in, by name.
    #[serde(default)]
    pub excluded_environments: Vec<String>,
    /// Channels it runs in, by name (empty: all).
    #[serde(default)]
    pub channels: Vec<String>,
    /// The packages it uses.
    #[serde(default)]
    pub packages: Vec<NamedPackage>,
    /// Action properties (id-valued ones hold names; sensitive ones no value).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A package reference of [`NamedAction`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedPackage {
    /// The reference name ("" for the action's primary package).
    #[serde(default)]
    pub name: String,
    /// The package id in the feed.
    pub package_id: String,
    /// The feed, by name.
    pub feed: String,
    /// Everything else (`AcquisitionLocation`, `Properties`).
    #[serde(flatten)]
    pub other: Other,
}

/// `variables/*.json`: a project's or library variable set's variables, with names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedVariableSet {
    /// `Project` or `LibraryVariableSet`.
    pub owner_type: String,
    /// The project's or library variable set's name.
    pub owner: String,
    /// The variables.
    #[serde(default)]
    pub variables: Vec<NamedVariable>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A variable of [`NamedVariableSet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedVariable {
    /// Its name.
    pub name: String,
    /// Its value; `null` for a sensitive one (sensitive values never travel).
    #[serde(default)]
    pub value: Option<String>,
    /// Scope dimension -> names.
    #[serde(default)]
    pub scope: BTreeMap<String, Vec<String>>,
    /// `String`, `Sensitive`, ...
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
    /// Whether the value is sensitive.
    #[serde(default)]
    pub is_sensitive: bool,
    /// Everything else (`Description`, `Prompt`, `IsEditable`).
    #[serde(flatten)]
    pub other: Other,
}

impl NamedVariableSet {
    /// Whether this is a project's own variable set (else a library variable set's).
    pub fn is_project(&self) -> bool {
        self.owner_type == "Project"
    }
}
