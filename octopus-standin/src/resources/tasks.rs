//! Server tasks: the resource (fixture `task.json`), its state changes
//! (`Queued` -> `Executing` -> `Success` | `Failed`), `/details` with the `ActivityLogs` tree
//! and the `/raw` log.

use std::sync::Arc;

use axum::response::Response;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiResult;
use crate::kind::Kind;
use crate::store::{Doc, Store, now, text};
use crate::tasklog::LogNode;

/// The name the stand-in gives itself as `ServerNode`.
pub const SERVER_NODE: &str = "STANDIN";

/// Adds a queued `Deploy` task for a deployment, with the root of its activity log.
pub fn queue(store: &mut Store, space: &str, id: &str, deployment: &str, description: &str) {
    let arguments = json!({"DeploymentId": deployment});
    queue_as(store, space, id, "Deploy", arguments, description);
}

/// Adds a queued task named `name` (`Deploy`, `RunbookRun`) with its `Arguments` (the
/// document it carries out), and the root of its activity log.
pub fn queue_as(
    store: &mut Store,
    space: &str,
    id: &str,
    name: &str,
    arguments: Value,
    description: &str,
) {
    let mut doc = Doc::new();
    let queued = now();
    for (k, v) in [
        ("Id", json!(id)),
        ("SpaceId", json!(space)),
        ("Name", json!(name)),
        ("Description", json!(description)),
        ("Arguments", arguments),
        ("State", json!("Queued")),
        ("Completed", Value::Null),
        ("QueueTime", json!(queued)),
        ("QueueTimeExpiry", Value::Null),
        ("StartTime", Value::Null),
        ("LastUpdatedTime", json!(queued)),
        ("CompletedTime", Value::Null),
        ("ServerNode", json!(SERVER_NODE)),
        ("Duration", json!("")),
        ("ErrorMessage", json!("")),
        ("HasBeenPickedUpByProcessor", json!(false)),
        ("IsCompleted", json!(false)),
        ("FinishedSuccessfully", json!(false)),
        ("HasPendingInterruptions", json!(false)),
        ("CanRerun", json!(false)),
        ("HasWarningsOrErrors", json!(false)),
        (
            "Links",
            json!({
                "Self": format!("/api/tasks/{id}"),
                "Web": format!("/app#/tasks/{id}"),
                "Raw": format!("/api/tasks/{id}/raw"),
                "Details": format!("/api/tasks/{id}/details{{?verbose,tail}}"),
                "Interruptions": format!("/api/interruptions?regarding={id}"),
            }),
        ),
    ] {
        doc.insert(k.into(), v);
    }
    store.insert(Kind::Task, doc);
    store.set_log(id, LogNode::new(id.to_owned(), description.to_owned()));
}

/// Sets fields of a task and its `LastUpdatedTime`.
pub fn set(store: &mut Store, id: &str, changes: &[(&str, Value)]) {
    if let Some(task) = store.get_mut(Kind::Task, id) {
        for (k, v) in changes {
            task.insert((*k).into(), v.clone());
        }
        task.insert("LastUpdatedTime".into(), json!(now()));
    }
}

/// Marks a task finished: `Success`, or `Failed` with its error message.
pub fn finish(store: &mut Store, id: &str, error: Option<&str>) {
    finish_with(store, id, error, false);
}

/// Marks a task finished; `warnings` when it succeeded with warnings (a failure ignored in
/// guided-failure mode): `HasWarningsOrErrors`, and the root of the log `SuccessWithWarning`.
pub fn finish_with(store: &mut Store, id: &str, error: Option<&str>, warnings: bool) {
    let ended = now();
    let started = store
        .get(Kind::Task, id)
        .and_then(|t| text(t, "StartTime"))
        .map(str::to_owned);
    let duration = started
        .as_deref()
        .map(|s| describe_duration(s, &ended))
        .unwrap_or_default();
    let state = if error.is_some() { "Failed" } else { "Success" };
    set(
        store,
        id,
        &[
            ("State", json!(state)),
            ("IsCompleted", json!(true)),
            ("FinishedSuccessfully", json!(error.is_none())),
            ("HasPendingInterruptions", json!(false)),
            ("HasWarningsOrErrors", json!(error.is_some() || warnings)),
            ("ErrorMessage", json!(error.unwrap_or(""))),
            ("CompletedTime", json!(ended)),
            ("Completed", json!(display_time(&ended))),
            ("Duration", json!(duration)),
        ],
    );
    if let Some(root) = store.log_mut(id) {
        root.status = match (state, warnings) {
            ("Success", true) => "SuccessWithWarning".to_owned(),
            _ => state.to_owned(),
        };
        root.ended = Some(ended);
    }
    // The deployment or runbook run the task carried out records the failure.
    for kind in [Kind::Deployment, Kind::RunbookRun] {
        let execution = store
            .all(kind)
            .iter()
            .find(|d| text(d, "TaskId") == Some(id))
            .and_then(|d| text(d, "Id").map(str::to_owned));
        if let Some(d) = execution
            .filter(|_| error.is_some())
            .and_then(|d| store.get_mut(kind, &d))
        {
            d.insert("FailureEncountered".into(), json!(true));
        }
    }
}

/// `GET /api/tasks/{id}/details`: `TaskDetailsResource`.
pub fn details(app: &Arc<App>, id: &str) -> ApiResult<Value> {
    app.read(|s| {
        let task = s.require(Kind::Task, id)?;
        let log = s.log(id);
        let raw_size = render_raw(task, log, &app.config.server_version).len();
        let done = task.get("IsCompleted") == Some(&Value::Bool(true));
        Ok(json!({
            "Id": id,
            "Task": task,
            "ActivityLogs": log.map(|l| vec![l.to_json()]).unwrap_or_default(),
            "PhysicalLogSize": raw_size,
            "Progress": {"ProgressPercentage": if done { 100 } else { 0 }, "EstimatedTimeRemaining": Value::Null},
            "Links": {"Self": format!("/api/tasks/{id}/details")},
        }))
    })
}

/// `GET /api/tasks/{id}/raw`: the plain-text log.
pub fn raw(app: &Arc<App>, id: &str) -> ApiResult<Response> {
    let text = app.read(|s| -> ApiResult<String> {
        let task = s.require(Kind::Task, id)?;
        Ok(render_raw(task, s.log(id), &app.config.server_version))
    })?;
    Ok(crate::routes::text(text))
}

/// The raw log: a header (task id, status, times, server version) and the activity tree, in
/// the layout Octopus prints (Calamari PR #63, OctopusDeploy/Issues #2028).
fn render_raw(task: &Doc, log: Option<&LogNode>, server_version: &str) -> String {
    let field = |k: &str| text(task, k).unwrap_or("").to_owned();
    let mut out = format!(
        "Task ID:        {}\nTask status:    {}\nTask queued:    {}\nTask started:   {}\nTask duration:  {}\nServer version: {server_version}\n\n",
        field("Id"),
        field("State"),
        display_time(&field("QueueTime")),
        display_time(&field("StartTime")),
        field("Duration"),
    );
    if let Some(log) = log {
        log.render_raw(0, &mut out);
    }
    out
}

fn parse(t: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
}

/// Octopus's display form, "Monday, March 20, 2017 9:00 PM" (fixture `task.json`).
fn display_time(t: &str) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[weekday], [month repr:long] [day padding:none], [year] [hour repr:12 padding:none]:[minute] [period]"
    );
    parse(t)
        .and_then(|t| t.format(FORMAT).ok())
        .unwrap_or_default()
}

/// "32 seconds", "2 minutes" (fixture `task.json`).
fn describe_duration(start: &str, end: &str) -> String {
    let (Some(s), Some(e)) = (parse(start), parse(end)) else {
        return String::new();
    };
    let secs = (e - s).whole_seconds().max(0);
    match secs {
        1 => "1 second".to_owned(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "1 minute".to_owned(),
        s => format!("{} minutes", s / 60),
    }
}

/// Fails a task that cannot run (the stand-in restarted while it ran).
pub fn abandon(store: &mut Store, id: &str, reason: &str) {
    if let Some(root) = store.log_mut(id) {
        root.lines.push(crate::tasklog::LogLine {
            category: "Error".to_owned(),
            text: reason.to_owned(),
            at: now(),
        });
    }
    finish(store, id, Some(reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(store: &'a Store, id: &str, name: &str) -> &'a Value {
        store
            .get(Kind::Task, id)
            .and_then(|t| t.get(name))
            .unwrap_or(&Value::Null)
    }

    #[test]
    fn a_queued_task_has_not_started_and_a_finished_one_has_every_time() {
        let mut store = Store::default();
        queue(
            &mut store,
            "Spaces-1",
            "ServerTasks-1",
            "Deployments-1",
            "Deploy X",
        );
        for (name, want) in [
            ("State", json!("Queued")),
            ("StartTime", Value::Null),
            ("CompletedTime", Value::Null),
            ("Completed", Value::Null),
            ("IsCompleted", json!(false)),
            ("FinishedSuccessfully", json!(false)),
            ("HasPendingInterruptions", json!(false)),
            ("HasBeenPickedUpByProcessor", json!(false)),
            ("ErrorMessage", json!("")),
        ] {
            assert_eq!(field(&store, "ServerTasks-1", name), &want, "{name}");
        }
        assert!(field(&store, "ServerTasks-1", "QueueTime").is_string());
        assert_eq!(
            store.log("ServerTasks-1").map(|l| l.status.as_str()),
            Some("Pending")
        );
        set(
            &mut store,
            "ServerTasks-1",
            &[("State", json!("Executing")), ("StartTime", json!(now()))],
        );
        finish(&mut store, "ServerTasks-1", Some("It broke"));
        for (name, want) in [
            ("State", json!("Failed")),
            ("IsCompleted", json!(true)),
            ("FinishedSuccessfully", json!(false)),
            ("ErrorMessage", json!("It broke")),
            ("HasWarningsOrErrors", json!(true)),
        ] {
            assert_eq!(field(&store, "ServerTasks-1", name), &want, "{name}");
        }
        for name in ["StartTime", "CompletedTime", "Completed"] {
            assert!(field(&store, "ServerTasks-1", name).is_string(), "{name}");
        }
    }
}
