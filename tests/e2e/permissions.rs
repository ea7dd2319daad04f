//! Least-privilege API keys (issue 11, point 8): every command works with a key whose role
//! grants exactly the permissions `docs/operator-guide.md` lists for it, and one permission
//! less is refused naming it (`permission-denied`, exit 1) with nothing written; a 403 on an
//! optional read is a warning and the command succeeds.

use crate::harness::Run;
use crate::promote::{DEV_KEY, PCI_KEY, Zones};
use crate::results::Trip;
use crate::standins::Standin;

/// `bridge-export export`: read the release, its snapshots, the names they refer to, and the
/// package files.
const EXPORT: &[&str] = &[
    "ProjectView",
    "ProcessView",
    "VariableView",
    "ReleaseView",
    "EnvironmentView",
    "FeedView",
    "BuiltInFeedDownload",
    "LibraryVariableSetView",
    "LifecycleView",
    "ProjectGroupView",
    "TenantView",
];

/// `bridge-import import --dry-run`: read what the import would change.
const IMPORT_DRY_RUN: &[&str] = &[
    "ProjectView",
    "ProcessView",
    "VariableView",
    "ReleaseView",
    "EnvironmentView",
    "FeedView",
    "LibraryVariableSetView",
    "LifecycleView",
    "TriggerView",
];

/// `bridge-import import`: the dry run's reads, then process, variables, packages, release.
/// (The writes in the order the import makes them, `ProcessEdit` first: the test drops each
/// in turn, and an import refused for a later write has already made the earlier ones.)
const IMPORT: &[&str] = &[
    "ProcessEdit",
    "ProjectView",
    "ProcessView",
    "VariableView",
    "ReleaseView",
    "EnvironmentView",
    "FeedView",
    "LibraryVariableSetView",
    "LifecycleView",
    "TriggerView",
    "VariableEdit",
    "BuiltInFeedPush",
    "ReleaseCreate",
];

/// `bridge-import deploy`: find the release, start the deployment, follow its task. (A
/// deployment that waits on a person also needs `InterruptionView` to say for what: the
/// Payments API process has no manual step.)
const DEPLOY: &[&str] = &[
    "ProjectView",
    "ReleaseView",
    "EnvironmentView",
    "DeploymentView",
    "DeploymentCreate",
    "TaskView",
];

/// `bridge-export results`: the note on the development release.
const RESULTS: &[&str] = &["ProjectView", "ReleaseView", "ReleaseEdit"];

const EXPORT_KEY: &str = "API-ROLEEXPORT";
const DRY_RUN_KEY: &str = "API-ROLEDRYRUN";
const IMPORT_KEY: &str = "API-ROLEIMPORT";
const DEPLOY_KEY: &str = "API-ROLEDEPLOY";
const RESULTS_KEY: &str = "API-ROLERESULTS";

fn role(key: &str, permissions: &[&str]) -> String {
    format!("{key}={}", permissions.join(","))
}

/// The role without `missing`, under `key` with a `-LESS` suffix.
fn less(key: &str, permissions: &[&str], missing: &str) -> String {
    let kept: Vec<&str> = permissions
        .iter()
        .copied()
        .filter(|p| *p != missing)
        .collect();
    assert_ne!(
        kept.len(),
        permissions.len(),
        "{missing} is not in the role"
    );
    role(&less_key(key), &kept)
}

/// Zones whose stand-ins issue the role keys given (`KEY=Permission,...`).
fn zones(dev_roles: &[String], pci_roles: &[String]) -> Zones {
    let args = |roles: &[String]| -> Vec<String> {
        roles
            .iter()
            .flat_map(|r| ["--role-key".to_owned(), r.clone()])
            .collect()
    };
    let dev_args = args(dev_roles);
    let pci_args = args(pci_roles);
    let dev_refs: Vec<&str> = dev_args.iter().map(String::as_str).collect();
    let pci_refs: Vec<&str> = pci_args.iter().map(String::as_str).collect();
    Zones::with_standins(
        Standin::start_with_args("dev.json", DEV_KEY, None, &dev_refs),
        Standin::start_with_args("secure.json", PCI_KEY, None, &pci_refs),
    )
}

#[test]
fn every_command_works_with_a_key_holding_exactly_its_role() {
    let trip = Trip::from_zones(zones(
        &[role(EXPORT_KEY, EXPORT), role(RESULTS_KEY, RESULTS)],
        &[
            role(DRY_RUN_KEY, IMPORT_DRY_RUN),
            role(IMPORT_KEY, IMPORT),
            role(DEPLOY_KEY, DEPLOY),
        ],
    ));
    let zones = &trip.zones;
    // The optional tables this key may not read are warned about, naming the permission, and
    // the export goes on (the release refers to none of them).
    zones
        .export("Payments API", "1.4.1", "release.zb")
        .env("OCTOPUS_API_KEY", EXPORT_KEY)
        .ok()
        .stderr_has("warning: the API key may not read workerpools (missing permission WorkerView)")
        .stderr_has("warning: the API key may not read /api/teams (missing permission TeamView)")
        .stderr_has("Hint: grant the key's role AccountView if the release uses them");
    let before = zones.secure_state();
    zones
        .import("release.zb")
        .args(["--dry-run"])
        .env("OCTOPUS_API_KEY", DRY_RUN_KEY)
        .ok();
    assert_eq!(zones.secure_state(), before, "a dry run writes nothing");
    zones
        .import("release.zb")
        .env("OCTOPUS_API_KEY", IMPORT_KEY)
        .ok();
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
        .env("OCTOPUS_API_KEY", DEPLOY_KEY)
        .ok();
    trip.results("result.zb")
        .env("OCTOPUS_API_KEY", RESULTS_KEY)
        .ok();
    assert!(
        trip.dev_notes("payments-api", "1.4.1")
            .contains("PCI Staging")
    );
}

/// Asserts that `run` was refused as `permission-denied` naming `permission`.
fn refused_naming(run: &Run, permission: &str) {
    let report = run.json();
    assert_eq!(
        report["error"]["code"], "permission-denied",
        "{permission}: {report}"
    );
    assert_eq!(run.code, 1);
    let hint = format!("Hint: grant the key's role the {permission} permission");
    run.stderr_has(&hint)
        .stderr_has(&format!("Missing permission: {permission}"));
}

fn less_key(key: &str) -> String {
    format!("{key}-LESS")
}

#[test]
fn one_permission_less_is_refused_naming_it() {
    // Every role minus one permission, one key per (role, permission): the key names it.
    let variants = |key: &str, perms: &[&str]| -> Vec<String> {
        perms
            .iter()
            .map(|p| less(&format!("{key}-{p}"), perms, p))
            .collect()
    };
    let mut dev = variants(EXPORT_KEY, EXPORT);
    dev.extend(variants(RESULTS_KEY, RESULTS));
    dev.push(role(EXPORT_KEY, EXPORT));
    dev.push(role(RESULTS_KEY, RESULTS));
    let mut pci = variants(DRY_RUN_KEY, IMPORT_DRY_RUN);
    pci.extend(variants(IMPORT_KEY, IMPORT));
    pci.extend(variants(DEPLOY_KEY, DEPLOY));
    pci.push(role(IMPORT_KEY, IMPORT));
    pci.push(role(DEPLOY_KEY, DEPLOY));
    let trip = Trip::from_zones(zones(&dev, &pci));
    let zones = &trip.zones;
    let key = |role: &str, p: &str| less_key(&format!("{role}-{p}"));
    for p in EXPORT {
        let run = zones
            .export("Payments API", "1.4.1", "release.zb")
            .args(["--json"])
            .env("OCTOPUS_API_KEY", &key(EXPORT_KEY, p))
            .run();
        refused_naming(&run, p);
        assert!(!zones.site.path("release.zb").exists(), "{p}: no bundle");
    }
    zones
        .export("Payments API", "1.4.1", "release.zb")
        .env("OCTOPUS_API_KEY", EXPORT_KEY)
        .ok();
    let before = zones.secure_state();
    for p in IMPORT_DRY_RUN {
        let run = zones
            .import("release.zb")
            .args(["--dry-run", "--json"])
            .env("OCTOPUS_API_KEY", &key(DRY_RUN_KEY, p))
            .run();
        refused_naming(&run, p);
        assert_eq!(zones.secure_state(), before, "{p}: nothing written");
    }
    for p in IMPORT {
        let before = zones.secure_state();
        let run = zones
            .import("release.zb")
            .args(["--json"])
            .env("OCTOPUS_API_KEY", &key(IMPORT_KEY, p))
            .run();
        refused_naming(&run, p);
        // Reads and the first write (the process) are refused before anything is written; a
        // later write leaves what the writes before it did, for the next import to complete.
        if !["VariableEdit", "BuiltInFeedPush", "ReleaseCreate"].contains(p) {
            assert_eq!(zones.secure_state(), before, "{p}: nothing written");
        }
    }
    zones
        .import("release.zb")
        .env("OCTOPUS_API_KEY", IMPORT_KEY)
        .ok();
    for p in DEPLOY {
        let run = trip
            .deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
            .env("OCTOPUS_API_KEY", &key(DEPLOY_KEY, p))
            .run();
        refused_naming(&run, p);
    }
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
        .env("OCTOPUS_API_KEY", DEPLOY_KEY)
        .ok();
    for p in RESULTS {
        let run = trip
            .results("result.zb")
            .env("OCTOPUS_API_KEY", &key(RESULTS_KEY, p))
            .run();
        refused_naming(&run, p);
    }
    trip.results("result.zb")
        .env("OCTOPUS_API_KEY", RESULTS_KEY)
        .ok();
}

/// Zones whose development stand-in reports `dev` as its version and the secure one `pci`.
fn versioned(dev: &str, pci: &str) -> Zones {
    Zones::with_standins(
        Standin::start_with_args("dev.json", DEV_KEY, None, &["--server-version", dev]),
        Standin::start_with_args("secure.json", PCI_KEY, None, &["--server-version", pci]),
    )
}

#[test]
fn the_bundle_records_the_source_version_and_an_older_target_is_warned_about() {
    let zones = versioned("2024.1.100", "2020.5.0");
    zones
        .export("Payments API", "1.4.1", "release.zb")
        .args(["--keep-folder", "release"])
        .ok();
    let source = crate::harness::read_text(&zones.site.path("release/source.json"));
    let source: serde_json::Value =
        serde_json::from_str(&source).unwrap_or_else(|e| panic!("source.json: {e}"));
    assert_eq!(
        source,
        serde_json::json!({"Server": {"Version": "2024.1.100"}})
    );
    zones.import("release.zb").ok().stderr_has(
        "warning: the target Octopus is version 2020.5.0, older than the 2024.1.100 the release was exported from",
    );
}

#[test]
fn an_older_target_is_refused_when_the_policy_says_so_with_nothing_written() {
    let zones = versioned("2024.1.100", "2023.4.1");
    let policy = zones.site.path("pci.toml");
    let text = crate::harness::read_text(&policy);
    let changed = text
        .replace("# [octopus]", "[octopus]")
        .replace("# older_target = \"warn\"", "older_target = \"refuse\"");
    assert_ne!(text, changed, "policy init writes the [octopus] comment");
    crate::harness::write(&policy, changed.as_bytes());
    zones.export("Payments API", "1.4.1", "release.zb").ok();
    let before = zones.secure_state();
    let run = zones.import("release.zb").args(["--json"]).expect(1);
    assert_eq!(run.json()["error"]["code"], "target-older");
    run.stderr_has("the target Octopus is version 2023.4.1, older than the 2024.1.100 the release was exported from, and the trust policy says older_target = \"refuse\"")
        .stderr_has("Hint: upgrade the secure-zone Octopus to 2024.1.100 or later");
    assert_eq!(zones.secure_state(), before);
}

#[test]
fn a_newer_or_equal_target_says_nothing() {
    for (dev, pci) in [("2023.2.5", "2024.1.0"), ("2024.1.0", "2024.1.0")] {
        let zones = versioned(dev, pci);
        zones.export("Payments API", "1.4.1", "release.zb").ok();
        let run = zones.import("release.zb").ok();
        assert!(
            !run.stderr.contains("older than"),
            "{dev} -> {pci}: {}",
            run.stderr
        );
    }
}

#[test]
fn every_command_works_against_servers_under_a_path() {
    let base = ["--path-base", "/octopus"];
    let trip = Trip::from_zones(Zones::with_standins(
        Standin::start_with_args("dev.json", DEV_KEY, None, &base).under("/octopus"),
        Standin::start_with_args("secure.json", PCI_KEY, None, &base).under("/octopus"),
    ));
    let zones = &trip.zones;
    assert!(zones.dev.url.ends_with("/octopus"));
    zones.export("Payments API", "1.4.1", "release.zb").ok();
    zones.import("release.zb").args(["--dry-run"]).ok();
    zones.import("release.zb").ok();
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "result.zb")
        .ok();
    trip.results("result.zb").ok();
    assert!(
        trip.dev_notes("payments-api", "1.4.1")
            .contains("PCI Staging")
    );
}
