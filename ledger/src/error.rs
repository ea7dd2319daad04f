//! [`LedgerError`]: everything that can go wrong with a ledger, each condition named.

use std::path::PathBuf;

/// Why a ledger operation failed.
///
/// Messages say what happened and, where the operator can act, end with `Hint: ...` lines (the
/// form `bridge-cli` gathers apart). [`LedgerError::code`] gives a stable kebab-case code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The ledger file does not exist and the caller asked not to create it.
    #[error(
        "there is no ledger at {path}\nHint: check the path (--ledger or ZONEBRIDGE_LEDGER); a ledger is created by the first command that records something"
    )]
    NotFound {
        /// The path that was opened.
        path: PathBuf,
    },
    /// The ledger's path names a FIFO, a device, a socket or a folder: refused before SQLite
    /// opens it, which could block or fail in its own words.
    #[error(
        "the ledger {path} is {}, not a regular file\nHint: give --ledger (or ZONEBRIDGE_LEDGER) the path of a ledger file, or of one to create",
        kind.what()
    )]
    NotAFile {
        /// The path that was given.
        path: PathBuf,
        /// What is there instead.
        kind: bundle_format::regular_file::NotRegular,
    },
    /// The folder meant to hold a new ledger could not be created.
    #[error("cannot create the folder {path} for the ledger: {source}")]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a SQLite database at all.
    #[error(
        "{path} is not a SQLite database, so it cannot be a ledger\nHint: check that the path names a ledger file; if this file is something else, move it away or choose another path"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is a SQLite database, but another program's, or an empty one where a ledger
    /// was expected.
    #[error(
        "{path} is a SQLite database but not a Zonebridge ledger ({found})\nHint: check that the path names a ledger file; Zonebridge never writes into another program's database"
    )]
    NotALedger {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        found: String,
    },
    /// The ledger was written by a newer Zonebridge, with a schema this build does not know.
    #[error(
        "the ledger {path} has schema version {found}, newer than version {supported} that this build understands\nHint: use the Zonebridge release that wrote it (or a newer one); do not edit the file by hand"
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The schema version in the file.
        found: i64,
        /// The newest schema version this build reads.
        supported: i64,
    },
    /// SQLite could not switch the file to write-ahead logging, so commits would not be
    /// crash-safe in the way the ledger promises.
    #[error(
        "the ledger {path} cannot use write-ahead logging (journal mode stayed {mode:?})\nHint: keep the ledger on a local file system; network file systems often cannot hold it"
    )]
    WalUnavailable {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite reported.
        mode: String,
    },
    /// Another process held the ledger locked for longer than the busy timeout.
    #[error(
        "the ledger {path} stayed locked by another process for more than {waited_secs} s while trying to {action}\nHint: check for a stuck bridge-export or bridge-import, then retry"
    )]
    Busy {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// How long it waited.
        waited_secs: u64,
    },
    /// Any other failure reported by SQLite (disk full, I/O error, a damaged file).
    #[error("cannot {action} in the ledger {path}: {source}")]
    Database {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value could not be read back as what it should be (a digest that is not hex,
    /// an unknown state): the file was changed outside Zonebridge.
    #[error(
        "the ledger {path} holds an invalid value in table {table}: {detail}\nHint: run `ledger verify`; the file may have been changed by hand"
    )]
    RowInvalid {
        /// The file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A value to be recorded is larger than the ledger accepts.
    #[error("{what} is {size} bytes, more than the ledger's limit of {limit} bytes")]
    LimitExceeded {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A value to be recorded cannot be stored as it is (an empty tenant name, a time outside
    /// the years RFC 3339 can write).
    #[error("{what} cannot be recorded: {reason}")]
    ValueInvalid {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// An audit event name breaks the naming rule (see [`crate::audit::check_event`]).
    #[error(
        "audit event name {event:?} is not valid: it must be 1 to 64 characters of a-z, 0-9, '.' and '-'"
    )]
    EventNameInvalid {
        /// The refused name (cut to a readable length).
        event: String,
    },
    /// A sequence number that cannot be a channel position (0, or past the largest the
    /// manifest allows).
    #[error("sequence {sequence} on channel {channel} cannot be recorded: {reason}")]
    SequenceInvalid {
        /// The channel.
        channel: String,
        /// The sequence number.
        sequence: u64,
        /// Why.
        reason: &'static str,
    },
    /// The channel's stored state is not the one the caller checked the bundle against:
    /// another process accepted a bundle on it in between.
    #[error(
        "channel {channel} moved while the bundle was being checked: it was checked against {}, but the ledger now has {}\nHint: check the bundle again against the current channel state",
        position(*expected),
        position(*found)
    )]
    ChannelMoved {
        /// The channel.
        channel: String,
        /// The sequence the caller expected as the last accepted one (`None`: no bundle yet).
        expected: Option<u64>,
        /// The sequence the ledger has (`None`: no bundle yet).
        found: Option<u64>,
    },
    /// The bundle to accept is not after the channel's last accepted bundle.
    #[error(
        "bundle {got} on channel {channel} is not after bundle {last}, already accepted; the ledger does not move a channel backwards"
    )]
    SequenceNotNewer {
        /// The channel.
        channel: String,
        /// Last accepted sequence.
        last: u64,
        /// The bundle's sequence.
        got: u64,
    },
    /// The bundle was already accepted once; accepting it twice would count it twice.
    #[error("bundle {digest} was already accepted; recording it again is refused")]
    AlreadyAccepted {
        /// The bundle digest (hex).
        digest: String,
    },
    /// The audit chain does not verify: entry `entry` is the first whose hash or link to the
    /// entry before it is wrong.
    #[error(
        "the audit trail is broken at entry {entry}: {reason}\nHint: the ledger was changed outside Zonebridge; keep a copy of the file for investigation and compare it with a backup"
    )]
    AuditChainBroken {
        /// The id of the first entry that does not verify.
        entry: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A table that enforces replay protection (bundles, channels, promotions, deployments,
    /// skips, received heads) disagrees with the state the audit trail carries: the table was
    /// changed outside Zonebridge.
    #[error(
        "table {table} disagrees with the audit trail: {detail}\nHint: the table was changed outside Zonebridge (with sqlite3 or similar); keep a copy of the file for investigation, and restore the ledger from a backup that verifies"
    )]
    StateMismatch {
        /// The table.
        table: &'static str,
        /// Which row, what it says and what the audit trail says.
        detail: String,
    },
    /// A head recorded outside the file (carried home by a result bundle, or kept by an
    /// operator) shows that the audit trail once had more entries than it has now.
    #[error(
        "the ledger's head went backwards: the audit trail has {entries} entries, but a head recorded elsewhere shows entry {anchored} (hash {hash}): entries were removed from the end, or the ledger was restored from an older backup\nHint: keep a copy of the file for investigation; find out who cut or restored it before importing anything more"
    )]
    HeadBehind {
        /// How many entries the trail has now.
        entries: u64,
        /// The entry the recorded head names.
        anchored: u64,
        /// The hash the recorded head names.
        hash: String,
    },
    /// A head recorded outside the file names an entry the trail still has, but with another
    /// hash: the trail was rewritten (and re-chained) from that entry on.
    #[error(
        "the ledger was rewritten: entry {entry} has hash {found}, but a head recorded elsewhere says {anchored}\nHint: keep a copy of the file for investigation; the audit trail was replaced by a consistent forgery or by another ledger"
    )]
    HeadRewritten {
        /// The entry.
        entry: u64,
        /// The hash recorded elsewhere.
        anchored: String,
        /// The hash the entry has now.
        found: String,
    },
    /// `channel skip` cannot give this bundle up.
    #[error("bundle {sequence} on channel {channel} cannot be skipped: {reason}")]
    SkipRefused {
        /// The channel.
        channel: String,
        /// The sequence.
        sequence: u64,
        /// Why (with a hint where one helps).
        reason: String,
    },
    /// The bundle to accept was given up on with `channel skip`.
    #[error(
        "bundle {sequence} on channel {channel} was skipped with `channel skip`; it can no longer be accepted"
    )]
    SequenceSkipped {
        /// The channel.
        channel: String,
        /// The sequence.
        sequence: u64,
    },
}

fn position(sequence: Option<u64>) -> String {
    match sequence {
        Some(sequence) => format!("bundle {sequence}"),
        None => "no bundle".to_owned(),
    }
}

impl LedgerError {
    /// A stable kebab-case code for scripts (`--json` output), such as `ledger-chain-broken`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not-found",
            Self::NotAFile { .. } => "not-a-file",
            Self::CreateFolder { .. } | Self::Database { .. } => "io",
            Self::NotADatabase { .. } | Self::NotALedger { .. } => "ledger-invalid",
            Self::SchemaTooNew { .. } => "ledger-schema-too-new",
            Self::WalUnavailable { .. } => "ledger-wal-unavailable",
            Self::Busy { .. } => "ledger-busy",
            Self::RowInvalid { .. } => "ledger-row-invalid",
            Self::LimitExceeded { .. } => "limit-exceeded",
            Self::ValueInvalid { .. } => "value-invalid",
            Self::EventNameInvalid { .. } => "event-name-invalid",
            Self::SequenceInvalid { .. } => "sequence-invalid",
            Self::ChannelMoved { .. } => "channel-moved",
            Self::SequenceNotNewer { .. } => "sequence-not-newer",
            Self::AlreadyAccepted { .. } => "already-accepted",
            Self::AuditChainBroken { .. } => "ledger-chain-broken",
            Self::StateMismatch { .. } => "ledger-state-mismatch",
            Self::HeadBehind { .. } => "ledger-head-behind",
            Self::HeadRewritten { .. } => "ledger-head-rewritten",
            Self::SkipRefused { .. } => "skip-refused",
            Self::SequenceSkipped { .. } => "skipped",
        }
    }

    /// Whether the error shows that the ledger's contents were changed outside Zonebridge
    /// (a broken audit chain or an unreadable stored value), as opposed to a failure to reach
    /// or write the file.
    pub fn is_tampering(&self) -> bool {
        matches!(
            self,
            Self::AuditChainBroken { .. }
                | Self::RowInvalid { .. }
                | Self::StateMismatch { .. }
                | Self::HeadBehind { .. }
                | Self::HeadRewritten { .. }
        )
    }
}
