//! Nothing decoded before trust (bundle spec 15.1), and every refusal audited: a bundle refused
//! before it was trusted is recorded from pre-trust data only (input, file size, manifest digest
//! and size, a bounded probe under `unverified`), never from a decoded manifest; a bundle of the
//! wrong kind is refused as `wrong-kind`, naming the command that takes it; no text a bundle
//! carries can keep a refusal out of the ledger.

use std::path::Path;

use ::ledger::{EVENT_REFUSED_UNVERIFIED, Ledger, Verdict};
use serde_json::Value;

use crate::harness::{Cmd, Site, TestResult, frames, write};

/// `bundle` with its manifest's bytes changed by `edit` (same length, so the ustar record
/// stays well formed); the signatures are left as they were, so they no longer verify.
fn edited(bundle: &Path, out: &Path, edit: impl FnOnce(&mut [u8])) -> TestResult {
    let [signatures, manifest, payload] = frames(&std::fs::read(bundle)?)?;
    let mut record = zstd::stream::decode_all(manifest.as_slice())?;
    let size_field = std::str::from_utf8(record.get(124..135).ok_or("short header")?)?;
    let size = usize::from_str_radix(size_field.trim_matches(char::from(0)).trim(), 8)?;
    edit(record.get_mut(512..512 + size).ok_or("short record")?);
    let mut compressor = zstd::bulk::Compressor::new(3)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    let manifest = compressor.compress(&record)?;
    write(out, &[signatures, manifest, payload].concat());
    Ok(())
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn replace(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut at = 0;
    while let Some(found) = bytes
        .get(at..)
        .and_then(|rest| rest.windows(from.len()).position(|w| w == from))
    {
        let start = at + found;
        bytes[start..start + to.len()].copy_from_slice(to);
        at = start + to.len();
    }
}

/// A site with key `alice` trusted by `pci.toml` (release) and `dev.toml` (result, zone pci),
/// and a genuine bundle `genuine.zb` signed by alice.
fn site() -> Site {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    site.export()
        .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
        .ok();
    let release = site.release("release", &[("a.zip", b"a")]);
    site.pack(&release, &["alice"], "pci", "genuine.zb").ok();
    site
}

/// `bridge-import import BUNDLE` with the site's ledger; no server is reached by a refusal
/// before trust.
fn import(site: &Site, bundle: &str) -> Cmd {
    site.import()
        .args(["import", bundle, "--policy", "pci.toml", "--json"])
        .args([
            "--server",
            "http://127.0.0.1:9",
            "--ledger",
            "import.ledger",
        ])
        .env("OCTOPUS_API_KEY", "API-UNUSED")
}

/// `bridge-export results BUNDLE` with the site's ledger and no server.
fn results(site: &Site, bundle: &str) -> Cmd {
    site.export()
        .args([
            "results",
            bundle,
            "--policy",
            "dev.toml",
            "--json",
            "--no-note",
        ])
        .args(["--ledger", "export.ledger"])
}

/// The last audit entry of `ledger`, after checking that the chain verifies and that no
/// bundle row was written (a refusal before trust has none).
fn last_refusal(ledger: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let ledger = Ledger::open_existing(ledger)?;
    ledger.verify()?;
    assert!(
        ledger
            .bundles(None, Some(Verdict::Refused), None)?
            .is_empty(),
        "a bundle refused before trust has no row in bundles"
    );
    let entries = ledger.audit_entries()?;
    let last = entries.last().ok_or("no audit entry")?;
    assert_eq!(last.event, EVENT_REFUSED_UNVERIFIED);
    Ok(last.detail_json()?)
}

fn sha256_hex(bytes: &[u8]) -> String {
    // The ledger's crate does the hashing in the product; here a second implementation
    // (sha256sum) checks it.
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child.stdin.take().map(|mut s| s.write_all(bytes));
            child.wait_with_output()
        })
        .unwrap_or_else(|e| panic!("cannot run sha256sum: {e}"));
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The manifest bytes of a bundle file.
fn manifest_bytes(bundle: &Path) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let [_, manifest, _] = frames(&std::fs::read(bundle)?)?;
    let record = zstd::stream::decode_all(manifest.as_slice())?;
    let size_field = std::str::from_utf8(record.get(124..135).ok_or("short header")?)?;
    let size = usize::from_str_radix(size_field.trim_matches(char::from(0)).trim(), 8)?;
    Ok(record.get(512..512 + size).ok_or("short record")?.to_vec())
}

#[test]
fn a_manifest_that_lies_is_recorded_by_digest_never_by_its_claims() -> TestResult {
    let site = site();
    // The same length, so that only the signature can tell: project, version and channel.
    edited(&site.path("genuine.zb"), &site.path("lie.zb"), |m| {
        replace(m, b"Payments API", b"LIE LIE LIE!");
        replace(m, b"1.0.0", b"6.6.6");
    })?;
    let run = import(&site, "lie.zb").expect(1);
    assert_eq!(run.json()["error"]["code"], "signature-invalid");
    let detail = last_refusal(&site.path("import.ledger"))?;
    let manifest = manifest_bytes(&site.path("lie.zb"))?;
    assert_eq!(detail["digest"], sha256_hex(&manifest));
    assert_eq!(detail["manifest_bytes"], manifest.len());
    assert_eq!(
        detail["file_bytes"],
        std::fs::metadata(site.path("lie.zb"))?.len()
    );
    assert_eq!(detail["unverified"]["kind"], "release");
    assert_eq!(detail["unverified"]["target_zone"], "pci");
    assert_eq!(detail["unverified"]["sequence"], 1);
    let text = detail.to_string();
    for lie in ["LIE", "6.6.6", "Payments API", "project", "version"] {
        assert!(!text.contains(lie), "{lie} recorded: {text}");
    }
    assert!(
        detail["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("signature-invalid: ")),
        "{detail}"
    );
    Ok(())
}

#[test]
fn a_manifest_that_is_not_cbor_is_recorded_with_its_digest_and_size() -> TestResult {
    let site = site();
    for (name, fill) in [("ff.zb", 0xffu8), ("zero.zb", 0x00), ("break.zb", 0x1f)] {
        edited(&site.path("genuine.zb"), &site.path(name), |m| m.fill(fill))?;
        for (cmd, ledger) in [
            (import(&site, name), "import.ledger"),
            (results(&site, name), "export.ledger"),
        ] {
            cmd.expect(1);
            let detail = last_refusal(&site.path(ledger))?;
            let manifest = manifest_bytes(&site.path(name))?;
            assert_eq!(detail["digest"], sha256_hex(&manifest), "{name}");
            assert_eq!(detail["manifest_bytes"], manifest.len(), "{name}");
            for claim in ["kind", "source_zone", "target_zone", "sequence"] {
                assert_eq!(detail["unverified"][claim], Value::Null, "{name} {claim}");
            }
        }
    }
    // A bundle whose manifest cannot even be read is recorded by its input and size.
    let bytes = std::fs::read(site.path("genuine.zb"))?;
    write(&site.path("cut.zb"), &bytes[..40]);
    import(&site, "cut.zb").expect(1);
    let detail = last_refusal(&site.path("import.ledger"))?;
    assert_eq!(detail["digest"], Value::Null);
    assert_eq!(detail["file_bytes"], 40);
    assert_eq!(detail["input"], "cut.zb");
    Ok(())
}

#[test]
fn a_release_bundle_given_to_results_says_so_and_names_import() -> TestResult {
    let site = site();
    // Signed by a key the development side does not trust at all: only its claim is known.
    let run = results(&site, "genuine.zb").expect(1);
    assert_eq!(run.json()["error"]["code"], "wrong-kind");
    run.stderr_has("claims to be a release bundle (unverified")
        .stderr_has("this command takes result bundles")
        .stderr_has(
            "Hint: release bundles are taken by `bridge-import import`, in the secure zone",
        );
    assert!(
        !run.stderr.contains("policy trust"),
        "never 'trust its key'"
    );
    let detail = last_refusal(&site.path("export.ledger"))?;
    assert_eq!(detail["unverified"]["kind"], "release");
    assert!(
        detail["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("wrong-kind: ")),
        "{detail}"
    );
    Ok(())
}

#[test]
fn huge_texts_never_keep_a_refusal_out_of_the_ledger() -> TestResult {
    let site = site();
    // Folder names of 150 control characters and bidi overrides, 15 deep (3.7 KiB of path):
    // in the reason and the input, both bounded.
    let odd = "\u{1b}\u{202e}x".repeat(50);
    let mut dir = std::path::PathBuf::new();
    for _ in 0..15 {
        dir.push(&odd);
    }
    let bundle = dir.join("b.zb");
    let bytes = std::fs::read(site.path("genuine.zb"))?;
    write(
        &site.path(&bundle.to_string_lossy()),
        &bytes[..bytes.len() - 7],
    );
    let bundle = bundle.to_string_lossy().into_owned();
    import(&site, &bundle).expect(1);
    let detail = last_refusal(&site.path("import.ledger"))?;
    assert!(detail.to_string().len() <= ::ledger::MAX_DETAIL_BYTES);
    assert!(
        detail["input"]
            .as_str()
            .is_some_and(|i| i.len() <= ::ledger::MAX_INPUT_BYTES),
        "{detail}"
    );
    // Many refusals in a row: each its own entry, and the chain verifies.
    for _ in 0..3 {
        import(&site, &bundle).expect(1);
    }
    let ledger = Ledger::open_existing(site.path("import.ledger"))?;
    assert_eq!(ledger.verify()?.entries, 4);
    site.import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok();
    Ok(())
}

#[test]
fn a_result_bundle_given_to_import_says_so_and_names_results() -> TestResult {
    let trip = crate::results::Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
        .ok();
    let zones = &trip.zones;
    let state = zones.secure_state();
    // Signed by the secure zone's result signer, which its own import policy does not trust:
    // only the claim is known, and said to be one.
    let run = zones.import("result.zb").args(["--json"]).expect(1);
    assert_eq!(run.json()["error"]["code"], "wrong-kind");
    run.stderr_has("claims to be a result bundle (unverified")
        .stderr_has("this command takes release bundles")
        .stderr_has(
            "Hint: result bundles are taken by `bridge-export results`, in the development zone",
        );
    assert!(
        !run.stderr.contains("policy trust"),
        "never 'trust its key'"
    );
    assert_eq!(
        zones.secure_state(),
        state,
        "nothing changed on the instance"
    );
    let detail = last_refusal_any(&zones.site.path("import.ledger"))?;
    assert_eq!(detail["unverified"]["kind"], "result");
    assert_eq!(detail["unverified"]["source_zone"], "pci");
    Ok(())
}

/// The last audit entry of `ledger` (which may hold accepted bundles), after checking that
/// the chain verifies.
fn last_refusal_any(ledger: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let ledger = Ledger::open_existing(ledger)?;
    ledger.verify()?;
    let entries = ledger.audit_entries()?;
    let last = entries.last().ok_or("no audit entry")?;
    assert_eq!(last.event, EVENT_REFUSED_UNVERIFIED);
    Ok(last.detail_json()?)
}

#[test]
fn a_verified_release_with_huge_texts_is_refused_and_recorded() -> TestResult {
    let zones = crate::promote::Zones::new();
    let site = &zones.site;
    // Signed by the trusted release signer: a 2 KiB project name the target does not have,
    // 256 KiB of notes and 100 secrets with large scopes (release.toml stays under its 1 MiB
    // limit). The refusal names the project; its
    // record is bounded and written.
    let project = "P".repeat(2048);
    let release = site.release("huge", &[("a.zip", b"a")]);
    let mut toml = std::fs::read_to_string(release.join("release.toml"))?.replace(
        "project = \"Payments API\"",
        &format!("project = \"{project}\""),
    );
    toml = toml.replacen(
        "channel = \"Default\"\n",
        &format!(
            "channel = \"Default\"\nnotes = \"{}\"\n",
            "n".repeat(256 << 10)
        ),
        1,
    );
    let scope = (0..50)
        .map(|n| format!("\"Environment {n:04}\""))
        .collect::<Vec<_>>()
        .join(", ");
    for n in 0..100 {
        toml.push_str(&format!(
            "[[secrets]]\nowner = \"{project}\"\nname = \"Secret.{n}\"\nscope = {{ Environment = [{scope}] }}\n"
        ));
    }
    write(&release.join("release.toml"), toml.as_bytes());
    site.pack(&release, &["signer"], "pci", "huge.zb").ok();
    let run = zones.import("huge.zb").args(["--json"]).expect(1);
    let code = run.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Refused before Octopus is asked anything: a name the ledger cannot record would
    // otherwise be applied and then fail to be recorded.
    assert_eq!(code, "release-invalid", "{}", run.stderr);
    run.stderr_has("the ledger records at most 1024 bytes");
    let ledger = Ledger::open_existing(site.path("import.ledger"))?;
    ledger.verify()?;
    let refused = ledger.bundles(None, Some(Verdict::Refused), None)?;
    let row = refused.last().ok_or("the refusal has no row")?;
    let kept = row.project.as_deref().unwrap_or_default();
    assert!(kept.len() <= ::ledger::MAX_NAME_BYTES, "{}", kept.len());
    assert!(kept.starts_with("PPPP") && kept.ends_with(::ledger::TRUNCATED_MARK));
    let reason = row.reason.as_deref().unwrap_or_default();
    assert!(reason.starts_with(&format!("{code}: ")), "{reason}");
    assert!(reason.len() <= ::ledger::MAX_REASON_BYTES);
    let entries = ledger.audit_entries()?;
    let last = entries.last().ok_or("no audit entry")?;
    assert_eq!(last.event, ::ledger::EVENT_REFUSED);
    assert!(last.detail.len() <= ::ledger::MAX_DETAIL_BYTES);
    Ok(())
}
