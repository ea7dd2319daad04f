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

    /// The Octopus Server to behave as: `2025` (a current server, the default) or `2020.5`
    /// (the version of the Swagger spec in fixtures/). It decides the version `GET /api`
    /// reports, the routes served and the payload shapes sent.
    #[arg(
        long,
        env = "OCTOPUS_STANDIN_PROFILE",
        value_name = "2020.5|2025",
        default_value_t = octopus_standin::profile::Profile::default()
    )]
    pub profile: octopus_standin::profile::Profile,

    /// Report this version in `GET /api` instead of the profile's, to test a client's
    /// version checks; the profile still decides what is served.
    #[arg(long, value_name = "VERSION")]
    pub server_version: Option<String>,

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
