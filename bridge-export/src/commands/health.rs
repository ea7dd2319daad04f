//! `health --config carry.toml`: the scheduled export's health, from its state folder's
//! `health.json` (last run, last success, next run, what the last run exported and what
//! failed, and why).

use std::path::PathBuf;

use bridge_cli::failure::Refused;
use bridge_cli::output::Output;
use bridge_cli::view::field;

use crate::carry::{config, state};

/// Arguments of `health`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The carry file of the scheduled export (`run --config`): its state folder holds the
    /// health file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Shows the health file.
pub fn run(args: &HealthArgs, out: &Output) -> anyhow::Result<()> {
    let carry = config::read(&args.config)?;
    let Some(health) = state::read_health(&carry.state)? else {
        return Err(Refused {
            code: "no-health",
            message: format!(
                "the scheduled export of {} has not run yet (no {} in {})\nHint: start the service, or run bridge-export run --config {} --once",
                args.config.display(),
                state::HEALTH_FILE,
                carry.state.display(),
                args.config.display()
            ),
        }
        .into());
    };
    out.success(&health, |w| {
        let none = || "never".to_owned();
        match &health.last_run {
            None => field(w, "last run", "never")?,
            Some(run) => {
                field(
                    w,
                    "last run",
                    format!(
                        "{} ({})",
                        run.started,
                        if run.ok { "ok" } else { "with failures" }
                    ),
                )?;
                field(w, "exported", run.exported.len())?;
                field(w, "failed", run.failed.len())?;
                for item in &run.exported {
                    field(
                        w,
                        "  exported",
                        format!(
                            "{} {} -> {} ({})",
                            item.project, item.version, item.target_zone, item.bundle
                        ),
                    )?;
                }
                for item in &run.failed {
                    field(
                        w,
                        "  failed",
                        format!(
                            "{} {} -> {}: [{}] {}",
                            item.project.as_deref().unwrap_or("-"),
                            item.version.as_deref().unwrap_or("-"),
                            item.target_zone,
                            item.code,
                            item.reason.lines().next().unwrap_or_default()
                        ),
                    )?;
                }
                if let Some(error) = &run.error {
                    field(w, "run error", error.lines().next().unwrap_or_default())?;
                }
            }
        }
        field(
            w,
            "last ok",
            health.last_success.clone().unwrap_or_else(none),
        )?;
        field(
            w,
            "next run",
            health
                .next_run
                .clone()
                .unwrap_or_else(|| "not scheduled (service not running)".to_owned()),
        )?;
        field(w, "runs", health.totals.runs)
    })
}
