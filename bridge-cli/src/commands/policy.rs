//! `policy init` and `policy trust`: writing a trust policy (bundle spec, section 7) and adding
//! trusted keys to it, keeping the operator's comments.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bundle_format::keys::PublicKey;
use bundle_format::names::ZoneId;
use bundle_format::policy::{self, KeyRole, NewTrust};
use serde::Serialize;
use time::OffsetDateTime;

use crate::atomic::{AtomicFile, mode_of};
use crate::exit::EXIT_CODES_HELP;
use crate::output::Output;
use crate::time_arg::{format_rfc3339, parse_rfc3339};
use crate::view::field;

/// `policy` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum PolicyCommand {
    /// Write a new trust policy for this side's zone, trusting no key yet.
    #[command(after_help = EXIT_CODES_HELP)]
    Init(InitArgs),
    /// Trust a public key for one kind of bundle from the given source zones.
    #[command(after_help = EXIT_CODES_HELP)]
    Trust(TrustArgs),
}

/// Arguments of `policy init`.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// This side's own zone id (such as `dev` or `pci`): bundles must name it as their target.
    #[arg(long, value_name = "ZONE")]
    pub zone: ZoneId,
    /// Policy file to create (TOML); refuses to overwrite an existing one.
    #[arg(long, value_name = "POLICY")]
    pub out: PathBuf,
}

/// Which kind of bundle a trusted key may sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    /// Release bundles (the secure side trusts the development zone's release signers).
    Release,
    /// Result bundles (the development side trusts the secure zone's result signers).
    Result,
    /// Nothing but diode transfer headers: the key of a `bridge-export send` host, which
    /// cannot sign a bundle (docs/diode.md 4).
    Diode,
}

impl From<RoleArg> for KeyRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Release => KeyRole::Release,
            RoleArg::Result => KeyRole::Result,
            RoleArg::Diode => KeyRole::Diode,
        }
    }
}

/// Arguments of `policy trust`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Policy file to change (rewritten atomically, comments kept).
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,
    /// Public key file to trust (NAME.pub from `keygen`).
    #[arg(value_name = "PUBKEY")]
    pub public_key: PathBuf,
    /// Which kind of bundle the key may sign.
    #[arg(long, value_enum, value_name = "ROLE")]
    pub role: RoleArg,
    /// Source zone the key may speak for; repeat for several.
    #[arg(long = "zone", value_name = "ZONE", required = true)]
    pub zones: Vec<ZoneId>,
    /// End of the key's validity (RFC 3339, such as 2027-06-30T00:00:00Z).
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub not_after: Option<OffsetDateTime>,
    /// A note for operators, such as who holds the key.
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize)]
struct InitReport {
    policy: String,
    zone: String,
}

#[derive(Debug, Serialize)]
struct TrustReport {
    policy: String,
    key_id: String,
    role: &'static str,
    zones: Vec<String>,
    not_after: Option<String>,
}

/// Runs a `policy` subcommand.
pub fn run(command: &PolicyCommand, out: &Output) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Init(args) => init(args, out),
        PolicyCommand::Trust(args) => trust(args, out),
    }
}

fn init(args: &InitArgs, out: &Output) -> anyhow::Result<()> {
    let text = policy::initial_policy_text(&args.zone);
    let write = || -> std::io::Result<PathBuf> {
        let mut file = AtomicFile::create(&args.out, 0o644)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.commit_new()
    };
    write().with_context(|| {
        format!(
            "cannot write the policy {}\nHint: `policy init` never overwrites a policy; choose another --out, or edit the existing one",
            args.out.display()
        )
    })?;
    let report = InitReport {
        policy: args.out.display().to_string(),
        zone: args.zone.to_string(),
    };
    out.success(&report, |w| {
        field(w, "policy", &report.policy)?;
        field(w, "zone", &report.zone)?;
        writeln!(
            w,
            "Hint: trust a key with `policy trust {} KEY.pub --role release|result --zone ZONE`",
            crate::safe::Shown(&report.policy)
        )
    })
}

fn trust(args: &TrustArgs, out: &Output) -> anyhow::Result<()> {
    let public_key = PublicKey::read_pem_file(&args.public_key)?;
    let text = read_policy_text(&args.policy)?;
    let new = NewTrust {
        public_key,
        role: args.role.into(),
        zones: args.zones.clone(),
        not_after: args.not_after,
        comment: args.comment.clone(),
    };
    let origin = args.policy.display().to_string();
    let updated = policy::add_trusted_key(&text, &origin, &new)?;
    let write = || -> std::io::Result<PathBuf> {
        let mut file = AtomicFile::create(&args.policy, mode_of(&args.policy)?)?;
        std::io::Write::write_all(&mut file, updated.as_bytes())?;
        file.commit()
    };
    write().with_context(|| format!("cannot rewrite the policy {origin}"))?;
    let report = TrustReport {
        policy: origin,
        key_id: public_key.key_id().to_hex(),
        role: new.role.as_str(),
        zones: new.zones.iter().map(ToString::to_string).collect(),
        not_after: new.not_after.map(format_rfc3339),
    };
    out.success(&report, |w| {
        field(w, "trusted", &report.key_id)?;
        field(w, "role", report.role)?;
        field(w, "zones", report.zones.join(", "))?;
        if let Some(not_after) = &report.not_after {
            field(w, "not after", not_after)?;
        }
        field(w, "policy", &report.policy)
    })
}

fn read_policy_text(path: &Path) -> anyhow::Result<String> {
    // The same reading, and the same refusals (not a regular file, empty, too large, writable
    // by others), as every command that loads the policy.
    Ok(policy::read_policy_text(path)?)
}
