//! `keygen`: key files OpenSSL reads, a private key only its owner can read, no overwrite.

use crate::harness::{Site, TestResult, read_text};

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads() -> TestResult {
    let site = Site::new();
    let run = site.export().args(["keygen", "--out", "alice"]).ok();
    run.stdout_has("key id");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(site.path("alice.key"))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "alice.key mode {mode:o}");
    }
    assert!(read_text(&site.path("alice.key")).starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(read_text(&site.path("alice.pub")).starts_with("-----BEGIN PUBLIC KEY-----"));
    Ok(())
}

#[test]
fn keygen_refuses_to_overwrite_a_key() {
    let site = Site::new();
    let id = site.keygen("alice");
    let before = read_text(&site.path("alice.key"));
    site.import()
        .args(["keygen", "--out", "alice"])
        .expect(4)
        .stderr_has("already exists");
    assert_eq!(read_text(&site.path("alice.key")), before);
    assert_eq!(id.len(), 32, "key ids are 32 hex: {id}");
}

#[test]
fn keygen_wants_the_name_without_extension() {
    let site = Site::new();
    site.export()
        .args(["keygen", "--out", "alice.key"])
        .expect(2)
        .stderr_has("--out alice");
    assert!(!site.path("alice.key.key").exists());
}
