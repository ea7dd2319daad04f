//! The sender against a loopback socket: what it emits parses, authenticates, and rebuilds
//! the bundle block by block, even with datagrams dropped on the way.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bundle_format::keys::{SigningDomain, SigningKey};
use sha2::{Digest as _, Sha256};

use super::super::announce::{Heartbeat, TransferHeader};
use super::super::fec::{BlockDecoder, Fed};
use super::super::wire::{self, Datagram};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A signed release bundle on `dev->pci/release` at `sequence`, carrying `payload` bytes
/// that do not compress (so the file is about that big).
fn bundle(sequence: u64, payload: usize) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use bundle_format::container::writer::PayloadWriter;
    use bundle_format::manifest::{BundleKind, EntryRole, ReleaseDescription};
    use bundle_format::names::EntryPath;
    use bundle_format::pack::{BundleHeader, Description, seal};

    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ sequence;
    let bytes: Vec<u8> = (0..payload)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut writer = PayloadWriter::new(tempfile::tempfile()?, 1)?;
    writer.append(
        EntryPath::new("process.json")?,
        EntryRole::Process,
        bytes.len() as u64,
        &mut &bytes[..],
        &mut |_| {},
    )?;
    let (mut spool, entries) = writer.finish()?;
    let header = BundleHeader {
        kind: BundleKind::Release,
        source_zone: "dev".parse()?,
        target_zone: "pci".parse()?,
        sequence,
        previous: (sequence > 1).then(|| bundle_format::names::Digest::of(b"previous")),
        created: time::OffsetDateTime::UNIX_EPOCH,
        expires: None,
        bundle_id: None,
    };
    let description = ReleaseDescription {
        project: "P".into(),
        version: format!("1.0.{sequence}"),
        channel: "Default".into(),
        notes: None,
        packages: Vec::new(),
        secrets: Vec::new(),
    };
    let mut out = Vec::new();
    seal(
        header,
        entries,
        Description::Release(description),
        &[SigningKey::generate()?],
        &mut spool,
        &mut out,
    )?;
    Ok(out)
}

/// The same key each call (a restarted sender has the same key).
fn key() -> SigningKey {
    SigningKey::from_seed(&[7; 32])
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn params(
    block_symbols: u32,
    overhead_per_mille: u16,
    interleave: u32,
    rounds: u32,
) -> Result<SendParams, ParamError> {
    Requested {
        mtu: 1500,
        family: Family::V4,
        block_symbols,
        overhead_per_mille,
        rate_bps: 200_000_000,
        interleave,
        rounds,
        heartbeat: Duration::from_secs(3600),
    }
    .check()
}

/// Sends `prepared` to a loopback socket and returns every datagram received.
fn send_and_collect(
    key: SigningKey,
    params: SendParams,
    prepared: &Prepared,
) -> Result<(Vec<Vec<u8>>, SendReport), Box<dyn std::error::Error>> {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_millis(500)))?;
    let address = receiver.local_addr()?;
    let collector = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buffer = vec![0u8; 65_536];
        while let Ok(n) = receiver.recv(&mut buffer) {
            got.push(buffer[..n].to_vec());
        }
        got
    });
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(address)?;
    let mut sender = Sender::new(socket, key, params)?;
    let report = sender.send(prepared)?;
    let got = collector.join().map_err(|_| "collector panicked")?;
    Ok((got, report))
}

/// Rebuilds the bundle from datagrams as a receiver would, skipping the ones `drop` names
/// (by index); checks the header's signature, each block's hash and the file's digest.
fn rebuild(
    datagrams: &[Vec<u8>],
    key: &SigningKey,
    drop: impl Fn(usize) -> bool,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut header: Option<TransferHeader> = None;
    let mut id = None;
    let mut decoders: BTreeMap<u32, BlockDecoder> = BTreeMap::new();
    let mut blocks: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for (index, datagram) in datagrams.iter().enumerate() {
        if drop(index) {
            continue;
        }
        match wire::parse(datagram)? {
            Datagram::Header(signed) => {
                assert!(key.public_key().verify_in(
                    SigningDomain::DiodeHeader,
                    signed.body,
                    signed.signature
                ));
                let decoded = TransferHeader::decode(signed.body)?;
                id = Some(super::super::announce::transfer_id(signed.body));
                header = Some(decoded);
            }
            Datagram::Symbol(symbol) => {
                let header = header.as_ref().ok_or("a symbol before any header")?;
                assert_eq!(Some(symbol.transfer), id);
                if blocks.contains_key(&symbol.block) {
                    continue;
                }
                let len = header.block_len(symbol.block).ok_or("no such block")?;
                let decoder = decoders
                    .entry(symbol.block)
                    .or_insert_with(|| BlockDecoder::new(len, header.symbol_size));
                if let Fed::Decoded(bytes) = decoder.feed(symbol.esi, symbol.data) {
                    blocks.insert(symbol.block, bytes);
                    decoders.remove(&symbol.block);
                }
            }
            Datagram::Heartbeat(_) => {}
        }
    }
    let header = header.ok_or("no header")?;
    let table = blocks.get(&0).ok_or("the table did not decode")?;
    assert_eq!(<[u8; 32]>::from(Sha256::digest(table)), header.table_digest);
    let mut file = Vec::new();
    for block in 1..=header.block_count() as u32 {
        let bytes = blocks
            .get(&block)
            .ok_or(format!("block {block} did not decode"))?;
        let hash = &table[(block as usize - 1) * 32..block as usize * 32];
        assert_eq!(&Sha256::digest(bytes)[..], hash, "block {block}");
        file.extend_from_slice(bytes);
    }
    assert_eq!(<[u8; 32]>::from(Sha256::digest(&file)), header.digest);
    Ok(file)
}

/// A fixed pseudo-random number for `i` (a loss pattern that does not alias with the
/// interleaving, as `i % 20` would).
fn scatter(i: usize) -> u64 {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

#[test]
fn a_sent_bundle_rebuilds_block_by_block_despite_lost_datagrams() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bytes = bundle(7, 1_500_000)?;
    let path = write(dir.path(), "release.zb", &bytes)?;
    let key = key();
    // 64-symbol blocks: about 17 data blocks, interleaved 4 at a time, 10% repair.
    let params = params(64, 100, 4, 1)?;
    let prepared = prepare(&path, &key, &params)?;
    assert_eq!(
        prepared.header.block_count(),
        bytes.len().div_ceil(64 * 1440) as u64
    );
    let (datagrams, report) = send_and_collect(self::key(), params, &prepared)?;
    assert_eq!(
        datagrams.len() as u64,
        report.datagrams,
        "loopback lost datagrams"
    );
    // Nothing lost: it rebuilds.
    assert_eq!(rebuild(&datagrams, &key, |_| false)?, bytes);
    // 4% lost at random (seeded), under the 10% overhead: still rebuilds.
    assert_eq!(rebuild(&datagrams, &key, |i| scatter(i) % 100 < 4)?, bytes);
    // A burst of 24 in a row: interleaving spreads it over 4 blocks, 6 each, under their 7
    // repair symbols.
    assert_eq!(
        rebuild(&datagrams, &key, |i| (400..424).contains(&i))?,
        bytes
    );
    // Half lost: some block cannot be rebuilt, and that is said, not papered over.
    assert!(rebuild(&datagrams, &key, |i| i % 2 == 0 && i > 0).is_err());
    Ok(())
}
