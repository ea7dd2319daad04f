//! The emulated link itself (test-support's `netns::Link` and `zb-relay`): it is created and
//! removed whole, after a panic too; datagrams reach the receiver only through the relay, with
//! the relay's counts matching what arrived; and the receiver's side never transmits, not even
//! an ICMP error for a closed port.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use test_support::netns::{Link, Pid, RECEIVER_IP, RELAY_IP, Side, namespace_exists};

use crate::harness::{Site, TestResult};

fn zb_udp() -> std::path::PathBuf {
    test_support::binary("zb-udp").unwrap_or_else(|e| panic!("cannot build zb-udp: {e}"))
}

/// Starts `zb-udp listen` in the receiver's namespace for `millis`, once it is bound.
fn listen(link: &mut Link, port: u16, millis: u64) -> Result<Pid, String> {
    let mut command = link.command(Side::Receiver, zb_udp());
    command
        .args([
            "listen",
            &format!("{RECEIVER_IP}:{port}"),
            &millis.to_string(),
        ])
        .stdout(Stdio::piped());
    let pid = link.spawn(command)?;
    let out = link.take_stdout(pid).ok_or("no stdout")?;
    let mut reader = BufReader::new(out);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.trim() != "listening" {
        return Err(format!("zb-udp listen printed {line:?}"));
    }
    // Keep the rest for `heard`.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        rest
    });
    Ok(pid)
}

/// Runs `zb-udp listen` to its end in the receiver's namespace while `send` runs; returns
/// (datagrams, bytes) heard.
fn heard_while(
    link: &Link,
    port: u16,
    millis: u64,
    send: impl FnOnce() -> TestResult,
) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    let mut listener = link.command(Side::Receiver, zb_udp());
    listener
        .args([
            "listen",
            &format!("{RECEIVER_IP}:{port}"),
            &millis.to_string(),
        ])
        .stdout(Stdio::piped());
    let mut child = listener.spawn()?;
    let mut reader = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    assert_eq!(line.trim(), "listening");
    let sent = send();
    let mut counts = String::new();
    reader.read_to_string(&mut counts)?;
    child.wait()?;
    sent?;
    let mut parts = counts.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(n)), Some(Ok(b)), Some(Ok(micros))) => {
            if micros > 0 {
                println!(
                    "heard {n} datagrams, {b} bytes in {micros} us: {:.1} Mbit/s of UDP payload",
                    b as f64 * 8.0 / micros as f64
                );
            }
            Ok((n, b))
        }
        _ => Err(format!("zb-udp listen printed {counts:?}").into()),
    }
}

/// `zb-udp send` in the sender's namespace, to the end.
fn send_random(link: &Link, to: &str, count: u32, len: u32, seed: u64) -> TestResult {
    send_at(link, to, count, 2000, len, seed)
}

/// The same at `pps` datagrams a second.
fn send_at(link: &Link, to: &str, count: u32, pps: u32, len: u32, seed: u64) -> TestResult {
    let out = link
        .command(Side::Sender, zb_udp())
        .args(["send", to, &count.to_string(), &pps.to_string(), "--random"])
        .args([len.to_string(), "--seed".into(), seed.to_string()])
        .output()?;
    assert!(out.status.success(), "zb-udp send: {:?}", out);
    Ok(())
}

/// The relay's stats file as JSON, after it stopped.
pub fn relay_stats(path: &Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    Ok(serde_json::from_slice(&std::fs::read(path)?)?)
}

#[test]
fn a_link_is_created_whole_and_removed_with_its_processes() -> TestResult {
    let mut link = Link::new("100mbit")?;
    let names = [Side::Sender, Side::Relay, Side::Receiver].map(|s| link.ns(s));
    assert!(names.iter().all(|n| namespace_exists(n)), "{names:?}");
    for side in [Side::Sender, Side::Relay, Side::Receiver] {
        assert!(link.interface(side).len() <= 15);
    }
    let pid = listen(&mut link, 7000, 60_000)?;
    assert!(Path::new(&format!("/proc/{}", pid.0)).exists());
    drop(link);
    assert!(names.iter().all(|n| !namespace_exists(n)), "left {names:?}");
    assert!(
        !Path::new(&format!("/proc/{}", pid.0)).exists(),
        "process left"
    );
    Ok(())
}

#[test]
fn a_panicking_test_still_removes_its_link() -> TestResult {
    let names = std::sync::Mutex::new(Vec::new());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut link = Link::new("100mbit").unwrap_or_else(|e| panic!("{e}"));
        let site = Site::new();
        let _ = link.start_relay(7000, &["--seed", "1"], &site.path("stats.json"));
        if let Ok(mut n) = names.lock() {
            n.extend([Side::Sender, Side::Relay, Side::Receiver].map(|s| link.ns(s)));
        }
        panic!("the test fails halfway");
    }));
    assert!(outcome.is_err());
    let names = names.into_inner().map_err(|e| e.to_string())?;
    assert_eq!(names.len(), 3);
    assert!(names.iter().all(|n| !namespace_exists(n)), "left {names:?}");
    Ok(())
}

#[test]
fn datagrams_cross_through_the_relay_and_the_counts_agree() -> TestResult {
    for (seed, loss) in [(1u64, "0"), (2, "0.3")] {
        println!("seed {seed}, loss {loss}");
        let mut link = Link::new("100mbit")?;
        let site = Site::new();
        let stats = site.path("stats.json");
        let relay =
            link.start_relay(7001, &["--seed", &seed.to_string(), "--loss", loss], &stats)?;
        let (count, bytes) = heard_while(&link, 7001, 2500, || {
            send_random(&link, &format!("{RELAY_IP}:7001"), 200, 300, seed)
        })?;
        link.stop(relay, Duration::from_secs(5))?;
        let stats = relay_stats(&stats)?;
        assert_eq!(stats["received"], 200, "{stats}");
        assert_eq!(stats["forwarded"], count, "{stats}");
        assert_eq!(bytes, count * 300);
        if loss == "0" {
            assert_eq!(count, 200);
        } else {
            assert!(count < 200 && count > 100, "{count} of 200 at 30% loss");
        }
        assert_eq!(link.tx_packets(Side::Receiver)?, 0);
        assert!(link.tx_packets(Side::Relay)? >= count);
    }
    Ok(())
}

#[test]
fn nothing_reaches_the_receiver_but_through_the_relay() -> TestResult {
    // No relay running: the sender aims at the relay's port and straight at the receiver.
    let link = Link::new("100mbit")?;
    let (count, _) = heard_while(&link, 7002, 1500, || {
        send_random(&link, &format!("{RELAY_IP}:7002"), 50, 100, 3)?;
        send_random(&link, &format!("{RECEIVER_IP}:7002"), 50, 100, 4)
    })?;
    assert_eq!(count, 0);
    assert_eq!(link.rx_packets(Side::Receiver)?, 0);
    Ok(())
}

#[test]
fn the_receiver_side_never_transmits_even_to_a_closed_port() -> TestResult {
    for seed in [5u64, 6] {
        let mut link = Link::new("100mbit")?;
        let site = Site::new();
        let stats = site.path("stats.json");
        link.start_relay(7003, &["--seed", &seed.to_string()], &stats)?;
        // Nobody listens on 7003 in the receiver's namespace: the kernel would answer with
        // ICMP port unreachable if the harness let it.
        send_random(&link, &format!("{RELAY_IP}:7003"), 100, 500, seed)?;
        std::thread::sleep(Duration::from_millis(300));
        assert!(link.rx_packets(Side::Receiver)? >= 100);
        assert_eq!(link.tx_packets(Side::Receiver)?, 0);
    }
    Ok(())
}

#[test]
fn the_shaper_holds_the_link_to_its_rate_without_dropping_a_paced_sender() -> TestResult {
    // 1,400-byte datagrams (11,648 bits on the wire with UDP, IP and Ethernet headers):
    // 7,000 a second is 82 Mbit/s, under the 100 Mbit/s link; 12,000 a second is 140 Mbit/s,
    // over it, which the shaper holds back (the relay's send blocks while the qdisc is full,
    // so the backlog waits in the relay's large receive buffer; the listener's own small
    // buffer may then lose a few). The rate heard is printed (about 97 Mbit/s of payload,
    // 101 Mbit/s on the wire, over this run).
    for (pps, seed) in [(7_000u32, 7u64), (12_000, 8)] {
        let mut link = Link::new("100mbit")?;
        let site = Site::new();
        let stats = site.path("stats.json");
        let relay = link.start_relay(7004, &["--seed", &seed.to_string()], &stats)?;
        let (count, _) = heard_while(&link, 7004, 4000, || {
            send_at(&link, &format!("{RELAY_IP}:7004"), 14_000, pps, 1400, seed)
        })?;
        let drops = link.shaper_drops()?;
        link.stop(relay, Duration::from_secs(5))?;
        let stats = relay_stats(&stats)?;
        println!("{pps} datagrams/s offered: {count} heard, shaper dropped {drops}; {stats}");
        assert_eq!(stats["received"], 14_000, "{stats}");
        if pps == 7_000 {
            // Paced under the link's rate: the shaper drops nothing, everything is heard.
            assert_eq!(drops, 0);
            assert_eq!(count, 14_000);
        }
        assert_eq!(link.tx_packets(Side::Receiver)?, 0);
    }
    Ok(())
}

#[test]
fn the_relay_refuses_bad_settings_naming_the_flag_and_explains_itself() -> TestResult {
    let relay = test_support::binary("zb-relay")?;
    for (args, says) in [
        (
            &[
                "--listen",
                "127.0.0.1:1",
                "--forward",
                "127.0.0.1:2",
                "--seed",
                "1",
                "--loss",
                "2",
            ][..],
            "--loss",
        ),
        (
            &["--listen", "127.0.0.1:1", "--forward", "127.0.0.1:2"][..],
            "--seed is required",
        ),
        (
            &["--listen", "127.0.0.1:1", "--seed", "1"][..],
            "--listen and --forward go together",
        ),
        (
            &["--map", "127.0.0.1:1", "--seed", "1"][..],
            "not LISTEN=FORWARD",
        ),
        (
            &[
                "--seed",
                "1",
                "--burst",
                "0.5",
                "--map",
                "127.0.0.1:1=127.0.0.1:2",
            ][..],
            "--burst",
        ),
        (
            &[
                "--listen",
                "127.0.0.1:1",
                "--forward",
                "127.0.0.1:2",
                "--seed",
                "1",
                "--fast",
            ][..],
            "unknown argument",
        ),
    ] {
        let out = std::process::Command::new(&relay).args(args).output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    let help = std::process::Command::new(&relay).arg("--help").output()?;
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success());
    for flag in ["--corrupt-fix-crc", "--burst", "--stats", "one way"] {
        assert!(text.contains(flag), "--help does not explain {flag}");
    }
    Ok(())
}
