//! Outputs appear only on success (issue 10, point 8): `pack` and `export` refuse an existing
//! `--out` (exit 4) unless `--force`; `results --log-out FILE` writes FILE only for an accepted
//! result.

use std::fs;
use std::os::unix::fs::symlink;

use crate::harness::{Site, TestResult};
use crate::results::Trip;

#[test]
fn pack_refuses_an_existing_out_unless_forced() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("A.1.0.0.zip", b"a")]);
    fs::write(site.path("file.zb"), b"keep me")?;
    fs::write(site.path("empty.zb"), b"")?;
    symlink(site.path("nowhere"), site.path("dangling.zb"))?;
    fs::create_dir(site.path("folder.zb"))?;
    for out in ["file.zb", "empty.zb", "dangling.zb", "folder.zb"] {
        let run = site
            .pack(&release, &["alice"], "pci", out)
            .args(["--json"])
            .expect(4);
        run.stderr_has(&format!("{out} already exists"))
            .stderr_has("Hint: give another --out, or add --force to replace it");
        assert_eq!(run.json()["error"]["code"], "exists");
    }
    assert_eq!(fs::read(site.path("file.zb"))?, b"keep me");
    assert_eq!(fs::read(site.path("empty.zb"))?, b"");
    assert!(!site.path("nowhere").exists());
    assert!(site.path("folder.zb").is_dir());

    site.pack(&release, &["alice"], "pci", "file.zb")
        .args(["--force"])
        .ok();
    let packed = fs::read(site.path("file.zb"))?;
    assert_ne!(packed, b"keep me");
    // A second bundle is refused over the first; forced, it replaces it.
    site.pack(&release, &["alice"], "pci", "file.zb").expect(4);
    assert_eq!(fs::read(site.path("file.zb"))?, packed);
    site.pack(&release, &["alice"], "pci", "file.zb")
        .args(["--force", "--created", "2030-01-01T00:00:00Z"])
        .ok();
    assert_ne!(fs::read(site.path("file.zb"))?, packed);
    Ok(())
}

#[test]
fn export_refuses_an_existing_out_before_asking_octopus_unless_forced() -> TestResult {
    let trip = Trip::new();
    let zones = &trip.zones;
    zones.export("Payments API", "1.4.1", "first.zb").ok();
    let first = fs::read(zones.site.path("first.zb"))?;
    let status = trip.status();
    zones
        .export("Payments API", "1.4.1", "first.zb")
        .expect(4)
        .stderr_has("first.zb already exists")
        .stderr_has("add --force");
    assert_eq!(fs::read(zones.site.path("first.zb"))?, first);
    assert_eq!(trip.status(), status, "the ledger recorded nothing");
    // With the server unreachable, the refusal still comes first: Octopus is never asked.
    zones
        .site
        .export()
        .args(["export", "--project", "Payments API", "--release", "1.4.1"])
        .args([
            "--key",
            "signer.key",
            "--source-zone",
            "dev",
            "--target-zone",
            "pci",
        ])
        .args(["--out", "first.zb", "--server", "http://127.0.0.1:9"])
        .args(["--ledger", "export.ledger"])
        .env("OCTOPUS_API_KEY", "API-UNUSED")
        .expect(4)
        .stderr_has("already exists");
    zones
        .export("Payments API", "1.4.1", "first.zb")
        .args(["--force"])
        .ok();
    assert_ne!(fs::read(zones.site.path("first.zb"))?, first);
    Ok(())
}

#[test]
fn results_writes_the_log_only_for_an_accepted_result() -> TestResult {
    let trip = Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
        .ok();
    let site = &trip.zones.site;
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "second.zb")
        .args(["--redeploy"])
        .ok();
    let mut tampered = fs::read(site.path("result.zb"))?;
    let at = tampered.len() - 40;
    tampered[at] ^= 1;
    fs::write(site.path("tampered.zb"), &tampered)?;
    trip.zones
        .export("Payments API", "1.4.0", "release.zb")
        .ok();

    // Refused after verification (a gap on the channel, a release this ledger never
    // exported) and during it (tampered, a release bundle): no log file, not even empty.
    for (bundle, ledger, code) in [
        ("second.zb", "export.ledger", "gap"),
        ("result.zb", "other.ledger", "unknown-release"),
        ("tampered.zb", "export.ledger", ""),
        ("release.zb", "export.ledger", ""),
    ] {
        let run = site
            .export()
            .args([
                "results",
                bundle,
                "--policy",
                "dev.toml",
                "--no-note",
                "--json",
            ])
            .args(["--ledger", ledger, "--log-out", "task.log"])
            .expect(1);
        if !code.is_empty() {
            assert_eq!(run.json()["error"]["code"], code, "{bundle}");
        }
        assert!(!site.path("task.log").exists(), "{bundle}: no log");
        let left: Vec<_> = fs::read_dir(site.root())?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".zonebridge-"))
            .collect();
        assert!(left.is_empty(), "{bundle}: {left:?}");
    }
    site.export()
        .args(["results", "result.zb", "--policy", "dev.toml", "--no-note"])
        .args(["--ledger", "export.ledger", "--log-out", "task.log"])
        .ok();
    assert!(!fs::read(site.path("task.log"))?.is_empty());
    Ok(())
}
