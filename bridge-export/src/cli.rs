//! The command line of `bridge-export`: clap types only, so that help, man pages and
//! completions can be generated from this file alone.

use bridge_cli::commands::channel::ChannelCommand;
use bridge_cli::commands::inspect::InspectArgs;
use bridge_cli::commands::keygen::KeygenArgs;
use bridge_cli::commands::ledger::LedgerCommand;
use bridge_cli::commands::policy::PolicyCommand;
use bridge_cli::exit::EXIT_CODES_HELP;
use bridge_cli::output::GlobalArgs;
use clap::{Parser, Subcommand};

use crate::commands::export::ExportArgs;
use crate::commands::health::HealthArgs;
use crate::commands::pack::PackArgs;
use crate::commands::results::ResultsArgs;
use crate::commands::run::RunArgs;
use crate::commands::send::SendArgs;
use crate::commands::sign::SignArgs;
use crate::commands::status::StatusArgs;
use crate::commands::watch::WatchArgs;

/// Zonebridge, development zone: export a release from Octopus (or pack a release folder) into
/// a signed bundle for a secure zone, add approvals (signatures), take deployment results
/// back in, and show where each release stands.
#[derive(Debug, Parser)]
#[command(name = "bridge-export", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `bridge-export` commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a signing key pair: NAME.key (private, mode 0600) and NAME.pub.
    #[command(after_help = EXIT_CODES_HELP)]
    Keygen(KeygenArgs),
    /// Export a release from the development-zone Octopus into a signed bundle, the next on
    /// its channel (read from this side's ledger).
    #[command(after_help = EXIT_CODES_HELP)]
    Export(Box<ExportArgs>),
    /// Pack a release folder into a signed bundle for a target zone.
    #[command(after_help = EXIT_CODES_HELP)]
    Pack(PackArgs),
    /// Add a signature (an approval) to a bundle; the bundle digest does not change.
    #[command(after_help = EXIT_CODES_HELP)]
    Sign(SignArgs),
    /// Take a result bundle in from a secure zone: verify it, check that it answers a release
    /// this side exported, record it, and note the outcome on the release in Octopus.
    #[command(after_help = EXIT_CODES_HELP)]
    Results(Box<ResultsArgs>),
    /// Show each release's promotion across zones: exported, results received, deployed
    /// where and how, and bundles never answered.
    #[command(after_help = EXIT_CODES_HELP)]
    Status(StatusArgs),
    /// The scheduled export: every release the carry file's rules qualify and the ledger has
    /// not seen go, oldest first, each as its own bundle into the outbox. With --once, now;
    /// without, as a service on the carry file's schedule (SIGTERM: finish the release in
    /// hand, exit 0). --once exits 1 when a release failed (the others were exported).
    #[command(after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// Take result bundles in as they arrive in a results inbox, as `results` takes them: a
    /// service (SIGTERM finishes the bundle in hand), or `--once`.
    #[command(after_help = EXIT_CODES_HELP)]
    Watch(Box<WatchArgs>),
    /// Send bundles over a one-way UDP diode (docs/diode.md): the given files, each once
    /// with its rounds, or (--outbox DIR) as a service every bundle appearing in DIR, which
    /// then moves to DIR/sent/ (SIGTERM finishes the bundle in hand, exit 0).
    #[command(after_help = EXIT_CODES_HELP)]
    Send(Box<SendArgs>),
    /// Show the health of the scheduled export (`--config carry.toml`: last run, last
    /// success, next run, what the last run exported and what failed, and why) or of the
    /// results watch (`--inbox DIR`).
    #[command(after_help = EXIT_CODES_HELP)]
    Health(HealthArgs),
    /// Show what a bundle claims, WITHOUT verifying it.
    #[command(after_help = EXIT_CODES_HELP)]
    Inspect(InspectArgs),
    /// Make or change this side's trust policy (the development side trusts result signers).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Check this side's ledger: the hash chain of its audit trail, and its tables against it.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Manage incoming channels: give up on one bundle of a result channel whose bundle was lost or refused for good.
    #[command(subcommand)]
    Channel(ChannelCommand),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
    }
}
