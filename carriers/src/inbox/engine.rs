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
use super::measures;
use super::note::{Note, now_rfc3339};
use super::peek::{self, Head, PeekError};
use super::place;
use super::settle::Settle;
use super::{Config, Handler, Outcome, Refusal, Taken, state_dir};
use crate::metrics;

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
            place::ensure_real_folder(dir).map_err(io_error("use", dir))?;
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
        place::ensure_real_folder(&state).map_err(io_error("use", &state))?;
        let text = serde_json::to_vec_pretty(&self.health)
            .map_err(|e| io_error("write health to", &state)(io::Error::other(e)))?;
        crate::publish::write_atomically(&state, health::FILE, &text)
            .map_err(|e| io_error("write health to", &state)(io::Error::other(e)))?;
        if let Some(path) = &self.config.metrics {
            // A metrics file that cannot be written is logged, not fatal: the inbox matters more.
            if let Err(e) = metrics::write(
                path,
                &measures::metrics(
                    self.config.service,
                    &self.health,
                    &self.summary,
                    self.last_success_unix,
                ),
            ) {
                tracing::error!(metrics = %path.display(), error = %e, "cannot write the metrics file");
            }
        }
        Ok(())
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
#[path = "engine_tests.rs"]
mod tests;
