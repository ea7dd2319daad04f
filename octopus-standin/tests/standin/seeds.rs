//! The seed scenarios in `seeds/`: each loads, and what it builds reads back through the API as
//! a real instance's would. `dev.json` is a development zone whose releases deploy (scripts
//! run, secrets masked, the manual step waits for its answer) but for one that fails on
//! purpose (Fraud Rules 3.14.0); `secure.json`, the PCI zone that Zonebridge promotes into, is
//! checked in `seeds_secure`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;
use sha1::{Digest as _, Sha1};

use crate::harness::{KEY, Standin, TestResult, id, seeds};

pub(crate) type Error = Box<dyn std::error::Error>;

pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// The project group whose projects exist in the development zone only.
pub(crate) const DEV_ONLY_GROUP: &str = "Test Tooling";

/// The release of the development zone that fails on purpose (project, version), and the
/// message its first step prints to standard error before exiting with status 3.
pub(crate) const FAILING_RELEASE: (&str, &str) = ("Fraud Rules", "3.14.0");
pub(crate) const FAILING_STDERR: &str = "2 rules overlap: R-114, R-207";

pub(crate) fn start(seed: &str) -> Result<Standin, Error> {
    let path = seeds().join(seed);
    let path = path.to_str().ok_or("the seeds folder is not UTF-8")?;
    Standin::start_with(&["--seed", path])
}

pub(crate) fn read_seed(seed: &str) -> Result<Value, Error> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        seeds().join(seed),
    )?)?)
}

pub(crate) fn ensure(condition: bool, message: impl FnOnce() -> String) -> TestResult {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

pub(crate) fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, Error> {
    v[field]
        .as_str()
        .ok_or_else(|| format!("no {field} in {v}").into())
}

pub(crate) fn list(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

pub(crate) fn strings(v: &Value) -> Vec<String> {
    list(v)
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Every resource of a collection, by name.
pub(crate) fn by_name(s: &Standin, collection: &str) -> Result<BTreeMap<String, Value>, Error> {
    let all = s.ok(&format!("/api/Spaces-1/{collection}/all"))?;
    let mut out = BTreeMap::new();
    for doc in list(&all) {
        out.insert(text(doc, "Name")?.to_owned(), doc.clone());
    }
    Ok(out)
}

/// Ids to names of a named collection.
pub(crate) fn names(s: &Standin, collection: &str) -> Result<BTreeMap<String, String>, Error> {
    Ok(by_name(s, collection)?
        .into_iter()
        .map(|(name, doc)| (doc["Id"].as_str().unwrap_or_default().to_owned(), name))
        .collect())
}

/// The sensitive values a seed sets, in any variable set.
pub(crate) fn seed_secrets(seed: &Value) -> Vec<String> {
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
pub(crate) fn seed_value(seed: &Value, name: &str, env_ref: &str) -> Result<String, Error> {
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
pub(crate) fn references(template: &str) -> Vec<String> {
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
pub(crate) fn variables_of(s: &Standin, project: &Value) -> Result<Vec<Value>, Error> {
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

pub(crate) fn process_of(s: &Standin, project: &Value) -> Result<Value, Error> {
    s.ok(&format!(
        "/api/Spaces-1/deploymentprocesses/{}",
        text(project, "DeploymentProcessId")?
    ))
}

pub(crate) fn actions(process: &Value) -> Vec<&Value> {
    list(&process["Steps"])
        .iter()
        .flat_map(|step| list(&step["Actions"]))
        .collect()
}

pub(crate) fn step_names(process: &Value) -> Vec<String> {
    list(&process["Steps"])
        .iter()
        .filter_map(|step| step["Name"].as_str().map(str::to_owned))
        .collect()
}

pub(crate) fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

pub(crate) fn deploy_and_wait(
    s: &Standin,
    release: &str,
    env: &str,
) -> Result<(String, String), Error> {
    let deployment = s.deploy(release, env)?;
    let task = text(&deployment, "TaskId")?.to_owned();
    let done = s.wait_for_task(&task, WAIT)?;
    let log = s.raw_log(&task)?;
    ensure(done["State"] == "Success", || {
        format!("the deployment failed: {done}\n{log}")
    })?;
    Ok((task, log))
}

pub(crate) fn assert_masked(log: &str, secrets: &[String]) -> TestResult {
    for secret in secrets {
        ensure(!log.contains(secret.as_str()), || {
            format!("the log shows the secret {secret}:\n{log}")
        })?;
    }
    Ok(())
}

/// The newest release of each project that is meant to deploy (all but
/// [`FAILING_RELEASE`]), by project name.
pub(crate) fn newest_releases(s: &Standin) -> Result<BTreeMap<String, Value>, Error> {
    let mut out = BTreeMap::new();
    for (name, project) in by_name(s, "projects")? {
        let releases = s.ok(&format!(
            "/api/Spaces-1/projects/{}/releases",
            id(&project)?
        ))?;
        let working = list(&releases["Items"]).iter().find(|r| {
            (name.as_str(), r["Version"].as_str().unwrap_or_default()) != FAILING_RELEASE
        });
        if let Some(newest) = working {
            out.insert(name, newest.clone());
        }
    }
    Ok(out)
}

/// Checks the `ActivityLogs` of a finished task: the root has the task's final status, and
/// every step is `Step N: Name` with the expected status and `Started` <= `Ended`.
pub(crate) fn assert_step_statuses(
    details: &Value,
    root: &str,
    steps: &[(&str, &str)],
) -> TestResult {
    let tree = &details["ActivityLogs"][0];
    ensure(tree["Status"] == root, || {
        format!("root status, want {root}: {tree}")
    })?;
    let children = list(&tree["Children"]);
    ensure(children.len() == steps.len(), || {
        format!("{} steps: {tree}", steps.len())
    })?;
    for (n, (child, (name, status))) in children.iter().zip(steps).enumerate() {
        let want = format!("Step {}: {name}", n + 1);
        ensure(
            child["Name"] == want.as_str() && child["Status"] == *status,
            || {
                format!(
                    "want {want:?} {status}, got {} {}",
                    child["Name"], child["Status"]
                )
            },
        )?;
        let (started, ended) = (text(child, "Started")?, text(child, "Ended")?);
        ensure(
            crate::swagger::is_date_time(started) && crate::swagger::is_date_time(ended),
            || format!("Started/Ended of {want}: {child}"),
        )?;
        ensure(started <= ended, || {
            format!("{want} ended before it started: {child}")
        })?;
    }
    Ok(())
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
    assert_eq!(
        versions["Fraud Rules"],
        ["3.12.0", "3.12.1", "3.13.0", "3.14.0"]
    );
    assert_eq!(versions["Acquirer Stub"], ["0.9.4"]);
    assert_eq!(list(&releases).len(), 9);

    // Fraud Rules' rule-set check fails from 3.14.0 on: only that snapshot has the failing
    // script; the live process is the one 3.14.0 was created from.
    let fraud = id(&projects["Fraud Rules"])?;
    let validate_script = |process: &Value| -> String {
        process["Steps"][0]["Actions"][0]["Properties"]["Octopus.Action.Script.ScriptBody"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    for version in ["3.12.0", "3.12.1", "3.13.0", "3.14.0"] {
        let release = s.ok(&format!(
            "/api/Spaces-1/projects/{fraud}/releases/{version}"
        ))?;
        let process = s.ok(&format!(
            "/api/Spaces-1/deploymentprocesses/{}",
            text(&release, "ProjectDeploymentProcessSnapshotId")?
        ))?;
        assert_eq!(
            validate_script(&process).contains(FAILING_STDERR),
            version == FAILING_RELEASE.1,
            "{version}"
        );
        assert_eq!(
            step_names(&process),
            [
                "Validate rule set",
                "Publish rules to scoring engine",
                "Record rule set version"
            ]
        );
    }
    assert!(validate_script(&process_of(&s, &projects["Fraud Rules"])?).contains(FAILING_STDERR));

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
