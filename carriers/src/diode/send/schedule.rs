//! What each round sends, in which order (docs/diode.md 5): pure arithmetic, no I/O.
//!
//! Per block and round, one contiguous range of ESIs: round 1 the K source symbols then
//! ceil(K x overhead) repair symbols (ESIs `0..K+R`), each later round ceil(K x (1 +
//! overhead)) fresh repair symbols following the previous round's. A group of blocks is sent
//! round-robin, one symbol of each block in turn, so that a burst of loss is spread over
//! several blocks instead of wiping out one.

use super::super::wire::{MAX_ESI, OUT_OF_ROUND_ESI};
use super::params::{first_round_repair, later_round_symbols};

/// The symbols one block sends in one round: ESIs `first..first + count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRound {
    /// The block (0: the table).
    pub block: u32,
    /// K, its source symbol count.
    pub source: u32,
    /// The first ESI sent this round.
    pub first: u32,
    /// How many symbols this round.
    pub count: u32,
}

impl BlockRound {
    /// The range of `block` (K source symbols) in `round` (1-based) at `overhead_per_mille`.
    ///
    /// ESIs are 24 bits and a round's stay below 2^23: a carousel running long enough to reach
    /// that starts again from the first repair ESI (those symbols are still useful to a receiver
    /// that restarted).
    pub fn new(block: u32, source: u32, round: u32, overhead_per_mille: u16) -> Self {
        let first_repair = first_round_repair(source, overhead_per_mille);
        if round <= 1 {
            return Self {
                block,
                source,
                first: 0,
                count: source.saturating_add(first_repair),
            };
        }
        let count = later_round_symbols(source, overhead_per_mille);
        let space = u64::from(OUT_OF_ROUND_ESI);
        // Repair ESIs available: K..OUT_OF_ROUND_ESI (above it: the table's out-of-round
        // symbols); each round takes `count` of them.
        let repair_space = space
            .saturating_sub(u64::from(source) + u64::from(count))
            .max(1);
        let offset = u64::from(first_repair) + u64::from(round - 2) * u64::from(count);
        let first = u64::from(source) + offset % repair_space;
        Self {
            block,
            source,
            first: u32::try_from(first).unwrap_or(MAX_ESI),
            count,
        }
    }

    /// Repair symbols among this round's.
    pub fn repair(&self) -> u32 {
        let end = self.first.saturating_add(self.count);
        end - self.first.max(self.source).min(end)
    }
}

/// The order of a group's symbols: `(index in the group, ESI)`, one symbol of each block in
/// turn while it has any left.
pub fn interleave(group: &[BlockRound]) -> impl Iterator<Item = (usize, u32)> + '_ {
    let longest = group.iter().map(|b| b.count).max().unwrap_or(0);
    (0..longest).flat_map(move |i| {
        group
            .iter()
            .enumerate()
            .filter(move |(_, b)| i < b.count)
            .map(move |(index, b)| (index, b.first + i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_round_sends_source_then_repair() {
        let round = BlockRound::new(3, 1024, 1, 50);
        assert_eq!((round.first, round.count, round.repair()), (0, 1076, 52));
        let none = BlockRound::new(1, 10, 1, 0);
        assert_eq!((none.first, none.count, none.repair()), (0, 10, 0));
    }

    #[test]
    fn later_rounds_send_fresh_repair_symbols_only() {
        let mut seen = std::collections::BTreeSet::new();
        for round in 1..=5 {
            let r = BlockRound::new(1, 100, round, 50);
            if round > 1 {
                assert_eq!((r.count, r.repair()), (105, 105), "round {round}");
                assert!(r.first >= 100);
            }
            for esi in r.first..r.first + r.count {
                assert!(seen.insert(esi), "ESI {esi} sent again in round {round}");
            }
        }
        assert_eq!(seen.len(), 105 + 4 * 105);
        assert_eq!(seen.last(), Some(&(104 + 4 * 105)));
    }

    #[test]
    fn a_long_carousel_stays_below_the_out_of_round_esis() {
        for round in [1_000u32, 15_000, 100_000, u32::MAX] {
            let r = BlockRound::new(1, 8192, round, 5000);
            assert!(r.first >= 8192, "round {round}");
            assert!(
                u64::from(r.first) + u64::from(r.count) <= u64::from(OUT_OF_ROUND_ESI),
                "round {round}"
            );
            const { assert!(OUT_OF_ROUND_ESI <= MAX_ESI) };
        }
    }

    #[test]
    fn a_group_is_sent_one_symbol_of_each_block_in_turn() {
        let group = [
            BlockRound {
                block: 1,
                source: 3,
                first: 0,
                count: 3,
            },
            BlockRound {
                block: 2,
                source: 1,
                first: 0,
                count: 1,
            },
            BlockRound {
                block: 3,
                source: 2,
                first: 7,
                count: 2,
            },
        ];
        let order: Vec<_> = interleave(&group).collect();
        assert_eq!(order, [(0, 0), (1, 0), (2, 7), (0, 1), (2, 8), (0, 2)]);
        assert_eq!(interleave(&[]).count(), 0);
    }

    #[test]
    fn a_burst_of_loss_spreads_over_the_group() {
        let group: Vec<_> = (1..=8).map(|b| BlockRound::new(b, 1024, 1, 50)).collect();
        let order: Vec<_> = interleave(&group).collect();
        assert_eq!(order.len(), 8 * 1076);
        // 40 consecutive datagrams lost: each block loses 5, well within its 52 repair.
        let mut lost = [0u32; 8];
        for (index, _) in &order[1000..1040] {
            lost[*index] += 1;
        }
        assert_eq!(lost, [5; 8]);
    }
}
