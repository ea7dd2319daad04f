//! Running an `Octopus.Script` action's inline bash script for real: written to the task's
//! scratch folder, run with `bash` there, its output streamed line by line to the log, its exit
//! code deciding the action's outcome.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
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
    let (mut out, mut err) = (BufReader::new(stdout), BufReader::new(stderr));
    let (mut out_line, mut err_line) = (Vec::new(), Vec::new());
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            n = read_line(&mut out, &mut out_line), if out_open => {
                out_open = emit(n, &mut out_line, |l| line(l, false));
            },
            n = read_line(&mut err, &mut err_line), if err_open => {
                err_open = emit(n, &mut err_line, |l| line(l, true));
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

/// The longest line read from a script at once; a longer one arrives in pieces, so a script
/// that never prints a newline cannot grow the stand-in's memory.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// Reads up to a newline into `line`, never holding more than [`MAX_LINE_BYTES`]. Cancel-safe
/// in a `select!` as long as `line` is kept between calls: partial reads stay in it.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let room = MAX_LINE_BYTES.saturating_sub(line.len()).max(1) as u64;
    reader.take(room).read_until(b'\n', line).await
}

/// Hands a complete (or full) line to `sink` and empties it; whether the stream is still open.
fn emit(read: std::io::Result<usize>, line: &mut Vec<u8>, mut sink: impl FnMut(&str)) -> bool {
    let open = matches!(read, Ok(n) if n > 0);
    let complete = line.ends_with(b"\n") || line.len() >= MAX_LINE_BYTES;
    if !line.is_empty() && (complete || !open) {
        let text = String::from_utf8_lossy(line);
        sink(text.trim_end_matches(['\n', '\r']));
        line.clear();
    }
    open
}
