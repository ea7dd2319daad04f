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

    /// Also accept KEY with a role granting only the listed Octopus permissions
    /// (`KEY=ProjectView,ReleaseView`; repeatable). Outside its role a request gets 403 with
    /// Octopus's body. The permission each route needs is in `src/permissions.rs`.
    #[arg(long, value_name = "KEY=PERMISSION,...")]
    pub role_key: Vec<octopus_standin::permissions::RoleKey>,

    /// Serve the API under this path (`/octopus` serves `/octopus/api/...`), as an Octopus
    /// behind a reverse proxy's virtual directory; links carry it.
    #[arg(long, value_name = "PATH", default_value = "")]
    pub path_base: String,

    /// The Octopus Server version `GET /api` reports (default: the 2020.5.0 of the Swagger
    /// spec the stand-in is held to), to test clients against older and newer servers.
    #[arg(long, value_name = "VERSION", default_value = octopus_standin::routes::root::SERVER_VERSION)]
    pub server_version: String,

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
