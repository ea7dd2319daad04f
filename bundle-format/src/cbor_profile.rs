//! The CBOR profile of spec 5.1, checked on the raw bytes before anything is decoded, and small
//! read-only lookups into bytes that passed it (the probes of spec 8.3 and 8.5).
//!
//! Every rule here is one that serde and ciborium would otherwise decide for us, differently
//! from another implementation: ciborium keeps the last of two equal keys, reads a byte-string
//! key as a field name, skips tags, accepts any integer width and refuses map keys longer than
//! its 4 KiB scratch buffer. Checking the profile first makes the verdict the spec's, not the
//! library's.
//!
//! ```text
//! head = initial byte (major type in bits 7-5, additional information in bits 4-0) + argument
//!   ai 0..=23  the argument itself          ai 24, 25, 26, 27: 1, 2, 4, 8 argument bytes, BE
//!   ai 28..=30 reserved (not well-formed)   ai 31: indefinite length / break (refused)
//! ```
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

/// Why bytes break the CBOR profile of spec 5.1 (the detail of a `manifest-invalid` or
/// `signature-block-invalid` refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProfileError {
    /// Offset of the offending head or byte.
    pub(crate) offset: usize,
    /// Which rule of spec 5.1 it breaks.
    pub(crate) rule: String,
}

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.rule, self.offset)
    }
}

/// What the check learnt on the way, for the decoder.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Profile {
    /// Length of the longest map key, in bytes (the decoder's scratch buffer must hold it).
    pub(crate) longest_key: usize,
    /// How many data items the bytes hold: every map key and value, every array element, every
    /// nested item (spec 3, "data items in M").
    pub(crate) items: u64,
}

/// One decoded head.
#[derive(Debug, Clone, Copy)]
struct Head {
    major: u8,
    /// The argument: a value, a length or a count.
    arg: u64,
    /// Offset of the first byte after the head.
    next: usize,
}

/// From the bundle spec, 5.1.1-5.1.8: "exactly one well-formed data item; definite lengths;
/// the shortest head; major types 0-5 and false, true, null; text keys only; no two equal keys
/// in one map; UTF-8 text; nesting at most `max_cbor_depth`".
pub(crate) fn check(bytes: &[u8], max_depth: usize) -> Result<Profile, ProfileError> {
    let mut profile = Profile::default();
    let end = item(bytes, 0, 1, max_depth, &mut profile)?;
    if end != bytes.len() {
        return Err(ProfileError {
            offset: end,
            rule: format!(
                "{} bytes follow the data item",
                bytes.len().saturating_sub(end)
            ),
        });
    }
    Ok(profile)
}

fn fail<T>(offset: usize, rule: impl Into<String>) -> Result<T, ProfileError> {
    Err(ProfileError {
        offset,
        rule: rule.into(),
    })
}

/// Reads the head at `at`: well-formed, definite, shortest form.
fn head(bytes: &[u8], at: usize) -> Result<Head, ProfileError> {
    let Some(&initial) = bytes.get(at) else {
        return fail(at, "the CBOR data ends too early");
    };
    let major = initial >> 5;
    let ai = initial & 0x1f;
    let start = at.saturating_add(1);
    let (arg, next) = match ai {
        0..=23 => (u64::from(ai), start),
        24..=27 => {
            let len: usize = match ai {
                24 => 1,
                25 => 2,
                26 => 4,
                _ => 8,
            };
            let end = start.saturating_add(len);
            let Some(raw) = bytes.get(start..end) else {
                return fail(at, "the CBOR data ends too early");
            };
            let arg = raw.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            // 5.1.3: "the shortest head": no wider argument than the value needs.
            let shortest = match ai {
                24 => arg >= 24,
                25 => arg > 0xff,
                26 => arg > 0xffff,
                _ => arg > 0xffff_ffff,
            };
            // Major type 7 with ai 25-27 is a float, refused below whatever its value.
            if !shortest && major != 7 {
                return fail(at, "an integer or length is not in its shortest form");
            }
            (arg, end)
        }
        28..=30 => return fail(at, "reserved additional information (not well-formed CBOR)"),
        _ => return fail(at, "an indefinite length (or a break) is not allowed"),
    };
    Ok(Head { major, arg, next })
}

/// Checks the item at `at`, at nesting `depth` if it is an array or a map; returns its end.
fn item(
    bytes: &[u8],
    at: usize,
    depth: usize,
    max_depth: usize,
    profile: &mut Profile,
) -> Result<usize, ProfileError> {
    let h = head(bytes, at)?;
    profile.items = profile.items.saturating_add(1);
    match h.major {
        0 | 1 => Ok(h.next),
        2 | 3 => {
            let end = string_end(bytes, at, &h)?;
            if h.major == 3 {
                let text = bytes.get(h.next..end).unwrap_or_default();
                if std::str::from_utf8(text).is_err() {
                    return fail(at, "a text string is not UTF-8");
                }
            }
            Ok(end)
        }
        4 | 5 => {
            if depth > max_depth {
                return fail(
                    at,
                    format!("arrays and maps are nested deeper than the limit of {max_depth}"),
                );
            }
            let inner = depth.saturating_add(1);
            let mut pos = h.next;
            if h.major == 4 {
                for _ in 0..h.arg {
                    pos = item(bytes, pos, inner, max_depth, profile)?;
                }
                return Ok(pos);
            }
            // Keys are collected as (offset, length) pairs and sorted rather than hashed: 8
            // bytes per key whatever the count (a hash set of a million slices peaks at several
            // times that while it grows).
            // The count is the sender's word: reserve little, grow with what is really there.
            let mut keys: Vec<(u32, u32)> =
                Vec::with_capacity(usize::try_from(h.arg).unwrap_or(usize::MAX).min(64));
            for _ in 0..h.arg {
                let key = head(bytes, pos)?;
                // 5.1.5: "text strings as map keys, only".
                if key.major != 3 {
                    return fail(pos, "a map key is not a text string");
                }
                let key_end = item(bytes, pos, inner, max_depth, profile)?;
                let (Ok(start), Ok(len)) = (
                    u32::try_from(key.next),
                    u32::try_from(key_end.saturating_sub(key.next)),
                ) else {
                    return fail(pos, "the CBOR data is larger than 4 GiB");
                };
                profile.longest_key = profile.longest_key.max(len as usize);
                keys.push((start, len));
                pos = item(bytes, key_end, inner, max_depth, profile)?;
            }
            // 5.1.6: "no two equal keys in one map, in any map".
            let text = |&(start, len): &(u32, u32)| {
                let start = start as usize;
                bytes
                    .get(start..start.saturating_add(len as usize))
                    .unwrap_or_default()
            };
            keys.sort_unstable_by(|a, b| text(a).cmp(text(b)).then(a.0.cmp(&b.0)));
            if let Some(pair) = keys
                .windows(2)
                .find(|w| matches!(w, [a, b] if text(a) == text(b)))
                && let [_, second] = pair
            {
                let key = text(second);
                return fail(
                    second.0 as usize,
                    format!(
                        "the key {:?} appears twice in one map",
                        String::from_utf8_lossy(key.get(..key.len().min(64)).unwrap_or_default())
                    ),
                );
            }
            Ok(pos)
        }
        // 5.1.4: "major types 0 to 5 and the simple values false, true and null".
        6 => fail(at, "tags are not allowed"),
        _ => match bytes.get(at).map(|b| b & 0x1f) {
            Some(20..=22) => Ok(h.next),
            Some(25..=27) => fail(at, "floating-point values are not allowed"),
            _ => fail(
                at,
                "simple values other than false, true and null are not allowed",
            ),
        },
    }
}

/// End of the byte or text string whose head `h` starts at `at`.
fn string_end(bytes: &[u8], at: usize, h: &Head) -> Result<usize, ProfileError> {
    let len = usize::try_from(h.arg).unwrap_or(usize::MAX);
    match h.next.checked_add(len) {
        Some(end) if end <= bytes.len() => Ok(end),
        _ => fail(at, "the CBOR data ends too early"),
    }
}

/// End of the item at `at` in bytes that passed [`check`] (no depth limit: already checked).
fn skip(bytes: &[u8], at: usize) -> Option<usize> {
    let h = head(bytes, at).ok()?;
    match h.major {
        2 | 3 => string_end(bytes, at, &h).ok(),
        4 | 5 => {
            let items = if h.major == 5 {
                h.arg.checked_mul(2)?
            } else {
                h.arg
            };
            let mut pos = h.next;
            for _ in 0..items {
                pos = skip(bytes, pos)?;
            }
            Some(pos)
        }
        _ => Some(h.next),
    }
}

/// A lookup into one data item of bytes that passed [`check`]; every lookup answers `None`
/// when the item is not of the kind asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Item<'a> {
    /// The top-level item of `bytes`, which passed [`check`].
    pub(crate) fn top(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// The value of `key` if this is a map that has it.
    pub(crate) fn get(&self, key: &str) -> Option<Item<'a>> {
        let h = head(self.bytes, self.at).ok()?;
        if h.major != 5 {
            return None;
        }
        let mut pos = h.next;
        for _ in 0..h.arg {
            let key_end = skip(self.bytes, pos)?;
            let found = Item {
                bytes: self.bytes,
                at: pos,
            }
            .text()
                == Some(key);
            if found {
                return Some(Item {
                    bytes: self.bytes,
                    at: key_end,
                });
            }
            pos = skip(self.bytes, key_end)?;
        }
        None
    }

    /// The elements if this is an array.
    pub(crate) fn elements(&self) -> Option<Vec<Item<'a>>> {
        let h = head(self.bytes, self.at).ok()?;
        if h.major != 4 {
            return None;
        }
        let mut out = Vec::new();
        let mut pos = h.next;
        for _ in 0..h.arg {
            out.push(Item {
                bytes: self.bytes,
                at: pos,
            });
            pos = skip(self.bytes, pos)?;
        }
        Some(out)
    }

    /// The value if this is an unsigned integer.
    pub(crate) fn uint(&self) -> Option<u64> {
        let h = head(self.bytes, self.at).ok()?;
        (h.major == 0).then_some(h.arg)
    }

    /// The text if this is a text string.
    pub(crate) fn text(&self) -> Option<&'a str> {
        let h = head(self.bytes, self.at).ok()?;
        if h.major != 3 {
            return None;
        }
        let end = string_end(self.bytes, self.at, &h).ok()?;
        std::str::from_utf8(self.bytes.get(h.next..end)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(bytes: &[u8]) -> Option<String> {
        check(bytes, 16).err().map(|e| e.rule)
    }

    #[test]
    fn accepts_the_profile() {
        // {"a": [1, -1, h'00', "t", true, false, null, {}]}
        let ok = [
            0xa1, 0x61, b'a', 0x88, 0x01, 0x20, 0x41, 0x00, 0x61, b't', 0xf5, 0xf4, 0xf6, 0xa0,
        ];
        assert_eq!(rule(&ok), None);
        assert_eq!(rule(&[0x18, 24]), None);
        assert_eq!(rule(&[0x19, 0x01, 0x00]), None);
    }

    #[test]
    fn refuses_every_other_choice() {
        let cases: [(&[u8], &str); 12] = [
            (&[0x18, 23], "shortest"),
            (&[0x19, 0x00, 0xff], "shortest"),
            (&[0x5f, 0x41, 0x00, 0xff], "indefinite"),
            (&[0xbf, 0xff], "indefinite"),
            (&[0xc1, 0x01], "tags"),
            (&[0xf9, 0x3c, 0x00], "floating"),
            (&[0xf7], "simple"),
            (&[0xa1, 0x41, b'a', 0x01], "not a text string"),
            (&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02], "twice"),
            (&[0x62, 0xc3, 0x28], "UTF-8"),
            (&[0x01, 0x01], "follow"),
            (&[0x1c], "reserved"),
        ];
        for (bytes, expected) in cases {
            let found = rule(bytes).unwrap_or_default();
            assert!(found.contains(expected), "{bytes:02x?}: {found}");
        }
        // Duplicates are found in nested maps too, and in maps inside arrays.
        let nested = [
            0xa1, 0x61, b'x', 0x81, 0xa2, 0x61, b'k', 0x00, 0x61, b'k', 0x00,
        ];
        assert!(rule(&nested).unwrap_or_default().contains("twice"));
    }

    #[test]
    fn depth_counts_arrays_and_maps_from_one() {
        let nest = |n: usize| {
            let mut b = vec![0x81; n.saturating_sub(1)];
            b.push(0x80);
            b
        };
        assert_eq!(check(&nest(16), 16).err(), None);
        assert!(check(&nest(17), 16).is_err());
        // A scalar inside the deepest container does not count.
        let mut b = vec![0x81; 16];
        b.push(0x01);
        assert_eq!(check(&b, 16).err(), None);
    }

    #[test]
    fn long_keys_are_measured_and_found() {
        let key = "k".repeat(70_000);
        let mut b = vec![0xa2, 0x7a];
        b.extend_from_slice(&(key.len() as u32).to_be_bytes());
        b.extend_from_slice(key.as_bytes());
        b.push(0xf6);
        b.extend_from_slice(&[0x66, b'f', b'o', b'r', b'm', b'a', b't', 0x01]);
        let profile = check(&b, 16).map_err(|e| e.rule);
        assert_eq!(profile.map(|p| p.longest_key), Ok(70_000));
        assert_eq!(Item::top(&b).get("format").and_then(|f| f.uint()), Some(1));
        assert!(Item::top(&b).get("missing").is_none());
    }
}
