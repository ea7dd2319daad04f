//! What the scheduled export keeps in its state folder, and the metrics file.
//!
//! - `health.json`: the last run (when, what was exported, what failed and why), the last
//!   success, the next run, totals; rewritten atomically after every run and at start-up.
//!   `bridge-export health --config` reads it.
//! - `last-run`: the start time (RFC 3339) of the last run that ran to its end; the service
//!   compares it with its schedule at start-up to catch up a run missed while it was down.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::time_arg::{format_rfc3339, parse_rfc3339};
use carriers::metrics::{Metric, MetricKind};
use carriers::publish::write_atomically;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The health file's name in the state folder.
pub const HEALTH_FILE: &str = "health.json";

/// The last run's time, in the state folder.
pub const LAST_RUN_FILE: &str = "last-run";

/// The largest health file read.
const MAX_HEALTH: u64 = 4 * 1024 * 1024;

/// A release exported by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedItem {
    /// The rule that carried it (`carry[N]`).
    pub rule: String,
    /// Its project.
    pub project: String,
    /// Its version.
    pub version: String,
    /// Its channel in Octopus.
    pub channel: String,
    /// The zone it went to.
    pub target_zone: String,
    /// Its sequence on the bundle channel.
    pub sequence: u64,
    /// Its name in the outbox.
    pub bundle: String,
}

/// A release (or a rule) a run could not export, and why; retried next run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedItem {
    /// The rule (`carry[N]`).
    pub rule: String,
    /// The project, if the failure is one project's.
    pub project: Option<String>,
    /// The release version, if the failure is one release's.
    pub version: Option<String>,
    /// The zone it was to go to.
    pub target_zone: String,
    /// A stable code (`octopus-not-found`, `id-leak`, `gate-unknown-environment`, ...).
    pub code: String,
    /// What happened, and the fix.
    pub reason: String,
}

impl std::fmt::Display for FailedItem {
    /// `PROJECT VERSION -> ZONE: [CODE] first line of the reason`, as `run` and `health` show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} -> {}: [{}] {}",
            self.project.as_deref().unwrap_or("-"),
            self.version.as_deref().unwrap_or("-"),
            self.target_zone,
            self.code,
            self.reason.lines().next().unwrap_or_default()
        )
    }
}

/// One run, as `health` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended.
    pub finished: String,
    /// Every qualifying release exported, nothing failed, no error.
    pub ok: bool,
    /// What it exported, in order.
    pub exported: Vec<ExportedItem>,
    /// What it could not export.
    pub failed: Vec<FailedItem>,
    /// Leftovers of an interrupted run it settled (outbox names).
    pub recovered: Vec<String>,
    /// Why the run as a whole failed (Octopus unreachable, ledger refused, ...), if it did.
    pub error: Option<String>,
}

/// Counts over the state folder's life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Runs.
    pub runs: u64,
    /// Runs that were not ok.
    pub runs_failed: u64,
    /// Releases exported.
    pub releases_exported: u64,
    /// Release (or rule) failures.
    pub failures: u64,
}

/// `health.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// The carry file.
    pub config: String,
    /// The last run, if any.
    pub last_run: Option<RunSummary>,
    /// When the last ok run started.
    pub last_success: Option<String>,
    /// When the service runs next (none for `--once`, or a stopped service).
    pub next_run: Option<String>,
    /// Counts.
    pub totals: Totals,
}

impl Health {
    /// Adds a finished run.
    pub fn record(&mut self, run: RunSummary) {
        self.totals.runs = self.totals.runs.saturating_add(1);
        if !run.ok {
            self.totals.runs_failed = self.totals.runs_failed.saturating_add(1);
        } else {
            self.last_success = Some(run.started.clone());
        }
        self.totals.releases_exported = self
            .totals
            .releases_exported
            .saturating_add(run.exported.len() as u64);
        self.totals.failures = self.totals.failures.saturating_add(run.failed.len() as u64);
        self.last_run = Some(run);
    }
}

/// Reads `health.json` from `state`; `None` if there is none yet.
pub fn read_health(state: &Path) -> anyhow::Result<Option<Health>> {
    let path = state.join(HEALTH_FILE);
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_HEALTH)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let health = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the scheduled export's health file\nHint: it is rewritten at the next run; remove it if it was edited by hand",
            path.display()
        )
    })?;
    Ok(Some(health))
}

/// Writes `health.json` into `state` atomically.
pub fn write_health(state: &Path, health: &Health) -> anyhow::Result<PathBuf> {
    let mut text = serde_json::to_vec_pretty(health).context("cannot encode the health file")?;
    text.push(b'\n');
    Ok(write_atomically(state, HEALTH_FILE, &text)?)
}

/// The last run's start, if one was recorded (an unreadable file counts as none).
pub fn read_last_run(state: &Path) -> Option<OffsetDateTime> {
    // One RFC 3339 time and a line feed; a longer file is not ours and counts as none.
    let mut text = String::new();
    fs::File::open(state.join(LAST_RUN_FILE))
        .and_then(|f| f.take(128).read_to_string(&mut text))
        .ok()?;
    parse_rfc3339(text.trim()).ok()
}

/// Records the start of a run that ran to its end.
pub fn write_last_run(state: &Path, started: OffsetDateTime) -> anyhow::Result<()> {
    let text = format!("{}\n", format_rfc3339(started));
    write_atomically(state, LAST_RUN_FILE, text.as_bytes())?;
    Ok(())
}

/// The lock file's name in the state folder.
pub const LOCK_FILE: &str = "run.lock";

/// Takes the state folder's lock for as long as the returned file is open: two runs of one
/// carry file (a timer's `--once` while the service runs) would take the same sequence
/// numbers, and the loser's bundle could reach the outbox before the ledger refused it.
pub fn lock(state: &Path) -> anyhow::Result<fs::File> {
    let path = state.join(LOCK_FILE);
    let mut options = fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let file = options
        .open(&path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(anyhow::Error::new(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "it is locked",
        ))
        .context(format!(
            "another bridge-export run of this carry file is running (it holds {})\nHint: let it finish; a timer's --once and the service must not both run one carry file",
            path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Creates the state folder (mode 0700: it names releases and failures).
pub fn ensure_dir(state: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(state).with_context(|| {
        format!(
            "cannot create the state folder {}\nHint: create it, writable by the user the export runs as, or name another with state = in the carry file",
            state.display()
        )
    })
}

/// The metrics of the scheduled export (operator guide, "Scheduled export").
pub fn metrics(health: &Health) -> Vec<Metric> {
    let seconds = |text: Option<&String>| {
        text.and_then(|t| parse_rfc3339(t).ok())
            .map_or(0.0, |t| t.unix_timestamp() as f64)
    };
    let last = health.last_run.as_ref();
    vec![
        Metric {
            name: "zonebridge_export_runs_total",
            help: "Scheduled export runs, by outcome (ok: every qualifying release exported).",
            kind: MetricKind::Counter,
            samples: vec![
                (
                    vec![("outcome", "ok".to_owned())],
                    health.totals.runs.saturating_sub(health.totals.runs_failed) as f64,
                ),
                (
                    vec![("outcome", "failed".to_owned())],
                    health.totals.runs_failed as f64,
                ),
            ],
        },
        Metric::single(
            "zonebridge_export_releases_exported_total",
            "Releases exported into the outbox by scheduled runs.",
            MetricKind::Counter,
            health.totals.releases_exported as f64,
        ),
        Metric::single(
            "zonebridge_export_release_failures_total",
            "Releases (or rules) a scheduled run could not export; each is retried next run.",
            MetricKind::Counter,
            health.totals.failures as f64,
        ),
        Metric::single(
            "zonebridge_export_last_run_failures",
            "Releases (or rules) the last run could not export.",
            MetricKind::Gauge,
            last.map_or(0.0, |r| r.failed.len() as f64),
        ),
        Metric::single(
            "zonebridge_export_last_success_timestamp_seconds",
            "Start of the last run that exported every qualifying release (Unix time; 0: never).",
            MetricKind::Gauge,
            seconds(health.last_success.as_ref()),
        ),
        Metric::single(
            "zonebridge_export_next_run_timestamp_seconds",
            "When the service runs next (Unix time; 0: not scheduled).",
            MetricKind::Gauge,
            seconds(health.next_run.as_ref()),
        ),
    ]
}
