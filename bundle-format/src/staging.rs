//! The private staging folder (ARCHITECTURE, "verify before trust"): an unverified bundle
//! writes nowhere else, and the folder becomes visible under its final name only after the
//! whole bundle verified.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::manifest::Entry;
use crate::verify::EntrySink;

/// A folder, private to this user (mode 0700), beside the destination, that receives payload
/// entries while they are verified. Dropped without [`Staging::commit`], it is removed.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    destination: PathBuf,
    durability: Durability,
    current: Option<io::BufWriter<fs::File>>,
    written: Vec<PathBuf>,
    /// Folders created inside the staging folder; reversed, children come before parents.
    folders: BTreeSet<PathBuf>,
    committed: bool,
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
    /// Creates the staging folder for `destination`, which must not exist or be an empty folder;
    /// the commit is [`Durability::Durable`].
    pub fn new(destination: &Path) -> io::Result<Self> {
        Self::with_durability(destination, Durability::Durable)
    }

    /// As [`Staging::new`], with the given durability.
    pub fn with_durability(destination: &Path, durability: Durability) -> io::Result<Self> {
        if let Ok(mut listing) = fs::read_dir(destination) {
            if listing.next().is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not empty", destination.display()),
                ));
            }
        } else if destination.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a folder", destination.display()),
            ));
        }
        let parent = match destination.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bundle".to_owned());
        let prefix = format!(".{name}.zb-staging-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(fs::Permissions::from_mode(0o700));
        }
        let root = builder.tempdir_in(&parent)?.keep();
        Ok(Self {
            root,
            destination: destination.to_owned(),
            durability,
            current: None,
            written: Vec::new(),
            folders: BTreeSet::new(),
            committed: false,
        })
    }

    /// Where entries are being written.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Moves the verified contents to the destination in one rename.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        if self.current.is_some() {
            return Err(io::Error::other("an entry is still open"));
        }
        if self.durability == Durability::Durable {
            // Data first, then the folders that name it, then the rename that publishes it.
            for file in &self.written {
                fs::File::open(file)?.sync_data()?;
            }
            for folder in self.folders.iter().rev() {
                fs::File::open(folder)?.sync_all()?;
            }
            fs::File::open(&self.root)?.sync_all()?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&self.root, fs::Permissions::from_mode(0o755))?;
        }
        // rename(2) replaces an empty destination folder in the same step.
        fs::rename(&self.root, &self.destination)?;
        if self.durability == Durability::Durable {
            let parent = match self.destination.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            fs::File::open(parent)?.sync_all()?;
        }
        self.committed = true;
        Ok(self.destination.clone())
    }
}

impl EntrySink for Staging {
    fn begin(&mut self, entry: &Entry) -> io::Result<()> {
        // Entry paths are validated names (spec 2.3): relative, no `..`, portable characters.
        let mut path = self.root.clone();
        for component in entry.path.components() {
            path.push(component);
        }
        if let Some(parent) = path.parent().filter(|p| !p.exists()) {
            fs::create_dir_all(parent)?;
            let mut folder = parent;
            while folder != self.root && self.folders.insert(folder.to_owned()) {
                match folder.parent() {
                    Some(up) => folder = up,
                    None => break,
                }
            }
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o644);
        }
        self.current = Some(io::BufWriter::with_capacity(
            256 * 1024,
            options.open(&path)?,
        ));
        self.written.push(path);
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
            // Best effort: a leftover staging folder is private and named as such.
            let _ = fs::remove_dir_all(&self.root);
        }
    }
}
