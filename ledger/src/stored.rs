//! Bundle rows read back: what `bridge-export status` and a receiver that looks a bundle up
//! need (which bundles were made, accepted or refused, and for which release).

use std::fmt;

use bundle_format::channel::Channel;
use bundle_format::manifest::BundleKind;
use bundle_format::names::{BundleId, Digest, ZoneId};
use rusqlite::params;
use time::OffsetDateTime;

use crate::db::Stored;
use crate::{Ledger, LedgerError, parse_digest, parse_time};

/// What a side did with a bundle, as its row in the ledger says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// Received and accepted.
    Accepted,
    /// Received and refused (the row says why).
    Refused,
    /// Made and sent by this side.
    Exported,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Self; 3] = [Self::Accepted, Self::Refused, Self::Exported];

    /// The verdict's name as stored: `accepted`, `refused`, `exported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Exported => "exported",
        }
    }

    /// The verdict named `text` (as [`Verdict::as_str`] writes it).
    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == text)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bundle row as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// The bundle digest.
    pub digest: Digest,
    /// Its bundle id; `None` in rows written before schema version 2.
    pub bundle_id: Option<BundleId>,
    /// Its channel: source zone, target zone and kind.
    pub channel: Channel,
    /// Its position on the channel (0 only for a refused bundle that claimed it).
    pub sequence: u64,
    /// What this side did with it.
    pub verdict: Verdict,
    /// Why it was refused (set exactly when the verdict is [`Verdict::Refused`]).
    pub reason: Option<String>,
    /// When the row was written.
    pub at: OffsetDateTime,
    /// The project it carries, if known.
    pub project: Option<String>,
    /// The release version it carries, if known.
    pub version: Option<String>,
}

/// The columns [`read_bundle`] reads, in the order of its struct.
const COLUMNS: &str =
    "digest, bundle_id, kind, channel, sequence, verdict, reason, at, project, version";

impl Ledger {
    /// The newest row of the bundle `digest` with `verdict`, or `None` if there is none (a
    /// bundle refused twice has two rows; a bundle is accepted at most once).
    pub fn bundle(
        &self,
        digest: &Digest,
        verdict: Verdict,
    ) -> Result<Option<StoredBundle>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bundles WHERE digest = ?1 AND verdict = ?2
             ORDER BY id DESC LIMIT 1"
        );
        let rows = self.db.query(
            &self.conn,
            "bundles",
            &sql,
            params![digest.to_hex(), verdict.as_str()],
            read_bundle,
        )?;
        Ok(rows.into_iter().next())
    }

    /// Every bundle row, oldest first, keeping those of `kind`, with `verdict` and carrying
    /// `project` (each filter only when given).
    pub fn bundles(
        &self,
        kind: Option<BundleKind>,
        verdict: Option<Verdict>,
        project: Option<&str>,
    ) -> Result<Vec<StoredBundle>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bundles
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR verdict = ?2)
               AND (?3 IS NULL OR project = ?3)
             ORDER BY id"
        );
        self.db.query(
            &self.conn,
            "bundles",
            &sql,
            params![
                kind.map(BundleKind::as_str),
                verdict.map(Verdict::as_str),
                project
            ],
            read_bundle,
        )
    }
}

impl Ledger {
    /// The bundle rows that meet `condition` (SQL after `WHERE`, with its own `ORDER BY`).
    pub(crate) fn bundles_where<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<StoredBundle>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM bundles WHERE {condition}");
        self.db
            .query(&self.conn, "bundles", &sql, params, read_bundle)
    }
}

fn read_bundle(row: &Stored<'_, '_>) -> Result<StoredBundle, LedgerError> {
    let channel = row.parse("channel", parse_channel)?;
    // The kind is stored twice (its own column is what listings filter on); rows that
    // disagree were written by hand, and either answer could be the wrong one.
    let kind: String = row.get("kind")?;
    if kind != channel.kind.as_str() {
        return Err(row.invalid("kind", &kind));
    }
    let sequence: i64 = row.get("sequence")?;
    Ok(StoredBundle {
        digest: row.parse("digest", parse_digest)?,
        bundle_id: row.parse_optional("bundle_id", |text| BundleId::from_hex(text).ok())?,
        channel,
        sequence: u64::try_from(sequence).map_err(|_| row.invalid("sequence", &sequence))?,
        verdict: row.parse("verdict", Verdict::from_name)?,
        reason: row.get("reason")?,
        at: row.parse("at", parse_time)?,
        project: row.get("project")?,
        version: row.get("version")?,
    })
}

/// Reads a channel back from the text `Channel`'s `Display` wrote: `dev->pci/release`. Zone
/// ids cannot hold `>` or `/`, so the separators are found without ambiguity.
pub(crate) fn parse_channel(text: &str) -> Option<Channel> {
    let (source, rest) = text.split_once("->")?;
    let (target, kind) = rest.split_once('/')?;
    let kind = [BundleKind::Release, BundleKind::Result]
        .into_iter()
        .find(|k| k.as_str() == kind)?;
    Some(Channel {
        source: ZoneId::new(source).ok()?,
        target: ZoneId::new(target).ok()?,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_reads_back_as_it_was_written() -> Result<(), Box<dyn std::error::Error>> {
        for kind in [BundleKind::Release, BundleKind::Result] {
            let channel = Channel {
                source: ZoneId::new("dev-eu.1")?,
                target: ZoneId::new("pci_prod")?,
                kind,
            };
            assert_eq!(parse_channel(&channel.to_string()), Some(channel));
        }
        for bad in [
            "",
            "dev",
            "dev->pci",
            "dev->pci/",
            "dev->pci/other",
            "->pci/release",
            "dev->/release",
            "Dev->pci/release",
            "dev->pci->x/release",
            "dev->pci/release/x",
        ] {
            assert_eq!(parse_channel(bad), None, "{bad:?}");
        }
        Ok(())
    }
}
