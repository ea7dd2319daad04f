//! Bundles given up on: `channel skip`, the one way past a bundle that will never be
//! accepted (lost, or refused for a reason nobody will fix), and the refusals that tell the
//! next bundle what it waits for (bundle spec 9.3).
//!
//! A skip is an explicit, audited act of one operator for one sequence number of one incoming
//! channel: its row in `channel_skips` and its `channel-skip` audit entry (with the reason and
//! the operator) are written in one transaction. The skipped number can never be accepted
//! afterwards; a later bundle whose missing predecessors are all skipped is taken without its
//! `previous` link (which names a bundle this side never accepted).

use std::collections::BTreeSet;

use bundle_format::channel::Channel;
use bundle_format::manifest::MAX_SEQUENCE;
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, AuditEntry};
use crate::bundles::read_channel_in;
use crate::stored::{StoredBundle, Verdict};
use crate::{Ledger, LedgerError, MAX_REASON_BYTES, check_name, parse_time};

/// The audit event of a bundle given up on with `channel skip`.
pub const EVENT_SKIP: &str = "channel-skip";

/// A bundle given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// Its channel (`dev->pci/release`).
    pub channel: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Why, in the operator's words.
    pub reason: String,
    /// Who skipped it.
    pub operator: String,
    /// When.
    pub at: OffsetDateTime,
}

impl Ledger {
    /// Gives up on bundle `sequence` of the incoming `channel`, for `reason` (not blank, at
    /// most [`MAX_REASON_BYTES`]), on behalf of `operator`: one row and one `channel-skip`
    /// audit entry, in one transaction.
    ///
    /// Refused ([`LedgerError::SkipRefused`]) for a channel this side sends on, a sequence the
    /// channel has already passed (accepted, or before the last accepted one), and a sequence
    /// skipped already.
    pub fn skip(
        &mut self,
        channel: &Channel,
        sequence: u64,
        reason: &str,
        operator: &str,
    ) -> Result<AuditEntry, LedgerError> {
        let name = channel.to_string();
        let refuse = |reason: String| LedgerError::SkipRefused {
            channel: name.clone(),
            sequence,
            reason,
        };
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(refuse(
                "the reason is empty\nHint: say why the bundle is given up on (--reason); it goes into the audit trail".to_owned(),
            ));
        }
        if reason.len() > MAX_REASON_BYTES {
            return Err(refuse(format!(
                "the reason is {} bytes, more than {MAX_REASON_BYTES}",
                reason.len()
            )));
        }
        check_name("the operator name", operator)?;
        if sequence == 0 || sequence > MAX_SEQUENCE {
            return Err(refuse(format!(
                "channel positions run from 1 to {MAX_SEQUENCE}"
            )));
        }
        let stored =
            i64::try_from(sequence).map_err(|_| refuse("it does not fit the ledger".to_owned()))?;
        let db = self.db.clone();
        let action = "skip a bundle";
        let tx = self.write(action)?;
        let sends: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM bundles WHERE channel = ?1 AND verdict = 'exported')",
                [&name],
                |row| row.get(0),
            )
            .map_err(db.err(action))?;
        if sends {
            return Err(refuse(
                "this side sends on that channel; only the receiving side can give a bundle up"
                    .to_owned(),
            ));
        }
        let position = read_channel_in(&tx, &db, &name)?;
        crate::bundles::check_channel_against_chain(&tx, &db, &name, position.as_ref())?;
        if let Some(last) = position
            && last.sequence >= sequence
        {
            return Err(refuse(format!(
                "the channel has already accepted bundle {}, so bundle {sequence} is behind it\nHint: nothing waits for it; a bundle the channel passed needs no skip",
                last.sequence
            )));
        }
        let before: Option<(String, String)> = tx
            .query_row(
                "SELECT operator, at FROM channel_skips WHERE channel = ?1 AND sequence = ?2",
                params![name, stored],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(db.err(action))?;
        if let Some((by, at)) = before {
            return Err(refuse(format!(
                "it was skipped already, at {at} by {by}\nHint: see the `channel-skip` entry in the audit trail; a skip is not undone"
            )));
        }
        let entry = audit::append(
            &tx,
            &db,
            EVENT_SKIP,
            &json!({
                "channel": name,
                "sequence": sequence,
                "reason": reason,
                "operator": operator,
            }),
        )?;
        tx.execute(
            "INSERT INTO channel_skips (channel, sequence, reason, operator, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, stored, reason, operator, entry.at],
        )
        .map_err(db.err(action))?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }

    /// The sequence numbers of `channel` given up on with [`Ledger::skip`].
    pub fn skipped(&self, channel: &Channel) -> Result<BTreeSet<u64>, LedgerError> {
        let rows = self.db.query(
            &self.conn,
            "channel_skips",
            "SELECT sequence FROM channel_skips WHERE channel = ?1",
            [channel.to_string()],
            |row| {
                let sequence: i64 = row.get("sequence")?;
                u64::try_from(sequence).map_err(|_| row.invalid("sequence", &sequence))
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Every skip, oldest first.
    pub fn skips(&self) -> Result<Vec<Skip>, LedgerError> {
        self.db.query(
            &self.conn,
            "channel_skips",
            "SELECT channel, sequence, reason, operator, at FROM channel_skips ORDER BY at, channel, sequence",
            [],
            |row| {
                let sequence: i64 = row.get("sequence")?;
                Ok(Skip {
                    channel: row.get("channel")?,
                    sequence: u64::try_from(sequence)
                        .map_err(|_| row.invalid("sequence", &sequence))?,
                    reason: row.get("reason")?,
                    operator: row.get("operator")?,
                    at: row.parse("at", parse_time)?,
                })
            },
        )
    }

    /// The newest refusal recorded for bundle `sequence` of `channel`, if any: what the next
    /// bundle on the channel waits for.
    pub fn last_refusal(
        &self,
        channel: &Channel,
        sequence: u64,
    ) -> Result<Option<StoredBundle>, LedgerError> {
        let Ok(stored) = i64::try_from(sequence) else {
            return Ok(None);
        };
        let rows = self.bundles_where(
            "channel = ?1 AND sequence = ?2 AND verdict = ?3 ORDER BY id DESC LIMIT 1",
            params![channel.to_string(), stored, Verdict::Refused.as_str()],
        )?;
        Ok(rows.into_iter().next())
    }
}

/// Whether bundle `sequence` of `channel` was skipped, inside a transaction that is about to
/// accept it.
pub(crate) fn is_skipped(
    conn: &rusqlite::Connection,
    db: &crate::db::Db,
    channel: &str,
    sequence: i64,
) -> Result<bool, LedgerError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM channel_skips WHERE channel = ?1 AND sequence = ?2)",
        params![channel, sequence],
        |row| row.get(0),
    )
    .map_err(db.err("look the skips up"))
}
