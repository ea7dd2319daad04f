//! Export: a release on the development-zone Octopus becomes a release folder (bundle spec 13)
//! that `pack` seals, so an exported bundle and a hand-packed one are the same kind of thing.
//!
//! ```text
//! Octopus (dev) ──GET──> project, release, channel
//!               ──GET──> process snapshot, project + library variable snapshots (never the live project)
//!               ──GET──> environments, channels, feeds, worker pools, teams (ids -> names)
//!               ──GET──> each selected package, streamed to disk, SHA-1 checked against the feed
//!   names::process_to_names / variables_to_names ──> process.json, variables/*.json
//!   each step template the process uses, at its version ──> step-templates.json
//!   sensitive variables and sensitive action properties ──> [[secrets]] (names, never values)
//!               ──GET──> tenants connected to the project, their values (live) ──> tenants.json
//!   the release's BuildInformation (or build-information?packageId=), URLs without
//!   user:pass@ ──> build-information.json
//!   scan::refuse_ids: anything still shaped like an Octopus id ──> refused (`id-leak`)
//!   release.toml ──> ReleaseDir::open ──> pack (sequence from the export ledger)
//! ```

pub mod build_information;
pub mod fetch;
pub mod folder;
pub mod scan;
pub mod templates;
pub mod tenants;
