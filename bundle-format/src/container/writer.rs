//! The writer side of the container (spec 4): the payload is compressed once, into a spool,
//! while every byte is hashed; the signature block and manifest frames are then written ahead
//! of it and the spool is copied behind them unchanged.
//!
//! ```text
//! sources --read--> SHA-256 (+ SHA-1 for packages) --> ustar records --> zstd (MT) --> spool
//!                                                            manifest + signatures --> F1 F2
//! output = F1 || F2 || spool (= F3)
//! ```

use std::io::{self, Read, Seek, SeekFrom, Write};

use sha1::Digest as _;

use super::ustar;
use crate::manifest::{Entry, EntryRole};
use crate::names::{Digest, EntryPath, Sha1Digest};
use crate::signature::SignatureBlock;

/// zstd level for every frame (spec 4.2): zstd's own default, fast and a fair ratio.
pub const COMPRESSION_LEVEL: i32 = 3;
/// Window log of the payload frame (spec 4.2); readers need 2 MiB of window memory.
pub const PAYLOAD_WINDOW_LOG: u32 = 21;
/// Path of the signature block record in frame 1 (spec 4.1).
pub const SIGNATURES_PATH: &str = "zonebridge/signatures.cbor";
/// Path of the manifest record in frame 2 (spec 4.1).
pub const MANIFEST_PATH: &str = "zonebridge/manifest.cbor";

const COPY_BUFFER: usize = 1 << 20;

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
pub struct PayloadWriter<W: Write> {
    encoder: zstd::stream::write::Encoder<'static, W>,
    entries: Vec<Entry>,
    buffer: Vec<u8>,
}

impl<W: Write> std::fmt::Debug for PayloadWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadWriter")
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> PayloadWriter<W> {
    /// Starts the payload frame in `spool`, compressing with `workers` threads (at least 1;
    /// the bytes do not depend on the number, spec 4.2).
    pub fn new(spool: W, workers: u32) -> io::Result<Self> {
        let mut encoder = zstd::stream::write::Encoder::new(spool, COMPRESSION_LEVEL)?;
        encoder.include_checksum(true)?;
        encoder.include_contentsize(false)?;
        encoder.window_log(PAYLOAD_WINDOW_LOG)?;
        encoder.multithread(workers.max(1))?;
        Ok(Self {
            encoder,
            entries: Vec::new(),
            buffer: vec![0u8; COPY_BUFFER],
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
        let io_err = |context: String| move |source| WriteError::Io { context, source };
        let header = ustar::header(path.as_str(), size)
            .map_err(io_err(format!("cannot write the tar header for {path}")))?;
        self.encoder
            .write_all(&header)
            .map_err(io_err("cannot write the payload spool".to_owned()))?;
        let mut sha256 = sha2::Sha256::new();
        let mut sha1 = (role == EntryRole::Package).then(sha1::Sha1::new);
        let mut read: u64 = 0;
        loop {
            let n = match source.read(&mut self.buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(format!("cannot read {path}"))(e)),
            };
            let chunk = self.buffer.get(..n).unwrap_or_default();
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
            self.encoder
                .write_all(chunk)
                .map_err(io_err("cannot write the payload spool".to_owned()))?;
            progress(n as u64);
        }
        if read != size {
            return Err(WriteError::SourceChanged {
                path,
                declared: size,
                read,
            });
        }
        let pad = [0u8; ustar::BLOCK];
        self.encoder
            .write_all(pad.get(..ustar::padding(size)).unwrap_or_default())
            .map_err(io_err("cannot write the payload spool".to_owned()))?;
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
        let io_err = |source| WriteError::Io {
            context: "cannot finish the payload spool".to_owned(),
            source,
        };
        self.encoder
            .write_all(&[0u8; 2 * ustar::BLOCK])
            .map_err(io_err)?;
        let spool = self.encoder.finish().map_err(io_err)?;
        Ok((spool, self.entries))
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

/// Writes a whole bundle: F1 and F2 from `signatures` and `manifest_bytes`, then the payload
/// frame copied from the start of `spool`. Returns the bytes written.
pub fn write_bundle<W: Write, S: Read + Seek>(
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
    let copied = io::copy(spool, out)?;
    out.flush()?;
    Ok((f1.len() as u64)
        .saturating_add(f2.len() as u64)
        .saturating_add(copied))
}
