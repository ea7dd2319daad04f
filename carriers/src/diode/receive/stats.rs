//! Telemetry of a transfer: what arrived, what was lost (estimated from the ESIs), what the
//! repair symbols did, and the advice when the sender's overhead was too thin.
//!
//! Loss is estimated per block from the ESIs seen: in round 1 the sender sends ESIs
//! `0..K(1+o)` in order, so while a block is collected, `highest ESI + 1 - distinct ESIs`
//! were lost. A block decoded from an ESI past round 1 needed a later round.

use std::time::Duration;

use super::super::announce::TransferHeader;

/// What one block's symbols tell (while it is collected).
#[derive(Debug, Clone)]
pub struct BlockTally {
    k: u32,
    round_one: u64,
    highest: Option<u32>,
    distinct: u64,
    repair: u64,
}

impl BlockTally {
    /// A block of `k` source symbols sent with `overhead_per_mille` repair per round.
    pub fn new(k: u32, overhead_per_mille: u16) -> Self {
        let k64 = u64::from(k);
        Self {
            k,
            round_one: k64 + (k64 * u64::from(overhead_per_mille)).div_ceil(1000),
            highest: None,
            distinct: 0,
            repair: 0,
        }
    }

    /// A new (not duplicate) symbol.
    pub fn symbol(&mut self, esi: u32) {
        if esi >= self.k {
            self.repair += 1;
        }
        // The table's out-of-round symbols say nothing of what a round lost.
        if esi >= super::super::wire::OUT_OF_ROUND_ESI {
            return;
        }
        self.distinct += 1;
        self.highest = Some(self.highest.map_or(esi, |h| h.max(esi)));
    }
}

/// A transfer's figures.
#[derive(Debug, Clone, Default)]
pub struct TransferStats {
    /// Datagrams of this transfer (headers and symbols).
    pub datagrams: u64,
    /// Symbols.
    pub symbols: u64,
    /// Symbols received twice.
    pub duplicates: u64,
    /// Symbols of blocks already decoded (the sender's round went on).
    pub surplus: u64,
    /// Repair symbols among those that decoded a block.
    pub repair_used: u64,
    /// Blocks decoded to bytes that did not match their hash (collected again).
    pub recollected: u64,
    /// Blocks whose symbols were dropped to stay within the memory bound.
    pub evicted: u64,
    /// Blocks decoded before the table that could not be kept in memory.
    pub pending_dropped: u64,
    /// Blocks that decoded only from a symbol past round 1.
    pub late_blocks: u64,
    /// Symbols sent in the ESI ranges seen (for the loss estimate).
    pub expected: u64,
    /// Symbols of those ranges never received.
    pub lost: u64,
    /// The sender's overhead, in thousandths.
    pub overhead_per_mille: u16,
    /// First and last datagram, as offsets from the receiver's clock origin.
    pub first: Option<std::time::Instant>,
    /// The last datagram.
    pub last: Option<std::time::Instant>,
}

impl TransferStats {
    /// Nothing counted yet, for `header`.
    pub fn new(header: &TransferHeader) -> Self {
        Self {
            overhead_per_mille: header.overhead_per_mille,
            ..Self::default()
        }
    }

    /// One datagram at `now`.
    pub fn datagram(&mut self, now: std::time::Instant) {
        self.datagrams += 1;
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// Adds a block's tally once it is done with (`decoded`: it decoded).
    pub fn fold(&mut self, tally: &BlockTally, decoded: bool) {
        if let Some(highest) = tally.highest {
            let span = u64::from(highest) + 1;
            self.expected += span;
            self.lost += span.saturating_sub(tally.distinct);
            if decoded && span > tally.round_one {
                self.late_blocks += 1;
            }
        }
        if decoded {
            self.repair_used += tally.repair;
        }
    }

    /// Estimated loss, 0..=1.
    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 / self.expected as f64
        }
    }

    /// First to last datagram.
    pub fn duration(&self) -> Duration {
        match (self.first, self.last) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        }
    }

    /// The overhead, in percent, that the observed loss calls for, when it is close to (60%
    /// of) the overhead sent or blocks needed a later round; `None` when the overhead was
    /// comfortable. Receiving K symbols out of K(1+o) sent at loss p needs o >= p/(1-p); a
    /// quarter more and one point cover the spread of loss between blocks.
    pub fn advice(&self) -> Option<f64> {
        let loss = self.loss();
        let overhead = f64::from(self.overhead_per_mille) / 1000.0;
        if loss < 0.6 * overhead && self.late_blocks == 0 {
            return None;
        }
        let needed = if loss >= 1.0 {
            1.0
        } else {
            loss / (1.0 - loss)
        };
        Some((needed * 1.25 + 0.01) * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_read_from_the_gaps_in_the_esis() {
        let mut stats = TransferStats {
            overhead_per_mille: 50,
            ..TransferStats::default()
        };
        let mut tally = BlockTally::new(100, 50);
        for esi in (0..105).filter(|e| e % 10 != 3) {
            tally.symbol(esi);
        }
        stats.fold(&tally, true);
        assert_eq!(stats.expected, 105);
        assert_eq!(stats.lost, 11);
        assert_eq!(stats.repair_used, 5 - 1);
        assert_eq!(stats.late_blocks, 0);
        assert!(stats.advice().is_some(), "10% loss against 5% overhead");

        let mut clean = TransferStats {
            overhead_per_mille: 50,
            ..TransferStats::default()
        };
        let mut tally = BlockTally::new(100, 50);
        (0..100).for_each(|esi| tally.symbol(esi));
        clean.fold(&tally, true);
        assert_eq!(clean.loss(), 0.0);
        assert_eq!(clean.advice(), None);

        let mut late = TransferStats {
            overhead_per_mille: 50,
            ..TransferStats::default()
        };
        let mut tally = BlockTally::new(100, 50);
        (0..99).chain([200]).for_each(|esi| tally.symbol(esi));
        late.fold(&tally, true);
        assert_eq!(late.late_blocks, 1);
        assert!(late.advice().is_some(), "a later round was needed");
    }
}
