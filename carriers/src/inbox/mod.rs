//! The watched inbox: a folder that bundles are dropped into by a copy script, `rsync`, a
//! transfer host or a diode receiver, and that a service empties in channel order. The
//! engine here knows files, names and order; what a bundle means (verification, the ledger,
//! Octopus) belongs to the binary, through [`Handler`].
//!
//! ```text
//!  inotify (notify) ---+                        per channel, in sequence order
//!  rescan every N s ---+--> scan --> settle --> peek --> order --> Handler::handle
//!  start-up rescan  ---+     |         |         |         |            |
//!                         candidates  size,    channel,  waits for   Done/AlreadyDone -> done/NAME
//!                         only        mtime,   sequence  the next    Refused(permanent) -> quarantine/NAME
//!                                     inode    (not      expected    Refused(retry)   -> stays, retried
//!                                     stable   trusted)  bundle                          every --retry
//! ```
//!
//! # Which files (the contract between the services)
//!
//! Candidates are regular files directly in the inbox, named `*.zb`, not starting with `.`.
//! Everything else is left alone: rsync's `.name.XXXXXX`, `*.part`, hidden temporaries,
//! folders, symbolic links (even one named `x.zb`: the engine never follows a link, and logs
//! it once). Processed files move to `done/NAME`; refused ones to `quarantine/NAME` beside
//! `quarantine/NAME.json` ([`note::Note`]); a name already taken there gets a suffix
//! (`NAME` = `x.zb` becomes `x.1.zb`, `x.2.zb`, ...). The engine's own state is in `.watch/`
//! ([`health::Health`] in `.watch/health.json`).
//!
//! # When a file is complete (the settle rule)
//!
//! A candidate is taken once its size, modification time and inode were seen unchanged for
//! [`Config::settle`]; one that arrived by a rename into the inbox (inotify `MOVED_TO`, the
//! outbox's convention: whole files renamed in) is taken at once. A file that changed while
//! it was handled, or that is empty or found truncated while it is young (modified less than
//! [`Config::young`] ago), is put back to settle again, never quarantined early. A rename
//! into the inbox is only seen as such while the service runs; after a restart every file
//! waits out the settle time.
//!
//! # Order
//!
//! The engine reads each settled file's unverified head ([`bundle_format::inspect`], a
//! bounded read) only to learn its channel and sequence and so ORDER the work; the handler's
//! full verification decides everything. Per channel, a bundle whose sequence is at most
//! [`Handler::next_expected`] is handled (lower ones are duplicates or replays, which the
//! handler tells apart), a later one waits for its predecessor, and health says "waiting for
//! bundle N on CHANNEL" (with the time and reason if bundle N was refused). A file whose head
//! does not read as a bundle is quarantined (`not-a-bundle` and the like), unless it is a
//! young truncated file, which may still be arriving.
//!
//! # Outcomes
//!
//! The handler returns an [`Outcome`]. A refusal's code decides its fate ([`codes`]): a
//! permanent one (the bundle itself is wrong: signature, digest, zone, expiry, rollback,
//! chain, ...) is quarantined; one that depends on the target's state or this zone's
//! configuration (a missing project, unresolved names, missing secrets, Octopus unreachable,
//! ...) leaves the file where it is and its channel waiting, and it is tried again every
//! [`Config::retry`]. An unknown code is retried too (never lose a bundle), and health names
//! it.
//!
//! # A kill at any moment (crash-point analysis)
//!
//! The engine keeps no state that matters in memory: the inbox itself is the queue, and the
//! handler's ledger says what was done. A file leaves the inbox only by one `rename`, after
//! the handler has durably finished with it. Going through the crash points in order:
//!
//! 1. Killed while scanning, settling or peeking: nothing was written; the next start scans
//!    again and waits out the settle time again.
//! 2. Killed inside the handler: the handler's own idempotence covers it (for imports, the
//!    ledger and Octopus: an import of an imported bundle is a no-op, a deployment started is
//!    followed rather than started again). The file is still in the inbox and is handled
//!    again; an import that had finished is then [`Outcome::AlreadyDone`].
//! 3. Killed after the handler returned Done, before the rename to `done/`: as 2; the second
//!    run finds it already done and moves it (the log says "already done").
//! 4. Killed after the rename to `done/`: finished. The rename is atomic, and `done/` is
//!    flushed after it, so a file is never both in the inbox and in `done/`.
//! 5. Quarantine: the note is written first (atomically, as `quarantine/FINAL.json`, for the
//!    name `FINAL` that the file will take), then the file is renamed to `quarantine/FINAL`.
//!    Killed between the two, the file is still in the inbox and a note with its digest waits
//!    without its file; the next run refuses it again and reuses that note's name (a note
//!    without its file and with the same digest is taken over, not suffixed), so the end
//!    state is one file and one note.
//! 6. Retry later: nothing moves; a restart retries at once.
//! 7. Health and metrics are rewritten whole (atomically) after each round; a kill leaves the
//!    previous version, and the next start recomputes them from the folders.
//!
//! Names in `done/` and `quarantine/` are chosen by checking that the name is free, then
//! renaming: only the service writes there (one service per inbox; `.watch/lock` holds it).

pub mod codes;
pub mod health;
pub mod note;

mod candidate;
mod engine;
mod events;
mod measures;
mod peek;
mod place;
mod settle;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bundle_format::channel::Channel;

pub use engine::{Inbox, InboxError, Summary, Waker};

/// How the engine watches and paces its inbox. Build with [`Config::new`] and change the
/// fields you need (new fields get defaults, so this stays compatible).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The inbox folder (`done/`, `quarantine/` and `.watch/` are made inside it).
    pub inbox: PathBuf,
    /// How long a file's size, modification time and inode must stay unchanged before it is
    /// taken (default 5 s).
    pub settle: Duration,
    /// How often the folder is listed again in case inotify missed something, as it does on
    /// network filesystems (default 30 s).
    pub rescan: Duration,
    /// How often a bundle refused for a reason this zone can fix is tried again (default 1
    /// minute).
    pub retry: Duration,
    /// A file modified less than this long ago that is refused as truncated is put back to
    /// settle, since it may still be arriving (default 3 x settle, at least 3 s).
    pub young: Duration,
    /// Handle what the inbox holds now (waiting for files to settle), then return.
    pub once: bool,
    /// The metrics file to rewrite after each round (Prometheus text format).
    pub metrics: Option<PathBuf>,
    /// The `service` label of the metrics and the name in logs (`import`, `export`).
    pub service: &'static str,
}

impl Config {
    /// The defaults for `inbox`.
    pub fn new(inbox: impl Into<PathBuf>) -> Self {
        Self {
            inbox: inbox.into(),
            settle: Duration::from_secs(5),
            rescan: Duration::from_secs(30),
            retry: Duration::from_secs(60),
            young: Duration::from_secs(15),
            once: false,
            metrics: None,
            service: "inbox",
        }
    }

    /// Sets [`Config::settle`], and [`Config::young`] to 3 times it (at least 3 s).
    pub fn with_settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self.young = (settle * 3).max(Duration::from_secs(3));
        self
    }
}

/// The state folder of an inbox: `DIR/.watch`.
pub fn state_dir(inbox: &Path) -> PathBuf {
    inbox.join(".watch")
}

/// A settled file handed to the [`Handler`], with what the engine read of it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Taken {
    /// Its path in the inbox.
    pub path: PathBuf,
    /// Its file name.
    pub name: String,
    /// SHA-256 of the file as taken (hex), for the notes.
    pub file_digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// The channel its unverified head claims.
    pub channel: Channel,
    /// The sequence number its unverified head claims.
    pub sequence: u64,
}

/// A refusal: a stable kebab-case code, what happened, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refusal {
    /// The stable code (spec 12's for bundle refusals, the binaries' for the rest), such as
    /// `signature-invalid` or `secrets-missing`.
    pub code: String,
    /// What was refused and why.
    pub message: String,
    /// What the operator can do, if anything.
    pub hint: Option<String>,
}

impl Refusal {
    /// A refusal; a message ending in `\nHint: ...` lines has them moved into the hint.
    pub fn new(code: impl Into<String>, message: impl AsRef<str>) -> Self {
        let mut text = Vec::new();
        let mut hints = Vec::new();
        for line in message.as_ref().lines() {
            match line.strip_prefix("Hint: ") {
                Some(hint) => hints.push(hint),
                None => text.push(line),
            }
        }
        Self {
            code: code.into(),
            message: text.join("\n"),
            hint: (!hints.is_empty()).then(|| hints.join("\n")),
        }
    }
}

/// What the handler did with a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Finished: the file moves to `done/`. The text says what was done, for the log.
    Done(String),
    /// Nothing to do, it was done before (a duplicate, or a re-run after a crash): the file
    /// moves to `done/` too, and the log says duplicate.
    AlreadyDone(String),
    /// Refused: the code decides between quarantine and retry ([`codes::disposition`]).
    Refused(Refusal),
    /// Refused for good whatever the code says: quarantine it.
    Quarantine(Refusal),
    /// Refused for now whatever the code says: leave it and try again after `--retry`.
    Retry(Refusal),
}

/// What the binary does with each bundle; the engine does the rest.
pub trait Handler {
    /// The next sequence number `channel` accepts (1 for a channel never seen), bundles
    /// given up on (`channel skip`) counted as passed. An error is treated as a retry of
    /// the whole channel.
    fn next_expected(&mut self, channel: &Channel) -> Result<u64, Refusal>;

    /// Verifies and processes one bundle, fully: the engine's reading of its head is not
    /// trusted. Must be idempotent: the same file may be handed again after a crash.
    fn handle(&mut self, bundle: &Taken) -> Outcome;

    /// When and why bundle `sequence` of `channel` was last refused, if it was (for the
    /// health's "waiting for" line).
    fn last_refusal(&mut self, channel: &Channel, sequence: u64) -> Option<String> {
        let _ = (channel, sequence);
        None
    }
}
