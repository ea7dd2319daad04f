//! Damaged datagrams never produce an accepted wrong bundle: the inbox holds the right bytes
//! or nothing. Bit flips the datagram CRC catches are mere loss; flips with the CRC rewritten
//! (`--corrupt-fix-crc`) reach the decoder, and only the block hashes and the bundle digest of
//! the signed header stand between them and the inbox; truncation is caught by the framing.

use std::time::Duration;

use super::{Diode, TestResult, bundle_name};

/// Long enough for a bundle that can arrive (the sender has sent every round already).
const ARRIVES: Duration = Duration::from_secs(20);
/// Long enough for the receiver to have read every datagram of a bundle that cannot arrive.
const NEVER: Duration = Duration::from_secs(3);

const MIB: usize = 1024 * 1024;

/// Sends one bundle of `size` over `relay` with `send` options; returns whether it arrived
/// (right bytes: checked by `right_or_nothing`).
fn damaged(
    relay: &[&str],
    send: &[&str],
    size: usize,
    patience: Duration,
) -> Result<bool, Box<dyn std::error::Error>> {
    let mut diode = Diode::new(relay)?;
    let file = diode.bundle(1, size)?;
    diode.start_receiver(&[])?;
    diode.send(&[&file], send)?;
    // Either it arrives, or the sender has finished every round and nothing more will come.
    let arrived = diode.wait_within(&[bundle_name(1)], patience).is_ok();
    let present = diode.right_or_nothing()?;
    assert_eq!(present.is_empty(), !arrived);
    println!(
        "delivered: {present:?}; relay: {}",
        diode.relay_counts().unwrap_or_default()
    );
    Ok(arrived)
}

#[test]
fn flips_caught_by_the_crc_are_loss_and_the_bundle_still_arrives() -> TestResult {
    for seed in ["200", "201"] {
        assert!(
            damaged(
                &["--seed", seed, "--corrupt", "0.02"],
                &[],
                2 * MIB,
                ARRIVES
            )?,
            "seed {seed}: 2% caught damage is 2% loss, within the 5% overhead"
        );
    }
    Ok(())
}

#[test]
fn flips_behind_a_good_crc_never_deliver_wrong_bytes() -> TestResult {
    // Damage the CRC cannot see: the receiver must notice by the block hashes and wait for
    // more symbols (three rounds of them).
    for (seed, rate) in [("210", "0.002"), ("211", "0.01"), ("212", "0.05")] {
        let arrived = damaged(
            &["--seed", seed, "--corrupt", rate, "--corrupt-fix-crc"],
            &["--rounds", "3"],
            2 * MIB,
            ARRIVES,
        )?;
        println!("seed {seed}, undetectable damage {rate}: arrived {arrived}");
    }
    // Every datagram damaged: no header authenticates, nothing may arrive.
    assert!(!damaged(
        &["--seed", "213", "--corrupt", "1", "--corrupt-fix-crc"],
        &[],
        MIB,
        NEVER
    )?);
    Ok(())
}

#[test]
fn truncated_datagrams_never_deliver_wrong_bytes() -> TestResult {
    assert!(damaged(
        &["--seed", "220", "--truncate", "0.02"],
        &[],
        2 * MIB,
        ARRIVES
    )?);
    damaged(
        &[
            "--seed",
            "221",
            "--truncate",
            "0.05",
            "--corrupt",
            "0.02",
            "--corrupt-fix-crc",
        ],
        &["--rounds", "3"],
        MIB,
        ARRIVES,
    )?;
    assert!(!damaged(
        &["--seed", "222", "--truncate", "1"],
        &[],
        MIB,
        NEVER
    )?);
    Ok(())
}
