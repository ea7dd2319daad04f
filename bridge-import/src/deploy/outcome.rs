//! What a task's state means for a result bundle (bundle spec 5.4): the deployment's state,
//! each step's outcome from the first level of the activity tree, and, while the deployment has
//! not ended, what it waits for.

use bundle_format::manifest::{DeploymentState, StepOutcome, StepState, WaitReason, Waiting};
use octopus_api::resources::{
    ActivityElement, GUIDANCE_TITLE_SUFFIX, Interruption, InterruptionKind, Task, TaskDetails,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A deployment's outcome as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended, or `Waiting`.
    pub state: DeploymentState,
    /// What it waits for (exactly when `state` is `Waiting`).
    pub waiting: Option<Waiting>,
    /// When the task started.
    pub started: Option<OffsetDateTime>,
    /// When it ended.
    pub completed: Option<OffsetDateTime>,
    /// Each step's outcome.
    pub steps: Vec<StepOutcome>,
    /// Why it failed, as Octopus says (already scrubbed by the caller before it travels).
    pub error: Option<String>,
}

/// The state of an ended task, or `None` while it runs (Octopus's `TaskState`).
pub fn final_state(task: &Task) -> Option<DeploymentState> {
    if !task.is_completed {
        return None;
    }
    Some(match task.state.as_str() {
        "Success" => DeploymentState::Success,
        "Canceled" => DeploymentState::Canceled,
        "TimedOut" => DeploymentState::TimedOut,
        // "Failed", and any completed state this build does not know: not a success.
        _ if task.finished_successfully => DeploymentState::Success,
        _ => DeploymentState::Failed,
    })
}

/// The outcome of `details`, given the task's pending interruption (if any).
pub fn outcome(details: &TaskDetails, pending: Option<&Interruption>) -> Outcome {
    let task = &details.task;
    let steps = steps(&details.activity_logs);
    let (state, waiting) = match final_state(task) {
        Some(state) => (state, None),
        None => {
            let running = steps
                .iter()
                .find(|s| s.state == StepState::Running)
                .map(|s| s.name.clone());
            let waiting = match pending {
                Some(interruption) => Waiting {
                    reason: match interruption.kind() {
                        InterruptionKind::ManualIntervention => WaitReason::ManualIntervention,
                        InterruptionKind::GuidedFailure => WaitReason::GuidedFailure,
                        // Newer kinds (a pull request to complete, an Argo CD sync) wait for
                        // something outside the task, not for a person's answer here: the
                        // result says the task still runs (bundle spec 5.4 has no other reason).
                        InterruptionKind::Other(_) => WaitReason::StillRunning,
                    },
                    step: running.or_else(|| step_of(interruption)),
                },
                None => Waiting {
                    reason: WaitReason::StillRunning,
                    step: running,
                },
            };
            (DeploymentState::Waiting, Some(waiting))
        }
    };
    Outcome {
        state,
        waiting,
        started: task.start_time.as_deref().and_then(parse_time),
        completed: task.completed_time.as_deref().and_then(parse_time),
        steps,
        error: task.error_message.clone().filter(|m| !m.trim().is_empty()),
    }
}

/// The steps: the children of the task's root activity (Octopus puts one root per task).
fn steps(roots: &[ActivityElement]) -> Vec<StepOutcome> {
    roots
        .iter()
        .flat_map(|root| root.children.iter())
        .map(|step| StepOutcome {
            name: step.name.clone(),
            state: step_state(step.status.as_deref()),
            started: step.started.as_deref().and_then(parse_time),
            completed: step.ended.as_deref().and_then(parse_time),
        })
        .collect()
}

/// Octopus's `ActivityStatus` names.
fn step_state(status: Option<&str>) -> StepState {
    match status {
        Some("Pending") => StepState::Pending,
        Some("Running") => StepState::Running,
        Some("Success") => StepState::Success,
        Some("SuccessWithWarning") => StepState::SuccessWithWarning,
        Some("Failed") => StepState::Failed,
        Some("Skipped") => StepState::Skipped,
        Some("Canceled") => StepState::Canceled,
        _ => StepState::Unknown,
    }
}

/// The step an interruption names when the tree shows none running: a manual intervention's
/// title is its step's name; a guided failure's is "<step> requires failure guidance" (real
/// servers; "The deployment requires failure guidance" names no step) or, from the stand-in,
/// "Guided failure: <step>". Other kinds name no step by their title.
fn step_of(interruption: &Interruption) -> Option<String> {
    let title = interruption.title.trim();
    let step = match interruption.kind() {
        InterruptionKind::ManualIntervention => title,
        InterruptionKind::GuidedFailure => {
            if let Some(step) = title.strip_suffix(GUIDANCE_TITLE_SUFFIX.trim_start()) {
                let step = step.trim();
                if step.eq_ignore_ascii_case("The deployment") {
                    return None;
                }
                step
            } else {
                title.strip_prefix("Guided failure:")?.trim()
            }
        }
        InterruptionKind::Other(_) => return None,
    };
    (!step.is_empty()).then(|| step.to_owned())
}

/// An Octopus time (ISO 8601 with offset, such as `2017-03-20T21:00:17.376+00:00`), in UTC to
/// the second; `None` for anything else (the fixture's `Completed` is prose, for instance).
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    OffsetDateTime::from_unix_timestamp(parsed.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn details(task: serde_json::Value, steps: serde_json::Value) -> TaskDetails {
        serde_json::from_value(json!({
            "Task": task,
            "ActivityLogs": [{"Name": "Deploy", "Status": "Running", "Children": steps}],
        }))
        .unwrap_or_else(|e| panic!("test data: {e}"))
    }

    #[test]
    fn an_ended_task_gives_its_state_and_steps() {
        let d = details(
            json!({"Id": "ServerTasks-1", "State": "Failed", "IsCompleted": true,
                   "FinishedSuccessfully": false, "ErrorMessage": "exit code 3",
                   "StartTime": "2026-11-23T10:00:00.5+00:00",
                   "CompletedTime": "2026-11-23T10:01:00+01:00"}),
            json!([{"Name": "Step 1: Validate", "Status": "Failed",
                    "Started": "2026-11-23T10:00:01+00:00", "Ended": "2026-11-23T10:00:30+00:00"},
                   {"Name": "Step 2: Publish", "Status": "Skipped"}]),
        );
        let o = outcome(&d, None);
        assert_eq!(o.state, DeploymentState::Failed);
        assert_eq!(o.waiting, None);
        assert_eq!(o.error.as_deref(), Some("exit code 3"));
        assert_eq!(o.started.map(|t| t.unix_timestamp()), Some(1_795_428_000));
        assert_eq!(o.completed.map(|t| t.unix_timestamp()), Some(1_795_424_460));
        let states: Vec<_> = o.steps.iter().map(|s| (s.name.as_str(), s.state)).collect();
        assert_eq!(
            states,
            [
                ("Step 1: Validate", StepState::Failed),
                ("Step 2: Publish", StepState::Skipped)
            ]
        );
    }

    #[test]
    fn a_pending_interruption_is_waiting_for_a_person_on_its_step() {
        let d = details(
            json!({"Id": "ServerTasks-2", "State": "Executing", "IsCompleted": false,
                   "HasPendingInterruptions": true}),
            json!([{"Name": "Step 1: Finance sign-off", "Status": "Running"},
                   {"Name": "Step 2: Pause consumers", "Status": "Pending"}]),
        );
        let manual: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-1", "Title": "Finance sign-off", "IsPending": true,
            "Form": {"Elements": [{"Name": "Result"}]}
        }))
        .unwrap_or_else(|e| panic!("test data: {e}"));
        let o = outcome(&d, Some(&manual));
        assert_eq!(o.state, DeploymentState::Waiting);
        let waiting = o.waiting.unwrap_or_else(|| panic!("waiting"));
        assert_eq!(waiting.reason, WaitReason::ManualIntervention);
        assert_eq!(
            waiting.describe(),
            "manual intervention on step 'Step 1: Finance sign-off'"
        );
    }

    #[test]
    fn a_running_task_without_a_question_is_still_running() {
        let d = details(
            json!({"Id": "ServerTasks-3", "State": "Queued", "IsCompleted": false}),
            json!([]),
        );
        let o = outcome(&d, None);
        assert_eq!(o.waiting.map(|w| w.reason), Some(WaitReason::StillRunning));
    }

    #[test]
    fn a_guided_failure_names_its_step_from_the_title() {
        let guided: Interruption = serde_json::from_value(json!({
            "Id": "Interruptions-2", "Title": "Guided failure: Validate rule set",
            "Form": {"Elements": [{"Name": "Guidance"}]}
        }))
        .unwrap_or_else(|e| panic!("test data: {e}"));
        let d = details(
            json!({"Id": "ServerTasks-4", "State": "Executing", "IsCompleted": false}),
            json!([]),
        );
        let waiting = outcome(&d, Some(&guided))
            .waiting
            .unwrap_or_else(|| panic!("waiting"));
        assert_eq!(waiting.reason, WaitReason::GuidedFailure);
        assert_eq!(waiting.step.as_deref(), Some("Validate rule set"));
    }

    fn waiting_for(interruption: serde_json::Value) -> Waiting {
        let interruption: Interruption =
            serde_json::from_value(interruption).unwrap_or_else(|e| panic!("test data: {e}"));
        let d = details(
            json!({"Id": "ServerTasks-5", "State": "Executing", "IsCompleted": false}),
            json!([{"Name": "Step 1: Validate rule set", "Status": "Success"}]),
        );
        outcome(&d, Some(&interruption))
            .waiting
            .unwrap_or_else(|| panic!("waiting"))
    }

    #[test]
    fn real_server_interruption_shapes_give_their_kind_and_step() {
        // 2022.3 and later: `Type`; a guided failure's title ends in "requires failure guidance".
        let w = waiting_for(json!({"Id": "Interruptions-6", "Type": "GuidedFailure",
            "Title": "Publish rules requires failure guidance", "Form": {"Elements": [{"Name": "Notes"}, {"Name": "Result"}]}}));
        assert_eq!(w.reason, WaitReason::GuidedFailure);
        assert_eq!(w.step.as_deref(), Some("Publish rules"));
        // The title OctopusClients knows names no step: none is invented from it.
        let w = waiting_for(
            json!({"Id": "Interruptions-7", "Title": "The deployment requires failure guidance",
            "Form": {"Elements": [{"Name": "Notes"}, {"Name": "Result"}]}}),
        );
        assert_eq!(w.reason, WaitReason::GuidedFailure);
        assert_eq!(w.step, None);
        // A manual intervention by Type: its title is the step.
        let w = waiting_for(
            json!({"Id": "Interruptions-8", "Type": "ManualIntervention",
            "Title": "Finance sign-off", "Form": null}),
        );
        assert_eq!(w.reason, WaitReason::ManualIntervention);
        assert_eq!(w.step.as_deref(), Some("Finance sign-off"));
        // A newer kind: the task still runs, and its title is not taken for a step.
        let w = waiting_for(
            json!({"Id": "Interruptions-9", "Type": "ArgoCDApplicationSync",
            "Title": "Waiting for Argo CD to sync", "Form": null}),
        );
        assert_eq!(w.reason, WaitReason::StillRunning);
        assert_eq!(w.step, None);
    }
}
