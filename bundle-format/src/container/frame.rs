//! zstd frame headers (spec 4.2): read before any byte of a frame is decompressed, so that a
//! window too large for our memory bound is refused by name instead of by an allocation.
//!
//! From RFC 8878, 3.1.1.1 (frame header), as the spec quotes it:
//!
//! ```text
//! Magic_Number (4, LE 0xFD2FB528) | Frame_Header_Descriptor (1) | [Window_Descriptor (1)]
//!     | [Dictionary_ID (0-4)] | [Frame_Content_Size (0-8)]
//! FHD bits: 7-6 FCS_Field_Size flag, 5 Single_Segment, 4 unused, 3 reserved (must be 0),
//!           2 Content_Checksum, 1-0 Dictionary_ID flag
//! Window_Descriptor: Exponent = bits 7-3, Mantissa = bits 2-0;
//!     Window_Log = 10 + Exponent; Window_Base = 1 << Window_Log;
//!     Window_Size = Window_Base + (Window_Base / 8) * Mantissa
//! Single_Segment set: no Window_Descriptor, Window_Size = Frame_Content_Size
//! ```
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::io::Read;

/// Little-endian magic number that starts every zstd data frame.
pub(crate) const MAGIC: u32 = 0xFD2F_B528;

/// The longest frame header: magic, descriptor, window, 4-byte dictionary id, 8-byte size.
const MAX_HEADER: usize = 18;

/// What the header of the next frame says, with its raw bytes to hand on to the decoder.
#[derive(Debug)]
pub(crate) struct FrameHeader {
    /// The header bytes exactly as read.
    pub(crate) bytes: Vec<u8>,
    /// The window the frame needs, in bytes (the check is done here; tests read it back).
    pub(crate) window_size: u64,
    /// The Frame_Content_Size field, if the frame has one.
    pub(crate) content_size: Option<u64>,
}

/// Why a frame header was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// The input ended before or inside the header (`at_start`: before its first byte).
    Truncated {
        /// Whether the input ended before the first byte of the frame.
        at_start: bool,
    },
    /// The bytes are not a zstd frame at all.
    NotZstd {
        /// The bytes found where the magic number should be (`len` of them).
        found: [u8; 4],
        /// How many bytes the file still had there (1 to 4).
        len: usize,
    },
    /// A skippable frame, which a Zonebridge bundle never contains.
    Skippable,
    /// The reserved bit is set or a dictionary is required.
    Unsupported(&'static str),
    /// The window is larger than the reader's limit.
    WindowTooLarge {
        /// The window the frame asks for, in bytes.
        window_size: u64,
        /// The limit, as a power of two.
        limit_log: u32,
    },
}

/// Reads the next frame's header from `input` and checks it against `max_window_log`.
pub(crate) fn read_header(
    input: &mut impl Read,
    max_window_log: u32,
) -> Result<FrameHeader, FrameError> {
    let mut bytes = Vec::with_capacity(MAX_HEADER);
    // From the bundle spec, 4.2, step 1: "read the frame's first 4 bytes (fewer if the file
    // ends)". Nothing more is read before the magic number is judged.
    let mut magic_bytes = [0u8; 4];
    let got = read_full(input, &mut magic_bytes)?;
    let [m0, m1, m2, m3] = magic_bytes;
    let magic = u32::from_le_bytes(magic_bytes);
    if got == 4 && magic & 0xFFFF_FFF0 == 0x184D_2A50 {
        return Err(FrameError::Skippable);
    }
    let zstd_magic = MAGIC.to_le_bytes();
    let read = magic_bytes.get(..got).unwrap_or_default();
    if got == 0 {
        return Err(FrameError::Truncated { at_start: true });
    }
    if zstd_magic.get(..got) != Some(read) {
        return Err(FrameError::NotZstd {
            found: [m0, m1, m2, m3],
            len: got,
        });
    }
    if got < 4 {
        return Err(FrameError::Truncated { at_start: false });
    }
    // Step 2: the Frame_Header_Descriptor.
    let mut fhd = [0u8; 1];
    if read_full(input, &mut fhd)? < 1 {
        return Err(FrameError::Truncated { at_start: false });
    }
    let [descriptor] = fhd;
    let fixed = [m0, m1, m2, m3, descriptor];
    bytes.extend_from_slice(&fixed);
    if descriptor & 0b0000_1000 != 0 {
        return Err(FrameError::Unsupported(
            "the frame header's reserved bit is set",
        ));
    }
    // Spec 4.2: "Content_Checksum_Flag MUST be 1; reader refuses 0". Without it nothing would
    // check F3's bytes after the end-of-archive marker, nor F1's and F2's decompression.
    if descriptor & 0b0000_0100 == 0 {
        return Err(FrameError::Unsupported("the frame has no content checksum"));
    }
    let single_segment = descriptor & 0b0010_0000 != 0;
    let dict_len: usize = match descriptor & 0b11 {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };
    let fcs_len: usize = match (descriptor >> 6, single_segment) {
        (0, false) => 0,
        (0, true) => 1,
        (1, _) => 2,
        (2, _) => 4,
        _ => 8,
    };
    let window_len = usize::from(!single_segment);
    let mut rest = [0u8; MAX_HEADER - 5];
    let rest_len = window_len.saturating_add(dict_len).saturating_add(fcs_len);
    let rest = rest
        .get_mut(..rest_len)
        .ok_or(FrameError::Truncated { at_start: false })?;
    if read_full(input, rest)? < rest.len() {
        return Err(FrameError::Truncated { at_start: false });
    }
    bytes.extend_from_slice(rest);
    let (window, rest) = rest.split_at(window_len);
    let (dict, fcs) = rest.split_at(dict_len);
    if dict.iter().any(|&b| b != 0) {
        return Err(FrameError::Unsupported("the frame needs a dictionary"));
    }
    let content_size = (fcs_len > 0).then(|| {
        let mut le = [0u8; 8];
        for (slot, byte) in le.iter_mut().zip(fcs) {
            *slot = *byte;
        }
        let size = u64::from_le_bytes(le);
        // RFC 8878: a 2-byte Frame_Content_Size is stored minus 256.
        if fcs_len == 2 {
            size.saturating_add(256)
        } else {
            size
        }
    });
    let window_size = match window.first() {
        Some(&descriptor) => {
            let window_log = 10 + u32::from(descriptor >> 3);
            let base = 1u64 << window_log;
            let add = (base / 8).saturating_mul(u64::from(descriptor & 0b111));
            base.saturating_add(add)
        }
        None => content_size.unwrap_or(0),
    };
    if window_size > 1u64 << max_window_log {
        return Err(FrameError::WindowTooLarge {
            window_size,
            limit_log: max_window_log,
        });
    }
    Ok(FrameHeader {
        bytes,
        window_size,
        content_size,
    })
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut filled = 0;
    while let Some(free) = buf.get_mut(filled..) {
        if free.is_empty() {
            break;
        }
        match input.read(free) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => {
                return Err(FrameError::Truncated {
                    at_start: filled == 0,
                });
            }
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_zstd_writes() -> std::io::Result<()> {
        let mut compressor = zstd::bulk::Compressor::new(3)?;
        compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
        let small = compressor.compress(b"hello")?;
        let header = read_header(&mut small.as_slice(), 24);
        assert!(matches!(header, Ok(FrameHeader { window_size: 5, .. })));

        let unchecked = zstd::bulk::compress(b"hello", 3)?;
        assert_eq!(
            read_header(&mut unchecked.as_slice(), 24).err(),
            Some(FrameError::Unsupported("the frame has no content checksum"))
        );

        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3)?;
        encoder.include_checksum(true)?;
        encoder.window_log(22)?;
        std::io::Write::write_all(&mut encoder, &[7u8; 100_000])?;
        let streamed = encoder.finish()?;
        let header = read_header(&mut streamed.as_slice(), 24);
        assert!(matches!(
            header,
            Ok(FrameHeader {
                window_size: 4_194_304,
                ..
            })
        ));
        assert_eq!(
            read_header(&mut streamed.as_slice(), 21).err(),
            Some(FrameError::WindowTooLarge {
                window_size: 4_194_304,
                limit_log: 21
            })
        );
        Ok(())
    }

    #[test]
    fn refuses_other_frames() {
        let skippable = [0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
        assert_eq!(
            read_header(&mut &skippable[..], 24).err(),
            Some(FrameError::Skippable)
        );
        assert!(matches!(
            read_header(&mut &b"PK\x03\x04xx"[..], 24),
            Err(FrameError::NotZstd { .. })
        ));
        assert_eq!(
            read_header(&mut &b""[..], 24).err(),
            Some(FrameError::Truncated { at_start: true })
        );
    }
}
