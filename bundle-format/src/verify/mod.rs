//! The streaming verifier (spec section 8). Signatures are checked over the exact manifest
//! bytes before those bytes are decoded; every payload byte is hashed as it streams into the
//! sink; the result is a [`VerifiedBundle`], which nothing but this module can make.

pub(crate) mod error;
mod payload;
mod sink;

use std::io::Read;

use time::OffsetDateTime;

pub use error::{Region, VerifyError};
pub use sink::{Discard, EntrySink};

use crate::container::reader::ContainerReader;
use crate::manifest::{FORMAT_VERSION, Manifest};
use crate::names::{Digest, KeyId};
use crate::policy::TrustPolicy;
use crate::pretrust::PretrustHead;
use crate::signature::{self, SignatureBlock};

/// A bundle that passed every step of spec section 8 against a policy.
///
/// It holds the manifest bytes exactly as signed, with the decoded manifest beside them; it has
/// no public constructor, so holding one proves verification happened.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
    digest: Digest,
    signers: Vec<KeyId>,
    ignored: Vec<KeyId>,
}

impl VerifiedBundle {
    /// The decoded, verified manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The decoded, verified manifest, given up by the verified bundle (for a command that
    /// only shows it and should not hold it twice).
    pub fn into_manifest(self) -> Manifest {
        self.manifest
    }

    /// The manifest bytes exactly as signed.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    /// The bundle digest: SHA-256 of the manifest bytes (spec 2.5).
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The trusted keys whose signatures counted toward the threshold.
    pub fn signers(&self) -> &[KeyId] {
        &self.signers
    }

    /// Signatures by keys this policy does not know; they were not checked and did not count.
    pub fn ignored_signers(&self) -> &[KeyId] {
        &self.ignored
    }
}

/// The first two steps' output: the manifest, trusted, before any payload byte is read.
#[derive(Debug)]
struct TrustedHead {
    manifest_bytes: Vec<u8>,
    manifest: Manifest,
    signers: Vec<KeyId>,
    ignored: Vec<KeyId>,
}

/// Verifies a whole bundle from `input` against `policy` at time `now`, streaming every payload
/// entry into `sink`; `progress` hears of payload bytes as they are checked.
///
/// Memory stays bounded whatever the bundle's size: the manifest is bounded by the policy's
/// limits, the payload moves in a fixed number of 1 MiB chunks.
pub fn verify_bundle<R: Read + Send>(
    input: R,
    policy: &TrustPolicy,
    now: OffsetDateTime,
    sink: &mut dyn EntrySink,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifiedBundle, VerifyError> {
    verify_bundle_seen(input, policy, now, sink, progress, &mut None)
}

/// As [`verify_bundle`], and sets `seen` to the bundle's [`PretrustHead`] (digest, size and
/// bounded probe of the manifest, UNVERIFIED) as soon as the manifest's bytes are read: a
/// receiver records a refusal with it, without ever decoding an unauthenticated manifest
/// (spec 15.1). `seen` stays `None` when the manifest's bytes could not be read.
pub fn verify_bundle_seen<R: Read + Send>(
    input: R,
    policy: &TrustPolicy,
    now: OffsetDateTime,
    sink: &mut dyn EntrySink,
    progress: &mut dyn FnMut(u64),
    seen: &mut Option<PretrustHead>,
) -> Result<VerifiedBundle, VerifyError> {
    let limits = *policy.limits();
    let mut reader = ContainerReader::new(input, limits.max_window_log);
    let head = verify_head(&mut reader, policy, now, seen)?;
    std::thread::scope(|scope| {
        let mut stream = reader.payload(scope)?;
        payload::verify_entries(&mut stream, &head.manifest.entries, sink, progress)
    })?;
    let digest = Digest::of(&head.manifest_bytes);
    Ok(VerifiedBundle {
        manifest_bytes: head.manifest_bytes,
        manifest: head.manifest,
        digest,
        signers: head.signers,
        ignored: head.ignored,
    })
}

/// Steps 8.1 to 8.7.
fn verify_head<R: Read>(
    reader: &mut ContainerReader<R>,
    policy: &TrustPolicy,
    now: OffsetDateTime,
    seen: &mut Option<PretrustHead>,
) -> Result<TrustedHead, VerifyError> {
    let limits = policy.limits();
    // 8.1 and 8.2: the signature block and the manifest, bytes exactly as read.
    let (block_bytes, manifest_bytes) = reader.read_head(limits)?;
    // 15.1: what may be known before trust, for the record of a refusal; nothing is decoded.
    *seen = Some(PretrustHead::of(&manifest_bytes));
    // 8.3: "1 to 16 signatures; a key id that appears twice refuses the bundle".
    let block = SignatureBlock::decode(&block_bytes, limits.max_cbor_depth)?;
    // 8.4: "every signature by a key in the policy verifies (verify_strict) over the signing
    // input, before the manifest is decoded".
    let verified = signature::verify_signatures(&block, &manifest_bytes, policy)?;
    let ignored = block
        .signatures()
        .iter()
        .map(|s| s.key_id)
        .filter(|id| !verified.contains(id))
        .collect();
    // 8.5: "a `format` other than 1 is unsupported-format-version, before anything else of M
    // is interpreted; then M is decoded fully and 5.5 applied".
    let manifest = decode_manifest(&manifest_bytes, policy)?;
    // 8.6: "target_zone equals the policy's zone; an `expires` at or before now refuses".
    if &manifest.target_zone != policy.zone() {
        return Err(VerifyError::WrongTargetZone {
            expected: policy.zone().clone(),
            found: manifest.target_zone.clone(),
        });
    }
    if let Some(expired) = manifest.expires.filter(|&expires| expires <= now) {
        return Err(VerifyError::BundleExpired { expired, now });
    }
    // 8.7: "distinct verified keys with the kind's role, the source zone and a current validity
    // reach the kind's threshold".
    let signers = signature::check_threshold(&verified, &manifest, policy, now)?;
    Ok(TrustedHead {
        manifest_bytes,
        manifest,
        signers,
        ignored,
    })
}

/// Spec 8.5. Public for `inspect`, which decodes without trust and says so.
pub(crate) fn decode_manifest(bytes: &[u8], policy: &TrustPolicy) -> Result<Manifest, VerifyError> {
    let limits = policy.limits();
    decode_manifest_with(bytes, limits)
}

/// Spec 8.5, steps 8.5.1 to 8.5.5, in that order; the first that fails gives the verdict.
pub(crate) fn decode_manifest_with(
    bytes: &[u8],
    limits: &crate::limits::Limits,
) -> Result<Manifest, VerifyError> {
    let depth = limits.max_cbor_depth as usize;
    // From the bundle spec, 8.5.1: "M follows the CBOR profile of 5.1, else manifest-invalid;
    // then M holds at most `max_manifest_bytes` / 8 data items (section 3), else
    // limit-exceeded". One walk checks the profile and counts, before anything is decoded, so
    // that the decoded form's memory is bounded by the manifest limit whatever the item density
    // (15.2).
    let profile =
        crate::cbor_profile::check(bytes, depth).map_err(|err| VerifyError::ManifestInvalid {
            detail: err.to_string(),
        })?;
    let max_items = crate::cbor_items::max_items(limits.max_manifest_bytes);
    if profile.items > max_items {
        return Err(VerifyError::LimitExceeded {
            what: "the number of CBOR data items in the manifest",
            limit: max_items,
            found: profile.items,
        });
    }
    // 8.5.2: "M is a map whose key `format` holds an unsigned integer, else manifest-invalid;
    // a value other than 1 is unsupported-format-version, before anything else of M is
    // interpreted".
    let top = crate::cbor_profile::Item::top(bytes);
    let Some(format) = top.get("format").and_then(|f| f.uint()) else {
        return Err(VerifyError::ManifestInvalid {
            detail: "it is not a map with an unsigned integer `format`".to_owned(),
        });
    };
    if format != u64::from(FORMAT_VERSION) {
        return Err(VerifyError::UnsupportedFormatVersion {
            found: format,
            supported: FORMAT_VERSION,
        });
    }
    // 8.5.3: "if `entries` is an array, each element that is a map whose `path` is a text
    // string is checked against 2.3, in order; the first that breaks it is path-invalid".
    if let Some(entries) = top.get("entries").and_then(|e| e.elements()) {
        for entry in entries {
            if let Some(path) = entry.get("path").and_then(|p| p.text())
                && let Err(err) = crate::names::EntryPath::new(path)
            {
                return Err(VerifyError::path_invalid(path.to_owned(), err));
            }
        }
    }
    // 8.5.4: "M decodes per 5.2-5.4 (5.5.2), else manifest-invalid".
    let manifest: Manifest = crate::cbor::decode_profiled(bytes, &profile).map_err(|err| {
        VerifyError::ManifestInvalid {
            detail: err.to_string(),
        }
    })?;
    // 8.5.5: "the rules 5.5.3 to 5.5.15, in that order".
    manifest.validate(limits)?;
    Ok(manifest)
}
