//! The whole bundle is verified (bundle spec 8: signatures, trust policy, zones, every
//! entry's hash) into a private staging folder before anything reaches the instance. It is the
//! same verification `verify` and `unpack` run ([`super::verify::verify_into`]).
//!
//! The staging folder (mode 0700) is made in the temporary folder (`TMPDIR`, checked like an
//! unpack destination's parent: see [`Staging::private_in`]) and is removed when the import
//! ends, whatever the outcome; nothing is ever unpacked elsewhere.

use std::path::Path;

use bundle_format::manifest::{BundleKind, Manifest};
use bundle_format::names::Digest;
use bundle_format::policy::TrustPolicy;
use bundle_format::staging::Staging;
use bundle_format::verify::VerifiedBundle;
use ledger::UnverifiedBundle;

use super::verify::verify_into_seen;
use crate::cleanup::Tracked;
use crate::input::BundleInput;
use crate::output::Output;

/// A verified bundle and its payload, in a private staging folder.
#[derive(Debug)]
pub struct Staged {
    verified: VerifiedBundle,
    staging: Staging,
    // Dropped after `staging`, which removes itself: a signal before then removes it instead.
    _tracked: Tracked,
}

impl Staged {
    /// The verified manifest.
    pub fn manifest(&self) -> &Manifest {
        self.verified.manifest()
    }

    /// The bundle digest.
    pub fn digest(&self) -> Digest {
        self.verified.digest()
    }

    /// The folder holding the payload entries at their paths.
    pub fn root(&self) -> &Path {
        self.staging.root()
    }
}

/// A bundle that did not verify (or could not be read), with what may be known of it before
/// trust (spec 15.1): its input, file size, and its manifest's digest, size and bounded probe,
/// all UNVERIFIED. Its manifest is never decoded for this.
#[derive(Debug)]
pub struct NotVerified {
    /// Why.
    pub error: anyhow::Error,
    /// What may be known of it without trusting it, for the ledger's record of the refusal.
    pub unverified: Box<UnverifiedBundle>,
}

/// Verifies `input` against `policy` into a new private staging folder, for a command that
/// takes bundles of `expected` kind: a refused bundle that claims another kind is refused as
/// `wrong-kind` ([`super::kind`]).
pub fn stage(
    input: &BundleInput,
    policy: &TrustPolicy,
    expected: BundleKind,
    out: &Output,
) -> Result<Staged, NotVerified> {
    let mut seen = None;
    let not_verified = |error: anyhow::Error, head| NotVerified {
        error,
        unverified: Box::new(UnverifiedBundle {
            input: input.to_string(),
            file_bytes: input.file_size(),
            head,
        }),
    };
    let temp = std::env::temp_dir();
    crate::cleanup::sweep(&temp);
    let mut staging = Staging::private_in(&temp).map_err(|e| {
        not_verified(
            anyhow::Error::new(e).context("cannot create a private staging folder"),
            None,
        )
    })?;
    let tracked = crate::cleanup::track(staging.root());
    match verify_into_seen(input, policy, &mut staging, out, &mut seen) {
        Ok(verified) => Ok(Staged {
            verified,
            staging,
            _tracked: tracked,
        }),
        Err(error) => {
            let claim = seen.as_ref().and_then(|head| head.claims.kind);
            let error =
                super::kind::claimed(&input.to_string(), claim, expected, &error).unwrap_or(error);
            Err(not_verified(error, seen))
        }
    }
}
