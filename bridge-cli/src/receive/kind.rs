//! The wrong kind of bundle for the command (a result bundle given to `import`, a release
//! bundle given to `results`): refused as `wrong-kind` (exit 1), naming the kind and the command
//! that takes it, never "trust its key".
//!
//! Before trust, the kind is only what the bundle CLAIMS (the bounded pre-trust probe,
//! [`bundle_format::pretrust`]), and the message says so. The signers' roles in the policy would
//! not tell more: a bundle of the other direction is usually signed by a key this side's policy
//! does not hold at all, and a claim is all there is. After verification, the kind is a fact.

use bundle_format::manifest::BundleKind;
use bundle_format::names::Digest;

use crate::failure::{Failure, refused};

/// The stable refusal code.
pub const WRONG_KIND: &str = "wrong-kind";

/// The command that takes bundles of `kind`, and the zone where it runs.
pub fn taker(kind: BundleKind) -> &'static str {
    match kind {
        BundleKind::Release => "`bridge-import import`, in the secure zone",
        BundleKind::Result => "`bridge-export results`, in the development zone",
    }
}

/// The `wrong-kind` refusal for a bundle that failed verification (`cause`) and claims, without
/// being trusted, to be of `claimed` kind while the command takes `expected`; `None` when the
/// claim is the expected kind, absent, or `cause` is not a refusal (a local failure stays what
/// it is).
pub fn claimed(
    input: &str,
    claimed: Option<BundleKind>,
    expected: BundleKind,
    cause: &anyhow::Error,
) -> Option<anyhow::Error> {
    let claimed = claimed.filter(|&kind| kind != expected)?;
    let failure = Failure::from_error(cause).filter(|f| f.exit == crate::exit::REFUSED)?;
    Some(refused(
        WRONG_KIND,
        format!(
            "bundle {input} claims to be a {claimed} bundle (unverified: it was refused as {code} before any of it was trusted); this command takes {expected} bundles\nHint: {claimed} bundles are taken by {taker}",
            code = failure.code,
            taker = taker(claimed),
        ),
    ))
}

/// The `wrong-kind` refusal for a VERIFIED bundle `digest` of `kind` given to a command that
/// takes `expected` bundles.
pub fn verified(digest: Digest, kind: BundleKind, expected: BundleKind) -> anyhow::Error {
    refused(
        WRONG_KIND,
        format!(
            "bundle {digest} is a {kind} bundle (verified); this command takes {expected} bundles\nHint: {kind} bundles are taken by {taker}",
            digest = digest.to_hex(),
            taker = taker(kind),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;

    fn refusal() -> anyhow::Error {
        refused(
            "signer-unknown",
            "no signature is by a trusted key".to_owned(),
        )
    }

    #[test]
    fn only_a_refused_bundle_claiming_the_other_kind_is_wrong_kind() {
        let input = "b.zb";
        let (release, result) = (BundleKind::Release, BundleKind::Result);
        let wrong = claimed(input, Some(result), release, &refusal());
        let failure = wrong.as_ref().and_then(Failure::from_error);
        assert_eq!(failure.as_ref().map(|f| f.code), Some(WRONG_KIND));
        assert_eq!(failure.as_ref().map(|f| f.exit), Some(crate::exit::REFUSED));
        let message = failure.map(|f| f.message).unwrap_or_default();
        assert!(
            message.contains("claims to be a result bundle (unverified"),
            "{message}"
        );
        assert!(message.contains("signer-unknown"), "{message}");
        // The expected kind, no claim, or a local failure: left as they are.
        assert!(claimed(input, Some(release), release, &refusal()).is_none());
        assert!(claimed(input, None, release, &refusal()).is_none());
        let local = anyhow::Error::new(std::io::Error::other("disk full"));
        assert!(claimed(input, Some(result), release, &local).is_none());
    }

    #[test]
    fn a_verified_bundle_of_the_other_kind_names_its_command() {
        let digest = Digest::of(b"m");
        for (kind, expected, command) in [
            (
                BundleKind::Result,
                BundleKind::Release,
                "`bridge-export results`",
            ),
            (
                BundleKind::Release,
                BundleKind::Result,
                "`bridge-import import`",
            ),
        ] {
            let failure = Failure::from_error(&verified(digest, kind, expected));
            assert_eq!(failure.as_ref().map(|f| f.code), Some(WRONG_KIND));
            let hint = failure.and_then(|f| f.hint).unwrap_or_default();
            assert!(hint.contains(command), "{hint}");
        }
    }
}
