//! Writing a result bundle (bundle spec 5.4): the scrubbed task log as its one `log` entry,
//! the outcome in the signed manifest, on the result channel back to the zone the release came
//! from. The file appears atomically, flushed to disk.
//!
//! A result for an ended deployment is created at the task's end time, so that writing it again
//! (after a crash before the ledger recorded it) gives the same bytes; a `waiting` result is
//! created now.

use std::path::Path;

use anyhow::Context as _;
use bridge_cli::atomic::{AtomicFile, parent_dir};
use bundle_format::container::writer::PayloadWriter;
use bundle_format::keys::SigningKey;
use bundle_format::manifest::{BundleKind, EntryRole, ResultDescription};
use bundle_format::names::EntryPath;
use bundle_format::pack::{BundleHeader, Description, SealedBundle, seal};

/// The log entry's path in every result bundle this writer makes.
pub const LOG_PATH: &str = "logs/task.log";

/// Writes the result bundle to `out`; `description.log` must be [`LOG_PATH`].
pub fn write(
    out: &Path,
    header: BundleHeader,
    description: ResultDescription,
    log: &str,
    keys: &[SigningKey],
) -> anyhow::Result<SealedBundle> {
    debug_assert_eq!(header.kind, BundleKind::Result);
    let spool = tempfile::tempfile_in(parent_dir(out))
        .with_context(|| format!("cannot create a spool file beside {}", out.display()))?;
    let mut payload = PayloadWriter::new(spool, 1).context("cannot start the result bundle")?;
    let path = EntryPath::new(LOG_PATH)?;
    payload.append(
        path,
        EntryRole::Log,
        log.len() as u64,
        &mut log.as_bytes(),
        &mut |_| {},
    )?;
    let (mut spool, entries) = payload.finish()?;
    let mut file = AtomicFile::create(out, 0o644)
        .with_context(|| format!("cannot create {}", out.display()))?;
    let sealed = seal(
        header,
        entries,
        Description::Result(description),
        keys,
        &mut spool,
        &mut file,
    )?;
    file.commit()
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(sealed)
}
