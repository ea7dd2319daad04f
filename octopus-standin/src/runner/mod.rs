//! The task runner: picks up queued tasks (deployments and runbook runs) and carries them out
//! in the background, one tokio task each (Octopus runs several tasks at once too). Both run
//! through the same engine: a runbook run is a frozen process with frozen variables, as a
//! deployment is (see `execution`, which finds what a task carries out).
//!
//! ```text
//! (POST runbookRuns queues its task the same way.)
//! POST deployments ──> task Queued ──wake──> runner ──> Executing
//!                                                       │ per step (Condition: Success, Failure, Always)
//!                                                       │   per action (environment/channel filters, SkipActions)
//!                                                       │     acquire packages from the built-in feed
//!                                                       │     Octopus.Script  -> bash, for real, in a scratch folder
//!                                                       │     Octopus.Manual  -> interruption, wait for the answer
//!                                                       │     anything else   -> logged as done
//!                                                       │     failed + UseGuidedFailure -> interruption: Fail | Retry | Ignore
//!                                                       └──> Success | Failed (first failure's message)
//! ```
//!
//! `action` carries out one action; `ask` raises the interruptions (manual intervention,
//! guided failure) and waits for their answers.
//!
//! Log lines go to the store as they come but are written to the `--data` file only with the
//! next persisted change; a restart fails the tasks that were running (see [`recover`]).

mod action;
mod ask;
mod execution;
mod output;
mod script;
pub mod variables;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::app::App;
use crate::kind::Kind;
use crate::resources::tasks;
use crate::store::{Doc, Store, items, now, strings, text};
use action::Failure;
use ask::Guidance;
use execution::{Execution, execution};
use output::Out;
use variables::{Context, Variables};

/// The most tasks executing at once (Octopus's node task cap, which defaults to 5, plays the
/// same part); the others stay queued until one ends.
pub const MAX_EXECUTING_TASKS: usize = 16;

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
    let queued = app.read(|s| {
        let executing = s
            .ids_where(Kind::Task, |t| text(t, "State") == Some("Executing"))
            .len();
        let mut queued = s.ids_where(Kind::Task, |t| text(t, "State") == Some("Queued"));
        queued.truncate(MAX_EXECUTING_TASKS.saturating_sub(executing));
        queued
    });
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

/// Everything a task needs, read once from the store. A deployment and a runbook run are
/// carried out alike: steps of a frozen process, with frozen variables.
struct Plan {
    space: String,
    /// The execution's `UseGuidedFailure`: a failed action asks a person what to do.
    guided: bool,
    /// The execution: a deployment, or a runbook run (`SkipActions`, `Id`, `FormValues`).
    deployment: Doc,
    /// What the execution froze: the release, or the runbook snapshot (`SelectedPackages`,
    /// `ProjectId`, variable snapshots).
    release: Doc,
    /// Whether this is a deployment (not a runbook run): it may complete a lifecycle phase.
    is_deployment: bool,
    steps: Vec<Value>,
    variables: Variables,
    context: Context,
    packages: BTreeMap<String, Doc>,
    /// Every feed, by id, with the versions an external one lists (see `resources::feeds`).
    feeds: BTreeMap<String, Doc>,
}

fn plan(store: &Store, task_id: &str) -> Result<Plan, String> {
    let Execution {
        kind,
        doc: deployment,
        frozen: release,
        process,
        channel,
        system,
    } = execution(store, task_id)?;
    let get = |kind: Kind, id: &str| -> Result<Doc, String> {
        store
            .get(kind, id)
            .cloned()
            .ok_or_else(|| format!("the {} '{id}' no longer exists", kind.noun()))
    };
    let project = get(Kind::Project, text(&release, "ProjectId").unwrap_or(""))?;
    let environment = get(
        Kind::Environment,
        text(&deployment, "EnvironmentId").unwrap_or(""),
    )?;
    // The execution's prompted values, by variable id (sensitive ones kept as secrets).
    let mut prompted: BTreeMap<String, String> = deployment
        .get("FormValues")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect();
    prompted.extend(store.secrets_of(&crate::resources::prompted::secret_owner(
        text(&deployment, "Id").unwrap_or(""),
    )));
    let mut variables = Variables::load(
        store,
        &strings(&release, "LibraryVariableSetSnapshotIds"),
        text(&release, "ProjectVariableSetSnapshotId").unwrap_or(""),
        &prompted,
    );
    let space = text(&deployment, "SpaceId").unwrap_or("").to_owned();
    for (name, value) in system {
        variables.set_system(name, &value);
    }
    for (name, value) in [
        ("Octopus.Project.Name", text(&project, "Name")),
        ("Octopus.Project.Id", text(&project, "Id")),
        ("Octopus.Environment.Name", text(&environment, "Name")),
        ("Octopus.Environment.Id", text(&environment, "Id")),
        ("Octopus.Task.Id", Some(task_id)),
        ("Octopus.Space.Id", Some(space.as_str())),
    ] {
        variables.set_system(name, value.unwrap_or(""));
    }
    // A tenanted execution's tenant (Calamari `SpecialVariables.Deployment.Tenant`); an
    // untenanted one has neither variable.
    if let Some(tenant) = text(&deployment, "TenantId") {
        let tenant = get(Kind::Tenant, tenant)?;
        variables.set_system(
            "Octopus.Deployment.Tenant.Id",
            text(&tenant, "Id").unwrap_or(""),
        );
        variables.set_system(
            "Octopus.Deployment.Tenant.Name",
            text(&tenant, "Name").unwrap_or(""),
        );
    }
    let packages = store
        .all(Kind::Package)
        .iter()
        .filter_map(|p| Some((text(p, "Id")?.to_owned(), p.clone())))
        .collect();
    let feeds = store
        .all(Kind::Feed)
        .iter()
        .filter_map(|f| Some((text(f, "Id")?.to_owned(), f.clone())))
        .collect();
    Ok(Plan {
        feeds,
        context: Context {
            environment: text(&environment, "Id").unwrap_or("").to_owned(),
            // A runbook has no channel: its actions' channel filters do not apply.
            channel: channel
                .as_ref()
                .and_then(|c| text(c, "Id"))
                .unwrap_or("")
                .to_owned(),
            action: None,
            project: text(&project, "Id").unwrap_or("").to_owned(),
        },
        space,
        guided: deployment.get("UseGuidedFailure") == Some(&Value::Bool(true)),
        steps: process
            .get("Steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        is_deployment: kind == Kind::Deployment,
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
    let ended = match make_private_dir(&scratch) {
        Ok(()) => run_steps(&out, &plan, &scratch).await,
        Err(e) => Ended {
            failure: Some(format!(
                "The stand-in cannot create the scratch folder {}: {e}",
                scratch.display()
            )),
            warnings: false,
        },
    };
    let _ = std::fs::remove_dir_all(&scratch);
    if let Some(message) = &ended.failure {
        out.line(&task_id, "Error", message);
    }
    let _ = app.write(|s| {
        tasks::finish_with(s, &task_id, ended.failure.as_deref(), ended.warnings);
        // A successful deployment may complete a phase: the next one's automatic targets
        // are deployed now (`resources::automatic`).
        if ended.failure.is_none() && plan.is_deployment {
            crate::resources::automatic::deploy_due(
                s,
                &plan.space,
                text(&plan.release, "Id").unwrap_or(""),
            );
        }
        Ok(())
    });
    app.wake.notify_one();
}

fn make_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// How the steps ended: the first failure's message, and whether a failure was ignored.
#[derive(Debug, Default)]
struct Ended {
    failure: Option<String>,
    warnings: bool,
}

/// How one step's actions ended.
enum StepEnd {
    /// No action failed for good: `ran` succeeded, `ignored` failed and were ignored.
    Done { ran: usize, ignored: usize },
    /// An action failed and the step fails with this message.
    Failed(String),
}

/// Runs the steps in order, each on its `Condition`.
async fn run_steps(out: &Out<'_>, plan: &Plan, scratch: &Path) -> Ended {
    let task = out.task;
    let mut ended = Ended::default();
    for (index, step) in plan.steps.iter().enumerate() {
        let number = index + 1;
        let step_name = step.get("Name").and_then(Value::as_str).unwrap_or("");
        let node = format!("{task}_{number}");
        out.child(task, &node, &format!("Step {number}: {step_name}"));
        let condition = step
            .get("Condition")
            .and_then(Value::as_str)
            .unwrap_or("Success");
        let failed = ended.failure.is_some();
        let runs = match condition {
            "Always" => true,
            "Failure" => failed,
            _ => !failed,
        };
        if !runs {
            out.line(
                &node,
                "Info",
                &format!(
                    "Skipped: the step runs on {condition} and an earlier step {}.",
                    if failed { "failed" } else { "did not fail" }
                ),
            );
            out.status(&node, "Skipped");
            continue;
        }
        out.status(&node, "Running");
        match run_actions(out, plan, &node, number, step, scratch).await {
            StepEnd::Failed(message) => {
                out.status(&node, "Failed");
                ended.failure.get_or_insert(message);
            }
            StepEnd::Done { ignored, .. } if ignored > 0 => {
                ended.warnings = true;
                out.status(&node, "SuccessWithWarning");
            }
            StepEnd::Done { ran: 0, .. } => out.status(&node, "Skipped"),
            StepEnd::Done { .. } => out.status(&node, "Success"),
        }
    }
    ended
}

/// Runs a step's actions in order. A failed action fails the step, unless the deployment uses
/// guided failure: then a person decides (Fail, Retry, Ignore), as many times as it fails.
async fn run_actions(
    out: &Out<'_>,
    plan: &Plan,
    node: &str,
    number: usize,
    step: &Value,
    scratch: &Path,
) -> StepEnd {
    let step_name = step.get("Name").and_then(Value::as_str).unwrap_or("");
    let (mut seq, mut ran, mut ignored) = (0, 0, 0);
    for action in items(step, "Actions") {
        let Some(action) = action.as_object() else {
            continue;
        };
        if let Some(reason) = skip_reason(plan, action) {
            out.line(
                node,
                "Info",
                &format!(
                    "Skipping action '{}': {reason}.",
                    text(action, "Name").unwrap_or("")
                ),
            );
            continue;
        }
        seq += 1;
        let mut attempt = 1;
        loop {
            // A fresh folder for every attempt, so a retry does not see what the failed
            // attempt left behind.
            let folder = match attempt {
                1 => scratch.join(format!("{number}-{seq}")),
                n => scratch.join(format!("{number}-{seq}-attempt-{n}")),
            };
            let result = match make_private_dir(&folder) {
                Ok(()) => action::run_action(out, node, plan, step_name, action, &folder).await,
                Err(e) => Err(Failure::Final(format!(
                    "The stand-in cannot create {}: {e}",
                    folder.display()
                ))),
            };
            let (message, guided) = match result {
                Ok(()) => {
                    ran += 1;
                    break;
                }
                Err(Failure::Failed(message)) => (message, plan.guided),
                Err(Failure::Final(message)) => (message, false),
            };
            out.line(node, "Error", &message);
            if !guided {
                return StepEnd::Failed(message);
            }
            match ask::guidance(out, node, plan, action, &message).await {
                Ok(Guidance::Retry) => attempt += 1,
                Ok(Guidance::Ignore) => {
                    ignored += 1;
                    break;
                }
                Ok(Guidance::Fail) => return StepEnd::Failed(message),
                Err(why) => {
                    out.line(node, "Error", &why);
                    return StepEnd::Failed(message);
                }
            }
        }
    }
    StepEnd::Done { ran, ignored }
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
    if plan.is_deployment && !channels.is_empty() && !channels.contains(&plan.context.channel) {
        return Some("it does not run in this channel".to_owned());
    }
    None
}
