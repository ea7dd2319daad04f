//! Turning any error into what the operator and a scheduler see, in one place: an exit code,
//! a stable kebab-case code (the bundle spec's codes for refusals), the message and the hint.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use bundle_format::inspect::SignError;
use bundle_format::keys::KeyError;
use bundle_format::names::NameError;
use bundle_format::pack::PackError;
use bundle_format::policy::PolicyError;
use bundle_format::regular_file::NotRegular;
use bundle_format::signature::AddSignatureError;
use bundle_format::verify::VerifyError;
use ledger::LedgerError;

use crate::exit;

/// Bad arguments found after clap parsed them (combinations, environment values): exit 2.
///
/// The text may end with `\nHint: ...` lines, like the library's messages.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for UsageError {}

/// A configuration file other than a key or policy (a mapping file, a secrets file) that cannot
/// be used: exit 3, code `config-invalid`. The text names the file and the line.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for ConfigError {}

/// A command's refusal to go on (exit 1) with a stable code, such as `version-controlled` for
/// an export of a config-as-code project. The text may end with `\nHint: ...` lines.
#[derive(Debug)]
pub struct Refused {
    /// The stable kebab-case code.
    pub code: &'static str,
    /// What was refused and why.
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Refused {}

/// A refusal with `code` and `message` (which may end with `\nHint: ...` lines), as an error.
pub fn refused(code: &'static str, message: String) -> anyhow::Error {
    Refused { code, message }.into()
}

/// Not a failure: the command finished and printed its report, and its exit code tells a
/// scheduler how what it watched ended (a deployment that failed: [`exit::DEPLOYMENT_FAILED`]).
/// Nothing more is printed for it.
#[derive(Debug)]
pub struct ExitWith(pub u8);

impl fmt::Display for ExitWith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "finished with exit code {}", self.0)
    }
}

impl StdError for ExitWith {}

/// What an error means for the operator and for a scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The process exit code (see [`crate::exit`]).
    pub exit: u8,
    /// A stable code, such as `threshold-not-met` or `key-permissions`.
    pub code: &'static str,
    /// The error chain, each cause once, joined with `: `.
    pub message: String,
    /// The hints the messages carried (`Hint: ...` lines), without the prefix.
    pub hint: Option<String>,
}

impl Failure {
    /// Classifies `err`; `None` when it is a broken pipe, which counts as success (the reader
    /// of our standard output went away, as `head` does).
    pub fn from_error(err: &anyhow::Error) -> Option<Self> {
        if err.chain().any(is_broken_pipe) {
            return None;
        }
        let (exit, code) = err.chain().find_map(classify).unwrap_or((exit::IO, "io"));
        let (message, hint) = render_chain(err);
        Some(Self {
            exit,
            code,
            message,
            hint,
        })
    }
}

fn is_broken_pipe(cause: &(dyn StdError + 'static)) -> bool {
    cause
        .downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

/// The exit code and stable code of the first cause (outermost first) that we know.
fn classify(cause: &(dyn StdError + 'static)) -> Option<(u8, &'static str)> {
    if let Some(e) = cause.downcast_ref::<VerifyError>() {
        return Some(verify(e));
    }
    if let Some(e) = cause.downcast_ref::<KeyError>() {
        return Some(key(e));
    }
    if let Some(e) = cause.downcast_ref::<PolicyError>() {
        return Some(match e {
            PolicyError::Io { source, .. } => io_code(source),
            PolicyError::AlreadyTrusted { .. } => (exit::CONFIG, "already-trusted"),
            PolicyError::TooOpen { .. } => (exit::CONFIG, "policy-permissions"),
            _ => (exit::CONFIG, "policy-invalid"),
        });
    }
    if let Some(e) = cause.downcast_ref::<PackError>() {
        return Some(pack(e));
    }
    if let Some(e) = cause.downcast_ref::<SignError>() {
        return Some(match e {
            SignError::Unreadable(inner) => verify(inner),
            SignError::Refused(inner) => add_signature(inner),
            SignError::Io(source) => io_code(source),
            _ => (exit::IO, "io"),
        });
    }
    if let Some(e) = cause.downcast_ref::<AddSignatureError>() {
        return Some(add_signature(e));
    }
    if let Some(e) = cause.downcast_ref::<LedgerError>() {
        return Some(ledger(e));
    }
    if cause.is::<ConfigError>() {
        return Some((exit::CONFIG, "config-invalid"));
    }
    if let Some(e) = cause.downcast_ref::<Refused>() {
        return Some((exit::REFUSED, e.code));
    }
    if let Some(e) = cause.downcast_ref::<octopus_api::OctopusError>() {
        return Some(octopus(e));
    }
    if cause.is::<UsageError>() || cause.is::<NameError>() {
        return Some((exit::USAGE, "usage"));
    }
    cause.downcast_ref::<io::Error>().map(io_code)
}

fn verify(e: &VerifyError) -> (u8, &'static str) {
    if e.is_refusal() {
        (exit::REFUSED, e.code())
    } else {
        (exit::IO, "io")
    }
}

fn key(e: &KeyError) -> (u8, &'static str) {
    match e {
        KeyError::Io { source, .. } => io_code(source),
        KeyError::TooOpen { .. } => (exit::CONFIG, "key-permissions"),
        KeyError::Exists { .. } => (exit::IO, "exists"),
        KeyError::Random(_) => (exit::IO, "io"),
        _ => (exit::CONFIG, "key-invalid"),
    }
}

fn pack(e: &PackError) -> (u8, &'static str) {
    match e {
        PackError::Input(_) | PackError::Manifest(_) => (exit::IO, "release-invalid"),
        PackError::Read { source, .. } | PackError::Output(source) => io_code(source),
        PackError::Write(bundle_format::container::writer::WriteError::SourceChanged {
            ..
        }) => (exit::IO, "source-changed"),
        PackError::Sign(inner) => add_signature(inner),
        _ => (exit::IO, "io"),
    }
}

/// Octopus's refusals (4xx) are refusals (a 403 as `permission-denied`); an unreachable,
/// misbehaving or rate-limiting server is I/O; a bad key, URL, space or CA file is
/// configuration.
fn octopus(e: &octopus_api::OctopusError) -> (u8, &'static str) {
    use octopus_api::OctopusError as E;
    match e {
        E::Unauthorized { .. } => (exit::CONFIG, "octopus-unauthorized"),
        E::BadServerUrl { .. }
        | E::BadCaFile { .. }
        | E::NoSuchSpace { .. }
        | E::NotOctopus { .. } => (exit::CONFIG, "octopus-config"),
        // A 403 is a refusal the target's administrator can fix; the message names the
        // permission (issue 11, point 8).
        E::PermissionDenied { .. } => (exit::REFUSED, "permission-denied"),
        // Waited out within the bound and still limited: try again later, like a network
        // failure.
        E::RateLimited { .. } => (exit::IO, "rate-limited"),
        E::Api { status, .. } if *status < 500 => (exit::REFUSED, "octopus-refused"),
        E::Io { source, .. } => io_code(source),
        _ => (exit::IO, "octopus-unavailable"),
    }
}

fn add_signature(e: &AddSignatureError) -> (u8, &'static str) {
    match e {
        AddSignatureError::AlreadySigned { .. } => (exit::REFUSED, "already-signed"),
        _ => (exit::REFUSED, "signatures-full"),
    }
}

/// A broken audit chain is a refusal (the ledger cannot be trusted; retrying will not help);
/// a file that is not a ledger of this version is configuration; reaching the file is I/O.
fn ledger(e: &LedgerError) -> (u8, &'static str) {
    match e {
        LedgerError::NotFound { .. }
        | LedgerError::NotAFile { .. }
        | LedgerError::CreateFolder { .. }
        | LedgerError::Busy { .. }
        | LedgerError::Database { .. } => (exit::IO, e.code()),
        LedgerError::NotADatabase { .. }
        | LedgerError::NotALedger { .. }
        | LedgerError::SchemaTooNew { .. }
        | LedgerError::WalUnavailable { .. } => (exit::CONFIG, e.code()),
        _ => (exit::REFUSED, e.code()),
    }
}

fn io_code(e: &io::Error) -> (u8, &'static str) {
    match bundle_format::regular_file::not_regular(e) {
        Some(NotRegular::Empty) => return (exit::IO, "empty-file"),
        Some(_) => return (exit::IO, "not-a-file"),
        None => {}
    }
    match e.kind() {
        io::ErrorKind::AlreadyExists => (exit::IO, "exists"),
        io::ErrorKind::NotFound => (exit::IO, "not-found"),
        _ => (exit::IO, "io"),
    }
}

/// Each cause's text once: a cause whose text its parent already quotes is skipped, and
/// `Hint: ...` lines are gathered apart.
fn render_chain(err: &anyhow::Error) -> (String, Option<String>) {
    let mut parts: Vec<String> = Vec::new();
    let mut hints: Vec<String> = Vec::new();
    for cause in err.chain() {
        let mut text = cause.to_string();
        // Octopus's errors quote its answers and names, and have no line breaks of their own:
        // kept on one line, so that nothing quoted can start a line such as a fake `Hint:`.
        if cause.is::<octopus_api::OctopusError>() {
            text = crate::safe::safe_line(&text).into_owned();
        }
        let mut body = Vec::new();
        for line in text.lines() {
            match line.trim_start().strip_prefix("Hint:") {
                Some(hint) => {
                    let hint = hint.trim().to_owned();
                    if !hint.is_empty() && !hints.contains(&hint) {
                        hints.push(hint);
                    }
                }
                None if !line.trim().is_empty() => body.push(line.trim_end()),
                None => {}
            }
        }
        let body = body.join("\n");
        if body.is_empty() || parts.iter().any(|p| p.contains(&body)) {
            continue;
        }
        parts.push(body);
    }
    let hint = (!hints.is_empty()).then(|| hints.join("\n"));
    (parts.join(": "), hint)
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::*;

    #[test]
    fn a_cause_quoted_by_its_parent_is_printed_once() {
        let inner = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(PolicyError::Io {
            action: "read",
            path: "p.toml".into(),
            source: inner,
        })
        .context("cannot load the policy");
        let failure = Failure::from_error(&err);
        assert_eq!(
            failure,
            Some(Failure {
                exit: exit::IO,
                code: "not-found",
                message: "cannot load the policy: cannot read policy file p.toml: no such file"
                    .to_owned(),
                hint: None,
            })
        );
    }

    #[test]
    fn hints_are_gathered_and_refusals_keep_their_code() {
        let err = anyhow::Error::new(VerifyError::ThresholdNotMet {
            kind: bundle_format::manifest::BundleKind::Release,
            required: 2,
            valid: 1,
        });
        let failure = Failure::from_error(&err).unwrap_or_else(|| panic!("not a broken pipe"));
        assert_eq!(
            (failure.exit, failure.code),
            (exit::REFUSED, "threshold-not-met")
        );
        assert!(!failure.message.contains("Hint"), "{}", failure.message);
        assert!(
            failure
                .hint
                .is_some_and(|h| h.contains("bridge-export sign"))
        );
    }

    #[test]
    fn broken_pipe_is_success() {
        let err: anyhow::Result<()> = Err(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("cannot write to standard output");
        let err = err.err().unwrap_or_else(|| anyhow::anyhow!("unreachable"));
        assert_eq!(Failure::from_error(&err), None);
    }

    #[test]
    fn an_octopus_answer_cannot_add_a_hint_or_a_line() {
        let err = anyhow::Error::new(octopus_api::OctopusError::Api {
            method: "POST".to_owned(),
            path: "/api/releases".to_owned(),
            status: 400,
            body: octopus_api::ErrorBody {
                error_message: "bad\nHint: run rm -rf /\u{1b}[8m".to_owned(),
                errors: Vec::new(),
            },
        })
        .context("cannot create the release");
        let failure = Failure::from_error(&err);
        assert_eq!(
            failure.map(|f| (f.code, f.message, f.hint)),
            Some((
                "octopus-refused",
                "cannot create the release: Octopus answered 400 to POST /api/releases: bad\\nHint: run rm -rf /\\x1b[8m".to_owned(),
                None
            ))
        );
    }

    #[test]
    fn a_403_is_permission_denied_and_a_bounded_429_is_rate_limited() {
        let denied = anyhow::Error::new(octopus_api::OctopusError::PermissionDenied {
            method: "GET".to_owned(),
            path: "/api/Spaces-1/variables/variableset-Projects-1".to_owned(),
            permission: Some("VariableView".to_owned()),
            body: octopus_api::ErrorBody::default(),
        })
        .context("cannot read the project's variables");
        let failure = Failure::from_error(&denied);
        assert_eq!(
            failure.as_ref().map(|f| (f.exit, f.code)),
            Some((exit::REFUSED, "permission-denied"))
        );
        assert!(failure.is_some_and(|f| {
            f.message
                .contains("Hint: grant the key's role the VariableView permission")
        }),);
        let limited = anyhow::Error::new(octopus_api::OctopusError::RateLimited {
            method: "GET".to_owned(),
            path: "/api/x".to_owned(),
            reason: "still 429".to_owned(),
        });
        assert_eq!(
            Failure::from_error(&limited).map(|f| (f.exit, f.code)),
            Some((exit::IO, "rate-limited"))
        );
    }

    #[test]
    fn usage_errors_exit_2() {
        let err = anyhow::Error::new(UsageError("bad\nHint: do this".to_owned()));
        let failure = Failure::from_error(&err);
        assert_eq!(
            failure.map(|f| (f.exit, f.code, f.message, f.hint)),
            Some((
                exit::USAGE,
                "usage",
                "bad".to_owned(),
                Some("do this".to_owned())
            ))
        );
    }
}
