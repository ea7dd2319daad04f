//! The diode carrier end to end over an emulated link (test-support's `netns::Link`): three
//! network namespaces, `zb-relay` impairing the traffic in the middle, `bridge-export send` on
//! one side and `bridge-import receive` on the other. These tests need root (CI runs as root)
//! and fail, never skip, without it. Seeds are fixed and printed.
//!
//! Every test ends with [`Diode::finish`]: the receiver stopped by SIGTERM exits 0, its veth
//! sent no packet, and the inbox holds exactly the expected files, each byte-identical
//! (SHA-256) to the bundle sent under that name, and nothing else (no partial, no duplicate).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use test_support::netns::{Link, Pid, RECEIVER_IP, RELAY_IP, Side};

use crate::harness::Site;

#[path = "diode_damage.rs"]
mod damage;
#[path = "diode_flood.rs"]
mod flood;
#[path = "diode_link.rs"]
mod link;
#[path = "diode_loss.rs"]
mod loss;
#[path = "diode_promote.rs"]
mod promote;
#[path = "diode_restart.rs"]
mod restart;

/// The diode's UDP port, the same in every test: each test has its own namespaces.
pub const PORT: u16 = 7700;
/// The link's rate (tbf), as the benchmarks use.
pub const LINK_RATE: &str = "100mbit";
/// The sender's rate: below the link's, so the shaper queues but never drops.
pub const SEND_RATE: &str = "80M";
/// The receive logging flags (JSON lines, one object per event).
pub const LOG_JSON: [&str; 2] = ["--log", "json"];
/// How long a test waits for a bundle to appear before it fails.
pub const DELIVERY_LIMIT: Duration = Duration::from_secs(60);

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// One emulated diode: a site (keys, policy, inbox, state), the link, the relay, and the
/// receiver while it runs.
pub struct Diode {
    /// The site of [`Diode::new`]: keys `signer`, policy `secure.toml`.
    pub site: Site,
    /// The folder the commands run in (the site's, or another's: [`Diode::over`]).
    root: PathBuf,
    /// The receiver's policy and the sender's key, relative to `root`.
    policy: String,
    key: String,
    pub link: Link,
    pub inbox: PathBuf,
    pub state: PathBuf,
    pub relay_stats: PathBuf,
    relay: Pid,
    /// The sender's `--rate` (tests acting mid-bundle slow it down).
    pub rate: &'static str,
    receiver: Option<Pid>,
    receiver_logs: Vec<PathBuf>,
    /// The bundles made, by file name: their SHA-256.
    made: BTreeMap<String, [u8; 32]>,
}

/// The inbox file name of bundle `sequence` (an outbox name of channel dev->secure/release).
pub fn bundle_name(sequence: u64) -> String {
    format!("dev~secure~release~{sequence:012}~payments-{sequence}.zb")
}

/// SHA-256 of a file.
pub fn sha256(path: &Path) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(Sha256::digest(&bytes).into())
}

/// Seeded bytes (the packages inside the bundles: incompressible, so sizes are as asked).
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = test_support::relay::rng::SplitMix64::new(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(len);
    out
}

impl Diode {
    /// A link with the relay started with `relay_args` (its `--seed` included); a key `signer`
    /// trusted by the secure zone's policy as release signer for `dev`. No receiver yet.
    pub fn new(relay_args: &[&str]) -> Result<Self, Box<dyn std::error::Error>> {
        println!("relay: {}", relay_args.join(" "));
        let site = Site::new();
        site.keygen("signer");
        site.policy("secure.toml", "secure", &["signer"], 1);
        let root = site.root().to_owned();
        let mut diode = Self::over(
            &root,
            "secure.toml",
            "signer.key",
            &root.join("inbox"),
            relay_args,
        )?;
        diode.site = site;
        Ok(diode)
    }

    /// A link between two sides sharing the folder `root` (the tests' sites): the receiver
    /// trusts `policy` and delivers into `inbox`, the sender signs with `key`.
    pub fn over(
        root: &Path,
        policy: &str,
        key: &str,
        inbox: &Path,
        relay_args: &[&str],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let scratch = Site::new();
        let state = scratch.path("receive-state");
        std::fs::create_dir_all(inbox)?;
        std::fs::create_dir_all(&state)?;
        let mut link = Link::new(LINK_RATE)?;
        let relay_stats = scratch.path("relay-stats.json");
        let relay = link.start_relay(PORT, relay_args, &relay_stats)?;
        Ok(Self {
            relay,
            site: scratch,
            root: root.to_owned(),
            policy: policy.to_owned(),
            key: key.to_owned(),
            inbox: inbox.to_owned(),
            link,
            state,
            relay_stats,
            rate: SEND_RATE,
            receiver: None,
            receiver_logs: Vec::new(),
            made: BTreeMap::new(),
        })
    }

    /// Packs bundle `sequence` (a release whose package holds `size` seeded bytes) into the
    /// site as [`bundle_name`]; returns its path.
    pub fn bundle(&mut self, sequence: u64, size: usize) -> Result<PathBuf, String> {
        let release = self.site.release(
            &format!("release-{sequence}"),
            &[("app.bin", &seeded_bytes(sequence, size))],
        );
        let name = bundle_name(sequence);
        let out = self.site.path(&format!("outbox/{name}"));
        std::fs::create_dir_all(out.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        let mut pack = self
            .site
            .pack(&release, &["signer"], "secure", &out.to_string_lossy())
            .args(["--sequence", &sequence.to_string()]);
        if sequence > 1 {
            // Any previous digest: the diode carries, the importer checks the chain.
            pack = pack.args(["--previous", &"ab".repeat(32)]);
        }
        pack.args(["--quiet"]).ok();
        self.made.insert(name, sha256(&out)?);
        Ok(out)
    }

    /// The folders where the receiver may keep partial transfers: the inbox's staging folder
    /// (`.INBOX.partial` beside it) and the state folder.
    pub fn partial_dirs(&self) -> Vec<PathBuf> {
        let name = self
            .inbox
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = self
            .inbox
            .parent()
            .map(|p| p.join(format!(".{name}.partial")))
            .unwrap_or_default();
        vec![staging, self.state.clone()]
    }

    /// Records `path` as the bundle that must arrive as `name` (made elsewhere than
    /// [`Diode::bundle`]).
    pub fn expect_bundle(&mut self, name: &str, path: &Path) -> Result<(), String> {
        self.made.insert(name.to_owned(), sha256(path)?);
        Ok(())
    }

    /// Starts `bridge-import receive` in the receiver's namespace with `extra` flags, logging
    /// JSON lines to a file of its own.
    pub fn start_receiver(&mut self, extra: &[&str]) -> Result<Pid, String> {
        let log = self
            .site
            .path(&format!("receive-{}.log", self.receiver_logs.len()));
        let mut command = self
            .link
            .command(Side::Receiver, test_support::binary("bridge-import")?);
        command
            .arg("receive")
            .args(["--listen", &format!("{RECEIVER_IP}:{PORT}")])
            .arg("--inbox")
            .arg(&self.inbox)
            .arg("--policy")
            .arg(self.root.join(&self.policy))
            .arg("--state")
            .arg(&self.state)
            .args(LOG_JSON)
            .args(extra)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).map_err(|e| e.to_string())?);
        let pid = self.link.spawn(command)?;
        self.receiver_logs.push(log);
        self.receiver = Some(pid);
        // The socket is bound within moments; a datagram before that is merely lost.
        std::thread::sleep(Duration::from_millis(300));
        Ok(pid)
    }

    /// Kills the receiver with SIGKILL (a crash).
    pub fn kill_receiver(&mut self) -> Result<(), String> {
        let pid = self.receiver.take().ok_or("no receiver running")?;
        self.link.signal(pid, test_support::netns::Signal::KILL)?;
        self.link.wait(pid, Duration::from_secs(10))?;
        Ok(())
    }

    /// Stops the receiver with SIGTERM and asserts it exits 0.
    pub fn stop_receiver(&mut self) -> Result<(), String> {
        let pid = self.receiver.take().ok_or("no receiver running")?;
        let status = self.link.stop(pid, Duration::from_secs(20))?;
        if !status.success() {
            return Err(format!(
                "receive did not exit 0 on SIGTERM: {status}\n{}",
                self.logs()
            ));
        }
        Ok(())
    }

    /// Everything the receivers logged.
    pub fn logs(&self) -> String {
        self.receiver_logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// The JSON events the receivers logged named `event`.
    pub fn events(&self, event: &str) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == event || v["fields"]["event"] == event)
            .collect()
    }

    /// The `bridge-export send` command in the sender's namespace, aimed at the relay.
    pub fn send_command(
        &self,
        files: &[&Path],
        extra: &[&str],
    ) -> Result<std::process::Command, String> {
        let mut command = self
            .link
            .command(Side::Sender, test_support::binary("bridge-export")?);
        command
            .arg("send")
            .args(["--to", &format!("{RELAY_IP}:{PORT}")])
            .arg("--key")
            .arg(self.root.join(&self.key))
            .args(["--rate", self.rate])
            .args(extra)
            .args(files)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        // Spawned senders log beside the site ([`Diode::send`] captures instead).
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.site.path("send.log"))
            .map_err(|e| e.to_string())?;
        command.stderr(log);
        Ok(command)
    }

    /// Runs `bridge-export send` to its end and asserts it exits 0.
    pub fn send(&self, files: &[&Path], extra: &[&str]) -> Result<Output, String> {
        let mut command = self.send_command(files, extra)?;
        let output = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("cannot run bridge-export send: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "bridge-export send failed: {}\n--- stdout\n{}\n--- stderr\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(output)
    }

    /// Waits until the inbox holds every one of `names` (or fails after [`DELIVERY_LIMIT`]).
    pub fn wait_for(&self, names: &[String]) -> Result<(), String> {
        self.wait_within(names, DELIVERY_LIMIT)
    }

    /// The same, failing after `limit`.
    pub fn wait_within(&self, names: &[String], limit: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let present = self.listing()?;
            if names.iter().all(|n| present.contains(n)) {
                return Ok(());
            }
            if start.elapsed() > limit {
                return Err(format!(
                    "after {limit:?} the inbox holds {present:?}, not all of {names:?}\n{}",
                    self.logs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The inbox's entries (hidden ones included: a partial file would show here).
    pub fn listing(&self) -> Result<Vec<String>, String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.inbox)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Stops the relay (SIGTERM: it writes its final counts).
    fn stop_relay(&mut self) -> Result<(), String> {
        self.link
            .stop(self.relay, Duration::from_secs(10))
            .map(|_| ())
    }

    /// The relay's final counts (after [`Diode::finish`] stopped it: read while it runs, the
    /// last second's).
    pub fn relay_counts(&self) -> Result<serde_json::Value, String> {
        let bytes = std::fs::read(&self.relay_stats).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }

    /// The end of every test: stops the receiver (SIGTERM, exit 0), then asserts the inbox
    /// holds exactly `expected`, each file byte-identical to the bundle made under its name,
    /// and that the receiver's veth never transmitted.
    pub fn finish(&mut self, expected: &[String]) -> TestResult {
        if self.receiver.is_some() {
            self.stop_receiver()?;
        }
        self.stop_relay()?;
        let present = self.listing()?;
        let mut want = expected.to_vec();
        want.sort();
        assert_eq!(present, want, "the inbox\n{}", self.logs());
        for name in expected {
            let digest = self
                .made
                .get(name)
                .ok_or(format!("{name} was never made"))?;
            assert_eq!(
                &sha256(&self.inbox.join(name))?,
                digest,
                "{name} arrived with other bytes"
            );
        }
        assert_eq!(
            self.link.tx_packets(Side::Receiver)?,
            0,
            "the receiver's side sent packets"
        );
        println!("relay counts: {}", self.relay_counts().unwrap_or_default());
        Ok(())
    }

    /// Checks a damaged run: every file in the inbox is a bundle made under that name, with
    /// its bytes (none wrong, none partial); returns the names delivered.
    pub fn right_or_nothing(&mut self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        if self.receiver.is_some() {
            self.stop_receiver()?;
        }
        self.stop_relay()?;
        let present = self.listing()?;
        for name in &present {
            let digest = self
                .made
                .get(name)
                .ok_or_else(|| format!("{name} in the inbox was never sent\n{}", self.logs()))?;
            assert_eq!(
                &sha256(&self.inbox.join(name))?,
                digest,
                "{name}: wrong bytes accepted"
            );
        }
        assert_eq!(self.link.tx_packets(Side::Receiver)?, 0);
        Ok(present)
    }
}
