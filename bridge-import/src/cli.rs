//! The command line of `bridge-import`: clap types only, so that help, man pages and
//! completions can be generated from this file alone.

use bridge_cli::commands::channel::ChannelCommand;
use bridge_cli::commands::inspect::InspectArgs;
use bridge_cli::commands::keygen::KeygenArgs;
use bridge_cli::commands::ledger::LedgerCommand;
use bridge_cli::commands::policy::PolicyCommand;
use bridge_cli::exit::EXIT_CODES_HELP;
use bridge_cli::output::GlobalArgs;
use clap::{Parser, Subcommand};

use crate::commands::deploy::DeployArgs;
use crate::commands::health::HealthArgs;
use crate::commands::import::ImportArgs;
use crate::commands::receive::ReceiveArgs;
use crate::commands::unpack::UnpackArgs;
use crate::commands::verify::VerifyArgs;
use crate::commands::watch::WatchArgs;

/// Zonebridge, secure zone: verify bundles against this zone's trust policy, unpack them,
/// import releases into the secure-zone Octopus (never writing anything unverified outside a
/// private staging folder), deploy them and write signed result bundles.
#[derive(Debug, Parser)]
#[command(name = "bridge-import", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `bridge-import` commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a signing key pair: NAME.key (private, mode 0600) and NAME.pub.
    #[command(after_help = EXIT_CODES_HELP)]
    Keygen(KeygenArgs),
    /// Verify a whole bundle against the trust policy: signatures, zone, expiry, every byte.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Show what a bundle claims, WITHOUT verifying it.
    #[command(after_help = EXIT_CODES_HELP)]
    Inspect(InspectArgs),
    /// Verify a bundle and unpack its payload; the folder appears only once all of it verified.
    #[command(after_help = EXIT_CODES_HELP)]
    Unpack(UnpackArgs),
    /// Import a release bundle into the secure-zone Octopus: verify it, resolve its names,
    /// check its secrets, then upload packages, write process and variables and create the
    /// release, each only where it differs. The same bundle twice is a no-op.
    #[command(after_help = EXIT_CODES_HELP)]
    Import(Box<ImportArgs>),
    /// Deploy a release this side imported, follow its task, and write a signed result
    /// bundle (state, steps, the task log scrubbed of every known secret) for the zone the
    /// release came from. Exit 5: the deployment failed; 6: it waits (run deploy again later).
    #[command(after_help = EXIT_CODES_HELP)]
    Deploy(Box<DeployArgs>),
    /// Run as a service on an inbox folder: import every bundle dropped there, in channel
    /// order, once it is complete; deploy where --deploy says and put the result bundles in
    /// --results-outbox; move each file to done/, or to quarantine/ beside a note saying why.
    /// The first SIGTERM finishes the bundle in hand, then exits 0.
    #[command(after_help = EXIT_CODES_HELP)]
    Watch(Box<WatchArgs>),
    /// Run as a service on the receiving side of a one-way diode: collect the bundles sent
    /// with `bridge-export send` over UDP (only transfers whose signed header the policy
    /// trusts), and put each complete one whose bytes match that header into the inbox that
    /// `watch` takes from. Never sends a packet. The first SIGTERM exits 0.
    #[command(after_help = EXIT_CODES_HELP)]
    Receive(Box<ReceiveArgs>),
    /// Show the health of the watch on an inbox: last success, queue length, the oldest
    /// waiting bundle and what it waits for, counts, the last error.
    #[command(after_help = EXIT_CODES_HELP)]
    Health(HealthArgs),
    /// Make or change this side's trust policy (the secure side trusts release signers).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Check this side's ledger: the hash chain of its audit trail, and its tables against it.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Manage incoming channels: give up on one bundle of a release channel whose bundle was lost or refused for good.
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
