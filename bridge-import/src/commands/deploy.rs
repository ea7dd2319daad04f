//! `deploy --project P --version V --environment E [--tenant T]` and what `import
//! --deploy-to E` shares with it ([`DeployOptions`]): the arguments, checked into
//! [`DeploySettings`] in one place, then the deploy itself ([`crate::deploy`]).

use std::path::PathBuf;
use std::time::Duration;

use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::safe::Shown;
use bridge_cli::signing::read_keys;
use bridge_cli::time_arg::parse_duration;
use octopus_api::Endpoint;
use octopus_api::names::NameMap;
use octopus_api::resources::Task;

use crate::deploy::prompted::{self, PromptedArg, PromptedValues};
use crate::deploy::report::DeployReport;
use crate::deploy::run::{self, DeploySettings};
use crate::deploy::scrub::Scrubber;
use crate::import::hook::Writes;
use crate::import::mapping;
use crate::import::secrets::{self, SecretsFile};

/// Arguments of `deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// The project, by the name the release bundle carries (the mapping file may rename it
    /// here).
    #[arg(long, value_name = "PROJECT")]
    pub project: String,
    /// The release version.
    #[arg(long = "version", value_name = "VERSION")]
    pub release_version: String,
    /// The environment to deploy to, by its name on this instance.
    #[arg(long, value_name = "ENVIRONMENT")]
    pub environment: String,
    /// The tenant to deploy for (a tenanted deployment), by its name on this instance.
    #[arg(long, value_name = "TENANT")]
    pub tenant: Option<String>,
    /// What deploying shares with `import --deploy-to`.
    #[command(flatten)]
    pub options: DeployOptions,
    /// Mapping file (TOML), as for `import`: its [projects] and [environments] renames apply.
    #[arg(long = "map", value_name = "MAPPING")]
    pub map: Option<PathBuf>,
    /// Secrets file (TOML, mode 0600), as for `import`: every value in it is scrubbed from
    /// the task log before the log leaves this zone.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// This side's ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// How to reach the secure-zone Octopus.
    #[command(flatten)]
    pub octopus: OctopusArgs,
}

/// What a deploy needs besides what to deploy: shared by `deploy` and `import --deploy-to`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployOptions {
    /// Result-signer private key (PKCS#8 PEM, mode 0600); repeat to sign with several keys.
    /// Needed to deploy.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<PathBuf>,
    /// Where to write the signed result bundle (atomically). Needed to deploy.
    #[arg(long, value_name = "FILE")]
    pub result_out: Option<PathBuf>,
    /// How long to follow the deployment (90s, 30m, 2h; 0 = look once). A deployment that
    /// has not ended by then (waiting for a manual intervention or for guidance after a
    /// failure, or still running) gets a `waiting` result; run `deploy` again to follow it.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Deploy again even though a deployment of this release to this environment has ended.
    #[arg(long)]
    pub redeploy: bool,
    /// Ask Octopus to wait for guidance when a step fails (guided-failure mode) instead of
    /// failing the deployment.
    #[arg(long)]
    pub guided_failure: bool,
    /// A value for a prompted variable of the release: NAME=VALUE, NAME the variable's name;
    /// repeat for each. A NAME the release does not prompt for is refused, and so is a
    /// deployment missing a required one (every missing one named). Values are never printed;
    /// prefer --prompted-file for sensitive ones (a command line can be seen by other users).
    #[arg(long = "prompted", value_name = "NAME=VALUE", value_parser = prompted::parse_arg)]
    pub prompted: Vec<PromptedArg>,
    /// File of prompted values (mode 0600): one NAME=VALUE per line, # comment lines and blank
    /// lines ignored, at most 64 KiB; a bad line is refused naming its number.
    #[arg(long, value_name = "FILE")]
    pub prompted_file: Option<PathBuf>,
}

impl DeployOptions {
    /// The keys and the output, which a deploy cannot do without.
    fn checked(
        &self,
        what: &str,
    ) -> anyhow::Result<(Vec<bundle_format::keys::SigningKey>, PathBuf)> {
        let Some(out) = self.result_out.clone() else {
            return Err(UsageError(format!(
                "{what} writes a result bundle: give --result-out FILE"
            ))
            .into());
        };
        if out.as_os_str() == "-" {
            return Err(UsageError(
                "--result-out takes a file (the ledger records it), not standard output".into(),
            )
            .into());
        }
        if self.keys.is_empty() {
            return Err(UsageError(format!(
                "{what} signs its result bundle: give --key RESULT_SIGNER.key"
            ))
            .into());
        }
        Ok((read_keys(&self.keys)?, out))
    }

    /// The settings of a deploy of `project` `version` to `environment` on `endpoint`.
    #[allow(clippy::too_many_arguments)]
    pub fn settings(
        &self,
        what: &str,
        target: (&str, &str, &str, Option<&str>),
        map: NameMap,
        secrets: &SecretsFile,
        endpoint: Endpoint,
        ledger: PathBuf,
    ) -> anyhow::Result<DeploySettings> {
        let (keys, result_out) = self.checked(what)?;
        let (project, version, environment, tenant) = target;
        let file = match &self.prompted_file {
            Some(path) => prompted::read_file(path)?,
            None => Vec::new(),
        };
        let given: Vec<(String, String)> = self
            .prompted
            .iter()
            .map(|PromptedArg(name, value)| (name.clone(), value.clone()))
            .collect();
        let prompted = PromptedValues::new(&given, file)?;
        Ok(DeploySettings {
            project: project.to_owned(),
            version: version.to_owned(),
            environment: environment.to_owned(),
            tenant: tenant.map(str::to_owned),
            map,
            endpoint,
            ledger,
            keys,
            result_out,
            wait: self.timeout,
            scrubber: Scrubber::new(secrets)?,
            redeploy: self.redeploy,
            guided_failure: self.guided_failure,
            prompted,
        })
    }
}

/// Deploys and reports; the exit code says how the deployment went (0, 5 or 6).
pub fn run(args: &DeployArgs, out: &Output) -> anyhow::Result<()> {
    let mut writes = Writes::from_env()?;
    let map = mapping::read_optional(args.map.as_deref())?;
    let secrets = secrets::read_optional(args.secrets.as_deref())?;
    let settings = args.options.settings(
        "deploy",
        (
            &args.project,
            &args.release_version,
            &args.environment,
            args.tenant.as_deref(),
        ),
        map,
        &secrets,
        args.octopus.endpoint()?,
        args.ledger.path(Side::Import)?,
    )?;
    let report = run::deploy(&settings, &mut writes, &mut progress(out))?;
    finish(&report, out)
}

/// Prints the report; a deployment that did not succeed exits 5 or 6 after it.
pub fn finish(report: &DeployReport, out: &Output) -> anyhow::Result<()> {
    out.success(report, |w| report.render(w))?;
    report.exit()
}

/// Each new task state on standard error, when progress may be shown.
pub fn progress(out: &Output) -> impl FnMut(&Task) + use<> {
    let show = out.progress_allowed();
    move |task: &Task| {
        if show {
            let waiting = if task.has_pending_interruptions {
                ", waiting for a person"
            } else {
                ""
            };
            // Both come from Octopus.
            eprintln!("task {}: {}{waiting}", Shown(&task.id), Shown(&task.state));
        }
    }
}
