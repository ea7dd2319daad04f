//! The receiver's bounds and places (docs/diode.md, section 7): every one has a default a
//! demanding operator would pick, and each bounds one resource a hostile sender could aim at.

use std::path::PathBuf;
use std::time::Duration;

/// Default `--max-transfers`: transfers collected at once.
pub const DEFAULT_MAX_TRANSFERS: usize = 4;
/// Default `--max-memory`: bytes of symbols (and decoded blocks waiting for their table)
/// held across transfers.
pub const DEFAULT_MAX_MEMORY: u64 = 256 * 1024 * 1024;
/// Default idle time after which a transfer is closed.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(600);
/// Default `--silence`: no authenticated datagram for this long reports the link silent.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(10);
/// Signature checks of new headers per second (and burst): about a tenth of one core
/// (`verify_strict` takes some 50 us), so a flood of forged headers naming a trusted key, up to
/// this rate, is checked whole and the genuine header is never kept waiting behind it. At
/// 200 a second, a flood of 1,100 a second kept a 3 MiB bundle's ten header copies out in about
/// one run in eight (e2e `diode::flood`).
pub const DEFAULT_HEADER_CHECKS: u32 = 2_000;
/// Bundles bigger than the policy allows by this share (in thousandths) are still taken: a
/// bundle file holds its entries compressed plus a manifest and framing.
pub const BUNDLE_MARGIN_PER_MILLE: u64 = 50;

/// Where the receiver keeps what, and its bounds.
#[derive(Debug, Clone)]
pub struct Config {
    /// The watched inbox bundles are delivered into.
    pub inbox: PathBuf,
    /// The receiver's own state (the delivered log): `.INBOX.diode` beside the inbox by
    /// default ([`default_state`]).
    pub state: PathBuf,
    /// Transfers collected at once; a header beyond them is refused.
    pub max_transfers: usize,
    /// The largest bundle taken (the header's size).
    pub max_bundle: u64,
    /// Total bytes of partial files kept.
    pub max_disk: u64,
    /// Total bytes of symbols and pending blocks held in memory.
    pub max_memory: u64,
    /// A transfer silent this long is closed (its partial file kept if disk allows).
    pub idle: Duration,
    /// No authenticated datagram for this long: the link is reported silent.
    pub silence: Duration,
    /// Signature checks of headers not seen before, per second.
    pub header_checks_per_second: u32,
}

impl Config {
    /// The defaults for `inbox`, with the largest bundle the policy's `max_total_bytes`
    /// allows (plus a margin) and disk for two of them.
    pub fn new(inbox: PathBuf, max_total_bytes: u64) -> Self {
        let max_bundle = max_total_bytes
            .saturating_add(max_total_bytes / 1000 * BUNDLE_MARGIN_PER_MILLE)
            .saturating_add(1024 * 1024);
        Self {
            state: default_state(&inbox),
            inbox,
            max_transfers: DEFAULT_MAX_TRANSFERS,
            max_bundle,
            max_disk: max_bundle.saturating_mul(2),
            max_memory: DEFAULT_MAX_MEMORY,
            idle: DEFAULT_IDLE,
            silence: DEFAULT_SILENCE,
            header_checks_per_second: DEFAULT_HEADER_CHECKS,
        }
    }
}

/// `.NAME.diode` beside the inbox `NAME` (the inbox engine never looks there).
pub fn default_state(inbox: &std::path::Path) -> PathBuf {
    let name = inbox
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "inbox".to_owned());
    let parent = inbox
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    parent.join(format!(".{name}.diode"))
}
