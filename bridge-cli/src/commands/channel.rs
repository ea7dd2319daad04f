//! `channel skip`: giving up on one bundle of an incoming channel, on purpose and on the
//! record (bundle spec 9.3). Both binaries offer it: the secure side for release channels,
//! the development side for result channels.
//!
//! ```text
//!  bundle 41 refused (or lost)  ->  bundle 42 waits for it ("bundle 41 missing ...")
//!  channel skip --channel dev->pci/release --sequence 41 --reason "..."
//!    ledger: channel_skips row + `channel-skip` audit entry (reason, operator)
//!  bundle 42 is imported; bundle 41, given later, is refused as `skipped`
//! ```

use anyhow::Context as _;
use bundle_format::channel::Channel;
use ledger::Ledger;
use serde::Serialize;

use crate::commands::ledger::{LedgerArg, Side};
use crate::exit::EXIT_CODES_HELP;
use crate::failure::{UsageError, refused};
use crate::output::Output;
use crate::view::field;

/// `channel` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ChannelCommand {
    /// Give up on one bundle of an incoming channel, so that the bundles after it can be
    /// taken: for a bundle lost for good, or refused for a reason nobody will fix. Recorded in
    /// the audit trail with the reason and the operator; the skipped bundle can never be taken
    /// afterwards. There is no way to skip bundles in bulk.
    #[command(after_help = EXIT_CODES_HELP)]
    Skip(SkipArgs),
}

/// Arguments of `channel skip`.
#[derive(Debug, Clone, clap::Args)]
pub struct SkipArgs {
    /// The channel, as refusals name it: SOURCE->TARGET/KIND, such as dev->pci/release.
    #[arg(long, value_name = "CHANNEL", value_parser = parse_channel)]
    pub channel: Channel,
    /// The sequence number of the bundle to give up on (as "bundle 41 missing" names it).
    #[arg(long, value_name = "N")]
    pub sequence: u64,
    /// Why it is given up on; goes into the audit trail. Required.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Who gives it up, for the audit trail. Default: $USER (or $LOGNAME).
    #[arg(long, value_name = "NAME")]
    pub operator: Option<String>,
    /// Which ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
}

fn parse_channel(text: &str) -> Result<Channel, String> {
    text.parse()
}

#[derive(Debug, Serialize)]
struct SkipReport {
    ledger: String,
    channel: String,
    sequence: u64,
    reason: String,
    operator: String,
    audit_entry: u64,
}

/// Runs a `channel` subcommand for `side`.
pub fn run(command: &ChannelCommand, side: Side, out: &Output) -> anyhow::Result<()> {
    match command {
        ChannelCommand::Skip(args) => skip(args, side, out),
    }
}

fn operator(given: Option<&str>) -> Result<String, UsageError> {
    let from_env = || {
        ["USER", "LOGNAME"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    };
    given
        .map(str::to_owned)
        .filter(|name| !name.trim().is_empty())
        .or_else(from_env)
        .ok_or_else(|| {
            UsageError(
                "cannot tell who skips the bundle: neither --operator nor USER nor LOGNAME is set\nHint: pass --operator NAME".to_owned(),
            )
        })
}

fn skip(args: &SkipArgs, side: Side, out: &Output) -> anyhow::Result<()> {
    let path = args.ledger.path(side)?;
    let operator = operator(args.operator.as_deref())?;
    let shown = path.display().to_string();
    let mut ledger = Ledger::open_existing(&path)?;
    let entry = match ledger.skip(&args.channel, args.sequence, &args.reason, &operator) {
        Ok(entry) => entry,
        Err(err @ ledger::LedgerError::SkipRefused { .. }) => {
            return Err(refused("skip-refused", err.to_string()));
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot record the skip in {shown}"));
        }
    };
    let report = SkipReport {
        ledger: shown,
        channel: args.channel.to_string(),
        sequence: args.sequence,
        reason: args.reason.trim().to_owned(),
        operator,
        audit_entry: entry.id,
    };
    out.success(&report, |w| {
        writeln!(
            w,
            "skipped bundle {} on channel {}: it can no longer be taken; bundle {} can be now",
            report.sequence,
            report.channel,
            report.sequence.saturating_add(1)
        )?;
        field(w, "reason", &report.reason)?;
        field(w, "operator", &report.operator)?;
        field(w, "audit entry", report.audit_entry)?;
        Ok(())
    })
}
