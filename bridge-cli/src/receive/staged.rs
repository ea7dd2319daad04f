//! The whole bundle is verified (bundle spec 8: signatures, trust policy, zones, every
//! entry's hash) into a private staging folder before anything reaches the instance. It is the
//! same verification `verify` and `unpack` run ([`super::verify::verify_into`]).
//!
//! The staging folder (mode 0700) is made in the temporary folder (`TMPDIR`, checked like an
//! unpack destination's parent: see [`Staging::private_in`]) and is removed when the import
//! ends, whatever the outcome; nothing is ever unpacked elsewhere.

use std::path::Path;

use bundle_format::inspect::read_unverified;
use bundle_format::manifest::Manifest;
use bundle_format::names::Digest;
use bundle_format::policy::TrustPolicy;
use bundle_format::staging::Staging;
use bundle_format::verify::VerifiedBundle;
use ledger::BundleRecord;

use super::verify::verify_into;
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

/// A bundle that did not verify (or could not be read), and what its manifest claims, if it
/// could be read at all (unverified: for the ledger's record of the refusal only).
#[derive(Debug)]
pub struct NotVerified {
    /// Why.
    pub error: anyhow::Error,
    /// What the bundle claims to be.
    pub claimed: Option<Box<BundleRecord>>,
}

/// Verifies `input` against `policy` into a new private staging folder.
pub fn stage(
    input: &BundleInput,
    policy: &TrustPolicy,
    out: &Output,
) -> Result<Staged, NotVerified> {
    let unclaimed = |error: anyhow::Error| NotVerified {
        error,
        claimed: None,
    };
    let temp = std::env::temp_dir();
    crate::cleanup::sweep(&temp);
    let mut staging = Staging::private_in(&temp).map_err(|e| {
        unclaimed(anyhow::Error::new(e).context("cannot create a private staging folder"))
    })?;
    let tracked = crate::cleanup::track(staging.root());
    match verify_into(input, policy, &mut staging, out) {
        Ok(verified) => Ok(Staged {
            verified,
            staging,
            _tracked: tracked,
        }),
        Err(error) => Err(NotVerified {
            claimed: claimed(input, policy),
            error,
        }),
    }
}

/// What a refused bundle's manifest claims, read again without trust; `None` for standard
/// input (already consumed) or a manifest that cannot be read.
fn claimed(input: &BundleInput, policy: &TrustPolicy) -> Option<Box<BundleRecord>> {
    let BundleInput::File(_) = input else {
        return None;
    };
    let reader = input.open().ok()?;
    let head = read_unverified(reader, policy.limits()).ok()?;
    let manifest = head.manifest.ok()?;
    Some(Box::new(BundleRecord::from_manifest(
        &manifest,
        head.digest,
    )))
}
