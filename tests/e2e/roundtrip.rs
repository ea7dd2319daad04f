//! Pack, verify, unpack: byte-identical files, reproducible bundles, plain tar + zstd, pipes,
//! and chaining with `--after`.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::harness::{Site, TestResult, listing};

/// Packs `release` signed by a fresh key, verifies and unpacks it, and compares every entry
/// with the file it came from.
fn round_trip(site: &Site, release: &Path) -> TestResult {
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    site.pack(release, &["alice"], "pci", "bundle.zb").ok();
    let verified = site
        .import()
        .args(["verify", "bundle.zb", "--policy", "pci.toml", "--json"])
        .ok()
        .json();
    assert_eq!(verified["verdict"], "trusted");
    site.import()
        .args([
            "unpack",
            "bundle.zb",
            "--policy",
            "pci.toml",
            "--to",
            "unpacked",
        ])
        .ok()
        .stdout_has("TRUSTED");
    let entries = verified["bundle"]["entries"]
        .as_array()
        .ok_or("no entries in the verify output")?;
    assert!(!entries.is_empty());
    for entry in entries {
        let path = entry["path"].as_str().ok_or("entry without path")?;
        assert_eq!(
            fs::read(site.path("unpacked").join(path))?,
            fs::read(release.join(path))?,
            "{path} differs after unpacking"
        );
    }
    Ok(())
}

#[test]
fn a_small_release_round_trips() -> TestResult {
    let site = Site::new();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let release = site.release(
        "release",
        &[
            ("App.1.0.0.zip", &big),
            ("Empty.1.0.0.zip", b""),
            ("Web.1.0.0.nupkg", b"web"),
        ],
    );
    round_trip(&site, &release)
}

#[test]
fn the_example_release_round_trips() -> TestResult {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/release");
    round_trip(&Site::new(), &example)
}

#[test]
fn packing_twice_with_source_date_epoch_gives_identical_bytes() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a.zip", &[7u8; 100_000])]);
    for (out, threads) in [("one.zb", "1"), ("two.zb", "2")] {
        site.pack(&release, &["alice"], "pci", out)
            .args(["--threads", threads])
            .env("SOURCE_DATE_EPOCH", "1793750400")
            .ok();
    }
    assert!(fs::read(site.path("one.zb"))? == fs::read(site.path("two.zb"))?);
    let created = site
        .export()
        .args(["inspect", "one.zb", "--json"])
        .ok()
        .json();
    assert_eq!(created["bundle"]["created"], "2026-11-04T00:00:00Z");
    Ok(())
}

#[test]
fn standard_tools_list_the_bundle() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("App.1.0.0.zip", b"app")]);
    site.pack(&release, &["alice"], "pci", "bundle.zb").ok();
    let listed = Command::new("sh")
        .args(["-c", "set -e; zstd -dc bundle.zb | tar -t"])
        .current_dir(site.root())
        .output()?;
    assert!(listed.status.success(), "{listed:?}");
    let names: Vec<String> = String::from_utf8(listed.stdout)?
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        names,
        [
            "zonebridge/signatures.cbor",
            "zonebridge/manifest.cbor",
            "process.json",
            "variables/project.json",
            "packages/App.1.0.0.zip",
        ]
    );
    Ok(())
}

#[test]
fn bundles_travel_through_pipes() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let release = site.release("release", &[("a.zip", b"through a pipe")]);
    let packed = site.pack(&release, &["alice"], "pci", "-").ok();
    assert!(
        packed.stderr.contains("digest"),
        "the summary goes to stderr"
    );
    let bundle = packed.stdout;
    site.import()
        .args(["verify", "-", "--policy", "pci.toml"])
        .stdin(bundle.clone())
        .ok()
        .stdout_has("TRUSTED");
    site.import()
        .args(["unpack", "-", "--policy", "pci.toml", "--to", "out"])
        .stdin(bundle.clone())
        .ok();
    assert_eq!(
        fs::read(site.path("out/packages/a.zip"))?,
        b"through a pipe"
    );
    site.export()
        .args(["inspect", "-"])
        .stdin(bundle)
        .ok()
        .stdout_has("NOT VERIFIED");
    Ok(())
}

#[test]
fn after_chains_the_next_bundle_to_the_previous_one() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a.zip", b"a")]);
    let first = site
        .pack(&release, &["alice"], "pci", "1.zb")
        .args(["--json"])
        .ok()
        .json();
    let second = site
        .pack(&release, &["alice"], "pci", "2.zb")
        .args(["--after", "1.zb", "--json"])
        .ok()
        .json();
    assert_eq!(second["bundle"]["sequence"], 2);
    assert_eq!(second["bundle"]["previous"], first["bundle"]["digest"]);
    let digest = first["bundle"]["digest"].as_str().ok_or("no digest")?;
    let third = site
        .pack(&release, &["alice"], "pci", "3.zb")
        .args(["--sequence", "2", "--previous", digest, "--json"])
        .ok()
        .json();
    assert_eq!(third["bundle"]["previous"], first["bundle"]["digest"]);
    // A bundle for another target is on another channel.
    site.pack(&release, &["alice"], "prod", "4.zb")
        .args(["--after", "1.zb"])
        .expect(2)
        .stderr_has("channel dev->pci/release");
    assert!(!listing(site.root()).contains(&"4.zb".into()));
    Ok(())
}
