//! What the receiver tells its caller to log (the command turns each into one log line or
//! JSON event: `diode.delivered`, `diode.advice`, `diode.link-silent`, `diode.link-back`,
//! `diode.ignored`, ...).

use std::path::PathBuf;
use std::time::Duration;

use super::drops::DropReport;

/// One delivered bundle and its transfer's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The transfer id, hex.
    pub transfer: String,
    /// The bundle's name in the inbox.
    pub name: String,
    /// Where it is now.
    pub path: PathBuf,
    /// Its bytes.
    pub size: u64,
    /// Datagrams of this transfer received (headers and symbols).
    pub datagrams: u64,
    /// Symbols received.
    pub symbols: u64,
    /// Symbols received twice.
    pub duplicates: u64,
    /// Estimated loss, in percent.
    pub loss_percent: f64,
    /// Repair symbols that went into decoded blocks.
    pub repair_used: u64,
    /// Blocks collected again after a hash mismatch.
    pub recollected: u64,
    /// Blocks that needed a later round.
    pub late_blocks: u64,
    /// First to last datagram.
    pub duration: Duration,
    /// Bundle bits per second over that duration (0 when it took no measurable time).
    pub goodput_bps: f64,
    /// Whether the name was already there (delivered before a crash): nothing was written.
    pub already_there: bool,
}

/// What happened, for the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An authenticated header opened (or a restart resumed) a transfer.
    Opened {
        /// Transfer id, hex.
        transfer: String,
        /// Bundle name.
        name: String,
        /// Bundle bytes.
        size: u64,
        /// Blocks already verified on disk (after a restart).
        resumed_blocks: u64,
    },
    /// A bundle is in the inbox.
    Delivered(Delivery),
    /// The loss came close to the sender's overhead.
    Advice {
        /// Transfer id, hex.
        transfer: String,
        /// Bundle name.
        name: String,
        /// Estimated loss, percent.
        loss_percent: f64,
        /// The overhead sent, percent.
        overhead_percent: f64,
        /// The overhead that would have been needed, percent.
        needed_percent: f64,
        /// Blocks that needed a later round.
        late_blocks: u64,
    },
    /// A transfer was idle too long: its decoders were freed, its file kept.
    Closed {
        /// Transfer id, hex.
        transfer: String,
        /// Bundle name.
        name: String,
        /// Data blocks verified so far.
        verified_blocks: u64,
        /// Data blocks in all.
        blocks: u64,
    },
    /// A transfer could not be delivered (its files are removed, or kept when the error
    /// may pass, such as a full disk).
    Failed {
        /// Transfer id, hex.
        transfer: String,
        /// Bundle name.
        name: String,
        /// What went wrong.
        error: String,
    },
    /// A new sender session.
    Session {
        /// Session id, hex.
        session: String,
        /// Whether another session was seen before (the sender restarted).
        restarted: bool,
    },
    /// Nothing authenticated for this long.
    LinkSilent(Duration),
    /// Authenticated datagrams again, after this long.
    LinkBack(Duration),
    /// Datagrams dropped since the last report (rate-limited).
    Ignored(DropReport),
}
