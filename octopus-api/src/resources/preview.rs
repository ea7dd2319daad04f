//! The deployment preview (`GET releases/{id}/deployments/preview/{environment}[/{tenant}]`):
//! what a deployment of a release would ask for, as a form whose elements are the release's
//! prompted variables.

use serde::{Deserialize, Serialize};

use super::Other;

/// `DeploymentPreviewResource`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentPreview {
    /// The form a deployment fills in (`null` on some servers when there is nothing to ask).
    #[serde(default)]
    pub form: Option<Form>,
    /// Everything else (`StepsToExecute`, `Changes`, ...).
    #[serde(flatten)]
    pub other: Other,
}

impl DeploymentPreview {
    /// The form's elements (none when the server sent no form).
    pub fn elements(&self) -> &[FormElement] {
        self.form
            .as_ref()
            .and_then(|f| f.elements.as_deref())
            .unwrap_or_default()
    }
}

/// `Form`: its elements and their default values.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Form {
    /// The elements; `null` reads as none.
    #[serde(default)]
    pub elements: Option<Vec<FormElement>>,
    /// Everything else (`Values`).
    #[serde(flatten)]
    pub other: Other,
}

/// `FormElement`: one value asked for. For a prompted variable, `Name` is the variable's id,
/// the key of `DeploymentResource.FormValues` (octo `DeployReleaseCommand`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FormElement {
    /// The key its value is sent under.
    #[serde(default)]
    pub name: String,
    /// How it is asked for.
    #[serde(default)]
    pub control: Option<Control>,
    /// Whether a deployment needs a value for it.
    #[serde(default)]
    pub is_value_required: bool,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A form control; for a prompted variable a `VariableValue` (Octopus.Client
/// `Model/Forms/VariableValue.cs`: `Name`, `Label`, `Description`, `IsSecure`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Control {
    /// `VariableValue`, ...
    #[serde(default, rename = "Type")]
    pub kind: Option<String>,
    /// The variable's name.
    #[serde(default)]
    pub name: Option<String>,
    /// What a person is shown.
    #[serde(default)]
    pub label: Option<String>,
    /// A sensitive variable: its value must never be shown.
    #[serde(default)]
    pub is_secure: Option<bool>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}
