//! Where results go: one JSON document on stdout with `--json`, human text on stdout
//! otherwise (nothing with `--quiet`), progress and errors on stderr.

use std::io::{self, IsTerminal as _, Write};

use anyhow::Context as _;
use serde::Serialize;

use crate::safe::{is_control, safe_block};

/// Flags every command of both binaries takes.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct GlobalArgs {
    /// Print one JSON object on standard output instead of text ({"ok":true,...} or
    /// {"ok":false,"error":{"code":...,"message":...}}).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing on success and show no progress; errors still go to standard error.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
}

/// How a command reports what it did.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    quiet: bool,
    human_to_stderr: bool,
}

/// A successful result as `--json` prints it: `{"ok":true, ...data}`.
#[derive(Debug, Serialize)]
struct Success<'a, T: Serialize> {
    ok: bool,
    #[serde(flatten)]
    data: &'a T,
}

impl Output {
    /// Output as the global flags ask.
    pub fn new(global: GlobalArgs) -> Self {
        Self {
            json: global.json,
            quiet: global.quiet,
            human_to_stderr: false,
        }
    }

    /// The same settings for a command whose standard output carries data (a bundle written
    /// to `-`): human text then goes to standard error. Such commands refuse `--json`.
    pub fn with_stdout_for_data(self) -> Self {
        Self {
            human_to_stderr: true,
            ..self
        }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.json
    }

    /// Whether progress bars may be drawn: stderr is a terminal, and neither `--json` nor
    /// `--quiet` was given.
    pub fn progress_allowed(&self) -> bool {
        !self.json && !self.quiet && io::stderr().is_terminal()
    }

    /// Reports a success: `data` as JSON with `--json`, else the text `human` writes (unless
    /// `--quiet`).
    pub fn success<T: Serialize>(
        &self,
        data: &T,
        human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        if self.json {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            return write_json(&mut lock, &Success { ok: true, data });
        }
        if self.quiet {
            return Ok(());
        }
        // The report is composed first, then passed through `safe_block`: a value a report
        // forgot to escape still cannot reach the terminal raw (only our `\n` stay).
        let mut text = Vec::new();
        human(&mut text).context("cannot compose the report")?;
        let text = String::from_utf8_lossy(&text);
        let text = safe_block(&text);
        let written = if self.human_to_stderr {
            let mut err = io::stderr().lock();
            err.write_all(text.as_bytes()).and_then(|()| err.flush())
        } else {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        written.context("cannot write the report")
    }
}

/// Writes `value` as one line of JSON and flushes. The text is built first, so that a write
/// failure (such as a broken pipe) stays an `io::Error` in the error chain.
///
/// Strings keep their exact values; the characters a terminal would act on that JSON allows
/// raw (DEL, C1 controls, bidi controls) are written as `\uXXXX` escapes, which decode to the
/// same value (see [`TerminalSafeJson`]).
pub fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    let mut text = Vec::new();
    value
        .serialize(&mut serde_json::Serializer::with_formatter(
            &mut text,
            TerminalSafeJson,
        ))
        .context("cannot encode JSON output")?;
    text.push(b'\n');
    out.write_all(&text)
        .and_then(|()| out.flush())
        .context("cannot write JSON output")
}

/// serde_json's compact output, with every character that [`crate::safe`] escapes and JSON
/// would leave raw (DEL, C1 controls, bidi controls, line separators) written as `\uXXXX`: the
/// document means exactly the same, and `--json` shown on a terminal cannot act on it.
#[derive(Debug, Clone, Copy)]
struct TerminalSafeJson;

impl serde_json::ser::Formatter for TerminalSafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_control(*c)) {
            let (before, after) = rest.split_at(at);
            writer.write_all(before.as_bytes())?;
            write!(writer, "\\u{:04x}", u32::from(c))?;
            rest = after.get(c.len_utf8()..).unwrap_or_default();
        }
        writer.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_flattened_under_ok() -> anyhow::Result<()> {
        #[derive(Serialize)]
        struct Data {
            key_id: &'static str,
        }
        let mut buf = Vec::new();
        write_json(
            &mut buf,
            &Success {
                ok: true,
                data: &Data { key_id: "ab" },
            },
        )?;
        assert_eq!(String::from_utf8(buf)?, "{\"ok\":true,\"key_id\":\"ab\"}\n");
        Ok(())
    }

    #[test]
    fn json_escapes_what_a_terminal_acts_on_and_keeps_the_value() -> anyhow::Result<()> {
        let value = "a\u{1b}[2K\u{7f}\u{9b}\u{202e}\u{2066}\u{200f}\u{2028}\n\\ Zürich 東京";
        let mut buf = Vec::new();
        write_json(&mut buf, &value)?;
        let text = String::from_utf8(buf)?;
        assert_eq!(
            text,
            "\"a\\u001b[2K\\u007f\\u009b\\u202e\\u2066\\u200f\\u2028\\n\\\\ Zürich 東京\"\n"
        );
        let back: String = serde_json::from_str(&text)?;
        assert_eq!(back, value);
        Ok(())
    }
}
