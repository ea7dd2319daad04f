//! `POST /api/{spaceId}/releases/create/v1` (`CreateReleaseCommandV1`): a release of a project
//! named by name, id or slug, created through the classic `POST releases`
//! ([`crate::resources::create`]), so that package checks, channel rules, snapshots and
//! automatic deployments are the same. Answers `{ReleaseId, ReleaseVersion}` with 200, as the
//! Octopus CLI's fake server does in its tests of this route.
//!
//! - `ChannelName`: a channel of the project by name or id; the default channel otherwise.
//! - `PackageVersion`, `Packages`: see [`super::packages`]; `ReleaseVersion`: see
//!   [`super::version`] when absent.
//! - `IgnoreIfAlreadyExists`: a version the project already has answers that release.
//! - `IgnoreChannelRules`, `ReleaseNotes`, `CustomFields` (passed on: the classic route keeps
//!   them under a current profile).
//! - `GitRef`, `GitCommit` are read and unused: a version-controlled project is refused by
//!   the classic route, which the stand-in does not serve for such projects.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Command, by_name, check_space, project, string_map};
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::params::Params;
use crate::store::{Doc, text};

/// What the command comes to once names are resolved.
enum Plan {
    /// The release exists and `IgnoreIfAlreadyExists` was given.
    Existing { id: String, version: String },
    /// The body of the classic `POST releases`.
    Create(Value),
}

/// Creates the release the command describes, or answers the existing one.
pub fn create(app: &Arc<App>, space: &str, body: &Value) -> ApiResult<Value> {
    let mut cmd = Command::new(body)?;
    let space_id = cmd.text("SpaceId");
    let space_or_name = cmd.text("SpaceIdOrName");
    let project_name = cmd.text("ProjectName");
    let channel_name = cmd.text("ChannelName");
    let version = cmd.text("ReleaseVersion");
    let package_version = cmd.text("PackageVersion");
    let packages = cmd.list("Packages");
    let notes = cmd.text("ReleaseNotes");
    let ignore_existing = cmd.flag("IgnoreIfAlreadyExists").unwrap_or(false);
    let ignore_rules = cmd.flag("IgnoreChannelRules").unwrap_or(false);
    let custom_fields = cmd.map("CustomFields");
    let _ = (
        cmd.text("GitRef"),
        cmd.text("GitCommit"),
        cmd.text("PackagePrerelease"),
    );
    cmd.finish()?;
    let plan = app.read(|s| -> ApiResult<Plan> {
        check_space(s, space, space_id.as_deref(), space_or_name.as_deref())?;
        let project = project(s, space, project_name.as_deref())?;
        let project_id = text(project, "Id").unwrap_or("").to_owned();
        let project_label = text(project, "Name").unwrap_or("").to_owned();
        let existing = |v: &str| -> Option<Plan> {
            s.all(Kind::Release)
                .iter()
                .find(|r| {
                    text(r, "ProjectId") == Some(project_id.as_str())
                        && text(r, "Version").is_some_and(|rv| rv.eq_ignore_ascii_case(v))
                })
                .map(|r| Plan::Existing {
                    id: text(r, "Id").unwrap_or("").to_owned(),
                    version: text(r, "Version").unwrap_or("").to_owned(),
                })
        };
        if ignore_existing && let Some(found) = version.as_deref().and_then(existing) {
            return Ok(found);
        }
        let is_own = |c: &Doc| text(c, "ProjectId") == Some(project_id.as_str());
        let channel = match channel_name.as_deref() {
            Some(name) => by_name(s, Kind::Channel, space, name, is_own).ok_or_else(|| {
                ApiError::invalid(format!(
                    "Unable to locate a channel named '{name}' in project '{project_label}'."
                ))
            })?,
            None => s
                .all(Kind::Channel)
                .iter()
                .find(|c| is_own(c) && c.get("IsDefault") == Some(&Value::Bool(true)))
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "The project '{project_label}' has no default channel: name a ChannelName."
                    ))
                })?,
        };
        let process = s.require(
            Kind::DeploymentProcess,
            &format!("deploymentprocess-{project_id}"),
        )?;
        let mut slots = super::packages::slots(process);
        super::packages::choose(s, &mut slots, package_version.as_deref(), &packages)?;
        let version = match version.clone() {
            Some(v) => v,
            None => super::version::next(s, project, channel, &slots)?,
        };
        if ignore_existing && let Some(found) = existing(&version) {
            return Ok(found);
        }
        Ok(Plan::Create(json!({
            "ProjectId": project_id,
            "ChannelId": text(channel, "Id"),
            "Version": version,
            "ReleaseNotes": notes,
            "IgnoreChannelRules": ignore_rules,
            "SelectedPackages": super::packages::selected(&slots),
            // Kept by the classic route under a current profile (`releases::custom_fields`).
            "CustomFields": if custom_fields.is_empty() { Value::Null } else { string_map(&custom_fields) },
        })))
    })?;
    let (id, version) = match plan {
        Plan::Existing { id, version } => (id, version),
        Plan::Create(body) => {
            let doc =
                crate::resources::create(app, Kind::Release, space, &body, &Params::default())?;
            let id = text(&doc, "Id").unwrap_or("").to_owned();
            (id, text(&doc, "Version").unwrap_or("").to_owned())
        }
    };
    Ok(json!({ "ReleaseId": id, "ReleaseVersion": version }))
}
