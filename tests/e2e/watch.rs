//! The watched inbox end to end: `bridge-import watch` as a service on a folder, given a
//! burst of bundles on two channels out of order, with duplicates, a tampered copy, a file
//! copied in slowly and a project missing until the test creates it; then the same burst
//! with the watch killed (SIGKILL) at seeded random moments and started again. Both end in
//! the same state: every valid bundle imported once, in channel order, each deployed once,
//! the results verified in the results outbox, done/ and quarantine/ as expected.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ::ledger::{Ledger, Verdict};
use bundle_format::manifest::BundleKind;
use carriers::inbox::health::Health;
use carriers::outbox_name::OutboxName;
use serde_json::{Value, json};

use crate::harness::{Cmd, Site, TestResult, listing};
use crate::promote::{DEV_KEY, PCI_KEY};
use crate::standins::Standin;

/// Projects of the burst: two on the `dev` channel (one missing on the secure side until
/// the test creates it), one on the `qa` channel.
pub const DEV_PROJECT: &str = "Burst Payments";
pub const LATE_PROJECT: &str = "Late Arrival";
pub const QA_PROJECT: &str = "Burst Reports";

/// Two stand-ins and a site with release signers for zones dev and qa, both trusted by the
/// secure zone's policy, and a result signer trusted by the development zone's.
pub struct WatchSite {
    pub site: Site,
    pub dev: Standin,
    pub pci: Standin,
    pub inbox: PathBuf,
    pub outbox: PathBuf,
}

impl WatchSite {
    pub fn new() -> Self {
        let site = Site::new();
        for key in ["dev-signer", "qa-signer", "result-signer"] {
            site.keygen(key);
        }
        site.import()
            .args(["policy", "init", "--zone", "pci", "--out", "pci.toml"])
            .ok();
        for (key, zone) in [("dev-signer", "dev"), ("qa-signer", "qa")] {
            site.import()
                .args(["policy", "trust", "pci.toml", &format!("{key}.pub")])
                .args(["--role", "release", "--zone", zone])
                .ok();
        }
        site.export()
            .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
            .ok();
        site.export()
            .args(["policy", "trust", "dev.toml", "result-signer.pub"])
            .args(["--role", "result", "--zone", "pci"])
            .ok();
        let inbox = site.path("spool/inbox");
        let outbox = site.path("spool/results-outbox");
        for dir in [&inbox, &outbox] {
            fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {dir:?}: {e}"));
        }
        WatchSite {
            dev: Standin::start("dev.json", DEV_KEY),
            pci: Standin::start("secure.json", PCI_KEY),
            site,
            inbox,
            outbox,
        }
    }

    /// Creates `project` (empty process) on `zone`.
    pub fn create_project(zone: &Standin, project: &str) {
        zone.post(
            "/api/Spaces-1/projects",
            &json!({"Name": project, "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"}),
        );
    }

    /// Creates release `version` of `project` on the development stand-in.
    pub fn create_release(&self, project: &str, version: &str) {
        let slug = project.to_lowercase().replace(' ', "-");
        let id = self.dev.get(&format!("/api/Spaces-1/projects/{slug}"))["Id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.dev.post(
            "/api/Spaces-1/releases",
            &json!({"ProjectId": id, "Version": version, "SelectedPackages": []}),
        );
    }

    /// Exports `project` `version` from zone `zone` (`dev` or `qa`, signed by that zone's
    /// signer) into `bundles/OUT`.
    pub fn export(&self, zone: &str, project: &str, version: &str, out: &str) -> PathBuf {
        self.export_with(zone, ("pci", "export.ledger"), project, version, out)
    }

    /// The same for target zone `target`, counting sequences in the export ledger `ledger`.
    pub fn export_with(
        &self,
        zone: &str,
        (target, ledger): (&str, &str),
        project: &str,
        version: &str,
        out: &str,
    ) -> PathBuf {
        let path = self.site.path(&format!("bundles/{out}"));
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        self.site
            .export()
            .args(["export", "--project", project, "--release", version])
            .args(["--key", &format!("{zone}-signer.key")])
            .args(["--source-zone", zone, "--target-zone", target, "--out"])
            .args([&path])
            .args(["--server", self.dev.url.as_str(), "--ledger", ledger])
            .env("OCTOPUS_API_KEY", DEV_KEY)
            .ok();
        path
    }

    /// The watch's command line; `extra` goes last.
    pub fn watch_command(&self, extra: &[&str]) -> Command {
        let binary = test_support::binary("bridge-import")
            .unwrap_or_else(|e| panic!("cannot build bridge-import: {e}"));
        let mut command = Command::new(binary);
        command
            .current_dir(self.site.root())
            .args(["watch", "--inbox"])
            .arg(&self.inbox)
            .args(["--policy", "pci.toml", "--ledger", "import.ledger"])
            .args(["--server", self.pci.url.as_str(), "--log", "json"])
            .args(["--rescan", "2s", "--retry", "1s"])
            .args(extra)
            .env("OCTOPUS_API_KEY", PCI_KEY)
            .env_remove("ZONEBRIDGE_LOG");
        if !extra.contains(&"--settle") {
            command.args(["--settle", "1s"]);
        }
        command
    }

    /// Starts the watch in the background, its log (JSON lines) appended to `log`.
    pub fn start_watch(&self, extra: &[&str], log: &Path) -> Running {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {log:?}: {e}"));
        self.watch_command(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map(|child| Running(Some(child)))
            .unwrap_or_else(|e| panic!("cannot start the watch: {e}"))
    }

    /// The watch's health, if it has written it.
    pub fn health(&self) -> Option<Health> {
        Health::read(&self.inbox).ok()
    }

    /// Waits (checking every 100 ms, for at most `limit`) until `done` holds.
    pub fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < limit,
                "waited {limit:?} for {what}; health: {:#?}",
                self.health()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `bridge-import health --inbox ... --json`.
    pub fn health_command(&self) -> Cmd {
        self.site
            .import()
            .args(["health", "--inbox"])
            .args([&self.inbox])
            .args(["--json"])
    }
}

/// A watch running in the background; killed if the test ends before it stopped it.
pub struct Running(Option<Child>);

impl Running {
    /// Sends `signal` (`-TERM`, `-KILL`) and waits for the end; the exit code (`None` if a
    /// signal ended it).
    pub fn signal(&mut self, signal: &str) -> Result<Option<i32>, Box<dyn std::error::Error>> {
        let mut child = self.0.take().ok_or("the watch was already stopped")?;
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()?;
        Ok(child.wait()?.code())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Copies `from` into the inbox as `name` the way the outbox convention says: written beside
/// it under a hidden name, then renamed in.
pub fn drop_renamed(inbox: &Path, from: &Path, name: &str) {
    let hidden = inbox.join(format!(".{name}.partial"));
    fs::copy(from, &hidden).unwrap_or_else(|e| panic!("cannot copy {from:?}: {e}"));
    fs::rename(&hidden, inbox.join(name)).unwrap_or_else(|e| panic!("cannot rename: {e}"));
}

/// Copies `from` into the inbox as `name` directly (the settle rule must catch it).
pub fn drop_direct(inbox: &Path, from: &Path, name: &str) {
    fs::copy(from, inbox.join(name)).unwrap_or_else(|e| panic!("cannot copy {from:?}: {e}"));
}

/// A small deterministic generator (xorshift), so that "random" orders and kill moments are
/// the same on every run of a seed.
pub struct Seeded(u64);

impl Seeded {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The burst's bundles: the valid ones per channel in sequence order, and the extras.
#[derive(Clone)]
pub struct Burst {
    /// (file name in the inbox, bundle file) of every valid bundle.
    pub valid: Vec<(String, PathBuf)>,
    /// Valid bundles per channel, in sequence order: (project, version).
    pub channels: BTreeMap<String, Vec<(String, String)>>,
    /// The tampered copy (a valid bundle with one payload byte changed), its inbox name.
    pub tampered: (String, PathBuf),
    /// The same bundles again under other names.
    pub duplicates: Vec<(String, PathBuf)>,
    /// The bundle copied in slowly, in pieces.
    pub slow: (String, PathBuf),
    /// The bundle whose project is missing on the secure side until the test creates it.
    pub late: String,
}

/// Versions of the burst per project.
const DEV_VERSIONS: usize = 8;
const QA_VERSIONS: usize = 9;

impl Burst {
    /// Creates the projects and releases and exports 18 bundles: channel dev gets
    /// Burst Payments 1.0.1-1.0.4, Late Arrival 1.0.0, Burst Payments 1.0.5-1.0.8; channel
    /// qa gets Burst Reports 2.0.1-2.0.9.
    pub fn make(ws: &WatchSite) -> Self {
        for project in [DEV_PROJECT, LATE_PROJECT, QA_PROJECT] {
            WatchSite::create_project(&ws.dev, project);
        }
        for project in [DEV_PROJECT, QA_PROJECT] {
            WatchSite::create_project(&ws.pci, project);
        }
        let mut valid = Vec::new();
        let mut channels: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut late = String::new();
        for i in 1..=DEV_VERSIONS {
            if i == 5 {
                ws.create_release(LATE_PROJECT, "1.0.0");
                let name = "late-arrival-1.0.0.zb".to_owned();
                let path = ws.export("dev", LATE_PROJECT, "1.0.0", &name);
                channels
                    .entry("dev->pci/release".into())
                    .or_default()
                    .push((LATE_PROJECT.into(), "1.0.0".into()));
                late.clone_from(&name);
                valid.push((name, path));
            }
            let version = format!("1.0.{i}");
            ws.create_release(DEV_PROJECT, &version);
            let name = format!("payments-{version}.zb");
            let path = ws.export("dev", DEV_PROJECT, &version, &name);
            channels
                .entry("dev->pci/release".into())
                .or_default()
                .push((DEV_PROJECT.into(), version));
            valid.push((name, path));
        }
        for i in 1..=QA_VERSIONS {
            let version = format!("2.0.{i}");
            ws.create_release(QA_PROJECT, &version);
            let name = format!("reports-{version}.zb");
            let path = ws.export("qa", QA_PROJECT, &version, &name);
            channels
                .entry("qa->pci/release".into())
                .or_default()
                .push((QA_PROJECT.into(), version));
            valid.push((name, path));
        }
        // A tampered copy of a valid bundle: its last byte (payload, covered by the signed
        // hashes) changed.
        let (_, original) = &valid[2];
        let mut bytes = fs::read(original).unwrap_or_else(|e| panic!("{e}"));
        if let Some(last) = bytes.last_mut() {
            *last ^= 0x55;
        }
        let tampered = ws.site.path("bundles/tampered.zb");
        fs::write(&tampered, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let duplicates = vec![
            ("copy-of-payments-1.0.2.zb".to_owned(), valid[1].1.clone()),
            ("again-reports-2.0.3.zb".to_owned(), valid[11].1.clone()),
        ];
        let slow = valid
            .iter()
            .find(|(n, _)| n == "reports-2.0.6.zb")
            .cloned()
            .unwrap_or_else(|| panic!("no reports-2.0.6"));
        Burst {
            valid,
            channels,
            tampered: ("payments-1.0.3-tampered.zb".into(), tampered),
            duplicates,
            slow,
            late,
        }
    }

    /// Drops every file of the burst into the inbox in a seeded random order (most renamed
    /// in, some copied directly), the slow one written in pieces over several seconds last.
    pub fn drop_all(&self, inbox: &Path, rng: &mut Seeded) {
        let mut files: Vec<(String, PathBuf)> = self
            .valid
            .iter()
            .filter(|(n, _)| *n != self.slow.0)
            .cloned()
            .collect();
        files.push(self.tampered.clone());
        files.extend(self.duplicates.iter().cloned());
        // Fisher-Yates with the seeded generator: out of order on both channels.
        for i in (1..files.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            files.swap(i, j);
        }
        for (i, (name, path)) in files.iter().enumerate() {
            if i % 4 == 3 {
                drop_direct(inbox, path, name);
            } else {
                drop_renamed(inbox, path, name);
            }
        }
        write_slowly(&self.slow.1, &inbox.join(&self.slow.0));
    }
}

/// The same bundle given twice under the same name: once everything is done, the first
/// bundle of the burst arrives again as `payments-1.0.1.zb` and must end in `done/` beside
/// the first, suffixed, as a duplicate.
pub fn give_first_again(ws: &WatchSite, burst: &Burst) {
    let (name, path) = &burst.valid[0];
    drop_renamed(&ws.inbox, path, name);
    ws.wait_for("the second copy done", Duration::from_secs(30), |w| {
        w.inbox.join("done").join(AGAIN).is_file()
            && w.health().is_some_and(|h| h.queue_length == 0)
    });
}

/// The name the second copy of the first bundle gets in `done/`.
pub const AGAIN: &str = "payments-1.0.1.1.zb";

/// Writes `from` to `to` in eight pieces, 400 ms apart (well under the settle time, so a
/// correct watch never takes it before the last piece).
pub fn write_slowly(from: &Path, to: &Path) {
    use std::io::Write as _;
    let bytes = fs::read(from).unwrap_or_else(|e| panic!("{e}"));
    let mut file = fs::File::create(to).unwrap_or_else(|e| panic!("{e}"));
    let piece = bytes.len().div_ceil(8);
    for chunk in bytes.chunks(piece.max(1)) {
        file.write_all(chunk).unwrap_or_else(|e| panic!("{e}"));
        file.flush().unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(400));
    }
}

/// The JSON log lines of the watch whose message is `message` and whose file is `file`.
pub fn log_events(log: &Path, message: &str, file: &str) -> usize {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == message && v["fields"]["file"] == file)
        .count()
}

fn names(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .collect()
}

/// Checks the final state every run of the burst must reach, whatever was killed when.
pub fn check_final_state(ws: &WatchSite, burst: &Burst) -> TestResult {
    // Every valid bundle accepted exactly once, in sequence order per channel.
    let ledger = Ledger::open(ws.site.path("import.ledger"))?;
    let accepted = ledger.bundles(Some(BundleKind::Release), Some(Verdict::Accepted), None)?;
    let mut seen: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    for b in &accepted {
        seen.entry(b.channel.to_string()).or_default().push((
            b.sequence,
            b.project.clone().unwrap_or_default(),
            b.version.clone().unwrap_or_default(),
        ));
    }
    for (channel, expected) in &burst.channels {
        let got = seen.get(channel).cloned().unwrap_or_default();
        let want: Vec<(u64, String, String)> = expected
            .iter()
            .enumerate()
            .map(|(i, (p, v))| (i as u64 + 1, p.clone(), v.clone()))
            .collect();
        assert_eq!(
            got, want,
            "channel {channel}: accepted in this order (ledger rows)"
        );
    }
    assert_eq!(accepted.len(), burst.valid.len());

    // The secure stand-in has each release once.
    let releases = ws.pci.get("/api/Spaces-1/releases/all");
    let mut versions: Vec<String> = releases
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["Version"].as_str().map(str::to_owned))
        .filter(|v| v.starts_with("1.0.") || v.starts_with("2.0."))
        .collect();
    versions.sort();
    let mut want: Vec<String> = burst
        .channels
        .values()
        .flatten()
        .map(|(_, v)| v.clone())
        .collect();
    want.sort();
    // The secure seed's own releases of other projects are not ours; ours are each once.
    for v in &want {
        assert_eq!(
            versions.iter().filter(|x| *x == v).count(),
            1,
            "release {v} on the secure instance: {versions:?}"
        );
    }

    // done/: every valid bundle and the duplicates; quarantine/: the tampered one and its note.
    let mut done_want: Vec<String> = burst.valid.iter().map(|(n, _)| n.clone()).collect();
    done_want.extend(burst.duplicates.iter().map(|(n, _)| n.clone()));
    done_want.push(AGAIN.to_owned());
    done_want.sort();
    assert_eq!(names(&ws.inbox.join("done")), done_want);
    let q = ws.inbox.join("quarantine");
    let tampered = &burst.tampered.0;
    assert_eq!(
        names(&q),
        vec![tampered.clone(), format!("{tampered}.json")]
    );
    let note: Value = serde_json::from_slice(&fs::read(q.join(format!("{tampered}.json")))?)?;
    assert_eq!(note["file"], tampered.as_str());
    assert!(
        [
            "hash-mismatch",
            "corrupt",
            "entry-size-mismatch",
            "truncated"
        ]
        .contains(&note["code"].as_str().unwrap_or_default()),
        "{note}"
    );
    assert!(
        !note["message"].as_str().unwrap_or_default().is_empty(),
        "{note}"
    );
    assert_eq!(note["digest"].as_str().map(str::len), Some(64), "{note}");
    // Nothing left in the inbox but the service's folders.
    assert_eq!(names(&ws.inbox), [".watch", "done", "quarantine"]);

    // One deployment per release and environment (the dev channel's Burst Payments), each
    // with its result bundle in the outbox, named by the result channel and sequence.
    let deployments = ledger.deployments(Some(DEV_PROJECT))?;
    assert_eq!(deployments.len(), DEV_VERSIONS, "{deployments:?}");
    let results = names(&ws.outbox);
    assert_eq!(results.len(), DEV_VERSIONS, "{results:?}");
    for (i, name) in results.iter().enumerate() {
        let parsed = OutboxName::parse(name).ok_or_else(|| format!("{name} is no outbox name"))?;
        assert_eq!(parsed.channel.to_string(), "pci->dev/result");
        assert_eq!(parsed.sequence, i as u64 + 1);
        ws.site
            .import()
            .args(["verify", "--policy", "dev.toml"])
            .args([ws.outbox.join(name)])
            .ok();
    }
    let on_instance = ws.pci.get("/api/Spaces-1/deployments/all");
    let ours = on_instance
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|d| {
            d["Comments"]
                .as_str()
                .is_some_and(|c| c.starts_with("Deployed by Zonebridge"))
        })
        .count();
    assert_eq!(ours, DEV_VERSIONS, "deployments on the secure instance");
    // The staging folder beside the outbox holds nothing left over.
    let staging = ws.site.path("spool/.results-outbox.partial");
    assert!(
        names(&staging).iter().all(|n| n.starts_with('.')),
        "{:?}",
        names(&staging)
    );
    ws.site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok();
    Ok(())
}

/// The watch's arguments in the burst.
pub const BURST_ARGS: &[&str] = &[
    "--deploy",
    "Burst Payments=PCI Staging",
    "--key",
    "result-signer.key",
    "--results-outbox",
    "spool/results-outbox",
    "--map",
    "mapping.toml",
    "--deploy-timeout",
    "2m",
];

/// Copies the example mapping file into the site (PCI Staging's name for Staging).
pub fn mapping(ws: &WatchSite) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/promote");
    fs::copy(examples.join("mapping.toml"), ws.site.path("mapping.toml"))
        .unwrap_or_else(|e| panic!("cannot copy the example mapping file: {e}"));
}

/// Waits until the late bundle was refused for its missing project (and so retries), then
/// creates that project on the secure instance.
pub fn fix_late_project(ws: &WatchSite, burst: &Burst, log: &Path) {
    ws.wait_for("the late bundle's refusal", Duration::from_secs(60), |_| {
        log_events(log, "refused for now; tried again later", &burst.late) > 0
    });
    WatchSite::create_project(&ws.pci, LATE_PROJECT);
}

fn stop(mut watch: Running) -> TestResult {
    assert_eq!(watch.signal("-TERM")?, Some(0), "a graceful stop exits 0");
    Ok(())
}

pub fn all_done(ws: &WatchSite, burst: &Burst) -> bool {
    let want = burst.valid.len() + burst.duplicates.len();
    fs::read_dir(ws.inbox.join("done")).map_or(0, Iterator::count) >= want
        && ws.health().is_some_and(|h| h.queue_length == 0)
        && fs::read_dir(&ws.outbox).map_or(0, Iterator::count) >= DEV_VERSIONS
}

#[test]
fn a_burst_out_of_order_is_imported_once_in_channel_order() -> TestResult {
    let ws = WatchSite::new();
    mapping(&ws);
    let burst = Burst::make(&ws);
    let log = ws.site.path("watch.log");
    fs::create_dir_all(ws.site.path("metrics"))?;
    // Settle 2 s against pieces 400 ms apart: a margin for a loaded machine.
    let metrics_args = [
        BURST_ARGS,
        &["--metrics", "metrics/import.prom", "--settle", "2s"],
    ]
    .concat();
    let child = ws.start_watch(&metrics_args, &log);
    ws.wait_for("the watch's first round", Duration::from_secs(30), |w| {
        w.health().is_some()
    });
    burst.drop_all(&ws.inbox, &mut Seeded::new(12));
    fix_late_project(&ws, &burst, &log);
    ws.wait_for("every bundle done", Duration::from_secs(90), |w| {
        all_done(w, &burst)
    });
    give_first_again(&ws, &burst);

    // Health while running: nothing waits, counts add up.
    let health = ws.health_command().ok().json();
    assert_eq!(health["queue_length"], 0, "{health}");
    assert_eq!(health["counts"]["quarantined"], 1, "{health}");
    assert_eq!(
        health["counts"]["done"],
        (burst.valid.len() + burst.duplicates.len() + 1) as u64,
        "{health}"
    );
    assert_eq!(health["counts"]["duplicates"], 3, "{health}");
    assert_eq!(health["stopped"], false);
    stop(child)?;

    check_final_state(&ws, &burst)?;
    // The slow copy was taken once, never before it was complete.
    assert_eq!(log_events(&log, "taken", &burst.slow.0), 1);
    assert_eq!(
        log_events(
            &log,
            "put back to settle: it changed, or may still be arriving",
            &burst.slow.0
        ),
        0
    );
    // The late bundle was refused for its missing project, then imported on a retry.
    let text = fs::read_to_string(&log)?;
    let refusal = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["file"] == burst.late.as_str() && v["fields"]["code"].is_string())
        .ok_or("no refusal of the late bundle in the log")?;
    assert_eq!(refusal["fields"]["code"], "missing-on-target", "{refusal}");
    assert_eq!(log_events(&log, "done", &burst.late), 1);
    let health = ws.health_command().ok().json();
    assert_eq!(health["stopped"], true, "{health}");
    // The metrics file, as a scraper reads it.
    let metrics = fs::read_to_string(ws.site.path("metrics/import.prom"))?;
    for line in [
        "# TYPE zonebridge_inbox_bundles_total counter",
        "zonebridge_inbox_bundles_total{service=\"import\",outcome=\"done\"} 18",
        "zonebridge_inbox_bundles_total{service=\"import\",outcome=\"duplicate\"} 3",
        "zonebridge_inbox_bundles_total{service=\"import\",outcome=\"quarantined\"} 1",
        "zonebridge_inbox_queue_length{service=\"import\"} 0",
        "zonebridge_inbox_quarantined_files{service=\"import\"} 1",
        "zonebridge_inbox_done_files{service=\"import\"} 21",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(
        metrics.contains("zonebridge_inbox_last_success_timestamp_seconds{service=\"import\"} ")
    );
    // The text form of health names the counts.
    ws.site
        .import()
        .args(["health", "--inbox"])
        .args([&ws.inbox])
        .ok()
        .stdout_has("quarantined: 1");
    Ok(())
}

#[test]
fn health_without_a_watch_and_deploys_without_an_outbox_are_refused_with_a_hint() {
    let site = Site::new();
    fs::create_dir_all(site.path("inbox")).unwrap_or_else(|e| panic!("{e}"));
    site.import()
        .args(["health", "--inbox", "inbox"])
        .expect(4)
        .stderr_has("no health file in inbox/.watch")
        .stderr_has("Hint: is the watch service running on this inbox?");
    site.keygen("signer");
    site.policy("pci.toml", "pci", &["signer"], 1);
    let watch = |extra: &[&str]| {
        site.import()
            .args(["watch", "--inbox", "inbox", "--policy", "pci.toml"])
            .args([
                "--server",
                "http://127.0.0.1:9",
                "--ledger",
                "import.ledger",
            ])
            .args(extra)
            .env("OCTOPUS_API_KEY", "API-UNUSED")
    };
    watch(&[
        "--deploy",
        "Payments API=PCI Staging",
        "--key",
        "signer.key",
    ])
    .expect(2)
    .stderr_has("--deploy writes result bundles: give --results-outbox DIR");
    watch(&["--deploy", "Payments API"])
        .expect(2)
        .stderr_has("is not PROJECT=ENVIRONMENT");
    watch(&[
        "--deploy",
        "Payments API=PCI Staging",
        "--results-outbox",
        "inbox",
    ])
    .expect(2)
    .stderr_has("--deploy signs result bundles: give --key RESULT_SIGNER.key");
    // Nothing was started: no state folder was made.
    assert!(!site.path("inbox/.watch").exists());
}

#[test]
fn a_deploy_that_cannot_start_is_retried_and_its_result_written_once_it_can() -> TestResult {
    let ws = WatchSite::new();
    WatchSite::create_project(&ws.dev, DEV_PROJECT);
    WatchSite::create_project(&ws.pci, DEV_PROJECT);
    ws.create_release(DEV_PROJECT, "1.0.1");
    let bundle = ws.export("dev", DEV_PROJECT, "1.0.1", "p.zb");
    drop_renamed(&ws.inbox, &bundle, "p.zb");
    let args = [
        "--deploy",
        "Burst Payments=PCI Canary",
        "--key",
        "result-signer.key",
        "--results-outbox",
        "spool/results-outbox",
        "--once",
    ];
    let once = |ws: &WatchSite| -> TestResult {
        let status = ws
            .watch_command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        assert!(status.success(), "{status:?}");
        Ok(())
    };
    once(&ws)?;
    // Imported, but PCI Canary is no environment here: the file stays, to be retried.
    assert!(ws.inbox.join("p.zb").is_file());
    let health = ws.health_command().ok().json();
    assert_eq!(health["last_error"]["code"], "not-found", "{health}");
    assert!(
        health["oldest_waiting"]["waiting_for"]
            .as_str()
            .is_some_and(|w| w.starts_with("retry after not-found")),
        "{health}"
    );
    assert_eq!(names(&ws.outbox).len(), 0);
    ws.pci
        .post("/api/Spaces-1/environments", &json!({"Name": "PCI Canary"}));
    once(&ws)?;
    assert!(ws.inbox.join("done/p.zb").is_file());
    let results = names(&ws.outbox);
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        results[0].ends_with("~burst-payments-1.0.1-pci-canary.zb"),
        "{results:?}"
    );
    let ledger = Ledger::open(ws.site.path("import.ledger"))?;
    let accepted = ledger.bundles(Some(BundleKind::Release), Some(Verdict::Accepted), None)?;
    assert_eq!(accepted.len(), 1);
    Ok(())
}
