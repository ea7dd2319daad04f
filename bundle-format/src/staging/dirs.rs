//! The file-descriptor steps behind [`super::Staging`]: every folder is opened once and
//! everything below it is reached relative to that handle, never by a path that another user
//! could redirect.
//!
//! ```text
//! parent  (opened O_DIRECTORY|O_NOFOLLOW; owner = us or root; not writable by others unless sticky)
//!   +-- .zonebridge-PID-RANDOM.staging   mkdirat 0700, opened O_NOFOLLOW, owner checked
//!   |     +-- sub/                        mkdirat relative to its parent's handle, O_NOFOLLOW
//!   |           +-- file                  openat O_CREAT|O_EXCL|O_NOFOLLOW, then fchmod 0644
//!   +-- DIR   <- renameat2(RENAME_NOREPLACE): never replaces what someone else put there
//! ```
//!
//! Why the parent rules are enough: in a folder that only we (or root) can write, no one else
//! can create, rename or remove names; in a sticky folder (`/tmp`, mode 1777) others can
//! create names but cannot rename or remove ours. A folder writable by others without the
//! sticky bit, or owned by another user, lets them rename our staging folder away and put
//! their own under its name: such a parent is refused with a message naming it.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use std::os::fd::AsFd;

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

/// How every folder is opened: read-only handle, must be a folder, never through a link.
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Mode of the staging folder while entries are written (spec 8).
pub(super) const PRIVATE_MODE: u32 = 0o700;
/// Mode of every folder of the unpacked tree, and of the tree itself once published (8.10).
pub(super) const FOLDER_MODE: u32 = 0o755;
/// Mode of every unpacked file (8.8).
pub(super) const FILE_MODE: u32 = 0o644;

/// Identity of a folder: (device, inode).
pub(super) type Identity = (u64, u64);

fn identity(file: &File) -> io::Result<Identity> {
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

/// The user this process acts as.
pub(super) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn err(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, message)
}

/// Opens the folder `name` in `dir`. A link is refused with `LOOP` (Linux says `NOTDIR` when
/// `O_DIRECTORY` meets a link), a non-folder with `NOTDIR`.
fn open_dir_at<Fd: AsFd>(dir: Fd, name: &(impl rustix::path::Arg + Copy)) -> Result<File, Errno> {
    match rustix::fs::openat(&dir, *name, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => Ok(File::from(fd)),
        Err(Errno::NOTDIR | Errno::LOOP) => {
            let link = rustix::fs::statat(&dir, *name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
            Err(if link { Errno::LOOP } else { Errno::NOTDIR })
        }
        Err(e) => Err(e),
    }
}

/// Opens `path` (the folder that will hold the staging folder and the destination) and checks
/// that no other user can rename, replace or remove what we create in it.
pub(super) fn open_parent(path: &Path) -> io::Result<File> {
    let shown = path.display();
    let dir = match open_dir_at(CWD, &path) {
        Ok(dir) => dir,
        Err(Errno::LOOP) => {
            return Err(err(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{shown} is a symbolic link\nHint: give the folder's real path (a link can be pointed elsewhere while the payload is written)"
                ),
            ));
        }
        Err(Errno::NOTDIR) => {
            return Err(err(
                io::ErrorKind::NotADirectory,
                format!("{shown} is not a folder"),
            ));
        }
        Err(Errno::NOENT) => {
            return Err(err(
                io::ErrorKind::NotFound,
                format!("the folder {shown} does not exist\nHint: create it first"),
            ));
        }
        Err(e) => {
            return Err(err(
                io::Error::from(e).kind(),
                format!("cannot open the folder {shown}: {e}"),
            ));
        }
    };
    let meta = dir.metadata()?;
    let mode = meta.mode() & 0o7777;
    if meta.uid() != euid() && meta.uid() != 0 {
        return Err(err(
            io::ErrorKind::PermissionDenied,
            format!(
                "the folder {shown} (mode {mode:04o}) belongs to another user (uid {}), who could replace anything created in it\nHint: give a folder that you (or root) own",
                meta.uid()
            ),
        ));
    }
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        return Err(err(
            io::ErrorKind::PermissionDenied,
            format!(
                "the folder {shown} (mode {mode:04o}) is writable by other users and has no sticky bit: they could rename what is created in it and put their own files in its place\nHint: use a folder only you can write (chmod go-w {shown}), or one with the sticky bit (chmod +t {shown}; /tmp is 1777)"
            ),
        ));
    }
    Ok(dir)
}

/// Creates the new folder `name` in `parent`, private (mode 0700), and opens it. Fails with
/// `AlreadyExists` if anything is there already (a folder, a file or a symbolic link planted
/// by someone else): an existing name is never used.
pub(super) fn create_private(parent: &File, name: &str) -> io::Result<File> {
    rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(PRIVATE_MODE))?;
    let dir = open_dir_at(parent, &name)?;
    let meta = dir.metadata()?;
    if meta.uid() != euid() {
        return Err(err(
            io::ErrorKind::PermissionDenied,
            format!(
                "the new staging folder {name} is not ours (uid {})",
                meta.uid()
            ),
        ));
    }
    // Exactly 0700, whatever the umask.
    rustix::fs::fchmod(&dir, Mode::from_raw_mode(PRIVATE_MODE))?;
    Ok(dir)
}

/// Opens the subfolder `name` of `dir`, creating it (mode 0755) if `create`. A link or a
/// folder that is not ours is refused.
pub(super) fn subfolder(dir: &File, name: &str, create: bool) -> io::Result<File> {
    if create {
        rustix::fs::mkdirat(dir, name, Mode::from_raw_mode(PRIVATE_MODE))?;
    }
    let sub = open_dir_at(dir, &name)?;
    if sub.metadata()?.uid() != euid() {
        return Err(err(
            io::ErrorKind::PermissionDenied,
            format!("the staging subfolder {name} is not ours"),
        ));
    }
    if create {
        rustix::fs::fchmod(&sub, Mode::from_raw_mode(FOLDER_MODE))?;
    }
    Ok(sub)
}

/// Creates the new file `name` in `dir` for writing, mode 0644 (exactly, whatever the umask).
/// Never opens an existing file and never follows a link.
pub(super) fn create_file(dir: &File, name: &str) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let file = File::from(rustix::fs::openat(
        dir,
        name,
        flags,
        Mode::from_raw_mode(0o600),
    )?);
    rustix::fs::fchmod(&file, Mode::from_raw_mode(FILE_MODE))?;
    Ok(file)
}

/// The names in `dir`, without `.` and `..`; a name that is not UTF-8 is returned lossily.
fn names(dir: &File) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    Ok(names)
}

/// Checks that the tree under `root` is exactly `files` and `folders` (relative paths), each
/// ours, a regular file (one link) or a folder, with the modes of the spec: nothing more,
/// nothing less. With `sync`, every file's data is flushed (fdatasync) and then every folder
/// (fsync, children before parents, `root` last), through the same handles.
pub(super) fn check_tree(
    root: &File,
    files: &BTreeSet<String>,
    folders: &BTreeSet<String>,
    sync: bool,
) -> io::Result<()> {
    let mut seen = 0usize;
    check_folder(root, "", files, folders, sync, &mut seen)?;
    if seen != files.len().saturating_add(folders.len()) {
        return Err(io::Error::other(
            "entries written to the staging folder are missing from it",
        ));
    }
    if sync {
        root.sync_all()?;
    }
    Ok(())
}

fn check_folder(
    dir: &File,
    prefix: &str,
    files: &BTreeSet<String>,
    folders: &BTreeSet<String>,
    sync: bool,
    seen: &mut usize,
) -> io::Result<()> {
    let me = euid();
    for name in names(dir)? {
        let relative = format!("{prefix}{name}");
        let unexpected = || {
            io::Error::other(format!(
                "the staging folder holds {relative:?}, which is not what was verified"
            ))
        };
        // Never through a link, and never blocking on something that is not a file.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let handle = match rustix::fs::openat(dir, name.as_str(), flags, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::LOOP) => return Err(unexpected()),
            Err(e) => return Err(e.into()),
        };
        let meta = handle.metadata()?;
        let mode = meta.mode() & 0o7777;
        if meta.uid() != me {
            return Err(unexpected());
        }
        if meta.is_dir() && folders.contains(&relative) && mode == FOLDER_MODE {
            check_folder(&handle, &format!("{relative}/"), files, folders, sync, seen)?;
            if sync {
                handle.sync_all()?;
            }
        } else if meta.is_file()
            && files.contains(&relative)
            && mode == FILE_MODE
            && meta.nlink() == 1
        {
            if sync {
                handle.sync_data()?;
            }
        } else {
            return Err(unexpected());
        }
        *seen = seen.saturating_add(1);
    }
    Ok(())
}

/// What is at the destination's name before verification starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Existing {
    /// Nothing.
    Absent,
    /// An empty folder of ours, removed just before the rename.
    EmptyFolder(Identity),
}

/// Looks at the destination `name` in `parent`: it must be absent or an empty folder of ours.
pub(super) fn check_destination(parent: &File, name: &OsStr, shown: &Path) -> io::Result<Existing> {
    let shown = shown.display();
    const HINT: &str = "Hint: --to must name a new folder, or an empty folder of yours";
    let dir = match open_dir_at(parent, &name) {
        Ok(dir) => dir,
        Err(Errno::NOENT) => return Ok(Existing::Absent),
        Err(Errno::LOOP) => {
            return Err(err(
                io::ErrorKind::AlreadyExists,
                format!("{shown} is a symbolic link\n{HINT}"),
            ));
        }
        Err(Errno::NOTDIR) => {
            return Err(err(
                io::ErrorKind::AlreadyExists,
                format!("{shown} exists and is not a folder\n{HINT}"),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let meta = dir.metadata()?;
    if meta.uid() != euid() {
        return Err(err(
            io::ErrorKind::AlreadyExists,
            format!(
                "{shown} exists and belongs to another user (uid {})\n{HINT}",
                meta.uid()
            ),
        ));
    }
    if !names(&dir)?.is_empty() {
        return Err(err(
            io::ErrorKind::AlreadyExists,
            format!("{shown} exists and is not empty\n{HINT}"),
        ));
    }
    Ok(Existing::EmptyFolder((meta.dev(), meta.ino())))
}

/// Renames `staging_name` to `name` in `parent` without ever replacing anything: an empty
/// folder that was there at the start (and still is the same, empty, ours) is removed first;
/// anything that appeared meanwhile makes the rename fail and stays as it is.
pub(super) fn publish(
    parent: &File,
    staging_name: &str,
    staging: &File,
    name: &OsStr,
    shown: &Path,
    existing: Existing,
) -> io::Result<()> {
    let shown = shown.display();
    let changed = || {
        err(
            io::ErrorKind::AlreadyExists,
            format!(
                "{shown} was changed by someone else while the bundle was verified; it is left as it is and nothing was unpacked\nHint: unpack into a folder that only you can write"
            ),
        )
    };
    if let Existing::EmptyFolder(expected) = existing {
        let now = open_dir_at(parent, &name).map_err(|_| changed())?;
        if identity(&now)? != expected || !names(&now)?.is_empty() {
            return Err(changed());
        }
        rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(|_| changed())?;
    }
    match rustix::fs::renameat_with(parent, staging_name, parent, name, RenameFlags::NOREPLACE) {
        Ok(()) => {}
        Err(Errno::EXIST) | Err(Errno::NOTEMPTY) => return Err(changed()),
        Err(Errno::INVAL) | Err(Errno::NOSYS) => {
            return Err(err(
                io::ErrorKind::Unsupported,
                format!(
                    "the file system of {shown} cannot rename without replacing (renameat2 RENAME_NOREPLACE)\nHint: unpack onto a local file system"
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    // The name now holds the folder we wrote, and nothing else can have taken its place.
    let placed = open_dir_at(parent, &name)?;
    if identity(&placed)? != identity(staging)? {
        return Err(changed());
    }
    Ok(())
}

/// Removes the folder `name` in `parent` and everything in it, through handles only, and only
/// if it is still the folder `expected` (never something put in its place).
pub(super) fn remove_tree(parent: &File, name: &str, expected: &File) -> io::Result<()> {
    let dir = open_dir_at(parent, &name)?;
    if identity(&dir)? != identity(expected)? {
        return Err(io::Error::other("the staging folder was replaced"));
    }
    empty_folder(&dir)?;
    rustix::fs::unlinkat(parent, name, AtFlags::REMOVEDIR)?;
    Ok(())
}

fn empty_folder(dir: &File) -> io::Result<()> {
    for name in names(dir)? {
        match rustix::fs::unlinkat(dir, name.as_str(), AtFlags::empty()) {
            Ok(()) => {}
            Err(Errno::ISDIR) | Err(Errno::PERM) => {
                let sub = open_dir_at(dir, &name.as_str())?;
                empty_folder(&sub)?;
                rustix::fs::unlinkat(dir, name.as_str(), AtFlags::REMOVEDIR)?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
