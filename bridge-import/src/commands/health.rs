//! `health --inbox DIR [--json]`: the watch's health from `DIR/.watch/health.json` (last
//! success, queue length, oldest waiting bundle and what it waits for, counts, last error).

use std::path::PathBuf;

use bridge_cli::output::Output;
use bridge_cli::service::inbox::print_health;

/// Arguments of `health`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// The inbox folder the watch runs on.
    #[arg(long, value_name = "DIR")]
    pub inbox: PathBuf,
}

/// Prints the health as the watch last wrote it.
pub fn run(args: &HealthArgs, out: &Output) -> anyhow::Result<()> {
    print_health(&args.inbox, out)
}
