//! Ledger heads: this ledger's own head, the heads the other side's result bundles carried
//! home, and the check of this ledger against a head recorded outside it.
//!
//! ```text
//!  secure side                         development side
//!  deploy: result bundle carries  ---> results: record_peer_head (zone, N:H, bundle)
//!    head N:H of import.ledger          status: a head with fewer entries than an earlier
//!                                               one went backwards
//!  ledger verify --anchor N:H  <------ operator copies the heads `status` shows
//!    entry N must exist and hash to H
//! ```
//!
//! The hash chain alone cannot show entries removed from the end, nor a whole trail rewritten
//! and re-chained; a head kept outside the file can. See docs/threat-model.md, 5.6.

use bundle_format::manifest::LedgerHead;
use bundle_format::names::{Digest, ZoneId};
use rusqlite::{OptionalExtension as _, params};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, AuditEntry};
use crate::{Ledger, LedgerError, parse_digest, parse_time};

/// The audit event of a head received from the other side in a result bundle.
pub const EVENT_HEAD: &str = "ledger-head-received";

/// A head the other side's ledger had, as a result bundle carried it home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHead {
    /// The zone whose ledger it is.
    pub zone: ZoneId,
    /// The head.
    pub head: LedgerHead,
    /// The result bundle that carried it.
    pub bundle: Digest,
    /// When it was recorded here.
    pub at: OffsetDateTime,
}

impl Ledger {
    /// This ledger's head: the last audit entry's id and hash (`None` for an empty trail).
    /// Not verified: see [`Ledger::verify`].
    pub fn head(&self) -> Result<Option<LedgerHead>, LedgerError> {
        let action = "read the ledger's head";
        let row: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(self.db.err(action))?;
        let Some((id, hash)) = row else {
            return Ok(None);
        };
        let invalid = || {
            self.db
                .row_invalid("audit", format!("entry {id}: hash {hash:?}"))
        };
        Ok(Some(LedgerHead {
            entries: u64::try_from(id).map_err(|_| invalid())?,
            hash: parse_digest(&hash).ok_or_else(invalid)?,
        }))
    }

    /// Records `head`, the ledger head of `zone` carried by the accepted result bundle
    /// `bundle`, with its `ledger-head-received` audit entry, in one transaction.
    pub fn record_peer_head(
        &mut self,
        zone: &ZoneId,
        head: &LedgerHead,
        bundle: Digest,
    ) -> Result<AuditEntry, LedgerError> {
        let entries = i64::try_from(head.entries).map_err(|_| LedgerError::ValueInvalid {
            what: "the received ledger head",
            reason: format!("{} entries do not fit the ledger", head.entries),
        })?;
        let db = self.db.clone();
        let action = "record a received ledger head";
        let tx = self.write(action)?;
        let entry = audit::append(
            &tx,
            &db,
            EVENT_HEAD,
            &json!({
                "zone": zone.as_str(),
                "entries": head.entries,
                "head": head.hash.to_hex(),
                "bundle": bundle.to_hex(),
            }),
        )?;
        tx.execute(
            "INSERT INTO peer_heads (zone, entries, head, bundle, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                zone.as_str(),
                entries,
                head.hash.to_hex(),
                bundle.to_hex(),
                entry.at
            ],
        )
        .map_err(db.err(action))?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }

    /// Every head received, in the order received, or those of `zone`.
    pub fn peer_heads(&self, zone: Option<&ZoneId>) -> Result<Vec<PeerHead>, LedgerError> {
        self.db.query(
            &self.conn,
            "peer_heads",
            "SELECT zone, entries, head, bundle, at FROM peer_heads
             WHERE ?1 IS NULL OR zone = ?1 ORDER BY id",
            [zone.map(ZoneId::as_str)],
            |row| {
                let entries: i64 = row.get("entries")?;
                Ok(PeerHead {
                    zone: row.parse("zone", |text| ZoneId::new(text).ok())?,
                    head: LedgerHead {
                        entries: u64::try_from(entries)
                            .map_err(|_| row.invalid("entries", &entries))?,
                        hash: row.parse("head", parse_digest)?,
                    },
                    bundle: row.parse("bundle", parse_digest)?,
                    at: row.parse("at", parse_time)?,
                })
            },
        )
    }

    /// Checks this ledger against `anchor`, a head recorded outside the file: entry
    /// `anchor.entries` must still exist and have the hash `anchor.hash`.
    /// [`LedgerError::HeadBehind`] if the trail is shorter, [`LedgerError::HeadRewritten`] if
    /// the entry has another hash. Run it after [`Ledger::verify`], which checks the links.
    pub fn check_anchor(&self, anchor: &LedgerHead) -> Result<(), LedgerError> {
        if anchor.entries == 0 {
            return Ok(());
        }
        let action = "read the audit trail";
        let id = i64::try_from(anchor.entries).unwrap_or(i64::MAX);
        let found: Option<String> = self
            .conn
            .query_row("SELECT hash FROM audit WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(self.db.err(action))?;
        let expected = anchor.hash.to_hex();
        match found {
            None => {
                let entries = self.head()?.map_or(0, |head| head.entries);
                Err(LedgerError::HeadBehind {
                    entries,
                    anchored: anchor.entries,
                    hash: expected,
                })
            }
            Some(found) if found != expected => Err(LedgerError::HeadRewritten {
                entry: anchor.entries,
                anchored: expected,
                found,
            }),
            Some(_) => Ok(()),
        }
    }
}

/// The first head in `heads` (in the order received) that went backwards: one with no more
/// entries than a head received before it from the same zone. Every result bundle is made
/// after the previous one was recorded in the sender's ledger, so a sender's heads only grow;
/// one that does not means its ledger was cut or restored from a backup in between. Returns
/// the earlier head and the one that went backwards.
pub fn head_went_backwards(heads: &[PeerHead]) -> Option<(&PeerHead, &PeerHead)> {
    heads.iter().enumerate().find_map(|(index, later)| {
        heads
            .get(..index)?
            .iter()
            .filter(|earlier| earlier.zone == later.zone)
            .max_by_key(|earlier| earlier.head.entries)
            .filter(|earlier| earlier.head.entries >= later.head.entries)
            .map(|earlier| (earlier, later))
    })
}
