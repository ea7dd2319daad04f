//! Where verified-as-they-stream payload bytes go: nowhere, or a private staging folder.

use std::io;

use crate::manifest::Entry;

/// Receives each payload entry's bytes while they are hashed (spec 8.8).
///
/// Nothing a sink receives is trusted until the verifier returns `Ok`; a sink that writes to
/// disk must write only into a private staging folder (see [`crate::staging::Staging`]).
pub trait EntrySink {
    /// An entry begins; `entry` is what the signed manifest declares for it.
    fn begin(&mut self, entry: &Entry) -> io::Result<()>;
    /// The next bytes of the current entry.
    fn write(&mut self, data: &[u8]) -> io::Result<()>;
    /// The current entry ended and its SHA-256 matched.
    fn end(&mut self, entry: &Entry) -> io::Result<()>;
}

/// A sink that keeps nothing: `verify` without unpacking.
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl EntrySink for Discard {
    fn begin(&mut self, _entry: &Entry) -> io::Result<()> {
        Ok(())
    }
    fn write(&mut self, _data: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn end(&mut self, _entry: &Entry) -> io::Result<()> {
        Ok(())
    }
}
