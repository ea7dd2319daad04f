//! `watch --inbox DIR --policy POLICY`: the results inbox as a service. Result bundles
//! dropped into DIR are taken in one by one, in channel order, as `results FILE` takes them
//! (see [`crate::watch`]); the `carriers::inbox` engine does the watching, settling, ordering,
//! `done/`, `quarantine/`, health and metrics.

use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::inbox::{self, InboxArgs};
use bridge_cli::service::logging;
use ledger::Ledger;

use super::results::note_endpoint;

use crate::watch::ResultsHandler;

/// Arguments of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The results inbox and how it is watched. The trust policy is read again for each
    /// bundle, so that a `policy trust` counts without a restart.
    #[command(flatten)]
    pub watch: InboxArgs,
    /// This side's trust policy: it must trust the secure zones' result signers.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Do not write the note on the release in the development instance (then no --server is
    /// needed), as `results --no-note`.
    #[arg(long)]
    pub no_note: bool,
    /// This side's ledger (the one `export` wrote).
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// How to reach the development-zone Octopus, for the note on each release.
    #[command(flatten)]
    pub octopus: OctopusArgs,
}

/// Runs the watch until a stop is asked for (SIGTERM, SIGINT), or with `--once` until the
/// inbox holds nothing more to take.
pub fn run(args: &WatchArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.watch.log)?;
    let octopus = note_endpoint(
        "watch writes a note on each release",
        args.no_note,
        &args.octopus,
    )?;
    // Read now so that a policy that cannot be used stops the service at once (exit 3),
    // rather than refusing every bundle.
    load_policy(&args.policy)?;
    let ledger_path = args.ledger.path(Side::Export)?;
    let ledger = Ledger::open(&ledger_path)
        .with_context(|| format!("cannot open the ledger {}", ledger_path.display()))?;
    let mut handler = ResultsHandler {
        policy: args.policy.clone(),
        ledger,
        octopus,
        out,
    };
    inbox::watch(args.watch.config("export"), &mut handler, |_| {})?.print(out)
}
