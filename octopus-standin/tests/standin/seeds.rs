//! The seed scenarios in `seeds/`: each loads, and what it builds reads back through the API as
//! a real instance's would. `dev.json` is a development zone whose releases deploy (scripts
//! run, secrets masked, the manual step waits for its answer); `secure.json` is the PCI zone
//! that Zonebridge promotes into, and matches the development zone by name.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};

use crate::harness::{KEY, Standin, TestResult, expect, id, seeds};

type Error = Box<dyn std::error::Error>;

const WAIT: Duration = Duration::from_secs(60);

/// The project group whose projects exist in the development zone only.
const DEV_ONLY_GROUP: &str = "Test Tooling";

fn start(seed: &str) -> Result<Standin, Error> {
    let path = seeds().join(seed);
    let path = path.to_str().ok_or("the seeds folder is not UTF-8")?;
    Standin::start_with(&["--seed", path])
}

fn read_seed(seed: &str) -> Result<Value, Error> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        seeds().join(seed),
    )?)?)
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, Error> {
    v[field]
        .as_str()
        .ok_or_else(|| format!("no {field} in {v}").into())
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn strings(v: &Value) -> Vec<String> {
    list(v)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Every resource of a collection, by name.
fn by_name(s: &Standin, collection: &str) -> Result<BTreeMap<String, Value>, Error> {
    let all = s.ok(&format!("/api/Spaces-1/{collection}/all"))?;
    let mut out = BTreeMap::new();
    for doc in list(&all) {
        out.insert(text(doc, "Name")?.to_owned(), doc.clone());
    }
    Ok(out)
}

/// Ids to names of a named collection.
fn names(s: &Standin, collection: &str) -> Result<BTreeMap<String, String>, Error> {
    Ok(by_name(s, collection)?
        .into_iter()
        .map(|(name, doc)| (doc["Id"].as_str().unwrap_or_default().to_owned(), name))
        .collect())
}

/// The sensitive values a seed sets, in any variable set.
fn seed_secrets(seed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for request in list(&seed["requests"]) {
        for v in list(&request["set"]["Variables"]) {
            let sensitive = v["Type"] == "Sensitive" || v["IsSensitive"] == true;
            if let (true, Some(value)) = (sensitive, v["Value"].as_str()) {
                out.push(value.to_owned());
            }
        }
    }
    out
}

/// The value a seed gives a variable scoped to the environment named `as` `env_ref`.
fn seed_value(seed: &Value, name: &str, env_ref: &str) -> Result<String, Error> {
    let scope = format!("${{{env_ref}}}");
    list(&seed["requests"])
        .iter()
        .flat_map(|r| list(&r["set"]["Variables"]))
        .find(|v| v["Name"] == name && strings(&v["Scope"]["Environment"]).contains(&scope))
        .and_then(|v| v["Value"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("the seed has no {name} for {env_ref}").into())
}

/// The `#{Name}` references of a template, without Octopus's system variables.
fn references(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(at) = rest.find("#{") {
        let after = rest.get(at + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else { break };
        let name = after
            .get(..end)
            .unwrap_or_default()
            .split('|')
            .next()
            .unwrap_or_default()
            .trim();
        if !name.to_ascii_lowercase().starts_with("octopus.") {
            out.push(name.to_owned());
        }
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out
}

/// A project's own variables followed by those of its library variable sets.
fn variables_of(s: &Standin, project: &Value) -> Result<Vec<Value>, Error> {
    let mut sets = vec![text(project, "VariableSetId")?.to_owned()];
    for library in strings(&project["IncludedLibraryVariableSetIds"]) {
        let library = s.ok(&format!("/api/Spaces-1/libraryvariablesets/{library}"))?;
        sets.push(text(&library, "VariableSetId")?.to_owned());
    }
    let mut out = Vec::new();
    for set in sets {
        let set = s.ok(&format!("/api/Spaces-1/variables/{set}"))?;
        out.extend(list(&set["Variables"]).iter().cloned());
    }
    Ok(out)
}

fn process_of(s: &Standin, project: &Value) -> Result<Value, Error> {
    s.ok(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        text(project, "DeploymentProcessId")?
    ))
}

fn actions(process: &Value) -> Vec<&Value> {
    list(&process["Steps"])
        .iter()
        .flat_map(|step| list(&step["Actions"]))
        .collect()
}

fn step_names(process: &Value) -> Vec<String> {
    list(&process["Steps"])
        .iter()
        .filter_map(|step| step["Name"].as_str().map(str::to_owned))
        .collect()
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn deploy_and_wait(s: &Standin, release: &str, env: &str) -> Result<(String, String), Error> {
    let deployment = s.deploy(release, env)?;
    let task = text(&deployment, "TaskId")?.to_owned();
    let done = s.wait_for_task(&task, WAIT)?;
    let log = s.raw_log(&task)?;
    ensure(done["State"] == "Success", || {
        format!("the deployment failed: {done}\n{log}")
    })?;
    Ok((task, log))
}

fn assert_masked(log: &str, secrets: &[String]) -> TestResult {
    for secret in secrets {
        ensure(!log.contains(secret.as_str()), || {
            format!("the log shows the secret {secret}:\n{log}")
        })?;
    }
    Ok(())
}

/// The newest release of each project, by project name.
fn newest_releases(s: &Standin) -> Result<BTreeMap<String, Value>, Error> {
    let mut out = BTreeMap::new();
    for (name, project) in by_name(s, "projects")? {
        let releases = s.ok(&format!(
            "/api/Spaces-1/projects/{}/releases",
            id(&project)?
        ))?;
        if let Some(newest) = list(&releases["Items"]).first() {
            out.insert(name, newest.clone());
        }
    }
    Ok(out)
}

#[test]
fn the_dev_seed_has_its_environments_lifecycles_and_project_groups() -> TestResult {
    let s = start("dev.json")?;
    let envs = s.ok("/api/Spaces-1/environments/all")?;
    let env_names: Vec<&str> = list(&envs)
        .iter()
        .filter_map(|e| e["Name"].as_str())
        .collect();
    assert_eq!(env_names, ["Development", "Test", "Staging"]);
    let env_ids = names(&s, "environments")?;

    let lifecycles = by_name(&s, "lifecycles")?;
    let expected = [
        ("Dev to Staging", vec!["Development", "Test", "Staging"]),
        ("Dev and Test", vec!["Development", "Test"]),
    ];
    for (lifecycle, phases) in expected {
        let doc = lifecycles
            .get(lifecycle)
            .ok_or_else(|| format!("no lifecycle {lifecycle}"))?;
        let got: Vec<&str> = list(&doc["Phases"])
            .iter()
            .filter_map(|p| p["Name"].as_str())
            .collect();
        assert_eq!(got, phases, "{doc}");
        for phase in list(&doc["Phases"]) {
            // Each phase holds the environment of its own name.
            let targets: Vec<String> = strings(&phase["OptionalDeploymentTargets"])
                .into_iter()
                .chain(strings(&phase["AutomaticDeploymentTargets"]))
                .filter_map(|e| env_ids.get(&e).cloned())
                .collect();
            assert_eq!(targets, [text(phase, "Name")?], "{phase}");
        }
    }
    assert!(lifecycles.contains_key("Default Lifecycle"));

    let groups = by_name(&s, "projectgroups")?;
    for group in [
        "Payments Core",
        "Risk",
        DEV_ONLY_GROUP,
        "Default Project Group",
    ] {
        assert!(groups.contains_key(group), "no project group {group}");
    }
    let sets = by_name(&s, "libraryvariablesets")?;
    for set in ["Common Settings", "Payments Platform"] {
        assert!(sets.contains_key(set), "no library variable set {set}");
    }
    Ok(())
}

#[test]
fn the_dev_seed_projects_have_processes_and_every_variable_they_use() -> TestResult {
    let s = start("dev.json")?;
    let projects = by_name(&s, "projects")?;
    assert!(projects.len() >= 3, "{projects:?}");
    for name in [
        "Payments API",
        "Ledger Worker",
        "Fraud Rules",
        "Acquirer Stub",
    ] {
        assert!(projects.contains_key(name), "no project {name}");
    }
    let set_names = names(&s, "libraryvariablesets")?;
    let mut action_types = BTreeSet::new();
    for (name, project) in &projects {
        let process = process_of(&s, project)?;
        assert!(
            !list(&process["Steps"]).is_empty(),
            "{name} has no steps: {process}"
        );
        let included: Vec<String> = strings(&project["IncludedLibraryVariableSetIds"])
            .iter()
            .filter_map(|i| set_names.get(i).cloned())
            .collect();
        assert!(
            included.contains(&"Common Settings".to_owned()),
            "{name} includes {included:?}"
        );
        let defined: BTreeSet<String> = variables_of(&s, project)?
            .iter()
            .filter_map(|v| v["Name"].as_str().map(str::to_owned))
            .collect();
        for action in actions(&process) {
            action_types.insert(text(action, "ActionType")?.to_owned());
            for property in [
                "Octopus.Action.Script.ScriptBody",
                "Octopus.Action.Manual.Instructions",
            ] {
                let template = action["Properties"][property].as_str().unwrap_or_default();
                for reference in references(template) {
                    assert!(
                        defined.contains(&reference),
                        "{name}, action {}: #{{{reference}}} is not a variable of the project or its library sets",
                        action["Name"]
                    );
                }
            }
            if text(action, "ActionType")? == "Octopus.Script" {
                let props = &action["Properties"];
                assert_eq!(props["Octopus.Action.Script.Syntax"], "Bash");
                assert_eq!(props["Octopus.Action.Script.ScriptSource"], "Inline");
            }
        }
    }
    for kind in [
        "Octopus.Script",
        "Octopus.TentaclePackage",
        "Octopus.Manual",
    ] {
        assert!(action_types.contains(kind), "no {kind} action anywhere");
    }
    Ok(())
}

#[test]
fn the_dev_seed_keeps_sensitive_values_out_of_every_read() -> TestResult {
    let seed = read_seed("dev.json")?;
    let secrets = seed_secrets(&seed);
    assert!(secrets.len() >= 5, "{secrets:?}");
    let s = start("dev.json")?;
    let mut sets = Vec::new();
    for project in by_name(&s, "projects")?.values() {
        sets.push(text(project, "VariableSetId")?.to_owned());
    }
    for library in by_name(&s, "libraryvariablesets")?.values() {
        sets.push(text(library, "VariableSetId")?.to_owned());
    }
    let mut sensitive = 0;
    let mut everything = String::new();
    for set in &sets {
        let doc = s.ok(&format!("/api/Spaces-1/variables/{set}"))?;
        for v in list(&doc["Variables"]) {
            if v["Type"] == "Sensitive" {
                sensitive += 1;
                assert_eq!(v["IsSensitive"], true, "{v}");
                assert_eq!(v["Value"], Value::Null, "{v}");
            }
        }
        everything.push_str(&doc.to_string());
    }
    assert_eq!(
        sensitive,
        secrets.len(),
        "every sensitive value of the seed"
    );
    let common = by_name(&s, "libraryvariablesets")?
        .remove("Common Settings")
        .ok_or("no Common Settings")?;
    let common = s.ok(&format!(
        "/api/Spaces-1/variables/{}",
        text(&common, "VariableSetId")?
    ))?;
    let smtp: Vec<&Value> = list(&common["Variables"])
        .iter()
        .filter(|v| v["Name"] == "Smtp.Password")
        .collect();
    assert_eq!(
        smtp.len(),
        2,
        "one Smtp.Password for Development, one for Test and Staging"
    );
    for release in list(&s.ok("/api/Spaces-1/releases/all")?) {
        let mut snapshots = strings(&release["LibraryVariableSetSnapshotIds"]);
        snapshots.push(text(release, "ProjectVariableSetSnapshotId")?.to_owned());
        for snapshot in snapshots {
            let doc = s.ok(&format!("/api/Spaces-1/variables/{snapshot}"))?;
            for v in list(&doc["Variables"]) {
                if v["Type"] == "Sensitive" {
                    assert_eq!(v["Value"], Value::Null, "{snapshot}: {v}");
                }
            }
            everything.push_str(&doc.to_string());
        }
    }
    assert_masked(&everything, &secrets)
}

#[test]
fn the_dev_seed_packages_are_in_the_feed_with_their_sha1_hashes() -> TestResult {
    let seed = read_seed("dev.json")?;
    let uploads: Vec<(&str, &str)> = list(&seed["requests"])
        .iter()
        .filter_map(|r| Some((r["upload"].as_str()?, r["content"].as_str()?)))
        .collect();
    assert!(uploads.len() >= 5, "{uploads:?}");
    let s = start("dev.json")?;
    let feed = s.ok("/api/Spaces-1/packages?take=100")?;
    assert_eq!(feed["TotalResults"], uploads.len(), "{feed}");
    let packages = list(&feed["Items"]);
    for (file, content) in uploads {
        let package = packages
            .iter()
            .find(|p| {
                format!(
                    "{}.{}{}",
                    p["PackageId"].as_str().unwrap_or_default(),
                    p["Version"].as_str().unwrap_or_default(),
                    p["FileExtension"].as_str().unwrap_or_default()
                ) == file
            })
            .ok_or_else(|| format!("{file} is not in the feed: {feed}"))?;
        assert_eq!(package["FeedId"], "feeds-builtin");
        // A list entry is a PackageResource; the hash and size are on the package itself.
        let package = &s.ok(&format!("/api/Spaces-1/packages/{}", id(package)?))?;
        let hash = text(package, "Hash")?;
        assert_eq!(hash.len(), 40, "{package}");
        assert_eq!(hash, sha1_hex(content.as_bytes()), "{file}");
        assert_eq!(package["PackageSizeBytes"], content.len(), "{file}");
        let raw = s
            .client()
            .get(format!(
                "{}/api/Spaces-1/packages/{}/raw",
                s.url,
                id(package)?
            ))
            .header("X-Octopus-ApiKey", KEY)
            .send()?
            .error_for_status()?
            .bytes()?;
        assert_eq!(raw.as_ref(), content.as_bytes(), "{file}");
    }
    Ok(())
}

#[test]
fn the_dev_seed_releases_have_frozen_snapshots_and_packages_from_the_feed() -> TestResult {
    let s = start("dev.json")?;
    let projects = by_name(&s, "projects")?;
    let project_names: BTreeMap<String, String> = projects
        .iter()
        .map(|(name, p)| {
            (
                p["Id"].as_str().unwrap_or_default().to_owned(),
                name.clone(),
            )
        })
        .collect();
    let releases = s.ok("/api/Spaces-1/releases/all")?;
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for release in list(&releases) {
        let project_id = text(release, "ProjectId")?;
        let project = project_names
            .get(project_id)
            .and_then(|n| projects.get(n))
            .ok_or_else(|| format!("no project for {release}"))?;
        let version = text(release, "Version")?;
        versions
            .entry(text(project, "Name")?.to_owned())
            .or_default()
            .push(version.to_owned());
        assert!(!text(release, "ReleaseNotes")?.is_empty(), "{release}");

        let process_id = text(release, "ProjectDeploymentProcessSnapshotId")?;
        assert!(
            process_id.starts_with(&format!("deploymentprocess-{project_id}-s-")),
            "{release}"
        );
        let variables_id = text(release, "ProjectVariableSetSnapshotId")?;
        assert!(
            variables_id.starts_with(&format!("variableset-{project_id}-s-")),
            "{release}"
        );
        let libraries = strings(&release["LibraryVariableSetSnapshotIds"]);
        assert_eq!(
            libraries.len(),
            list(&project["IncludedLibraryVariableSetIds"]).len(),
            "{release}"
        );
        assert!(
            libraries
                .iter()
                .all(|l| l.starts_with("variableset-LibraryVariableSets-") && l.contains("-s-")),
            "{release}"
        );

        // The snapshot is frozen: it reads back and refuses a change.
        let path = format!("/api/Spaces-1/deploymentprocesses/{process_id}");
        let snapshot = s.ok(&path)?;
        let refused = s.put(&path, &snapshot)?;
        assert_eq!(refused.status, 400, "{}", refused.body);
        let path = format!("/api/Spaces-1/variables/{variables_id}");
        let snapshot_vars = s.ok(&path)?;
        assert_eq!(s.put(&path, &snapshot_vars)?.status, 400);

        // Every selected package is in the feed at its version.
        for selected in list(&release["SelectedPackages"]) {
            let action = actions(&snapshot)
                .into_iter()
                .find(|a| a["Name"] == selected["ActionName"])
                .ok_or_else(|| format!("no action for {selected}"))?;
            let reference = list(&action["Packages"])
                .iter()
                .find(|p| p["Name"] == selected["PackageReferenceName"])
                .ok_or_else(|| format!("no package reference for {selected}"))?;
            s.ok(&format!(
                "/api/Spaces-1/packages/packages-{}.{}",
                text(reference, "PackageId")?,
                text(selected, "Version")?
            ))?;
            assert_eq!(selected["Version"], version, "{release}");
        }
    }
    for list in versions.values_mut() {
        list.sort();
    }
    assert_eq!(versions["Payments API"], ["1.4.0", "1.4.1"]);
    assert_eq!(versions["Ledger Worker"], ["2.0.2", "2.0.3"]);
    assert_eq!(versions["Fraud Rules"], ["3.12.0", "3.12.1", "3.13.0"]);

    // Payments API got its smoke test after 1.4.0: that release keeps the older process.
    let payments = id(&projects["Payments API"])?;
    let release_process = |version: &str| -> Result<Value, Error> {
        let release = s.ok(&format!(
            "/api/Spaces-1/projects/{payments}/releases/{version}"
        ))?;
        s.ok(&format!(
            "/api/Spaces-1/deploymentprocesses/{}",
            text(&release, "ProjectDeploymentProcessSnapshotId")?
        ))
    };
    assert_eq!(
        step_names(&release_process("1.4.0")?),
        [
            "Run database migrations",
            "Deploy Payments API",
            "Notify release channel"
        ]
    );
    let live = step_names(&process_of(&s, &projects["Payments API"])?);
    assert_eq!(step_names(&release_process("1.4.1")?), live);
    assert!(live.contains(&"Smoke test".to_owned()), "{live:?}");
    Ok(())
}

#[test]
fn a_dev_seed_script_release_deploys_to_development_with_secrets_masked() -> TestResult {
    let seed = read_seed("dev.json")?;
    let secrets = seed_secrets(&seed);
    let token = seed_value(&seed, "Fraud.ScoringEngine.ApiToken", "env_development")?;
    let s = start("dev.json")?;
    let env = id(&by_name(&s, "environments")?["Development"])?;
    let release = s.ok("/api/Spaces-1/projects/fraud-rules/releases/3.13.0")?;
    let (_, log) = deploy_and_wait(&s, &id(&release)?, &env)?;
    for line in [
        "Validating fraud rule set 3.13.0 for Development",
        "Rule set valid: review at 600, decline at 850, at most 3 cards per device a day",
        "Rule set digest: ",
        "Publishing rule set 3.13.0 to https://scoring.dev.payments.internal/v1/rulesets",
        "Authorization: Bearer ********",
        "Scoring engine in Development now runs rule set 3.13.0 (log level Debug)",
        "Change summary mailed to release-notes@payments.example via mailpit.dev.payments.internal",
        "== Success: Step 3: Record rule set version ==",
    ] {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
    // The script saw the real token: its fingerprint is in the log, the token is not.
    let fingerprint = sha1_hex(token.as_bytes());
    let fingerprint = fingerprint.get(..12).ok_or("short hash")?;
    assert!(
        log.contains(&format!("Scoring-engine token fingerprint: {fingerprint}")),
        "{log}"
    );
    assert!(!log.contains("#{"), "unsubstituted variables:\n{log}");
    assert_masked(&log, &secrets)
}

#[test]
fn every_dev_seed_project_deploys_its_newest_release_to_development() -> TestResult {
    let seed = read_seed("dev.json")?;
    let secrets = seed_secrets(&seed);
    let s = start("dev.json")?;
    let env = id(&by_name(&s, "environments")?["Development"])?;
    let newest = newest_releases(&s)?;
    assert_eq!(newest.len(), 4, "{newest:?}");
    let mut tasks = Vec::new();
    for (project, release) in &newest {
        let deployment = s.deploy(&id(release)?, &env)?;
        tasks.push((project.clone(), text(&deployment, "TaskId")?.to_owned()));
    }
    for (project, task) in tasks {
        let done = s.wait_for_task(&task, WAIT)?;
        let log = s.raw_log(&task)?;
        assert_eq!(done["State"], "Success", "{project}: {done}\n{log}");
        assert_masked(&log, &secrets)?;
        assert!(
            !log.contains("#{"),
            "{project}: unsubstituted variables:\n{log}"
        );
    }
    Ok(())
}

#[test]
fn dev_seed_payments_api_acquires_its_packages_and_masks_the_database_password() -> TestResult {
    let seed = read_seed("dev.json")?;
    let secrets = seed_secrets(&seed);
    let s = start("dev.json")?;
    let env = id(&by_name(&s, "environments")?["Development"])?;
    let release = s.ok("/api/Spaces-1/projects/payments-api/releases/1.4.1")?;
    let (_, log) = deploy_and_wait(&s, &id(&release)?, &env)?;
    for line in [
        "Acquired package Payments.Migrations version 1.4.1 from the built-in feed",
        "Acquired package Payments.Api version 1.4.1 from the built-in feed",
        "Migrating database payments on pg-payments.dev.payments.internal for Payments API 1.4.1 (Development)",
        "Migration bundle: Payments.Migrations 1.4.1",
        "Username=payments_app;Password=********;SslMode=Require",
        "Smoke test passed: release=1.4.1 environment=Development result=passed",
        "Posting to #payments-releases: Payments API 1.4.1 deployed to Development",
    ] {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
    assert_masked(&log, &secrets)
}

#[test]
fn dev_seed_ledger_worker_waits_for_finance_sign_off_in_staging_only() -> TestResult {
    let s = start("dev.json")?;
    let envs = by_name(&s, "environments")?;
    let release = s.ok("/api/Spaces-1/projects/ledger-worker/releases/2.0.3")?;
    let release = id(&release)?;
    for env in ["Development", "Test"] {
        let (_, log) = deploy_and_wait(&s, &release, &id(&envs[env])?)?;
        assert!(
            log.contains(
                "Skipping action 'Finance sign-off': it is excluded from this environment."
            ),
            "{env}:\n{log}"
        );
        assert!(
            log.contains(&format!("Ledger Worker 2.0.3 is consuming again in {env}")),
            "{log}"
        );
    }
    let deployment = s.deploy(&release, &id(&envs["Staging"])?)?;
    let task = text(&deployment, "TaskId")?.to_owned();
    s.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    let pending = s.ok(&format!(
        "/api/Spaces-1/interruptions?regarding={task}&pendingOnly=true"
    ))?;
    let interruption = list(&pending["Items"])
        .first()
        .ok_or_else(|| format!("no pending interruption: {pending}"))?
        .clone();
    assert_eq!(interruption["Title"], "Finance sign-off");
    let instructions = interruption["Form"]["Elements"][0]["Control"]["Text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        instructions
            .contains("Ledger Worker 2.0.3 changes how journal lines are posted in Staging")
            && instructions
                .contains("https://ledger-reports.staging.payments.internal/reconciliation/today"),
        "{instructions}"
    );
    let interruption = id(&interruption)?;
    expect(
        s.put(
            &format!("/api/Spaces-1/interruptions/{interruption}/responsible"),
            &json!({}),
        )?,
        200,
    )?;
    expect(
        s.post(
            &format!("/api/Spaces-1/interruptions/{interruption}/submit"),
            &json!({"Result": "Proceed", "Notes": "Reconciliation for today is balanced."}),
        )?,
        200,
    )?;
    let done = s.wait_for_task(&task, WAIT)?;
    let log = s.raw_log(&task)?;
    assert_eq!(done["State"], "Success", "{done}\n{log}");
    assert!(
        log.contains(
            "Manual intervention approved by admin: Reconciliation for today is balanced."
        ),
        "{log}"
    );
    Ok(())
}

#[test]
fn the_secure_seed_has_pci_environments_and_secrets_and_no_releases() -> TestResult {
    let seed = read_seed("secure.json")?;
    let secrets = seed_secrets(&seed);
    let s = start("secure.json")?;
    let envs = s.ok("/api/Spaces-1/environments/all")?;
    let env_names: Vec<&str> = list(&envs)
        .iter()
        .filter_map(|e| e["Name"].as_str())
        .collect();
    assert_eq!(env_names, ["PCI Staging", "Production", "DR"]);
    let env_ids = names(&s, "environments")?;
    let lifecycle = by_name(&s, "lifecycles")?
        .remove("PCI Release")
        .ok_or("no PCI Release lifecycle")?;
    let phases: Vec<(String, Vec<String>)> = list(&lifecycle["Phases"])
        .iter()
        .map(|p| {
            (
                p["Name"].as_str().unwrap_or_default().to_owned(),
                strings(&p["OptionalDeploymentTargets"])
                    .iter()
                    .filter_map(|e| env_ids.get(e).cloned())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("PCI Staging".to_owned(), vec!["PCI Staging".to_owned()]),
            ("Production".to_owned(), vec!["Production".to_owned()]),
            ("DR".to_owned(), vec!["DR".to_owned()]),
        ]
    );

    assert_eq!(s.ok("/api/Spaces-1/releases")?["TotalResults"], 0);
    assert_eq!(s.ok("/api/Spaces-1/packages")?["TotalResults"], 0);

    let projects = by_name(&s, "projects")?;
    let project_names: Vec<&String> = projects.keys().collect();
    assert_eq!(
        project_names,
        ["Fraud Rules", "Ledger Worker", "Payments API"]
    );
    let mut everything = String::new();
    for (name, project) in &projects {
        assert_eq!(project["LifecycleId"], lifecycle["Id"], "{name}");
        assert_eq!(list(&process_of(&s, project)?["Steps"]).len(), 0, "{name}");
        let set = s.ok(&format!(
            "/api/Spaces-1/variables/{}",
            text(project, "VariableSetId")?
        ))?;
        let sensitive: Vec<&Value> = list(&set["Variables"])
            .iter()
            .filter(|v| v["IsSensitive"] == true)
            .collect();
        assert!(!sensitive.is_empty(), "{name} has no sensitive variable");
        for v in sensitive {
            assert_eq!(v["Type"], "Sensitive", "{v}");
            assert_eq!(v["Value"], Value::Null, "{v}");
        }
        everything.push_str(&set.to_string());
    }

    // Smtp.Password of Common Settings covers Production and DR.
    let common = by_name(&s, "libraryvariablesets")?
        .remove("Common Settings")
        .ok_or("no Common Settings")?;
    let common = s.ok(&format!(
        "/api/Spaces-1/variables/{}",
        text(&common, "VariableSetId")?
    ))?;
    let mut covered = BTreeSet::new();
    for v in list(&common["Variables"]) {
        if v["Name"] == "Smtp.Password" {
            assert_eq!(v["IsSensitive"], true, "{v}");
            assert_eq!(v["Value"], Value::Null, "{v}");
            covered.extend(
                strings(&v["Scope"]["Environment"])
                    .iter()
                    .filter_map(|e| env_ids.get(e).cloned()),
            );
        }
    }
    assert!(
        covered.contains("Production") && covered.contains("DR"),
        "{covered:?}"
    );
    everything.push_str(&common.to_string());
    assert_masked(&everything, &secrets)
}

#[test]
fn the_secure_seed_matches_the_dev_seed_by_name() -> TestResult {
    let dev = start("dev.json")?;
    let secure = start("secure.json")?;
    let dev_groups = names(&dev, "projectgroups")?;
    let secure_groups = names(&secure, "projectgroups")?;
    let dev_sets = names(&dev, "libraryvariablesets")?;
    let secure_sets = names(&secure, "libraryvariablesets")?;
    let production = id(&by_name(&secure, "environments")?["Production"])?;
    let dr = id(&by_name(&secure, "environments")?["DR"])?;
    let secure_projects = by_name(&secure, "projects")?;
    let mut promoted = 0;
    for (name, project) in by_name(&dev, "projects")? {
        let group = dev_groups
            .get(text(&project, "ProjectGroupId")?)
            .ok_or("no group")?;
        let Some(target) = secure_projects.get(&name) else {
            assert_eq!(
                group, DEV_ONLY_GROUP,
                "{name} is missing in the secure zone"
            );
            continue;
        };
        assert_ne!(group, DEV_ONLY_GROUP, "{name} is dev-only");
        promoted += 1;
        assert_eq!(
            secure_groups.get(text(target, "ProjectGroupId")?),
            Some(group),
            "{name}"
        );
        let set_names = |p: &Value, sets: &BTreeMap<String, String>| -> Vec<String> {
            strings(&p["IncludedLibraryVariableSetIds"])
                .iter()
                .filter_map(|i| sets.get(i).cloned())
                .collect()
        };
        assert_eq!(
            set_names(&project, &dev_sets),
            set_names(target, &secure_sets),
            "{name}"
        );
        // Every variable the development zone defines has a value in Production and DR,
        // sensitive where it is sensitive there.
        let secure_vars = variables_of(&secure, target)?;
        for v in variables_of(&dev, &project)? {
            let var = text(&v, "Name")?;
            for env in [&production, &dr] {
                let found = secure_vars.iter().find(|s| {
                    s["Name"] == var && {
                        let envs = strings(&s["Scope"]["Environment"]);
                        envs.is_empty() || envs.contains(env)
                    }
                });
                let found = found.ok_or_else(|| {
                    format!("{name}: {var} has no value for {env} in the secure zone")
                })?;
                assert_eq!(found["IsSensitive"], v["IsSensitive"], "{name}: {var}");
            }
        }
    }
    assert_eq!(promoted, 3);
    Ok(())
}
