//! The stand-in's command line (clap types only).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// An Octopus Deploy-compatible server on loopback, for Zonebridge's demo and tests.
///
/// Prints its URL (http://127.0.0.1:PORT) as the first line on standard output, then serves
/// until interrupted. Not a product: it keeps everything in one JSON file and runs deployment
/// scripts as the user that started it.
#[derive(Debug, Parser)]
#[command(name = "octopus-standin", version)]
pub struct Cli {
    /// The loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// The API key clients must send as X-Octopus-ApiKey (or ?ApiKey=).
    #[arg(
        long,
        env = "OCTOPUS_STANDIN_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_key: String,

    /// Keep state in this JSON file, rewritten after every change, so a restart keeps it.
    /// Package files go in the folder FILE.packages beside it, task scratch folders in
    /// FILE.tasks.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// Load this scenario at start (ignored when --data names a file that already exists).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Fail a deployment whose script runs longer than this many seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub script_timeout: u64,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
