//! Preparing a transfer (docs/diode.md 5.1): the bundle's channel and sequence read from its
//! head (unverified: the importer verifies), then one streaming pass over the file for the
//! whole-file SHA-256 and each block's SHA-256 (the table, block 0), then the signed header.
//! Memory: a read buffer and the table (32 bytes per block), whatever the bundle's size.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};

use bundle_format::keys::SigningKey;
use bundle_format::limits::Limits;
use sha2::{Digest as _, Sha256};

use super::super::announce::{self, BodyError, SignedHeader, TransferHeader};
use super::params::SendParams;
use crate::outbox_name::{self, OutboxName};

/// Bytes read at a time.
const READ_BUFFER: usize = 256 * 1024;

/// A transfer ready to send: its header, the table, and the open file its blocks are read
/// from when their turn comes.
#[derive(Debug)]
pub struct Prepared {
    /// The bundle file.
    pub path: PathBuf,
    /// The header (unsigned form, for its figures).
    pub header: TransferHeader,
    /// The signed header datagram and the transfer id.
    pub signed: SignedHeader,
    /// Block 0: the SHA-256 of each data block.
    pub table: Vec<u8>,
    /// The file, held open: a file renamed or replaced meanwhile is still read as hashed.
    pub file: File,
}

/// Why a file cannot be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrepareError {
    /// The file cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Not a regular file.
    #[error("{path} is not a regular file\nHint: give a bundle file (*.zb)")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is not a bundle, or not a readable one.
    #[error("{path} is not a bundle: {reason}")]
    NotABundle {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file changed while it was hashed.
    #[error(
        "{path} changed while it was read (it had {expected} bytes, read {read})\nHint: send a file only once it is complete"
    )]
    Changed {
        /// The file.
        path: PathBuf,
        /// Its size when opened.
        expected: u64,
        /// The bytes read.
        read: u64,
    },
    /// The header cannot be made (a bundle too large for the block size, for example).
    #[error("{path}: the transfer header cannot be made: {source}")]
    Header {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: BodyError,
    },
}

/// Prepares `path` for sending with `params`, signed by `key`. The same file with the same
/// parameters and key always gives the same header, hence the same transfer id.
pub fn prepare(
    path: &Path,
    key: &SigningKey,
    params: &SendParams,
) -> Result<Prepared, PrepareError> {
    let read_error = |source| PrepareError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(PrepareError::NotAFile {
            path: path.to_owned(),
        });
    }
    let size = meta.len();
    let not_a_bundle = |reason: String| PrepareError::NotABundle {
        path: path.to_owned(),
        reason,
    };
    if size == 0 {
        return Err(not_a_bundle("the file is empty".to_owned()));
    }
    let head = bundle_format::inspect::read_unverified(BufReader::new(&file), &Limits::default())
        .map_err(|e| not_a_bundle(e.to_string()))?;
    let manifest = head.manifest.map_err(|e| not_a_bundle(e.to_string()))?;
    let channel = manifest.channel();
    let sequence = manifest.sequence;
    file.seek(SeekFrom::Start(0)).map_err(read_error)?;
    let Hashed {
        digest,
        table,
        read,
    } = hash_blocks(&mut file, params.block_size).map_err(read_error)?;
    if read != size {
        return Err(PrepareError::Changed {
            path: path.to_owned(),
            expected: size,
            read,
        });
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match OutboxName::parse(&file_name) {
        Some(name) if name.channel == channel && name.sequence == sequence => file_name,
        _ => {
            let stem = file_name
                .strip_suffix(&format!(".{}", outbox_name::EXTENSION))
                .unwrap_or(&file_name);
            OutboxName {
                channel: channel.clone(),
                sequence,
                label: outbox_name::label([stem]),
            }
            .to_string()
        }
    };
    let header = TransferHeader {
        key_id: key.public_key().key_id(),
        channel,
        sequence,
        name,
        size,
        digest,
        symbol_size: params.symbol_size,
        block_size: params.block_size,
        table_digest: announce::table_digest(&table),
        overhead_per_mille: params.overhead_per_mille,
    };
    let signed = header.sign(key).map_err(|source| PrepareError::Header {
        path: path.to_owned(),
        source,
    })?;
    Ok(Prepared {
        path: path.to_owned(),
        header,
        signed,
        table,
        file,
    })
}

/// What one pass over a file gives.
struct Hashed {
    /// SHA-256 of the whole input.
    digest: [u8; 32],
    /// SHA-256 of each block, concatenated.
    table: Vec<u8>,
    /// Bytes read.
    read: u64,
}

/// One pass: the SHA-256 of the whole input, and the table of each `block_size` slice's
/// SHA-256.
fn hash_blocks(input: &mut impl Read, block_size: u32) -> io::Result<Hashed> {
    let mut whole = Sha256::new();
    let mut block = Sha256::new();
    let mut in_block = 0u64;
    let mut total = 0u64;
    let mut table = Vec::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    let block_size = u64::from(block_size.max(1));
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut chunk = buffer.get(..n).unwrap_or_default();
        whole.update(chunk);
        total += n as u64;
        while !chunk.is_empty() {
            let room = usize::try_from(block_size - in_block).unwrap_or(usize::MAX);
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            block.update(now);
            in_block += now.len() as u64;
            chunk = rest;
            if in_block == block_size {
                table.extend_from_slice(&block.finalize_reset());
                in_block = 0;
            }
        }
    }
    if in_block > 0 {
        table.extend_from_slice(&block.finalize());
    }
    Ok(Hashed {
        digest: whole.finalize().into(),
        table,
        read: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_each_blocks_hash() -> io::Result<()> {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for block_size in [1u32, 64, 4096, 5000, 10_000, 20_000] {
            let Hashed {
                digest,
                table,
                read,
            } = hash_blocks(&mut &data[..], block_size)?;
            assert_eq!(read, 10_000);
            assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(&data)));
            let expected: Vec<u8> = data
                .chunks(block_size as usize)
                .flat_map(|c| <[u8; 32]>::from(Sha256::digest(c)))
                .collect();
            assert_eq!(table, expected, "block size {block_size}");
        }
        Ok(())
    }
}
