//! Step 4b: the library step templates the release's process uses (`step-templates.json`),
//! matched with the target's by name (mapping table `[step_templates]`), before any other
//! name is resolved, since the process refers to them.
//!
//! | the target's template of that name | outcome |
//! |---|---|
//! | none | `create` it (it starts at version 0, as Octopus numbers a new template) |
//! | same content | `use` it as it is, whatever its version |
//! | other content, version lower than the bundle's | `update` it (its version goes up by one) |
//! | other content, same or higher version | refused, `step-template-conflict`, naming both |
//!
//! "Same content" is `octopus_api::names::template_difference`: the bundle's template, mapped
//! to the target's names, against the target's, ignoring `Version`, instance fields and
//! whether a sensitive default has a value (a secret is the secure zone's; a bundle never sets,
//! replaces or clears one). A template is code that runs in the secure zone: a conflict is
//! never resolved silently.
//!
//! The plan also makes the process refer to the target's templates: each action that uses a
//! carried template gets the version the target's will have, and a template still to be created
//! is known by a placeholder id ([`NEW_TEMPLATE_PREFIX`]) until [`write`] creates it, in the apply
//! step, before the process is written.

use octopus_api::Client;
use octopus_api::names::{
    NameKind, NameMap, NamedStepTemplate, Resolver, STEP_TEMPLATES_FILE, StepTemplates,
    TEMPLATE_ID, TEMPLATE_VERSION, Table, template_difference, template_to_names,
};
use octopus_api::resources::{ActionTemplate, PropertyValue, Step};
use serde_json::{Value, json};

use super::content::ReleaseContent;
use super::hook::Writes;
use super::record::AuditStep;
use super::refuse::refused;
use super::resolve::unresolved_error;
use super::target::ProjectState;

/// The id a template to be created has in the target's step template table until it exists.
pub const NEW_TEMPLATE_PREFIX: &str = "new-template:";

/// What the import does with one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target has none of that name: create it.
    Create,
    /// The target's is older and differs: update it.
    Update,
    /// The target's has the same content: use it.
    Use,
}

impl Outcome {
    /// The plan's word for it.
    pub fn action(self) -> &'static str {
        match self {
            Outcome::Create => "create",
            Outcome::Update => "update",
            Outcome::Use => "keep",
        }
    }
}

/// One carried template, decided.
#[derive(Debug, Clone)]
pub struct TemplateWork {
    /// Its name in the bundle.
    pub bundle_name: String,
    /// Its version in the development zone.
    pub bundle_version: i64,
    /// Its name on the target.
    pub target_name: String,
    /// What happens to it.
    pub outcome: Outcome,
    /// The target's template as read (`None` when it has none).
    pub existing: Option<ActionTemplate>,
    /// What to send for [`Outcome::Create`] and [`Outcome::Update`].
    pub body: ActionTemplate,
    /// How the target's differs (for an update).
    pub difference: Option<String>,
}

impl TemplateWork {
    /// The version the target's template has once the import is done.
    pub fn final_version(&self) -> i64 {
        match (self.outcome, &self.existing) {
            (Outcome::Create, _) | (_, None) => 0,
            (Outcome::Update, Some(t)) => t.version.saturating_add(1),
            (Outcome::Use, Some(t)) => t.version,
        }
    }

    /// The plan's detail line.
    pub fn detail(&self) -> String {
        let from = format!(
            "{:?} version {} from the bundle",
            self.bundle_name, self.bundle_version
        );
        match (self.outcome, &self.existing) {
            (Outcome::Create, _) | (_, None) => format!("{from}; the target has none"),
            (Outcome::Use, Some(t)) => {
                format!(
                    "{from}; the target's version {} has the same content",
                    t.version
                )
            }
            (Outcome::Update, Some(t)) => format!(
                "{from}; the target's version {} is older and differs at {}",
                t.version,
                self.difference.as_deref().unwrap_or("?")
            ),
        }
    }
}

/// Decides each carried template's outcome from reads only, refuses conflicts and names the
/// target lacks, and points the bundle's process at the target's templates (see the module
/// documentation). Nothing is written.
pub fn plan(
    client: &Client,
    content: &mut ReleaseContent<'_>,
    map: &NameMap,
    state: &mut ProjectState,
    target: &str,
) -> anyhow::Result<Vec<TemplateWork>> {
    let Some(carried) = content.document::<StepTemplates>(STEP_TEMPLATES_FILE)? else {
        return Ok(Vec::new());
    };
    let mut resolver = Resolver::new(&state.directory, map);
    let mut work = Vec::new();
    let mut conflicts = Vec::new();
    for named in &carried.step_templates {
        let target_name = map
            .target_name(NameKind::StepTemplate, &named.name)
            .to_owned();
        let existing = match state.directory.step_templates.id_of(&target_name) {
            Some(id) => Some(client.get::<ActionTemplate>(&format!("actiontemplates/{id}"))?),
            None => None,
        };
        let body = resolver.step_template(named, &target_name, existing.as_ref());
        let Some(current) = existing else {
            work.push(TemplateWork {
                bundle_name: named.name.clone(),
                bundle_version: named.version,
                target_name,
                outcome: Outcome::Create,
                existing: None,
                body,
                difference: None,
            });
            continue;
        };
        let difference = difference(&body, &current, state);
        let outcome = match decide(named, &current, difference.as_deref()) {
            Ok(outcome) => outcome,
            Err(line) => {
                conflicts.push(line);
                continue;
            }
        };
        work.push(TemplateWork {
            bundle_name: named.name.clone(),
            bundle_version: named.version,
            target_name: current.name.clone(),
            outcome,
            existing: Some(current),
            body,
            difference,
        });
    }
    if let Err(unresolved) = resolver.finish() {
        let lines: Vec<String> = unresolved.iter().map(ToString::to_string).collect();
        return Err(unresolved_error(
            &lines,
            target,
            "Hint: rename feeds in the mapping file (--map FILE) under [feeds], or create them on the target",
        ));
    }
    if !conflicts.is_empty() {
        return Err(refused(
            "step-template-conflict",
            format!(
                "the bundle's step templates conflict with the target's; nothing was written:{}\nHint: a step template is code that runs in the secure zone, so Zonebridge never picks one side: make them the same (change the template in the development zone and export a new release, or change the target's), or import the bundle's under another name with [step_templates] in the mapping file",
                bridge_cli::safe::bullets(&conflicts)
            ),
        ));
    }
    for item in &work {
        if item.outcome == Outcome::Create {
            state.directory.step_templates.insert(
                &format!("{NEW_TEMPLATE_PREFIX}{}", item.target_name),
                &item.target_name,
            );
        }
        set_versions(
            &mut content.process.steps,
            &item.bundle_name,
            item.final_version(),
        );
    }
    Ok(work)
}

/// How the target's template differs from the bundle's (in the target's names).
fn difference(
    body: &ActionTemplate,
    current: &ActionTemplate,
    state: &ProjectState,
) -> Option<String> {
    let directory = &state.directory;
    match (
        template_to_names(body, directory),
        template_to_names(current, directory),
    ) {
        (Ok(wanted), Ok(found)) => template_difference(&wanted, &found),
        (_, Err(ids)) => Some(format!(
            "the target's template refers to ids without a name: {}",
            ids.join(", ")
        )),
        (Err(ids), _) => Some(format!("unresolved: {}", ids.join(", "))),
    }
}

/// The outcome for a template the target has (see the module documentation), or the line
/// that names the conflict.
fn decide(
    named: &NamedStepTemplate,
    current: &ActionTemplate,
    difference: Option<&str>,
) -> Result<Outcome, String> {
    match difference {
        None => Ok(Outcome::Use),
        Some(_) if current.version < named.version => Ok(Outcome::Update),
        Some(found) => Err(conflict(named, current, found)),
    }
}

fn conflict(named: &NamedStepTemplate, current: &ActionTemplate, difference: &str) -> String {
    let relation = if current.version == named.version {
        "the same version"
    } else {
        "a newer version"
    };
    format!(
        "step template {:?} version {} in the bundle and {:?} version {} on the target ({relation}) differ: {difference}",
        named.name, named.version, current.name, current.version
    )
}

/// Sets `Octopus.Action.Template.Version` of every action of the bundle's process that uses
/// the template `name` (as the bundle names it).
fn set_versions(steps: &mut [octopus_api::names::NamedStep], name: &str, version: i64) {
    for action in steps.iter_mut().flat_map(|s| s.actions.iter_mut()) {
        let uses = matches!(
            action.properties.get(TEMPLATE_ID),
            Some(PropertyValue::Text(t)) if t.trim().eq_ignore_ascii_case(name)
        );
        if uses {
            action.properties.insert(
                TEMPLATE_VERSION.to_owned(),
                PropertyValue::Text(version.to_string()),
            );
        }
    }
}

/// The templates as the apply step left them: target id and version by target name.
#[derive(Debug, Default)]
pub struct Written {
    templates: Vec<(String, String, i64)>,
}

impl Written {
    /// Points `steps` at the templates written: placeholder ids replaced by real ones, and each
    /// action's template version the one the target now has.
    pub fn patch_steps(&self, steps: &mut [Step]) {
        for action in steps.iter_mut().flat_map(|s| s.actions.iter_mut()) {
            let Some(PropertyValue::Text(id)) = action.properties.get(TEMPLATE_ID).cloned() else {
                continue;
            };
            let found = self.templates.iter().find(|(name, real, _)| {
                *real == id || id == format!("{NEW_TEMPLATE_PREFIX}{name}")
            });
            if let Some((_, real, version)) = found {
                action
                    .properties
                    .insert(TEMPLATE_ID.to_owned(), PropertyValue::Text(real.clone()));
                action.properties.insert(
                    TEMPLATE_VERSION.to_owned(),
                    PropertyValue::Text(version.to_string()),
                );
            }
        }
    }

    /// Adds the templates written to a step template table.
    pub fn register(&self, table: &mut Table) {
        for (name, id, _) in &self.templates {
            table.insert(id, name);
        }
    }

    /// The same version correction in a named process (the release's desired form).
    pub fn patch_named(&self, process: &mut Value) {
        let Some(steps) = process.get_mut("Steps").and_then(Value::as_array_mut) else {
            return;
        };
        for action in steps
            .iter_mut()
            .filter_map(|s| s.get_mut("Actions").and_then(Value::as_array_mut))
            .flatten()
        {
            let Some(props) = action.get_mut("Properties").and_then(Value::as_object_mut) else {
                continue;
            };
            let name = props
                .get(TEMPLATE_ID)
                .and_then(Value::as_str)
                .map(str::to_owned);
            let found = name.and_then(|n| {
                self.templates
                    .iter()
                    .find(|(t, _, _)| t.eq_ignore_ascii_case(&n))
            });
            if let Some((_, _, version)) = found {
                props.insert(TEMPLATE_VERSION.to_owned(), json!(version.to_string()));
            }
        }
    }
}

/// Creates and updates the templates the plan decided, before the process is written (it
/// refers to them); each write counted. Re-run after a crash, a template written earlier is
/// found with the same content and used.
pub fn write(
    client: &Client,
    work: &[TemplateWork],
    version: &str,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<Written> {
    let mut written = Written::default();
    for item in work {
        let saved: ActionTemplate = match (item.outcome, &item.existing) {
            (Outcome::Create, _) | (_, None) => {
                let created = client.post("actiontemplates", &item.body)?;
                writes.done("step template")?;
                created
            }
            (Outcome::Update, Some(current)) => {
                let id = current.id.as_deref().unwrap_or_default();
                let updated = client.put(&format!("actiontemplates/{id}"), &item.body)?;
                writes.done("step template")?;
                updated
            }
            (Outcome::Use, Some(current)) => current.clone(),
        };
        let id = saved.id.clone().unwrap_or_default();
        audit.push(AuditStep {
            event: "import.step-template",
            detail: json!({
                "template": saved.name, "id": id, "version": version,
                "bundle_version": item.bundle_version, "target_version": saved.version,
                "action": match item.outcome {
                    Outcome::Create => "created",
                    Outcome::Update => "updated",
                    Outcome::Use => "kept",
                },
            }),
        });
        written
            .templates
            .push((saved.name.clone(), id, saved.version));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    type Res = Result<(), Box<dyn std::error::Error>>;

    fn named(version: i64) -> Result<NamedStepTemplate, serde_json::Error> {
        serde_json::from_value(
            json!({"Name": "Smoke test", "Version": version, "ActionType": "Octopus.Script"}),
        )
    }

    fn target(version: i64) -> Result<ActionTemplate, serde_json::Error> {
        serde_json::from_value(
            json!({"Id": "ActionTemplates-4", "Name": "Smoke Test", "Version": version, "ActionType": "Octopus.Script"}),
        )
    }

    #[test]
    fn the_outcome_follows_content_then_versions() -> Res {
        // Same content: used, whatever the versions.
        for version in [0, 3, 9] {
            assert_eq!(
                decide(&named(3)?, &target(version)?, None),
                Ok(Outcome::Use)
            );
        }
        // Other content: an older target's is updated...
        assert_eq!(
            decide(&named(3)?, &target(2)?, Some("x")),
            Ok(Outcome::Update)
        );
        // ... the same or a newer version is a conflict naming both.
        assert_eq!(
            decide(&named(3)?, &target(3)?, Some("Description: the bundle has \"a\", the target \"b\"")),
            Err("step template \"Smoke test\" version 3 in the bundle and \"Smoke Test\" version 3 on the target (the same version) differ: Description: the bundle has \"a\", the target \"b\"".to_owned())
        );
        assert!(
            decide(&named(3)?, &target(7)?, Some("x"))
                .is_err_and(|e| e.contains("version 7 on the target (a newer version)"))
        );
        Ok(())
    }

    #[test]
    fn the_process_follows_the_templates_written() -> Res {
        let mut process: octopus_api::names::NamedProcess = serde_json::from_value(json!({
            "Project": "Fraud Rules",
            "Steps": [{"Name": "S", "Actions": [
                {"Name": "A", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "smoke TEST", "Octopus.Action.Template.Version": "3"}},
                {"Name": "B", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "Other", "Octopus.Action.Template.Version": "3"}}]}]
        }))?;
        set_versions(&mut process.steps, "Smoke test", 0);
        let versions: Vec<_> = process.steps[0]
            .actions
            .iter()
            .map(|a| a.properties.get(TEMPLATE_VERSION).cloned())
            .collect();
        assert_eq!(
            versions,
            [
                Some(PropertyValue::Text("0".into())),
                Some(PropertyValue::Text("3".into()))
            ]
        );

        let written = Written {
            templates: vec![("Smoke test".into(), "ActionTemplates-9".into(), 0)],
        };
        let mut steps: Vec<Step> = serde_json::from_value(json!([{"Name": "S", "Actions": [
            {"Name": "A", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "new-template:Smoke test", "Octopus.Action.Template.Version": "0"}},
            {"Name": "B", "ActionType": "Octopus.Script", "Properties": {"Octopus.Action.Template.Id": "ActionTemplates-2", "Octopus.Action.Template.Version": "5"}}]}]))?;
        written.patch_steps(&mut steps);
        let props = |i: usize| serde_json::to_value(&steps[0].actions[i].properties);
        assert_eq!(
            props(0)?,
            json!({"Octopus.Action.Template.Id": "ActionTemplates-9", "Octopus.Action.Template.Version": "0"})
        );
        assert_eq!(
            props(1)?,
            json!({"Octopus.Action.Template.Id": "ActionTemplates-2", "Octopus.Action.Template.Version": "5"}),
            "not a template written"
        );

        let mut desired = json!({"Steps": [{"Actions": [{"Properties": {"Octopus.Action.Template.Id": "Smoke Test", "Octopus.Action.Template.Version": "7"}}]}]});
        written.patch_named(&mut desired);
        assert_eq!(
            desired["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Template.Version"],
            "0"
        );
        let mut table = Table::default();
        written.register(&mut table);
        assert_eq!(table.id_of("smoke test"), Some("ActionTemplates-9"));
        Ok(())
    }
}
