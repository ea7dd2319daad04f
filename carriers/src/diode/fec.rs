//! RaptorQ (RFC 6330, the `raptorq` crate) applied to one block at a time: every block, the
//! table and each data block, is its own source block with its own object transmission
//! information derived from its length and the header's symbol size. Neither side ever
//! holds more than the blocks in flight, whatever the bundle's size.

use raptorq::{
    EncodingPacket, ObjectTransmissionInformation, PayloadId, SourceBlockDecoder,
    SourceBlockEncoder,
};

use super::announce::SYMBOL_ALIGNMENT;

fn oti(len: u64, symbol_size: u16) -> ObjectTransmissionInformation {
    // `u8` alignment: SYMBOL_ALIGNMENT is 8.
    ObjectTransmissionInformation::new(len, symbol_size, 1, 1, SYMBOL_ALIGNMENT as u8)
}

/// Encodes one block: its K source symbols, then as many repair symbols as asked.
pub struct BlockEncoder {
    encoder: SourceBlockEncoder,
    symbols: u32,
}

impl std::fmt::Debug for BlockEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockEncoder")
            .field("symbols", &self.symbols)
            .finish_non_exhaustive()
    }
}

impl BlockEncoder {
    /// An encoder for `data` (1 byte at least; at most the header's block limits, which the
    /// caller's header already checked) in symbols of `symbol_size`.
    pub fn new(data: &[u8], symbol_size: u16) -> Self {
        let config = oti(data.len() as u64, symbol_size);
        // RaptorQ takes whole symbols: the last one is padded with zeros, which the receiver
        // drops again ([`BlockDecoder`] cuts the block to its length).
        let padded_len = data.len().div_ceil(usize::from(symbol_size)) * usize::from(symbol_size);
        let encoder = if padded_len == data.len() {
            SourceBlockEncoder::new(0, &config, data)
        } else {
            let mut padded = Vec::with_capacity(padded_len);
            padded.extend_from_slice(data);
            padded.resize(padded_len, 0);
            SourceBlockEncoder::new(0, &config, &padded)
        };
        let symbols = u32::try_from(data.len().div_ceil(usize::from(symbol_size))).unwrap_or(0);
        Self { encoder, symbols }
    }

    /// K: the block's source symbol count.
    pub fn source_symbols(&self) -> u32 {
        self.symbols
    }

    /// The source symbols, in ESI order 0..K (the last padded with zeros to the symbol size).
    pub fn source(&self) -> Vec<(u32, Vec<u8>)> {
        self.encoder
            .source_packets()
            .into_iter()
            .map(split)
            .collect()
    }

    /// `count` repair symbols with ESIs from `first_esi` (at least K).
    pub fn repair(&self, first_esi: u32, count: u32) -> Vec<(u32, Vec<u8>)> {
        let start = first_esi.saturating_sub(self.symbols);
        self.encoder
            .repair_packets(start, count)
            .into_iter()
            .map(split)
            .collect()
    }
}

fn split(packet: EncodingPacket) -> (u32, Vec<u8>) {
    let (id, data) = packet.split();
    (id.encoding_symbol_id(), data)
}

/// Collects one block's symbols until it decodes. Symbols are checked for size and
/// duplicates before RaptorQ sees them (the crate asserts on a wrong size).
pub struct BlockDecoder {
    decoder: SourceBlockDecoder,
    symbol_size: u16,
    seen: std::collections::HashSet<u32>,
    bytes: usize,
    len: usize,
}

impl std::fmt::Debug for BlockDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockDecoder")
            .field("symbols", &self.seen.len())
            .finish_non_exhaustive()
    }
}

/// What one more symbol did.
#[derive(Debug, PartialEq, Eq)]
pub enum Fed {
    /// Kept; the block does not decode yet.
    Kept,
    /// Already had that ESI: ignored.
    Duplicate,
    /// Not the header's symbol size: ignored.
    WrongSize,
    /// The block decoded: its bytes (not yet checked against its hash).
    Decoded(Vec<u8>),
}

impl BlockDecoder {
    /// A decoder for a block of `len` bytes (at least 1) in symbols of `symbol_size`.
    pub fn new(len: u64, symbol_size: u16) -> Self {
        let config = oti(len, symbol_size);
        Self {
            decoder: SourceBlockDecoder::new(0, &config, len),
            symbol_size,
            seen: std::collections::HashSet::new(),
            bytes: 0,
            len: usize::try_from(len).unwrap_or(usize::MAX),
        }
    }

    /// Distinct symbols received.
    pub fn received(&self) -> usize {
        self.seen.len()
    }

    /// Bytes of symbols held (what this block costs in memory).
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Feeds one symbol.
    pub fn feed(&mut self, esi: u32, data: &[u8]) -> Fed {
        if data.len() != usize::from(self.symbol_size) || esi > super::wire::MAX_ESI {
            return Fed::WrongSize;
        }
        if !self.seen.insert(esi) {
            return Fed::Duplicate;
        }
        self.bytes += data.len();
        let packet = EncodingPacket::new(PayloadId::new(0, esi), data.to_vec());
        match self.decoder.decode([packet]) {
            // RaptorQ gives whole symbols; the block ends where its length says.
            Some(mut block) => {
                block.truncate(self.len);
                Fed::Decoded(block)
            }
            None => Fed::Kept,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn a_block_decodes_from_any_k_plus_a_few_symbols() {
        for len in [1usize, 1440, 1441, 100_000, 1440 * 64] {
            let data = block(len);
            let encoder = BlockEncoder::new(&data, 1440);
            let k = encoder.source_symbols();
            let mut all = encoder.source();
            all.extend(encoder.repair(k, k / 2 + 4));
            // Drop every third symbol: what remains is still more than K.
            let mut decoder = BlockDecoder::new(len as u64, 1440);
            let mut out = None;
            for (i, (esi, symbol)) in all.iter().enumerate() {
                if i % 3 == 1 {
                    continue;
                }
                if let Fed::Decoded(bytes) = decoder.feed(*esi, symbol) {
                    out = Some(bytes);
                    break;
                }
            }
            assert_eq!(out.as_deref(), Some(&data[..]), "length {len}");
        }
    }

    #[test]
    fn wrong_sizes_and_duplicates_never_reach_raptorq() {
        let data = block(5000);
        let encoder = BlockEncoder::new(&data, 1440);
        let mut decoder = BlockDecoder::new(5000, 1440);
        let source = encoder.source();
        assert_eq!(decoder.feed(0, &source[0].1[..100]), Fed::WrongSize);
        assert_eq!(decoder.feed(0, &[0; 2000]), Fed::WrongSize);
        assert_eq!(decoder.feed(0, &source[0].1), Fed::Kept);
        assert_eq!(decoder.feed(0, &source[0].1), Fed::Duplicate);
        assert_eq!(decoder.received(), 1);
    }

    #[test]
    fn a_corrupted_symbol_decodes_to_wrong_bytes_which_only_a_hash_can_catch() {
        let data = block(1440 * 16);
        let encoder = BlockEncoder::new(&data, 1440);
        let mut decoder = BlockDecoder::new(data.len() as u64, 1440);
        let mut symbols = encoder.source();
        symbols[3].1[10] ^= 0xff;
        let mut out = None;
        for (esi, symbol) in &symbols {
            if let Fed::Decoded(bytes) = decoder.feed(*esi, symbol) {
                out = Some(bytes);
            }
        }
        assert!(out.is_some_and(|bytes| bytes != data));
    }
}
