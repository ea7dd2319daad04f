//! `--data FILE`: state survives a restart (even a kill), package files included; a task that
//! was running when the stand-in died is failed, not run twice.

use std::time::Duration;

use serde_json::json;

use crate::harness::{KEY, Standin, TestResult, expect, id, script_step};

#[test]
fn state_and_packages_survive_a_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    let data_arg = data.to_str().ok_or("path is not UTF-8")?;
    let (project, release, hash) = {
        let standin = Standin::start_with(&["--data", data_arg])?;
        let env = standin.environment("Production")?;
        let project = standin.project("Payments API", "Lifecycles-1")?;
        standin.set_steps(&project, json!([script_step("Deploy", "echo ok")]))?;
        standin.set_variables(
            &project,
            json!([{"Name": "Api.Key", "Value": "k-123", "Type": "Sensitive"}]),
        )?;
        let package = expect(
            standin.upload("Payments.Api.1.4.0.zip", b"payments api 1.4.0", "")?,
            201,
        )?;
        let release = id(&standin.release(&project, "1.4.0", json!([]))?)?;
        let task = standin.deploy(&release, &env)?["TaskId"]
            .as_str()
            .ok_or("no TaskId")?
            .to_owned();
        assert_eq!(
            standin.wait_for_task(&task, Duration::from_secs(30))?["State"],
            "Success"
        );
        standin.kill()?;
        (project, release, package["Hash"].clone())
    };
    let standin = Standin::start_with(&["--data", data_arg])?;
    assert_eq!(
        standin.ok(&format!("/api/Spaces-1/projects/{project}"))?["Name"],
        "Payments API"
    );
    assert_eq!(
        standin.ok(&format!("/api/Spaces-1/releases/{release}"))?["Version"],
        "1.4.0"
    );
    assert_eq!(
        standin.ok("/api/Spaces-1/packages/packages-Payments.Api.1.4.0")?["Hash"],
        hash
    );
    let raw = standin
        .client()
        .get(format!(
            "{}/api/Spaces-1/packages/packages-Payments.Api.1.4.0/raw",
            standin.url
        ))
        .header("X-Octopus-ApiKey", KEY)
        .send()?
        .error_for_status()?
        .bytes()?;
    assert_eq!(raw.as_ref(), b"payments api 1.4.0");
    assert_eq!(
        standin.ok("/api/Spaces-1/tasks")?["Items"][0]["State"],
        "Success"
    );
    // The secret survived too: a new release deploys with it, masked.
    let env = standin.ok("/api/Spaces-1/environments/all")?[0]["Id"]
        .as_str()
        .ok_or("no env")?
        .to_owned();
    standin.set_steps(
        &project,
        json!([script_step("Deploy", "echo key=#{Api.Key}")]),
    )?;
    let release = id(&standin.release(&project, "1.4.1", json!([]))?)?;
    let task = standin.deploy(&release, &env)?["TaskId"]
        .as_str()
        .ok_or("no TaskId")?
        .to_owned();
    assert_eq!(
        standin.wait_for_task(&task, Duration::from_secs(30))?["State"],
        "Success"
    );
    assert!(standin.raw_log(&task)?.contains("key=********"));
    // A seed given with an existing state file is ignored, not applied on top.
    drop(standin);
    let standin = Standin::start_with(&["--data", data_arg, "--seed", "/nonexistent-seed.json"])?;
    assert_eq!(standin.ok("/api/Spaces-1/projects")?["TotalResults"], 1);
    Ok(())
}

#[test]
fn a_task_running_when_the_stand_in_died_is_failed_on_restart() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    let data_arg = data.to_str().ok_or("path is not UTF-8")?;
    let marker = dir.path().join("ran");
    let task = {
        let standin = Standin::start_with(&["--data", data_arg])?;
        let env = standin.environment("Production")?;
        let project = standin.project("Slow", "Lifecycles-1")?;
        let script = format!("echo run >> '{}'; sleep 5", marker.display());
        standin.set_steps(&project, json!([script_step("Long", &script)]))?;
        let release = id(&standin.release(&project, "1.0.0", json!([]))?)?;
        let task = standin.deploy(&release, &env)?["TaskId"]
            .as_str()
            .ok_or("no TaskId")?
            .to_owned();
        standin.wait_until(&task, Duration::from_secs(30), |t| {
            t["State"] == "Executing"
        })?;
        // Give the script a moment to start, then die as a crash would.
        let start = std::time::Instant::now();
        while !marker.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        standin.kill()?;
        task
    };
    let standin = Standin::start_with(&["--data", data_arg])?;
    let failed = standin.wait_for_task(&task, Duration::from_secs(10))?;
    assert_eq!(failed["State"], "Failed");
    assert!(
        failed["ErrorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("restarted")),
        "{failed}"
    );
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        std::fs::read_to_string(&marker)?.lines().count(),
        1,
        "the script must not run again"
    );
    Ok(())
}

#[test]
fn a_corrupt_state_file_is_refused_with_what_to_do() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    std::fs::write(&data, b"{not json")?;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_octopus-standin"))
        .args(["--api-key", KEY, "--data"])
        .arg(&data)
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a stand-in state file; move it away to start empty"),
        "{stderr}"
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_octopus-standin"))
        .args(["--api-key", KEY, "--listen", "0.0.0.0:0"])
        .output()?;
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a loopback address"));
    Ok(())
}

#[test]
fn an_idle_instance_does_not_rewrite_its_state_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("octopus.json");
    let standin = Standin::start_with(&["--data", data.to_str().ok_or("path is not UTF-8")?])?;
    let before = std::fs::metadata(&data)?.modified()?;
    // The task runner wakes twice a second; with nothing queued it must not write.
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(std::fs::metadata(&data)?.modified()?, before);
    standin.environment("Production")?;
    assert_ne!(
        std::fs::metadata(&data)?.modified()?,
        before,
        "a change is written at once"
    );
    Ok(())
}
