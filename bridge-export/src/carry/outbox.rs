//! Bundles into the outbox, and what a kill between the outbox and the ledger leaves behind.
//!
//! ```text
//! staging (.OUTBOX.partial/, beside the outbox)
//!   NAME.zb            written whole by export (temp file, fsync, rename)
//!   NAME.zb.sent       hard link made just before publication: "this one may be out"
//! outbox/NAME.zb       publish_file (link, fsync of the folder): the transfer may take it now
//! ledger               records the bundle as exported (the channel moves to it)
//! NAME.zb.sent         removed: done
//! ```
//!
//! A kill after `.sent` exists and before the ledger recorded the bundle leaves a bundle that
//! may already have left (the transfer may have taken it from the outbox). The next run must
//! not make a second, different bundle with the same sequence, which the receiver would
//! refuse as a replay and which would strand its release. So [`recover`] runs first: a `.sent`
//! bundle that follows the ledger's channel state is ADOPTED: put back in the outbox under its
//! name if it is no longer there (the same bytes: a receiver that already took it treats the
//! copy as the same bundle, a no-op) and recorded in the ledger as it would have been. One the
//! ledger already has is just cleared. One whose sequence the ledger gave to another bundle
//! (another process exported in between) is taken back out of the outbox if still there. One
//! that follows nothing the ledger knows stops the run for its channel (fail closed) with a
//! hint. A staged `NAME.zb` without `.sent` never reached the outbox and is removed.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::failure::Refused;
use bundle_format::channel::Channel;
use bundle_format::limits::Limits;
use bundle_format::pack::SealedBundle;
use carriers::outbox_name::{EXTENSION, OutboxName, label};
use carriers::publish::{PublishError, publish_file, staging_dir};

use crate::commands::export::Placement;

/// The suffix of the hard link that marks a staged bundle as possibly published.
pub const SENT_SUFFIX: &str = ".sent";

/// Where `run` puts a bundle: staged beside the outbox under its outbox name, then published.
#[derive(Debug)]
pub struct OutboxPlacement {
    /// The outbox folder.
    pub outbox: PathBuf,
    /// Its staging folder.
    pub staging: PathBuf,
    /// The outbox name of the last bundle placed.
    pub name: Option<String>,
}

impl OutboxPlacement {
    /// The placement for `outbox` (its staging folder is created if needed).
    pub fn new(outbox: &Path) -> Result<Self, PublishError> {
        Ok(Self {
            outbox: outbox.to_owned(),
            staging: staging_dir(outbox)?,
            name: None,
        })
    }

    /// After the ledger recorded the bundle: the `.sent` mark goes.
    pub fn finish(&self) -> io::Result<()> {
        if let Some(name) = &self.name {
            remove_if_there(&self.staging.join(format!("{name}{SENT_SUFFIX}")))?;
        }
        Ok(())
    }
}

impl Placement for OutboxPlacement {
    fn path(&mut self, channel: &Channel, sequence: u64, project: &str, version: &str) -> PathBuf {
        let name = OutboxName {
            channel: channel.clone(),
            sequence,
            label: label([project, version]),
        }
        .to_string();
        let path = self.staging.join(&name);
        self.name = Some(name);
        path
    }

    fn place(&mut self, written: &Path, _: &SealedBundle) -> anyhow::Result<PathBuf> {
        let name = self
            .name
            .clone()
            .context("no outbox name was given to the bundle")?;
        let sent = self.staging.join(format!("{name}{SENT_SUFFIX}"));
        remove_if_there(&sent)?;
        fs::hard_link(written, &sent)
            .with_context(|| format!("cannot mark {} as being published", written.display()))?;
        carriers::publish::sync_dir(&self.staging)
            .with_context(|| format!("cannot flush {}", self.staging.display()))?;
        let placed = publish_file(written, &self.outbox, &name, false)?;
        Ok(placed)
    }
}

fn remove_if_there(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Takes `name` out of the outbox if it is still there and is the bundle `digest` (and not
/// another file that took the name since); true if it was removed.
fn withdraw(
    outbox: &Path,
    name: &str,
    digest: &bundle_format::names::Digest,
) -> anyhow::Result<bool> {
    let path = outbox.join(name);
    let Ok(file) = fs::File::open(&path) else {
        return Ok(false);
    };
    let same =
        bundle_format::inspect::read_unverified(io::BufReader::new(file), &Limits::default())
            .is_ok_and(|head| head.digest == *digest);
    if same {
        remove_if_there(&path)?;
        carriers::publish::sync_dir(outbox)
            .with_context(|| format!("cannot flush {}", outbox.display()))?;
    }
    Ok(same)
}

/// What [`recover`] did with one leftover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// A bundle that may have left was recorded in the ledger (and put back in the outbox if
    /// it was no longer there: `republished`).
    Adopted {
        /// Its outbox name.
        name: String,
        /// Whether it was put in the outbox again.
        republished: bool,
    },
    /// The ledger had it already; the mark was cleared.
    Cleared(String),
    /// The ledger gave its sequence to another bundle (another process exported in between):
    /// it was taken back out of the outbox, if it was still there, and its mark cleared.
    Withdrawn(String),
    /// A staged bundle that never reached the outbox was removed.
    Removed(String),
}

/// Settles what an earlier run left in the staging folder of `outbox` (module docs) before a
/// new run takes the next sequence numbers. An error stops the run: a channel whose state is
/// in doubt gets no new bundle.
pub fn recover(outbox: &Path, ledger: &mut ledger::Ledger) -> anyhow::Result<Vec<Recovered>> {
    let staging = staging_dir(outbox)?;
    let mut done = Vec::new();
    let mut names: Vec<String> = fs::read_dir(&staging)
        .with_context(|| format!("cannot list {}", staging.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    for file in &names {
        let Some(name) = file.strip_suffix(SENT_SUFFIX) else {
            continue;
        };
        if OutboxName::parse(name).is_none() {
            continue;
        }
        done.push(adopt(&staging, outbox, name, ledger)?);
    }
    // Staged bundles without a mark never reached the outbox.
    let extension = format!(".{EXTENSION}");
    for file in names.iter().filter(|n| n.ends_with(&extension)) {
        if OutboxName::parse(file).is_some()
            && !staging.join(format!("{file}{SENT_SUFFIX}")).exists()
        {
            remove_if_there(&staging.join(file))?;
            done.push(Recovered::Removed(file.clone()));
        }
    }
    Ok(done)
}

fn adopt(
    staging: &Path,
    outbox: &Path,
    name: &str,
    ledger: &mut ledger::Ledger,
) -> anyhow::Result<Recovered> {
    let sent = staging.join(format!("{name}{SENT_SUFFIX}"));
    let (file, _) = bundle_format::regular_file::open_nonempty(&sent)
        .with_context(|| format!("cannot read {}", sent.display()))?;
    // Our own bundle, in our own private staging folder: its head is read, not verified.
    let head =
        bundle_format::inspect::read_unverified(io::BufReader::new(file), &Limits::default())
            .with_context(|| format!("{} is not a readable bundle", sent.display()))?;
    let manifest = head
        .manifest
        .with_context(|| format!("the manifest of {} does not decode", sent.display()))?;
    let channel = manifest.channel();
    let state = ledger.channel_state(&channel)?;
    let record = ledger::BundleRecord::from_manifest(&manifest, head.digest);
    let recorded = state
        .as_ref()
        .is_some_and(|s| s.sequence >= manifest.sequence);
    if recorded {
        let ours = ledger
            .bundle(&head.digest, ledger::Verdict::Exported)?
            .is_some();
        let withdrawn = !ours && withdraw(outbox, name, &head.digest)?;
        remove_if_there(&sent)?;
        remove_if_there(&staging.join(name))?;
        return Ok(if withdrawn || !ours {
            Recovered::Withdrawn(name.to_owned())
        } else {
            Recovered::Cleared(name.to_owned())
        });
    }
    let follows = match &state {
        None => manifest.sequence == 1 && manifest.previous.is_none(),
        Some(s) => {
            manifest.sequence == s.sequence.saturating_add(1) && manifest.previous == Some(s.digest)
        }
    };
    if !follows {
        return Err(Refused {
            code: "outbox-in-doubt",
            message: format!(
                "{} was being published on {channel} as bundle {}, but the ledger's channel is at {}; no bundle is made on that channel until this is settled\nHint: check whether the transfer carried it; if it did not, delete {}",
                sent.display(),
                manifest.sequence,
                state.map_or("nothing".to_owned(), |s| s.sequence.to_string()),
                sent.display()
            ),
        }
        .into());
    }
    let in_outbox = outbox.join(name);
    let republished = !in_outbox.exists();
    if republished {
        let staged = staging.join(name);
        remove_if_there(&staged)?;
        fs::hard_link(&sent, &staged)
            .with_context(|| format!("cannot stage {} again", sent.display()))?;
        publish_file(&staged, outbox, name, false)?;
    }
    ledger
        .record_exported(&record, state.as_ref())
        .with_context(|| format!("cannot record {name}, found in the outbox, in the ledger"))?;
    remove_if_there(&sent)?;
    remove_if_there(&staging.join(name))?;
    Ok(Recovered::Adopted {
        name: name.to_owned(),
        republished,
    })
}
