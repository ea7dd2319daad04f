//! Deployments, their server tasks, the tasks' activity trees, interruptions (manual
//! interventions and guided failures) and tenants.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Other;

/// `DeploymentResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    /// `Deployments-N` (absent when creating one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Releases-N`.
    pub release_id: String,
    /// `Environments-N`.
    pub environment_id: String,
    /// `Tenants-N`, for a tenanted deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// `ServerTasks-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// When it was created (ISO 8601 with offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `TaskResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    /// `ServerTasks-N`.
    pub id: String,
    /// `Queued`, `Executing`, `Success`, `Failed`, `Canceled`, `TimedOut`, `Cancelling`.
    pub state: String,
    /// Whether it has ended.
    #[serde(default)]
    pub is_completed: bool,
    /// Whether it ended well.
    #[serde(default)]
    pub finished_successfully: bool,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Whether it waits for a person (manual intervention or guided failure).
    #[serde(default)]
    pub has_pending_interruptions: bool,
    /// When it started (ISO 8601 with offset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_time: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `TaskDetailsResource`: a task and its activity tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskDetails {
    /// The task.
    pub task: Task,
    /// The activity tree: one root per task, whose children are the steps.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub activity_logs: Vec<ActivityElement>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// `ActivityElement`: one node of a task's activity tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActivityElement {
    /// What it is, such as `Step 1: Run database migrations`.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub name: String,
    /// `Pending`, `Running`, `Success`, `SuccessWithWarning`, `Failed`, `Skipped`, `Canceled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// Its parts.
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub children: Vec<ActivityElement>,
    /// Everything else (log lines are not kept apart: the raw log carries them).
    #[serde(flatten)]
    pub other: Other,
}

/// `InterruptionResource`: a question a task asks a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Interruption {
    /// `Interruptions-N`.
    pub id: String,
    /// Its title (for a manual intervention, the step's name).
    #[serde(default, deserialize_with = "super::tolerant::null_default")]
    pub title: String,
    /// Whether it still waits for an answer.
    #[serde(default)]
    pub is_pending: bool,
    /// The task it interrupts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The form a person answers: `Elements` and `Values`.
    #[serde(default)]
    pub form: Value,
    /// `ServerTasks-N_<action id>`: which action asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// What it asks for, as servers since 2022.3 say (`ManualIntervention`, `GuidedFailure`,
    /// `PullRequestCompletion`, ...: OctopusClients `InterruptionResource.Type`,
    /// go-octopusdeploy `InterruptionType`); absent from older servers.
    #[serde(default, rename = "Type", skip_serializing_if = "Option::is_none")]
    pub interruption_type: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

/// What an interruption asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterruptionKind {
    /// A manual intervention step: proceed or abort (form element `Result`).
    ManualIntervention,
    /// A failure in guided-failure mode: fail, retry or ignore (form element `Guidance`).
    GuidedFailure,
    /// A kind newer than this build (`PullRequestCompletion`, `ArgoCDApplicationSync`,
    /// `KubernetesResourceVerification`, ...), by the name the server gives it.
    Other(String),
}

impl std::fmt::Display for InterruptionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ManualIntervention => f.write_str("manual intervention"),
            Self::GuidedFailure => f.write_str("guided failure"),
            Self::Other(name) => write!(f, "{name} interruption"),
        }
    }
}

impl Interruption {
    /// What the interruption asks for: its `Type` when the server sends one (2022.3 and later),
    /// else told by its form: Octopus's guided-failure form has a
    /// `Guidance` element, a manual intervention's has `Result` (OctopusDeploy/docs,
    /// "Guided failures": both are interruptions in the REST API). A form with neither is
    /// taken for a manual intervention, the more common kind.
    pub fn kind(&self) -> InterruptionKind {
        match self.interruption_type.as_deref().map(str::trim) {
            Some("ManualIntervention") => return InterruptionKind::ManualIntervention,
            Some("GuidedFailure") => return InterruptionKind::GuidedFailure,
            Some(other) if !other.is_empty() => return InterruptionKind::Other(other.to_owned()),
            _ => {}
        }
        // OctopusClients `InterruptionResource.Type` falls back on the title for servers
        // without `Type`: "The deployment requires failure guidance" is a guided failure.
        if self.title.trim_end().ends_with(GUIDANCE_TITLE_SUFFIX) {
            return InterruptionKind::GuidedFailure;
        }
        let guidance = self
            .form
            .get("Elements")
            .and_then(Value::as_array)
            .is_some_and(|elements| {
                elements
                    .iter()
                    .any(|e| e.get("Name").and_then(Value::as_str) == Some("Guidance"))
            });
        if guidance {
            InterruptionKind::GuidedFailure
        } else {
            InterruptionKind::ManualIntervention
        }
    }
}

/// How a real server's guided-failure title ends ("The deployment requires failure
/// guidance": OctopusClients `InterruptionResourceFixture`, and the fallback of
/// `InterruptionResource.Type`).
pub const GUIDANCE_TITLE_SUFFIX: &str = " requires failure guidance";

/// `TenantResource`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tenant {
    /// `Tenants-N`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Everything else.
    #[serde(flatten)]
    pub other: Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_tells_guided_failure_from_manual_intervention() -> Result<(), serde_json::Error> {
        let manual: Interruption = serde_json::from_value(serde_json::json!({
            "Id": "Interruptions-1", "Title": "Finance sign-off", "IsPending": true,
            "Form": {"Elements": [{"Name": "Instructions"}, {"Name": "Result"}], "Values": {}}
        }))?;
        assert_eq!(manual.kind(), InterruptionKind::ManualIntervention);
        let guided: Interruption = serde_json::from_value(serde_json::json!({
            "Id": "Interruptions-2", "Title": "Guided failure: Validate rule set", "IsPending": true,
            "Form": {"Elements": [{"Name": "Guidance"}], "Values": {}}
        }))?;
        assert_eq!(guided.kind(), InterruptionKind::GuidedFailure);
        Ok(())
    }

    #[test]
    fn the_task_fixture_reads() -> Result<(), Box<dyn std::error::Error>> {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/octopus/task.json"
        ))?;
        let task: Task = serde_json::from_str(text.trim_start_matches('\u{feff}'))?;
        assert!(task.id.starts_with("ServerTasks-"));
        assert!(task.start_time.is_some() || task.state == "Queued");
        Ok(())
    }
}
