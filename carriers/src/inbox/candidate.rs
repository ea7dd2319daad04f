//! The contract's candidate rule: regular files directly in the inbox, named `*.zb`, not
//! starting with `.`. The folder is listed with `lstat` (never following a link), so a link
//! or a folder named like a bundle is seen for what it is and left alone.

use std::fs;
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// What identifies one version of a file: a copy still growing, or a file replaced by
/// another of the same name, changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    pub modified: Option<SystemTime>,
    pub inode: u64,
    pub device: u64,
}

impl Stamp {
    pub fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let (inode, device) = {
            use std::os::unix::fs::MetadataExt as _;
            (meta.ino(), meta.dev())
        };
        #[cfg(not(unix))]
        let (inode, device) = (0, 0);
        Self {
            size: meta.len(),
            modified: meta.modified().ok(),
            inode,
            device,
        }
    }
}

/// One entry of the inbox folder.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A candidate, with its stamp.
    Candidate(String, Stamp),
    /// Named like a bundle but not a regular file (a link, a folder, a device): never taken.
    NotRegular(String),
}

/// Whether `name` may be a bundle of the inbox (the kind of file is checked apart).
pub(crate) fn is_candidate_name(name: &str) -> bool {
    !name.starts_with('.') && name.len() > 3 && name.ends_with(".zb")
}

/// Lists the inbox: candidates, and bundle-named entries that are not regular files.
/// Names that are not UTF-8 are not ours and are skipped.
pub(crate) fn scan(inbox: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(inbox)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if !is_candidate_name(&name) {
            continue;
        }
        // `DirEntry::metadata` does not follow links.
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            // Gone between the listing and the look: nothing to do.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        if meta.file_type().is_file() {
            entries.push(Entry::Candidate(name, Stamp::of(&meta)));
        } else {
            entries.push(Entry::NotRegular(name));
        }
    }
    entries.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    Ok(entries)
}

fn name_of(entry: &Entry) -> &str {
    match entry {
        Entry::Candidate(name, _) | Entry::NotRegular(name) => name,
    }
}

/// The stamp of `path` now, without following a link; `None` if it is gone or no longer a
/// regular file.
pub(crate) fn stamp_now(path: &Path) -> Option<Stamp> {
    let meta = fs::symlink_metadata(path).ok()?;
    meta.file_type().is_file().then(|| Stamp::of(&meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_bundle_names_are_candidates() {
        for name in ["a.zb", "dev~pci~release~000000000001~x.zb"] {
            assert!(is_candidate_name(name), "{name}");
        }
        for name in [
            ".a.zb",
            ".a.zb.XXXXXX",
            "a.zb.part",
            "a.zb.json",
            "a",
            ".zb",
            "done",
        ] {
            assert!(!is_candidate_name(name), "{name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_and_folders_are_not_candidates() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        fs::write(dir.path().join("real.zb"), b"x")?;
        fs::create_dir(dir.path().join("folder.zb"))?;
        std::os::unix::fs::symlink(dir.path().join("real.zb"), dir.path().join("link.zb"))?;
        fs::write(dir.path().join("other.txt"), b"x")?;
        let entries = scan(dir.path())?;
        let kinds: Vec<(String, bool)> = entries
            .iter()
            .map(|e| match e {
                Entry::Candidate(n, _) => (n.clone(), true),
                Entry::NotRegular(n) => (n.clone(), false),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("folder.zb".to_owned(), false),
                ("link.zb".to_owned(), false),
                ("real.zb".to_owned(), true)
            ]
        );
        Ok(())
    }
}
