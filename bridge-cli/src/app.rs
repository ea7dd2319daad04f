//! The `main` of both binaries: parse, run, and report a failure once, with its exit code.
//!
//! ```text
//! args --clap--> App --run--> Ok  -> exit 0
//!   |                          Err -> Failure (exit, code, message, hint) -> stderr [+ JSON on stdout]
//!   +-- clap error -> clap's text, exit 2 (help and --version: exit 0)
//! ```

use std::io::{self, Write as _};
use std::process::ExitCode;

use serde::Serialize;

use crate::exit;
use crate::failure::{ExitWith, Failure};
use crate::output::{GlobalArgs, Output, write_json};
use crate::safe::safe_block;

/// A binary's parsed command line.
pub trait App: clap::Parser {
    /// The global flags (`--json`, `--quiet`).
    fn global(&self) -> GlobalArgs;
    /// Runs the chosen command.
    fn run(self, out: &Output) -> anyhow::Result<()>;
}

/// The whole of a binary's `main`: `fn main() -> ExitCode { bridge_cli::app::main::<Cli>() }`.
pub fn main<A: App>() -> ExitCode {
    let app = match A::try_parse() {
        Ok(app) => app,
        Err(err) => return clap_failure(&err),
    };
    let out = Output::new(app.global());
    crate::cleanup::install(out.json());
    match app.run(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err, out.json()),
    }
}

#[derive(Debug, Serialize)]
struct ErrorReport<'a> {
    ok: bool,
    error: ErrorBody<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    exit: u8,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

/// Prints `err` once (`error: ...` then `Hint: ...` lines on stderr; with `json`, also the
/// error object on stdout) and returns its exit code. A broken pipe is a success.
pub fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    if let Some(ExitWith(code)) = err.downcast_ref::<ExitWith>() {
        return ExitCode::from(*code);
    }
    let Some(failure) = Failure::from_error(err) else {
        return ExitCode::SUCCESS;
    };
    print_failure(&failure, json);
    ExitCode::from(failure.exit)
}

fn print_failure(failure: &Failure, json: bool) {
    let mut stderr = io::stderr().lock();
    // Nothing more can be said if stderr itself fails.
    // Messages quote file names, names from Octopus and from bundles: nothing in them may
    // reach the terminal raw (the JSON below keeps them exact).
    let _ = writeln!(stderr, "error: {}", safe_block(&failure.message));
    for line in failure.hint.iter().flat_map(|h| h.lines()) {
        let _ = writeln!(stderr, "Hint: {}", safe_block(line));
    }
    if json {
        let report = ErrorReport {
            ok: false,
            error: ErrorBody {
                code: failure.code,
                exit: failure.exit,
                message: &failure.message,
                hint: failure.hint.as_deref(),
            },
        };
        let _ = write_json(&mut io::stdout().lock(), &report);
    }
}

/// clap's own errors: its text and exit code (2 for usage errors, 0 for help and version).
fn clap_failure(err: &clap::Error) -> ExitCode {
    // clap's messages quote the arguments as given: escaped like every other text from outside
    // (plain text, without clap's colours). A closed stdout while printing help is not worth
    // reporting.
    let text = err.render().to_string();
    let text = safe_block(&text);
    let _ = if err.use_stderr() {
        io::stderr().lock().write_all(text.as_bytes())
    } else {
        io::stdout().lock().write_all(text.as_bytes())
    };
    if err.use_stderr() && std::env::args_os().any(|arg| arg == "--json") {
        let text = err.to_string();
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let report = ErrorReport {
            ok: false,
            error: ErrorBody {
                code: "usage",
                exit: exit::USAGE,
                message,
                hint: None,
            },
        };
        let _ = write_json(&mut io::stdout().lock(), &report);
    }
    ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(exit::USAGE))
}
