//! Variable sets: values, scopes, and the names `ScopeValues` gives scope ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Other;

/// `VariableSetResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VariableSet {
    /// `variableset-Projects-N`, `variableset-LibraryVariableSets-N`, or a snapshot id.
    pub id: String,
    /// The project or library variable set it belongs to.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub owner_id: String,
    /// For optimistic concurrency: send back what was read.
    #[serde(default)]
    pub version: i64,
    /// The values.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub variables: Vec<Variable>,
    /// Names of the ids scopes use (absent in some exports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_values: Option<ScopeValues>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `VariableResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Variable {
    /// A GUID; sending a sensitive variable back with its id keeps its stored secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub name: String,
    /// Its value; always null for a sensitive variable when read.
    #[serde(default)]
    pub value: Option<String>,
    /// `String`, `Sensitive`, `Certificate`, ... (absent from Octopus 3.x payloads).
    #[serde(default, rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Whether the value is sensitive.
    #[serde(default)]
    pub is_sensitive: bool,
    /// Scope dimension (`Environment`, `Role`, `Action`, ...) -> ids or names.
    #[serde(default, deserialize_with = "super::tolerant::scope")]
    pub scope: BTreeMap<String, Vec<String>>,
    /// Everything else (`Description`, `Prompt`, `IsEditable`).
    #[serde(flatten)]
    pub other: Other,
}

/// `VariableScopeValues`: for each scope dimension, the ids it may name and their names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScopeValues {
    /// Environments.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub environments: Vec<ReferenceDataItem>,
    /// Deployment targets.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub machines: Vec<ReferenceDataItem>,
    /// Actions (steps).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub actions: Vec<ReferenceDataItem>,
    /// Target roles.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub roles: Vec<ReferenceDataItem>,
    /// Channels.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub channels: Vec<ReferenceDataItem>,
    /// Everything else (`TenantTags`, `Processes`).
    #[serde(flatten)]
    pub other: Other,
}

/// `ReferenceDataItem`: an id and its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferenceDataItem {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
