//! What `deploy` prints: the deployment, how it went step by step, and the result bundle.

use std::io::{self, Write};
use std::path::Path;

use bridge_cli::exit;
use bridge_cli::failure::ExitWith;
use bridge_cli::time_arg::format_rfc3339;
use bridge_cli::view::field;
use ledger::{DeploymentKey, DeploymentRecord, DeploymentState};
use serde::Serialize;

use super::outcome::Outcome;

/// The report of a deploy (`--json` prints it as it is).
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// `deployed` (a deployment was created), `followed` (an earlier one was followed
    /// further), or `already-deployed` (it had ended; nothing was done).
    pub outcome: &'static str,
    /// Project, as the release bundle names it.
    pub project: String,
    /// Release version.
    pub version: String,
    /// Environment on this instance.
    pub environment: String,
    /// Tenant, if any.
    pub tenant: Option<String>,
    /// `Deployments-N`.
    pub deployment: Option<String>,
    /// `ServerTasks-N`.
    pub task: Option<String>,
    /// `success`, `failed`, `canceled`, `timed-out` or `waiting` (`requested` or `deploying`
    /// only before the deployment was followed).
    #[serde(serialize_with = "state_name")]
    pub state: DeploymentState,
    /// Why it failed, as Octopus says (scrubbed), when it did.
    pub error: Option<String>,
    /// What it waits for.
    pub waiting: Option<String>,
    /// Started, RFC 3339.
    pub started: Option<String>,
    /// Ended, RFC 3339.
    pub completed: Option<String>,
    /// Each step and its state.
    pub steps: Vec<StepLine>,
    /// How many secret values were masked in the log.
    pub masked: usize,
    /// The result bundle written (none for `already-deployed`).
    pub result: Option<ResultFile>,
    /// The result bundle recorded for this deployment (its digest).
    pub result_digest: Option<String>,
    /// The ledger.
    pub ledger: String,
}

/// One step of the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepLine {
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: &'static str,
}

/// The result bundle written.
#[derive(Debug, Clone, Serialize)]
pub struct ResultFile {
    /// Where.
    pub path: String,
    /// Its digest.
    pub digest: String,
    /// Its channel.
    pub channel: String,
    /// Its sequence on the channel.
    pub sequence: u64,
}

impl DeployReport {
    /// An empty report for `key`.
    pub fn new(key: &DeploymentKey, ledger: &Path) -> Self {
        Self {
            outcome: "deployed",
            project: key.project.clone(),
            version: key.version.clone(),
            environment: key.environment.clone(),
            tenant: key.tenant.clone(),
            deployment: None,
            task: None,
            state: DeploymentState::Requested,
            error: None,
            waiting: None,
            started: None,
            completed: None,
            steps: Vec::new(),
            masked: 0,
            result: None,
            result_digest: None,
            ledger: ledger.display().to_string(),
        }
    }

    /// A deployment that had ended before: what the ledger recorded.
    pub fn already(&mut self, done: &DeploymentRecord) {
        self.outcome = "already-deployed";
        self.deployment.clone_from(&done.deployment_id);
        self.task.clone_from(&done.task_id);
        self.fill(done);
    }

    /// The deployment as this run left it.
    pub fn finish(&mut self, ended: &DeploymentRecord, outcome: &Outcome, masked: usize) {
        self.fill(ended);
        self.masked = masked;
        self.error.clone_from(&outcome.error);
        self.steps = outcome
            .steps
            .iter()
            .map(|s| StepLine {
                name: s.name.clone(),
                state: s.state.as_str(),
            })
            .collect();
    }

    fn fill(&mut self, record: &DeploymentRecord) {
        self.state = record.state;
        self.waiting.clone_from(&record.waiting);
        self.started = record.started.map(format_rfc3339);
        self.completed = record.completed.map(format_rfc3339);
        self.result_digest = record.result_bundle.map(|d| d.to_hex());
    }

    /// The exit code a scheduler sees: 0 success, 5 ended badly, 6 not ended.
    pub fn exit_code(&self) -> u8 {
        match self.state {
            DeploymentState::Success => exit::SUCCESS,
            state if state.is_final() => exit::DEPLOYMENT_FAILED,
            _ => exit::DEPLOYMENT_WAITING,
        }
    }

    /// `Ok` for a deployment that succeeded; otherwise the exit code that says how it went
    /// (the report has been printed already).
    pub fn exit(&self) -> anyhow::Result<()> {
        match self.exit_code() {
            exit::SUCCESS => Ok(()),
            code => Err(ExitWith(code).into()),
        }
    }

    /// The human report.
    pub fn render(&self, w: &mut dyn Write) -> io::Result<()> {
        let what = match &self.tenant {
            Some(tenant) => format!(
                "{} {} to {} for {tenant}",
                self.project, self.version, self.environment
            ),
            None => format!("{} {} to {}", self.project, self.version, self.environment),
        };
        let verb = match self.outcome {
            "followed" => "followed",
            _ => "deployed",
        };
        field(w, verb, what)?;
        if let Some(task) = &self.task {
            let deployment = self.deployment.as_deref().unwrap_or("?");
            field(w, "deployment", format!("{deployment} (task {task})"))?;
        }
        field(w, "state", self.state)?;
        if let Some(error) = &self.error {
            field(w, "error", error)?;
        }
        if let Some(waiting) = &self.waiting {
            field(w, "waiting for", waiting)?;
        }
        if let (Some(started), Some(completed)) = (&self.started, &self.completed) {
            field(w, "ran", format!("{started} to {completed}"))?;
        }
        for step in &self.steps {
            field(w, "step", format!("{} {}", step.state, step.name))?;
        }
        match &self.result {
            Some(result) => {
                field(w, "result", &result.path)?;
                field(
                    w,
                    "channel",
                    format!("{} (sequence {})", result.channel, result.sequence),
                )?;
                field(w, "digest", &result.digest)?;
                field(w, "log", format!("{} secret values masked", self.masked))?;
            }
            None => {
                if let Some(digest) = &self.result_digest {
                    field(w, "result", format!("{digest} (written earlier)"))?;
                }
                if self.outcome == "already-deployed" {
                    writeln!(
                        w,
                        "Nothing was done: this deployment has ended. Give --redeploy to deploy again."
                    )?;
                }
            }
        }
        if self.state == DeploymentState::Waiting {
            writeln!(
                w,
                "The deployment has not ended: run the same deploy again later to follow it and write its next result."
            )?;
        }
        Ok(())
    }
}

fn state_name<S: serde::Serializer>(state: &DeploymentState, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(state.as_str())
}
