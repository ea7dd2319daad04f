//! `health --inbox DIR`: the results watch's health, as it last wrote it in
//! `DIR/.watch/health.json` (last success, queue length, the oldest waiting bundle and what
//! it waits for, counts done and quarantined, the last error).

use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::output::Output;
use carriers::inbox::health::Health;

/// Arguments of `health`.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true)))]
pub struct HealthArgs {
    /// The results inbox the `watch` service runs on.
    #[arg(long, value_name = "DIR", group = "what")]
    pub inbox: Option<PathBuf>,
}

/// Shows the health.
pub fn run(args: &HealthArgs, out: &Output) -> anyhow::Result<()> {
    let Some(inbox) = &args.inbox else {
        return Err(bridge_cli::failure::UsageError("give --inbox DIR".into()).into());
    };
    let health = Health::read(inbox)
        .with_context(|| format!("cannot read the health of the inbox {}", inbox.display()))?;
    out.success(&health, |w| write!(w, "{health}"))
}
