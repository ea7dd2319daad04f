//! The receiver against crafted transfers: loss, reordering, duplicates, corruption,
//! forgeries, floods, restarts and repeats. No network.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bundle_format::keys::SigningKey;

use super::craft::{Crafted, Rng, bundle, fix_crc, key, policy};
use super::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Site {
    _root: tempfile::TempDir,
    inbox: PathBuf,
}

fn site() -> Result<Site, std::io::Error> {
    let root = tempfile::tempdir()?;
    let inbox = root.path().join("inbox");
    std::fs::create_dir(&inbox)?;
    Ok(Site { _root: root, inbox })
}

fn config(inbox: &Path) -> Config {
    Config::new(inbox.to_owned(), 64 << 20)
}

fn signer() -> SigningKey {
    key(1)
}

fn trusting() -> TrustPolicy {
    policy("pci", &[(&signer(), "release", "dev")])
}

fn open(config: Config) -> Result<(Receiver, Vec<Event>), ReceiveError> {
    Receiver::open(config, trusting(), Instant::now())
}

/// Feeds every datagram; returns the events.
fn feed(receiver: &mut Receiver, datagrams: &[Vec<u8>]) -> Vec<Event> {
    let now = Instant::now();
    datagrams
        .iter()
        .flat_map(|d| receiver.datagram(d, now))
        .collect()
}

fn delivered(events: &[Event]) -> Vec<&Delivery> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Delivered(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn inbox_files(inbox: &Path) -> Result<Vec<String>, std::io::Error> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(inbox)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn transfer(bytes: usize, sequence: u64, overhead: u16) -> (Vec<u8>, Crafted) {
    let data = bundle(bytes, sequence as u8);
    let crafted = Crafted::new(&signer(), &data, sequence, 64, 16, overhead);
    (data, crafted)
}

fn assert_bounded(receiver: &Receiver, config: &Config) {
    assert_eq!(receiver.memory_held(), receiver.memory_recounted());
    assert!(receiver.memory_held() <= config.max_memory);
    assert!(receiver.disk_held() <= config.max_disk);
}

#[test]
fn a_transfer_without_loss_is_delivered_whole() -> TestResult {
    for len in [1usize, 63, 64 * 16, 64 * 16 + 1, 20_000] {
        let site = site()?;
        let (data, crafted) = transfer(len, 7, 50);
        let (mut receiver, _) = open(config(&site.inbox))?;
        let events = feed(&mut receiver, &crafted.round(0));
        let got = delivered(&events);
        assert_eq!(got.len(), 1, "length {len}: {events:?}");
        assert_eq!(got[0].name, crafted.header.name);
        assert_eq!(got[0].loss_percent, 0.0);
        assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
        assert_eq!(inbox_files(&site.inbox)?, vec![crafted.header.name.clone()]);
        assert_eq!(receiver.memory_held(), 0, "nothing held after delivery");
        assert_eq!(receiver.transfers(), 0);
    }
    Ok(())
}

#[test]
fn random_and_bursty_loss_is_repaired_by_later_rounds() -> TestResult {
    for (seed, loss, burst) in [
        (1, 0.01, 1.0),
        (2, 0.05, 1.0),
        (3, 0.2, 1.0),
        (4, 0.01, 8.0),
    ] {
        let site = site()?;
        let (data, crafted) = transfer(30_000, 3, 50);
        let (mut receiver, _) = open(config(&site.inbox))?;
        let mut rng = Rng::new(seed);
        let mut events = Vec::new();
        let mut losing = false;
        for round in 0..6 {
            let mut kept = Vec::new();
            for d in crafted.round(round) {
                // Bursts: a loss starts with p / burst and goes on with 1 - 1 / burst.
                losing = if losing {
                    rng.chance(1.0 - 1.0 / burst)
                } else {
                    rng.chance(loss / burst)
                };
                if !losing {
                    kept.push(d);
                }
            }
            events.extend(feed(&mut receiver, &kept));
        }
        let got = delivered(&events);
        assert_eq!(got.len(), 1, "seed {seed}: {events:?}");
        assert!(got[0].loss_percent > 0.0, "seed {seed}: loss was seen");
        assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
        if loss >= 0.05 {
            assert!(
                events.iter().any(|e| matches!(e, Event::Advice { .. })),
                "seed {seed}: advice at {loss} loss against 5% overhead"
            );
        }
    }
    Ok(())
}

#[test]
fn reordered_and_duplicated_datagrams_deliver_once() -> TestResult {
    for seed in 1..4 {
        let site = site()?;
        let (data, crafted) = transfer(12_345, 9, 100);
        let (mut receiver, _) = open(config(&site.inbox))?;
        let mut rng = Rng::new(seed);
        let mut datagrams = crafted.round(0);
        let copies: Vec<_> = datagrams
            .iter()
            .filter(|_| rng.chance(0.3))
            .cloned()
            .collect();
        datagrams.extend(copies);
        // The header first (a symbol before it is dropped), then everything in any order.
        let header = crafted.header_datagram();
        rng.shuffle(&mut datagrams);
        datagrams.insert(0, header);
        let mut events = feed(&mut receiver, &datagrams);
        events.extend(feed(&mut receiver, &crafted.round(1)));
        let got = delivered(&events);
        assert_eq!(got.len(), 1, "seed {seed}");
        assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    }
    Ok(())
}

#[test]
fn symbols_before_their_header_wait_for_it_within_a_fixed_budget() -> TestResult {
    let site = site()?;
    let (data, crafted) = transfer(5_000, 2, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    let symbols: Vec<_> = crafted
        .round(0)
        .into_iter()
        .filter(|d| d != &crafted.header_datagram())
        .collect();
    // Without their header: nothing opens, nothing is delivered, nothing is counted as
    // memory of a transfer; the symbols wait.
    let events = feed(&mut receiver, &symbols);
    assert!(delivered(&events).is_empty());
    assert_eq!(receiver.memory_held(), 0);
    assert_eq!(receiver.transfers(), 0);
    assert_eq!(receiver.drops().get("unknown-transfer"), None);
    // The header, late: the waiting symbols are enough to deliver at once.
    let events = feed(&mut receiver, &[crafted.header_datagram()]);
    assert_eq!(delivered(&events).len(), 1);
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    // Symbols of the delivered transfer no longer wait.
    feed(&mut receiver, &symbols[..3]);
    assert_eq!(receiver.drops().get("already-delivered"), Some(&3));
    Ok(())
}

/// Flips a byte of a symbol datagram's data and fixes its CRC: damage the CRC cannot see.
fn corrupt(datagram: &mut [u8]) {
    datagram[30] ^= 0x5a;
    fix_crc(datagram);
}

fn is_symbol_of(datagram: &[u8], block: u32) -> bool {
    datagram.get(5) == Some(&2) && datagram.get(14..18) == Some(&block.to_be_bytes()[..])
}

#[test]
fn a_corrupted_symbol_with_a_valid_crc_never_gives_a_wrong_bundle() -> TestResult {
    for block in [0u32, 1, 2] {
        let site = site()?;
        let (data, crafted) = transfer(3_000, 4, 50);
        let (mut receiver, _) = open(config(&site.inbox))?;
        let mut first = crafted.round(0);
        let target = first
            .iter()
            .position(|d| is_symbol_of(d, block))
            .ok_or("no symbol of the block")?;
        corrupt(&mut first[target]);
        let events = feed(&mut receiver, &first);
        assert!(
            delivered(&events).is_empty(),
            "block {block}: not from round 1"
        );
        assert!(inbox_files(&site.inbox)?.is_empty());
        assert_eq!(receiver.drops().get("block-mismatch"), Some(&1));
        // Fresh symbols of the next round rebuild the block correctly.
        let events = feed(&mut receiver, &crafted.round(1));
        assert_eq!(delivered(&events).len(), 1, "block {block}");
        assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    }
    Ok(())
}

#[test]
fn corruption_in_every_round_delivers_nothing_rather_than_something_wrong() -> TestResult {
    let site = site()?;
    let (_, crafted) = transfer(3_000, 5, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    let mut rng = Rng::new(9);
    for round in 0..4 {
        let mut datagrams = crafted.round(round);
        for d in datagrams.iter_mut().filter(|d| is_symbol_of(d, 1)) {
            if rng.chance(0.5) {
                corrupt(d);
            }
        }
        let events = feed(&mut receiver, &datagrams);
        assert!(delivered(&events).is_empty(), "round {round}");
    }
    assert!(inbox_files(&site.inbox)?.is_empty());
    assert!(receiver.drops().get("block-mismatch").copied().unwrap_or(0) >= 4);
    Ok(())
}

#[test]
fn truncated_and_garbage_datagrams_are_counted_and_ignored() -> TestResult {
    let site = site()?;
    let (_, crafted) = transfer(3_000, 6, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    let mut rng = Rng::new(5);
    let mut junk: Vec<Vec<u8>> = vec![Vec::new(), b"ZBDI".to_vec(), vec![0; 65_000]];
    for d in crafted.round(0).iter().take(40) {
        let cut = (rng.next() as usize) % d.len();
        junk.push(d[..cut].to_vec());
        let mut flipped = d.clone();
        let at = (rng.next() as usize) % d.len();
        flipped[at] ^= 1 << (rng.next() % 8);
        junk.push(flipped);
    }
    for _ in 0..200 {
        let len = (rng.next() % 1600) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.chance(0.5) && d.len() > 6 {
            d[..6].copy_from_slice(b"ZBDI\x01\x02");
        }
        junk.push(d);
    }
    let events = feed(&mut receiver, &junk);
    assert!(delivered(&events).is_empty());
    assert_eq!(receiver.transfers(), 0);
    let dropped: u64 = receiver.drops().values().sum();
    assert_eq!(dropped, junk.len() as u64, "{:?}", receiver.drops());
    assert!(receiver.drops().get("crc").copied().unwrap_or(0) > 0);
    assert!(receiver.drops().get("malformed").copied().unwrap_or(0) > 0);
    assert!(
        events.iter().any(|e| matches!(e, Event::Ignored(_))),
        "reported once"
    );
    Ok(())
}

#[test]
fn forged_headers_never_open_a_transfer() -> TestResult {
    let site = site()?;
    let data = bundle(3_000, 1);
    let stranger = key(9);
    let unknown = Crafted::new(&stranger, &data, 11, 64, 16, 50);
    let mut bad_signature = Crafted::new(&signer(), &data, 12, 64, 16, 50).header_datagram();
    let at = bad_signature.len() - 10;
    bad_signature[at] ^= 1;
    fix_crc(&mut bad_signature);
    let mut wrong_body = Crafted::new(&signer(), &data, 13, 64, 16, 50).header_datagram();
    wrong_body[40] ^= 1;
    fix_crc(&mut wrong_body);
    let role = Receiver::open(
        config(&site.inbox),
        policy("pci", &[(&signer(), "result", "dev")]),
        Instant::now(),
    )?;
    let zone = Receiver::open(
        config(&site.inbox),
        policy("pci", &[(&signer(), "release", "test")]),
        Instant::now(),
    )?;
    let elsewhere = Receiver::open(
        config(&site.inbox),
        policy("prod", &[(&signer(), "release", "dev")]),
        Instant::now(),
    )?;
    let good = Crafted::new(&signer(), &data, 14, 64, 16, 50);
    for (mut receiver, datagrams) in [
        (open(config(&site.inbox))?.0, unknown.round(0)),
        (open(config(&site.inbox))?.0, vec![bad_signature]),
        (open(config(&site.inbox))?.0, vec![wrong_body]),
        (role.0, good.round(0)),
        (zone.0, good.round(0)),
        (elsewhere.0, good.round(0)),
    ] {
        let events = feed(&mut receiver, &datagrams);
        assert!(delivered(&events).is_empty());
        assert_eq!(receiver.transfers(), 0);
        assert!(
            receiver.totals().forged_headers
                + receiver.drops().get("bad-header").copied().unwrap_or(0)
                >= 1
        );
        assert_eq!(receiver.memory_held(), 0);
    }
    assert!(inbox_files(&site.inbox)?.is_empty());
    Ok(())
}

#[test]
fn a_flood_of_forged_headers_and_random_symbols_stays_within_the_bounds() -> TestResult {
    let site = site()?;
    let mut config = config(&site.inbox);
    config.max_memory = 64 * 1024;
    let (data, crafted) = transfer(40_000, 8, 50);
    let (mut receiver, _) = open(config.clone())?;
    let mut rng = Rng::new(77);
    let forged = crafted.header_datagram();
    let now = Instant::now();
    // Headers naming the trusted key with broken signatures, twice as many as the bucket
    // holds: each costs a token at most, and the rest are not checked at all.
    let flood = config.header_checks_per_second * 2;
    for i in 0..flood {
        let mut d = forged.clone();
        let at = d.len() - 5 - (i as usize % 60);
        d[at] ^= (i % 255 + 1) as u8;
        fix_crc(&mut d);
        receiver.datagram(&d, now);
    }
    assert!(receiver.drops().get("header-rate").copied().unwrap_or(0) >= u64::from(flood / 2 - 1));
    assert!(receiver.totals().forged_headers <= u64::from(config.header_checks_per_second) + 1);
    // The real header gets in (a token came back), then random symbols of its transfer.
    receiver.datagram(&crafted.header_datagram(), now + Duration::from_secs(2));
    assert_eq!(receiver.transfers(), 1);
    for _ in 0..20_000 {
        let block = (rng.next() % 40) as u32;
        let esi = (rng.next() % 5_000) as u32;
        let junk: Vec<u8> = (0..64).map(|_| rng.next() as u8).collect();
        receiver.datagram(&crafted.symbol(block, esi, &junk), now);
        assert!(receiver.memory_held() <= config.max_memory);
    }
    assert_bounded(&receiver, &config);
    assert!(
        inbox_files(&site.inbox)?.is_empty(),
        "garbage never delivers"
    );
    // The real transfer still gets through afterwards.
    let mut events = Vec::new();
    for round in 0..4 {
        events.extend(feed(&mut receiver, &crafted.round(round)));
        assert_bounded(&receiver, &config);
    }
    assert_eq!(delivered(&events).len(), 1, "{:?}", receiver.drops());
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    Ok(())
}

#[test]
fn memory_stays_bounded_when_many_blocks_are_collected_at_once() -> TestResult {
    let site = site()?;
    let mut config = config(&site.inbox);
    config.max_memory = 16 * 1024;
    let (data, crafted) = transfer(64 * 16 * 30, 12, 50);
    let (mut receiver, _) = open(config.clone())?;
    let mut rng = Rng::new(3);
    let mut events = Vec::new();
    for round in 0..8 {
        let mut datagrams = crafted.round(round);
        rng.shuffle(&mut datagrams);
        datagrams.insert(0, crafted.header_datagram());
        for d in &datagrams {
            events.extend(receiver.datagram(d, Instant::now()));
            assert!(receiver.memory_held() <= config.max_memory);
        }
        assert_bounded(&receiver, &config);
    }
    assert_eq!(delivered(&events).len(), 1, "{:?}", receiver.drops());
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    Ok(())
}

#[test]
fn bounds_refuse_big_bundles_extra_transfers_and_full_disks() -> TestResult {
    let site = site()?;
    let mut small = config(&site.inbox);
    small.max_bundle = 2_999;
    let (_, crafted) = transfer(3_000, 1, 50);
    let (mut receiver, _) = open(small)?;
    let events = feed(&mut receiver, &crafted.round(0));
    assert!(delivered(&events).is_empty());
    assert_eq!(receiver.transfers(), 0);
    assert!(receiver.drops().get("too-big").copied().unwrap_or(0) >= 1);

    let site = self::site()?;
    let mut four = config(&site.inbox);
    four.max_transfers = 4;
    let (mut receiver, _) = open(four)?;
    let crafted: Vec<_> = (1..=6).map(|s| transfer(3_000, s, 50).1).collect();
    for c in &crafted {
        receiver.datagram(&c.header_datagram(), Instant::now());
    }
    assert_eq!(receiver.transfers(), 4);
    assert!(
        receiver
            .drops()
            .get("too-many-transfers")
            .copied()
            .unwrap_or(0)
            >= 2
    );

    let site = self::site()?;
    let mut disk = config(&site.inbox);
    disk.max_disk = 5_000;
    let (mut receiver, _) = open(disk.clone())?;
    for c in &crafted {
        receiver.datagram(&c.header_datagram(), Instant::now());
    }
    assert_eq!(receiver.transfers(), 1);
    assert!(receiver.disk_held() <= disk.max_disk);
    assert!(receiver.drops().get("disk-full").copied().unwrap_or(0) >= 1);
    Ok(())
}

#[test]
fn wrong_blocks_sizes_and_esis_never_panic() -> TestResult {
    let site = site()?;
    let (_, crafted) = transfer(3_000, 2, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    receiver.datagram(&crafted.header_datagram(), Instant::now());
    let cases = [
        crafted.symbol(99, 0, &[0; 64]),
        crafted.symbol(u32::MAX, 0, &[0; 64]),
        crafted.symbol(1, 0, &[0; 63]),
        crafted.symbol(1, 0, &[0; 65]),
        crafted.symbol(0, wire::MAX_ESI, &[0; 64]),
        crafted.symbol(1, 0, &[0; 1440]),
    ];
    feed(&mut receiver, &cases);
    assert_eq!(receiver.drops().get("no-such-block"), Some(&2));
    assert!(
        receiver.drops().get("wrong-size").copied().unwrap_or(0) >= 3,
        "{:?}",
        receiver.drops()
    );
    let events = feed(&mut receiver, &crafted.round(1));
    assert_eq!(delivered(&events).len(), 1, "the good symbols still decode");
    Ok(())
}

#[test]
fn a_restart_in_the_middle_resumes_from_the_disk() -> TestResult {
    let site = site()?;
    let (data, crafted) = transfer(64 * 16 * 5 + 100, 21, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    let first = crafted.round(0);
    let half = first.len() / 2;
    assert!(delivered(&feed(&mut receiver, &first[..half])).is_empty());
    drop(receiver);
    assert!(
        inbox_files(&site.inbox)?.is_empty(),
        "nothing partial in the inbox"
    );

    let (mut receiver, events) = open(config(&site.inbox))?;
    let resumed = events.iter().find_map(|e| match e {
        Event::Opened { resumed_blocks, .. } => Some(*resumed_blocks),
        _ => None,
    });
    assert!(resumed.is_some_and(|n| n >= 1), "{events:?}");
    // The rest of the first round and a second round: the blocks on disk are not needed
    // again (the block cut by the restart is, its symbols were in memory only).
    let mut rest = vec![crafted.header_datagram()];
    rest.extend_from_slice(&first[half..]);
    let mut events = feed(&mut receiver, &rest);
    events.extend(feed(&mut receiver, &crafted.round(1)));
    assert_eq!(delivered(&events).len(), 1, "{events:?}");
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);

    // A damaged partial file is rehashed, not trusted.
    let site = self::site()?;
    let (mut receiver, _) = open(config(&site.inbox))?;
    feed(&mut receiver, &first[..half]);
    drop(receiver);
    let staging = crate::publish::staging_dir(&site.inbox)?;
    let part = staging.join(format!("{}.part", store::stem(&crafted.signed.id)));
    let mut bytes = std::fs::read(&part)?;
    bytes[10] ^= 0xff;
    std::fs::write(&part, &bytes)?;
    let (mut receiver, events) = open(config(&site.inbox))?;
    let damaged = events.iter().find_map(|e| match e {
        Event::Opened { resumed_blocks, .. } => Some(*resumed_blocks),
        _ => None,
    });
    assert_eq!(
        damaged,
        resumed.map(|n| n - 1),
        "block 1 is collected again"
    );
    let mut events = feed(&mut receiver, &rest);
    events.extend(feed(&mut receiver, &crafted.round(1)));
    assert_eq!(delivered(&events).len(), 1);
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    Ok(())
}

#[test]
fn the_same_bundle_sent_twice_gives_one_file() -> TestResult {
    let site = site()?;
    let (data, crafted) = transfer(5_000, 31, 50);
    let (mut receiver, _) = open(config(&site.inbox))?;
    assert_eq!(delivered(&feed(&mut receiver, &crafted.round(0))).len(), 1);
    // Again, the same transfer; then the same bundle with other parameters (another id).
    assert!(delivered(&feed(&mut receiver, &crafted.round(0))).is_empty());
    let other = Crafted::new(&signer(), &data, 31, 128, 8, 100);
    assert_ne!(other.signed.id, crafted.signed.id);
    assert!(delivered(&feed(&mut receiver, &other.round(0))).is_empty());
    // After a restart, and after the watch moved the file to done/.
    drop(receiver);
    std::fs::create_dir(site.inbox.join("done"))?;
    std::fs::rename(
        site.inbox.join(&crafted.header.name),
        site.inbox.join("done").join(&crafted.header.name),
    )?;
    let (mut receiver, _) = open(config(&site.inbox))?;
    assert!(delivered(&feed(&mut receiver, &other.round(0))).is_empty());
    assert!(inbox_files(&site.inbox)?.is_empty());
    assert_eq!(receiver.transfers(), 0);
    assert!(
        receiver
            .drops()
            .get("already-delivered")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    Ok(())
}

#[test]
fn a_name_already_in_the_inbox_is_left_alone() -> TestResult {
    let site = site()?;
    let (_, crafted) = transfer(5_000, 32, 50);
    std::fs::write(site.inbox.join(&crafted.header.name), b"someone else's")?;
    let (mut receiver, _) = open(config(&site.inbox))?;
    assert!(delivered(&feed(&mut receiver, &crafted.round(0))).is_empty());
    assert_eq!(
        std::fs::read(site.inbox.join(&crafted.header.name))?,
        b"someone else's"
    );
    Ok(())
}

#[test]
fn idle_transfers_close_and_the_link_reports_silence_once() -> TestResult {
    let site = site()?;
    let (data, crafted) = transfer(5_000, 41, 50);
    let mut config = config(&site.inbox);
    config.idle = Duration::from_secs(60);
    let start = Instant::now();
    let (mut receiver, _) = Receiver::open(config, trusting(), start)?;
    let first = crafted.round(0);
    for d in &first[..first.len() / 2] {
        receiver.datagram(d, start);
    }
    assert!(receiver.memory_held() > 0);
    let events = receiver.tick(start + Duration::from_secs(11));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::LinkSilent(_)))
            .count(),
        1
    );
    assert!(receiver.link_silent());
    assert!(
        !receiver
            .tick(start + Duration::from_secs(30))
            .iter()
            .any(|e| matches!(e, Event::LinkSilent(_))),
        "once"
    );
    let events = receiver.tick(start + Duration::from_secs(61));
    assert!(events.iter().any(|e| matches!(e, Event::Closed { .. })));
    assert_eq!(receiver.memory_held(), 0, "closed: symbols freed");
    assert_eq!(receiver.transfers(), 1, "file kept");
    let later = start + Duration::from_secs(70);
    let mut events = Vec::new();
    for d in crafted.round(1) {
        events.extend(receiver.datagram(&d, later));
    }
    assert!(events.iter().any(|e| matches!(e, Event::LinkBack(_))));
    assert_eq!(delivered(&events).len(), 1);
    assert_eq!(std::fs::read(site.inbox.join(&crafted.header.name))?, data);
    Ok(())
}

#[test]
fn heartbeats_tell_sessions_and_link_loss() -> TestResult {
    let site = site()?;
    let (mut receiver, _) = open(config(&site.inbox))?;
    let beat = |session: u8, sent: u64| -> Vec<u8> {
        announce::Heartbeat {
            key_id: signer().public_key().key_id(),
            session: [session; 8],
            sent,
            unix_millis: 0,
            interval_millis: 1000,
            transfer: None,
        }
        .sign(&signer())
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let now = Instant::now();
    let events = receiver.datagram(&beat(1, 1), now);
    assert!(events.contains(&Event::Session {
        session: hex::encode([1; 8]),
        restarted: false
    }));
    for _ in 0..89 {
        receiver.datagram(b"lost in transit, say", now);
    }
    receiver.datagram(&beat(1, 101), now);
    let loss = receiver.link_loss().ok_or("no loss figure")?;
    assert!((loss - 0.1).abs() < 1e-9, "{loss}");
    let events = receiver.datagram(&beat(2, 1), now);
    assert!(events.contains(&Event::Session {
        session: hex::encode([2; 8]),
        restarted: true
    }));
    let stranger = announce::Heartbeat {
        key_id: key(9).public_key().key_id(),
        session: [3; 8],
        sent: 1,
        unix_millis: 0,
        interval_millis: 1000,
        transfer: None,
    }
    .sign(&key(9))?;
    receiver.datagram(&stranger, now);
    assert_eq!(receiver.drops().get("forged-heartbeat"), Some(&1));
    Ok(())
}
