//! ustar records (spec 4.3): deterministic headers on the writer side, a strict parser on the
//! reader side.
//!
//! Header layout (offsets and lengths in bytes, POSIX.1-1988 ustar):
//!
//! ```text
//!   0 name[100]   100 mode[8]   108 uid[8]   116 gid[8]   124 size[12]   136 mtime[12]
//! 148 chksum[8]   156 typeflag  157 linkname[100]   257 magic[6] "ustar\0"   263 version[2] "00"
//! 265 uname[32]   297 gname[32] 329 devmajor[8]     337 devminor[8]          345 prefix[155]
//! ```

/// Size of one tar block: headers, padding and the end marker are counted in blocks.
pub(crate) const BLOCK: usize = 512;

/// Splits `path` into the ustar (prefix, name) pair, or `None` if it cannot be stored.
///
/// From the bundle spec, 4.3: a path of at most 100 bytes goes in `name` alone; a longer one is
/// split at a `/` so that the part before it fits `prefix` (155) and the part after fits `name`.
pub(crate) fn split_path(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    // The rightmost split keeps the longest prefix, as tar(1) does; any valid split works.
    path.char_indices()
        .filter(|&(i, c)| c == '/' && i > 0 && i <= 155 && path.len() - i <= 101)
        .map(|(i, _)| i)
        .next_back()
        .and_then(|i| {
            let (prefix, rest) = path.split_at(i);
            Some((prefix, rest.strip_prefix('/')?))
        })
}

/// Zero bytes that pad `size` bytes of data to a whole block.
pub(crate) fn padding(size: u64) -> usize {
    let rem = (size % BLOCK as u64) as usize;
    if rem == 0 { 0 } else { BLOCK - rem }
}

/// Bytes a record for `size` bytes of data takes: header, data and padding.
pub(crate) fn record_len(size: u64) -> u64 {
    (BLOCK as u64)
        .saturating_add(size)
        .saturating_add(padding(size) as u64)
}

/// The deterministic header for a regular file (spec 4.3): nothing of the host leaks in.
pub(crate) fn header(path: &str, size: u64) -> std::io::Result<[u8; BLOCK]> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path)?;
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    Ok(*header.as_bytes())
}

/// What a 512-byte block turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// A regular file of `size` bytes at `path` (path not yet validated).
    File {
        /// The stored path, prefix and name joined.
        path: String,
        /// The declared data length.
        size: u64,
    },
    /// An all-zero block: the start of the end-of-archive marker.
    End,
}

/// Why a header block was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// The block is not a well-formed ustar header.
    Malformed(String),
    /// A well-formed header of a type other than a regular file.
    NotRegular {
        /// The stored path, for the message.
        path: String,
        /// What it is instead.
        kind: &'static str,
    },
}

/// Parses one header block strictly (spec 4.3 and 8.8).
pub(crate) fn parse(block: &[u8; BLOCK]) -> Result<Record, RecordError> {
    if block.iter().all(|&b| b == 0) {
        return Ok(Record::End);
    }
    let header = tar::Header::from_byte_slice(block);
    // The `tar` crate's number parsing is more lenient than spec 4.3 (it trims tabs and line
    // ends, takes a leading `+`, and reads only the last 8 bytes of a base-256 field), so the
    // fields are read here, by the spec's rules.
    let stored = block
        .get(148..156)
        .and_then(octal)
        .ok_or_else(|| RecordError::Malformed("the checksum field is not octal".to_owned()))?;
    let computed: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum();
    if stored != u64::from(computed) {
        return Err(RecordError::Malformed(format!(
            "header checksum is {stored}, the header adds up to {computed}"
        )));
    }
    if header.as_ustar().is_none() {
        return Err(RecordError::Malformed(
            "not a POSIX ustar header (magic \"ustar\\0\" and version \"00\" expected)".to_owned(),
        ));
    }
    let path = String::from_utf8(header.path_bytes().into_owned())
        .map_err(|_| RecordError::Malformed("the stored path is not UTF-8".to_owned()))?;
    // Spec 4.3: "typeflag MUST be '0'". The `tar` crate also maps the pre-POSIX NUL to
    // `Regular`, so the raw byte is checked first.
    let kind = match header.entry_type() {
        _ if header.as_old().linkflag == [0] => Some("pre-POSIX file record (typeflag NUL)"),
        tar::EntryType::Regular => None,
        tar::EntryType::Link => Some("hard link"),
        tar::EntryType::Symlink => Some("symbolic link"),
        tar::EntryType::Char => Some("character device"),
        tar::EntryType::Block => Some("block device"),
        tar::EntryType::Directory => Some("directory"),
        tar::EntryType::Fifo => Some("FIFO"),
        tar::EntryType::Continuous => Some("contiguous file"),
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => Some("pax extended header"),
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => Some("GNU long-name record"),
        tar::EntryType::GNUSparse => Some("GNU sparse file"),
        _ => Some("record of an unknown type"),
    };
    if let Some(kind) = kind {
        return Err(RecordError::NotRegular { path, kind });
    }
    let size = block.get(124..136).and_then(size_field).ok_or_else(|| {
        RecordError::Malformed(
            "the size field is neither octal nor base-256 (0x80 and a value below 2^63)".to_owned(),
        )
    })?;
    Ok(Record::File { path, size })
}

/// From the bundle spec, 4.3: "take the field up to its first `\0`, remove leading and
/// trailing spaces (0x20); the rest MUST be 1 or more digits `0`-`7`".
fn octal(field: &[u8]) -> Option<u64> {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    let text = field.get(..end)?;
    let start = text.iter().position(|&b| b != b' ')?;
    let stop = text.iter().rposition(|&b| b != b' ')?;
    let digits = text.get(start..=stop)?;
    digits.iter().try_fold(0u64, |acc, &b| {
        if (b'0'..=b'7').contains(&b) {
            acc.checked_mul(8)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// From the bundle spec, 4.3: "if the size field's first byte is 0x80, the size is the
/// big-endian number in bytes 1 to 11, and MUST be below 2^63; any other first byte with its
/// high bit set is refused; otherwise the field is octal".
fn size_field(field: &[u8]) -> Option<u64> {
    match field.split_first()? {
        (0x80, rest) => {
            let value = rest.iter().try_fold(0u64, |acc, &b| {
                acc.checked_mul(256)?.checked_add(u64::from(b))
            })?;
            (value < 1 << 63).then_some(value)
        }
        (first, _) if first & 0x80 != 0 => None,
        _ => octal(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() -> std::io::Result<()> {
        let long = format!("{}/{}", "d".repeat(150), "f".repeat(100));
        for (path, size) in [
            ("a.txt", 0u64),
            ("packages/x.zip", 12345),
            (long.as_str(), 1 << 34),
        ] {
            let block = header(path, size)?;
            assert_eq!(
                parse(&block),
                Ok(Record::File {
                    path: path.to_owned(),
                    size
                })
            );
        }
        Ok(())
    }

    #[test]
    fn checksum_and_types_are_checked() -> std::io::Result<()> {
        let mut block = header("a.txt", 3)?;
        block[0] = b'b';
        assert!(matches!(parse(&block), Err(RecordError::Malformed(_))));
        let mut link = tar::Header::new_ustar();
        link.set_path("a")?;
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_cksum();
        assert!(matches!(
            parse(link.as_bytes()),
            Err(RecordError::NotRegular {
                kind: "symbolic link",
                ..
            })
        ));
        let mut old_style = tar::Header::new_old();
        old_style
            .as_mut_bytes()
            .copy_from_slice(&header("a.txt", 3)?);
        old_style.as_mut_bytes()[156] = 0;
        old_style.set_cksum();
        assert!(matches!(
            parse(old_style.as_bytes()),
            Err(RecordError::NotRegular { .. })
        ));
        assert_eq!(parse(&[0u8; BLOCK]), Ok(Record::End));
        Ok(())
    }

    #[test]
    fn numbers_follow_the_spec_not_the_tar_crate() {
        assert_eq!(octal(b"0000644\0"), Some(0o644));
        assert_eq!(octal(b" 17 \0xyz"), Some(0o17));
        assert_eq!(octal(b"12345670123 "), Some(0o12345670123));
        for bad in [
            &b"\0\0\0"[..],
            b"   \0",
            b"+0000001\0",
            b"\t0000001\0",
            b"00008\0",
            b"1 2\0",
        ] {
            assert_eq!(octal(bad), None, "{bad:?}");
        }
        let mut base256 = [0u8; 12];
        base256[0] = 0x80;
        base256[11] = 5;
        assert_eq!(size_field(&base256), Some(5));
        base256[1] = 1; // the tar crate reads only the last 8 bytes and would say 5
        assert_eq!(size_field(&base256), None);
        base256[1] = 0;
        base256[4] = 0x80; // 2^63
        assert_eq!(size_field(&base256), None);
        base256[4] = 0x7f;
        assert!(size_field(&base256).is_some());
        let mut negative = [0xffu8; 12];
        assert_eq!(size_field(&negative), None);
        negative[0] = 0x81;
        assert_eq!(size_field(&negative), None);
    }

    #[test]
    fn split_rules() {
        assert_eq!(split_path("short"), Some(("", "short")));
        assert_eq!(split_path(&"x".repeat(101)), None);
        let ok = format!("{}/{}", "p".repeat(155), "n".repeat(100));
        assert!(split_path(&ok).is_some());
        let too_long_prefix = format!("{}/{}", "p".repeat(156), "n".repeat(90));
        assert_eq!(split_path(&too_long_prefix), None);
    }
}
