//! Refusals of bundles that were never trusted, and the bounds that make every refusal
//! recordable whatever the bundle holds.
//!
//! A bundle refused before its signatures and trust passed (bundle spec 8.1-8.7) is recorded
//! from pre-trust data only (spec 15.1): where it came from, its file size, its manifest's
//! digest and size, and the few top-level fields a bounded probe found, under the key
//! `unverified` so that nobody reads them as facts. Its manifest is never decoded for this.
//! Such a refusal is an audit entry `bundle-refused-unverified` and no row in `bundles`: that
//! table holds only what a verified manifest said (or what this side made).
//!
//! ```text
//! detail of "bundle-refused-unverified" (every text bounded, see below):
//!   { "input": "inbox/a.zb", "file_bytes": 1234 | null,
//!     "digest": "<64 hex>" | null, "manifest_bytes": 567 | null,
//!     "unverified": { "kind": "result" | null, "source_zone": .., "target_zone": ..,
//!                     "sequence": 3 | null },
//!     "reason": "signer-unknown: ..." }
//! ```
//!
//! Why a refusal can always be written: each text from outside is cut ([`bound_text`]) so that
//! even escaped as JSON (at most 6 bytes per byte) the detail stays far below
//! [`MAX_DETAIL_BYTES`], and [`fit_detail`] replaces, as a last resort, any detail that would
//! still be too large by its SHA-256 and length.

use bundle_format::pretrust::PretrustHead;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::audit::{self, AuditEntry};
use crate::{Ledger, LedgerError, MAX_DETAIL_BYTES, TRUNCATED_MARK};

/// The audit event of a bundle refused before it was trusted.
pub const EVENT_REFUSED_UNVERIFIED: &str = "bundle-refused-unverified";

/// The longest input name (a file path) recorded with a refusal; longer ones are cut.
pub const MAX_INPUT_BYTES: usize = 1024;

/// A bundle refused before it could be trusted: what may be known of it without trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedBundle {
    /// Where it came from, for people: a file path or "standard input".
    pub input: String,
    /// The file's size in bytes, when it is a file.
    pub file_bytes: Option<u64>,
    /// Its manifest's digest, size and bounded probe (UNVERIFIED); `None` when the manifest's
    /// bytes could not be read at all.
    pub head: Option<PretrustHead>,
}

impl UnverifiedBundle {
    fn audit_detail(&self, reason: &str) -> Value {
        let head = self.head.as_ref();
        let claims = head.map(|head| &head.claims);
        json!({
            "input": bound_text(&self.input, MAX_INPUT_BYTES),
            "file_bytes": self.file_bytes,
            "digest": head.map(|head| head.digest.to_hex()),
            "manifest_bytes": head.map(|head| head.manifest_bytes),
            "unverified": {
                "kind": claims.and_then(|c| c.kind).map(|kind| kind.as_str()),
                "source_zone": claims.and_then(|c| c.source_zone.as_ref()).map(|z| z.as_str()),
                "target_zone": claims.and_then(|c| c.target_zone.as_ref()).map(|z| z.as_str()),
                "sequence": claims.and_then(|c| c.sequence),
            },
            "reason": bound_text(reason, crate::MAX_REASON_BYTES),
        })
    }
}

impl Ledger {
    /// Records a bundle refused before it was trusted: one `bundle-refused-unverified` audit
    /// entry from pre-trust data only (see the [module documentation](self)). No text in
    /// `bundle` or `reason` can make it fail: each is bounded.
    pub fn record_refused_unverified(
        &mut self,
        bundle: &UnverifiedBundle,
        reason: &str,
    ) -> Result<AuditEntry, LedgerError> {
        let detail = fit_detail(bundle.audit_detail(reason));
        self.append_audit(EVENT_REFUSED_UNVERIFIED, &detail)
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary, ending it with
/// [`TRUNCATED_MARK`] when it was cut.
pub fn bound_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(TRUNCATED_MARK.len());
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    let mut cut = text.get(..end).unwrap_or_default().to_owned();
    cut.push_str(TRUNCATED_MARK);
    cut
}

/// `detail` if its JSON text fits [`MAX_DETAIL_BYTES`]; otherwise its SHA-256, its length and
/// its first KiB, so that an audit entry is written whatever it held.
pub(crate) fn fit_detail(detail: Value) -> Value {
    let text = detail.to_string();
    if text.len() <= MAX_DETAIL_BYTES {
        return detail;
    }
    json!({
        "detail_sha256": hex::encode(Sha256::digest(text.as_bytes())),
        "detail_bytes": text.len(),
        "detail_start": bound_text(&text, 1024),
    })
}

/// [`audit::append`] with [`fit_detail`]: for records that must never fail on their content.
pub(crate) fn append_fitted(
    tx: &rusqlite::Transaction<'_>,
    db: &crate::db::Db,
    event: &str,
    detail: Value,
) -> Result<AuditEntry, LedgerError> {
    audit::append(tx, db, event, &fit_detail(detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_at_a_character_boundary() {
        assert_eq!(bound_text("short", 10), "short");
        let long = "€".repeat(1000);
        let cut = bound_text(&long, 100);
        assert!(cut.len() <= 100, "{}", cut.len());
        assert!(cut.ends_with(TRUNCATED_MARK));
    }

    #[test]
    fn the_worst_detail_fits_without_the_last_resort() {
        // Control characters take 6 bytes each as JSON text: the largest escaped detail.
        let bundle = UnverifiedBundle {
            input: "\u{1}".repeat(100_000),
            file_bytes: Some(u64::MAX),
            head: Some(PretrustHead::of(&[0xff; 16])),
        };
        let detail = bundle.audit_detail(&"\u{1}".repeat(1_000_000));
        assert!(detail.to_string().len() <= MAX_DETAIL_BYTES);
        assert_eq!(fit_detail(detail.clone()), detail);
    }

    #[test]
    fn a_detail_too_large_is_replaced_by_its_hash() {
        let detail = json!({ "x": "y".repeat(MAX_DETAIL_BYTES) });
        let fitted = fit_detail(detail);
        assert!(fitted.to_string().len() <= MAX_DETAIL_BYTES);
        assert_eq!(fitted["detail_bytes"], MAX_DETAIL_BYTES + 8);
    }
}
