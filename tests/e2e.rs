//! End-to-end tests: the real `bridge-export` and `bridge-import` binaries, run as an operator
//! would, in temporary folders. One test binary (STYLE.md, practice 15); the cases live in
//! the modules below, the plumbing in `harness`.
#![forbid(unsafe_code)]

#[path = "e2e/harness.rs"]
mod harness;
#[path = "e2e/standins.rs"]
mod standins;

#[path = "e2e/approvals.rs"]
mod approvals;
#[path = "e2e/automatic.rs"]
mod automatic;
#[path = "e2e/build_information.rs"]
mod build_information;
#[path = "e2e/card_vault.rs"]
mod card_vault;
#[path = "e2e/carry.rs"]
mod carry;
#[path = "e2e/channels.rs"]
mod channels;
#[path = "e2e/crash.rs"]
mod crash;
#[path = "e2e/create_missing.rs"]
mod create_missing;
#[path = "e2e/deploy_crash.rs"]
mod deploy_crash;
#[path = "e2e/deploy_first.rs"]
mod deploy_first;
#[path = "e2e/deploy_modes.rs"]
mod deploy_modes;
#[path = "e2e/diode_receive_cli.rs"]
mod diode_receive_cli;
#[path = "e2e/diode_send_cli.rs"]
mod diode_send_cli;
#[path = "e2e/export.rs"]
mod export;
#[path = "e2e/external_feeds.rs"]
mod external_feeds;
#[path = "e2e/hostile_notes.rs"]
mod hostile_notes;
#[path = "e2e/inputs.rs"]
mod inputs;
#[path = "e2e/interrupt.rs"]
mod interrupt;
#[path = "e2e/keys.rs"]
mod keys;
#[path = "e2e/ledger.rs"]
mod ledger;
#[path = "e2e/output.rs"]
mod output;
#[path = "e2e/permissions.rs"]
mod permissions;
#[path = "e2e/policy.rs"]
mod policy;
#[path = "e2e/pretrust.rs"]
mod pretrust;
#[path = "e2e/promote.rs"]
mod promote;
#[path = "e2e/prompted.rs"]
mod prompted;
#[path = "e2e/references.rs"]
mod references;
#[path = "e2e/refusals.rs"]
mod refusals;
#[path = "e2e/results.rs"]
mod results;
#[path = "e2e/results_watch.rs"]
mod results_watch;
#[path = "e2e/roundtrip.rs"]
mod roundtrip;
#[path = "e2e/secrets_stay.rs"]
mod secrets_stay;
#[path = "e2e/staging.rs"]
mod staging;
#[path = "e2e/step_templates.rs"]
mod step_templates;
#[path = "e2e/success_only.rs"]
mod success_only;
#[path = "e2e/tenants.rs"]
mod tenants;
#[path = "e2e/terminal.rs"]
mod terminal;
#[path = "e2e/vectors.rs"]
mod vectors;
#[path = "e2e/watch.rs"]
mod watch;
#[path = "e2e/watch_hostile.rs"]
mod watch_hostile;
#[path = "e2e/watch_kill.rs"]
mod watch_kill;
