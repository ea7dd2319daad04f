//! The executions API of current servers (2022.3.5512 and later): commands that name what
//! they act on (project, channel, environments, tenants, release version) instead of giving
//! ids, and create releases and deployments through the same rules as the classic routes.
//!
//! ```text
//! POST /api/{spaceId}/releases/create/v1                 -> release::create
//!      names -> ids, packages -> SelectedPackages, version -> resources::create(Release)
//! POST /api/{spaceId}/deployments/create/untenanted/v1   -> deploy::untenanted
//! POST /api/{spaceId}/deployments/create/tenanted/v1     -> deploy::tenanted
//!      names -> ids, then one resources::create(Deployment) per environment or tenant
//! ```
//!
//! Sources: `@octopusdeploy/api-client` 3.11 (`ReleaseRepository.create`,
//! `DeploymentRepository.create`/`createTenanted`, `CreateReleaseCommandV1`,
//! `CreateExecutionBaseV1`), go-octopusdeploy (`pkg/releases/create_release_v1.go`,
//! `pkg/deployments/deploy_release_v1.go`, `uritemplates/links.go`) and the Octopus CLI's tests
//! (`OctopusDeploy/cli`, `pkg/cmd/release/create/create_test.go`). The TypeScript client sends
//! `PascalCase` fields, the Go client `camelCase` ones: the server's deserialiser matches names
//! without regard to case, and so does [`Command`]. Both clients send the route's space id as
//! `spaceId` and the space again as `spaceIdOrName` (go-octopusdeploy: "the server requires
//! both"); the route must carry a space id, so the routes have no unscoped form.

pub mod deploy;
pub mod packages;
pub mod release;
pub mod version;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// A command body, read as the server's deserialiser reads it: field names without regard
/// to case, `null` as absent, unknown fields ignored. Type errors are collected, so one 400
/// names every wrong field.
#[derive(Debug)]
pub struct Command<'a> {
    input: &'a Map<String, Value>,
    errors: Vec<String>,
}

impl<'a> Command<'a> {
    /// The body as a command, or the 400 for a body that is not a JSON object.
    pub fn new(body: &'a Value) -> ApiResult<Self> {
        Ok(Command {
            input: crate::fields::object(body)?,
            errors: Vec::new(),
        })
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.input
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())
    }

    fn wrong(&mut self, name: &str, what: &str) {
        self.errors
            .push(format!("The {name} field must be {what}."));
    }

    /// A string field; blank counts as absent.
    pub fn text(&mut self, name: &str) -> Option<String> {
        match self.get(name) {
            None => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            Some(_) => {
                self.wrong(name, "a string");
                None
            }
        }
    }

    /// A boolean field, `None` when absent.
    pub fn flag(&mut self, name: &str) -> Option<bool> {
        match self.get(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.wrong(name, "true or false");
                None
            }
        }
    }

    /// An array of strings (blank entries dropped).
    pub fn list(&mut self, name: &str) -> Vec<String> {
        match self.get(name) {
            None => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(_) => {
                self.wrong(name, "an array of strings");
                Vec::new()
            }
        }
    }

    /// An object of string values (`Variables`, `CustomFields`).
    pub fn map(&mut self, name: &str) -> BTreeMap<String, String> {
        match self.get(name) {
            None => BTreeMap::new(),
            Some(Value::Object(map)) if map.values().all(Value::is_string) => map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect(),
            Some(_) => {
                self.wrong(name, "an object whose values are strings");
                BTreeMap::new()
            }
        }
    }

    /// The 400 naming every field of the wrong type, if any.
    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_all(self.errors))
        }
    }
}

/// Checks the body's `spaceId` and `spaceIdOrName` against the route's space: each, when
/// given, must name it (by id, or by name for `spaceIdOrName`, ignoring case).
pub fn check_space(
    store: &Store,
    space: &str,
    id: Option<&str>,
    id_or_name: Option<&str>,
) -> ApiResult<()> {
    let name = store
        .get(Kind::Space, space)
        .and_then(|s| text(s, "Name"))
        .unwrap_or("");
    if let Some(id) = id
        && !id.eq_ignore_ascii_case(space)
    {
        return Err(ApiError::invalid(format!(
            "The spaceId '{id}' of the command does not match the space of the route, {space}."
        )));
    }
    if let Some(given) = id_or_name
        && !given.eq_ignore_ascii_case(space)
        && !given.eq_ignore_ascii_case(name)
    {
        return Err(ApiError::invalid(format!(
            "The spaceIdOrName '{given}' of the command names neither {space} nor its name '{name}'."
        )));
    }
    Ok(())
}

/// A resource of `kind` in `space` named `wanted`: by id, by name ignoring case (projects also
/// by slug), among those `keep` admits.
pub fn by_name<'s>(
    store: &'s Store,
    kind: Kind,
    space: &str,
    wanted: &str,
    keep: impl Fn(&Doc) -> bool,
) -> Option<&'s Doc> {
    let candidates = || {
        store
            .all(kind)
            .iter()
            .filter(|d| text(d, "SpaceId").is_none_or(|s| s == space))
            .filter(|d| keep(d))
    };
    candidates()
        .find(|d| text(d, "Id") == Some(wanted))
        .or_else(|| {
            candidates().find(|d| text(d, "Name").is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        })
        .or_else(|| {
            candidates().find(|d| {
                kind == Kind::Project
                    && text(d, "Slug").is_some_and(|s| s.eq_ignore_ascii_case(wanted))
            })
        })
}

/// The project a command names (`ProjectName`: a name, id or slug), or the 400 naming it.
pub fn project<'s>(store: &'s Store, space: &str, name: Option<&str>) -> ApiResult<&'s Doc> {
    let name = name.ok_or_else(|| ApiError::invalid("The ProjectName field is required."))?;
    by_name(store, Kind::Project, space, name, |_| true).ok_or_else(|| {
        ApiError::invalid(format!(
            "Unable to locate a project named '{name}' in {space}."
        ))
    })
}

/// A JSON object of string values.
pub fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_match_without_regard_to_case_and_null_is_absent() -> ApiResult<()> {
        let body = json!({"projectName": "Payments", "RELEASEVERSION": " 1.0 ", "ChannelName": null,
                          "ignoreIfAlreadyExists": true, "environmentNames": ["Dev", " ", "Prod"],
                          "variables": {"A": "1"}, "Unknown": 5});
        let mut cmd = Command::new(&body)?;
        assert_eq!(cmd.text("ProjectName").as_deref(), Some("Payments"));
        assert_eq!(cmd.text("ReleaseVersion").as_deref(), Some("1.0"));
        assert_eq!(cmd.text("ChannelName"), None);
        assert_eq!(cmd.flag("IgnoreIfAlreadyExists"), Some(true));
        assert_eq!(cmd.flag("IgnoreChannelRules"), None);
        assert_eq!(cmd.list("EnvironmentNames"), ["Dev", "Prod"]);
        assert_eq!(cmd.map("Variables").get("A").map(String::as_str), Some("1"));
        cmd.finish()
    }

    #[test]
    fn every_wrong_type_is_named_in_one_refusal() -> ApiResult<()> {
        let body = json!({"ProjectName": 7, "IgnoreChannelRules": "true", "Packages": ["a", 1],
                          "CustomFields": {"A": false}});
        let mut cmd = Command::new(&body)?;
        let _ = (cmd.text("ProjectName"), cmd.flag("IgnoreChannelRules"));
        let _ = (cmd.list("Packages"), cmd.map("CustomFields"));
        let refused = cmd.finish().err().map(|e| e.errors).unwrap_or_default();
        assert_eq!(refused.len(), 4, "{refused:?}");
        assert!(Command::new(&json!("text")).is_err());
        Ok(())
    }

    #[test]
    fn the_space_may_be_named_by_id_or_name() {
        let mut store = Store::default();
        store.insert(
            Kind::Space,
            json!({"Id": "Spaces-1", "Name": "Default"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        assert!(check_space(&store, "Spaces-1", Some("spaces-1"), Some("default")).is_ok());
        assert!(check_space(&store, "Spaces-1", None, Some("Spaces-1")).is_ok());
        assert!(check_space(&store, "Spaces-1", Some("Spaces-2"), None).is_err());
        assert!(check_space(&store, "Spaces-1", None, Some("Other")).is_err());
    }
}
