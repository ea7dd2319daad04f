//! The reader side of the container (spec 4 and 8.1-8.2, 8.9): frame headers checked before
//! decompression, the two small record frames read whole (they are bounded), and the payload
//! frame decompressed on its own thread so that hashing and writing overlap with it.
//!
//! ```text
//! file --BufReader--> [frame header check] --zstd (window <= limit)--> chunks (4 x 1 MiB)
//!      decompression thread                                   |  bounded channel
//!      verifying thread  <------------------------------------+  tar records, SHA-256, sink
//! ```
//! The channel bounds memory; the verifying thread owns every limit on what the records say.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc;

use super::blocks::BlockReader;
use super::frame::{self, FrameError};
use super::ustar::{self, Record, RecordError};
use super::writer::{MANIFEST_PATH, SIGNATURES_PATH};
use crate::limits::{Limits, MAX_SIGNATURE_BLOCK_BYTES};
use crate::verify::{Region, VerifyError};

/// Size of one decompressed chunk handed between the threads.
const CHUNK: usize = 1 << 20;
/// Chunks in flight; with the recycled ones this bounds the pipeline's memory.
const CHUNKS_IN_FLIGHT: usize = 4;
/// Read buffer on the bundle file.
const INPUT_BUFFER: usize = 256 * 1024;

/// Reads a bundle's frames in order.
pub(crate) struct ContainerReader<R: Read> {
    input: BufReader<R>,
    max_window_log: u32,
}

impl<R: Read> ContainerReader<R> {
    pub(crate) fn new(input: R, max_window_log: u32) -> Self {
        Self {
            input: BufReader::with_capacity(INPUT_BUFFER, input),
            max_window_log,
        }
    }

    /// Spec 8.1 and 8.2: reads a frame that must hold exactly one record named `name` of at
    /// most `max` bytes, and returns the record's data.
    pub(crate) fn read_record_frame(
        &mut self,
        region: Region,
        name: &str,
        max: u64,
        limit_what: &'static str,
    ) -> Result<Vec<u8>, VerifyError> {
        let header = self.frame_header(region)?;
        let mut frame = BlockReader::new(header, &mut self.input, self.max_window_log, region)?;
        let mut block = [0u8; ustar::BLOCK];
        frame.read_exact(&mut block)?;
        let size = match ustar::parse(&block) {
            Ok(Record::File { path, size }) if path == name => size,
            Ok(Record::File { path, .. }) => {
                return Err(VerifyError::BadRecord {
                    region,
                    detail: format!("expected the record {name}, found {path:?}"),
                });
            }
            Ok(Record::End) => {
                return Err(VerifyError::BadRecord {
                    region,
                    detail: format!("expected the record {name}, found an end-of-archive block"),
                });
            }
            Err(err) => return Err(record_error(err, region)),
        };
        if size > max {
            return Err(VerifyError::LimitExceeded {
                what: limit_what,
                limit: max,
                found: size,
            });
        }
        let mut data = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
        frame.read_exact(&mut data)?;
        let mut pad = [0u8; ustar::BLOCK];
        let pad = pad.get_mut(..ustar::padding(size)).unwrap_or_default();
        frame.read_exact(pad)?;
        if pad.iter().any(|&b| b != 0) {
            return Err(VerifyError::BadRecord {
                region,
                detail: "the record's padding is not zero".to_owned(),
            });
        }
        // Spec 8.1: "zero padding, then the end of the frame (bad-record)"; the frame ends only
        // once its checksum matched.
        if frame.fill()?.is_empty() {
            Ok(data)
        } else {
            Err(VerifyError::BadRecord {
                region,
                detail: format!("the frame holds more than the record {name}"),
            })
        }
    }

    /// Spec 8.1 and 8.2: frame 1 holds exactly one record, zonebridge/signatures.cbor, of at
    /// most 64 KiB; frame 2 exactly one record, zonebridge/manifest.cbor, of at most
    /// `max_manifest_bytes`. Returns both records' bytes exactly as read.
    pub(crate) fn read_head(&mut self, limits: &Limits) -> Result<(Vec<u8>, Vec<u8>), VerifyError> {
        let block = self.read_record_frame(
            Region::Signatures,
            SIGNATURES_PATH,
            MAX_SIGNATURE_BLOCK_BYTES,
            "the signature block's size",
        )?;
        let manifest = self.read_record_frame(
            Region::Manifest,
            MANIFEST_PATH,
            limits.max_manifest_bytes,
            "the manifest's size",
        )?;
        Ok((block, manifest))
    }

    fn frame_header(&mut self, region: Region) -> Result<frame::FrameHeader, VerifyError> {
        frame::read_header(&mut self.input, self.max_window_log).map_err(|err| match err {
            FrameError::Truncated { at_start: true } if region == Region::Signatures => {
                VerifyError::NotABundle {
                    found: "an empty file: 0 bytes, an interrupted copy?".to_owned(),
                }
            }
            FrameError::Truncated { .. } => VerifyError::Truncated { region },
            FrameError::NotZstd { found, len } if region == Region::Signatures => {
                VerifyError::NotABundle {
                    found: format!(
                        "bytes {}",
                        hex::encode(found.get(..len).unwrap_or_default())
                    ),
                }
            }
            FrameError::NotZstd { .. } => VerifyError::UnexpectedFrame {
                region,
                detail: "it does not start with the zstd magic number",
            },
            FrameError::Skippable => VerifyError::UnexpectedFrame {
                region,
                detail: "it is a skippable frame",
            },
            FrameError::Unsupported(detail) => VerifyError::UnexpectedFrame { region, detail },
            FrameError::WindowTooLarge {
                window_size,
                limit_log,
            } => VerifyError::WindowTooLarge {
                region,
                window_size,
                limit_log,
            },
        })
    }
}

impl<R: Read + Send> ContainerReader<R> {
    /// Spec 8.8-8.9: decompresses the payload frame on a thread of `scope`, and checks at the
    /// end that the file ends with the frame.
    pub(crate) fn payload<'scope, 'env>(
        &'env mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
    ) -> Result<PayloadStream, VerifyError>
    where
        R: 'env,
    {
        let header = self.frame_header(Region::Payload)?;
        let max_window_log = self.max_window_log;
        let (data_tx, data_rx) = mpsc::sync_channel::<Message>(CHUNKS_IN_FLIGHT);
        let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
        let input = &mut self.input;
        scope.spawn(move || {
            let outcome = decompress(header, input, max_window_log, &data_tx, &recycle_rx);
            // The verifying side may have stopped listening; then nobody needs the outcome.
            let _ = data_tx.send(match outcome {
                Ok(()) => Message::End,
                Err(err) => Message::Failed(err),
            });
        });
        Ok(PayloadStream {
            rx: data_rx,
            recycle: recycle_tx,
            current: Vec::new(),
            pos: 0,
            ended: false,
        })
    }
}

enum Message {
    Data(Vec<u8>),
    End,
    Failed(VerifyError),
}

fn decompress<R: Read>(
    header: frame::FrameHeader,
    input: &mut BufReader<R>,
    max_window_log: u32,
    tx: &mpsc::SyncSender<Message>,
    recycle: &mpsc::Receiver<Vec<u8>>,
) -> Result<(), VerifyError> {
    let region = Region::Payload;
    let mut frame = BlockReader::new(header, &mut *input, max_window_log, region)?;
    loop {
        let mut chunk = recycle
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        chunk.clear();
        // Spec 4.2: every byte of the blocks before a failure reaches the checks before it,
        // so what was decoded is sent on before the failure is.
        let mut failure = None;
        while chunk.len() < CHUNK {
            match frame.fill() {
                Ok([]) => break,
                Ok(available) => {
                    let n = available.len().min(CHUNK - chunk.len());
                    chunk.extend_from_slice(available.get(..n).unwrap_or_default());
                    frame.consume(n);
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let ended = chunk.len() < CHUNK;
        if !chunk.is_empty() && tx.send(Message::Data(chunk)).is_err() {
            return Ok(());
        }
        if let Some(err) = failure {
            return Err(err);
        }
        if ended {
            break;
        }
    }
    drop(frame);
    let rest = input
        .fill_buf()
        .map_err(|err| VerifyError::io("cannot read the bundle", err))?;
    if !rest.is_empty() {
        return Err(VerifyError::TrailingData {
            detail: format!(
                "bytes {} follow the payload frame",
                hex::encode(rest.get(..rest.len().min(8)).unwrap_or_default())
            ),
        });
    }
    Ok(())
}

/// The decompressed payload as the verifying thread sees it.
pub(crate) struct PayloadStream {
    rx: mpsc::Receiver<Message>,
    recycle: mpsc::Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    ended: bool,
}

impl PayloadStream {
    /// The next decompressed bytes; empty once the frame has ended cleanly and the file with it.
    pub(crate) fn fill(&mut self) -> Result<&[u8], VerifyError> {
        while self.pos >= self.current.len() && !self.ended {
            match self.rx.recv() {
                Ok(Message::Data(chunk)) => {
                    let old = std::mem::replace(&mut self.current, chunk);
                    // The decompression thread may have finished; then the buffer is simply dropped.
                    let _ = self.recycle.send(old);
                    self.pos = 0;
                }
                Ok(Message::End) => self.ended = true,
                Ok(Message::Failed(err)) => return Err(err),
                Err(_) => {
                    return Err(VerifyError::io(
                        "reading the payload",
                        io::Error::other("the decompression thread stopped unexpectedly"),
                    ));
                }
            }
        }
        Ok(self.current.get(self.pos..).unwrap_or_default())
    }

    /// Marks `n` bytes of the last `fill` as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.current.len());
    }

    /// Fills `buf` completely, or reports truncation.
    pub(crate) fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), VerifyError> {
        let mut filled = 0;
        while filled < buf.len() {
            let available = self.fill()?;
            if available.is_empty() {
                return Err(VerifyError::Truncated {
                    region: Region::Payload,
                });
            }
            let n = available.len().min(buf.len() - filled);
            if let (Some(dst), Some(src)) = (buf.get_mut(filled..filled + n), available.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.consume(n);
            filled += n;
        }
        Ok(())
    }
}

pub(crate) fn record_error(err: RecordError, region: Region) -> VerifyError {
    match err {
        RecordError::Malformed(detail) => VerifyError::BadRecord { region, detail },
        RecordError::NotRegular { path, kind } => VerifyError::NotRegularFile { path, kind },
    }
}
