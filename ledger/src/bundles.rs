//! Bundles seen and channel positions: what a receiver needs to refuse replays and rollbacks
//! (bundle spec, section 9) and to make "the same bundle twice" a no-op.
//!
//! The rule itself is `bundle_format::channel::check_sequence`; the ledger keeps its state
//! ([`Ledger::channel_state`]) and moves it only forward, and only from the state the caller
//! checked against ([`Ledger::record_accepted`]). A sender keeps its outgoing channels the
//! same way ([`Ledger::record_exported`]), so that each bundle it makes takes the next number.

use bundle_format::channel::{Channel, ChannelState};
use bundle_format::manifest::{BundleKind, MAX_SEQUENCE, Manifest};
use bundle_format::names::{BundleId, Digest};
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::Db;
use crate::promotions::{self, PromotionKey, PromotionState};
use crate::skips;
use crate::stored::Verdict;
use crate::{Ledger, LedgerError, MAX_NAME_BYTES, MAX_REASON_BYTES, check_name, now_text};

/// The audit event of an accepted bundle.
pub const EVENT_ACCEPTED: &str = "bundle-accepted";
/// The audit event of a refused bundle.
pub const EVENT_REFUSED: &str = "bundle-refused";
/// The audit event of a bundle this side made and sent.
pub const EVENT_EXPORTED: &str = "bundle-exported";

/// How a bundle moves its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Advance {
    /// Received and accepted (a receiver's incoming channel).
    Accepted,
    /// Made and sent (a sender's outgoing channel).
    Exported,
}

impl Advance {
    fn verdict(self) -> Verdict {
        match self {
            Self::Accepted => Verdict::Accepted,
            Self::Exported => Verdict::Exported,
        }
    }

    fn event(self) -> &'static str {
        match self {
            Self::Accepted => EVENT_ACCEPTED,
            Self::Exported => EVENT_EXPORTED,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Accepted => "record an accepted bundle",
            Self::Exported => "record an exported bundle",
        }
    }
}

/// A bundle as the ledger records it.
///
/// Every field comes from a VERIFIED manifest (or, on the sending side, the manifest this side
/// made). A bundle refused before it was trusted has no record of this kind: it is recorded
/// from pre-trust data alone with [`Ledger::record_refused_unverified`] (spec 15.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRecord {
    /// The bundle digest (SHA-256 of the manifest bytes).
    pub digest: Digest,
    /// The bundle id its manifest names (`None` when it is not known).
    pub bundle_id: Option<BundleId>,
    /// Its channel: source zone, target zone and kind.
    pub channel: Channel,
    /// Its position on the channel.
    pub sequence: u64,
    /// The project it carries, if known (at most [`crate::MAX_NAME_BYTES`]).
    pub project: Option<String>,
    /// The release version it carries, if known (at most [`crate::MAX_NAME_BYTES`]).
    pub version: Option<String>,
}

impl BundleRecord {
    /// The record of the bundle with this manifest and digest; project and version come from
    /// the release (release bundles) or from the release answered (result bundles).
    pub fn from_manifest(manifest: &Manifest, digest: Digest) -> Self {
        let (project, version) = match (&manifest.release, &manifest.result) {
            (Some(release), _) => (Some(&release.project), Some(&release.version)),
            (None, Some(result)) => (Some(&result.project), Some(&result.version)),
            (None, None) => (None, None),
        };
        Self {
            digest,
            bundle_id: Some(manifest.bundle_id),
            channel: manifest.channel(),
            sequence: manifest.sequence,
            project: project.cloned(),
            version: version.cloned(),
        }
    }

    fn check(&self, minimum_sequence: u64) -> Result<i64, LedgerError> {
        for (what, value) in [
            ("the project name", &self.project),
            ("the release version", &self.version),
        ] {
            if let Some(value) = value {
                check_name(what, value)?;
            }
        }
        let invalid = |reason| LedgerError::SequenceInvalid {
            channel: self.channel.to_string(),
            sequence: self.sequence,
            reason,
        };
        if self.sequence < minimum_sequence {
            return Err(invalid("channel positions start at 1"));
        }
        if self.sequence > MAX_SEQUENCE {
            return Err(invalid(
                "it is larger than the largest sequence a manifest may carry",
            ));
        }
        i64::try_from(self.sequence).map_err(|_| invalid("it does not fit the ledger"))
    }

    fn audit_detail(&self) -> serde_json::Value {
        json!({
            "digest": self.digest.to_hex(),
            "bundle_id": self.bundle_id.map(|id| id.to_hex()),
            "channel": self.channel.to_string(),
            "sequence": self.sequence,
            "project": self.project,
            "version": self.version,
        })
    }
}

/// Cuts `reason` to [`MAX_REASON_BYTES`] at a character boundary, ending it with
/// [`crate::TRUNCATED_MARK`] when it was cut.
pub(crate) fn bound_reason(reason: &str) -> String {
    crate::refusals::bound_text(reason, MAX_REASON_BYTES)
}

impl Ledger {
    /// The last bundle accepted on `channel`, or `None` if none was.
    ///
    /// The row is checked against the audit trail's last `bundle-accepted` (or
    /// `bundle-exported`) entry for the channel; a row moved back or deleted by hand is
    /// [`LedgerError::StateMismatch`], so that no receiver acts on a re-opened replay window.
    pub fn channel_state(&self, channel: &Channel) -> Result<Option<ChannelState>, LedgerError> {
        let name = channel.to_string();
        let state = read_channel_in(&self.conn, &self.db, &name)?;
        check_channel_against_chain(&self.conn, &self.db, &name, state.as_ref())?;
        Ok(state)
    }

    /// Whether a bundle with this digest was accepted before: a receiver that finds it was
    /// treats the bundle as already done (importing the same bundle twice is a no-op).
    pub fn was_accepted(&self, digest: &Digest) -> Result<bool, LedgerError> {
        is_accepted(&self.conn, &self.db, &digest.to_hex())
    }

    /// Records an accepted bundle in one transaction: its row in `bundles`, its channel moved
    /// to it, and a `bundle-accepted` audit entry; all of it or nothing.
    ///
    /// `previous` is the channel state the bundle was checked against (what
    /// [`Ledger::channel_state`] returned before `check_sequence`). If the ledger now holds
    /// another state, another process accepted a bundle in between and this one is refused
    /// with [`LedgerError::ChannelMoved`], so two importers can never both accept bundle N.
    /// A bundle already accepted is refused with [`LedgerError::AlreadyAccepted`].
    pub fn record_accepted(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
    ) -> Result<AuditEntry, LedgerError> {
        self.advance(record, previous, Advance::Accepted, |_, _| Ok(()))
    }

    /// Records a bundle this side made and sent, in one transaction: its row in `bundles`
    /// (verdict `exported`), its outgoing channel moved to it so that the next bundle takes
    /// the next sequence number, a `bundle-exported` audit entry, and, for a release bundle
    /// that names a project and version, the promotion to the channel's target zone set to
    /// [`crate::PromotionState::Exported`] (with its own `promotion-state` entry). A result
    /// bundle leaves promotions alone: the secure side records those with
    /// [`Ledger::record_result_exported`].
    ///
    /// `previous` is the channel state the bundle's sequence and previous digest were taken
    /// from; as for [`Ledger::record_accepted`], [`LedgerError::ChannelMoved`] means another
    /// export took that position in between.
    pub fn record_exported(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
    ) -> Result<AuditEntry, LedgerError> {
        self.advance(record, previous, Advance::Exported, |tx, db| {
            let (BundleKind::Release, Some(project), Some(version)) =
                (record.channel.kind, &record.project, &record.version)
            else {
                return Ok(());
            };
            let key = PromotionKey {
                project: project.clone(),
                version: version.clone(),
                target: record.channel.target.clone(),
            };
            promotions::set_in(tx, db, &key, PromotionState::Exported, record.digest)?;
            Ok(())
        })
    }

    /// The one transaction of every bundle that moves its channel: checks that the channel
    /// still holds `previous` and that the bundle is after it (and, when accepting, that it
    /// was not accepted before), writes its row, moves the channel and appends its audit
    /// entry, then lets `also` record what goes with it; commits only if all of it worked.
    /// Returns the bundle's audit entry.
    pub(crate) fn advance(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
        how: Advance,
        also: impl FnOnce(&Transaction<'_>, &Db) -> Result<(), LedgerError>,
    ) -> Result<AuditEntry, LedgerError> {
        let sequence = record.check(1)?;
        let channel = record.channel.to_string();
        let db = self.db.clone();
        let action = how.action();
        let tx = self.write(action)?;
        let stored = read_channel_in(&tx, &db, &channel)?;
        check_channel_against_chain(&tx, &db, &channel, stored.as_ref())?;
        if stored.as_ref() != previous {
            return Err(LedgerError::ChannelMoved {
                channel,
                expected: previous.map(|s| s.sequence),
                found: stored.map(|s| s.sequence),
            });
        }
        if let Some(last) = stored.filter(|last| last.sequence >= record.sequence) {
            return Err(LedgerError::SequenceNotNewer {
                channel,
                last: last.sequence,
                got: record.sequence,
            });
        }
        let digest = record.digest.to_hex();
        if how == Advance::Accepted && is_accepted(&tx, &db, &digest)? {
            return Err(LedgerError::AlreadyAccepted { digest });
        }
        if how == Advance::Accepted && skips::is_skipped(&tx, &db, &channel, sequence)? {
            return Err(LedgerError::SequenceSkipped {
                channel,
                sequence: record.sequence,
            });
        }
        insert_bundle(&tx, &db, record, sequence, how.verdict(), None)?;
        tx.execute(
            "INSERT INTO channels (channel, sequence, digest) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel) DO UPDATE SET sequence = excluded.sequence, digest = excluded.digest",
            params![channel, sequence, digest],
        )
        .map_err(db.err("advance the channel"))?;
        let entry = audit::append(&tx, &db, how.event(), &record.audit_detail())?;
        also(&tx, &db)?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }

    /// Records a refused bundle and why, in one transaction: its row in `bundles` and a
    /// `bundle-refused` audit entry. The channel does not move. `reason` is cut to
    /// [`MAX_REASON_BYTES`], the project and version to [`crate::MAX_NAME_BYTES`], so that no
    /// text in the bundle can keep its refusal from being recorded. `record` must come from a
    /// VERIFIED manifest; a bundle refused before trust is recorded with
    /// [`Ledger::record_refused_unverified`] instead.
    pub fn record_refused(
        &mut self,
        record: &BundleRecord,
        reason: &str,
    ) -> Result<AuditEntry, LedgerError> {
        let bound = |name: &Option<String>| {
            name.as_deref()
                .map(|name| crate::refusals::bound_text(name, MAX_NAME_BYTES))
        };
        let record = &BundleRecord {
            project: bound(&record.project),
            version: bound(&record.version),
            ..record.clone()
        };
        let sequence = record.check(0)?;
        let reason = bound_reason(reason);
        let db = self.db.clone();
        let action = "record a refused bundle";
        let tx = self.write(action)?;
        insert_bundle(&tx, &db, record, sequence, Verdict::Refused, Some(&reason))?;
        let mut detail = record.audit_detail();
        if let Some(map) = detail.as_object_mut() {
            map.insert("reason".to_owned(), reason.into());
        }
        let entry = crate::refusals::append_fitted(&tx, &db, EVENT_REFUSED, detail)?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }
}

fn insert_bundle(
    tx: &Transaction<'_>,
    db: &Db,
    record: &BundleRecord,
    sequence: i64,
    verdict: Verdict,
    refusal: Option<&str>,
) -> Result<(), LedgerError> {
    tx.execute(
        "INSERT INTO bundles
         (digest, bundle_id, kind, channel, sequence, verdict, reason, at, project, version)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            record.digest.to_hex(),
            record.bundle_id.map(|id| id.to_hex()),
            record.channel.kind.as_str(),
            record.channel.to_string(),
            sequence,
            verdict.as_str(),
            refusal,
            now_text(),
            record.project,
            record.version,
        ],
    )
    .map_err(db.err("record the bundle"))?;
    Ok(())
}

pub(crate) fn read_channel_in(
    conn: &rusqlite::Connection,
    db: &Db,
    channel: &str,
) -> Result<Option<ChannelState>, LedgerError> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT sequence, digest FROM channels WHERE channel = ?1",
            [channel],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db.err("read the channel"))?;
    let Some((sequence, digest)) = row else {
        return Ok(None);
    };
    let sequence = u64::try_from(sequence)
        .map_err(|_| db.row_invalid("channels", format!("{channel}: sequence {sequence}")))?;
    let digest = Digest::from_hex(&digest)
        .map_err(|_| db.row_invalid("channels", format!("{channel}: digest {digest:?}")))?;
    Ok(Some(ChannelState { sequence, digest }))
}

/// An audit entry's id, and the sequence and digest its detail names (if it names them).
type ChainedPosition = (i64, Option<i64>, Option<String>);

/// The channel's position as the audit trail carries it: the last `bundle-accepted` or
/// `bundle-exported` entry naming the channel (its id, sequence and digest).
fn last_in_chain(
    conn: &rusqlite::Connection,
    db: &Db,
    channel: &str,
) -> Result<Option<ChainedPosition>, LedgerError> {
    conn.query_row(
        "SELECT id,
                CASE WHEN json_valid(detail) THEN json_extract(detail, '$.sequence') END,
                CASE WHEN json_valid(detail) THEN json_extract(detail, '$.digest') END
         FROM audit
         WHERE event IN (?1, ?2)
           AND CASE WHEN json_valid(detail) THEN json_extract(detail, '$.channel') END = ?3
         ORDER BY id DESC LIMIT 1",
        params![EVENT_ACCEPTED, EVENT_EXPORTED, channel],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
    .optional()
    .map_err(db.err("read the channel's audit entries"))
}

/// Refuses to move a channel whose row disagrees with the audit trail: a position moved back by
/// hand would re-open the replay window at the very next import, long before anyone runs
/// `ledger verify`. Checked inside the transaction that would move it.
pub(crate) fn check_channel_against_chain(
    conn: &rusqlite::Connection,
    db: &Db,
    channel: &str,
    stored: Option<&ChannelState>,
) -> Result<(), LedgerError> {
    let chained = last_in_chain(conn, db, channel)?;
    let agrees = match (&chained, stored) {
        (None, None) => true,
        (Some((_, Some(sequence), Some(digest))), Some(state)) => {
            u64::try_from(*sequence).ok() == Some(state.sequence)
                && digest.as_str() == state.digest.to_hex()
        }
        _ => false,
    };
    if agrees {
        return Ok(());
    }
    let table = match stored {
        Some(state) => format!("bundle {} ({})", state.sequence, state.digest.to_hex()),
        None => "no bundle".to_owned(),
    };
    let chain = match &chained {
        Some((id, sequence, digest)) => format!(
            "audit entry {id} recorded bundle {} ({}) last",
            sequence.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            digest.as_deref().unwrap_or("?")
        ),
        None => "the audit trail records no bundle on it".to_owned(),
    };
    Err(LedgerError::StateMismatch {
        table: "channels",
        detail: format!(
            "channel {channel} is at {table} in the table, but {chain}; refusing to move it (a channel moved back re-opens the replay window)"
        ),
    })
}

fn is_accepted(conn: &rusqlite::Connection, db: &Db, digest: &str) -> Result<bool, LedgerError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM bundles WHERE digest = ?1 AND verdict = 'accepted')",
        [digest],
        |row| row.get(0),
    )
    .map_err(db.err("look the bundle up"))
}
