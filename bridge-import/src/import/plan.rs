//! Step 6: the plan, computed from reads only, so that every refusal comes before the first
//! write: which packages to upload, whether the process and each variable set differ from the
//! bundle, and whether the release exists (the same promotion completed earlier -> its process
//! and variables are left alone; another release of that version -> refused).
//!
//! `--dry-run` prints this plan and stops; otherwise [`super::apply`] carries it out.

use octopus_api::names::{EXTERNAL_PACKAGES, ExternalPackages, process_to_names};
use octopus_api::resources::{DeploymentProcess, Release};
use serde::Serialize;

use super::build_information::{BuildInformationWork, Outcome as BuildOutcome};
use super::compare::{as_json, first_difference};
use super::content::ReleaseContent;
use super::external::{self, ExternalCheck};
use super::packages::{self, PackageCheck};
use super::refuse::refused;
use super::release::{self, Desired, ReleaseSpec};
use super::requirements::SecretSources;
use super::resolve::{Owner, Owners, Resolved};
use super::target::ProjectState;
use super::templates::{Outcome, TemplateWork};
use super::tenants::TenantWork;
use super::variables::{Merged, merge};

/// Everything an import will do, with what it needs to do it.
#[derive(Debug)]
pub struct Work {
    /// Each package, and whether the feed has it.
    pub packages: Vec<PackageCheck>,
    /// Each package on an external feed, checked on the target's feed.
    pub external: Vec<ExternalCheck>,
    /// The process to write (the live one, steps replaced), if it differs from the bundle's.
    pub process: Option<DeploymentProcess>,
    /// How the live process differs from the bundle's, for the report.
    pub process_difference: Option<String>,
    /// The names resolved, with the imported variable sets.
    pub resolved: Resolved,
    /// The merge of each variable set, as it would be now (the apply step merges again into
    /// what it reads just before writing).
    pub merges: Vec<(Owner, Merged)>,
    /// The release to create.
    pub spec: ReleaseSpec,
    /// The release of that version already on the target, with the same content.
    pub existing: Option<Release>,
    /// What the release must hold, in the target's names.
    pub desired: Desired,
    /// Where the secrets come from.
    pub secrets: SecretSources,
    /// The tenants' connections and values (`tenants.json`).
    pub tenants: Vec<TenantWork>,
    /// The library step templates the process uses, each decided.
    pub templates: Vec<TemplateWork>,
    /// The build information of the release's package versions, each decided.
    pub build_information: Vec<BuildInformationWork>,
    /// The bundle's `build-information.json`, for the read-back check of the release.
    pub build_document: Option<octopus_api::names::BuildInformationDocument>,
}

/// One line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    /// `build-information`, `package`, `external`, `tenant`, `step-template`, `process`,
    /// `variables` or `release`.
    pub step: &'static str,
    /// What it is about.
    pub subject: String,
    /// `upload`, `push`, `create`, `update`, `keep` or `skip`.
    pub action: &'static str,
    /// Details for people.
    pub detail: String,
}

/// What an import does (or, with `--dry-run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// In the order they are carried out.
    pub steps: Vec<PlanStep>,
    /// Variables of the bundle left out (a scope lost every name to `[unmapped] = "drop"`).
    pub skipped_variables: Vec<String>,
    /// Secrets not needed for the same reason.
    pub skipped_secrets: Vec<String>,
    /// Secrets the target stores already.
    pub secrets_stored: usize,
    /// Secrets taken from the secrets file.
    pub secrets_from_file: usize,
    /// Entries of the secrets file nothing needed (a misspelt owner, name or scope?).
    pub secrets_file_unused: Vec<String>,
}

/// Computes the work from what was read; refuses conflicts before anything is written.
pub fn prepare(
    client: &octopus_api::Client,
    content: &ReleaseContent<'_>,
    owners: &Owners,
    state: &ProjectState,
    resolved: Resolved,
    secrets: SecretSources,
    templates: Vec<TemplateWork>,
) -> anyhow::Result<Work> {
    let mut process = resolved.process.clone();
    for (slot, value) in &secrets.properties {
        process.fill(slot, value.expose());
    }
    let resolved = Resolved {
        process,
        ..resolved
    };
    let external_packages = content
        .document::<ExternalPackages>(EXTERNAL_PACKAGES)?
        .unwrap_or_default()
        .packages;
    let spec = ReleaseSpec {
        project_id: owners.project.id.clone(),
        version: content.release.version.clone(),
        channel: resolved.channel.clone(),
        notes: content.release.notes.clone(),
        selected: release::selected_packages(
            &resolved.process.steps,
            &content.packages,
            &external_packages,
        )?,
    };
    let desired = release::desired(&resolved, state)?;
    let existing = match &state.release {
        None => None,
        Some(found) => match release::difference(client, found, &spec, &desired, state)? {
            None => Some(found.clone()),
            Some(difference) => {
                return Err(refused(
                    "release-conflict",
                    format!(
                        "release {} of {} already exists on the target with different content: {}\nHint: a version is released once; release a new version in the development zone, or delete the target's release if it is wrong",
                        bridge_cli::safe::Shown(&spec.version),
                        bridge_cli::safe::Shown(&owners.project.name),
                        bridge_cli::safe::Shown(&difference)
                    ),
                ));
            }
        },
    };
    let packages = packages::check(client, &content.packages)?;
    let external = external::check(client, &external_packages, &resolved.process.steps)?;
    let live = process_to_names(&state.process, &state.project.name, &state.directory)
        .map(|named| as_json(&named));
    let process_difference = match &live {
        Ok(live) => first_difference(&desired.process, live),
        Err(ids) => Some(format!(
            "the live process refers to ids without a name: {}",
            ids.join(", ")
        )),
    };
    let process = process_difference.as_ref().map(|_| DeploymentProcess {
        steps: resolved.process.steps.clone(),
        ..state.process.clone()
    });
    let mut merges = Vec::new();
    let mut conflicts = Vec::new();
    for set in &resolved.sets {
        let current = state
            .variables
            .get(&set.owner.variable_set_id)
            .map(|s| s.variables.as_slice())
            .unwrap_or_default();
        let secret = |v: &octopus_api::names::ImportedVariable| {
            secrets
                .value_for(&set.owner.id, &v.variable.name, &v.scope_names)
                .map(|s| s.expose().to_owned())
        };
        match merge(current, &set.imported.variables, &secret) {
            Ok(merged) => merges.push((set.owner.clone(), merged)),
            Err(found) => conflicts.extend(
                found
                    .into_iter()
                    .map(|c| format!("{}: {c}", set.owner.describe())),
            ),
        }
    }
    if !conflicts.is_empty() {
        return Err(refused(
            "variable-conflict",
            format!(
                "the bundle's variables cannot be merged into the target's; nothing was written:{}\nHint: change the variable on the target, or the mapping file",
                bridge_cli::safe::bullets(&conflicts)
            ),
        ));
    }
    Ok(Work {
        packages,
        external,
        process,
        process_difference,
        resolved,
        merges,
        spec,
        existing,
        desired,
        secrets,
        tenants: Vec::new(),
        templates,
        build_information: Vec::new(),
        build_document: None,
    })
}

impl Work {
    /// The plan, for people and `--json`.
    pub fn plan(&self) -> Plan {
        let mut steps = Vec::new();
        let skip = self.existing.is_some();
        let skipped = "the release exists on the target with the same content".to_owned();
        // Pushed before the packages (apply.rs says why), so listed first.
        for item in &self.build_information {
            steps.push(PlanStep {
                step: "build-information",
                subject: item.entry.describe(),
                action: match (skip, item.outcome) {
                    (true, _) => "skip",
                    (false, BuildOutcome::Push) => "push",
                    (false, BuildOutcome::Keep) => "keep",
                },
                detail: if skip { skipped.clone() } else { item.detail() },
            });
        }
        for check in &self.packages {
            let r = &check.package.reference;
            steps.push(PlanStep {
                step: "package",
                subject: format!("{} {}", r.id, r.version),
                action: if check.present { "keep" } else { "upload" },
                detail: if check.present {
                    format!("in the feed with the same SHA-1 {}", check.package.sha1)
                } else {
                    format!("{} bytes, SHA-1 {}", r.size, check.package.sha1)
                },
            });
        }
        for check in &self.external {
            let p = &check.package;
            steps.push(PlanStep {
                step: "external",
                subject: format!("{} {}", p.package_id, p.version),
                action: if check.checked { "keep" } else { "skip" },
                detail: match &check.target_feed {
                    Some(feed) => format!("on the target's feed {feed:?}, which lists it"),
                    None => format!(
                        "feed {:?} is chosen when the deployment runs; not checked",
                        p.feed
                    ),
                },
            });
        }
        for tenant in &self.tenants {
            steps.push(PlanStep {
                step: "tenant",
                subject: format!("tenant {:?}", tenant.tenant.name),
                action: match (skip, tenant.changed()) {
                    (true, _) => "skip",
                    (false, true) => "update",
                    (false, false) => "keep",
                },
                detail: if skip {
                    skipped.clone()
                } else {
                    tenant.detail()
                },
            });
        }
        for template in &self.templates {
            steps.push(PlanStep {
                step: "step-template",
                subject: format!("{:?}", template.target_name),
                action: match (skip, template.outcome) {
                    (true, Outcome::Create | Outcome::Update) => "skip",
                    (_, outcome) => outcome.action(),
                },
                detail: if skip {
                    skipped.clone()
                } else {
                    template.detail()
                },
            });
        }
        let steps_count = self.resolved.process.steps.len();
        steps.push(PlanStep {
            step: "process",
            subject: self.desired_project(),
            action: match (skip, &self.process) {
                (true, _) => "skip",
                (false, Some(_)) => "update",
                (false, None) => "keep",
            },
            detail: match (skip, &self.process_difference) {
                (true, _) => skipped.clone(),
                (false, Some(difference)) => {
                    format!("{}; differs at {difference}", count(steps_count, "step"))
                }
                (false, None) => format!("{}, as in the bundle", count(steps_count, "step")),
            },
        });
        for (owner, merged) in &self.merges {
            steps.push(PlanStep {
                step: "variables",
                subject: owner.describe(),
                action: match (skip, merged.changed()) {
                    (true, _) => "skip",
                    (false, true) => "update",
                    (false, false) => "keep",
                },
                detail: if skip {
                    skipped.clone()
                } else {
                    merge_detail(merged)
                },
            });
        }
        steps.push(PlanStep {
            step: "release",
            subject: self.spec.version.clone(),
            action: if skip { "keep" } else { "create" },
            detail: match &self.existing {
                Some(release) => format!(
                    "{} exists with the same content: completed earlier",
                    release.id.as_deref().unwrap_or("the release")
                ),
                None => format!(
                    "channel {:?}, {}",
                    self.spec.channel.1,
                    count(self.spec.selected.len(), "package selection")
                ),
            },
        });
        Plan {
            steps,
            skipped_variables: self
                .resolved
                .sets
                .iter()
                .flat_map(|set| {
                    set.imported.skipped.iter().map(move |v| {
                        format!(
                            "{} of {}: its {} scope {} is not on the target",
                            v.name,
                            set.owner.describe(),
                            v.dimension,
                            v.dropped.join(", ")
                        )
                    })
                })
                .collect(),
            skipped_secrets: self.resolved.skipped_requirements.clone(),
            secrets_stored: self.secrets.stored,
            secrets_from_file: self.secrets.from_file,
            secrets_file_unused: self.secrets.unused.clone(),
        }
    }

    fn desired_project(&self) -> String {
        self.desired
            .process
            .get("Project")
            .and_then(serde_json::Value::as_str)
            .map(|p| format!("project {p:?}"))
            .unwrap_or_default()
    }
}

/// `1 step`, `3 steps`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn merge_detail(merged: &Merged) -> String {
    let mut parts = vec![
        format!("{} added", merged.added.len()),
        format!("{} updated", merged.updated.len()),
        format!("{} kept", merged.kept),
    ];
    let names: Vec<&str> = merged
        .added
        .iter()
        .chain(&merged.updated)
        .map(String::as_str)
        .take(5)
        .collect();
    if !names.is_empty() {
        parts.push(format!("changes: {}", names.join("; ")));
    }
    parts.join(", ")
}
