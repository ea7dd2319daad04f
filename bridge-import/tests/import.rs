//! `bridge-import import` against real stand-ins: Fraud Rules 3.13.0 exported from a
//! development-zone stand-in (seed `dev.json`) with `bridge-export export`, imported into a
//! secure-zone stand-in (seed `secure.json`) with the mapping of `examples/promote/`.
#![forbid(unsafe_code)]

#[path = "import/harness.rs"]
mod harness;

use harness::{Site, TestResult, example_mapping};
use octopus_api::Client;
use octopus_api::resources::{
    DeploymentProcess, LibraryVariableSet, Project, Release, VariableSet,
};

/// What an import may change on the target, to show that a refusal changed none of it.
#[derive(Debug, PartialEq, Eq)]
struct TargetState {
    process_version: i64,
    steps: usize,
    project_variables_version: i64,
    library_variables_version: i64,
    releases: Vec<String>,
}

fn fraud_rules(client: &Client) -> Result<Project, Box<dyn std::error::Error>> {
    let projects: Vec<Project> = client.get_all("projects")?;
    Ok(projects
        .into_iter()
        .find(|p| p.name == "Fraud Rules")
        .ok_or("the secure seed has no Fraud Rules")?)
}

fn target_state(site: &Site) -> Result<TargetState, Box<dyn std::error::Error>> {
    let client = site.pci.client()?;
    let project = fraud_rules(&client)?;
    let process: DeploymentProcess = client.get(&format!(
        "deploymentprocesses/{}",
        project
            .deployment_process_id
            .as_deref()
            .ok_or("no process id")?
    ))?;
    let variables: VariableSet = client.get(&format!("variables/{}", project.variable_set_id))?;
    let libraries: Vec<LibraryVariableSet> = client.get_all("libraryvariablesets")?;
    let common = libraries
        .iter()
        .find(|l| l.name == "Common Settings")
        .ok_or("no Common Settings")?;
    let library: VariableSet = client.get(&format!("variables/{}", common.variable_set_id))?;
    let releases: Vec<Release> = client.get_all(&format!("projects/{}/releases", project.id))?;
    Ok(TargetState {
        process_version: process.version,
        steps: process.steps.len(),
        project_variables_version: variables.version,
        library_variables_version: library.version,
        releases: releases.into_iter().map(|r| r.version).collect(),
    })
}

fn mapping() -> Result<String, Box<dyn std::error::Error>> {
    Ok(example_mapping()
        .to_str()
        .ok_or("the repository path is not UTF-8")?
        .to_owned())
}

#[test]
fn a_release_is_imported_once_and_importing_it_again_is_a_no_op() -> TestResult {
    let site = Site::new()?;
    let map = mapping()?;
    let first = site.import(&["--map", &map, "--json"], &[])?.expect(0)?;
    let report = first.json()?;
    assert_eq!(report["outcome"], "imported", "{report}");
    let digest = report["bundle"].as_str().ok_or("no digest")?.to_owned();

    let client = site.pci.client()?;
    let project = fraud_rules(&client)?;
    let release: Release = client.get(&format!("projects/{}/releases/3.13.0", project.id))?;
    let snapshot: DeploymentProcess = client.get(&format!(
        "deploymentprocesses/{}",
        release
            .project_deployment_process_snapshot_id
            .as_deref()
            .ok_or("no snapshot")?
    ))?;
    let steps: Vec<&str> = snapshot.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        steps,
        [
            "Validate rule set",
            "Publish rules to scoring engine",
            "Record rule set version"
        ]
    );
    assert!(
        release
            .release_notes
            .as_deref()
            .is_some_and(|n| n.contains("820"))
    );

    let before = target_state(&site)?;
    let second = site.import(&["--map", &map], &[])?.expect(0)?;
    assert_eq!(
        second.stdout.trim(),
        format!("already imported: Fraud Rules 3.13.0 (bundle {digest})")
    );
    assert_eq!(target_state(&site)?, before);

    // With another ledger the release is found on the target with the same content: nothing
    // is written to Octopus, and that ledger records the import.
    let other = site
        .import(&["--map", &map, "--ledger", "other.ledger", "--json"], &[])?
        .expect(0)?
        .json()?;
    assert_eq!(other["outcome"], "imported");
    let actions: Vec<&str> = other["plan"]["steps"]
        .as_array()
        .ok_or("no plan")?
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert!(!actions.is_empty(), "the plan lists its steps");
    assert!(
        actions.iter().all(|a| *a == "keep" || *a == "skip"),
        "{actions:?}"
    );
    assert_eq!(target_state(&site)?, before);
    Ok(())
}

#[test]
fn a_missing_secret_is_refused_by_name_and_the_target_is_untouched() -> TestResult {
    let site = Site::new()?;
    let map = mapping()?;
    let client = site.pci.client()?;
    let project = fraud_rules(&client)?;
    // The target loses its PCI Staging token (it keeps the Production and DR one).
    let path = format!("variables/{}", project.variable_set_id);
    let mut set: VariableSet = client.get(&path)?;
    set.variables.retain(|v| {
        !(v.name == "Fraud.ScoringEngine.ApiToken"
            && v.scope.get("Environment").is_some_and(|e| e.len() == 1))
    });
    let _: VariableSet = client.put(&path, &set)?;
    let before = target_state(&site)?;

    let refused = site.import(&["--map", &map, "--json"], &[])?.expect(1)?;
    let error = &refused.json()?["error"];
    assert_eq!(error["code"], "secrets-missing", "{error}");
    let message = error["message"].as_str().ok_or("no message")?;
    assert!(
        message.contains("Fraud Rules / Fraud.ScoringEngine.ApiToken (Environment = PCI Staging)"),
        "{message}"
    );
    assert!(
        !message.contains("Smtp.Password"),
        "the target stores that one: {message}"
    );
    assert_eq!(target_state(&site)?, before);

    // The example secrets file has it, but is refused while others may read it.
    let secrets = site.path("secrets.toml");
    std::fs::copy(example_mapping().with_file_name("secrets.toml"), &secrets)?;
    let secrets_arg = secrets.to_str().ok_or("not UTF-8")?;
    set_mode(&secrets, 0o644)?;
    let open = site
        .import(&["--map", &map, "--secrets", secrets_arg], &[])?
        .expect(3)?;
    assert!(open.stderr.contains("chmod 600"), "{}", open.stderr);
    set_mode(&secrets, 0o600)?;
    let imported = site
        .import(&["--map", &map, "--secrets", secrets_arg], &[])?
        .expect(0)?;
    assert!(
        imported.stdout.contains("1 from the secrets file"),
        "{}",
        imported.stdout
    );
    let value = "example-scoring-Fx2yU7sA";
    assert!(!imported.stdout.contains(value) && !imported.stderr.contains(value));
    let ledger = std::fs::read(site.path("import.ledger"))?;
    assert!(!ledger.windows(value.len()).any(|w| w == value.as_bytes()));

    let release: Release = client.get(&format!("projects/{}/releases/3.13.0", project.id))?;
    let snapshot: VariableSet = client.get(&format!(
        "variables/{}",
        release
            .project_variable_set_snapshot_id
            .as_deref()
            .ok_or("no snapshot")?
    ))?;
    let tokens = snapshot
        .variables
        .iter()
        .filter(|v| v.name == "Fraud.ScoringEngine.ApiToken" && v.is_sensitive)
        .count();
    assert_eq!(
        tokens, 2,
        "PCI Staging from the file, Production and DR kept"
    );
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &std::path::Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[test]
fn names_the_target_lacks_are_refused_all_at_once() -> TestResult {
    let site = Site::new()?;
    let before = target_state(&site)?;
    let run = site.import(&["--json"], &[])?.expect(1)?;
    let error = &run.json()?["error"];
    assert_eq!(error["code"], "unresolved-names", "{error}");
    let message = error["message"].as_str().ok_or("no message")?;
    for name in ["\"Staging\"", "\"Development\"", "\"Test\""] {
        assert!(
            message.contains(&format!("environment {name}: not on the target")),
            "{message}"
        );
    }
    assert!(
        error["hint"].as_str().is_some_and(|h| h.contains("--map")),
        "{error}"
    );
    assert_eq!(target_state(&site)?, before);

    // A project the target lacks: listed with every other name in the same refusal.
    let renamed = site.path("renamed.toml");
    std::fs::write(&renamed, "[projects]\n\"Fraud Rules\" = \"Fraud Rulez\"\n")?;
    let run = site
        .import(&["--map", renamed.to_str().ok_or("not UTF-8")?], &[])?
        .expect(1)?;
    for line in [
        "project \"Fraud Rules\": the mapping file renames it to \"Fraud Rulez\", which the target does not have",
        "environment \"Development\": not on the target",
    ] {
        assert!(run.stderr.contains(line), "{}", run.stderr);
    }
    assert_eq!(target_state(&site)?, before);

    let typo = site.path("typo.toml");
    std::fs::write(
        &typo,
        "[environments]\nStaging = \"PCI Stagin\"\n\n[unmapped]\nenvironments = \"drop\"\n",
    )?;
    let run = site
        .import(&["--map", typo.to_str().ok_or("not UTF-8")?], &[])?
        .expect(1)?;
    assert!(
        run.stderr
            .contains("environment \"Staging\": the mapping file renames it to \"PCI Stagin\", which the target does not have"),
        "{}",
        run.stderr
    );
    assert_eq!(target_state(&site)?, before);
    Ok(())
}

#[test]
fn a_dry_run_prints_the_plan_and_writes_nothing() -> TestResult {
    let site = Site::new()?;
    let map = mapping()?;
    let before = target_state(&site)?;
    let plan = site
        .import(&["--map", &map, "--dry-run", "--json"], &[])?
        .expect(0)?
        .json()?;
    assert_eq!(plan["outcome"], "dry-run");
    let steps = plan["plan"]["steps"].as_array().ok_or("no steps")?;
    let summary: Vec<(&str, &str)> = steps
        .iter()
        .filter_map(|s| Some((s["step"].as_str()?, s["action"].as_str()?)))
        .collect();
    assert_eq!(
        summary,
        [
            ("process", "update"),
            ("variables", "update"),
            ("variables", "update"),
            ("release", "create")
        ]
    );
    let text = site.import(&["--map", &map, "--dry-run"], &[])?.expect(0)?;
    assert!(
        text.stdout
            .starts_with("DRY RUN, nothing written: Fraud Rules 3.13.0"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("would create: 3.13.0"),
        "{}",
        text.stdout
    );
    assert_eq!(target_state(&site)?, before);
    assert!(
        !site.path("import.ledger").exists(),
        "a dry run does not create the ledger"
    );
    Ok(())
}

#[test]
fn an_import_killed_after_a_write_is_completed_by_a_rerun() -> TestResult {
    let site = Site::new()?;
    let map = mapping()?;
    // Writes: 1 the process, 2 Common Settings, 3 the project variables, 4 the release.
    let killed = site.import(
        &["--map", &map],
        &[("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", "2")],
    )?;
    assert_eq!(killed.code, None, "killed by SIGKILL\n{}", killed.stderr);
    assert!(killed.stderr.contains("TEST HOOK"), "{}", killed.stderr);
    let half = target_state(&site)?;
    assert_eq!((half.steps, half.releases.len()), (3, 0));

    let rerun = site.import(&["--map", &map], &[])?.expect(0)?;
    assert!(
        rerun.stdout.starts_with("imported: Fraud Rules 3.13.0"),
        "{}",
        rerun.stdout
    );
    assert!(
        rerun.stdout.contains("process:     unchanged"),
        "{}",
        rerun.stdout
    );
    let done = target_state(&site)?;
    assert_eq!(done.process_version, half.process_version);
    assert_eq!(done.releases, ["3.13.0"]);
    let again = site.import(&["--map", &map], &[])?.expect(0)?;
    assert!(
        again.stdout.starts_with("already imported:"),
        "{}",
        again.stdout
    );
    Ok(())
}

#[test]
fn another_release_of_the_same_version_is_refused_naming_the_difference() -> TestResult {
    let site = Site::new()?;
    let map = mapping()?;
    let client = site.pci.client()?;
    let project = fraud_rules(&client)?;
    // Someone created 3.13.0 on the target by hand, from its empty process.
    let _: Release = client.post(
        "releases",
        &serde_json::json!({"ProjectId": project.id, "Version": "3.13.0", "SelectedPackages": []}),
    )?;
    let before = target_state(&site)?;
    let run = site.import(&["--map", &map, "--json"], &[])?.expect(1)?;
    let error = &run.json()?["error"];
    assert_eq!(error["code"], "release-conflict", "{error}");
    let message = error["message"].as_str().ok_or("no message")?;
    assert!(
        message.starts_with(
            "release 3.13.0 of Fraud Rules already exists on the target with different content: process: Steps: the bundle has 3"
        ),
        "{message}"
    );
    assert_eq!(target_state(&site)?, before);
    Ok(())
}
