//! Build information end to end: a release of Payments API whose package has build
//! information is exported (it travels in `build-information.json`, URLs without their
//! credentials), imported (pushed to the secure zone before the release, which then shows the
//! same `BuildInformation`), and refused when the target holds other build information for
//! that version, when the document was tampered with, or when it is hostile (too large, wrong
//! types, credentials in a URL), with nothing written.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{TestResult, frames, kill_at_each_write, plan_step, write};
use crate::promote::Zones;
use crate::results::decompressed;
use crate::standins::Standin;

/// The CI token a careless build server put in its URLs: it must never leave the zone.
const CI_TOKEN: &str = "ci-token-5521";

/// The build information CI pushes for Payments.Api `version`.
fn pushed(version: &str, build: &str) -> Value {
    json!({
        "PackageId": "Payments.Api",
        "Version": version,
        "OctopusBuildInformation": {
            "BuildEnvironment": "GitHub Actions",
            "BuildNumber": build,
            "BuildUrl": format!("https://ci-bot:{CI_TOKEN}@ci.example/acme/payments/runs/{build}"),
            "Branch": "main",
            "VcsType": "Git",
            "VcsRoot": "https://github.com/acme/payments",
            "VcsCommitNumber": "8c07d4e",
            "Commits": [
                {"Id": "8c07d4e", "Comment": "PAY-31 refunds: keep idempotency keys 24 h"},
                {"Id": "77aa012", "Comment": "PAY-30 partial refunds"}
            ]
        }
    })
}

fn delete(zone: &Standin, path: &str) {
    let status = Command::new("curl")
        .args(["-sS", "-f", "-X", "DELETE", "-H"])
        .arg(format!("X-Octopus-ApiKey: {}", zone.key))
        .arg(format!("{}{path}", zone.url))
        .status();
    assert!(status.is_ok_and(|s| s.success()), "DELETE {path} failed");
}

/// Payments API 1.4.1 on `zone`.
fn release_of(zone: &Standin) -> Value {
    let project = zone.get("/api/Spaces-1/projects/payments-api");
    zone.get(&format!(
        "/api/Spaces-1/projects/{}/releases/1.4.1",
        project["Id"].as_str().unwrap_or_default()
    ))
}

/// On the development zone: build information for Payments.Api 1.4.1 (build `build`), and
/// release 1.4.1 created again after it, so that it shows it (a server copies build
/// information into a release when the release is created).
fn dev_release_with_build_information(zones: &Zones, build: &str) {
    let dev = &zones.dev;
    let stored = dev.post("/api/Spaces-1/build-information", &pushed("1.4.1", build));
    assert_eq!(stored["BuildNumber"], build, "{stored}");
    let old = release_of(dev);
    delete(
        dev,
        &format!(
            "/api/Spaces-1/releases/{}",
            old["Id"].as_str().unwrap_or_default()
        ),
    );
    let again = dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": old["ProjectId"], "ChannelId": old["ChannelId"], "Version": "1.4.1",
                "ReleaseNotes": old["ReleaseNotes"], "SelectedPackages": old["SelectedPackages"]}),
    );
    assert_eq!(
        again["BuildInformation"][0]["BuildNumber"], build,
        "{again}"
    );
}

/// The plan line of the build information step.
fn plan_line(report: &Value) -> Value {
    plan_step(report, "build-information")
}

#[test]
fn a_release_with_build_information_arrives_showing_it() -> TestResult {
    let zones = Zones::new();
    dev_release_with_build_information(&zones, "288");
    zones
        .export("Payments API", "1.4.1", "payments.zb")
        .ok()
        .stderr_has("credentials (user:password@) removed from the URLs of")
        .stderr_has("Payments.Api 1.4.1: BuildUrl");
    let bundle =
        String::from_utf8_lossy(&decompressed(&zones.site.path("payments.zb"))).into_owned();
    assert!(bundle.contains("build-information.json") && bundle.contains("PAY-30 partial refunds"));
    assert!(!bundle.contains(CI_TOKEN), "the CI token left the zone");

    let dry = zones
        .import("payments.zb")
        .args(["--dry-run", "--json"])
        .ok();
    let line = plan_line(&dry.json());
    assert_eq!(line["action"], "push", "{line}");
    assert_eq!(line["subject"], "Payments.Api 1.4.1");
    assert!(
        line["detail"]
            .as_str()
            .is_some_and(|d| d.contains("build 288 of GitHub Actions on main, 2 commits")),
        "{line}"
    );
    assert_eq!(
        zones.pci.get("/api/Spaces-1/build-information")["TotalResults"],
        0,
        "a dry run pushed build information"
    );

    zones
        .import("payments.zb")
        .ok()
        .stdout_has("pushed: Payments.Api 1.4.1 (build 288 of GitHub Actions on main, 2 commits)");
    let shown = release_of(&zones.pci)["BuildInformation"].clone();
    let dev_shown = release_of(&zones.dev)["BuildInformation"].clone();
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{shown}");
    for field in [
        "PackageId",
        "Version",
        "BuildEnvironment",
        "BuildNumber",
        "Branch",
        "VcsType",
        "VcsRoot",
        "VcsCommitNumber",
        "VcsCommitUrl",
        "Commits",
    ] {
        assert_eq!(shown[0][field], dev_shown[0][field], "{field}");
    }
    assert_eq!(
        shown[0]["BuildUrl"],
        "https://ci.example/acme/payments/runs/288"
    );
    // The audit trail records the push (SQLite keeps text as written), never the CI token.
    let mut ledger = std::fs::read(zones.site.path("import.ledger"))?;
    ledger.extend(std::fs::read(zones.site.path("import.ledger-wal")).unwrap_or_default());
    let ledger = String::from_utf8_lossy(&ledger);
    assert!(
        ledger.contains("import.build-information"),
        "no build information audit entry"
    );
    assert!(!ledger.contains(CI_TOKEN), "the ledger holds the CI token");
    // Again: already imported, nothing pushed twice.
    zones.import("payments.zb").ok();
    assert_eq!(
        zones.pci.get("/api/Spaces-1/build-information")["TotalResults"],
        1
    );
    Ok(())
}

#[test]
fn the_same_build_information_on_the_target_is_kept_and_other_is_refused() -> TestResult {
    let zones = Zones::new();
    dev_release_with_build_information(&zones, "288");
    zones.export("Payments API", "1.4.1", "payments.zb").ok();

    // The secure zone has other build information for that version: refused, nothing written.
    let mut other = pushed("1.4.1", "290");
    other["OctopusBuildInformation"]["BuildUrl"] =
        json!("https://ci.example/acme/payments/runs/290");
    let stored = zones.pci.post("/api/Spaces-1/build-information", &other);
    let before = zones.secure_state();
    let run = zones.import("payments.zb").args(["--json"]).expect(1);
    assert_eq!(
        run.json()["error"]["code"],
        "build-information-conflict",
        "{}",
        run.json()
    );
    run.stderr_has(
        "Payments.Api 1.4.1: BuildNumber is Some(\"290\") there, Some(\"288\") in the bundle",
    )
    .stderr_has("nothing was written");
    assert_eq!(zones.secure_state(), before);
    assert_eq!(
        zones.pci.get(&format!(
            "/api/Spaces-1/build-information/{}",
            stored["Id"].as_str().unwrap_or_default()
        ))["BuildNumber"],
        "290"
    );

    // The same build information (an earlier run pushed it): kept, and the import goes on.
    let mut same = pushed("1.4.1", "288");
    same["OctopusBuildInformation"]["BuildUrl"] =
        json!("https://ci.example/acme/payments/runs/288");
    let replaced = zones.pci.post(
        "/api/Spaces-1/build-information?overwriteMode=OverwriteExisting",
        &same,
    );
    assert_eq!(replaced["BuildNumber"], "288");
    let report = zones.import("payments.zb").args(["--json"]).ok().json();
    assert_eq!(plan_line(&report)["action"], "keep", "{report}");
    assert_eq!(
        release_of(&zones.pci)["BuildInformation"][0]["BuildNumber"],
        "288"
    );
    Ok(())
}

/// Release folder `name` of Payments API 9.0.0 with an empty process and `document` as
/// `build-information.json` (written as given, so it may be any bytes), packed for the secure
/// zone.
fn hostile_bundle(zones: &Zones, name: &str, document: &[u8]) -> String {
    let root = zones.site.path(name);
    write(
        &root.join("process.json"),
        br#"{"Project":"Payments API","Steps":[]}"#,
    );
    write(&root.join("build-information.json"), document);
    write(
        &root.join("release.toml"),
        b"project = \"Payments API\"\nversion = \"9.0.0\"\nchannel = \"Default\"\nprocess = \"process.json\"\nfiles = [\"build-information.json\"]\n",
    );
    let out = format!("{name}.zb");
    zones.site.pack(&root, &["signer"], "pci", &out).ok();
    out
}

fn entry(change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut e = json!({"PackageId": "Payments.Api", "Version": "9.0.0", "BuildNumber": "1",
                       "BuildUrl": "https://ci.example/runs/1", "Commits": [{"Id": "a1", "Comment": "ok"}]});
    change(&mut e);
    json!({"Packages": [e]}).to_string().into_bytes()
}

#[test]
fn hostile_build_information_is_refused_with_its_code_and_nothing_is_written() -> TestResult {
    let zones = Zones::new();
    let before = zones.secure_state();
    let many: Vec<Value> = (0..1001).map(|i| json!({"Id": format!("c{i}")})).collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "commits",
            entry(|e| e["Commits"] = Value::Array(many)),
            "Payments.Api 9.0.0: Commits has 1001 entries; at most 1000 are accepted",
        ),
        (
            "long",
            entry(|e| e["Branch"] = json!("b".repeat(2049))),
            "Payments.Api 9.0.0: Branch is 2049 characters long; at most 2048 are accepted",
        ),
        (
            "credentials",
            entry(|e| e["VcsRoot"] = json!("https://bot:hunter2@github.com/acme/payments")),
            "Payments.Api 9.0.0: VcsRoot carries credentials",
        ),
        (
            "commit-credentials",
            entry(|e| e["Commits"][0]["LinkUrl"] = json!("http://u:p@git.example/c/a1")),
            "Commits[0].LinkUrl carries credentials",
        ),
        (
            "type",
            entry(|e| e["BuildNumber"] = json!(288)),
            "invalid type: integer `288`, expected a string",
        ),
        (
            "unknown",
            entry(|e| e["ApiKey"] = json!("API-XYZ")),
            "unknown field `ApiKey`",
        ),
        (
            "escape",
            entry(|e| e["BuildNumber"] = json!("1\u{1b}]0;pwned\u{7}")),
            "Payments.Api 9.0.0: BuildNumber holds a control character (U+001B)",
        ),
        (
            "not-json",
            b"{\"Packages\": [".to_vec(),
            "EOF while parsing",
        ),
    ];
    for (name, document, want) in cases {
        let bundle = hostile_bundle(&zones, name, &document);
        let run = zones.import(&bundle).args(["--json"]).expect(1);
        assert_eq!(
            run.json()["error"]["code"],
            "build-information-invalid",
            "{name}: {}",
            run.json()
        );
        run.stderr_has(want);
        assert_eq!(zones.secure_state(), before, "{name} changed the instance");
        assert_eq!(
            zones.pci.get("/api/Spaces-1/build-information")["TotalResults"],
            0,
            "{name}"
        );
    }
    Ok(())
}

#[test]
fn a_tampered_build_information_document_is_refused_before_it_is_read() -> TestResult {
    let zones = Zones::new();
    // Same length, other build: only the signed hashes can tell.
    let genuine = hostile_bundle(
        &zones,
        "genuine",
        &entry(|e| e["BuildNumber"] = json!("288")),
    );
    let forged = hostile_bundle(
        &zones,
        "forged",
        &entry(|e| e["BuildNumber"] = json!("999")),
    );
    let genuine = std::fs::read(zones.site.path(&genuine))?;
    let forged = std::fs::read(zones.site.path(&forged))?;
    let head = |bundle: &[u8]| -> Result<usize, String> {
        let [signatures, manifest, _] = frames(bundle)?;
        Ok(signatures.len() + manifest.len())
    };
    let mut tampered = genuine
        .get(..head(&genuine)?)
        .ok_or("short bundle")?
        .to_vec();
    tampered.extend_from_slice(forged.get(head(&forged)?..).ok_or("short bundle")?);
    std::fs::write(zones.site.path("tampered.zb"), tampered)?;
    let before = zones.secure_state();
    let run = zones.import("tampered.zb").args(["--json"]).expect(1);
    assert_eq!(
        run.json()["error"]["code"],
        "hash-mismatch",
        "{}",
        run.json()
    );
    run.stderr_has("entry build-information.json does not match its SHA-256");
    assert_eq!(zones.secure_state(), before);
    Ok(())
}

#[test]
fn a_bundle_without_build_information_still_imports() -> TestResult {
    // Payments API 1.4.1 as the seed made it: no build information, no document.
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    let bundle =
        String::from_utf8_lossy(&decompressed(&zones.site.path("payments.zb"))).into_owned();
    assert!(!bundle.contains("build-information.json"));
    let report = zones.import("payments.zb").args(["--json"]).ok().json();
    assert_eq!(plan_line(&report), Value::Null);
    assert_eq!(release_of(&zones.pci)["BuildInformation"], json!([]));
    Ok(())
}

#[test]
fn an_import_killed_at_any_write_completes_with_the_build_information_pushed_once() -> TestResult {
    let setup = || {
        let zones = Zones::new();
        dev_release_with_build_information(&zones, "288");
        zones.export("Payments API", "1.4.1", "payments.zb").ok();
        Ok(zones)
    };
    let import = |zones: &Zones| zones.import("payments.zb");
    let points = kill_at_each_write(100, setup, import, |zones, n| {
        let records = zones
            .pci
            .get("/api/Spaces-1/build-information?packageId=Payments.Api");
        assert_eq!(
            records["TotalResults"], 1,
            "after a kill at write {n}: {records}"
        );
        assert_eq!(
            release_of(&zones.pci)["BuildInformation"][0]["BuildNumber"],
            "288",
            "after a kill at write {n}"
        );
        zones
            .import("payments.zb")
            .ok()
            .stdout_has("already imported");
    })?;
    assert!(points >= 3, "only {points} kill points were exercised");
    Ok(())
}
