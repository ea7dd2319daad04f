//! Deployments and tasks: the task runs in the background (Queued -> Executing -> Success or
//! Failed); lifecycle gating; bash scripts run for real with `#{Variable}` substitution and
//! masked secrets; a failing script fails the task; a manual step waits for its answer.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};

const WAIT: Duration = Duration::from_secs(30);

fn task_of(deployment: &Value) -> Result<String, Box<dyn std::error::Error>> {
    deployment["TaskId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no TaskId in {deployment}").into())
}

/// A project on the default lifecycle with the given steps, and a release of it.
fn released(
    standin: &Standin,
    name: &str,
    steps: Value,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let project = standin.project(name, "Lifecycles-1")?;
    standin.set_steps(&project, steps)?;
    let release = standin.release(&project, "1.0.0", json!([]))?;
    Ok((project, id(&release)?))
}

#[test]
fn a_script_runs_for_real_with_variables_substituted_and_secrets_masked() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let (_, release) = released(
        &standin,
        "Payments API",
        json!([script_step(
            "Migrate database",
            "set -e\necho \"migrating #{Octopus.Project.Name} #{Octopus.Release.Number} on #{Octopus.Environment.Name}\"\necho \"conn=#{Db.Connection}\"\necho done > marker.txt\ncat marker.txt\npwd >&2"
        )]),
    )?;
    let deployment = standin.deploy(&release, &env)?;
    assert_eq!(deployment["Name"], "Deploy to Production");
    let task = task_of(&deployment)?;
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    assert_eq!(done["FinishedSuccessfully"], true);
    assert_eq!(
        done["Description"],
        "Deploy Payments API release 1.0.0 to Production"
    );
    let log = standin.raw_log(&task)?;
    assert!(
        log.contains("migrating Payments API 1.0.0 on Production"),
        "{log}"
    );
    assert!(
        log.contains("Info     |     done"),
        "script output is in the log:\n{log}"
    );
    assert!(
        log.contains("== Success: Step 1: Migrate database =="),
        "{log}"
    );
    let details = standin.ok(&format!("/api/tasks/{task}/details"))?;
    assert_eq!(details["Task"]["Id"], task.as_str());
    assert_eq!(details["ActivityLogs"][0]["Status"], "Success");
    assert_eq!(
        details["ActivityLogs"][0]["Children"][0]["Name"],
        "Step 1: Migrate database"
    );
    Ok(())
}

#[test]
fn secrets_used_by_a_script_are_masked_in_the_log() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let project = standin.project("Ledger", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([script_step(
            "Connect",
            "echo \"password is #{Db.Password}\"; echo \"twice: #{Db.Password}#{Db.Password}\""
        )]),
    )?;
    standin.set_variables(
        &project,
        json!([{"Name": "Db.Password", "Value": "S3cr3t-Value", "Type": "Sensitive"}]),
    )?;
    let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    assert_eq!(standin.wait_for_task(&task, WAIT)?["State"], "Success");
    let log = standin.raw_log(&task)?;
    assert!(log.contains("password is ********"), "{log}");
    assert!(log.contains("twice: ****************"), "{log}");
    assert!(!log.contains("S3cr3t-Value"), "{log}");
    let details = standin
        .ok(&format!("/api/tasks/{task}/details"))?
        .to_string();
    assert!(!details.contains("S3cr3t-Value"));
    Ok(())
}

#[test]
fn a_failing_script_fails_the_task_with_its_output_in_the_raw_log() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Staging")?;
    let (_, release) = released(
        &standin,
        "Fraud Rules",
        json!([
            script_step("Check schema", "echo 'checking schema v42'\necho 'schema mismatch: expected 42, found 41' >&2\nexit 3"),
            script_step("Never runs", "echo 'should not run'"),
            {
                "Name": "Notify on failure",
                "Condition": "Failure",
                "Actions": [{"Name": "Notify on failure", "ActionType": "Octopus.Script", "Properties": {
                    "Octopus.Action.Script.ScriptSource": "Inline", "Octopus.Action.Script.Syntax": "Bash",
                    "Octopus.Action.Script.ScriptBody": "echo 'paging the on-call engineer'"}}]
            }
        ]),
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Failed", "{done}");
    assert_eq!(done["FinishedSuccessfully"], false);
    assert_eq!(
        done["ErrorMessage"],
        "The remote script failed with exit code 3"
    );
    let log = standin.raw_log(&task)?;
    assert!(log.contains("Task status:    Failed"), "{log}");
    assert!(log.contains("checking schema v42"), "{log}");
    assert!(
        log.contains("Error    |     schema mismatch: expected 42, found 41"),
        "{log}"
    );
    assert!(log.contains("== Failed: Step 1: Check schema =="), "{log}");
    assert!(log.contains("== Skipped: Step 2: Never runs =="), "{log}");
    assert!(!log.contains("should not run"), "{log}");
    assert!(
        log.contains("paging the on-call engineer"),
        "a Failure step runs after a failure:\n{log}"
    );
    let deployment = standin.ok("/api/Spaces-1/deployments")?;
    assert_eq!(deployment["Items"][0]["FailureEncountered"], true);
    Ok(())
}

#[test]
fn a_task_goes_from_executing_to_success() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Test")?;
    let (_, release) = released(
        &standin,
        "Slow",
        json!([script_step("Wait", "sleep 1; echo slept")]),
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    let first = standin.ok(&format!("/api/tasks/{task}"))?;
    assert!(
        matches!(first["State"].as_str(), Some("Queued" | "Executing")),
        "{first}"
    );
    let executing = standin.wait_until(&task, WAIT, |t| t["State"] == "Executing")?;
    assert_eq!(executing["IsCompleted"], false);
    assert_eq!(executing["HasBeenPickedUpByProcessor"], true);
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Success");
    assert!(
        done["Duration"]
            .as_str()
            .is_some_and(|d| d.ends_with("second") || d.ends_with("seconds")),
        "{done}"
    );
    let tasks = standin.ok("/api/tasks?states=Success")?;
    assert_eq!(tasks["Items"][0]["Id"], task.as_str());
    Ok(())
}

#[test]
fn the_lifecycle_gates_environments_until_the_earlier_phase_succeeds() -> TestResult {
    let standin = Standin::start()?;
    let dev = standin.environment("Development")?;
    let staging = standin.environment("Staging")?;
    let prod = standin.environment("Production")?;
    let stranger = standin.environment("Sandbox")?;
    let lifecycle = id(&standin.create(
        "/api/Spaces-1/lifecycles",
        &json!({"Name": "Dev to Prod", "Phases": [
            {"Name": "Development", "OptionalDeploymentTargets": [dev]},
            {"Name": "Staging", "OptionalDeploymentTargets": [staging]},
            {"Name": "Production", "OptionalDeploymentTargets": [prod]}
        ]}),
    )?)?;
    let project = standin.project("Payments API", &lifecycle)?;
    standin.set_steps(&project, json!([script_step("Deploy", "echo deployed")]))?;
    let release = id(&standin.release(&project, "1.4.0", json!([]))?)?;
    let early = expect(
        standin.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": prod}),
        )?,
        400,
    )?;
    let reason = early["Errors"][0].as_str().ok_or("no reason")?;
    assert!(
        reason.contains("cannot be deployed to Production")
            && reason.contains("phase 'Development'")
            && reason.contains("still missing: Development"),
        "{reason}"
    );
    let outside = expect(
        standin.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": stranger}),
        )?,
        400,
    )?;
    assert!(
        outside["Errors"][0]
            .as_str()
            .is_some_and(|r| r.contains("not part of the lifecycle 'Dev to Prod'")),
        "{outside}"
    );
    for env in [&dev, &staging, &prod] {
        let task = task_of(&standin.deploy(&release, env)?)?;
        assert_eq!(standin.wait_for_task(&task, WAIT)?["State"], "Success");
    }
    Ok(())
}

#[test]
fn a_manual_step_waits_until_answered_and_submit_needs_responsibility() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let (_, release) = released(
        &standin,
        "Payments API",
        json!([
            {"Name": "Approve", "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual", "Properties": {
                "Octopus.Action.Manual.Instructions": "Check the #{Octopus.Environment.Name} change ticket."}}]},
            script_step("After approval", "echo 'approved, continuing'")
        ]),
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    let waiting = standin.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    assert_eq!(waiting["State"], "Executing");
    let pending = standin.ok(&format!(
        "/api/Spaces-1/interruptions?regarding={task}&pendingOnly=true"
    ))?;
    assert_eq!(pending["TotalResults"], 1);
    let interruption = &pending["Items"][0];
    let interruption_id = id(interruption)?;
    assert_eq!(
        interruption["Form"]["Elements"][0]["Control"]["Text"],
        "Check the Production change ticket."
    );
    // Still waiting a moment later.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        standin.ok(&format!("/api/tasks/{task}"))?["State"],
        "Executing"
    );
    let path = format!("/api/Spaces-1/interruptions/{interruption_id}");
    let refused = expect(
        standin.post(&format!("{path}/submit"), &json!({"Result": "Proceed"}))?,
        400,
    )?;
    assert_eq!(
        refused["Errors"][0],
        "You must take responsibility for this interruption before attempting to submit it."
    );
    let user = expect(
        standin.put(&format!("{path}/responsible"), &json!({}))?,
        200,
    )?;
    assert_eq!(user["Id"], "Users-1");
    let bad = expect(
        standin.post(&format!("{path}/submit"), &json!({"Result": "Maybe"}))?,
        400,
    )?;
    assert_eq!(bad["ErrorMessage"], "There were errors with the form.");
    let answered = expect(
        standin.post(
            &format!("{path}/submit"),
            &json!({"Instructions": null, "Notes": "CHG-1234 approved", "Result": "Proceed"}),
        )?,
        200,
    )?;
    assert_eq!(answered["IsPending"], false);
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    let log = standin.raw_log(&task)?;
    assert!(
        log.contains("CHG-1234 approved") && log.contains("approved, continuing"),
        "{log}"
    );
    let again = expect(
        standin.post(&format!("{path}/submit"), &json!({"Result": "Proceed"}))?,
        400,
    )?;
    assert_eq!(
        again["Errors"][0],
        "The interruption has already been submitted."
    );
    Ok(())
}

#[test]
fn aborting_a_manual_step_fails_the_task() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let project = standin.project("Ledger", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([{"Name": "Approve", "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual", "Properties": {
            "Octopus.Action.Manual.Instructions": "Go? Break-glass code: #{BreakGlass.Code}"}}]}]),
    )?;
    standin.set_variables(
        &project,
        json!([{"Name": "BreakGlass.Code", "Value": "bg-7741", "Type": "Sensitive"}]),
    )?;
    let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    standin.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    let pending = standin.ok(&format!("/api/interruptions?regarding={task}"))?;
    // The form is readable by anyone with the key, so secrets in it are masked.
    assert_eq!(
        pending["Items"][0]["Form"]["Elements"][0]["Control"]["Text"],
        "Go? Break-glass code: ********"
    );
    let path = format!("/api/Spaces-1/interruptions/{}", id(&pending["Items"][0])?);
    expect(
        standin.put(&format!("{path}/responsible"), &json!({}))?,
        200,
    )?;
    expect(
        standin.post(
            &format!("{path}/submit"),
            &json!({"Notes": "not today", "Result": "Abort"}),
        )?,
        200,
    )?;
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Failed");
    assert_eq!(
        done["ErrorMessage"],
        "Manual intervention 'Approve' was aborted by admin: not today"
    );
    Ok(())
}

#[test]
fn a_missing_package_or_a_non_bash_script_fails_the_deployment() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Production")?;
    let project = standin.project("Ledger Worker", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([{"Name": "Deploy worker", "Actions": [{"Name": "Deploy worker", "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": "Ledger.Worker", "FeedId": "feeds-builtin"}]}]}]),
    )?;
    let release = id(&standin.release(
        &project,
        "2.0.3",
        json!([{"ActionName": "Deploy worker", "Version": "2.0.3"}]),
    )?)?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(
        done["ErrorMessage"],
        "The package Ledger.Worker version 2.0.3 was not found in the feed"
    );
    // With the package uploaded, the same release deploys.
    expect(
        standin.upload("Ledger.Worker.2.0.3.zip", b"worker", "")?,
        201,
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    assert_eq!(standin.wait_for_task(&task, WAIT)?["State"], "Success");
    assert!(
        standin
            .raw_log(&task)?
            .contains("Acquired package Ledger.Worker version 2.0.3")
    );
    // A PowerShell script cannot run here, and says so.
    let (_, release) = released(
        &standin,
        "Windows Thing",
        json!([{"Name": "PS", "Actions": [{"Name": "PS", "ActionType": "Octopus.Script", "Properties": {
            "Octopus.Action.Script.Syntax": "PowerShell", "Octopus.Action.Script.ScriptBody": "Write-Host hi"}}]}]),
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    let done = standin.wait_for_task(&task, WAIT)?;
    assert_eq!(
        done["ErrorMessage"],
        "Action 'PS' is a PowerShell script; the stand-in runs Bash scripts only."
    );
    Ok(())
}

#[test]
fn a_script_printing_a_line_without_end_is_logged_in_bounded_pieces() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Test")?;
    let (_, release) = released(
        &standin,
        "Chatty",
        json!([script_step(
            "Flood",
            "head -c 300000 /dev/zero | tr '\\0' x"
        )]),
    )?;
    let task = task_of(&standin.deploy(&release, &env)?)?;
    assert_eq!(standin.wait_for_task(&task, WAIT)?["State"], "Success");
    let log = standin.raw_log(&task)?;
    assert!(log.contains("[line cut by the stand-in]"), "{log:.400}");
    assert!(
        log.len() < 200_000,
        "the log keeps at most 16 KiB of each piece"
    );
    Ok(())
}
