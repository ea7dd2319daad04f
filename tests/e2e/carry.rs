//! `bridge-export run`: the scheduled export against the development-zone stand-in. Releases
//! and deployments are made through the stand-in's API; the carry file picks by project
//! pattern, channel and gate; bundles land in the outbox oldest first, each once; a failing
//! release is reported and retried; the service runs on its schedule, catches up a missed run
//! and stops on SIGTERM; hostile carry files and Octopus answers are refused with the fix.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Site, TestResult, listing, read_text, write};
use crate::standins::Standin;

const DEV_KEY: &str = "API-DEVZONECARRY";

/// A development zone with a signer, an outbox and a carry file.
struct Zone {
    dev: Standin,
    site: Site,
}

impl Zone {
    fn new() -> Self {
        Self::with(Standin::start("dev.json", DEV_KEY))
    }

    fn with(dev: Standin) -> Self {
        let site = Site::new();
        site.keygen("signer");
        site.policy("pci.toml", "pci", &["signer"], 1);
        std::fs::create_dir(site.path("outbox")).unwrap_or_else(|e| panic!("outbox: {e}"));
        write(&site.path("api-key"), format!("{DEV_KEY}\n").as_bytes());
        chmod(&site.path("api-key"), 0o600);
        Self { dev, site }
    }

    /// Writes carry.toml: the common keys, `schedule`, then `rules`.
    fn carry(&self, schedule: &str, rules: &str) {
        let text = format!(
            "source_zone = \"dev\"\noutbox = \"outbox\"\nkeys = [\"signer.key\"]\n\
             ledger = \"export.ledger\"\nstate = \"state\"\nmetrics = \"export.prom\"\n\
             schedule = [{schedule}]\n[octopus]\nserver = \"{}\"\napi_key_file = \"api-key\"\n{rules}",
            self.dev.url
        );
        write(&self.site.path("carry.toml"), text.as_bytes());
    }

    fn once(&self) -> crate::harness::Cmd {
        self.site
            .export()
            .args(["run", "--config", "carry.toml", "--once"])
            .env_remove_octopus()
    }

    fn outbox(&self) -> Vec<String> {
        listing(&self.site.path("outbox"))
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()
    }

    fn release_id(&self, project_id: &str, version: &str) -> String {
        let release = self.dev.get(&format!(
            "/api/Spaces-1/projects/{project_id}/releases/{version}"
        ));
        text(&release["Id"])
    }

    /// Deploys a release to an environment and waits for its task to end; returns its state.
    fn deploy(&self, release_id: &str, environment_id: &str) -> String {
        let deployment = self.dev.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release_id, "EnvironmentId": environment_id}),
        );
        let task = text(&deployment["TaskId"]);
        let start = Instant::now();
        loop {
            let state = self.dev.get(&format!("/api/Spaces-1/tasks/{task}"));
            if state["IsCompleted"] == Value::Bool(true) {
                return text(&state["State"]);
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{task} did not end: {state}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn health(&self) -> Value {
        let run = self
            .site
            .export()
            .args(["health", "--config", "carry.toml", "--json"])
            .ok();
        run.json()
    }
}

trait NoOctopusEnv {
    fn env_remove_octopus(self) -> Self;
}

impl NoOctopusEnv for crate::harness::Cmd {
    /// The carry file alone says how to reach Octopus.
    fn env_remove_octopus(self) -> Self {
        self.env("OCTOPUS_API_KEY", "").env("OCTOPUS_URL", "")
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
        .to_owned()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

const DEVELOPMENT: &str = "Environments-1";
const PAYMENTS_API: &str = "Projects-1";
const LEDGER_WORKER: &str = "Projects-2";
const FRAUD_RULES: &str = "Projects-3";
const ACQUIRER_STUB: &str = "Projects-4";

fn curl(zone: &Zone, args: &[&str]) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["-sS", "-f", "-H", &format!("X-Octopus-ApiKey: {DEV_KEY}")])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = zone;
    output.stdout
}

#[test]
fn a_carry_file_exports_only_qualifying_releases_oldest_first_once_and_retries_a_failure()
-> TestResult {
    let zone = Zone::new();
    // Deployed to Development: the gate opens for these (Fraud Rules 3.14.0 fails on purpose).
    for (project, version, expected) in [
        (PAYMENTS_API, "1.4.0", "Success"),
        (PAYMENTS_API, "1.4.1", "Success"),
        (LEDGER_WORKER, "2.0.3", "Success"),
        (FRAUD_RULES, "3.12.0", "Success"),
        (FRAUD_RULES, "3.14.0", "Failed"),
        (ACQUIRER_STUB, "0.9.4", "Success"),
    ] {
        let id = zone.release_id(project, version);
        assert_eq!(
            zone.deploy(&id, DEVELOPMENT),
            expected,
            "{project} {version}"
        );
    }
    // Payments API 1.4.0's package goes missing from the feed: that release fails to export.
    let package = "/api/Spaces-1/packages/packages-Payments.Api.1.4.0";
    let bytes = curl(&zone, &[&format!("{}{package}/raw", zone.dev.url)]);
    curl(
        &zone,
        &["-X", "DELETE", &format!("{}{package}", zone.dev.url)],
    );

    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Payments API\", \"Ledger *\", \"Fraud Rules\"]\n\
         channels = [\"Default\"]\ngate = { environment = \"Development\" }\n",
    );
    let first = zone.once().expect(1);
    first
        .stdout_has("failed     Payments API 1.4.0 -> pci")
        .stderr_has("release(s) or rule(s) could not be exported");
    // Oldest first, each its own bundle, only what qualifies: not Ledger Worker 2.0.2 nor
    // Fraud Rules 3.12.1 (never deployed), 3.14.0 (failed), Acquirer Stub (no pattern names
    // it).
    let expected = [
        "dev~pci~release~000000000001~payments-api-1.4.1.zb",
        "dev~pci~release~000000000002~ledger-worker-2.0.3.zb",
        "dev~pci~release~000000000003~fraud-rules-3.12.0.zb",
    ];
    assert_eq!(zone.outbox(), expected);
    let health = zone.health();
    assert_eq!(health["last_run"]["ok"], false);
    assert_eq!(
        health["last_run"]["exported"].as_array().map(Vec::len),
        Some(3)
    );
    let failed = &health["last_run"]["failed"][0];
    assert_eq!(failed["project"], "Payments API");
    assert_eq!(failed["version"], "1.4.0");
    assert!(
        text(&failed["reason"]).contains("Payments.Api"),
        "the reason names the package: {failed}"
    );
    // Nothing but complete bundles, and nothing left in the staging folder.
    assert!(listing(&zone.site.path(".outbox.partial")).is_empty());

    // Again: nothing new, the failure reported again.
    zone.once()
        .expect(1)
        .stdout_has("failed     Payments API 1.4.0 -> pci");
    assert_eq!(zone.outbox(), expected);

    // The package is back: the release goes, next on the channel.
    let file = zone.site.path("Payments.Api.1.4.0.zip");
    std::fs::write(&file, &bytes)?;
    curl(
        &zone,
        &[
            "-X",
            "POST",
            "-F",
            &format!("file=@{}", file.display()),
            &format!("{}/api/Spaces-1/packages/raw", zone.dev.url),
        ],
    );
    zone.once()
        .ok()
        .stdout_has("exported   Payments API 1.4.0 -> pci as dev~pci~release~000000000004~payments-api-1.4.0.zb");
    zone.once().ok().stdout_has("nothing to export");
    assert_eq!(zone.outbox().len(), 4);
    // Each bundle verifies, and the channel is a chain: 1, 2, 3, 4.
    for (i, name) in zone.outbox().iter().enumerate() {
        let verified = zone
            .site
            .import()
            .args([
                "verify",
                &format!("outbox/{name}"),
                "--policy",
                "pci.toml",
                "--json",
            ])
            .ok()
            .json();
        assert_eq!(verified["verdict"], "trusted");
        assert_eq!(verified["bundle"]["sequence"], i as u64 + 1);
    }
    let health = zone.health();
    assert_eq!(health["last_run"]["ok"], true);
    assert_eq!(health["totals"]["releases_exported"], 4);
    let metrics = read_text(&zone.site.path("export.prom"));
    assert!(
        metrics.contains("zonebridge_export_releases_exported_total 4\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("zonebridge_export_runs_total{outcome=\"failed\"} 2\n"),
        "{metrics}"
    );
    Ok(())
}

#[test]
fn the_flood_guard_takes_only_the_newest_releases_on_a_first_run() -> TestResult {
    let zone = Zone::new();
    // The newest release of all is on another channel, which the rule does not take.
    let hotfix = zone.dev.post(
        "/api/Spaces-1/channels",
        &json!({"ProjectId": FRAUD_RULES, "Name": "Hotfix"}),
    );
    let release = zone.dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": FRAUD_RULES, "ChannelId": text(&hotfix["Id"]),
                "Version": "3.14.1-hotfix", "SelectedPackages": []}),
    );
    assert_eq!(release["Version"], "3.14.1-hotfix", "{release}");
    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Fraud *\"]\nchannels = [\"Default\"]\nnewest = 2\n\
         [[carry]]\ntarget_zone = \"dr\"\nprojects = [\"Payments API\"]\nsince = \"2100-01-01T00:00:00Z\"\n",
    );
    let run = zone.once().args(["--json"]).ok().json();
    assert_eq!(run["ok"], true, "{run}");
    assert_eq!(run["run"]["exported"][1]["version"], "3.14.0", "{run}");
    assert_eq!(run["run"]["exported"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        zone.outbox(),
        [
            "dev~pci~release~000000000001~fraud-rules-3.13.0.zb",
            "dev~pci~release~000000000002~fraud-rules-3.14.0.zb",
        ],
        "the two newest of four on Default, none before the `since` of the other rule"
    );
    Ok(())
}

/// Starts the service (`run` without `--once`, JSON logs).
fn service(zone: &Zone) -> Child {
    zone.site
        .export()
        .args(["run", "--config", "carry.toml", "--log", "json"])
        .env_remove_octopus()
        .spawn()
}

/// Waits (bounded) until `done` holds, polling gently.
fn wait_for(what: &str, child: &mut Child, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the service ended ({status}) while waiting for {what}");
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("{what} did not happen");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// SIGTERM, then the exit code and standard error.
fn terminate(child: Child) -> (Option<i32>, String) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success());
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn health_file(zone: &Zone) -> Option<Value> {
    let text = std::fs::read_to_string(zone.site.path("state/health.json")).ok()?;
    serde_json::from_str(&text).ok()
}

#[test]
fn the_scheduled_service_exports_a_newly_qualifying_release_and_stops_on_sigterm() -> TestResult {
    let zone = Zone::new();
    zone.carry(
        "\"*/2 * * * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Fraud Rules\"]\ngate = { environment = \"Development\" }\n",
    );
    let mut child = service(&zone);
    wait_for("a first run", &mut child, || {
        health_file(&zone).is_some_and(|h| h["last_run"].is_object())
    });
    assert!(
        zone.outbox().is_empty(),
        "nothing deployed, nothing carried"
    );
    let id = zone.release_id(FRAUD_RULES, "3.13.0");
    assert_eq!(zone.deploy(&id, DEVELOPMENT), "Success");
    wait_for("the newly qualifying release", &mut child, || {
        !zone.outbox().is_empty()
    });
    assert_eq!(
        zone.outbox(),
        ["dev~pci~release~000000000001~fraud-rules-3.13.0.zb"]
    );
    // A timer's --once while the service runs is refused: two runs would take one sequence.
    zone.once()
        .expect(4)
        .stderr_has("another bridge-export run of this carry file is running");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    let exported = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["fields"]["message"] == "exported")
        .unwrap_or_else(|| panic!("no JSON `exported` event:\n{stderr}"));
    assert_eq!(exported["fields"]["version"], "3.13.0");
    assert_eq!(exported["fields"]["sequence"], 1);
    let health = health_file(&zone).ok_or("no health file")?;
    assert_eq!(
        health["next_run"],
        Value::Null,
        "stopped: nothing scheduled"
    );
    assert_eq!(health["totals"]["releases_exported"], 1);
    Ok(())
}

#[test]
fn a_run_missed_while_the_service_was_down_is_caught_up_at_start() -> TestResult {
    let zone = Zone::new();
    let id = zone.release_id(FRAUD_RULES, "3.12.0");
    assert_eq!(zone.deploy(&id, DEVELOPMENT), "Success");
    // Once a year, at the new year; the last run was before the last new year.
    zone.carry(
        "\"0 0 0 1 1 *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Fraud Rules\"]\ngate = { environment = \"Development\" }\n",
    );
    std::fs::create_dir(zone.site.path("state"))?;
    write(&zone.site.path("state/last-run"), b"2020-06-01T00:00:00Z\n");
    let mut child = service(&zone);
    wait_for("the caught-up run", &mut child, || {
        !zone.outbox().is_empty()
    });
    wait_for("the next run to be planned", &mut child, || {
        health_file(&zone).is_some_and(|h| h["next_run"].is_string())
    });
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("a scheduled run was missed"), "{stderr}");
    assert_eq!(
        zone.outbox(),
        ["dev~pci~release~000000000001~fraud-rules-3.12.0.zb"]
    );

    // Started again with nothing missed: it plans the next new year and runs nothing.
    let runs = health_file(&zone).ok_or("no health")?["totals"]["runs"].clone();
    assert_eq!(runs, 1);
    let mut child = service(&zone);
    wait_for("the next run to be planned", &mut child, || {
        health_file(&zone).is_some_and(|h| h["next_run"].is_string())
    });
    let health = health_file(&zone).ok_or("no health")?;
    assert!(
        text(&health["next_run"]).ends_with("-01-01T00:00:00Z"),
        "{health}"
    );
    assert_eq!(health["totals"]["runs"], runs, "no run at start-up");
    let (code, stderr) = terminate(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("a scheduled run was missed"), "{stderr}");
    Ok(())
}

#[test]
fn a_bundle_published_before_a_kill_is_adopted_not_made_again() -> TestResult {
    let zone = Zone::new();
    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Payments API\"]\n",
    );
    zone.once().ok();
    let first = "dev~pci~release~000000000001~payments-api-1.4.0.zb";
    let bytes = std::fs::read(zone.site.path("outbox").join(first))?;
    // The state a kill between the outbox and the ledger leaves, at the first bundle: the
    // ledger as before the run (there was none), the bundle published and already carried
    // away by the transfer, its mark still in the staging folder.
    for name in ["export.ledger", "export.ledger-wal", "export.ledger-shm"] {
        let _ = std::fs::remove_file(zone.site.path(name));
    }
    std::fs::rename(
        zone.site.path("outbox").join(first),
        zone.site
            .path(".outbox.partial")
            .join(format!("{first}.sent")),
    )?;
    for name in zone.outbox() {
        std::fs::remove_file(zone.site.path("outbox").join(name))?;
    }

    let run = zone.once().ok();
    run.stdout_has(&format!("recovered  {first}"));
    // The same bundle, byte for byte, is back in the outbox; nothing else took number 1.
    let outbox = zone.outbox();
    assert_eq!(
        outbox.first().map(String::as_str),
        Some(first),
        "{outbox:?}"
    );
    assert_eq!(std::fs::read(zone.site.path("outbox").join(first))?, bytes);
    assert_eq!(
        outbox.get(1).map(String::as_str),
        Some("dev~pci~release~000000000002~payments-api-1.4.1.zb")
    );
    assert!(listing(&zone.site.path(".outbox.partial")).is_empty());
    Ok(())
}

/// A carry file refused before anything runs: exit 3, the key and the fix named.
fn refused(zone: &Zone, text: &str, expected: &[&str]) {
    write(&zone.site.path("carry.toml"), text.as_bytes());
    let run = zone.once().expect(3);
    run.stderr_has("carry file").stderr_has("Hint: ");
    for part in expected {
        run.stderr_has(part);
    }
    assert!(zone.outbox().is_empty());
}

fn base(url: &str) -> String {
    format!(
        "source_zone = \"dev\"\noutbox = \"outbox\"\nkeys = [\"signer.key\"]\nledger = \"export.ledger\"\n\
         state = \"state\"\n[octopus]\nserver = \"{url}\"\napi_key_file = \"api-key\"\n"
    )
}

const RULE: &str = "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Payments API\"]\n";

#[test]
fn hostile_carry_files_are_refused_with_the_key_and_the_fix() -> TestResult {
    let zone = Zone::new();
    let good = format!("{}{RULE}", base(&zone.dev.url));
    // Unknown keys, anywhere.
    refused(
        &zone,
        &good.replace("state = ", "stat = "),
        &["line 5", "unknown field `stat`"],
    );
    refused(
        &zone,
        &format!("{good}gate = {{ environment = \"Staging\", state = \"Success\" }}\n"),
        &["line 12", "unknown field `state`"],
    );
    refused(
        &zone,
        &good.replace("[octopus]\n", "[octopus]\napi_key = \"API-LEAKED\"\n"),
        &["line 7", "unknown field `api_key`"],
    );
    // Bad cron expressions.
    for bad in ["61 * * * * *", "@every 5m", "0 30 1 * *  * 2026 x"] {
        refused(
            &zone,
            &format!("schedule = [\"{bad}\"]\n{good}"),
            &["schedule[0]", "is not a cron expression"],
        );
    }
    // Bad globs, empty projects.
    for bad in ["Payments [", "{Payments,Fraud"] {
        refused(
            &zone,
            &good.replace("\"Payments API\"", &format!("\"{bad}\"")),
            &["carry[0].projects[0]", "is not a valid pattern"],
        );
    }
    refused(
        &zone,
        &good.replace("[\"Payments API\"]", "[]"),
        &["carry[0].projects is empty"],
    );
    refused(
        &zone,
        &good.replace("projects = [\"Payments API\"]\n", ""),
        &["missing field `projects`"],
    );
    // Same source and target zone; duplicate rules.
    refused(
        &zone,
        &good.replace("target_zone = \"pci\"", "target_zone = \"dev\""),
        &["carry[0].target_zone = \"dev\" is the source_zone"],
    );
    refused(
        &zone,
        &format!("{good}{RULE}"),
        &[
            "carry[1].projects[0] = \"Payments API\" is a duplicate",
            "merge the two rules",
        ],
    );
    // How to reach Octopus left out.
    refused(
        &zone,
        &good.replace(&format!("server = \"{}\"\n", zone.dev.url), ""),
        &["[octopus] server is missing", "OCTOPUS_URL"],
    );
    refused(
        &zone,
        &good.replace("api_key_file = \"api-key\"\n", ""),
        &["[octopus] api_key_file is missing"],
    );
    // The outbox missing, or not a folder.
    refused(
        &zone,
        &good.replace("outbox = \"outbox\"", "outbox = \"no-such-outbox\""),
        &[
            "outbox = \"no-such-outbox\" cannot be used",
            "create it first",
        ],
    );
    refused(
        &zone,
        &good.replace("outbox = \"outbox\"", "outbox = \"api-key\""),
        &["outbox = \"api-key\" is not a folder"],
    );
    // A metrics file in a folder that does not exist.
    refused(
        &zone,
        &good.replace(
            "[octopus]",
            "metrics = \"no/such/folder/export.prom\"\n[octopus]",
        ),
        &["metrics = \"no/such/folder/export.prom\" is a folder, or its folder does not exist"],
    );
    // An unreadable key file: readable by others, or not a key.
    chmod(&zone.site.path("signer.key"), 0o644);
    refused(&zone, &good, &["keys", "readable by others", "chmod 600"]);
    chmod(&zone.site.path("signer.key"), 0o600);
    write(&zone.site.path("junk.key"), b"not a key\n");
    chmod(&zone.site.path("junk.key"), 0o600);
    write(
        &zone.site.path("carry.toml"),
        good.replace("signer.key", "junk.key").as_bytes(),
    );
    zone.once()
        .expect(3)
        .stderr_has("a key in keys cannot be used");
    // A key file that does not exist: named, an input/output failure.
    write(
        &zone.site.path("carry.toml"),
        good.replace("signer.key", "missing.key").as_bytes(),
    );
    zone.once().expect(4).stderr_has("missing.key");
    // A carry file too large to be one, or not a file at all.
    let mut huge = good.clone();
    huge.push_str(&format!("# {}\n", "x".repeat(300 * 1024)));
    refused(&zone, &huge, &["larger than"]);
    // The service needs a schedule.
    write(&zone.site.path("carry.toml"), good.as_bytes());
    zone.site
        .export()
        .args(["run", "--config", "carry.toml"])
        .env_remove_octopus()
        .within(Duration::from_secs(60))
        .expect(3)
        .stderr_has("there is no schedule");
    Ok(())
}

#[test]
fn what_octopus_answers_to_the_gate_reads_is_reported_per_rule() -> TestResult {
    // A key that may read projects, channels, releases, environments and deployments, but
    // not tasks: the gate cannot be decided, so nothing passes it.
    let dev = Standin::start_with_args(
        "dev.json",
        DEV_KEY,
        None,
        &[
            "--role-key",
            "API-NOTASKS=ProjectView,ProcessView,ReleaseView,EnvironmentView,DeploymentView",
        ],
    );
    let zone = Zone::with(dev);
    let id = zone.release_id(FRAUD_RULES, "3.12.0");
    assert_eq!(zone.deploy(&id, DEVELOPMENT), "Success");
    write(&zone.site.path("api-key"), b"API-NOTASKS\n");
    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Fraud Rules\"]\ngate = { environment = \"Development\" }\n\
         [[carry]]\ntarget_zone = \"dr\"\nprojects = [\"Fraud Rules\"]\ngate = { environment = \"Staging \" }\n\
         [[carry]]\ntarget_zone = \"qa\"\nprojects = [\"fraud rules\", \"Nope *\"]\n",
    );
    let json = zone.once().args(["--json"]).expect(1).json();
    assert_eq!(json["ok"], false);
    let codes: Vec<&str> = json["run"]["failed"]
        .as_array()
        .map(|f| f.iter().filter_map(|i| i["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        codes,
        [
            "permission-denied",
            "gate-unknown-environment",
            "project-not-found"
        ]
    );
    let run = zone.once().expect(1);
    run.stdout_has("[permission-denied]")
        .stdout_has("TaskView")
        .stdout_has("[gate-unknown-environment] carry[1]: the gate's environment \"Staging \" does not exist")
        .stdout_has("[project-not-found] carry[2]: there is no project named \"fraud rules\"");
    assert!(zone.outbox().is_empty(), "{:?}", zone.outbox());
    // Octopus unreachable: the run as a whole fails, with Octopus's own exit code.
    let zone2 = Zone::new();
    zone2.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Fraud Rules\"]\n",
    );
    let text =
        read_text(&zone2.site.path("carry.toml")).replace(&zone2.dev.url, "http://127.0.0.1:9");
    write(&zone2.site.path("carry.toml"), text.as_bytes());
    let run = zone2.once().run();
    assert_ne!(run.code, 0);
    run.stderr_has("the run stopped before its end");
    let health = zone2.health();
    assert!(health["last_run"]["error"].is_string(), "{health}");
    assert_eq!(health["last_success"], Value::Null);
    Ok(())
}

#[test]
fn a_deployment_that_waits_or_failed_does_not_open_the_gate() -> TestResult {
    let zone = Zone::new();
    let ledger_worker = zone.release_id(LEDGER_WORKER, "2.0.3");
    assert_eq!(zone.deploy(&ledger_worker, DEVELOPMENT), "Success");
    assert_eq!(zone.deploy(&ledger_worker, "Environments-2"), "Success");
    // In Staging the finance sign-off (a manual intervention) waits for a person.
    let deployment = zone.dev.post(
        "/api/Spaces-1/deployments",
        &json!({"ReleaseId": ledger_worker, "EnvironmentId": "Environments-3"}),
    );
    let task = text(&deployment["TaskId"]);
    let start = Instant::now();
    loop {
        let state = zone.dev.get(&format!("/api/Spaces-1/tasks/{task}"));
        if state["HasPendingInterruptions"] == Value::Bool(true) {
            assert_eq!(state["State"], "Executing");
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{state}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let fraud = zone.release_id(FRAUD_RULES, "3.14.0");
    assert_eq!(zone.deploy(&fraud, DEVELOPMENT), "Failed");
    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Ledger Worker\"]\ngate = { environment = \"Staging\" }\n\
         [[carry]]\ntarget_zone = \"dr\"\nprojects = [\"Ledger Worker\"]\ngate = { environment = \"Test\" }\n\
         [[carry]]\ntarget_zone = \"qa\"\nprojects = [\"Fraud Rules\"]\ngate = { environment = \"Development\" }\n",
    );
    zone.once().ok();
    assert_eq!(
        zone.outbox(),
        ["dev~dr~release~000000000001~ledger-worker-2.0.3.zb"],
        "only the deployment that ended well opens its gate"
    );
    Ok(())
}

#[test]
fn a_bundle_whose_sequence_went_to_another_is_withdrawn_from_the_outbox() -> TestResult {
    let zone = Zone::new();
    let rule = |project: &str| {
        format!("[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"{project}\"]\nnewest = 1\n")
    };
    zone.carry("\"0 30 1 * * *\"", &rule("Payments API"));
    zone.once().ok();
    let loser = "dev~pci~release~000000000001~payments-api-1.4.1.zb";
    let bytes = std::fs::read(zone.site.path("outbox").join(loser))?;
    // Another ledger, in which bundle 1 is another release's: what a second process exporting
    // at the same moment leaves (the ledger recorded the other one).
    for file in ["export.ledger", "export.ledger-wal", "export.ledger-shm"] {
        let _ = std::fs::remove_file(zone.site.path(file));
    }
    std::fs::remove_file(zone.site.path("outbox").join(loser))?;
    zone.carry("\"0 30 1 * * *\"", &rule("Fraud Rules"));
    zone.once().ok();
    let winner = "dev~pci~release~000000000001~fraud-rules-3.14.0.zb";
    assert_eq!(zone.outbox(), [winner]);
    // The loser was published, and marked, before its ledger refused it.
    std::fs::write(zone.site.path("outbox").join(loser), &bytes)?;
    std::fs::write(
        zone.site
            .path(".outbox.partial")
            .join(format!("{loser}.sent")),
        &bytes,
    )?;
    let run = zone.once().ok();
    run.stderr_has("withdrawn from the outbox");
    assert_eq!(zone.outbox(), [winner], "the loser is taken back");
    assert!(listing(&zone.site.path(".outbox.partial")).is_empty());
    Ok(())
}

#[test]
fn a_marked_bundle_that_follows_nothing_the_ledger_knows_stops_the_run() -> TestResult {
    let zone = Zone::new();
    zone.carry(
        "\"0 30 1 * * *\"",
        "[[carry]]\ntarget_zone = \"pci\"\nprojects = [\"Payments API\"]\n",
    );
    zone.once().ok();
    let second = "dev~pci~release~000000000002~payments-api-1.4.1.zb";
    // Bundle 2 marked as being published, and a ledger that has never seen bundle 1.
    for file in ["export.ledger", "export.ledger-wal", "export.ledger-shm"] {
        let _ = std::fs::remove_file(zone.site.path(file));
    }
    std::fs::rename(
        zone.site.path("outbox").join(second),
        zone.site
            .path(".outbox.partial")
            .join(format!("{second}.sent")),
    )?;
    let before = zone.outbox();
    let run = zone.once().expect(1);
    run.stderr_has("was being published on dev->pci/release as bundle 2, but the ledger's channel is at nothing")
        .stderr_has("Hint: check whether the transfer carried it");
    assert_eq!(
        zone.outbox(),
        before,
        "no bundle made while the channel is in doubt"
    );
    assert!(
        zone.site
            .path(".outbox.partial")
            .join(format!("{second}.sent"))
            .exists(),
        "the mark is kept for the operator"
    );
    Ok(())
}
