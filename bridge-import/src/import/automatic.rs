//! Step 6b: nothing may start by itself on the secure side. Before anything is written, the
//! import looks for what would turn it into a deployment nobody approved:
//!
//! ```text
//! channels/{id} -> lifecycles/{id}   phases with AutomaticDeploymentTargets   (creating the
//!                                    release deploys there, and each next automatic phase
//!                                    follows a success)
//! projects/{id}/triggers             enabled triggers that create releases or deploy
//! the project                        AutoCreateRelease: a package pushed to the built-in
//!                                    feed creates a release
//! ```
//!
//! Every one found is listed in one refusal (`automatic-start`), nothing written. With
//! `--allow-automatic-start` the import goes on, says what Octopus will start, and records
//! the list in the ledger's audit entry.

use octopus_api::Client;
use octopus_api::names::Directory;
use octopus_api::resources::{Channel, Lifecycle, Project, ProjectTrigger};
use serde_json::Value;

use super::refuse::refused;

/// Everything on the target that would start by itself, one line each.
pub fn detect(
    client: &Client,
    project: &Project,
    channel_id: &str,
    directory: &Directory,
) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    let channel: Channel = client.get(&format!("channels/{}", octopus_api::segment(channel_id)))?;
    let lifecycle_id = channel
        .lifecycle_id
        .as_deref()
        .filter(|l| !l.is_empty())
        .unwrap_or(&project.lifecycle_id);
    let lifecycle: Lifecycle = client.get(&format!(
        "lifecycles/{}",
        octopus_api::segment(lifecycle_id)
    ))?;
    found.extend(automatic_phases(&lifecycle, directory));
    let triggers: Vec<ProjectTrigger> = client.get_all(&format!(
        "projects/{}/triggers",
        octopus_api::segment(&project.id)
    ))?;
    found.extend(starting_triggers(&triggers));
    found.extend(release_creation(project));
    Ok(found)
}

/// The phases of `lifecycle` that deploy by themselves, naming their environments.
pub fn automatic_phases(lifecycle: &Lifecycle, directory: &Directory) -> Vec<String> {
    lifecycle
        .phases
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.automatic_deployment_targets.is_empty())
        .map(|(i, phase)| {
            let environments: Vec<&str> = phase
                .automatic_deployment_targets
                .iter()
                .map(|id| directory.environments.name_of(id).unwrap_or(id))
                .collect();
            let when = if i == 0 {
                "as soon as the release is created"
            } else {
                "as soon as the phase before it is complete"
            };
            format!(
                "lifecycle {:?}, phase {:?} deploys automatically to {} {when}",
                lifecycle.name,
                phase.name,
                environments.join(", ")
            )
        })
        .collect()
}

/// The enabled triggers that create releases or deploy.
pub fn starting_triggers(triggers: &[ProjectTrigger]) -> Vec<String> {
    triggers
        .iter()
        .filter(|t| t.starts_releases())
        .map(|t| {
            format!(
                "project trigger {:?} is enabled: {} on {}",
                t.name,
                action_text(t.action_type()),
                filter_text(t.filter_type())
            )
        })
        .collect()
}

fn action_text(action: &str) -> String {
    match action {
        "AutoDeploy" => "deploys the current release to new deployment targets".to_owned(),
        "DeployLatestRelease" => "deploys the latest release".to_owned(),
        "DeployNewRelease" => "creates and deploys a new release".to_owned(),
        "CreateRelease" => "creates a release".to_owned(),
        other => format!("does {other:?}"),
    }
}

fn filter_text(filter: &str) -> String {
    match filter {
        "MachineFilter" => "deployment target events".to_owned(),
        "FeedFilter" => "new package or image versions in a feed".to_owned(),
        "GitFilter" => "new commits in a Git repository".to_owned(),
        "" => "an unnamed filter".to_owned(),
        schedule => format!("a schedule ({schedule})"),
    }
}

/// The project's automatic release creation from the built-in feed, if it is on.
pub fn release_creation(project: &Project) -> Option<String> {
    if project.other.get("AutoCreateRelease") != Some(&Value::Bool(true)) {
        return None;
    }
    let package = project
        .other
        .get("ReleaseCreationStrategy")
        .and_then(|s| s.get("ReleaseCreationPackage"));
    let field = |name: &str| {
        package
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (step, reference) = (field("DeploymentAction"), field("PackageReference"));
    let which = match (step.is_empty(), reference.is_empty()) {
        (true, _) => "a package".to_owned(),
        (false, true) => format!("the package of step {step:?}"),
        (false, false) => format!("package {reference:?} of step {step:?}"),
    };
    Some(format!(
        "project {:?} creates a release by itself when {which} is pushed to the built-in feed (AutoCreateRelease), which this import does",
        project.name
    ))
}

/// The refusal naming everything found.
pub fn refusal(found: &[String], project: &str, version: &str, target: &str) -> anyhow::Error {
    refused(
        "automatic-start",
        format!(
            "importing release {} of {} would let the target {target} start work by itself, which nobody approved; nothing was written:{}\nHint: on the target, remove the lifecycle's automatic deployment targets, disable these triggers and automatic release creation; if they are meant to run, import with --allow-automatic-start",
            bridge_cli::safe::Shown(&version),
            bridge_cli::safe::Shown(&project),
            bridge_cli::safe::bullets(found)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use octopus_api::names::Table;
    use octopus_api::resources::Phase;
    use serde_json::json;

    fn phase(name: &str, automatic: &[&str], optional: &[&str]) -> Phase {
        Phase {
            name: name.to_owned(),
            automatic_deployment_targets: automatic.iter().map(|s| (*s).to_owned()).collect(),
            optional_deployment_targets: optional.iter().map(|s| (*s).to_owned()).collect(),
            other: Default::default(),
        }
    }

    fn trigger(name: &str, disabled: bool, action: &str, filter: &str) -> ProjectTrigger {
        ProjectTrigger {
            id: format!("ProjectTriggers-{name}"),
            name: name.to_owned(),
            is_disabled: disabled,
            filter: json!({"FilterType": filter}),
            action: json!({"ActionType": action}),
            other: Default::default(),
        }
    }

    #[test]
    fn every_automatic_phase_is_named_with_its_environments() {
        let directory = Directory {
            environments: Table::new([("Environments-1", "Test"), ("Environments-2", "Live")]),
            ..Directory::default()
        };
        let lifecycle = Lifecycle {
            id: "Lifecycles-1".into(),
            name: "Auto".into(),
            phases: vec![
                phase("Test", &["Environments-1"], &[]),
                phase("Manual", &[], &["Environments-2"]),
                phase("Live", &["Environments-2", "Environments-9"], &[]),
            ],
            other: Default::default(),
        };
        let found = automatic_phases(&lifecycle, &directory);
        assert_eq!(
            found,
            [
                "lifecycle \"Auto\", phase \"Test\" deploys automatically to Test as soon as the release is created",
                "lifecycle \"Auto\", phase \"Live\" deploys automatically to Live, Environments-9 as soon as the phase before it is complete",
            ]
        );
    }

    #[test]
    fn enabled_triggers_that_start_releases_are_named_and_the_others_are_not() {
        let triggers = [
            trigger("Nightly", false, "DeployLatestRelease", "OnceDailySchedule"),
            trigger("Off", true, "DeployNewRelease", "CronExpressionSchedule"),
            trigger("Cleanup", false, "RunRunbook", "OnceDailySchedule"),
            trigger("Images", false, "CreateRelease", "FeedFilter"),
            trigger("Future", false, "LaunchSomething", "MachineFilter"),
        ];
        let found = starting_triggers(&triggers);
        assert_eq!(
            found,
            [
                "project trigger \"Nightly\" is enabled: deploys the latest release on a schedule (OnceDailySchedule)",
                "project trigger \"Images\" is enabled: creates a release on new package or image versions in a feed",
                "project trigger \"Future\" is enabled: does \"LaunchSomething\" on deployment target events",
            ]
        );
    }

    #[test]
    fn automatic_release_creation_is_named_only_when_it_is_on() -> Result<(), serde_json::Error> {
        let mut project: Project = serde_json::from_value(json!({
            "Id": "Projects-1", "Name": "Shop", "AutoCreateRelease": false,
            "ReleaseCreationStrategy": {"ReleaseCreationPackage": {"DeploymentAction": "Deploy", "PackageReference": ""}},
        }))?;
        assert_eq!(release_creation(&project), None);
        project
            .other
            .insert("AutoCreateRelease".into(), json!(true));
        assert_eq!(
            release_creation(&project).as_deref(),
            Some(
                "project \"Shop\" creates a release by itself when the package of step \"Deploy\" is pushed to the built-in feed (AutoCreateRelease), which this import does"
            )
        );
        Ok(())
    }
}
