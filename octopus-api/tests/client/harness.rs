//! The plumbing: the stand-in binary (built once with the test's profile), started on a
//! loopback port, and a client connected to it.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use octopus_api::{ApiKey, Client, Endpoint, RetryPolicy, SpaceRef};

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The stand-in's API key in these tests.
pub const KEY: &str = "API-CLIENTTESTS";

/// The repository's `fixtures/octopus`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/octopus")
}

fn standin_binary() -> Result<&'static Path, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .ok_or("the test executable is not in target/<profile>/deps")?;
            let target_dir = profile_dir.parent().ok_or("no target folder")?;
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args(["build", "--bin", "octopus-standin", "-p", "octopus-standin"])
                .arg("--target-dir")
                .arg(target_dir)
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            match profile_dir.file_name().and_then(OsStr::to_str) {
                Some("debug") | None => {}
                Some("release") => {
                    cargo.arg("--release");
                }
                Some(other) => {
                    cargo.args(["--profile", other]);
                }
            }
            let output = cargo
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !output.status.success() {
                return Err(String::from_utf8_lossy(&output.stderr).into_owned());
            }
            Ok(profile_dir.join("octopus-standin"))
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// A running stand-in, killed when dropped.
pub struct Standin {
    child: Child,
    /// Its URL.
    pub url: String,
}

impl Standin {
    /// Starts one, optionally with a seed from `octopus-standin/seeds/`.
    pub fn start(seed: Option<&str>) -> Result<Self, Box<dyn std::error::Error>> {
        let mut command = Command::new(standin_binary()?);
        command.args(["--listen", "127.0.0.1:0", "--api-key", KEY]);
        if let Some(seed) = seed {
            command.arg("--seed").arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../octopus-standin/seeds")
                    .join(seed),
            );
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut url = String::new();
        BufReader::new(stdout).read_line(&mut url)?;
        let url = url.trim().to_owned();
        if !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            return Err(format!("the stand-in did not start (printed {url:?})").into());
        }
        Ok(Standin { child, url })
    }

    /// An endpoint for it with fast retries.
    pub fn endpoint(&self, space: &str) -> Result<Endpoint, Box<dyn std::error::Error>> {
        let mut endpoint = Endpoint::new(&self.url, ApiKey::new(KEY), SpaceRef::parse(space))?;
        endpoint.retry = fast_retries(3);
        Ok(endpoint)
    }

    /// A client of its default space.
    pub fn client(&self) -> Result<Client, Box<dyn std::error::Error>> {
        Ok(Client::connect(self.endpoint("")?)?)
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Retries with millisecond pauses, so tests of the retry loop stay quick.
pub fn fast_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    }
}
