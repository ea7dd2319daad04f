//! Deployment processes: steps, actions, package references and property values.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Other;

/// `DeploymentProcessResource` (live, or a release's snapshot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentProcess {
    /// `deploymentprocess-Projects-N`, or a snapshot id (`...-s-4-XXGLW`).
    pub id: String,
    /// For optimistic concurrency: send back what was read.
    pub version: i64,
    /// The steps, in order.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub steps: Vec<Step>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `DeploymentStepResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Step {
    /// A GUID; new steps may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name (unique in the process).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub name: String,
    /// Step properties (target roles, ...).
    #[serde(default, deserialize_with = "super::tolerant::properties")]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Its actions.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub actions: Vec<Action>,
    /// Everything else (`Condition`, `StartTrigger`, ...).
    #[serde(flatten)]
    pub other: Other,
}

/// `DeploymentActionResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Action {
    /// A GUID; new actions may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name (unique in the process).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub name: String,
    /// `Octopus.Script`, `Octopus.TentaclePackage`, ...
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub action_type: String,
    /// Disabled actions do not run.
    #[serde(default)]
    pub is_disabled: bool,
    /// Environment ids it runs in (empty: all).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub environments: Vec<String>,
    /// Environment ids it never runs in.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub excluded_environments: Vec<String>,
    /// Channel ids it runs in (empty: all).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub channels: Vec<String>,
    /// The packages it uses.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub packages: Vec<PackageReference>,
    /// Action properties.
    #[serde(default, deserialize_with = "super::tolerant::properties")]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `PackageReference`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageReference {
    /// A GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The reference name ("" for an action's primary package).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub name: String,
    /// The package id in the feed.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub package_id: String,
    /// `feeds-builtin` or an external feed's id.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub feed_id: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A property value as Octopus writes it: a plain string, or for a sensitive property
/// `{"HasValue": true, "NewValue": null}` (the Swagger spec's `PropertyValueResource` is the C#
/// class; the wire form is one of these two, as fixture `deployment-process.json` shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A plain value.
    Text(String),
    /// A sensitive value, never readable.
    Sensitive(SensitiveValue),
}

/// `SensitiveValue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SensitiveValue {
    /// Whether a value is stored. Missing reads as `false` (`{"NewValue": null}` alone), so
    /// that such an object is a sensitive value, which the importer can judge, not an
    /// undecodable document.
    #[serde(default)]
    pub has_value: bool,
    /// A new value to store (always null when read). Octopus.Client reads the key without a
    /// null check, so it is always written.
    #[serde(default)]
    pub new_value: Option<String>,
    /// Optional hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}
