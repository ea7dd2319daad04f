//! Guided failure: a deployment with `UseGuidedFailure` asks a person what to do when an
//! action fails (an interruption whose form's submit element is `Guidance`: Fail, Retry,
//! Ignore) instead of failing; the task waits with `HasPendingInterruptions` and the step
//! stays `Running`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::conforms;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(30);

/// A folder the test's scripts share between attempts (each attempt gets a fresh scratch
/// folder).
struct Shared(tempfile::TempDir);

impl Shared {
    fn new(name: &str) -> Res<Self> {
        Ok(Shared(tempfile::Builder::new().prefix(name).tempdir()?))
    }

    fn path(&self) -> Res<&str> {
        Ok(self.0.path().to_str().ok_or("temp dir is not UTF-8")?)
    }
}

/// A script that fails (exit 4) the first `failures` times it runs, then succeeds.
fn flaky(shared: &Shared, failures: usize) -> Res<String> {
    let dir = shared.path()?;
    Ok(format!(
        "n=$(cat '{dir}/runs' 2>/dev/null || echo 0)\nn=$((n + 1))\necho $n > '{dir}/runs'\necho \"attempt $n\"\nif [ $n -le {failures} ]; then echo \"flaky failure $n\" >&2; exit 4; fi\necho recovered"
    ))
}

/// Deploys a release of a project with these steps, in guided-failure mode; returns the
/// task id.
fn deploy_guided(s: &Standin, name: &str, steps: Value, guided: bool) -> Res<String> {
    let env = s.environment(&format!("{name} env"))?;
    let project = s.project(name, "Lifecycles-1")?;
    s.set_steps(&project, steps)?;
    let release = id(&s.release(&project, "1.0.0", json!([]))?)?;
    let deployment = s.create(
        "/api/Spaces-1/deployments",
        &json!({"ReleaseId": release, "EnvironmentId": env, "UseGuidedFailure": guided}),
    )?;
    assert_eq!(deployment["UseGuidedFailure"], guided);
    Ok(deployment["TaskId"].as_str().ok_or("no TaskId")?.to_owned())
}

/// Waits for the task's pending interruption; returns it.
fn pending(s: &Standin, task: &str) -> Res<Value> {
    let waiting = s.wait_until(task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    crate::task_states::assert_consistent(&waiting)?;
    conforms(
        "TaskDetailsResource",
        &s.ok(&format!("/api/tasks/{task}/details"))?,
    )?;
    assert_eq!(waiting["State"], "Executing", "{waiting}");
    assert_eq!(waiting["IsCompleted"], false);
    let page = s.ok(&format!(
        "/api/Spaces-1/interruptions?regarding={task}&pendingOnly=true"
    ))?;
    assert_eq!(page["TotalResults"], 1, "{page}");
    conforms("ResourceCollection_of_InterruptionResource", &page)?;
    Ok(page["Items"][0].clone())
}

/// Waits for a pending interruption of the task other than `before`; returns it.
fn next_pending(s: &Standin, task: &str, before: &Value) -> Res<Value> {
    let start = std::time::Instant::now();
    loop {
        let page = s.ok(&format!(
            "/api/Spaces-1/interruptions?regarding={task}&pendingOnly=true"
        ))?;
        if page["TotalResults"] == 1 && page["Items"][0]["Id"] != before["Id"] {
            let task_now = s.ok(&format!("/api/tasks/{task}"))?;
            assert_eq!(task_now["HasPendingInterruptions"], true, "{task_now}");
            return Ok(page["Items"][0].clone());
        }
        if start.elapsed() > WAIT {
            return Err(format!("no new interruption for {task}: {page}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Takes responsibility for an interruption and submits `answer`.
fn answer(s: &Standin, interruption: &Value, answer: Value) -> Res<Value> {
    let path = format!("/api/Spaces-1/interruptions/{}", id(interruption)?);
    expect(s.put(&format!("{path}/responsible"), &json!({}))?, 200)?;
    let answered = expect(s.post(&format!("{path}/submit"), &answer)?, 200)?;
    conforms("InterruptionResource", &answered)?;
    Ok(answered)
}

/// The statuses of the steps of a task's activity log.
fn step_statuses(s: &Standin, task: &str) -> Res<Vec<String>> {
    let details = s.ok(&format!("/api/tasks/{task}/details"))?;
    conforms("TaskDetailsResource", &details)?;
    Ok(details["ActivityLogs"][0]["Children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["Status"].as_str().unwrap_or_default().to_owned())
        .collect())
}

#[test]
fn a_failed_action_asks_for_guidance_and_retry_runs_it_again() -> TestResult {
    let s = Standin::start()?;
    let shared = Shared::new("retry")?;
    let task = deploy_guided(
        &s,
        "Payments API",
        json!([
            script_step("Flaky", &flaky(&shared, 1)?),
            script_step("After", "echo after")
        ]),
        true,
    )?;
    let interruption = pending(&s, &task)?;
    assert_eq!(interruption["Title"], "Guided failure: Flaky");
    assert_eq!(interruption["IsPending"], true);
    assert_eq!(interruption["TaskId"], task.as_str());
    // The form: Notes, then ONE submit element, `Guidance`, with Fail, Retry, Ignore.
    let elements = interruption["Form"]["Elements"]
        .as_array()
        .ok_or("no Elements")?;
    let submits: Vec<&Value> = elements
        .iter()
        .filter(|e| e["Control"]["Type"] == "SubmitButtonGroup")
        .collect();
    assert_eq!(submits.len(), 1, "{elements:?}");
    assert_eq!(submits[0]["Name"], "Guidance");
    let buttons: Vec<&str> = submits[0]["Control"]["Buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["Value"].as_str())
        .collect();
    assert_eq!(buttons, ["Fail", "Retry", "Ignore"]);
    assert!(elements.iter().all(|e| e["Name"] != "Result"));
    assert_eq!(
        interruption["Form"]["Values"],
        json!({"Notes": null, "Guidance": null})
    );
    // While it waits the step is Running, and stays so a moment later.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(step_statuses(&s, &task)?, ["Running"]);
    let task_now = s.ok(&format!("/api/tasks/{task}"))?;
    assert_eq!(task_now["HasPendingInterruptions"], true);
    assert_eq!(task_now["State"], "Executing");

    // Responsibility first, and only the form's buttons.
    let path = format!("/api/Spaces-1/interruptions/{}", id(&interruption)?);
    let refused = expect(
        s.post(&format!("{path}/submit"), &json!({"Guidance": "Retry"}))?,
        400,
    )?;
    assert_eq!(
        refused["Errors"][0],
        "You must take responsibility for this interruption before attempting to submit it."
    );
    expect(s.put(&format!("{path}/responsible"), &json!({}))?, 200)?;
    for body in [json!({"Guidance": "Maybe"}), json!({"Result": "Proceed"})] {
        let bad = expect(s.post(&format!("{path}/submit"), &body)?, 400)?;
        assert_eq!(bad["ErrorMessage"], "There were errors with the form.");
        assert_eq!(bad["Errors"][0], "Guidance must be Fail, Retry or Ignore.");
    }
    let answered = expect(
        s.post(
            &format!("{path}/submit"),
            &json!({"Guidance": "Retry", "Notes": "DB failover done"}),
        )?,
        200,
    )?;
    assert_eq!(answered["IsPending"], false);
    assert_eq!(
        answered["Form"]["Values"],
        json!({"Notes": "DB failover done", "Guidance": "Retry"})
    );

    let done = s.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    assert_eq!(done["HasPendingInterruptions"], false);
    assert_eq!(done["HasWarningsOrErrors"], false);
    assert_eq!(step_statuses(&s, &task)?, ["Success", "Success"]);
    let log = s.raw_log(&task)?;
    for line in [
        "attempt 1",
        "flaky failure 1",
        "Guided failure: action 'Flaky' failed (The remote script failed with exit code 4); waiting for guidance",
        "Guided failure: admin chose to retry the action: DB failover done",
        "attempt 2",
        "recovered",
        "after",
    ] {
        assert!(log.contains(line), "no {line:?} in:\n{log}");
    }
    Ok(())
}

#[test]
fn a_retry_that_fails_again_asks_again_and_ignore_goes_on_with_a_warning() -> TestResult {
    let s = Standin::start()?;
    let shared = Shared::new("ignore")?;
    let task = deploy_guided(
        &s,
        "Ledger Worker",
        json!([
            script_step("Flaky", &flaky(&shared, 5)?),
            script_step("Next", "echo 'next step ran'")
        ]),
        true,
    )?;
    let first = pending(&s, &task)?;
    answer(&s, &first, json!({"Guidance": "Retry"}))?;
    // The retry fails too: a new interruption.
    let second = next_pending(&s, &task, &first)?;
    assert_eq!(second["Title"], "Guided failure: Flaky");
    answer(
        &s,
        &second,
        json!({"Guidance": "Ignore", "Notes": "known issue"}),
    )?;

    let done = s.wait_for_task(&task, WAIT)?;
    crate::task_states::assert_consistent(&done)?;
    assert_eq!(done["State"], "Success", "{done}");
    assert_eq!(done["FinishedSuccessfully"], true);
    assert_eq!(done["HasWarningsOrErrors"], true);
    assert_eq!(done["ErrorMessage"], "");
    assert_eq!(step_statuses(&s, &task)?, ["SuccessWithWarning", "Success"]);
    let details = s.ok(&format!("/api/tasks/{task}/details"))?;
    assert_eq!(details["ActivityLogs"][0]["Status"], "SuccessWithWarning");
    let log = s.raw_log(&task)?;
    assert!(
        log.contains("attempt 2") && !log.contains("attempt 3"),
        "{log}"
    );
    assert!(log.contains("Warning  |     Guided failure: admin chose to ignore the failure and go on: known issue"), "{log}");
    assert!(log.contains("next step ran"), "{log}");
    let all = s.ok(&format!("/api/Spaces-1/interruptions?regarding={task}"))?;
    assert_eq!(all["TotalResults"], 2);
    Ok(())
}

#[test]
fn fail_fails_the_task_as_without_guided_failure() -> TestResult {
    let s = Standin::start()?;
    let shared = Shared::new("fail")?;
    let steps = json!([
        script_step("Flaky", &flaky(&shared, 9)?),
        script_step("Never", "echo 'should not run'"),
        {
            "Name": "On failure", "Condition": "Failure",
            "Actions": [{"Name": "On failure", "ActionType": "Octopus.Script", "Properties": {
                "Octopus.Action.Script.ScriptSource": "Inline", "Octopus.Action.Script.Syntax": "Bash",
                "Octopus.Action.Script.ScriptBody": "echo 'paging on-call'"}}]
        }
    ]);
    let task = deploy_guided(&s, "Fraud Rules", steps.clone(), true)?;
    let interruption = pending(&s, &task)?;
    answer(
        &s,
        &interruption,
        json!({"Guidance": "Fail", "Notes": "rolling back"}),
    )?;
    let guided = s.wait_for_task(&task, WAIT)?;

    // The same failure without guided failure, for comparison.
    let plain_task = deploy_guided(&s, "Fraud Rules Plain", steps, false)?;
    let plain = s.wait_for_task(&plain_task, WAIT)?;
    assert_eq!(
        s.ok(&format!("/api/interruptions?regarding={plain_task}"))?["TotalResults"],
        0,
        "no guidance is asked without UseGuidedFailure"
    );
    for task in [&guided, &plain] {
        crate::task_states::assert_consistent(task)?;
        assert_eq!(task["State"], "Failed", "{task}");
        assert_eq!(
            task["ErrorMessage"],
            "The remote script failed with exit code 4"
        );
        assert_eq!(task["HasPendingInterruptions"], false);
    }
    for task in [&task, &plain_task] {
        assert_eq!(step_statuses(&s, task)?, ["Failed", "Skipped", "Success"]);
        let log = s.raw_log(task)?;
        assert!(
            log.contains("paging on-call") && !log.contains("should not run"),
            "{log}"
        );
    }
    assert!(
        s.raw_log(&task)?
            .contains("Guided failure: admin chose to fail the deployment: rolling back")
    );
    Ok(())
}

#[test]
fn an_aborted_manual_intervention_fails_without_asking_for_guidance() -> TestResult {
    let s = Standin::start()?;
    let task = deploy_guided(
        &s,
        "Approvals",
        json!([{"Name": "Approve", "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual",
            "Properties": {"Octopus.Action.Manual.Instructions": "Go?"}}]}]),
        true,
    )?;
    let interruption = pending(&s, &task)?;
    // A manual intervention's form: `Result`, Proceed or Abort; no `Guidance`.
    let names: Vec<&str> = interruption["Form"]["Elements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Name"].as_str())
        .collect();
    assert_eq!(names, ["Instructions", "Notes", "Result"]);
    answer(&s, &interruption, json!({"Result": "Abort"}))?;
    let done = s.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Failed");
    assert_eq!(
        done["ErrorMessage"],
        "Manual intervention 'Approve' was aborted by admin"
    );
    assert_eq!(
        s.ok(&format!("/api/interruptions?regarding={task}"))?["TotalResults"],
        1
    );
    Ok(())
}
