//! Every write of an import is counted here, for the crash-safety TEST HOOK:
//!
//! `ZONEBRIDGE_TEST_KILL_AFTER_WRITES=N` makes the import send itself SIGKILL right after its
//! N-th write, to Octopus (a `POST`, `PUT` or package upload) or to the ledger. The kill test
//! sets it to every N in turn and checks that a plain re-run then completes the import and
//! that a third run is a no-op. It is a test hook, not an option: it is not in `--help`, and
//! when it is set the import prints a warning banner on standard error first. Never set it in
//! production.

use std::time::Duration;

use bridge_cli::failure::UsageError;

/// The environment variable of the crash-safety test hook.
pub const KILL_AFTER_WRITES: &str = "ZONEBRIDGE_TEST_KILL_AFTER_WRITES";

/// Counts writes; kills the process after the N-th if the test hook asks for it.
#[derive(Debug, Default)]
pub struct Writes {
    count: u64,
    kill_after: Option<u64>,
}

impl Writes {
    /// Reads the test hook from the environment, printing its banner when it is set.
    pub fn from_env() -> Result<Self, UsageError> {
        let Some(value) = std::env::var_os(KILL_AFTER_WRITES) else {
            return Ok(Self::default());
        };
        let kill_after = value
            .to_str()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                UsageError(format!(
                    "{KILL_AFTER_WRITES} must be a whole number of writes, 1 or more\nHint: it is a test hook; unset it"
                ))
            })?;
        eprintln!(
            "WARNING: {KILL_AFTER_WRITES}={kill_after} is set: this import will kill itself (SIGKILL) right after its write number {kill_after}.\nWARNING: this is a crash-safety TEST HOOK; never set it outside tests."
        );
        Ok(Self {
            count: 0,
            kill_after: Some(kill_after),
        })
    }

    /// How many writes were made so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Counts one write (`what` names it for the banner); after the N-th, SIGKILL.
    pub fn done(&mut self, what: &str) -> anyhow::Result<()> {
        self.count = self.count.saturating_add(1);
        if self.kill_after != Some(self.count) {
            return Ok(());
        }
        eprintln!("test hook: SIGKILL after write {} ({what})", self.count);
        let pid = std::process::id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
        // The signal is delivered at once; if `kill` could not be run, do not go on as if
        // nothing happened.
        std::thread::sleep(Duration::from_secs(5));
        anyhow::bail!("the test hook {KILL_AFTER_WRITES} could not kill this process")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_counted_without_the_hook() -> anyhow::Result<()> {
        let mut writes = Writes::default();
        writes.done("one")?;
        writes.done("two")?;
        assert_eq!(writes.count(), 2);
        Ok(())
    }
}
