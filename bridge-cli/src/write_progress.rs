//! Progress of a bundle being written (`pack`, `export`), phase by phase, so that the bar
//! does not sit at 100% while the work goes on:
//!
//! ```text
//! reading  release files hashed and compressed   bar over the release's bytes
//! sealing  compression ends, manifest signed     spinner
//! writing  signatures, manifest, payload copied  spinner with the bytes written
//! flushing the file forced to disk (fsync)       spinner
//! ```
//!
//! [`PhaseTracker`] decides the phase from what the writer sees (bytes read, bytes written,
//! the flush starting) and never goes back; [`WriteProgress`] shows it on the terminal.

use std::cell::RefCell;
use std::io::{self, Write};

use crate::output::Output;
use crate::progress::Progress;

/// A phase of writing a bundle, in the order they come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WritePhase {
    /// The release files are read, hashed and compressed into the spool.
    Reading,
    /// Everything is read: compression finishes and the manifest is signed.
    Sealing,
    /// The signatures, the manifest and the compressed payload are copied to the output.
    Writing,
    /// The output is forced to disk before it appears under its name.
    Flushing,
}

impl WritePhase {
    /// The progress bar's label for the phase.
    pub fn label(self) -> &'static str {
        match self {
            Self::Reading => "packing",
            Self::Sealing => "compressing and signing",
            Self::Writing => "writing",
            Self::Flushing => "flushing to disk",
        }
    }
}

/// Which phase a bundle being written is in, from the events its writer sees.
#[derive(Debug, Clone)]
pub struct PhaseTracker {
    phase: WritePhase,
    read: u64,
    to_read: u64,
}

impl PhaseTracker {
    /// A tracker for a release of `to_read` bytes.
    pub fn new(to_read: u64) -> Self {
        Self {
            phase: WritePhase::Reading,
            read: 0,
            to_read,
        }
    }

    /// The current phase.
    pub fn phase(&self) -> WritePhase {
        self.phase
    }

    /// `n` more release bytes read; the new phase when all are read (sealing).
    pub fn read(&mut self, n: u64) -> Option<WritePhase> {
        self.read = self.read.saturating_add(n);
        if self.read >= self.to_read && self.to_read > 0 {
            return self.advance(WritePhase::Sealing);
        }
        None
    }

    /// Bytes written to the output; the new phase at the first write (writing).
    pub fn wrote(&mut self, n: u64) -> Option<WritePhase> {
        if n == 0 {
            return None;
        }
        self.advance(WritePhase::Writing)
    }

    /// The output is about to be forced to disk; the new phase (flushing).
    pub fn flushing(&mut self) -> Option<WritePhase> {
        self.advance(WritePhase::Flushing)
    }

    /// Moves forward to `to`; never back, and never to the phase it is in.
    fn advance(&mut self, to: WritePhase) -> Option<WritePhase> {
        if to <= self.phase {
            return None;
        }
        self.phase = to;
        Some(to)
    }
}

/// The progress bar of a bundle being written, relabelled at each phase.
#[derive(Debug)]
pub struct WriteProgress {
    bar: Progress,
    tracker: RefCell<PhaseTracker>,
}

impl WriteProgress {
    /// A bar for a release of `to_read` bytes, if `out` allows one.
    pub fn new(out: &Output, to_read: u64) -> Self {
        Self {
            bar: Progress::bytes(out, WritePhase::Reading.label(), Some(to_read)),
            tracker: RefCell::new(PhaseTracker::new(to_read)),
        }
    }

    /// `n` more release bytes read.
    pub fn read(&self, n: u64) {
        self.bar.inc(n);
        let changed = self.tracker.borrow_mut().read(n);
        self.show(changed);
    }

    /// `n` bytes written to the output.
    pub fn wrote(&self, n: u64) {
        let changed = self.tracker.borrow_mut().wrote(n);
        self.show(changed);
        self.bar.inc(n);
    }

    /// The output is about to be forced to disk.
    pub fn flushing(&self) {
        let changed = self.tracker.borrow_mut().flushing();
        self.show(changed);
    }

    /// `out` with every byte written to it counted in the writing phase.
    pub fn writer<W: Write>(&self, out: W) -> CountedWriter<'_, W> {
        CountedWriter {
            inner: out,
            progress: self,
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish();
    }

    fn show(&self, changed: Option<WritePhase>) {
        if let Some(phase) = changed {
            // Only reading has a known total; the others show that work goes on.
            self.bar.restart(phase.label(), None);
        }
    }
}

/// A writer whose bytes count in [`WriteProgress`]'s writing phase.
#[derive(Debug)]
pub struct CountedWriter<'a, W> {
    inner: W,
    progress: &'a WriteProgress,
}

impl<W: Write> Write for CountedWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.progress.wrote(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_reading_sealing_writing_flushing() {
        let mut t = PhaseTracker::new(100);
        assert_eq!(t.phase(), WritePhase::Reading);
        assert_eq!(t.read(60), None);
        assert_eq!(t.read(40), Some(WritePhase::Sealing));
        assert_eq!(t.read(0), None, "sealing is announced once");
        assert_eq!(t.wrote(10), Some(WritePhase::Writing));
        assert_eq!(t.wrote(10), None, "writing is announced once");
        assert_eq!(t.flushing(), Some(WritePhase::Flushing));
        assert_eq!(t.phase(), WritePhase::Flushing);
    }

    #[test]
    fn phases_never_go_back() {
        let mut t = PhaseTracker::new(10);
        assert_eq!(t.wrote(5), Some(WritePhase::Writing));
        // A late read (there is none in practice) does not bring back an earlier phase.
        assert_eq!(t.read(10), None);
        assert_eq!(t.flushing(), Some(WritePhase::Flushing));
        assert_eq!(t.wrote(5), None);
        assert_eq!(t.phase(), WritePhase::Flushing);
    }

    #[test]
    fn an_empty_release_goes_straight_to_writing() {
        let mut t = PhaseTracker::new(0);
        assert_eq!(t.read(0), None);
        assert_eq!(t.wrote(0), None, "nothing written is no phase change");
        assert_eq!(t.wrote(1), Some(WritePhase::Writing));
    }

    #[test]
    fn the_counted_writer_passes_every_byte_and_moves_to_writing() -> io::Result<()> {
        let out = Output::new(crate::output::GlobalArgs {
            json: false,
            quiet: true,
        });
        let progress = WriteProgress::new(&out, 3);
        progress.read(3);
        assert_eq!(progress.tracker.borrow().phase(), WritePhase::Sealing);
        let mut sink = Vec::new();
        progress.writer(&mut sink).write_all(b"bundle bytes")?;
        assert_eq!(sink, b"bundle bytes");
        assert_eq!(progress.tracker.borrow().phase(), WritePhase::Writing);
        progress.flushing();
        assert_eq!(progress.tracker.borrow().phase(), WritePhase::Flushing);
        let labels: Vec<&str> = [
            WritePhase::Reading,
            WritePhase::Sealing,
            WritePhase::Writing,
            WritePhase::Flushing,
        ]
        .map(WritePhase::label)
        .to_vec();
        assert_eq!(
            labels,
            [
                "packing",
                "compressing and signing",
                "writing",
                "flushing to disk"
            ]
        );
        Ok(())
    }
}
