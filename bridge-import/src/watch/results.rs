//! Result bundles of the watch: named for the results outbox (`carriers::outbox_name`: the
//! result channel and its sequence), written in the outbox's staging folder (beside it,
//! `.NAME.partial`), and published only once this side's ledger has recorded them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bundle_format::channel::Channel;
use bundle_format::inspect::read_unverified;
use bundle_format::limits::Limits;
use carriers::outbox_name::{OutboxName, label};
use carriers::publish::{PublishError, publish_file, staging_dir};
use ledger::{Ledger, Verdict};

/// The results outbox and its staging folder.
#[derive(Debug, Clone)]
pub struct ResultsOutbox {
    /// The outbox folder (complete result bundles only).
    pub outbox: PathBuf,
    /// Its staging folder (`.NAME.partial` beside it).
    pub staging: PathBuf,
}

impl ResultsOutbox {
    /// The outbox `outbox` (which must exist), with its staging folder made if needed.
    pub fn open(outbox: &Path) -> anyhow::Result<Self> {
        let meta = fs::metadata(outbox)
            .with_context(|| format!("cannot use the results outbox {}", outbox.display()))?;
        if !meta.is_dir() {
            anyhow::bail!(
                "the results outbox {} is not a folder\nHint: give the folder the transfer to the development zone takes result bundles from",
                outbox.display()
            );
        }
        Ok(Self {
            outbox: outbox.to_owned(),
            staging: staging_dir(outbox)?,
        })
    }

    /// Where the next result of `channel` (whose last bundle in the ledger is `last`) for
    /// `project` `version` `environment` is staged.
    pub fn staged_path(&self, channel: &Channel, last: Option<u64>, words: [&str; 3]) -> PathBuf {
        let name = OutboxName {
            channel: channel.clone(),
            sequence: last.unwrap_or(0).saturating_add(1),
            label: label(words),
        };
        self.staging.join(name.to_string())
    }

    /// Publishes every staged result bundle that the ledger records as exported; returns the
    /// names published. A staged file the ledger does not know is left alone: its deploy
    /// has not recorded it yet, and writes it again when it runs again.
    pub fn publish_recorded(&self, ledger: &Ledger) -> anyhow::Result<Vec<String>> {
        let mut published = Vec::new();
        let entries = fs::read_dir(&self.staging)
            .with_context(|| format!("cannot list {}", self.staging.display()))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| OutboxName::parse(n).is_some())
            .collect();
        names.sort();
        for name in names {
            let staged = self.staging.join(&name);
            let file = fs::File::open(&staged)
                .with_context(|| format!("cannot read {}", staged.display()))?;
            let Ok(head) = read_unverified(io::BufReader::new(file), &Limits::default()) else {
                continue;
            };
            if ledger.bundle(&head.digest, Verdict::Exported)?.is_none() {
                continue;
            }
            match publish_file(&staged, &self.outbox, &name, false) {
                Ok(_) => {
                    tracing::info!(result = %name, digest = %head.digest.to_hex(), "result bundle published");
                    published.push(name);
                }
                Err(PublishError::Exists(existing)) => {
                    // Published before, and a kill came before the staged copy was removed?
                    if fs::read(&existing).ok() == fs::read(&staged).ok() {
                        fs::remove_file(&staged)
                            .with_context(|| format!("cannot remove {}", staged.display()))?;
                    } else {
                        anyhow::bail!(
                            "another result bundle named {name} is already in the results outbox {}\nHint: move it away after checking which one the development zone has",
                            self.outbox.display()
                        );
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(published)
    }
}
