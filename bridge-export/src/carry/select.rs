//! Which releases a rule carries: read from the development-zone Octopus, filtered by project,
//! channel, gate and flood guard, then by what the ledger says was already exported.
//!
//! ```text
//! GET projects/all ─────────────── names matched against the rule's patterns
//! GET projects/{id}/channels ───── channel ids -> names (the rule's `channels`)
//! GET projects/{id}/releases ───── Id, Version, ChannelId, Assembled (paged, newest first)
//! gate: GET environments?name= ─── the environment's id
//!       GET deployments?projects={id}&environments={env} ── ReleaseId, EnvironmentId, TaskId
//!       GET tasks/{TaskId} ─────── State "Success" and FinishedSuccessfully (only for releases
//!                                  not yet exported: one read per candidate deployment)
//! ```
//!
//! These are the routes and filters Octopus's own clients use: OctopusClients
//! `IDeploymentRepository.FindAll(projects, environments, skip, take)` and `GetTask(deployment)`,
//! go-octopusdeploy `DeploymentsQuery{Projects, Environments}` (api-root link template
//! `Deployments{?...,projects,environments,...}`), `TaskResource.State` and
//! `FinishedSuccessfully`.
//!
//! Whatever the server answers is checked again here (fail closed): a deployment of another
//! project or environment, or of a release that is not the project's, never opens the gate,
//! even if a server ignored the filter; a task whose id is not the one asked for, or that is
//! not both `Success` and finished successfully, does not either.

use std::collections::{BTreeMap, BTreeSet};

use octopus_api::resources::{Channel, Deployment, Environment, Project, Task};
use octopus_api::{Client, OctopusError, segment};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::config::Rule;

/// A release as the list of a project's releases shows it: what the selection needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReleaseEntry {
    /// `Releases-N`.
    pub id: String,
    /// Its version.
    pub version: String,
    /// `Projects-N`.
    #[serde(default)]
    pub project_id: String,
    /// `Channels-N`.
    #[serde(default)]
    pub channel_id: Option<String>,
    /// When it was assembled (created), ISO 8601 with offset.
    #[serde(default)]
    pub assembled: Option<String>,
}

/// A release a rule carries, not yet exported to its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The rule (`carry[N]`).
    pub rule: usize,
    /// The project's name.
    pub project: String,
    /// The project's id (`Projects-N`).
    pub project_id: String,
    /// The release's version.
    pub version: String,
    /// Its channel's name.
    pub channel: String,
    /// When it was assembled.
    pub assembled: OffsetDateTime,
    /// `Releases-N`: orders releases assembled at the same instant.
    pub release_id: String,
}

/// Something a rule could not decide: reported like a failed release, retried next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule (`carry[N]`).
    pub rule: usize,
    /// The project, if the problem is one project's.
    pub project: Option<String>,
    /// The release version, if the problem is one release's.
    pub version: Option<String>,
    /// A stable code (`gate-unknown-environment`, `project-not-found`, `permission-denied`, ...).
    pub code: &'static str,
    /// What happened, and the fix.
    pub reason: String,
}

/// What the rules select: candidates (not yet exported) and problems.
#[derive(Debug, Default)]
pub struct Selection {
    /// Releases to export, in no particular order ([`order`] sorts them).
    pub candidates: Vec<Candidate>,
    /// What could not be decided.
    pub problems: Vec<Problem>,
}

/// A release's assembly time: RFC 3339 (Octopus writes an offset and milliseconds).
pub fn assembled(entry: &ReleaseEntry) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(entry.assembled.as_deref()?, &Rfc3339).ok()
}

/// Oldest first: by assembly time, then by the number in the release id (`Releases-9` before
/// `Releases-10`), then by version, so that the order never depends on the server's.
pub fn order(candidates: &mut [Candidate]) {
    let number = |id: &str| {
        id.rsplit('-')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(u64::MAX)
    };
    candidates.sort_by(|a, b| {
        a.assembled
            .cmp(&b.assembled)
            .then_with(|| number(&a.release_id).cmp(&number(&b.release_id)))
            .then_with(|| a.version.cmp(&b.version))
            .then_with(|| a.project.cmp(&b.project))
    });
}

/// Which releases of `project` the gate opens for: the ids of releases with a deployment to
/// `environment` whose task succeeded. `task_of` reads a task (`tasks/{id}`); it is called
/// only for deployments of releases in `wanted`.
pub fn gate_open(
    project: &Project,
    environment: &Environment,
    deployments: &[Deployment],
    wanted: &BTreeSet<String>,
    task_of: &mut dyn FnMut(&str) -> Result<Task, OctopusError>,
) -> Result<BTreeSet<String>, OctopusError> {
    let mut open = BTreeSet::new();
    for deployment in deployments {
        if deployment.environment_id != environment.id
            || !wanted.contains(&deployment.release_id)
            || open.contains(&deployment.release_id)
        {
            continue;
        }
        // A deployment that says it belongs to another project does not count, whatever the
        // filter answered (`ProjectId` is in every DeploymentResource).
        let project_id = deployment.other.get("ProjectId").and_then(|v| v.as_str());
        if project_id.is_some_and(|p| p != project.id) {
            continue;
        }
        let Some(task_id) = deployment.task_id.as_deref().filter(|t| !t.is_empty()) else {
            continue;
        };
        let task = task_of(task_id)?;
        if task.id == task_id && task.state == "Success" && task.finished_successfully {
            open.insert(deployment.release_id.clone());
        }
    }
    Ok(open)
}

/// What a rule's pass over one project needs from the ledger: the versions already exported
/// on the rule's channel, by project.
pub type Exported = BTreeMap<String, BTreeSet<String>>;

/// Runs every rule against the instance. `exported(target zone)` lists what the ledger says
/// went to that zone already. Problems of one rule or project never stop the others.
pub fn select(
    client: &Client,
    rules: &[Rule],
    exported: &dyn Fn(&bundle_format::names::ZoneId) -> Result<Exported, String>,
) -> Result<Selection, OctopusError> {
    let projects: Vec<Project> = client.get("projects/all")?;
    let mut selection = Selection::default();
    for rule in rules {
        let done = match exported(&rule.target_zone) {
            Ok(done) => done,
            Err(reason) => {
                selection.problems.push(Problem {
                    rule: rule.index,
                    project: None,
                    version: None,
                    code: "ledger",
                    reason,
                });
                continue;
            }
        };
        for pattern in rule.projects.iter().filter(|p| !p.is_glob()) {
            if !projects.iter().any(|p| pattern.matches(&p.name)) {
                selection.problems.push(Problem {
                    rule: rule.index,
                    project: Some(pattern.text.clone()),
                    version: None,
                    code: "project-not-found",
                    reason: format!(
                        "{}: there is no project named {:?} on the development Octopus\nHint: name it exactly as Octopus shows it (names are case-sensitive), or use a pattern",
                        rule.name(),
                        pattern.text
                    ),
                });
            }
        }
        let environment = match &rule.gate {
            None => None,
            Some(name) => {
                match client.find_by_name::<Environment>("environments", name, |e| &e.name) {
                    Ok(Some(environment)) => Some(environment),
                    Ok(None) => {
                        selection.problems.push(Problem {
                            rule: rule.index,
                            project: None,
                            version: None,
                            code: "gate-unknown-environment",
                            reason: format!(
                                "{}: the gate's environment {name:?} does not exist on the development Octopus\nHint: name an environment exactly as Octopus shows it, such as \"Staging\"",
                                rule.name()
                            ),
                        });
                        continue;
                    }
                    Err(e) => {
                        selection.problems.push(octopus_problem(rule, None, e));
                        continue;
                    }
                }
            }
        };
        for project in projects
            .iter()
            .filter(|p| rule.projects.iter().any(|pattern| pattern.matches(&p.name)))
        {
            let already = done.get(&project.name);
            match candidates_of(client, rule, project, environment.as_ref(), already) {
                Ok((found, problems)) => {
                    selection.candidates.extend(found);
                    selection.problems.extend(problems);
                }
                Err(e) => selection
                    .problems
                    .push(octopus_problem(rule, Some(&project.name), e)),
            }
        }
    }
    Ok(selection)
}

/// What Octopus answered, classified as `export` would be (`permission-denied`,
/// `octopus-unavailable`, ...), with the hint its message carries.
fn octopus_problem(rule: &Rule, project: Option<&str>, e: OctopusError) -> Problem {
    let err = anyhow::Error::from(e);
    let (code, reason) = match bridge_cli::failure::Failure::from_error(&err) {
        Some(failure) => {
            let hint = failure
                .hint
                .map(|h| format!("\nHint: {h}"))
                .unwrap_or_default();
            (failure.code, format!("{}{hint}", failure.message))
        }
        None => ("octopus", format!("{err:#}")),
    };
    Problem {
        rule: rule.index,
        project: project.map(str::to_owned),
        version: None,
        code,
        reason: format!("{}: {reason}", rule.name()),
    }
}

/// One project's releases that the rule carries and the ledger has not seen go.
fn candidates_of(
    client: &Client,
    rule: &Rule,
    project: &Project,
    environment: Option<&Environment>,
    already: Option<&BTreeSet<String>>,
) -> Result<(Vec<Candidate>, Vec<Problem>), OctopusError> {
    let mut problems = Vec::new();
    let channels: Vec<Channel> = client.get_all(&format!("projects/{}/channels", project.id))?;
    let channel_name: BTreeMap<&str, &str> = channels
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let releases: Vec<ReleaseEntry> =
        client.get_all(&format!("projects/{}/releases", project.id))?;
    let mut kept = Vec::new();
    for release in releases {
        // The list is the project's; anything else is not this project's release.
        if !release.project_id.is_empty() && release.project_id != project.id {
            continue;
        }
        let Some(channel) = release
            .channel_id
            .as_deref()
            .and_then(|id| channel_name.get(id))
        else {
            problems.push(Problem {
                rule: rule.index,
                project: Some(project.name.clone()),
                version: Some(release.version.clone()),
                code: "release-unreadable",
                reason: format!(
                    "release {} of {}: its channel {:?} is not one of the project's channels",
                    release.version, project.name, release.channel_id
                ),
            });
            continue;
        };
        if !rule.takes_channel(channel) {
            continue;
        }
        let Some(when) = assembled(&release) else {
            problems.push(Problem {
                rule: rule.index,
                project: Some(project.name.clone()),
                version: Some(release.version.clone()),
                code: "release-unreadable",
                reason: format!(
                    "release {} of {}: its Assembled time {:?} is missing or not RFC 3339, so it cannot be put in order",
                    release.version, project.name, release.assembled
                ),
            });
            continue;
        };
        if rule.since.is_some_and(|since| when < since) {
            continue;
        }
        kept.push(Candidate {
            rule: rule.index,
            project: project.name.clone(),
            project_id: project.id.clone(),
            version: release.version.clone(),
            channel: (*channel).to_owned(),
            assembled: when,
            release_id: release.id.clone(),
        });
    }
    if let Some(environment) = environment {
        let wanted: BTreeSet<String> = kept
            .iter()
            .filter(|c| already.is_none_or(|a| !a.contains(&c.version)))
            .map(|c| c.release_id.clone())
            .collect();
        let open = if wanted.is_empty() {
            BTreeSet::new()
        } else {
            let deployments: Vec<Deployment> = client.get_all(&format!(
                "deployments?projects={}&environments={}",
                segment(&project.id),
                segment(&environment.id)
            ))?;
            gate_open(project, environment, &deployments, &wanted, &mut |task| {
                client.get(&format!("tasks/{}", segment(task)))
            })?
        };
        kept.retain(|c| {
            open.contains(&c.release_id) || already.is_some_and(|a| a.contains(&c.version))
        });
    }
    // The flood guard counts qualifying releases, exported or not: `newest = 3` keeps a window
    // of the three newest, so that a run never reaches further back than that.
    if let Some(newest) = rule.newest {
        order(&mut kept);
        let skip = kept.len().saturating_sub(newest as usize);
        kept.drain(..skip);
    }
    kept.retain(|c| already.is_none_or(|a| !a.contains(&c.version)));
    Ok((kept, problems))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn project() -> Result<Project, serde_json::Error> {
        serde_json::from_value(json!({"Id": "Projects-1", "Name": "Payments API"}))
    }

    fn environment() -> Result<Environment, serde_json::Error> {
        serde_json::from_value(json!({"Id": "Environments-3", "Name": "Staging"}))
    }

    fn deployment(value: serde_json::Value) -> Result<Deployment, serde_json::Error> {
        serde_json::from_value(value)
    }

    fn task(id: &str, state: &str, finished: bool) -> Task {
        Task {
            id: id.to_owned(),
            state: state.to_owned(),
            is_completed: true,
            finished_successfully: finished,
            error_message: None,
            has_pending_interruptions: false,
            start_time: None,
            completed_time: None,
            other: Default::default(),
        }
    }

    type Tasks = BTreeMap<&'static str, Task>;

    fn open_for(
        deployments: &[Deployment],
        tasks: &Tasks,
    ) -> Result<BTreeSet<String>, Box<dyn std::error::Error>> {
        let wanted: BTreeSet<String> = ["Releases-1", "Releases-2"]
            .map(str::to_owned)
            .into_iter()
            .collect();
        Ok(gate_open(
            &project()?,
            &environment()?,
            deployments,
            &wanted,
            &mut |id| {
                tasks
                    .get(id)
                    .cloned()
                    .ok_or_else(|| OctopusError::BadResponse {
                        method: "GET".into(),
                        path: format!("tasks/{id}"),
                        reason: "not found".into(),
                    })
            },
        )?)
    }

    #[test]
    fn only_a_successful_task_in_the_gate_environment_opens_it()
    -> Result<(), Box<dyn std::error::Error>> {
        let ok = deployment(json!({"Id": "Deployments-1", "ReleaseId": "Releases-1",
            "EnvironmentId": "Environments-3", "ProjectId": "Projects-1", "TaskId": "ServerTasks-1"}))?;
        let tasks: Tasks = [("ServerTasks-1", task("ServerTasks-1", "Success", true))].into();
        assert_eq!(open_for(&[ok], &tasks)?, ["Releases-1".to_owned()].into());
        Ok(())
    }

    #[test]
    fn hostile_or_odd_answers_never_open_the_gate() -> Result<(), Box<dyn std::error::Error>> {
        // Each case is the good deployment of the test above with one field changed, or a
        // task answer that must not count.
        let good = json!({"ReleaseId": "Releases-1", "EnvironmentId": "Environments-3",
            "ProjectId": "Projects-1", "TaskId": "ServerTasks-1"});
        let success = || task("ServerTasks-1", "Success", true);
        let cases: Vec<(&str, (&str, &str), Task)> = vec![
            (
                "a server that ignored the environments filter",
                ("EnvironmentId", "Environments-1"),
                success(),
            ),
            (
                "a deployment of another project",
                ("ProjectId", "Projects-9"),
                success(),
            ),
            (
                "a release that is not a candidate",
                ("ReleaseId", "Releases-7"),
                success(),
            ),
            ("a deployment without a task", ("TaskId", ""), success()),
            (
                "a failed task",
                ("TaskId", "ServerTasks-1"),
                task("ServerTasks-1", "Failed", false),
            ),
            (
                "a task still running",
                ("TaskId", "ServerTasks-1"),
                task("ServerTasks-1", "Executing", false),
            ),
            (
                "a cancelled task",
                ("TaskId", "ServerTasks-1"),
                task("ServerTasks-1", "Canceled", false),
            ),
            (
                "Success that did not finish successfully",
                ("TaskId", "ServerTasks-1"),
                task("ServerTasks-1", "Success", false),
            ),
            (
                "an answer for another task",
                ("TaskId", "ServerTasks-1"),
                task("ServerTasks-2", "Success", true),
            ),
        ];
        for (what, (field, changed), answer) in cases {
            let mut value = good.clone();
            value[field] = json!(changed);
            let tasks: Tasks = [("ServerTasks-1", answer)].into();
            assert!(
                open_for(&[deployment(value)?], &tasks)?.is_empty(),
                "{what}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_task_that_cannot_be_read_is_an_error_not_a_pass() -> Result<(), Box<dyn std::error::Error>>
    {
        let d = deployment(
            json!({"ReleaseId": "Releases-2", "EnvironmentId": "Environments-3",
            "ProjectId": "Projects-1", "TaskId": "ServerTasks-404"}),
        )?;
        assert!(open_for(&[d], &Tasks::new()).is_err());
        Ok(())
    }

    #[test]
    fn assembly_times_are_strict_rfc3339() {
        let entry = |text: Option<&str>| ReleaseEntry {
            id: "Releases-1".into(),
            version: "1.0.0".into(),
            project_id: "Projects-1".into(),
            channel_id: Some("Channels-1".into()),
            assembled: text.map(str::to_owned),
        };
        assert!(assembled(&entry(Some("2026-11-30T10:15:02.123+00:00"))).is_some());
        for bad in [
            None,
            Some(""),
            Some("yesterday"),
            Some("2026-11-30 10:15"),
            Some("2026-13-01T00:00:00Z"),
        ] {
            assert!(assembled(&entry(bad)).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn oldest_first_with_ties_broken_by_release_number() -> Result<(), time::error::Parse> {
        let at = |t: &str| OffsetDateTime::parse(t, &Rfc3339);
        let candidate = |project: &str, id: &str, when: OffsetDateTime| Candidate {
            rule: 0,
            project: project.into(),
            project_id: "Projects-1".into(),
            version: id.into(),
            channel: "Default".into(),
            assembled: when,
            release_id: id.into(),
        };
        let mut list = vec![
            candidate("b", "Releases-10", at("2026-01-01T00:00:00Z")?),
            candidate("a", "Releases-9", at("2026-01-01T00:00:00Z")?),
            candidate("c", "Releases-1", at("2026-02-01T00:00:00+05:00")?),
            candidate("d", "Releases-2", at("2025-12-31T23:00:00-03:00")?),
        ];
        order(&mut list);
        let ids: Vec<&str> = list.iter().map(|c| c.release_id.as_str()).collect();
        assert_eq!(
            ids,
            ["Releases-9", "Releases-10", "Releases-2", "Releases-1"]
        );
        Ok(())
    }
}
