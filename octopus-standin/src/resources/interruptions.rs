//! Interruptions: the pending questions a task asks a person. Two kinds share the resource,
//! as in Octopus (OctopusDeploy/docs, "Guided failures": "requests for failure guidance, and
//! manual steps, use the same implementation: we call them Interruptions in the REST API"):
//!
//! - a manual intervention step asks `Result`: `Proceed` or `Abort` (form elements
//!   `Instructions`, `Notes`, `Result`);
//! - a failed action of a deployment in guided-failure mode asks `Guidance`: `Fail`, `Retry`
//!   or `Ignore` (form elements `Notes`, `Guidance`; the three choices and the notes as in
//!   OctopusDeploy/Issues #205 and the "Guided failures" page).
//!
//! A client tells them apart by the name of the form's one `SubmitButtonGroup` element.
//!
//! Flow (OctopusDeploy-Api `REST/PowerShell/ManualInterventions/ApproveOrAbort.ps1`; texts
//! from the Swagger spec's 400 descriptions): `PUT interruptions/{id}/responsible` takes
//! responsibility, then `POST interruptions/{id}/submit` with the chosen button's value under
//! the submit element's name (and `Notes`) answers it. Submitting without responsibility, or
//! twice, is refused.

use std::sync::Arc;

use serde_json::{Value, json};

use super::stamp;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, Store, now, text};

/// The user the API key belongs to.
const USER_ID: &str = "Users-1";

/// What an interruption asks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Asks {
    /// A manual intervention: `Result` is `Proceed` or `Abort`.
    #[default]
    ManualIntervention,
    /// Guidance after a failure: `Guidance` is `Fail`, `Retry` or `Ignore`.
    GuidedFailure,
}

/// What an interruption asks, and of whom.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// Which kind of question.
    pub asks: Asks,
    /// The action that asks (its id correlates the interruption).
    pub action_id: String,
    /// The interruption's title.
    pub title: String,
    /// A manual intervention's instructions, already substituted and masked.
    pub instructions: String,
    /// Deployment, project, environment and task ids.
    pub related: Vec<String>,
    /// Teams responsible (`Octopus.Action.Manual.ResponsibleTeamIds`).
    pub teams: Vec<String>,
}

/// The form of a question: its `Values` and `Elements`.
fn form(question: &Question) -> Value {
    let notes = json!({"Name": "Notes", "Control": {"Type": "TextArea", "Label": "Notes"}, "IsValueRequired": false});
    let button = |value: &str, confirm: bool| json!({"Text": value, "Value": value, "RequiresConfirmation": confirm});
    match question.asks {
        Asks::ManualIntervention => json!({
            "Values": {"Instructions": Value::Null, "Notes": Value::Null, "Result": Value::Null},
            "Elements": [
                {"Name": "Instructions", "Control": {"Type": "Paragraph", "Text": question.instructions, "ResolveLinks": false}, "IsValueRequired": false},
                notes,
                {"Name": "Result", "Control": {"Type": "SubmitButtonGroup", "Buttons": [
                    button("Proceed", false), button("Abort", true)
                ]}, "IsValueRequired": false}
            ]
        }),
        Asks::GuidedFailure => json!({
            "Values": {"Notes": Value::Null, "Guidance": Value::Null},
            "Elements": [
                notes,
                {"Name": "Guidance", "Control": {"Type": "SubmitButtonGroup", "Buttons": [
                    button("Fail", true), button("Retry", false), button("Ignore", false)
                ]}, "IsValueRequired": false}
            ]
        }),
    }
}

/// The submit element of a form: its name and the values of its buttons.
fn submit_element(doc: &Doc) -> Option<(String, Vec<String>)> {
    let elements = doc.get("Form")?.get("Elements")?.as_array()?;
    elements.iter().find_map(|e| {
        let control = e.get("Control")?;
        if control.get("Type").and_then(Value::as_str) != Some("SubmitButtonGroup") {
            return None;
        }
        let buttons = control
            .get("Buttons")
            .and_then(Value::as_array)
            .map(|b| {
                b.iter()
                    .filter_map(|b| b.get("Value").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Some((e.get("Name")?.as_str()?.to_owned(), buttons))
    })
}

/// Raises an interruption for a task; returns its id.
pub fn raise(store: &mut Store, space: &str, task: &str, question: &Question) -> String {
    let id = store.next_id(Kind::Interruption);
    let mut doc = Doc::new();
    doc.insert("Title".into(), json!(question.title));
    doc.insert("Created".into(), json!(now()));
    doc.insert("IsPending".into(), json!(true));
    doc.insert("Form".into(), form(question));
    doc.insert("RelatedDocumentIds".into(), json!(question.related));
    doc.insert("ResponsibleTeamIds".into(), json!(question.teams));
    doc.insert("ResponsibleUserId".into(), Value::Null);
    doc.insert("CanTakeResponsibility".into(), json!(true));
    doc.insert("HasResponsibility".into(), json!(false));
    doc.insert("TaskId".into(), json!(task));
    doc.insert(
        "CorrelationId".into(),
        json!(format!("{task}_{}", question.action_id)),
    );
    doc.insert("IsLinkedToOtherInterruption".into(), json!(false));
    stamp(
        &mut doc,
        Kind::Interruption,
        &id,
        space,
        &[
            ("Submit", format!("/api/{space}/interruptions/{id}/submit")),
            (
                "Responsible",
                format!("/api/{space}/interruptions/{id}/responsible"),
            ),
        ],
    );
    store.insert(Kind::Interruption, doc);
    id
}

/// The answer to an interruption, once submitted: the chosen button's value (`Proceed`,
/// `Abort`, `Fail`, `Retry`, `Ignore`) and the notes.
pub fn answer(store: &Store, id: &str) -> Option<(String, String)> {
    let doc = store.get(Kind::Interruption, id)?;
    if doc.get("IsPending") == Some(&Value::Bool(true)) {
        return None;
    }
    let (element, _) = submit_element(doc)?;
    let values = doc.get("Form")?.get("Values")?;
    Some((
        values
            .get(&element)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        values
            .get("Notes")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    ))
}

fn user() -> Value {
    json!({
        "Id": USER_ID,
        "Username": "admin",
        "DisplayName": "Administrator",
        "IsActive": true,
        "IsService": false,
        "EmailAddress": Value::Null,
        "Links": {"Self": format!("/api/users/{USER_ID}")},
    })
}

/// `GET interruptions/{id}/responsible`: the responsible user, or null.
pub fn responsible(app: &Arc<App>, id: &str) -> ApiResult<Value> {
    app.read(|s| {
        let doc = s.require(Kind::Interruption, id)?;
        Ok(if text(doc, "ResponsibleUserId").is_some() {
            user()
        } else {
            Value::Null
        })
    })
}

/// `PUT interruptions/{id}/responsible`.
pub fn take_responsibility(app: &Arc<App>, id: &str) -> ApiResult<Value> {
    app.write(|s| {
        let doc = s.require(Kind::Interruption, id)?;
        if doc.get("IsPending") != Some(&Value::Bool(true)) {
            return Err(ApiError::invalid(
                "This interruption has already been submitted, possibly by another user.",
            ));
        }
        if let Some(doc) = s.get_mut(Kind::Interruption, id) {
            doc.insert("ResponsibleUserId".into(), json!(USER_ID));
            doc.insert("HasResponsibility".into(), json!(true));
        }
        Ok(user())
    })
}

/// `POST interruptions/{id}/submit`.
pub fn submit(app: &Arc<App>, id: &str, body: &Value) -> ApiResult<Value> {
    let doc = app.write(|s| {
        let doc = s.require(Kind::Interruption, id)?.clone();
        if doc.get("IsPending") != Some(&Value::Bool(true)) {
            return Err(ApiError::invalid("The interruption has already been submitted."));
        }
        if doc.get("HasResponsibility") != Some(&Value::Bool(true)) {
            return Err(ApiError::invalid(
                "You must take responsibility for this interruption before attempting to submit it.",
            ));
        }
        let (element, buttons) = submit_element(&doc).unwrap_or_default();
        let chosen = body.get(&element).and_then(Value::as_str);
        if !chosen.is_some_and(|c| buttons.iter().any(|b| b == c)) {
            return Err(ApiError {
                status: axum::http::StatusCode::BAD_REQUEST,
                message: "There were errors with the form.".to_owned(),
                errors: vec![format!("{element} must be {}.", one_of(&buttons))],
            });
        }
        let mut doc = doc;
        doc.insert("IsPending".into(), json!(false));
        if let Some(form) = doc.get_mut("Form").and_then(Value::as_object_mut) {
            let names: Vec<String> = form
                .get("Elements")
                .and_then(Value::as_array)
                .map(|e| {
                    e.iter()
                        .filter_map(|e| e.get("Name").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let values: serde_json::Map<String, Value> = names
                .into_iter()
                .map(|name| {
                    let value = body
                        .get(&name)
                        .filter(|v| v.is_string())
                        .cloned()
                        .unwrap_or(Value::Null);
                    (name, value)
                })
                .collect();
            form.insert("Values".into(), Value::Object(values));
        }
        doc.insert("CanTakeResponsibility".into(), json!(false));
        s.put(Kind::Interruption, doc.clone());
        Ok(doc)
    })?;
    app.wake.notify_waiters();
    Ok(Value::Object(doc))
}

/// "Proceed or Abort", "Fail, Retry or Ignore".
fn one_of(values: &[String]) -> String {
    match values {
        [] => "a button's value".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
