//! Running an `Octopus.Script` action's inline bash script for real: written to the task's
//! scratch folder, run with `bash` there, its output streamed line by line to the log, its exit
//! code deciding the action's outcome.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

/// How a script ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exit code 0.
    Succeeded,
    /// A non-zero exit code (or death by signal, as -1).
    Failed(i32),
    /// It ran past the timeout and was killed.
    TimedOut,
    /// It could not be started.
    NotStarted(String),
}

/// Runs `body` with bash in `folder`, calling `line` with each output line and whether it came
/// from standard error.
pub async fn run(
    folder: &Path,
    body: &str,
    timeout: Duration,
    mut line: impl FnMut(&str, bool),
) -> Outcome {
    let script = folder.join("script.sh");
    if let Err(e) = tokio::fs::write(&script, body).await {
        return Outcome::NotStarted(format!("cannot write {}: {e}", script.display()));
    }
    let mut command = Command::new("bash");
    command
        .arg(&script)
        .current_dir(folder)
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", folder)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::NotStarted(format!("cannot start bash: {e}")),
    };
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Outcome::NotStarted("bash has no output pipes".to_owned());
    };
    let mut out = BufReader::new(stdout).lines();
    let mut err = BufReader::new(stderr).lines();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            l = out.next_line(), if out_open => match l {
                Ok(Some(l)) => line(&l, false),
                _ => out_open = false,
            },
            l = err.next_line(), if err_open => match l {
                Ok(Some(l)) => line(&l, true),
                _ => err_open = false,
            },
            () = &mut deadline => {
                let _ = child.kill().await;
                return Outcome::TimedOut;
            }
        }
    }
    tokio::select! {
        status = child.wait() => match status {
            Ok(s) if s.success() => Outcome::Succeeded,
            Ok(s) => Outcome::Failed(s.code().unwrap_or(-1)),
            Err(e) => Outcome::NotStarted(format!("cannot wait for bash: {e}")),
        },
        () = &mut deadline => {
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}
