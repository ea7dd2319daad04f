//! Asking a person: raising an interruption, marking the task as waiting, and polling until
//! the answer is submitted. Manual interventions and guided failures both come through here.
//!
//! ```text
//! raise interruption ──> task HasPendingInterruptions = true ──> "Wait" line in the step's log
//!        │                                                       (the step stays Running)
//!        └── poll every ANSWER_POLL until submitted ──> HasPendingInterruptions = false
//! ```

use std::time::Duration;

use serde_json::json;

use super::Plan;
use super::output::Out;
use crate::resources::interruptions::{self, Asks, Question};
use crate::resources::tasks;
use crate::store::{Doc, text};

/// How often a waiting task looks for the answer.
const ANSWER_POLL: Duration = Duration::from_millis(100);

/// The documents an interruption relates to: deployment (or runbook run), project, environment,
/// task.
pub fn related(plan: &Plan, task: &str) -> Vec<String> {
    vec![
        text(&plan.deployment, "Id").unwrap_or("").to_owned(),
        text(&plan.release, "ProjectId").unwrap_or("").to_owned(),
        plan.context.environment.clone(),
        task.to_owned(),
    ]
}

/// Raises `question`, logs `waiting(interruption id)` as a `Wait` line on `node`, and waits for
/// the answer: the chosen button's value and the notes. An error only when the interruption
/// cannot be stored.
pub async fn raise_and_wait(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    question: &Question,
    waiting: impl FnOnce(&str) -> String,
) -> Result<(String, String), String> {
    let (app, task) = (out.app, out.task);
    let interruption = app
        .write(|s| {
            let id = interruptions::raise(s, &plan.space, task, question);
            tasks::set(s, task, &[("HasPendingInterruptions", json!(true))]);
            Ok(id)
        })
        .map_err(|e| e.message)?;
    out.line(node, "Wait", &waiting(&interruption));
    let answer = loop {
        if let Some(answer) = app.read(|s| interruptions::answer(s, &interruption)) {
            break answer;
        }
        tokio::time::sleep(ANSWER_POLL).await;
    };
    let _ = app.write(|s| {
        tasks::set(s, task, &[("HasPendingInterruptions", json!(false))]);
        Ok(())
    });
    Ok(answer)
}

/// What a person decided about a failed action in guided-failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guidance {
    /// Fail the action, and so the deployment, as without guided failure.
    Fail,
    /// Run the action again.
    Retry,
    /// Count the action as skipped, with a warning, and go on.
    Ignore,
}

/// Asks for guidance about `action`, which failed with `error`: raises the guided-failure
/// interruption ("Guided failure: <action name>"; the exact title is the stand-in's choice)
/// and waits for `Fail`, `Retry` or `Ignore`. The answer is logged on `node`.
pub async fn guidance(
    out: &Out<'_>,
    node: &str,
    plan: &Plan,
    action: &Doc,
    error: &str,
) -> Result<Guidance, String> {
    let name = text(action, "Name").unwrap_or("");
    let question = Question {
        asks: Asks::GuidedFailure,
        action_id: text(action, "Id").unwrap_or("").to_owned(),
        title: format!("Guided failure: {name}"),
        instructions: String::new(),
        related: related(plan, out.task),
        teams: Vec::new(),
    };
    let (choice, notes) = raise_and_wait(out, node, plan, &question, |id| {
        format!("Guided failure: action '{name}' failed ({error}); waiting for guidance ({id}): Fail, Retry or Ignore.")
    })
    .await?;
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(": {notes}")
    };
    let (guidance, category, said) = match choice.as_str() {
        "Retry" => (Guidance::Retry, "Info", "retry the action"),
        "Ignore" => (Guidance::Ignore, "Warning", "ignore the failure and go on"),
        _ if plan.is_deployment => (Guidance::Fail, "Error", "fail the deployment"),
        _ => (Guidance::Fail, "Error", "fail the runbook run"),
    };
    out.line(
        node,
        category,
        &format!("Guided failure: admin chose to {said}{notes}"),
    );
    Ok(guidance)
}
