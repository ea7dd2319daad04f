//! What a task carries out: a deployment of a release, or a run of a runbook snapshot. The
//! runner treats both alike (a frozen process with frozen variables); only the documents, the
//! channel and the system variables that name them differ.

use crate::kind::Kind;
use crate::store::{Doc, Store, text};

/// What differs between a deployment and a runbook run: the documents, the process, the
/// channel, and the system variables naming them.
pub struct Execution {
    /// `Deployment` or `RunbookRun`.
    pub kind: Kind,
    /// The deployment or the runbook run.
    pub doc: Doc,
    /// What it froze: the release, or the runbook snapshot.
    pub frozen: Doc,
    /// The frozen process it runs.
    pub process: Doc,
    /// The release's channel; a runbook has none.
    pub channel: Option<Doc>,
    /// The system variables that name these documents.
    pub system: Vec<(&'static str, String)>,
}

/// The deployment or runbook run that task `task_id` carries out, with what it froze.
pub fn execution(store: &Store, task_id: &str) -> Result<Execution, String> {
    let get = |kind: Kind, id: &str| -> Result<Doc, String> {
        store
            .get(kind, id)
            .cloned()
            .ok_or_else(|| format!("the {} '{id}' no longer exists", kind.noun()))
    };
    let of_task = |kind: Kind| {
        store
            .all(kind)
            .iter()
            .find(|d| text(d, "TaskId") == Some(task_id))
            .cloned()
    };
    let field = |doc: &Doc, name: &str| text(doc, name).unwrap_or("").to_owned();
    if let Some(deployment) = of_task(Kind::Deployment) {
        let release = get(Kind::Release, &field(&deployment, "ReleaseId"))?;
        let channel = get(Kind::Channel, &field(&release, "ChannelId"))?;
        let process = get(
            Kind::DeploymentProcess,
            &field(&release, "ProjectDeploymentProcessSnapshotId"),
        )?;
        let system = vec![
            ("Octopus.Release.Number", field(&release, "Version")),
            ("Octopus.Release.Id", field(&release, "Id")),
            ("Octopus.Release.Notes", field(&release, "ReleaseNotes")),
            ("Octopus.Channel.Name", field(&channel, "Name")),
            ("Octopus.Channel.Id", field(&channel, "Id")),
            ("Octopus.Deployment.Id", field(&deployment, "Id")),
            ("Octopus.Deployment.Name", field(&deployment, "Name")),
        ];
        return Ok(Execution {
            kind: Kind::Deployment,
            doc: deployment,
            frozen: release,
            process,
            channel: Some(channel),
            system,
        });
    }
    let run = of_task(Kind::RunbookRun).ok_or("the task has no deployment or runbook run")?;
    let snapshot = get(Kind::RunbookSnapshot, &field(&run, "RunbookSnapshotId"))?;
    let runbook = get(Kind::Runbook, &field(&run, "RunbookId"))?;
    let process = get(
        Kind::RunbookProcess,
        &field(&snapshot, "FrozenRunbookProcessId"),
    )?;
    // Octopus's runbook system variables (documentation, "System variables": Runbook).
    let system = vec![
        ("Octopus.Runbook.Id", field(&runbook, "Id")),
        ("Octopus.Runbook.Name", field(&runbook, "Name")),
        ("Octopus.RunbookRun.Id", field(&run, "Id")),
        ("Octopus.RunbookRun.Name", field(&run, "Name")),
        ("Octopus.RunbookSnapshot.Id", field(&snapshot, "Id")),
        ("Octopus.RunbookSnapshot.Name", field(&snapshot, "Name")),
    ];
    Ok(Execution {
        kind: Kind::RunbookRun,
        doc: run,
        frozen: snapshot,
        process,
        channel: None,
        system,
    })
}
