//! Tests of the Octopus client: its types against the payload fixtures, and its conventions
//! against the stand-in (started for real on a loopback port) and against a scripted server for
//! what the stand-in never does (5xx answers, dropped connections).
#![forbid(unsafe_code)]

#[path = "client/harness.rs"]
mod harness;

#[path = "client/conventions.rs"]
mod conventions;
#[path = "client/fixtures.rs"]
mod fixtures;
#[path = "client/limits.rs"]
mod limits;
#[path = "client/retries.rs"]
mod retries;
#[path = "client/tasks.rs"]
mod tasks;
#[path = "client/tenant_values.rs"]
mod tenant_values;
