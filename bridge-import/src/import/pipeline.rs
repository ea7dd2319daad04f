//! The import, step by step (see the module documentation of [`super`] for the drawing).

use std::path::PathBuf;

use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bridge_cli::receive::{refusal_reason, warn_unrecorded};
use bundle_format::manifest::BundleKind;
use bundle_format::policy::TrustPolicy;
use ledger::{BundleRecord, PromotionKey};
use octopus_api::names::{Directory, NameMap, TENANTS_DOCUMENT, TenantsDocument};
use octopus_api::{Client, Endpoint};

use super::hook::Writes;
use super::record::AuditStep;
use super::record::{Imported, LedgerGate};
use super::report::Report;
use super::secrets::SecretsFile;
use super::{
    apply, automatic, build_information, channel_rules, content, create, plan, properties,
    requirements, resolve, shadow, source_version, target, templates, tenants,
};
use bridge_cli::receive::channel::{self, ChannelCheck, ChannelView, Position};
use bridge_cli::receive::staged::{self, Staged};
use octopus_api::names::{NamedChannelRule, NamedProject, PROJECT_DOCUMENT};

/// An import, its arguments checked.
#[derive(Debug)]
pub struct Settings {
    /// The bundle.
    pub input: BundleInput,
    /// This zone's trust policy.
    pub policy: TrustPolicy,
    /// The mapping file's renames (empty without `--map`).
    pub map: NameMap,
    /// The secrets file's entries (none without `--secrets`).
    pub secrets: SecretsFile,
    /// The ledger file.
    pub ledger: PathBuf,
    /// The target instance.
    pub endpoint: Endpoint,
    /// Verify, resolve, check and plan only.
    pub dry_run: bool,
    /// Go on although the target would start deployments or releases by itself.
    pub allow_automatic_start: bool,
    /// Create what the target lacks of the release's project (`--create-missing`).
    pub create_missing: bool,
}

/// Runs an import. Every refusal is recorded in the ledger with its reason (not on a dry run):
/// a bundle refused before trust from pre-trust data only (spec 15.1), a verified one with
/// what its manifest says.
pub fn import(settings: Settings, writes: &mut Writes, out: &Output) -> anyhow::Result<Report> {
    let mut gate = LedgerGate::open(&settings.ledger, settings.dry_run)?;
    let staged = match staged::stage(&settings.input, &settings.policy, BundleKind::Release, out) {
        Ok(staged) => staged,
        Err(not_verified) => {
            if let Some(reason) = refusal_reason(&not_verified.error) {
                warn_unrecorded(gate.record_refused_unverified(
                    &not_verified.unverified,
                    &reason,
                    writes,
                ));
            }
            return Err(not_verified.error);
        }
    };
    let record = BundleRecord::from_manifest(staged.manifest(), staged.digest());
    let result = verified(&settings, &staged, &record, &mut gate, writes);
    if let Err(err) = &result
        && let Some(reason) = refusal_reason(err)
    {
        warn_unrecorded(gate.record_refused(&record, &reason, writes));
    }
    result
}

fn verified(
    settings: &Settings,
    staged: &Staged,
    record: &BundleRecord,
    gate: &mut LedgerGate,
    writes: &mut Writes,
) -> anyhow::Result<Report> {
    let manifest = staged.manifest();
    let digest = staged.digest();
    if manifest.kind != BundleKind::Release {
        return Err(bridge_cli::receive::kind::verified(
            digest,
            manifest.kind,
            BundleKind::Release,
        ));
    }
    let mut report = Report {
        outcome: "already-imported",
        project: record.project.clone().unwrap_or_default(),
        version: record.version.clone().unwrap_or_default(),
        bundle: digest.to_hex(),
        channel: manifest.channel().to_string(),
        sequence: manifest.sequence,
        target: None,
        release_id: None,
        gap: None,
        plan: None,
        ledger: gate.path().display().to_string(),
        writes: 0,
    };
    if gate.was_accepted(&digest)? {
        return Ok(report);
    }
    let previous = gate.channel_state(&manifest.channel())?;
    let skipped = gate.skipped(&manifest.channel())?;
    let view = ChannelView {
        last: previous.as_ref(),
        skipped: &skipped,
        binary: "bridge-import",
    };
    let position = match channel::check(&view, manifest, digest, |missing| {
        gate.last_refusal(&manifest.channel(), missing)
    })? {
        ChannelCheck::AlreadyImported => return Ok(report),
        ChannelCheck::Continue(position) => position,
    };
    if let Position::AfterSkipped {
        first_skipped,
        last_skipped,
    } = position
    {
        report.gap = Some(format!("{first_skipped} to {last_skipped}"));
    }
    let mut content = content::read(staged)?;
    let build_document = build_information::read(&content)?;
    let client = Client::connect(settings.endpoint.clone())?;
    let target = format!("{} (space {})", client.server(), client.space_id());
    report.target = Some(target.clone());
    // Before anything is read or written on the target: an older server may be refused.
    if let Some(warning) =
        source_version::check(&content, client.server_version(), &settings.policy)?
    {
        eprintln!("warning: {warning}");
    }
    let mut catalog = target::catalog(&client)?;
    let project_doc: Option<NamedProject> = content.document(PROJECT_DOCUMENT)?;
    let selections = channel_rules::selections(&content.process, &content.packages);
    let mut creation = create::Creation::default();
    if let Some(doc) = &project_doc {
        create::validate(doc, &content.release.project, &content.release.channel)?;
        creation = create::plan(
            &client,
            doc,
            &content.release.channel,
            &catalog,
            create::Options {
                map: &settings.map,
                create_missing: settings.create_missing,
                target: &target,
            },
            || {
                let directory = Directory::load(&client, None)?;
                Ok(resolve::project_independent(
                    &content,
                    &directory,
                    &settings.map,
                ))
            },
        )?;
        channel_rules::check(
            &client,
            &content.release.channel,
            &bundle_rules(doc, &content.release.channel),
            &selections,
        )?;
    }
    let mut created = Vec::new();
    if !creation.is_empty() {
        if settings.dry_run {
            report.outcome = "dry-run";
            report.plan = Some(creation_only_plan(&creation, &content.release.version));
            return Ok(report);
        }
        created = create::apply(&client, &creation, writes)?;
        catalog = target::catalog(&client)?;
    }
    let owners = resolve::owners(&content, &catalog, &settings.map, &target, || {
        let directory = Directory::load(&client, None)?;
        bridge_cli::octopus::warn_denied(&directory);
        Ok(resolve::project_independent(
            &content,
            &directory,
            &settings.map,
        ))
    })?;
    let mut state = target::load(
        &client,
        &owners.project,
        &owners.variable_set_ids(),
        &content.release.version,
    )?;
    let templates = templates::plan(&client, &mut content, &settings.map, &mut state, &target)?;
    let tenant_document = content.document::<TenantsDocument>(TENANTS_DOCUMENT)?;
    let (tenant_plan, tenant_unresolved) = tenants::prepare(
        &client,
        tenant_document.as_ref(),
        &content,
        &owners,
        &catalog,
        &state,
        &settings.map,
        &settings.secrets,
    )?;
    let resolved = resolve::names(
        &content,
        &owners,
        &state,
        &settings.map,
        &target,
        tenant_unresolved,
    )?;
    if project_doc.is_none() {
        // An older exporter's bundle: the target channel's own rules.
        let channel: octopus_api::resources::Channel =
            client.get(&format!("channels/{}", resolved.channel.0))?;
        let rules: Vec<NamedChannelRule> = channel
            .other
            .get("Rules")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        channel_rules::check(&client, &resolved.channel.1, &rules, &selections)?;
    }
    properties::check(&content.process, &state.process)?;
    let others = shadow::other_sets(&client, &catalog, &state)?;
    shadow::check(&resolved, &state, &others)?;
    let sources = requirements::check(&resolved, &owners, &state, &settings.secrets, &tenant_plan)?;
    let mut work = plan::prepare(
        &client, &content, &owners, &state, resolved, sources, templates,
    )?;
    work.tenants = tenant_plan.work;
    work.build_information = build_information::plan(&client, build_document.as_ref(), &target)?;
    work.build_document = build_document;
    // Only an import that creates the release or pushes a package can set anything off.
    let starts = if work.existing.is_none() || work.packages.iter().any(|p| !p.present) {
        automatic::detect(
            &client,
            &owners.project,
            &work.resolved.channel.0,
            &state.directory,
        )?
    } else {
        Vec::new()
    };
    if !starts.is_empty() {
        if !settings.allow_automatic_start {
            return Err(automatic::refusal(
                &starts,
                &state.project.name,
                &content.release.version,
                &target,
            ));
        }
        eprintln!(
            "WARNING: --allow-automatic-start: the target will start work by itself after this import, which Zonebridge does not follow or report:{}",
            bridge_cli::safe::bullets(&starts)
        );
    }
    let mut plan = work.plan();
    plan.steps.splice(0..0, creation.plan());
    report.plan = Some(plan);
    if settings.dry_run {
        report.outcome = "dry-run";
        report.release_id = work.existing.as_ref().and_then(|r| r.id.clone());
        return Ok(report);
    }
    let mut applied = apply::apply(&client, &work, &state, writes)?;
    report.release_id = applied.release.id.clone();
    if !starts.is_empty() {
        applied.audit.push(AuditStep {
            event: "import.automatic-start",
            detail: serde_json::json!({
                "project": state.project.name, "version": content.release.version,
                "allowed_by": "--allow-automatic-start", "starts": starts,
            }),
        });
    }
    let imported = Imported {
        record: record.clone(),
        previous,
        promotion: PromotionKey {
            project: content.release.project.clone(),
            version: content.release.version.clone(),
            target: manifest.target_zone.clone(),
        },
        steps: created.into_iter().chain(applied.audit).collect(),
    };
    gate.record_import(&imported, writes)?;
    report.outcome = "imported";
    report.writes = writes.count();
    Ok(report)
}

/// The rules of the bundle's channel `name` (none if `project.json` does not list it).
fn bundle_rules(doc: &NamedProject, name: &str) -> Vec<NamedChannelRule> {
    doc.channels
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| c.rules.clone())
        .unwrap_or_default()
}

/// A dry run that would create things first: what it would create, then the release. The
/// rest (names, secrets, packages, variables) needs what does not exist yet, so it is checked
/// when the import runs, before the release is written.
fn creation_only_plan(creation: &create::Creation, version: &str) -> plan::Plan {
    let mut steps = creation.plan();
    steps.push(plan::PlanStep {
        step: "release",
        subject: version.to_owned(),
        action: "create",
        detail: "after what is created above; names, secrets, packages and variables are checked then, before the release is written".to_owned(),
    });
    plan::Plan {
        steps,
        skipped_variables: Vec::new(),
        skipped_secrets: Vec::new(),
        secrets_stored: 0,
        secrets_from_file: 0,
        secrets_file_unused: Vec::new(),
    }
}
