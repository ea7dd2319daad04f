//! Output files that appear whole or not at all: written to a temporary file in the
//! destination's folder, synced, then renamed over the final name. A failure at any point
//! leaves no partial file under the final name (the temporary file is removed on drop, on
//! SIGINT or SIGTERM by [`crate::cleanup`], and after a SIGKILL by the next run's sweep of the
//! folder: its name is `.zonebridge-PID-RANDOM.tmp`).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use bundle_format::staging::temp_name;
use tempfile::NamedTempFile;

use crate::cleanup::{self, Tracked};

const BUFFER: usize = 1 << 20;

/// A file being written; see [`AtomicFile::commit`] and [`AtomicFile::commit_new`].
#[derive(Debug)]
pub struct AtomicFile {
    writer: BufWriter<NamedTempFile>,
    destination: PathBuf,
    tracked: Tracked,
}

impl AtomicFile {
    /// Starts writing what will become `destination`, with permission bits `mode` (Unix).
    /// Leftovers of killed runs in that folder are removed first ([`cleanup::sweep`]).
    pub fn create(destination: &Path, mode: u32) -> io::Result<Self> {
        cleanup::sweep(parent_dir(destination));
        let prefix = temp_name::own_prefix();
        let suffix = format!(".{}", temp_name::Purpose::Tmp.suffix());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(&suffix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = mode;
        let temp = builder.tempfile_in(parent_dir(destination))?;
        let tracked = cleanup::track(temp.path());
        Ok(Self {
            writer: BufWriter::with_capacity(BUFFER, temp),
            destination: destination.to_owned(),
            tracked,
        })
    }

    /// Finishes the file and renames it over `destination`, replacing any file there.
    pub fn commit(self) -> io::Result<PathBuf> {
        self.finish(true, true)
    }

    /// As [`AtomicFile::commit`], without waiting for the data to reach the disk: the rename
    /// is still atomic, but after a power loss the file may be empty or partial.
    pub fn commit_unsynced(self) -> io::Result<PathBuf> {
        self.finish(true, false)
    }

    /// Finishes the file and renames it to `destination`, failing with `AlreadyExists` if
    /// something is already there.
    pub fn commit_new(self) -> io::Result<PathBuf> {
        self.finish(false, true)
    }

    /// Finishes the file and renames it to `destination`: over anything there if `replace`,
    /// else failing with `AlreadyExists` if something is there; flushed to disk if `sync`.
    pub fn commit_as(self, replace: bool, sync: bool) -> io::Result<PathBuf> {
        self.finish(replace, sync)
    }

    fn finish(self, replace: bool, sync: bool) -> io::Result<PathBuf> {
        let temp = self.writer.into_inner().map_err(|e| e.into_error())?;
        if sync {
            temp.as_file().sync_all()?;
        }
        let persisted = self.tracked.publish(|| {
            if replace {
                temp.persist(&self.destination)
            } else {
                temp.persist_noclobber(&self.destination)
            }
        });
        persisted.map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!("cannot create {}: {}", self.destination.display(), e.error),
            )
        })?;
        if sync {
            sync_dir(parent_dir(&self.destination))?;
        }
        Ok(self.destination)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Refuses an output `path` that already exists (even as a dangling link) unless `force`:
/// `AlreadyExists`, exit 4, with a hint naming `--force`.
pub fn refuse_existing(path: &Path, force: bool) -> io::Result<()> {
    if force || fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{} already exists\nHint: give another --out, or add --force to replace it",
            path.display()
        ),
    ))
}

/// The folder `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The permission bits of an existing file, to keep them when it is rewritten.
pub fn mode_of(path: &Path) -> io::Result<u32> {
    let meta = fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(0o644)
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let dest = dir.path().join("out.zb");
        let mut file = AtomicFile::create(&dest, 0o644)?;
        file.write_all(b"half")?;
        assert!(!dest.exists());
        drop(file);
        assert_eq!(fs::read_dir(dir.path())?.count(), 0, "temp file removed");

        let mut file = AtomicFile::create(&dest, 0o644)?;
        file.write_all(b"whole")?;
        file.commit()?;
        assert_eq!(fs::read(&dest)?, b"whole");
        assert_eq!(mode_of(&dest)? & 0o600, 0o600);

        let file = AtomicFile::create(&dest, 0o644)?;
        let err = file.commit_new().err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::AlreadyExists));
        assert_eq!(fs::read(&dest)?, b"whole");
        Ok(())
    }
}
