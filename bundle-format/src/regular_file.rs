//! Opening a file named on the command line (a bundle, a policy, a key, a secrets or mapping
//! file) so that only a regular file is ever read, and nothing ever blocks.
//!
//! A FIFO opened for reading blocks until a writer appears; `/dev/zero` never ends; `/dev/tty`
//! waits for a person; a directory or a socket cannot be read at all. Checking the path alone
//! (`metadata`, then `open`) leaves a moment in which the name can be swapped, so the file is
//! opened without blocking (`O_NONBLOCK`, which opens a FIFO at once) and the opened handle
//! itself is checked (`fstat`): what was checked is what is read. (The path is looked at
//! first too, only so that a device is never opened at all.) On a regular file `O_NONBLOCK`
//! changes nothing, so the handle is read as it is.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::path::Path;

/// Why a file named as input cannot be read: the payload of an [`io::Error`] of kind
/// `InvalidInput`, so that every caller's existing "cannot read FILE: ..." message carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotRegular {
    /// A directory.
    Directory,
    /// A FIFO (named pipe).
    Fifo,
    /// A character device, such as `/dev/zero` or `/dev/tty`.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// A Unix socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
    /// A regular file of 0 bytes, where content is required.
    Empty,
}

impl NotRegular {
    /// What the file is, in words ("a FIFO (named pipe)").
    pub fn what(self) -> &'static str {
        match self {
            Self::Directory => "a directory",
            Self::Fifo => "a FIFO (named pipe)",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Socket => "a socket",
            Self::Other => "not a regular file",
            Self::Empty => "empty (0 bytes)",
        }
    }

    fn of(meta: &Metadata) -> Option<Self> {
        let kind = meta.file_type();
        if kind.is_file() {
            return None;
        }
        if kind.is_dir() {
            return Some(Self::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            if kind.is_fifo() {
                return Some(Self::Fifo);
            }
            if kind.is_char_device() {
                return Some(Self::CharDevice);
            }
            if kind.is_block_device() {
                return Some(Self::BlockDevice);
            }
            if kind.is_socket() {
                return Some(Self::Socket);
            }
        }
        Some(Self::Other)
    }
}

impl fmt::Display for NotRegular {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty (0 bytes)\nHint: give the file that holds the content; an interrupted copy leaves an empty file"),
            Self::Other => f.write_str("it is not a regular file\nHint: give a regular file; to read from a pipe, give `-` where standard input is accepted"),
            kind => write!(
                f,
                "it is {}, not a regular file\nHint: give a regular file; to read from a pipe, give `-` where standard input is accepted",
                kind.what()
            ),
        }
    }
}

impl std::error::Error for NotRegular {}

/// Opens `path` for reading, refusing at once anything but a regular file. The check is made
/// on the opened handle, and the open cannot block (a FIFO with no writer is refused, not
/// waited on). The error of a refusal is an [`io::Error`] of kind `InvalidInput` carrying a
/// [`NotRegular`].
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    // A first look at the path, so that a device is never even opened (opening some has
    // effects of its own); the handle is checked again below, which is what counts.
    if let Some(kind) = std::fs::metadata(path)
        .ok()
        .as_ref()
        .and_then(NotRegular::of)
    {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, kind));
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        // NONBLOCK: a FIFO swapped in since the look above opens at once instead of waiting
        // for a writer. NOCTTY: a terminal swapped in does not become ours. The bits fit an
        // i32 (0o4000 and 0o400 on Linux).
        options.custom_flags((OFlags::NONBLOCK | OFlags::NOCTTY).bits() as i32);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        // A socket (or a device with nothing behind it) cannot be opened at all: say what it
        // is rather than "No such device or address". Nothing is read from it either way.
        Err(err) => {
            return Err(
                match std::fs::metadata(path)
                    .ok()
                    .as_ref()
                    .and_then(NotRegular::of)
                {
                    Some(kind) => io::Error::new(io::ErrorKind::InvalidInput, kind),
                    None => err,
                },
            );
        }
    };
    checked(file)
}

/// `file` with its metadata if the opened handle is a regular file (`fstat`), else the
/// refusal naming what it is.
fn checked(file: File) -> io::Result<(File, Metadata)> {
    let meta = file.metadata()?;
    match NotRegular::of(&meta) {
        None => Ok((file, meta)),
        Some(kind) => Err(io::Error::new(io::ErrorKind::InvalidInput, kind)),
    }
}

/// As [`open_regular`], and an empty file is refused too ([`NotRegular::Empty`]): for inputs
/// that cannot be empty (a key, a policy). A bundle is opened with [`open_regular`]: the spec
/// gives an empty one its own verdict (`not-a-bundle`).
pub fn open_nonempty(path: &Path) -> io::Result<(File, Metadata)> {
    let (file, meta) = open_regular(path)?;
    if meta.len() == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            NotRegular::Empty,
        ));
    }
    Ok((file, meta))
}

/// What stands at `path` if it is there and is not a regular file (a link is followed), for
/// files opened by another library, such as the ledger's SQLite, which would otherwise block on
/// a FIFO or fail in its own words.
pub fn not_regular_at(path: &Path) -> Option<NotRegular> {
    std::fs::metadata(path)
        .ok()
        .as_ref()
        .and_then(NotRegular::of)
}

/// The [`NotRegular`] an error carries, if it is one of ours.
pub fn not_regular(err: &io::Error) -> Option<NotRegular> {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<NotRegular>())
        .copied()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn refusal(path: &Path) -> Option<NotRegular> {
        open_regular(path).err().as_ref().and_then(not_regular)
    }

    #[test]
    fn only_regular_files_open() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("f");
        std::fs::write(&file, b"x")?;
        assert!(open_regular(&file).is_ok());
        assert_eq!(refusal(dir.path()), Some(NotRegular::Directory));
        assert_eq!(
            refusal(Path::new("/dev/null")),
            Some(NotRegular::CharDevice)
        );
        let socket = dir.path().join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&socket)?;
        assert_eq!(refusal(&socket), Some(NotRegular::Socket));
        let fifo = dir.path().join("p");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        assert!(made.success());
        // Returns at once: a FIFO without a writer is refused, not waited on.
        assert_eq!(refusal(&fifo), Some(NotRegular::Fifo));
        Ok(())
    }

    #[test]
    fn the_opened_handle_is_what_is_checked() -> Result<(), Box<dyn std::error::Error>> {
        // As if each had been swapped in after the first look at the path.
        use std::os::unix::fs::OpenOptionsExt as _;
        let dir = tempfile::tempdir()?;
        let fifo = dir.path().join("p");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()?
                .success()
        );
        let nonblocking = || {
            let mut options = OpenOptions::new();
            options.read(true);
            options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
            options
        };
        for (path, kind) in [
            (fifo.as_path(), NotRegular::Fifo),
            (dir.path(), NotRegular::Directory),
            (Path::new("/dev/null"), NotRegular::CharDevice),
        ] {
            let err = checked(nonblocking().open(path)?).err();
            assert_eq!(err.as_ref().and_then(not_regular), Some(kind), "{path:?}");
        }
        Ok(())
    }

    #[test]
    fn empty_files_are_refused_where_content_is_needed() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("empty");
        std::fs::write(&file, b"")?;
        assert!(open_regular(&file).is_ok());
        let err = open_nonempty(&file).err();
        assert_eq!(err.as_ref().and_then(not_regular), Some(NotRegular::Empty));
        Ok(())
    }

    #[test]
    fn messages_name_the_kind_and_the_fix() {
        let text = NotRegular::Fifo.to_string();
        assert!(text.starts_with("it is a FIFO (named pipe), not a regular file\nHint: "));
        assert!(NotRegular::Directory.to_string().contains("a directory"));
    }
}
