//! Octopus's error body and the status codes Octopus uses with it.
//!
//! Every refusal is `{"ErrorMessage": "...", "Errors": [...]}` (fixtures `error.json`,
//! `error.400.json`). Validation failures use the generic message "There was a problem with
//! your request." and put each reason in `Errors`, as `error.400.json` shows.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refusal, rendered as Octopus's error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// `ErrorMessage`.
    pub message: String,
    /// `Errors`: one line per reason.
    pub errors: Vec<String>,
}

/// Octopus's summary line for a validation failure (fixture `error.400.json`).
pub const PROBLEM: &str = "There was a problem with your request.";

impl ApiError {
    /// A 400 validation failure with one reason.
    pub fn invalid(reason: impl Into<String>) -> Self {
        Self::invalid_all(vec![reason.into()])
    }

    /// A 400 validation failure with several reasons.
    pub fn invalid_all(errors: Vec<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: PROBLEM.to_owned(),
            errors,
        }
    }

    /// A 400 whose message is the reason itself (Octopus does this for rule violations such as
    /// a duplicate release version or a stale document version).
    pub fn bad_request(message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            errors: vec![message.clone()],
            message,
        }
    }

    /// A 404 for a missing resource: "The resource '<id>' was not found." (OctopusDeploy/Issues
    /// #7746, a 2022.3 server); `what` names the kind in `Errors`.
    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("The resource '{id}' was not found."),
            errors: vec![format!("There is no {what} '{id}' in this space.")],
        }
    }

    /// A 404 for a path the stand-in does not serve.
    pub fn no_route(path: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: "The resource you requested was not found.".to_owned(),
            errors: vec![format!("The stand-in serves no resource at {path}.")],
        }
    }

    /// A 409 conflict (a package that already exists).
    pub fn conflict(message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            status: StatusCode::CONFLICT,
            errors: vec![message.clone()],
            message,
        }
    }

    /// A 401: no API key, or one the instance does not know. The text is the one Octopus.Client's
    /// own tests expect (`UnauthorisedTest.cs`).
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: "You must be logged in to perform this action. Please provide a valid \
                      API key or log in again."
                .to_owned(),
            errors: Vec::new(),
        }
    }

    /// A 500 for a failure of the stand-in itself (its disk, its state file).
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            errors: vec![message.clone()],
            message,
        }
    }
}

/// The start of Octopus's 403 message; the missing permission's id follows it (OctopusDeploy/Issues
/// #7311 and #9333: "... Please contact your Octopus administrator. Missing permission:
/// AdministerSystem").
pub const FORBIDDEN: &str = "You do not have permission to perform this action. Please contact \
                             your Octopus administrator. Missing permission: ";

/// A 403: the key's role lacks `permission`. Octopus's body carries `HelpText` beside
/// `ErrorMessage` (OctopusDeploy/Issues #7311); the stand-in's help text is its own wording.
pub fn forbidden(permission: &str) -> Response {
    let message = format!("{FORBIDDEN}{permission}");
    let body = json!({
        "ErrorMessage": message,
        "Errors": [message],
        "HelpText": format!("This action requires the {permission} permission."),
    });
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "ErrorMessage": self.message, "Errors": self.errors });
        (self.status, Json(body)).into_response()
    }
}

/// What every handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
