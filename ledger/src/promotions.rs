//! Promotions: where each release stands on its way into a zone and back (exported, imported,
//! deploying, succeeded or failed, result returned).

use std::fmt;

use bundle_format::names::{Digest, ZoneId};
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{self, AuditEntry};
use crate::db::{Db, Stored};
use crate::{Ledger, LedgerError, check_name, now_text, parse_digest, parse_time};

/// The audit event of a promotion's change of state.
pub const EVENT_PROMOTION: &str = "promotion-state";

/// Which promotion: a release (project and version) going to one target zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PromotionKey {
    /// Project name (at most [`crate::MAX_NAME_BYTES`]).
    pub project: String,
    /// Release version (at most [`crate::MAX_NAME_BYTES`]).
    pub version: String,
    /// The zone the release is promoted to.
    pub target: ZoneId,
}

impl fmt::Display for PromotionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} to {}", self.project, self.version, self.target)
    }
}

/// Where a promotion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PromotionState {
    /// The release bundle was made (development side).
    Exported,
    /// The release was recreated on the target instance (secure side).
    Imported,
    /// A deployment of it is running.
    Deploying,
    /// The deployment succeeded.
    Succeeded,
    /// The deployment failed (or was cancelled or timed out).
    Failed,
    /// The result bundle came back and was accepted (development side).
    ResultReturned,
}

impl PromotionState {
    /// Every state, in the order a promotion usually goes through them.
    pub const ALL: [Self; 6] = [
        Self::Exported,
        Self::Imported,
        Self::Deploying,
        Self::Succeeded,
        Self::Failed,
        Self::ResultReturned,
    ];

    /// The state's name as stored: `exported`, `imported`, `deploying`, `succeeded`, `failed`,
    /// `result_returned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exported => "exported",
            Self::Imported => "imported",
            Self::Deploying => "deploying",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::ResultReturned => "result_returned",
        }
    }

    /// The state named `text` (as [`PromotionState::as_str`] writes it).
    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for PromotionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A promotion as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// Which promotion.
    pub key: PromotionKey,
    /// Where it stands.
    pub state: PromotionState,
    /// The bundle that moved it to this state (release or result bundle).
    pub bundle: Digest,
    /// When it moved to this state.
    pub updated_at: OffsetDateTime,
}

impl Ledger {
    /// Sets the state of promotion `key`, with the bundle that moved it there, and appends a
    /// `promotion-state` audit entry (naming the state before), in one transaction.
    ///
    /// Any state may follow any other: a failed deployment may be retried, a re-run after a
    /// crash may set the same state again. The audit trail keeps every change.
    pub fn set_promotion(
        &mut self,
        key: &PromotionKey,
        state: PromotionState,
        bundle: Digest,
    ) -> Result<AuditEntry, LedgerError> {
        let db = self.db.clone();
        let action = "set a promotion's state";
        let tx = self.write(action)?;
        let entry = set_in(&tx, &db, key, state, bundle)?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }

    /// The promotion `key`, or `None` if the ledger has never heard of it.
    pub fn promotion(&self, key: &PromotionKey) -> Result<Option<Promotion>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM promotions
             WHERE project = ?1 AND version = ?2 AND target_zone = ?3"
        );
        let rows = self.db.query(
            &self.conn,
            "promotions",
            &sql,
            params![key.project, key.version, key.target.as_str()],
            read_promotion,
        )?;
        Ok(rows.into_iter().next())
    }

    /// Every promotion, or those of `project`, ordered by project, version and target zone.
    pub fn promotions(&self, project: Option<&str>) -> Result<Vec<Promotion>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM promotions WHERE ?1 IS NULL OR project = ?1
             ORDER BY project, version, target_zone"
        );
        self.db
            .query(&self.conn, "promotions", &sql, [project], read_promotion)
    }
}

/// The columns [`read_promotion`] reads.
const COLUMNS: &str = "project, version, target_zone, state, bundle, updated_at";

fn read_promotion(row: &Stored<'_, '_>) -> Result<Promotion, LedgerError> {
    Ok(Promotion {
        key: PromotionKey {
            project: row.get("project")?,
            version: row.get("version")?,
            target: row.parse("target_zone", |text| ZoneId::new(text).ok())?,
        },
        state: row.parse("state", PromotionState::from_name)?,
        bundle: row.parse("bundle", parse_digest)?,
        updated_at: row.parse("updated_at", parse_time)?,
    })
}

/// Sets the state of promotion `key` inside `tx`, with its audit entry. The caller commits.
pub(crate) fn set_in(
    tx: &Transaction<'_>,
    db: &Db,
    key: &PromotionKey,
    state: PromotionState,
    bundle: Digest,
) -> Result<AuditEntry, LedgerError> {
    check_name("the project name", &key.project)?;
    check_name("the release version", &key.version)?;
    let action = "set a promotion's state";
    let before: Option<String> = tx
        .query_row(
            "SELECT state FROM promotions WHERE project = ?1 AND version = ?2 AND target_zone = ?3",
            params![key.project, key.version, key.target.as_str()],
            |row| row.get(0),
        )
        .optional()
        .map_err(db.err(action))?;
    let bundle = bundle.to_hex();
    tx.execute(
        "INSERT INTO promotions (project, version, target_zone, state, bundle, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (project, version, target_zone) DO UPDATE
         SET state = excluded.state, bundle = excluded.bundle, updated_at = excluded.updated_at",
        params![
            key.project,
            key.version,
            key.target.as_str(),
            state.as_str(),
            bundle,
            now_text(),
        ],
    )
    .map_err(db.err(action))?;
    let detail = json!({
        "project": key.project,
        "version": key.version,
        "target_zone": key.target.as_str(),
        "state": state.as_str(),
        "previous_state": before,
        "bundle": bundle,
    });
    audit::append(tx, db, EVENT_PROMOTION, &detail)
}
