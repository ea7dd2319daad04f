//! What an import tells the operator: a short text summary, or the same as `--json`.

use std::io::{self, Write};

use bridge_cli::safe::Shown;
use bridge_cli::view::field;
use serde::Serialize;

use super::plan::{Plan, PlanStep};

/// The outcome of `import`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `imported`, `already-imported` or `dry-run`.
    pub outcome: &'static str,
    /// The project, as the bundle names it.
    pub project: String,
    /// The release version.
    pub version: String,
    /// The bundle digest (64 hex).
    pub bundle: String,
    /// The channel, `source->target/release`.
    pub channel: String,
    /// The bundle's sequence on it.
    pub sequence: u64,
    /// The target instance and space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The release's id on the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// Bundles before this one given up on with `channel skip`, as "41 to 42".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<String>,
    /// What was done (or, for a dry run, would be done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The ledger file.
    pub ledger: String,
    /// Writes made to Octopus and the ledger.
    pub writes: u64,
}

fn past(action: &str) -> &str {
    match action {
        "upload" => "uploaded",
        "push" => "pushed",
        "create" => "created",
        "update" => "updated",
        "keep" => "unchanged",
        "skip" => "skipped",
        other => other,
    }
}

fn step_line(step: &PlanStep, dry_run: bool) -> String {
    let action = if dry_run {
        format!("would {}", step.action)
    } else {
        past(step.action).to_owned()
    };
    format!("{action}: {} ({})", step.subject, step.detail)
}

/// How many lines of a list the text summary shows before "and N more".
const SHOWN: usize = 3;

/// `N things: a; b; c; and 2 more (--json lists all)`.
fn listed(items: &[String], noun: &str) -> String {
    let shown: Vec<&str> = items.iter().take(SHOWN).map(String::as_str).collect();
    let more = items.len().saturating_sub(SHOWN);
    let mut text = format!("{} {noun}: {}", items.len(), shown.join("; "));
    if more > 0 {
        text.push_str(&format!("; and {more} more (--json lists all)"));
    }
    text
}

impl Report {
    /// Writes the summary for people.
    pub fn render(&self, w: &mut dyn Write) -> io::Result<()> {
        if self.outcome == "already-imported" {
            return writeln!(
                w,
                "already imported: {} {} (bundle {})",
                Shown(&self.project),
                Shown(&self.version),
                Shown(&self.bundle)
            );
        }
        let dry_run = self.outcome == "dry-run";
        let head = if dry_run {
            "DRY RUN, nothing written"
        } else {
            "imported"
        };
        writeln!(
            w,
            "{head}: {} {} (bundle {})",
            Shown(&self.project),
            Shown(&self.version),
            Shown(&self.bundle)
        )?;
        if let Some(target) = &self.target {
            field(w, "target", target)?;
        }
        field(
            w,
            "channel",
            format!("{}, bundle {}", self.channel, self.sequence),
        )?;
        if let Some(gap) = &self.gap {
            field(
                w,
                "gap",
                format!("after bundles {gap}, given up on with `channel skip`"),
            )?;
        }
        if let Some(plan) = &self.plan {
            for step in &plan.steps {
                field(w, step.step, step_line(step, dry_run))?;
            }
            if !plan.skipped_variables.is_empty() {
                field(w, "skipped", listed(&plan.skipped_variables, "variable(s)"))?;
            }
            if !plan.skipped_secrets.is_empty() {
                field(w, "not needed", listed(&plan.skipped_secrets, "secret(s)"))?;
            }
            field(
                w,
                "secrets",
                format!(
                    "{} stored on the target, {} from the secrets file",
                    plan.secrets_stored, plan.secrets_from_file
                ),
            )?;
            if !plan.secrets_file_unused.is_empty() {
                field(
                    w,
                    "unused",
                    format!(
                        "{} secrets file entr(ies) not needed (the target stores them, or a name or scope is misspelt): {}",
                        plan.secrets_file_unused.len(),
                        plan.secrets_file_unused.join("; ")
                    ),
                )?;
            }
        }
        if let Some(id) = &self.release_id {
            field(w, "release", id)?;
        }
        if !dry_run {
            field(w, "ledger", format!("{} (bundle accepted)", self.ledger))?;
        }
        Ok(())
    }
}
