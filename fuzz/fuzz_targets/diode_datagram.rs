//! Fuzz target: the diode's receiving path (docs/diode.md, sections 2-4) must never panic and
//! never allocate past its bounds, whatever arrives on the socket.
//!
//! The input is read twice: whole, as one datagram, by `wire::parse`; then as a capture, a
//! sequence of datagrams each preceded by its length (2 bytes, big-endian), as
//! `carriers/examples/diode_datagrams.rs` writes the seeds. Signed datagrams are decoded and
//! authenticated against a fixed policy that trusts the seeds' key, so mutations of a real
//! header or heartbeat reach every check after the signature; symbols of an authenticated
//! transfer feed a `BlockDecoder` of their block, sized from the header, as the receiver does.
#![no_main]

use std::collections::HashMap;

use bundle_format::fuzzing::VECTOR_RELEASE_KEY_SEED;
use bundle_format::keys::SigningKey;
use bundle_format::limits::Limits;
use bundle_format::names::ZoneId;
use bundle_format::policy::{KeyRole, Thresholds, TrustPolicy, TrustedKey};
use carriers::diode::announce::{self, TransferHeader};
use carriers::diode::fec::{BlockDecoder, Fed};
use carriers::diode::trust;
use carriers::diode::wire::{self, Datagram};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

/// Datagrams read from one input: more only repeats the same paths more slowly.
const MAX_DATAGRAMS: usize = 256;
/// The largest block a decoder is made for here: the seeds' blocks are 1 KiB; a bigger one
/// could only come from a validly signed header, which the fuzzer cannot forge.
const MAX_FUZZ_BLOCK: u64 = 1 << 20;

fn policy() -> Option<TrustPolicy> {
    let key = SigningKey::from_seed(&VECTOR_RELEASE_KEY_SEED).public_key();
    Some(TrustPolicy::new(
        ZoneId::new("pci").ok()?,
        Thresholds::default(),
        Limits::default(),
        vec![TrustedKey {
            id: key.key_id(),
            public_key: key,
            role: KeyRole::Release,
            zones: vec![ZoneId::new("dev").ok()?],
            not_after: None,
            comment: None,
        }],
    ))
}

/// The receiver's state for one input: the authenticated transfers and their blocks.
#[derive(Default)]
struct Receiver {
    transfers: HashMap<wire::TransferId, TransferHeader>,
    blocks: HashMap<(wire::TransferId, u32), BlockDecoder>,
}

impl Receiver {
    fn datagram(&mut self, policy: &TrustPolicy, now: OffsetDateTime, bytes: &[u8]) {
        match wire::parse(bytes) {
            Ok(Datagram::Header(signed)) => {
                let decoded = TransferHeader::decode(signed.body);
                match trust::authenticate_header(policy, &signed, now) {
                    Ok(header) => {
                        // Authentication implies the body decodes, to the same header.
                        assert_eq!(decoded.as_ref().ok(), Some(&header));
                        assert!(header.block_len(0).is_some());
                        assert!(header.block_count() >= 1);
                        self.transfers
                            .insert(announce::transfer_id(signed.body), header);
                    }
                    Err(trust::Untrusted::Body(e)) => assert_eq!(decoded.err(), Some(e)),
                    Err(_) => {}
                }
            }
            Ok(Datagram::Heartbeat(signed)) => {
                let decoded = announce::Heartbeat::decode(signed.body);
                if let Ok(beat) = trust::authenticate_heartbeat(policy, &signed, now) {
                    assert_eq!(decoded.ok(), Some(beat.clone()));
                    assert_ne!(beat.interval_millis, 0);
                }
            }
            Ok(Datagram::Symbol(symbol)) => {
                assert!(symbol.esi <= wire::MAX_ESI && !symbol.data.is_empty());
                // Only symbols of an authenticated transfer, of a block it has, are kept.
                let Some(header) = self.transfers.get(&symbol.transfer) else {
                    return;
                };
                let Some(len) = header.block_len(symbol.block) else {
                    return;
                };
                if len == 0 || len > MAX_FUZZ_BLOCK {
                    return;
                }
                let symbol_size = header.symbol_size;
                let decoder = self
                    .blocks
                    .entry((symbol.transfer, symbol.block))
                    .or_insert_with(|| BlockDecoder::new(len, symbol_size));
                let before = decoder.held_bytes();
                match decoder.feed(symbol.esi, symbol.data) {
                    Fed::Decoded(block) => {
                        assert_eq!(block.len() as u64, len);
                        // The receiver's next step: the block's hash against the table.
                        let _ = Sha256::digest(&block);
                    }
                    Fed::Kept => {
                        assert_eq!(decoder.held_bytes(), before + usize::from(symbol_size))
                    }
                    Fed::Duplicate | Fed::WrongSize => assert_eq!(decoder.held_bytes(), before),
                }
            }
            Err(_) => {}
        }
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(policy) = policy() else { return };
    let now =
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut receiver = Receiver::default();
    receiver.datagram(&policy, now, data);
    let mut rest = data;
    for _ in 0..MAX_DATAGRAMS {
        let [hi, lo, tail @ ..] = rest else { break };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (datagram, next) = tail.split_at(len);
        receiver.datagram(&policy, now, datagram);
        rest = next;
    }
});
