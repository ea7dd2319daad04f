//! The library step templates a release's process uses, read at the version each action uses
//! (`actiontemplates/{id}/versions/{version}`) and named for `step-templates.json`.
//!
//! A template is code that runs in the secure zone: it travels in the signed bundle like the
//! process, never its sensitive parameter defaults (see `octopus_api::names::template_to_names`).

use std::collections::BTreeMap;

use anyhow::Context as _;
use bridge_cli::failure::Refused;
use octopus_api::Client;
use octopus_api::names::{
    Directory, STEP_TEMPLATES_FILE, StepTemplates, TemplateUse, template_to_names, template_uses,
};
use octopus_api::resources::{ActionTemplate, DeploymentProcess};

use super::fetch::Document;

/// `step-templates.json` for `process` (a release's snapshot), or `None` when no action uses
/// a template. An action without a template version, or two actions using one template at
/// different versions, is refused (`step-template-version`): the secure side would hold one
/// version of the template, so one of those actions would run other code than it did here.
pub fn document(
    client: &Client,
    process: &DeploymentProcess,
    directory: &Directory,
) -> anyhow::Result<Option<Document>> {
    let uses = template_uses(process);
    if uses.is_empty() {
        return Ok(None);
    }
    let mut versions: BTreeMap<&str, Vec<&TemplateUse>> = BTreeMap::new();
    for used in &uses {
        versions
            .entry(used.template.as_str())
            .or_default()
            .push(used);
    }
    let mut problems = Vec::new();
    let mut document = StepTemplates::default();
    for (id, users) in versions {
        let name = directory.step_templates.name_of(id).unwrap_or(id);
        let mut seen: Vec<&str> = users.iter().filter_map(|u| u.version.as_deref()).collect();
        seen.sort_unstable();
        seen.dedup();
        let version = match (seen.as_slice(), users.iter().find(|u| u.version.is_none())) {
            (_, Some(unversioned)) => {
                problems.push(format!(
                    "action {:?} uses step template {name:?} without naming its version (Octopus.Action.Template.Version)",
                    unversioned.action
                ));
                continue;
            }
            ([version], None) => *version,
            (several, None) => {
                let actions: Vec<String> = users
                    .iter()
                    .map(|u| {
                        format!(
                            "{:?} (version {})",
                            u.action,
                            u.version.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                problems.push(format!(
                    "step template {name:?} is used at versions {} by actions {}",
                    several.join(", "),
                    actions.join(", ")
                ));
                continue;
            }
        };
        let template: ActionTemplate = client
            .get(&format!("actiontemplates/{id}/versions/{version}"))
            .with_context(|| {
                format!("cannot read version {version} of step template {name:?} ({id})")
            })?;
        let named = template_to_names(&template, directory).map_err(|ids| Refused {
            code: "unnamed-ids",
            message: format!(
                "step template {name:?} refers to ids that have no name on this instance: {}\nHint: the resource was deleted or is not readable with this API key",
                ids.join(", ")
            ),
        })?;
        document.step_templates.push(named);
    }
    if !problems.is_empty() {
        return Err(Refused {
            code: "step-template-version",
            message: format!(
                "the release's process does not use one version of each step template:{}\nHint: update every step that uses the template to its latest version (Octopus: the template's Usage tab), create a new release and export that",
                bridge_cli::safe::bullets(&problems)
            ),
        }
        .into());
    }
    Ok(Some(Document {
        file: STEP_TEMPLATES_FILE,
        json: serde_json::to_value(&document).context("cannot write step-templates.json")?,
    }))
}
