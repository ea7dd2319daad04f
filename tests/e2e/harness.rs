//! The plumbing of the end-to-end tests: the binaries (built once), a command wrapper that
//! asserts exit codes and shows everything on failure, and a temporary site with keys,
//! policies and release folders.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The folder holding the workspace's binaries, built on first use (`test-support`).
fn bin_dir() -> &'static Path {
    match test_support::bin_dir() {
        Ok(dir) => dir,
        Err(err) => panic!("cannot build the binaries: {err}"),
    }
}

/// One run of a binary, to be finished with [`Cmd::expect`] or [`Cmd::ok`].
#[derive(Debug)]
pub struct Cmd {
    command: Command,
    shown: String,
    stdin: Option<Vec<u8>>,
    deadline: Option<Duration>,
}

impl Cmd {
    /// `bridge-export` run in `dir`.
    pub fn export(dir: &Path) -> Self {
        Self::new("bridge-export", dir)
    }

    /// `bridge-import` run in `dir`.
    pub fn import(dir: &Path) -> Self {
        Self::new("bridge-import", dir)
    }

    fn new(name: &str, dir: &Path) -> Self {
        let mut command = Command::new(bin_dir().join(name));
        command.current_dir(dir).env_remove("SOURCE_DATE_EPOCH");
        Self {
            command,
            shown: name.to_owned(),
            stdin: None,
            deadline: None,
        }
    }

    /// Kills the command and fails the test if it has not ended within `limit`: for inputs
    /// that could make it block (a FIFO, a terminal), so that a regression fails instead of
    /// hanging the suite.
    pub fn within(mut self, limit: Duration) -> Self {
        self.deadline = Some(limit);
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        for arg in args {
            let arg = arg.as_ref();
            let _ = write!(self.shown, " {}", arg.to_string_lossy());
            self.command.arg(arg);
        }
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        let _ = write!(self.shown, " [{key}={value}]");
        self.command.env(key, value);
        self
    }

    /// Feeds `bytes` on standard input.
    pub fn stdin(mut self, bytes: Vec<u8>) -> Self {
        self.stdin = Some(bytes);
        self
    }

    /// Runs to the end; panics, showing stdout and stderr, unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Run {
        let run = self.run();
        if run.code != code {
            panic!(
                "expected exit code {code}, got {}\n{}",
                run.code,
                run.dump()
            );
        }
        run
    }

    /// Runs to the end, whatever the exit code (-1 when a signal ended it).
    pub fn run(mut self) -> Run {
        self.command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self
            .command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            // The child may refuse before reading everything; that is its answer.
            let _ = pipe.write_all(&bytes);
        }
        if let Some(limit) = self.deadline {
            wait_within(&mut child, limit, &self.shown);
        }
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("cannot wait for {}: {e}", self.shown));
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            shown: self.shown,
        }
    }

    /// Runs and expects success.
    pub fn ok(self) -> Run {
        self.expect(0)
    }

    /// Starts the command and returns at once, with a pipe on its standard input that the
    /// test writes (or not) and closes, for tests that interrupt a command halfway.
    pub fn spawn(mut self) -> std::process::Child {
        self.command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown))
    }
}

/// Waits for `child` to end, killing it and failing the test once `limit` has passed. The
/// child's output is small (an error message), so its pipes cannot fill while it runs.
fn wait_within(child: &mut std::process::Child, limit: Duration, shown: &str) {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return,
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not end within {limit:?}: it blocked");
            }
            Err(e) => panic!("cannot wait for {shown}: {e}"),
        }
    }
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output, raw (a bundle for `--out -`).
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
    shown: String,
}

impl Run {
    /// Standard output as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard output parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.dump()))
    }

    /// Asserts that standard error contains `text`.
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr should contain {text:?}\n{}",
            self.dump()
        );
        self
    }

    /// Asserts that standard output contains `text`.
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout().contains(text),
            "stdout should contain {text:?}\n{}",
            self.dump()
        );
        self
    }

    fn dump(&self) -> String {
        format!(
            "$ {}\n--- exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.shown,
            self.code,
            self.stdout(),
            self.stderr
        )
    }
}

/// A temporary folder standing for one operator's machine: keys, policies, releases, bundles.
#[derive(Debug)]
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    /// A fresh, empty site.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("cannot make a temp dir: {e}")),
        }
    }

    /// The site's folder.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the site.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `bridge-export` run in the site.
    pub fn export(&self) -> Cmd {
        Cmd::export(self.root())
    }

    /// `bridge-import` run in the site.
    pub fn import(&self) -> Cmd {
        Cmd::import(self.root())
    }

    /// Makes key pair `name` (name.key, name.pub) and returns its key id.
    pub fn keygen(&self, name: &str) -> String {
        let run = self.export().args(["keygen", "--out", name, "--json"]).ok();
        run.json()["key_id"]
            .as_str()
            .unwrap_or_else(|| panic!("keygen printed no key_id"))
            .to_owned()
    }

    /// Makes policy `name` for zone `zone` trusting each `signers` key (by key-pair name) as a
    /// release signer for zone `dev`, with a release threshold of `threshold`.
    pub fn policy(&self, name: &str, zone: &str, signers: &[&str], threshold: u32) -> PathBuf {
        self.import()
            .args(["policy", "init", "--zone", zone, "--out", name])
            .ok();
        for signer in signers {
            self.import()
                .args(["policy", "trust", name, &format!("{signer}.pub")])
                .args(["--role", "release", "--zone", "dev"])
                .ok();
        }
        let path = self.path(name);
        if threshold != 1 {
            let text = read_text(&path);
            let changed = text.replacen("release = 1", &format!("release = {threshold}"), 1);
            assert_ne!(text, changed, "policy init text has no `release = 1`");
            write(&path, changed.as_bytes());
        }
        path
    }

    /// Writes a small release folder `name` whose packages are `packages` (file name, bytes).
    pub fn release(&self, name: &str, packages: &[(&str, &[u8])]) -> PathBuf {
        let root = self.path(name);
        write(
            &root.join("process.json"),
            br#"{"Project":"Payments API","Steps":[]}"#,
        );
        write(
            &root.join("variables/project.json"),
            br#"{"Owner":"Payments API","Variables":[]}"#,
        );
        let mut toml = String::from(
            "project = \"Payments API\"\nversion = \"1.0.0\"\nchannel = \"Default\"\n\
             process = \"process.json\"\nvariables = [\"variables/project.json\"]\n",
        );
        for (i, (file, bytes)) in packages.iter().enumerate() {
            write(&root.join("packages").join(file), bytes);
            let _ = write!(
                toml,
                "[[packages]]\nid = \"Pkg{i}\"\nversion = \"1.0.0\"\nfile = \"packages/{file}\"\n"
            );
        }
        toml.push_str(
            "[[secrets]]\nowner = \"Payments API\"\nname = \"Db.Password\"\n\
             scope = { Environment = [\"Production\"] }\n",
        );
        write(&root.join("release.toml"), toml.as_bytes());
        root
    }

    /// `pack` of `release` from dev to `target` signed by the key pairs `keys`, into `out`.
    pub fn pack(&self, release: &Path, keys: &[&str], target: &str, out: &str) -> Cmd {
        let mut cmd = self
            .export()
            .args(["pack", "--release-dir"])
            .args([release])
            .args([
                "--source-zone",
                "dev",
                "--target-zone",
                target,
                "--out",
                out,
            ]);
        for key in keys {
            cmd = cmd.args(["--key", &format!("{key}.key")]);
        }
        cmd
    }
}

/// Kills an import (SIGKILL, through `ZONEBRIDGE_TEST_KILL_AFTER_WRITES`) after its first
/// write, then after its second, and so on until a run gets through; returns how many runs
/// were killed. For write `n`, `setup` makes fresh zones holding the bundle (or fails the
/// test with its error), `import` gives
/// the command to kill, which is then run again to the end, and `check(zones, n)` asserts
/// what the rerun left. Fails if a run ends otherwise, or if the import is still being
/// killed at write `most`.
pub fn kill_at_each_write<Z>(
    most: u32,
    setup: impl Fn() -> Result<Z, Box<dyn std::error::Error>>,
    import: impl Fn(&Z) -> Cmd,
    check: impl Fn(&Z, u32),
) -> Result<u32, Box<dyn std::error::Error>> {
    let mut points = 0;
    for n in 1.. {
        let zones = setup()?;
        let killed = import(&zones)
            .env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", &n.to_string())
            .run();
        if killed.code == 0 {
            break;
        }
        assert_eq!(
            killed.code, -1,
            "run {n} should have been killed by SIGKILL:\n{}",
            killed.stderr
        );
        points += 1;
        import(&zones).ok();
        check(&zones, n);
        assert!(n < most, "the import never ran through");
    }
    Ok(points)
}

/// The plan line of step `step` (`"build-information"`, `"step-template"`...) in an import's
/// `--json` report, or `null` when the plan has none.
pub fn plan_step(report: &serde_json::Value, step: &str) -> serde_json::Value {
    report["plan"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["step"] == step)
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

/// Reads a file as text, or panics naming it.
pub fn read_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The three zstd frames of a bundle: signatures, manifest, payload (all the rest), for tests
/// that take a bundle apart to damage or forge one part.
pub fn frames(bundle: &[u8]) -> Result<[Vec<u8>; 3], String> {
    let mut at = 0;
    let mut out: [Vec<u8>; 3] = Default::default();
    for (n, frame) in out.iter_mut().enumerate() {
        let rest = bundle.get(at..).ok_or("short bundle")?;
        let len = if n == 2 {
            rest.len()
        } else {
            zstd::zstd_safe::find_frame_compressed_size(rest)
                .map_err(|code| format!("not a zstd frame: {code}"))?
        };
        *frame = rest.get(..len).ok_or("short frame")?.to_vec();
        at += len;
    }
    Ok(out)
}

/// Writes a file (and its folders), or panics naming it.
pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The names in a folder, sorted.
pub fn listing(dir: &Path) -> Vec<OsString> {
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    names
}
