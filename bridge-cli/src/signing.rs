//! Signing keys from the command line (`--key`, repeatable): each read once, and the same key
//! given twice refused, since it would count as one signature.

use std::path::{Path, PathBuf};

use bundle_format::keys::SigningKey;

use crate::failure::UsageError;

/// Reads every signing key; the same key twice is a usage error (it would count once).
pub fn read_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SigningKey>> {
    let mut keys: Vec<(SigningKey, &Path)> = Vec::with_capacity(paths.len());
    for path in paths {
        let key = SigningKey::read_pem_file(path)?;
        let id = key.public_key().key_id();
        if let Some((_, first)) = keys.iter().find(|(k, _)| k.public_key().key_id() == id) {
            return Err(UsageError(format!(
                "--key {} and --key {} are the same key ({id}); each signer signs once",
                first.display(),
                path.display()
            ))
            .into());
        }
        keys.push((key, path));
    }
    Ok(keys.into_iter().map(|(k, _)| k).collect())
}
