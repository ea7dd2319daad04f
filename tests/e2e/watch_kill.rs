//! The watch killed (SIGKILL) and started again: at every write of a bundle's handling in
//! turn (the import's and the deploy's, through the crash-safety test hook), and at seeded
//! random moments during the whole burst of [`crate::watch`]. Nothing is lost and nothing
//! happens twice: one release, one deployment, one result bundle each.

use std::fs;
use std::time::Duration;

use ::ledger::Ledger;
use serde_json::Value;

use crate::harness::TestResult;
use crate::watch::{
    BURST_ARGS, Burst, DEV_PROJECT, Seeded, WatchSite, check_final_state, drop_renamed,
    fix_late_project, log_events, mapping,
};

/// Writes of one bundle's handling are far fewer than this.
const MAX_WRITES: u32 = 60;

fn once(ws: &WatchSite, kill_after: Option<u32>) -> std::io::Result<std::process::ExitStatus> {
    let mut command = ws.watch_command(&[BURST_ARGS, &["--once", "--settle", "0s"]].concat());
    if let Some(n) = kill_after {
        command.env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", n.to_string());
    }
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
}

#[test]
fn a_watch_killed_at_any_write_imports_deploys_and_reports_once() -> TestResult {
    let ws = WatchSite::new();
    mapping(&ws);
    WatchSite::create_project(&ws.dev, DEV_PROJECT);
    WatchSite::create_project(&ws.pci, DEV_PROJECT);
    let mut killed_at = 0;
    for n in 1..=MAX_WRITES {
        let version = format!("3.0.{n}");
        ws.create_release(DEV_PROJECT, &version);
        let name = format!("payments-{version}.zb");
        let bundle = ws.export("dev", DEV_PROJECT, &version, &name);
        drop_renamed(&ws.inbox, &bundle, &name);
        let first = once(&ws, Some(n))?;
        let killed = first.code().is_none();
        if killed {
            killed_at = n;
            // Started again without the hook, it finishes what the kill interrupted.
            assert!(once(&ws, None)?.success());
        } else {
            assert!(first.success(), "{first:?}");
        }
        assert!(ws.inbox.join("done").join(&name).is_file(), "write {n}");
        let results: Vec<String> = fs::read_dir(&ws.outbox)?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|f| f.contains(&format!("-{version}-")))
            .collect();
        assert_eq!(
            results.len(),
            1,
            "killed after write {n}: results {results:?}"
        );
        let ledger = Ledger::open(ws.site.path("import.ledger"))?;
        let deployments: Vec<_> = ledger
            .deployments(Some(DEV_PROJECT))?
            .into_iter()
            .filter(|d| d.key.version == version)
            .collect();
        assert_eq!(deployments.len(), 1, "write {n}");
        let release = ws.pci.get(&format!(
            "/api/Spaces-1/projects/burst-payments/releases/{version}"
        ));
        let on_instance = ws.pci.get(&format!(
            "/api/Spaces-1/releases/{}/deployments",
            release["Id"].as_str().unwrap_or_default()
        ));
        assert_eq!(
            on_instance["Items"].as_array().map(Vec::len),
            Some(1),
            "write {n}: {on_instance}"
        );
        if !killed {
            break;
        }
    }
    assert!(
        killed_at >= 5,
        "the hook killed the watch at {killed_at} writes only"
    );
    // No staged result left behind, and the ledger verifies.
    let staging = ws.site.path("spool/.results-outbox.partial");
    for entry in fs::read_dir(&staging)? {
        let name = entry?.file_name();
        assert!(
            name.to_string_lossy().starts_with('.'),
            "{name:?} left in staging"
        );
    }
    ws.site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok();
    Ok(())
}

#[test]
fn the_burst_with_the_watch_killed_at_random_moments_ends_the_same() -> TestResult {
    let ws = WatchSite::new();
    mapping(&ws);
    let burst = Burst::make(&ws);
    let log = ws.site.path("watch.log");
    let mut rng = Seeded::new(20_261_202);
    let mut child = ws.start_watch(BURST_ARGS, &log);
    let dropper = {
        let inbox = ws.inbox.clone();
        let burst = burst.clone();
        let seed = rng.next();
        std::thread::spawn(move || burst.drop_all(&inbox, &mut Seeded::new(seed)))
    };
    let mut fixed = false;
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        child.signal("-KILL")?;
        if !fixed && log_events(&log, "refused for now; tried again later", &burst.late) > 0 {
            fix_late_project(&ws, &burst, &log);
            fixed = true;
        }
        child = ws.start_watch(BURST_ARGS, &log);
    }
    dropper.join().map_err(|_| "the dropper panicked")?;
    if !fixed {
        fix_late_project(&ws, &burst, &log);
    }
    ws.wait_for("every bundle done", Duration::from_secs(90), |w| {
        crate::watch::all_done(w, &burst)
    });
    crate::watch::give_first_again(&ws, &burst);
    assert_eq!(child.signal("-TERM")?, Some(0));
    check_final_state(&ws, &burst)?;
    // The watch was really killed while it worked: more than one start logged.
    let starts = fs::read_to_string(&log)?
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "watching the inbox")
        .count();
    assert_eq!(starts, 7);
    Ok(())
}
