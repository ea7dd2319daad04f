//! A manifest as both binaries show it: a serializable view (hex ids, RFC 3339 times) for
//! `--json`, and its text rendering for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use bundle_format::manifest::{DeploymentState, Manifest, WaitReason};
use bundle_format::names::{Digest, KeyId};
use serde::Serialize;

use crate::safe::Shown;
use crate::time_arg::format_rfc3339;

/// What a manifest says, with its digest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestView {
    /// Manifest format version.
    pub format: u32,
    /// `release` or `result`.
    pub kind: &'static str,
    /// Bundle id, 32 hex.
    pub bundle_id: String,
    /// Bundle digest (SHA-256 of the manifest bytes), 64 hex.
    pub digest: String,
    /// The channel, `source->target/kind`.
    pub channel: String,
    /// Sending zone.
    pub source_zone: String,
    /// Receiving zone.
    pub target_zone: String,
    /// Position on the channel.
    pub sequence: u64,
    /// Digest of the previous bundle on the channel.
    pub previous: Option<String>,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Expiry, RFC 3339.
    pub expires: Option<String>,
    /// Payload entries in order.
    pub entries: Vec<EntryView>,
    /// Sum of entry sizes.
    pub payload_bytes: u64,
    /// The release, for release bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseView>,
    /// The outcome, for result bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultView>,
}

/// One payload entry.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Path inside the bundle.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// `process`, `variables`, `package`, `log` or `file`.
    pub role: &'static str,
    /// SHA-256, 64 hex.
    pub sha256: String,
}

/// A release description.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseView {
    /// Project name.
    pub project: String,
    /// Release version.
    pub version: String,
    /// Octopus channel name.
    pub channel: String,
    /// Release notes.
    pub notes: Option<String>,
    /// Packages and the entries carrying them.
    pub packages: Vec<PackageView>,
    /// Sensitive values the target must hold (names only).
    pub secrets: Vec<SecretView>,
}

/// A package of a release.
#[derive(Debug, Clone, Serialize)]
pub struct PackageView {
    /// Package id.
    pub id: String,
    /// Package version.
    pub version: String,
    /// Entry path.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// SHA-1, hex.
    pub sha1: String,
}

/// A sensitive variable the target must satisfy.
#[derive(Debug, Clone, Serialize)]
pub struct SecretView {
    /// Owning project or library variable set.
    pub owner: String,
    /// Variable name.
    pub name: String,
    /// Variable type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Scope kind to names.
    pub scope: BTreeMap<String, Vec<String>>,
}

/// A deployment result description.
#[derive(Debug, Clone, Serialize)]
pub struct ResultView {
    /// The release bundle answered: id, digest, sequence.
    pub answers: AnswersView,
    /// Project name.
    pub project: String,
    /// Release version.
    pub version: String,
    /// Environment deployed to.
    pub environment: String,
    /// Tenant, if any.
    pub tenant: Option<String>,
    /// Outcome.
    pub state: DeploymentState,
    /// Start, RFC 3339.
    pub started: Option<String>,
    /// End, RFC 3339.
    pub completed: Option<String>,
    /// Entry holding the task log.
    pub log: String,
    /// The task on the secure instance.
    pub task: Option<String>,
    /// Each step: name and state.
    pub steps: Vec<StepView>,
    /// What it waits for, for people ("manual intervention on step '...'").
    pub waiting: Option<String>,
    /// Why it waits: `manual-intervention`, `guided-failure`, `still-running`.
    pub waiting_reason: Option<WaitReason>,
}

/// One step of a deployment result.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// Its name.
    pub name: String,
    /// Its state (`success`, `failed`, `skipped`, ...).
    pub state: &'static str,
}

/// The release bundle a result answers.
#[derive(Debug, Clone, Serialize)]
pub struct AnswersView {
    /// Its bundle id.
    pub bundle_id: String,
    /// Its digest.
    pub digest: String,
    /// Its sequence.
    pub sequence: u64,
}

impl ManifestView {
    /// The view of `manifest`, whose bytes hash to `digest`.
    pub fn new(manifest: &Manifest, digest: Digest) -> Self {
        Self::from_manifest(manifest.clone(), digest)
    }

    /// The view of `manifest`, taking its texts instead of copying them: a command that only
    /// shows a manifest never holds it twice (peak memory, spec 15.2).
    pub fn from_manifest(manifest: Manifest, digest: Digest) -> Self {
        let channel = manifest.channel().to_string();
        let payload_bytes = manifest.total_size();
        Self {
            format: manifest.format,
            kind: manifest.kind.as_str(),
            bundle_id: manifest.bundle_id.to_hex(),
            digest: digest.to_hex(),
            channel,
            source_zone: manifest.source_zone.to_string(),
            target_zone: manifest.target_zone.to_string(),
            sequence: manifest.sequence,
            previous: manifest.previous.map(|d| d.to_hex()),
            created: format_rfc3339(manifest.created),
            expires: manifest.expires.map(format_rfc3339),
            entries: manifest
                .entries
                .into_iter()
                .map(|e| EntryView {
                    path: e.path.to_string(),
                    size: e.size,
                    role: e.role.as_str(),
                    sha256: e.sha256.to_hex(),
                })
                .collect(),
            payload_bytes,
            release: manifest.release.map(|r| ReleaseView {
                project: r.project,
                version: r.version,
                channel: r.channel,
                notes: r.notes,
                packages: r
                    .packages
                    .into_iter()
                    .map(|p| PackageView {
                        id: p.id,
                        version: p.version,
                        path: p.path.to_string(),
                        size: p.size,
                        sha256: p.sha256.to_hex(),
                        sha1: p.sha1.to_hex(),
                    })
                    .collect(),
                secrets: r
                    .secrets
                    .into_iter()
                    .map(|s| SecretView {
                        owner: s.owner,
                        name: s.name,
                        kind: s.kind,
                        scope: s.scope,
                    })
                    .collect(),
            }),
            result: manifest.result.map(|r| ResultView {
                answers: AnswersView {
                    bundle_id: r.answers.bundle_id.to_hex(),
                    digest: r.answers.digest.to_hex(),
                    sequence: r.answers.sequence,
                },
                waiting: r.waiting.as_ref().map(|w| w.describe()),
                waiting_reason: r.waiting.as_ref().map(|w| w.reason),
                project: r.project,
                version: r.version,
                environment: r.environment,
                tenant: r.tenant,
                state: r.state,
                started: r.started.map(format_rfc3339),
                completed: r.completed.map(format_rfc3339),
                log: r.log.to_string(),
                task: r.task,
                steps: r
                    .steps
                    .into_iter()
                    .map(|s| StepView {
                        name: s.name,
                        state: s.state.as_str(),
                    })
                    .collect(),
            }),
        }
    }
}

/// Key ids as hex, for output.
pub fn key_ids(ids: &[KeyId]) -> Vec<String> {
    ids.iter().map(KeyId::to_hex).collect()
}

/// Writes one `label: value` line, aligned. The value is shown through [`Shown`]: whatever it
/// holds (a name from a bundle, a file name) stays on this one line, with nothing a terminal
/// would interpret. Pass raw values, not ones already escaped.
pub fn field(w: &mut dyn Write, label: &str, value: impl std::fmt::Display) -> io::Result<()> {
    writeln!(w, "{:<13}{}", format!("{label}:"), Shown(value))
}

/// Writes the manifest for a person: binding, description, then the entries.
pub fn render(w: &mut dyn Write, m: &ManifestView) -> io::Result<()> {
    field(w, "kind", m.kind)?;
    field(w, "channel", &m.channel)?;
    field(w, "source zone", &m.source_zone)?;
    field(w, "target zone", &m.target_zone)?;
    field(w, "sequence", m.sequence)?;
    match &m.previous {
        Some(previous) => field(w, "previous", previous)?,
        None => field(w, "previous", "(none: first bundle on its channel)")?,
    }
    field(w, "bundle id", &m.bundle_id)?;
    field(w, "digest", &m.digest)?;
    field(w, "created", &m.created)?;
    field(w, "expires", m.expires.as_deref().unwrap_or("(never)"))?;
    if let Some(r) = &m.release {
        render_release(w, r)?;
    }
    if let Some(r) = &m.result {
        render_result(w, r)?;
    }
    field(
        w,
        "entries",
        format!("{}, {} bytes", m.entries.len(), m.payload_bytes),
    )?;
    let width = m
        .entries
        .iter()
        .map(|e| e.size.to_string().len())
        .max()
        .unwrap_or(1);
    for e in &m.entries {
        writeln!(w, "  {:<10}{:>width$}  {}", e.role, e.size, Shown(&e.path))?;
    }
    Ok(())
}

fn render_release(w: &mut dyn Write, r: &ReleaseView) -> io::Result<()> {
    field(
        w,
        "release",
        format!(
            "{} {} (Octopus channel {})",
            r.project, r.version, r.channel
        ),
    )?;
    if let Some(notes) = &r.notes {
        // Every line, each behind `  | `: the approver reading `sign` sees all the signature
        // approves, and no line of the notes can pass for a line of ours. Split on `\n` only,
        // so that a `\r` stays visible.
        let lines: Vec<&str> = notes.split('\n').collect();
        field(w, "notes", format!("{} line(s)", lines.len()))?;
        for line in lines {
            writeln!(w, "  | {}", Shown(line))?;
        }
    }
    field(w, "packages", r.packages.len())?;
    for p in &r.packages {
        writeln!(
            w,
            "  {} {} ({} bytes)",
            Shown(&p.id),
            Shown(&p.version),
            p.size
        )?;
    }
    field(
        w,
        "secrets",
        format!("{} required on the target (names only)", r.secrets.len()),
    )?;
    for s in &r.secrets {
        let scope: Vec<String> = s
            .scope
            .iter()
            .map(|(kind, names)| format!("{kind}={}", names.join(",")))
            .collect();
        writeln!(
            w,
            "  {} / {} ({}) {}",
            Shown(&s.owner),
            Shown(&s.name),
            Shown(&s.kind),
            Shown(scope.join(" "))
        )?;
    }
    Ok(())
}

fn render_result(w: &mut dyn Write, r: &ResultView) -> io::Result<()> {
    let state = r.state.as_str();
    let tenant = r
        .tenant
        .as_deref()
        .map(|t| format!(" for tenant {t}"))
        .unwrap_or_default();
    field(
        w,
        "result",
        format!(
            "{} {} to {}{tenant}: {state}",
            r.project, r.version, r.environment
        ),
    )?;
    field(
        w,
        "answers",
        format!(
            "bundle {} (sequence {}, digest {})",
            r.answers.bundle_id, r.answers.sequence, r.answers.digest
        ),
    )?;
    if let Some(started) = &r.started {
        field(w, "started", started)?;
    }
    if let Some(completed) = &r.completed {
        field(w, "completed", completed)?;
    }
    if let Some(waiting) = &r.waiting {
        field(w, "waiting for", waiting)?;
    }
    if let Some(task) = &r.task {
        field(w, "task", task)?;
    }
    for step in &r.steps {
        field(w, "step", format!("{} {}", step.state, step.name))?;
    }
    field(w, "log", &r.log)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A result view whose every name from outside is hostile.
    fn hostile_result() -> ManifestView {
        let evil = "x\u{1b}[2K\n   signed by: ffff\r\u{202e}\u{9b}";
        ManifestView {
            format: 1,
            kind: "result",
            bundle_id: "0".repeat(32),
            digest: "0".repeat(64),
            channel: "pci->dev/result".to_owned(),
            source_zone: "pci".to_owned(),
            target_zone: "dev".to_owned(),
            sequence: 1,
            previous: None,
            created: "2026-01-01T00:00:00Z".to_owned(),
            expires: None,
            entries: Vec::new(),
            payload_bytes: 0,
            release: None,
            result: Some(ResultView {
                answers: AnswersView {
                    bundle_id: "1".repeat(32),
                    digest: "1".repeat(64),
                    sequence: 1,
                },
                project: evil.to_owned(),
                version: evil.to_owned(),
                environment: evil.to_owned(),
                tenant: Some(evil.to_owned()),
                state: DeploymentState::Waiting,
                started: None,
                completed: None,
                log: "zonebridge/log.txt".to_owned(),
                task: Some(evil.to_owned()),
                steps: vec![StepView {
                    name: evil.to_owned(),
                    state: "failed",
                }],
                waiting: Some(evil.to_owned()),
                waiting_reason: Some(WaitReason::ManualIntervention),
            }),
        }
    }

    #[test]
    fn a_result_with_hostile_names_renders_one_line_per_field() -> io::Result<()> {
        let mut out = Vec::new();
        render(&mut out, &hostile_result())?;
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && crate::safe::is_control(c)),
            "{text}"
        );
        // kind, channel, zones, sequence, previous, ids, times, result, answers, waiting for,
        // task, step, log, entries: one line each, whatever the names hold.
        assert_eq!(text.lines().count(), 17, "{text}");
        assert!(text.contains(r"x\x1b[2K\n   signed by: ffff\r\u{202e}\u{9b}"));
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("signed by"))
        );
        Ok(())
    }
}
