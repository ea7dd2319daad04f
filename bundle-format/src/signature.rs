//! The signature block (spec section 6) and the one threshold check every bundle kind uses.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::keys::SigningKey;
use crate::limits::MAX_SIGNATURES;
use crate::manifest::Manifest;
use crate::names::KeyId;
use crate::policy::TrustPolicy;
use crate::verify::VerifyError;

/// From the bundle spec, 6.2: signatures cover these bytes, then the manifest bytes. The
/// domain string keeps a Zonebridge signature from being valid for anything else.
pub const SIGNING_CONTEXT: &[u8] = b"zonebridge bundle manifest v1\0";

/// Version of the signature block's own layout (spec 6.1).
const BLOCK_FORMAT: u32 = 1;

/// One signature: which key, and the 64 signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Who signed.
    pub key_id: KeyId,
    /// Ed25519 signature over [`SIGNING_CONTEXT`] followed by the manifest bytes.
    pub signature: [u8; 64],
}

/// The signatures a bundle carries, in the order they were added.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignatureBlock {
    signatures: Vec<Signature>,
}

#[derive(Serialize, Deserialize)]
struct BlockWire {
    format: u32,
    signatures: Vec<SignatureWire>,
}

#[derive(Serialize, Deserialize)]
struct SignatureWire {
    key_id: KeyId,
    #[serde(with = "sig_bytes")]
    signature: [u8; 64],
}

mod sig_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let buf = crate::cbor::ByteBuf::deserialize(d)?;
        buf.0.as_slice().try_into().map_err(|_| {
            serde::de::Error::custom(format_args!(
                "a signature must be 64 bytes, found {}",
                buf.0.len()
            ))
        })
    }
}

impl SignatureBlock {
    /// The signatures, in order.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }

    /// Signs `manifest_bytes` with `key` and appends the signature; refuses a second signature
    /// by the same key and more than the format allows.
    pub fn add(
        &mut self,
        key: &SigningKey,
        manifest_bytes: &[u8],
    ) -> Result<KeyId, AddSignatureError> {
        let key_id = key.public_key().key_id();
        if self.signatures.iter().any(|s| s.key_id == key_id) {
            return Err(AddSignatureError::AlreadySigned { key_id });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(AddSignatureError::Full);
        }
        let signature = key.sign(&signing_input(manifest_bytes));
        self.signatures.push(Signature { key_id, signature });
        Ok(key_id)
    }

    /// The CBOR bytes stored in frame 1.
    pub fn encode(&self) -> Vec<u8> {
        crate::cbor::encode(&BlockWire {
            format: BLOCK_FORMAT,
            signatures: self
                .signatures
                .iter()
                .map(|s| SignatureWire {
                    key_id: s.key_id,
                    signature: s.signature,
                })
                .collect(),
        })
    }

    /// Decodes and checks a signature block (spec 8.3): format 1, 1 to 16 signatures, no key
    /// twice.
    pub fn decode(bytes: &[u8], max_depth: u32) -> Result<Self, VerifyError> {
        let invalid = |err: crate::cbor::DecodeError| VerifyError::SignatureBlockInvalid {
            detail: err.to_string(),
        };
        // From the bundle spec, 8.3.1: "S_b follows the CBOR profile of 5.1".
        let depth = max_depth as usize;
        crate::cbor_profile::check(bytes, depth).map_err(|err| {
            VerifyError::SignatureBlockInvalid {
                detail: err.to_string(),
            }
        })?;
        // 8.3.2 and 8.3.3: "S_b is a map whose `format` is an unsigned integer; other than 1:
        // unsupported-format-version", before the rest, so that a later block layout is not
        // reported as a malformed one.
        let Some(format) = crate::cbor_profile::Item::top(bytes)
            .get("format")
            .and_then(|f| f.uint())
        else {
            return Err(VerifyError::SignatureBlockInvalid {
                detail: "it is not a map with an unsigned integer `format`".to_owned(),
            });
        };
        if format != u64::from(BLOCK_FORMAT) {
            return Err(VerifyError::UnsupportedFormatVersion {
                found: format,
                supported: BLOCK_FORMAT,
            });
        }
        // 8.3.4: "S_b decodes per 6.1".
        let wire: BlockWire = crate::cbor::decode(bytes, depth).map_err(invalid)?;
        // 8.3.5: "`signatures` is not empty".
        if wire.signatures.is_empty() {
            return Err(VerifyError::SignatureBlockInvalid {
                detail: "it holds no signature".to_owned(),
            });
        }
        // 8.3.6: "it holds at most 16 signatures", before 8.3.7 looks for repeats.
        if wire.signatures.len() > MAX_SIGNATURES {
            return Err(VerifyError::LimitExceeded {
                what: "the number of signatures",
                limit: MAX_SIGNATURES as u64,
                found: wire.signatures.len() as u64,
            });
        }
        // 8.3.7: "no `key_id` appears twice (a key is never counted twice)".
        let mut seen = HashSet::new();
        for s in &wire.signatures {
            if !seen.insert(s.key_id) {
                return Err(VerifyError::DuplicateSigner { key_id: s.key_id });
            }
        }
        Ok(Self {
            signatures: wire
                .signatures
                .into_iter()
                .map(|s| Signature {
                    key_id: s.key_id,
                    signature: s.signature,
                })
                .collect(),
        })
    }
}

/// Why a signature could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddSignatureError {
    /// This key already signed the bundle; a second signature would not count.
    #[error(
        "key {key_id} has already signed this bundle; a second signature by the same key would not count\nHint: the second approver signs with their own key"
    )]
    AlreadySigned {
        /// The key.
        key_id: KeyId,
    },
    /// The block holds the most signatures the format allows.
    #[error("the bundle already carries {MAX_SIGNATURES} signatures, the most the format allows")]
    Full,
}

/// The exact bytes a signature covers (spec 6.2).
pub fn signing_input(manifest_bytes: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(SIGNING_CONTEXT.len() + manifest_bytes.len());
    input.extend_from_slice(SIGNING_CONTEXT);
    input.extend_from_slice(manifest_bytes);
    input
}

/// From the bundle spec, 8.4.1 and 8.4.2: "for each signature, in block order, whose key_id is
/// in P: verify it over the signing input; the first that fails ends verification
/// (signature-invalid). Then at least one signature is by a key in P (signer-unknown)".
/// Returns the keys whose signatures verified, in block order.
pub(crate) fn verify_signatures(
    block: &SignatureBlock,
    manifest_bytes: &[u8],
    policy: &TrustPolicy,
) -> Result<Vec<KeyId>, VerifyError> {
    let input = signing_input(manifest_bytes);
    let mut verified = Vec::new();
    for sig in block.signatures() {
        let Some(trusted) = policy.key(&sig.key_id) else {
            continue;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&sig.signature);
        trusted
            .public_key
            .verifying_key()
            .verify_strict(&input, &signature)
            .map_err(|_| VerifyError::SignatureInvalid { key_id: sig.key_id })?;
        verified.push(sig.key_id);
    }
    if verified.is_empty() {
        return Err(VerifyError::SignerUnknown {
            key_ids: block.signatures().iter().map(|s| s.key_id).collect(),
        });
    }
    Ok(verified)
}

/// Spec 8.7, the one threshold check for every bundle kind: counts the verified signers whose
/// key has the bundle's role, speaks for its source zone and is still valid at `now`. Each key
/// id counts once, whatever the block holds (spec 8.3 already refuses repeats).
pub(crate) fn check_threshold(
    verified: &[KeyId],
    manifest: &Manifest,
    policy: &TrustPolicy,
    now: OffsetDateTime,
) -> Result<Vec<KeyId>, VerifyError> {
    let required = policy.threshold(manifest.kind);
    let mut counted: Vec<KeyId> = Vec::new();
    let mut reasons: Vec<VerifyError> = Vec::new();
    for key_id in verified {
        let Some(key) = policy.key(key_id) else {
            continue;
        };
        if key.role.kind() != Some(manifest.kind) {
            reasons.push(VerifyError::SignerWrongRole {
                key_id: *key_id,
                role: key.role,
                kind: manifest.kind,
            });
        } else if !key.zones.contains(&manifest.source_zone) {
            reasons.push(VerifyError::SignerZoneNotAllowed {
                key_id: *key_id,
                zone: manifest.source_zone.clone(),
                allowed: key.zones.clone(),
            });
        } else if key.not_after.is_some_and(|end| now >= end) {
            reasons.push(VerifyError::KeyExpired {
                key_id: *key_id,
                not_after: key.not_after.unwrap_or(now),
                now,
            });
        } else if !counted.contains(key_id) {
            counted.push(*key_id);
        }
    }
    let valid = u32::try_from(counted.len()).unwrap_or(u32::MAX);
    if valid >= required {
        return Ok(counted);
    }
    // 8.7: "if at least one verified key did not count and all of them have the same reason,
    // refuse with that reason", whether or not other keys counted.
    let first_code = reasons.first().map(VerifyError::code);
    if first_code.is_some()
        && reasons.iter().all(|r| Some(r.code()) == first_code)
        && let Some(reason) = reasons.into_iter().next()
    {
        return Err(reason);
    }
    Err(VerifyError::ThresholdNotMet {
        kind: manifest.kind,
        required,
        valid,
    })
}
