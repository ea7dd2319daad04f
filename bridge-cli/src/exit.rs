//! Exit codes a scheduler can act on. Both binaries use exactly these, and `--help` lists them
//! ([`EXIT_CODES_HELP`]).

/// Success: the command did what was asked (for `verify`, the bundle is trusted).
pub const SUCCESS: u8 = 0;
/// Refused: the bundle is not trusted or is invalid, or the operation on it was refused
/// (for example a second signature by the same key). Do not retry with the same bundle.
pub const REFUSED: u8 = 1;
/// Usage error: bad arguments. clap's own exit code for argument errors is the same.
pub const USAGE: u8 = 2;
/// Configuration refused: the trust policy or a key file is invalid, or a private key file is
/// readable by others.
pub const CONFIG: u8 = 3;
/// Input/output failure: a missing file, a full disk, an output that already exists.
pub const IO: u8 = 4;
/// The deployment ended but did not succeed (failed, cancelled, timed out); its result bundle
/// was written and the report printed.
pub const DEPLOYMENT_FAILED: u8 = 5;
/// The deployment has not ended (it waits for a person, or was still running when the wait
/// ended); a result bundle saying so was written. Run `deploy` again to follow it further.
pub const DEPLOYMENT_WAITING: u8 = 6;
/// Interrupted by SIGINT (Ctrl-C; 128 + 2, as shells report it): no output was written and
/// every temporary file, staging and working folder of the command was removed.
pub const INTERRUPTED: u8 = 130;
/// Stopped by SIGTERM (128 + 15); as [`INTERRUPTED`].
pub const TERMINATED: u8 = 143;

/// The exit codes as `--help` shows them (clap `after_help`).
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  refused: the bundle is not trusted or is invalid (or the operation on it was refused)
  2  usage error: bad arguments
  3  configuration refused: policy or key file invalid, or key file readable by others
  4  input/output failure: missing file, disk full, output already exists
  5  deploy: the deployment failed, was cancelled or timed out (result bundle written)
  6  deploy: the deployment waits (manual intervention, guided failure, still running)
  130  interrupted (SIGINT, Ctrl-C): no output written, temporary files removed
  143  stopped (SIGTERM): no output written, temporary files removed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_names_every_code() {
        for code in [
            SUCCESS,
            REFUSED,
            USAGE,
            CONFIG,
            IO,
            DEPLOYMENT_FAILED,
            DEPLOYMENT_WAITING,
            INTERRUPTED,
            TERMINATED,
        ] {
            assert!(EXIT_CODES_HELP.contains(&format!("  {code}  ")), "{code}");
        }
    }
}
