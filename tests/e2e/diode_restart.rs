//! Restarts never leave a duplicate or a partial file: the sender killed mid-bundle and run
//! again; the receiver killed (SIGKILL) mid-bundle and started again, the transfer completing
//! from a later round; the same bundle sent twice gives one file.

use std::time::Duration;

use test_support::netns::{Side, Signal};

use super::{Diode, TestResult, bundle_name};

const MIB: usize = 1024 * 1024;

#[test]
fn a_sender_killed_mid_bundle_and_run_again_delivers_one_file() -> TestResult {
    // At 16 Mbit/s a 4 MiB bundle takes about 2 s: the kills land inside it.
    for (seed, kill_after) in [(300u64, 500u64), (301, 1300)] {
        println!("seed {seed}: sender killed after {kill_after} ms");
        let mut diode = Diode::new(&["--seed", &seed.to_string(), "--loss", "0.01"])?;
        diode.rate = "16M";
        let file = diode.bundle(1, 4 * MIB)?;
        diode.start_receiver(&[])?;
        let mut sender = diode.send_command(&[&file], &[])?.spawn()?;
        std::thread::sleep(Duration::from_millis(kill_after));
        sender.kill()?;
        sender.wait()?;
        // Whatever the receiver holds now, the inbox holds no part of the bundle.
        let early = diode.listing()?;
        assert!(
            early.is_empty() || early == [bundle_name(1)],
            "after the kill: {early:?}"
        );
        diode.rate = "80M";
        diode.send(&[&file], &[])?;
        diode.wait_for(&[bundle_name(1)])?;
        diode.finish(&[bundle_name(1)])?;
    }
    Ok(())
}

#[test]
fn a_receiver_killed_mid_bundle_completes_from_a_later_round() -> TestResult {
    // Three rounds of about 2 s each; the receiver dies in the first. Case 2 also loses its
    // state and partial files, as if the disk had been replaced: the later rounds are still
    // enough.
    for (seed, kill_after, wipe_state) in [(310u64, 700u64, false), (311, 1200, true)] {
        println!("seed {seed}: receiver killed after {kill_after} ms, state wiped: {wipe_state}");
        let mut diode = Diode::new(&["--seed", &seed.to_string(), "--loss", "0.01"])?;
        diode.rate = "16M";
        let file = diode.bundle(1, 4 * MIB)?;
        diode.start_receiver(&[])?;
        let mut sender = diode.send_command(&[&file], &["--rounds", "3"])?.spawn()?;
        std::thread::sleep(Duration::from_millis(kill_after));
        diode.kill_receiver()?;
        assert!(diode.listing()?.is_empty(), "a partial file in the inbox");
        if wipe_state {
            for dir in diode.partial_dirs() {
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)?;
                }
            }
            std::fs::create_dir_all(&diode.state)?;
        }
        diode.start_receiver(&[])?;
        let status = sender.wait()?;
        assert!(status.success(), "send: {status}");
        diode.wait_for(&[bundle_name(1)])?;
        diode.finish(&[bundle_name(1)])?;
    }
    Ok(())
}

#[test]
fn a_receiver_stopped_by_sigterm_exits_0_and_leaves_no_partial_file() -> TestResult {
    let mut diode = Diode::new(&["--seed", "320"])?;
    diode.rate = "16M";
    let file = diode.bundle(1, 4 * MIB)?;
    let receiver = diode.start_receiver(&[])?;
    let mut sender = diode.send_command(&[&file], &[])?.spawn()?;
    std::thread::sleep(Duration::from_millis(800));
    diode.link.signal(receiver, Signal::TERM)?;
    sender.wait()?;
    let status = diode.link.wait(receiver, Duration::from_secs(30))?;
    assert!(
        status.success(),
        "receive on SIGTERM: {status}\n{}",
        diode.logs()
    );
    let left = diode.listing()?;
    // It may have finished the bundle in hand; never a part of it.
    assert!(left.is_empty() || left == [bundle_name(1)], "{left:?}");
    assert_eq!(diode.link.tx_packets(Side::Receiver)?, 0);
    Ok(())
}

#[test]
fn a_receiver_down_for_whole_rounds_catches_up_from_the_carousel() -> TestResult {
    // The sender serves an outbox with --carousel: after the bundle's round it keeps sending
    // fresh rounds of it. The receiver starts only once a round has gone by unheard (case 1),
    // or dies (SIGKILL) in the middle of one (case 2).
    for (seed, killed) in [(340u64, false), (341, true)] {
        println!("seed {seed}: receiver killed mid-round: {killed}");
        let mut diode = Diode::new(&["--seed", &seed.to_string(), "--loss", "0.01"])?;
        diode.rate = "16M";
        let file = diode.bundle(1, 2 * MIB)?;
        let outbox = diode.site.path("send-outbox");
        std::fs::create_dir_all(&outbox)?;
        if killed {
            diode.start_receiver(&[])?;
        }
        let mut command = diode.send_command(&[], &["--carousel", "--settle", "0s"])?;
        command.arg("--outbox").arg(&outbox);
        let sender = diode.link.spawn(command)?;
        std::fs::rename(&file, outbox.join(bundle_name(1)))?;
        // A round of 2 MiB at 16 Mbit/s takes about 1.1 s: kill the receiver inside the
        // first, and leave it down until that round has gone by.
        if killed {
            std::thread::sleep(Duration::from_millis(500));
            diode.kill_receiver()?;
            assert!(diode.listing()?.is_empty(), "a partial file in the inbox");
        }
        std::thread::sleep(Duration::from_millis(1200));
        diode.start_receiver(&[])?;
        diode.wait_for(&[bundle_name(1)])?;
        let status = diode.link.stop(sender, Duration::from_secs(20))?;
        assert!(status.success(), "send --outbox on SIGTERM: {status}");
        assert!(outbox.join("sent").join(bundle_name(1)).exists());
        diode.expect_bundle(&bundle_name(1), &outbox.join("sent").join(bundle_name(1)))?;
        diode.finish(&[bundle_name(1)])?;
    }
    Ok(())
}

#[test]
fn the_same_bundle_sent_twice_is_one_file() -> TestResult {
    // Twice in a row; twice in one command; and again after a receiver restart.
    let mut diode = Diode::new(&["--seed", "330"])?;
    let first = diode.bundle(1, MIB)?;
    let second = diode.bundle(2, MIB)?;
    diode.start_receiver(&[])?;
    diode.send(&[&first], &[])?;
    diode.wait_for(&[bundle_name(1)])?;
    diode.send(&[&first], &[])?;
    diode.send(&[&second, &second], &[])?;
    diode.wait_for(&[bundle_name(2)])?;
    diode.stop_receiver()?;
    diode.start_receiver(&[])?;
    diode.send(&[&first, &second], &[])?;
    // Give the receiver the time to have written anything it would write.
    std::thread::sleep(Duration::from_secs(2));
    diode.finish(&[bundle_name(1), bundle_name(2)])
}
