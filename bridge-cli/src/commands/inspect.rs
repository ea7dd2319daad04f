//! `inspect FILE`: what a bundle claims, read WITHOUT verification. It says so first, on every
//! output, because anyone could have written what it shows.

use std::path::PathBuf;

use anyhow::Context as _;
use bundle_format::inspect::read_unverified;
use bundle_format::limits::Limits;
use serde::Serialize;

use crate::input::BundleInput;
use crate::output::Output;
use crate::view::{self, ManifestView, field};

/// The banner `inspect` prints before anything else.
pub const NOT_VERIFIED: &str =
    "NOT VERIFIED: shows what the bundle claims; use `bridge-import verify` to check it";

/// Arguments of `inspect`.
#[derive(Debug, Clone, clap::Args)]
pub struct InspectArgs {
    /// Bundle file to read, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Serialize)]
struct Report {
    verified: bool,
    warning: &'static str,
    /// Key ids in the signature block; none of them was checked.
    signers: Vec<String>,
    bundle: ManifestView,
}

/// Reads the bundle's head and shows it, marked as not verified.
pub fn run(args: &InspectArgs, out: &Output) -> anyhow::Result<()> {
    let input = BundleInput::from_arg(&args.file);
    let head = read_unverified(input.open()?, &Limits::default())
        .with_context(|| format!("cannot read the bundle {input}"))?;
    let signers = view::key_ids(
        &head
            .signatures
            .signatures()
            .iter()
            .map(|s| s.key_id)
            .collect::<Vec<_>>(),
    );
    let manifest = match head.manifest {
        Ok(manifest) => manifest,
        Err(err) => {
            if !out.json() {
                out.success(&(), |w| {
                    writeln!(w, "{NOT_VERIFIED}")?;
                    field(w, "digest", head.digest)?;
                    field(w, "signers", signers.join(", "))
                })?;
            }
            return Err(err).with_context(|| format!("cannot show the manifest of {input}"));
        }
    };
    let report = Report {
        verified: false,
        warning: NOT_VERIFIED,
        signers,
        bundle: ManifestView::from_manifest(manifest, head.digest),
    };
    out.success(&report, |w| {
        writeln!(w, "{NOT_VERIFIED}")?;
        view::render(w, &report.bundle)?;
        field(
            w,
            "signatures",
            format!("{} (not checked)", report.signers.len()),
        )?;
        for signer in &report.signers {
            writeln!(w, "  {signer}")?;
        }
        Ok(())
    })
}
