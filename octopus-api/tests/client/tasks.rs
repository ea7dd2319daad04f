//! Deployments and their tasks against the stand-in: a deployment created once, its task
//! followed to the end, the activity tree read into typed steps, and the raw log read within
//! a limit, cut where the limit says.

use std::time::{Duration, Instant};

use octopus_api::resources::{Deployment, Environment, Project, Release, Task, TaskDetails};
use serde_json::json;

use crate::harness::{Standin, TestResult};

#[test]
fn a_deployment_is_created_once_and_its_task_log_read_within_a_limit() -> TestResult {
    let standin = Standin::start(Some("dev.json"))?;
    let client = standin.client()?;
    let projects: Vec<Project> = client.get_all("projects?name=Fraud%20Rules")?;
    let project = projects.first().ok_or("no Fraud Rules")?;
    let release: Release = client.get(&format!("projects/{}/releases/3.13.0", project.id))?;
    let environments: Vec<Environment> = client.get_all("environments?name=Development")?;
    let environment = environments.first().ok_or("no Development")?;
    let created: Deployment = client.post_once(
        "deployments",
        &json!({"ReleaseId": release.id, "EnvironmentId": environment.id}),
    )?;
    let task_id = created.task_id.ok_or("no task id")?;
    let of_release: Vec<Deployment> = client.get_all(&format!(
        "releases/{}/deployments",
        release.id.as_deref().unwrap_or("")
    ))?;
    assert_eq!(of_release.len(), 1, "one POST, one deployment");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let task: Task = client.get(&format!("tasks/{task_id}"))?;
        if task.is_completed {
            assert_eq!(task.state, "Success");
            assert!(task.start_time.is_some() && task.completed_time.is_some());
            break;
        }
        assert!(Instant::now() < deadline, "the task did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    let details: TaskDetails = client.get(&format!("tasks/{task_id}/details"))?;
    let steps: Vec<_> = details
        .activity_logs
        .iter()
        .flat_map(|root| root.children.iter())
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(steps.iter().all(|s| s.status.as_deref() == Some("Success")));

    let (whole, cut) = client.get_text(&format!("tasks/{task_id}/raw"), 1 << 20)?;
    assert!(!cut);
    assert!(whole.starts_with("Task ID:"), "{whole}");
    assert!(whole.len() > 200);
    let (head, cut) = client.get_text(&format!("tasks/{task_id}/raw"), 100)?;
    assert!(cut);
    assert_eq!(head.len(), 100);
    assert!(whole.starts_with(&head));
    Ok(())
}
