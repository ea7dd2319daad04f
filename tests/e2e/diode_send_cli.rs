//! `bridge-export send` as an operator runs it: each class of refusal (several cases each,
//! with its exit code and a message naming the problem), and real datagrams on loopback that
//! parse as the protocol's, from files and from a served outbox.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use carriers::diode::announce::TransferHeader;
use carriers::diode::wire::{self, Datagram};

use crate::harness::{Site, TestResult, write};

/// A site with a signing key `dev-signer` and a packed bundle `b.zb` (about `size` bytes of
/// package).
fn site_with_bundle(size: usize) -> (Site, PathBuf) {
    let site = Site::new();
    site.keygen("dev-signer");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let package: Vec<u8> = (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let release = site.release("rel", &[("pkg.bin", &package)]);
    site.pack(&release, &["dev-signer"], "pci", "b.zb").ok();
    let bundle = site.path("b.zb");
    (site, bundle)
}

/// A UDP socket on loopback that the test reads, and its address.
fn listener() -> Result<(UdpSocket, String), std::io::Error> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let address = socket.local_addr()?.to_string();
    Ok((socket, address))
}

/// Reads `socket` in a thread while the command runs (a socket buffer would overflow
/// otherwise); the thread returns every datagram once none came for the read timeout.
fn collect(socket: UdpSocket) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buffer = vec![0u8; 65_536];
        let idle_limit = Instant::now() + Duration::from_secs(120);
        // Wait for the first datagram (the command is still starting), then drain.
        while got.is_empty() && Instant::now() < idle_limit {
            if let Ok(n) = socket.recv(&mut buffer) {
                got.push(buffer[..n].to_vec());
            }
        }
        // A slower gap than the listener's: a debug build encodes a block slowly.
        let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
        got.extend(drain(&socket));
        got
    })
}

/// Every datagram until none came for the read timeout.
fn drain(socket: &UdpSocket) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let mut buffer = vec![0u8; 65_536];
    while let Ok(n) = socket.recv(&mut buffer) {
        got.push(buffer[..n].to_vec());
    }
    got
}

fn send_args<'a>(to: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["send", "--to", to, "--key", "dev-signer.key"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn bad_rates_are_usage_errors() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    let (socket, to) = listener()?;
    for rate in ["0", "0M", "fast", "-1M", "95m", "95 M", "1e6", ""] {
        site.export()
            .args(send_args(&to, &["--rate", rate, "b.zb"]))
            .expect(2)
            .stderr_has("--rate");
    }
    // No --rate at all: there is no safe default for a diode.
    site.export()
        .args(send_args(&to, &["b.zb"]))
        .expect(2)
        .stderr_has("--rate");
    assert!(
        drain(&socket).is_empty(),
        "a refused command sent datagrams"
    );
    Ok(())
}

#[test]
fn bad_addresses_are_usage_errors() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    for to in [
        "nowhere",
        "10.77.2.2",
        "10.77.2.2:0",
        "0.0.0.0:7000",
        "[::]:7000",
        "10.77.2.2:99999",
        "localhost:7000",
    ] {
        site.export()
            .args(send_args(to, &["--rate", "10M", "b.zb"]))
            .expect(2)
            .stderr_has("--to");
    }
    Ok(())
}

#[test]
fn an_mtu_too_small_and_bad_block_settings_are_usage_errors() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    let (socket, to) = listener()?;
    for mtu in ["0", "100", "117", "68"] {
        site.export()
            .args(send_args(&to, &["--rate", "10M", "--mtu", mtu, "b.zb"]))
            .expect(2)
            .stderr_has("MTU of");
    }
    // An IPv6 destination needs 20 bytes more than IPv4 for the same symbol.
    site.export()
        .args(send_args(
            "[::1]:7000",
            &["--rate", "10M", "--mtu", "130", "b.zb"],
        ))
        .expect(2)
        .stderr_has("MTU of 130 bytes");
    for symbols in ["0", "8193"] {
        site.export()
            .args(send_args(
                &to,
                &["--rate", "10M", "--block-symbols", symbols, "b.zb"],
            ))
            .expect(2)
            .stderr_has("symbols of 1440 bytes per block");
    }
    site.export()
        .args(send_args(
            &to,
            &["--rate", "10M", "--interleave", "0", "b.zb"],
        ))
        .expect(2)
        .stderr_has("interleaving 0 blocks");
    assert!(
        drain(&socket).is_empty(),
        "a refused command sent datagrams"
    );
    Ok(())
}

#[test]
fn overheads_outside_0_to_500_percent_are_usage_errors() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    let (_socket, to) = listener()?;
    for overhead in ["501%", "1000%", "-1%", "5", "0.05", "abc", "5.55%"] {
        // `=`: "-1%" would otherwise be read as a flag.
        let flag = format!("--overhead={overhead}");
        site.export()
            .args(send_args(&to, &["--rate", "10M", &flag, "b.zb"]))
            .expect(2)
            .stderr_has("--overhead");
    }
    Ok(())
}

#[test]
fn unusable_keys_are_refused() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    let (socket, to) = listener()?;
    let base = ["send", "--to", &to, "--rate", "10M"];
    // A public key where the private one is needed.
    site.export()
        .args(base)
        .args(["--key", "dev-signer.pub", "b.zb"])
        .expect(3);
    // Not a key at all.
    write(&site.path("junk.key"), b"-----BEGIN NOTHING-----\n");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            site.path("junk.key"),
            std::fs::Permissions::from_mode(0o600),
        )?;
    }
    site.export()
        .args(base)
        .args(["--key", "junk.key", "b.zb"])
        .expect(3);
    // A private key readable by others.
    std::fs::copy(site.path("dev-signer.key"), site.path("open.key"))?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            site.path("open.key"),
            std::fs::Permissions::from_mode(0o644),
        )?;
    }
    site.export()
        .args(base)
        .args(["--key", "open.key", "b.zb"])
        .expect(3)
        .stderr_has("readable by others");
    // No key file.
    site.export()
        .args(base)
        .args(["--key", "missing.key", "b.zb"])
        .expect(4)
        .stderr_has("missing.key");
    assert!(
        drain(&socket).is_empty(),
        "a refused command sent datagrams"
    );
    Ok(())
}

#[test]
fn files_that_are_not_bundles_are_refused_before_anything_is_sent() -> TestResult {
    let (site, bundle) = site_with_bundle(1000);
    let (socket, to) = listener()?;
    let bytes = std::fs::read(&bundle)?;
    write(&site.path("text.zb"), b"not a bundle at all\n");
    write(&site.path("empty.zb"), b"");
    write(&site.path("cut.zb"), &bytes[..60]);
    for name in ["text.zb", "empty.zb", "cut.zb"] {
        // Given after a good bundle: nothing at all is sent, not even the good one.
        site.export()
            .args(send_args(&to, &["--rate", "10M", "b.zb", name]))
            .expect(1)
            .stderr_has("is not a bundle")
            .stderr_has(name);
    }
    site.export()
        .args(send_args(&to, &["--rate", "10M", "missing.zb"]))
        .expect(4)
        .stderr_has("missing.zb");
    std::fs::create_dir(site.path("folder.zb"))?;
    site.export()
        .args(send_args(&to, &["--rate", "10M", "folder.zb"]))
        .expect(1)
        .stderr_has("not a regular file");
    assert!(
        drain(&socket).is_empty(),
        "a refused command sent datagrams"
    );
    Ok(())
}

#[test]
fn an_outbox_that_does_not_exist_is_refused() -> TestResult {
    let (site, _) = site_with_bundle(1000);
    let (_socket, to) = listener()?;
    for outbox in ["missing", "b.zb", "/nonexistent/outbox"] {
        site.export()
            .args(send_args(&to, &["--rate", "10M", "--outbox", outbox]))
            .within(Duration::from_secs(30))
            .expect(4)
            .stderr_has("does not exist");
    }
    // Files and an outbox together, or --carousel without an outbox: usage errors.
    std::fs::create_dir(site.path("out"))?;
    site.export()
        .args(send_args(
            &to,
            &["--rate", "10M", "--outbox", "out", "b.zb"],
        ))
        .expect(2);
    site.export()
        .args(send_args(&to, &["--rate", "10M", "--carousel", "b.zb"]))
        .expect(2);
    Ok(())
}

/// Checks that `datagrams` carry one transfer of `bundle`: they all parse, the first is the
/// header, which names the bundle's size and channel, and its symbols carry its id.
fn check_transfer(
    datagrams: &[Vec<u8>],
    bundle: &[u8],
) -> Result<TransferHeader, Box<dyn std::error::Error>> {
    assert!(!datagrams.is_empty(), "no datagram arrived");
    let Datagram::Header(first) = wire::parse(&datagrams[0])? else {
        return Err("the first datagram is not the header".into());
    };
    let header = TransferHeader::decode(first.body)?;
    assert_eq!(header.size, bundle.len() as u64);
    assert!(
        header.name.starts_with("dev~pci~release~000000000001~"),
        "{}",
        header.name
    );
    let id = carriers::diode::announce::transfer_id(first.body);
    let mut symbols = 0;
    for datagram in datagrams {
        if let Datagram::Symbol(symbol) = wire::parse(datagram)? {
            assert_eq!(symbol.transfer, id);
            assert_eq!(symbol.data.len(), usize::from(header.symbol_size));
            symbols += 1;
        }
    }
    // At least every source symbol of every block and of the table.
    let blocks = header.block_count() as u32;
    let source: u32 = (0..=blocks).filter_map(|b| header.block_symbols(b)).sum();
    assert!(
        symbols >= source,
        "{symbols} symbols for {source} source symbols"
    );
    Ok(header)
}

#[test]
fn send_emits_datagrams_that_parse_as_a_transfer() -> TestResult {
    let (site, bundle) = site_with_bundle(300_000);
    let bytes = std::fs::read(&bundle)?;
    let (socket, to) = listener()?;
    let collector = collect(socket);
    let run = site
        .export()
        .args(send_args(
            &to,
            &["--rate", "20M", "--overhead", "10%", "--json", "b.zb"],
        ))
        .within(Duration::from_secs(60))
        .ok();
    let report = run.json();
    let datagrams = collector.join().map_err(|_| "collector panicked")?;
    let header = check_transfer(&datagrams, &bytes)?;
    assert_eq!(
        header.symbol_size, 1440,
        "1500 - 20 (IPv4) - 8 - 26, rounded down to 8"
    );
    let sent = &report["sent"][0];
    assert_eq!(sent["datagrams"].as_u64(), Some(datagrams.len() as u64));
    assert_eq!(sent["name"].as_str(), Some(header.name.as_str()));
    assert_eq!(sent["rounds"].as_u64(), Some(1));
    Ok(())
}

#[test]
fn the_outbox_service_sends_each_bundle_once_and_stops_on_sigterm() -> TestResult {
    let (site, bundle) = site_with_bundle(100_000);
    let bytes = std::fs::read(&bundle)?;
    let (socket, to) = listener()?;
    let collector = collect(socket);
    let outbox = site.path("outbox");
    std::fs::create_dir(&outbox)?;
    write(&outbox.join(".partial.zb"), b"a copy in progress");
    write(&outbox.join("x.zb.sent"), b"a mark of bridge-export run");
    std::fs::copy(&bundle, outbox.join(".staging"))?;
    let child = site
        .export()
        .args(send_args(
            &to,
            &["--rate", "20M", "--outbox", "outbox", "--settle", "0"],
        ))
        .args([
            "--heartbeat",
            "100ms",
            "--metrics",
            "metrics.prom",
            "--log-format",
            "json",
        ])
        .spawn();
    // Published as bridge-export run does: whole, by a rename (--settle 0 trusts that).
    // No `?` until the child is waited for.
    let placed = std::fs::rename(
        outbox.join(".staging"),
        outbox.join("dev~pci~release~000000000001~a.zb"),
    );
    let sent = outbox
        .join("sent")
        .join("dev~pci~release~000000000001~a.zb");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sent.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output()?;
    placed?;
    assert!(status?.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(sent.exists(), "not moved to sent/: {stderr}");
    assert!(outbox.join(".partial.zb").exists() && outbox.join("x.zb.sent").exists());
    // The JSON log line of the bundle sent.
    let line = stderr
        .lines()
        .find(|l| l.contains("\"diode.sent\""))
        .ok_or_else(|| format!("no diode.sent event: {stderr}"))?;
    let event: serde_json::Value = serde_json::from_str(line)?;
    assert_eq!(
        event["fields"]["name"].as_str(),
        Some("dev~pci~release~000000000001~a.zb")
    );
    let metrics = std::fs::read_to_string(site.path("metrics.prom"))?;
    assert!(
        metrics.contains("zonebridge_diode_sent_bundles_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zonebridge_diode_heartbeats_total"),
        "{metrics}"
    );
    // Heartbeats, the transfer, and nothing of the hidden or marked files.
    let datagrams = collector.join().map_err(|_| "collector panicked")?;
    let from = datagrams
        .iter()
        .position(|d| matches!(wire::parse(d), Ok(Datagram::Header(_))))
        .ok_or("no header")?;
    let transfer: Vec<Vec<u8>> = datagrams[from..]
        .iter()
        .filter(|d| !matches!(wire::parse(d), Ok(Datagram::Heartbeat(_))))
        .cloned()
        .collect();
    check_transfer(&transfer, &bytes)?;
    let beats = datagrams
        .iter()
        .filter(|d| matches!(wire::parse(d), Ok(Datagram::Heartbeat(_))))
        .count();
    assert!(beats >= 2, "{beats} heartbeats");
    Ok(())
}

/// Reads `socket` until a header datagram arrives (60 s at most); returns it.
fn first_header(socket: &UdpSocket) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buffer = vec![0u8; 65_536];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buffer)
            && matches!(wire::parse(&buffer[..n]), Ok(Datagram::Header(_)))
        {
            return Ok(buffer[..n].to_vec());
        }
    }
    Err("no header datagram arrived".into())
}

/// Sends `signal` to `child` (a process this test started) and waits for it.
fn signal_and_wait(
    child: std::process::Child,
    signal: &str,
) -> Result<std::process::Output, Box<dyn std::error::Error>> {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let output = child.wait_with_output()?;
    assert!(status?.success());
    Ok(output)
}

#[test]
fn sigterm_in_the_middle_of_a_bundle_finishes_it_then_exits_0() -> TestResult {
    let (site, bundle) = site_with_bundle(100_000);
    let bytes = std::fs::read(&bundle)?;
    let (socket, to) = listener()?;
    let outbox = site.path("outbox");
    std::fs::create_dir(&outbox)?;
    std::fs::rename(&bundle, outbox.join("dev~pci~release~000000000001~a.zb"))?;
    // About 80 datagrams at 1 Mbit/s: a second on the link.
    let child = site
        .export()
        .args(send_args(
            &to,
            &["--rate", "1M", "--outbox", "outbox", "--settle", "0"],
        ))
        .spawn();
    let header = first_header(&socket);
    let output = signal_and_wait(child, "-TERM")?;
    let header = header?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    // Finished: every datagram of the transfer was sent, and the bundle moved to sent/.
    let mut datagrams = vec![header];
    datagrams.extend(drain(&socket));
    let transfer: Vec<Vec<u8>> = datagrams
        .into_iter()
        .filter(|d| !matches!(wire::parse(d), Ok(Datagram::Heartbeat(_))))
        .collect();
    check_transfer(&transfer, &bytes)?;
    assert!(
        outbox
            .join("sent/dev~pci~release~000000000001~a.zb")
            .exists(),
        "{stderr}"
    );
    assert!(stderr.contains("diode.sent"), "{stderr}");
    Ok(())
}

#[test]
fn a_sender_killed_in_the_middle_sends_the_same_transfer_again() -> TestResult {
    let (site, bundle) = site_with_bundle(100_000);
    let bytes = std::fs::read(&bundle)?;
    let (socket, to) = listener()?;
    let child = site
        .export()
        .args(send_args(&to, &["--rate", "1M", "b.zb"]))
        .spawn();
    let first = first_header(&socket);
    let killed = signal_and_wait(child, "-KILL")?;
    let first = first?;
    assert_eq!(killed.status.code(), None, "ended by the signal");
    drain(&socket);
    let collector = collect(socket);
    site.export()
        .args(send_args(&to, &["--rate", "20M", "b.zb"]))
        .within(Duration::from_secs(60))
        .ok();
    let again = collector.join().map_err(|_| "collector panicked")?;
    let header = check_transfer(&again, &bytes)?;
    // The same header, byte for byte: the same transfer id, so a receiver keeps the
    // symbols it already holds.
    assert_eq!(again[0], first, "{}", header.name);
    Ok(())
}

#[test]
fn the_carousel_sends_fresh_rounds_of_the_last_bundle_while_idle() -> TestResult {
    let (site, bundle) = site_with_bundle(100_000);
    let bytes = std::fs::read(&bundle)?;
    let (socket, to) = listener()?;
    let collector = collect(socket);
    let outbox = site.path("outbox");
    std::fs::create_dir(&outbox)?;
    std::fs::rename(&bundle, outbox.join("dev~pci~release~000000000001~a.zb"))?;
    let child = site
        .export()
        .args(send_args(
            &to,
            &[
                "--rate",
                "20M",
                "--outbox",
                "outbox",
                "--settle",
                "0",
                "--carousel",
                "--overhead",
                "10%",
            ],
        ))
        .spawn();
    let sent = outbox.join("sent/dev~pci~release~000000000001~a.zb");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sent.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let output = signal_and_wait(child, "-TERM")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let datagrams = collector.join().map_err(|_| "collector panicked")?;
    let transfer: Vec<Vec<u8>> = datagrams
        .into_iter()
        .filter(|d| !matches!(wire::parse(d), Ok(Datagram::Heartbeat(_))))
        .collect();
    let header = check_transfer(&transfer, &bytes)?;
    // Symbols beyond round 1's (K source + 10% repair) of the first data block: later
    // rounds, each fresh, none sent twice.
    let k = header.block_symbols(1).ok_or("no block 1")?;
    let round_one = k + (k * 100).div_ceil(1000);
    let mut esis: Vec<u32> = transfer
        .iter()
        .filter_map(|d| match wire::parse(d) {
            Ok(Datagram::Symbol(s)) if s.block == 1 => Some(s.esi),
            _ => None,
        })
        .collect();
    let later = esis.iter().filter(|e| **e >= round_one).count() as u32;
    assert!(
        later >= (k * 1100).div_ceil(1000),
        "{later} symbols after round 1"
    );
    let all = esis.len();
    esis.sort_unstable();
    esis.dedup();
    assert_eq!(esis.len(), all, "an ESI was sent twice");
    Ok(())
}

#[test]
fn over_ipv6_the_symbols_leave_room_for_its_larger_header() -> TestResult {
    let (site, bundle) = site_with_bundle(50_000);
    let bytes = std::fs::read(&bundle)?;
    let socket = UdpSocket::bind("[::1]:0")?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let to = socket.local_addr()?.to_string();
    let collector = collect(socket);
    site.export()
        .args(send_args(&to, &["--rate", "20M", "b.zb"]))
        .within(Duration::from_secs(60))
        .ok();
    let datagrams = collector.join().map_err(|_| "collector panicked")?;
    let header = check_transfer(&datagrams, &bytes)?;
    assert_eq!(
        header.symbol_size, 1424,
        "1500 - 40 (IPv6) - 8 - 26, rounded down to 8"
    );
    // A smaller MTU: smaller symbols, a datagram that still fits it.
    let socket = UdpSocket::bind("[::1]:0")?;
    socket.set_read_timeout(Some(Duration::from_millis(500)))?;
    let to = socket.local_addr()?.to_string();
    let collector = collect(socket);
    site.export()
        .args(send_args(&to, &["--rate", "20M", "--mtu", "1280", "b.zb"]))
        .within(Duration::from_secs(60))
        .ok();
    let datagrams = collector.join().map_err(|_| "collector panicked")?;
    let header = check_transfer(&datagrams, &bytes)?;
    assert_eq!(header.symbol_size, 1200);
    for datagram in &datagrams {
        if matches!(wire::parse(datagram), Ok(Datagram::Symbol(_))) {
            assert!(datagram.len() + 48 <= 1280, "{} bytes", datagram.len());
        }
    }
    Ok(())
}
