//! Refusals, pinned by their message text and code: what an operator reads must stay useful.

use std::fs;

use crate::harness::{Site, TestResult, listing};

#[test]
fn a_key_the_policy_does_not_trust_is_refused_with_a_hint() {
    let site = Site::new();
    site.keygen("alice");
    site.keygen("mallory");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let release = site.release("release", &[("a.zip", b"a")]);
    site.pack(&release, &["mallory"], "pci", "b.zb").ok();
    let run = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .expect(1);
    run.stderr_has("no signature is by a key this policy trusts")
        .stderr_has("Hint: if the signer is genuine, add its public key with `policy trust`");
    assert_eq!(run.json()["error"]["code"], "signer-unknown");
}

#[test]
fn a_bundle_for_another_zone_is_refused() {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let release = site.release("release", &[("a.zip", b"a")]);
    site.pack(&release, &["alice"], "prod", "b.zb").ok();
    let run = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .expect(1);
    run.stderr_has("the bundle is for zone prod, and this is zone pci");
    assert_eq!(run.json()["error"]["code"], "wrong-target-zone");
}

#[cfg(unix)]
#[test]
fn a_private_key_readable_by_others_is_refused() -> TestResult {
    use std::os::unix::fs::PermissionsExt as _;
    let site = Site::new();
    site.keygen("alice");
    fs::set_permissions(site.path("alice.key"), fs::Permissions::from_mode(0o644))?;
    let release = site.release("release", &[("a.zip", b"a")]);
    let run = site
        .pack(&release, &["alice"], "pci", "b.zb")
        .args(["--json"])
        .expect(3);
    run.stderr_has("readable by others").stderr_has("chmod 600");
    assert_eq!(run.json()["error"]["code"], "key-permissions");
    assert!(!site.path("b.zb").exists());
    Ok(())
}

/// A bundle whose signed manifest is genuine but whose payload frame comes from another
/// bundle with the same sizes: every frame is valid zstd, only the hashes can tell.
fn tampered_bundle(site: &Site) -> TestResult {
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let genuine = site.release("genuine", &[("a.zip", &[1u8; 5000])]);
    let forged = site.release("forged", &[("a.zip", &[2u8; 5000])]);
    site.pack(&genuine, &["alice"], "pci", "genuine.zb").ok();
    site.pack(&forged, &["alice"], "pci", "forged.zb").ok();
    let genuine = fs::read(site.path("genuine.zb"))?;
    let forged = fs::read(site.path("forged.zb"))?;
    let head = head_len(&genuine)?;
    let mut tampered = genuine.get(..head).ok_or("short bundle")?.to_vec();
    tampered.extend_from_slice(forged.get(head_len(&forged)?..).ok_or("short bundle")?);
    fs::write(site.path("tampered.zb"), tampered)?;
    Ok(())
}

/// Length of the first two zstd frames (signatures and manifest).
fn head_len(bundle: &[u8]) -> Result<usize, String> {
    let [signatures, manifest, _] = crate::harness::frames(bundle)?;
    Ok(signatures.len() + manifest.len())
}

#[test]
fn a_tampered_payload_is_refused() -> TestResult {
    let site = Site::new();
    tampered_bundle(&site)?;
    let run = site
        .import()
        .args(["verify", "tampered.zb", "--policy", "pci.toml", "--json"])
        .expect(1);
    run.stderr_has("entry packages/a.zip does not match its SHA-256");
    assert_eq!(run.json()["error"]["code"], "hash-mismatch");
    Ok(())
}

#[test]
fn unpacking_a_tampered_bundle_leaves_nothing_behind() -> TestResult {
    let site = Site::new();
    tampered_bundle(&site)?;
    let before = listing(site.root());
    let run = site
        .import()
        .args(["unpack", "tampered.zb", "--policy", "pci.toml"])
        .args(["--to", "out", "--json"])
        .expect(1);
    run.stderr_has("does not match its SHA-256");
    assert_eq!(run.json()["error"]["code"], "hash-mismatch");
    assert!(
        !site.path("out").exists(),
        "the target folder must not appear"
    );
    assert_eq!(listing(site.root()), before, "no staging folder is left");
    Ok(())
}
