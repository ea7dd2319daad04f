//! How a command reaches an Octopus instance: `--server`, `--api-key` (or a key file), `--space`,
//! `--ca-file`, `--request-timeout`. The API key is never required on the command line: the environment
//! (`OCTOPUS_API_KEY`) or a file (`--api-key-file`, read once, owner-only) keep it out of the
//! process list and the shell history.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use octopus_api::{ApiKey, Endpoint, SpaceRef};

use crate::failure::UsageError;

/// The largest API key file read.
const MAX_KEY_FILE: u64 = 4096;

/// Arguments of every command that talks to Octopus.
#[derive(Debug, Clone, clap::Args)]
pub struct OctopusArgs {
    /// The Octopus server's base URL, such as https://octopus.example.com.
    #[arg(long, env = "OCTOPUS_URL", value_name = "URL")]
    pub server: Option<String>,
    /// The API key. Prefer the environment variable or --api-key-file: a key on the command
    /// line is visible to other users of this machine.
    #[arg(
        long,
        env = "OCTOPUS_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
    /// A file holding the API key (one line; readable by its owner only).
    #[arg(long, value_name = "FILE", conflicts_with = "api_key")]
    pub api_key_file: Option<PathBuf>,
    /// The space, by name or id (Spaces-N). Default: the instance's default space.
    #[arg(long, env = "OCTOPUS_SPACE", value_name = "SPACE", default_value = "")]
    pub space: String,
    /// A PEM file of CA certificates to trust besides the built-in roots (private PKI).
    #[arg(long, env = "OCTOPUS_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Seconds one request may take (package transfers: 60 times as long).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
}

impl OctopusArgs {
    /// The endpoint these arguments describe.
    pub fn endpoint(&self) -> anyhow::Result<Endpoint> {
        let Some(server) = self.server.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Err(UsageError(
                "no Octopus server: give --server URL or set OCTOPUS_URL".to_owned(),
            )
            .into());
        };
        let key = match (&self.api_key, &self.api_key_file) {
            (Some(key), _) if !key.trim().is_empty() => key.trim().to_owned(),
            (_, Some(file)) => read_key_file(file)?,
            _ => {
                return Err(UsageError(
                    "no API key: set OCTOPUS_API_KEY or give --api-key-file FILE".to_owned(),
                )
                .into());
            }
        };
        let mut endpoint = Endpoint::new(server, ApiKey::new(key), SpaceRef::parse(&self.space))
            .map_err(|e| UsageError(e.to_string()))?;
        if let Some(ca) = &self.ca_file {
            // The client reads it later; a FIFO or a device is refused here, at once.
            bundle_format::regular_file::open_nonempty(ca)
                .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
        }
        endpoint.ca_file = self.ca_file.clone();
        endpoint.timeout = Duration::from_secs(self.request_timeout);
        endpoint.transfer_timeout = Duration::from_secs(self.request_timeout.saturating_mul(60));
        Ok(endpoint)
    }
}

fn read_key_file(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    let (file, meta) = bundle_format::regular_file::open_nonempty(path)
        .with_context(|| format!("cannot read the API key file {}", path.display()))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(UsageError(format!(
            "the API key file {} is readable by others (mode {:o})\nHint: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        ))
        .into());
    }
    let mut text = String::new();
    file.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the API key file {}", path.display()))?;
    let key = text.lines().next().unwrap_or("").trim().to_owned();
    if key.is_empty() {
        return Err(UsageError(format!("the API key file {} is empty", path.display())).into());
    }
    Ok(key)
}

/// Says on standard error which optional tables the API key may not read (403): the command
/// goes on without them, and a reference to one of them will be refused as unnamed.
pub fn warn_denied(directory: &octopus_api::names::Directory) {
    for denied in &directory.denied {
        eprintln!("warning: {}", crate::safe::safe_line(&denied.to_string()));
    }
}
