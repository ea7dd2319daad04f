//! The delivered log: the digest and name of every bundle delivered, one line each, in
//! `STATE/delivered.log`. A bundle sent again, under the same or another transfer id, is
//! never delivered twice; a name already in the inbox, its `done/` or its `quarantine/`
//! counts as delivered too (a crash between the rename into the inbox and the log line).

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// File name of the log in the state folder.
pub const LOG_NAME: &str = "delivered.log";
/// The longest log read at start (a line is about 150 bytes: millions of bundles).
pub const MAX_LOG_BYTES: u64 = 512 * 1024 * 1024;

/// The digests delivered so far.
#[derive(Debug)]
pub struct DeliveredLog {
    path: PathBuf,
    digests: HashSet<[u8; 32]>,
}

impl DeliveredLog {
    /// Reads (or starts) the log in `state`, creating the folder (mode 0700).
    pub fn open(state: &Path) -> io::Result<Self> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(state)?;
        let path = state.join(LOG_NAME);
        let mut digests = HashSet::new();
        match fs::metadata(&path) {
            Ok(meta) if meta.len() > MAX_LOG_BYTES => {
                return Err(io::Error::other(format!(
                    "{} is over {MAX_LOG_BYTES} bytes; keep its last lines only",
                    path.display()
                )));
            }
            Ok(_) => {
                let text = fs::read_to_string(&path)?;
                // A line cut by a crash is skipped: its bundle is in the inbox already.
                for line in text.lines() {
                    let hex_digest = line.split(' ').next().unwrap_or_default();
                    let mut digest = [0; 32];
                    if hex::decode_to_slice(hex_digest, &mut digest).is_ok() {
                        digests.insert(digest);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self { path, digests })
    }

    /// Whether the bundle of `digest` was delivered.
    pub fn contains(&self, digest: &[u8; 32]) -> bool {
        self.digests.contains(digest)
    }

    /// Records a delivery (appended and flushed before this returns).
    pub fn record(&mut self, digest: &[u8; 32], name: &str) -> io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        writeln!(file, "{} {name}", hex::encode(digest))?;
        file.sync_all()?;
        self.digests.insert(*digest);
        Ok(())
    }
}

/// Whether `name` is in the inbox, its `done/` or its `quarantine/`: the inbox engine had it.
pub fn name_taken(inbox: &Path, name: &str) -> bool {
    [
        inbox.join(name),
        inbox.join("done").join(name),
        inbox.join("quarantine").join(name),
    ]
    .iter()
    .any(|p| p.symlink_metadata().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_survive_a_restart_and_a_torn_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let state = dir.path().join("state");
        let mut log = DeliveredLog::open(&state)?;
        assert!(!log.contains(&[7; 32]));
        log.record(&[7; 32], "a.zb")?;
        assert!(log.contains(&[7; 32]));
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(state.join(LOG_NAME))?;
        file.write_all(b"0badc0de")?;
        let again = DeliveredLog::open(&state)?;
        assert!(again.contains(&[7; 32]));
        assert!(!again.contains(&[8; 32]));
        assert_eq!(again.digests.len(), 1);
        Ok(())
    }

    #[test]
    fn a_name_in_done_or_quarantine_is_taken() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert!(!name_taken(dir.path(), "a.zb"));
        fs::create_dir(dir.path().join("quarantine"))?;
        fs::write(dir.path().join("quarantine").join("a.zb"), b"x")?;
        assert!(name_taken(dir.path(), "a.zb"));
        fs::create_dir(dir.path().join("done"))?;
        fs::write(dir.path().join("done").join("b.zb"), b"x")?;
        assert!(name_taken(dir.path(), "b.zb"));
        fs::write(dir.path().join("c.zb"), b"x")?;
        assert!(name_taken(dir.path(), "c.zb"));
        assert!(!name_taken(dir.path(), "d.zb"));
        Ok(())
    }
}
