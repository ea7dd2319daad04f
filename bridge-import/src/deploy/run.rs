//! The deploy, step by step (see the module documentation of [`super`] for the drawing).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bundle_format::channel::{Channel, ChannelState};
use bundle_format::keys::SigningKey;
use bundle_format::manifest::{
    BundleKind, BundleRef, DeploymentState as Ended, LedgerHead, ResultDescription, StepOutcome,
};
use bundle_format::names::{Digest, EntryPath, ZoneId};
use bundle_format::pack::{BundleHeader, SealedBundle};
use ledger::{
    BundleRecord, DeploymentKey, DeploymentRecord, DeploymentState, Ledger, PromotionState,
    StoredBundle, Verdict,
};
use octopus_api::names::NameMap;
use octopus_api::resources::{Deployment, Task};
use octopus_api::{Client, Endpoint};
use serde_json::{Value, json};
use sha2::Digest as _;
use time::OffsetDateTime;

use super::follow::{Followed, follow};
use super::outcome::{Outcome, outcome};
use super::prompted::{self, Form, PromptedValues};
use super::report::{DeployReport, ResultFile};
use super::result::{self, LOG_PATH};
use super::scrub::Scrubber;
use super::target::{self, DeployTarget};
use crate::import::hook::Writes;
use crate::import::refuse::refused;

/// The largest task log carried; a longer one is cut, and the cut is said at its end.
pub const MAX_LOG_BYTES: u64 = 16 * 1024 * 1024;

/// A deploy, its arguments checked.
#[derive(Debug)]
pub struct DeploySettings {
    /// The project, as the release bundle names it.
    pub project: String,
    /// The release version.
    pub version: String,
    /// The environment (a name on this instance, or one the mapping file renames).
    pub environment: String,
    /// The tenant, for a tenanted deployment.
    pub tenant: Option<String>,
    /// The mapping file's renames.
    pub map: NameMap,
    /// The secure-zone instance.
    pub endpoint: Endpoint,
    /// This side's ledger.
    pub ledger: PathBuf,
    /// The result-signer keys.
    pub keys: Vec<SigningKey>,
    /// Where the result bundle goes.
    pub result_out: PathBuf,
    /// How long to follow the task.
    pub wait: Duration,
    /// Every secret value this side knows, to scrub from the log.
    pub scrubber: Scrubber,
    /// Deploy again even if a deployment of this release there has ended.
    pub redeploy: bool,
    /// Ask Octopus for guided-failure mode.
    pub guided_failure: bool,
    /// Values for the release's prompted variables.
    pub prompted: PromptedValues,
}

/// Runs a deploy (ledger opened and created if needed).
pub fn deploy(
    settings: &DeploySettings,
    writes: &mut Writes,
    on_change: &mut dyn FnMut(&Task),
) -> anyhow::Result<DeployReport> {
    let mut ledger = Ledger::open(&settings.ledger)
        .with_context(|| format!("cannot open the ledger {}", settings.ledger.display()))?;
    let release_bundle = imported_release(&ledger, settings)?;
    let zone = release_bundle.channel.target.clone();
    let client = Client::connect(settings.endpoint.clone())?;
    let target = target::find(
        &client,
        &settings.map,
        &settings.project,
        &settings.version,
        &settings.environment,
        settings.tenant.as_deref(),
    )?;
    let key = DeploymentKey {
        project: settings.project.clone(),
        version: settings.version.clone(),
        target: zone.clone(),
        environment: target.environment.name.clone(),
        tenant: target.tenant.as_ref().map(|t| t.name.clone()),
    };
    let mut report = DeployReport::new(&key, &settings.ledger);
    let existing = ledger.deployment(&key)?;
    let mut form = Form::default();
    let record = match existing {
        Some(done) if done.state.is_final() && !settings.redeploy => {
            report.already(&done);
            return Ok(report);
        }
        Some(record)
            if matches!(
                record.state,
                DeploymentState::Deploying | DeploymentState::Waiting
            ) =>
        {
            report.outcome = "followed";
            record
        }
        Some(record) if record.state == DeploymentState::Requested => {
            report.outcome = "deployed";
            form = prompted_form(&client, &target, &settings.prompted)?;
            start(
                &client,
                &mut ledger,
                &target,
                record,
                settings,
                &form,
                writes,
            )?
        }
        _ => {
            report.outcome = "deployed";
            // Prompted values are checked before the ledger records the request, so that a
            // refusal leaves nothing behind.
            form = prompted_form(&client, &target, &settings.prompted)?;
            let requested = request(&mut ledger, &key, release_bundle.digest, writes)?;
            start(
                &client,
                &mut ledger,
                &target,
                requested,
                settings,
                &form,
                writes,
            )?
        }
    };
    let scrubber = settings.scrubber.with(&form.secrets)?;
    let task_id = record
        .task_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the ledger's deployment of {key} has no task id"))?;
    report.deployment = record.deployment_id.clone();
    report.task = Some(task_id.clone());
    let followed = follow(&client, &task_id, settings.wait, on_change)?;
    let outcome = scrubbed_outcome(&followed, &scrubber);
    let (log, masked) = task_log(&client, &task_id, &scrubber)?;
    let result_channel = Channel {
        source: zone.clone(),
        target: release_bundle.channel.source.clone(),
        kind: BundleKind::Result,
    };
    let last = ledger.channel_state(&result_channel)?;
    // The ledger's head travels home in the result (bundle spec 5.4): the development side
    // keeps it, so that this ledger cut or restored from a backup is noticed there.
    let place = ResultPlace {
        last: last.as_ref(),
        ledger_head: ledger.head()?,
    };
    let sealed = write_result(
        settings,
        &place,
        &release_bundle,
        &key,
        &task_id,
        &outcome,
        &log,
    )?;
    writes.done("result bundle written")?;
    let ended = DeploymentRecord {
        state: outcome.state.into(),
        started: outcome.started,
        completed: outcome.completed,
        waiting: outcome.waiting.as_ref().map(|w| w.describe()),
        result_bundle: Some(sealed.digest),
        ..record
    };
    let promotion = key.promotion();
    ledger
        .record_result_exported(
            &BundleRecord::from_manifest(&sealed.manifest, sealed.digest),
            last.as_ref(),
            &ended,
            Some((&promotion, promotion_state(outcome.state))),
        )
        .with_context(|| {
            format!(
                "the result bundle {} was written, but the ledger could not record it; run the same deploy again",
                settings.result_out.display()
            )
        })?;
    writes.done("ledger: result exported")?;
    report.finish(&ended, &outcome, masked);
    report.result = Some(ResultFile {
        path: settings.result_out.display().to_string(),
        digest: sealed.digest.to_hex(),
        channel: result_channel.to_string(),
        sequence: sealed.manifest.sequence,
    });
    Ok(report)
}

/// The newest release bundle this side accepted for the project and version.
fn imported_release(ledger: &Ledger, settings: &DeploySettings) -> anyhow::Result<StoredBundle> {
    let accepted = ledger.bundles(
        Some(BundleKind::Release),
        Some(Verdict::Accepted),
        Some(&settings.project),
    )?;
    accepted
        .into_iter()
        .rev()
        .find(|b| b.version.as_deref() == Some(settings.version.as_str()))
        .ok_or_else(|| {
            refused(
                "not-imported",
                format!(
                    "no release bundle of {} {} was imported here (the ledger {} has none)\nHint: a result bundle answers a release bundle: import it first with `bridge-import import`; --project takes the project's name as the bundle carries it",
                    settings.project,
                    settings.version,
                    settings.ledger.display()
                ),
            )
        })
}

/// Records the intent to deploy before anything is asked of Octopus.
fn request(
    ledger: &mut Ledger,
    key: &DeploymentKey,
    release_bundle: Digest,
    writes: &mut Writes,
) -> anyhow::Result<DeploymentRecord> {
    let now = OffsetDateTime::now_utc();
    ledger.set_deployment(&DeploymentRecord {
        key: key.clone(),
        state: DeploymentState::Requested,
        release_bundle,
        deployment_id: None,
        task_id: None,
        started: None,
        completed: None,
        waiting: None,
        result_bundle: None,
        requested_at: now,
        updated_at: now,
    })?;
    writes.done("ledger: deployment requested")?;
    ledger
        .deployment(key)?
        .ok_or_else(|| anyhow::anyhow!("the ledger lost the deployment of {key} it just recorded"))
}

/// The `FormValues` of the deployment, from the preview of the release in the environment.
fn prompted_form(
    client: &Client,
    target: &DeployTarget,
    given: &PromptedValues,
) -> anyhow::Result<Form> {
    let release = target
        .release
        .id
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the instance's release has no id"))?;
    prompted::form(
        client,
        release,
        &target.environment.id,
        target.tenant.as_ref().map(|t| t.id.as_str()),
        given,
    )
}

/// Creates the deployment (or takes over the one an interrupted run created) and records it.
fn start(
    client: &Client,
    ledger: &mut Ledger,
    target: &DeployTarget,
    requested: DeploymentRecord,
    settings: &DeploySettings,
    form: &Form,
    writes: &mut Writes,
) -> anyhow::Result<DeploymentRecord> {
    let token = request_token(&requested);
    let release_id = target
        .release
        .id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the instance's release has no id"))?;
    let earlier: Vec<Deployment> = client.get_all(&format!(
        "releases/{}/deployments",
        octopus_api::segment(&release_id)
    ))?;
    let deployment = match earlier.into_iter().find(|d| comments(d).contains(&token)) {
        Some(found) => found,
        None => {
            let mut body = json!({
                "ReleaseId": release_id,
                "EnvironmentId": target.environment.id,
                "Comments": format!(
                    "Deployed by Zonebridge: release bundle {} (request {token})",
                    requested.release_bundle.to_hex()
                ),
            });
            if let Some(map) = body.as_object_mut() {
                if let Some(tenant) = &target.tenant {
                    map.insert("TenantId".into(), json!(tenant.id));
                }
                if settings.guided_failure {
                    map.insert("UseGuidedFailure".into(), json!(true));
                }
                if !form.values.is_empty() {
                    map.insert("FormValues".into(), Value::Object(form.values.clone()));
                }
            }
            let created: Deployment = client.post_once("deployments", &body)?;
            writes.done("octopus: deployment created")?;
            created
        }
    };
    let deploying = DeploymentRecord {
        state: DeploymentState::Deploying,
        deployment_id: deployment.id.clone(),
        task_id: deployment.task_id.clone(),
        ..requested
    };
    if deploying.task_id.is_none() {
        anyhow::bail!(
            "Octopus created deployment {} without a task id",
            deploying.deployment_id.as_deref().unwrap_or("(no id)")
        );
    }
    ledger.set_deployment(&deploying)?;
    writes.done("ledger: deploying")?;
    ledger.set_promotion(
        &deploying.key.promotion(),
        PromotionState::Deploying,
        deploying.release_bundle,
    )?;
    writes.done("ledger: promotion deploying")?;
    Ok(deploying)
}

/// A token naming one request to deploy, written into the deployment's comments, so that a
/// run interrupted between asking and recording finds the deployment it asked for.
fn request_token(record: &DeploymentRecord) -> String {
    let mut hasher = sha2::Sha256::new();
    for part in [
        record.release_bundle.to_hex(),
        record.key.to_string(),
        record.requested_at.unix_timestamp().to_string(),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    hex::encode(digest.get(..8).unwrap_or_default())
}

fn comments(deployment: &Deployment) -> &str {
    deployment
        .other
        .get("Comments")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The outcome, with every known secret value scrubbed from the names it carries.
fn scrubbed_outcome(followed: &Followed, scrubber: &Scrubber) -> Outcome {
    let mut outcome = outcome(&followed.details, followed.pending.as_ref());
    let scrub = |text: &str| scrubber.scrub(text).0;
    outcome.steps = outcome
        .steps
        .into_iter()
        .map(|s| StepOutcome {
            name: scrub(&s.name),
            ..s
        })
        .collect();
    if let Some(waiting) = outcome.waiting.as_mut() {
        waiting.step = waiting.step.as_deref().map(scrub);
    }
    outcome.error = outcome.error.as_deref().map(scrub);
    outcome
}

/// The task's raw log, scrubbed; and how many values were masked.
fn task_log(
    client: &Client,
    task_id: &str,
    scrubber: &Scrubber,
) -> anyhow::Result<(String, usize)> {
    let (raw, cut) = client.get_text(&format!("tasks/{task_id}/raw"), MAX_LOG_BYTES)?;
    Ok(finish_log(&raw, cut, task_id, scrubber))
}

/// The log that travels: scrubbed, and saying so at its end when it was cut at
/// [`MAX_LOG_BYTES`] (a value cut in two at the very end cannot be recognised, so the last
/// line of a cut log is dropped); and how many values were masked.
fn finish_log(raw: &str, cut: bool, task_id: &str, scrubber: &Scrubber) -> (String, usize) {
    let kept = if cut {
        raw.rfind('\n')
            .map_or("", |end| raw.get(..=end).unwrap_or_default())
    } else {
        raw
    };
    let (mut log, masked) = scrubber.scrub(kept);
    if cut {
        log.push_str(&format!(
            "[zonebridge: the log was cut at {MAX_LOG_BYTES} bytes; read the rest on the secure instance, task {task_id}]\n"
        ));
    }
    (log, masked)
}

/// Where a result bundle goes: after the result channel's last bundle, carrying this side's
/// ledger head.
struct ResultPlace<'a> {
    /// The result channel's last bundle.
    last: Option<&'a ChannelState>,
    /// This side's ledger head now.
    ledger_head: Option<LedgerHead>,
}

/// Writes the result bundle, the next on the result channel.
fn write_result(
    settings: &DeploySettings,
    place: &ResultPlace<'_>,
    release_bundle: &StoredBundle,
    key: &DeploymentKey,
    task_id: &str,
    outcome: &Outcome,
    log: &str,
) -> anyhow::Result<SealedBundle> {
    let bundle_id = release_bundle.bundle_id.ok_or_else(|| {
        anyhow::anyhow!(
            "the ledger does not know the bundle id of release bundle {}; import it again with this version",
            release_bundle.digest.to_hex()
        )
    })?;
    let home: ZoneId = release_bundle.channel.source.clone();
    let (sequence, previous) = match place.last {
        Some(state) => (state.sequence.saturating_add(1), Some(state.digest)),
        None => (1, None),
    };
    let created = match (outcome.state, outcome.completed) {
        (Ended::Waiting, _) | (_, None) => OffsetDateTime::now_utc(),
        (_, Some(completed)) => completed,
    };
    let header = BundleHeader {
        kind: BundleKind::Result,
        source_zone: key.target.clone(),
        target_zone: home,
        sequence,
        previous,
        created,
        expires: None,
        bundle_id: None,
    };
    let description = ResultDescription {
        answers: BundleRef {
            bundle_id,
            digest: release_bundle.digest,
            sequence: release_bundle.sequence,
        },
        project: key.project.clone(),
        version: key.version.clone(),
        environment: key.environment.clone(),
        tenant: key.tenant.clone(),
        state: outcome.state,
        started: outcome.started,
        completed: outcome.completed,
        log: EntryPath::new(LOG_PATH)?,
        task: Some(task_id.to_owned()),
        steps: outcome.steps.clone(),
        waiting: outcome.waiting.clone(),
        ledger_head: place.ledger_head,
    };
    result::write(
        &settings.result_out,
        header,
        description,
        log,
        &settings.keys,
    )
    .with_context(|| {
        format!(
            "cannot write the result bundle {}",
            settings.result_out.display()
        )
    })
}

fn promotion_state(state: Ended) -> PromotionState {
    match state {
        Ended::Success => PromotionState::Succeeded,
        Ended::Waiting => PromotionState::Deploying,
        Ended::Failed | Ended::Canceled | Ended::TimedOut => PromotionState::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_log_loses_its_partial_last_line_and_says_where_to_read_the_rest() -> anyhow::Result<()>
    {
        let scrubber = Scrubber::from_values(["hunter2-long-secret"])?;
        let raw = "line one hunter2-long-secret\nline two hunter2-lo";
        let (log, masked) = finish_log(raw, true, "ServerTasks-7", &scrubber);
        assert_eq!(masked, 1);
        assert!(!log.contains("hunter2"), "{log}");
        assert!(
            log.starts_with("line one ********\n[zonebridge: the log was cut at 16777216 bytes")
        );
        assert!(log.ends_with("task ServerTasks-7]\n"), "{log}");
        let (whole, _) = finish_log(raw, false, "ServerTasks-7", &scrubber);
        assert_eq!(whole, "line one ********\nline two hunter2-lo");
        Ok(())
    }
}
