//! `bridge-export`: the development-zone binary. See `cli.rs` for the command line and
//! `commands/` for what each command does.
#![forbid(unsafe_code)]

mod carry;
mod cli;
mod commands;
mod export;
mod results;
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
            Command::Export(args) => commands::export::run(&args, out),
            Command::Pack(args) => commands::pack::run(&args, out),
            Command::Sign(args) => commands::sign::run(&args, out),
            Command::Results(args) => commands::results::run(&args, out),
            Command::Status(args) => commands::status::run(&args, out),
            Command::Run(args) => commands::run::run(&args, out),
            Command::Watch(args) => commands::watch::run(&args, out),
            Command::Send(args) => commands::send::run(&args, out),
            Command::Health(args) => commands::health::run(&args, out),
            Command::Inspect(args) => inspect::run(&args, out),
            Command::Policy(command) => policy::run(&command, out),
            Command::Ledger(command) => ledger::run(&command, Side::Export, out),
            Command::Channel(command) => channel::run(&command, Side::Export, out),
        }
    }
}

fn main() -> ExitCode {
    bridge_cli::app::main::<Cli>()
}
