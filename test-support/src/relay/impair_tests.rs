use super::*;

fn datagram(i: u32) -> Vec<u8> {
    let mut d = vec![0u8; 100];
    d[..4].copy_from_slice(&i.to_be_bytes());
    let crc = crc32fast::hash(&d[..96]);
    d[96..].copy_from_slice(&crc.to_be_bytes());
    d
}

fn run(settings: &Settings, seed: u64, n: u32) -> (Vec<Vec<u8>>, Counts) {
    let mut relay = Impairer::new(settings.clone(), seed);
    let mut out = Vec::new();
    for i in 0..n {
        relay.push(datagram(i), &mut out);
    }
    relay.flush(&mut out);
    (out, relay.counts)
}

fn close(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance * want
}

#[test]
fn uniform_loss_drops_its_share_and_forwards_the_rest_in_order() {
    for (seed, loss) in [(11, 0.01), (12, 0.05), (13, 0.2)] {
        let settings = Settings {
            loss,
            ..Settings::default()
        };
        let (out, counts) = run(&settings, seed, 100_000);
        let rate = counts.dropped as f64 / 100_000.0;
        assert!(
            close(rate, loss, 0.1),
            "seed {seed}: wanted {loss}, dropped {rate}"
        );
        assert_eq!(counts.forwarded + counts.dropped, 100_000);
        assert_eq!(out.len() as u64, counts.forwarded);
        let ids: Vec<u32> = out
            .iter()
            .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "seed {seed}: reordered"
        );
    }
}

/// The runs of consecutive drops, by arrival index.
fn burst_lengths(settings: &Settings, seed: u64, n: u32) -> (f64, Vec<u64>) {
    let (out, counts) = run(settings, seed, n);
    let mut kept = vec![false; n as usize];
    for d in &out {
        kept[u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize] = true;
    }
    let mut runs = Vec::new();
    let mut current = 0;
    for k in kept {
        if k {
            if current > 0 {
                runs.push(current);
            }
            current = 0;
        } else {
            current += 1;
        }
    }
    (counts.dropped as f64 / f64::from(n), runs)
}

#[test]
fn bursty_loss_keeps_the_long_run_rate_with_bursts_of_the_mean_length() {
    for (seed, loss, burst) in [(21, 0.01, 4.0), (22, 0.05, 8.0), (23, 0.01, 2.0)] {
        let settings = Settings {
            loss,
            burst: Some(burst),
            ..Settings::default()
        };
        let (rate, runs) = burst_lengths(&settings, seed, 400_000);
        assert!(
            close(rate, loss, 0.15),
            "seed {seed}: wanted {loss}, dropped {rate}"
        );
        let mean = runs.iter().sum::<u64>() as f64 / runs.len() as f64;
        assert!(
            close(mean, burst, 0.15),
            "seed {seed}: mean burst {mean}, wanted {burst}"
        );
    }
}

#[test]
fn uniform_loss_has_bursts_of_about_one() {
    let settings = Settings {
        loss: 0.05,
        ..Settings::default()
    };
    let (_, runs) = burst_lengths(&settings, 31, 200_000);
    let mean = runs.iter().sum::<u64>() as f64 / runs.len() as f64;
    // Geometric with p = 0.05: mean 1 / 0.95.
    assert!(close(mean, 1.0 / 0.95, 0.05), "mean burst {mean}");
}

#[test]
fn the_same_seed_gives_the_same_output_and_another_seed_another() {
    let settings = Settings {
        loss: 0.05,
        burst: Some(3.0),
        reorder: 0.05,
        duplicate: 0.05,
        corrupt: 0.05,
        corrupt_fix_crc: true,
        truncate: 0.05,
    };
    let a = run(&settings, 7, 5_000);
    let b = run(&settings, 7, 5_000);
    let c = run(&settings, 8, 5_000);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}

#[test]
fn duplication_sends_its_share_twice() {
    let settings = Settings {
        duplicate: 0.1,
        ..Settings::default()
    };
    let (out, counts) = run(&settings, 41, 50_000);
    assert!(close(counts.duplicated as f64 / 50_000.0, 0.1, 0.1));
    assert_eq!(out.len() as u64, 50_000 + counts.duplicated);
    let twice = out.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    assert_eq!(twice, counts.duplicated);
}

#[test]
fn reordering_holds_back_and_sends_everything_late_but_nothing_lost() {
    for seed in [51, 52, 53] {
        let settings = Settings {
            reorder: 0.1,
            ..Settings::default()
        };
        let (out, counts) = run(&settings, seed, 20_000);
        assert!(close(counts.reordered as f64 / 20_000.0, 0.1, 0.15));
        assert_eq!(out.len(), 20_000);
        let mut ids: Vec<u32> = out
            .iter()
            .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
            .collect();
        let late = ids.windows(2).filter(|w| w[0] > w[1]).count() as u64;
        assert!(
            late > 0 && late <= counts.reordered,
            "seed {seed}: {late} late"
        );
        // Held back by at most 3 arrivals (plus the other held ones released beside it).
        for (pos, id) in ids.iter().enumerate() {
            assert!(
                pos as i64 - i64::from(*id) <= 6,
                "seed {seed}: {id} sent at {pos}"
            );
        }
        ids.sort_unstable();
        assert!(ids.iter().enumerate().all(|(i, id)| i as u32 == *id));
    }
}

#[test]
fn corruption_flips_bits_and_fix_crc_makes_the_crc_match_again() {
    for fix in [false, true] {
        let settings = Settings {
            corrupt: 0.2,
            corrupt_fix_crc: fix,
            ..Settings::default()
        };
        let (out, counts) = run(&settings, 61, 10_000);
        assert!(close(counts.corrupted as f64 / 10_000.0, 0.2, 0.1));
        let damaged: Vec<&Vec<u8>> = out
            .iter()
            .enumerate()
            .filter(|(i, d)| **d != datagram(*i as u32))
            .map(|(_, d)| d)
            .collect();
        // Nothing is lost or moved here, so position i holds datagram i.
        let crc_ok = damaged
            .iter()
            .filter(|d| crc32fast::hash(&d[..96]).to_be_bytes() == d[96..])
            .count() as u64;
        assert_eq!(damaged.len() as u64, counts.corrupted);
        if fix {
            assert_eq!(crc_ok, counts.corrupted, "fix-crc left a bad CRC");
        } else {
            // Bits flipped in the CRC itself or the body: a CRC-32 catches 1 to 3 flips.
            assert_eq!(crc_ok, 0, "a corrupted datagram still had a good CRC");
        }
    }
}

#[test]
fn truncation_cuts_to_a_shorter_nonempty_datagram() {
    let settings = Settings {
        truncate: 0.1,
        ..Settings::default()
    };
    let (out, counts) = run(&settings, 71, 20_000);
    assert!(close(counts.truncated as f64 / 20_000.0, 0.1, 0.1));
    let short: Vec<usize> = out.iter().map(Vec::len).filter(|&l| l < 100).collect();
    assert_eq!(short.len() as u64, counts.truncated);
    assert!(short.iter().all(|&l| l >= 1));
    assert!(short.iter().any(|&l| l < 10) && short.iter().any(|&l| l > 90));
}

#[test]
fn settings_out_of_range_are_refused_with_the_flag_named() {
    let bad = [
        (
            Settings {
                loss: 1.5,
                ..Settings::default()
            },
            "--loss",
        ),
        (
            Settings {
                corrupt: -0.1,
                ..Settings::default()
            },
            "--corrupt",
        ),
        (
            Settings {
                truncate: f64::NAN,
                ..Settings::default()
            },
            "--truncate",
        ),
        (
            Settings {
                loss: 0.01,
                burst: Some(0.5),
                ..Settings::default()
            },
            "--burst",
        ),
        (
            Settings {
                loss: 1.0,
                burst: Some(2.0),
                ..Settings::default()
            },
            "--burst",
        ),
    ];
    for (settings, flag) in bad {
        let err = settings.validate().err().unwrap_or_default();
        assert!(err.contains(flag), "{settings:?}: {err:?}");
    }
    assert!(
        Settings {
            loss: 0.05,
            burst: Some(4.0),
            ..Settings::default()
        }
        .validate()
        .is_ok()
    );
}

#[test]
fn stats_json_names_every_count() {
    let counts = Counts {
        received: 1,
        forwarded: 2,
        dropped: 3,
        reordered: 4,
        duplicated: 5,
        corrupted: 6,
        truncated: 7,
        send_errors: 8,
    };
    assert_eq!(
        counts.to_json(),
        "{\"received\":1,\"forwarded\":2,\"dropped\":3,\"reordered\":4,\"duplicated\":5,\"corrupted\":6,\"truncated\":7,\"send_errors\":8}"
    );
}
