//! Entry points for the fuzz targets in `fuzz/` (built only with `--cfg fuzzing`, which
//! cargo-fuzz sets). Each must never panic, whatever the bytes.

use time::OffsetDateTime;

use crate::keys::SigningKey;
use crate::limits::Limits;
use crate::names::{EntryPath, ZoneId};
use crate::policy::{KeyRole, Thresholds, TrustPolicy, TrustedKey};
use crate::verify::{Discard, verify_bundle};

/// Seed of the release key that signs the test vectors (see `tests/vectors/README.md`), so
/// that seeds from the corpus get past the signature check and into the payload.
pub const VECTOR_RELEASE_KEY_SEED: [u8; 32] = [1; 32];

/// The whole verifier on arbitrary bytes, against a policy that trusts the vectors' key.
pub fn verify(data: &[u8]) {
    let Ok(zone) = ZoneId::new("pci") else { return };
    let Ok(dev) = ZoneId::new("dev") else { return };
    let key = SigningKey::from_seed(&VECTOR_RELEASE_KEY_SEED).public_key();
    let policy = TrustPolicy::new(
        zone,
        Thresholds::default(),
        Limits {
            max_total_bytes: 64 << 20,
            ..Limits::default()
        },
        vec![TrustedKey {
            id: key.key_id(),
            public_key: key,
            role: KeyRole::Release,
            zones: vec![dev],
            not_after: None,
            comment: None,
        }],
    );
    let now =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let _ = verify_bundle(data, &policy, now, &mut Discard, &mut |_| {});
}

/// Manifest decoding and validation on arbitrary bytes.
pub fn decode_manifest(data: &[u8]) {
    let _ = crate::verify::decode_manifest_with(data, &Limits::default());
}

/// Entry path validation on arbitrary text.
pub fn entry_path(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(path) = EntryPath::new(text) {
            // A valid path must always fit a ustar header.
            assert!(crate::container::ustar::split_path(path.as_str()).is_some());
        }
    }
}

/// The pre-trust probe and the item count on arbitrary bytes (spec 15.1, 3): both must end,
/// never panic, and the probe must find nothing a well-formed prefix does not hold.
pub fn pretrust(data: &[u8]) {
    let head = crate::pretrust::PretrustHead::of(data);
    assert_eq!(head.manifest_bytes, data.len() as u64);
    if let Ok(profile) = crate::cbor_profile::check(data, 16) {
        // Every item takes at least one byte.
        assert!(profile.items <= data.len() as u64);
    }
}
