//! A file appears in an outbox only complete: it is written in a staging folder beside the
//! outbox (same filesystem, so the last step is a rename), flushed to disk, then renamed into
//! the outbox, and the outbox's directory entry is flushed too.
//!
//! The staging folder is `.NAME.partial` next to the outbox folder `NAME`, not inside it, so
//! that even a copy tool that takes hidden files (`rsync -a`) never sees a partial bundle.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why a file could not be placed in an outbox.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The outbox has no parent folder to stage beside it (it is `/` or empty).
    #[error(
        "the outbox {0} has no parent folder to stage files in\nHint: give an outbox folder below some other folder, such as /var/spool/zonebridge/outbox"
    )]
    NoParent(PathBuf),
    /// A file-system operation failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// A file of that name is already in the outbox and replacing it was not asked for.
    #[error("{0} is already in the outbox; it is left as it is")]
    Exists(PathBuf),
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PublishError {
    let path = path.to_owned();
    move |source| PublishError::Io { what, path, source }
}

/// The staging folder of `outbox` (`.NAME.partial` beside it), created if needed with mode
/// 0700.
pub fn staging_dir(outbox: &Path) -> Result<PathBuf, PublishError> {
    let (Some(parent), Some(name)) = (outbox.parent(), outbox.file_name()) else {
        return Err(PublishError::NoParent(outbox.to_owned()));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let mut staged = std::ffi::OsString::from(".");
    staged.push(name);
    staged.push(".partial");
    let dir = parent.join(staged);
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(&dir)
        .map_err(io_error("create the staging folder", &dir))?;
    Ok(dir)
}

/// Moves `file` (complete, in [`staging_dir`] of `outbox` or elsewhere on the same
/// filesystem) into `outbox` as `name`: the file is flushed, renamed, and the outbox folder
/// flushed. An existing `name` is replaced only if `replace`, else [`PublishError::Exists`].
pub fn publish_file(
    file: &Path,
    outbox: &Path,
    name: &str,
    replace: bool,
) -> Result<PathBuf, PublishError> {
    let destination = outbox.join(name);
    fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(io_error("flush", file))?;
    if replace {
        fs::rename(file, &destination).map_err(io_error("move into the outbox", file))?;
    } else {
        // A hard link fails if the name exists, which a rename would silently replace.
        match fs::hard_link(file, &destination) {
            Ok(()) => fs::remove_file(file).map_err(io_error("remove", file))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(PublishError::Exists(destination));
            }
            Err(e) => return Err(io_error("move into the outbox", file)(e)),
        }
    }
    sync_dir(outbox).map_err(io_error("flush", outbox))?;
    Ok(destination)
}

/// Flushes a folder's entries (a rename into it survives a power loss once this returns).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Writes `bytes` as `name` in `dir` atomically (staged in `dir` under a hidden temporary
/// name, flushed, renamed over `name`): for small files such as notes and the metrics file,
/// which readers must never see half-written.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PublishError> {
    use std::io::Write as _;
    let destination = dir.join(name);
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_error("create a temporary file in", dir))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io_error("write", temp.path()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o644))
            .map_err(io_error("set the mode of", &destination))?;
    }
    temp.persist(&destination)
        .map_err(|e| io_error("write", &destination)(e.error))?;
    sync_dir(dir).map_err(io_error("flush", dir))?;
    Ok(destination)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_under_its_final_name() -> Result<(), Box<dyn std::error::Error>> {
        let root = tempfile::tempdir()?;
        let outbox = root.path().join("outbox");
        fs::create_dir(&outbox)?;
        let staging = staging_dir(&outbox)?;
        assert_eq!(staging, root.path().join(".outbox.partial"));
        let staged = staging.join("a.zb");
        fs::write(&staged, b"bundle")?;
        assert_eq!(fs::read_dir(&outbox)?.count(), 0, "nothing while staged");
        let placed = publish_file(&staged, &outbox, "a.zb", false)?;
        assert_eq!(fs::read(&placed)?, b"bundle");
        assert!(!staged.exists());

        fs::write(&staged, b"other")?;
        let refused = publish_file(&staged, &outbox, "a.zb", false);
        assert!(
            matches!(refused, Err(PublishError::Exists(_))),
            "{refused:?}"
        );
        assert_eq!(fs::read(&placed)?, b"bundle", "the first stays");
        publish_file(&staged, &outbox, "a.zb", true)?;
        assert_eq!(fs::read(&placed)?, b"other");
        Ok(())
    }

    #[test]
    fn an_outbox_without_a_parent_is_refused() {
        assert!(matches!(
            staging_dir(Path::new("/")),
            Err(PublishError::NoParent(_))
        ));
    }

    #[test]
    fn small_files_are_replaced_whole() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        write_atomically(dir.path(), "m.prom", b"one\n")?;
        write_atomically(dir.path(), "m.prom", b"two\n")?;
        assert_eq!(fs::read(dir.path().join("m.prom"))?, b"two\n");
        assert_eq!(fs::read_dir(dir.path())?.count(), 1, "no temporary left");
        Ok(())
    }
}
