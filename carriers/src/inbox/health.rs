//! The watch's health, `DIR/.watch/health.json`, rewritten whole after every round: what a
//! status command (`bridge-import health --inbox DIR`) shows and a monitor alerts on.

use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The health file's name in the state folder.
pub const FILE: &str = "health.json";

/// The largest health file read back (it lists at most [`MAX_LISTED`] waiting bundles).
const MAX_BYTES: u64 = 4 << 20;

/// At most this many waiting bundles are listed (the queue length counts them all).
pub const MAX_LISTED: usize = 100;

/// The last bundle handled successfully.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Success {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The file's name in the inbox.
    pub file: String,
    /// Its channel.
    pub channel: String,
    /// Its sequence.
    pub sequence: u64,
    /// What was done.
    pub detail: String,
}

/// A file still in the inbox, and what it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Its name.
    pub file: String,
    /// The channel its head claims, once read.
    pub channel: Option<String>,
    /// The sequence its head claims, once read.
    pub sequence: Option<u64>,
    /// Since when it waits (RFC 3339, UTC; when this service first saw it).
    pub since: String,
    /// Seconds it has waited.
    pub age_seconds: u64,
    /// What for: "settling", "waiting for bundle 3 on channel dev->pci/release", "retry
    /// after secrets-missing: ...".
    pub waiting_for: String,
}

/// The last refusal or failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The file.
    pub file: String,
    /// The refusal's code.
    pub code: String,
    /// The message.
    pub message: String,
}

/// Counts, over the life of the inbox (done and quarantined are counted from the folders at
/// start-up) and of this run (the rest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Files in `done/`.
    pub done: u64,
    /// Of those moved by this run, how many were duplicates (already done).
    pub duplicates: u64,
    /// Files in `quarantine/` (notes not counted).
    pub quarantined: u64,
    /// Refusals this run left to be tried again.
    pub retried: u64,
    /// Entries named like bundles that are not regular files (links, folders), left alone.
    pub ignored: u64,
}

/// The health document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Which service (`import`, `export`).
    pub service: String,
    /// Its process id.
    pub pid: u32,
    /// When the service started (RFC 3339, UTC).
    pub started: String,
    /// When this file was written (RFC 3339, UTC).
    pub updated: String,
    /// Whether the service has stopped (after `--once`, or a graceful stop).
    pub stopped: bool,
    /// The last bundle handled successfully.
    pub last_success: Option<Success>,
    /// Candidates in the inbox not yet done or quarantined.
    pub queue_length: u64,
    /// The one that has waited longest.
    pub oldest_waiting: Option<Waiting>,
    /// The waiting files (at most [`MAX_LISTED`]), oldest first.
    pub waiting: Vec<Waiting>,
    /// Counts.
    pub counts: Counts,
    /// The last refusal or failure.
    pub last_error: Option<LastError>,
    /// Refusal codes seen that the engine does not know (retried; someone should look).
    pub unknown_codes: Vec<String>,
}

/// Why the health file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// No health file: the watch never ran on this inbox.
    #[error(
        "no health file in {0}\nHint: is the watch service running on this inbox? It writes .watch/health.json after its first round"
    )]
    Missing(String),
    /// Reading it failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// It is not a health file.
    #[error(
        "{path} is not a health file: {reason}\nHint: it is rewritten after each round of the watch; run the watch again"
    )]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

impl Health {
    /// Reads the health of the inbox `inbox` (from `inbox/.watch/health.json`).
    pub fn read(inbox: &Path) -> Result<Self, HealthError> {
        let path = super::state_dir(inbox).join(FILE);
        let shown = path.display().to_string();
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(HealthError::Missing(
                    super::state_dir(inbox).display().to_string(),
                ));
            }
            Err(source) => {
                return Err(HealthError::Io {
                    path: shown,
                    source,
                });
            }
        };
        if !meta.file_type().is_file() || meta.len() > MAX_BYTES {
            return Err(HealthError::Invalid {
                path: shown,
                reason: format!("not a regular file of at most {MAX_BYTES} bytes"),
            });
        }
        let bytes = fs::read(&path).map_err(|source| HealthError::Io {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| HealthError::Invalid {
            path: shown,
            reason: e.to_string(),
        })
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.stopped { "stopped" } else { "running" };
        writeln!(
            f,
            "{} watch (pid {}), {state}; started {}, updated {}",
            self.service, self.pid, self.started, self.updated
        )?;
        match &self.last_success {
            Some(s) => writeln!(
                f,
                "last success: {} {} (bundle {} on {}): {}",
                s.at, s.file, s.sequence, s.channel, s.detail
            )?,
            None => writeln!(f, "last success: none yet")?,
        }
        writeln!(f, "queue: {} file(s)", self.queue_length)?;
        if let Some(w) = &self.oldest_waiting {
            writeln!(
                f,
                "oldest waiting: {} since {} ({} s): {}",
                w.file, w.since, w.age_seconds, w.waiting_for
            )?;
        }
        for w in self.waiting.iter().skip(1) {
            writeln!(f, "  waiting: {}: {}", w.file, w.waiting_for)?;
        }
        let c = &self.counts;
        writeln!(
            f,
            "done: {} ({} duplicate(s) this run), quarantined: {}, retried this run: {}, ignored: {}",
            c.done, c.duplicates, c.quarantined, c.retried, c.ignored
        )?;
        if let Some(e) = &self.last_error {
            writeln!(
                f,
                "last error: {} {}: {}: {}",
                e.at, e.file, e.code, e.message
            )?;
        }
        if !self.unknown_codes.is_empty() {
            writeln!(
                f,
                "unknown refusal codes (retried): {}",
                self.unknown_codes.join(", ")
            )?;
        }
        Ok(())
    }
}
