//! Step 7: the writes, in this order, each only where the plan found a difference:
//!
//! ```text
//! tenants    PUT tenants/{id}, PUT its values' route         connections and values that differ
//! templates  POST / PUT actiontemplates                      each step template to create or update
//!              -> the process's template ids and versions
//! process    PUT deploymentprocesses/{id} (its Version)      if it differs
//!              -> the action ids of new actions, for variable scopes
//! variables  GET variables/{id}, merge, PUT (its Version)    library sets, then the project's
//! build info POST build-information?overwriteMode=FailIfExists  each package version the target lacks
//! packages   POST packages/raw (FailIfExists)               each missing package
//! release    POST releases                                   unless it exists with the same content
//! check      GET the release's process and variable snapshots, compared with the bundle
//! ```
//!
//! Packages come after process and variables: a package arriving in the built-in feed may
//! make the target create a release by itself (automatic release creation, allowed with
//! `--allow-automatic-start`), and that release must snapshot the bundle's process and
//! variables, not the old ones. Build information goes before the packages for the same
//! reason: a release the target creates on a package push shows the build information it
//! holds at that moment.
//!
//! Each write is counted ([`Writes`], the crash-safety test hook). A crash anywhere leaves a
//! state the next run completes: every step compares first, so what was written is found equal
//! and kept. Process and variables are left alone when the release already exists with the
//! same content (the promotion completed earlier; they may have moved on since).

use octopus_api::Client;
use octopus_api::names::{Table, action_table};
use octopus_api::resources::{DeploymentProcess, Release, VariableSet};
use serde_json::json;

use super::hook::Writes;
use super::packages;
use super::plan::Work;
use super::record::AuditStep;
use super::refuse::refused;
use super::release;
use super::resolve::OwnerKind;
use super::target::{ProjectState, process_id};
use super::templates;
use super::variables::merge;

/// What the writes produced.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The release on the target.
    pub release: Release,
    /// One audit entry per step.
    pub audit: Vec<AuditStep>,
}

/// Carries out `work` on the target.
pub fn apply(
    client: &Client,
    work: &Work,
    state: &ProjectState,
    writes: &mut Writes,
) -> anyhow::Result<Applied> {
    let mut audit = Vec::new();
    // The templates written change what the process and the release refer to.
    let mut state = state.clone();
    let mut desired = work.desired.clone();
    let project = &state.project.name.clone();
    let version = &work.spec.version;
    if work.existing.is_none() {
        super::tenants::apply(
            client,
            &state.project.id,
            version,
            &work.tenants,
            writes,
            &mut audit,
        )?;
        let written = templates::write(client, &work.templates, version, writes, &mut audit)?;
        written.register(&mut state.directory.step_templates);
        written.patch_named(&mut desired.process);
        let mut process = work.process.clone();
        if let Some(process) = &mut process {
            written.patch_steps(&mut process.steps);
        }
        let actions = write_process(client, process.as_ref(), work, &state, writes, &mut audit)?;
        write_variables(client, work, &actions, writes, &mut audit)?;
        super::build_information::write(
            client,
            &work.build_information,
            project,
            version,
            writes,
            &mut audit,
        )?;
    }
    for check in &work.packages {
        let r = &check.package.reference;
        if !check.present {
            packages::upload(client, &check.package)?;
            writes.done("package upload")?;
        }
        audit.push(AuditStep {
            event: "import.package",
            detail: json!({
                "project": project, "version": version,
                "package": r.id, "package_version": r.version, "sha1": check.package.sha1,
                "action": if check.present { "kept" } else { "uploaded" },
            }),
        });
    }
    let release = match &work.existing {
        Some(existing) => {
            audit.push(AuditStep {
                event: "import.release",
                detail: json!({
                    "project": project, "version": version,
                    "release": existing.id, "action": "kept",
                    "reason": "the release exists with the same content",
                }),
            });
            existing.clone()
        }
        None => {
            let created = release::create(client, &work.spec)?;
            writes.done("release")?;
            audit.push(AuditStep {
                event: "import.release",
                detail: json!({
                    "project": project, "version": version,
                    "release": created.id, "channel": work.spec.channel.1, "action": "created",
                }),
            });
            created
        }
    };
    let difference = match release::difference(client, &release, &work.spec, &desired, &state)? {
        Some(difference) => Some(difference),
        None => super::build_information::release_difference(
            work.build_document.as_ref(),
            release.other.get("BuildInformation"),
        ),
    };
    if let Some(difference) = difference {
        return Err(refused(
            "import-mismatch",
            format!(
                "release {} of {} on the target does not match the bundle after the import: {}\nHint: something changed the project on the target during the import, or the target stores it differently; compare the release on the target with the bundle",
                bridge_cli::safe::Shown(&version),
                bridge_cli::safe::Shown(&project),
                bridge_cli::safe::Shown(&difference)
            ),
        ));
    }
    audit.push(AuditStep {
        event: "import.check",
        detail: json!({
            "project": project, "version": version, "release": release.id,
            "result": "the release's process and variable snapshots and its build information match the bundle",
        }),
    });
    Ok(Applied { release, audit })
}

/// Writes `process` (the plan's, pointed at the templates written) if the plan found that it
/// differs; returns the action table with the target's real ids.
fn write_process(
    client: &Client,
    process: Option<&DeploymentProcess>,
    work: &Work,
    state: &ProjectState,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<Table> {
    let project = &state.project.name;
    let (table, action) = match process {
        Some(process) => {
            let written: DeploymentProcess = client.put(
                &format!("deploymentprocesses/{}", process_id(&state.project)),
                process,
            )?;
            writes.done("process")?;
            (action_table(&written.steps), "updated")
        }
        None => (action_table(&state.process.steps), "kept"),
    };
    audit.push(AuditStep {
        event: "import.process",
        detail: json!({
            "project": project, "version": work.spec.version,
            "steps": work.resolved.process.steps.len(), "action": action,
        }),
    });
    Ok(table)
}

/// Merges each variable set into what the target has now and writes those that differ:
/// library variable sets first, then the project's.
fn write_variables(
    client: &Client,
    work: &Work,
    actions: &Table,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<()> {
    let mut sets: Vec<_> = work.resolved.sets.iter().collect();
    sets.sort_by_key(|s| s.owner.kind == OwnerKind::Project);
    for set in sets {
        let mut imported = set.imported.clone();
        imported.with_actions(actions);
        let path = format!("variables/{}", set.owner.variable_set_id);
        let current: VariableSet = client.get(&path)?;
        let secret = |v: &octopus_api::names::ImportedVariable| {
            work.secrets
                .value_for(&set.owner.id, &v.variable.name, &v.scope_names)
                .map(|s| s.expose().to_owned())
        };
        let merged = merge(&current.variables, &imported.variables, &secret).map_err(|found| {
            refused(
                "variable-conflict",
                format!(
                    "the variables of {} changed on the target during the import and no longer merge:{}",
                    bridge_cli::safe::Shown(set.owner.describe()),
                    bridge_cli::safe::bullets(&found)
                ),
            )
        })?;
        if merged.changed() {
            let body = VariableSet {
                variables: merged.variables.clone(),
                ..current
            };
            let _: VariableSet = client.put(&path, &body)?;
            writes.done("variables")?;
        }
        audit.push(AuditStep {
            event: "import.variables",
            detail: json!({
                "owner": set.owner.name,
                "version": work.spec.version,
                "action": if merged.changed() { "updated" } else { "kept" },
                "added": merged.added, "updated": merged.updated, "kept": merged.kept,
                "skipped": set.imported.skipped.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
            }),
        });
    }
    Ok(())
}
