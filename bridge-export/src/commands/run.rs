//! `run`: the scheduled export. `--once` runs now and exits; without it the command is a
//! service that runs on the carry file's schedule (see `crate::carry` for the pipeline).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bridge_cli::commands::ledger::{LedgerArg, Side};
use bridge_cli::failure::{ConfigError, ExitWith, Failure, Refused};
use bridge_cli::output::{Output, write_json};
use bridge_cli::safe::Shown;
use bridge_cli::service::logging::{self, LogFormat};
use bridge_cli::service::stop;
use bridge_cli::time_arg::format_rfc3339;
use bundle_format::keys::SigningKey;
use bundle_format::manifest::BundleKind;
use ledger::{Ledger, LedgerError, Verdict};
use octopus_api::Client;
use time::OffsetDateTime;

use super::export::{ExportJob, export_release};
use super::pack::Commit;
use super::pack::read_keys;
use crate::carry::config::{self, CarryFile};
use crate::carry::outbox::{self, OutboxPlacement, Recovered};
use crate::carry::schedule;
use crate::carry::select::{self, Exported};
use crate::carry::state::{self, ExportedItem, FailedItem, Health, RunSummary};

/// Arguments of `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The carry file (TOML): source zone, outbox, keys, schedule, Octopus, [[carry]] rules.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Run once now and exit (for a timer or cron), instead of running on the schedule.
    #[arg(long)]
    pub once: bool,
    /// Log format on standard error: one line of text per event, or JSON lines for a SIEM.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log: LogFormat,
}

/// Everything a run needs, read once at start.
struct Setup {
    carry: CarryFile,
    keys: Vec<SigningKey>,
    ledger: Ledger,
}

/// Runs once, or as a service.
pub fn run(args: &RunArgs, out: &Output) -> anyhow::Result<()> {
    logging::init(args.log)?;
    let carry = config::read(&args.config)?;
    if !args.once && carry.schedule.is_empty() {
        return Err(ConfigError(format!(
            "carry file {}: there is no schedule, so the service would never run\nHint: add schedule = [\"0 30 1 * * *\"] (six fields, seconds first, UTC), or run with --once from a timer",
            args.config.display()
        ))
        .into());
    }
    let keys = read_keys(&carry.keys).with_context(|| {
        format!(
            "carry file {}: a key in keys cannot be used",
            args.config.display()
        )
    })?;
    state::ensure_dir(&carry.state)?;
    let _lock = state::lock(&carry.state)?;
    let ledger_path = match &carry.ledger {
        Some(path) => path.clone(),
        None => LedgerArg { ledger: None }.path(Side::Export)?,
    };
    let ledger = Ledger::open(&ledger_path)
        .with_context(|| format!("cannot open the ledger {}", ledger_path.display()))?;
    // The Octopus settings are checked now (a missing server or key is a configuration
    // error at start), though the connection is made by each run.
    carry.octopus.endpoint().with_context(|| {
        format!(
            "carry file {}: [octopus] is incomplete",
            args.config.display()
        )
    })?;
    let mut setup = Setup {
        carry,
        keys,
        ledger,
    };
    let mut health = state::read_health(&setup.carry.state)
        .ok()
        .flatten()
        .unwrap_or_default();
    health.config = args.config.display().to_string();
    if args.once {
        health.next_run = None;
        let (summary, error) = run_once(&mut setup, out);
        // The summary is shown even if the health or metrics file cannot be written.
        let written = finish_run(&setup, &mut health, summary.clone());
        return report(&summary, error, out).and(written);
    }
    serve(&mut setup, &mut health, out)
}

/// The service: waits for the schedule, runs, until asked to stop.
fn serve(setup: &mut Setup, health: &mut Health, out: &Output) -> anyhow::Result<()> {
    stop::enter_service_mode();
    let now = OffsetDateTime::now_utc();
    let last = state::read_last_run(&setup.carry.state);
    let mut catch_up = schedule::missed(&setup.carry.schedule, last, now);
    tracing::info!(
        config = %setup.carry.path.display(),
        outbox = %setup.carry.outbox.display(),
        rules = setup.carry.rules.len(),
        catch_up,
        "scheduled export started"
    );
    loop {
        if !catch_up {
            let now = OffsetDateTime::now_utc();
            let Some(next) = schedule::next_run(&setup.carry.schedule, now) else {
                return Err(ConfigError(
                    "the schedule has no future occurrence\nHint: check the cron expressions in schedule".to_owned(),
                )
                .into());
            };
            health.next_run = Some(format_rfc3339(next));
            logged(publish_health(setup, health));
            tracing::info!(next_run = %format_rfc3339(next), "waiting for the next run");
            let wait = Duration::try_from(next - now).unwrap_or_default();
            if !stop::sleep(wait) {
                break;
            }
        } else {
            tracing::info!("a scheduled run was missed while the service was down: running now");
        }
        catch_up = false;
        let (summary, _) = run_once(setup, out);
        let next = schedule::next_run(&setup.carry.schedule, OffsetDateTime::now_utc());
        health.next_run = next.map(format_rfc3339);
        // A full disk must not stop the exports: the failure is logged, and retried after the
        // next run.
        logged(finish_run(setup, health, summary));
        if stop::stopping() {
            break;
        }
    }
    health.next_run = None;
    publish_health(setup, health)?;
    tracing::info!("scheduled export stopped");
    Ok(())
}

/// Logs a failure to write the health or metrics file (the service goes on).
fn logged(result: anyhow::Result<()>) {
    if let Err(err) = result {
        tracing::error!(reason = %format!("{err:#}"), "cannot write the health or metrics file");
    }
}

/// Writes the health file and the metrics file.
fn publish_health(setup: &Setup, health: &Health) -> anyhow::Result<()> {
    state::write_health(&setup.carry.state, health)?;
    if let Some(path) = &setup.carry.metrics {
        carriers::metrics::write(path, &state::metrics(health))
            .with_context(|| format!("cannot write the metrics file {}", path.display()))?;
    }
    Ok(())
}

/// Records a finished run: health, metrics, and (when it ran to its end) its start time.
fn finish_run(setup: &Setup, health: &mut Health, summary: RunSummary) -> anyhow::Result<()> {
    if summary.error.is_none()
        && let Ok(started) = bridge_cli::time_arg::parse_rfc3339(&summary.started)
    {
        state::write_last_run(&setup.carry.state, started)?;
    }
    health.record(summary);
    publish_health(setup, health)
}

/// One run: settle leftovers, select, export oldest first. What went wrong is in the summary;
/// the error that stopped the run as a whole, if one did, is returned beside it.
fn run_once(setup: &mut Setup, out: &Output) -> (RunSummary, Option<anyhow::Error>) {
    let started = OffsetDateTime::now_utc();
    let mut summary = RunSummary {
        started: format_rfc3339(started),
        ..RunSummary::default()
    };
    tracing::info!("run started");
    let error = run_steps(setup, out, &mut summary).err();
    if let Some(err) = &error {
        let failure = Failure::from_error(err);
        let reason = failure.map_or_else(|| format!("{err:#}"), |f| with_hint(&f));
        tracing::error!(reason = %reason, "run failed");
        summary.error = Some(reason);
    }
    summary.finished = format_rfc3339(OffsetDateTime::now_utc());
    summary.ok = summary.error.is_none() && summary.failed.is_empty();
    tracing::info!(
        exported = summary.exported.len(),
        failed = summary.failed.len(),
        ok = summary.ok,
        "run finished"
    );
    (summary, error)
}

fn with_hint(failure: &Failure) -> String {
    match &failure.hint {
        Some(hint) => format!("{}\nHint: {hint}", failure.message),
        None => failure.message.clone(),
    }
}

fn run_steps(setup: &mut Setup, out: &Output, summary: &mut RunSummary) -> anyhow::Result<()> {
    let Setup {
        carry,
        keys,
        ledger,
    } = setup;
    for recovered in outbox::recover(&carry.outbox, ledger)? {
        let (name, what) = match &recovered {
            Recovered::Adopted { name, republished } => (
                name,
                if *republished {
                    "published again and recorded (an earlier run was stopped before the ledger recorded it)"
                } else {
                    "recorded (an earlier run was stopped before the ledger recorded it)"
                },
            ),
            Recovered::Cleared(name) => (name, "already recorded"),
            Recovered::Withdrawn(name) => (
                name,
                "withdrawn from the outbox: the ledger gave its sequence to another bundle",
            ),
            Recovered::Removed(name) => (name, "never published; removed from staging"),
        };
        tracing::warn!(bundle = %name, "{what}");
        if matches!(recovered, Recovered::Adopted { .. }) {
            summary.recovered.push(name.clone());
        }
    }
    let client = Client::connect(carry.octopus.endpoint()?)?;
    let exported = exported_by_zone(ledger, carry)?;
    let selection = select::select(&client, &carry.rules, &|zone| {
        Ok(exported
            .iter()
            .find(|(z, _)| z == zone.as_str())
            .map(|(_, e)| e.clone())
            .unwrap_or_default())
    })?;
    let zone_of = |rule: usize| {
        carry
            .rules
            .iter()
            .find(|r| r.index == rule)
            .map(|r| r.target_zone.to_string())
            .unwrap_or_default()
    };
    for problem in selection.problems {
        tracing::warn!(
            rule = %format!("carry[{}]", problem.rule),
            project = problem.project.as_deref().unwrap_or(""),
            version = problem.version.as_deref().unwrap_or(""),
            code = problem.code,
            reason = %problem.reason,
            "not exported"
        );
        summary.failed.push(FailedItem {
            rule: format!("carry[{}]", problem.rule),
            project: problem.project,
            version: problem.version,
            target_zone: zone_of(problem.rule),
            code: problem.code.to_owned(),
            reason: problem.reason,
        });
    }
    let mut candidates = selection.candidates;
    select::order(&mut candidates);
    let mut seen = BTreeSet::new();
    candidates.retain(|c| seen.insert((zone_of(c.rule), c.project.clone(), c.version.clone())));
    let mut placement = OutboxPlacement::new(&carry.outbox)?;
    for candidate in candidates {
        if stop::stopping() {
            tracing::info!("stop asked: the remaining releases wait for the next run");
            break;
        }
        let rule = carry
            .rules
            .iter()
            .find(|r| r.index == candidate.rule)
            .context("a candidate of an unknown rule")?;
        let job = ExportJob {
            client: &client,
            keys,
            project: &candidate.project_id,
            version: &candidate.version,
            source_zone: &carry.source_zone,
            target_zone: &rule.target_zone,
            created: OffsetDateTime::now_utc(),
            expires: None,
            work_beside: &placement.staging.clone(),
            keep_folder: None,
            commit: Commit {
                fsync: true,
                replace: false,
            },
        };
        match export_release(&job, ledger, &mut placement, out) {
            Ok(exported) => {
                placement.finish().with_context(|| {
                    format!("cannot clear the publication mark of {}", exported.shown)
                })?;
                let bundle = exported
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                tracing::info!(
                    project = %candidate.project,
                    version = %candidate.version,
                    channel = %candidate.channel,
                    target_zone = %rule.target_zone,
                    sequence = exported.sealed.manifest.sequence,
                    bundle = %bundle,
                    "exported"
                );
                summary.exported.push(ExportedItem {
                    rule: rule.name(),
                    project: candidate.project.clone(),
                    version: candidate.version.clone(),
                    channel: candidate.channel.clone(),
                    target_zone: rule.target_zone.to_string(),
                    sequence: exported.sealed.manifest.sequence,
                    bundle,
                });
            }
            // The ledger's refusal is the channel's, not the release's: the next release
            // would meet it too. A bundle already published is settled at once (recover).
            Err(err) if err.chain().any(|c| c.is::<LedgerError>()) => {
                if let Err(e) = outbox::recover(&carry.outbox, ledger) {
                    tracing::error!(reason = %format!("{e:#}"), "cannot settle the outbox");
                }
                return Err(err);
            }
            Err(err) => {
                let failure = Failure::from_error(&err);
                let code = failure.as_ref().map_or("io", |f| f.code).to_owned();
                let reason = failure.map_or_else(|| format!("{err:#}"), |f| with_hint(&f));
                tracing::warn!(
                    project = %candidate.project,
                    version = %candidate.version,
                    target_zone = %rule.target_zone,
                    code = %code,
                    reason = %reason,
                    "release failed; retried next run"
                );
                summary.failed.push(FailedItem {
                    rule: rule.name(),
                    project: Some(candidate.project.clone()),
                    version: Some(candidate.version.clone()),
                    target_zone: rule.target_zone.to_string(),
                    code,
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// What the ledger says went from this zone, by target zone, project and version.
fn exported_by_zone(ledger: &Ledger, carry: &CarryFile) -> anyhow::Result<Vec<(String, Exported)>> {
    let mut by_zone: Vec<(String, Exported)> = Vec::new();
    for row in ledger.bundles(Some(BundleKind::Release), Some(Verdict::Exported), None)? {
        if row.channel.source != carry.source_zone {
            continue;
        }
        let (Some(project), Some(version)) = (row.project, row.version) else {
            continue;
        };
        let zone = row.channel.target.to_string();
        let index = match by_zone.iter().position(|(z, _)| *z == zone) {
            Some(i) => i,
            None => {
                by_zone.push((zone, Exported::new()));
                by_zone.len() - 1
            }
        };
        if let Some((_, map)) = by_zone.get_mut(index) {
            map.entry(project).or_default().insert(version);
        }
    }
    Ok(by_zone)
}

/// `--once`: prints the run's summary; a run that left something behind is an error (exit 1
/// when releases failed, the run's own code when the run failed). With `--json` the summary is
/// the one document on standard output, `{"ok": ..., "run": {...}}`, and only the exit code
/// says more.
fn report(summary: &RunSummary, error: Option<anyhow::Error>, out: &Output) -> anyhow::Result<()> {
    if out.json() {
        let document = serde_json::json!({"ok": summary.ok, "run": summary});
        write_json(&mut std::io::stdout().lock(), &document)?;
        if let Some(err) = error {
            let code = Failure::from_error(&err).map_or(bridge_cli::exit::IO, |f| f.exit);
            return Err(ExitWith(code).into());
        }
        if !summary.failed.is_empty() {
            return Err(ExitWith(bridge_cli::exit::REFUSED).into());
        }
        return Ok(());
    }
    out.success(summary, |w| {
        for item in &summary.recovered {
            writeln!(w, "recovered  {}", Shown(item))?;
        }
        for item in &summary.exported {
            // Names come from Octopus: nothing in them may reach the terminal raw.
            let line = format!(
                "{} {} -> {} as {}",
                item.project, item.version, item.target_zone, item.bundle
            );
            writeln!(w, "exported   {}", Shown(line))?;
        }
        for item in &summary.failed {
            writeln!(w, "failed     {}", Shown(item))?;
        }
        if summary.exported.is_empty() && summary.failed.is_empty() && summary.error.is_none() {
            writeln!(w, "nothing to export")?;
        }
        Ok(())
    })?;
    if let Some(error) = error {
        return Err(error.context("the run stopped before its end"));
    }
    if !summary.failed.is_empty() {
        return Err(Refused {
            code: "releases-failed",
            message: format!(
                "{} release(s) or rule(s) could not be exported; the others were\nHint: fix what each line says; the next run retries them",
                summary.failed.len()
            ),
        }
        .into());
    }
    Ok(())
}
