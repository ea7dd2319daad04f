//! Counting a manifest's CBOR data items before it is decoded (spec 3, "data items in M"), so
//! that what the decoded manifest takes in memory is bounded by the manifest limit and not by
//! how densely an author packed it: one empty text string is 1 byte of CBOR but at least
//! 24 bytes once decoded, so 8 MiB of them would take 200 MiB and more.
//!
//! ```text
//! limit = max_manifest_bytes / 8        (1,048,576 items for the default 8 MiB)
//! count = every data item: each map key and value, each array element, each nested item;
//!         a tag is not an item of its own (the item it tags is), a break is none
//! ```
//! The count walks the bytes once, with a stack no deeper than the depth limit, and never
//! decodes or copies anything. Bytes that are not well-formed CBOR end the count where they
//! start: the decoder that runs next refuses them with its own, precise error.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

/// On average, at least this many bytes of M per data item (spec 3).
pub const MIN_BYTES_PER_ITEM: u64 = 8;

/// The most data items a manifest may hold under a manifest limit of `max_manifest_bytes`.
pub fn max_items(max_manifest_bytes: u64) -> u64 {
    max_manifest_bytes / MIN_BYTES_PER_ITEM
}

/// What remains of one open array or map: items still expected, or `None` for an indefinite
/// length (ended by a break).
type Open = Option<u64>;

/// Counts the data items in `bytes` (see the module documentation); nesting deeper than
/// `max_depth` ends the count there (the decoder refuses it).
pub(crate) fn count(bytes: &[u8], max_depth: usize) -> u64 {
    let mut pos = 0usize;
    let mut items: u64 = 0;
    let mut stack: Vec<Open> = Vec::with_capacity(max_depth.min(256));
    loop {
        // Close every container whose items are all read.
        while let Some(Some(0)) = stack.last() {
            stack.pop();
        }
        if stack.is_empty() && items > 0 {
            return items;
        }
        let Some(&initial) = bytes.get(pos) else {
            return items;
        };
        pos = pos.saturating_add(1);
        let major = initial >> 5;
        let info = initial & 0x1f;
        if initial == 0xff {
            // A break ends the innermost indefinite container.
            match stack.pop() {
                Some(None) => continue,
                _ => return items,
            }
        }
        let argument = match info {
            0..=23 => Some(u64::from(info)),
            24..=27 => {
                let len: usize = match info {
                    24 => 1,
                    25 => 2,
                    26 => 4,
                    _ => 8,
                };
                let Some(raw) = bytes.get(pos..pos.saturating_add(len)) else {
                    return items;
                };
                pos = pos.saturating_add(len);
                let mut be = [0u8; 8];
                if let Some(tail) = be.get_mut(8usize.saturating_sub(len)..) {
                    tail.copy_from_slice(raw);
                }
                Some(u64::from_be_bytes(be))
            }
            31 => None,
            _ => return items,
        };
        if major == 6 {
            // A tag: the item it tags follows and is the one counted.
            continue;
        }
        items = items.saturating_add(1);
        if let Some(Some(left)) = stack.last_mut() {
            *left = left.saturating_sub(1);
        }
        match (major, argument) {
            (2 | 3, Some(len)) => {
                let Some(end) = usize::try_from(len)
                    .ok()
                    .and_then(|len| pos.checked_add(len))
                    .filter(|&end| end <= bytes.len())
                else {
                    return items;
                };
                pos = end;
            }
            // An indefinite string is a sequence of definite chunks and a break.
            (2 | 3, None) | (4, None) | (5, None) => {
                if stack.len() >= max_depth {
                    return items;
                }
                stack.push(None);
            }
            (4, Some(n)) | (5, Some(n)) => {
                let n = if major == 5 { n.saturating_mul(2) } else { n };
                if n > 0 {
                    if stack.len() >= max_depth {
                        return items;
                    }
                    stack.push(Some(n));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(value: &impl serde::Serialize) -> Vec<u8> {
        crate::cbor::encode(value)
    }

    #[test]
    fn counts_every_item_once() {
        assert_eq!(count(&cbor(&1u8), 16), 1);
        assert_eq!(count(&cbor(&"text"), 16), 1);
        assert_eq!(count(&cbor(&vec![1u8, 2, 3]), 16), 4);
        assert_eq!(count(&cbor(&Vec::<u8>::new()), 16), 1);
        let map = std::collections::BTreeMap::from([("a", vec!["x", "y"]), ("b", vec![])]);
        // the map, 2 keys, 2 arrays, 2 strings
        assert_eq!(count(&cbor(&map), 16), 7);
    }

    #[test]
    fn counts_indefinite_lengths_and_tags() {
        // [_ 1, [2], "ab"(_ "a" "b")] with a tag on 1
        let bytes = [
            0x9f, 0xc1, 0x01, 0x81, 0x02, 0x7f, 0x61, b'a', 0x61, b'b', 0xff, 0xff,
        ];
        // array, 1, [..], 2, indefinite text, its two chunks
        assert_eq!(count(&bytes, 16), 7);
    }

    #[test]
    fn a_manifest_counts_as_its_items() -> Result<(), crate::names::NameError> {
        let manifest = crate::manifest::test_release(Vec::new())?;
        // 10 keys and values at the top, plus release's 6 keys, 6 values and two arrays' ends
        let items = count(&manifest.encode(), 16);
        assert!(items > 20 && items < 40, "{items}");
        Ok(())
    }

    #[test]
    fn malformed_bytes_end_the_count() {
        // A string longer than the input, an array of more items than there are, a reserved
        // additional-information value: each counted up to where it breaks.
        assert_eq!(count(&[0x7a, 0xff, 0xff, 0xff, 0xff], 16), 1);
        assert_eq!(
            count(
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0],
                16
            ),
            2
        );
        assert_eq!(count(&[0x82, 0x1c], 16), 1);
        // Deeper than allowed: the count stops at the limit.
        assert_eq!(count(&[0x81; 20], 4), 5);
    }

    #[test]
    fn dense_input_is_counted_without_allocating_per_item() {
        // 8 MiB of empty strings in one array: 8 Mi + 1 items, far over the default limit.
        let mut bytes = vec![0x9a, 0x00, 0x7f, 0xff, 0xf0];
        bytes.resize(bytes.len() + 0x007f_fff0, 0x60);
        assert_eq!(count(&bytes, 16), 0x007f_fff1);
        assert!(count(&bytes, 16) > max_items(8 * 1024 * 1024));
    }
}
