//! Carrying out one action: its packages from the built-in feed, then by type: an inline Bash
//! script run for real, a manual intervention that waits for its answer, anything else logged
//! as done.

use std::path::Path;

use serde_json::Value;

use super::output::Out;
use super::variables::{self, Context, Variables};
use super::{Plan, ask, script};
use crate::resources::interruptions::{Asks, Question};
use crate::resources::releases;
use crate::store::{BUILTIN_FEED, Doc, items, text};

/// Why an action did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It failed: a script's exit code, a missing package, a timeout. In guided-failure mode a
    /// person is asked what to do.
    Failed(String),
    /// A failure no person is asked about: an aborted manual intervention (already a
    /// person's decision), or a failure of the stand-in itself.
    Final(String),
}

fn property<'a>(action: &'a Doc, name: &str) -> Option<&'a str> {
    action.get("Properties")?.get(name)?.as_str()
}

/// Runs one action in `folder`, logging to `node`.
pub async fn run_action(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    step_name: &str,
    action: &Doc,
    folder: &Path,
) -> Result<(), Failure> {
    let app = out.app;
    let name = text(action, "Name").unwrap_or("");
    let action_type = text(action, "ActionType").unwrap_or("");
    let mut variables = plan.variables.clone();
    variables.set_system("Octopus.Step.Name", step_name);
    variables.set_system("Octopus.Action.Name", name);
    acquire_packages(out, node, plan, action, &mut variables).map_err(Failure::Failed)?;
    let context = Context {
        action: text(action, "Id").map(str::to_owned),
        ..plan.context.clone()
    };
    match action_type {
        "Octopus.Script" => {
            let syntax = property(action, "Octopus.Action.Script.Syntax").unwrap_or("PowerShell");
            let source = property(action, "Octopus.Action.Script.ScriptSource").unwrap_or("Inline");
            if source != "Inline" {
                return Err(Failure::Failed(format!(
                    "Action '{name}' takes its script from a {source}; the stand-in runs inline scripts only."
                )));
            }
            if syntax != "Bash" {
                return Err(Failure::Failed(format!(
                    "Action '{name}' is a {syntax} script; the stand-in runs Bash scripts only."
                )));
            }
            let body = variables.substitute(
                property(action, "Octopus.Action.Script.ScriptBody").unwrap_or(""),
                &context,
            );
            out.line(
                node,
                "Verbose",
                &format!("Running the inline Bash script of action '{name}'."),
            );
            let outcome = script::run(
                folder,
                &body,
                app.config.script_timeout,
                |line, is_error| {
                    out.line(node, if is_error { "Error" } else { "Info" }, line);
                },
            )
            .await;
            match outcome {
                script::Outcome::Succeeded => Ok(()),
                script::Outcome::Failed(code) => {
                    Err(format!("The remote script failed with exit code {code}"))
                }
                script::Outcome::TimedOut => Err(format!(
                    "The script of action '{name}' ran longer than {} seconds and was stopped.",
                    app.config.script_timeout.as_secs()
                )),
                script::Outcome::NotStarted(why) => Err(format!(
                    "The script of action '{name}' could not start: {why}"
                )),
            }
            .map_err(Failure::Failed)
        }
        "Octopus.Manual" => {
            // The form is readable by anyone with the key, so it is masked like the log.
            let instructions = variables::mask(
                &variables.substitute(
                    property(action, "Octopus.Action.Manual.Instructions").unwrap_or(""),
                    &context,
                ),
                out.secrets,
            );
            let question = Question {
                asks: Asks::ManualIntervention,
                action_id: text(action, "Id").unwrap_or("").to_owned(),
                title: name.to_owned(),
                instructions: instructions.clone(),
                related: ask::related(plan, out.task),
                teams: property(action, "Octopus.Action.Manual.ResponsibleTeamIds")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            };
            let (result, notes) = ask::raise_and_wait(out, node, plan, &question, |id| {
                format!("Waiting for manual intervention ({id}): {instructions}")
            })
            .await
            .map_err(Failure::Final)?;
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(": {notes}")
            };
            if result == "Proceed" {
                out.line(
                    node,
                    "Info",
                    &format!("Manual intervention approved by admin{notes}"),
                );
                Ok(())
            } else {
                Err(Failure::Final(format!(
                    "Manual intervention '{name}' was aborted by admin{notes}"
                )))
            }
        }
        other => {
            out.line(node, "Info", &format!(
                    "Action '{name}' ({other}) is not carried out by the stand-in; recorded as done."
                ));
            Ok(())
        }
    }
}

/// Checks that every package the action uses is in the built-in feed at the release's
/// selected version, and exposes `Octopus.Action.Package[...]` variables.
fn acquire_packages(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    action: &Doc,
    variables: &mut Variables,
) -> Result<(), String> {
    let name = text(action, "Name").unwrap_or("");
    for package in items(action, "Packages") {
        let (reference, package_id) = releases::package_reference(package);
        let selected = items(&plan.release, "SelectedPackages");
        let version = releases::selected_version(selected, name, reference).ok_or_else(|| {
            format!("The release selects no version of package {package_id} for action '{name}'")
        })?;
        let feed = package.get("FeedId").and_then(Value::as_str).unwrap_or("");
        // A feed chosen by a variable is bound now, to a feed's id or name.
        let feed = variables.substitute(feed, &plan.context);
        if feed != BUILTIN_FEED {
            acquire_external(out, node, plan, &feed, package_id, version)?;
            set_package_variables(variables, reference, package_id, version);
            continue;
        }
        let key = format!("packages-{package_id}.{version}");
        let Some(found) = plan.packages.get(&key) else {
            // The text of fixture `error.json`.
            return Err(format!(
                "The package {package_id} version {version} was not found in the feed"
            ));
        };
        out.line(node, "Info", &format!(
                "Acquired package {package_id} version {version} from the built-in feed (SHA-1 {}, {} bytes).",
                text(found, "Hash").unwrap_or(""),
                found
                    .get("PackageSizeBytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            ));
        set_package_variables(variables, reference, package_id, version);
    }
    Ok(())
}

/// `Octopus.Action.Package[ref].PackageId` and `.PackageVersion`.
fn set_package_variables(
    variables: &mut Variables,
    reference: &str,
    package_id: &str,
    version: &str,
) {
    let prefix = if reference.is_empty() {
        "Octopus.Action.Package".to_owned()
    } else {
        format!("Octopus.Action.Package[{reference}]")
    };
    variables.set_system(&format!("{prefix}.PackageId"), package_id);
    variables.set_system(&format!("{prefix}.PackageVersion"), version);
}

/// A package of an external feed is "acquired" when the feed lists that version (the
/// stand-in never sends traffic off the machine: a feed lists what was seeded into it).
fn acquire_external(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    feed: &str,
    package_id: &str,
    version: &str,
) -> Result<(), String> {
    let found = plan.feeds.get(feed).or_else(|| {
        plan.feeds
            .values()
            .find(|f| text(f, "Name").is_some_and(|n| n.eq_ignore_ascii_case(feed)))
    });
    let Some(found) = found else {
        return Err(format!(
            "Package {package_id} version {version} names the feed '{feed}', which does not exist"
        ));
    };
    let name = text(found, "Name").unwrap_or(feed);
    if !crate::resources::feeds::lists(found, package_id, version) {
        // The text of fixture `error.json`, with the feed named.
        return Err(format!(
            "The package {package_id} version {version} was not found in the feed '{name}'"
        ));
    }
    out.line(
        node,
        "Info",
        &format!(
            "Acquired package {package_id} version {version} from the feed '{name}' ({}).",
            text(found, "FeedType").unwrap_or("")
        ),
    );
    Ok(())
}
