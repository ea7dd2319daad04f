//! `pack`: a release folder becomes a signed release bundle.
//!
//! ```text
//! PackArgs --plan--> PackPlan --keys, release.toml, --after--> BundleHeader
//!   release files --hash + compress--> spool (temp file beside the output)
//!   signatures + manifest + spool --> temp file --fsync, rename--> FILE   (or stdout for `-`)
//! ```

use std::ffi::OsStr;
use std::io::{self, BufWriter};
use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::atomic::{AtomicFile, parent_dir, refuse_existing};
use bridge_cli::failure::UsageError;
use bridge_cli::output::Output;
use bridge_cli::time_arg::{SOURCE_DATE_EPOCH, creation_time, format_rfc3339, parse_rfc3339};
use bridge_cli::view::{self, ManifestView, field};
use bridge_cli::write_progress::WriteProgress;
use bundle_format::inspect::read_unverified;
use bundle_format::keys::SigningKey;
use bundle_format::limits::Limits;
use bundle_format::manifest::{BundleKind, MAX_SEQUENCE};
use bundle_format::names::{Digest, ZoneId};
use bundle_format::pack::{BundleHeader, SealedBundle};
use bundle_format::release_dir::ReleaseDir;
use serde::Serialize;
use time::OffsetDateTime;

/// Arguments of `pack`.
#[derive(Debug, Clone, clap::Args)]
pub struct PackArgs {
    /// Release folder: release.toml and the files it names (process, variables, packages).
    #[arg(long, value_name = "DIR")]
    pub release_dir: PathBuf,
    /// Private key to sign with (PKCS#8 PEM, mode 0600); repeat to sign with several keys.
    #[arg(long = "key", value_name = "KEY", required = true)]
    pub keys: Vec<PathBuf>,
    /// Zone the bundle comes from (this side), such as `dev`.
    #[arg(long, value_name = "ZONE")]
    pub source_zone: ZoneId,
    /// The only zone that may accept the bundle, such as `pci`.
    #[arg(long, value_name = "ZONE")]
    pub target_zone: ZoneId,
    /// Bundle file to write (atomically: it appears only when complete), or `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Position on the channel (source, target, release); 1 for the first bundle. Above 1,
    /// --previous is required. Default: 1, or the one after --after.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_SEQUENCE))]
    pub sequence: Option<u64>,
    /// Digest (64 hex) of the previous bundle on the channel, as `pack` or `verify` printed it.
    #[arg(long, value_name = "DIGEST_HEX", requires = "sequence")]
    pub previous: Option<Digest>,
    /// The previous bundle on the channel: takes its sequence + 1 and its digest (read
    /// without verifying; the receiver checks the chain).
    #[arg(long, value_name = "PREVIOUS_BUNDLE", conflicts_with_all = ["sequence", "previous"])]
    pub after: Option<PathBuf>,
    /// Creation time (RFC 3339). Default: SOURCE_DATE_EPOCH if set, else now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub created: Option<OffsetDateTime>,
    /// Expiry (RFC 3339): receivers refuse the bundle from then on.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub expires: Option<OffsetDateTime>,
    /// Compression threads (the bundle's bytes do not depend on it). Default: all cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
    /// Do not flush the bundle to disk before it appears under its name: faster, but after a
    /// power loss the file may be empty or partial (a verifier then refuses it).
    #[arg(long)]
    pub no_fsync: bool,
    /// Replace --out if it exists (by default an existing file is refused, exit 4).
    #[arg(long)]
    pub force: bool,
}

/// Where the bundle goes on its channel, as the arguments say.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    First,
    Explicit { sequence: u64, previous: Digest },
    After(PathBuf),
}

/// Where the bundle is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    File(PathBuf),
    Stdout,
}

/// The arguments, checked: nothing after [`PackArgs::plan`] looks at raw input.
#[derive(Debug, Clone)]
struct PackPlan {
    release_dir: PathBuf,
    keys: Vec<PathBuf>,
    source: ZoneId,
    target: ZoneId,
    destination: Destination,
    position: Position,
    created: OffsetDateTime,
    expires: Option<OffsetDateTime>,
    threads: u32,
    fsync: bool,
    force: bool,
}

impl PackArgs {
    fn plan(
        &self,
        json: bool,
        source_date_epoch: Option<&OsStr>,
        now: OffsetDateTime,
    ) -> Result<PackPlan, UsageError> {
        if self.source_zone == self.target_zone {
            return Err(UsageError(format!(
                "--source-zone and --target-zone are both {}; a bundle goes from one zone to another",
                self.source_zone
            )));
        }
        let position = match (self.sequence, self.previous, &self.after) {
            (_, _, Some(after)) => Position::After(after.clone()),
            (None | Some(1), None, None) => Position::First,
            (Some(1), Some(_), None) => {
                return Err(UsageError(
                    "--sequence 1 is the first bundle on its channel and has no --previous".into(),
                ));
            }
            (Some(sequence), Some(previous), None) => Position::Explicit { sequence, previous },
            (Some(sequence), None, None) => {
                return Err(UsageError(format!(
                    "--sequence {sequence} needs --previous, the digest of bundle {} on the channel\nHint: or give --after PREVIOUS_BUNDLE to take both from the previous bundle",
                    sequence.saturating_sub(1)
                )));
            }
            (None, Some(_), None) => {
                return Err(UsageError("--previous needs --sequence".into()));
            }
        };
        let destination = if self.out.as_os_str() == "-" {
            if json {
                return Err(UsageError(
                    "--json cannot be used with --out -: standard output carries the bundle".into(),
                ));
            }
            Destination::Stdout
        } else {
            Destination::File(self.out.clone())
        };
        let created = creation_time(self.created, source_date_epoch, now)?;
        if let Some(expires) = self.expires.filter(|&e| e <= created) {
            return Err(UsageError(format!(
                "--expires {} is not after the creation time {}",
                format_rfc3339(expires),
                format_rfc3339(created)
            )));
        }
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| u32::try_from(n.get()).unwrap_or(1).min(256))
                .unwrap_or(1)
        });
        Ok(PackPlan {
            release_dir: self.release_dir.clone(),
            keys: self.keys.clone(),
            source: self.source_zone.clone(),
            target: self.target_zone.clone(),
            destination,
            position,
            created,
            expires: self.expires,
            threads,
            fsync: !self.no_fsync,
            force: self.force,
        })
    }
}

#[derive(Debug, Serialize)]
struct Report {
    out: String,
    size: u64,
    signers: Vec<String>,
    bundle: ManifestView,
}

/// Packs, signs and writes the bundle, then prints what it is.
pub fn run(args: &PackArgs, out: &Output) -> anyhow::Result<()> {
    let source_date_epoch = std::env::var_os(SOURCE_DATE_EPOCH);
    let plan = args.plan(
        out.json(),
        source_date_epoch.as_deref(),
        OffsetDateTime::now_utc(),
    )?;
    if let Destination::File(path) = &plan.destination {
        refuse_existing(path, plan.force)?;
    }
    let keys = read_keys(&plan.keys)?;
    let release = ReleaseDir::open(&plan.release_dir).with_context(|| {
        format!(
            "cannot pack the release folder {}",
            plan.release_dir.display()
        )
    })?;
    let (sequence, previous) = resolve(&plan.position, &plan.source, &plan.target)?;
    let header = BundleHeader {
        kind: BundleKind::Release,
        source_zone: plan.source.clone(),
        target_zone: plan.target.clone(),
        sequence,
        previous,
        created: plan.created,
        expires: plan.expires,
        bundle_id: None,
    };
    let (sealed, out, shown) = write_bundle(
        &release,
        header,
        &keys,
        plan.threads,
        &plan.destination,
        Commit {
            fsync: plan.fsync,
            replace: plan.force,
        },
        out,
    )?;
    report(&release, &sealed, &keys, shown, &out)
}

/// How the bundle file is made to appear.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit {
    /// Flushed to disk before it appears.
    pub fsync: bool,
    /// Replaces a file already at the destination (`--force`); else that is refused, even if
    /// it appeared while packing.
    pub replace: bool,
}

/// Packs `release` into `destination`: a spool beside the file, then an atomic file (flushed
/// to disk unless `commit.fsync` is false), or standard output. Returns the sealed bundle, the output
/// to report on (stdout is taken by data for `-`) and where the bundle went.
pub(crate) fn write_bundle(
    release: &ReleaseDir,
    header: BundleHeader,
    keys: &[SigningKey],
    threads: u32,
    destination: &Destination,
    commit: Commit,
    out: &Output,
) -> anyhow::Result<(SealedBundle, Output, String)> {
    // Reading, then sealing, writing and flushing: the bar says which, never stuck at 100%.
    let progress = WriteProgress::new(out, release.total_size());
    let mut tick = |n| progress.read(n);
    let written = match destination {
        Destination::File(path) => {
            let spool = tempfile::tempfile_in(parent_dir(path))
                .with_context(|| format!("cannot create a spool file beside {}", path.display()))?;
            let mut file = AtomicFile::create(path, 0o644)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let sealed = release.pack(
                header,
                keys,
                threads,
                spool,
                &mut progress.writer(&mut file),
                &mut tick,
            )?;
            progress.flushing();
            file.commit_as(commit.replace, commit.fsync)
                .with_context(|| format!("cannot write {}", path.display()))?;
            (sealed, *out, path.display().to_string())
        }
        Destination::Stdout => {
            let spool = tempfile::tempfile().context("cannot create a spool file")?;
            let mut stdout = BufWriter::with_capacity(1 << 20, io::stdout().lock());
            let sealed = release.pack(
                header,
                keys,
                threads,
                spool,
                &mut progress.writer(&mut stdout),
                &mut tick,
            )?;
            (
                sealed,
                out.with_stdout_for_data(),
                "standard output".to_owned(),
            )
        }
    };
    progress.finish();
    Ok(written)
}

/// Prints what was packed: the bundle's identity, channel position, size and signers.
pub(crate) fn report(
    release: &ReleaseDir,
    sealed: &SealedBundle,
    keys: &[SigningKey],
    shown: String,
    out: &Output,
) -> anyhow::Result<()> {
    let report = Report {
        out: shown,
        size: sealed.size,
        signers: view::key_ids(
            &keys
                .iter()
                .map(|k| k.public_key().key_id())
                .collect::<Vec<_>>(),
        ),
        bundle: ManifestView::new(&sealed.manifest, sealed.digest),
    };
    out.success(&report, |w| {
        let (project, version) = release.name();
        field(w, "packed", format!("{project} {version}"))?;
        field(w, "out", &report.out)?;
        field(w, "bundle id", &report.bundle.bundle_id)?;
        field(w, "digest", &report.bundle.digest)?;
        field(w, "channel", &report.bundle.channel)?;
        field(w, "sequence", report.bundle.sequence)?;
        field(w, "created", &report.bundle.created)?;
        field(w, "size", format!("{} bytes", report.size))?;
        field(
            w,
            "entries",
            format!(
                "{} ({} bytes)",
                report.bundle.entries.len(),
                report.bundle.payload_bytes
            ),
        )?;
        field(w, "signed by", report.signers.join(", "))
    })
}

pub(crate) use bridge_cli::signing::read_keys;

/// The sequence number and previous digest the plan's position stands for.
fn resolve(
    position: &Position,
    source: &ZoneId,
    target: &ZoneId,
) -> anyhow::Result<(u64, Option<Digest>)> {
    let path = match position {
        Position::First => return Ok((1, None)),
        Position::Explicit { sequence, previous } => return Ok((*sequence, Some(*previous))),
        Position::After(path) => path,
    };
    let (file, _) = bundle_format::regular_file::open_nonempty(path)
        .with_context(|| format!("cannot open the previous bundle {}", path.display()))?;
    let head = read_unverified(file, &Limits::default())
        .with_context(|| format!("cannot read the previous bundle {}", path.display()))?;
    let previous = head
        .manifest
        .with_context(|| format!("cannot read the previous bundle {}", path.display()))?;
    if previous.kind != BundleKind::Release
        || &previous.source_zone != source
        || &previous.target_zone != target
    {
        return Err(UsageError(format!(
            "--after {} is a bundle on channel {}, and this one goes on {source}->{target}/release\nHint: give the last bundle packed for this source and target zone",
            path.display(),
            previous.channel()
        ))
        .into());
    }
    let sequence = previous
        .sequence
        .checked_add(1)
        .filter(|&s| s <= MAX_SEQUENCE)
        .ok_or_else(|| {
            UsageError(format!(
                "--after {} has the largest possible sequence number",
                path.display()
            ))
        })?;
    Ok((sequence, Some(head.digest)))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: PackArgs,
    }

    fn plan(extra: &[&str], epoch: Option<&str>) -> Result<PackPlan, String> {
        let mut argv = vec![
            "pack",
            "--release-dir",
            "r",
            "--key",
            "k",
            "--source-zone",
            "dev",
            "--target-zone",
            "pci",
            "--out",
            "o.zb",
        ];
        argv.extend_from_slice(extra);
        let wrap = Wrap::try_parse_from(argv).map_err(|e| e.to_string())?;
        let now = OffsetDateTime::from_unix_timestamp(2_000_000_000).map_err(|e| e.to_string())?;
        wrap.args
            .plan(false, epoch.map(OsStr::new), now)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn positions() -> Result<(), String> {
        assert_eq!(plan(&[], None)?.position, Position::First);
        let digest = "ab".repeat(32);
        let explicit = plan(&["--sequence", "3", "--previous", &digest], None)?;
        assert!(matches!(
            explicit.position,
            Position::Explicit { sequence: 3, .. }
        ));
        Ok(())
    }

    #[test]
    fn bad_combinations_are_usage_errors() {
        let digest = "ab".repeat(32);
        for (extra, expected) in [
            (
                vec!["--sequence", "1", "--previous", digest.as_str()],
                "has no --previous",
            ),
            (
                vec!["--after", "x.zb", "--sequence", "2"],
                "cannot be used with",
            ),
            (
                vec![
                    "--expires",
                    "2001-01-01T00:00:00Z",
                    "--created",
                    "2002-01-01T00:00:00Z",
                ],
                "not after",
            ),
            (vec!["--sequence", "0"], "0"),
            (vec!["--sequence", "3"], "needs --previous"),
        ] {
            match plan(&extra, None) {
                Ok(_) => panic!("{extra:?} should be refused"),
                Err(err) => assert!(err.contains(expected), "{extra:?}: {err}"),
            }
        }
    }

    #[test]
    fn creation_time_from_source_date_epoch() -> Result<(), String> {
        assert_eq!(
            plan(&[], Some("1793750400"))?.created.unix_timestamp(),
            1_793_750_400
        );
        Ok(())
    }
}
