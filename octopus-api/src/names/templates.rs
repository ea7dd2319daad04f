//! Library step templates in a bundle (`step-templates.json`): each template a release's
//! process uses, at the version the process uses, with names instead of ids.
//!
//! ```text
//! process action: Octopus.Action.Template.Id = ActionTemplates-7, .Version = 3
//!   export: GET actiontemplates/ActionTemplates-7/versions/3 ──named──> step-templates.json
//!           process.json holds the template's NAME in Octopus.Action.Template.Id
//!   import: the target's template of that name (mapping table [step_templates]):
//!           missing -> create; older and different -> update; equal -> use;
//!           same or newer version and different -> refused (step-template-conflict)
//! ```
//!
//! What travels of a template: name, version, description, action type, properties (id
//! values named), packages (feeds by name), parameters (name, label, help text, control
//! type, default). Dropped: `Id`, `SpaceId`, `Links`, `LastModified*`, parameter and package
//! ids, and `CommunityActionTemplateId` (an id of the development zone's community library
//! link; on the secure side the template is a custom one). A sensitive parameter default never
//! travels: only whether the development zone has one (`{"HasValue": true, "NewValue": null}`).
//!
//! "Same content" ([`template_difference`]): the two named forms are equal, field by field
//! both ways, ignoring `Version` and whether a sensitive default or property has a value (a
//! secret is each zone's own). Missing, `null`, `""`, `[]` and `{}` are equal.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::directory::Directory;
use super::export::{Unnamed, properties};
use super::import::{NameKind, Resolver};
use super::model::NamedPackage;
use crate::resources::{
    ActionTemplate, ActionTemplateParameter, DeploymentProcess, Other, PackageReference,
    PropertyValue, SensitiveValue,
};

/// The document's name in a release folder and bundle.
pub const STEP_TEMPLATES_FILE: &str = "step-templates.json";

/// The action property that names the template an action uses (an id on an instance, the
/// template's name in a bundle).
pub const TEMPLATE_ID: &str = "Octopus.Action.Template.Id";

/// The action property that names the version of the template an action uses.
pub const TEMPLATE_VERSION: &str = "Octopus.Action.Template.Version";

/// Fields of a template that are the instance's own, besides [`super::INSTANCE_FIELDS`].
const TEMPLATE_INSTANCE_FIELDS: &[&str] = &["CommunityActionTemplateId"];

/// `step-templates.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepTemplates {
    /// Each template the process uses, once.
    #[serde(default)]
    pub step_templates: Vec<NamedStepTemplate>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A library step template with names instead of ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedStepTemplate {
    /// Its name.
    pub name: String,
    /// The version the development zone's process uses.
    pub version: i64,
    /// What it does.
    #[serde(default)]
    pub description: Option<String>,
    /// The action type it runs.
    pub action_type: String,
    /// Its properties (id values named; sensitive ones without a value).
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
    /// Its packages, feeds by name.
    #[serde(default)]
    pub packages: Vec<NamedPackage>,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Vec<NamedParameter>,
    /// Everything else (`StepPackageId`, ... of newer servers).
    #[serde(flatten)]
    pub other: Other,
}

/// A parameter of [`NamedStepTemplate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedParameter {
    /// The variable name an action fills in.
    pub name: String,
    /// Its default: text, or for a sensitive parameter only whether it has one.
    #[serde(default)]
    pub default_value: Option<PropertyValue>,
    /// `Octopus.ControlType` and its options.
    #[serde(default)]
    pub display_settings: Option<BTreeMap<String, String>>,
    /// Everything else (`Label`, `HelpText`).
    #[serde(flatten)]
    pub other: Other,
}

/// An action of a process that uses a library step template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateUse {
    /// The action's name.
    pub action: String,
    /// `Octopus.Action.Template.Id`.
    pub template: String,
    /// `Octopus.Action.Template.Version`, if set.
    pub version: Option<String>,
}

/// Every action of `process` that uses a step template, in process order.
pub fn template_uses(process: &DeploymentProcess) -> Vec<TemplateUse> {
    let text = |props: &BTreeMap<String, PropertyValue>, key: &str| match props.get(key) {
        Some(PropertyValue::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_owned()),
        _ => None,
    };
    process
        .steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter_map(|a| {
            Some(TemplateUse {
                action: a.name.clone(),
                template: text(&a.properties, TEMPLATE_ID)?,
                version: text(&a.properties, TEMPLATE_VERSION),
            })
        })
        .collect()
}

/// A template (at one version) as `step-templates.json` carries it. Errors list every id
/// with no name.
pub fn template_to_names(
    template: &ActionTemplate,
    directory: &Directory,
) -> Result<NamedStepTemplate, Vec<String>> {
    let mut unnamed = Unnamed::default();
    let packages = template
        .packages
        .iter()
        .map(|p| NamedPackage {
            name: p.name.clone(),
            package_id: p.package_id.clone(),
            feed: unnamed.name(&directory.feeds, "feed", &p.feed_id),
            other: super::without_instance_fields(&p.other),
        })
        .collect();
    let named = NamedStepTemplate {
        name: template.name.clone(),
        version: template.version,
        description: template.description.clone(),
        action_type: template.action_type.clone(),
        properties: properties(&template.properties, directory, &mut unnamed),
        packages,
        parameters: template.parameters.iter().map(parameter_to_names).collect(),
        other: without_template_instance_fields(&template.other),
    };
    unnamed.finish(named)
}

/// A parameter without its id; a sensitive default becomes "has a value or not", never the
/// value (even where a server sent one as text).
fn parameter_to_names(parameter: &ActionTemplateParameter) -> NamedParameter {
    let default_value = match &parameter.default_value {
        _ if parameter.is_sensitive() => Some(PropertyValue::Sensitive(SensitiveValue {
            has_value: match &parameter.default_value {
                Some(PropertyValue::Sensitive(s)) => s.has_value,
                Some(PropertyValue::Text(t)) => !t.is_empty(),
                None => false,
            },
            new_value: None,
            hint: None,
        })),
        other => other.clone(),
    };
    NamedParameter {
        name: parameter.name.clone(),
        default_value,
        display_settings: parameter.display_settings.clone(),
        other: super::without_instance_fields(&parameter.other),
    }
}

fn without_template_instance_fields(other: &Other) -> Other {
    super::without_instance_fields(other)
        .into_iter()
        .filter(|(k, _)| !TEMPLATE_INSTANCE_FIELDS.contains(&k.as_str()))
        .collect()
}

/// The first difference of content between the bundle's template and the target's (both
/// named with [`template_to_names`]), as `Properties > Octopus.Action.Script.ScriptBody: the
/// bundle has "..", the target ".."`; `None` when they have the same content (see the module
/// documentation for what that means).
pub fn template_difference(
    bundle: &NamedStepTemplate,
    target: &NamedStepTemplate,
) -> Option<String> {
    diff(&content(bundle), &content(target), &mut Vec::new())
}

/// The JSON a comparison walks: no `Version`, sensitive values reduced to "sensitive".
fn content(template: &NamedStepTemplate) -> Value {
    let mut template = template.clone();
    template.version = 0;
    let blind = |v: &mut PropertyValue| {
        if let PropertyValue::Sensitive(s) = v {
            *s = SensitiveValue {
                has_value: false,
                new_value: None,
                hint: None,
            };
        }
    };
    template.properties.values_mut().for_each(blind);
    for parameter in &mut template.parameters {
        if let Some(default) = &mut parameter.default_value {
            blind(default);
        }
    }
    let mut json = serde_json::to_value(&template).unwrap_or(Value::Null);
    if let Some(object) = json.as_object_mut() {
        object.remove("Version");
    }
    json
}

/// The longest value quoted in a difference.
const SHOWN_CHARS: usize = 60;

fn diff(bundle: &Value, target: &Value, path: &mut Vec<String>) -> Option<String> {
    if is_blank(bundle) && is_blank(target) {
        return None;
    }
    match (bundle, target) {
        (Value::Object(b), Value::Object(t)) => {
            let keys: BTreeSet<&String> = b.keys().chain(t.keys()).collect();
            for key in keys {
                path.push(key.clone());
                let found = diff(
                    b.get(key).unwrap_or(&Value::Null),
                    t.get(key).unwrap_or(&Value::Null),
                    path,
                );
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        (Value::Array(b), Value::Array(t)) if b.len() == t.len() => {
            for (index, (b_item, t_item)) in b.iter().zip(t).enumerate() {
                path.push(match b_item.get("Name").and_then(Value::as_str) {
                    Some(name) => format!("{name:?}"),
                    None => format!("#{}", index.saturating_add(1)),
                });
                let found = diff(b_item, t_item, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        _ if bundle == target => None,
        _ => Some(format!(
            "{}: the bundle has {}, the target {}",
            if path.is_empty() {
                "the template".to_owned()
            } else {
                path.join(" > ")
            },
            shown(bundle),
            shown(target)
        )),
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn shown(value: &Value) -> String {
    if is_blank(value) {
        return "nothing".to_owned();
    }
    let text = value.to_string();
    if text.chars().count() <= SHOWN_CHARS {
        text
    } else {
        let cut: String = text.chars().take(SHOWN_CHARS).collect();
        format!("{cut}...")
    }
}

impl Resolver<'_> {
    /// The bundle's template as the target must hold it: feeds and id-valued properties
    /// resolved (every name the target lacks recorded), the ids of the packages and
    /// parameters `existing` has by the same names reused. A sensitive default or property
    /// is sent as the target has it (`{"HasValue": <stored>, "NewValue": null}`), so that a
    /// bundle never sets, replaces or clears a secret of the secure zone.
    pub fn step_template(
        &mut self,
        named: &NamedStepTemplate,
        name: &str,
        existing: Option<&ActionTemplate>,
    ) -> ActionTemplate {
        let place = format!("step template {:?}", named.name);
        let packages = named
            .packages
            .iter()
            .map(|package| {
                let used_in = format!("package {} of {place}", package.package_id);
                PackageReference {
                    id: existing
                        .into_iter()
                        .flat_map(|t| &t.packages)
                        .find(|p| p.name.eq_ignore_ascii_case(&package.name))
                        .and_then(|p| p.id.clone()),
                    name: package.name.clone(),
                    package_id: package.package_id.clone(),
                    feed_id: self
                        .resolve(NameKind::Feed, &package.feed, &used_in)
                        .map(|(id, _)| id)
                        .unwrap_or_default(),
                    other: package.other.clone(),
                }
            })
            .collect();
        let stored = |value: Option<&PropertyValue>| matches!(value, Some(PropertyValue::Sensitive(s)) if s.has_value);
        let mut properties = self.properties(&named.properties, &place);
        for (key, value) in &mut properties {
            if let PropertyValue::Sensitive(s) = value {
                s.has_value = stored(existing.and_then(|t| t.properties.get(key)));
                s.new_value = None;
            }
        }
        let parameters = named
            .parameters
            .iter()
            .map(|parameter| {
                let old = existing
                    .into_iter()
                    .flat_map(|t| &t.parameters)
                    .find(|p| p.name.eq_ignore_ascii_case(&parameter.name));
                let sensitive_control = parameter
                    .display_settings
                    .as_ref()
                    .and_then(|d| d.get("Octopus.ControlType"))
                    .is_some_and(|c| c == "Sensitive");
                let default_value = match &parameter.default_value {
                    // A sensitive parameter's default given as text (a hostile or broken
                    // bundle) is a secret too: it is never sent.
                    Some(PropertyValue::Sensitive(_)) | Some(PropertyValue::Text(_))
                        if sensitive_control
                            || matches!(
                                parameter.default_value,
                                Some(PropertyValue::Sensitive(_))
                            ) =>
                    {
                        Some(PropertyValue::Sensitive(SensitiveValue {
                            has_value: stored(old.and_then(|p| p.default_value.as_ref())),
                            new_value: None,
                            hint: None,
                        }))
                    }
                    other => other.clone(),
                };
                ActionTemplateParameter {
                    id: old.and_then(|p| p.id.clone()),
                    name: parameter.name.clone(),
                    default_value,
                    display_settings: parameter.display_settings.clone(),
                    other: parameter.other.clone(),
                }
            })
            .collect();
        let mut other = named.other.clone();
        if let Some(existing) = existing {
            // The target's own link to its community library stays.
            for key in TEMPLATE_INSTANCE_FIELDS {
                if let Some(value) = existing.other.get(*key) {
                    other.insert((*key).to_owned(), value.clone());
                }
            }
        }
        ActionTemplate {
            id: existing.and_then(|t| t.id.clone()),
            name: name.to_owned(),
            version: existing.map_or(0, |t| t.version),
            description: named.description.clone(),
            action_type: named.action_type.clone(),
            packages,
            properties,
            parameters,
            other,
        }
    }
}

#[cfg(test)]
mod tests;
