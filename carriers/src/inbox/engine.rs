//! The engine's loop: a round lists the inbox, settles, peeks, orders and hands bundles to
//! the [`Handler`], then moves them; between rounds it sleeps until an inotify event, the
//! next file to settle, the next retry, the periodic rescan or a stop request.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

use bundle_format::channel::Channel;

use super::candidate::{self, Entry, Stamp};
use super::codes::{self, Disposition};
use super::events::{self, Signal};
use super::health::{self, Counts, Health, LastError, Success, Waiting};
use super::note::{Note, now_rfc3339};
use super::peek::{self, Head, PeekError};
use super::place;
use super::settle::Settle;
use super::{Config, Handler, Outcome, Refusal, Taken, state_dir};
use crate::metrics::{self, Metric, MetricKind};

/// Rounds triggered by inotify events are at least this far apart, so that a file written
/// in many small pieces does not make the engine list the folder for each piece.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Why the watch cannot go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// A file-system operation on the inbox failed.
    #[error("cannot {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Another watch holds the inbox.
    #[error(
        "another watch is already running on {0}\nHint: run one watch per inbox; stop the other one first (its pid is in .watch/health.json)"
    )]
    Busy(PathBuf),
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> InboxError {
    let path = path.to_owned();
    move |source| InboxError::Io { what, path, source }
}

/// Wakes a running [`Inbox::run`] so that it checks its stop condition now (send it from
/// the thread that learns of a SIGTERM).
#[derive(Debug, Clone)]
pub struct Waker(Sender<Signal>);

impl Waker {
    /// Wakes the engine.
    pub fn wake(&self) {
        // The engine is gone: nothing to wake.
        let _ = self.0.send(Signal::Wake);
    }
}

/// What a run did (the counts of this run only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Bundles handled and moved to `done/`.
    pub done: u64,
    /// Of those, duplicates (already done before).
    pub duplicates: u64,
    /// Files quarantined.
    pub quarantined: u64,
    /// Refusals left to be tried again.
    pub retried: u64,
    /// Candidates still in the inbox at the end.
    pub left: u64,
}

/// A watched inbox, locked for this process.
#[derive(Debug)]
pub struct Inbox {
    config: Config,
    done_dir: PathBuf,
    quarantine_dir: PathBuf,
    tx: Sender<Signal>,
    rx: Receiver<Signal>,
    _lock: File,
    settle: Settle,
    heads: BTreeMap<String, (Stamp, Head)>,
    retry: BTreeMap<String, (Stamp, Instant, Refusal)>,
    first_seen: BTreeMap<String, (Instant, String)>,
    ignored: BTreeSet<String>,
    health: Health,
    summary: Summary,
    last_success_unix: Option<i64>,
}

/// A file left in the inbox: its name, the channel and sequence its head claims (once read),
/// and what it waits for.
type Left = (String, Option<(String, u64)>, String);

/// The settled bundles of one channel: sequence, name, stamp.
type ChannelFiles = (Channel, Vec<(u64, String, Stamp)>);

#[derive(Debug, Default)]
struct Round {
    /// The earliest moment something settles.
    next_settled: Option<Instant>,
    /// Whether a file is still settling (so `--once` waits for it).
    settling: bool,
    /// Files left, with what they wait for.
    waiting: Vec<Left>,
}

impl Inbox {
    /// Opens the inbox: makes `done/`, `quarantine/` and `.watch/` if needed, takes the lock
    /// `.watch/lock` (one watch per inbox), and counts what `done/` and `quarantine/` hold.
    pub fn open(config: Config) -> Result<Self, InboxError> {
        let inbox = &config.inbox;
        let meta = fs::metadata(inbox).map_err(io_error("open the inbox", inbox))?;
        if !meta.is_dir() {
            return Err(InboxError::Io {
                what: "watch",
                path: inbox.clone(),
                source: io::Error::other("not a folder"),
            });
        }
        let done_dir = inbox.join("done");
        let quarantine_dir = inbox.join("quarantine");
        let state = state_dir(inbox);
        for dir in [&done_dir, &quarantine_dir, &state] {
            fs::create_dir_all(dir).map_err(io_error("create", dir))?;
        }
        let lock_path = state.join("lock");
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_error("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(InboxError::Busy(inbox.clone())),
            Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &lock_path)(e)),
        }
        let counts = Counts {
            done: count_files(&done_dir, |_| true)?,
            quarantined: count_files(&quarantine_dir, |n| !n.ends_with(".json"))?,
            ..Counts::default()
        };
        let now = now_rfc3339();
        let health = Health {
            service: config.service.to_owned(),
            pid: std::process::id(),
            started: now.clone(),
            updated: now,
            stopped: false,
            last_success: Health::read(inbox).ok().and_then(|h| h.last_success),
            queue_length: 0,
            oldest_waiting: None,
            waiting: Vec::new(),
            counts,
            last_error: None,
            unknown_codes: Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        Ok(Self {
            done_dir,
            quarantine_dir,
            tx,
            rx,
            _lock: lock,
            settle: Settle::default(),
            heads: BTreeMap::new(),
            retry: BTreeMap::new(),
            first_seen: BTreeMap::new(),
            ignored: BTreeSet::new(),
            health,
            summary: Summary::default(),
            last_success_unix: None,
            config,
        })
    }

    /// A handle that wakes [`Inbox::run`] (for a stop request).
    pub fn waker(&self) -> Waker {
        Waker(self.tx.clone())
    }

    /// The health as last written.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Watches and handles until `stopping()` says so (checked between bundles and whenever
    /// the engine wakes; wake it with a [`Waker`]), or with [`Config::once`] until nothing is
    /// left settling. Per-file failures are logged, kept in health and retried; only a
    /// failure to list the inbox or to write its state ends the run.
    pub fn run(
        &mut self,
        handler: &mut dyn Handler,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Summary, InboxError> {
        let _watcher = events::watch(&self.config.inbox, self.tx.clone());
        tracing::info!(
            inbox = %self.config.inbox.display(),
            service = self.config.service,
            settle_ms = self.config.settle.as_millis() as u64,
            rescan_ms = self.config.rescan.as_millis() as u64,
            retry_ms = self.config.retry.as_millis() as u64,
            "watching the inbox"
        );
        let mut next_rescan = Instant::now() + self.config.rescan;
        let mut last_round;
        loop {
            if stopping() {
                break;
            }
            last_round = Instant::now();
            let round = self.round(handler, stopping)?;
            self.publish(&round, false)?;
            if self.config.once && !round.settling {
                break;
            }
            let now = Instant::now();
            if now >= next_rescan {
                next_rescan = now + self.config.rescan;
            }
            let mut deadline = next_rescan;
            if let Some(at) = round.next_settled {
                deadline = deadline.min(at);
            }
            if let Some(at) = self.retry.values().map(|(_, at, _)| *at).min() {
                deadline = deadline.min(at);
            }
            self.wait(deadline, last_round + DEBOUNCE);
        }
        let round = Round {
            waiting: self
                .health
                .waiting
                .iter()
                .map(|w| {
                    (
                        w.file.clone(),
                        w.channel.clone().zip(w.sequence),
                        w.waiting_for.clone(),
                    )
                })
                .collect(),
            ..Round::default()
        };
        self.publish(&round, true)?;
        self.summary.left = self.health.queue_length;
        tracing::info!(
            done = self.summary.done,
            duplicates = self.summary.duplicates,
            quarantined = self.summary.quarantined,
            retried = self.summary.retried,
            left = self.summary.left,
            "the watch stops"
        );
        Ok(self.summary.clone())
    }

    /// Sleeps until `deadline` or a signal; notes renames into the inbox. Signals that come
    /// sooner than `not_before` (a file written in many pieces) are gathered until then, so
    /// that they make one round; a stop request ends the wait at once.
    fn wait(&mut self, deadline: Instant, not_before: Instant) {
        let mut signals = Vec::new();
        let now = Instant::now();
        match self
            .rx
            .recv_timeout(deadline.max(not_before).saturating_duration_since(now))
        {
            Ok(signal) => signals.push(signal),
            // Timeout; or no sender left, which cannot be since we hold one.
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        }
        while !signals.iter().any(|s| matches!(s, Signal::Wake)) {
            let now = Instant::now();
            if now >= not_before {
                break;
            }
            match self.rx.recv_timeout(not_before - now) {
                Ok(signal) => signals.push(signal),
                Err(_) => break,
            }
        }
        signals.extend(self.rx.try_iter());
        for signal in signals {
            if let Signal::File {
                name,
                renamed_in: true,
            } = signal
                && candidate::is_candidate_name(&name)
                && let Some(stamp) = candidate::stamp_now(&self.config.inbox.join(&name))
            {
                self.settle.renamed_in(&name, stamp, Instant::now());
            }
        }
    }

    fn round(
        &mut self,
        handler: &mut dyn Handler,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Round, InboxError> {
        let inbox = self.config.inbox.clone();
        let entries = candidate::scan(&inbox).map_err(io_error("list", &inbox))?;
        let now = Instant::now();
        let mut round = Round::default();
        let mut present = BTreeSet::new();
        let mut ignored = BTreeSet::new();
        // Keyed by the channel's text, which sorts; the files of each sort by sequence, then name.
        let mut by_channel: BTreeMap<String, ChannelFiles> = BTreeMap::new();
        for entry in entries {
            let (name, stamp) = match entry {
                Entry::Candidate(name, stamp) => (name, stamp),
                Entry::NotRegular(name) => {
                    if !self.ignored.contains(&name) {
                        tracing::warn!(file = %name, "named like a bundle but not a regular file (a link or a folder); left alone");
                    }
                    ignored.insert(name);
                    continue;
                }
            };
            present.insert(name.clone());
            self.first_seen
                .entry(name.clone())
                .or_insert_with(|| (now, now_rfc3339()));
            let settled_at = self.settle.observe(&name, stamp, now, self.config.settle);
            if settled_at > now {
                round.settling = true;
                round.next_settled =
                    Some(round.next_settled.map_or(settled_at, |t| t.min(settled_at)));
                round.waiting.push((
                    name,
                    None,
                    format!("settling ({} bytes so far)", stamp.size),
                ));
                continue;
            }
            let head = match self.heads.get(&name) {
                Some((seen, head)) if *seen == stamp => Ok(head.clone()),
                _ => peek::head(&inbox.join(&name), &stamp),
            };
            match head {
                Ok(head) => {
                    self.heads.insert(name.clone(), (stamp, head.clone()));
                    by_channel
                        .entry(head.channel.to_string())
                        .or_insert_with(|| (head.channel.clone(), Vec::new()))
                        .1
                        .push((head.sequence, name, stamp));
                }
                Err(PeekError::Changed) => {
                    self.put_back(&name, &mut round);
                }
                Err(PeekError::Io(err)) => {
                    tracing::error!(file = %name, error = %err, "cannot read the file; tried again later");
                    let refusal = Refusal::new("io", format!("cannot read {name}: {err}"));
                    self.note_error(&name, &refusal);
                    round
                        .waiting
                        .push((name, None, format!("unreadable: {err}")));
                }
                Err(PeekError::Refused(refusal)) => {
                    if self.young_and_truncated(&name, &refusal, &stamp) {
                        self.put_back(&name, &mut round);
                        continue;
                    }
                    if let Err(e) = self.quarantine(&name, &stamp, None, &refusal) {
                        round
                            .waiting
                            .push((name, None, format!("cannot quarantine: {e}")));
                    }
                }
            }
        }
        self.settle.retain(|n| present.contains(n));
        self.heads.retain(|n, _| present.contains(n));
        self.retry.retain(|n, _| present.contains(n));
        self.first_seen.retain(|n, _| present.contains(n));
        self.ignored = ignored;

        for (_, (channel, mut files)) in by_channel {
            files.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let mut expected = match handler.next_expected(&channel) {
                Ok(n) => n,
                Err(refusal) => {
                    for (sequence, name, _) in files {
                        let why = format!(
                            "channel {channel} cannot be read: {}: {}",
                            refusal.code, refusal.message
                        );
                        round
                            .waiting
                            .push((name, Some((channel.to_string(), sequence)), why));
                    }
                    continue;
                }
            };
            for (sequence, name, stamp) in files {
                let claimed = Some((channel.to_string(), sequence));
                if stopping() {
                    round
                        .waiting
                        .push((name, claimed, "the watch is stopping".to_owned()));
                    continue;
                }
                if sequence > expected {
                    let mut why = format!("waiting for bundle {expected} on channel {channel}");
                    if let Some(refused) = handler.last_refusal(&channel, expected) {
                        why.push_str(&format!(" (bundle {expected} was refused: {refused})"));
                    }
                    round.waiting.push((name, claimed, why));
                    continue;
                }
                if let Some((seen, at, refusal)) = self.retry.get(&name)
                    && *seen == stamp
                    && *at > now
                {
                    let why = format!("retry after {}: {}", refusal.code, refusal.message);
                    round.waiting.push((name, claimed, why));
                    continue;
                }
                let head = Head {
                    channel: channel.clone(),
                    sequence,
                };
                if let Some(why) = self.take(handler, &name, &stamp, &head, &mut round) {
                    round.waiting.push((name, claimed, why));
                }
                expected = handler.next_expected(&channel).unwrap_or(expected);
            }
        }
        Ok(round)
    }

    fn put_back(&mut self, name: &str, round: &mut Round) {
        let path = self.config.inbox.join(name);
        if let Some(stamp) = candidate::stamp_now(&path) {
            let now = Instant::now();
            self.settle.reset(name, stamp, now);
            let at = now + self.config.settle;
            round.settling = true;
            round.next_settled = Some(round.next_settled.map_or(at, |t| t.min(at)));
            round.waiting.push((
                name.to_owned(),
                None,
                "settling again (it changed, or may still be arriving)".to_owned(),
            ));
            tracing::info!(file = %name, "put back to settle: it changed, or may still be arriving");
        }
    }

    /// Whether a refusal says the file may still be arriving: truncated (or empty) and
    /// modified less than [`Config::young`] ago. A modification time in the future (a
    /// sender's clock ahead of ours) is not trusted: the time since this watch first saw the
    /// file counts instead, so such a file is not put back forever.
    fn young_and_truncated(&self, name: &str, refusal: &Refusal, stamp: &Stamp) -> bool {
        // An empty file is what a copy looks like before its first write.
        if refusal.code != "truncated" && stamp.size != 0 {
            return false;
        }
        let seen_for = self
            .first_seen
            .get(name)
            .map_or(Duration::ZERO, |(at, _)| at.elapsed());
        let age = stamp
            .modified
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or(seen_for);
        age < self.config.young
    }

    /// Hands one settled bundle to the handler and acts on the outcome; returns what it
    /// still waits for if it stays in the inbox.
    fn take(
        &mut self,
        handler: &mut dyn Handler,
        name: &str,
        stamp: &Stamp,
        head: &Head,
        round: &mut Round,
    ) -> Option<String> {
        let path = self.config.inbox.join(name);
        let file_digest = match peek::file_digest(&path, stamp) {
            Ok(digest) => digest,
            Err(PeekError::Changed) => {
                self.put_back(name, round);
                return None;
            }
            Err(PeekError::Io(e)) => return Some(format!("unreadable: {e}")),
            Err(PeekError::Refused(r)) => return Some(r.message),
        };
        let taken = Taken {
            path: path.clone(),
            name: name.to_owned(),
            file_digest,
            size: stamp.size,
            channel: head.channel.clone(),
            sequence: head.sequence,
        };
        tracing::info!(file = %name, channel = %head.channel, sequence = head.sequence, "taken");
        let outcome = handler.handle(&taken);
        if candidate::stamp_now(&path) != Some(*stamp) {
            tracing::warn!(file = %name, "the file changed while it was handled; it settles again");
            self.put_back(name, round);
            return None;
        }
        match outcome {
            Outcome::Done(detail) => self.done(&taken, detail, false),
            Outcome::AlreadyDone(detail) => self.done(&taken, detail, true),
            Outcome::Refused(refusal) | Outcome::Quarantine(refusal) | Outcome::Retry(refusal)
                if self.young_and_truncated(name, &refusal, stamp) =>
            {
                self.put_back(name, round);
                None
            }
            outcome => {
                let (refusal, disposition) = match outcome {
                    Outcome::Quarantine(r) => (r, Disposition::Quarantine),
                    Outcome::Retry(r) => (r, Disposition::Retry),
                    Outcome::Refused(r) => {
                        let disposition = codes::disposition(&r.code);
                        (r, disposition)
                    }
                    Outcome::Done(_) | Outcome::AlreadyDone(_) => return None,
                };
                match disposition {
                    Disposition::Quarantine => self
                        .quarantine(name, stamp, Some((head, &taken.file_digest)), &refusal)
                        .err()
                        .map(|e| format!("cannot quarantine: {e}")),
                    disposition => {
                        let unknown = disposition == Disposition::Unknown;
                        if unknown && !self.health.unknown_codes.contains(&refusal.code) {
                            self.health.unknown_codes.push(refusal.code.clone());
                        }
                        tracing::warn!(
                            file = %name,
                            channel = %head.channel,
                            sequence = head.sequence,
                            code = %refusal.code,
                            unknown_code = unknown,
                            error = %refusal.message,
                            retry_in_ms = self.config.retry.as_millis() as u64,
                            "refused for now; tried again later"
                        );
                        self.note_error(name, &refusal);
                        self.health.counts.retried += 1;
                        self.summary.retried += 1;
                        let why = format!("retry after {}: {}", refusal.code, refusal.message);
                        self.retry.insert(
                            name.to_owned(),
                            (*stamp, Instant::now() + self.config.retry, refusal),
                        );
                        Some(why)
                    }
                }
            }
        }
    }

    fn done(&mut self, taken: &Taken, detail: String, duplicate: bool) -> Option<String> {
        match place::to_done(&taken.path, &self.done_dir, &taken.name) {
            Ok(placed) => {
                let moved_to = placed.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if duplicate {
                    tracing::info!(file = %taken.name, done = moved_to, channel = %taken.channel, sequence = taken.sequence, detail = %detail, "duplicate: already done; moved to done/");
                    self.health.counts.duplicates += 1;
                    self.summary.duplicates += 1;
                } else {
                    tracing::info!(file = %taken.name, done = moved_to, channel = %taken.channel, sequence = taken.sequence, detail = %detail, "done");
                }
                self.health.counts.done += 1;
                self.summary.done += 1;
                self.health.last_success = Some(Success {
                    at: now_rfc3339(),
                    file: taken.name.clone(),
                    channel: taken.channel.to_string(),
                    sequence: taken.sequence,
                    detail,
                });
                self.last_success_unix = Some(time::OffsetDateTime::now_utc().unix_timestamp());
                None
            }
            Err(e) => {
                tracing::error!(file = %taken.name, error = %e, "cannot move the file to done/; tried again later");
                let refusal =
                    Refusal::new("io", format!("cannot move {} to done/: {e}", taken.name));
                self.note_error(&taken.name, &refusal);
                Some(format!("cannot move to done/: {e}"))
            }
        }
    }

    fn quarantine(
        &mut self,
        name: &str,
        stamp: &Stamp,
        claimed: Option<(&Head, &str)>,
        refusal: &Refusal,
    ) -> io::Result<()> {
        let path = self.config.inbox.join(name);
        let digest = match claimed {
            Some((_, digest)) => digest.to_owned(),
            None => match peek::file_digest(&path, stamp) {
                Ok(d) => d,
                Err(PeekError::Io(e)) => return Err(e),
                Err(_) => return Err(io::Error::other("the file changed")),
            },
        };
        let note = Note {
            at: now_rfc3339(),
            file: name.to_owned(),
            digest,
            channel: claimed.map(|(h, _)| h.channel.to_string()),
            sequence: claimed.map(|(h, _)| h.sequence),
            code: refusal.code.clone(),
            message: refusal.message.clone(),
            hint: refusal.hint.clone(),
        };
        match place::to_quarantine(&path, &self.quarantine_dir, name, &note) {
            Ok(placed) => {
                let moved_to = placed.file_name().and_then(|n| n.to_str()).unwrap_or("");
                tracing::warn!(
                    file = %name,
                    quarantined_as = moved_to,
                    code = %refusal.code,
                    error = %refusal.message,
                    channel = note.channel.as_deref().unwrap_or(""),
                    sequence = note.sequence.unwrap_or(0),
                    "quarantined"
                );
                self.note_error(name, refusal);
                self.health.counts.quarantined += 1;
                self.summary.quarantined += 1;
                Ok(())
            }
            Err(e) => {
                tracing::error!(file = %name, error = %e, "cannot quarantine the file; tried again later");
                Err(e)
            }
        }
    }

    fn note_error(&mut self, name: &str, refusal: &Refusal) {
        self.health.last_error = Some(LastError {
            at: now_rfc3339(),
            file: name.to_owned(),
            code: refusal.code.clone(),
            message: refusal.message.clone(),
        });
    }

    /// Writes health (and metrics) from the round.
    fn publish(&mut self, round: &Round, stopped: bool) -> Result<(), InboxError> {
        let now = Instant::now();
        let mut waiting: Vec<Waiting> = round
            .waiting
            .iter()
            .map(|(name, claimed, why)| {
                let (since_instant, since) = self
                    .first_seen
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| (now, now_rfc3339()));
                Waiting {
                    file: name.clone(),
                    channel: claimed.as_ref().map(|(c, _)| c.clone()),
                    sequence: claimed.as_ref().map(|(_, s)| *s),
                    since,
                    age_seconds: now.saturating_duration_since(since_instant).as_secs(),
                    waiting_for: why.clone(),
                }
            })
            .collect();
        waiting.sort_by(|a, b| b.age_seconds.cmp(&a.age_seconds).then(a.file.cmp(&b.file)));
        self.health.queue_length = waiting.len() as u64;
        self.health.oldest_waiting = waiting.first().cloned();
        waiting.truncate(health::MAX_LISTED);
        self.health.waiting = waiting;
        self.health.counts.ignored = self.ignored.len() as u64;
        self.health.updated = now_rfc3339();
        self.health.stopped = stopped;
        let state = state_dir(&self.config.inbox);
        let text = serde_json::to_vec_pretty(&self.health)
            .map_err(|e| io_error("write health to", &state)(io::Error::other(e)))?;
        crate::publish::write_atomically(&state, health::FILE, &text)
            .map_err(|e| io_error("write health to", &state)(io::Error::other(e)))?;
        if let Some(path) = &self.config.metrics {
            // A metrics file that cannot be written is logged, not fatal: the inbox matters more.
            if let Err(e) = metrics::write(path, &self.metrics()) {
                tracing::error!(metrics = %path.display(), error = %e, "cannot write the metrics file");
            }
        }
        Ok(())
    }

    /// The metrics, named in the operator guide ("The watched inbox").
    fn metrics(&self) -> Vec<Metric> {
        let service = || vec![("service", self.config.service.to_owned())];
        let with = |k: &'static str, v: &str| {
            vec![
                ("service", self.config.service.to_owned()),
                (k, v.to_owned()),
            ]
        };
        let c = &self.health.counts;
        let oldest = self
            .health
            .oldest_waiting
            .as_ref()
            .map_or(0.0, |w| w.age_seconds as f64);
        let mut list = vec![
            Metric {
                name: "zonebridge_inbox_bundles_total",
                help: "Files this run of the watch handled, by outcome.",
                kind: MetricKind::Counter,
                samples: vec![
                    (
                        with("outcome", "done"),
                        (self.summary.done - self.summary.duplicates) as f64,
                    ),
                    (with("outcome", "duplicate"), self.summary.duplicates as f64),
                    (
                        with("outcome", "quarantined"),
                        self.summary.quarantined as f64,
                    ),
                    (with("outcome", "retry"), self.summary.retried as f64),
                ],
            },
            Metric {
                name: "zonebridge_inbox_done_files",
                help: "Files in the inbox's done/ folder.",
                kind: MetricKind::Gauge,
                samples: vec![(service(), c.done as f64)],
            },
            Metric {
                name: "zonebridge_inbox_quarantined_files",
                help: "Files in the inbox's quarantine/ folder.",
                kind: MetricKind::Gauge,
                samples: vec![(service(), c.quarantined as f64)],
            },
            Metric {
                name: "zonebridge_inbox_queue_length",
                help: "Files in the inbox not yet done or quarantined.",
                kind: MetricKind::Gauge,
                samples: vec![(service(), self.health.queue_length as f64)],
            },
            Metric {
                name: "zonebridge_inbox_oldest_waiting_seconds",
                help: "How long the oldest file in the inbox has waited (0 if none).",
                kind: MetricKind::Gauge,
                samples: vec![(service(), oldest)],
            },
            Metric {
                name: "zonebridge_inbox_ignored_entries",
                help: "Entries named like bundles that are not regular files (links, folders).",
                kind: MetricKind::Gauge,
                samples: vec![(service(), c.ignored as f64)],
            },
            Metric {
                name: "zonebridge_inbox_unknown_refusal_codes",
                help: "Refusal codes seen that the watch does not know (retried).",
                kind: MetricKind::Gauge,
                samples: vec![(service(), self.health.unknown_codes.len() as f64)],
            },
            Metric {
                name: "zonebridge_inbox_last_round_timestamp_seconds",
                help: "When the watch last looked at its inbox (Unix time).",
                kind: MetricKind::Gauge,
                samples: vec![(
                    service(),
                    time::OffsetDateTime::now_utc().unix_timestamp() as f64,
                )],
            },
        ];
        if let Some(at) = self.last_success_unix {
            list.push(Metric {
                name: "zonebridge_inbox_last_success_timestamp_seconds",
                help: "When the watch last handled a bundle successfully (Unix time).",
                kind: MetricKind::Gauge,
                samples: vec![(service(), at as f64)],
            });
        }
        list
    }
}

fn count_files(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<u64, InboxError> {
    let mut n = 0;
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        if entry.file_type().is_ok_and(|t| t.is_file())
            && entry
                .file_name()
                .to_str()
                .is_some_and(|name| !name.starts_with('.') && keep(name))
        {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler that must never be called: only files that are not bundles are given.
    #[derive(Debug)]
    struct Never;

    impl Handler for Never {
        fn next_expected(&mut self, _: &Channel) -> Result<u64, Refusal> {
            Err(Refusal::new("test", "not expected to be asked"))
        }
        fn handle(&mut self, bundle: &Taken) -> Outcome {
            Outcome::Refused(Refusal::new("test", format!("handed {}", bundle.name)))
        }
    }

    #[test]
    fn files_that_are_not_bundles_are_quarantined_and_others_left_alone()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let inbox = dir.path();
        fs::write(inbox.join("junk.zb"), b"this is not a bundle at all")?;
        fs::write(inbox.join("empty.zb"), b"")?;
        fs::write(inbox.join(".hidden.zb"), b"x")?;
        fs::write(inbox.join("x.zb.part"), b"x")?;
        fs::create_dir(inbox.join("folder.zb"))?;
        let mut config = Config::new(inbox).with_settle(Duration::ZERO);
        config.once = true;
        config.service = "test";
        config.metrics = Some(inbox.join(".watch/inbox.prom"));
        let mut engine = Inbox::open(config.clone())?;
        let summary = engine.run(&mut Never, &|| false)?;
        assert_eq!(summary.quarantined, 2, "{summary:?}");
        for name in ["junk.zb", "empty.zb"] {
            assert!(inbox.join("quarantine").join(name).is_file(), "{name}");
            let note: Note =
                serde_json::from_slice(&fs::read(inbox.join(format!("quarantine/{name}.json")))?)?;
            assert_eq!(note.file, name);
            assert!(note.channel.is_none());
            assert_eq!(note.digest.len(), 64);
        }
        let note: Note =
            serde_json::from_slice(&fs::read(inbox.join("quarantine/empty.zb.json"))?)?;
        assert_eq!(note.code, "not-a-bundle");
        for name in [".hidden.zb", "x.zb.part", "folder.zb"] {
            assert!(inbox.join(name).exists(), "{name} left alone");
        }
        let health = Health::read(inbox)?;
        assert!(health.stopped);
        assert_eq!(health.counts.quarantined, 2);
        assert_eq!(health.counts.ignored, 1);
        assert_eq!(health.queue_length, 0);
        let metrics = fs::read_to_string(inbox.join(".watch/inbox.prom"))?;
        assert!(
            metrics.contains(
                "zonebridge_inbox_bundles_total{service=\"test\",outcome=\"quarantined\"} 2"
            ),
            "{metrics}"
        );
        // A second watch on the same inbox is refused while the first holds it.
        let second = Inbox::open(config);
        assert!(matches!(second, Err(InboxError::Busy(_))), "{second:?}");
        Ok(())
    }

    /// A signed release bundle on `source->pci/release` at `sequence` (nothing in it is
    /// checked by the engine but its head).
    fn bundle(source: &str, sequence: u64) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        use bundle_format::container::writer::PayloadWriter;
        use bundle_format::keys::SigningKey;
        use bundle_format::manifest::{BundleKind, EntryRole, ReleaseDescription};
        use bundle_format::names::EntryPath;
        use bundle_format::pack::{BundleHeader, Description, seal};

        let process = br#"{"Steps":[]}"#;
        let mut payload = PayloadWriter::new(tempfile::tempfile()?, 1)?;
        payload.append(
            EntryPath::new("process.json")?,
            EntryRole::Process,
            process.len() as u64,
            &mut &process[..],
            &mut |_| {},
        )?;
        let (mut spool, entries) = payload.finish()?;
        let header = BundleHeader {
            kind: BundleKind::Release,
            source_zone: source.parse()?,
            target_zone: "pci".parse()?,
            sequence,
            previous: (sequence > 1).then(|| bundle_format::names::Digest::of(b"previous")),
            created: time::OffsetDateTime::UNIX_EPOCH,
            expires: None,
            bundle_id: None,
        };
        let description = ReleaseDescription {
            project: "P".into(),
            version: format!("1.0.{sequence}"),
            channel: "Default".into(),
            notes: None,
            packages: Vec::new(),
            secrets: Vec::new(),
        };
        let mut out = Vec::new();
        seal(
            header,
            entries,
            Description::Release(description),
            &[SigningKey::generate()?],
            &mut spool,
            &mut out,
        )?;
        Ok(out)
    }

    /// A handler that accepts each channel's bundles in order only, refuses a bundle once
    /// with `first_refusal` if asked, and records what it was handed.
    #[derive(Debug, Default)]
    struct InOrder {
        next: BTreeMap<String, u64>,
        handed: Vec<(String, String, u64)>,
        refuse_once: Option<(String, &'static str)>,
    }

    impl Handler for InOrder {
        fn next_expected(&mut self, channel: &Channel) -> Result<u64, Refusal> {
            Ok(*self.next.get(&channel.to_string()).unwrap_or(&1))
        }
        fn handle(&mut self, bundle: &Taken) -> Outcome {
            let channel = bundle.channel.to_string();
            self.handed
                .push((bundle.name.clone(), channel.clone(), bundle.sequence));
            if let Some((name, code)) = self.refuse_once.take() {
                if name == bundle.name {
                    return Outcome::Refused(Refusal::new(code, "not now\nHint: fix it"));
                }
                self.refuse_once = Some((name, code));
            }
            let next = self.next.entry(channel).or_insert(1);
            if bundle.sequence < *next {
                Outcome::AlreadyDone("seen".into())
            } else if bundle.sequence == *next {
                *next += 1;
                Outcome::Done("imported".into())
            } else {
                Outcome::Refused(Refusal::new("gap", "handed out of order"))
            }
        }
    }

    fn inbox_with(
        files: &[(&str, &str, u64)],
    ) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        for (name, source, sequence) in files {
            fs::write(dir.path().join(name), bundle(source, *sequence)?)?;
        }
        Ok(dir)
    }

    #[test]
    fn each_channel_is_handed_in_sequence_order_whatever_the_names()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = inbox_with(&[
            ("a-third.zb", "dev", 3),
            ("b-first.zb", "dev", 1),
            ("c-second.zb", "dev", 2),
            ("d-copy-of-first.zb", "dev", 1),
            ("e-qa-second.zb", "qa", 2),
            ("f-qa-first.zb", "qa", 1),
            ("g-fifth-without-fourth.zb", "dev", 5),
        ])?;
        let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
        config.once = true;
        let mut handler = InOrder::default();
        let summary = Inbox::open(config)?.run(&mut handler, &|| false)?;
        let dev: Vec<&str> = handler
            .handed
            .iter()
            .filter(|(_, c, _)| c == "dev->pci/release")
            .map(|(n, _, _)| n.as_str())
            .collect();
        assert_eq!(
            dev,
            [
                "b-first.zb",
                "d-copy-of-first.zb",
                "c-second.zb",
                "a-third.zb"
            ]
        );
        let qa: Vec<&str> = handler
            .handed
            .iter()
            .filter(|(_, c, _)| c == "qa->pci/release")
            .map(|(n, _, _)| n.as_str())
            .collect();
        assert_eq!(qa, ["f-qa-first.zb", "e-qa-second.zb"]);
        assert_eq!((summary.done, summary.duplicates, summary.left), (6, 1, 1));
        let health = Health::read(dir.path())?;
        let waiting = health.oldest_waiting.ok_or("nothing waits")?;
        assert_eq!(waiting.file, "g-fifth-without-fourth.zb");
        assert_eq!(
            waiting.waiting_for,
            "waiting for bundle 4 on channel dev->pci/release"
        );
        assert!(dir.path().join("g-fifth-without-fourth.zb").is_file());
        Ok(())
    }

    #[test]
    fn a_refusal_this_side_can_fix_is_retried_and_its_channel_waits()
    -> Result<(), Box<dyn std::error::Error>> {
        for (code, unknown) in [("secrets-missing", false), ("brand-new-code", true)] {
            let dir = inbox_with(&[("one.zb", "dev", 1), ("two.zb", "dev", 2)])?;
            let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
            config.retry = Duration::from_millis(50);
            let mut handler = InOrder {
                refuse_once: Some(("one.zb".into(), code)),
                ..InOrder::default()
            };
            let done = dir.path().join("done");
            let stop = || fs::read_dir(&done).map_or(0, Iterator::count) == 2;
            let mut inbox = Inbox::open(config)?;
            let summary = inbox.run(&mut handler, &stop)?;
            let names: Vec<&str> = handler.handed.iter().map(|(n, _, _)| n.as_str()).collect();
            // Refused, not quarantined; two never handed before one; one handed again.
            assert_eq!(names, ["one.zb", "one.zb", "two.zb"], "{code}");
            assert_eq!(
                (summary.retried, summary.quarantined, summary.done),
                (1, 0, 2)
            );
            let health = inbox.health();
            assert_eq!(
                health.unknown_codes.contains(&code.to_owned()),
                unknown,
                "{code}"
            );
            assert_eq!(
                health.last_error.as_ref().map(|e| e.code.as_str()),
                Some(code)
            );
        }
        Ok(())
    }

    #[test]
    fn a_permanent_refusal_quarantines_with_the_heads_claims_in_the_note()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = inbox_with(&[("one.zb", "dev", 1)])?;
        let mut config = Config::new(dir.path()).with_settle(Duration::ZERO);
        config.once = true;
        let mut handler = InOrder {
            refuse_once: Some(("one.zb".into(), "signature-invalid")),
            ..InOrder::default()
        };
        Inbox::open(config)?.run(&mut handler, &|| false)?;
        let note: Note =
            serde_json::from_slice(&fs::read(dir.path().join("quarantine/one.zb.json"))?)?;
        assert_eq!(note.code, "signature-invalid");
        assert_eq!(note.message, "not now");
        assert_eq!(note.hint.as_deref(), Some("fix it"));
        assert_eq!(note.channel.as_deref(), Some("dev->pci/release"));
        assert_eq!(note.sequence, Some(1));
        assert!(dir.path().join("quarantine/one.zb").is_file());
        Ok(())
    }
}
