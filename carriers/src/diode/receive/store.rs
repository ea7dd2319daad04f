//! The partial files of transfers, in the inbox's staging folder (`.INBOX.partial/`: same
//! file system, so delivery is a rename; hidden from the inbox engine):
//!
//! ```text
//! diode-<transfer hex>.part    the bundle's bytes, verified blocks written in place (pwrite)
//! diode-<transfer hex>.header  the signed header datagram, as received
//! diode-<transfer hex>.table   the table of block hashes, once decoded and checked
//! ```
//!
//! After a restart the header is authenticated again, the table checked against it, and
//! every block on disk rehashed: nothing read back is trusted for having been written.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use super::super::wire::TransferId;

/// One transfer's files.
#[derive(Debug)]
pub struct Partial {
    dir: PathBuf,
    stem: String,
    file: fs::File,
}

/// The file stem of a transfer: `diode-<16 hex digits>`.
pub fn stem(id: &TransferId) -> String {
    format!("diode-{}", hex::encode(id))
}

/// The transfer ids that have a saved header in `dir`.
pub fn saved(dir: &Path) -> io::Result<Vec<TransferId>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(hex_id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("diode-"))
            .and_then(|n| n.strip_suffix(".header"))
        else {
            continue;
        };
        let mut id = TransferId::default();
        if hex::decode_to_slice(hex_id, &mut id).is_ok() {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Reads a saved header datagram (at most `limit` bytes).
pub fn read_header(dir: &Path, id: &TransferId, limit: u64) -> io::Result<Vec<u8>> {
    read_small(&dir.join(format!("{}.header", stem(id))), limit)
}

fn read_small(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    if fs::metadata(path)?.len() > limit {
        return Err(io::Error::other(format!(
            "{} is over {limit} bytes",
            path.display()
        )));
    }
    fs::read(path)
}

/// Removes every file of a transfer (missing ones are fine).
pub fn remove(dir: &Path, id: &TransferId) {
    let stem = stem(id);
    for ext in ["part", "header", "table"] {
        // Best effort: what is left is found again at the next start and cleaned there.
        let _ = fs::remove_file(dir.join(format!("{stem}.{ext}")));
    }
}

impl Partial {
    /// Opens (or creates) the partial file of `id` for a bundle of `size` bytes and saves
    /// `header` beside it. An existing file of another length is started over.
    pub fn open(dir: &Path, id: &TransferId, size: u64, header: &[u8]) -> io::Result<Self> {
        let stem = stem(id);
        let path = dir.join(format!("{stem}.part"));
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        if file.metadata()?.len() != size {
            file.set_len(0)?;
            // Sparse: the disk is used as blocks arrive; the budget counts the whole size.
            file.set_len(size)?;
        }
        let header_path = dir.join(format!("{stem}.header"));
        if fs::read(&header_path).ok().as_deref() != Some(header) {
            crate::publish::write_atomically(dir, &format!("{stem}.header"), header)
                .map_err(io::Error::other)?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            stem,
            file,
        })
    }

    /// The partial file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.part", self.stem))
    }

    /// Writes a verified block at `offset`.
    pub fn write_block(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)
    }

    /// Reads `len` bytes at `offset` (to rehash a block after a restart).
    pub fn read_block(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// Saves the verified table beside the partial file.
    pub fn save_table(&self, table: &[u8]) -> io::Result<()> {
        crate::publish::write_atomically(&self.dir, &format!("{}.table", self.stem), table)
            .map(|_| ())
            .map_err(io::Error::other)
    }

    /// The saved table, if any (at most `limit` bytes; checked by the caller).
    pub fn read_table(&self, limit: u64) -> Option<Vec<u8>> {
        read_small(&self.dir.join(format!("{}.table", self.stem)), limit).ok()
    }

    /// Flushes the file's bytes to disk.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

/// Bytes free for an unprivileged writer on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let stat = rustix::fs::statvfs(dir).map_err(io::Error::from)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}
