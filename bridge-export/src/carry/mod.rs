//! The scheduled export (`bridge-export run --config carry.toml`): the carry file says which
//! releases go to which zone; each run exports every qualifying release not yet exported,
//! oldest first, each as its own bundle, into the outbox.
//!
//! ```text
//! carry.toml --config::read--> CarryFile (checked once: keys, outbox, schedule, rules)
//! run:  outbox::recover (what a kill between outbox and ledger left)
//!       Octopus --select--> candidates (projects, channels, gate, flood guard) - ledger's exported
//!       oldest first: export_release (the `export` command's own code)
//!            -> staging beside the outbox -> outbox/NAME.zb -> ledger
//!       a failed release: reported (log, health, metrics), skipped, retried next run
//!       state/health.json, state/last-run, metrics file
//! service: croner schedule (UTC); a run missed while down is caught up at start-up;
//!       SIGTERM: the release in hand is finished, then exit 0
//! ```

pub mod config;
pub mod outbox;
pub mod schedule;
pub mod select;
pub mod state;
