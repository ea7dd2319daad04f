//! What can go wrong talking to Octopus, each with what to do about it.

use std::fmt;

/// An Octopus error body: `{"ErrorMessage": "...", "Errors": ["..."]}` (fixtures `error.json`,
/// `error.400.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorBody {
    /// The summary.
    #[serde(default)]
    pub error_message: String,
    /// The reasons, one per line.
    #[serde(default)]
    pub errors: Vec<String>,
}

impl ErrorBody {
    /// The permission a 403 body names: Octopus ends its message with "Missing permission:
    /// <Id>" (OctopusDeploy/Issues #7311, #9333). Only an identifier is taken, so a body
    /// cannot put text of its own into the hint.
    pub fn missing_permission(&self) -> Option<String> {
        let text = std::iter::once(&self.error_message)
            .chain(&self.errors)
            .find_map(|t| t.split_once("Missing permission:"))?
            .1
            .trim_start();
        let id: String = text
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .take(64)
            .collect();
        (!id.is_empty()).then_some(id)
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error_message)?;
        for reason in self.errors.iter().filter(|e| **e != self.error_message) {
            write!(f, "; {reason}")?;
        }
        Ok(())
    }
}

/// Why a request to Octopus failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OctopusError {
    /// The server URL is not an `http://` or `https://` URL.
    #[error(
        "the Octopus server URL {url:?} is not valid: {reason}. Hint: give the base URL, e.g. https://octopus.example.com"
    )]
    BadServerUrl {
        /// What was given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CA file could not be read or holds no certificate.
    #[error(
        "cannot use the CA file {path}: {reason}. Hint: give a PEM file with the certificate of the CA that signed the server's certificate"
    )]
    BadCaFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Setup(String),
    /// The server could not be reached (after retries).
    #[error(
        "cannot reach Octopus at {url} after {attempts} attempt(s): {reason}. Hint: check --server / OCTOPUS_URL and that the server is up"
    )]
    Unreachable {
        /// The URL requested.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last connection error.
        reason: String,
    },
    /// The API key was refused.
    #[error(
        "Octopus at {server} refused the API key (401: {body}). Hint: check --api-key / OCTOPUS_API_KEY"
    )]
    Unauthorized {
        /// The server.
        server: String,
        /// Octopus's error body.
        body: ErrorBody,
    },
    /// Octopus answered with an error status.
    #[error("Octopus answered {status} to {method} {path}: {body}")]
    Api {
        /// The method.
        method: String,
        /// The path requested.
        path: String,
        /// The HTTP status code.
        status: u16,
        /// Octopus's error body.
        body: ErrorBody,
    },
    /// Octopus answered 403: the API key's role lacks a permission the request needs.
    #[error(
        "the API key may not {method} {path}: Octopus answered 403 ({body}). Hint: grant the key's role {}, or use a key whose role has it (docs/operator-guide.md lists the permissions each command needs)",
        permission.as_deref().map_or_else(|| "the permission this request needs".to_owned(), |p| format!("the {p} permission"))
    )]
    PermissionDenied {
        /// The method.
        method: String,
        /// The path requested.
        path: String,
        /// The missing permission, as Octopus named it ("Missing permission: X").
        permission: Option<String>,
        /// Octopus's error body.
        body: ErrorBody,
    },
    /// Octopus kept answering 429 beyond the bound of waits.
    #[error(
        "Octopus is rate limiting this API key: it answered 429 (Too Many Requests) to {method} {path} and {reason}. Hint: run the command again later, or raise the key's rate limit on the server"
    )]
    RateLimited {
        /// The method.
        method: String,
        /// The path requested.
        path: String,
        /// Why the client stopped waiting.
        reason: String,
    },
    /// A response was not what the API describes.
    #[error("Octopus's answer to {method} {path} is not valid: {reason}")]
    BadResponse {
        /// The method.
        method: String,
        /// The path requested.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A response was larger than the client reads.
    #[error("Octopus's answer to {path} is larger than {limit} bytes; refusing to read it")]
    TooLarge {
        /// The path requested.
        path: String,
        /// The limit.
        limit: u64,
    },
    /// The server is not an Octopus server.
    #[error(
        "{url} is not an Octopus Deploy server (its /api says Application {application:?}). Hint: check --server / OCTOPUS_URL"
    )]
    NotOctopus {
        /// The server.
        url: String,
        /// What it says it is.
        application: String,
    },
    /// The space named does not exist.
    #[error("Octopus at {server} has no space {space:?} (spaces: {known}). Hint: check --space")]
    NoSuchSpace {
        /// The server.
        server: String,
        /// The space asked for.
        space: String,
        /// The spaces it has.
        known: String,
    },
    /// A local file (a package to upload, a download's destination) failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl OctopusError {
    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            OctopusError::Api { status, .. } => Some(*status),
            OctopusError::Unauthorized { .. } => Some(401),
            OctopusError::PermissionDenied { .. } => Some(403),
            OctopusError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The permission Octopus said is missing, if this is a 403.
    pub fn missing_permission(&self) -> Option<&str> {
        match self {
            OctopusError::PermissionDenied { permission, .. } => {
                Some(permission.as_deref().unwrap_or("(not named by the server)"))
            }
            _ => None,
        }
    }

    /// Whether Octopus said the resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}
