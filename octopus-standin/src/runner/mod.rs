//! The task runner: picks up queued deployment tasks and carries them out in the background,
//! one tokio task each (Octopus runs several tasks at once too).
//!
//! ```text
//! POST deployments ──> task Queued ──wake──> runner ──> Executing
//!                                                       │ per step (Condition: Success, Failure, Always)
//!                                                       │   per action (environment/channel filters, SkipActions)
//!                                                       │     acquire packages from the built-in feed
//!                                                       │     Octopus.Script  -> bash, for real, in a scratch folder
//!                                                       │     Octopus.Manual  -> interruption, wait for the answer
//!                                                       │     anything else   -> logged as done
//!                                                       └──> Success | Failed (first failure's message)
//! ```
//!
//! Log lines go to the store as they come but are written to the `--data` file only with the
//! next persisted change; a restart fails the tasks that were running (see [`recover`]).

mod output;
mod script;
pub mod variables;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::app::App;
use crate::kind::Kind;
use crate::resources::{interruptions, tasks};
use crate::store::{BUILTIN_FEED, Doc, Store, items, now, strings, text};
use output::Out;
use variables::{Context, Variables};

/// How often a task waiting for a manual intervention looks for the answer.
const ANSWER_POLL: Duration = Duration::from_millis(100);

/// Runs until `shutdown` completes.
pub async fn run(app: Arc<App>, shutdown: impl std::future::Future<Output = ()>) {
    recover(&app);
    tokio::pin!(shutdown);
    loop {
        for id in take_queued(&app) {
            tokio::spawn(run_task(app.clone(), id));
        }
        tokio::select! {
            () = app.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = &mut shutdown => return,
        }
    }
}

/// At start-up, fails the tasks a previous run left executing: their scripts died with it, and
/// running them again could do their work twice.
pub fn recover(app: &App) {
    let running = app.read(|s| s.ids_where(Kind::Task, |t| text(t, "State") == Some("Executing")));
    if running.is_empty() {
        return;
    }
    let _ = app.write(|s| {
        for id in &running {
            tasks::abandon(s, id, "The stand-in was restarted while this task was running; it was not resumed, so that no step runs twice.");
            let pending = s.ids_where(Kind::Interruption, |i| text(i, "TaskId") == Some(id.as_str()));
            for interruption in pending {
                if let Some(i) = s.get_mut(Kind::Interruption, &interruption) {
                    i.insert("IsPending".into(), json!(false));
                    i.insert("CanTakeResponsibility".into(), json!(false));
                }
            }
        }
        Ok(())
    });
}

/// Marks every queued task `Executing` and returns their ids.
fn take_queued(app: &App) -> Vec<String> {
    let queued = app.read(|s| s.ids_where(Kind::Task, |t| text(t, "State") == Some("Queued")));
    if queued.is_empty() {
        // Nothing changes, so nothing is written: the loop wakes twice a second.
        return queued;
    }
    // Only this loop takes queued tasks, so none can be taken twice between the read and the
    // write. A state file that cannot be written leaves the marks in memory; the tasks run.
    let _ = app.write(|s| {
        let started = now();
        for id in &queued {
            tasks::set(
                s,
                id,
                &[
                    ("State", json!("Executing")),
                    ("StartTime", json!(started)),
                    ("HasBeenPickedUpByProcessor", json!(true)),
                ],
            );
            if let Some(root) = s.log_mut(id) {
                root.status = "Running".to_owned();
                root.started = Some(started.clone());
            }
        }
        Ok(())
    });
    queued
}

/// Everything a deployment task needs, read once from the store.
struct Plan {
    space: String,
    deployment: Doc,
    release: Doc,
    steps: Vec<Value>,
    variables: Variables,
    context: Context,
    packages: BTreeMap<String, Doc>,
}

fn plan(store: &Store, task_id: &str) -> Result<Plan, String> {
    let deployment = store
        .all(Kind::Deployment)
        .iter()
        .find(|d| text(d, "TaskId") == Some(task_id))
        .cloned()
        .ok_or("the task has no deployment")?;
    let get = |kind: Kind, id: &str| -> Result<Doc, String> {
        store
            .get(kind, id)
            .cloned()
            .ok_or_else(|| format!("the {} '{id}' no longer exists", kind.noun()))
    };
    let release = get(Kind::Release, text(&deployment, "ReleaseId").unwrap_or(""))?;
    let project = get(Kind::Project, text(&release, "ProjectId").unwrap_or(""))?;
    let environment = get(
        Kind::Environment,
        text(&deployment, "EnvironmentId").unwrap_or(""),
    )?;
    let channel = get(Kind::Channel, text(&release, "ChannelId").unwrap_or(""))?;
    let process = get(
        Kind::DeploymentProcess,
        text(&release, "ProjectDeploymentProcessSnapshotId").unwrap_or(""),
    )?;
    let mut variables = Variables::load(
        store,
        &strings(&release, "LibraryVariableSetSnapshotIds"),
        text(&release, "ProjectVariableSetSnapshotId").unwrap_or(""),
    );
    let space = text(&deployment, "SpaceId").unwrap_or("").to_owned();
    for (name, value) in [
        ("Octopus.Release.Number", text(&release, "Version")),
        ("Octopus.Release.Id", text(&release, "Id")),
        ("Octopus.Release.Notes", text(&release, "ReleaseNotes")),
        ("Octopus.Project.Name", text(&project, "Name")),
        ("Octopus.Project.Id", text(&project, "Id")),
        ("Octopus.Environment.Name", text(&environment, "Name")),
        ("Octopus.Environment.Id", text(&environment, "Id")),
        ("Octopus.Channel.Name", text(&channel, "Name")),
        ("Octopus.Channel.Id", text(&channel, "Id")),
        ("Octopus.Deployment.Id", text(&deployment, "Id")),
        ("Octopus.Deployment.Name", text(&deployment, "Name")),
        ("Octopus.Task.Id", Some(task_id)),
        ("Octopus.Space.Id", Some(space.as_str())),
    ] {
        variables.set_system(name, value.unwrap_or(""));
    }
    let packages = store
        .all(Kind::Package)
        .iter()
        .filter_map(|p| Some((text(p, "Id")?.to_owned(), p.clone())))
        .collect();
    Ok(Plan {
        context: Context {
            environment: text(&environment, "Id").unwrap_or("").to_owned(),
            channel: text(&channel, "Id").unwrap_or("").to_owned(),
            action: None,
            project: text(&project, "Id").unwrap_or("").to_owned(),
        },
        space,
        steps: process
            .get("Steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        deployment,
        release,
        variables,
        packages,
    })
}

async fn run_task(app: Arc<App>, task_id: String) {
    let plan = match app.read(|s| plan(s, &task_id)) {
        Ok(plan) => plan,
        Err(reason) => {
            let _ = app.write(|s| {
                tasks::abandon(s, &task_id, &format!("The task cannot run: {reason}."));
                Ok(())
            });
            return;
        }
    };
    let secrets = plan.variables.secrets();
    let out = Out {
        app: &app,
        task: &task_id,
        secrets: &secrets,
    };
    let scratch = app.config.scratch.join(&task_id);
    let failure = match make_private_dir(&scratch) {
        Ok(()) => run_steps(&out, &plan, &scratch).await,
        Err(e) => Some(format!(
            "The stand-in cannot create the scratch folder {}: {e}",
            scratch.display()
        )),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(message) = &failure {
        out.line(&task_id, "Error", message);
    }
    let _ = app.write(|s| {
        tasks::finish(s, &task_id, failure.as_deref());
        Ok(())
    });
}

fn make_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// Runs the steps in order; returns the first failure's message.
async fn run_steps(out: &Out<'_>, plan: &Plan, scratch: &std::path::Path) -> Option<String> {
    let task = out.task;
    let mut failure: Option<String> = None;
    for (index, step) in plan.steps.iter().enumerate() {
        let number = index + 1;
        let step_name = step.get("Name").and_then(Value::as_str).unwrap_or("");
        let node = format!("{task}_{number}");
        out.child(task, &node, &format!("Step {number}: {step_name}"));
        let condition = step
            .get("Condition")
            .and_then(Value::as_str)
            .unwrap_or("Success");
        let runs = match condition {
            "Always" => true,
            "Failure" => failure.is_some(),
            _ => failure.is_none(),
        };
        if !runs {
            out.line(
                &node,
                "Info",
                &format!(
                    "Skipped: the step runs on {condition} and an earlier step {}.",
                    if failure.is_some() {
                        "failed"
                    } else {
                        "did not fail"
                    }
                ),
            );
            out.status(&node, "Skipped");
            continue;
        }
        out.status(&node, "Running");
        let mut step_failure = None;
        let mut ran = 0;
        for action in items(step, "Actions") {
            let Some(action) = action.as_object() else {
                continue;
            };
            if let Some(reason) = skip_reason(plan, action) {
                out.line(
                    &node,
                    "Info",
                    &format!(
                        "Skipping action '{}': {reason}.",
                        text(action, "Name").unwrap_or("")
                    ),
                );
                continue;
            }
            ran += 1;
            let folder = scratch.join(format!("{number}-{ran}"));
            if let Err(e) = make_private_dir(&folder) {
                step_failure = Some(format!(
                    "The stand-in cannot create {}: {e}",
                    folder.display()
                ));
                break;
            }
            if let Err(message) = run_action(out, &node, plan, step_name, action, &folder).await {
                step_failure = Some(message);
                break;
            }
        }
        match step_failure {
            Some(message) => {
                out.line(&node, "Error", &message);
                out.status(&node, "Failed");
                failure.get_or_insert(message);
            }
            None => out.status(&node, if ran == 0 { "Skipped" } else { "Success" }),
        }
    }
    failure
}

/// Why an action does not run for this deployment, if it does not.
fn skip_reason(plan: &Plan, action: &Doc) -> Option<String> {
    let env = &plan.context.environment;
    let id = text(action, "Id").unwrap_or("");
    if action.get("IsDisabled") == Some(&Value::Bool(true)) {
        return Some("it is disabled".to_owned());
    }
    if strings(&plan.deployment, "SkipActions")
        .iter()
        .any(|s| s == id)
    {
        return Some("the deployment asked to skip it".to_owned());
    }
    let envs = strings(action, "Environments");
    if !envs.is_empty() && !envs.contains(env) {
        return Some("it does not run in this environment".to_owned());
    }
    if strings(action, "ExcludedEnvironments").contains(env) {
        return Some("it is excluded from this environment".to_owned());
    }
    let channels = strings(action, "Channels");
    if !channels.is_empty() && !channels.contains(&plan.context.channel) {
        return Some("it does not run in this channel".to_owned());
    }
    None
}

fn property<'a>(action: &'a Doc, name: &str) -> Option<&'a str> {
    action.get("Properties")?.get(name)?.as_str()
}

async fn run_action(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    step_name: &str,
    action: &Doc,
    folder: &std::path::Path,
) -> Result<(), String> {
    let (app, task) = (out.app, out.task);
    let name = text(action, "Name").unwrap_or("");
    let action_type = text(action, "ActionType").unwrap_or("");
    let mut variables = plan.variables.clone();
    variables.set_system("Octopus.Step.Name", step_name);
    variables.set_system("Octopus.Action.Name", name);
    acquire_packages(out, node, plan, action, &mut variables)?;
    let context = Context {
        action: text(action, "Id").map(str::to_owned),
        ..plan.context.clone()
    };
    match action_type {
        "Octopus.Script" => {
            let syntax = property(action, "Octopus.Action.Script.Syntax").unwrap_or("PowerShell");
            let source = property(action, "Octopus.Action.Script.ScriptSource").unwrap_or("Inline");
            if source != "Inline" {
                return Err(format!(
                    "Action '{name}' takes its script from a {source}; the stand-in runs inline scripts only."
                ));
            }
            if syntax != "Bash" {
                return Err(format!(
                    "Action '{name}' is a {syntax} script; the stand-in runs Bash scripts only."
                ));
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
            let question = interruptions::Question {
                action_id: text(action, "Id").unwrap_or("").to_owned(),
                title: name.to_owned(),
                instructions: instructions.clone(),
                related: vec![
                    text(&plan.deployment, "Id").unwrap_or("").to_owned(),
                    text(&plan.release, "ProjectId").unwrap_or("").to_owned(),
                    plan.context.environment.clone(),
                    task.to_owned(),
                ],
                teams: property(action, "Octopus.Action.Manual.ResponsibleTeamIds")
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect(),
            };
            let interruption = app
                .write(|s| {
                    let id = interruptions::raise(s, &plan.space, task, &question);
                    tasks::set(s, task, &[("HasPendingInterruptions", json!(true))]);
                    Ok(id)
                })
                .map_err(|e| e.message)?;
            out.line(
                node,
                "Wait",
                &format!("Waiting for manual intervention ({interruption}): {instructions}"),
            );
            let (result, notes) = loop {
                if let Some(answer) = app.read(|s| interruptions::answer(s, &interruption)) {
                    break answer;
                }
                tokio::time::sleep(ANSWER_POLL).await;
            };
            let _ = app.write(|s| {
                tasks::set(s, task, &[("HasPendingInterruptions", json!(false))]);
                Ok(())
            });
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
                Err(format!(
                    "Manual intervention '{name}' was aborted by admin{notes}"
                ))
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
        let reference = package.get("Name").and_then(Value::as_str).unwrap_or("");
        let package_id = package
            .get("PackageId")
            .and_then(Value::as_str)
            .unwrap_or("");
        let version = items(&plan.release, "SelectedPackages")
            .find(|s| {
                s.get("ActionName").and_then(Value::as_str) == Some(name)
                    && s.get("PackageReferenceName")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        == reference
            })
            .and_then(|s| s.get("Version").and_then(Value::as_str))
            .ok_or_else(|| {
                format!(
                    "The release selects no version of package {package_id} for action '{name}'"
                )
            })?;
        let feed = package.get("FeedId").and_then(Value::as_str).unwrap_or("");
        if feed != BUILTIN_FEED {
            return Err(format!(
                "Package {package_id} version {version} is on the external feed '{feed}', which the stand-in cannot reach (it never sends traffic off the machine)"
            ));
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
        let prefix = if reference.is_empty() {
            "Octopus.Action.Package".to_owned()
        } else {
            format!("Octopus.Action.Package[{reference}]")
        };
        variables.set_system(&format!("{prefix}.PackageId"), package_id);
        variables.set_system(&format!("{prefix}.PackageVersion"), version);
    }
    Ok(())
}
