//! One transfer being collected: its authenticated header, its partial file, the table of
//! block hashes once decoded, which blocks are verified on disk, the blocks being decoded,
//! and its telemetry. Memory is accounted by the caller ([`super::Receiver`]); this type
//! reports what each step adds or frees.

use std::collections::HashMap;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use super::super::announce::{HASH_LEN, TransferHeader};
use super::super::fec::{BlockDecoder, Fed};
use super::super::wire::TransferId;
use super::stats::{BlockTally, TransferStats};
use super::store::Partial;

/// A block being decoded, with what its symbols say about the link.
#[derive(Debug)]
pub struct Collecting {
    /// The RaptorQ decoder.
    pub decoder: BlockDecoder,
    /// What its symbols tell.
    pub tally: BlockTally,
}

/// What a symbol did to its transfer.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Kept (or a duplicate, or for a block already done): nothing more to do.
    Kept,
    /// Not of the header's symbol size, or for a block the transfer does not have.
    Invalid(&'static str),
    /// A block decoded to bytes that do not match its hash: its symbols were discarded.
    Mismatch,
    /// Every block is verified on disk: the transfer can be delivered.
    Complete,
}

/// A transfer.
#[derive(Debug)]
pub struct Transfer {
    /// Its id.
    pub id: TransferId,
    /// The authenticated header.
    pub header: TransferHeader,
    /// The signed header datagram, as received.
    pub datagram: Vec<u8>,
    /// The partial file.
    pub partial: Partial,
    /// The table of block hashes, once decoded and matched against the header.
    pub table: Option<Vec<u8>>,
    /// Which data blocks (index block - 1) are verified on disk.
    pub verified: Vec<bool>,
    /// Data blocks not yet verified.
    pub missing: u64,
    /// Blocks being decoded.
    pub collecting: HashMap<u32, Collecting>,
    /// Data blocks decoded before the table, waiting for it.
    pub pending: HashMap<u32, Vec<u8>>,
    /// Whether the transfer takes symbols (an idle one is closed: no decoders, file kept).
    pub active: bool,
    /// Last datagram of this transfer.
    pub last: Instant,
    /// Telemetry.
    pub stats: TransferStats,
}

impl Transfer {
    /// A transfer with nothing verified yet.
    pub fn new(
        id: TransferId,
        header: TransferHeader,
        datagram: Vec<u8>,
        partial: Partial,
        now: Instant,
    ) -> Self {
        let blocks = usize::try_from(header.block_count()).unwrap_or(0);
        Self {
            id,
            datagram,
            partial,
            table: None,
            verified: vec![false; blocks],
            missing: blocks as u64,
            collecting: HashMap::new(),
            pending: HashMap::new(),
            active: true,
            last: now,
            stats: TransferStats::new(&header),
            header,
        }
    }

    /// Bytes of memory this transfer holds: symbols, pending blocks, the table.
    pub fn memory(&self) -> u64 {
        let symbols: usize = self
            .collecting
            .values()
            .map(|c| c.decoder.held_bytes())
            .sum();
        let pending: usize = self.pending.values().map(Vec::len).sum();
        let table = self.table.as_ref().map_or(0, Vec::len);
        (symbols + pending + table) as u64
    }

    /// Whether `block` needs no more symbols.
    pub fn block_done(&self, block: u32) -> bool {
        if block == 0 {
            return self.table.is_some();
        }
        self.pending.contains_key(&block)
            || usize::try_from(block - 1)
                .ok()
                .and_then(|i| self.verified.get(i))
                .copied()
                .unwrap_or(true)
    }

    /// Frees every decoder, pending block and the table (an idle transfer: the table is
    /// on disk); returns the bytes freed.
    pub fn close(&mut self) -> u64 {
        let before = self.memory();
        for (_, c) in self.collecting.drain() {
            self.stats.fold(&c.tally, false);
        }
        self.pending.clear();
        self.table = None;
        self.active = false;
        before
    }

    /// Collects again after [`Self::close`]: the saved table is read back (and checked) if
    /// memory allows; otherwise block 0 is collected again from later symbols.
    pub fn reopen(&mut self, memory: &mut u64, max_memory: u64) {
        self.active = true;
        if self.table.is_some() || memory.saturating_add(self.header.table_len()) > max_memory {
            return;
        }
        if let Some(table) = self.partial.read_table(self.header.table_len())
            && super::super::announce::table_digest(&table) == self.header.table_digest
        {
            *memory += table.len() as u64;
            self.table = Some(table);
        }
    }

    /// Drops one data block decoded before the table (it is collected again later); returns
    /// the bytes freed.
    pub fn drop_pending(&mut self) -> u64 {
        let Some(&block) = self.pending.keys().next() else {
            return 0;
        };
        self.stats.pending_dropped += 1;
        self.pending.remove(&block).map_or(0, |b| b.len() as u64)
    }

    /// Drops one block's symbols (to free memory for a block further along); returns the
    /// bytes freed.
    pub fn evict(&mut self, block: u32) -> u64 {
        match self.collecting.remove(&block) {
            Some(c) => {
                self.stats.fold(&c.tally, false);
                self.stats.evicted += 1;
                c.decoder.held_bytes() as u64
            }
            None => 0,
        }
    }

    /// The expected SHA-256 of data block `block`, if the table is known.
    fn expected(&self, block: u32) -> Option<&[u8]> {
        let table = self.table.as_ref()?;
        let start = usize::try_from(block.checked_sub(1)?)
            .ok()?
            .checked_mul(HASH_LEN)?;
        table.get(start..start.checked_add(HASH_LEN)?)
    }

    /// Feeds a symbol of `block` (whose decoder the caller made room for). Returns what it
    /// did; `memory` is changed by the bytes held or freed.
    pub fn feed(
        &mut self,
        block: u32,
        esi: u32,
        data: &[u8],
        memory: &mut u64,
        max_memory: u64,
    ) -> std::io::Result<Outcome> {
        let Some(len) = self.header.block_len(block) else {
            return Ok(Outcome::Invalid("no-such-block"));
        };
        if data.len() != usize::from(self.header.symbol_size) {
            return Ok(Outcome::Invalid("wrong-size"));
        }
        let k = self.header.block_symbols(block).unwrap_or(0);
        let symbol_size = self.header.symbol_size;
        let collecting = self.collecting.entry(block).or_insert_with(|| Collecting {
            decoder: BlockDecoder::new(len, symbol_size),
            tally: BlockTally::new(k, self.header.overhead_per_mille),
        });
        let before = collecting.decoder.held_bytes() as u64;
        let bytes = match collecting.decoder.feed(esi, data) {
            Fed::Duplicate => {
                self.stats.duplicates += 1;
                return Ok(Outcome::Kept);
            }
            Fed::WrongSize => return Ok(Outcome::Invalid("wrong-size")),
            Fed::Kept => {
                collecting.tally.symbol(esi);
                *memory += (collecting.decoder.held_bytes() as u64).saturating_sub(before);
                return Ok(Outcome::Kept);
            }
            Fed::Decoded(bytes) => bytes,
        };
        collecting.tally.symbol(esi);
        *memory = memory.saturating_sub(before);
        if let Some(c) = self.collecting.remove(&block) {
            self.stats.fold(&c.tally, true);
        }
        self.decoded(block, bytes, memory, max_memory)
    }

    fn decoded(
        &mut self,
        block: u32,
        bytes: Vec<u8>,
        memory: &mut u64,
        max_memory: u64,
    ) -> std::io::Result<Outcome> {
        if block == 0 {
            if super::super::announce::table_digest(&bytes) != self.header.table_digest {
                self.stats.recollected += 1;
                return Ok(Outcome::Mismatch);
            }
            self.partial.save_table(&bytes)?;
            *memory += bytes.len() as u64;
            self.table = Some(bytes);
            let pending: Vec<_> = self.pending.drain().collect();
            let mut outcome = Outcome::Kept;
            for (b, data) in pending {
                *memory = memory.saturating_sub(data.len() as u64);
                outcome = match self.check_and_write(b, &data)? {
                    Outcome::Kept => outcome,
                    other => other,
                };
            }
            return Ok(if self.missing == 0 {
                Outcome::Complete
            } else {
                outcome
            });
        }
        if self.table.is_none() {
            // Kept for the table within half the memory bound (the table must still find
            // room), else collected again next round.
            if *memory + bytes.len() as u64 <= max_memory / 2 {
                *memory += bytes.len() as u64;
                self.pending.insert(block, bytes);
            } else {
                self.stats.pending_dropped += 1;
            }
            return Ok(Outcome::Kept);
        }
        self.check_and_write(block, &bytes)
    }

    fn check_and_write(&mut self, block: u32, bytes: &[u8]) -> std::io::Result<Outcome> {
        let hash = Sha256::digest(bytes);
        if self.expected(block) != Some(&hash[..]) {
            self.stats.recollected += 1;
            return Ok(Outcome::Mismatch);
        }
        let offset = self.header.block_offset(block).unwrap_or(0);
        self.partial.write_block(offset, bytes)?;
        self.mark_verified(block);
        Ok(if self.missing == 0 {
            Outcome::Complete
        } else {
            Outcome::Kept
        })
    }

    fn mark_verified(&mut self, block: u32) {
        if let Some(slot) = usize::try_from(block.saturating_sub(1))
            .ok()
            .and_then(|i| self.verified.get_mut(i))
            && !*slot
        {
            *slot = true;
            self.missing = self.missing.saturating_sub(1);
        }
    }

    /// After a restart: takes the saved table if it matches the header, then rehashes every
    /// block on disk and marks the matching ones verified. Returns the blocks verified.
    pub fn resume(&mut self, memory: &mut u64) -> std::io::Result<u64> {
        let Some(table) = self.partial.read_table(self.header.table_len()) else {
            return Ok(0);
        };
        if super::super::announce::table_digest(&table) != self.header.table_digest {
            return Ok(0);
        }
        *memory += table.len() as u64;
        self.table = Some(table);
        for block in 1..=u32::try_from(self.header.block_count()).unwrap_or(0) {
            let (Some(offset), Some(len)) = (
                self.header.block_offset(block),
                self.header.block_len(block),
            ) else {
                continue;
            };
            let bytes = self
                .partial
                .read_block(offset, usize::try_from(len).unwrap_or(0))?;
            if self.expected(block) == Some(&Sha256::digest(&bytes)[..]) {
                self.mark_verified(block);
            }
        }
        Ok(self.header.block_count() - self.missing)
    }
}
