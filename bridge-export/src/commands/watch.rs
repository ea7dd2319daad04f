//! `watch --inbox DIR --policy POLICY`: the results inbox as a service. Result bundles
//! dropped into DIR are taken in one by one, in channel order, as `results FILE` takes them
//! (see [`crate::watch`]); the `carriers::inbox` engine does the watching, settling, ordering,
//! `done/`, `quarantine/`, health and metrics.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::logging::{self, LogFormat};
use bridge_cli::service::stop;
use bridge_cli::time_arg::parse_duration;
use bridge_cli::view::field;
use carriers::inbox::{Config, Inbox};
use ledger::Ledger;
use serde::Serialize;

use crate::watch::ResultsHandler;

/// Arguments of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The results inbox: complete result bundles (`*.zb`, not starting with `.`) are dropped
    /// here; each ends in DIR/done/ or in DIR/quarantine/ beside a JSON note saying why.
    #[arg(long, value_name = "DIR")]
    pub inbox: PathBuf,
    /// This side's trust policy: it must trust the secure zones' result signers. Read again
    /// for each bundle, so that a `policy trust` counts without a restart.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// How long a file's size, time and inode must stay unchanged before it is taken (files
    /// renamed into the inbox while the watch runs are taken at once).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub settle: Duration,
    /// How often the inbox is listed again in case a change was not notified (network
    /// filesystems).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    pub rescan: Duration,
    /// How often a result refused for a reason this side can fix (an untrusted signer,
    /// Octopus unreachable for the note) is tried again.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_interval)]
    pub retry: Duration,
    /// Rewrite this Prometheus text-format metrics file after each round.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// How the service logs on standard error: one line of text, or one JSON object, per
    /// event (level filter: ZONEBRIDGE_LOG).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t)]
    pub log: LogFormat,
    /// Take in what the inbox holds now (waiting for files to settle), then exit.
    #[arg(long)]
    pub once: bool,
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

/// A duration of at least a second: a rescan or retry of 0 would list the inbox without pause.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text:?} is too short: give at least 1s"));
    }
    Ok(duration)
}

#[derive(Debug, Serialize)]
struct Report {
    inbox: String,
    done: u64,
    duplicates: u64,
    quarantined: u64,
    retried: u64,
    left: u64,
}

/// Runs the watch until a stop is asked for (SIGTERM, SIGINT), or with `--once` until the
/// inbox holds nothing more to take.
pub fn run(args: &WatchArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.log)?;
    let octopus = if args.no_note {
        None
    } else if args.octopus.server.is_none() {
        return Err(UsageError(
            "watch writes a note on each release in the development instance: give --server (or OCTOPUS_URL) and its API key, or --no-note".into(),
        )
        .into());
    } else {
        Some(args.octopus.endpoint()?)
    };
    // Read now so that a policy that cannot be used stops the service at once (exit 3),
    // rather than refusing every bundle.
    load_policy(&args.policy)?;
    let ledger_path = args.ledger.path(Side::Export)?;
    let ledger = Ledger::open(&ledger_path)
        .with_context(|| format!("cannot open the ledger {}", ledger_path.display()))?;
    let mut config = Config::new(&args.inbox).with_settle(args.settle);
    config.rescan = args.rescan;
    config.retry = args.retry;
    config.once = args.once;
    config.metrics = args.metrics.clone();
    config.service = "export";
    let mut inbox = Inbox::open(config)
        .with_context(|| format!("cannot watch the inbox {}", args.inbox.display()))?;
    stop::enter_service_mode();
    let waker = inbox.waker();
    // The engine sleeps on its own events; this thread turns a stop request into one.
    std::thread::Builder::new()
        .name("stop".into())
        .spawn(move || {
            while stop::sleep(Duration::from_secs(3600)) {}
            waker.wake();
        })
        .context("cannot start the thread that waits for a stop")?;
    let mut handler = ResultsHandler {
        policy: args.policy.clone(),
        ledger,
        octopus,
        out,
    };
    let summary = inbox.run(&mut handler, &stop::stopping)?;
    let report = Report {
        inbox: args.inbox.display().to_string(),
        done: summary.done,
        duplicates: summary.duplicates,
        quarantined: summary.quarantined,
        retried: summary.retried,
        left: summary.left,
    };
    out.success(&report, |w| {
        field(w, "inbox", &report.inbox)?;
        field(
            w,
            "done",
            format!("{} ({} duplicate(s))", report.done, report.duplicates),
        )?;
        field(w, "quarantined", report.quarantined)?;
        field(w, "left", report.left)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rescan_or_retry_interval_is_at_least_a_second() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("1m"), Ok(Duration::from_secs(60)));
        for text in ["0", "0s", "0m"] {
            let err = parse_interval(text).err().unwrap_or_default();
            assert!(err.contains("at least 1s"), "{text}: {err}");
        }
        assert!(parse_interval("fast").is_err());
    }
}
