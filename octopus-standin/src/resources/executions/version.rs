//! The version of a release created without `ReleaseVersion`, as the project's release
//! versioning settings say (Octopus documentation, "Release versioning"):
//!
//! - `VersioningStrategy.DonorPackage` set: the version chosen for that package.
//! - Otherwise `VersioningStrategy.Template`, or Octopus's default template
//!   `#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}`,
//!   with `Octopus.Version.(Last|Next)(Major|Minor|Patch|Build|Revision)` taken from the
//!   project's latest release, the `Octopus.Version.Channel.` forms from the channel's, and
//!   `Octopus.Release.Channel.Name`. Build is the third part as Patch is (NuGet's
//!   Major.Minor.Build.Revision); a project without releases counts from 0.0.0.0.
//!
//! Off-spec: the other expressions a template may hold (project variables, dates, `i`/`c`
//! masks, Octostache conditionals) are refused with a 400 naming them, rather than guessed.

use serde_json::Value;

use super::packages::Slot;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// Octopus's release versioning template for a project that sets none.
pub const DEFAULT_TEMPLATE: &str =
    "#{Octopus.Version.LastMajor}.#{Octopus.Version.LastMinor}.#{Octopus.Version.NextPatch}";

/// The version the project's strategy gives a new release in `channel` with packages `slots`.
pub fn next(store: &Store, project: &Doc, channel: &Doc, slots: &[Slot]) -> ApiResult<String> {
    let strategy = project.get("VersioningStrategy").and_then(Value::as_object);
    if let Some(donor) = strategy
        .and_then(|s| s.get("DonorPackage"))
        .and_then(Value::as_object)
        .filter(|d| text(d, "DeploymentAction").is_some_and(|a| !a.is_empty()))
    {
        let action = text(donor, "DeploymentAction").unwrap_or("");
        let reference = text(donor, "PackageReference").unwrap_or("");
        return slots
            .iter()
            .find(|s| s.action == action && s.reference == reference)
            .and_then(|s| s.version.clone())
            .ok_or_else(|| {
                ApiError::invalid(format!(
                    "The project takes its release version from the package of step '{action}', which has no version selected: give a ReleaseVersion or a version for that package."
                ))
            });
    }
    let template = strategy
        .and_then(|s| text(s, "Template"))
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(DEFAULT_TEMPLATE);
    let project_id = text(project, "Id").unwrap_or("");
    let channel_id = text(channel, "Id").unwrap_or("");
    let latest = |in_channel: bool| {
        store
            .all(Kind::Release)
            .iter()
            .rev()
            .find(|r| {
                text(r, "ProjectId") == Some(project_id)
                    && (!in_channel || text(r, "ChannelId") == Some(channel_id))
            })
            .and_then(|r| text(r, "Version"))
            .map(parts)
            .unwrap_or_default()
    };
    let (project_last, channel_last) = (latest(false), latest(true));
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        let end = after
            .find('}')
            .ok_or_else(|| unsupported(template, after))?;
        let expression = after.get(..end).unwrap_or("").trim();
        let value = if expression == "Octopus.Release.Channel.Name" {
            text(channel, "Name").unwrap_or("").to_owned()
        } else if let Some(part) = expression.strip_prefix("Octopus.Version.Channel.") {
            component(&channel_last, part).ok_or_else(|| unsupported(template, expression))?
        } else if let Some(part) = expression.strip_prefix("Octopus.Version.") {
            component(&project_last, part).ok_or_else(|| unsupported(template, expression))?
        } else {
            return Err(unsupported(template, expression));
        };
        out.push_str(&value);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}

fn unsupported(template: &str, expression: &str) -> ApiError {
    ApiError::invalid(format!(
        "The project's release versioning template '{template}' uses '{expression}', which the stand-in does not evaluate: give a ReleaseVersion."
    ))
}

/// The numeric parts of a version (Major, Minor, Patch, Revision), missing ones 0.
fn parts(version: &str) -> [u64; 4] {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let mut out = [0u64; 4];
    for (slot, piece) in out.iter_mut().zip(core.split('.')) {
        *slot = piece.trim().parse().unwrap_or(0);
    }
    out
}

/// `LastMajor`, `NextPatch`, ... of `last`.
fn component(last: &[u64; 4], name: &str) -> Option<String> {
    let (next, part) = if let Some(p) = name.strip_prefix("Last") {
        (false, p)
    } else {
        (true, name.strip_prefix("Next")?)
    };
    let index = match part {
        "Major" => 0,
        "Minor" => 1,
        "Patch" | "Build" => 2,
        "Revision" => 3,
        _ => return None,
    };
    let value = *last.get(index)?;
    Some(if next { value.saturating_add(1) } else { value }.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(value: Value) -> Doc {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn versions_count_on_from_the_latest_release() -> Result<(), ApiError> {
        let mut store = Store::default();
        let project = doc(json!({"Id": "Projects-1"}));
        let channel = doc(json!({"Id": "Channels-1", "Name": "Hotfix"}));
        assert_eq!(next(&store, &project, &channel, &[])?, "0.0.1");
        store.insert(
            Kind::Release,
            doc(json!({"Id": "Releases-1", "ProjectId": "Projects-1", "ChannelId": "Channels-1", "Version": "1.4.7-beta"})),
        );
        assert_eq!(next(&store, &project, &channel, &[])?, "1.4.8");
        let custom = doc(
            json!({"Id": "Projects-1", "VersioningStrategy": {"Template": "#{Octopus.Version.NextMajor}.0.#{Octopus.Version.Channel.LastBuild}-#{Octopus.Release.Channel.Name}"}}),
        );
        assert_eq!(next(&store, &custom, &channel, &[])?, "2.0.7-Hotfix");
        Ok(())
    }

    #[test]
    fn expressions_the_stand_in_cannot_evaluate_are_refused() {
        let store = Store::default();
        let channel = doc(json!({"Id": "Channels-1"}));
        for template in [
            "#{Octopus.Date.Year}.1",
            "1.#{Octopus.Version.NextSuffix}",
            "1.#{Unclosed",
        ] {
            let project = doc(json!({"VersioningStrategy": {"Template": template}}));
            assert!(next(&store, &project, &channel, &[]).is_err(), "{template}");
        }
    }
}
