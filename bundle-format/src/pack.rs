//! Sealing a bundle (spec 4-6 from the writer's side): manifest from the entries written,
//! checked against the same rules a reader applies, signed, and written ahead of the payload.

use std::io::Write;

use time::OffsetDateTime;

use crate::container::writer::{self, Spool, WriteError};
use crate::keys::SigningKey;
use crate::limits::Limits;
use crate::manifest::{
    BundleKind, Entry, FORMAT_VERSION, Manifest, ManifestError, ReleaseDescription,
    ResultDescription, derive_bundle_id,
};
use crate::names::{BundleId, Digest, ZoneId};
use crate::signature::{AddSignatureError, SignatureBlock};

/// Why a bundle could not be packed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// An input (release folder, release.toml, a file it names) is wrong; names the fix.
    #[error("{0}")]
    Input(String),
    /// Reading an input file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest would break the rules every reader applies (spec 5.5).
    #[error("the bundle would be refused by every reader: {0}")]
    Manifest(#[from] ManifestError),
    /// Writing the payload failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Signing failed (for example, the same key given twice).
    #[error(transparent)]
    Sign(#[from] AddSignatureError),
    /// Writing the bundle failed.
    #[error("cannot write the bundle: {0}")]
    Output(#[source] std::io::Error),
}

/// Where a bundle sits on its channel and when it was made (spec 5.2).
#[derive(Debug, Clone)]
pub struct BundleHeader {
    /// Release or result.
    pub kind: BundleKind,
    /// The sending zone.
    pub source_zone: ZoneId,
    /// The receiving zone.
    pub target_zone: ZoneId,
    /// Position on the channel, from 1.
    pub sequence: u64,
    /// Digest of the previous bundle on the channel (required after the first).
    pub previous: Option<Digest>,
    /// Creation time; pass a fixed time (SOURCE_DATE_EPOCH) for reproducible bundles.
    pub created: OffsetDateTime,
    /// Optional expiry.
    pub expires: Option<OffsetDateTime>,
    /// Bundle id; derived from the contents when absent.
    pub bundle_id: Option<BundleId>,
}

/// What the description of a sealed bundle is.
#[derive(Debug, Clone)]
pub enum Description {
    /// A release bundle's description.
    Release(ReleaseDescription),
    /// A result bundle's description.
    Result(ResultDescription),
}

/// A bundle that was written.
#[derive(Debug, Clone)]
pub struct SealedBundle {
    /// Its manifest.
    pub manifest: Manifest,
    /// Its digest (SHA-256 of the manifest bytes).
    pub digest: Digest,
    /// Bytes written.
    pub size: u64,
}

/// Builds, checks, signs and writes a bundle whose payload frame is already in `spool`.
pub fn seal<W: Write, S: Spool>(
    header: BundleHeader,
    entries: Vec<Entry>,
    description: Description,
    keys: &[SigningKey],
    spool: &mut S,
    out: &mut W,
) -> Result<SealedBundle, PackError> {
    if keys.is_empty() {
        return Err(PackError::Input(
            "at least one signing key is needed".to_owned(),
        ));
    }
    let (release, result) = match description {
        Description::Release(r) => (Some(r), None),
        Description::Result(r) => (None, Some(r)),
    };
    let bundle_id = header.bundle_id.unwrap_or_else(|| {
        derive_bundle_id(
            header.kind,
            &header.source_zone,
            &header.target_zone,
            header.sequence,
            header.created,
            &entries,
        )
    });
    let manifest = Manifest {
        format: FORMAT_VERSION,
        kind: header.kind,
        bundle_id,
        source_zone: header.source_zone,
        target_zone: header.target_zone,
        sequence: header.sequence,
        previous: header.previous,
        created: truncate_to_seconds(header.created),
        expires: header.expires.map(truncate_to_seconds),
        entries,
        release,
        result,
    };
    manifest.validate(&Limits::default())?;
    let manifest_bytes = manifest.encode();
    let manifest_len = manifest_bytes.len() as u64;
    let limit = Limits::default().max_manifest_bytes;
    if manifest_len > limit {
        return Err(PackError::Manifest(ManifestError::LimitExceeded {
            what: "the manifest's size",
            limit,
            found: manifest_len,
        }));
    }
    let mut signatures = SignatureBlock::default();
    for key in keys {
        signatures.add(key, &manifest_bytes)?;
    }
    let size = writer::write_bundle(out, &signatures, &manifest_bytes, spool)
        .map_err(PackError::Output)?;
    Ok(SealedBundle {
        digest: Digest::of(&manifest_bytes),
        manifest,
        size,
    })
}

/// The wire keeps whole seconds (spec 5.2); so does the in-memory manifest, to match a reader's.
fn truncate_to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t)
}
