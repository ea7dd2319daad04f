//! The `--data` file: the whole store as JSON, replaced atomically after every change so that
//! a restart (or a crash) finds the last complete state.

use std::fs;
use std::io::Write as _;
use std::path::Path;

use super::Store;

/// Reads a state file written by [`save`].
pub fn load(path: &Path) -> anyhow::Result<Store> {
    use anyhow::Context as _;
    let bytes =
        fs::read(path).with_context(|| format!("cannot read the state file {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "the state file {} is not a stand-in state file; move it away to start empty",
            path.display()
        )
    })
}

/// Writes the store's serialised bytes to `path` atomically: a temporary file in the same
/// folder, flushed to disk, then renamed over the old one.
pub fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl Store {
    /// The bytes [`save`] writes.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        serde_json::to_vec(self)
    }
}
