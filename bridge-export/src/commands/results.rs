//! `results FILE --policy POLICY`: take a result bundle in (see [`crate::results`]) and note
//! the outcome on the development instance's release.

use std::path::PathBuf;

use anyhow::Context as _;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::UsageError;
use bridge_cli::input::BundleInput;
use bridge_cli::octopus::OctopusArgs;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::time_arg::format_rfc3339;
use bridge_cli::view::field;
use ledger::Ledger;
use octopus_api::Endpoint;
use serde::Serialize;

use crate::results::receive::receive;
use crate::results::take::Taken;

/// Arguments of `results`.
#[derive(Debug, Clone, clap::Args)]
pub struct ResultsArgs {
    /// Result bundle to take in, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// This side's trust policy: it must trust the secure zone's result signers.
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,
    /// Also write the deployment's task log (verified, scrubbed in the secure zone) to FILE.
    #[arg(long, value_name = "FILE")]
    pub log_out: Option<PathBuf>,
    /// Do not write the note on the release in the development instance (then no --server is
    /// needed).
    #[arg(long)]
    pub no_note: bool,
    /// This side's ledger (the one `export` wrote).
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// How to reach the development-zone Octopus, for the note on the release.
    #[command(flatten)]
    pub octopus: OctopusArgs,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    outcome: &'static str,
    project: &'a str,
    version: &'a str,
    zone: String,
    environment: &'a str,
    tenant: Option<&'a str>,
    state: &'static str,
    waiting: Option<String>,
    started: Option<String>,
    completed: Option<String>,
    steps: Vec<(String, &'static str)>,
    bundle: &'a str,
    position: &'a str,
    gap: Option<&'a str>,
    /// The sending side's ledger head the result carried (`N:HASH`), and whether it went
    /// backwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    ledger_head: Option<&'a crate::results::take::HeadSeen>,
    note: Option<String>,
    log_out: Option<String>,
    ledger: String,
}

/// Takes the result in, writes the note, reports.
pub fn run(args: &ResultsArgs, out: &Output) -> anyhow::Result<()> {
    let endpoint = note_endpoint(
        "results writes a note on the release",
        args.no_note,
        &args.octopus,
    )?;
    let policy = load_policy(&args.policy)?;
    let ledger_path = args.ledger.path(Side::Export)?;
    let mut ledger = Ledger::open(&ledger_path)
        .with_context(|| format!("cannot open the ledger {}", ledger_path.display()))?;
    let input = BundleInput::from_arg(&args.file);
    let received = receive(
        &input,
        &policy,
        &mut ledger,
        endpoint.as_ref(),
        args.log_out.as_deref(),
        out,
    )?;
    report(&received.taken, received.note, &ledger_path, args, out)
}

fn report(
    taken: &Taken,
    note: Option<String>,
    ledger: &std::path::Path,
    args: &ResultsArgs,
    out: &Output,
) -> anyhow::Result<()> {
    let result = &taken.result;
    let report = Report {
        outcome: taken.outcome,
        project: &result.project,
        version: &result.version,
        zone: taken.zone.clone(),
        environment: &result.environment,
        tenant: result.tenant.as_deref(),
        state: result.state.as_str(),
        waiting: result.waiting.as_ref().map(|w| w.describe()),
        started: result.started.map(format_rfc3339),
        completed: result.completed.map(format_rfc3339),
        steps: result
            .steps
            .iter()
            .map(|s| (s.name.clone(), s.state.as_str()))
            .collect(),
        bundle: &taken.digest,
        position: &taken.position,
        gap: taken.gap.as_deref(),
        ledger_head: taken.head.as_ref(),
        note,
        log_out: args.log_out.as_ref().map(|p| p.display().to_string()),
        ledger: ledger.display().to_string(),
    };
    out.success(&report, |w| {
        let verb = if report.outcome == "recorded" {
            "recorded"
        } else {
            "already recorded"
        };
        field(
            w,
            verb,
            format!("result of {} {}", report.project, report.version),
        )?;
        let place = match report.tenant {
            Some(tenant) => format!("{} / {} for {tenant}", report.zone, report.environment),
            None => format!("{} / {}", report.zone, report.environment),
        };
        field(w, "deployed to", place)?;
        field(w, "state", report.state)?;
        if let Some(waiting) = &report.waiting {
            field(w, "waiting for", waiting)?;
        }
        if let (Some(started), Some(completed)) = (&report.started, &report.completed) {
            field(w, "ran", format!("{started} to {completed}"))?;
        }
        for (name, state) in &report.steps {
            field(w, "step", format!("{state} {name}"))?;
        }
        field(
            w,
            "bundle",
            format!("{} ({})", report.position, report.bundle),
        )?;
        if let Some(gap) = report.gap {
            field(
                w,
                "gap",
                format!("after bundles {gap}, given up on with `channel skip`"),
            )?;
        }
        if let Some(head) = report.ledger_head {
            field(w, "their head", &head.head)?;
            if let Some(earlier) = &head.went_backwards_from {
                field(
                    w,
                    "WARNING",
                    format!(
                        "the {} ledger's head went backwards: an earlier result carried {earlier}; their ledger was cut or restored from a backup (run `bridge-import ledger verify --anchor {earlier}` there)",
                        report.zone
                    ),
                )?;
            }
        }
        if let Some(note) = &report.note {
            field(w, "note", note)?;
        }
        if let Some(log) = &report.log_out {
            field(w, "log", log)?;
        }
        Ok(())
    })
}

/// The development instance the notes on releases are written to: none with `--no-note`,
/// else the Octopus flags, which must then name a server (`doing` says what needs it).
pub fn note_endpoint(
    doing: &str,
    no_note: bool,
    octopus: &OctopusArgs,
) -> anyhow::Result<Option<Endpoint>> {
    if no_note {
        return Ok(None);
    }
    if octopus.server.is_none() {
        return Err(UsageError(format!(
            "{doing} in the development instance: give --server (or OCTOPUS_URL) and its API key, or --no-note"
        ))
        .into());
    }
    Ok(Some(octopus.endpoint()?))
}
