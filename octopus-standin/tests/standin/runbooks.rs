//! Runbooks run end to end: a runbook's process edited like a deployment process, frozen in a
//! snapshot with the project's variables, published, and run in an environment (for a
//! tenant) by a task the runner carries out as it carries out a deployment; through the
//! 2020.5 routes (`runbookProcesses`, `runbookSnapshots`, `runbookRuns`) and the api-client's
//! 2025 ones (`projects/{id}/runbookSnapshots?publish`, `projects/{id}/runbookProcesses/{id}`,
//! `runbook-runs/create/v1`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, merged, script_step};
use crate::swagger::conforms;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(60);
const SPACE: &str = "/api/Spaces-1";
const RUNS: &str = "/api/Spaces-1/runbookRuns";
const FORM: &str = "/api/Spaces-1/runbook-runs/create/v1";

/// A project with one runbook whose process has `steps`; `runbook` adds fields to the
/// runbook's body. Returns (project id, runbook).
fn runbook_with(s: &Standin, name: &str, steps: Value, runbook: Value) -> Res<(String, Value)> {
    let project = s.project(name, "Lifecycles-1")?;
    let body = merged(
        json!({"Name": format!("{name} runbook"), "ProjectId": project}),
        runbook,
    );
    // (A runbook carries fields newer than the 2020.5 Swagger, `Slug` and the like, so it is
    // not held to `RunbookResource` here.)
    let runbook = s.create(&format!("{SPACE}/runbooks"), &body)?;
    set_runbook_steps(s, &runbook, steps)?;
    Ok((project, runbook))
}

/// A project with one runbook whose process is one script step; returns (project id, runbook).
fn script_runbook(s: &Standin, name: &str, step: &str, script: &str) -> Res<(String, Value)> {
    runbook_with(s, name, json!([script_step(step, script)]), json!({}))
}

/// What most tests start from: a stand-in started with `args`, an environment "Production",
/// and a project `name` with one runbook of `steps`. Returns (stand-in, environment id,
/// project id, runbook).
fn set_up(args: &[&str], name: &str, steps: Value) -> Res<(Standin, String, String, Value)> {
    let s = Standin::start_with(args)?;
    let env = s.environment("Production")?;
    let (project, runbook) = runbook_with(&s, name, steps, json!({}))?;
    Ok((s, env, project, runbook))
}

/// Replaces a runbook's steps (read-modify-write on `runbookProcesses/{id}`).
fn set_runbook_steps(s: &Standin, runbook: &Value, steps: Value) -> Res<Value> {
    let process_id = runbook["RunbookProcessId"]
        .as_str()
        .ok_or("no process id")?;
    let path = format!("{SPACE}/runbookProcesses/{process_id}");
    let mut process = s.ok(&path)?;
    conforms("RunbookProcessResource", &process)?;
    process["Steps"] = steps;
    let saved = expect(s.put(&path, &process)?, 200)?;
    conforms("RunbookProcessResource", &saved)?;
    Ok(saved)
}

/// Snapshots a runbook through the 2020.5 route; returns the snapshot.
fn snapshot(s: &Standin, runbook: &Value, name: &str) -> Res<Value> {
    let created = s.create(
        &format!("{SPACE}/runbookSnapshots"),
        &json!({"ProjectId": runbook["ProjectId"], "RunbookId": runbook["Id"], "Name": name}),
    )?;
    conforms("RunbookSnapshotResource", &created)?;
    Ok(created)
}

/// The body of `POST runbookRuns` for a snapshot (of its runbook) in an environment, with
/// the fields of `extra` added.
fn run_body(snapshot: &Value, environment: &str, extra: Value) -> Value {
    merged(
        json!({"RunbookId": snapshot["RunbookId"], "RunbookSnapshotId": snapshot["Id"],
               "EnvironmentId": environment}),
        extra,
    )
}

/// Runs a snapshot through `POST runbookRuns`; returns the run.
fn start_run(s: &Standin, snapshot: &Value, environment: &str, extra: Value) -> Res<Value> {
    let created = s.create(RUNS, &run_body(snapshot, environment, extra))?;
    conforms("RunbookRunResource", &created)?;
    Ok(created)
}

/// A `POST runbookRuns` of a snapshot that is refused with a reason containing `want`.
fn refuse_run(
    s: &Standin,
    snapshot: &Value,
    environment: &str,
    extra: Value,
    want: &str,
) -> TestResult {
    refused(s.post(RUNS, &run_body(snapshot, environment, extra))?, want)
}

/// Runs a runbook through the executions form (`runbook-runs/create/v1`); returns the
/// (run id, task id) of each run it queued.
fn run_form(s: &Standin, body: &Value) -> Res<Vec<(String, String)>> {
    let answer = expect(s.post(FORM, body)?, 200)?;
    let mut out = Vec::new();
    for t in answer["RunbookRunServerTasks"]
        .as_array()
        .ok_or_else(|| format!("no tasks in {answer}"))?
    {
        let run = t["RunbookRunId"].as_str().ok_or("no run id")?;
        let task = t["ServerTaskId"].as_str().ok_or("no task id")?;
        out.push((run.to_owned(), task.to_owned()));
    }
    Ok(out)
}

/// The task of the first run the executions form queued.
fn first_task(runs: &[(String, String)]) -> Res<String> {
    Ok(runs.first().ok_or("no task")?.1.clone())
}

/// Waits for a task, which must succeed; returns its log.
fn succeeds(s: &Standin, task: &str) -> Res<String> {
    let done = s.wait_for_task(task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    s.raw_log(task)
}

/// The pending interruptions of a task.
fn pending(s: &Standin, task: &str) -> Res<Value> {
    s.ok(&format!(
        "{SPACE}/interruptions?regarding={task}&pendingOnly=true"
    ))
}

/// Takes responsibility for an interruption, then submits `answer` to it.
fn take_and_submit(s: &Standin, interruption: &Value, answer: Value) -> TestResult {
    let path = format!("{SPACE}/interruptions/{}", id(interruption)?);
    expect(s.put(&format!("{path}/responsible"), &json!({}))?, 200)?;
    expect(s.post(&format!("{path}/submit"), &answer)?, 200)?;
    Ok(())
}

fn task_of(run: &Value) -> Res<String> {
    Ok(run["TaskId"].as_str().ok_or("no TaskId")?.to_owned())
}

/// The refusal's reasons, joined.
fn reasons(body: &Value) -> String {
    body["Errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .unwrap_or_default()
}

/// A 400 whose reasons contain `want`.
fn refused(reply: crate::harness::Reply, want: &str) -> TestResult {
    let body = expect(reply, 400)?;
    let got = reasons(&body);
    assert!(got.contains(want), "wanted {want:?} in {body}");
    Ok(())
}

#[test]
fn a_published_runbook_runs_its_frozen_script_to_success_with_its_log() -> TestResult {
    let (s, env, project, runbook) = set_up(
        &[],
        "Payments",
        json!([script_step(
            "Rotate",
            "echo \"rotating #{Key.Name} for #{Octopus.Runbook.Name} in #{Octopus.Environment.Name}\"\necho \"snapshot #{Octopus.RunbookSnapshot.Name}\""
        )]),
    )?;
    assert_eq!(runbook["PublishedRunbookSnapshotId"], Value::Null);
    s.set_variables(
        &project,
        json!([{"Name": "Key.Name", "Value": "signing-key"}]),
    )?;
    // The api-client's route, publishing as it creates.
    let published = s.create(
        &format!("{SPACE}/projects/{project}/runbookSnapshots?publish=true"),
        &json!({"ProjectId": project, "RunbookId": runbook["Id"], "Name": "Snapshot 1", "Notes": "first"}),
    )?;
    conforms("RunbookSnapshotResource", &published)?;
    assert_eq!(published["Notes"], "first");
    let runbook_id = id(&runbook)?;
    let stored = s.ok(&format!("{SPACE}/runbooks/{runbook_id}"))?;
    assert_eq!(stored["PublishedRunbookSnapshotId"], published["Id"]);
    // The snapshot froze the process and the variables: later edits do not reach it.
    let frozen = published["FrozenRunbookProcessId"]
        .as_str()
        .ok_or("no frozen process")?;
    assert!(
        frozen.starts_with(&format!("RunbookProcess-{runbook_id}-s-")),
        "{frozen}"
    );
    set_runbook_steps(
        &s,
        &runbook,
        json!([script_step("Rotate", "echo edited later")]),
    )?;
    s.set_variables(&project, json!([{"Name": "Key.Name", "Value": "changed"}]))?;
    let frozen_process = s.ok(&format!("{SPACE}/runbookProcesses/{frozen}"))?;
    assert_eq!(frozen_process["RunbookId"], runbook["Id"]);
    assert!(frozen_process.to_string().contains("rotating"));
    // The executions form runs the published snapshot when none is named.
    let runs = run_form(
        &s,
        &json!({"ProjectName": "payments", "RunbookName": "Payments runbook",
                "EnvironmentNames": ["Production"], "spaceName": "Default"}),
    )?;
    let [(run_id, task_id)] = runs.as_slice() else {
        return Err(format!("one run expected: {runs:?}").into());
    };
    let log = succeeds(&s, task_id)?;
    let done = s.ok(&format!("/api/tasks/{task_id}"))?;
    assert_eq!(done["Name"], "RunbookRun");
    assert_eq!(done["Arguments"]["RunbookRunId"], run_id.as_str());
    assert!(
        log.contains("rotating signing-key for Payments runbook in Production"),
        "{log}"
    );
    assert!(log.contains("snapshot Snapshot 1"), "{log}");
    assert!(!log.contains("edited later"), "{log}");
    let run = s.ok(&format!("{SPACE}/runbookRuns/{run_id}"))?;
    conforms("RunbookRunResource", &run)?;
    assert_eq!(run["RunbookSnapshotId"], published["Id"]);
    assert_eq!(run["FrozenRunbookProcessId"], frozen);
    assert_eq!(run["EnvironmentId"], env.as_str());
    assert_eq!(run["ProjectId"], project.as_str());
    assert_eq!(run["FailureEncountered"], false);
    // A draft snapshot (2020.5 route) takes the edits; it runs by id.
    let draft = snapshot(&s, &runbook, "Snapshot 2")?;
    let second = start_run(&s, &draft, &env, json!({}))?;
    let second_task = task_of(&second)?;
    assert!(succeeds(&s, &second_task)?.contains("edited later"));
    // Lists: per runbook, per project (newest first), by name, runs by the api-client's
    // filters.
    for path in [
        format!("{SPACE}/runbooks/{runbook_id}/runbookSnapshots"),
        format!("{SPACE}/projects/{project}/runbookSnapshots"),
        "/api/runbookSnapshots".to_owned(),
    ] {
        let page = s.ok(&path)?;
        conforms("ResourceCollection_of_RunbookSnapshotResource", &page)?;
        assert_eq!(page["TotalResults"], 2, "{path}: {page}");
        assert_eq!(page["Items"][0]["Name"], "Snapshot 2", "{path}");
    }
    let by_name = s.ok(&format!(
        "{SPACE}/projects/{project}/runbookSnapshots/snapshot 1"
    ))?;
    assert_eq!(by_name["Id"], published["Id"]);
    let runs = s.ok(&format!(
        "{SPACE}/runbookRuns?runbooks={runbook_id}&environments={env}&taskState=Success"
    ))?;
    conforms("ResourceCollection_of_RunbookRunResource", &runs)?;
    assert_eq!(runs["TotalResults"], 2, "{runs}");
    let of_snapshot = s.ok(&format!(
        "{SPACE}/runbookSnapshots/{}/runbookRuns",
        id(&published)?
    ))?;
    assert_eq!(of_snapshot["TotalResults"], 1);
    assert_eq!(of_snapshot["Items"][0]["Id"], run_id.as_str());
    for filter in [
        "runbooks=Runbooks-999",
        "projects=Projects-999",
        "taskState=Failed",
        "tenants=Tenants-1",
    ] {
        let none = s.ok(&format!("{SPACE}/runbookRuns?{filter}"))?;
        assert_eq!(none["TotalResults"], 0, "{filter}: {none}");
    }
    let by_id = s.ok(&format!("{SPACE}/runbookRuns?ids={run_id}"))?;
    assert_eq!(by_id["TotalResults"], 1);
    // Tasks of a runbook run answer to the task filters by project and environment.
    let tasks = s.ok(&format!("/api/tasks?project={project}&environment={env}"))?;
    assert_eq!(tasks["TotalResults"], 2, "{tasks}");
    Ok(())
}

#[test]
fn a_failing_runbook_fails_its_task_and_guided_failure_asks_first() -> TestResult {
    let s = Standin::start()?;
    let env = s.environment("Staging")?;
    let (_, runbook) = runbook_with(
        &s,
        "Cleanup",
        json!([
            script_step("Purge", "echo purging\necho 'disk not mounted' >&2\nexit 3"),
            script_step("Never", "echo should-not-run")
        ]),
        json!({}),
    )?;
    let snap = snapshot(&s, &runbook, "S1")?;
    let failed = start_run(&s, &snap, &env, json!({}))?;
    let task = task_of(&failed)?;
    let done = s.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Failed", "{done}");
    assert!(
        done["ErrorMessage"].as_str().unwrap_or("").contains("3"),
        "{done}"
    );
    let log = s.raw_log(&task)?;
    assert!(
        log.contains("purging") && log.contains("disk not mounted"),
        "{log}"
    );
    assert!(!log.contains("should-not-run"), "{log}");
    let stored = s.ok(&format!("{SPACE}/runbookRuns/{}", id(&failed)?))?;
    assert_eq!(stored["FailureEncountered"], true);
    let failed_runs = s.ok(&format!("{SPACE}/runbookRuns?taskState=Failed"))?;
    assert_eq!(failed_runs["TotalResults"], 1);

    // In guided-failure mode the run asks; "Fail" fails it as before.
    let guided = start_run(&s, &snap, &env, json!({"UseGuidedFailure": true}))?;
    assert_eq!(guided["UseGuidedFailure"], true);
    let task = task_of(&guided)?;
    s.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    let page = pending(&s, &task)?;
    let interruption = &page["Items"][0];
    let related = interruption["RelatedDocumentIds"].to_string();
    assert!(related.contains(&id(&guided)?), "{related}");
    take_and_submit(
        &s,
        interruption,
        json!({"Guidance": "Fail", "Notes": "not today"}),
    )?;
    assert_eq!(s.wait_for_task(&task, WAIT)?["State"], "Failed");
    let log = s.raw_log(&task)?;
    assert!(
        log.contains("Guided failure: admin chose to fail the runbook run: not today"),
        "{log}"
    );
    Ok(())
}

#[test]
fn a_manual_intervention_in_a_runbook_waits_for_its_answer() -> TestResult {
    let (s, env, _, runbook) = set_up(
        &[],
        "Failover",
        json!([
            {"Name": "Approve", "Actions": [{"Name": "Approve", "ActionType": "Octopus.Manual",
              "Properties": {"Octopus.Action.Manual.Instructions": "Fail over #{Octopus.Environment.Name}?"}}]},
            script_step("Switch", "echo switched by #{Octopus.Runbook.Name}")
        ]),
    )?;
    let snap = snapshot(&s, &runbook, "S1")?;
    let task = task_of(&start_run(&s, &snap, &env, json!({}))?)?;
    let waiting = s.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    assert_eq!(waiting["State"], "Executing");
    let page = pending(&s, &task)?;
    assert_eq!(page["TotalResults"], 1, "{page}");
    let interruption = &page["Items"][0];
    assert!(
        interruption.to_string().contains("Fail over Production?"),
        "{interruption}"
    );
    let path = format!("{SPACE}/interruptions/{}", id(interruption)?);
    refused(
        s.post(&format!("{path}/submit"), &json!({"Result": "Proceed"}))?,
        "take responsibility",
    )?;
    take_and_submit(
        &s,
        interruption,
        json!({"Notes": "go", "Result": "Proceed"}),
    )?;
    assert!(succeeds(&s, &task)?.contains("switched by Failover runbook"));

    // "Abort" fails the run.
    let task = task_of(&start_run(&s, &snap, &env, json!({}))?)?;
    s.wait_until(&task, WAIT, |t| t["HasPendingInterruptions"] == true)?;
    let page = pending(&s, &task)?;
    take_and_submit(
        &s,
        &page["Items"][0],
        json!({"Notes": "no", "Result": "Abort"}),
    )?;
    let done = s.wait_for_task(&task, WAIT)?;
    assert_eq!(done["State"], "Failed", "{done}");
    assert!(!s.raw_log(&task)?.contains("switched by"));
    Ok(())
}

#[test]
fn tenanted_runs_follow_the_runbooks_multi_tenancy_mode_and_the_tenants_connections() -> TestResult
{
    let s = Standin::start()?;
    let production = s.environment("Production")?;
    let staging = s.environment("Staging")?;
    let (project, runbook) = runbook_with(
        &s,
        "Acquiring",
        json!([script_step(
            "Who",
            "echo \"tenant=#{Octopus.Deployment.Tenant.Name}\""
        )]),
        json!({"MultiTenancyMode": "Tenanted"}),
    )?;
    s.create(
        &format!("{SPACE}/tagsets"),
        &json!({"Name": "Region", "Tags": [{"Name": "EU"}, {"Name": "UK"}]}),
    )?;
    let eu = s.create(
        &format!("{SPACE}/tenants"),
        &json!({"Name": "Acquirer EU", "TenantTags": ["Region/EU"],
                "ProjectEnvironments": {project.as_str(): [production]}}),
    )?;
    let uk = s.create(
        &format!("{SPACE}/tenants"),
        &json!({"Name": "Acquirer UK", "TenantTags": ["Region/UK"],
                "ProjectEnvironments": {project.as_str(): [production, staging]}}),
    )?;
    let lone = s.create(&format!("{SPACE}/tenants"), &json!({"Name": "Unconnected"}))?;
    let snap = snapshot(&s, &runbook, "S1")?;
    // Tenanted: a run needs a tenant, connected to the project in that environment.
    refuse_run(
        &s,
        &snap,
        &production,
        json!({}),
        "MultiTenancyMode is Tenanted",
    )?;
    refuse_run(
        &s,
        &snap,
        &staging,
        json!({"TenantId": eu["Id"]}),
        "not in Staging",
    )?;
    refuse_run(
        &s,
        &snap,
        &production,
        json!({"TenantId": lone["Id"]}),
        "not connected",
    )?;
    refuse_run(
        &s,
        &snap,
        &production,
        json!({"TenantId": "Tenants-999"}),
        "Tenants-999",
    )?;
    let one = start_run(&s, &snap, &production, json!({"TenantId": eu["Id"]}))?;
    assert_eq!(one["TenantId"], eu["Id"]);
    let task = task_of(&one)?;
    assert!(succeeds(&s, &task)?.contains("tenant=Acquirer EU"));
    // The executions form: a named tenant and a tag, one run for each tenant.
    let runs = run_form(
        &s,
        &json!({"ProjectName": "Acquiring", "RunbookName": "Acquiring runbook", "Snapshot": "S1",
                "EnvironmentNames": ["Production"], "Tenants": ["Acquirer EU"], "TenantTags": ["Region/UK"]}),
    )?;
    assert_eq!(runs.len(), 2, "{runs:?}");
    let mut logs = String::new();
    for (_, task) in &runs {
        logs.push_str(&succeeds(&s, task)?);
    }
    assert!(logs.contains("tenant=Acquirer EU") && logs.contains("tenant=Acquirer UK"));
    let uk_runs = s.ok(&format!("{SPACE}/runbookRuns?tenants={}", id(&uk)?))?;
    assert_eq!(uk_runs["TotalResults"], 1, "{uk_runs}");
    // A tag no connected tenant carries, and a tenanted form without tenants, are refused;
    // nothing is stored for a refused form.
    let before = s.ok(RUNS)?["TotalResults"].clone();
    refused(
        s.post(
            FORM,
            &json!({"ProjectName": "Acquiring", "RunbookName": "Acquiring runbook", "Snapshot": "S1",
                    "EnvironmentNames": ["Staging"], "TenantTags": ["Region/EU"]}),
        )?,
        "Region/EU",
    )?;
    refused(
        s.post(
            FORM,
            &json!({"ProjectName": "Acquiring", "RunbookName": "Acquiring runbook", "Snapshot": "S1",
                    "EnvironmentNames": ["Production", "Staging"], "Tenants": ["Acquirer EU"]}),
        )?,
        "not in Staging",
    )?;
    assert_eq!(s.ok(RUNS)?["TotalResults"], before);
    // An untenanted runbook refuses a tenant.
    let (_, plain) = script_runbook(&s, "Plain", "A", "echo a")?;
    let plain_snap = snapshot(&s, &plain, "S1")?;
    refuse_run(
        &s,
        &plain_snap,
        &production,
        json!({"TenantId": eu["Id"]}),
        "MultiTenancyMode is Untenanted",
    )?;
    Ok(())
}

#[test]
fn a_runbooks_environment_scope_decides_where_it_may_run() -> TestResult {
    let s = Standin::start()?;
    let dev = s.environment("Dev")?;
    let prod = s.environment("Prod")?;
    let steps = json!([script_step("A", "echo in #{Octopus.Environment.Name}")]);
    // A snapshot of the runbook runs in Dev and is refused in Prod with `want`.
    let dev_only = |runbook: &Value, want: &str| -> TestResult {
        let snap = snapshot(&s, runbook, "S1")?;
        let task = task_of(&start_run(&s, &snap, &dev, json!({}))?)?;
        succeeds(&s, &task)?;
        refuse_run(&s, &snap, &prod, json!({}), want)
    };
    // Specified: only its environments.
    let (_, specified) = runbook_with(
        &s,
        "Specified",
        steps.clone(),
        json!({"EnvironmentScope": "Specified", "Environments": [dev]}),
    )?;
    dev_only(
        &specified,
        "cannot be run in the environment 'Prod': its EnvironmentScope is Specified",
    )?;
    // FromProjectLifecycles: the environments of the project's lifecycle.
    let lifecycle = s.create(
        &format!("{SPACE}/lifecycles"),
        &json!({"Name": "Dev only", "Phases": [{"Name": "Dev", "OptionalDeploymentTargets": [dev]}]}),
    )?;
    let project = id(&s.create(
        &format!("{SPACE}/projects"),
        &json!({"Name": "Lifecycled", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": lifecycle["Id"]}),
    )?)?;
    let from = s.create(
        &format!("{SPACE}/runbooks"),
        &json!({"Name": "From lifecycles", "ProjectId": project, "EnvironmentScope": "FromProjectLifecycles"}),
    )?;
    set_runbook_steps(&s, &from, steps.clone())?;
    dev_only(
        &from,
        "'Prod': its EnvironmentScope is FromProjectLifecycles",
    )?;
    // All (the default): every environment of the space.
    let (_, all) = runbook_with(&s, "Everywhere", steps, json!({}))?;
    assert_eq!(all["EnvironmentScope"], "All");
    let snap = snapshot(&s, &all, "S1")?;
    for env in [&dev, &prod] {
        let task = task_of(&start_run(&s, &snap, env, json!({}))?)?;
        succeeds(&s, &task)?;
    }
    // Scopes and modes outside Octopus's enumerations, and unknown environments, are refused.
    for (body, want) in [
        (
            json!({"EnvironmentScope": "Somewhere"}),
            "EnvironmentScope 'Somewhere'",
        ),
        (
            json!({"MultiTenancyMode": "Sometimes"}),
            "MultiTenancyMode 'Sometimes'",
        ),
        (
            json!({"DefaultGuidedFailureMode": "Maybe"}),
            "DefaultGuidedFailureMode 'Maybe'",
        ),
        (
            json!({"EnvironmentScope": 3}),
            "EnvironmentScope field must be a string",
        ),
        (
            json!({"EnvironmentScope": "Specified", "Environments": ["Environments-999"]}),
            "Environments-999",
        ),
    ] {
        let full = merged(json!({"Name": "Bad scope", "ProjectId": project}), body);
        refused(s.post(&format!("{SPACE}/runbooks"), &full)?, want)?;
    }
    Ok(())
}

#[test]
fn bad_ids_names_and_types_are_refused() -> TestResult {
    let (s, env, project, runbook) = set_up(&[], "Strict", json!([script_step("A", "echo a")]))?;
    let (other_project, other) = script_runbook(&s, "Other", "B", "echo b")?;
    let snaps = format!("{SPACE}/runbookSnapshots");
    let rid = runbook["Id"].clone();
    // Snapshots.
    for (body, want) in [
        (json!({"Name": "S"}), "The RunbookId field is required."),
        (
            json!({"RunbookId": "Runbooks-999", "Name": "S"}),
            "Runbooks-999",
        ),
        (
            json!({"RunbookId": rid, "Name": "S", "ProjectId": other_project}),
            "is not the project of runbook",
        ),
        (json!({"RunbookId": rid}), "The Name field is required."),
        (
            json!({"RunbookId": rid, "Name": 7}),
            "The Name field must be a string.",
        ),
        (
            json!({"RunbookId": rid, "Name": "S", "SelectedPackages": "x"}),
            "must be an array",
        ),
        (
            json!({"RunbookId": rid, "Name": "S", "SelectedPackages": [{"ActionName": "A", "PackageReferenceName": "", "Version": "1.0.0"}]}),
            "which the deployment process does not have",
        ),
    ] {
        refused(s.post(&snaps, &body)?, want)?;
    }
    let snap = snapshot(&s, &runbook, "S1")?;
    refused(
        s.post(&snaps, &json!({"RunbookId": rid, "Name": "s1"}))?,
        "already exists",
    )?;
    refused(
        s.post(
            &format!("{SPACE}/projects/{other_project}/runbookSnapshots"),
            &json!({"RunbookId": rid, "Name": "S9"}),
        )?,
        "does not belong to project",
    )?;
    expect(
        s.post(
            &format!("{SPACE}/projects/Projects-999/runbookSnapshots"),
            &json!({"RunbookId": rid, "Name": "S9"}),
        )?,
        404,
    )?;
    expect(
        s.get(&format!("{SPACE}/runbookSnapshots/RunbookSnapshots-999"))?,
        404,
    )?;
    expect(
        s.get(&format!("{SPACE}/projects/{project}/runbookSnapshots/Nope"))?,
        404,
    )?;
    // Publishing by a PUT of the runbook: only a snapshot of that runbook.
    let other_snap = snapshot(&s, &other, "O1")?;
    let mut edited = s.ok(&format!("{SPACE}/runbooks/{}", id(&runbook)?))?;
    edited["PublishedRunbookSnapshotId"] = other_snap["Id"].clone();
    refused(
        s.put(&format!("{SPACE}/runbooks/{}", id(&runbook)?), &edited)?,
        "is not a snapshot of runbook",
    )?;
    edited["PublishedRunbookSnapshotId"] = snap["Id"].clone();
    let published = expect(
        s.put(&format!("{SPACE}/runbooks/{}", id(&runbook)?), &edited)?,
        200,
    )?;
    assert_eq!(published["PublishedRunbookSnapshotId"], snap["Id"]);
    // Processes: a frozen one, a stale Version, bad steps, another project's route.
    let frozen = snap["FrozenRunbookProcessId"].as_str().ok_or("no frozen")?;
    let mut frozen_doc = s.ok(&format!("{SPACE}/runbookProcesses/{frozen}"))?;
    let put = s.put(&format!("{SPACE}/runbookProcesses/{frozen}"), &frozen_doc)?;
    assert_eq!(put.status, 400, "{:?}", put.body);
    assert!(
        put.body.to_string().contains("runbook snapshot"),
        "{:?}",
        put.body
    );
    let live_id = runbook["RunbookProcessId"].as_str().ok_or("no process")?;
    let live_path = format!("{SPACE}/runbookProcesses/{live_id}");
    let mut live = s.ok(&live_path)?;
    live["Version"] = json!(0);
    refused(
        s.put(&live_path, &live)?,
        "Changes to this runbook process could not be saved",
    )?;
    let mut live = s.ok(&live_path)?;
    live["Steps"] = json!([{"Name": "Empty", "Actions": []}]);
    refused(s.put(&live_path, &live)?, "Step 'Empty' has no actions.")?;
    live["Steps"] = json!([script_step("A", "echo a"), script_step("a", "echo b")]);
    refused(s.put(&live_path, &live)?, "Step names must be unique")?;
    expect(
        s.get(&format!(
            "{SPACE}/runbookProcesses/RunbookProcess-Runbooks-999"
        ))?,
        404,
    )?;
    expect(
        s.get(&format!(
            "{SPACE}/projects/{other_project}/runbookProcesses/{live_id}"
        ))?,
        404,
    )?;
    let via_project = s.ok(&format!(
        "{SPACE}/projects/{project}/runbookProcesses/{live_id}"
    ))?;
    assert_eq!(via_project["RunbookId"], rid);
    frozen_doc["Steps"] = json!([]);
    // Runs.
    let sid = snap["Id"].clone();
    for (body, want) in [
        (
            json!({"RunbookId": rid, "EnvironmentId": env}),
            "Please specify the Runbook Snapshot to run.",
        ),
        (
            json!({"RunbookSnapshotId": sid, "EnvironmentId": env}),
            "The RunbookId field is required.",
        ),
        (
            json!({"RunbookId": "Runbooks-999", "RunbookSnapshotId": sid, "EnvironmentId": env}),
            "Runbooks-999",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": "RunbookSnapshots-999", "EnvironmentId": env}),
            "RunbookSnapshots-999",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": other_snap["Id"], "EnvironmentId": env}),
            "is not a snapshot of runbook",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid}),
            "The EnvironmentId field is required.",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": "Environments-999"}),
            "Environments-999",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": env, "SkipActions": ["nope"]}),
            "SkipActions names \"nope\"",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": env, "FrozenRunbookProcessId": "x"}),
            "FrozenRunbookProcessId 'x'",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": env, "UseGuidedFailure": "yes"}),
            "UseGuidedFailure field must be true or false",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": env, "FormValues": {"x": "1"}}),
            "FormValues names 'x'",
        ),
        (
            json!({"RunbookId": rid, "RunbookSnapshotId": sid, "EnvironmentId": env, "SpecificMachineIds": ["Machines-1"]}),
            "Machines-1",
        ),
    ] {
        refused(s.post(RUNS, &body)?, want)?;
    }
    expect(s.get(&format!("{SPACE}/runbookRuns/RunbookRuns-999"))?, 404)?;
    // The executions form.
    for (body, want) in [
        (
            json!({"RunbookName": "Strict runbook", "EnvironmentNames": ["Production"]}),
            "The ProjectName field is required.",
        ),
        (
            json!({"ProjectName": "Nope", "RunbookName": "Strict runbook", "EnvironmentNames": ["Production"]}),
            "project named or with the id 'Nope'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Other runbook", "EnvironmentNames": ["Production"]}),
            "runbook named or with the id 'Other runbook'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": []}),
            "EnvironmentNames field is required",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": "Production"}),
            "EnvironmentNames field must be an array",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": ["Mars"]}),
            "environment named or with the id 'Mars'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": ["Production"], "Snapshot": "O1"}),
            "runbook snapshot named or with the id 'O1'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": ["Production"], "SkipStepNames": ["Z"]}),
            "SkipStepNames names 'Z'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": ["Production"], "Variables": {"Nope": "1"}}),
            "Variables names 'Nope'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": ["Production"], "Tenants": ["Ghost"]}),
            "tenant named or with the id 'Ghost'",
        ),
        (
            json!({"ProjectName": "Strict", "RunbookName": "Strict runbook", "EnvironmentNames": [1]}),
            "EnvironmentNames must be a list of names",
        ),
        (
            json!({"ProjectName": "Other", "RunbookName": "Other runbook", "EnvironmentNames": ["Production"]}),
            "Please specify the Runbook Snapshot to run.",
        ),
    ] {
        refused(s.post(FORM, &body)?, want)?;
    }
    // SkipStepNames skips a step by name; ids work where names do.
    let task = first_task(&run_form(
        &s,
        &json!({"ProjectName": project, "RunbookName": rid, "EnvironmentNames": [env], "SkipStepNames": ["A"]}),
    )?)?;
    assert!(succeeds(&s, &task)?.contains("Skipping action 'A'"));
    // A disabled project's runbooks do not run.
    let mut p = s.ok(&format!("{SPACE}/projects/{project}"))?;
    p["IsDisabled"] = json!(true);
    expect(s.put(&format!("{SPACE}/projects/{project}"), &p)?, 200)?;
    refuse_run(&s, &snap, &env, json!({}), "is disabled")?;
    // A runbook created on the api-client's project route belongs to that project.
    let created = s.create(
        &format!("{SPACE}/projects/{other_project}/runbooks"),
        &json!({"Name": "Via project"}),
    )?;
    assert_eq!(created["ProjectId"], other_project.as_str());
    refused(
        s.post(
            &format!("{SPACE}/projects/{other_project}/runbooks"),
            &json!({"Name": "Mismatch", "ProjectId": project}),
        )?,
        "is not the project of this route",
    )?;
    Ok(())
}

#[test]
fn profile_2020_5_serves_the_2020_5_runbook_routes_and_refuses_the_newer_ones() -> TestResult {
    let (s, env, project, runbook) = set_up(
        &["--profile", "2020.5"],
        "Old",
        json!([script_step("A", "echo old server run")]),
    )?;
    let snap = snapshot(&s, &runbook, "S1")?;
    let task = task_of(&start_run(&s, &snap, &env, json!({}))?)?;
    assert!(succeeds(&s, &task)?.contains("old server run"));
    // Publishing on the 2020.5 routes: `?publish=true` and a PUT of the runbook.
    let published = s.create(
        &format!("{SPACE}/runbookSnapshots?publish=true"),
        &json!({"RunbookId": runbook["Id"], "Name": "S0"}),
    )?;
    let path = format!("{SPACE}/runbooks/{}", id(&runbook)?);
    let mut stored = s.ok(&path)?;
    assert_eq!(stored["PublishedRunbookSnapshotId"], published["Id"]);
    stored["PublishedRunbookSnapshotId"] = snap["Id"].clone();
    assert_eq!(
        expect(s.put(&path, &stored)?, 200)?["PublishedRunbookSnapshotId"],
        snap["Id"]
    );
    for path in [
        format!(
            "/api/runbookProcesses/{}",
            runbook["RunbookProcessId"].as_str().unwrap_or("")
        ),
        format!("{SPACE}/projects/{project}/runbookSnapshots"),
        format!("{SPACE}/runbooks/{}/runbookSnapshots", id(&runbook)?),
        "/api/runbookRuns".to_owned(),
        format!("{SPACE}/runbookSnapshots/{}/runbookRuns", id(&snap)?),
    ] {
        s.ok(&path)?;
    }
    let process = runbook["RunbookProcessId"].as_str().ok_or("no process")?;
    for (method, path, body) in [
        (
            "POST",
            format!("{SPACE}/projects/{project}/runbookSnapshots?publish=true"),
            json!({"RunbookId": runbook["Id"], "Name": "S2"}),
        ),
        (
            "POST",
            format!("{SPACE}/runbook-runs/create/v1"),
            json!({"ProjectName": "Old", "RunbookName": "Old runbook", "EnvironmentNames": ["Production"], "Snapshot": "S1"}),
        ),
        (
            "GET",
            format!("{SPACE}/projects/{project}/runbookProcesses/{process}"),
            Value::Null,
        ),
        (
            "POST",
            format!("{SPACE}/projects/{project}/runbooks"),
            json!({"Name": "New"}),
        ),
    ] {
        let reply = s.send(method, &path, Some(&body))?;
        assert_eq!(reply.status, 404, "{method} {path}: {:?}", reply.body);
    }
    // Nothing was created by the refused routes.
    assert_eq!(
        s.ok(&format!("{SPACE}/runbookSnapshots"))?["TotalResults"],
        2
    );
    assert_eq!(s.ok(RUNS)?["TotalResults"], 1);
    Ok(())
}

#[test]
fn a_runbook_consumer_key_runs_runbooks_but_cannot_edit_or_snapshot_them() -> TestResult {
    let (s, env, project, runbook) = set_up(
        &[
            "--role-key",
            "API-CONSUMER=RunbookView,RunbookRunView,RunbookRunCreate,TaskView",
        ],
        "Consumed",
        json!([script_step("A", "echo consumed")]),
    )?;
    let snap = snapshot(&s, &runbook, "S1")?;
    let as_consumer = |method: reqwest::Method, path: &str, body: &Value| -> Res<(u16, Value)> {
        let reply = s
            .client()
            .request(method, format!("{}{path}", s.url))
            .header("X-Octopus-ApiKey", "API-CONSUMER")
            .json(body)
            .send()?;
        let status = reply.status().as_u16();
        Ok((status, reply.json().unwrap_or(Value::Null)))
    };
    let (status, created) = as_consumer(
        reqwest::Method::POST,
        RUNS,
        &run_body(&snap, &env, json!({})),
    )?;
    assert_eq!(status, 201, "{created}");
    let (status, read) = as_consumer(
        reqwest::Method::GET,
        &format!("{SPACE}/runbookRuns/{}", id(&created)?),
        &Value::Null,
    )?;
    assert_eq!(status, 200, "{read}");
    let process = runbook["RunbookProcessId"].as_str().ok_or("no process")?;
    for (method, path) in [
        (reqwest::Method::POST, format!("{SPACE}/runbookSnapshots")),
        (
            reqwest::Method::POST,
            format!("{SPACE}/projects/{project}/runbookSnapshots"),
        ),
        (
            reqwest::Method::PUT,
            format!("{SPACE}/runbookProcesses/{process}"),
        ),
    ] {
        let (status, body) = as_consumer(
            method.clone(),
            &path,
            &json!({"RunbookId": runbook["Id"], "Name": "S2"}),
        )?;
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(
            body["ErrorMessage"]
                .as_str()
                .unwrap_or("")
                .ends_with("Missing permission: RunbookEdit")
        );
    }
    Ok(())
}

#[test]
fn the_snapshot_template_offers_a_fresh_name_and_the_packages_to_select() -> TestResult {
    let s = Standin::start()?;
    let env = s.environment("Production")?;
    expect(s.upload("Ops.Tools.1.4.0.zip", b"tools", "")?, 201)?;
    let (_, runbook) = runbook_with(
        &s,
        "Tooling",
        json!([{"Name": "Fetch tools", "Actions": [{"Name": "Fetch tools", "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": "Ops.Tools", "FeedId": "feeds-builtin"}]}]}]),
        json!({}),
    )?;
    let runbook_id = id(&runbook)?;
    let process = runbook["RunbookProcessId"].as_str().ok_or("no process")?;
    let template = s.ok(&format!(
        "{SPACE}/runbookProcesses/{process}/runbookSnapshotTemplate"
    ))?;
    conforms("RunbookSnapshotTemplateResource", &template)?;
    let name = template["NextNameIncrement"].as_str().ok_or("no name")?;
    assert!(name.starts_with("Snapshot ") && name.len() == 16, "{name}");
    assert_eq!(template["RunbookId"], runbook_id.as_str());
    let package = &template["Packages"][0];
    assert_eq!(package["ActionName"], "Fetch tools");
    assert_eq!(package["PackageId"], "Ops.Tools");
    assert_eq!(package["IsResolvable"], true);
    assert_eq!(package["VersionSelectedLastRelease"], Value::Null);
    // A snapshot must select a version of every package, as a release must.
    refused(
        s.post(
            &format!("{SPACE}/runbookSnapshots"),
            &json!({"RunbookId": runbook_id, "Name": name}),
        )?,
        "No version was selected for package Ops.Tools",
    )?;
    // The docs' REST example: the template's name and packages, published with ?publish=true.
    let snap = s.create(
        &format!("{SPACE}/runbookSnapshots?publish=true"),
        &json!({"ProjectId": runbook["ProjectId"], "RunbookId": runbook_id, "Name": name,
                "SelectedPackages": [{"ActionName": "Fetch tools", "PackageReferenceName": "", "Version": "1.4.0"}]}),
    )?;
    assert_eq!(snap["SelectedPackages"][0]["Version"], "1.4.0");
    assert_eq!(
        s.ok(&format!("{SPACE}/runbooks/{runbook_id}"))?["PublishedRunbookSnapshotId"],
        snap["Id"]
    );
    let again = s.ok(&format!(
        "{SPACE}/runbooks/{runbook_id}/runbookSnapshotTemplate"
    ))?;
    assert_ne!(again["NextNameIncrement"], name);
    assert_eq!(again["Packages"][0]["VersionSelectedLastRelease"], "1.4.0");
    // The run acquires the frozen version from the built-in feed.
    let task = task_of(&start_run(&s, &snap, &env, json!({}))?)?;
    assert!(succeeds(&s, &task)?.contains("1.4.0"));
    // A frozen process has no template; an unknown one is a 404.
    let frozen = snap["FrozenRunbookProcessId"].as_str().ok_or("no frozen")?;
    for path in [
        format!("{SPACE}/runbookProcesses/{frozen}/runbookSnapshotTemplate"),
        format!("{SPACE}/runbookProcesses/RunbookProcess-Runbooks-999/runbookSnapshotTemplate"),
        format!("{SPACE}/runbooks/Runbooks-999/runbookSnapshotTemplate"),
    ] {
        expect(s.get(&path)?, 404)?;
    }
    Ok(())
}

#[test]
fn prompted_variables_of_a_runbook_are_asked_for_and_reach_its_script() -> TestResult {
    let (s, env, project, runbook) = set_up(
        &[],
        "Prompted",
        json!([script_step(
            "Use",
            "echo \"ticket=#{Change.Ticket} token=#{Change.Token}\""
        )]),
    )?;
    let set = s.set_variables(
        &project,
        json!([
            {"Name": "Change.Ticket", "Value": "", "Prompt": {"Label": "Change ticket", "Required": true}},
            {"Name": "Change.Token", "Value": null, "Type": "Sensitive", "IsSensitive": true,
             "Prompt": {"Label": "Token", "Required": false}}
        ]),
    )?;
    let ticket = set["Variables"][0]["Id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let token = set["Variables"][1]["Id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let snap = snapshot(&s, &runbook, "S1")?;
    refuse_run(
        &s,
        &snap,
        &env,
        json!({}),
        "required prompted variables: Change.Ticket",
    )?;
    refuse_run(
        &s,
        &snap,
        &env,
        json!({"FormValues": {"nope": "x", ticket.as_str(): "CHG-1"}}),
        "not a prompted variable of runbook snapshot 'S1'",
    )?;
    let run = start_run(
        &s,
        &snap,
        &env,
        json!({"FormValues": {ticket.as_str(): "CHG-1", token.as_str(): "tok-secret-77"}}),
    )?;
    // The sensitive value is kept out of the run.
    assert!(!run.to_string().contains("tok-secret-77"), "{run}");
    let task = task_of(&run)?;
    let log = succeeds(&s, &task)?;
    assert!(log.contains("ticket=CHG-1 token=********"), "{log}");
    assert!(!log.contains("tok-secret-77"), "{log}");
    // The executions form takes them by name.
    let task = first_task(&run_form(
        &s,
        &json!({"ProjectName": "Prompted", "RunbookName": "Prompted runbook", "Snapshot": snap["Id"],
                    "EnvironmentNames": ["Production"], "Variables": {"change.ticket": "CHG-2"}}),
    )?)?;
    assert!(succeeds(&s, &task)?.contains("ticket=CHG-2"));
    refused(
        s.post(
            FORM,
            &json!({"ProjectName": "Prompted", "RunbookName": "Prompted runbook", "Snapshot": "S1",
                    "EnvironmentNames": ["Production"]}),
        )?,
        "required prompted variables: Change.Ticket",
    )?;
    Ok(())
}

#[test]
fn the_root_documents_link_the_runbook_collections_and_runbooks_filter_by_project() -> TestResult {
    for profile in ["2020.5", "2025"] {
        let s = Standin::start_with(&["--profile", profile])?;
        for path in ["/api", "/api/Spaces-1"] {
            let root = s.ok(path)?;
            for (link, want) in [
                (
                    "RunbookProcesses",
                    "/api/Spaces-1/runbookProcesses{/id}{?skip,take,ids}",
                ),
                (
                    "RunbookRuns",
                    "/api/Spaces-1/runbookRuns{/id}{?skip,take,ids,projects,environments,tenants,runbooks,taskState,partialName}",
                ),
                (
                    "RunbookSnapshots",
                    "/api/Spaces-1/runbookSnapshots{/id}{?skip,take,ids,publish}",
                ),
                (
                    "Runbooks",
                    "/api/Spaces-1/runbooks{/id}{?skip,take,ids,partialName,projectIds}",
                ),
            ] {
                assert_eq!(root["Links"][link], want, "{profile} {path} {link}");
            }
        }
    }
    let s = Standin::start()?;
    let (first, _) = script_runbook(&s, "First", "A", "echo a")?;
    script_runbook(&s, "Second", "B", "echo b")?;
    let page = s.ok(&format!("{SPACE}/runbooks?projectIds={first}"))?;
    assert_eq!(page["TotalResults"], 1, "{page}");
    assert_eq!(page["Items"][0]["ProjectId"], first.as_str());
    assert_eq!(s.ok(&format!("{SPACE}/runbooks"))?["TotalResults"], 2);
    assert_eq!(
        s.ok(&format!("{SPACE}/runbooks?projectIds=Projects-999"))?["TotalResults"],
        0
    );
    Ok(())
}

#[test]
fn runbooks_their_snapshots_and_runs_survive_a_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    let data_arg = data.to_str().ok_or("path is not UTF-8")?;
    let (env, runbook, snap, run_id) = {
        let (s, env, project, runbook) = set_up(
            &["--data", data_arg],
            "Kept",
            json!([script_step("A", "echo \"key=#{Api.Key}\"")]),
        )?;
        s.set_variables(
            &project,
            json!([{"Name": "Api.Key", "Value": "k-kept-1", "Type": "Sensitive"}]),
        )?;
        let snap = s.create(
            &format!("{SPACE}/projects/{project}/runbookSnapshots?publish=true"),
            &json!({"RunbookId": runbook["Id"], "Name": "S1"}),
        )?;
        let run = start_run(&s, &snap, &env, json!({}))?;
        succeeds(&s, &task_of(&run)?)?;
        s.kill()?;
        (env, runbook, snap, id(&run)?)
    };
    let s = Standin::start_with(&["--data", data_arg])?;
    let runbook_id = id(&runbook)?;
    assert_eq!(
        s.ok(&format!("{SPACE}/runbooks/{runbook_id}"))?["PublishedRunbookSnapshotId"],
        snap["Id"]
    );
    assert_eq!(
        s.ok(&format!("{SPACE}/runbookRuns/{run_id}"))?["RunbookSnapshotId"],
        snap["Id"]
    );
    let frozen = snap["FrozenRunbookProcessId"].as_str().ok_or("no frozen")?;
    let frozen_doc = s.ok(&format!("{SPACE}/runbookProcesses/{frozen}"))?;
    expect(
        s.put(&format!("{SPACE}/runbookProcesses/{frozen}"), &frozen_doc)?,
        400,
    )?;
    // The frozen snapshot still runs, with its sensitive variable, masked in the log.
    let task = first_task(&run_form(
        &s,
        &json!({"ProjectName": "Kept", "RunbookName": "Kept runbook", "EnvironmentNames": [env]}),
    )?)?;
    let log = succeeds(&s, &task)?;
    assert!(
        log.contains("key=********") && !log.contains("k-kept-1"),
        "{log}"
    );
    Ok(())
}

#[test]
fn deleting_a_project_deletes_its_runbooks_processes_and_snapshots() -> TestResult {
    let s = Standin::start()?;
    let (project, runbook) = script_runbook(&s, "Gone", "A", "echo a")?;
    let (_, kept) = script_runbook(&s, "Kept", "B", "echo b")?;
    let snap = snapshot(&s, &runbook, "S1")?;
    let kept_snap = snapshot(&s, &kept, "K1")?;
    expect(
        s.send("DELETE", &format!("{SPACE}/projects/{project}"), None)?,
        200,
    )?;
    for path in [
        format!("{SPACE}/runbooks/{}", id(&runbook)?),
        format!(
            "{SPACE}/runbookProcesses/{}",
            runbook["RunbookProcessId"].as_str().unwrap_or("")
        ),
        format!("{SPACE}/runbookSnapshots/{}", id(&snap)?),
    ] {
        expect(s.get(&path)?, 404)?;
    }
    s.ok(&format!("{SPACE}/runbooks/{}", id(&kept)?))?;
    s.ok(&format!("{SPACE}/runbookSnapshots/{}", id(&kept_snap)?))?;
    assert_eq!(
        s.ok(&format!("{SPACE}/runbookSnapshots"))?["TotalResults"],
        1
    );
    Ok(())
}
