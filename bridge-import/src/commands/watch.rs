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
use bridge_cli::service::inbox::{self, InboxArgs};
use bridge_cli::service::logging;
use bridge_cli::signing::read_keys;
use bridge_cli::time_arg::parse_duration;
use carriers::inbox::Config;

use crate::import::hook::Writes;
use crate::import::{mapping, secrets};
use crate::watch::handler::{DeployRule, ImportWatch};
use crate::watch::results::ResultsOutbox;

/// Arguments of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// The inbox and how it is watched.
    #[command(flatten)]
    pub watch: InboxArgs,
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
    /// How long to follow one deployment; one still running then gets a `waiting` result
    /// (follow it later with `deploy`).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub deploy_timeout: Duration,
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
    Ok((args.watch.config("import"), handler))
}

/// Runs the watch until SIGTERM or SIGINT (the bundle in hand is finished first), or with
/// `--once` until the inbox holds nothing more it can take now.
pub fn run(args: &WatchArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.watch.log)?;
    let (config, mut handler) = watch_settings(args)?;
    inbox::watch(config, &mut handler, |handler| {
        // Results recorded but not yet published when the last run was killed.
        if let Err(err) = handler.publish_recorded() {
            tracing::error!(error = %format!("{err:#}"), "cannot publish the staged result bundles");
        }
    })?
    .print(out)
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
