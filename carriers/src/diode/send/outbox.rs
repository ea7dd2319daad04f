//! The sender's outbox (`bridge-export send --outbox DIR`): which file to send next. Bundles
//! are taken in name order (outbox names sort by channel, then sequence), once each has
//! settled (the same size, modification time and inode for the settle time), and moved to
//! `DIR/sent/` once sent, so each is sent once. Hidden files (`.name`: staging and partial
//! copies), files not named `*.zb` (such as `bridge-export run`'s `*.zb.sent` marks), links
//! and folders are never taken.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::outbox_name::EXTENSION;

/// The folder sent bundles are moved to.
pub const SENT_DIR: &str = "sent";

/// What identifies one version of a file (a copy still growing changes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        Self {
            size: meta.len(),
            modified: meta.modified().ok(),
            inode: meta.ino(),
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this file (the first settled one in name order).
    Ready(PathBuf),
    /// Files are settling: look again after this long.
    Settling(Duration),
    /// Nothing to send.
    Empty,
}

/// Why the outbox cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The folder does not exist or is not a folder.
    #[error(
        "the outbox {0} does not exist or is not a folder\nHint: give the folder bundles are published into (bridge-export run's outbox)"
    )]
    Missing(PathBuf),
    /// Listing or moving failed.
    #[error("outbox {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// The outbox being served.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    settle: Duration,
    seen: BTreeMap<String, (Stamp, Instant)>,
    skipped: BTreeMap<String, Stamp>,
}

impl Outbox {
    /// Opens `dir` (which must exist) and makes `dir/sent/` (mode 0700) if missing.
    pub fn open(dir: &Path, settle: Duration) -> Result<Self, OutboxError> {
        if !fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
            return Err(OutboxError::Missing(dir.to_owned()));
        }
        let sent = dir.join(SENT_DIR);
        if !sent.is_dir() {
            use std::os::unix::fs::DirBuilderExt as _;
            fs::DirBuilder::new()
                .mode(0o700)
                .create(&sent)
                .map_err(|source| OutboxError::Io { path: sent, source })?;
        }
        Ok(Self {
            dir: dir.to_owned(),
            settle,
            seen: BTreeMap::new(),
            skipped: BTreeMap::new(),
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Looks at the folder at `now`.
    pub fn next(&mut self, now: Instant) -> Result<Next, OutboxError> {
        let io_error = |source| OutboxError::Io {
            path: self.dir.clone(),
            source,
        };
        let mut present = BTreeMap::new();
        for entry in fs::read_dir(&self.dir).map_err(io_error)? {
            let entry = entry.map_err(io_error)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.starts_with('.') || !name.ends_with(&format!(".{EXTENSION}")) {
                continue;
            }
            // Not followed: a link or a folder is never sent.
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if meta.is_file() {
                present.insert(name, Stamp::of(&meta));
            }
        }
        self.seen.retain(|name, _| present.contains_key(name));
        self.skipped
            .retain(|name, stamp| present.get(name) == Some(stamp));
        let mut soonest: Option<Duration> = None;
        for (name, stamp) in present {
            if self.skipped.contains_key(&name) {
                continue;
            }
            let (seen_stamp, since) = self.seen.entry(name.clone()).or_insert((stamp, now));
            if *seen_stamp != stamp {
                *seen_stamp = stamp;
                *since = now;
            }
            let ready_at = *since + self.settle;
            if ready_at <= now {
                return Ok(Next::Ready(self.dir.join(name)));
            }
            let wait = ready_at - now;
            soonest = Some(soonest.map_or(wait, |s| s.min(wait)));
        }
        Ok(soonest.map_or(Next::Empty, Next::Settling))
    }

    /// Leaves `path` aside (it is not a bundle) until it changes.
    pub fn skip(&mut self, path: &Path) {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        if let Some((stamp, _)) = self.seen.remove(name) {
            self.skipped.insert(name.to_owned(), stamp);
        }
    }

    /// Moves a sent file to `sent/`; returns where it went.
    pub fn mark_sent(&mut self, path: &Path) -> Result<PathBuf, OutboxError> {
        let name = path.file_name().unwrap_or_default();
        let target = self.dir.join(SENT_DIR).join(name);
        fs::rename(path, &target).map_err(|source| OutboxError::Io {
            path: path.to_owned(),
            source,
        })?;
        if let Some(name) = name.to_str() {
            self.seen.remove(name);
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn bundles_are_taken_in_name_order_once_settled() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut outbox = Outbox::open(dir.path(), Duration::from_secs(2))?;
        let sent = fs::metadata(dir.path().join(SENT_DIR))?;
        assert!(sent.is_dir());
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(sent.permissions().mode() & 0o777, 0o700);
        }
        let t0 = Instant::now();
        assert_eq!(outbox.next(t0)?, Next::Empty);
        fs::write(dir.path().join("b~x~release~000000000002~a.zb"), b"two")?;
        fs::write(dir.path().join("a~x~release~000000000001~a.zb"), b"one")?;
        assert_eq!(outbox.next(t0)?, Next::Settling(Duration::from_secs(2)));
        let later = t0 + Duration::from_secs(2);
        let first = dir.path().join("a~x~release~000000000001~a.zb");
        assert_eq!(outbox.next(later)?, Next::Ready(first.clone()));
        let moved = outbox.mark_sent(&first)?;
        assert_eq!(
            moved,
            dir.path()
                .join(SENT_DIR)
                .join("a~x~release~000000000001~a.zb")
        );
        assert_eq!(
            outbox.next(later)?,
            Next::Ready(dir.path().join("b~x~release~000000000002~a.zb"))
        );
        Ok(())
    }

    #[test]
    fn a_file_still_growing_waits_the_whole_settle_time_again() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut outbox = Outbox::open(dir.path(), Duration::from_secs(2))?;
        let path = dir.path().join("a.zb");
        let t0 = Instant::now();
        fs::write(&path, b"part")?;
        assert!(matches!(outbox.next(t0)?, Next::Settling(_)));
        fs::write(&path, b"partial copy, longer")?;
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(outbox.next(t1)?, Next::Settling(Duration::from_secs(2)));
        assert_eq!(outbox.next(t1 + Duration::from_secs(2))?, Next::Ready(path));
        Ok(())
    }

    #[test]
    fn hidden_partial_marked_linked_and_skipped_files_are_never_taken() -> TestResult {
        let dir = tempfile::tempdir()?;
        let mut outbox = Outbox::open(dir.path(), Duration::ZERO)?;
        fs::write(dir.path().join(".staging.zb"), b"x")?;
        fs::write(dir.path().join("a.zb.sent"), b"x")?;
        fs::write(dir.path().join("a.zb.part"), b"x")?;
        fs::write(dir.path().join("notes.txt"), b"x")?;
        fs::create_dir(dir.path().join("folder.zb"))?;
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link.zb"))?;
        let now = Instant::now();
        assert_eq!(outbox.next(now)?, Next::Empty);
        let junk = dir.path().join("junk.zb");
        fs::write(&junk, b"not a bundle")?;
        assert_eq!(outbox.next(now)?, Next::Ready(junk.clone()));
        outbox.skip(&junk);
        assert_eq!(outbox.next(now)?, Next::Empty);
        // Replaced by another file: looked at again.
        fs::write(&junk, b"another file, another size")?;
        assert_eq!(outbox.next(now)?, Next::Ready(junk));
        Ok(())
    }

    #[test]
    fn a_missing_outbox_is_refused() {
        let dir = tempfile::tempdir().ok();
        let base = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        for path in [base.join("missing"), PathBuf::from("/nonexistent/outbox")] {
            let err = Outbox::open(&path, Duration::ZERO);
            assert!(matches!(err, Err(OutboxError::Missing(_))), "{path:?}");
        }
        let file = base.join("file");
        assert!(fs::write(&file, b"x").is_ok());
        assert!(matches!(
            Outbox::open(&file, Duration::ZERO),
            Err(OutboxError::Missing(_))
        ));
    }
}
