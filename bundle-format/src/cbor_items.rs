//! The limit on a manifest's CBOR data items (spec 3, "data items in M"), so that what the
//! decoded manifest takes in memory is bounded by the manifest limit and not by how densely an
//! author packed it: one empty text string is 1 byte of CBOR but at least 24 bytes once
//! decoded, so 8 MiB of them would take 200 MiB and more.
//!
//! ```text
//! limit = max_manifest_bytes / 8        (1,048,576 items for the default 8 MiB)
//! count = every data item: each map key and value, each array element, each nested item
//! ```
//! The items are counted by the walk that checks the CBOR profile (spec 5.1, 8.5.1), which
//! never decodes or copies anything.

/// On average, at least this many bytes of M per data item (spec 3).
pub const MIN_BYTES_PER_ITEM: u64 = 8;

/// The most data items a manifest may hold under a manifest limit of `max_manifest_bytes`.
pub fn max_items(max_manifest_bytes: u64) -> u64 {
    max_manifest_bytes / MIN_BYTES_PER_ITEM
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor_profile::check;

    fn items(bytes: &[u8]) -> Option<u64> {
        check(bytes, 16).ok().map(|p| p.items)
    }

    fn cbor(value: &impl serde::Serialize) -> Vec<u8> {
        crate::cbor::encode(value)
    }

    #[test]
    fn every_item_counts_once() {
        assert_eq!(items(&cbor(&1u8)), Some(1));
        assert_eq!(items(&cbor(&"text")), Some(1));
        assert_eq!(items(&cbor(&vec![1u8, 2, 3])), Some(4));
        assert_eq!(items(&cbor(&Vec::<u8>::new())), Some(1));
        let map = std::collections::BTreeMap::from([("a", vec!["x", "y"]), ("b", vec![])]);
        // the map, 2 keys, 2 arrays, 2 strings
        assert_eq!(items(&cbor(&map)), Some(7));
    }

    #[test]
    fn a_manifest_counts_as_its_items() -> Result<(), crate::names::NameError> {
        let manifest = crate::manifest::test_release(Vec::new())?;
        let found = items(&manifest.encode()).unwrap_or_default();
        assert!(found > 20 && found < 40, "{found}");
        Ok(())
    }

    #[test]
    fn dense_input_is_counted_far_over_the_limit() {
        // 8 MiB of empty strings in one array: 8 Mi + 1 items, far over the default limit.
        let mut bytes = vec![0x9a, 0x00, 0x7f, 0xff, 0xf0];
        bytes.resize(bytes.len() + 0x007f_fff0, 0x60);
        assert_eq!(items(&bytes), Some(0x007f_fff1));
        assert!(0x007f_fff1 > max_items(8 * 1024 * 1024));
    }
}
