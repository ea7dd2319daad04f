//! Output files that appear whole or not at all: written to a temporary file in the
//! destination's folder, synced, then renamed over the final name. A failure at any point
//! leaves no partial file under the final name (the temporary file is removed on drop).

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

const BUFFER: usize = 1 << 20;

/// A file being written; see [`AtomicFile::commit`] and [`AtomicFile::commit_new`].
#[derive(Debug)]
pub struct AtomicFile {
    writer: BufWriter<NamedTempFile>,
    destination: PathBuf,
}

impl AtomicFile {
    /// Starts writing what will become `destination`, with permission bits `mode` (Unix).
    pub fn create(destination: &Path, mode: u32) -> io::Result<Self> {
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".to_owned());
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = mode;
        let temp = builder.tempfile_in(parent_dir(destination))?;
        Ok(Self {
            writer: BufWriter::with_capacity(BUFFER, temp),
            destination: destination.to_owned(),
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

    fn finish(self, replace: bool, sync: bool) -> io::Result<PathBuf> {
        let temp = self.writer.into_inner().map_err(|e| e.into_error())?;
        if sync {
            temp.as_file().sync_all()?;
        }
        let persisted = if replace {
            temp.persist(&self.destination)
        } else {
            temp.persist_noclobber(&self.destination)
        };
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
