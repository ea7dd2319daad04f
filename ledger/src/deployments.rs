//! Deployments: the latest state of each release's deployment to one environment (and tenant)
//! of a zone, and the transactions that record a result bundle together with the deployment
//! it reports.
//!
//! ```text
//!  secure side                                  development side
//!  set_deployment: requested, deploying,        record_result_accepted: the result bundle
//!    waiting, ... (each change audited)           accepted + its deployment state +
//!  record_result_exported: the result bundle      promotion result_returned, one transaction
//!    made + its deployment state (+ promotion)
//!    in one transaction            ---- result bundle ---->
//! ```
//!
//! The table keeps only the latest state; the `deployment-state` audit entries keep every
//! change, each naming the state before it.

use std::fmt;

use bundle_format::channel::ChannelState;
use bundle_format::names::{Digest, ZoneId};
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::audit::{self, AuditEntry};
use crate::bundles::{Advance, BundleRecord, bound_reason};
use crate::db::{Db, Stored};
use crate::promotions::{self, PromotionKey, PromotionState};
use crate::{Ledger, LedgerError, check_name, now_text, parse_digest, parse_time};

/// The audit event of a deployment's change of state.
pub const EVENT_DEPLOYMENT: &str = "deployment-state";

/// Which deployment: a release (project and version) deployed to one environment, for one
/// tenant or none, on the instance of one zone.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeploymentKey {
    /// Project name (at most [`crate::MAX_NAME_BYTES`]).
    pub project: String,
    /// Release version (at most [`crate::MAX_NAME_BYTES`]).
    pub version: String,
    /// The zone whose instance deploys it.
    pub target: ZoneId,
    /// The environment's name on that instance (at most [`crate::MAX_NAME_BYTES`]).
    pub environment: String,
    /// The tenant's name, or `None` for an untenanted deployment (not empty, at most
    /// [`crate::MAX_NAME_BYTES`]).
    pub tenant: Option<String>,
}

impl DeploymentKey {
    /// The promotion this deployment belongs to: the release going to the same zone.
    pub fn promotion(&self) -> PromotionKey {
        PromotionKey {
            project: self.project.clone(),
            version: self.version.clone(),
            target: self.target.clone(),
        }
    }
}

impl fmt::Display for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} to {}/{}",
            self.project, self.version, self.target, self.environment
        )?;
        if let Some(tenant) = &self.tenant {
            write!(f, " for tenant {tenant}")?;
        }
        Ok(())
    }
}

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeploymentState {
    /// Asked for; not started on the instance yet.
    Requested,
    /// Its task is running.
    Deploying,
    /// Its task succeeded.
    Success,
    /// Its task failed.
    Failed,
    /// Its task was cancelled.
    Canceled,
    /// Its task ran past the time allowed and was given up on.
    TimedOut,
    /// Its task waits for a person (a manual intervention, a guided failure).
    Waiting,
}

impl DeploymentState {
    /// Every state, in the order a deployment usually goes through them.
    pub const ALL: [Self; 7] = [
        Self::Requested,
        Self::Deploying,
        Self::Waiting,
        Self::Success,
        Self::Failed,
        Self::Canceled,
        Self::TimedOut,
    ];

    /// The state's name as stored: `requested`, `deploying`, `success`, `failed`, `canceled`,
    /// `timed-out`, `waiting`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Deploying => "deploying",
            Self::Success => "success",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::TimedOut => "timed-out",
            Self::Waiting => "waiting",
        }
    }

    /// The state named `text` (as [`DeploymentState::as_str`] writes it).
    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Whether the deployment is over (succeeded, failed, cancelled or timed out): nothing
    /// more will happen to it unless it is requested again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Success | Self::Failed | Self::Canceled | Self::TimedOut
        )
    }
}

impl From<bundle_format::manifest::DeploymentState> for DeploymentState {
    /// How a result bundle's state (bundle spec 5.4) is kept.
    fn from(state: bundle_format::manifest::DeploymentState) -> Self {
        use bundle_format::manifest::DeploymentState as Ended;
        match state {
            Ended::Success => Self::Success,
            Ended::Failed => Self::Failed,
            Ended::Canceled => Self::Canceled,
            Ended::TimedOut => Self::TimedOut,
            Ended::Waiting => Self::Waiting,
        }
    }
}

impl fmt::Display for DeploymentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deployment as the ledger holds it.
///
/// When it is written ([`Ledger::set_deployment`] and the `record_result_*` methods), the
/// ledger sets `updated_at` to now, and `requested_at` to now for a [`DeploymentState::Requested`]
/// record (a new request) or when the ledger has no row for the key yet; otherwise it keeps the
/// stored `requested_at`. The two times given in the record are not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRecord {
    /// Which deployment.
    pub key: DeploymentKey,
    /// Where it stands.
    pub state: DeploymentState,
    /// The release bundle the deployment answers.
    pub release_bundle: Digest,
    /// The deployment on the secure instance ("Deployments-N"), once created (at most
    /// [`crate::MAX_NAME_BYTES`]).
    pub deployment_id: Option<String>,
    /// Its task ("ServerTasks-N"), once created (at most [`crate::MAX_NAME_BYTES`]).
    pub task_id: Option<String>,
    /// When its task started.
    pub started: Option<OffsetDateTime>,
    /// When its task ended.
    pub completed: Option<OffsetDateTime>,
    /// What it waits for, in a sentence such as "manual intervention on step 'Finance
    /// sign-off'"; cut to [`crate::MAX_REASON_BYTES`] like a refusal reason.
    pub waiting: Option<String>,
    /// The result bundle that reported it, once made (secure side) or accepted (development
    /// side).
    pub result_bundle: Option<Digest>,
    /// When it was last requested (see above).
    pub requested_at: OffsetDateTime,
    /// When it last changed (see above).
    pub updated_at: OffsetDateTime,
}

/// The columns [`read_deployment`] reads.
const COLUMNS: &str = "project, version, target_zone, environment, tenant, state, release_bundle,
    deployment_id, task_id, started, completed, waiting, result_bundle, requested_at, updated_at";

impl Ledger {
    /// The deployment `key`, or `None` if the ledger has never heard of it.
    pub fn deployment(&self, key: &DeploymentKey) -> Result<Option<DeploymentRecord>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM deployments WHERE {WHERE_KEY}");
        let rows = self.db.query(
            &self.conn,
            "deployments",
            &sql,
            key_params(key),
            read_deployment,
        )?;
        Ok(rows.into_iter().next())
    }

    /// Every deployment, or those of `project`, ordered by project, version, target zone,
    /// environment and tenant (untenanted first).
    pub fn deployments(&self, project: Option<&str>) -> Result<Vec<DeploymentRecord>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM deployments WHERE ?1 IS NULL OR project = ?1
             ORDER BY project, version, target_zone, environment, tenant"
        );
        self.db
            .query(&self.conn, "deployments", &sql, [project], read_deployment)
    }

    /// Sets the deployment `record.key` to `record` (see [`DeploymentRecord`] for its two
    /// times), and appends a `deployment-state` audit entry naming the state before, in one
    /// transaction. Any state may follow any other, as for promotions.
    pub fn set_deployment(&mut self, record: &DeploymentRecord) -> Result<AuditEntry, LedgerError> {
        let db = self.db.clone();
        let action = "set a deployment's state";
        let tx = self.write(action)?;
        let entry = set_in(&tx, &db, record)?;
        tx.commit().map_err(db.err(action))?;
        Ok(entry)
    }

    /// Records, on the secure side, a result bundle this side made, in one transaction: all
    /// that [`Ledger::record_exported`] does for it (with the same
    /// [`LedgerError::ChannelMoved`] and [`LedgerError::SequenceNotNewer`] refusals), the
    /// deployment it reports set to `deployment` (with its `deployment-state` entry), and, if
    /// given, the promotion set to that state with the result bundle as the bundle that moved
    /// it there. All of it or nothing; returns the `bundle-exported` entry.
    pub fn record_result_exported(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
        deployment: &DeploymentRecord,
        promotion: Option<(&PromotionKey, PromotionState)>,
    ) -> Result<AuditEntry, LedgerError> {
        self.record_result(record, previous, Advance::Exported, deployment, promotion)
    }

    /// Records, on the development side, an accepted result bundle, in one transaction: all
    /// that [`Ledger::record_accepted`] does for it (with the same
    /// [`LedgerError::AlreadyAccepted`], [`LedgerError::ChannelMoved`] and
    /// [`LedgerError::SequenceNotNewer`] refusals), the deployment it reports set to
    /// `deployment`, and `promotion` set to [`PromotionState::ResultReturned`] with the result
    /// bundle. All of it or nothing; returns the `bundle-accepted` entry.
    pub fn record_result_accepted(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
        deployment: &DeploymentRecord,
        promotion: &PromotionKey,
    ) -> Result<AuditEntry, LedgerError> {
        let promotion = Some((promotion, PromotionState::ResultReturned));
        self.record_result(record, previous, Advance::Accepted, deployment, promotion)
    }

    fn record_result(
        &mut self,
        record: &BundleRecord,
        previous: Option<&ChannelState>,
        how: Advance,
        deployment: &DeploymentRecord,
        promotion: Option<(&PromotionKey, PromotionState)>,
    ) -> Result<AuditEntry, LedgerError> {
        self.advance(record, previous, how, |tx, db| {
            set_in(tx, db, deployment)?;
            if let Some((key, state)) = promotion {
                promotions::set_in(tx, db, key, state, record.digest)?;
            }
            Ok(())
        })
    }
}

/// The condition that picks the row of one key, whose values [`key_params`] gives.
const WHERE_KEY: &str =
    "project = ?1 AND version = ?2 AND target_zone = ?3 AND environment = ?4 AND tenant = ?5";

/// The values of [`WHERE_KEY`], the tenant as stored: `''` for none, because it is part of
/// the primary key.
fn key_params(key: &DeploymentKey) -> (&str, &str, &str, &str, &str) {
    (
        &key.project,
        &key.version,
        key.target.as_str(),
        &key.environment,
        key.tenant.as_deref().unwrap_or_default(),
    )
}

/// Checks the key's names: each within [`crate::MAX_NAME_BYTES`], and a tenant that is not
/// empty (an empty one would read back as untenanted).
fn check_key(key: &DeploymentKey) -> Result<(), LedgerError> {
    check_name("the project name", &key.project)?;
    check_name("the release version", &key.version)?;
    check_name("the environment name", &key.environment)?;
    if let Some(tenant) = &key.tenant {
        if tenant.is_empty() {
            return Err(LedgerError::ValueInvalid {
                what: "the tenant name",
                reason: "it is empty; an untenanted deployment has no tenant (None)".to_owned(),
            });
        }
        check_name("the tenant name", tenant)?;
    }
    Ok(())
}

/// A time as stored: RFC 3339 in UTC.
fn time_text(what: &'static str, time: OffsetDateTime) -> Result<String, LedgerError> {
    time.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|_| LedgerError::ValueInvalid {
            what,
            reason: format!("{time} is outside the years 0000 to 9999 that RFC 3339 can write"),
        })
}

/// Sets the deployment `record.key` inside `tx`, with its audit entry. The caller commits.
pub(crate) fn set_in(
    tx: &Transaction<'_>,
    db: &Db,
    record: &DeploymentRecord,
) -> Result<AuditEntry, LedgerError> {
    let key = &record.key;
    check_key(key)?;
    for (what, value) in [
        ("the deployment id", &record.deployment_id),
        ("the task id", &record.task_id),
    ] {
        if let Some(value) = value {
            check_name(what, value)?;
        }
    }
    let started = record
        .started
        .map(|t| time_text("the deployment's start time", t))
        .transpose()?;
    let completed = record
        .completed
        .map(|t| time_text("the deployment's end time", t))
        .transpose()?;
    let waiting = record.waiting.as_deref().map(bound_reason);
    let (project, version, target_zone, environment, tenant) = key_params(key);
    let action = "set a deployment's state";
    let before: Option<(String, String)> = tx
        .query_row(
            &format!("SELECT state, requested_at FROM deployments WHERE {WHERE_KEY}"),
            key_params(key),
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db.err(action))?;
    let now = now_text();
    let (previous_state, requested_at) = match before {
        Some((state, requested_at)) if record.state != DeploymentState::Requested => {
            (Some(state), requested_at)
        }
        Some((state, _)) => (Some(state), now.clone()),
        None => (None, now.clone()),
    };
    let release_bundle = record.release_bundle.to_hex();
    let result_bundle = record.result_bundle.map(|d| d.to_hex());
    tx.execute(
        &format!(
            "INSERT INTO deployments ({COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (project, version, target_zone, environment, tenant) DO UPDATE SET
             state = excluded.state, release_bundle = excluded.release_bundle,
             deployment_id = excluded.deployment_id, task_id = excluded.task_id,
             started = excluded.started, completed = excluded.completed,
             waiting = excluded.waiting, result_bundle = excluded.result_bundle,
             requested_at = excluded.requested_at, updated_at = excluded.updated_at"
        ),
        params![
            project,
            version,
            target_zone,
            environment,
            tenant,
            record.state.as_str(),
            release_bundle,
            record.deployment_id,
            record.task_id,
            started,
            completed,
            waiting,
            result_bundle,
            requested_at,
            now,
        ],
    )
    .map_err(db.err(action))?;
    let detail = json!({
        "project": key.project,
        "version": key.version,
        "target_zone": key.target.as_str(),
        "environment": key.environment,
        "tenant": key.tenant,
        "state": record.state.as_str(),
        "previous_state": previous_state,
        "deployment_id": record.deployment_id,
        "task_id": record.task_id,
        "started": started,
        "completed": completed,
        "waiting": waiting,
        "release_bundle": release_bundle,
        "result_bundle": result_bundle,
    });
    audit::append(tx, db, EVENT_DEPLOYMENT, &detail)
}

fn read_deployment(row: &Stored<'_, '_>) -> Result<DeploymentRecord, LedgerError> {
    let tenant: String = row.get("tenant")?;
    Ok(DeploymentRecord {
        key: DeploymentKey {
            project: row.get("project")?,
            version: row.get("version")?,
            target: row.parse("target_zone", |text| ZoneId::new(text).ok())?,
            environment: row.get("environment")?,
            tenant: Some(tenant).filter(|tenant| !tenant.is_empty()),
        },
        state: row.parse("state", DeploymentState::from_name)?,
        release_bundle: row.parse("release_bundle", parse_digest)?,
        deployment_id: row.get("deployment_id")?,
        task_id: row.get("task_id")?,
        started: row.parse_optional("started", parse_time)?,
        completed: row.parse_optional("completed", parse_time)?,
        waiting: row.get("waiting")?,
        result_bundle: row.parse_optional("result_bundle", parse_digest)?,
        requested_at: row.parse("requested_at", parse_time)?,
        updated_at: row.parse("updated_at", parse_time)?,
    })
}
