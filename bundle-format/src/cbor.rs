//! CBOR encoding and bounded decoding (spec 5.1): the only place that calls ciborium.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// Why CBOR bytes could not be decoded into the expected structure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DecodeError(pub(crate) String);

/// Encodes `value`; our model types serialize in field order with definite lengths, so the
/// same value always gives the same bytes.
pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail and our model types have no map keys that CBOR refuses.
    if let Err(err) = ciborium::ser::into_writer(value, &mut out) {
        unreachable!("encoding a Zonebridge model value to CBOR failed: {err}");
    }
    out
}

/// Decodes `bytes` as `T`: first the CBOR profile of spec 5.1 (well-formed, definite, shortest
/// form, no tags, floats or other simple values, text keys only, no key twice in a map, UTF-8,
/// nesting at most `max_depth`, nothing after the item), then the structure of `T`.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    max_depth: usize,
) -> Result<T, DecodeError> {
    let profile =
        crate::cbor_profile::check(bytes, max_depth).map_err(|err| DecodeError(err.to_string()))?;
    decode_profiled(bytes, &profile)
}

/// Decodes `bytes`, which passed the profile check that returned `profile`, as `T` (the
/// manifest's verification checks the profile itself, to count its items, and walks it once).
pub(crate) fn decode_profiled<T: DeserializeOwned>(
    bytes: &[u8],
    profile: &crate::cbor_profile::Profile,
) -> Result<T, DecodeError> {
    // ciborium reads a map key only if it fits its scratch buffer (4 KiB by default); spec 5.1
    // says unknown keys of any length are ignored, so the buffer holds the longest key. Its
    // own recursion limit (256) is never reached: the profile check bounds the nesting first.
    let mut scratch = vec![0u8; profile.longest_key.max(4096)];
    let value =
        ciborium::de::from_reader_with_buffer(bytes, &mut scratch).map_err(|err| match err {
            ciborium::de::Error::RecursionLimitExceeded => {
                DecodeError("CBOR nesting is deeper than ciborium's own limit".to_owned())
            }
            ciborium::de::Error::Syntax(offset) => {
                DecodeError(format!("CBOR syntax error at byte {offset}"))
            }
            ciborium::de::Error::Semantic(Some(offset), msg) => {
                DecodeError(format!("{msg} (at byte {offset})"))
            }
            ciborium::de::Error::Semantic(None, msg) => DecodeError(msg),
            ciborium::de::Error::Io(_) => DecodeError("CBOR data ends too early".to_owned()),
        })?;
    Ok(value)
}

/// A CBOR byte string of any length (serde's `Vec<u8>` would be an array of integers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ByteBuf(pub(crate) Vec<u8>);

impl<'de> Deserialize<'de> for ByteBuf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ByteBuf;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<ByteBuf, E> {
                Ok(ByteBuf(v))
            }
        }
        deserializer.deserialize_byte_buf(Visitor)
    }
}
