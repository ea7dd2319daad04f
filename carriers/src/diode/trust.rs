//! Who may announce a transfer (docs/diode.md, section 4): the receiver's trust policy, the
//! same file that verifies bundles. A header counts only if a key of the policy signed it
//! whose role is `diode` or the bundle's kind, that may speak for the source zone and has not expired,
//! and only if the bundle is meant for this zone. The order is cheap checks first: a header
//! from a key the policy does not list is dropped without verifying its signature.

use bundle_format::keys::SigningDomain;
use bundle_format::names::KeyId;
use bundle_format::policy::{KeyRole, TrustPolicy};
use time::OffsetDateTime;

use super::announce::{BodyError, Heartbeat, TransferHeader};
use super::wire::Signed;

/// Why a signed datagram was not believed. Every case is dropped, counted and (rate-limited)
/// logged; none stops the receiver.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// The body does not decode.
    #[error("unreadable body: {0}")]
    Body(#[from] BodyError),
    /// The policy does not list the signing key.
    #[error("signed by key {0}, which the trust policy does not list")]
    UnknownKey(KeyId),
    /// The signature does not verify.
    #[error("the signature of key {0} does not verify (forged or damaged)")]
    BadSignature(KeyId),
    /// The key signs another kind of bundle.
    #[error("key {key} has role {role} and may not announce {kind} bundles")]
    WrongRole {
        /// The key.
        key: KeyId,
        /// Its role.
        role: &'static str,
        /// The bundle's kind.
        kind: &'static str,
    },
    /// The key may not speak for the source zone.
    #[error("key {key} may not speak for zone {zone}")]
    ZoneNotAllowed {
        /// The key.
        key: KeyId,
        /// The header's source zone.
        zone: String,
    },
    /// The key's validity ended.
    #[error("key {0} has expired (its not_after is past)")]
    Expired(KeyId),
    /// The bundle is for another zone.
    #[error("the transfer is for zone {target}, and this receiver is zone {ours}")]
    WrongZone {
        /// The header's target zone.
        target: String,
        /// The policy's zone.
        ours: String,
    },
}

fn verify(
    policy: &TrustPolicy,
    key_id: KeyId,
    domain: SigningDomain,
    signed: &Signed<'_>,
) -> Result<(), Untrusted> {
    let key = policy.key(&key_id).ok_or(Untrusted::UnknownKey(key_id))?;
    if !key
        .public_key
        .verify_in(domain, signed.body, signed.signature)
    {
        return Err(Untrusted::BadSignature(key_id));
    }
    Ok(())
}

fn expired(policy: &TrustPolicy, key_id: &KeyId, now: OffsetDateTime) -> bool {
    policy
        .key(key_id)
        .and_then(|k| k.not_after)
        .is_some_and(|end| now >= end)
}

/// Decodes a header datagram's body and decides whether `policy` lets its signer announce
/// it, at `now`.
pub fn authenticate_header(
    policy: &TrustPolicy,
    signed: &Signed<'_>,
    now: OffsetDateTime,
) -> Result<TransferHeader, Untrusted> {
    let header = TransferHeader::decode(signed.body)?;
    verify(policy, header.key_id, SigningDomain::DiodeHeader, signed)?;
    let key = policy
        .key(&header.key_id)
        .ok_or(Untrusted::UnknownKey(header.key_id))?;
    if key.role != KeyRole::Diode && key.role.kind() != Some(header.channel.kind) {
        return Err(Untrusted::WrongRole {
            key: header.key_id,
            role: key.role.as_str(),
            kind: header.channel.kind.as_str(),
        });
    }
    if !key.zones.contains(&header.channel.source) {
        return Err(Untrusted::ZoneNotAllowed {
            key: header.key_id,
            zone: header.channel.source.to_string(),
        });
    }
    if expired(policy, &header.key_id, now) {
        return Err(Untrusted::Expired(header.key_id));
    }
    if &header.channel.target != policy.zone() {
        return Err(Untrusted::WrongZone {
            target: header.channel.target.to_string(),
            ours: policy.zone().to_string(),
        });
    }
    Ok(header)
}

/// Decodes a heartbeat and checks that a key of `policy` (any role, not expired) signed it.
pub fn authenticate_heartbeat(
    policy: &TrustPolicy,
    signed: &Signed<'_>,
    now: OffsetDateTime,
) -> Result<Heartbeat, Untrusted> {
    let beat = Heartbeat::decode(signed.body)?;
    verify(policy, beat.key_id, SigningDomain::DiodeHeartbeat, signed)?;
    if expired(policy, &beat.key_id, now) {
        return Err(Untrusted::Expired(beat.key_id));
    }
    Ok(beat)
}
