//! The audit trail: append-only entries, each carrying the hash of the one before it, and the
//! walk that verifies them.
//!
//! # The entry hash
//!
//! `hash` is the lowercase hex of SHA-256 over this encoding, every integer a big-endian
//! `u64` and every text its UTF-8 bytes exactly as stored (nothing is re-serialised):
//!
//! ```text
//!  +--------+----------------------------+
//!  | u64 26 | "zonebridge-ledger-audit-v1"|  domain tag: these hashes mean nothing elsewhere
//!  +--------+----------------------------+
//!  | u64 id |                               entry id: 1, 2, 3, ...
//!  +--------+-----+
//!  | u64 len | at |                         RFC 3339 UTC, "2026-11-03T12:00:00Z"
//!  +---------+----+---+
//!  | u64 len | event  |                     "bundle-accepted"
//!  +---------+--------+
//!  | u64 len | detail |                     JSON text, at most 64 KiB
//!  +---------+--------+----+
//!  | u64 len | prev_hash   |                64 hex: the hash of entry id-1; 64 zeros for entry 1
//!  +---------+-------------+
//! ```
//!
//! Every field carries its length, so no two different entries encode to the same bytes.
//! Because the id is hashed, moving an entry to another id breaks its hash; because each entry
//! names its predecessor's hash, deleting or changing an earlier entry breaks the link of the
//! one after it (unless every later hash is recomputed, which [`Ledger::verify`] cannot tell
//! from a legitimate chain: keep the head hash elsewhere to notice that).

use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension as _, Row, Transaction};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::db::Db;
use crate::{Ledger, LedgerError, MAX_DETAIL_BYTES, now_text};

/// The previous hash of the first entry: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The domain tag that starts every hashed encoding.
pub const HASH_DOMAIN: &str = "zonebridge-ledger-audit-v1";

/// The longest audit event name.
pub const MAX_EVENT_LEN: usize = 64;

/// One audit entry, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the trail: 1 for the first entry, then one more each time.
    pub id: u64,
    /// When it was written (RFC 3339 UTC).
    pub at: String,
    /// What happened, such as `bundle-accepted`.
    pub event: String,
    /// The details, as JSON text.
    pub detail: String,
    /// The hash of the entry before it ([`ZERO_HASH`] for the first).
    pub prev_hash: String,
    /// This entry's hash (see [`entry_hash`]).
    pub hash: String,
}

impl AuditEntry {
    /// The details, parsed.
    pub fn detail_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(&self.detail)
    }
}

/// What [`Ledger::verify`] found: an intact chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries the chain has.
    pub entries: u64,
    /// The hash of the last entry (`None` for an empty trail). Recording it elsewhere lets a
    /// later check notice entries removed from the end.
    pub head: Option<String>,
}

/// The hash of an entry with these fields: lowercase hex of SHA-256 over the length-prefixed
/// encoding drawn in the [module documentation](self).
pub fn entry_hash(id: u64, at: &str, event: &str, detail: &str, prev_hash: &str) -> String {
    fn field(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    let mut hasher = Sha256::new();
    field(&mut hasher, HASH_DOMAIN.as_bytes());
    hasher.update(id.to_be_bytes());
    for text in [at, event, detail, prev_hash] {
        field(&mut hasher, text.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Checks an event name: 1 to [`MAX_EVENT_LEN`] characters of `a-z`, `0-9`, `.` and `-`,
/// starting with a letter.
pub fn check_event(event: &str) -> Result<(), LedgerError> {
    let valid = !event.is_empty()
        && event.len() <= MAX_EVENT_LEN
        && event.starts_with(|c: char| c.is_ascii_lowercase())
        && event
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if valid {
        return Ok(());
    }
    Err(LedgerError::EventNameInvalid {
        event: event.chars().take(MAX_EVENT_LEN + 8).collect(),
    })
}

/// Appends an entry inside `tx`, chained to the current last one. The caller commits.
pub(crate) fn append(
    tx: &Transaction<'_>,
    db: &Db,
    event: &str,
    detail: &Value,
) -> Result<AuditEntry, LedgerError> {
    check_event(event)?;
    let detail = detail.to_string();
    if detail.len() > MAX_DETAIL_BYTES {
        return Err(LedgerError::LimitExceeded {
            what: "the audit detail",
            size: detail.len() as u64,
            limit: MAX_DETAIL_BYTES as u64,
        });
    }
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(db.err("read the last audit entry"))?;
    let (id, prev_hash) = match last {
        None => (1, ZERO_HASH.to_owned()),
        Some((last_id, hash)) => {
            let next = u64::try_from(last_id)
                .ok()
                .and_then(|id| id.checked_add(1))
                .filter(|&id| i64::try_from(id).is_ok())
                .ok_or_else(|| db.row_invalid("audit", format!("entry id {last_id}")))?;
            (next, hash)
        }
    };
    let at = now_text();
    let hash = entry_hash(id, &at, event, &detail, &prev_hash);
    tx.execute(
        "INSERT INTO audit (id, at, event, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![id.cast_signed(), at, event, detail, prev_hash, hash],
    )
    .map_err(db.err("append an audit entry"))?;
    Ok(AuditEntry {
        id,
        at,
        event: event.to_owned(),
        detail,
        prev_hash,
        hash,
    })
}

/// A column that must be text; anything else (possible only in a file changed by hand) is
/// described as the reason of a broken chain.
fn text(
    row: &Row<'_>,
    index: usize,
    name: &str,
) -> Result<Result<String, String>, rusqlite::Error> {
    Ok(match row.get_ref(index)? {
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.to_owned()),
            Err(_) => Err(format!("its {name} is not UTF-8 text")),
        },
        other => Err(format!("its {name} is not text but {}", other.data_type())),
    })
}

/// One stored row, or why it cannot be an entry at all.
fn read_entry(row: &Row<'_>) -> Result<(i64, Result<AuditEntry, String>), rusqlite::Error> {
    let raw_id: i64 = row.get(0)?;
    let mut fields = Vec::with_capacity(5);
    for (index, name) in [
        (1, "time"),
        (2, "event"),
        (3, "detail"),
        (4, "previous hash"),
        (5, "hash"),
    ] {
        match text(row, index, name)? {
            Ok(value) => fields.push(value),
            Err(reason) => return Ok((raw_id, Err(reason))),
        }
    }
    let Ok(id) = u64::try_from(raw_id) else {
        return Ok((raw_id, Err("its id is negative".to_owned())));
    };
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or_default();
    let entry = AuditEntry {
        id,
        at: next(),
        event: next(),
        detail: next(),
        prev_hash: next(),
        hash: next(),
    };
    Ok((raw_id, Ok(entry)))
}

impl Ledger {
    /// Appends an audit entry `event` (see [`check_event`]) with `detail` (JSON, at most
    /// [`MAX_DETAIL_BYTES`] as text), in its own transaction.
    ///
    /// The events that carry a table's state (`bundle-accepted`, `promotion-state`, ...) are
    /// written only with their rows, by the methods that change those tables, so that
    /// `ledger verify` can compare the tables with the trail; here they are refused.
    pub fn append_audit(&mut self, event: &str, detail: &Value) -> Result<AuditEntry, LedgerError> {
        if crate::STATE_EVENTS.contains(&event) {
            return Err(LedgerError::ValueInvalid {
                what: "the audit event",
                reason: format!("{event} is written only with the table row it describes"),
            });
        }
        let db = self.db.clone();
        let tx = self.write("append an audit entry")?;
        let entry = append(&tx, &db, event, detail)?;
        tx.commit().map_err(db.err("append an audit entry"))?;
        Ok(entry)
    }

    /// Every audit entry, oldest first, as stored (not verified: see [`Ledger::verify`]).
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, LedgerError> {
        let action = "read the audit trail";
        let mut stmt = self
            .conn
            .prepare("SELECT id, at, event, detail, prev_hash, hash FROM audit ORDER BY id")
            .map_err(self.db.err(action))?;
        let mut rows = stmt.query([]).map_err(self.db.err(action))?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(self.db.err(action))? {
            let (id, entry) = read_entry(row).map_err(self.db.err(action))?;
            entries.push(entry.map_err(|reason| {
                self.db
                    .row_invalid("audit", format!("entry {id}: {reason}"))
            })?);
        }
        Ok(entries)
    }

    /// Walks the audit trail from the first entry and checks, for each entry, that its hash
    /// matches its contents, that it follows the entry before it without a gap, and that it
    /// names that entry's hash (64 zeros for the first). The first entry that fails is named in
    /// [`LedgerError::AuditChainBroken`]. Then compares every table that enforces replay
    /// protection with the state the trail carries ([`LedgerError::StateMismatch`]).
    pub fn verify(&self) -> Result<VerifyReport, LedgerError> {
        let action = "read the audit trail";
        let mut stmt = self
            .conn
            .prepare("SELECT id, at, event, detail, prev_hash, hash FROM audit ORDER BY id")
            .map_err(self.db.err(action))?;
        let mut rows = stmt.query([]).map_err(self.db.err(action))?;
        let mut count: u64 = 0;
        let mut previous: Option<(u64, String)> = None;
        while let Some(row) = rows.next().map_err(self.db.err(action))? {
            let (raw_id, entry) = read_entry(row).map_err(self.db.err(action))?;
            let broken = |reason: String| LedgerError::AuditChainBroken {
                entry: raw_id.unsigned_abs(),
                reason,
            };
            let entry = entry.map_err(broken)?;
            check_link(&entry, previous.as_ref()).map_err(broken)?;
            count = count.saturating_add(1);
            previous = Some((entry.id, entry.hash));
        }
        self.check_state(&self.audit_entries()?)?;
        Ok(VerifyReport {
            entries: count,
            head: previous.map(|(_, hash)| hash),
        })
    }
}

/// Checks one entry against its own contents and against the entry before it (`None` for the
/// first); the error is the reason, for [`LedgerError::AuditChainBroken`].
fn check_link(entry: &AuditEntry, previous: Option<&(u64, String)>) -> Result<(), String> {
    let computed = entry_hash(
        entry.id,
        &entry.at,
        &entry.event,
        &entry.detail,
        &entry.prev_hash,
    );
    if computed != entry.hash {
        return Err(
            "its hash does not match its contents: the entry was changed or moved after it was written"
                .to_owned(),
        );
    }
    let (expected_id, expected_prev) = match previous {
        None => (1, ZERO_HASH),
        Some((id, hash)) => (id.saturating_add(1), hash.as_str()),
    };
    if entry.id != expected_id {
        let last_missing = entry.id.saturating_sub(1);
        return Err(if last_missing == expected_id {
            format!("entry {expected_id} before it is missing (deleted)")
        } else {
            format!("entries {expected_id} to {last_missing} before it are missing (deleted)")
        });
    }
    if entry.prev_hash != expected_prev {
        return Err(match previous {
            None => "it is the first entry, but its previous hash is not 64 zeros".to_owned(),
            Some((id, _)) => format!(
                "its previous hash does not match the hash of entry {id}: an earlier entry was changed"
            ),
        });
    }
    Ok(())
}
