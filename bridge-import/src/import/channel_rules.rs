//! Step 3c: the release's package versions against its channel's version rules, before
//! anything is written. Octopus refuses a release that breaks them (unless told to ignore
//! them, which Zonebridge never does); asking first turns that late 400, after packages,
//! process and variables were written, into a refusal with nothing written (`channel-rule`).
//!
//! The rules are the bundle's (`project.json`: the target's channel has them, or gets them
//! with `--create-missing`) or, for a bundle without `project.json`, the target channel's.
//! Each version is tested by the target itself, through `channels/rule-test`, as Octopus's own
//! CLI does before it creates a release: the range and tag syntax (NuGet ranges, Maven
//! ranges, .NET regular expressions) is the server's, not a copy of it.

use octopus_api::names::{NamedChannelRule, NamedProcess};
use octopus_api::{Client, segment};
use serde::Deserialize;

use super::content::StagedPackage;
use super::refuse::refused;

/// `channels/rule-test`'s answer (`TestChannelVersionRulesResponse`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuleTest {
    #[serde(default)]
    errors: Vec<String>,
    #[serde(default)]
    satisfies_version_range: bool,
    #[serde(default)]
    satisfies_pre_release_tag: bool,
}

/// One package version a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The action's name.
    pub action: String,
    /// The package reference's name (empty: the primary package).
    pub reference: String,
    /// The package id.
    pub package: String,
    /// The version the release selects.
    pub version: String,
}

/// The versions the release will select: each package reference of each enabled action, with
/// the one version of that package the bundle carries (others are refused later, by
/// `package-unselectable`).
pub fn selections(process: &NamedProcess, packages: &[StagedPackage]) -> Vec<Selection> {
    let mut out = Vec::new();
    for action in process
        .steps
        .iter()
        .flat_map(|s| &s.actions)
        .filter(|a| !a.is_disabled)
    {
        for reference in &action.packages {
            let mut versions = packages
                .iter()
                .filter(|p| p.reference.id.eq_ignore_ascii_case(&reference.package_id))
                .map(|p| p.reference.version.as_str());
            if let (Some(version), None) = (versions.next(), versions.next()) {
                out.push(Selection {
                    action: action.name.clone(),
                    reference: reference.name.clone(),
                    package: reference.package_id.clone(),
                    version: version.to_owned(),
                });
            }
        }
    }
    out
}

/// Tests every selection a rule of `channel` applies to; refuses, listing each version that
/// breaks its rule, before anything is written.
pub fn check(
    client: &Client,
    channel: &str,
    rules: &[NamedChannelRule],
    selections: &[Selection],
) -> anyhow::Result<()> {
    let mut broken = Vec::new();
    for rule in rules {
        for s in selections.iter().filter(|s| {
            rule.action_packages
                .iter()
                .any(|p| p.selects(&s.action, &s.reference))
        }) {
            let mut path = format!("channels/rule-test?version={}", segment(&s.version));
            if !rule.version_range.trim().is_empty() {
                path.push_str(&format!("&versionRange={}", segment(&rule.version_range)));
            }
            if !rule.tag.trim().is_empty() {
                path.push_str(&format!("&preReleaseTag={}", segment(&rule.tag)));
            }
            let answer: RuleTest = client.get(&path)?;
            if answer.satisfies_version_range
                && answer.satisfies_pre_release_tag
                && answer.errors.is_empty()
            {
                continue;
            }
            let mut why = Vec::new();
            if !answer.satisfies_version_range {
                why.push(format!("not in version range {:?}", rule.version_range));
            }
            if !answer.satisfies_pre_release_tag {
                why.push(format!("pre-release tag does not match {:?}", rule.tag));
            }
            why.extend(answer.errors);
            broken.push(format!(
                "{} {} of action {:?}: {}",
                s.package,
                s.version,
                s.action,
                why.join("; ")
            ));
        }
    }
    if broken.is_empty() {
        return Ok(());
    }
    Err(refused(
        "channel-rule",
        format!(
            "the release's package versions break the version rules of channel {channel:?}; nothing was written:{}\nHint: release the package versions the channel allows in the development zone, or promote the release in a channel whose rules allow them",
            bridge_cli::safe::bullets(&broken)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use bundle_format::manifest::PackageRef;
    use bundle_format::names::{Digest, EntryPath, Sha1Digest};
    use serde_json::json;

    use super::*;

    fn package(id: &str, version: &str) -> Result<StagedPackage, Box<dyn std::error::Error>> {
        let path = format!("packages/{id}.{version}.zip");
        Ok(StagedPackage {
            reference: PackageRef {
                id: id.into(),
                version: version.into(),
                path: EntryPath::new(&path)?,
                size: 1,
                sha256: Digest::of(b"x"),
                sha1: Sha1Digest::from_bytes([0xab; 20]),
            },
            file: path.into(),
            sha1: "ab".repeat(20),
        })
    }

    #[test]
    fn selections_are_the_versions_the_release_will_select()
    -> Result<(), Box<dyn std::error::Error>> {
        let process: NamedProcess = serde_json::from_value(json!({
            "Project": "Payments API",
            "Steps": [
                {"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.TentaclePackage",
                    "Packages": [{"Name": "", "PackageId": "Payments.Api", "Feed": "Octopus Server (built-in)"},
                                 {"Name": "tools", "PackageId": "Tools", "Feed": "Octopus Server (built-in)"}]}]},
                {"Name": "Old", "Actions": [{"Name": "Old", "ActionType": "Octopus.TentaclePackage", "IsDisabled": true,
                    "Packages": [{"Name": "", "PackageId": "Payments.Api", "Feed": "Octopus Server (built-in)"}]}]},
                {"Name": "Twice", "Actions": [{"Name": "Twice", "ActionType": "Octopus.TentaclePackage",
                    "Packages": [{"Name": "", "PackageId": "Ambiguous", "Feed": "Octopus Server (built-in)"}]}]}
            ]
        }))?;
        let packages = [
            package("Payments.Api", "1.4.1")?,
            package("Tools", "2.0.0-beta")?,
            package("Ambiguous", "1.0.0")?,
            package("Ambiguous", "2.0.0")?,
        ];
        let found = selections(&process, &packages);
        let found: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|s| (s.action.as_str(), s.reference.as_str(), s.version.as_str()))
            .collect();
        // The disabled action is not selected; the ambiguous package is left to the
        // package-unselectable refusal.
        assert_eq!(
            found,
            vec![("Deploy", "", "1.4.1"), ("Deploy", "tools", "2.0.0-beta")]
        );
        Ok(())
    }
}
