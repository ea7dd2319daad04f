//! `verify FILE --policy POLICY`: every step of the bundle spec's section 8 against this
//! zone's trust policy; the payload is hashed and discarded. Also the verification that
//! `unpack` runs into its staging folder.

use std::path::PathBuf;

use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
pub use bridge_cli::receive::verify::{load_policy, verify_into, verify_into_at};
use bridge_cli::view::{self, ManifestView, field};
use bundle_format::policy::TrustPolicy;
use bundle_format::verify::{Discard, VerifiedBundle};
use serde::Serialize;
use time::OffsetDateTime;

/// Arguments of `verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Bundle file to verify, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// This zone's trust policy (TOML, from `policy init` and `policy trust`).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Judge expiry and key validity (bundle spec 8.6, 8.7) at this moment instead of the
    /// clock, an RFC 3339 date-time such as 2026-06-02T00:00:00Z. For replaying test vectors
    /// and for asking "was this bundle valid then?"; it changes nothing else.
    #[arg(long, value_name = "RFC3339", value_parser = bridge_cli::time_arg::parse_rfc3339)]
    pub now: Option<OffsetDateTime>,
}

/// A verified bundle as `verify` and `unpack` report it.
#[derive(Debug, Serialize)]
pub struct VerifiedReport {
    /// Always `trusted`: refusals are errors.
    verdict: &'static str,
    /// Signatures the policy requires for this kind.
    threshold: u32,
    /// Trusted keys whose signatures counted.
    signers: Vec<String>,
    /// Signatures by keys the policy does not know (not checked, not counted).
    ignored_signers: Vec<String>,
    /// The verified manifest.
    bundle: ManifestView,
}

impl VerifiedReport {
    /// The report for `verified` under `policy`; it takes the manifest over, so that it is
    /// never held twice.
    pub fn new(verified: VerifiedBundle, policy: &TrustPolicy) -> Self {
        let threshold = policy.threshold(verified.manifest().kind);
        let signers = view::key_ids(verified.signers());
        let ignored_signers = view::key_ids(verified.ignored_signers());
        let digest = verified.digest();
        Self {
            verdict: "trusted",
            threshold,
            signers,
            ignored_signers,
            bundle: ManifestView::from_manifest(verified.into_manifest(), digest),
        }
    }

    /// Number of payload entries.
    pub fn entry_count(&self) -> usize {
        self.bundle.entries.len()
    }

    /// Sum of payload entry sizes.
    pub fn payload_bytes(&self) -> u64 {
        self.bundle.payload_bytes
    }

    /// Writes the verdict for a person.
    pub fn render(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        field(
            w,
            "verdict",
            "TRUSTED: every signature, binding and byte checked",
        )?;
        field(w, "bundle id", &self.bundle.bundle_id)?;
        field(w, "kind", self.bundle.kind)?;
        field(w, "channel", &self.bundle.channel)?;
        field(w, "sequence", self.bundle.sequence)?;
        field(w, "digest", &self.bundle.digest)?;
        field(
            w,
            "signers",
            format!(
                "{} counted (threshold {}): {}",
                self.signers.len(),
                self.threshold,
                self.signers.join(", ")
            ),
        )?;
        if self.ignored_signers.is_empty() {
            field(w, "ignored", "none")
        } else {
            field(
                w,
                "ignored",
                format!(
                    "{} unknown signer(s), not counted: {}",
                    self.ignored_signers.len(),
                    self.ignored_signers.join(", ")
                ),
            )
        }
    }
}

/// Verifies and prints the verdict.
pub fn run(args: &VerifyArgs, out: &Output) -> anyhow::Result<()> {
    let policy = load_policy(&args.policy)?;
    let input = BundleInput::from_arg(&args.file);
    let now = args.now.unwrap_or_else(OffsetDateTime::now_utc);
    let verified = verify_into_at(&input, &policy, now, &mut Discard, out)?;
    let report = VerifiedReport::new(verified, &policy);
    out.success(&report, |w| report.render(w))
}
