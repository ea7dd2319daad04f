//! `import FILE --policy POLICY [--map MAPPING] [--secrets FILE] [--dry-run] [--ledger PATH]`
//! and the Octopus connection flags: the arguments, checked into [`Settings`] in one place,
//! then the import itself ([`crate::import`]).

use std::path::PathBuf;

use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::input::BundleInput;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use octopus_api::names::NameMap;

use crate::commands::verify::load_policy;
use crate::import::hook::Writes;
use crate::import::pipeline::{self, Settings};
use crate::import::secrets::SecretsFile;
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
    /// [teams], [machines], [projects], [library_variable_sets]), and [unmapped]
    /// environments = "drop" to leave names this instance lacks out of scopes.
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
    let map = match &args.map {
        Some(path) => mapping::read(path)?,
        None => NameMap::new(),
    };
    let secrets = match &args.secrets {
        Some(path) => secrets::read(path)?,
        None => SecretsFile::default(),
    };
    Ok(Settings {
        input: BundleInput::from_arg(&args.file),
        policy,
        map,
        secrets,
        ledger,
        endpoint,
        dry_run: args.dry_run,
    })
}

/// Imports the bundle and reports what was done.
pub fn run(args: &ImportArgs, out: &Output) -> anyhow::Result<()> {
    let mut writes = Writes::from_env()?;
    let settings = settings(args)?;
    let report = pipeline::import(settings, &mut writes, out)?;
    out.success(&report, |w| report.render(w))
}
