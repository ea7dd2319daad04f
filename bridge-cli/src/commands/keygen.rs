//! `keygen --out NAME`: a fresh Ed25519 key pair, `NAME.key` (PKCS#8 PEM, mode 0600) and
//! `NAME.pub` (SubjectPublicKeyInfo PEM); both are files OpenSSL reads.

use std::path::PathBuf;

use anyhow::Context as _;
use bundle_format::keys::SigningKey;
use serde::Serialize;

use crate::failure::UsageError;
use crate::output::Output;
use crate::view::field;

/// Arguments of `keygen`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeygenArgs {
    /// Name of the key pair, without extension: writes NAME.key (private, mode 0600) and
    /// NAME.pub (public). Refuses to overwrite either.
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct Report {
    key_id: String,
    private_key: String,
    public_key: String,
}

/// Makes the key pair and prints its key id.
pub fn run(args: &KeygenArgs, out: &Output) -> anyhow::Result<()> {
    let name = args.out.to_string_lossy();
    if let Some(stem) = name
        .strip_suffix(".key")
        .or_else(|| name.strip_suffix(".pub"))
    {
        return Err(UsageError(format!(
            "--out {name} ends in .key or .pub, and keygen adds both\nHint: give the name without extension, such as --out {stem}"
        ))
        .into());
    }
    let key = SigningKey::generate()?;
    let (key_path, pub_path) = key
        .write_files(&args.out)
        .context("cannot write the key pair")?;
    let report = Report {
        key_id: key.public_key().key_id().to_hex(),
        private_key: key_path.display().to_string(),
        public_key: pub_path.display().to_string(),
    };
    out.success(&report, |w| {
        field(w, "key id", &report.key_id)?;
        field(
            w,
            "private key",
            format!("{} (mode 0600; keep it secret)", report.private_key),
        )?;
        field(
            w,
            "public key",
            format!(
                "{} (give this to the other side's `policy trust`)",
                report.public_key
            ),
        )
    })
}
