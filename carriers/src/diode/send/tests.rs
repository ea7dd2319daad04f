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
/// Every datagram received, in order.
type Datagrams = Vec<Vec<u8>>;
/// `(block, esi)` of each symbol.
type Symbols = Vec<(u32, u32)>;

/// A signed release bundle on `dev->pci/release` at `sequence`, carrying `payload` bytes
/// that do not compress (so the file is about that big).
fn bundle(sequence: u64, payload: usize) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ sequence;
    let bytes: Vec<u8> = (0..payload)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    crate::test_bundle::release("dev", sequence, &bytes)
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
        // Slow enough that a loaded machine reading loopback loses nothing.
        rate_bps: 30_000_000,
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
) -> Result<(Datagrams, SendReport), Box<dyn std::error::Error>> {
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

/// `(block, esi)` of each symbol datagram, and the indices of the header datagrams.
fn symbols_of(datagrams: &[Vec<u8>]) -> Result<(Symbols, Vec<usize>), wire::WireError> {
    let mut symbols = Vec::new();
    let mut headers = Vec::new();
    for (index, datagram) in datagrams.iter().enumerate() {
        match wire::parse(datagram)? {
            Datagram::Symbol(symbol) => symbols.push((symbol.block, symbol.esi)),
            Datagram::Header(_) => headers.push(index),
            Datagram::Heartbeat(_) => {}
        }
    }
    Ok((symbols, headers))
}

#[test]
fn the_wire_order_is_header_table_then_interleaved_groups() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bytes = bundle(3, 300_000)?;
    let path = write(
        dir.path(),
        "dev~pci~release~000000000003~p-1.0.3.zb",
        &bytes,
    )?;
    let params = params(16, 250, 3, 1)?;
    let prepared = prepare(&path, &key(), &params)?;
    assert_eq!(
        prepared.header.name,
        "dev~pci~release~000000000003~p-1.0.3.zb"
    );
    let (datagrams, _) = send_and_collect(key(), params, &prepared)?;
    let (symbols, headers) = symbols_of(&datagrams)?;
    // Two headers first, then one again after every 256 symbols of the round, each repeated
    // one followed by a fresh out-of-round symbol of the table, counting down from the top.
    assert_eq!(&headers[..2], &[0, 1]);
    let mut since = 0;
    let mut trickle = Vec::new();
    let mut after_header = false;
    for datagram in &datagrams[2..] {
        match wire::parse(datagram)? {
            Datagram::Header(_) => {
                assert_eq!(since, 256);
                since = 0;
                after_header = true;
            }
            Datagram::Symbol(symbol) if symbol.esi >= wire::OUT_OF_ROUND_ESI => {
                assert!(
                    after_header,
                    "an out-of-round symbol not right after a header"
                );
                assert_eq!(symbol.block, 0);
                trickle.push(symbol.esi);
                after_header = false;
            }
            Datagram::Symbol(_) => {
                assert!(!after_header, "a repeated header without its table symbol");
                since += 1;
            }
            Datagram::Heartbeat(_) => {}
        }
    }
    let round: Vec<(u32, u32)> = symbols
        .iter()
        .copied()
        .filter(|(_, esi)| *esi < wire::OUT_OF_ROUND_ESI)
        .collect();
    assert_eq!(headers.len(), 1 + round.len().div_ceil(256));
    assert_eq!(trickle.len(), headers.len() - 2);
    let top: Vec<u32> = (0..trickle.len() as u32)
        .map(|i| wire::MAX_ESI - i)
        .collect();
    assert_eq!(trickle, top);
    let symbols = round;
    // What the schedule says, built independently: the table (K=1: 7 data blocks of 16
    // symbols), then groups of 3 blocks round-robin, each 16 source + 4 repair symbols.
    let header = &prepared.header;
    let blocks = header.block_count() as u32;
    let mut expected = Vec::new();
    let table_k = header.block_symbols(0).ok_or("no table")?;
    expected.extend((0..table_k + table_k.div_ceil(4)).map(|esi| (0, esi)));
    for first in (1..=blocks).step_by(3) {
        let group: Vec<u32> = (first..=(first + 2).min(blocks)).collect();
        let counts: Vec<u32> = group
            .iter()
            .map(|b| {
                header
                    .block_symbols(*b)
                    .map(|k| k + (k * 250).div_ceil(1000))
            })
            .collect::<Option<_>>()
            .ok_or("no block")?;
        for i in 0..*counts.iter().max().ok_or("empty")? {
            for (block, count) in group.iter().zip(&counts) {
                if i < *count {
                    expected.push((*block, i));
                }
            }
        }
    }
    assert_eq!(symbols, expected);
    Ok(())
}

#[test]
fn later_rounds_send_fresh_repair_symbols_for_every_block() -> TestResult {
    let dir = tempfile::tempdir()?;
    let bytes = bundle(4, 200_000)?;
    let path = write(dir.path(), "some bundle.zb", &bytes)?;
    let params = params(32, 50, 8, 3)?;
    let prepared = prepare(&path, &key(), &params)?;
    // A file name that is no outbox name gets one, labelled from the file's name.
    assert_eq!(
        prepared.header.name,
        "dev~pci~release~000000000004~some-bundle.zb"
    );
    let (datagrams, report) = send_and_collect(key(), params, &prepared)?;
    assert_eq!(report.rounds, 3);
    let (symbols, headers) = symbols_of(&datagrams)?;
    let mut seen = std::collections::BTreeSet::new();
    for symbol in &symbols {
        assert!(seen.insert(*symbol), "{symbol:?} sent twice");
    }
    let header = &prepared.header;
    for block in 0..=header.block_count() as u32 {
        let k = header.block_symbols(block).ok_or("no block")?;
        let sent = symbols.iter().filter(|(b, _)| *b == block).count() as u32;
        let round1 = k + (k * 50).div_ceil(1000);
        let later = (k * 1050).div_ceil(1000);
        assert_eq!(sent, round1 + 2 * later, "block {block}");
        // Only round 1 carries source symbols.
        let source = symbols
            .iter()
            .filter(|(b, e)| *b == block && *e < k)
            .count() as u32;
        assert_eq!(source, k, "block {block}");
    }
    assert_eq!(
        report.source_symbols + report.repair_symbols,
        symbols.len() as u64
    );
    // Each round starts with the header.
    assert!(headers.len() >= 3);
    // And all three rounds' repair symbols alone rebuild it.
    let only_repair = |i: usize| {
        wire::parse(&datagrams[i]).is_ok_and(|d| match d {
            Datagram::Symbol(s) => header.block_symbols(s.block).is_some_and(|k| s.esi < k),
            _ => false,
        })
    };
    assert_eq!(rebuild(&datagrams, &key(), only_repair)?, bytes);
    Ok(())
}

#[test]
fn a_restarted_sender_announces_the_same_transfer() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = write(dir.path(), "a.zb", &bundle(5, 50_000)?)?;
    let params = params(64, 50, 8, 1)?;
    let first = prepare(&path, &key(), &params)?;
    let again = prepare(&path, &key(), &params)?;
    assert_eq!(first.signed.id, again.signed.id);
    assert_eq!(
        first.signed.datagram, again.signed.datagram,
        "Ed25519 signs deterministically"
    );
    // Other parameters make another transfer (the receiver must not mix their symbols).
    let other = prepare(&path, &key(), &params_with_overhead(60)?)?;
    assert_ne!(first.signed.id, other.signed.id);
    let bigger_blocks = prepare(&path, &key(), &self::params(128, 50, 8, 1)?)?;
    assert_ne!(first.signed.id, bigger_blocks.signed.id);
    // Another bundle, another transfer.
    let path2 = write(dir.path(), "b.zb", &bundle(6, 50_000)?)?;
    assert_ne!(first.signed.id, prepare(&path2, &key(), &params)?.signed.id);
    Ok(())
}

fn params_with_overhead(per_mille: u16) -> Result<SendParams, ParamError> {
    params(64, per_mille, 8, 1)
}

#[test]
fn files_that_are_not_bundles_are_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let params = params(64, 50, 8, 1)?;
    let real = bundle(8, 10_000)?;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.zb", Vec::new()),
        ("text.zb", b"hello, this is not a bundle\n".to_vec()),
        ("zeros.zb", vec![0; 10_000]),
        ("truncated.zb", real[..40].to_vec()),
    ];
    for (name, bytes) in cases {
        let path = write(dir.path(), name, &bytes)?;
        let err = prepare(&path, &key(), &params);
        assert!(
            matches!(err, Err(PrepareError::NotABundle { .. })),
            "{name}: {err:?}"
        );
        let text = err
            .map(|_| ())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            text.contains(name) && text.contains("is not a bundle"),
            "{text}"
        );
    }
    let missing = prepare(&dir.path().join("missing.zb"), &key(), &params);
    assert!(
        matches!(missing, Err(PrepareError::Read { .. })),
        "{missing:?}"
    );
    let folder = prepare(dir.path(), &key(), &params);
    assert!(
        matches!(folder, Err(PrepareError::NotAFile { .. })),
        "{folder:?}"
    );
    Ok(())
}

#[test]
fn heartbeats_are_signed_and_name_the_transfer_in_hand() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = write(dir.path(), "a.zb", &bundle(9, 100_000)?)?;
    let mut params = params(16, 50, 2, 1)?;
    // Slow enough that the transfer takes several heartbeat intervals.
    params.rate_bps = 4_000_000;
    params.heartbeat = Duration::from_millis(20);
    let prepared = prepare(&path, &key(), &params)?;
    let (datagrams, report) = send_and_collect(key(), params, &prepared)?;
    let mut beats = Vec::new();
    for (index, datagram) in datagrams.iter().enumerate() {
        if let Datagram::Heartbeat(signed) = wire::parse(datagram)? {
            assert!(key().public_key().verify_in(
                SigningDomain::DiodeHeartbeat,
                signed.body,
                signed.signature
            ));
            beats.push((index, Heartbeat::decode(signed.body)?));
        }
    }
    assert!(beats.len() >= 3, "{} heartbeats", beats.len());
    assert_eq!(beats.len() as u64, report.heartbeats);
    for (index, beat) in &beats {
        // `sent` counts this session's datagrams, this one included.
        assert_eq!(beat.sent, *index as u64 + 1);
        assert_eq!(beat.session, beats[0].1.session);
        assert_eq!(beat.interval_millis, 20);
        assert_eq!(beat.key_id, key().public_key().key_id());
    }
    // The first may go before the transfer is announced; the others name it.
    assert!(
        beats[1..]
            .iter()
            .all(|(_, b)| b.transfer == Some(prepared.signed.id))
    );
    Ok(())
}

#[test]
fn a_sender_heartbeats_while_idle_and_each_process_has_its_own_session() -> TestResult {
    let receiver = UdpSocket::bind("127.0.0.1:0")?;
    receiver.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.connect(receiver.local_addr()?)?;
        let mut sender = Sender::new(socket, key(), params(64, 50, 8, 1)?)?;
        let wait = sender.tick()?;
        assert!(
            wait > Duration::from_secs(3000),
            "next heartbeat in an hour: {wait:?}"
        );
        assert!(sender.tick()? > Duration::ZERO, "not due again");
        assert_eq!(sender.heartbeats(), 1);
        let mut buffer = [0u8; 2048];
        let n = receiver.recv(&mut buffer)?;
        let Datagram::Heartbeat(signed) = wire::parse(&buffer[..n])? else {
            return Err("not a heartbeat".into());
        };
        let beat = Heartbeat::decode(signed.body)?;
        assert_eq!((beat.sent, beat.transfer), (1, None));
        sessions.push(beat.session);
    }
    assert_ne!(sessions[0], sessions[1]);
    Ok(())
}

/// What the sender emits, fed to the real receiver with the round's first headers lost (and
/// with them, or without, the table's round symbols): the symbols that come before the first
/// header that arrives wait for it, and the table comes from the out-of-round symbols after
/// each repeated header, so the bundle is delivered within the same single round.
#[test]
fn a_receiver_that_missed_the_rounds_first_headers_delivers_in_that_round() -> TestResult {
    use super::super::receive::Receiver;
    use super::super::receive::config::Config;
    use super::super::receive::event::Event;

    let dir = tempfile::tempdir()?;
    let bytes = bundle(5, 1_500_000)?;
    let path = write(
        dir.path(),
        "dev~pci~release~000000000005~p-1.0.5.zb",
        &bytes,
    )?;
    let params = params(16, 300, 4, 1)?;
    let prepared = prepare(&path, &key(), &params)?;
    let (datagrams, _) = send_and_collect(key(), params, &prepared)?;
    let (_, headers) = symbols_of(&datagrams)?;
    assert!(headers.len() >= 5, "{headers:?}");
    let policy = crate::diode::test_policy::policy("pci", &[(&key(), "diode", "dev", None)]);
    let round_table = |d: &[u8]| matches!(wire::parse(d), Ok(Datagram::Symbol(s)) if s.block == 0 && s.esi < wire::OUT_OF_ROUND_ESI);
    // (headers lost from the start, whether the table's round symbols are lost too)
    for (lost_headers, table_lost) in [(2, false), (3, false), (2, true), (4, true)] {
        let inbox = tempfile::tempdir()?;
        let (mut receiver, _) = Receiver::open(
            Config::new(inbox.path().to_owned(), 64 << 20),
            policy.clone(),
            std::time::Instant::now(),
        )?;
        let now = std::time::Instant::now();
        let events: Vec<Event> = datagrams
            .iter()
            .enumerate()
            .filter(|(i, d)| !(headers[..lost_headers].contains(i) || table_lost && round_table(d)))
            .flat_map(|(_, d)| receiver.datagram(d, now))
            .collect();
        assert!(
            events.iter().any(|e| matches!(e, Event::Delivered(_))),
            "{lost_headers} headers lost, table lost {table_lost}: {events:?}"
        );
        let delivered = std::fs::read(inbox.path().join(&prepared.header.name))?;
        assert_eq!(Sha256::digest(&delivered), Sha256::digest(&bytes));
    }
    Ok(())
}
