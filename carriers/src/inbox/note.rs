//! The note beside a quarantined file, `quarantine/NAME.json`: when, which file (its name in
//! the inbox and the SHA-256 of its bytes), the channel and sequence its head claimed (not
//! verified), and the refusal: code, message, hint.

use serde::{Deserialize, Serialize};

/// A quarantine note (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// When it was quarantined (RFC 3339, UTC).
    pub at: String,
    /// The file's name in the inbox.
    pub file: String,
    /// SHA-256 of the file (hex).
    pub digest: String,
    /// The channel its head claims, if it has a readable head (not verified).
    pub channel: Option<String>,
    /// The sequence its head claims, if it has a readable head (not verified).
    pub sequence: Option<u64>,
    /// The refusal's stable code.
    pub code: String,
    /// What was refused and why.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// The current time as RFC 3339 (UTC, whole seconds).
pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
