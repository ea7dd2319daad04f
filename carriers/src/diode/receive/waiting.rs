//! Symbols that arrive before their transfer's header is authenticated: the round's first
//! header lost, overtaken on the way, or still waiting for a signature-check token behind a
//! flood of forged headers. They are kept, within a fixed budget, and fed to the transfer
//! once a header opens it; without this, every symbol before the next header copy (256
//! datagrams later) was lost, and with it the round's table symbols.
//!
//! The budget is small and fixed ([`WAITING_BYTES`]), oldest out first, so random symbols
//! of made-up transfers can only push out each other and, at worst, cost a genuine transfer
//! the symbols it would otherwise have lost anyway.

use std::collections::{HashSet, VecDeque};

use super::super::wire::{TRANSFER_ID_LEN, TransferId};

/// Bytes of waiting datagrams kept at most: about 5,800 symbol datagrams of 1,466 bytes,
/// 20 header copies' worth at the sender's default repetition.
pub const WAITING_BYTES: usize = 8 * 1024 * 1024;

/// Transfers delivered recently, whose later symbols are dropped at once instead of
/// waiting; forgotten in bulk past this many.
const RECENTLY_DELIVERED: usize = 4096;

/// The symbol datagrams waiting for a header.
#[derive(Debug, Default)]
pub struct Waiting {
    datagrams: VecDeque<(TransferId, Vec<u8>)>,
    bytes: usize,
    delivered: HashSet<TransferId>,
}

/// What became of a symbol of an unknown transfer.
#[derive(Debug, PartialEq, Eq)]
pub enum Kept {
    /// Kept; `evicted` older ones were pushed out to make room.
    Waits {
        /// Older datagrams pushed out.
        evicted: usize,
    },
    /// Of a transfer delivered already: dropped.
    Delivered,
}

impl Waiting {
    /// Keeps `datagram`, a symbol of transfer `id`, which no header has opened yet.
    pub fn keep(&mut self, id: TransferId, datagram: &[u8]) -> Kept {
        if self.delivered.contains(&id) {
            return Kept::Delivered;
        }
        let mut evicted = 0;
        while self.bytes + datagram.len() > WAITING_BYTES {
            let Some((_, old)) = self.datagrams.pop_front() else {
                break;
            };
            self.bytes -= old.len();
            evicted += 1;
        }
        if datagram.len() <= WAITING_BYTES {
            self.bytes += datagram.len();
            self.datagrams.push_back((id, datagram.to_vec()));
        }
        Kept::Waits { evicted }
    }

    /// Takes the datagrams of `id`, oldest first (a header just opened it).
    pub fn take(&mut self, id: &TransferId) -> Vec<Vec<u8>> {
        let mut mine = Vec::new();
        let mut rest = VecDeque::with_capacity(self.datagrams.len());
        for (owner, datagram) in self.datagrams.drain(..) {
            if &owner == id {
                self.bytes -= datagram.len();
                mine.push(datagram);
            } else {
                rest.push_back((owner, datagram));
            }
        }
        self.datagrams = rest;
        mine
    }

    /// `id` was delivered: its waiting symbols go, and later ones are dropped at once.
    pub fn delivered(&mut self, id: TransferId) {
        drop(self.take(&id));
        if self.delivered.len() >= RECENTLY_DELIVERED {
            self.delivered.clear();
        }
        self.delivered.insert(id);
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

// The id is the datagram's own; it is passed separately only to spare a parse.
const _: () = assert!(TRANSFER_ID_LEN == 8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_wait_for_their_transfer_and_come_back_in_order() {
        let mut waiting = Waiting::default();
        for i in 0u8..5 {
            let id = [i % 2; 8];
            assert_eq!(waiting.keep(id, &[i; 100]), Kept::Waits { evicted: 0 });
        }
        assert_eq!(waiting.bytes(), 500);
        assert_eq!(waiting.take(&[1; 8]), vec![vec![1; 100], vec![3; 100]]);
        assert_eq!(waiting.bytes(), 300);
        assert!(waiting.take(&[1; 8]).is_empty());
        assert_eq!(waiting.take(&[0; 8]).len(), 3);
        assert_eq!(waiting.bytes(), 0);
    }

    #[test]
    fn a_flood_of_made_up_transfers_stays_within_the_budget() {
        let mut waiting = Waiting::default();
        let mut evicted = 0;
        for i in 0u32..20_000 {
            let mut id = [0; 8];
            id[..4].copy_from_slice(&i.to_be_bytes());
            if let Kept::Waits { evicted: e } = waiting.keep(id, &[0; 1466]) {
                evicted += e;
            }
            assert!(waiting.bytes() <= WAITING_BYTES);
        }
        assert!(evicted > 10_000);
        // The newest are the ones kept.
        let mut last = [0; 8];
        last[..4].copy_from_slice(&19_999u32.to_be_bytes());
        assert_eq!(waiting.take(&last).len(), 1);
        // A datagram larger than the whole budget is never kept.
        let mut big = Waiting::default();
        big.keep([9; 8], &vec![0; WAITING_BYTES + 1]);
        assert_eq!(big.bytes(), 0);
    }

    #[test]
    fn symbols_of_a_delivered_transfer_are_dropped_at_once() {
        let mut waiting = Waiting::default();
        waiting.keep([4; 8], &[1; 10]);
        waiting.delivered([4; 8]);
        assert_eq!(waiting.bytes(), 0);
        assert_eq!(waiting.keep([4; 8], &[1; 10]), Kept::Delivered);
        assert_eq!(waiting.keep([5; 8], &[1; 10]), Kept::Waits { evicted: 0 });
    }
}
