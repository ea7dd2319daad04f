//! Variable templates (`Templates` of a project or a library variable set): the variables each
//! tenant gives a value for. Each is an `ActionTemplateParameterResource` (`Id`, `Name`,
//! `Label`, `HelpText`, `DefaultValue`, `DisplaySettings`; Swagger, go-octopusdeploy
//! `actiontemplates/action_template_parameter.go`); a template is sensitive when its
//! `DisplaySettings["Octopus.ControlType"]` is `Sensitive`.

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::store::{Doc, items, new_guid, text};

/// The writable fields of `ActionTemplateParameterResource`.
const TEMPLATE: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("Label", Ty::Str),
    ("HelpText", Ty::Str),
    ("DefaultValue", Ty::Object),
    ("DisplaySettings", Ty::Map),
];

/// Checks and completes the `Templates` of `doc` (a project or library variable set): names
/// required and unique ignoring case; a template without an `Id` keeps the id of the current
/// template of the same name, else gets a new one. A sensitive default is never shown back.
pub fn normalise(doc: &mut Doc, current: Option<&Doc>) -> ApiResult<()> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for given in items(doc, "Templates") {
        // `DefaultValue` is a string or a sensitive value object; `take` checks objects only.
        let default = given.get("DefaultValue").cloned();
        let mut without_default = given.clone();
        if let Some(object) = without_default.as_object_mut() {
            object.remove("DefaultValue");
        }
        let mut template = fields::take(&without_default, TEMPLATE)?;
        let Ok(name) = fields::required_text(&template, "Name") else {
            errors.push("Every variable template needs a Name.".to_owned());
            continue;
        };
        if names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
            errors.push(format!("Two variable templates are named '{name}'."));
        }
        names.push(name.clone());
        let id = text(&template, "Id")
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .or_else(|| {
                current.and_then(|c| {
                    items(c, "Templates")
                        .find(|t| {
                            t.get("Name")
                                .and_then(Value::as_str)
                                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                        })
                        .and_then(|t| t.get("Id")?.as_str().map(str::to_owned))
                })
            })
            .unwrap_or_else(new_guid);
        template.insert("Id".into(), json!(id));
        let default = match default {
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) => Value::String(s),
            // A sensitive default is kept out of the document, like every sensitive value.
            Some(Value::Object(o)) => json!({
                "HasValue": o.get("HasValue") == Some(&Value::Bool(true))
                    || o.get("NewValue").is_some_and(Value::is_string),
                "NewValue": null,
            }),
            Some(_) => {
                errors.push(format!(
                    "The DefaultValue of template '{name}' must be a string or a sensitive value."
                ));
                Value::Null
            }
        };
        template.insert("DefaultValue".into(), default);
        out.push(Value::Object(template));
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_all(errors));
    }
    doc.insert("Templates".into(), Value::Array(out));
    Ok(())
}

/// The template of `owner` (a project or library variable set) with this id.
pub fn find<'a>(owner: &'a Doc, id: &str) -> Option<&'a Map<String, Value>> {
    items(owner, "Templates")
        .filter_map(Value::as_object)
        .find(|t| t.get("Id").and_then(Value::as_str) == Some(id))
}

/// Whether a template holds secrets (`Octopus.ControlType` = `Sensitive`).
pub fn is_sensitive(template: &Map<String, Value>) -> bool {
    template
        .get("DisplaySettings")
        .and_then(|d| d.get("Octopus.ControlType"))
        .and_then(Value::as_str)
        == Some("Sensitive")
}
