//! `export`: a release on the development-zone Octopus becomes a signed release bundle, the
//! next on its channel.
//!
//! ```text
//! ExportArgs --plan--> keys, ledger, Octopus endpoint
//!   Octopus --fetch--> release folder (a temporary folder beside --out)
//!   ledger channel state --> sequence + previous digest
//!   pack (as `pack` does) --> FILE, then the ledger records the bundle as exported
//! ```
//!
//! The bundle appears (atomically) before the ledger records it: a crash in between leaves a
//! bundle the ledger does not know, and the next export takes the same sequence number; carry
//! only the newest of the two.

use std::ffi::OsStr;
use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::atomic::{parent_dir, refuse_existing};
use bridge_cli::cleanup;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::time_arg::{SOURCE_DATE_EPOCH, creation_time, format_rfc3339, parse_rfc3339};
use bundle_format::channel::Channel;
use bundle_format::manifest::BundleKind;
use bundle_format::names::ZoneId;
use bundle_format::pack::BundleHeader;
use bundle_format::release_dir::ReleaseDir;
use bundle_format::staging::temp_name;
use octopus_api::Client;
use time::OffsetDateTime;

use super::pack::{Commit, Destination, read_keys, report, write_bundle};
use crate::export::{fetch, folder, scan};

/// Arguments of `export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// The project, by name, slug or id.
    #[arg(long, value_name = "PROJECT")]
    pub project: String,
    /// The release version to export.
    #[arg(long, value_name = "VERSION")]
    pub release: String,
    /// Private key to sign with (PKCS#8 PEM, mode 0600); repeat to sign with several keys.
    #[arg(long = "key", value_name = "KEY", required = true)]
    pub keys: Vec<PathBuf>,
    /// Zone the bundle comes from (this side), such as `dev`.
    #[arg(long, value_name = "ZONE")]
    pub source_zone: ZoneId,
    /// The only zone that may accept the bundle, such as `pci`.
    #[arg(long, value_name = "ZONE")]
    pub target_zone: ZoneId,
    /// Bundle file to write (atomically: it appears only when complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How to reach the development-zone Octopus.
    #[command(flatten)]
    pub octopus: OctopusArgs,
    /// This side's ledger (channel positions, audit trail).
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// Creation time (RFC 3339). Default: SOURCE_DATE_EPOCH if set, else now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub created: Option<OffsetDateTime>,
    /// Expiry (RFC 3339): receivers refuse the bundle from then on.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub expires: Option<OffsetDateTime>,
    /// Keep the release folder written from Octopus in DIR (it must not exist), to review it.
    #[arg(long, value_name = "DIR")]
    pub keep_folder: Option<PathBuf>,
    /// Do not flush the bundle to disk before it appears under its name.
    #[arg(long)]
    pub no_fsync: bool,
    /// Replace --out if it exists (by default an existing file is refused, exit 4, before
    /// Octopus is asked anything).
    #[arg(long)]
    pub force: bool,
    /// Carry the artifacts of external feeds (Docker images, Helm charts, ...) in the bundle.
    /// Not possible: Octopus's API cannot download an external feed's package, so this is
    /// refused; external packages always travel as references (operator guide, "External
    /// feeds").
    #[arg(long)]
    pub include_external: bool,
}

/// Exports, packs, records.
pub fn run(args: &ExportArgs, out: &Output) -> anyhow::Result<()> {
    if args.source_zone == args.target_zone {
        return Err(UsageError(format!(
            "--source-zone and --target-zone are both {}; a bundle goes from one zone to another",
            args.source_zone
        ))
        .into());
    }
    if args.out.as_os_str() == "-" {
        return Err(UsageError(
            "export writes a file: give --out FILE (the ledger records it)".into(),
        )
        .into());
    }
    if args.include_external {
        return Err(UsageError(
            "--include-external cannot be honoured: Octopus's API has no route that downloads a package from an external feed (packages/{id}/raw serves the built-in feed only), so Zonebridge cannot carry those artifacts\nHint: leave the flag out; external packages travel as references (external-packages.json) and the importer checks that the secure zone's registry has each version. Copy the artifacts into that registry first with the registry's own tools (docker pull/push, helm pull/push, ...)".into(),
        )
        .into());
    }
    refuse_existing(&args.out, args.force)?;
    if let Some(dir) = args.keep_folder.as_ref().filter(|d| d.exists()) {
        return Err(UsageError(format!("--keep-folder {} already exists", dir.display())).into());
    }
    let source_date_epoch = std::env::var_os(SOURCE_DATE_EPOCH);
    let created = creation_time(
        args.created,
        source_date_epoch.as_deref().map(OsStr::new),
        OffsetDateTime::now_utc(),
    )?;
    if let Some(expires) = args.expires.filter(|&e| e <= created) {
        return Err(UsageError(format!(
            "--expires {} is not after the creation time {}",
            format_rfc3339(expires),
            format_rfc3339(created)
        ))
        .into());
    }
    let keys = read_keys(&args.keys)?;
    let ledger_path = args.ledger.path(Side::Export)?;
    let mut ledger = ledger::Ledger::open(&ledger_path)
        .with_context(|| format!("cannot open the ledger {}", ledger_path.display()))?;
    let client = Client::connect(args.octopus.endpoint()?)?;

    cleanup::sweep(parent_dir(&args.out));
    let work = tempfile::Builder::new()
        .prefix(&temp_name::own_prefix())
        .suffix(&format!(".{}", temp_name::Purpose::Work.suffix()))
        .tempdir_in(parent_dir(&args.out))
        .with_context(|| {
            format!(
                "cannot create a working folder beside {}",
                args.out.display()
            )
        })?;
    let tracked = cleanup::track(work.path());
    let fetched = fetch::fetch(&client, &args.project, &args.release, work.path())?;
    scan::refuse_ids(&fetched)?;
    folder::write(&fetched, work.path())?;
    let release = ReleaseDir::open(work.path())
        .context("the release read from Octopus does not make a valid release folder")?;

    let channel = Channel {
        source: args.source_zone.clone(),
        target: args.target_zone.clone(),
        kind: BundleKind::Release,
    };
    let last = ledger.channel_state(&channel)?;
    let (sequence, previous) = match &last {
        Some(state) => (state.sequence.saturating_add(1), Some(state.digest)),
        None => (1, None),
    };
    let header = BundleHeader {
        kind: BundleKind::Release,
        source_zone: args.source_zone.clone(),
        target_zone: args.target_zone.clone(),
        sequence,
        previous,
        created,
        expires: args.expires,
        bundle_id: None,
    };
    let threads = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(1).min(256))
        .unwrap_or(1);
    let (sealed, out, shown) = write_bundle(
        &release,
        header,
        &keys,
        threads,
        &Destination::File(args.out.clone()),
        Commit {
            fsync: !args.no_fsync,
            replace: args.force,
        },
        out,
    )?;
    let record = ledger::BundleRecord::from_manifest(&sealed.manifest, sealed.digest);
    ledger
        .record_exported(&record, last.as_ref())
        .with_context(|| {
            format!(
                "the bundle {} was written, but the ledger could not record it",
                args.out.display()
            )
        })?;
    if let Some(dir) = &args.keep_folder {
        tracked
            .publish(|| std::fs::rename(work.path(), dir))
            .with_context(|| format!("cannot move the release folder to {}", dir.display()))?;
        drop(work.keep());
    }
    report(&release, &sealed, &keys, shown, &out)
}
