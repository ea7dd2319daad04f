//! Result bundles coming home unattended: `bridge-export watch` on a results inbox, fed the
//! result bundles of real round trips (promote, import, deploy against the stand-ins) out of
//! order, with a duplicate, a tampered copy and files that are not result bundles. Each result
//! is recorded once, in channel order, with the notes on the development releases updated;
//! what is wrong is quarantined with its reason, what this side can fix waits and is retried.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Cmd, TestResult, frames, listing, write};
use crate::results::Trip;

/// The channel every result of these tests travels on.
const CHANNEL: &str = "pci->dev/result";

/// Three results of real deployments, in their channel's order: Payments API 1.4.1
/// succeeded (1), Fraud Rules 3.14.0 failed (2), Payments API 1.4.1 deployed again (3).
fn three_results(trip: &Trip) {
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "r1.zb", &[])
        .ok();
    trip.promote_and_deploy("Fraud Rules", "3.14.0", "PCI Staging", "r2.zb", &[])
        .expect(5);
    trip.deploy("Payments API", "1.4.1", "PCI Staging", "r3.zb")
        .args(["--redeploy"])
        .ok();
}

/// Two tampered copies of the result bundle `from`: `flipped` with one compressed byte of its
/// payload changed (the payload no longer decodes), `edited` with one letter of its task log
/// changed and the payload compressed again, well formed (the log no longer matches its signed
/// hash).
fn tampered(site: &crate::harness::Site, from: &str, flipped: &str, edited: &str) -> TestResult {
    let bytes = std::fs::read(site.path(from))?;
    let mut changed = bytes.clone();
    let at = changed.len() - 40;
    changed[at] ^= 0x01;
    write(&site.path(flipped), &changed);

    let [signatures, manifest, payload] = frames(&bytes)?;
    let mut tar = zstd::stream::decode_all(payload.as_slice())?;
    let from_text = b"Task status:";
    let at = tar
        .windows(from_text.len())
        .position(|w| w == from_text)
        .ok_or("the log has no task status line")?;
    tar[at] = b'X';
    let mut compressor = zstd::bulk::Compressor::new(3)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    let payload = compressor.compress(&tar)?;
    write(
        &site.path(edited),
        &[signatures, manifest, payload].concat(),
    );
    Ok(())
}

/// `bridge-export watch --once` on the site's `inbox`, JSON logs on stderr, the notes written
/// on the development stand-in.
fn watch(trip: &Trip) -> Cmd {
    let zones = &trip.zones;
    zones
        .site
        .export()
        .args(["watch", "--inbox", "inbox", "--policy", "dev.toml"])
        .args(["--ledger", "export.ledger", "--settle", "1s", "--once"])
        .args(["--log", "json", "--json", "--metrics", "results.prom"])
        .args(["--server", zones.dev.url.as_str()])
        .env("OCTOPUS_API_KEY", &zones.dev.key)
}

/// `bridge-export health --inbox inbox --json`, its data.
fn health(trip: &Trip) -> Value {
    trip.zones
        .site
        .export()
        .args(["health", "--inbox", "inbox", "--json"])
        .ok()
        .json()
        .clone()
}

/// Copies the site's file `from` into the inbox as `name` (written whole before the watch
/// starts, so it settles like a file a carrier finished copying).
fn drop_in(trip: &Trip, from: &str, name: &str) -> TestResult {
    let site = &trip.zones.site;
    std::fs::create_dir_all(site.path("inbox"))?;
    std::fs::copy(site.path(from), site.path("inbox").join(name))?;
    Ok(())
}

/// A result bundle the export ledger accepted: sequence, project, version.
type Accepted = (u64, String, String);

/// The result bundles the export ledger accepted, in the order it accepted them: (sequence,
/// project, version).
fn accepted_results(site_root: &Path) -> Result<Vec<Accepted>, Box<dyn std::error::Error>> {
    let ledger = ledger::Ledger::open_existing(site_root.join("export.ledger"))?;
    let mut accepted = Vec::new();
    for entry in ledger.audit_entries()? {
        let detail = entry.detail_json()?;
        if entry.event == "bundle-accepted" && detail["channel"] == CHANNEL {
            accepted.push((
                detail["sequence"].as_u64().unwrap_or(0),
                detail["project"].as_str().unwrap_or("").to_owned(),
                detail["version"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    Ok(accepted)
}

/// The sequences of the bundles the watch logged as done or duplicate, in log order.
fn logged_sequences(stderr: &str) -> Vec<(String, u64)> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|event| {
            let fields = &event["fields"];
            let message = fields["message"].as_str()?;
            let kind = if message == "done" {
                "done"
            } else if message.starts_with("duplicate") {
                "duplicate"
            } else {
                return None;
            };
            Some((kind.to_owned(), fields["sequence"].as_u64()?))
        })
        .collect()
}

#[test]
fn results_out_of_order_with_a_duplicate_and_a_tampered_copy_are_recorded_once_each_in_order()
-> TestResult {
    let trip = Trip::new();
    three_results(&trip);
    let site = &trip.zones.site;
    tampered(site, "r2.zb", "r2-flipped.zb", "r2-edited.zb")?;
    let before = trip.dev_state();

    // Bundle 3 and the tampered copies of 2 arrive first: all wait for bundle 1.
    drop_in(&trip, "r3.zb", "r3.zb")?;
    drop_in(&trip, "r2-flipped.zb", "r2-flipped.zb")?;
    drop_in(&trip, "r2-edited.zb", "r2-edited.zb")?;
    let first = watch(&trip).ok();
    let report = first.json();
    assert_eq!(report["done"], 0, "{report}");
    assert_eq!(report["left"], 3, "{report}");
    assert_eq!(trip.dev_state(), before, "nothing recorded or noted yet");
    assert!(accepted_results(site.root())?.is_empty());
    let waiting = health(&trip);
    assert_eq!(waiting["queue_length"], 3, "{waiting}");
    let oldest = waiting["oldest_waiting"]["waiting_for"]
        .as_str()
        .unwrap_or("");
    assert!(
        oldest.contains("bundle 1") && oldest.contains(CHANNEL),
        "{waiting}"
    );

    // Then 1, a second copy of 1 under another name, and 2.
    drop_in(&trip, "r1.zb", "r1.zb")?;
    drop_in(&trip, "r1.zb", "r1-again.zb")?;
    drop_in(&trip, "r2.zb", "r2.zb")?;
    let second = watch(&trip).ok();
    let report = second.json();
    assert_eq!(report["done"], 4, "{report}");
    assert_eq!(report["duplicates"], 1, "{report}");
    assert_eq!(report["quarantined"], 2, "{report}");
    assert_eq!(report["left"], 0, "{report}");

    // Recorded once each, in channel order; handled in that order too.
    assert_eq!(
        accepted_results(site.root())?,
        vec![
            (1, "Payments API".into(), "1.4.1".into()),
            (2, "Fraud Rules".into(), "3.14.0".into()),
            (3, "Payments API".into(), "1.4.1".into()),
        ]
    );
    let sequences: Vec<u64> = logged_sequences(&second.stderr)
        .iter()
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(sequences, [1, 1, 2, 3], "{}", second.stderr);
    let inbox = site.path("inbox");
    assert_eq!(
        listing(&inbox.join("done")),
        ["r1-again.zb", "r1.zb", "r2.zb", "r3.zb"]
    );

    // The tampered copies are in quarantine beside their notes, and counted nowhere else.
    assert_eq!(
        listing(&inbox.join("quarantine")),
        [
            "r2-edited.zb",
            "r2-edited.zb.json",
            "r2-flipped.zb",
            "r2-flipped.zb.json"
        ]
    );
    // Which check catches a flipped compressed byte depends on where it lands in this run's
    // payload (its bytes differ from run to run: times, ids): the zstd decoder (`corrupt`) or,
    // when the damaged block still decodes, the entry's signed hash (`hash-mismatch`).
    // Either is a refusal for good; neither may be retried or imported.
    for (file, codes, says) in [
        (
            "r2-flipped.zb",
            &["corrupt", "hash-mismatch"][..],
            &["payload (frame 3) is corrupt", "does not match its SHA-256"][..],
        ),
        (
            "r2-edited.zb",
            &["hash-mismatch"][..],
            &["does not match its SHA-256"][..],
        ),
    ] {
        let note: Value = serde_json::from_slice(&std::fs::read(
            inbox.join("quarantine").join(format!("{file}.json")),
        )?)?;
        assert_eq!(note["file"], file, "{note}");
        assert_eq!(note["channel"], CHANNEL, "{note}");
        assert_eq!(note["sequence"], 2, "{note}");
        let code = note["code"].as_str().unwrap_or("");
        let at = codes
            .iter()
            .position(|c| *c == code)
            .ok_or_else(|| format!("{file}: code {code:?} is not one of {codes:?}: {note}"))?;
        assert!(
            note["message"].as_str().unwrap_or("").contains(says[at]),
            "{note}"
        );
    }

    // The notes on the development releases: Payments API's last result is 3, Fraud Rules
    // failed.
    let payments = trip.dev_notes("payments-api", "1.4.1");
    assert!(
        payments.contains("| pci | PCI Staging |  | success |"),
        "{payments}"
    );
    assert!(payments.contains("result 3 |"), "{payments}");
    let fraud = trip.dev_notes("fraud-rules", "3.14.0");
    assert!(fraud.contains("| failed |"), "{fraud}");
    let status = trip.status();
    let states: Vec<(String, String)> = status["promotions"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["project"].as_str().unwrap_or("").to_owned(),
                p["deployments"][0]["state"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("Payments API".into(), "success".into()))
            && states.contains(&("Fraud Rules".into(), "failed".into())),
        "{states:?}"
    );

    // Health and metrics say the same.
    let after = health(&trip);
    assert_eq!(after["queue_length"], 0, "{after}");
    assert_eq!(after["counts"]["done"], 4, "{after}");
    assert_eq!(after["counts"]["quarantined"], 2, "{after}");
    assert_eq!(after["last_success"]["sequence"], 3, "{after}");
    let metrics = std::fs::read_to_string(site.path("results.prom"))?;
    assert!(
        metrics.contains("zonebridge_inbox_queue_length{service=\"export\"} 0"),
        "{metrics}"
    );

    // Everything again: nothing new is recorded.
    drop_in(&trip, "r2.zb", "r2-late.zb")?;
    let state = trip.dev_state();
    let third = watch(&trip).ok().json();
    assert_eq!(third["duplicates"], 1, "{third}");
    assert_eq!(accepted_results(site.root())?.len(), 3);
    assert_eq!(trip.dev_state(), state);
    Ok(())
}

#[test]
fn what_is_not_a_fitting_result_is_quarantined_ignored_or_retried_until_this_side_fixes_it()
-> TestResult {
    let trip = Trip::new();
    let site = &trip.zones.site;
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "r1.zb", &[])
        .ok();
    // Result 2, signed by a key the development side does not trust (yet).
    site.keygen("stranger");
    trip.deploy_signed(
        "Payments API",
        "1.4.1",
        "PCI Staging",
        "by-stranger.zb",
        "stranger.key",
    )
    .args(["--redeploy"])
    .ok();
    // A release bundle, which `bridge-import` takes, not this inbox.
    trip.zones
        .export("Payments API", "1.4.0", "release.zb")
        .ok();
    let inbox = site.path("inbox");
    drop_in(&trip, "r1.zb", "r1.zb")?;
    drop_in(&trip, "by-stranger.zb", "by-stranger.zb")?;
    drop_in(&trip, "release.zb", "release.zb")?;
    write(
        &inbox.join("garbage.zb"),
        b"not a bundle at all, just text\n",
    );
    // A copy cut short, older than any file still arriving.
    let bytes = std::fs::read(site.path("r1.zb"))?;
    write(&inbox.join("r1-cut.zb"), &bytes[..bytes.len() / 2]);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(inbox.join("r1-cut.zb"))?
        .set_modified(old)?;
    // Names a carrier uses while copying, and entries that are not files: left alone.
    let ignored = [".r1.zb.XYZ123", "r1.zb.part", ".hidden.zb"];
    for name in ignored {
        std::fs::copy(site.path("r1.zb"), inbox.join(name))?;
    }
    std::fs::create_dir(inbox.join("folder.zb"))?;
    std::os::unix::fs::symlink(site.path("r1.zb"), inbox.join("link.zb"))?;

    let run = watch(&trip).ok();
    let report = run.json();
    assert_eq!(report["done"], 1, "{report}");
    assert_eq!(report["quarantined"], 3, "{report}");
    assert_eq!(report["left"], 1, "{report}");
    assert_eq!(listing(&inbox.join("done")), ["r1.zb"]);
    for (file, code) in [
        ("garbage.zb", "not-a-bundle"),
        ("r1-cut.zb", "truncated"),
        ("release.zb", "wrong-kind"),
    ] {
        let note: Value = serde_json::from_slice(&std::fs::read(
            inbox.join("quarantine").join(format!("{file}.json")),
        )?)?;
        assert_eq!(note["code"], code, "{file}: {note}");
        assert!(inbox.join("quarantine").join(file).is_file(), "{file}");
    }
    // The release bundle's refusal names the command that takes it.
    let note = std::fs::read_to_string(inbox.join("quarantine/release.zb.json"))?;
    assert!(note.contains("bridge-import"), "{note}");
    for name in ignored.iter().chain(&["folder.zb", "link.zb"]) {
        assert!(
            std::fs::symlink_metadata(inbox.join(name)).is_ok(),
            "{name} left alone"
        );
    }
    assert_eq!(accepted_results(site.root())?.len(), 1);

    // The untrusted result waits in the inbox, and health says why.
    let waiting = health(&trip);
    assert_eq!(waiting["queue_length"], 1, "{waiting}");
    let why = waiting["oldest_waiting"]["waiting_for"]
        .as_str()
        .unwrap_or("");
    assert!(why.contains("signer-unknown"), "{waiting}");
    assert!(inbox.join("by-stranger.zb").is_file());

    // Trusting the key is enough: the next run takes it, without a restart of anything but
    // this --once run.
    site.export()
        .args(["policy", "trust", "dev.toml", "stranger.pub"])
        .args(["--role", "result", "--zone", "pci"])
        .ok();
    let report = watch(&trip).ok().json();
    assert_eq!(report["done"], 1, "{report}");
    assert_eq!(report["left"], 0, "{report}");
    assert_eq!(
        accepted_results(site.root())?
            .iter()
            .map(|(s, _, _)| *s)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(listing(&inbox.join("done")), ["by-stranger.zb", "r1.zb"]);
    Ok(())
}

/// A watch running in the background, killed if the test ends before it does.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn the_watch_stops_on_sigterm_after_its_work_and_health_shows_it() -> TestResult {
    let trip = Trip::new();
    let site = &trip.zones.site;
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "r1.zb", &[])
        .ok();
    std::fs::create_dir_all(site.path("inbox"))?;
    let zones = &trip.zones;
    let mut watch = Running(
        site.export()
            .args(["watch", "--inbox", "inbox", "--policy", "dev.toml"])
            .args([
                "--ledger",
                "export.ledger",
                "--settle",
                "1s",
                "--log",
                "json",
            ])
            .args(["--server", zones.dev.url.as_str()])
            .env("OCTOPUS_API_KEY", &zones.dev.key)
            .spawn(),
    );
    // Delivered as the outbox convention asks: written under a hidden name, then renamed in.
    std::fs::copy(site.path("r1.zb"), site.path("inbox/.r1.zb.tmp"))?;
    std::fs::rename(site.path("inbox/.r1.zb.tmp"), site.path("inbox/r1.zb"))?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !site.path("inbox/done/r1.zb").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the running watch never took r1.zb"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let running = health(&trip);
    assert_eq!(running["stopped"], false, "{running}");
    let term = std::process::Command::new("kill")
        .args(["-TERM", &watch.0.id().to_string()])
        .status()?;
    assert!(term.success());
    let status = watch.0.wait()?;
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    let stopped = health(&trip);
    assert_eq!(stopped["stopped"], true, "{stopped}");
    assert_eq!(stopped["counts"]["done"], 1, "{stopped}");
    assert_eq!(accepted_results(site.root())?.len(), 1);

    // The health command, for people and for a missing watch.
    site.export()
        .args(["health", "--inbox", "inbox"])
        .ok()
        .stdout_has("export watch (pid")
        .stdout_has("stopped")
        .stdout_has("queue: 0 file(s)");
    site.export()
        .args(["health", "--inbox", "nowhere"])
        .expect(4)
        .stderr_has("is the watch service running on this inbox?");
    Ok(())
}

#[test]
fn the_watch_refuses_settings_it_cannot_run_with() -> TestResult {
    let trip = Trip::new();
    let site = &trip.zones.site;
    std::fs::create_dir_all(site.path("inbox"))?;
    let watch = |policy: &str| {
        site.export()
            .args(["watch", "--inbox", "inbox", "--policy", policy])
            .args(["--ledger", "export.ledger", "--once"])
    };
    // No server and no --no-note: the notes could not be written.
    watch("dev.toml")
        .env("OCTOPUS_API_KEY", "API-UNUSED")
        .expect(2)
        .stderr_has("give --server (or OCTOPUS_URL)");
    for (flag, value, says) in [
        ("--rescan", "0", "at least 1s"),
        ("--retry", "0s", "at least 1s"),
        ("--settle", "soon", "not a duration"),
    ] {
        watch("dev.toml")
            .args(["--no-note", flag, value])
            .expect(2)
            .stderr_has(says);
    }
    // A policy others may write is refused before anything is watched.
    site.export()
        .args(["policy", "init", "--zone", "dev", "--out", "open.toml"])
        .ok();
    let mut open = std::fs::metadata(site.path("open.toml"))?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut open, 0o666);
    std::fs::set_permissions(site.path("open.toml"), open)?;
    watch("open.toml")
        .args(["--no-note"])
        .expect(3)
        .stderr_has("chmod go-w");
    // Nothing was watched: the inbox holds no state of a watch.
    assert!(!site.path("inbox/.watch").exists());
    Ok(())
}

#[test]
fn a_result_recorded_but_never_noted_is_noted_when_the_watch_takes_it_again() -> TestResult {
    // What a kill between recording a result and writing its note leaves: the ledger has the
    // result, the release notes do not, and the file is still in the inbox.
    let trip = Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "r1.zb", &[])
        .ok();
    let site = &trip.zones.site;
    site.export()
        .args(["results", "r1.zb", "--policy", "dev.toml", "--no-note"])
        .args(["--ledger", "export.ledger"])
        .ok();
    assert!(
        !trip
            .dev_notes("payments-api", "1.4.1")
            .contains("zonebridge:results")
    );
    drop_in(&trip, "r1.zb", "r1.zb")?;
    let report = watch(&trip).ok().json();
    assert_eq!(report["duplicates"], 1, "{report}");
    assert_eq!(accepted_results(site.root())?.len(), 1, "recorded once");
    let notes = trip.dev_notes("payments-api", "1.4.1");
    assert!(
        notes.contains("| pci | PCI Staging |  | success |"),
        "{notes}"
    );
    Ok(())
}

#[test]
fn the_watch_killed_at_random_moments_and_restarted_ends_with_each_result_recorded_once()
-> TestResult {
    let trip = Trip::new();
    three_results(&trip);
    let site = &trip.zones.site;
    for (from, name) in [
        ("r3.zb", "r3.zb"),
        ("r1.zb", "r1.zb"),
        ("r2.zb", "r2.zb"),
        ("r1.zb", "r1-again.zb"),
    ] {
        drop_in(&trip, from, name)?;
    }
    let zones = &trip.zones;
    // Seeded, so that a failure can be replayed: kills from 0 to 2.5 s after the start,
    // around the 1 s settle time, when files are being taken in.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..6 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = std::time::Duration::from_millis((seed >> 33) % 2500);
        let mut watch = Running(
            site.export()
                .args(["watch", "--inbox", "inbox", "--policy", "dev.toml"])
                .args(["--ledger", "export.ledger", "--settle", "1s"])
                .args(["--server", zones.dev.url.as_str()])
                .env("OCTOPUS_API_KEY", &zones.dev.key)
                .spawn(),
        );
        std::thread::sleep(delay);
        watch.0.kill()?;
        watch.0.wait()?;
    }
    let report = watch(&trip).ok().json();
    assert_eq!(report["left"], 0, "{report}");
    assert_eq!(
        accepted_results(site.root())?,
        vec![
            (1, "Payments API".into(), "1.4.1".into()),
            (2, "Fraud Rules".into(), "3.14.0".into()),
            (3, "Payments API".into(), "1.4.1".into()),
        ]
    );
    let inbox = site.path("inbox");
    assert_eq!(
        listing(&inbox.join("done")),
        ["r1-again.zb", "r1.zb", "r2.zb", "r3.zb"]
    );
    assert!(listing(&inbox.join("quarantine")).is_empty());
    let payments = trip.dev_notes("payments-api", "1.4.1");
    assert!(payments.contains("result 3 |"), "{payments}");
    assert!(
        trip.dev_notes("fraud-rules", "3.14.0")
            .contains("| failed |")
    );
    Ok(())
}

#[test]
fn a_result_for_a_release_this_ledger_never_exported_waits_until_the_right_ledger_is_given()
-> TestResult {
    let trip = Trip::new();
    trip.promote_and_deploy("Payments API", "1.4.1", "PCI Staging", "r1.zb", &[])
        .ok();
    let site = &trip.zones.site;
    drop_in(&trip, "r1.zb", "r1.zb")?;
    // A watch given another ledger (a fresh one) than the export wrote.
    let wrong = site
        .export()
        .args(["watch", "--inbox", "inbox", "--policy", "dev.toml"])
        .args(["--ledger", "other.ledger", "--settle", "1s", "--once"])
        .args(["--no-note", "--json"])
        .ok()
        .json();
    assert_eq!(wrong["quarantined"], 0, "{wrong}");
    assert_eq!(wrong["left"], 1, "{wrong}");
    let waiting = health(&trip);
    let why = waiting["oldest_waiting"]["waiting_for"]
        .as_str()
        .unwrap_or("");
    assert!(why.contains("unknown-release"), "{waiting}");
    assert!(site.path("inbox/r1.zb").is_file());
    // The right ledger takes it.
    let right = watch(&trip).ok().json();
    assert_eq!(right["done"], 1, "{right}");
    assert_eq!(accepted_results(site.root())?.len(), 1);
    Ok(())
}
