//! The writer side of the container (spec 4): the payload is compressed once, into a spool,
//! while every byte is hashed; the signature block and manifest frames are then written ahead
//! of it and the spool is copied behind them unchanged.
//!
//! ```text
//! calling thread:     sources --read--> SHA-256 (+ SHA-1 for packages), ustar records
//!                          | 1 MiB buffers, bounded channel (4), recycled
//! compressor thread:   zstd encoder (its own worker threads) --> spool
//! at the end:          manifest + signatures --> F1 F2
//! output = F1 || F2 || spool (= F3)
//! ```

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::mpsc;

use sha1::Digest as _;

use super::ustar;
use crate::manifest::{Entry, EntryRole};
use crate::names::{Digest, EntryPath, Sha1Digest};
use crate::signature::SignatureBlock;

/// zstd level for every frame (spec 4.2): zstd's own default, fast and a fair ratio.
pub const COMPRESSION_LEVEL: i32 = 3;
/// Window log of the payload frame (spec 4.2); readers need 2 MiB of window memory.
pub const PAYLOAD_WINDOW_LOG: u32 = 21;
/// Size of one multithreaded compression job (spec 4.2). zstd's default for this window is
/// 8 MiB, which with its buffer pool puts a packer above 64 MiB; 4 MiB keeps it near 40 MiB
/// for about a tenth of the speed. The bytes depend on it, so it is part of the spec.
pub const PAYLOAD_JOB_SIZE: u32 = 4 << 20;
/// Path of the signature block record in frame 1 (spec 4.1).
pub const SIGNATURES_PATH: &str = "zonebridge/signatures.cbor";
/// Path of the manifest record in frame 2 (spec 4.1).
pub const MANIFEST_PATH: &str = "zonebridge/manifest.cbor";

const COPY_BUFFER: usize = 256 << 10;
/// Filled buffers queued for the compressor thread.
const BUFFERS_IN_FLIGHT: usize = 4;

/// Why writing a payload failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A source gave a different number of bytes than declared (it changed while packing).
    #[error(
        "{path} changed while it was being packed: declared {declared} bytes, read {read}\nHint: pack from a folder that nothing else writes to"
    )]
    SourceChanged {
        /// The entry.
        path: EntryPath,
        /// Its size when the entry was declared.
        declared: u64,
        /// What was read.
        read: u64,
    },
    /// Reading a source or writing the spool failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// What was appended: the manifest entry, and the SHA-1 that Octopus feeds use for packages.
#[derive(Debug, Clone)]
pub struct AppendedEntry {
    /// The manifest entry.
    pub entry: Entry,
    /// SHA-1 of the bytes; computed for `package` entries only.
    pub sha1: Option<Sha1Digest>,
}

/// Streams payload entries into the payload frame (F3), in the order they are appended.
///
/// The calling thread reads and hashes; a compressor thread feeds zstd (whose own workers
/// compress), so hashing never waits for compression and the other way round.
pub struct PayloadWriter<W: Write + Send + 'static> {
    compressor: Compressor<W>,
    pending: Vec<u8>,
    entries: Vec<Entry>,
}

impl<W: Write + Send + 'static> std::fmt::Debug for PayloadWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadWriter")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write + Send + 'static> PayloadWriter<W> {
    /// Starts the payload frame in `spool`, compressing with `workers` threads (at least 1;
    /// the bytes do not depend on the number, spec 4.2).
    pub fn new(spool: W, workers: u32) -> io::Result<Self> {
        let mut encoder = zstd::stream::write::Encoder::new(spool, COMPRESSION_LEVEL)?;
        encoder.include_checksum(true)?;
        encoder.include_contentsize(false)?;
        encoder.window_log(PAYLOAD_WINDOW_LOG)?;
        encoder.multithread(workers.max(1))?;
        encoder.set_parameter(zstd::zstd_safe::CParameter::JobSize(PAYLOAD_JOB_SIZE))?;
        let mut compressor = Compressor::spawn(encoder);
        let pending = compressor.buffer();
        Ok(Self {
            compressor,
            pending,
            entries: Vec::new(),
        })
    }

    /// Appends one entry of exactly `size` bytes read from `source`; `progress` hears of every
    /// chunk written.
    pub fn append(
        &mut self,
        path: EntryPath,
        role: EntryRole,
        size: u64,
        source: &mut dyn Read,
        progress: &mut dyn FnMut(u64),
    ) -> Result<AppendedEntry, WriteError> {
        let header = ustar::header(path.as_str(), size).map_err(|source| WriteError::Io {
            context: format!("cannot write the tar header for {path}"),
            source,
        })?;
        self.push(&header)?;
        let mut sha256 = sha2::Sha256::new();
        let mut sha1 = (role == EntryRole::Package).then(sha1::Sha1::new);
        let mut read: u64 = 0;
        loop {
            let start = self.pending.len();
            self.pending.resize(COPY_BUFFER, 0);
            let n = match source.read(self.pending.get_mut(start..).unwrap_or_default()) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    self.pending.truncate(start);
                    continue;
                }
                Err(source) => {
                    return Err(WriteError::Io {
                        context: format!("cannot read {path}"),
                        source,
                    });
                }
            };
            self.pending.truncate(start + n);
            if n == 0 {
                break;
            }
            let chunk = self.pending.get(start..).unwrap_or_default();
            read = read.saturating_add(n as u64);
            if read > size {
                return Err(WriteError::SourceChanged {
                    path,
                    declared: size,
                    read,
                });
            }
            sha256.update(chunk);
            if let Some(sha1) = sha1.as_mut() {
                sha1.update(chunk);
            }
            progress(n as u64);
            if self.pending.len() >= COPY_BUFFER {
                self.flush_pending()?;
            }
        }
        if read != size {
            return Err(WriteError::SourceChanged {
                path,
                declared: size,
                read,
            });
        }
        let pad = [0u8; ustar::BLOCK];
        self.push(pad.get(..ustar::padding(size)).unwrap_or_default())?;
        let entry = Entry {
            path,
            size,
            sha256: Digest::from_bytes(sha256.finalize().into()),
            role,
        };
        self.entries.push(entry.clone());
        Ok(AppendedEntry {
            entry,
            sha1: sha1.map(|h| Sha1Digest::from_bytes(h.finalize().into())),
        })
    }

    /// Writes the end-of-archive marker, ends the frame and hands back the spool and entries.
    pub fn finish(mut self) -> Result<(W, Vec<Entry>), WriteError> {
        self.push(&[0u8; 2 * ustar::BLOCK])?;
        self.flush_pending()?;
        let spool = self.compressor.finish().map_err(spool_error)?;
        Ok((spool, self.entries))
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= COPY_BUFFER {
            self.flush_pending()?;
        }
        Ok(())
    }

    fn flush_pending(&mut self) -> Result<(), WriteError> {
        let next = self.compressor.buffer();
        let full = std::mem::replace(&mut self.pending, next);
        self.compressor.send(full).map_err(spool_error)
    }
}

fn spool_error(source: io::Error) -> WriteError {
    WriteError::Io {
        context: "cannot write the payload spool".to_owned(),
        source,
    }
}

/// The compressor thread: owns the zstd encoder, takes filled buffers through a bounded
/// channel (so memory stays at a few buffers) and hands them back empty for reuse.
struct Compressor<W: Write + Send + 'static> {
    tx: Option<mpsc::SyncSender<Vec<u8>>>,
    recycled: mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<io::Result<W>>>,
}

impl<W: Write + Send + 'static> Compressor<W> {
    fn spawn(mut encoder: zstd::stream::write::Encoder<'static, W>) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
        let (recycle_tx, recycled) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for mut buffer in rx {
                encoder.write_all(&buffer)?;
                buffer.clear();
                // The writer may have stopped taking buffers back; then this one is dropped.
                let _ = recycle_tx.send(buffer);
            }
            encoder.finish()
        });
        Self {
            tx: Some(tx),
            recycled,
            thread: Some(thread),
        }
    }

    fn buffer(&mut self) -> Vec<u8> {
        self.recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(COPY_BUFFER))
    }

    fn send(&mut self, buffer: Vec<u8>) -> io::Result<()> {
        let sent = self.tx.as_ref().map(|tx| tx.send(buffer).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The thread stopped: its result says why.
        self.join()
            .and(Err(io::Error::other("the compressor stopped")))
    }

    fn finish(mut self) -> io::Result<W> {
        self.join()
    }

    fn join(&mut self) -> io::Result<W> {
        self.tx = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the compressor thread panicked")),
            None => Err(io::Error::other("the compressor already finished")),
        }
    }
}

/// One frame holding one ustar record (F1 and F2, spec 4.1), with its content size, so that
/// its window is the record itself.
pub(crate) fn record_frame(path: &str, data: &[u8]) -> io::Result<Vec<u8>> {
    let mut record = Vec::with_capacity(ustar::record_len(data.len() as u64) as usize);
    record.extend_from_slice(&ustar::header(path, data.len() as u64)?);
    record.extend_from_slice(data);
    record.resize(record.len() + ustar::padding(data.len() as u64), 0);
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    compressor.compress(&record)
}

/// The signature frame (F1) for `signatures`.
pub fn signature_frame(signatures: &SignatureBlock) -> io::Result<Vec<u8>> {
    record_frame(SIGNATURES_PATH, &signatures.encode())
}

/// Where the payload frame waits while the manifest is built: a temporary file, or memory.
pub trait Spool: Read + Write + Seek + Send + 'static {
    /// Forgets the first `upto` bytes, already copied into the bundle. A file gives their
    /// blocks back, so that pages not yet written to disk are never written at all: the
    /// payload then reaches the disk once, in the bundle, not twice.
    fn forget(&mut self, upto: u64) -> io::Result<()>;
}

impl Spool for std::fs::File {
    fn forget(&mut self, upto: u64) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::FallocateFlags;
            // Some file systems cannot punch holes; then the spool simply keeps its pages.
            let _ = rustix::fs::fallocate(
                &*self,
                FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
                0,
                upto,
            );
        }
        #[cfg(not(target_os = "linux"))]
        let _ = upto;
        Ok(())
    }
}

impl Spool for io::Cursor<Vec<u8>> {
    fn forget(&mut self, _upto: u64) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes copied from the spool between two [`Spool::forget`] calls.
const SPOOL_COPY_STEP: u64 = 64 << 20;

/// Writes a whole bundle: F1 and F2 from `signatures` and `manifest_bytes`, then the payload
/// frame copied from the start of `spool`. Returns the bytes written.
pub fn write_bundle<W: Write, S: Spool>(
    out: &mut W,
    signatures: &SignatureBlock,
    manifest_bytes: &[u8],
    spool: &mut S,
) -> io::Result<u64> {
    let f1 = signature_frame(signatures)?;
    let f2 = record_frame(MANIFEST_PATH, manifest_bytes)?;
    out.write_all(&f1)?;
    out.write_all(&f2)?;
    spool.seek(SeekFrom::Start(0))?;
    let mut copied: u64 = 0;
    loop {
        let step = io::copy(&mut (&mut *spool).take(SPOOL_COPY_STEP), out)?;
        if step == 0 {
            break;
        }
        copied = copied.saturating_add(step);
        out.flush()?;
        spool.forget(copied)?;
    }
    out.flush()?;
    Ok((f1.len() as u64)
        .saturating_add(f2.len() as u64)
        .saturating_add(copied))
}
