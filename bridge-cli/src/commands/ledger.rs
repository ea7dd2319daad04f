//! `ledger verify`: checks this side's ledger, and where a side's ledger lives by default
//! ([`LedgerArg`], [`default_ledger_path`]), for every command that uses the ledger.
//!
//! ```text
//! --ledger PATH                      given: that file
//!   else $ZONEBRIDGE_LEDGER          set and not empty: that file
//!   else $XDG_STATE_HOME/zonebridge/<side>.ledger       (absolute XDG_STATE_HOME only)
//!   else $HOME/.local/state/zonebridge/<side>.ledger
//!   else usage error (exit 2)        <side> is `export` or `import`
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bundle_format::manifest::LedgerHead;
use ledger::{Ledger, head_went_backwards};
use serde::Serialize;

use crate::exit::EXIT_CODES_HELP;
use crate::failure::UsageError;
use crate::output::Output;
use crate::view::field;

/// The environment variable that names the ledger file when `--ledger` is not given.
pub const LEDGER_ENV: &str = "ZONEBRIDGE_LEDGER";

/// Which binary is asking: each side keeps its own ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `bridge-export`, the development zone.
    Export,
    /// `bridge-import`, the secure zone.
    Import,
}

impl Side {
    /// The ledger's file name in the state folder: `export.ledger` or `import.ledger`.
    pub fn ledger_file_name(self) -> &'static str {
        match self {
            Self::Export => "export.ledger",
            Self::Import => "import.ledger",
        }
    }
}

/// `--ledger PATH`: flatten it into every command that reads or writes the ledger, and ask it
/// for the path with [`LedgerArg::path`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LedgerArg {
    /// Ledger file (SQLite). Default: $ZONEBRIDGE_LEDGER if set, else
    /// $XDG_STATE_HOME/zonebridge/<export|import>.ledger, else
    /// ~/.local/state/zonebridge/<export|import>.ledger.
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,
}

impl LedgerArg {
    /// The ledger file: `--ledger` if given, else [`default_ledger_path`].
    pub fn path(&self, side: Side) -> Result<PathBuf, UsageError> {
        match &self.ledger {
            Some(path) => Ok(path.clone()),
            None => default_ledger_path(side),
        }
    }
}

/// Where `side`'s ledger lives when `--ledger` is not given, from this process's environment
/// (see [`default_ledger_path_from`]).
pub fn default_ledger_path(side: Side) -> Result<PathBuf, UsageError> {
    default_ledger_path_from(side, |name| std::env::var_os(name))
}

/// Where `side`'s ledger lives, with `var` reading the environment: `$ZONEBRIDGE_LEDGER`,
/// else `$XDG_STATE_HOME/zonebridge/<side>.ledger`, else
/// `$HOME/.local/state/zonebridge/<side>.ledger`. Empty variables count as unset, and a
/// relative `XDG_STATE_HOME` or `HOME` is ignored, as the XDG base directory specification asks.
pub fn default_ledger_path_from(
    side: Side,
    var: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, UsageError> {
    let set = |name: &str| {
        var(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    if let Some(path) = set(LEDGER_ENV) {
        return Ok(path);
    }
    let state_home = set("XDG_STATE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| {
            set("HOME")
                .filter(|p| p.is_absolute())
                .map(|home| home.join(".local").join("state"))
        });
    match state_home {
        Some(dir) => Ok(dir.join("zonebridge").join(side.ledger_file_name())),
        None => Err(UsageError(format!(
            "cannot choose where the ledger is: none of {LEDGER_ENV}, XDG_STATE_HOME and HOME is set to a usable path\nHint: pass --ledger PATH, or set {LEDGER_ENV}"
        ))),
    }
}

/// `ledger` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LedgerCommand {
    /// Check the ledger: every audit entry's hash and its link to the entry before it, then
    /// every table that enforces replay protection (bundles, channels, promotions, deployments,
    /// skips, received heads) against the state the audit trail carries, then each --anchor.
    /// Exits 1 naming the first entry, row or head that does not verify.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
}

/// Arguments of `ledger verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// Which ledger.
    #[command(flatten)]
    pub ledger: LedgerArg,
    /// A head of this ledger recorded outside it, as ENTRIES:HASH: the secure side's heads as
    /// `bridge-export status` shows them (each result bundle carries one home), or a head an
    /// operator noted from an earlier `ledger verify`. Entry ENTRIES must still exist with hash
    /// HASH; otherwise the ledger was cut, restored from a backup, or rewritten. Repeatable.
    #[arg(long, value_name = "ENTRIES:HASH", value_parser = parse_head)]
    pub anchor: Vec<LedgerHead>,
}

fn parse_head(text: &str) -> Result<LedgerHead, String> {
    text.parse()
}

#[derive(Debug, Serialize)]
struct VerifyReport {
    ledger: String,
    entries: u64,
    /// Hash of the last entry; keep it elsewhere to notice entries removed from the end.
    head: Option<String>,
    /// The head as `--anchor` takes it: `ENTRIES:HASH`.
    anchor: Option<String>,
    chain: &'static str,
    tables: &'static str,
    /// The anchors checked, each as given.
    anchors: Vec<String>,
    /// A head received from another zone's ledger (in a result bundle) that went backwards:
    /// that ledger was cut or restored from a backup. This ledger is not affected.
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_head_went_backwards: Option<PeerBackwards>,
}

#[derive(Debug, Serialize)]
struct PeerBackwards {
    zone: String,
    from: String,
    to: String,
    bundle: String,
}

/// Runs a `ledger` subcommand for `side`.
pub fn run(command: &LedgerCommand, side: Side, out: &Output) -> anyhow::Result<()> {
    match command {
        LedgerCommand::Verify(args) => verify(&args.ledger.path(side)?, &args.anchor, out),
    }
}

fn verify(path: &Path, anchors: &[LedgerHead], out: &Output) -> anyhow::Result<()> {
    let shown = path.display().to_string();
    let ledger = Ledger::open_existing(path)?;
    let checked = ledger
        .verify()
        .with_context(|| format!("the ledger {shown} does not verify"))?;
    for anchor in anchors {
        ledger.check_anchor(anchor).with_context(|| {
            format!("the ledger {shown} does not verify against --anchor {anchor}")
        })?;
    }
    let report = VerifyReport {
        ledger: shown,
        entries: checked.entries,
        anchor: checked
            .head
            .as_ref()
            .map(|head| format!("{}:{head}", checked.entries)),
        head: checked.head,
        chain: "intact",
        tables: "match the audit trail",
        anchors: anchors.iter().map(ToString::to_string).collect(),
        peer_head_went_backwards: head_went_backwards(&ledger.peer_heads(None)?).map(
            |(earlier, later)| PeerBackwards {
                zone: later.zone.to_string(),
                from: earlier.head.to_string(),
                to: later.head.to_string(),
                bundle: later.bundle.to_hex(),
            },
        ),
    };
    out.success(&report, |w| {
        let noun = if report.entries == 1 {
            "entry"
        } else {
            "entries"
        };
        writeln!(
            w,
            "ledger {}: {} audit {noun}, chain intact, tables match the audit trail",
            crate::safe::Shown(&report.ledger),
            report.entries
        )?;
        if let Some(head) = &report.head {
            field(w, "head", head)?;
        }
        if let Some(anchor) = &report.anchor {
            field(
                w,
                "anchor",
                format!("{anchor}  (keep it elsewhere; give it back with --anchor)"),
            )?;
        }
        for anchor in &report.anchors {
            field(w, "anchored", format!("{anchor}: still in the chain"))?;
        }
        if let Some(back) = &report.peer_head_went_backwards {
            field(
                w,
                "WARNING",
                format!(
                    "the {} ledger's head went backwards from {} to {} (result bundle {}): it was cut or restored from a backup; check it there with `bridge-import ledger verify --anchor {}`",
                    back.zone, back.from, back.to, back.bundle, back.from
                ),
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment variable: name and value.
    type Var<'a> = (&'a str, &'a str);

    fn env<'a>(pairs: &'a [Var<'a>]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn the_default_path_follows_the_environment_in_order() -> Result<(), UsageError> {
        let all = [
            (LEDGER_ENV, "/srv/zb/my.ledger"),
            ("XDG_STATE_HOME", "/var/state"),
            ("HOME", "/home/op"),
        ];
        let cases: [(&[Var], Side, &str); 6] = [
            (&all, Side::Import, "/srv/zb/my.ledger"),
            (
                &all[1..],
                Side::Import,
                "/var/state/zonebridge/import.ledger",
            ),
            (
                &all[1..],
                Side::Export,
                "/var/state/zonebridge/export.ledger",
            ),
            (
                &all[2..],
                Side::Export,
                "/home/op/.local/state/zonebridge/export.ledger",
            ),
            (
                &[
                    (LEDGER_ENV, ""),
                    ("XDG_STATE_HOME", "relative"),
                    ("HOME", "/home/op"),
                ],
                Side::Import,
                "/home/op/.local/state/zonebridge/import.ledger",
            ),
            (&[(LEDGER_ENV, "side.ledger")], Side::Import, "side.ledger"),
        ];
        for (vars, side, expected) in cases {
            assert_eq!(
                default_ledger_path_from(side, env(vars))?,
                PathBuf::from(expected),
                "{vars:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn no_usable_environment_is_a_usage_error_with_a_hint() {
        let err = default_ledger_path_from(Side::Import, env(&[("HOME", "")]));
        let message = err.err().map(|e| e.0).unwrap_or_default();
        assert!(message.contains("Hint: pass --ledger PATH"), "{message}");
    }

    #[test]
    fn an_explicit_path_wins() -> Result<(), UsageError> {
        let arg = LedgerArg {
            ledger: Some(PathBuf::from("x.ledger")),
        };
        assert_eq!(arg.path(Side::Export)?, PathBuf::from("x.ledger"));
        Ok(())
    }
}
