//! A task document is consistent in every state it passes through: `Queued`, `Executing`
//! (running, or waiting on an interruption), `Success`, `Failed` (the stand-in does not cancel
//! tasks, so `Canceled` never occurs). Every snapshot seen while polling is checked, together
//! with the root of its `ActivityLogs` tree.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::{conforms, is_date_time};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(30);

fn time<'a>(task: &'a Value, field: &str) -> Option<&'a str> {
    task[field].as_str().filter(|t| is_date_time(t))
}

/// Checks the fields of a task against each other for its `State`.
pub fn assert_consistent(task: &Value) -> TestResult {
    let state = task["State"].as_str().unwrap_or_default();
    let fail = |why: &str| -> TestResult { Err(format!("{state} task: {why}: {task}").into()) };
    let queued = time(task, "QueueTime");
    let started = time(task, "StartTime");
    let completed = time(task, "CompletedTime");
    let done = matches!(state, "Success" | "Failed");
    if queued.is_none() {
        return fail("no QueueTime");
    }
    if (state == "Queued") != started.is_none() {
        return fail("StartTime is set exactly when the task has left the queue");
    }
    if done != completed.is_some() || done != task["Completed"].is_string() {
        return fail("CompletedTime and Completed are set exactly when the task is done");
    }
    if task["IsCompleted"] != json!(done) {
        return fail("IsCompleted");
    }
    if task["FinishedSuccessfully"] != json!(state == "Success") {
        return fail("FinishedSuccessfully");
    }
    if done && task["HasPendingInterruptions"] != json!(false) {
        return fail("a finished task has no pending interruption");
    }
    if state == "Queued" && task["HasPendingInterruptions"] != json!(false) {
        return fail("a queued task has no pending interruption");
    }
    if task["HasBeenPickedUpByProcessor"] != json!(state != "Queued") {
        return fail("HasBeenPickedUpByProcessor");
    }
    let error = task["ErrorMessage"].as_str();
    if (state == "Failed") != error.is_some_and(|e| !e.is_empty()) || error.is_none() {
        return fail("ErrorMessage is a string, not empty exactly when the task failed");
    }
    // Same offset and precision everywhere, so the strings order as the times do.
    let order = [queued, started, completed];
    let present: Vec<&str> = order.iter().flatten().copied().collect();
    if present.windows(2).any(|w| w[0] > w[1]) {
        return fail("QueueTime <= StartTime <= CompletedTime");
    }
    conforms("TaskResource", task)
}

/// The root of a task's activity tree agrees with the task.
fn assert_root_agrees(s: &Standin, task: &Value) -> TestResult {
    let details = s.ok(&format!("/api/tasks/{}/details", id(task)?))?;
    conforms("TaskDetailsResource", &details)?;
    let root = &details["ActivityLogs"][0];
    let state = details["Task"]["State"].as_str().unwrap_or_default();
    let statuses: &[&str] = match state {
        "Queued" => &["Pending"],
        "Executing" => &["Running"],
        "Success" => &["Success", "SuccessWithWarning"],
        _ => &["Failed"],
    };
    let status = root["Status"].as_str().unwrap_or_default();
    if !statuses.contains(&status) {
        return Err(format!("a {state} task's log root is {status}: {details}").into());
    }
    if (state == "Queued") != root["Started"].is_null()
        || matches!(state, "Success" | "Failed") == root["Ended"].is_null()
    {
        return Err(format!("Started/Ended of the log root of a {state} task: {root}").into());
    }
    Ok(())
}

/// Polls a task until it completes, checking every snapshot; returns the states seen, each
/// with whether an interruption was pending, in order and without repeats.
fn watch(
    s: &Standin,
    task: &str,
    mut on_wait: impl FnMut(&Value) -> TestResult,
) -> Res<Vec<(String, bool)>> {
    let start = Instant::now();
    let mut seen: Vec<(String, bool)> = Vec::new();
    loop {
        let doc = s.ok(&format!("/api/tasks/{task}"))?;
        assert_consistent(&doc)?;
        assert_root_agrees(s, &doc)?;
        let now = (
            doc["State"].as_str().unwrap_or_default().to_owned(),
            doc["HasPendingInterruptions"] == true,
        );
        if seen.last() != Some(&now) {
            seen.push(now.clone());
        }
        if now.1 {
            on_wait(&doc)?;
        }
        if doc["IsCompleted"] == true {
            return Ok(seen);
        }
        if start.elapsed() > WAIT {
            return Err(format!("task {task} did not finish: {doc}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn steps_with_approval(last: &str) -> Value {
    json!([
        script_step("Warm up", "sleep 0.5; echo warm"),
        {"Name": "Approve", "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual",
            "Properties": {"Octopus.Action.Manual.Instructions": "Go?"}}]},
        script_step("Finish", last)
    ])
}

/// Answers the task's pending interruption with `Proceed`.
fn proceed(s: &Standin, task: &Value) -> TestResult {
    let page = s.ok(&format!(
        "/api/interruptions?regarding={}&pendingOnly=true",
        id(task)?
    ))?;
    // Answered already, and the runner has not noticed yet.
    let Some(first) = page["Items"].get(0) else {
        return Ok(());
    };
    let interruption = id(first)?;
    let path = format!("/api/interruptions/{interruption}");
    expect(s.put(&format!("{path}/responsible"), &json!({}))?, 200)?;
    expect(
        s.post(&format!("{path}/submit"), &json!({"Result": "Proceed"}))?,
        200,
    )?;
    Ok(())
}

#[test]
fn a_task_is_consistent_in_every_state_through_success_and_failure() -> TestResult {
    let s = Standin::start()?;
    let env = s.environment("Production")?;
    for (name, last, end) in [
        ("Succeeds", "sleep 0.5; echo done", "Success"),
        (
            "Fails",
            "sleep 0.5; echo 'cannot finish' >&2; exit 2",
            "Failed",
        ),
    ] {
        let project = s.project(name, "Lifecycles-1")?;
        s.set_steps(&project, steps_with_approval(last))?;
        let release = id(&s.release(&project, "1.0.0", json!([]))?)?;
        let deployment = s.deploy(&release, &env)?;
        let task = deployment["TaskId"].as_str().ok_or("no TaskId")?;
        let seen = watch(&s, task, |t| proceed(&s, t))?;
        // Queued passes too quickly to be sure to see; the rest is always seen, in order.
        let seen: Vec<(&str, bool)> = seen
            .iter()
            .map(|(state, waiting)| (state.as_str(), *waiting))
            .filter(|(state, _)| *state != "Queued")
            .collect();
        assert_eq!(
            seen,
            [
                ("Executing", false),
                ("Executing", true),
                ("Executing", false),
                (end, false)
            ],
            "{name}"
        );
    }
    Ok(())
}
