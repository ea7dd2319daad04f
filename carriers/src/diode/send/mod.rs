//! The sending side of the diode (docs/diode.md 5).
//!
//! ```text
//!  bundle file ──prepare──▶ Prepared { signed header, table, open file }
//!    (one pass: SHA-256 of the file and of each block; channel and sequence from its head)
//!
//!  Sender::send, for each round:
//!    header ─▶ table (block 0) ─▶ blocks 1..=8 interleaved ─▶ blocks 9..=16 ─▶ ...
//!      │          a second thread reads (pread) and encodes the next group while one is
//!      │          sent: repair symbols encoded once per block and round; two groups of
//!      │          `interleave` blocks in memory at most, whatever the bundle's size
//!      ├─ the header again after every 256 symbol datagrams
//!      └─ a signed heartbeat every `heartbeat` interval (also while idle: Sender::tick)
//!  every datagram through the pacer (token bucket on IP + UDP + datagram bytes)
//! ```
//!
//! - [`params`]: the checked parameters (symbol size from the MTU, block size, overhead).
//! - [`prepare`]: the header and the table of a bundle file.
//! - [`schedule`]: which ESIs each round sends, in which order.
//! - [`pacer`]: the token bucket.
//! - [`link`]: the socket, paced and counted.
//! - [`sender`]: the loop.
//! - [`report`]: the figures of a transfer.
//! - [`outbox`]: the outbox served: settled bundles in name order, moved to `sent/`.

pub mod link;
pub mod outbox;
pub mod pacer;
pub mod params;
pub mod prepare;
pub mod report;
pub mod schedule;
pub mod sender;

pub use params::{Family, ParamError, Requested, SendParams};
pub use prepare::{PrepareError, Prepared, prepare};
pub use report::SendReport;
pub use sender::{SendError, Sender};

#[cfg(test)]
mod tests;
