//! `import FILE --policy POLICY [--map MAPPING] [--secrets FILE] [--dry-run] [--ledger PATH]
//! [--deploy-to ENVIRONMENT ...]` and the Octopus connection flags: the arguments, checked into
//! [`Settings`] in one place, then the import itself ([`crate::import`]) and, with
//! `--deploy-to`, the deploy ([`crate::deploy`]).

use std::path::PathBuf;

use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::input::BundleInput;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use octopus_api::Client;

use crate::commands::deploy::{DeployOptions, progress};
use crate::commands::verify::load_policy;
use crate::deploy::report::DeployReport;
use crate::deploy::{run, target};
use crate::import::hook::Writes;
use crate::import::pipeline::{self, Settings};
use crate::import::report::Report;
use crate::import::{mapping, secrets};

/// Arguments of `import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Release bundle to import, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// This zone's trust policy (TOML, from `policy init` and `policy trust`).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Mapping file (TOML): renames from development-zone names to this instance's
    /// ([environments] "Staging" = "PCI Staging", and [channels], [feeds], [worker_pools],
    /// [teams], [machines], [projects], [library_variable_sets], [accounts], [certificates],
    /// [git_credentials], [tenants], [tenant_tags], [runbooks], [step_templates],
    /// [lifecycles], [project_groups]), and [unmapped] environments = "drop" to leave names
    /// this instance lacks out of scopes.
    #[arg(long = "map", value_name = "MAPPING")]
    pub map: Option<PathBuf>,
    /// Secrets file (TOML, mode 0600): values for sensitive variables this instance does not
    /// store yet, as [[secret]] owner, name, scope, value. Values are never printed or logged.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// Verify, resolve names and check secrets, then print what the import would upload,
    /// create, update, keep and skip; write nothing, not even the ledger.
    #[arg(long)]
    pub dry_run: bool,
    /// Import even though the target would start work by itself: a lifecycle phase that
    /// deploys automatically, an enabled project trigger that creates or deploys releases,
    /// automatic release creation from the built-in feed. Without it such an import is
    /// refused (automatic-start), naming each. Octopus then starts them on its own; Zonebridge
    /// neither follows nor reports those deployments.
    #[arg(long)]
    pub allow_automatic_start: bool,
    /// Create what this instance lacks of the release's project, from the bundle's
    /// project.json: the project (its project group and lifecycle must exist: [project_groups],
    /// [lifecycles] in the mapping file), its channels with their version rules, and the
    /// library variable sets it includes, with their templates. Existing channels get the
    /// bundle's version rules. Without it, an import that needs any of them is refused,
    /// naming every one.
    #[arg(long)]
    pub create_missing: bool,
    /// After the import, deploy the release to this environment (a name on this instance) and
    /// write its result bundle, as `deploy` does.
    #[arg(long, value_name = "ENVIRONMENT", conflicts_with = "dry_run")]
    pub deploy_to: Option<String>,
    /// With --deploy-to: the tenant to deploy for.
    #[arg(long, value_name = "TENANT", requires = "deploy_to")]
    pub tenant: Option<String>,
    /// With --deploy-to: the result-signer key, where the result goes, how long to wait.
    #[command(flatten)]
    pub deploy: DeployOptions,
    /// This side's ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// How to reach the secure-zone Octopus.
    #[command(flatten)]
    pub octopus: OctopusArgs,
}

/// Checks the arguments and every file they name before anything is verified or written.
fn settings(args: &ImportArgs) -> anyhow::Result<Settings> {
    let endpoint = args.octopus.endpoint()?;
    let ledger = args.ledger.path(Side::Import)?;
    let policy = load_policy(&args.policy)?;
    let map = mapping::read_optional(args.map.as_deref())?;
    let secrets = secrets::read_optional(args.secrets.as_deref())?;
    Ok(Settings {
        input: BundleInput::from_arg(&args.file),
        policy,
        map,
        secrets,
        ledger,
        endpoint,
        dry_run: args.dry_run,
        allow_automatic_start: args.allow_automatic_start,
        create_missing: args.create_missing,
    })
}

/// Imports the bundle and reports what was done; with `--deploy-to`, deploys it next.
pub fn run(args: &ImportArgs, out: &Output) -> anyhow::Result<()> {
    let mut writes = Writes::from_env()?;
    let settings = settings(args)?;
    let Some(environment) = &args.deploy_to else {
        let report = pipeline::import(settings, &mut writes, out)?;
        return out.success(&report, |w| report.render(w));
    };
    let mut deploy = args.deploy.settings(
        "import --deploy-to",
        ("", "", environment, args.tenant.as_deref()),
        settings.map.clone(),
        &settings.secrets,
        settings.endpoint.clone(),
        settings.ledger.clone(),
    )?;
    // The place to deploy to must exist before anything is imported: refused afterwards, it
    // would leave a release nobody asked for on the instance, recorded as imported.
    let client = Client::connect(settings.endpoint.clone())?;
    target::find_place(&client, &settings.map, environment, args.tenant.as_deref())?;
    let imported = pipeline::import(settings, &mut writes, out)?;
    deploy.project.clone_from(&imported.project);
    deploy.version.clone_from(&imported.version);
    let deployed = run::deploy(&deploy, &mut writes, &mut progress(out))?;
    let both = ImportAndDeploy {
        import: imported,
        deploy: deployed,
    };
    out.success(&both, |w| {
        both.import.render(w)?;
        writeln!(w)?;
        both.deploy.render(w)
    })?;
    both.deploy.exit()
}

/// `import --deploy-to`: both reports, one JSON document.
#[derive(Debug, serde::Serialize)]
struct ImportAndDeploy {
    import: Report,
    deploy: DeployReport,
}
