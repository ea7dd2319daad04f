//! The Octopus resources Zonebridge reads and writes, typed after the Swagger definitions in
//! `fixtures/octopus/octopus_deploy.json` (the definition is named on each type).
//!
//! Every type keeps the fields it does not name in `other`, so a read-modify-write (a
//! process, a variable set) sends back everything it read. Optional strings are `Option`s:
//! Octopus writes `null` for many of them.

mod feed;
mod preview;
mod process;
mod project;
mod release;
mod task;
mod template;
mod tenant_values;
mod tolerant;
mod trigger;
mod variables;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use feed::{PackageVersion, find_version};
pub use preview::{Control, DeploymentPreview, Form, FormElement};
pub use process::{
    Action, DeploymentProcess, PackageReference, PropertyValue, SensitiveValue, Step,
};
pub use project::{
    Channel, Environment, Feed, LibraryVariableSet, Lifecycle, Phase, Project, ProjectGroup,
};
pub use release::{Package, Release, SelectedPackage};
pub use task::{
    ActivityElement, Deployment, GUIDANCE_TITLE_SUFFIX, Interruption, InterruptionKind, Task,
    TaskDetails, Tenant,
};
pub use template::{ActionTemplate, ActionTemplateParameter};
pub use tenant_values::{
    TenantValue, TenantValues, ValueChange, ValueState, VariableTemplate, tenant_environments,
    tenant_tags,
};
pub use trigger::ProjectTrigger;
pub use variables::{ReferenceDataItem, ScopeValues, Variable, VariableSet};

/// Fields a type does not name, kept for writing back.
pub type Other = Map<String, Value>;

/// `RootResource` (`GET /api`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootDocument {
    /// "Octopus Deploy".
    #[serde(default)]
    pub application: String,
    /// The server version.
    #[serde(default)]
    pub version: String,
    /// Link templates by name.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `SpaceResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Space {
    /// `Spaces-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether it is the instance's default space.
    #[serde(default)]
    pub is_default: bool,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `ResourceCollection_of_*`: one page of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Collection<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole collection has.
    pub total_results: usize,
    /// `Page.Next` and the other links.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
