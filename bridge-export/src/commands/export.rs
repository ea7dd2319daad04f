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
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::atomic::{parent_dir, refuse_existing};
use bridge_cli::cleanup;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::time_arg::{SOURCE_DATE_EPOCH, creation_time, format_rfc3339, parse_rfc3339};
use bundle_format::channel::Channel;
use bundle_format::keys::SigningKey;
use bundle_format::manifest::BundleKind;
use bundle_format::names::ZoneId;
use bundle_format::pack::{BundleHeader, SealedBundle};
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
    let exported = export_release(
        &ExportJob {
            client: &client,
            keys: &keys,
            project: &args.project,
            version: &args.release,
            source_zone: &args.source_zone,
            target_zone: &args.target_zone,
            created,
            expires: args.expires,
            work_beside: parent_dir(&args.out),
            keep_folder: args.keep_folder.as_deref(),
            commit: Commit {
                fsync: !args.no_fsync,
                replace: args.force,
            },
        },
        &mut ledger,
        &mut ToFile(&args.out),
        out,
    )?;
    report(
        &exported.release,
        &exported.sealed,
        &keys,
        exported.shown,
        &exported.out,
    )
}

/// One release to export: what `export` and `run` both hand to [`export_release`].
#[derive(Debug)]
pub(crate) struct ExportJob<'a> {
    /// The development-zone Octopus.
    pub client: &'a Client,
    /// The signing keys.
    pub keys: &'a [SigningKey],
    /// The project, by name, slug or id.
    pub project: &'a str,
    /// The release version.
    pub version: &'a str,
    /// This side's zone.
    pub source_zone: &'a ZoneId,
    /// The zone the bundle is for.
    pub target_zone: &'a ZoneId,
    /// The bundle's creation time.
    pub created: OffsetDateTime,
    /// Its expiry, if any.
    pub expires: Option<OffsetDateTime>,
    /// Where the working folder goes (the same filesystem as the bundle).
    pub work_beside: &'a Path,
    /// Keep the release folder there (`--keep-folder`).
    pub keep_folder: Option<&'a Path>,
    /// How the bundle file is made to appear.
    pub commit: Commit,
}

/// Where an exported bundle goes: the file it is written to, once its channel position and
/// release are known, and how it is then placed, before the ledger records it.
pub(crate) trait Placement {
    /// The file to write the bundle to.
    fn path(&mut self, channel: &Channel, sequence: u64, project: &str, version: &str) -> PathBuf;
    /// Makes the written bundle available (`export`: it already is; `run`: into the outbox).
    /// Returns where it is now.
    fn place(&mut self, written: &Path, sealed: &SealedBundle) -> anyhow::Result<PathBuf>;
}

/// `export --out FILE`: the bundle is written where it stays.
#[derive(Debug)]
struct ToFile<'a>(&'a Path);

impl Placement for ToFile<'_> {
    fn path(&mut self, _: &Channel, _: u64, _: &str, _: &str) -> PathBuf {
        self.0.to_owned()
    }

    fn place(&mut self, written: &Path, _: &SealedBundle) -> anyhow::Result<PathBuf> {
        Ok(written.to_owned())
    }
}

/// What [`export_release`] made.
#[derive(Debug)]
pub(crate) struct Exported {
    /// The release folder's description (project, version, files).
    pub release: ReleaseDir,
    /// The bundle written.
    pub sealed: SealedBundle,
    /// Where it is, as shown to people.
    pub shown: String,
    /// Where it is now (after [`Placement::place`]).
    pub path: PathBuf,
    /// The output to report on.
    pub out: Output,
}

/// Exports one release: reads it from Octopus into a working folder, refuses leftover ids,
/// takes the next position on its channel from the ledger, writes the signed bundle where
/// `placement` says, lets it place the bundle, then records it in the ledger. The bundle
/// appears before the ledger records it (module docs).
pub(crate) fn export_release(
    job: &ExportJob<'_>,
    ledger: &mut ledger::Ledger,
    placement: &mut dyn Placement,
    out: &Output,
) -> anyhow::Result<Exported> {
    cleanup::sweep(job.work_beside);
    let work = tempfile::Builder::new()
        .prefix(&temp_name::own_prefix())
        .suffix(&format!(".{}", temp_name::Purpose::Work.suffix()))
        .tempdir_in(job.work_beside)
        .with_context(|| {
            format!(
                "cannot create a working folder in {}",
                job.work_beside.display()
            )
        })?;
    let tracked = cleanup::track(work.path());
    let fetched = fetch::fetch(job.client, job.project, job.version, work.path())?;
    scan::refuse_ids(&fetched)?;
    folder::write(&fetched, work.path())?;
    let release = ReleaseDir::open(work.path())
        .context("the release read from Octopus does not make a valid release folder")?;

    let channel = Channel {
        source: job.source_zone.clone(),
        target: job.target_zone.clone(),
        kind: BundleKind::Release,
    };
    let last = ledger.channel_state(&channel)?;
    let (sequence, previous) = match &last {
        Some(state) => (state.sequence.saturating_add(1), Some(state.digest)),
        None => (1, None),
    };
    let header = BundleHeader {
        kind: BundleKind::Release,
        source_zone: job.source_zone.clone(),
        target_zone: job.target_zone.clone(),
        sequence,
        previous,
        created: job.created,
        expires: job.expires,
        bundle_id: None,
    };
    let threads = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(1).min(256))
        .unwrap_or(1);
    let path = placement.path(&channel, sequence, &fetched.project, &fetched.version);
    let (sealed, out, shown) = write_bundle(
        &release,
        header,
        job.keys,
        threads,
        &Destination::File(path.clone()),
        job.commit,
        out,
    )?;
    let placed = placement.place(&path, &sealed)?;
    let record = ledger::BundleRecord::from_manifest(&sealed.manifest, sealed.digest);
    ledger
        .record_exported(&record, last.as_ref())
        .with_context(|| {
            format!(
                "the bundle {} was written, but the ledger could not record it",
                placed.display()
            )
        })?;
    if let Some(dir) = job.keep_folder {
        tracked
            .publish(|| std::fs::rename(work.path(), dir))
            .with_context(|| format!("cannot move the release folder to {}", dir.display()))?;
        drop(work.keep());
    }
    let shown = if placed == path {
        shown
    } else {
        placed.display().to_string()
    };
    Ok(Exported {
        release,
        sealed,
        shown,
        path: placed,
        out,
    })
}
