//! Library step templates (`actiontemplates`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Other, PackageReference, PropertyValue};

/// `ActionTemplateResource`: a library step template, at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplate {
    /// `ActionTemplates-N`; absent when creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its name (unique in the space).
    pub name: String,
    /// Its version on this instance: 0 when created, one more at every save.
    #[serde(default)]
    pub version: i64,
    /// What it does.
    #[serde(default)]
    pub description: Option<String>,
    /// The action type it runs (`Octopus.Script`, ...).
    pub action_type: String,
    /// Its package references.
    #[serde(default)]
    pub packages: Vec<PackageReference>,
    /// Its properties (the script, ...).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// The parameters the actions using it fill in.
    #[serde(default)]
    pub parameters: Vec<ActionTemplateParameter>,
    /// Everything else (`CommunityActionTemplateId`, `StepPackageId`, `Links`, ...).
    #[serde(flatten)]
    pub other: Other,
}

/// `ActionTemplateParameterResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionTemplateParameter {
    /// A GUID; absent for a new parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The variable name an action fills in.
    pub name: String,
    /// Its default: text, or for a sensitive parameter `{"HasValue", "NewValue"}`.
    #[serde(default)]
    pub default_value: Option<PropertyValue>,
    /// `Octopus.ControlType` (`Sensitive`, `SingleLineText`, ...) and its options.
    #[serde(default)]
    pub display_settings: Option<BTreeMap<String, String>>,
    /// Everything else (`Label`, `HelpText`, ...).
    #[serde(flatten)]
    pub other: Other,
}

impl ActionTemplateParameter {
    /// Whether its value is sensitive: its control type says so, or its default is a
    /// sensitive value.
    pub fn is_sensitive(&self) -> bool {
        matches!(self.default_value, Some(PropertyValue::Sensitive(_)))
            || self
                .display_settings
                .as_ref()
                .and_then(|d| d.get("Octopus.ControlType"))
                .is_some_and(|c| c == "Sensitive")
    }
}
