//! `bridge-import`: the secure-zone binary. See `cli.rs` for the command line and
//! `commands/` for what each command does.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod deploy;
mod import;
mod receive;
mod watch;

use std::process::ExitCode;

use bridge_cli::app::App;
use bridge_cli::commands::ledger::{self, Side};
use bridge_cli::commands::{channel, inspect, keygen, policy};
use bridge_cli::output::{GlobalArgs, Output};

use crate::cli::{Cli, Command};

impl App for Cli {
    fn global(&self) -> GlobalArgs {
        self.global
    }

    fn run(self, out: &Output) -> anyhow::Result<()> {
        match self.command {
            Command::Keygen(args) => keygen::run(&args, out),
            Command::Verify(args) => commands::verify::run(&args, out),
            Command::Inspect(args) => inspect::run(&args, out),
            Command::Unpack(args) => commands::unpack::run(&args, out),
            Command::Import(args) => commands::import::run(&args, out),
            Command::Deploy(args) => commands::deploy::run(&args, out),
            Command::Watch(args) => commands::watch::run(&args, out),
            Command::Receive(args) => commands::receive::run(&args, out),
            Command::Health(args) => commands::health::run(&args, out),
            Command::Policy(command) => policy::run(&command, out),
            Command::Ledger(command) => ledger::run(&command, Side::Import, out),
            Command::Channel(command) => channel::run(&command, Side::Import, out),
        }
    }
}

fn main() -> ExitCode {
    bridge_cli::app::main::<Cli>()
}
