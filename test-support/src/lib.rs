//! What the integration tests of several crates share, so it is written once: the workspace's
//! binaries (`bridge-export`, `bridge-import`, `octopus-standin`) built on first use with the
//! profile and target folder of the running test, and `octopus-standin` started for real on a
//! loopback port.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub mod netns;
pub mod relay;

/// The packages whose binaries are built for the tests (`zb-relay` is test-support's own).
const BINARIES: [&str; 4] = [
    "bridge-export",
    "bridge-import",
    "octopus-standin",
    "test-support",
];

/// The folder holding the workspace's binaries, built once per test process with the test
/// executable's profile and target folder (`target/<profile>/deps/<test>-*`), so that
/// `cargo test` alone is enough.
pub fn bin_dir() -> Result<&'static Path, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(build)
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// The path of one of the workspace's binaries, built on first use.
pub fn binary(name: &str) -> Result<PathBuf, String> {
    Ok(bin_dir()?.join(name))
}

fn build() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("the test executable is not in target/<profile>/deps")?;
    let target_dir = profile_dir.parent().ok_or("no target folder")?;
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(["build", "--bins"]);
    for name in BINARIES {
        cargo.args(["-p", name]);
    }
    cargo
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(workspace_root());
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
    Ok(profile_dir.to_owned())
}

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// A seed file of `octopus-standin/seeds/`.
pub fn seed(name: &str) -> PathBuf {
    workspace_root().join("octopus-standin/seeds").join(name)
}

/// A running `octopus-standin`, killed when dropped.
#[derive(Debug)]
pub struct Standin {
    child: Child,
    /// Its URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The API key it accepts.
    pub key: String,
}

impl Standin {
    /// Starts one on a free loopback port, accepting `key`, seeded from
    /// `octopus-standin/seeds/<seed>` when given.
    pub fn start(seed_name: Option<&str>, key: &str) -> Result<Self, String> {
        Self::start_with_data(seed_name, key, None)
    }

    /// The same, keeping its state in the JSON file `data` (`--data`), which tests read to see
    /// what the API never shows (the sensitive values it stores).
    pub fn start_with_data(
        seed_name: Option<&str>,
        key: &str,
        data: Option<&Path>,
    ) -> Result<Self, String> {
        Self::start_with_args(seed_name, key, data, &[])
    }

    /// The same, with more arguments (`--role-key`, `--path-base`, `--server-version`).
    pub fn start_with_args(
        seed_name: Option<&str>,
        key: &str,
        data: Option<&Path>,
        extra: &[&str],
    ) -> Result<Self, String> {
        let mut command = Command::new(binary("octopus-standin")?);
        command.args(["--listen", "127.0.0.1:0", "--api-key", key]);
        command.args(extra);
        if let Some(name) = seed_name {
            command.arg("--seed").arg(seed(name));
        }
        if let Some(data) = data {
            command.arg("--data").arg(data);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start octopus-standin: {e}"))?;
        let mut url = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut url);
        }
        let url = url.trim().to_owned();
        if !url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "octopus-standin did not print its URL (printed {url:?})"
            ));
        }
        Ok(Standin {
            child,
            url,
            key: key.to_owned(),
        })
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
