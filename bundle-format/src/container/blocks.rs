//! One zstd frame decoded block by block (spec 4.2, "Blocks and the order of checks"), so that
//! the verdict on a damaged frame does not depend on how the input happens to be buffered.
//!
//! libzstd's streaming call drops the output it produced in a call that then fails: fed a whole
//! damaged frame at once, the last good block's bytes vanish and the content checks never see
//! them; fed one byte at a time, they are seen first. So the frame is walked here, block by
//! block, from the block headers:
//!
//! ```text
//! Block_Header (3 bytes, little-endian): bit 0 Last_Block, bits 1-2 Block_Type
//!   (0 raw: Block_Size bytes follow; 1 RLE: 1 byte follows; 2 compressed: Block_Size bytes
//!   follow; 3 reserved), bits 3-23 Block_Size. After the last block: 4 checksum bytes.
//! ```
//! Each block is read whole, then handed to libzstd alone, and its whole output is handed on
//! before the next block is read; the 4 checksum bytes go in on their own after the last
//! block's output. So every byte of every complete, well-formed block reaches the content
//! checks before a later block, the file's end or the checksum can fail.
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::io::{self, BufReader, Read};

use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

use super::frame::FrameHeader;
use crate::verify::{Region, VerifyError};

/// RFC 8878, 3.1.1.2.4: a block never holds more than 128 KiB.
const BLOCK_SIZE_MAX: u64 = 128 * 1024;
/// Output buffer for one call into libzstd.
const OUT_STEP: usize = 128 * 1024;

enum Stage {
    /// The frame header has not been handed to libzstd yet.
    Start(Vec<u8>),
    /// The next thing in the input is a block header.
    Block,
    /// The last block was decoded; the checksum follows.
    Checksum,
    /// The frame ended and its checksum matched.
    Done,
}

/// Reads one frame's content; [`Read::read`] returns `Ok(0)` only after the checksum matched.
pub(crate) struct BlockReader<'a, R: Read> {
    input: &'a mut BufReader<R>,
    decoder: Decoder<'static>,
    region: Region,
    block_max: u64,
    /// The header's Frame_Content_Size, and how much content the blocks gave so far.
    content_size: Option<u64>,
    decoded: u64,
    stage: Stage,
    out: Vec<u8>,
    out_pos: usize,
    /// Set once an error was returned: the frame cannot be read further.
    failed: Option<(io::ErrorKind, String)>,
}

impl<'a, R: Read> BlockReader<'a, R> {
    /// Starts reading the frame whose header `header` was just read from `input`.
    pub(crate) fn new(
        header: FrameHeader,
        input: &'a mut BufReader<R>,
        max_window_log: u32,
        region: Region,
    ) -> Result<Self, VerifyError> {
        let setup = |err| VerifyError::io(format!("cannot set up zstd for {region}"), err);
        let mut decoder = Decoder::new().map_err(setup)?;
        decoder
            .set_parameter(DParameter::WindowLogMax(max_window_log))
            .map_err(setup)?;
        Ok(Self {
            input,
            decoder,
            region,
            block_max: header.window_size.min(BLOCK_SIZE_MAX),
            content_size: header.content_size,
            decoded: 0,
            stage: Stage::Start(header.bytes),
            out: Vec::new(),
            out_pos: 0,
            failed: None,
        })
    }

    fn corrupt(&self, detail: impl Into<String>) -> VerifyError {
        VerifyError::Corrupt {
            region: self.region,
            detail: detail.into(),
        }
    }

    /// Reads exactly `buf.len()` bytes of the frame's compressed input; the file ending first
    /// is `truncated`.
    fn input_exact(&mut self, buf: &mut [u8]) -> Result<(), VerifyError> {
        self.input.read_exact(buf).map_err(|err| {
            if err.kind() == io::ErrorKind::UnexpectedEof {
                VerifyError::Truncated {
                    region: self.region,
                }
            } else {
                VerifyError::io("cannot read the bundle", err)
            }
        })
    }

    /// Hands `bytes` to libzstd and collects all the output they give into `self.out`.
    fn feed(&mut self, bytes: &[u8], what: &str) -> Result<usize, VerifyError> {
        self.out.clear();
        self.out_pos = 0;
        let mut input = InBuffer::around(bytes);
        let mut hint;
        loop {
            let taken = input.pos();
            let start = self.out.len();
            self.out.resize(start.saturating_add(OUT_STEP), 0);
            let mut output = OutBuffer::around(self.out.get_mut(start..).unwrap_or_default());
            let result = self.decoder.run(&mut input, &mut output);
            let written = output.pos();
            self.out.truncate(start.saturating_add(written));
            hint = result.map_err(|err| self.corrupt(format!("{what}: {err}")))?;
            // Done when all input is taken and libzstd had room to spare (nothing held back).
            if input.pos() >= bytes.len() && written < OUT_STEP {
                break;
            }
            if input.pos() == taken && written == 0 {
                return Err(self.corrupt(format!("{what}: zstd takes no more of it")));
            }
        }
        Ok(hint)
    }

    /// Reads, checks and decodes the next block, or the checksum after the last one.
    fn advance(&mut self) -> Result<(), VerifyError> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Start(header) => {
                self.feed(&header, "the frame header")?;
                self.stage = Stage::Block;
            }
            Stage::Block => {
                let mut head = [0u8; 3];
                self.input_exact(&mut head)?;
                let [b0, b1, b2] = head;
                let raw = u32::from_le_bytes([b0, b1, b2, 0]);
                let last = raw & 1 == 1;
                let block_type = (raw >> 1) & 3;
                let block_size = u64::from(raw >> 3);
                if block_type == 3 {
                    return Err(self.corrupt("a block has the reserved block type 3"));
                }
                if block_size > self.block_max {
                    return Err(self.corrupt(format!(
                        "a block of {block_size} bytes is larger than the frame allows ({})",
                        self.block_max
                    )));
                }
                let data_len = if block_type == 1 { 1 } else { block_size };
                let mut block = vec![0u8; usize::try_from(data_len).unwrap_or(usize::MAX)];
                self.input_exact(&mut block)?;
                let mut whole = head.to_vec();
                whole.append(&mut block);
                self.feed(&whole, "a block does not decode")?;
                // Spec 4.2.7: "it takes the content beyond the header's Frame_Content_Size (or,
                // as the last block, leaves the content short of it): corrupt". Checked here,
                // not left to libzstd, which finds an excess only at the frame's end.
                self.decoded = self.decoded.saturating_add(self.out.len() as u64);
                if let Some(declared) = self.content_size
                    && (self.decoded > declared || (last && self.decoded != declared))
                {
                    self.out.clear();
                    return Err(self.corrupt(format!(
                        "the frame declares {declared} bytes of content and its blocks give {}{}",
                        if last { "" } else { "at least " },
                        self.decoded
                    )));
                }
                self.stage = if last { Stage::Checksum } else { Stage::Block };
            }
            Stage::Checksum => {
                let mut checksum = [0u8; 4];
                self.input_exact(&mut checksum)?;
                let hint = self.feed(&checksum, "the frame's content checksum does not match")?;
                if hint != 0 || !self.out.is_empty() {
                    return Err(self.corrupt("the frame does not end after its checksum"));
                }
            }
            Stage::Done => {}
        }
        Ok(())
    }

    /// The next decoded bytes, or an empty slice once the frame has ended and its checksum
    /// matched.
    pub(crate) fn fill(&mut self) -> Result<&[u8], VerifyError> {
        while self.out_pos >= self.out.len() && !matches!(self.stage, Stage::Done) {
            if let Some((kind, message)) = &self.failed {
                return Err(VerifyError::io(
                    "reading a frame after it failed",
                    io::Error::new(*kind, message.clone()),
                ));
            }
            if let Err(err) = self.advance() {
                self.failed = Some((io::ErrorKind::Other, err.to_string()));
                return Err(err);
            }
        }
        Ok(self.out.get(self.out_pos..).unwrap_or_default())
    }

    /// Marks `n` bytes of the last [`Self::fill`] as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
    }

    /// Fills `buf` completely, or fails with the first problem after the bytes before it.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), VerifyError> {
        let mut filled = 0usize;
        while filled < buf.len() {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(VerifyError::Truncated {
                    region: self.region,
                });
            }
            let n = available.len().min(buf.len().saturating_sub(filled));
            let end = filled.saturating_add(n);
            if let (Some(dst), Some(src)) = (buf.get_mut(filled..end), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.consume(n);
            filled = end;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::container::frame;

    /// Hands out `data` at most `step` bytes per read.
    struct Chunked<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            let (head, rest) = self.data.split_at(n);
            buf[..n].copy_from_slice(head);
            self.data = rest;
            Ok(n)
        }
    }

    /// Everything the frame delivers before it ends or fails, and how it ended.
    fn drain(frame_bytes: &[u8], step: usize) -> (Vec<u8>, String) {
        let mut input = BufReader::with_capacity(
            4096,
            Chunked {
                data: frame_bytes,
                step,
            },
        );
        let header = match frame::read_header(&mut input, 24) {
            Ok(header) => header,
            Err(err) => return (Vec::new(), format!("header: {err:?}")),
        };
        let mut frame = match BlockReader::new(header, &mut input, 24, Region::Payload) {
            Ok(frame) => frame,
            Err(err) => return (Vec::new(), err.code().to_owned()),
        };
        let mut content = Vec::new();
        loop {
            match frame.fill() {
                Ok([]) => return (content, "end".to_owned()),
                Ok(bytes) => {
                    let n = bytes.len();
                    content.extend_from_slice(bytes);
                    frame.consume(n);
                }
                Err(err) => return (content, err.code().to_owned()),
            }
        }
    }

    fn sample_frame() -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut content = Vec::new();
        let mut x: u32 = 7;
        for i in 0..300_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // Half text, half noise, so that zstd makes compressed and raw blocks.
            content.push(if (i / 20_000) % 2 == 0 {
                b"zonebridge "[(i % 11) as usize]
            } else {
                (x >> 16) as u8
            });
        }
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3)?;
        encoder.include_checksum(true)?;
        std::io::Write::write_all(&mut encoder, &content)?;
        Ok((content, encoder.finish()?))
    }

    #[test]
    fn a_good_frame_gives_its_content_however_it_is_read() -> io::Result<()> {
        let (content, frame_bytes) = sample_frame()?;
        for step in [1, 61, 4096, frame_bytes.len()] {
            assert_eq!(
                drain(&frame_bytes, step),
                (content.clone(), "end".to_owned())
            );
        }
        Ok(())
    }

    /// Spec 4.2.5-4.2.9: whatever byte is damaged, the content delivered before the failure and
    /// the failure itself are the same for reads of 1 byte, 61 bytes, 4 KiB or everything.
    #[test]
    fn a_damaged_frame_fails_the_same_way_however_it_is_read() -> io::Result<()> {
        let (content, frame_bytes) = sample_frame()?;
        let mut outcomes = std::collections::BTreeSet::new();
        let positions = (6..frame_bytes.len()).step_by(frame_bytes.len() / 97);
        for at in positions.chain([frame_bytes.len() - 1, frame_bytes.len() - 5]) {
            for (label, damaged) in [
                ("flip", {
                    let mut d = frame_bytes.clone();
                    d[at] ^= 0x20;
                    d
                }),
                ("cut", frame_bytes[..at].to_vec()),
            ] {
                let whole = drain(&damaged, damaged.len().max(1));
                for step in [1, 61, 4096] {
                    let (got, code) = drain(&damaged, step);
                    assert!(
                        got == whole.0 && code == whole.1,
                        "{label} at {at}: reads of {step} give {} bytes and {code}, whole reads {} bytes and {}",
                        got.len(),
                        whole.0.len(),
                        whole.1
                    );
                }
                // What was delivered is always a true prefix of the content, unless a flip in a
                // raw block changed it (then only the checksum or a hash can tell).
                if label == "cut" {
                    assert!(content.starts_with(&whole.0), "cut at {at}");
                    assert_ne!(whole.1, "end", "cut at {at} was not noticed");
                }
                outcomes.insert(whole.1);
            }
        }
        // The damage reached several different checks, not one.
        assert!(
            outcomes.contains("truncated") && outcomes.contains("corrupt"),
            "{outcomes:?}"
        );
        Ok(())
    }
}
