//! Verifying a bundle from a file or standard input against this side's trust policy (bundle
//! spec 8), with a progress bar: what `verify`, `unpack`, `import` and `results` share.

use std::path::Path;

use bundle_format::policy::TrustPolicy;
use bundle_format::pretrust::PretrustHead;
use bundle_format::verify::{EntrySink, VerifiedBundle, verify_bundle_seen};
use time::OffsetDateTime;

use crate::input::{BundleInput, Counting};
use crate::output::Output;
use crate::progress::Progress;

/// Reads and checks the trust policy.
pub fn load_policy(path: &Path) -> anyhow::Result<TrustPolicy> {
    Ok(TrustPolicy::read_file(path)?)
}

/// Verifies the bundle from `input` against `policy`, streaming its entries into `sink`.
pub fn verify_into(
    input: &BundleInput,
    policy: &TrustPolicy,
    sink: &mut dyn EntrySink,
    out: &Output,
) -> anyhow::Result<VerifiedBundle> {
    verify_into_at(input, policy, OffsetDateTime::now_utc(), sink, out)
}

/// [`verify_into`] with the clock set to `now` (spec 8: read once, used for 8.6 and 8.7), for
/// `verify --now`, which replays time-dependent test vectors.
pub fn verify_into_at(
    input: &BundleInput,
    policy: &TrustPolicy,
    now: OffsetDateTime,
    sink: &mut dyn EntrySink,
    out: &Output,
) -> anyhow::Result<VerifiedBundle> {
    verify_with(input, policy, now, sink, out, &mut None)
}

/// As [`verify_into`], and sets `seen` to the bundle's pre-trust head (UNVERIFIED digest, size
/// and bounded probe) once its manifest's bytes are read, for recording a refusal.
pub fn verify_into_seen(
    input: &BundleInput,
    policy: &TrustPolicy,
    sink: &mut dyn EntrySink,
    out: &Output,
    seen: &mut Option<PretrustHead>,
) -> anyhow::Result<VerifiedBundle> {
    verify_with(input, policy, OffsetDateTime::now_utc(), sink, out, seen)
}

fn verify_with(
    input: &BundleInput,
    policy: &TrustPolicy,
    now: OffsetDateTime,
    sink: &mut dyn EntrySink,
    out: &Output,
    seen: &mut Option<PretrustHead>,
) -> anyhow::Result<VerifiedBundle> {
    let reader = input.open()?;
    let progress = Progress::bytes(out, "verifying", input.file_size());
    let counted = Counting::new(reader, progress.counter());
    let verified = verify_bundle_seen(counted, policy, now, sink, &mut |_| {}, seen);
    progress.finish();
    verified.map_err(|err| {
        let context = if err.is_refusal() {
            format!("bundle {input} refused")
        } else {
            format!("cannot verify {input}")
        };
        anyhow::Error::new(err).context(context)
    })
}
