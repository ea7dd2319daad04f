//! The tables checked against the audit trail: every change to a table that enforces replay
//! protection is written in the transaction of an audit entry that carries the new state, so
//! replaying the (verified) chain gives what each table must hold. [`check_state`] compares.
//!
//! ```text
//!  audit event                 carries                          table it must match
//!  bundle-accepted/-exported   digest, id, channel, sequence,   bundles (one row each)
//!                              project, version                 channels (last one per channel)
//!  bundle-refused              the same + reason                bundles (one row each)
//!  promotion-state             key, state, bundle               promotions (latest per key)
//!  deployment-state            key, state, ids, times, bundles  deployments (latest per key)
//!  channel-skip                channel, sequence, reason, who   channel_skips (one row each)
//!  ledger-head-received        zone, entries, head, bundle      peer_heads (one row each)
//! ```
//!
//! Times kept in the tables (`at`, `updated_at`, `requested_at`) are not compared: a ledger of
//! schema version 2 wrote them apart from the entry's time. The entry's own time is hashed.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rusqlite::types::ValueRef;
use serde_json::{Map, Value, json};

use crate::audit::AuditEntry;
use crate::bundles::{EVENT_ACCEPTED, EVENT_EXPORTED, EVENT_REFUSED};
use crate::deployments::EVENT_DEPLOYMENT;
use crate::promotions::EVENT_PROMOTION;
use crate::skips::EVENT_SKIP;
use crate::{Ledger, LedgerError};

/// One row as the audit trail says it must be, or as the table holds it.
#[derive(Debug, Clone)]
struct Row {
    /// Where it comes from: `audit entry 7` or `row 3`.
    origin: String,
    /// The entry id or row id, to report the first of several.
    order: i64,
    /// What names it to a person (`bundle 41 (accepted) on dev->pci/release, digest ...`).
    label: String,
    /// The compared columns.
    values: Map<String, Value>,
}

/// A table's rows as the chain says they must be, in chain order.
#[derive(Debug, Default)]
struct Expected {
    bundles: Vec<Row>,
    channels: BTreeMap<String, Row>,
    promotions: BTreeMap<String, Row>,
    deployments: BTreeMap<String, Row>,
    skips: Vec<Row>,
    heads: Vec<Row>,
}

/// A row as read: its row id, and column name -> value.
type RawRow = (i64, Map<String, Value>);

/// The columns compared, per table.
const BUNDLE_KEY_COLUMNS: [&str; 3] = ["digest", "channel", "sequence"];
const BUNDLE_COLUMNS: [&str; 4] = ["bundle_id", "project", "version", "reason"];
const PROMOTION_COLUMNS: [&str; 2] = ["state", "bundle"];
const DEPLOYMENT_COLUMNS: [&str; 8] = [
    "state",
    "release_bundle",
    "deployment_id",
    "task_id",
    "started",
    "completed",
    "waiting",
    "result_bundle",
];
const SKIP_COLUMNS: [&str; 4] = ["channel", "sequence", "reason", "operator"];
const HEAD_COLUMNS: [&str; 4] = ["zone", "entries", "head", "bundle"];

fn pick(detail: &Value, columns: &[&str]) -> Map<String, Value> {
    columns
        .iter()
        .map(|column| {
            let value = detail.get(*column).cloned().unwrap_or(Value::Null);
            ((*column).to_owned(), value)
        })
        .collect()
}

fn text(values: &Map<String, Value>, column: &str) -> String {
    match values.get(column) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => "none".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn bundle_label(values: &Map<String, Value>) -> String {
    format!(
        "bundle {} ({}) on {}, digest {}",
        text(values, "sequence"),
        text(values, "verdict"),
        text(values, "channel"),
        text(values, "digest")
    )
}

fn entry_row(entry: &AuditEntry, label: String, values: Map<String, Value>) -> Row {
    Row {
        origin: format!("audit entry {}", entry.id),
        order: i64::try_from(entry.id).unwrap_or(i64::MAX),
        label,
        values,
    }
}

/// Replays the chain: what each table must hold.
fn expected(entries: &[AuditEntry]) -> Result<Expected, LedgerError> {
    let mut state = Expected::default();
    for entry in entries {
        let event = entry.event.as_str();
        if !crate::STATE_EVENTS.contains(&event) {
            continue;
        }
        let detail = entry
            .detail_json()
            .map_err(|_| LedgerError::StateMismatch {
                table: "audit",
                detail: format!("audit entry {} ({event}) does not hold JSON", entry.id),
            })?;
        match event {
            EVENT_ACCEPTED | EVENT_EXPORTED | EVENT_REFUSED => {
                let mut values = pick(&detail, &BUNDLE_KEY_COLUMNS);
                // Columns an entry does not carry (older writers) are not compared.
                for column in BUNDLE_COLUMNS {
                    if let Some(value) = detail.get(column) {
                        values.insert(column.to_owned(), value.clone());
                    }
                }
                let verdict = match event {
                    EVENT_ACCEPTED => "accepted",
                    EVENT_EXPORTED => "exported",
                    _ => "refused",
                };
                values.insert("verdict".to_owned(), json!(verdict));
                if verdict != "refused" {
                    values.insert("reason".to_owned(), Value::Null);
                    let channel = text(&values, "channel");
                    let position = pick(&detail, &["sequence", "digest"]);
                    let label = format!("channel {channel}");
                    state
                        .channels
                        .insert(channel.clone(), entry_row(entry, label, position));
                }
                state
                    .bundles
                    .push(entry_row(entry, bundle_label(&values), values));
            }
            EVENT_PROMOTION => {
                let key = pick(&detail, &["project", "version", "target_zone"]);
                let label = format!(
                    "promotion of {} {} to {}",
                    text(&key, "project"),
                    text(&key, "version"),
                    text(&key, "target_zone")
                );
                let key = canon(&key);
                let values = pick(&detail, &PROMOTION_COLUMNS);
                state
                    .promotions
                    .insert(key.clone(), entry_row(entry, label, values));
            }
            EVENT_DEPLOYMENT => {
                let mut key = pick(
                    &detail,
                    &["project", "version", "target_zone", "environment", "tenant"],
                );
                // An untenanted deployment is stored with tenant '' (part of the primary key).
                if key.get("tenant").is_some_and(Value::is_null) {
                    key.insert("tenant".to_owned(), json!(""));
                }
                let label = format!(
                    "deployment of {} {} to {}/{} (tenant {})",
                    text(&key, "project"),
                    text(&key, "version"),
                    text(&key, "target_zone"),
                    text(&key, "environment"),
                    text(&key, "tenant")
                );
                let key = canon(&key);
                let values = pick(&detail, &DEPLOYMENT_COLUMNS);
                state
                    .deployments
                    .insert(key.clone(), entry_row(entry, label, values));
            }
            EVENT_SKIP => {
                let values = pick(&detail, &SKIP_COLUMNS);
                let label = format!(
                    "skip of bundle {} on {}",
                    text(&values, "sequence"),
                    text(&values, "channel")
                );
                state.skips.push(entry_row(entry, label, values));
            }
            _ => {
                let values = pick(&detail, &HEAD_COLUMNS);
                let label = format!(
                    "head {}:{} of zone {} (result bundle {})",
                    text(&values, "entries"),
                    text(&values, "head"),
                    text(&values, "zone"),
                    text(&values, "bundle")
                );
                state.heads.push(entry_row(entry, label, values));
            }
        }
    }
    Ok(state)
}

/// A row's values as one text, keys sorted: equal rows give equal texts.
fn canon(values: &Map<String, Value>) -> String {
    let sorted: BTreeMap<&String, &Value> = values.iter().collect();
    serde_json::to_string(&sorted).unwrap_or_default()
}

fn json_of(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(n) => json!(n),
        ValueRef::Real(x) => json!(x),
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => {
            json!(String::from_utf8_lossy(bytes))
        }
    }
}

impl Ledger {
    /// Reads `sql`'s rows as column name -> JSON value, with the row id first as `rowid`.
    fn raw_rows(&self, sql: &str) -> Result<Vec<RawRow>, LedgerError> {
        let action = "read the ledger";
        let mut stmt = self.conn.prepare(sql).map_err(self.db.err(action))?;
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let mut rows = stmt.query([]).map_err(self.db.err(action))?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(self.db.err(action))? {
            let mut values = Map::new();
            for (index, name) in names.iter().enumerate() {
                let value = row.get_ref(index).map_err(self.db.err(action))?;
                values.insert(name.clone(), json_of(value));
            }
            let rowid = match values.remove("rowid") {
                Some(Value::Number(n)) => n.as_i64().unwrap_or_default(),
                _ => 0,
            };
            found.push((rowid, values));
        }
        Ok(found)
    }

    /// Compares every table that enforces replay protection with the state the audit trail
    /// (`entries`, already verified) carries; the first disagreement is a
    /// [`LedgerError::StateMismatch`] naming the table, the row and both values.
    pub(crate) fn check_state(&self, entries: &[AuditEntry]) -> Result<(), LedgerError> {
        let expected = expected(entries)?;

        let rows = self.raw_rows(
            "SELECT id AS rowid, digest, bundle_id, channel, sequence, project, version, verdict, reason, kind FROM bundles ORDER BY id",
        )?;
        let mut actual = Vec::new();
        for (rowid, mut values) in rows {
            let kind = values.remove("kind");
            let channel = text(&values, "channel");
            let channel_kind = channel.rsplit('/').next().unwrap_or_default().to_owned();
            if kind != Some(json!(channel_kind)) {
                return Err(LedgerError::StateMismatch {
                    table: "bundles",
                    detail: format!(
                        "row {rowid} ({}) has kind {}, but its channel is a {channel_kind} channel",
                        bundle_label(&values),
                        kind.unwrap_or(Value::Null)
                    ),
                });
            }
            actual.push(Row {
                origin: format!("row {rowid}"),
                order: rowid,
                label: bundle_label(&values),
                values,
            });
        }
        compare_lists("bundles", &expected.bundles, actual, "digest")?;

        let rows = self.raw_rows("SELECT rowid, channel, sequence, digest FROM channels")?;
        let actual = rows
            .into_iter()
            .map(|(rowid, mut values)| {
                let channel = text(&values, "channel");
                values.remove("channel");
                (
                    channel.clone(),
                    Row {
                        origin: format!("row {rowid}"),
                        order: rowid,
                        label: format!("channel {channel}"),
                        values,
                    },
                )
            })
            .collect();
        compare_keyed("channels", &expected.channels, actual)?;

        let rows = self.raw_rows(
            "SELECT rowid, project, version, target_zone, state, bundle FROM promotions",
        )?;
        let actual = keyed(rows, &["project", "version", "target_zone"], "promotion");
        compare_keyed("promotions", &expected.promotions, actual)?;

        let rows = self.raw_rows(
            "SELECT rowid, project, version, target_zone, environment, tenant, state, release_bundle,
             deployment_id, task_id, started, completed, waiting, result_bundle FROM deployments",
        )?;
        let actual = keyed(
            rows,
            &["project", "version", "target_zone", "environment", "tenant"],
            "deployment",
        );
        compare_keyed("deployments", &expected.deployments, actual)?;

        let rows = self.raw_rows(
            "SELECT rowid, channel, sequence, reason, operator FROM channel_skips ORDER BY at, rowid",
        )?;
        let actual = listed(rows, "skip of bundle", "sequence", "channel");
        compare_lists("channel_skips", &expected.skips, actual, "sequence")?;

        let rows = self.raw_rows(
            "SELECT id AS rowid, zone, entries, head, bundle FROM peer_heads ORDER BY id",
        )?;
        let actual = listed(rows, "head of", "zone", "bundle");
        compare_lists("peer_heads", &expected.heads, actual, "bundle")?;
        Ok(())
    }
}

/// Rows of a keyed table, by their key columns (as [`expected`] writes them).
fn keyed(rows: Vec<RawRow>, key_columns: &[&str], what: &str) -> BTreeMap<String, Row> {
    rows.into_iter()
        .map(|(rowid, mut values)| {
            let mut key = Map::new();
            for column in key_columns {
                key.insert(
                    (*column).to_owned(),
                    values.remove(*column).unwrap_or(Value::Null),
                );
            }
            let label = format!(
                "{what} of {}",
                key.values()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(" / ")
            );
            let key = canon(&key);
            (
                key.clone(),
                Row {
                    origin: format!("row {rowid}"),
                    order: rowid,
                    label,
                    values,
                },
            )
        })
        .collect()
}

/// Rows of a list table (each row is its own key).
fn listed(rows: Vec<RawRow>, what: &str, first: &str, second: &str) -> Vec<Row> {
    rows.into_iter()
        .map(|(rowid, values)| Row {
            origin: format!("row {rowid}"),
            order: rowid,
            label: format!("{what} {} {}", text(&values, first), text(&values, second)),
            values,
        })
        .collect()
}

/// What differs between two rows: `state "imported" (audit: "deploying")`.
fn differences(found: &Map<String, Value>, expected: &Map<String, Value>) -> String {
    expected
        .iter()
        .filter(|(column, value)| found.get(*column).unwrap_or(&Value::Null) != *value)
        .map(|(column, value)| {
            format!(
                "{column} {} (audit trail: {value})",
                found.get(column).unwrap_or(&Value::Null)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Matches rows of a list table (bundles, skips, heads) one to one with the entries that wrote
/// them; `identity` is the column that names the same row when other columns were changed.
fn compare_lists(
    table: &'static str,
    expected: &[Row],
    actual: Vec<Row>,
    identity: &str,
) -> Result<(), LedgerError> {
    // Rows grouped by their identity column; an entry matches the first unmatched row of its
    // group that holds every value the entry carries (an entry of an older writer may carry
    // fewer columns: those it lacks are not compared).
    let mut unmatched: HashMap<String, VecDeque<Row>> = HashMap::new();
    for row in actual {
        let id = text(&row.values, identity);
        unmatched.entry(id).or_default().push_back(row);
    }
    let holds = |row: &Row, want: &Row| {
        want.values
            .iter()
            .all(|(column, value)| row.values.get(column).unwrap_or(&Value::Null) == value)
    };
    let mut missing = Vec::new();
    for want in expected {
        let group = unmatched.get_mut(&text(&want.values, identity));
        let found = group.and_then(|rows| {
            let at = rows.iter().position(|row| holds(row, want))?;
            rows.remove(at)
        });
        if found.is_none() {
            missing.push(want);
        }
    }
    let mut extra: Vec<Row> = unmatched.into_values().flatten().collect();
    extra.sort_by_key(|row| row.order);
    let mismatch = |detail: String| Err(LedgerError::StateMismatch { table, detail });
    if let Some(want) = missing.first() {
        let same = extra
            .iter()
            .find(|row| row.values.get(identity) == want.values.get(identity));
        return match same {
            Some(found) => mismatch(format!(
                "{} ({}) was changed: {}; it was written with {}",
                found.origin,
                found.label,
                differences(&found.values, &want.values),
                want.origin
            )),
            None => mismatch(format!(
                "{} recorded {}, but the table has no such row: it was deleted or changed by hand",
                want.origin, want.label
            )),
        };
    }
    if let Some(found) = extra.first() {
        return mismatch(format!(
            "{} ({}) has no audit entry: it was added by hand",
            found.origin, found.label
        ));
    }
    Ok(())
}

/// Compares a keyed table (channels, promotions, deployments) with the latest state the chain
/// carries for each key.
fn compare_keyed(
    table: &'static str,
    expected: &BTreeMap<String, Row>,
    mut actual: BTreeMap<String, Row>,
) -> Result<(), LedgerError> {
    let mismatch = |detail: String| Err(LedgerError::StateMismatch { table, detail });
    for (key, want) in expected {
        let Some(found) = actual.remove(key) else {
            return mismatch(format!(
                "{} set {} last, but the table has no row for it: it was deleted by hand",
                want.origin, want.label
            ));
        };
        if found.values != want.values {
            let mut detail = format!(
                "{} ({}) was changed: {}; {} set it last",
                found.origin,
                want.label,
                differences(&found.values, &want.values),
                want.origin
            );
            if table == "channels" {
                detail.push_str(
                    " (a channel moved back re-opens the replay window: bundles already accepted would be accepted again)",
                );
            }
            return mismatch(detail);
        }
    }
    if let Some(found) = actual.into_values().next() {
        return mismatch(format!(
            "{} ({}) has no audit entry: it was added by hand",
            found.origin, found.label
        ));
    }
    Ok(())
}
