//! Test-only: crafts the datagrams of a transfer as a sender would (fec::BlockEncoder,
//! TransferHeader::sign), with a small seeded random source for loss and shuffles.

use bundle_format::keys::SigningKey;
use bundle_format::policy::TrustPolicy;
use sha2::{Digest as _, Sha256};

use super::super::announce::{SignedHeader, TransferHeader, table_digest};
use super::super::fec::BlockEncoder;
use super::super::wire::{self, Symbol};

/// A test key from a seed byte.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

/// A policy of zone `zone` trusting each (key, role, source zone).
pub fn policy(zone: &str, keys: &[(&SigningKey, &str, &str)]) -> TrustPolicy {
    let keys: Vec<_> = keys.iter().map(|(k, r, z)| (*k, *r, *z, None)).collect();
    crate::diode::test_policy::policy(zone, &keys)
}

/// A seeded xorshift source: reproducible loss and shuffles.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A source from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// The next 64 bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    /// Shuffles `items`.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Deterministic bundle bytes.
pub fn bundle(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// A transfer as a sender makes it.
#[derive(Debug)]
pub struct Crafted {
    /// The header.
    pub header: TransferHeader,
    /// Its signed datagram and id.
    pub signed: SignedHeader,
    encoders: Vec<BlockEncoder>,
}

/// The name of sequence `sequence` on dev->pci/release.
pub fn name(sequence: u64) -> String {
    format!("dev~pci~release~{sequence:012}~payments-api-1.4.{sequence}.zb")
}

impl Crafted {
    /// `bundle` as sequence `sequence`, in blocks of `block_symbols` symbols of
    /// `symbol_size`, with `overhead_per_mille` repair per round, signed by `key`.
    pub fn new(
        key: &SigningKey,
        bundle: &[u8],
        sequence: u64,
        symbol_size: u16,
        block_symbols: u32,
        overhead_per_mille: u16,
    ) -> Self {
        let block_size = u32::from(symbol_size) * block_symbols;
        let mut table = Vec::new();
        let mut encoders = Vec::new();
        for chunk in bundle.chunks(block_size as usize) {
            table.extend_from_slice(&Sha256::digest(chunk));
            encoders.push(BlockEncoder::new(chunk, symbol_size));
        }
        encoders.insert(0, BlockEncoder::new(&table, symbol_size));
        let header = TransferHeader {
            key_id: key.public_key().key_id(),
            channel: "dev->pci/release"
                .parse()
                .unwrap_or_else(|e: String| panic!("{e}")),
            sequence,
            name: name(sequence),
            size: bundle.len() as u64,
            digest: Sha256::digest(bundle).into(),
            symbol_size,
            block_size,
            table_digest: table_digest(&table),
            overhead_per_mille,
        };
        let signed = header.sign(key).unwrap_or_else(|e| panic!("{e}"));
        Self {
            header,
            signed,
            encoders,
        }
    }

    /// The header datagram.
    pub fn header_datagram(&self) -> Vec<u8> {
        self.signed.datagram.clone()
    }

    /// The symbols of round `round` (0 the first): block by block, the header before each
    /// block; round 0 sends ESIs 0..K(1+o), later rounds fresh repair symbols.
    pub fn round(&self, round: u32) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for (block, encoder) in self.encoders.iter().enumerate() {
            out.push(self.header_datagram());
            let k = encoder.source_symbols();
            let per_round = k
                + (u64::from(k) * u64::from(self.header.overhead_per_mille)).div_ceil(1000) as u32;
            let symbols = if round == 0 {
                let mut s = encoder.source();
                s.extend(encoder.repair(k, per_round - k));
                s
            } else {
                encoder.repair(k + per_round * round, per_round)
            };
            for (esi, data) in symbols {
                out.push(self.symbol(block as u32, esi, &data));
            }
        }
        out
    }

    /// One symbol datagram of this transfer.
    pub fn symbol(&self, block: u32, esi: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        wire::encode_symbol(
            &mut out,
            &Symbol {
                transfer: self.signed.id,
                block,
                esi,
                data,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        out
    }
}

/// Sets a datagram's CRC again after its bytes were changed (a forger, or a corruption the
/// CRC does not catch).
pub fn fix_crc(datagram: &mut [u8]) {
    let split = datagram.len() - wire::CRC_LEN;
    let crc = crc32fast::hash(&datagram[..split]);
    datagram[split..].copy_from_slice(&crc.to_be_bytes());
}
