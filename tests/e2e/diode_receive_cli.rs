//! `bridge-import receive`: its refusals (address, inbox, policy, sizes), and a real run on
//! loopback fed crafted datagrams of a packed bundle, which it delivers into the inbox whole
//! and once, ignoring forged and damaged datagrams around it; SIGTERM ends it with exit 0.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use bundle_format::keys::SigningKey;
use carriers::diode::announce::{TransferHeader, table_digest};
use carriers::diode::fec::BlockEncoder;
use carriers::diode::wire::{self, Symbol};
use sha2::{Digest as _, Sha256};

use crate::harness::{Site, TestResult, listing};

fn receive_site() -> Site {
    let site = Site::new();
    site.keygen("signer");
    site.policy("pci.toml", "pci", &["signer"], 1);
    std::fs::create_dir(site.path("inbox")).unwrap_or_else(|e| panic!("{e}"));
    site
}

#[test]
fn bad_listen_addresses_are_refused_naming_the_form() {
    let site = receive_site();
    for bad in [
        "10.77.2.2",
        "localhost:5000",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        "",
    ] {
        site.import()
            .args([
                "receive", "--listen", bad, "--inbox", "inbox", "--policy", "pci.toml",
            ])
            .expect(2)
            .stderr_has("--listen");
    }
    // A well-formed address this host does not have.
    site.import()
        .args(["receive", "--listen", "192.0.2.77:5000", "--inbox", "inbox"])
        .args(["--policy", "pci.toml"])
        .expect(4)
        .stderr_has("cannot listen on 192.0.2.77:5000");
}

#[test]
fn a_missing_inbox_or_policy_is_refused_before_listening() {
    let site = receive_site();
    std::fs::write(site.path("a-file"), b"x").unwrap_or_else(|e| panic!("{e}"));
    for inbox in ["nowhere", "a-file"] {
        site.import()
            .args(["receive", "--listen", "127.0.0.1:5000", "--inbox", inbox])
            .args(["--policy", "pci.toml"])
            .expect(2)
            .stderr_has("is not a folder");
    }
    std::fs::write(site.path("garbage.toml"), b"zone = [").unwrap_or_else(|e| panic!("{e}"));
    for policy in ["missing.toml", "garbage.toml"] {
        let run = site
            .import()
            .args(["receive", "--listen", "127.0.0.1:5000", "--inbox", "inbox"])
            .args(["--policy", policy])
            .run();
        assert_ne!(run.code, 0, "{policy}");
        run.stderr_has(policy);
    }
}

#[test]
fn bad_sizes_and_counts_are_refused_naming_the_flag() {
    let site = receive_site();
    for (flag, value, says) in [
        ("--max-memory", "0", "is 0"),
        ("--max-memory", "512K", "too small"),
        ("--max-memory", "12Q", "not a size"),
        ("--max-disk", "1.5G", "not a size"),
        ("--max-bundle", "1.0M", "not a size"),
        ("--max-bundle", "10X", "not a size"),
        ("--max-transfers", "0", "from 1 to 64"),
        ("--max-transfers", "65", "from 1 to 64"),
        ("--silence", "0s", "is 0"),
        ("--idle", "soon", "not a duration"),
    ] {
        site.import()
            .args(["receive", "--listen", "127.0.0.1:5000", "--inbox", "inbox"])
            .args(["--policy", "pci.toml", flag, value])
            .expect(2)
            .stderr_has(says);
    }
    site.import()
        .args(["receive", "--listen", "127.0.0.1:5000", "--inbox", "inbox"])
        .args([
            "--policy",
            "pci.toml",
            "--max-bundle",
            "1G",
            "--max-disk",
            "512M",
        ])
        .expect(2)
        .stderr_has("smaller than the largest bundle");
}

/// The datagrams of one round of `bundle` as a sender would send them.
fn round(key: &SigningKey, bundle: &[u8], name: &str) -> Result<Vec<Vec<u8>>, String> {
    let symbol_size = 1_440u16;
    let block_size = u32::from(symbol_size) * 64;
    let mut table = Vec::new();
    let mut encoders = Vec::new();
    for chunk in bundle.chunks(block_size as usize) {
        table.extend_from_slice(&Sha256::digest(chunk));
        encoders.push(BlockEncoder::new(chunk, symbol_size));
    }
    encoders.insert(0, BlockEncoder::new(&table, symbol_size));
    let header = TransferHeader {
        key_id: key.public_key().key_id(),
        channel: "dev->pci/release".parse()?,
        sequence: 1,
        name: name.to_owned(),
        size: bundle.len() as u64,
        digest: Sha256::digest(bundle).into(),
        symbol_size,
        block_size,
        table_digest: table_digest(&table),
        overhead_per_mille: 100,
    }
    .sign(key)
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (block, encoder) in encoders.iter().enumerate() {
        out.push(header.datagram.clone());
        let k = encoder.source_symbols();
        let mut symbols = encoder.source();
        symbols.extend(encoder.repair(k, k / 10 + 2));
        for (esi, data) in symbols {
            let mut datagram = Vec::new();
            wire::encode_symbol(
                &mut datagram,
                &Symbol {
                    transfer: header.id,
                    block: block as u32,
                    esi,
                    data: &data,
                },
            )
            .map_err(|e| e.to_string())?;
            out.push(datagram);
        }
    }
    Ok(out)
}

fn free_port() -> Result<u16, std::io::Error> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running receiver, killed and reaped if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn terminate(child: &mut Child) -> Result<i32, Box<dyn std::error::Error>> {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code().unwrap_or(-1));
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return Err("receive did not end within 20s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for(path: &Path, limit: Duration, mut send: impl FnMut()) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if path.exists() {
            return true;
        }
        send();
        std::thread::sleep(Duration::from_millis(200));
    }
    path.exists()
}

#[test]
fn a_running_receiver_delivers_a_packed_bundle_once_and_ignores_forgeries() -> TestResult {
    let site = receive_site();
    site.keygen("stranger");
    let release = site.release("rel", &[("app.1.0.0.zip", &[7u8; 200_000])]);
    site.pack(&release, &["signer"], "pci", "bundle.zb").ok();
    let bundle = std::fs::read(site.path("bundle.zb"))?;
    let name = "dev~pci~release~000000000001~payments-api-1.0.0.zb";
    let signer = SigningKey::read_pem_file(&site.path("signer.key"))?;
    let stranger = SigningKey::read_pem_file(&site.path("stranger.key"))?;
    let datagrams = round(&signer, &bundle, name)?;
    let forged = round(&stranger, b"not the bundle", name)?;

    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut child = Running(
        site.import()
            .args(["receive", "--listen", &listen, "--inbox", "inbox"])
            .args([
                "--policy",
                "pci.toml",
                "--metrics",
                "receive.prom",
                "--log",
                "json",
            ])
            .spawn(),
    );
    let sender = UdpSocket::bind("127.0.0.1:0")?;
    let target = site.path("inbox").join(name);
    let arrived = wait_for(&target, Duration::from_secs(60), || {
        for d in forged.iter().chain(&datagrams) {
            let _ = sender.send_to(d, &listen);
            let _ = sender.send_to(&d[..d.len() / 2], &listen);
        }
    });
    // The same bundle again after delivery: no second file, nothing partial.
    for d in &datagrams {
        sender.send_to(d, &listen)?;
    }
    std::thread::sleep(Duration::from_millis(500));
    let code = terminate(&mut child.0)?;
    let mut stderr = String::new();
    if let Some(mut pipe) = child.0.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
    }
    assert!(arrived, "no bundle in the inbox; log:\n{stderr}");
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(&target)?, bundle);
    assert_eq!(
        listing(&site.path("inbox")),
        vec![std::ffi::OsString::from(name)]
    );
    assert_eq!(
        stderr.matches("\"diode.delivered\"").count(),
        1,
        "one delivery logged:\n{stderr}"
    );
    assert!(stderr.contains("\"diode.ignored\""), "{stderr}");
    let metrics = std::fs::read_to_string(site.path("receive.prom"))?;
    assert!(
        metrics.contains("zonebridge_diode_delivered_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zonebridge_diode_forged_headers_total"),
        "{metrics}"
    );
    // The bundle that arrived is the bundle that was packed: it verifies.
    site.import()
        .args(["verify", "--policy", "pci.toml"])
        .args([&target])
        .ok();
    Ok(())
}
