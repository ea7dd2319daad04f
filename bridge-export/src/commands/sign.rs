//! `sign FILE --key KEY`: adds one signature (an approval) to a bundle. Only the signature
//! frame is rewritten; the manifest and payload are copied byte for byte, so the digest stays.
//! The signer is shown the manifest they approved.

use std::io::{self, BufWriter};
use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::atomic::{AtomicFile, mode_of};
use bridge_cli::failure::UsageError;
use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bridge_cli::view::{self, ManifestView, field};
use bundle_format::inspect::{AddedSignature, add_signature};
use bundle_format::keys::SigningKey;
use serde::Serialize;

/// Arguments of `sign`.
#[derive(Debug, Clone, clap::Args)]
pub struct SignArgs {
    /// Bundle to sign, or `-` for standard input (then --out is required).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Private key to sign with (PKCS#8 PEM, mode 0600); it must not have signed already.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    /// Where to write the signed bundle, or `-` for stdout. Default: rewrite FILE atomically.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Destination {
    /// `keep_mode`: rewriting FILE in place keeps its permission bits.
    File {
        path: PathBuf,
        keep_mode: bool,
    },
    Stdout,
}

/// The arguments, checked.
#[derive(Debug, Clone)]
struct SignPlan {
    input: BundleInput,
    key: PathBuf,
    destination: Destination,
}

impl SignArgs {
    fn plan(&self, json: bool) -> Result<SignPlan, UsageError> {
        let input = BundleInput::from_arg(&self.file);
        let destination = match (&self.out, &input) {
            (Some(out), _) if out.as_os_str() == "-" => {
                if json {
                    return Err(UsageError(
                        "--json cannot be used with --out -: standard output carries the bundle"
                            .into(),
                    ));
                }
                Destination::Stdout
            }
            (Some(out), _) => Destination::File {
                path: out.clone(),
                keep_mode: false,
            },
            (None, BundleInput::File(path)) => Destination::File {
                path: path.clone(),
                keep_mode: true,
            },
            (None, BundleInput::Stdin) => {
                return Err(UsageError(
                    "reading the bundle from standard input needs --out FILE (or --out -)".into(),
                ));
            }
        };
        Ok(SignPlan {
            input,
            key: self.key.clone(),
            destination,
        })
    }
}

#[derive(Debug, Serialize)]
struct Report {
    out: String,
    key_id: String,
    signers: Vec<String>,
    bundle: ManifestView,
}

/// Adds the signature and shows what was signed.
pub fn run(args: &SignArgs, out: &Output) -> anyhow::Result<()> {
    let plan = args.plan(out.json())?;
    let key = SigningKey::read_pem_file(&plan.key)?;
    let input = plan.input.open()?;
    let context = || format!("cannot sign {}", plan.input);
    let (added, out, shown) = match &plan.destination {
        Destination::File { path, keep_mode } => {
            let mode = if *keep_mode {
                mode_of(path).with_context(|| format!("cannot read {}", path.display()))?
            } else {
                0o644
            };
            let mut file = AtomicFile::create(path, mode)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let added = add_signature(input, &key, &mut file).with_context(context)?;
            file.commit()
                .with_context(|| format!("cannot write {}", path.display()))?;
            (added, *out, path.display().to_string())
        }
        Destination::Stdout => {
            let mut stdout = BufWriter::with_capacity(1 << 20, io::stdout().lock());
            let added = add_signature(input, &key, &mut stdout).with_context(context)?;
            (
                added,
                out.with_stdout_for_data(),
                "standard output".to_owned(),
            )
        }
    };
    let AddedSignature {
        key_id,
        signers,
        digest,
        manifest,
        ..
    } = added;
    let report = Report {
        out: shown,
        key_id: key_id.to_hex(),
        signers: view::key_ids(&signers),
        bundle: ManifestView::from_manifest(manifest, digest),
    };
    out.success(&report, |w| {
        field(w, "signed by", &report.key_id)?;
        field(w, "out", &report.out)?;
        field(
            w,
            "signatures",
            format!("{}: {}", report.signers.len(), report.signers.join(", ")),
        )?;
        writeln!(w, "You approved this manifest (as the bundle states it):")?;
        view::render(w, &report.bundle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: &str, out: Option<&str>) -> SignArgs {
        SignArgs {
            file: file.into(),
            key: "k.key".into(),
            out: out.map(PathBuf::from),
        }
    }

    #[test]
    fn default_rewrites_the_file_in_place() -> Result<(), UsageError> {
        let plan = args("b.zb", None).plan(false)?;
        assert_eq!(
            plan.destination,
            Destination::File {
                path: "b.zb".into(),
                keep_mode: true
            }
        );
        assert!(args("-", None).plan(false).is_err());
        assert!(args("b.zb", Some("-")).plan(true).is_err());
        Ok(())
    }
}
