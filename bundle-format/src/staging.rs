//! The private staging folder (ARCHITECTURE, "verify before trust"): an unverified bundle
//! writes nowhere else, and the folder becomes visible under its final name only after the
//! whole bundle verified.
//!
//! No other local user can swap, plant or replace anything in it at any moment (spec 8.10):
//! the parent folder is opened once and checked (see [`dirs`] for the rules), the staging
//! folder and every subfolder are created and opened relative to their parent's handle, files
//! are created new without following links, the tree is checked against what was written
//! before it is published, and the publishing rename never replaces anything.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::manifest::Entry;
use crate::verify::EntrySink;

mod dirs;
pub mod temp_name;

use dirs::Existing;
use temp_name::Purpose;

/// A folder, private to this user (mode 0700), beside the destination, that receives payload
/// entries while they are verified. Dropped without [`Staging::commit`], it is removed.
#[derive(Debug)]
pub struct Staging {
    parent: File,
    name: String,
    dir: File,
    root: PathBuf,
    target: Option<Target>,
    durability: Durability,
    current: Option<io::BufWriter<File>>,
    /// The entry paths written, relative to the staging folder.
    written: BTreeSet<String>,
    /// Folders created inside the staging folder; reversed, children come before parents.
    folders: BTreeSet<String>,
    /// The handle of the last entry's folder and its relative path: entries of one folder
    /// usually follow each other, and a handle stays the folder it was opened as.
    last_folder: Option<(String, File)>,
    committed: bool,
}

/// Where a commit puts the staging folder.
#[derive(Debug)]
struct Target {
    name: OsString,
    path: PathBuf,
    existing: Existing,
}

/// How much a commit guarantees after a crash or power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Every file and folder is on disk before the destination appears: after a power loss the
    /// destination is either absent or complete. Writeback starts as each entry ends, so the
    /// disk works while the next entries are verified.
    #[default]
    Durable,
    /// Writeback is left to the kernel: faster, but after a power loss the destination may hold
    /// empty or partial files. For scratch space only.
    Relaxed,
}

impl Staging {
    /// Creates the staging folder for `destination`, which must not exist or be an empty folder
    /// of this user's; the commit is [`Durability::Durable`].
    pub fn new(destination: &Path) -> io::Result<Self> {
        Self::with_durability(destination, Durability::Durable)
    }

    /// As [`Staging::new`], with the given durability.
    ///
    /// Refused (with a message naming the folder and a hint): a destination that is a link, a
    /// file, a folder of another user or not empty; a parent that is a link, belongs to another
    /// user, or is writable by others without the sticky bit.
    pub fn with_durability(destination: &Path, durability: Durability) -> io::Result<Self> {
        let Some(name) = destination.file_name() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} does not name a folder to create\nHint: give a path such as ./unpacked",
                    destination.display()
                ),
            ));
        };
        let parent_path = parent_of(destination);
        let parent = dirs::open_parent(parent_path)?;
        let existing = dirs::check_destination(&parent, name, destination)?;
        let target = Target {
            name: name.to_owned(),
            path: destination.to_owned(),
            existing,
        };
        Self::create(parent, parent_path, Some(target), durability)
    }

    /// A staging folder in `folder` that is never published: its files are used in place (an
    /// import) and removed with it. `folder` must pass the same checks as a destination's parent.
    pub fn private_in(folder: &Path) -> io::Result<Self> {
        let parent = dirs::open_parent(folder)?;
        Self::create(parent, folder, None, Durability::Relaxed)
    }

    fn create(
        parent: File,
        parent_path: &Path,
        target: Option<Target>,
        durability: Durability,
    ) -> io::Result<Self> {
        let mut attempts = 0u32;
        let (name, dir) = loop {
            let name = temp_name::new(&random_part()?, Purpose::Staging);
            match dirs::create_private(&parent, &name) {
                Ok(dir) => break (name, dir),
                // Someone else's name (planted or a coincidence): never used, take another.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 16 => {
                    attempts = attempts.saturating_add(1);
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "cannot create a private staging folder in {}: {e}",
                            parent_path.display()
                        ),
                    ));
                }
            }
        };
        Ok(Self {
            root: parent_path.join(&name),
            parent,
            name,
            dir,
            target,
            durability,
            current: None,
            written: BTreeSet::new(),
            folders: BTreeSet::new(),
            last_folder: None,
            committed: false,
        })
    }

    /// Where entries are being written.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks that the staging folder holds exactly the verified entries, then moves it to the
    /// destination in one rename that never replaces anything.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if self.current.is_some() {
            return Err(io::Error::other("an entry is still open"));
        }
        let Some(target) = self.target.take() else {
            return Err(io::Error::other("this staging folder has no destination"));
        };
        // One walk through handles: the tree must be exactly what was written; when durable,
        // data first, then the folders that name it, then the rename that publishes it.
        dirs::check_tree(
            &self.dir,
            &self.written,
            &self.folders,
            self.durability == Durability::Durable,
        )?;
        rustix::fs::fchmod(
            &self.dir,
            rustix::fs::Mode::from_raw_mode(dirs::FOLDER_MODE),
        )?;
        // If the rename fails (the name was taken meanwhile), whatever is there stays, and
        // the staging folder is removed on drop.
        dirs::publish(
            &self.parent,
            &self.name,
            &self.dir,
            &target.name,
            &target.path,
            target.existing,
        )?;
        self.committed = true;
        if self.durability == Durability::Durable {
            self.parent.sync_all()?;
        }
        Ok(target.path)
    }
}

/// The folder `path` is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// 12 random hexadecimal digits for a staging folder's name.
fn random_part() -> io::Result<String> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).map_err(|e| io::Error::other(e.to_string()))?;
    Ok(hex::encode(bytes))
}

impl EntrySink for Staging {
    fn begin(&mut self, entry: &Entry) -> io::Result<()> {
        // Entry paths are validated names (spec 2.3): relative, no `..`, portable characters.
        let mut parts: Vec<&str> = entry.path.components().collect();
        let Some(file_name) = parts.pop() else {
            return Err(io::Error::other("an entry path is empty"));
        };
        let folder_path = parts.join("/");
        let cached = self
            .last_folder
            .as_ref()
            .is_some_and(|(path, _)| *path == folder_path);
        if !parts.is_empty() && !cached {
            let mut relative = String::new();
            let mut folder: Option<File> = None;
            for part in parts {
                relative.push_str(part);
                let create = !self.folders.contains(&relative);
                let next = dirs::subfolder(folder.as_ref().unwrap_or(&self.dir), part, create)?;
                if create {
                    self.folders.insert(relative.clone());
                }
                folder = Some(next);
                relative.push('/');
            }
            self.last_folder = folder.map(|f| (folder_path.clone(), f));
        }
        let folder = match &self.last_folder {
            Some((path, handle)) if *path == folder_path => handle,
            _ => &self.dir,
        };
        let file = dirs::create_file(folder, file_name)?;
        self.current = Some(io::BufWriter::with_capacity(256 * 1024, file));
        self.written.insert(if folder_path.is_empty() {
            file_name.to_owned()
        } else {
            format!("{folder_path}/{file_name}")
        });
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self.current.as_mut() {
            Some(file) => file.write_all(data),
            None => Err(io::Error::other("no entry is open")),
        }
    }

    fn end(&mut self, _entry: &Entry) -> io::Result<()> {
        let Some(mut file) = self.current.take() else {
            return Err(io::Error::other("no entry is open"));
        };
        file.flush()?;
        if self.durability == Durability::Durable {
            // Start writeback now (asynchronously) so that the commit's fsyncs find little
            // left to do; only an optimisation, so a file system that refuses it is fine.
            let _ = rustix::fs::fadvise(file.get_ref(), 0, None, rustix::fs::Advice::DontNeed);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            self.current = None;
            // Best effort: a leftover staging folder is private, and named so that the next
            // run in the same folder removes it.
            let _ = dirs::remove_tree(&self.parent, &self.name, &self.dir);
        }
    }
}

#[cfg(test)]
mod tests;
