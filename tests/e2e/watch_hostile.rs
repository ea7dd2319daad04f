//! Hostile input to the watched inbox, several cases per class: files that are not bundles,
//! truncated ones (for good, and still arriving), tampered ones, bundles for another zone or
//! of the wrong kind, replays and rollbacks, names that are links, folders or FIFOs, files
//! replaced while they settle, and a signer this zone does not trust (yet). Each ends where
//! the watch's rules say, and nothing reaches the secure instance that should not.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ::ledger::{Ledger, Verdict};
use bundle_format::manifest::BundleKind;
use serde_json::Value;

use crate::harness::TestResult;
use crate::watch::{DEV_PROJECT, QA_PROJECT, WatchSite, drop_direct, drop_renamed};

fn note(ws: &WatchSite, name: &str) -> Value {
    let path = ws.inbox.join("quarantine").join(format!("{name}.json"));
    let bytes = fs::read(&path).unwrap_or_else(|e| panic!("no note {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("note {name}: {e}"))
}

fn once(ws: &WatchSite) {
    let status = ws
        .watch_command(&["--once"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run the watch: {e}"));
    assert!(status.success(), "watch --once: {status:?}");
}

/// Sets a file's modification time an hour back: no longer "young", so a truncated file is
/// truncated for good.
fn age(path: &Path) {
    let status = Command::new("touch")
        .args(["-m", "-d", "1 hour ago"])
        .arg(path)
        .status()
        .unwrap_or_else(|e| panic!("cannot run touch: {e}"));
    assert!(status.success());
}

fn accepted_versions(ws: &WatchSite) -> Vec<String> {
    let ledger = Ledger::open(ws.site.path("import.ledger"))
        .unwrap_or_else(|e| panic!("cannot open the ledger: {e}"));
    let mut versions: Vec<String> = ledger
        .bundles(Some(BundleKind::Release), Some(Verdict::Accepted), None)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter_map(|b| b.version)
        .collect();
    versions.sort();
    versions
}

fn releases_on_instance(ws: &WatchSite) -> usize {
    ws.pci
        .get("/api/Spaces-1/releases/all")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn hostile_files_are_quarantined_or_left_alone_and_never_imported() -> TestResult {
    let ws = WatchSite::new();
    for project in [DEV_PROJECT, QA_PROJECT] {
        WatchSite::create_project(&ws.dev, project);
        WatchSite::create_project(&ws.pci, project);
    }
    let mut bundles = Vec::new();
    for version in ["1.0.1", "1.0.2", "1.0.3"] {
        ws.create_release(DEV_PROJECT, version);
        bundles.push(ws.export("dev", DEV_PROJECT, version, &format!("p-{version}.zb")));
    }
    // Bundles 1 and 2 imported first, so that replays and rollbacks have something to replay.
    drop_renamed(&ws.inbox, &bundles[0], "p-1.0.1.zb");
    drop_renamed(&ws.inbox, &bundles[1], "p-1.0.2.zb");
    once(&ws);
    assert_eq!(accepted_versions(&ws), ["1.0.1", "1.0.2"]);
    let releases_before = releases_on_instance(&ws);

    let inbox = &ws.inbox;
    // Not bundles.
    fs::write(
        inbox.join("notes.zb"),
        "this is a text file, not a bundle\n",
    )?;
    let mut noise = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise.push(x.to_le_bytes()[0]);
    }
    fs::write(inbox.join("noise.zb"), &noise)?;
    fs::write(inbox.join("empty.zb"), b"")?;
    age(&inbox.join("empty.zb"));
    fs::write(
        inbox.join("plain-zstd.zb"),
        zstd::encode_all(&b"a zstd frame holding no bundle"[..], 3)?,
    )?;
    // Truncated for good (old files).
    let whole = fs::read(&bundles[2])?;
    for (name, keep) in [("half.zb", whole.len() / 2), ("head-only.zb", 64)] {
        fs::write(inbox.join(name), whole.get(..keep).unwrap_or_default())?;
        age(&inbox.join(name));
    }
    // Tampered: a byte of the payload, a byte in the middle.
    for (name, at) in [
        ("tampered-end.zb", whole.len() - 1),
        ("tampered-middle.zb", whole.len() / 2),
    ] {
        let mut bytes = whole.clone();
        if let Some(b) = bytes.get_mut(at) {
            *b ^= 0x01;
        }
        fs::write(inbox.join(name), bytes)?;
    }
    // For another zone, and of the wrong kind (a result bundle is no release).
    ws.create_release(QA_PROJECT, "2.0.1");
    let other_zone = ws.export_with("dev", ("dr", "dr.ledger"), QA_PROJECT, "2.0.1", "dr.zb");
    drop_direct(inbox, &other_zone, "for-dr.zb");
    // Replays: bundle 1 again under another name (already imported: a duplicate), and a
    // rollback: another bundle claiming sequence 1 of the channel (a second export ledger).
    drop_direct(inbox, &bundles[0], "replay-of-1.zb");
    let rollback = ws.export_with("dev", ("pci", "other.ledger"), QA_PROJECT, "2.0.1", "rb.zb");
    drop_direct(inbox, &rollback, "rollback.zb");
    // Names that are links, folders, FIFOs: left alone, never followed or opened.
    std::os::unix::fs::symlink(&bundles[2], inbox.join("link-to-bundle.zb"))?;
    std::os::unix::fs::symlink("/etc/passwd", inbox.join("link-to-passwd.zb"))?;
    fs::create_dir(inbox.join("folder.zb"))?;
    assert!(
        Command::new("mkfifo")
            .arg(inbox.join("pipe.zb"))
            .status()?
            .success()
    );
    // Not candidates at all: hidden, partial, other extensions.
    for name in [".hidden.zb", "bundle.zb.part", "readme.txt"] {
        fs::write(inbox.join(name), b"x")?;
    }

    once(&ws);

    for (name, codes) in [
        ("notes.zb", &["not-a-bundle", "corrupt"][..]),
        ("noise.zb", &["not-a-bundle", "corrupt"]),
        ("empty.zb", &["not-a-bundle"]),
        (
            "plain-zstd.zb",
            &["not-a-bundle", "unexpected-frame", "corrupt"],
        ),
        ("half.zb", &["truncated"]),
        ("head-only.zb", &["truncated"]),
        ("tampered-end.zb", &["corrupt", "hash-mismatch"]),
        ("tampered-middle.zb", &["corrupt", "hash-mismatch"]),
        ("for-dr.zb", &["wrong-target-zone"]),
        ("rollback.zb", &["rollback"]),
    ] {
        assert!(
            inbox.join("quarantine").join(name).is_file(),
            "{name} quarantined; health: {:#}",
            ws.health_command().ok().json()
        );
        let note = note(&ws, name);
        let code = note["code"].as_str().unwrap_or_default();
        assert!(codes.contains(&code), "{name}: {note}");
        assert_eq!(note["file"], name);
        assert!(
            !note["message"].as_str().unwrap_or_default().is_empty(),
            "{note}"
        );
    }
    // The notes carry what the head claimed (not verified): channel and sequence.
    let rollback = note(&ws, "rollback.zb");
    assert_eq!(rollback["channel"], "dev->pci/release", "{rollback}");
    assert_eq!(rollback["sequence"], 1, "{rollback}");
    assert_eq!(note(&ws, "for-dr.zb")["channel"], "dev->dr/release");
    assert!(note(&ws, "noise.zb")["channel"].is_null());
    // The replay is a duplicate: done, nothing imported again.
    assert!(inbox.join("done/replay-of-1.zb").is_file());
    for name in [
        "link-to-bundle.zb",
        "link-to-passwd.zb",
        "folder.zb",
        "pipe.zb",
        ".hidden.zb",
        "bundle.zb.part",
        "readme.txt",
    ] {
        assert!(
            fs::symlink_metadata(inbox.join(name)).is_ok(),
            "{name} left where it was"
        );
    }
    assert_eq!(
        fs::read(&bundles[2])?,
        whole,
        "the link's target is untouched"
    );
    let health = ws.health_command().ok().json();
    assert_eq!(health["counts"]["ignored"], 4, "{health}");
    assert_eq!(health["queue_length"], 0, "{health}");
    assert_eq!(accepted_versions(&ws), ["1.0.1", "1.0.2"]);
    assert_eq!(releases_on_instance(&ws), releases_before);
    Ok(())
}

#[test]
fn files_still_arriving_or_replaced_while_settling_are_taken_only_whole() -> TestResult {
    let ws = WatchSite::new();
    for project in [DEV_PROJECT, QA_PROJECT] {
        WatchSite::create_project(&ws.dev, project);
        WatchSite::create_project(&ws.pci, project);
    }
    ws.create_release(DEV_PROJECT, "1.0.1");
    ws.create_release(DEV_PROJECT, "1.0.2");
    ws.create_release(QA_PROJECT, "2.0.1");
    ws.create_release(QA_PROJECT, "2.0.2");
    let dev1 = ws.export("dev", DEV_PROJECT, "1.0.1", "d1.zb");
    let dev2 = ws.export("dev", DEV_PROJECT, "1.0.2", "d2.zb");
    let qa1 = ws.export("qa", QA_PROJECT, "2.0.1", "q1.zb");
    let qa2 = ws.export("qa", QA_PROJECT, "2.0.2", "q2.zb");
    let log = ws.site.path("watch.log");
    // Settle 2 s, so young is 6 s: the second half comes 3 s after the first, with a margin
    // either way for a loaded machine.
    let mut watch = ws.start_watch(&["--settle", "2s"], &log);
    ws.wait_for("the watch's first round", Duration::from_secs(30), |w| {
        w.health().is_some()
    });
    let inbox = &ws.inbox;

    // Half of a bundle, then (past the settle time, within the young time) the rest: the
    // half is put back to settle, never quarantined, and the whole file is imported.
    let whole = fs::read(&dev1)?;
    let (first, rest) = whole.split_at(whole.len() / 2);
    fs::write(inbox.join("arriving.zb"), first)?;
    std::thread::sleep(Duration::from_millis(3000));
    {
        use std::io::Write as _;
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(inbox.join("arriving.zb"))?;
        file.write_all(rest)?;
    }

    // A file replaced (renamed over) while it settles: only the second is taken.
    drop_direct(inbox, &qa2, "replaced.zb");
    std::thread::sleep(Duration::from_millis(300));
    let hidden = inbox.join(".replacement");
    fs::copy(&qa1, &hidden)?;
    fs::rename(&hidden, inbox.join("replaced.zb"))?;

    // A file rewritten in place with other bytes while it settles: the new bytes count.
    fs::write(inbox.join("rewritten.zb"), b"not a bundle yet")?;
    std::thread::sleep(Duration::from_millis(300));
    fs::write(inbox.join("rewritten.zb"), fs::read(&dev2)?)?;

    ws.wait_for("three imports", Duration::from_secs(60), |w| {
        accepted_versions(w).len() == 3
    });
    assert_eq!(watch.signal("-TERM")?, Some(0));
    assert_eq!(accepted_versions(&ws), ["1.0.1", "1.0.2", "2.0.1"]);
    for name in ["arriving.zb", "replaced.zb", "rewritten.zb"] {
        assert!(inbox.join("done").join(name).is_file(), "{name} done");
    }
    assert_eq!(fs::read(inbox.join("done/replaced.zb"))?, fs::read(&qa1)?);
    assert_eq!(
        fs::read_dir(inbox.join("quarantine"))?.count(),
        0,
        "nothing quarantined early"
    );
    Ok(())
}

#[test]
fn a_bundle_from_a_signer_not_trusted_yet_waits_and_is_imported_once_trusted() -> TestResult {
    let ws = WatchSite::new();
    WatchSite::create_project(&ws.dev, DEV_PROJECT);
    WatchSite::create_project(&ws.pci, DEV_PROJECT);
    ws.site.keygen("stranger");
    ws.create_release(DEV_PROJECT, "1.0.1");
    let path = ws.site.path("bundles/stranger.zb");
    fs::create_dir_all(ws.site.path("bundles"))?;
    ws.site
        .export()
        .args(["export", "--project", DEV_PROJECT, "--release", "1.0.1"])
        .args([
            "--key",
            "stranger.key",
            "--source-zone",
            "dev",
            "--target-zone",
            "pci",
        ])
        .args(["--out"])
        .args([&path])
        .args(["--server", ws.dev.url.as_str(), "--ledger", "export.ledger"])
        .env("OCTOPUS_API_KEY", crate::promote::DEV_KEY)
        .ok();
    drop_renamed(&ws.inbox, &path, "stranger.zb");
    once(&ws);
    // Not quarantined: the policy may still come to trust the key. Health says why it waits.
    assert!(ws.inbox.join("stranger.zb").is_file());
    let health = ws.health_command().ok().json();
    assert_eq!(health["queue_length"], 1, "{health}");
    let waiting = health["oldest_waiting"]["waiting_for"]
        .as_str()
        .unwrap_or_default();
    assert!(
        waiting.starts_with("retry after signer-unknown"),
        "{health}"
    );
    assert_eq!(health["last_error"]["code"], "signer-unknown", "{health}");
    ws.site
        .import()
        .args(["policy", "trust", "pci.toml", "stranger.pub"])
        .args(["--role", "release", "--zone", "dev"])
        .ok();
    once(&ws);
    assert!(ws.inbox.join("done/stranger.zb").is_file());
    assert_eq!(accepted_versions(&ws), ["1.0.1"]);
    Ok(())
}

#[test]
fn a_bundle_after_a_refused_one_says_what_it_waits_for() -> TestResult {
    let ws = WatchSite::new();
    WatchSite::create_project(&ws.dev, DEV_PROJECT);
    WatchSite::create_project(&ws.dev, QA_PROJECT);
    // The secure side lacks the first bundle's project.
    WatchSite::create_project(&ws.pci, DEV_PROJECT);
    ws.create_release(QA_PROJECT, "2.0.1");
    ws.create_release(DEV_PROJECT, "1.0.2");
    let first = ws.export("dev", QA_PROJECT, "2.0.1", "first.zb");
    let second = ws.export("dev", DEV_PROJECT, "1.0.2", "second.zb");
    drop_renamed(&ws.inbox, &second, "second.zb");
    drop_renamed(&ws.inbox, &first, "first.zb");
    once(&ws);
    let health = ws.health_command().ok().json();
    let waiting = health["waiting"].as_array().cloned().unwrap_or_default();
    let of = |file: &str| {
        waiting
            .iter()
            .find(|w| w["file"] == file)
            .and_then(|w| w["waiting_for"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        of("first.zb").starts_with("retry after missing-on-target: "),
        "{health}"
    );
    let second_waits = of("second.zb");
    assert!(
        second_waits.starts_with(
            "waiting for bundle 1 on channel dev->pci/release (bundle 1 was refused: at "
        ),
        "{health}"
    );
    assert!(second_waits.contains("missing-on-target"), "{health}");
    assert_eq!(health["queue_length"], 2);
    // The text form says the same.
    ws.site
        .import()
        .args(["health", "--inbox"])
        .args([&ws.inbox])
        .ok()
        .stdout_has("waiting for bundle 1 on channel dev->pci/release");
    Ok(())
}
