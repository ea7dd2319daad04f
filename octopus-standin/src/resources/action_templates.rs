//! Library step templates (`actiontemplates`, Swagger `ActionTemplateResource`): a reusable
//! action (type, properties, packages) with parameters that the actions using it fill in.
//!
//! Rules (sources in `octopus-standin/README.md`):
//! - `POST` creates the template at `Version` 0 whatever the body says (OctopusDeploy/Issues
//!   #2979: "its version is not preserved and it is set to 0"); every `PUT` saves the next
//!   version. Every version is kept (`ActionTemplateVersion`, Issues #7316) and served by
//!   `actiontemplates/{id}/versions/{version}`.
//! - A parameter's `DefaultValue` is a string, or for a sensitive parameter (control type
//!   `Sensitive`) `{"HasValue", "NewValue"}`, stored apart and read back as
//!   `{"HasValue": true, "NewValue": null}`, like sensitive action properties. Sent back as
//!   read, the stored value is kept (matched by parameter `Id`).
//! - Names are unique in the space; package references name existing feeds.
//! - A deployment process action that names a template (`Octopus.Action.Template.Id`) must
//!   name one of the space, at a version it had (`Octopus.Action.Template.Version`): see
//!   [`check_action`].

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{find, stamp, unique_name};
use crate::error::{ApiError, ApiResult};
use crate::fields::{self, Field, Ty};
use crate::kind::Kind;
use crate::store::{Doc, Store, new_guid, text};

/// The writable fields of `ActionTemplateResource`; other fields (`StepPackageId`,
/// `GitDependencies`, `Category`, ... of newer servers) are kept as given.
const TEMPLATE: &[Field] = &[
    ("Name", Ty::Str),
    ("Description", Ty::Str),
    ("ActionType", Ty::Str),
    ("CommunityActionTemplateId", Ty::Str),
    ("Packages", Ty::Array),
    ("Properties", Ty::Map),
    ("Parameters", Ty::Array),
];

/// Fields the server owns: never taken from a body.
const SERVER_OWNED: &[&str] = &[
    "Id",
    "SpaceId",
    "Version",
    "Links",
    "LastModifiedOn",
    "LastModifiedBy",
];

/// The writable fields of `ActionTemplateParameterResource` but `DefaultValue`, which is a
/// string or a sensitive value.
const PARAMETER: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("Label", Ty::Str),
    ("HelpText", Ty::Str),
    ("DisplaySettings", Ty::Map),
];

/// The writable fields of `PackageReference`.
const PACKAGE: &[Field] = &[
    ("Id", Ty::Str),
    ("Name", Ty::Str),
    ("PackageId", Ty::Str),
    ("FeedId", Ty::Str),
    ("AcquisitionLocation", Ty::Str),
    ("Properties", Ty::Map),
];

/// The action property that names a template, and the one that names its version.
pub const TEMPLATE_ID: &str = "Octopus.Action.Template.Id";
/// See [`TEMPLATE_ID`].
pub const TEMPLATE_VERSION: &str = "Octopus.Action.Template.Version";

/// `POST /api/{space}/actiontemplates`.
pub fn create(store: &mut Store, space: &str, body: &Value) -> ApiResult<Doc> {
    let (doc, secrets) = read(store, space, body, None)?;
    let id = store.next_id(Kind::ActionTemplate);
    Ok(save(store, space, &id, 0, doc, secrets))
}

/// `PUT /api/{space}/actiontemplates/{id}`: the next version.
pub fn update(store: &mut Store, space: &str, id: &str, body: &Value) -> ApiResult<Doc> {
    let current = find(store, Kind::ActionTemplate, space, id)?;
    let id = text(current, "Id").unwrap_or(id).to_owned();
    let version = version_of(current).saturating_add(1);
    let (doc, secrets) = read(store, space, body, Some(&id))?;
    Ok(save(store, space, &id, version, doc, secrets))
}

/// `DELETE /api/{space}/actiontemplates/{id}`: refused while a live deployment process uses
/// it (the stand-in's rule: a process must never name a template that does not exist).
pub fn delete(store: &mut Store, space: &str, id: &str) -> ApiResult<()> {
    let current = find(store, Kind::ActionTemplate, space, id)?;
    let id = text(current, "Id").unwrap_or(id).to_owned();
    let name = text(current, "Name").unwrap_or("").to_owned();
    let users = store
        .all(Kind::DeploymentProcess)
        .iter()
        .filter(|p| text(p, "Id").is_some_and(|pid| !store.is_frozen(pid)))
        .filter(|p| uses(p, &id))
        .count();
    if users > 0 {
        return Err(ApiError::invalid(format!(
            "The step template '{name}' is used by {users} deployment process(es) and cannot be deleted."
        )));
    }
    store.remove(Kind::ActionTemplate, &id);
    store.clear_secrets(&id);
    Ok(())
}

/// `GET /api/{space}/actiontemplates/{id}/versions/{version}`: the template as it was saved
/// at that version.
pub fn at_version(store: &Store, space: &str, id: &str, version: &str) -> ApiResult<Doc> {
    let current = find(store, Kind::ActionTemplate, space, id)?;
    let id = text(current, "Id").unwrap_or(id);
    let wanted: i64 = version
        .parse()
        .map_err(|_| ApiError::not_found("step template version", &format!("{id}/{version}")))?;
    store
        .history(id)
        .iter()
        .find(|d| version_of(d) == wanted)
        .cloned()
        .ok_or_else(|| ApiError::not_found("step template version", &format!("{id}/{version}")))
}

/// Checks an action of a deployment process that uses a template: the template exists in the
/// space, and had the version the action names. Problems go to `errors`, as the process
/// validation collects them.
pub fn check_action(
    store: &Store,
    space: &str,
    action: &Doc,
    name: &str,
    errors: &mut Vec<String>,
) {
    let props = action.get("Properties").and_then(Value::as_object);
    let Some(template) = props.and_then(|p| p.get(TEMPLATE_ID)) else {
        return;
    };
    let found = template.as_str().and_then(|t| {
        store
            .get(Kind::ActionTemplate, t)
            .filter(|d| text(d, "SpaceId") == Some(space))
    });
    let Some(found) = found else {
        errors.push(format!(
            "Action '{name}' uses step template '{}', which does not exist in {space}.",
            template.as_str().unwrap_or("")
        ));
        return;
    };
    let template_id = text(found, "Id").unwrap_or("");
    let version = props
        .and_then(|p| p.get(TEMPLATE_VERSION))
        .and_then(Value::as_str);
    let had = version
        .and_then(|v| v.parse::<i64>().ok())
        .is_some_and(|v| {
            store
                .history(template_id)
                .iter()
                .any(|d| version_of(d) == v)
        });
    if !had {
        errors.push(format!(
            "Action '{name}' uses version '{}' of step template '{}', which it never had (its current version is {}).",
            version.unwrap_or(""),
            text(found, "Name").unwrap_or(""),
            version_of(found)
        ));
    }
}

/// Whether a process has an action that uses the template `id`.
fn uses(process: &Doc, id: &str) -> bool {
    crate::store::items(process, "Steps")
        .flat_map(|s| crate::store::items(s, "Actions"))
        .any(|a| {
            a.get("Properties")
                .and_then(|p| p.get(TEMPLATE_ID))
                .and_then(Value::as_str)
                == Some(id)
        })
}

fn version_of(doc: &Doc) -> i64 {
    doc.get("Version").and_then(Value::as_i64).unwrap_or(0)
}

/// Sensitive values of a template body, by slot (`param:<Id>`, `prop:<Key>`).
type Secrets = Vec<(String, String)>;

/// The template a body describes, checked, with its sensitive values taken out. `id` is the
/// template being replaced (whose stored values a `{"HasValue": true, "NewValue": null}` keeps).
fn read(store: &Store, space: &str, body: &Value, id: Option<&str>) -> ApiResult<(Doc, Secrets)> {
    let given = fields::object(body)?;
    let mut doc = fields::take(body, TEMPLATE)?;
    for (key, value) in given {
        if !doc.contains_key(key) && !SERVER_OWNED.contains(&key.as_str()) {
            doc.insert(key.clone(), value.clone());
        }
    }
    let name = fields::required_text(&doc, "Name")?;
    unique_name(store, Kind::ActionTemplate, space, &name, id, |_| true)?;
    let old = id.map(|id| store.secrets_of(id)).unwrap_or_default();
    let mut errors = Vec::new();
    if text(&doc, "ActionType").is_none_or(str::is_empty) {
        errors.push("The ActionType field is required.".to_owned());
    }
    let mut secrets = Vec::new();
    let mut packages = Vec::new();
    for package in crate::store::items(&doc, "Packages") {
        let mut package = fields::take(package, PACKAGE)?;
        if text(&package, "Id").is_none_or(str::is_empty) {
            package.insert("Id".into(), json!(new_guid()));
        }
        if package.get("Name").is_none_or(Value::is_null) {
            package.insert("Name".into(), json!(""));
        }
        match text(&package, "FeedId") {
            Some(feed) if store.get(Kind::Feed, feed).is_some() => {}
            other => errors.push(format!(
                "A package of step template '{name}' refers to feed '{}', which does not exist.",
                other.unwrap_or("")
            )),
        }
        packages.push(Value::Object(package));
    }
    doc.insert("Packages".into(), Value::Array(packages));
    let mut properties = Map::new();
    if let Some(props) = doc.get("Properties").and_then(Value::as_object) {
        for (key, value) in props {
            let slot = format!("prop:{key}");
            match value {
                Value::String(_) => {
                    properties.insert(key.clone(), value.clone());
                }
                Value::Object(_) => {
                    let has = keep_sensitive(value, &slot, &old, &mut secrets);
                    properties.insert(key.clone(), hidden(has));
                }
                _ => errors.push(format!(
                    "The step template property {key} must be a string, or {{\"HasValue\", \"NewValue\"}} for a sensitive value."
                )),
            }
        }
    }
    doc.insert("Properties".into(), Value::Object(properties));
    let mut parameters = Vec::new();
    let mut parameter_names: Vec<String> = Vec::new();
    for parameter in crate::store::items(&doc, "Parameters") {
        let mut taken = fields::take(parameter, PARAMETER)?;
        // Fields of newer servers are kept as given, as on the template itself.
        for (key, value) in parameter.as_object().into_iter().flatten() {
            if !taken.contains_key(key) && key != "DefaultValue" {
                taken.insert(key.clone(), value.clone());
            }
        }
        if text(&taken, "Id").is_none_or(str::is_empty) {
            taken.insert("Id".into(), json!(new_guid()));
        }
        let Ok(pname) = fields::required_text(&taken, "Name") else {
            errors.push(format!(
                "A parameter of step template '{name}' has no Name."
            ));
            continue;
        };
        if parameter_names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&pname))
        {
            errors.push(format!(
                "Parameter names must be unique: '{pname}' is used twice."
            ));
        }
        parameter_names.push(pname.clone());
        let sensitive = taken
            .get("DisplaySettings")
            .and_then(|d| d.get("Octopus.ControlType"))
            .and_then(Value::as_str)
            == Some("Sensitive");
        let slot = format!("param:{}", text(&taken, "Id").unwrap_or(""));
        let default = match parameter.get("DefaultValue") {
            None | Some(Value::Null) if sensitive => hidden(false),
            None | Some(Value::Null) => Value::Null,
            Some(Value::String(s)) if sensitive => {
                let has = !s.is_empty();
                if has {
                    secrets.push((slot, s.clone()));
                }
                hidden(has)
            }
            Some(v @ Value::String(_)) => v.clone(),
            Some(v @ Value::Object(_)) => hidden(keep_sensitive(v, &slot, &old, &mut secrets)),
            Some(_) => {
                errors.push(format!(
                    "The DefaultValue of parameter '{pname}' must be a string, or {{\"HasValue\", \"NewValue\"}} for a sensitive value."
                ));
                Value::Null
            }
        };
        taken.insert("DefaultValue".into(), default);
        parameters.push(Value::Object(taken));
    }
    doc.insert("Parameters".into(), Value::Array(parameters));
    if errors.is_empty() {
        Ok((doc, secrets))
    } else {
        Err(ApiError::invalid_all(errors))
    }
}

/// A sensitive value `{"HasValue", "NewValue"}`: a new value is taken, `NewValue: null` with
/// `HasValue: true` keeps the stored one. Whether a value is stored afterwards.
fn keep_sensitive(
    value: &Value,
    slot: &str,
    old: &BTreeMap<String, String>,
    secrets: &mut Secrets,
) -> bool {
    let has_value = value
        .get("HasValue")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let kept = match value.get("NewValue") {
        Some(Value::String(new)) if has_value => Some(new.clone()),
        None | Some(Value::Null) if has_value => old.get(slot).cloned(),
        _ => None,
    };
    match kept {
        Some(secret) => {
            secrets.push((slot.to_owned(), secret));
            true
        }
        None => false,
    }
}

/// How a sensitive value reads back.
fn hidden(has_value: bool) -> Value {
    json!({"HasValue": has_value, "NewValue": Value::Null})
}

/// Stamps and stores a version of the template, with its secrets, and records it in the
/// template's history (secrets of version N under `<id>@<N>`).
fn save(
    store: &mut Store,
    space: &str,
    id: &str,
    version: i64,
    mut doc: Doc,
    secrets: Secrets,
) -> Doc {
    doc.insert("Version".into(), json!(version));
    stamp(
        &mut doc,
        Kind::ActionTemplate,
        id,
        space,
        &[
            ("Usage", format!("/api/{space}/actiontemplates/{id}/usage")),
            (
                "Versions",
                format!("/api/{space}/actiontemplates/{id}/versions/{{version}}"),
            ),
        ],
    );
    store.clear_secrets(id);
    for (slot, value) in &secrets {
        store.set_secret(id, slot, Some(value.clone()));
        store.set_secret(&format!("{id}@{version}"), slot, Some(value.clone()));
    }
    store.push_history(id, doc.clone());
    store.put(Kind::ActionTemplate, doc.clone());
    doc
}
