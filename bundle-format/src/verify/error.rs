//! Every reason a bundle is refused (spec section 12), one variant each.

use std::fmt;

use time::OffsetDateTime;

use crate::manifest::{BundleKind, ManifestError};
use crate::names::{KeyId, ZoneId};
use crate::policy::KeyRole;

/// Which part of the bundle a container-level problem was found in (spec 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Region {
    /// Frame 1, the signature block.
    Signatures,
    /// Frame 2, the manifest.
    Manifest,
    /// Frame 3, the payload.
    Payload,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Signatures => "the signature block (frame 1)",
            Self::Manifest => "the manifest (frame 2)",
            Self::Payload => "the payload (frame 3)",
        })
    }
}

/// Why a bundle was refused, or why verification could not finish.
///
/// Every variant except [`VerifyError::Io`] is a refusal: the bundle is not to be trusted.
/// [`VerifyError::code`] gives the stable code that `--json` output and the test vectors use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The file does not start with a zstd frame (spec 8.1).
    #[error(
        "this is not a Zonebridge bundle: it does not start with a zstd frame (found {found})\nHint: bundles are made by `bridge-export pack` or `bridge-import` and usually end in .zb"
    )]
    NotABundle {
        /// What was found instead: the first bytes in hex, or that the file is empty.
        found: String,
    },
    /// A skippable frame, a dictionary or a reserved bit (spec 4.2).
    #[error("{region} is not a plain zstd frame: {detail}")]
    UnexpectedFrame {
        /// Where.
        region: Region,
        /// What was found.
        detail: &'static str,
    },
    /// The frame asks for a zstd window above the limit (spec 3, 8.1).
    #[error(
        "{region} needs a zstd window of {window_size} bytes, above the limit of 2^{limit_log}\nHint: a bundle made by Zonebridge never needs this; if you trust its source, raise `max_window_log` in the policy's [limits]"
    )]
    WindowTooLarge {
        /// Where.
        region: Region,
        /// The window the frame declares.
        window_size: u64,
        /// The limit in force, as a power of two.
        limit_log: u32,
    },
    /// zstd refused the compressed data, for example a failed frame checksum (spec 4.2).
    #[error("{region} is corrupt: {detail}\nHint: the file was damaged in transit; fetch it again")]
    Corrupt {
        /// Where.
        region: Region,
        /// zstd's own words.
        detail: String,
    },
    /// The file ends too early (spec 8.9).
    #[error(
        "the bundle is truncated: it ends inside {region}\nHint: the copy is incomplete; fetch it again"
    )]
    Truncated {
        /// Where it ends.
        region: Region,
    },
    /// Something follows the end of the bundle (spec 8.9).
    #[error("the bundle has data after its end: {detail}")]
    TrailingData {
        /// What follows.
        detail: String,
    },
    /// A tar header is malformed or not where it should be (spec 4.3).
    #[error("{region} holds a bad tar record: {detail}")]
    BadRecord {
        /// Where.
        region: Region,
        /// What is wrong.
        detail: String,
    },
    /// A record other than a regular file (spec 4.3).
    #[error("entry {path:?} is a {kind}; bundles hold regular files only")]
    NotRegularFile {
        /// The record's stored path.
        path: String,
        /// What it is.
        kind: &'static str,
    },
    /// A path that breaks the rules of spec 2.3 (traversal, absolute, bad characters).
    #[error("entry path {path:?} is refused: {reason}")]
    PathInvalid {
        /// The refused path.
        path: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A limit of spec 3 was exceeded.
    #[error("{what} is {found}, above the limit of {limit}{}", limit_hint(what))]
    LimitExceeded {
        /// What was counted.
        what: &'static str,
        /// The limit in force.
        limit: u64,
        /// What the bundle has or declares.
        found: u64,
    },
    /// The signature block is not valid CBOR of the right shape (spec 6.1).
    #[error("the signature block is invalid: {detail}")]
    SignatureBlockInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The same key signed twice; it would count twice toward a threshold (spec 8.3).
    #[error(
        "key {key_id} signed this bundle more than once; a key counts once toward a threshold, so the bundle is refused"
    )]
    DuplicateSigner {
        /// The repeated key.
        key_id: KeyId,
    },
    /// A signature does not verify over the manifest (spec 8.4).
    #[error(
        "the signature by key {key_id} does not match the manifest: the manifest or the signature was altered"
    )]
    SignatureInvalid {
        /// The key whose signature failed.
        key_id: KeyId,
    },
    /// No signature is by a key the policy knows (spec 8.4).
    #[error(
        "no signature is by a key this policy trusts (signed by: {})\nHint: if the signer is genuine, add its public key with `policy trust`",
        join(key_ids)
    )]
    SignerUnknown {
        /// The keys that signed.
        key_ids: Vec<KeyId>,
    },
    /// The manifest does not decode or breaks the rules of spec 5.5.
    #[error("the manifest is invalid: {detail}")]
    ManifestInvalid {
        /// What is wrong.
        detail: String,
    },
    /// The manifest's format version is not 1 (spec 10).
    #[error(
        "the bundle uses format version {found}; this program reads version {supported}\nHint: upgrade Zonebridge on this side to a version that reads format {found}"
    )]
    UnsupportedFormatVersion {
        /// The version in the manifest.
        found: u64,
        /// The version this reader supports.
        supported: u32,
    },
    /// The bundle is meant for another zone (spec 8.6).
    #[error(
        "the bundle is for zone {found}, and this is zone {expected}\nHint: carry it to the zone it names, or check the policy's `zone`"
    )]
    WrongTargetZone {
        /// This side's zone.
        expected: ZoneId,
        /// The zone the bundle names.
        found: ZoneId,
    },
    /// The bundle's expiry has passed (spec 8.6).
    #[error("the bundle expired at {} (now {})\nHint: ask the sending side for a fresh bundle", rfc3339(*expired), rfc3339(*now))]
    BundleExpired {
        /// When it expired.
        expired: OffsetDateTime,
        /// The verifier's clock.
        now: OffsetDateTime,
    },
    /// A trusted key signed a kind of bundle its role does not cover (spec 8.7).
    #[error(
        "key {key_id} is trusted as a {role} signer, but this is a {kind} bundle\nHint: {kind} bundles must be signed by a key trusted with role `{kind}`"
    )]
    SignerWrongRole {
        /// The key.
        key_id: KeyId,
        /// Its role in the policy.
        role: KeyRole,
        /// The bundle's kind.
        kind: BundleKind,
    },
    /// A trusted key signed for a source zone it may not speak for (spec 8.7).
    #[error(
        "key {key_id} may speak for zones [{}], but the bundle comes from zone {zone}",
        join(allowed)
    )]
    SignerZoneNotAllowed {
        /// The key.
        key_id: KeyId,
        /// The bundle's source zone.
        zone: ZoneId,
        /// The zones the policy allows for the key.
        allowed: Vec<ZoneId>,
    },
    /// A trusted key's validity has ended (spec 8.7).
    #[error(
        "key {key_id} was trusted until {}, and it is now {}\nHint: sign with a current key, or renew the key's `not_after` in the policy",
        rfc3339(*not_after), rfc3339(*now)
    )]
    KeyExpired {
        /// The key.
        key_id: KeyId,
        /// End of its validity.
        not_after: OffsetDateTime,
        /// The verifier's clock.
        now: OffsetDateTime,
    },
    /// Too few distinct trusted keys signed (spec 8.7).
    #[error(
        "{kind} bundles need {required} signatures by distinct trusted keys; this one has {valid}\nHint: have another trusted signer add a signature with `bridge-export sign`"
    )]
    ThresholdNotMet {
        /// The bundle's kind.
        kind: BundleKind,
        /// Signatures the policy requires.
        required: u32,
        /// Signatures that counted.
        valid: u32,
    },
    /// The payload holds an entry the manifest lists later (spec 8.8).
    #[error("entry {found} comes before {expected}; entries must be in manifest order")]
    EntryOutOfOrder {
        /// The entry the manifest expects next.
        expected: String,
        /// The entry found.
        found: String,
    },
    /// The payload holds an entry a second time (spec 8.8).
    #[error("entry {path} appears twice in the payload")]
    EntryDuplicated {
        /// The repeated entry.
        path: String,
    },
    /// The payload holds an entry the manifest does not list (spec 8.8).
    #[error("the payload holds {path}, which the manifest does not list")]
    EntryNotInManifest {
        /// The extra entry.
        path: String,
    },
    /// The payload ends before a listed entry (spec 8.8).
    #[error("entry {path} is listed in the manifest but missing from the payload")]
    EntryMissing {
        /// The first missing entry.
        path: String,
    },
    /// An entry's stored size differs from the manifest (spec 8.8).
    #[error("entry {path} holds {found} bytes, but the manifest declares {declared}")]
    EntrySizeMismatch {
        /// The entry.
        path: String,
        /// Size in the manifest.
        declared: u64,
        /// Size in the tar header.
        found: u64,
    },
    /// An entry's bytes do not match its SHA-256 in the manifest (spec 8.8).
    #[error("entry {path} does not match its SHA-256 in the manifest: its bytes were altered")]
    HashMismatch {
        /// The entry.
        path: String,
    },
    /// Reading the bundle or writing the staging folder failed locally; not a verdict on the bundle.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl VerifyError {
    /// The stable code of spec 12, for `--json` output and the test vectors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotABundle { .. } => "not-a-bundle",
            Self::UnexpectedFrame { .. } => "unexpected-frame",
            Self::WindowTooLarge { .. } => "window-too-large",
            Self::Corrupt { .. } => "corrupt",
            Self::Truncated { .. } => "truncated",
            Self::TrailingData { .. } => "trailing-data",
            Self::BadRecord { .. } => "bad-record",
            Self::NotRegularFile { .. } => "not-regular-file",
            Self::PathInvalid { .. } => "path-invalid",
            Self::LimitExceeded { .. } => "limit-exceeded",
            Self::SignatureBlockInvalid { .. } => "signature-block-invalid",
            Self::DuplicateSigner { .. } => "duplicate-signer",
            Self::SignatureInvalid { .. } => "signature-invalid",
            Self::SignerUnknown { .. } => "signer-unknown",
            Self::ManifestInvalid { .. } => "manifest-invalid",
            Self::UnsupportedFormatVersion { .. } => "unsupported-format-version",
            Self::WrongTargetZone { .. } => "wrong-target-zone",
            Self::BundleExpired { .. } => "bundle-expired",
            Self::SignerWrongRole { .. } => "signer-wrong-role",
            Self::SignerZoneNotAllowed { .. } => "signer-zone-not-allowed",
            Self::KeyExpired { .. } => "key-expired",
            Self::ThresholdNotMet { .. } => "threshold-not-met",
            Self::EntryOutOfOrder { .. } => "entry-out-of-order",
            Self::EntryDuplicated { .. } => "entry-duplicated",
            Self::EntryNotInManifest { .. } => "entry-not-in-manifest",
            Self::EntryMissing { .. } => "entry-missing",
            Self::EntrySizeMismatch { .. } => "entry-size-mismatch",
            Self::HashMismatch { .. } => "hash-mismatch",
            Self::Io { .. } => "io",
        }
    }

    /// Whether this is a verdict against the bundle (as opposed to a local I/O failure).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Io { .. })
    }

    /// A path refused by the rules of spec 2.3, with the rule it broke.
    pub(crate) fn path_invalid(path: String, err: crate::names::NameError) -> Self {
        let reason = match err {
            crate::names::NameError::Path { reason, .. } => reason.to_owned(),
            other => other.to_string(),
        };
        Self::PathInvalid { path, reason }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<ManifestError> for VerifyError {
    fn from(err: ManifestError) -> Self {
        match err {
            ManifestError::LimitExceeded { what, limit, found } => {
                Self::LimitExceeded { what, limit, found }
            }
            ManifestError::UnsupportedFormat { found } => Self::UnsupportedFormatVersion {
                found: u64::from(found),
                supported: crate::manifest::FORMAT_VERSION,
            },
            other => Self::ManifestInvalid {
                detail: other.to_string(),
            },
        }
    }
}

/// The signature block's limits are fixed by the format (spec 3); the others are the policy's.
fn limit_hint(what: &str) -> &'static str {
    if what.contains("signature") {
        "\nHint: the format fixes this limit; a bundle made by Zonebridge never exceeds it"
    } else if what.contains("data items") {
        "\nHint: the limit is max_manifest_bytes / 8 (spec 3); if the bundle is genuine, raise max_manifest_bytes in the policy's [limits]"
    } else {
        "\nHint: if the bundle is genuine, raise the limit in the policy's [limits]"
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}
