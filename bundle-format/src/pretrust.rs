//! What a receiver may know of a bundle BEFORE trusting it (spec 15.1): the manifest's digest
//! and size, and a bounded probe of a few top-level fields. Everything here is UNVERIFIED:
//! anyone could have written it. It exists so that a refusal can be recorded and explained
//! (`bundle-refused-unverified` in the ledger, "claims to be a result bundle") without decoding
//! an unauthenticated manifest.
//!
//! The probe never allocates and does bounded work whatever the manifest holds:
//!
//! ```text
//! M (at most max_manifest_bytes, already in memory for the signature check)
//!   looks at:  the first PROBE_MAX_BYTES bytes only
//!   reads:     the top-level map's keys, at most PROBE_MAX_KEYS of them
//!   skips:     every other value by counting items (no stack, no copy),
//!              at most PROBE_MAX_ITEMS items in all
//!   keeps:     kind, source_zone, target_zone, sequence (each only if well formed)
//! ```
//! Anything it does not understand (indefinite lengths, tags, a cut-off value) ends the probe
//! with what it found so far; it never refuses anything: verdicts are section 8's alone.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use crate::manifest::BundleKind;
use crate::names::{Digest, ZoneId};

/// The probe looks at no more than this many bytes of the manifest.
pub const PROBE_MAX_BYTES: usize = 64 * 1024;
/// The probe reads no more than this many top-level keys.
pub const PROBE_MAX_KEYS: usize = 64;
/// The probe examines no more than this many CBOR items in all (keys, values and the items
/// inside skipped values).
pub const PROBE_MAX_ITEMS: usize = 4096;

/// A bundle's head as a receiver sees it before any trust decision (spec 15.1): UNVERIFIED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PretrustHead {
    /// SHA-256 of the manifest bytes: the digest the bundle would have if it were genuine.
    pub digest: Digest,
    /// The manifest's size in bytes.
    pub manifest_bytes: u64,
    /// What a bounded scan of the manifest's top level found; UNVERIFIED.
    pub claims: Claims,
}

impl PretrustHead {
    /// The digest, size and bounded probe of `manifest` (bytes exactly as read).
    pub fn of(manifest: &[u8]) -> Self {
        Self {
            digest: Digest::of(manifest),
            manifest_bytes: manifest.len() as u64,
            claims: probe(manifest),
        }
    }
}

/// A few top-level fields of a manifest, as it claims them: UNVERIFIED, each `None` when the
/// probe did not find it well formed within its bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// The `kind` it claims.
    pub kind: Option<BundleKind>,
    /// The `source_zone` it claims (a valid zone id, spec 2.1).
    pub source_zone: Option<ZoneId>,
    /// The `target_zone` it claims (a valid zone id, spec 2.1).
    pub target_zone: Option<ZoneId>,
    /// The `sequence` it claims.
    pub sequence: Option<u64>,
}

/// Scans the top-level map of `manifest` for the fields of [`Claims`], within the bounds in
/// the module documentation.
pub fn probe(manifest: &[u8]) -> Claims {
    let window = manifest.get(..PROBE_MAX_BYTES).unwrap_or(manifest);
    let mut scan = Scan {
        bytes: window,
        pos: 0,
        items: 0,
    };
    let mut claims = Claims::default();
    let Some(Head::Map(pairs)) = scan.head() else {
        return claims;
    };
    for _ in 0..pairs.min(PROBE_MAX_KEYS as u64) {
        let Some(Head::Text(len)) = scan.head() else {
            return claims;
        };
        let Some(key) = scan.take(len) else {
            return claims;
        };
        let found = match key {
            b"kind" => scan.text().map(|text| match text {
                b"release" => Found::Kind(BundleKind::Release),
                b"result" => Found::Kind(BundleKind::Result),
                _ => Found::Nothing,
            }),
            b"source_zone" | b"target_zone" => scan.text().map(|text| {
                std::str::from_utf8(text)
                    .ok()
                    .and_then(|text| ZoneId::new(text).ok())
                    .map_or(Found::Nothing, |zone| {
                        if key == b"source_zone" {
                            Found::Source(zone)
                        } else {
                            Found::Target(zone)
                        }
                    })
            }),
            b"sequence" => match scan.head() {
                Some(Head::Unsigned(n)) => Some(Found::Sequence(n)),
                Some(other) => scan.skip_rest(other).then_some(Found::Nothing),
                None => None,
            },
            _ => scan.skip().then_some(Found::Nothing),
        };
        match found {
            None => return claims,
            Some(Found::Kind(kind)) => claims.kind = Some(kind),
            Some(Found::Source(zone)) => claims.source_zone = Some(zone),
            Some(Found::Target(zone)) => claims.target_zone = Some(zone),
            Some(Found::Sequence(n)) => claims.sequence = Some(n),
            Some(Found::Nothing) => {}
        }
    }
    claims
}

enum Found {
    Kind(BundleKind),
    Source(ZoneId),
    Target(ZoneId),
    Sequence(u64),
    Nothing,
}

/// One CBOR item's head (RFC 8949, 3): what the probe needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Unsigned(u64),
    /// Negative integers, simple values and floats: nothing follows the head.
    Scalar,
    Bytes(u64),
    Text(u64),
    Array(u64),
    Map(u64),
}

/// A cursor over the bytes with the item budget; every method returns `None` (or `false`) when
/// the input ends, the budget runs out, or the encoding is one the probe does not follow.
struct Scan<'a> {
    bytes: &'a [u8],
    pos: usize,
    items: usize,
}

impl<'a> Scan<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.pos)?;
        self.pos = self.pos.checked_add(1)?;
        Some(byte)
    }

    fn take(&mut self, len: u64) -> Option<&'a [u8]> {
        let len = usize::try_from(len).ok()?;
        let end = self.pos.checked_add(len)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    /// The next item's head; counts it against the budget.
    fn head(&mut self) -> Option<Head> {
        self.items = self.items.checked_add(1)?;
        if self.items > PROBE_MAX_ITEMS {
            return None;
        }
        let initial = self.byte()?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let argument = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.take(2)?.try_into().ok()?)),
            26 => u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?)),
            27 => u64::from_be_bytes(self.take(8)?.try_into().ok()?),
            // Reserved values and indefinite lengths: the probe stops here.
            _ => return None,
        };
        match major {
            0 => Some(Head::Unsigned(argument)),
            1 | 7 => Some(Head::Scalar),
            2 => Some(Head::Bytes(argument)),
            3 => Some(Head::Text(argument)),
            4 => Some(Head::Array(argument)),
            5 => Some(Head::Map(argument)),
            // Tags: the probe does not follow them.
            _ => None,
        }
    }

    /// The next item if it is a text string (its bytes), skipping it otherwise.
    fn text(&mut self) -> Option<&'a [u8]> {
        match self.head()? {
            Head::Text(len) => self.take(len),
            other => {
                if self.skip_rest(other) {
                    Some(&[])
                } else {
                    None
                }
            }
        }
    }

    /// Skips the next item, whole.
    fn skip(&mut self) -> bool {
        match self.head() {
            Some(head) => self.skip_rest(head),
            None => false,
        }
    }

    /// Skips what follows `head`: its bytes, or its nested items, counted without a stack
    /// (definite lengths only, so "items still to skip" is all the state needed).
    fn skip_rest(&mut self, head: Head) -> bool {
        let mut pending: u64 = 0;
        let mut head = head;
        loop {
            let more = match head {
                Head::Unsigned(_) | Head::Scalar => Some(0),
                Head::Bytes(len) | Head::Text(len) => self.take(len).map(|_| 0),
                Head::Array(n) => Some(n),
                Head::Map(n) => n.checked_mul(2),
            };
            let Some(total) = more.and_then(|more| pending.checked_add(more)) else {
                return false;
            };
            pending = total;
            if pending == 0 {
                return true;
            }
            pending = pending.saturating_sub(1);
            match self.head() {
                Some(next) => head = next,
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::test_release;

    #[test]
    fn a_genuine_manifest_gives_its_top_level_claims() -> Result<(), crate::names::NameError> {
        let manifest = test_release(Vec::new())?;
        let head = PretrustHead::of(&manifest.encode());
        assert_eq!(head.digest, Digest::of(&manifest.encode()));
        assert_eq!(head.claims.kind, Some(BundleKind::Release));
        assert_eq!(head.claims.source_zone, Some(ZoneId::new("dev")?));
        assert_eq!(head.claims.target_zone, Some(ZoneId::new("pci")?));
        assert_eq!(head.claims.sequence, Some(1));
        Ok(())
    }

    #[test]
    fn what_is_not_cbor_gives_no_claims() {
        for bytes in [&b""[..], b"not cbor at all", &[0xff; 100], &[0xbf, 0x64]] {
            assert_eq!(probe(bytes), Claims::default(), "{bytes:?}");
        }
    }

    /// `{ "x": <value>, "kind": "result" }` encoded by hand.
    fn after(value: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xa2, 0x61, b'x'];
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\x64kind\x66result");
        bytes
    }

    #[test]
    fn skipped_values_are_stepped_over_without_decoding() {
        // Nested arrays and maps, byte and text strings, integers before the field.
        let nested = [0x82, 0xa1, 0x61, b'a', 0x83, 1, 2, 0x43, 1, 2, 3, 0x20];
        assert_eq!(probe(&after(&nested)).kind, Some(BundleKind::Result));
        // A text string that claims more bytes than there are: the probe stops, finds nothing.
        assert_eq!(
            probe(&after(&[0x7b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])).kind,
            None
        );
        // An array claiming 2^64-1 items: the item budget ends the probe.
        let huge = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(probe(&after(&huge)).kind, None);
        // Indefinite lengths and tags are not followed.
        assert_eq!(probe(&after(&[0x9f, 0xff])).kind, None);
        assert_eq!(probe(&after(&[0xc1, 0x00])).kind, None);
    }

    #[test]
    fn the_probe_looks_no_further_than_its_bounds() {
        // The field after PROBE_MAX_ITEMS small items is not found.
        let mut many = vec![0x99];
        many.extend_from_slice(&(PROBE_MAX_ITEMS as u16).to_be_bytes());
        many.extend(std::iter::repeat_n(0u8, PROBE_MAX_ITEMS));
        assert_eq!(probe(&after(&many)).kind, None);
        // The field after PROBE_MAX_BYTES of one byte string is not found.
        let mut long = vec![0x5a];
        long.extend_from_slice(&(PROBE_MAX_BYTES as u32).to_be_bytes());
        long.extend(std::iter::repeat_n(0u8, PROBE_MAX_BYTES));
        assert_eq!(probe(&after(&long)).kind, None);
        // Within the bounds it is.
        let mut fits = vec![0x59, 0x10, 0x00];
        fits.extend(std::iter::repeat_n(0u8, 0x1000));
        assert_eq!(probe(&after(&fits)).kind, Some(BundleKind::Result));
    }

    #[test]
    fn malformed_claims_are_left_out() {
        // kind not a known word, zones not valid zone ids, sequence not an unsigned integer.
        let bytes = [
            &[0xa4][..],
            b"\x64kind\x65other",
            b"\x6bsource_zone\x62..",
            b"\x6btarget_zone\x01",
            b"\x68sequence\x20",
        ]
        .concat();
        assert_eq!(probe(&bytes), Claims::default());
    }
}
