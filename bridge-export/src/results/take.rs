//! Taking a result bundle in, step by step (see the module documentation of [`super`]).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bridge_cli::failure::refused;
use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bridge_cli::receive::channel::{self, ChannelCheck, ChannelView, Position};
use bridge_cli::receive::kind;
use bridge_cli::receive::staged::{self, Staged};
use bridge_cli::receive::{refusal_reason, warn_unrecorded};
use bundle_format::manifest::{BundleKind, LedgerHead, ResultDescription};
use bundle_format::names::{Digest, ZoneId};
use bundle_format::policy::TrustPolicy;
use ledger::{BundleRecord, DeploymentKey, DeploymentRecord, Ledger, Verdict};
use time::OffsetDateTime;

/// A result bundle taken in (or found taken in before).
#[derive(Debug)]
pub struct Taken {
    /// `recorded`, or `already-recorded`.
    pub outcome: &'static str,
    /// The verified result.
    pub result: ResultDescription,
    /// Its digest.
    pub digest: String,
    /// The zone it comes from (where the release was deployed).
    pub zone: String,
    /// Its channel and sequence, as `pci->dev/result 3`.
    pub position: String,
    /// The bundles before it given up on with `channel skip`, as `4 to 5`.
    pub gap: Option<String>,
    /// The log, where `--log-out` asked for it.
    pub log_out: Option<PathBuf>,
    /// The sending side's ledger head the result carried, as recorded here.
    pub head: Option<HeadSeen>,
}

/// The other side's ledger head, as a result bundle carried it home (bundle spec 5.4).
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeadSeen {
    /// `N:HASH`, the form `ledger verify --anchor` takes on the other side.
    pub head: String,
    /// Set when the head has no more entries than one recorded before from the same zone:
    /// the other side's ledger was cut or restored from a backup in between.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub went_backwards_from: Option<String>,
}

/// Records `head`, carried by result bundle `digest` from `zone`, and says whether it went
/// backwards compared with the heads recorded before.
fn record_head(
    ledger: &mut Ledger,
    zone: &ZoneId,
    head: &LedgerHead,
    digest: Digest,
) -> anyhow::Result<HeadSeen> {
    ledger
        .record_peer_head(zone, head, digest)
        .context("the result was recorded, but the ledger head it carries could not be")?;
    let heads = ledger.peer_heads(Some(zone))?;
    let went_backwards_from = ledger::head_went_backwards(&heads)
        .filter(|(_, later)| later.bundle == digest)
        .map(|(earlier, _)| earlier.head.to_string());
    Ok(HeadSeen {
        head: head.to_string(),
        went_backwards_from,
    })
}

/// Verifies `input` against `policy` and records it in `ledger`; every refusal is recorded
/// with its reason (a bundle refused before trust from pre-trust data only, spec 15.1).
pub fn take(
    input: &BundleInput,
    policy: &TrustPolicy,
    ledger: &mut Ledger,
    log_out: Option<&Path>,
    out: &Output,
) -> anyhow::Result<Taken> {
    let staged = match staged::stage(input, policy, BundleKind::Result, out) {
        Ok(staged) => staged,
        Err(not_verified) => {
            if let Some(reason) = refusal_reason(&not_verified.error) {
                warn_unrecorded(
                    ledger
                        .record_refused_unverified(&not_verified.unverified, &reason)
                        .map(drop)
                        .map_err(Into::into),
                );
            }
            return Err(not_verified.error);
        }
    };
    let record = BundleRecord::from_manifest(staged.manifest(), staged.digest());
    let mut taken = verified(&staged, &record, ledger);
    // The log is written only once the result is accepted (or was, before): a refused result
    // leaves no file, not even an empty one.
    if let (Ok(accepted), Some(path)) = (&mut taken, log_out) {
        copy_log(&staged, &accepted.result, path)?;
        accepted.log_out = Some(path.to_owned());
    }
    if let Err(err) = &taken
        && let Some(reason) = refusal_reason(err)
    {
        warn_unrecorded(
            ledger
                .record_refused(&record, &reason)
                .map(drop)
                .map_err(Into::into),
        );
    }
    taken
}

fn verified(staged: &Staged, record: &BundleRecord, ledger: &mut Ledger) -> anyhow::Result<Taken> {
    let manifest = staged.manifest();
    let digest = staged.digest();
    let (BundleKind::Result, Some(result)) = (manifest.kind, &manifest.result) else {
        return Err(kind::verified(digest, manifest.kind, BundleKind::Result));
    };
    let mut taken = Taken {
        outcome: "already-recorded",
        result: result.clone(),
        digest: digest.to_hex(),
        zone: manifest.source_zone.to_string(),
        position: format!("{} {}", manifest.channel(), manifest.sequence),
        gap: None,
        log_out: None,
        head: None,
    };
    if ledger.was_accepted(&digest)? {
        return Ok(taken);
    }
    let previous = ledger.channel_state(&manifest.channel())?;
    let skipped = ledger.skipped(&manifest.channel())?;
    let view = ChannelView {
        last: previous.as_ref(),
        skipped: &skipped,
        binary: "bridge-export",
    };
    let position = match channel::check(&view, manifest, digest, |missing| {
        Ok(ledger.last_refusal(&manifest.channel(), missing)?)
    })? {
        ChannelCheck::AlreadyImported => return Ok(taken),
        ChannelCheck::Continue(position) => position,
    };
    check_answers(ledger, manifest.source_zone.as_str(), result)?;
    if let Position::AfterSkipped {
        first_skipped,
        last_skipped,
    } = position
    {
        taken.gap = Some(format!("{first_skipped} to {last_skipped}"));
    }
    let now = OffsetDateTime::now_utc();
    let deployment = DeploymentRecord {
        key: DeploymentKey {
            project: result.project.clone(),
            version: result.version.clone(),
            target: manifest.source_zone.clone(),
            environment: result.environment.clone(),
            tenant: result.tenant.clone(),
        },
        state: result.state.into(),
        release_bundle: result.answers.digest,
        deployment_id: None,
        task_id: result.task.clone(),
        started: result.started,
        completed: result.completed,
        waiting: result.waiting.as_ref().map(|w| w.describe()),
        result_bundle: Some(digest),
        requested_at: now,
        updated_at: now,
    };
    ledger
        .record_result_accepted(
            record,
            previous.as_ref(),
            &deployment,
            &deployment.key.promotion(),
        )
        .context(
            "the result bundle verified, but the ledger could not record it; take it in again",
        )?;
    if let Some(head) = &result.ledger_head {
        taken.head = Some(record_head(ledger, &manifest.source_zone, head, digest)?);
    }
    taken.outcome = "recorded";
    Ok(taken)
}

/// Spec 9.2: the receiver of a result checks that it exported the release it answers, to the
/// zone the result comes from.
fn check_answers(ledger: &Ledger, from: &str, result: &ResultDescription) -> anyhow::Result<()> {
    let answers = &result.answers;
    let Some(exported) = ledger.bundle(&answers.digest, Verdict::Exported)? else {
        return Err(refused(
            "unknown-release",
            format!(
                "the result answers release bundle {} ({} {}), which this side never exported\nHint: take results in with the ledger of the side that exported the release (--ledger)",
                answers.digest.to_hex(),
                bridge_cli::safe::Shown(&result.project),
                bridge_cli::safe::Shown(&result.version)
            ),
        ));
    };
    let mut wrong = Vec::new();
    if exported.bundle_id.is_some_and(|id| id != answers.bundle_id) {
        wrong.push(format!(
            "bundle id {} (exported: {})",
            answers.bundle_id.to_hex(),
            exported.bundle_id.map(|id| id.to_hex()).unwrap_or_default()
        ));
    }
    if exported.sequence != answers.sequence {
        wrong.push(format!(
            "sequence {} (exported: {})",
            answers.sequence, exported.sequence
        ));
    }
    if exported.channel.target.as_str() != from {
        wrong.push(format!(
            "zone {from} (the release went to {})",
            exported.channel.target
        ));
    }
    if exported.project.as_deref() != Some(result.project.as_str())
        || exported.version.as_deref() != Some(result.version.as_str())
    {
        wrong.push(format!(
            "release {} {} (exported: {} {})",
            result.project,
            result.version,
            exported.project.as_deref().unwrap_or("?"),
            exported.version.as_deref().unwrap_or("?")
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(refused(
        "answers-mismatch",
        format!(
            "the result names release bundle {} but does not match what was exported: {}",
            answers.digest.to_hex(),
            bridge_cli::safe::Shown(wrong.join("; "))
        ),
    ))
}

/// Copies the verified log entry out of staging (atomically).
fn copy_log(staged: &Staged, result: &ResultDescription, path: &Path) -> anyhow::Result<()> {
    let mut from = staged.root().to_owned();
    for part in result.log.components() {
        from.push(part);
    }
    let mut source = std::fs::File::open(&from).context("cannot read the verified log")?;
    let mut file = bridge_cli::atomic::AtomicFile::create(path, 0o644)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::copy(&mut source, &mut file)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.commit()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
