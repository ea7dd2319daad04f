//! Small text files from outside (keys, policies, release descriptions), read with a bound so
//! that a wrong path (a device, a huge file) cannot exhaust memory.

use std::io::{self, Read};
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug)]
pub(crate) enum BoundedReadError {
    /// Opening or reading failed (including text that is not UTF-8).
    Io(io::Error),
    /// The file holds more than the bound.
    TooLarge,
}

/// Reads `path` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, BoundedReadError> {
    let file = std::fs::File::open(path).map_err(BoundedReadError::Io)?;
    let mut text = String::new();
    file.take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(BoundedReadError::Io)?;
    if text.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(text)
}
