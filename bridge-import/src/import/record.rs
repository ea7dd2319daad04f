//! The ledger's part in an import (ARCHITECTURE, "Ledger"): whether the bundle was imported
//! already, the channel's last accepted bundle, refusals, and, LAST of all, the import itself.
//!
//! ```text
//! record_import:  audit "import.package" / "import.process" / "import.variables" /
//!                       "import.release" / "import.check"   (one per step, what it did)
//!                 promotion (project, version, zone) -> imported
//!                 bundle accepted + channel advanced         <- the commit point
//! ```
//!
//! The accepted row is written last: a crash before it leaves the bundle unaccepted, so a
//! re-run redoes the (idempotent) steps and then records. Audit entries of a crashed run stay:
//! the trail shows both attempts. A dry run writes nothing here, not even a refusal; it reads
//! an existing ledger and never creates one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bundle_format::channel::{Channel, ChannelState};
use bundle_format::names::Digest;
use ledger::{BundleRecord, Ledger, PromotionKey, PromotionState, StoredBundle, UnverifiedBundle};
use serde_json::{Value, json};

use super::hook::Writes;

/// One audit entry an import leaves for a step.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditStep {
    /// The event, such as `import.package`.
    pub event: &'static str,
    /// What the step did (names and ids, never a secret value).
    pub detail: Value,
}

/// What an import records when it succeeded.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The bundle.
    pub record: BundleRecord,
    /// The channel state it was checked against.
    pub previous: Option<ChannelState>,
    /// The promotion it completes.
    pub promotion: PromotionKey,
    /// One entry per step.
    pub steps: Vec<AuditStep>,
}

/// This side's ledger, as an import uses it.
#[derive(Debug)]
pub struct LedgerGate {
    ledger: Option<Ledger>,
    path: PathBuf,
    dry_run: bool,
}

impl LedgerGate {
    /// Opens (creating it if needed) the ledger at `path`; for a dry run, only an existing
    /// ledger is opened, and nothing is ever written to it.
    pub fn open(path: &Path, dry_run: bool) -> anyhow::Result<Self> {
        let context = || format!("cannot open the ledger {}", path.display());
        let ledger = if !dry_run {
            Some(Ledger::open(path).with_context(context)?)
        } else if path.is_file() {
            Some(Ledger::open_existing(path).with_context(context)?)
        } else {
            None
        };
        Ok(Self {
            ledger,
            path: path.to_owned(),
            dry_run,
        })
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the bundle with `digest` was accepted (imported) before.
    pub fn was_accepted(&self, digest: &Digest) -> anyhow::Result<bool> {
        match &self.ledger {
            Some(ledger) => Ok(ledger.was_accepted(digest)?),
            None => Ok(false),
        }
    }

    /// The channel's last accepted bundle.
    pub fn channel_state(&self, channel: &Channel) -> anyhow::Result<Option<ChannelState>> {
        match &self.ledger {
            Some(ledger) => Ok(ledger.channel_state(channel)?),
            None => Ok(None),
        }
    }

    /// The sequence numbers of `channel` given up on with `channel skip`.
    pub fn skipped(&self, channel: &Channel) -> anyhow::Result<BTreeSet<u64>> {
        match &self.ledger {
            Some(ledger) => Ok(ledger.skipped(channel)?),
            None => Ok(BTreeSet::new()),
        }
    }

    /// The newest refusal of bundle `sequence` on `channel`: what the next bundle waits for.
    pub fn last_refusal(
        &self,
        channel: &Channel,
        sequence: u64,
    ) -> anyhow::Result<Option<StoredBundle>> {
        match &self.ledger {
            Some(ledger) => Ok(ledger.last_refusal(channel, sequence)?),
            None => Ok(None),
        }
    }

    /// Records a refused bundle and why (not on a dry run).
    pub fn record_refused(
        &mut self,
        record: &BundleRecord,
        reason: &str,
        writes: &mut Writes,
    ) -> anyhow::Result<()> {
        let Some(ledger) = self.writable() else {
            return Ok(());
        };
        ledger.record_refused(record, reason)?;
        writes.done("ledger: bundle refused")
    }

    /// Records a bundle refused before it was trusted, from pre-trust data only (not on a
    /// dry run).
    pub fn record_refused_unverified(
        &mut self,
        bundle: &UnverifiedBundle,
        reason: &str,
        writes: &mut Writes,
    ) -> anyhow::Result<()> {
        let Some(ledger) = self.writable() else {
            return Ok(());
        };
        ledger.record_refused_unverified(bundle, reason)?;
        writes.done("ledger: unverified bundle refused")
    }

    /// Records a completed import; the accepted bundle last (see the module documentation).
    pub fn record_import(
        &mut self,
        imported: &Imported,
        writes: &mut Writes,
    ) -> anyhow::Result<()> {
        let Some(ledger) = self.writable() else {
            return Ok(());
        };
        let digest = imported.record.digest.to_hex();
        for step in &imported.steps {
            let mut detail = step.detail.clone();
            if let Some(map) = detail.as_object_mut() {
                map.insert("bundle".to_owned(), json!(digest));
            }
            ledger.append_audit(step.event, &detail)?;
            writes.done(step.event)?;
        }
        ledger.set_promotion(
            &imported.promotion,
            PromotionState::Imported,
            imported.record.digest,
        )?;
        writes.done("ledger: promotion imported")?;
        ledger
            .record_accepted(&imported.record, imported.previous.as_ref())
            .context("the release was imported, but the ledger could not record the bundle as accepted; run the import again to record it")?;
        writes.done("ledger: bundle accepted")
    }

    fn writable(&mut self) -> Option<&mut Ledger> {
        if self.dry_run {
            None
        } else {
            self.ledger.as_mut()
        }
    }
}
