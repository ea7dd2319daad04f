//! `bridge-export export` against the development-zone stand-in: the bundle carries the
//! release by names, its packages byte for byte, secrets by name only, and the next sequence
//! on its channel; refusals name what is wrong.

use std::process::Command;

use crate::harness::{Site, TestResult};
use crate::standins::{Standin, seed_secrets};

const DEV_KEY: &str = "API-DEVZONEEXPORT";

fn export(
    site: &Site,
    dev: &Standin,
    project: &str,
    version: &str,
    out: &str,
) -> crate::harness::Cmd {
    site.export()
        .args([
            "export",
            "--project",
            project,
            "--release",
            version,
            "--key",
            "alice.key",
        ])
        .args(["--source-zone", "dev", "--target-zone", "pci", "--out", out])
        .args(["--server", dev.url.as_str(), "--ledger", "export.ledger"])
        .env("OCTOPUS_API_KEY", DEV_KEY)
}

#[test]
fn a_seeded_release_exports_by_names_with_its_packages_and_no_secret_values() -> TestResult {
    let dev = Standin::start("dev.json", DEV_KEY);
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    export(&site, &dev, "Payments API", "1.4.1", "payments.zb")
        .args(["--keep-folder", "folder"])
        .ok()
        .stdout_has("packed")
        .stdout_has("Payments API 1.4.1");
    let verified = site
        .import()
        .args(["verify", "payments.zb", "--policy", "pci.toml", "--json"])
        .ok()
        .json();
    assert_eq!(verified["verdict"], "trusted");
    let bundle = &verified["bundle"];
    assert_eq!(bundle["sequence"], 1);
    assert_eq!(bundle["release"]["project"], "Payments API");
    assert_eq!(bundle["release"]["channel"], "Default");
    let packages = bundle["release"]["packages"]
        .as_array()
        .ok_or("no packages")?;
    assert_eq!(packages.len(), 2, "{packages:?}");
    // Packages byte for byte, as the feed has them.
    for package in packages {
        let id = package["id"].as_str().ok_or("no id")?;
        let version = package["version"].as_str().ok_or("no version")?;
        let from_feed = Command::new("curl")
            .args(["-sS", "-H", &format!("X-Octopus-ApiKey: {DEV_KEY}")])
            .arg(format!(
                "{}/api/Spaces-1/packages/packages-{id}.{version}/raw",
                dev.url
            ))
            .output()?
            .stdout;
        let path = package["path"].as_str().ok_or("no path")?;
        assert_eq!(
            std::fs::read(site.path("folder").join(path))?,
            from_feed,
            "{path}"
        );
    }
    // Names, not ids.
    let process = std::fs::read_to_string(site.path("folder/process.json"))?;
    assert!(
        process.contains("\"Feed\": \"Octopus Server (built-in)\""),
        "{process}"
    );
    assert!(
        !process.contains("Environments-") && !process.contains("feeds-builtin"),
        "ids leaked:\n{process}"
    );
    let secrets = bundle["release"]["secrets"]
        .as_array()
        .ok_or("no secrets")?;
    assert!(
        secrets.iter().any(|s| s["name"] == "Database.Password"),
        "{secrets:?}"
    );
    // No sensitive value of the development zone is in any byte of the bundle.
    let plain = Command::new("zstd")
        .args(["-dc", "payments.zb"])
        .current_dir(site.root())
        .output()?;
    assert!(plain.status.success(), "zstd -dc failed");
    for secret in seed_secrets("dev.json") {
        assert!(
            !plain
                .stdout
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "the bundle carries the secret value {secret:?}"
        );
    }
    Ok(())
}

#[test]
fn the_next_export_continues_the_channel_from_the_ledger() -> TestResult {
    let dev = Standin::start("dev.json", DEV_KEY);
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let first = export(&site, &dev, "payments-api", "1.4.0", "first.zb")
        .args(["--json"])
        .ok()
        .json();
    let second = export(&site, &dev, "Ledger Worker", "2.0.3", "second.zb")
        .args(["--json"])
        .ok()
        .json();
    assert_eq!(first["bundle"]["sequence"], 1);
    assert_eq!(second["bundle"]["sequence"], 2);
    assert_eq!(second["bundle"]["previous"], first["bundle"]["digest"]);
    site.import()
        .args(["ledger", "verify", "--ledger", "export.ledger"])
        .ok()
        .stdout_has("chain intact");
    Ok(())
}

#[test]
fn refusals_name_the_project_and_the_release() -> TestResult {
    let dev = Standin::start("dev.json", DEV_KEY);
    let site = Site::new();
    site.keygen("alice");
    export(&site, &dev, "Checkout", "1.0.0", "x.zb")
        .expect(1)
        .stderr_has("there is no project \"Checkout\"")
        .stderr_has("Payments API");
    export(&site, &dev, "Payments API", "9.9.9", "x.zb")
        .expect(1)
        .stderr_has("project Payments API has no release 9.9.9")
        .stderr_has("1.4.1");
    // A version-controlled project is refused by name.
    dev.post(
        "/api/Spaces-1/projects",
        &serde_json::json!({"Name": "Git Ops", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "IsVersionControlled": true}),
    );
    export(&site, &dev, "Git Ops", "1.0.0", "x.zb")
        .expect(1)
        .stderr_has("project Git Ops is version-controlled");
    assert!(
        !site.path("x.zb").exists(),
        "a refused export writes no bundle"
    );
    // A wrong API key is a configuration error with the hint.
    site.export()
        .args([
            "export",
            "--project",
            "Payments API",
            "--release",
            "1.4.1",
            "--key",
            "alice.key",
        ])
        .args([
            "--source-zone",
            "dev",
            "--target-zone",
            "pci",
            "--out",
            "x.zb",
            "--ledger",
            "export.ledger",
        ])
        .args(["--server", dev.url.as_str()])
        .env("OCTOPUS_API_KEY", "API-WRONG")
        .expect(3)
        .stderr_has("refused the API key");
    Ok(())
}
