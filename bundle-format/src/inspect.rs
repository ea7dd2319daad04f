//! Reading a bundle's signature block and manifest WITHOUT trusting them, for `inspect` and for
//! adding a signature. Nothing here says a bundle is genuine; only [`crate::verify`] does.

use std::io::{Read, Write};

use crate::container::reader::ContainerReader;
use crate::container::writer;
use crate::keys::SigningKey;
use crate::limits::{Limits, MAX_SIGNATURE_BLOCK_BYTES};
use crate::manifest::Manifest;
use crate::names::{Digest, KeyId};
use crate::signature::{AddSignatureError, SignatureBlock};
use crate::verify::{Region, VerifyError};

/// A bundle's head as found, not verified: anyone could have written it.
#[derive(Debug)]
pub struct UnverifiedHead {
    /// The signatures as stored; none of them has been checked.
    pub signatures: SignatureBlock,
    /// The manifest as decoded, or why it does not decode.
    pub manifest: Result<Manifest, VerifyError>,
    /// SHA-256 of the manifest bytes: the digest the bundle would have if genuine.
    pub digest: Digest,
    manifest_bytes: Vec<u8>,
}

impl UnverifiedHead {
    /// The manifest bytes as stored.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }
}

/// Reads the signature block and manifest (spec 8.1-8.3 and 8.5 structure checks only, with
/// `limits`), without any trust decision.
pub fn read_unverified(input: impl Read, limits: &Limits) -> Result<UnverifiedHead, VerifyError> {
    let mut reader = ContainerReader::new(input, limits.max_window_log);
    let (head, _) = read_head(&mut reader, limits)?;
    Ok(head)
}

fn read_head<R: Read>(
    reader: &mut ContainerReader<R>,
    limits: &Limits,
) -> Result<(UnverifiedHead, Vec<u8>), VerifyError> {
    let (block_bytes, manifest_bytes) = reader.read_head(limits)?;
    let signatures = SignatureBlock::decode(&block_bytes, limits.max_cbor_depth)?;
    let manifest = crate::verify::decode_manifest_with(&manifest_bytes, limits);
    Ok((
        UnverifiedHead {
            signatures,
            manifest,
            digest: Digest::of(&manifest_bytes),
            manifest_bytes,
        },
        block_bytes,
    ))
}

/// Why a signature could not be added to a bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The bundle's head is unreadable or malformed.
    #[error("cannot read the bundle: {0}")]
    Unreadable(#[source] VerifyError),
    /// The signature block refuses the new signature.
    #[error(transparent)]
    Refused(#[from] AddSignatureError),
    /// Writing the new bundle failed.
    #[error("cannot write the signed bundle: {0}")]
    Io(#[source] std::io::Error),
}

/// What [`add_signature`] did.
#[derive(Debug)]
pub struct AddedSignature {
    /// The new signer.
    pub key_id: KeyId,
    /// All signers now on the bundle.
    pub signers: Vec<KeyId>,
    /// The bundle digest (unchanged by signing).
    pub digest: Digest,
    /// The manifest that was signed (decoded without trust, for showing to the signer).
    pub manifest: Manifest,
}

/// Copies the bundle from `input` to `output` with one more signature by `key` (spec 6.4):
/// frame 1 is rewritten, frames 2 and 3 are copied byte for byte.
pub fn add_signature(
    mut input: impl Read,
    key: &SigningKey,
    output: &mut impl Write,
) -> Result<AddedSignature, SignError> {
    let limits = Limits::default();
    // The head is at most a 64 KiB block and a bounded manifest; read that much raw, find the
    // frame boundaries, then copy the rest without looking at it.
    let frame_budget = MAX_SIGNATURE_BLOCK_BYTES
        .saturating_add(limits.max_manifest_bytes)
        .saturating_add(1 << 20);
    let mut prefix = Vec::new();
    (&mut input)
        .take(frame_budget)
        .read_to_end(&mut prefix)
        .map_err(SignError::Io)?;
    let mut reader = ContainerReader::new(prefix.as_slice(), limits.max_window_log);
    let (head, _) = read_head(&mut reader, &limits).map_err(SignError::Unreadable)?;
    let manifest = head.manifest.map_err(SignError::Unreadable)?;
    let f1_len = compressed_frame_len(&prefix)?;
    let rest_of_prefix = prefix.get(f1_len..).unwrap_or_default();
    let mut signatures = head.signatures;
    let key_id = signatures.add(key, &head.manifest_bytes)?;
    let frame = writer::signature_frame(&signatures).map_err(SignError::Io)?;
    output.write_all(&frame).map_err(SignError::Io)?;
    output.write_all(rest_of_prefix).map_err(SignError::Io)?;
    std::io::copy(&mut input, output).map_err(SignError::Io)?;
    output.flush().map_err(SignError::Io)?;
    Ok(AddedSignature {
        key_id,
        signers: signatures.signatures().iter().map(|s| s.key_id).collect(),
        digest: head.digest,
        manifest,
    })
}

fn compressed_frame_len(bytes: &[u8]) -> Result<usize, SignError> {
    zstd::zstd_safe::find_frame_compressed_size(bytes).map_err(|code| {
        SignError::Unreadable(VerifyError::Corrupt {
            region: Region::Signatures,
            detail: zstd::zstd_safe::get_error_name(code).to_owned(),
        })
    })
}
