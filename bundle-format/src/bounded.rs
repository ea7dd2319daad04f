//! Small text files from outside (keys, policies, release descriptions), read with a bound so
//! that a wrong path (a device, a huge file) cannot exhaust memory, and opened by
//! [`crate::regular_file::open_regular`] so that a FIFO or a device is refused at once.

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug)]
pub(crate) enum BoundedReadError {
    /// Opening or reading failed (including text that is not UTF-8, and a file that is not a
    /// regular file: see [`crate::regular_file::NotRegular`]).
    Io(io::Error),
    /// The file holds more than the bound.
    TooLarge,
}

/// Reads `path` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, BoundedReadError> {
    let (file, _) = crate::regular_file::open_regular(path).map_err(BoundedReadError::Io)?;
    read_open(file, limit)
}

/// As [`read_text`], refusing an empty file, and handing back the opened file's metadata so
/// that its mode is checked on the very file read.
pub(crate) fn read_nonempty(
    path: &Path,
    limit: u64,
) -> Result<(String, Metadata), BoundedReadError> {
    let (file, meta) = crate::regular_file::open_nonempty(path).map_err(BoundedReadError::Io)?;
    Ok((read_open(file, limit)?, meta))
}

fn read_open(file: File, limit: u64) -> Result<String, BoundedReadError> {
    let mut text = String::new();
    file.take(limit.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(BoundedReadError::Io)?;
    if text.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(text)
}
