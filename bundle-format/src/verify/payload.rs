//! Spec 8.8 and 8.9: the payload's records, checked one by one against the manifest entries.
#![deny(clippy::indexing_slicing)]

use sha2::Digest as _;

use super::{EntrySink, Region, VerifyError};
use crate::container::reader::{PayloadStream, record_error};
use crate::container::ustar::{self, Record};
use crate::manifest::Entry;
use crate::names::EntryPath;

/// Checks every record of the payload against `entries`, in order, then the end of the bundle.
pub(super) fn verify_entries(
    stream: &mut PayloadStream,
    entries: &[Entry],
    sink: &mut dyn EntrySink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), VerifyError> {
    let mut block = [0u8; ustar::BLOCK];
    for (index, entry) in entries.iter().enumerate() {
        // From the bundle spec, 8.8.1-8.8.6: "read a 512-byte block; not all zeros
        // (entry-missing); header checks; typeflag '0'; size parses; path equals e(i).path".
        stream.read_exact(&mut block)?;
        let (path, size) = match ustar::parse(&block) {
            Ok(Record::File { path, size }) => (path, size),
            Ok(Record::End) => {
                return Err(VerifyError::EntryMissing {
                    path: entry.path.to_string(),
                });
            }
            Err(err) => return Err(record_error(err, Region::Payload)),
        };
        if path != entry.path.as_str() {
            return Err(misplaced(path, index, entries));
        }
        // 8.8.7: "size equals e(i).size (before any data is read)".
        if size != entry.size {
            return Err(VerifyError::EntrySizeMismatch {
                path,
                declared: entry.size,
                found: size,
            });
        }
        copy_and_hash(stream, entry, sink, progress)?;
    }
    // 8.9.1 and 8.9.2: "after the last entry, a block that is not all zeros is judged like an
    // extra entry; the next 512 bytes exist and are zero".
    stream.read_exact(&mut block)?;
    match ustar::parse(&block) {
        Ok(Record::End) => {}
        Ok(Record::File { path, .. }) => return Err(misplaced(path, entries.len(), entries)),
        Err(err) => return Err(record_error(err, Region::Payload)),
    }
    stream.read_exact(&mut block)?;
    if block.iter().any(|&b| b != 0) {
        return Err(VerifyError::BadRecord {
            region: Region::Payload,
            detail: "the end-of-archive marker is not two zero blocks".to_owned(),
        });
    }
    // 8.9.3-8.9.5: "the decompressed content ends there (trailing-data); F3 ends with a
    // matching checksum; the file ends". The last two arrive from the decompression thread.
    let rest = stream.fill()?;
    if !rest.is_empty() {
        return Err(VerifyError::TrailingData {
            detail: format!(
                "{} or more bytes follow the end-of-archive marker inside the payload frame",
                rest.len()
            ),
        });
    }
    Ok(())
}

/// Streams one entry's data and padding through SHA-256 into the sink.
fn copy_and_hash(
    stream: &mut PayloadStream,
    entry: &Entry,
    sink: &mut dyn EntrySink,
    progress: &mut dyn FnMut(u64),
) -> Result<(), VerifyError> {
    let sink_error = |err| VerifyError::io(format!("cannot stage {}", entry.path), err);
    sink.begin(entry).map_err(sink_error)?;
    let mut hasher = sha2::Sha256::new();
    let mut remaining = entry.size;
    while remaining > 0 {
        let available = stream.fill()?;
        if available.is_empty() {
            return Err(VerifyError::Truncated {
                region: Region::Payload,
            });
        }
        let take = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(available.len());
        let chunk = available.get(..take).unwrap_or_default();
        hasher.update(chunk);
        sink.write(chunk).map_err(sink_error)?;
        stream.consume(take);
        remaining = remaining.saturating_sub(take as u64);
        progress(take as u64);
    }
    // From the bundle spec, 8.8.9: "SHA-256 of the bytes equals e(i).sha256, checked as soon
    // as the last byte is in", before the padding (8.8.10) is read.
    let digest: [u8; 32] = hasher.finalize().into();
    if &digest != entry.sha256.as_bytes() {
        return Err(VerifyError::HashMismatch {
            path: entry.path.to_string(),
        });
    }
    let mut pad = [0u8; ustar::BLOCK];
    let pad = pad
        .get_mut(..ustar::padding(entry.size))
        .unwrap_or_default();
    stream.read_exact(pad)?;
    if pad.iter().any(|&b| b != 0) {
        return Err(VerifyError::BadRecord {
            region: Region::Payload,
            detail: format!("the padding after {} is not zero", entry.path),
        });
    }
    sink.end(entry).map_err(sink_error)
}

/// Names what a record with an unexpected path is, relative to the entry expected at `index`.
fn misplaced(path: String, index: usize, entries: &[Entry]) -> VerifyError {
    if let Err(err) = EntryPath::new(&path) {
        return VerifyError::path_invalid(path, err);
    }
    let position = entries.iter().position(|e| e.path.as_str() == path);
    match (position, entries.get(index)) {
        (Some(found), Some(expected)) if found > index => VerifyError::EntryOutOfOrder {
            expected: expected.path.to_string(),
            found: path,
        },
        (Some(found), _) if found < index => VerifyError::EntryDuplicated { path },
        _ => VerifyError::EntryNotInManifest { path },
    }
}
