//! The engine's look at a settled file: its unverified head (signature block and manifest,
//! a bounded read by [`bundle_format::inspect::read_unverified`]) for the channel and
//! sequence that order the work, and the SHA-256 of the whole file for the notes. Nothing
//! read here is trusted: the handler verifies.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use bundle_format::channel::Channel;
use bundle_format::limits::Limits;
use sha2::{Digest as _, Sha256};

use super::Refusal;
use super::candidate::Stamp;

/// What the head claims.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub channel: Channel,
    pub sequence: u64,
}

/// Why a look failed.
#[derive(Debug)]
pub(crate) enum PeekError {
    /// The file changed or went away since it was stamped: look again later.
    Changed,
    /// Reading it failed locally.
    Io(io::Error),
    /// It is not a bundle, or not a readable one.
    Refused(Refusal),
}

/// Opens `path` and checks it is still the file stamped `stamp` (so a link or another file
/// swapped in since is not read).
fn open(path: &Path, stamp: &Stamp) -> Result<File, PeekError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(PeekError::Changed),
        Err(e) => return Err(PeekError::Io(e)),
    };
    let meta = file.metadata().map_err(PeekError::Io)?;
    if !meta.file_type().is_file() || Stamp::of(&meta) != *stamp {
        return Err(PeekError::Changed);
    }
    Ok(file)
}

/// Reads the head of the file stamped `stamp`.
pub(crate) fn head(path: &Path, stamp: &Stamp) -> Result<Head, PeekError> {
    let file = open(path, stamp)?;
    if stamp.size == 0 {
        return Err(PeekError::Refused(Refusal::new(
            "not-a-bundle",
            "the file is empty\nHint: an empty file is no bundle; give the bundle file again",
        )));
    }
    match bundle_format::inspect::read_unverified(io::BufReader::new(file), &Limits::default()) {
        Ok(head) => match head.manifest {
            Ok(manifest) => Ok(Head {
                channel: manifest.channel(),
                sequence: manifest.sequence,
            }),
            Err(err) => Err(PeekError::Refused(Refusal::new(
                err.code(),
                err.to_string(),
            ))),
        },
        Err(err) if !err.is_refusal() => Err(PeekError::Io(io::Error::other(err.to_string()))),
        Err(err) => Err(PeekError::Refused(Refusal::new(
            err.code(),
            err.to_string(),
        ))),
    }
}

/// SHA-256 (hex) of the file stamped `stamp`.
pub(crate) fn file_digest(path: &Path, stamp: &Stamp) -> Result<String, PeekError> {
    let mut file = open(path, stamp)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(PeekError::Io)?;
        if n == 0 {
            break;
        }
        hasher.update(buffer.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}
