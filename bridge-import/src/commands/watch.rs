//! `watch --inbox DIR --policy POLICY [--map F] [--secrets F] [--deploy "PROJECT=ENV"]...
//! [--key KEY]... [--results-outbox DIR] [--create-missing] [--allow-automatic-start]
//! [--settle 5s] [--rescan 30s] [--retry 1m] [--deploy-timeout 30m] [--metrics FILE]
//! [--log text|json] [--once]` and the Octopus and ledger flags: the arguments, checked in
//! one place ([`watch_settings`]), then the engine ([`carriers::inbox`]) with the import
//! handler ([`crate::watch::handler`]).

use std::path::PathBuf;
use std::time::Duration;

use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::logging::{self, LogFormat};
use bridge_cli::service::stop;
use bridge_cli::signing::read_keys;
use bridge_cli::time_arg::parse_duration;
use carriers::inbox::{Config, Inbox, Summary};

use crate::import::hook::Writes;
use crate::import::{mapping, secrets};
use crate::watch::handler::{DeployRule, ImportWatch};
use crate::watch::results::ResultsOutbox;

/// Arguments of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The inbox folder: bundles (`*.zb`) dropped here are imported in channel order, then
    /// moved to DIR/done/, or to DIR/quarantine/ beside a JSON note saying why.
    #[arg(long, value_name = "DIR")]
    pub inbox: PathBuf,
    /// This zone's trust policy (TOML).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Mapping file (TOML), as for `import` (read again for every bundle).
    #[arg(long = "map", value_name = "MAPPING")]
    pub map: Option<PathBuf>,
    /// Secrets file (TOML, mode 0600), as for `import` (read again for every bundle, so a
    /// secret added there is used at the next retry).
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// After importing a release of PROJECT (its name as the bundle carries it), deploy it to
    /// ENVIRONMENT (a name on this instance) and write its result bundle into
    /// --results-outbox; repeat for more projects or environments.
    #[arg(long = "deploy", value_name = "PROJECT=ENVIRONMENT", value_parser = parse_deploy)]
    pub deploys: Vec<DeployRule>,
    /// Result-signer private key (PKCS#8 PEM, mode 0600), needed with --deploy; repeat to
    /// sign with several keys.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<PathBuf>,
    /// Where result bundles appear, complete, named by result channel and sequence (needed
    /// with --deploy). They are staged in .NAME.partial beside it.
    #[arg(long, value_name = "DIR")]
    pub results_outbox: Option<PathBuf>,
    /// As for `import`: create what this instance lacks of a release's project.
    #[arg(long)]
    pub create_missing: bool,
    /// As for `import`: import even though the target would start work by itself.
    #[arg(long)]
    pub allow_automatic_start: bool,
    /// Take a file once its size and modification time stayed the same this long (a file
    /// renamed into the inbox is taken at once).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub settle: Duration,
    /// List the inbox again this often, for filesystems where inotify sees nothing (NFS, SMB).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub rescan: Duration,
    /// Try a bundle refused for a reason this side can fix (a missing project, secret or
    /// name, Octopus unreachable) again this often; its channel waits meanwhile.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub retry: Duration,
    /// How long to follow one deployment; one still running then gets a `waiting` result
    /// (follow it later with `deploy`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub deploy_timeout: Duration,
    /// Write metrics (Prometheus text format) to this file after every round.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Log format on standard error: text, or JSON lines for a SIEM.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log: LogFormat,
    /// Handle what the inbox holds now (waiting for files to settle), then exit.
    #[arg(long)]
    pub once: bool,
    /// This side's ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// How to reach the secure-zone Octopus.
    #[command(flatten)]
    pub octopus: OctopusArgs,
}

/// `PROJECT=ENVIRONMENT`, split at the first `=`.
fn parse_deploy(text: &str) -> Result<DeployRule, String> {
    match text.split_once('=') {
        Some((project, environment))
            if !project.trim().is_empty() && !environment.trim().is_empty() =>
        {
            Ok(DeployRule {
                project: project.trim().to_owned(),
                environment: environment.trim().to_owned(),
            })
        }
        _ => Err(format!(
            "{text:?} is not PROJECT=ENVIRONMENT (such as \"Payments API=PCI Production\")"
        )),
    }
}

/// Checks every argument and file before the watch starts.
fn watch_settings(args: &WatchArgs) -> anyhow::Result<(Config, ImportWatch)> {
    if args.settle > Duration::from_secs(3600) || args.retry.is_zero() || args.rescan.is_zero() {
        return Err(UsageError(
            "--settle must be at most 1h, --rescan and --retry more than 0\nHint: the defaults are --settle 5s --rescan 30s --retry 1m".into(),
        )
        .into());
    }
    let (keys, results) = if args.deploys.is_empty() {
        (Vec::new(), None)
    } else {
        let Some(outbox) = &args.results_outbox else {
            return Err(UsageError(
                "--deploy writes result bundles: give --results-outbox DIR".into(),
            )
            .into());
        };
        if args.keys.is_empty() {
            return Err(UsageError(
                "--deploy signs result bundles: give --key RESULT_SIGNER.key".into(),
            )
            .into());
        }
        (read_keys(&args.keys)?, Some(ResultsOutbox::open(outbox)?))
    };
    // Read once now so that a broken file stops the start, not every bundle.
    load_policy(&args.policy)?;
    mapping::read_optional(args.map.as_deref())?;
    secrets::read_optional(args.secrets.as_deref())?;
    let handler = ImportWatch {
        policy: args.policy.clone(),
        map: args.map.clone(),
        secrets: args.secrets.clone(),
        ledger: args.ledger.path(Side::Import)?,
        endpoint: args.octopus.endpoint()?,
        create_missing: args.create_missing,
        allow_automatic_start: args.allow_automatic_start,
        deploys: args.deploys.clone(),
        keys,
        results,
        deploy_timeout: args.deploy_timeout,
        writes: Writes::from_env()?,
    };
    let mut config = Config::new(&args.inbox).with_settle(args.settle);
    config.rescan = args.rescan;
    config.retry = args.retry;
    config.once = args.once;
    config.metrics.clone_from(&args.metrics);
    config.service = "import";
    Ok((config, handler))
}

/// Runs the watch until SIGTERM or SIGINT (the bundle in hand is finished first), or with
/// `--once` until the inbox holds nothing more it can take now.
pub fn run(args: &WatchArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.log)?;
    let (config, mut handler) = watch_settings(args)?;
    let mut inbox = Inbox::open(config)?;
    stop::enter_service_mode();
    let waker = inbox.waker();
    std::thread::Builder::new()
        .name("stop".into())
        .spawn(move || {
            while stop::sleep(Duration::from_secs(3600)) {}
            waker.wake();
        })?;
    // Results recorded but not yet published when the last run was killed.
    if let Err(err) = handler.publish_recorded() {
        tracing::error!(error = %format!("{err:#}"), "cannot publish the staged result bundles");
    }
    let summary = inbox.run(&mut handler, &stop::stopping)?;
    out.success(&SummaryReport::from(&summary), |w| {
        writeln!(
            w,
            "watch stopped: {} done ({} duplicate), {} quarantined, {} left to retry, {} in the inbox",
            summary.done, summary.duplicates, summary.quarantined, summary.retried, summary.left
        )
    })
}

/// What `watch` prints when it ends.
#[derive(Debug, serde::Serialize)]
struct SummaryReport {
    done: u64,
    duplicates: u64,
    quarantined: u64,
    retried: u64,
    left: u64,
}

impl From<&Summary> for SummaryReport {
    fn from(s: &Summary) -> Self {
        Self {
            done: s.done,
            duplicates: s.duplicates,
            quarantined: s.quarantined,
            retried: s.retried,
            left: s.left,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_rules_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_deploy("Payments API=PCI Production"),
            Ok(DeployRule {
                project: "Payments API".into(),
                environment: "PCI Production".into()
            })
        );
        assert_eq!(
            parse_deploy("A=b=c").map(|r| r.environment),
            Ok("b=c".to_owned())
        );
        for bad in ["Payments API", "=Production", "Payments API=", ""] {
            assert!(parse_deploy(bad).is_err(), "{bad}");
        }
    }
}
