//! Tests of the stand-in: the real binary started on a loopback port and driven over HTTP, as
//! Zonebridge's client will drive it. One test binary (STYLE.md, practice 15); the cases live
//! in the modules below, the plumbing in `harness`.
#![forbid(unsafe_code)]

#[path = "standin/harness.rs"]
mod harness;

#[path = "standin/swagger.rs"]
mod swagger;

#[path = "standin/auth_and_paging.rs"]
mod auth_and_paging;
#[path = "standin/contract.rs"]
mod contract;
#[path = "standin/deployments.rs"]
mod deployments;
#[path = "standin/packages.rs"]
mod packages;
#[path = "standin/persistence.rs"]
mod persistence;
#[path = "standin/processes.rs"]
mod processes;
#[path = "standin/releases.rs"]
mod releases;
#[path = "standin/seeds.rs"]
mod seeds;
#[path = "standin/variables.rs"]
mod variables;
