//! What `bridge-export` and `bridge-import` share, so that nothing is written twice:
//!
//! - [`exit`]: the documented exit codes; [`failure`]: any error to (exit code, stable code,
//!   message, hint), once; [`app`]: `main` itself, which prints a failure once.
//! - [`output`]: `--json` and `--quiet`, the JSON envelope; [`progress`]: bars on a terminal only;
//!   [`write_progress`]: a bundle being written, phase by phase.
//! - [`atomic`]: output files that appear whole or not at all; [`input`]: `-` for stdin;
//!   [`cleanup`]: temporary files removed on SIGINT and SIGTERM, and after a SIGKILL.
//! - [`safe`]: text from outside (bundles, Octopus, file names) escaped for a terminal.
//! - [`toml_lines`]: the line a refusal of an operator's TOML file names.
//! - [`time_arg`]: RFC 3339 arguments and `SOURCE_DATE_EPOCH`; [`view`]: a manifest shown to
//!   people and to `--json`.
//! - [`receive`]: a bundle verified into private staging, then placed on its channel.
//! - [`signing`]: `--key` files read once, the same key twice refused.
//! - [`octopus`]: how a command reaches an Octopus instance (`--server`, `--api-key`, ...).
//! - [`service`]: what the long-running commands share: logs as text or JSON lines, a
//!   graceful stop on the first SIGTERM.
//! - [`commands`]: `keygen`, `policy init`, `policy trust` and `inspect`, offered by both.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod atomic;
pub mod cleanup;
pub mod commands;
pub mod exit;
pub mod failure;
pub mod input;
pub mod octopus;
pub mod output;
pub mod progress;
pub mod receive;
pub mod safe;
pub mod service;
pub mod signing;
pub mod time_arg;
pub mod toml_lines;
pub mod view;
pub mod write_progress;
