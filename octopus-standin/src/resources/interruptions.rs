//! Interruptions: the pending question a manual intervention step asks.
//!
//! Flow (OctopusDeploy-Api `REST/PowerShell/ManualInterventions/ApproveOrAbort.ps1`; texts
//! from the Swagger spec's 400 descriptions): `PUT interruptions/{id}/responsible` takes
//! responsibility, then `POST interruptions/{id}/submit` with `{"Result": "Proceed" | "Abort",
//! "Notes": ...}` answers it. Submitting without responsibility, or twice, is refused.

use std::sync::Arc;

use serde_json::{Value, json};

use super::stamp;
use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::kind::Kind;
use crate::store::{Doc, Store, now, text};

/// The user the API key belongs to.
const USER_ID: &str = "Users-1";

/// What a manual intervention asks, and of whom.
#[derive(Debug, Clone, Default)]
pub struct Question {
    /// The action that asks (its id correlates the interruption).
    pub action_id: String,
    /// The interruption's title (the action's name).
    pub title: String,
    /// The instructions, already substituted and masked.
    pub instructions: String,
    /// Deployment, project, environment and task ids.
    pub related: Vec<String>,
    /// Teams responsible (`Octopus.Action.Manual.ResponsibleTeamIds`).
    pub teams: Vec<String>,
}

/// Raises a manual-intervention interruption for a task; returns its id.
pub fn raise(store: &mut Store, space: &str, task: &str, question: &Question) -> String {
    let id = store.next_id(Kind::Interruption);
    let mut doc = Doc::new();
    doc.insert("Title".into(), json!(question.title));
    doc.insert("Created".into(), json!(now()));
    doc.insert("IsPending".into(), json!(true));
    doc.insert(
        "Form".into(),
        json!({
            "Values": {"Instructions": Value::Null, "Notes": Value::Null, "Result": Value::Null},
            "Elements": [
                {"Name": "Instructions", "Control": {"Type": "Paragraph", "Text": question.instructions, "ResolveLinks": false}, "IsValueRequired": false},
                {"Name": "Notes", "Control": {"Type": "TextArea", "Label": "Notes"}, "IsValueRequired": false},
                {"Name": "Result", "Control": {"Type": "SubmitButtonGroup", "Buttons": [
                    {"Text": "Proceed", "Value": "Proceed", "RequiresConfirmation": false},
                    {"Text": "Abort", "Value": "Abort", "RequiresConfirmation": true}
                ]}, "IsValueRequired": false}
            ]
        }),
    );
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

/// The answer to an interruption, once submitted: `Result` and `Notes`.
pub fn answer(store: &Store, id: &str) -> Option<(String, String)> {
    let doc = store.get(Kind::Interruption, id)?;
    if doc.get("IsPending") == Some(&Value::Bool(true)) {
        return None;
    }
    let values = doc.get("Form")?.get("Values")?;
    Some((
        values
            .get("Result")
            .and_then(Value::as_str)
            .unwrap_or("Abort")
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
        let result = body.get("Result").and_then(Value::as_str);
        if !matches!(result, Some("Proceed" | "Abort")) {
            return Err(ApiError {
                status: axum::http::StatusCode::BAD_REQUEST,
                message: "There were errors with the form.".to_owned(),
                errors: vec!["Result must be Proceed or Abort.".to_owned()],
            });
        }
        let mut doc = doc;
        doc.insert("IsPending".into(), json!(false));
        if let Some(form) = doc.get_mut("Form").and_then(Value::as_object_mut) {
            form.insert(
                "Values".into(),
                json!({
                    "Instructions": body.get("Instructions").cloned().unwrap_or(Value::Null),
                    "Notes": body.get("Notes").cloned().unwrap_or(Value::Null),
                    "Result": result,
                }),
            );
        }
        doc.insert("CanTakeResponsibility".into(), json!(false));
        s.put(Kind::Interruption, doc.clone());
        Ok(doc)
    })?;
    app.wake.notify_waiters();
    Ok(Value::Object(doc))
}
