//! `health`: the health of one of this side's services.
//!
//! - `--config carry.toml`: the scheduled export's, from its state folder's `health.json`
//!   (last run, last success, next run, what the last run exported and what failed, and why).
//! - `--inbox DIR`: the results watch's, as it last wrote it in `DIR/.watch/health.json`
//!   (last success, queue length, the oldest waiting bundle and what it waits for, counts done
//!   and quarantined, the last error).

use std::path::{Path, PathBuf};

use bridge_cli::failure::Refused;
use bridge_cli::output::Output;
use bridge_cli::service::inbox::print_health;
use bridge_cli::view::field;

use crate::carry::{config, state};

/// Arguments of `health`: which service.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true)))]
pub struct HealthArgs {
    /// The carry file of the scheduled export (`run --config`): its state folder holds the
    /// health file.
    #[arg(long, value_name = "FILE", group = "what")]
    pub config: Option<PathBuf>,
    /// The results inbox the `watch` service runs on.
    #[arg(long, value_name = "DIR", group = "what")]
    pub inbox: Option<PathBuf>,
}

/// Shows the health file of the service asked for.
pub fn run(args: &HealthArgs, out: &Output) -> anyhow::Result<()> {
    match (&args.config, &args.inbox) {
        (Some(config), _) => carry_health(config, out),
        (None, Some(inbox)) => print_health(inbox, out),
        (None, None) => Err(bridge_cli::failure::UsageError(
            "give --config carry.toml (the scheduled export) or --inbox DIR (the results watch)"
                .into(),
        )
        .into()),
    }
}

fn carry_health(config: &Path, out: &Output) -> anyhow::Result<()> {
    let carry = config::read(config)?;
    let Some(health) = state::read_health(&carry.state)? else {
        return Err(Refused {
            code: "no-health",
            message: format!(
                "the scheduled export of {} has not run yet (no {} in {})\nHint: start the service, or run bridge-export run --config {} --once",
                config.display(),
                state::HEALTH_FILE,
                carry.state.display(),
                config.display()
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
                    field(w, "  failed", item)?;
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
