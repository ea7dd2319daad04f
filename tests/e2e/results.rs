//! Deploying in the secure zone and bringing the result home: `import --deploy-to` and
//! `deploy` against the secure-zone stand-in, result bundles taken in by `bridge-export
//! results` with the development ledger and noted on the development release; success,
//! failure and a manual intervention come back as verified results with the right state and
//! log; tampered, replayed and wrongly signed results change nothing on the development side;
//! no secret value of the secure zone travels in a result.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{Cmd, TestResult, write};
use crate::promote::{DEV_KEY, PCI_KEY, Zones};
use crate::standins::{Standin, seed_secrets};

/// The two zones of [`Zones`], plus a result signer in the secure zone and the development
/// zone's policy trusting it.
pub struct Trip {
    pub zones: Zones,
}

impl Trip {
    pub fn new() -> Self {
        Self::from_zones(Zones::new())
    }

    /// The same with both stand-ins behaving as the Octopus Server `profile`.
    pub fn on(profile: &str) -> Self {
        Self::from_zones(Zones::on(profile))
    }

    /// The same over zones made by the caller.
    pub fn from_zones(zones: Zones) -> Self {
        let site = &zones.site;
        site.keygen("result-signer");
        site.export()
            .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
            .ok();
        site.export()
            .args(["policy", "trust", "dev.toml", "result-signer.pub"])
            .args(["--role", "result", "--zone", "pci"])
            .ok();
        Trip { zones }
    }

    /// Export `project` `version` and import it with `--deploy-to environment`, writing the
    /// result to `result`; `extra` arguments go last.
    pub fn promote_and_deploy(
        &self,
        project: &str,
        version: &str,
        environment: &str,
        result: &str,
        extra: &[&str],
    ) -> Cmd {
        let bundle = format!("{version}.zb");
        self.zones.export(project, version, &bundle).ok();
        self.zones
            .import(&bundle)
            .args(["--deploy-to", environment, "--key", "result-signer.key"])
            .args(["--result-out", result, "--json"])
            .args(extra)
    }

    /// `bridge-import deploy` with the example mapping and secrets files.
    pub fn deploy(&self, project: &str, version: &str, environment: &str, result: &str) -> Cmd {
        self.deploy_signed(project, version, environment, result, "result-signer.key")
    }

    /// The same, signed with `key`.
    pub fn deploy_signed(
        &self,
        project: &str,
        version: &str,
        environment: &str,
        result: &str,
        key: &str,
    ) -> Cmd {
        let zones = &self.zones;
        zones
            .site
            .import()
            .args(["deploy", "--project", project, "--version", version])
            .args(["--environment", environment, "--key", key])
            .args(["--result-out", result, "--map", "mapping.toml"])
            .args(["--secrets", "secrets.toml", "--ledger", "import.ledger"])
            .args(["--server", zones.pci.url.as_str(), "--json"])
            .env("OCTOPUS_API_KEY", &zones.pci.key)
    }

    /// `bridge-export results` with the development ledger and instance.
    pub fn results(&self, result: &str) -> Cmd {
        let zones = &self.zones;
        zones
            .site
            .export()
            .args(["results", result, "--policy", "dev.toml"])
            .args(["--ledger", "export.ledger", "--json"])
            .args(["--server", zones.dev.url.as_str()])
            .env("OCTOPUS_API_KEY", &zones.dev.key)
    }

    /// `bridge-export status --json`.
    pub fn status(&self) -> Value {
        self.zones
            .site
            .export()
            .args(["status", "--ledger", "export.ledger", "--json"])
            .ok()
            .json()
    }

    /// The development release's notes.
    pub fn dev_notes(&self, slug: &str, version: &str) -> String {
        let release = self
            .zones
            .dev
            .get(&format!("/api/Spaces-1/projects/{slug}/releases/{version}"));
        release["ReleaseNotes"].as_str().unwrap_or("").to_owned()
    }

    /// What taking a result in may change on the development side: the ledger's promotions
    /// and deployments (through `status`) and every release's notes.
    pub fn dev_state(&self) -> Value {
        json!({
            "status": self.status()["promotions"],
            "releases": self.zones.dev.get("/api/Spaces-1/releases/all"),
        })
    }
}

/// A result bundle decompressed (its three zstd frames: signatures, manifest, log).
pub fn decompressed(path: &Path) -> Vec<u8> {
    let output = Command::new("zstd")
        .arg("-dcq")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run zstd: {e}"));
    assert!(output.status.success(), "zstd -dc {}", path.display());
    output.stdout
}

/// Every secret value the secure zone knows: its seed's stored ones and the secrets file's.
fn secure_secrets(trip: &Trip) -> Vec<String> {
    let mut secrets = seed_secrets("secure.json");
    let file = std::fs::read_to_string(trip.zones.site.path("secrets.toml"))
        .unwrap_or_else(|e| panic!("cannot read secrets.toml: {e}"));
    for line in file.lines() {
        if let Some(value) = line.strip_prefix("value = ") {
            secrets.push(value.trim_matches('"').to_owned());
        }
    }
    assert!(secrets.len() > 10, "too few secrets to check: {secrets:?}");
    secrets
}

fn assert_no_secret(trip: &Trip, bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    for secret in secure_secrets(trip) {
        assert!(
            !text.contains(&secret),
            "{what} carries a secret value of the secure zone"
        );
    }
}

/// `results --json` steps, `[name, state]` each.
fn step_states(report: &Value) -> Vec<(String, String)> {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s[0].as_str().unwrap_or("").to_owned(),
                s[1].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A development zone on one server version and the secure zone on the other, both ways: the
/// release crosses, deploys and its result comes home (a 2025 release into a 2020.5 target is
/// warned about, the older-target rule of bundle spec 7.1).
#[test]
fn a_release_crosses_between_a_2020_5_and_a_2025_server_both_ways() -> TestResult {
    for (dev, pci) in [("2020.5", "2025"), ("2025", "2020.5")] {
        let trip = Trip::from_zones(Zones::with_standins(
            Standin::start_profile("dev.json", DEV_KEY, dev),
            Standin::start_profile("secure.json", PCI_KEY, pci),
        ));
        let run = trip
            .promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
            .ok();
        let older = "warning: the target Octopus is version 2020.5.0, older than the 2025.1.5054";
        assert_eq!(
            run.stderr.contains(older),
            pci == "2020.5",
            "{dev} -> {pci}: {}",
            run.stderr
        );
        let report = run.json();
        assert_eq!(report["import"]["outcome"], "imported", "{dev} -> {pci}");
        assert_eq!(report["deploy"]["state"], "success", "{dev} -> {pci}");
        let taken = trip.results("result.zb").ok().json();
        assert_eq!(taken["outcome"], "recorded", "{dev} -> {pci}");
        assert_eq!(taken["state"], "success", "{dev} -> {pci}");
        let notes = trip.dev_notes("payments-api", "1.4.1");
        assert!(
            notes.contains("| pci | PCI Staging |  | success |"),
            "{dev} -> {pci}: {notes}"
        );
    }
    Ok(())
}

#[test]
fn a_successful_deployment_comes_home_verified_with_its_steps_and_log_on_2020_5() -> TestResult {
    a_successful_deployment_comes_home_verified_with_its_steps_and_log("2020.5")
}

#[test]
fn a_successful_deployment_comes_home_verified_with_its_steps_and_log_on_2025() -> TestResult {
    a_successful_deployment_comes_home_verified_with_its_steps_and_log("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn a_successful_deployment_comes_home_verified_with_its_steps_and_log(profile: &str) -> TestResult {
    let trip = Trip::on(profile);
    let run = trip
        .promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
        .ok();
    let report = run.json();
    assert_eq!(report["import"]["outcome"], "imported");
    assert_eq!(report["deploy"]["state"], "success");
    assert_eq!(report["deploy"]["result"]["channel"], "pci->dev/result");
    assert_eq!(report["deploy"]["result"]["sequence"], 1);
    let site = &trip.zones.site;
    assert_no_secret(
        &trip,
        &decompressed(&site.path("result.zb")),
        "the result bundle",
    );

    let notes_before = trip.dev_notes("payments-api", "1.4.1");
    let taken = trip
        .results("result.zb")
        .args(["--log-out", "task.log"])
        .ok()
        .json();
    assert_eq!(taken["outcome"], "recorded");
    assert_eq!(taken["state"], "success");
    assert_eq!(taken["environment"], "PCI Staging");
    let steps = step_states(&taken);
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert!(
        steps.iter().all(|(_, state)| state == "success"),
        "{steps:?}"
    );
    let log = std::fs::read_to_string(site.path("task.log"))?;
    assert!(log.contains("Task status:    Success"), "{log}");
    assert!(log.contains("1.4.1"), "{log}");

    // The note on the development release, after the notes developers wrote.
    let notes = trip.dev_notes("payments-api", "1.4.1");
    assert!(notes.starts_with(notes_before.trim_end()), "{notes}");
    assert!(notes.contains("<!-- zonebridge:results -->"), "{notes}");
    assert!(
        notes.contains("| pci | PCI Staging |  | success |"),
        "{notes}"
    );

    // Status: exported, deployed, answered.
    let status = trip.status();
    let promotion = &status["promotions"][0];
    assert_eq!(promotion["project"], "Payments API");
    assert_eq!(promotion["deployments"][0]["state"], "success");
    assert_eq!(promotion["unanswered_for"], Value::Null);

    // The same result again changes nothing; the same deploy again deploys nothing.
    let state = trip.dev_state();
    assert_eq!(
        trip.results("result.zb").ok().json()["outcome"],
        "already-recorded"
    );
    assert_eq!(trip.dev_state(), state);
    let again = trip
        .deploy("Payments API", "1.4.1", "PCI Staging", "again.zb")
        .ok()
        .json();
    assert_eq!(again["outcome"], "already-deployed");
    assert!(!site.path("again.zb").exists());
    let deployments = trip.zones.pci.get("/api/Spaces-1/deployments/all");
    assert_eq!(deployments.as_array().map(Vec::len), Some(1));

    // A re-export of the release does not carry the note back into the secure zone.
    trip.zones.export("Payments API", "1.4.1", "again.zb").ok();
    let bundle = decompressed(&site.path("again.zb"));
    assert!(!String::from_utf8_lossy(&bundle).contains("zonebridge:results"));
    Ok(())
}

#[test]
fn a_failing_deployment_comes_home_failed_with_the_failing_step_and_its_output_on_2020_5()
-> TestResult {
    a_failing_deployment_comes_home_failed_with_the_failing_step_and_its_output("2020.5")
}

#[test]
fn a_failing_deployment_comes_home_failed_with_the_failing_step_and_its_output_on_2025()
-> TestResult {
    a_failing_deployment_comes_home_failed_with_the_failing_step_and_its_output("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn a_failing_deployment_comes_home_failed_with_the_failing_step_and_its_output(
    profile: &str,
) -> TestResult {
    let trip = Trip::on(profile);
    let run = trip
        .promote_and_deploy("Fraud Rules", "3.14.0", "PCI Staging", "failed.zb", &[])
        .expect(5);
    let report = run.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["deploy"]["state"], "failed");
    let taken = trip
        .results("failed.zb")
        .args(["--log-out", "failed.log"])
        .ok()
        .json();
    assert_eq!(taken["state"], "failed");
    let steps = step_states(&taken);
    assert!(
        steps
            .first()
            .is_some_and(|(name, state)| name.contains("Validate rule set") && state == "failed"),
        "{steps:?}"
    );
    assert!(
        steps.iter().skip(1).all(|(_, state)| state == "skipped"),
        "{steps:?}"
    );
    let log = std::fs::read_to_string(trip.zones.site.path("failed.log"))?;
    assert!(log.contains("2 rules overlap: R-114, R-207"), "{log}");
    assert!(
        trip.dev_notes("fraud-rules", "3.14.0")
            .contains("| failed |")
    );
    Ok(())
}

#[test]
fn a_manual_intervention_is_reported_as_waiting_then_followed_to_its_end_on_2020_5() -> TestResult {
    a_manual_intervention_is_reported_as_waiting_then_followed_to_its_end("2020.5")
}

#[test]
fn a_manual_intervention_is_reported_as_waiting_then_followed_to_its_end_on_2025() -> TestResult {
    a_manual_intervention_is_reported_as_waiting_then_followed_to_its_end("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn a_manual_intervention_is_reported_as_waiting_then_followed_to_its_end(
    profile: &str,
) -> TestResult {
    let trip = Trip::on(profile);
    let run = trip
        .promote_and_deploy(
            "Ledger Worker",
            "2.0.3",
            "PCI Staging",
            "waiting.zb",
            &["--timeout", "2s"],
        )
        .expect(6);
    let report = run.json();
    assert_eq!(report["deploy"]["state"], "waiting");
    let waiting = report["deploy"]["waiting"].as_str().unwrap_or("");
    assert!(
        waiting.starts_with("manual intervention on step") && waiting.contains("Finance sign-off"),
        "{waiting}"
    );
    // Someone in the secure zone proceeds; the same deploy follows the same deployment to
    // its end and writes the next result on the channel.
    let pci = &trip.zones.pci;
    let pending = pci.get("/api/Spaces-1/interruptions?pendingOnly=true");
    let id = pending["Items"][0]["Id"]
        .as_str()
        .ok_or("no interruption")?
        .to_owned();
    pci.put(
        &format!("/api/Spaces-1/interruptions/{id}/responsible"),
        &json!({}),
    );
    pci.post(
        &format!("/api/Spaces-1/interruptions/{id}/submit"),
        &json!({"Result": "Proceed", "Notes": "signed off"}),
    );
    let followed = trip
        .deploy("Ledger Worker", "2.0.3", "PCI Staging", "done.zb")
        .ok()
        .json();
    assert_eq!(followed["outcome"], "followed");
    assert_eq!(followed["state"], "success");
    assert_eq!(followed["result"]["sequence"], 2);
    assert_eq!(
        pci.get("/api/Spaces-1/deployments/all")
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // The results arrive out of order: the second is refused, naming the missing first.
    let state = trip.dev_state();
    trip.results("done.zb")
        .expect(1)
        .stderr_has("bundle 1 missing on channel pci->dev/result");
    assert_eq!(trip.dev_state(), state);
    let taken = trip.results("waiting.zb").ok().json();
    assert_eq!(taken["state"], "waiting");
    assert!(
        trip.dev_notes("ledger-worker", "2.0.3")
            .contains("waiting: manual intervention")
    );
    assert_eq!(trip.results("done.zb").ok().json()["state"], "success");
    let notes = trip.dev_notes("ledger-worker", "2.0.3");
    assert!(
        notes.contains("| success |") && !notes.contains("waiting"),
        "{notes}"
    );

    // The older "waiting" result, delivered again, changes nothing.
    let state = trip.dev_state();
    assert_eq!(
        trip.results("waiting.zb").ok().json()["outcome"],
        "already-recorded"
    );
    assert_eq!(trip.dev_state(), state);
    Ok(())
}

#[test]
fn tampered_and_wrongly_signed_results_are_refused_and_change_nothing() -> TestResult {
    let trip = Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
        .ok();
    let site = &trip.zones.site;
    let state = trip.dev_state();

    // One byte of the log changed: its hash no longer matches the signed manifest.
    let mut bytes = std::fs::read(site.path("result.zb"))?;
    let last = bytes.len() - 40;
    bytes[last] ^= 0x01;
    write(&site.path("tampered.zb"), &bytes);
    trip.results("tampered.zb").expect(1);
    assert_eq!(trip.dev_state(), state);

    // Signed by a key the development side does not trust as a result signer: the release
    // signer (trusted for releases only, by the secure zone) and a stranger.
    site.keygen("stranger");
    for key in ["signer.key", "stranger.key"] {
        let out = format!("by-{key}.zb");
        trip.deploy_signed("Payments API", "1.4.1", "PCI Staging", &out, key)
            .args(["--redeploy"])
            .ok();
        let refused = trip.results(&out).expect(1);
        // Neither key is in the development side's policy at all.
        assert_eq!(refused.json()["error"]["code"], "signer-unknown", "{key}");
        assert_eq!(trip.dev_state(), state, "{key}");
    }

    // A release bundle given to `results` is refused too.
    trip.zones
        .export("Payments API", "1.4.0", "release.zb")
        .ok();
    let state = trip.dev_state();
    trip.results("release.zb").expect(1);
    assert_eq!(trip.dev_state(), state);

    // Without a server, `results` needs --no-note (an API key in the environment alone does
    // not ask for one); with it, the result is recorded and the notes are left alone.
    let notes = trip.dev_notes("payments-api", "1.4.1");
    let bare = || {
        site.export()
            .args(["results", "result.zb", "--policy", "dev.toml"])
            .args(["--ledger", "export.ledger"])
            .env("OCTOPUS_API_KEY", "API-UNUSED")
    };
    bare()
        .expect(2)
        .stderr_has("give --server (or OCTOPUS_URL)");
    bare().args(["--no-note"]).ok().stdout_has("recorded");
    assert_eq!(trip.dev_notes("payments-api", "1.4.1"), notes);
    Ok(())
}

#[test]
fn the_log_is_scrubbed_of_every_secret_value_the_secure_side_knows() -> TestResult {
    let trip = Trip::new();
    // A value the secure operator knows as secret, which the deployment prints and the
    // instance does not mask (it stores no variable with that value): only Zonebridge's
    // scrubbing keeps it from leaving the zone.
    let site = &trip.zones.site;
    let printed = "Payments API 1.4.1";
    let mut secrets = std::fs::read_to_string(site.path("secrets.toml"))?;
    secrets.push_str(&format!(
        "\n[[secret]]\nowner = \"Payments API\"\nname = \"Probe.Secret\"\nscope = {{}}\nvalue = \"{printed}\"\n"
    ));
    write(&site.path("secrets.toml"), secrets.as_bytes());
    let report = trip
        .promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "result.zb", &[])
        .ok()
        .json();
    assert!(
        report["deploy"]["masked"].as_u64().unwrap_or(0) > 0,
        "{report}"
    );
    let bundle = decompressed(&site.path("result.zb"));
    let text = String::from_utf8_lossy(&bundle);
    assert!(!text.contains(printed), "the printed value left the zone");
    assert!(text.contains("********"));
    assert_no_secret(&trip, &bundle, "the result bundle");
    Ok(())
}

#[test]
fn each_result_carries_the_secure_ledger_head_home_and_a_cut_ledger_is_caught() -> TestResult {
    let trip = Trip::new();
    let site = &trip.zones.site;
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "first.zb", &[])
        .ok();
    let first = trip.results("first.zb").ok().json();
    let head = first["ledger_head"]["head"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (entries, hash) = head.split_once(':').ok_or(format!("{first}"))?;
    assert!(entries.parse::<u64>()? > 1, "{head}");
    assert_eq!(hash.len(), 64, "{head}");
    assert_eq!(first["ledger_head"].get("went_backwards_from"), None);

    trip.promote_and_deploy("Fraud Rules", "3.13.0", "PCI Staging", "second.zb", &[])
        .ok();
    let second = trip.results("second.zb").ok().json();
    let later = second["ledger_head"]["head"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(later, head);

    // Status shows the newest head of the zone, ready for `ledger verify --anchor`.
    let status = trip.status();
    assert_eq!(status["heads"][0]["zone"], "pci");
    assert_eq!(status["heads"][0]["head"], later.as_str());
    assert_eq!(status["heads"][0]["received"], 2);
    assert_eq!(status["heads"][0]["went_backwards"], Value::Null);
    site.export()
        .args(["status", "--ledger", "export.ledger"])
        .ok()
        .stdout_has(&format!(
            "ledger head of pci: {later} (2 received; check it there with `bridge-import ledger verify --anchor {later}`)"
        ));

    // The secure ledger verifies against both heads; cut after the first, it does not.
    let verify = |anchor: &str| {
        site.import().args([
            "ledger",
            "verify",
            "--ledger",
            "import.ledger",
            "--anchor",
            anchor,
        ])
    };
    verify(&head).ok();
    verify(&later).ok();
    let (first_entries, _) = head.split_once(':').ok_or("head")?;
    let conn = rusqlite::Connection::open(site.path("import.ledger"))?;
    conn.execute_batch(&format!(
        "DROP TRIGGER audit_append_only_delete; DELETE FROM audit WHERE id > {first_entries};"
    ))?;
    drop(conn);
    verify(&head).expect(1).stderr_has("table");
    verify(&later).expect(1).stderr_has("does not verify");
    Ok(())
}
