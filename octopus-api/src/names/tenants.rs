//! `tenants.json`: the tenants connected to the released project and their values, by name
//! (bundle spec 13, release documents). No instance id travels: tenants, tag sets,
//! environments, library variable sets and templates are named; sensitive values never travel
//! (each becomes a `TenantSensitive` secret requirement in the manifest, see
//! [`TENANT_SENSITIVE`]).
//!
//! ```json
//! {"Tenants": [{"Name": "Acquirer EU", "Tags": ["Region/EU"], "Environments": ["PCI Staging"],
//!   "ProjectValues": [{"Template": "Merchant.Url", "Environment": "PCI Staging", "Value": "https://…"}],
//!   "CommonValues": [{"LibraryVariableSet": "Acquirer Settings", "Template": "Acquirer.Region", "Value": "eu-west"}]}]}
//! ```

use serde::{Deserialize, Serialize};

use crate::resources::Other;

/// The document's name in a release folder and bundle.
pub const TENANTS_DOCUMENT: &str = "tenants.json";

/// The manifest's secret requirement kind for a sensitive tenant value: owner the project (or
/// the library variable set of a common template), name the template, scope `Tenant` = the
/// tenant's name and, for a project template, `Environment` = the environment's name.
pub const TENANT_SENSITIVE: &str = "TenantSensitive";

/// `tenants.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantsDocument {
    /// The tenants connected to the project, by name.
    #[serde(default)]
    pub tenants: Vec<NamedTenant>,
    /// Fields a newer exporter writes, kept.
    #[serde(flatten)]
    pub other: Other,
}

/// A tenant and its values for the project, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedTenant {
    /// Its name.
    pub name: String,
    /// Its tags, canonical names (`Set/Tag`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The environments it is connected to for the project.
    #[serde(default)]
    pub environments: Vec<String>,
    /// Its plain values for the project's templates.
    #[serde(default)]
    pub project_values: Vec<NamedTenantValue>,
    /// Its plain values for the common templates of the library variable sets the release
    /// includes.
    #[serde(default)]
    pub common_values: Vec<NamedTenantValue>,
    /// Fields a newer exporter writes, kept.
    #[serde(flatten)]
    pub other: Other,
}

/// One plain tenant value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedTenantValue {
    /// The library variable set (common values only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library_variable_set: Option<String>,
    /// The template's name.
    pub template: String,
    /// The environment (project values), or none (common values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The value.
    pub value: String,
    /// Fields a newer exporter writes, kept.
    #[serde(flatten)]
    pub other: Other,
}
