//! Deploying the development seed's releases: scripts run with variables substituted and
//! secrets masked, packages come from the built-in feed, the manual step waits for its
//! answer, and Fraud Rules 3.14.0 fails in its first step as it is meant to.

use serde_json::json;

use crate::harness::{TestResult, expect, id};
use crate::seeds::{
    FAILING_RELEASE, FAILING_STDERR, WAIT, assert_masked, assert_step_statuses, by_name,
    deploy_and_wait, list, newest_releases, read_seed, seed_secrets, seed_value, sha1_hex, start,
    text,
};

#[test]
fn a_dev_seed_script_release_deploys_to_development_with_secrets_masked() -> TestResult {
    let seed = read_seed("dev.json")?;
    let secrets = seed_secrets(&seed);
    let token = seed_value(&seed, "Fraud.ScoringEngine.ApiToken", "env_development")?;
    let s = start("dev.json")?;
    let env = id(&by_name(&s, "environments")?["Development"])?;
    let release = s.ok("/api/Spaces-1/projects/fraud-rules/releases/3.13.0")?;
    let (task, log) = deploy_and_wait(&s, &id(&release)?, &env)?;
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
    assert_masked(&log, &secrets)?;
    let details = s.ok(&format!("/api/tasks/{task}/details"))?;
    assert_step_statuses(
        &details,
        "Success",
        &[
            ("Validate rule set", "Success"),
            ("Publish rules to scoring engine", "Success"),
            ("Record rule set version", "Success"),
        ],
    )
}

#[test]
fn dev_seed_fraud_rules_3_14_0_fails_in_its_first_step_and_skips_the_rest() -> TestResult {
    let s = start("dev.json")?;
    let envs = by_name(&s, "environments")?;
    let (project, version) = FAILING_RELEASE;
    let release = s.ok(&format!(
        "/api/Spaces-1/projects/fraud-rules/releases/{version}"
    ))?;
    assert_eq!(
        release["ReleaseNotes"],
        "- New geo-mismatch rules R-207 and R-208 for card-not-present payments."
    );
    // It fails in Development, the lifecycle's first phase, so it can go nowhere else.
    let deployment = s.deploy(&id(&release)?, &id(&envs["Development"])?)?;
    let task = text(&deployment, "TaskId")?.to_owned();
    let done = s.wait_for_task(&task, WAIT)?;
    let log = s.raw_log(&task)?;
    assert_eq!(
        done["State"], "Failed",
        "{project} {version}: {done}\n{log}"
    );
    assert_eq!(
        done["ErrorMessage"],
        "The remote script failed with exit code 3"
    );
    for line in [
        "Validating fraud rule set 3.14.0 for Development",
        "Loaded 3 geo-mismatch rules: review at 600, decline at 850",
        "Checking the rule set for overlapping conditions",
        "Error    |     2 rules overlap: R-114, R-207",
        "== Failed: Step 1: Validate rule set ==",
        "== Skipped: Step 2: Publish rules to scoring engine ==",
        "== Skipped: Step 3: Record rule set version ==",
    ] {
        assert!(log.contains(line), "no {line:?} in the log:\n{log}");
    }
    assert!(!log.contains("Publishing rule set"), "{log}");
    let details = s.ok(&format!("/api/tasks/{task}/details"))?;
    assert_step_statuses(
        &details,
        "Failed",
        &[
            ("Validate rule set", "Failed"),
            ("Publish rules to scoring engine", "Skipped"),
            ("Record rule set version", "Skipped"),
        ],
    )?;
    let step = &details["ActivityLogs"][0]["Children"][0];
    let errors: Vec<&str> = list(&step["LogElements"])
        .iter()
        .filter(|e| e["Category"] == "Error")
        .filter_map(|e| e["MessageText"].as_str())
        .collect();
    assert_eq!(
        errors,
        [FAILING_STDERR, "The remote script failed with exit code 3"],
        "{step}"
    );
    // The release's deployments list it, failed.
    let deployments = s.ok(&format!(
        "/api/Spaces-1/releases/{}/deployments",
        id(&release)?
    ))?;
    assert_eq!(deployments["TotalResults"], 1);
    assert_eq!(deployments["Items"][0]["FailureEncountered"], true);
    assert_eq!(
        expect(
            s.get(&format!(
                "/api/Spaces-1/projects/fraud-rules/releases/{version}"
            ))?,
            200
        )?["Id"],
        release["Id"]
    );
    Ok(())
}

#[test]
fn every_dev_seed_project_deploys_its_newest_working_release_to_development() -> TestResult {
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
