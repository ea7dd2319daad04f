//! `import`: a verified release bundle becomes a release on the secure-zone Octopus.
//!
//! ```text
//!  FILE ──verify (spec 8) into a private staging folder──> Staged            staged.rs
//!    │ refused: ledger records it (reason), exit 1, instance untouched
//!  ledger: digest accepted before? ── yes ──> "already imported", exit 0      record.rs
//!  ledger channel state ──check_sequence (spec 9)──> next | after skipped     channel.rs
//!    │ replay = already imported; rollback, chain broken, gap, skipped: refused
//!  process.json, variables/*.json, packages (SHA-1) ──> ReleaseContent        content.rs
//!  build-information.json: bounds, shape, no credentials in URLs              build_information.rs
//!  ── connect to the target ──────────────────────── reads only from here ──────────────
//!  project.json: project, channels, library sets missing? ──> Creation        create.rs
//!    │ missing without --create-missing, group/lifecycle missing: refused
//!  package versions against the channel's version rules (server's rule-test)   channel_rules.rs
//!    │ --dry-run with something to create: print the creation plan, stop
//!  --create-missing: create project, library sets, channels (found by name first) create.rs
//!  project, library variable sets (by name, mapping file) ──> Owners           resolve.rs
//!  step templates: create, update, use, or refuse a conflict ──> TemplateWork  templates.rs
//!  environments, channels, feeds, worker pools, teams, actions ──> Resolved   resolve.rs
//!    │ every unresolved name listed in one refusal
//!  stored sensitive action properties: kept, never set/replaced/cleared        properties.rs
//!  plain variables that would shadow a stored secret: refused, naming both     shadow.rs
//!  tenants.json: tenants, tags, templates; sensitive tenant values           tenants.rs
//!  secrets: stored on the target, or in the secrets file ──> SecretSources    requirements.rs
//!    │ every missing secret listed in one refusal
//!  packages in the feed? process, variables differ? release exists? ──> Work  plan.rs
//!    build information: pushed, kept (the same), or refused (another record)  build_information.rs
//!    external packages: each version on the target's feed (search API)        external.rs
//!    │ every missing artifact listed in one refusal
//!  automatic phases, triggers, AutoCreateRelease on the target               automatic.rs
//!    │ every one listed in one refusal (automatic-start), unless --allow-automatic-start
//!    │ --dry-run: print the plan, stop (nothing written, not even the ledger)
//!  ── writes, each only where something differs ─────────────────────────────────────────
//!  tenants -> step templates -> process -> library variable sets -> project variables
//!    -> build information -> packages -> release                               apply.rs
//!    (packages after process and variables: a built-in feed trigger that fires on the
//!     upload snapshots the new process, never the old one)
//!  read the release back and compare with the bundle ── differs: exit 1        compare.rs
//!  ledger: audit per step, promotion "imported", bundle accepted (LAST)        record.rs
//! ```
//!
//! Every refusal comes before the first write (except the read-back check, which can only
//! fail after the release exists). A crash at any point leaves a state a re-run completes, and
//! a run after a completed import is a no-op ([`hook`] is the test hook that proves it).

pub mod apply;
pub mod automatic;
pub mod build_information;
pub mod channel_rules;
pub mod compare;
pub mod content;
pub mod create;
pub mod external;
pub mod files;
pub mod hook;
pub mod mapping;
pub mod packages;
pub mod pipeline;
pub mod plan;
pub mod properties;
pub mod record;
pub mod refuse;
pub mod release;
pub mod report;
pub mod requirements;
pub mod resolve;
pub mod secrets;
pub mod shadow;
pub mod source_version;
pub mod target;
pub mod templates;
pub mod tenants;
pub mod variables;
