//! Promotion end to end: `bridge-export export` from the development-zone stand-in, carried as
//! a file, `bridge-import import` into the secure-zone stand-in. The promoted release matches
//! the development one by names; refusals leave the secure instance untouched; importing the
//! same bundle twice does nothing the second time.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{Cmd, Site, TestResult};
use crate::standins::{PROFILES, Standin, seed_secrets};

pub const DEV_KEY: &str = "API-DEVZONEPROMOTE";
pub const PCI_KEY: &str = "API-PCIZONEPROMOTE";

/// Two zones, a release signer trusted by the secure zone, and the example mapping and secrets
/// files (the secrets file copied with mode 0600, as the importer requires).
pub struct Zones {
    pub site: Site,
    pub dev: Standin,
    pub pci: Standin,
}

impl Zones {
    pub fn new() -> Self {
        Self::with_standins(
            Standin::start("dev.json", DEV_KEY),
            Standin::start("secure.json", PCI_KEY),
        )
    }

    /// The same with both stand-ins behaving as the Octopus Server `profile`.
    pub fn on(profile: &str) -> Self {
        Self::with_standins(
            Standin::start_profile("dev.json", DEV_KEY, profile),
            Standin::start_profile("secure.json", PCI_KEY, profile),
        )
    }

    /// The same with stand-ins started by the caller (under `DEV_KEY` and `PCI_KEY`).
    pub fn with_standins(dev: Standin, pci: Standin) -> Self {
        let site = Site::new();
        site.keygen("signer");
        site.policy("pci.toml", "pci", &["signer"], 1);
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/promote");
        std::fs::copy(examples.join("mapping.toml"), site.path("mapping.toml"))
            .unwrap_or_else(|e| panic!("cannot copy the example mapping file: {e}"));
        std::fs::copy(examples.join("secrets.toml"), site.path("secrets.toml"))
            .unwrap_or_else(|e| panic!("cannot copy the example secrets file: {e}"));
        set_mode(&site.path("secrets.toml"), 0o600);
        Zones { site, dev, pci }
    }

    /// `bridge-export export` of `project` `version` into `out`.
    pub fn export(&self, project: &str, version: &str, out: &str) -> Cmd {
        self.site
            .export()
            .args([
                "export",
                "--project",
                project,
                "--release",
                version,
                "--key",
                "signer.key",
            ])
            .args(["--source-zone", "dev", "--target-zone", "pci", "--out", out])
            .args([
                "--server",
                self.dev.url.as_str(),
                "--ledger",
                "export.ledger",
            ])
            .env("OCTOPUS_API_KEY", DEV_KEY)
    }

    /// `bridge-import import` of `bundle` with the example mapping and secrets files.
    pub fn import(&self, bundle: &str) -> Cmd {
        self.import_without_secrets(bundle)
            .args(["--secrets", "secrets.toml"])
    }

    /// `import` of `bundle` with the mapping file but no secrets file.
    pub fn import_without_secrets(&self, bundle: &str) -> Cmd {
        self.site
            .import()
            .args([
                "import",
                bundle,
                "--policy",
                "pci.toml",
                "--map",
                "mapping.toml",
            ])
            .args([
                "--server",
                self.pci.url.as_str(),
                "--ledger",
                "import.ledger",
            ])
            .env("OCTOPUS_API_KEY", PCI_KEY)
    }

    /// Removes the value the secure instance stores for `name` in Payments API's variables, so
    /// that an import of Payments API needs it from a secrets file.
    pub fn forget_stored_secret(&self, name: &str) {
        let project = self.pci.get("/api/Spaces-1/projects/payments-api");
        let path = format!(
            "/api/Spaces-1/variables/{}",
            project["VariableSetId"].as_str().unwrap_or("")
        );
        let mut set = self.pci.get(&path);
        let variables = set["Variables"].as_array().cloned().unwrap_or_default();
        let kept: Vec<Value> = variables
            .iter()
            .filter(|v| v["Name"] != name)
            .cloned()
            .collect();
        assert!(kept.len() < variables.len(), "the secure seed has {name}");
        set["Variables"] = Value::Array(kept);
        self.pci.put(&path, &set);
    }

    /// What an import may change on the secure instance, to show a refusal changed nothing.
    pub fn secure_state(&self) -> Value {
        let pci = &self.pci;
        let mut sets = Vec::new();
        for project in pci
            .get("/api/Spaces-1/projects/all")
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let id = project["Id"].as_str().unwrap_or("");
            sets.push(pci.get(&format!("/api/Spaces-1/variables/variableset-{id}")));
            sets.push(pci.get(&format!(
                "/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}"
            )));
        }
        for library in pci
            .get("/api/Spaces-1/libraryvariablesets/all")
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let id = library["VariableSetId"].as_str().unwrap_or("");
            sets.push(pci.get(&format!("/api/Spaces-1/variables/{id}")));
        }
        json!({
            "releases": pci.get("/api/Spaces-1/releases/all"),
            "packages": pci.get("/api/Spaces-1/packages/all"),
            "projects": pci.get("/api/Spaces-1/projects/all"),
            "sets": sets,
        })
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// A process's steps without what differs between instances (ids, links) or by mapping
/// (environment, channel, feed and team names are compared through the mapping file).
fn shape(process: &Value) -> Value {
    let steps = process["Steps"].as_array().cloned().unwrap_or_default();
    Value::Array(
        steps
            .iter()
            .map(|step| {
                json!({
                    "Name": step["Name"],
                    "Condition": step["Condition"],
                    "Properties": step["Properties"],
                    "Actions": step["Actions"].as_array().cloned().unwrap_or_default().iter().map(|a| json!({
                        "Name": a["Name"],
                        "ActionType": a["ActionType"],
                        "IsDisabled": a["IsDisabled"],
                        "Packages": a["Packages"].as_array().cloned().unwrap_or_default().iter().map(|p| json!({"Name": p["Name"], "PackageId": p["PackageId"]})).collect::<Vec<_>>(),
                        "Properties": a["Properties"].as_object().map(|props| props.iter()
                            .filter(|(k, _)| !k.ends_with("FeedId") && !k.ends_with("ResponsibleTeamIds"))
                            .map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>()),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn release(zone: &Standin, project: &str, version: &str) -> Value {
    let project = zone.get(&format!("/api/Spaces-1/projects/{project}"));
    zone.get(&format!(
        "/api/Spaces-1/projects/{}/releases/{version}",
        project["Id"].as_str().unwrap_or("")
    ))
}

fn raw_package(zone: &Standin, id: &str, version: &str) -> Vec<u8> {
    Command::new("curl")
        .args(["-sS", "-H", &format!("X-Octopus-ApiKey: {}", zone.key)])
        .arg(format!(
            "{}/api/Spaces-1/packages/packages-{id}.{version}/raw",
            zone.url
        ))
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default()
}

/// The tests that run once per profile do reach a server of that version: each zone reports
/// it, and only the current one has the routes added after 2020.5.
#[test]
fn zones_started_on_a_profile_behave_as_that_server() -> TestResult {
    for profile in PROFILES {
        let (version, newer) = match profile {
            "2020.5" => ("2020.5.0", false),
            _ => ("2025.1.5054", true),
        };
        let zones = Zones::on(profile);
        for zone in [&zones.dev, &zones.pci] {
            assert_eq!(zone.get("/api")["Version"], version, "{profile}");
            let answer = zone.get("/api/Spaces-1/git-credentials");
            assert_eq!(answer["Items"].is_array(), newer, "{profile}: {answer}");
        }
    }
    Ok(())
}

#[test]
fn a_release_is_promoted_with_its_steps_variables_and_packages_on_2020_5() -> TestResult {
    a_release_is_promoted_with_its_steps_variables_and_packages("2020.5")
}

#[test]
fn a_release_is_promoted_with_its_steps_variables_and_packages_on_2025() -> TestResult {
    a_release_is_promoted_with_its_steps_variables_and_packages("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn a_release_is_promoted_with_its_steps_variables_and_packages(profile: &str) -> TestResult {
    let zones = Zones::on(profile);
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    zones.import("payments.zb").ok().stdout_has("1.4.1");
    let dev_release = release(&zones.dev, "payments-api", "1.4.1");
    let pci_release = release(&zones.pci, "payments-api", "1.4.1");
    assert_eq!(pci_release["Version"], "1.4.1");
    assert_eq!(pci_release["ReleaseNotes"], dev_release["ReleaseNotes"]);
    // Same steps, actions and properties.
    let dev_process = zones.dev.get(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        dev_release["ProjectDeploymentProcessSnapshotId"]
            .as_str()
            .unwrap_or("")
    ));
    let pci_process = zones.pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        pci_release["ProjectDeploymentProcessSnapshotId"]
            .as_str()
            .unwrap_or("")
    ));
    assert_eq!(shape(&pci_process), shape(&dev_process));
    // The same packages, byte for byte, and the same selections.
    let selections = dev_release["SelectedPackages"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(selections.len(), 2, "release 1.4.1 selects two packages");
    for selected in selections {
        let action = selected["ActionName"].as_str().unwrap_or("");
        let version = selected["Version"].as_str().unwrap_or("");
        let id = dev_process["Steps"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["Actions"].as_array().cloned().unwrap_or_default())
            .find(|a| a["Name"] == action)
            .and_then(|a| a["Packages"][0]["PackageId"].as_str().map(str::to_owned))
            .ok_or("no package id")?;
        let from_dev = raw_package(&zones.dev, &id, version);
        assert!(!from_dev.is_empty());
        assert_eq!(
            raw_package(&zones.pci, &id, version),
            from_dev,
            "{id} {version}"
        );
        assert!(
            pci_release["SelectedPackages"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["ActionName"] == action && s["Version"] == version)
        );
    }
    // The non-sensitive variables of the release, with scopes mapped; the secure zone's own
    // values are still there.
    let pci_vars = zones.pci.get(&format!(
        "/api/Spaces-1/variables/{}",
        pci_release["ProjectVariableSetSnapshotId"]
            .as_str()
            .unwrap_or("")
    ));
    let dev_vars = zones.dev.get(&format!(
        "/api/Spaces-1/variables/{}",
        dev_release["ProjectVariableSetSnapshotId"]
            .as_str()
            .unwrap_or("")
    ));
    let mut unscoped = 0;
    for variable in dev_vars["Variables"].as_array().into_iter().flatten() {
        if variable["IsSensitive"] == true
            || variable["Scope"].as_object().is_some_and(|s| !s.is_empty())
        {
            continue;
        }
        unscoped += 1;
        assert!(
            pci_vars["Variables"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["Name"] == variable["Name"] && v["Value"] == variable["Value"]),
            "unscoped variable {} did not arrive",
            variable["Name"]
        );
    }
    assert!(unscoped > 0, "the release has unscoped values");
    assert!(
        pci_vars["Variables"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| v["IsSensitive"] == true),
        "the secure zone's secrets are kept"
    );
    // Values scoped to Staging arrive scoped to PCI Staging (the example mapping's rename).
    let env_id = |zone: &Standin, name: &str| -> String {
        zone.get(&format!(
            "/api/Spaces-1/environments?name={}",
            name.replace(' ', "%20")
        ))["Items"][0]["Id"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let (dev_staging, pci_staging) = (
        env_id(&zones.dev, "Staging"),
        env_id(&zones.pci, "PCI Staging"),
    );
    let mut mapped = 0;
    for variable in dev_vars["Variables"].as_array().into_iter().flatten() {
        let scope = &variable["Scope"]["Environment"];
        if variable["IsSensitive"] == true || scope != &json!([dev_staging]) {
            continue;
        }
        mapped += 1;
        assert!(
            pci_vars["Variables"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["Name"] == variable["Name"]
                    && v["Value"] == variable["Value"]
                    && v["Scope"]["Environment"] == json!([pci_staging])),
            "{} scoped to Staging did not arrive scoped to PCI Staging",
            variable["Name"]
        );
    }
    assert!(mapped > 0, "the release has Staging-scoped values");
    // No secret value of either zone is in the bundle or in either ledger.
    let plain = crate::results::decompressed(&zones.site.path("payments.zb"));
    let mut files = vec![plain];
    for ledger in ["export.ledger", "import.ledger"] {
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(zones.site.path(&format!("{ledger}{suffix}"))) {
                files.push(bytes);
            }
        }
    }
    let secrets: Vec<String> = seed_secrets("dev.json")
        .into_iter()
        .chain(seed_secrets("secure.json"))
        .collect();
    assert!(
        secrets.len() > 10,
        "too few seed secrets to check: {secrets:?}"
    );
    for secret in secrets {
        for bytes in &files {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a secret value leaked: {secret:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn the_same_bundle_twice_is_a_no_op_and_an_older_one_is_refused_on_2020_5() -> TestResult {
    the_same_bundle_twice_is_a_no_op_and_an_older_one_is_refused("2020.5")
}

#[test]
fn the_same_bundle_twice_is_a_no_op_and_an_older_one_is_refused_on_2025() -> TestResult {
    the_same_bundle_twice_is_a_no_op_and_an_older_one_is_refused("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn the_same_bundle_twice_is_a_no_op_and_an_older_one_is_refused(profile: &str) -> TestResult {
    let zones = Zones::on(profile);
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "second.zb").ok();
    zones.import("first.zb").ok();
    zones.import("second.zb").ok();
    let before = zones.secure_state();
    zones
        .import("second.zb")
        .ok()
        .stdout_has("already imported");
    zones.import("first.zb").ok().stdout_has("already imported");
    assert_eq!(zones.secure_state(), before);
    // A different bundle at an old position (another export ledger starts again at 1).
    zones
        .site
        .export()
        .args([
            "export",
            "--project",
            "Fraud Rules",
            "--release",
            "3.12.0",
            "--key",
            "signer.key",
        ])
        .args([
            "--source-zone",
            "dev",
            "--target-zone",
            "pci",
            "--out",
            "stale.zb",
        ])
        .args([
            "--server",
            zones.dev.url.as_str(),
            "--ledger",
            "other-export.ledger",
        ])
        .env("OCTOPUS_API_KEY", DEV_KEY)
        .ok();
    zones.import("stale.zb").expect(1);
    assert_eq!(zones.secure_state(), before);
    zones
        .site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok();
    Ok(())
}

#[test]
fn refusals_leave_the_secure_instance_untouched() -> TestResult {
    let zones = Zones::new();
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    let before = zones.secure_state();
    // Tampered: one byte of the payload flipped.
    let mut bytes = std::fs::read(zones.site.path("payments.zb"))?;
    let at = bytes.len() - 100;
    if let Some(b) = bytes.get_mut(at) {
        *b ^= 0x40;
    }
    std::fs::write(zones.site.path("tampered.zb"), &bytes)?;
    zones.import("tampered.zb").expect(1);
    assert_eq!(
        zones.secure_state(),
        before,
        "a tampered bundle changed the instance"
    );
    // Missing secret: the secure zone loses one that the release needs, and no secrets file.
    zones.forget_stored_secret("Database.Password");
    let before = zones.secure_state();
    zones
        .import_without_secrets("payments.zb")
        .expect(1)
        .stderr_has("Database.Password");
    assert_eq!(zones.secure_state(), before);
    // Unresolvable environment: no mapping file.
    zones
        .site
        .import()
        .args([
            "import",
            "payments.zb",
            "--policy",
            "pci.toml",
            "--secrets",
            "secrets.toml",
        ])
        .args([
            "--server",
            zones.pci.url.as_str(),
            "--ledger",
            "import.ledger",
        ])
        .env("OCTOPUS_API_KEY", PCI_KEY)
        .expect(1)
        .stderr_has("Development");
    assert_eq!(zones.secure_state(), before);
    // A package version that already exists with other bytes.
    let dir = tempfile::tempdir()?;
    let impostor = dir.path().join("Payments.Api.1.4.1.zip");
    std::fs::write(&impostor, b"not the real package")?;
    let upload = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-H",
            &format!("X-Octopus-ApiKey: {PCI_KEY}"),
            "-F",
        ])
        .arg(format!("file=@{}", impostor.display()))
        .arg(format!("{}/api/Spaces-1/packages/raw", zones.pci.url))
        .status()?;
    assert!(upload.success());
    let before = zones.secure_state();
    zones
        .import("payments.zb")
        .expect(1)
        .stderr_has("Payments.Api");
    assert_eq!(zones.secure_state(), before);
    Ok(())
}

#[test]
fn a_version_controlled_project_on_the_secure_side_is_refused() -> TestResult {
    let zones = Zones::new();
    zones.export("Fraud Rules", "3.13.0", "fraud.zb").ok();
    // Turn the secure side's project into a config-as-code one.
    let mut project = zones.pci.get("/api/Spaces-1/projects/fraud-rules");
    project["IsVersionControlled"] = json!(true);
    let path = format!(
        "/api/Spaces-1/projects/{}",
        project["Id"].as_str().unwrap_or("")
    );
    zones.pci.put(&path, &project);
    let before = zones.secure_state();
    zones
        .import("fraud.zb")
        .expect(1)
        .stderr_has("version-controlled");
    assert_eq!(zones.secure_state(), before);
    Ok(())
}
