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

/// Decodes `bytes` as `T`, refusing nesting deeper than `max_depth` and any trailing byte.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    max_depth: usize,
) -> Result<T, DecodeError> {
    let mut reader = bytes;
    let value =
        ciborium::de::from_reader_with_recursion_limit(&mut reader, max_depth).map_err(|err| {
            match err {
                ciborium::de::Error::RecursionLimitExceeded => DecodeError(format!(
                    "CBOR nesting is deeper than the limit of {max_depth}"
                )),
                ciborium::de::Error::Syntax(offset) => {
                    DecodeError(format!("CBOR syntax error at byte {offset}"))
                }
                ciborium::de::Error::Semantic(Some(offset), msg) => {
                    DecodeError(format!("{msg} (at byte {offset})"))
                }
                ciborium::de::Error::Semantic(None, msg) => DecodeError(msg),
                ciborium::de::Error::Io(_) => DecodeError("CBOR data ends too early".to_owned()),
            }
        })?;
    if !reader.is_empty() {
        return Err(DecodeError(format!(
            "{} bytes follow the CBOR item",
            reader.len()
        )));
    }
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
