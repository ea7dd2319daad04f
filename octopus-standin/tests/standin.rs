//! Tests of the stand-in: the real binary started on a loopback port and driven over HTTP, as
//! Zonebridge's client will drive it. One test binary (STYLE.md, practice 15); the cases live
//! in the modules below, the plumbing in `harness`.
#![forbid(unsafe_code)]

#[path = "standin/harness.rs"]
mod harness;

#[path = "standin/swagger.rs"]
mod swagger;

#[path = "standin/action_templates.rs"]
mod action_templates;
#[path = "standin/auth_and_paging.rs"]
mod auth_and_paging;
#[path = "standin/automatic.rs"]
mod automatic;
#[path = "standin/build_information.rs"]
mod build_information;
#[path = "standin/channel_rules.rs"]
mod channel_rules;
#[path = "standin/contract.rs"]
mod contract;
#[path = "standin/contract_fixtures.rs"]
mod contract_fixtures;
#[path = "standin/contract_wire.rs"]
mod contract_wire;
#[path = "standin/current_routes.rs"]
mod current_routes;
#[path = "standin/current_shapes.rs"]
mod current_shapes;
#[path = "standin/deployment_lists.rs"]
mod deployment_lists;
#[path = "standin/deployments.rs"]
mod deployments;
#[path = "standin/executions.rs"]
mod executions;
#[path = "standin/feeds.rs"]
mod feeds;
#[path = "standin/guided.rs"]
mod guided;
#[path = "standin/packages.rs"]
mod packages;
#[path = "standin/permissions.rs"]
mod permissions;
#[path = "standin/persistence.rs"]
mod persistence;
#[path = "standin/processes.rs"]
mod processes;
#[path = "standin/profile_routes.rs"]
mod profile_routes;
#[path = "standin/references.rs"]
mod references;
#[path = "standin/releases.rs"]
mod releases;
#[path = "standin/runbooks.rs"]
mod runbooks;
#[path = "standin/seeds.rs"]
mod seeds;
#[path = "standin/seeds_deploy.rs"]
mod seeds_deploy;
#[path = "standin/seeds_secure.rs"]
mod seeds_secure;
#[path = "standin/task_states.rs"]
mod task_states;
#[path = "standin/tenant_variables.rs"]
mod tenant_variables;
#[path = "standin/tenants.rs"]
mod tenants;
#[path = "standin/variables.rs"]
mod variables;
