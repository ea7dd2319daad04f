//! `policy init` and `policy trust`: a valid policy, and the mistakes they refuse.

use crate::harness::{Site, TestResult, read_text, write};

#[test]
fn init_and_trust_write_a_policy() -> TestResult {
    let site = Site::new();
    let id = site.keygen("alice");
    site.export()
        .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
        .ok()
        .stdout_has("policy trust");
    let run = site
        .export()
        .args([
            "policy",
            "trust",
            "dev.toml",
            "alice.pub",
            "--role",
            "result",
        ])
        .args(["--zone", "pci", "--zone", "pci-eu", "--json"])
        .args([
            "--not-after",
            "2030-01-01T00:00:00Z",
            "--comment",
            "secure importer",
        ])
        .ok();
    let json = run.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["key_id"], id.as_str());
    assert_eq!(json["zones"], serde_json::json!(["pci", "pci-eu"]));
    let text = read_text(&site.path("dev.toml"));
    for expected in [
        "zone = \"dev\"",
        &format!("id = \"{id}\""),
        "role = \"result\"",
        "zones = [\"pci\", \"pci-eu\"]",
        "not_after = 2030-01-01T00:00:00Z",
        "comment = \"secure importer\"",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in\n{text}");
    }
    Ok(())
}

#[test]
fn trusting_the_same_key_twice_is_refused() {
    let site = Site::new();
    site.keygen("alice");
    let policy = site.policy("pci.toml", "pci", &["alice"], 1);
    let before = read_text(&policy);
    let run = site
        .import()
        .args([
            "policy",
            "trust",
            "pci.toml",
            "alice.pub",
            "--role",
            "release",
        ])
        .args(["--zone", "dev", "--json"])
        .expect(3);
    run.stderr_has("already trusted");
    assert_eq!(run.json()["error"]["code"], "already-trusted");
    assert_eq!(read_text(&policy), before, "the policy is unchanged");
}

#[test]
fn a_bad_zone_id_is_a_usage_error() {
    let site = Site::new();
    site.import()
        .args(["policy", "init", "--zone", "PCI", "--out", "pci.toml"])
        .expect(2)
        .stderr_has("zone id \"PCI\" is not valid");
    assert!(!site.path("pci.toml").exists());
    site.keygen("alice");
    site.policy("pci.toml", "pci", &[], 1);
    site.import()
        .args([
            "policy",
            "trust",
            "pci.toml",
            "alice.pub",
            "--role",
            "release",
        ])
        .args(["--zone", "../dev"])
        .expect(2)
        .stderr_has("zone id");
}

#[test]
fn init_never_overwrites_a_policy() {
    let site = Site::new();
    let policy = site.policy("pci.toml", "pci", &[], 1);
    let before = read_text(&policy);
    site.import()
        .args(["policy", "init", "--zone", "other", "--out", "pci.toml"])
        .expect(4)
        .stderr_has("never overwrites");
    assert_eq!(read_text(&policy), before);
}

#[test]
fn an_invalid_policy_is_a_configuration_error() {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("a.zip", b"a")]);
    site.pack(&release, &["alice"], "pci", "b.zb").ok();
    write(
        &site.path("pci.toml"),
        b"zone = \"pci\"\n[thresholds]\nrelease = 0\n",
    );
    let run = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .expect(3);
    run.stderr_has("unsigned");
    assert_eq!(run.json()["error"]["code"], "policy-invalid");
}

/// A `diode` key only announces diode transfers (docs/diode.md 4): a bundle it signs is
/// refused as `signer-wrong-role`, whatever its zones, so the key of a diode sender host can
/// never make a bundle the secure side accepts.
#[test]
fn a_diode_key_cannot_sign_a_bundle_that_verifies() -> TestResult {
    let site = Site::new();
    site.keygen("sender");
    site.import()
        .args(["policy", "init", "--zone", "pci", "--out", "pci.toml"])
        .ok();
    let run = site
        .import()
        .args([
            "policy",
            "trust",
            "pci.toml",
            "sender.pub",
            "--role",
            "diode",
        ])
        .args(["--zone", "dev", "--json"])
        .ok();
    assert_eq!(run.json()["role"], "diode");
    assert!(read_text(&site.path("pci.toml")).contains("role = \"diode\""));
    let release = site.release("rel", &[("a.nupkg", b"package")]);
    site.pack(&release, &["sender"], "pci", "b.zb").ok();
    let run = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--json"])
        .expect(1);
    assert_eq!(
        run.json()["error"]["code"],
        "signer-wrong-role",
        "{}",
        run.stdout()
    );
    Ok(())
}
