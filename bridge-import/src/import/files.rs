//! The operator's files (mapping file, secrets file, prompted values): read with a size bound,
//! and refused as configuration (exit 3) when they are not what they should be.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;

/// A mapping or secrets file that cannot be used: a configuration error (exit 3, code
/// `config-invalid`) naming the file.
pub fn config_error(path: &Path, expected: &'static str, detail: String) -> anyhow::Error {
    bridge_cli::failure::ConfigError(format!("{} is not {expected}: {detail}", path.display()))
        .into()
}

/// Reads `path` as UTF-8 text of at most `limit` bytes; a larger file is refused as
/// configuration before any of it is parsed.
pub fn read_bounded(path: &Path, limit: u64, expected: &'static str) -> anyhow::Result<String> {
    // A FIFO, device, socket, directory or empty file is refused at once, never waited on.
    let (file, _) = bundle_format::regular_file::open_nonempty(path)
        .with_context(|| format!("cannot read {expected} {}", path.display()))?;
    read_open(file, path, limit, expected)
}

/// As [`read_bounded`], from a file already open (so that what was checked about it, such as
/// its mode, is what is read).
pub fn read_open(
    file: std::fs::File,
    path: &Path,
    limit: u64,
    expected: &'static str,
) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {expected} {}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(config_error(
            path,
            expected,
            format!("it is larger than the limit of {limit} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| config_error(path, expected, "it is not UTF-8 text".to_owned()))
}

/// What a file that may hold secret values is called, in its messages.
#[derive(Debug, Clone, Copy)]
pub struct PrivateFile {
    /// How an I/O error names it: "the secrets file".
    pub name: &'static str,
    /// What reading it expects, for size and UTF-8 refusals: "a secrets file".
    pub expected: &'static str,
    /// What it should be, for the mode refusal: "a private secrets file".
    pub private: &'static str,
    /// The end of the mode refusal's first line: "refusing to use it".
    pub why: &'static str,
}

/// A file that may hold secret values (the secrets file, prompted values) read as text of at
/// most `limit` bytes, like [`read_bounded`], but refused unless only its owner can read or
/// change it; the mode checked is the mode of the handle that is read.
pub fn read_private(path: &Path, limit: u64, kind: &PrivateFile) -> anyhow::Result<String> {
    // A FIFO, device, socket, directory or empty file is refused at once, never waited on.
    let cannot = || format!("cannot read {} {}", kind.name, path.display());
    let (file, _) = bundle_format::regular_file::open_nonempty(path).with_context(cannot)?;
    let mode = file_mode(&file).with_context(cannot)?;
    if mode & 0o077 != 0 {
        return Err(config_error(
            path,
            kind.private,
            format!(
                "other users may read or change it (mode {:03o}); {}\nHint: run `chmod 600 {}`",
                mode & 0o777,
                kind.why,
                path.display()
            ),
        ));
    }
    read_open(file, path, limit, kind.expected)
}

#[cfg(unix)]
fn file_mode(file: &std::fs::File) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(file.metadata()?.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_file: &std::fs::File) -> std::io::Result<u32> {
    Ok(0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversize_files_are_refused_before_parsing() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("big.toml");
        std::fs::write(&path, "x".repeat(11))?;
        let err = read_bounded(&path, 10, "a mapping file")
            .err()
            .ok_or("expected a refusal")?;
        assert!(
            err.to_string()
                .contains("larger than the limit of 10 bytes"),
            "{err}"
        );
        assert_eq!(read_bounded(&path, 11, "a mapping file")?.len(), 11);
        Ok(())
    }
}
