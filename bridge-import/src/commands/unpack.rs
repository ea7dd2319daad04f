//! `unpack FILE --policy POLICY --to DIR`: verification into a private staging folder beside
//! DIR, renamed to DIR only after the whole bundle verified (bundle spec 8.9). On a refusal
//! the staging folder is removed and DIR never appears.

use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::atomic::parent_dir;
use bridge_cli::cleanup;
use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bridge_cli::view::field;
use bundle_format::staging::{Durability, Staging};
use serde::Serialize;

use crate::commands::verify::{VerifiedReport, load_policy, verify_into};

/// Arguments of `unpack`.
#[derive(Debug, Clone, clap::Args)]
pub struct UnpackArgs {
    /// Bundle file to unpack, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// This zone's trust policy (TOML, from `policy init` and `policy trust`).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Folder to create with the payload; it must not exist, or be an empty folder of yours.
    /// It appears only after the whole bundle verified, and never replaces anything. Its parent
    /// must not be writable by other users unless it has the sticky bit (as /tmp does).
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Do not flush the payload to disk before DIR appears: faster, but after a power loss DIR
    /// may hold empty or partial files. By default DIR appears only once all of it is on disk.
    #[arg(long)]
    pub no_fsync: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    unpacked: String,
    #[serde(flatten)]
    verified: VerifiedReport,
}

/// Verifies into staging, then moves the payload to DIR.
pub fn run(args: &UnpackArgs, out: &Output) -> anyhow::Result<()> {
    let policy = load_policy(&args.policy)?;
    let input = BundleInput::from_arg(&args.file);
    let durability = if args.no_fsync {
        Durability::Relaxed
    } else {
        Durability::Durable
    };
    cleanup::sweep(parent_dir(&args.to));
    // The refusals (a link, someone else's folder, a parent others can write) carry their hint.
    let mut staging = Staging::with_durability(&args.to, durability)
        .with_context(|| format!("cannot unpack into {}", args.to.display()))?;
    let tracked = cleanup::track(staging.root());
    let verified = verify_into(&input, &policy, &mut staging, out)?;
    let dir = tracked
        .publish(|| staging.commit())
        .with_context(|| format!("cannot move the verified payload to {}", args.to.display()))?;
    let report = Report {
        unpacked: dir.display().to_string(),
        verified: VerifiedReport::new(verified, &policy),
    };
    out.success(&report, |w| {
        report.verified.render(w)?;
        field(
            w,
            "unpacked",
            format!(
                "{} ({} entries, {} bytes)",
                report.unpacked,
                report.verified.entry_count(),
                report.verified.payload_bytes()
            ),
        )
    })
}
