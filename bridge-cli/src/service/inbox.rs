//! What both watches (`bridge-import watch`, `bridge-export watch`) share around the
//! [`carriers::inbox`] engine: the inbox flags ([`InboxArgs`]), one run of the engine as a
//! service ([`watch`]), the report it ends with ([`WatchReport`]), and the refusal the engine
//! records for an error ([`refusal`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use carriers::inbox::health::Health;
use carriers::inbox::{Config, Handler, Inbox, Refusal};
use serde::Serialize;

use super::logging::LogFormat;
use super::stop;
use crate::failure::Failure;
use crate::output::Output;
use crate::safe::safe_block;
use crate::time_arg::parse_duration;
use crate::view::field;

/// The longest `--settle` accepted: a file that has not changed for an hour is complete.
pub const MAX_SETTLE: Duration = Duration::from_secs(3600);

/// The inbox flags of a watch.
#[derive(Debug, Clone, clap::Args)]
pub struct InboxArgs {
    /// The inbox folder: complete bundles (`*.zb`, not starting with `.`) are dropped here,
    /// taken in channel order, and each ends in DIR/done/ or in DIR/quarantine/ beside a JSON
    /// note saying why.
    #[arg(long, value_name = "DIR")]
    pub inbox: PathBuf,
    /// Take a file once its size, modification time and inode stayed the same this long (at
    /// most 1h); a file renamed into the inbox while the watch runs is taken at once.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_settle)]
    pub settle: Duration,
    /// List the inbox again this often (at least 1s), for filesystems where inotify sees
    /// nothing (NFS, SMB).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_interval)]
    pub rescan: Duration,
    /// Try a bundle refused for a reason this side can fix (a missing project, secret, name
    /// or trusted signer, Octopus unreachable) again this often (at least 1s); its channel
    /// waits meanwhile.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_interval)]
    pub retry: Duration,
    /// Rewrite this metrics file (Prometheus text format) after every round.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// How the service logs on standard error: one line of text, or one JSON object, per
    /// event (for a SIEM; level filter: ZONEBRIDGE_LOG).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t)]
    pub log: LogFormat,
    /// Handle what the inbox holds now (waiting for files to settle), then exit.
    #[arg(long)]
    pub once: bool,
}

impl InboxArgs {
    /// The engine's settings for these flags; `service` names the watch in logs and metrics
    /// (`import`, `export`).
    pub fn config(&self, service: &'static str) -> Config {
        let mut config = Config::new(&self.inbox).with_settle(self.settle);
        config.rescan = self.rescan;
        config.retry = self.retry;
        config.once = self.once;
        config.metrics.clone_from(&self.metrics);
        config.service = service;
        config
    }
}

/// A `--settle` value: a duration of at most [`MAX_SETTLE`].
pub fn parse_settle(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration > MAX_SETTLE {
        return Err(format!("{text:?} is too long: give at most 1h"));
    }
    Ok(duration)
}

/// A `--rescan` or `--retry` value: at least a second, since 0 would list the inbox without
/// pause.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text:?} is too short: give at least 1s"));
    }
    Ok(duration)
}

/// Runs the engine on `config` with `handler` as a service: the first SIGTERM or SIGINT lets
/// the bundle in hand finish, then the run ends. `prepare` runs once the inbox is locked for
/// this process, before the first round (the import side publishes result bundles a kill
/// left staged).
pub fn watch<H: Handler>(
    config: Config,
    handler: &mut H,
    prepare: impl FnOnce(&mut H),
) -> anyhow::Result<WatchReport> {
    let shown = config.inbox.display().to_string();
    let mut inbox =
        Inbox::open(config).with_context(|| format!("cannot watch the inbox {shown}"))?;
    stop::enter_service_mode();
    let waker = inbox.waker();
    // The engine sleeps on its own events; this thread turns a stop request into one.
    std::thread::Builder::new()
        .name("stop".into())
        .spawn(move || {
            while stop::sleep(Duration::from_secs(3600)) {}
            waker.wake();
        })
        .context("cannot start the thread that waits for a stop")?;
    prepare(handler);
    let summary = inbox.run(handler, &stop::stopping)?;
    Ok(WatchReport {
        inbox: shown,
        done: summary.done,
        duplicates: summary.duplicates,
        quarantined: summary.quarantined,
        retried: summary.retried,
        left: summary.left,
    })
}

/// What a watch prints when it ends (the counts of this run).
#[derive(Debug, Clone, Serialize)]
pub struct WatchReport {
    /// The inbox.
    pub inbox: String,
    /// Bundles handled and moved to `done/`.
    pub done: u64,
    /// Of those, duplicates.
    pub duplicates: u64,
    /// Files quarantined.
    pub quarantined: u64,
    /// Refusals left to be tried again.
    pub retried: u64,
    /// Candidates still in the inbox.
    pub left: u64,
}

impl WatchReport {
    /// Prints the report (`--json`: one document).
    pub fn print(&self, out: &Output) -> anyhow::Result<()> {
        out.success(self, |w| {
            field(w, "inbox", &self.inbox)?;
            field(
                w,
                "done",
                format!("{} ({} duplicate(s))", self.done, self.duplicates),
            )?;
            field(w, "quarantined", self.quarantined)?;
            field(w, "left to retry", self.retried)?;
            field(w, "left", self.left)
        })
    }
}

/// Reads the health a watch last wrote for `inbox` and prints it (`--json`: the document as
/// it is). File names in an inbox and messages quoting bundles come from outside: the text
/// goes through the terminal escape.
pub fn print_health(inbox: &std::path::Path, out: &Output) -> anyhow::Result<()> {
    let health = Health::read(inbox)
        .with_context(|| format!("cannot read the health of the inbox {}", inbox.display()))?;
    out.success(&health, |w| write!(w, "{}", health_text(&health)))
}

/// The health as text for a terminal: every control and bidi character escaped.
fn health_text(health: &Health) -> String {
    safe_block(&health.to_string()).into_owned()
}

/// The refusal the engine records for an error of a handler: the stable code, message and
/// hint the command line prints for the same error.
pub fn refusal(err: &anyhow::Error) -> Refusal {
    match Failure::from_error(err) {
        Some(failure) => Refusal {
            code: failure.code.to_owned(),
            message: failure.message,
            hint: failure.hint,
        },
        // A broken pipe: nothing to do with the bundle; tried again.
        None => Refusal::new("io", format!("{err:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_settle_times_are_bounded() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_interval("0").is_err_and(|e| e.contains("at least 1s")));
        assert!(parse_interval("500ms").is_err());
        assert!(parse_interval("soon").is_err());
        assert_eq!(parse_settle("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_settle("1h"), Ok(MAX_SETTLE));
        assert!(parse_settle("2h").is_err_and(|e| e.contains("at most 1h")));
    }

    #[test]
    fn names_from_the_inbox_reach_the_terminal_escaped() -> Result<(), Box<dyn std::error::Error>> {
        let waiting = serde_json::json!({
            "file": "evil\u{1b}]0;owned\u{7}\u{202e}.zb", "channel": "dev->pci/release",
            "sequence": 3, "since": "2026-12-02T09:00:00Z", "age_seconds": 5,
            "waiting_for": "bundle 2\u{1b}[2J",
        });
        let health: Health = serde_json::from_value(serde_json::json!({
            "service": "import", "pid": 1, "started": "t", "updated": "t", "stopped": false,
            "last_success": null, "queue_length": 1, "oldest_waiting": waiting,
            "waiting": [waiting], "counts": {"done": 0, "duplicates": 0, "quarantined": 0,
            "retried": 0, "ignored": 0},
            "last_error": {"at": "t", "file": "x\r.zb", "code": "corrupt", "message": "m\u{1b}"},
            "unknown_codes": [],
        }))?;
        let text = health_text(&health);
        assert!(
            health.to_string().contains('\u{1b}'),
            "the raw text has them"
        );
        for raw in ['\u{1b}', '\u{7}', '\u{202e}', '\r'] {
            assert!(
                !text.contains(raw),
                "{raw:?} reached the terminal: {text:?}"
            );
        }
        assert!(text.contains("oldest waiting: evil"), "{text}");
        assert_eq!(text.lines().count(), health.to_string().lines().count());
        Ok(())
    }

    #[test]
    fn a_refusal_keeps_the_code_and_moves_the_hint() {
        let err = crate::failure::refused(
            "secrets-missing",
            "1 secret missing: DbPassword\nHint: add it to the secrets file".into(),
        );
        let refusal = refusal(&err);
        assert_eq!(refusal.code, "secrets-missing");
        assert_eq!(refusal.message, "1 secret missing: DbPassword");
        assert_eq!(refusal.hint.as_deref(), Some("add it to the secrets file"));
    }
}
