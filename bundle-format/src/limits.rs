//! Limits on everything read from outside (spec section 3).
//!
//! Defaults are safe for a reader with little memory; a trust policy's `[limits]` table may
//! change the adjustable ones. The signature block's limits are fixed by the format.

use serde::{Deserialize, Serialize};

/// Largest decompressed signature block (spec 3): far above 16 signatures' worth.
pub const MAX_SIGNATURE_BLOCK_BYTES: u64 = 64 * 1024;
/// Most signatures one bundle may carry (spec 3).
pub const MAX_SIGNATURES: usize = 16;
/// Highest zstd window log any policy may allow: 2 GiB windows are never worth the memory.
pub const HARD_MAX_WINDOW_LOG: u32 = 31;

/// Adjustable limits for reading bundles (spec 3). Unset fields in a policy keep the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest manifest, in bytes.
    pub max_manifest_bytes: u64,
    /// Deepest CBOR nesting in the manifest and the signature block.
    pub max_cbor_depth: u32,
    /// Most payload entries.
    pub max_entries: u64,
    /// Largest single payload entry, in bytes.
    pub max_entry_bytes: u64,
    /// Largest sum of payload entry sizes, in bytes.
    pub max_total_bytes: u64,
    /// Largest zstd window, as a power of two; it bounds a reader's memory.
    pub max_window_log: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // F2 is one record in a single-segment frame whose window is the record itself;
            // 8 MiB keeps it far inside the default 16 MiB window (spec 3).
            max_manifest_bytes: 8 * 1024 * 1024,
            max_cbor_depth: 16,
            max_entries: 100_000,
            max_entry_bytes: 16 * 1024 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024 * 1024,
            max_window_log: 24,
        }
    }
}

impl Limits {
    /// Checks that the limits themselves are usable, naming the first one that is not.
    pub fn check(&self) -> Result<(), String> {
        if self.max_window_log < 10 || self.max_window_log > HARD_MAX_WINDOW_LOG {
            return Err(format!(
                "max_window_log = {} is outside 10..={HARD_MAX_WINDOW_LOG}",
                self.max_window_log
            ));
        }
        if self.max_cbor_depth < 4 || self.max_cbor_depth > 256 {
            return Err(format!(
                "max_cbor_depth = {} is outside 4..=256",
                self.max_cbor_depth
            ));
        }
        if self.max_manifest_bytes < 1024 {
            return Err(format!(
                "max_manifest_bytes = {} is below 1024",
                self.max_manifest_bytes
            ));
        }
        Ok(())
    }
}
