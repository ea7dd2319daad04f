//! Four-eyes approval: a threshold of 2 refuses a once-signed bundle until `sign` adds a
//! second, distinct key; the same key never signs twice.

use std::fs;

use crate::harness::{Site, TestResult};

#[test]
fn a_threshold_of_two_needs_a_second_signature() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let bob = site.keygen("bob");
    site.policy("pci.toml", "pci", &["alice", "bob"], 2);
    let release = site.release("release", &[("a.zip", b"four eyes")]);
    let packed = site
        .pack(&release, &["alice"], "pci", "b.zb")
        .args(["--json"])
        .ok()
        .json();

    let refused = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .expect(1);
    refused.stderr_has("need 2 signatures");
    let json = refused.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["code"], "threshold-not-met");

    let signed = site
        .export()
        .args(["sign", "b.zb", "--key", "bob.key"])
        .ok();
    signed
        .stdout_has("You approved")
        .stdout_has("Payments API 1.0.0");
    signed.stdout_has(&bob);

    let verified = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .ok()
        .json();
    assert_eq!(verified["signers"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        verified["bundle"]["digest"], packed["bundle"]["digest"],
        "signing keeps the digest"
    );
    Ok(())
}

#[test]
fn the_same_key_cannot_sign_twice() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a.zip", b"once")]);
    site.pack(&release, &["alice"], "pci", "b.zb").ok();
    let before = fs::read(site.path("b.zb"))?;
    let run = site
        .export()
        .args(["sign", "b.zb", "--key", "alice.key", "--json"])
        .expect(1);
    run.stderr_has("already signed");
    assert_eq!(run.json()["error"]["code"], "already-signed");
    assert!(
        fs::read(site.path("b.zb"))? == before,
        "the bundle is unchanged"
    );
    Ok(())
}

#[test]
fn sign_can_write_a_new_file() -> TestResult {
    let site = Site::new();
    site.keygen("alice");
    site.keygen("bob");
    let release = site.release("release", &[("a.zip", b"copy")]);
    site.pack(&release, &["alice"], "pci", "b.zb").ok();
    let before = fs::read(site.path("b.zb"))?;
    let json = site
        .export()
        .args([
            "sign",
            "b.zb",
            "--key",
            "bob.key",
            "--out",
            "signed.zb",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(json["signers"].as_array().map(Vec::len), Some(2));
    assert!(
        fs::read(site.path("b.zb"))? == before,
        "the original is unchanged"
    );
    assert!(site.path("signed.zb").is_file());
    Ok(())
}
