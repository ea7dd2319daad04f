//! `project.json`: the project a release belongs to, as the development zone has it, named.
//! `bridge-import import --create-missing` creates from it what the target lacks (the project,
//! its channels with their version rules, the library variable sets it includes), and every
//! import checks the release's channel rules against it.
//!
//! | Octopus field | in `project.json` |
//! |---|---|
//! | project `ProjectGroupId`, `LifecycleId` | `ProjectGroup`, `Lifecycle` (names) |
//! | project `IncludedLibraryVariableSetIds` | `LibraryVariableSets` (each set's name, description, templates) |
//! | `VersioningStrategy.DonorPackageStepId`, `ReleaseCreationStrategy.ReleaseCreationPackageStepId` | dropped (the `DonorPackage` / `ReleaseCreationPackage` beside them name the action) |
//! | `ReleaseCreationStrategy.ChannelId` | `ReleaseCreationStrategy.Channel` (name) |
//! | `DeploymentProcessId`, `VariableSetId`, `ClonedFromProjectId`, `AutoDeployReleaseOverrides`, `VersionControlSettings`, `PersistenceSettings` and [`super::INSTANCE_FIELDS`] | dropped (they mean something only on the instance that wrote them) |
//! | channel `LifecycleId` | `Lifecycle` (name, or absent: the project's) |
//! | channel `ParentEnvironmentId` (ephemeral environments) | dropped |
//! | channel rule `ActionPackages` | as they are: Octopus names the action (`DeploymentAction`) and the package reference |
//!
//! Every other field is kept as it is (`other`), so settings this crate does not know about
//! (`DeploymentChangesTemplate`, `ReleaseNotesTemplate`, `DefaultGuidedFailureMode`,
//! `ProjectConnectivityPolicy`, ...) travel and are written to a created project unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::directory::Table;
use crate::resources::{Channel, LibraryVariableSet, Other, Project};

/// The name of the document in the release folder and the bundle.
pub const PROJECT_DOCUMENT: &str = "project.json";

/// Project fields that hold instance ids or instance state: never in `project.json`.
const PROJECT_INSTANCE_FIELDS: &[&str] = &[
    "DeploymentProcessId",
    "VariableSetId",
    "ClonedFromProjectId",
    "AutoDeployReleaseOverrides",
    "VersionControlSettings",
    "PersistenceSettings",
    "IsVersionControlled",
    "ProjectGroupId",
    "LifecycleId",
    "IncludedLibraryVariableSetIds",
];

/// `project.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedProject {
    /// The project's name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Its project group, by name.
    pub project_group: String,
    /// Its lifecycle, by name.
    pub lifecycle: String,
    /// Its channels.
    #[serde(default)]
    pub channels: Vec<NamedChannel>,
    /// The library variable sets it includes, in its order.
    #[serde(default)]
    pub library_variable_sets: Vec<NamedLibrarySet>,
    /// Its other settings, as Octopus has them (ids named or dropped).
    #[serde(default)]
    pub settings: Other,
}

/// A channel of [`NamedProject`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedChannel {
    /// Its name (unique in the project).
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Whether it is the project's default channel.
    #[serde(default)]
    pub is_default: bool,
    /// Its own lifecycle, by name; `None`: the project's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// Its tenant tags (canonical names, `TagSet/Tag`, which Octopus uses as their ids).
    #[serde(default)]
    pub tenant_tags: Vec<String>,
    /// Its package version rules.
    #[serde(default)]
    pub rules: Vec<NamedChannelRule>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// A version rule of [`NamedChannel`] (`ChannelVersionRuleResource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedChannelRule {
    /// A NuGet or Maven version range (`[1.0,2.0)`); empty: any version.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub version_range: String,
    /// A regular expression the pre-release tag must match (`^$`: none); empty: any tag.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tag: String,
    /// The package references it applies to.
    #[serde(default)]
    pub action_packages: Vec<ActionPackage>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// One package reference of a step's action (`DeploymentActionPackageResource`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionPackage {
    /// The action's name.
    pub deployment_action: String,
    /// The package reference's name (empty or absent: the action's primary package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_reference: Option<String>,
}

impl ActionPackage {
    /// Whether this names package reference `reference` of action `action` (names ignoring
    /// case; no reference and an empty one are the same, the primary package).
    pub fn selects(&self, action: &str, reference: &str) -> bool {
        self.deployment_action.eq_ignore_ascii_case(action)
            && self
                .package_reference
                .as_deref()
                .unwrap_or("")
                .eq_ignore_ascii_case(reference)
    }
}

/// A library variable set of [`NamedProject`]: what creating it needs (its variables travel
/// in `variables/*.json` as before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamedLibrarySet {
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// Its variable templates (tenant common variables).
    #[serde(default)]
    pub templates: Vec<Value>,
    /// Everything else (`ContentType`, ...).
    #[serde(flatten)]
    pub other: Other,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// The instance's names that `project.json` needs: lifecycles and project groups.
#[derive(Debug, Clone, Default)]
pub struct ProjectNames {
    /// Lifecycles.
    pub lifecycles: Table,
    /// Project groups.
    pub project_groups: Table,
    /// The project's channels.
    pub channels: Table,
}

/// Names `project` with its `channels` and included `libraries` for `project.json`. Every id
/// without a name is returned, all at once.
pub fn project_to_names(
    project: &Project,
    channels: &[Channel],
    libraries: &[LibraryVariableSet],
    names: &ProjectNames,
) -> Result<NamedProject, Vec<String>> {
    let mut missing = Vec::new();
    let mut name_of = |table: &Table, id: &str, what: &str| -> String {
        match table.name_of(id) {
            Some(name) => name.to_owned(),
            None => {
                missing.push(format!("{what} {id}"));
                String::new()
            }
        }
    };
    let project_group = name_of(
        &names.project_groups,
        &project.project_group_id,
        "project group",
    );
    let lifecycle = name_of(&names.lifecycles, &project.lifecycle_id, "lifecycle");
    let mut settings: Other = super::without_instance_fields(&project.other)
        .into_iter()
        .filter(|(k, _)| !PROJECT_INSTANCE_FIELDS.contains(&k.as_str()))
        .filter(|(k, _)| !matches!(k.as_str(), "Name" | "Description"))
        .collect();
    if let Some(Value::Array(templates)) = settings.get_mut("Templates") {
        drop_template_ids(templates);
    }
    if let Some(Value::Object(strategy)) = settings.get_mut("VersioningStrategy") {
        strategy.remove("DonorPackageStepId");
    }
    if let Some(Value::Object(strategy)) = settings.get_mut("ReleaseCreationStrategy") {
        strategy.remove("ReleaseCreationPackageStepId");
        if let Some(id) = strategy
            .remove("ChannelId")
            .and_then(|v| v.as_str().map(str::to_owned))
        {
            let channel = name_of(&names.channels, &id, "channel");
            strategy.insert("Channel".into(), Value::String(channel));
        }
    }
    let description = project
        .other
        .get("Description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut named_channels = Vec::new();
    for channel in channels {
        let lifecycle = channel
            .lifecycle_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(|id| name_of(&names.lifecycles, id, "lifecycle"));
        named_channels.push(channel_to_names(channel, lifecycle));
    }
    let library_variable_sets = project
        .included_library_variable_set_ids
        .iter()
        .filter_map(|id| match libraries.iter().find(|l| &l.id == id) {
            Some(library) => Some(library_to_names(library)),
            None => {
                missing.push(format!("library variable set {id}"));
                None
            }
        })
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(NamedProject {
        name: project.name.clone(),
        description,
        project_group,
        lifecycle,
        channels: named_channels,
        library_variable_sets,
        settings,
    })
}

fn channel_to_names(channel: &Channel, lifecycle: Option<String>) -> NamedChannel {
    let mut other = super::without_instance_fields(&channel.other);
    let take_text = |other: &mut Other, field: &str| {
        other
            .remove(field)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let description = take_text(&mut other, "Description");
    let tenant_tags = other
        .remove("TenantTags")
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let rules: Vec<NamedChannelRule> = other
        .remove("Rules")
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    other.remove("LifecycleId");
    // The parent of a channel's ephemeral environments (2025 servers) is an environment id of
    // this instance; ephemeral environments are not promoted, so it does not travel.
    other.remove("ParentEnvironmentId");
    NamedChannel {
        name: channel.name.clone(),
        description,
        is_default: channel.is_default,
        lifecycle,
        tenant_tags,
        rules: rules
            .into_iter()
            .map(|mut rule| {
                rule.other = super::without_instance_fields(&rule.other);
                rule
            })
            .collect(),
        other,
    }
}

/// Variable templates travel by name: their ids (GUIDs the development instance gave them)
/// mean nothing on the secure one, which gives its own when it creates them.
fn drop_template_ids(templates: &mut [Value]) {
    for template in templates {
        if let Value::Object(template) = template {
            template.remove("Id");
        }
    }
}

fn library_to_names(library: &LibraryVariableSet) -> NamedLibrarySet {
    let mut other = super::without_instance_fields(&library.other);
    other.remove("VariableSetId");
    let description = other
        .remove("Description")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut templates = match other.remove("Templates") {
        Some(Value::Array(templates)) => templates,
        _ => Vec::new(),
    };
    drop_template_ids(&mut templates);
    NamedLibrarySet {
        name: library.name.clone(),
        description,
        templates,
        other,
    }
}

impl NamedChannelRule {
    /// The rule for comparing: what it demands, ignoring the order of its package references.
    pub fn key(&self) -> (String, String, Vec<(String, String)>) {
        let mut packages: Vec<(String, String)> = self
            .action_packages
            .iter()
            .map(|p| {
                (
                    p.deployment_action.to_lowercase(),
                    p.package_reference
                        .clone()
                        .unwrap_or_default()
                        .to_lowercase(),
                )
            })
            .collect();
        packages.sort();
        (self.version_range.clone(), self.tag.clone(), packages)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn project() -> Result<Project, serde_json::Error> {
        serde_json::from_value(json!({
            "Id": "Projects-3", "Name": "Fraud Rules", "Slug": "fraud-rules",
            "Description": "Rules", "ProjectGroupId": "ProjectGroups-2",
            "LifecycleId": "Lifecycles-1", "DeploymentProcessId": "deploymentprocess-Projects-3",
            "VariableSetId": "variableset-Projects-3",
            "IncludedLibraryVariableSetIds": ["LibraryVariableSets-1"],
            "ClonedFromProjectId": "Projects-1", "SpaceId": "Spaces-1",
            "DefaultGuidedFailureMode": "On", "ReleaseNotesTemplate": "notes",
            "VersioningStrategy": {"DonorPackageStepId": "abc", "DonorPackage": {"DeploymentAction": "Deploy", "PackageReference": ""}, "Template": null},
            "ReleaseCreationStrategy": {"ChannelId": "Channels-7", "ReleaseCreationPackageStepId": "x"},
            "AutoDeployReleaseOverrides": [{"EnvironmentId": "Environments-1"}],
            "FutureSetting": {"Kept": true},
            "Links": {"Self": "/api/Spaces-1/projects/Projects-3"}
        }))
    }

    fn names() -> ProjectNames {
        ProjectNames {
            lifecycles: Table::new([("Lifecycles-1", "Dev to Staging"), ("Lifecycles-2", "Fast")]),
            project_groups: Table::new([("ProjectGroups-2", "Risk")]),
            channels: Table::new([("Channels-7", "Default")]),
        }
    }

    fn channel() -> Result<Channel, serde_json::Error> {
        serde_json::from_value(json!({
            "Id": "Channels-7", "Name": "Default", "ProjectId": "Projects-3", "IsDefault": true,
            "LifecycleId": "Lifecycles-2", "Description": "main", "TenantTags": ["Tier/Gold"],
            "ParentEnvironmentId": "Environments-9",
            "Rules": [{"Id": "rule-1", "VersionRange": "[3.0,4.0)", "Tag": null,
                "ActionPackages": [{"DeploymentAction": "Deploy", "PackageReference": ""}],
                "Links": {}}],
            "SpaceId": "Spaces-1", "Slug": "default"
        }))
    }

    fn library() -> Result<LibraryVariableSet, serde_json::Error> {
        serde_json::from_value(json!({
            "Id": "LibraryVariableSets-1", "Name": "Common Settings", "Description": "shared",
            "VariableSetId": "variableset-LibraryVariableSets-1", "ContentType": "Variables",
            "Templates": [{"Id": "5b0a", "Name": "Region", "DefaultValue": "eu"}],
            "SpaceId": "Spaces-1", "Links": {}
        }))
    }

    #[test]
    fn every_id_is_named_or_dropped_and_unknown_settings_are_kept() -> Result<(), serde_json::Error>
    {
        let named = project_to_names(&project()?, &[channel()?], &[library()?], &names())
            .map_err(|ids| serde::de::Error::custom(ids.join(", ")))?;
        assert_eq!(named.project_group, "Risk");
        assert_eq!(named.lifecycle, "Dev to Staging");
        assert_eq!(named.description, "Rules");
        assert_eq!(named.settings["DefaultGuidedFailureMode"], "On");
        assert_eq!(named.settings["FutureSetting"], json!({"Kept": true}));
        assert_eq!(
            named.settings["ReleaseCreationStrategy"],
            json!({"Channel": "Default"})
        );
        assert!(
            named.settings["VersioningStrategy"]
                .get("DonorPackageStepId")
                .is_none()
        );
        assert_eq!(named.channels[0].lifecycle.as_deref(), Some("Fast"));
        assert_eq!(named.channels[0].rules[0].version_range, "[3.0,4.0)");
        assert_eq!(named.channels[0].rules[0].tag, "");
        assert_eq!(named.library_variable_sets[0].name, "Common Settings");
        assert_eq!(
            named.library_variable_sets[0].templates,
            [json!({"Name": "Region", "DefaultValue": "eu"})]
        );
        let text = serde_json::to_string(&named)?;
        for id in [
            "Projects-",
            "ProjectGroups-",
            "Lifecycles-",
            "Channels-",
            "LibraryVariableSets-",
            "Spaces-",
            "Environments-",
            "rule-1",
            "5b0a",
            "\"Links\"",
        ] {
            assert!(!text.contains(id), "{id} in {text}");
        }
        Ok(())
    }

    #[test]
    fn an_id_without_a_name_is_refused_with_every_other() -> Result<(), serde_json::Error> {
        let mut lonely = project()?;
        lonely.project_group_id = "ProjectGroups-99".into();
        lonely.lifecycle_id = "Lifecycles-98".into();
        let err = project_to_names(&lonely, &[], &[], &names()).err();
        assert_eq!(
            err,
            Some(vec![
                "project group ProjectGroups-99".to_owned(),
                "lifecycle Lifecycles-98".to_owned(),
                "library variable set LibraryVariableSets-1".to_owned(),
            ])
        );
        Ok(())
    }
}
