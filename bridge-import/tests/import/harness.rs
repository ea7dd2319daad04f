//! The plumbing: `bridge-export` and `octopus-standin` built once with the test's profile,
//! stand-ins on loopback ports (killed when dropped), a site with a release key, a policy and
//! the bundle of Fraud Rules 3.13.0 exported from a development-zone stand-in, and runs of
//! `bridge-import` with their exit code, output and error.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use octopus_api::{ApiKey, Client, Endpoint, SpaceRef};

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The development-zone stand-in's API key.
pub const DEV_KEY: &str = "API-DEV-IMPORTTESTS";
/// The secure-zone stand-in's API key.
pub const PCI_KEY: &str = "API-PCI-IMPORTTESTS";

/// The mapping that promotes the development seed into the secure seed
/// (`examples/promote/mapping.toml`).
pub fn example_mapping() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/promote/mapping.toml")
}

fn built(name: &str) -> Result<PathBuf, String> {
    test_support::binary(name)
}

/// A running stand-in, killed when dropped.
#[derive(Debug)]
pub struct Standin {
    process: test_support::Standin,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Standin {
    /// Starts one seeded with `octopus-standin/seeds/<seed>`.
    pub fn start(seed: &str, key: &'static str) -> Result<Self, Box<dyn std::error::Error>> {
        let process = test_support::Standin::start(Some(seed), key)?;
        Ok(Standin {
            url: process.url.clone(),
            process,
        })
    }

    /// A client of its default space.
    pub fn client(&self) -> Result<Client, Box<dyn std::error::Error>> {
        let endpoint = Endpoint::new(
            &self.url,
            ApiKey::new(self.process.key.as_str()),
            SpaceRef::Default,
        )?;
        Ok(Client::connect(endpoint)?)
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Fails the test, showing everything, unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Result<Self, Box<dyn std::error::Error>> {
        if self.code == Some(code) {
            Ok(self)
        } else {
            Err(format!(
                "expected exit code {code}, got {:?}\n--- stdout\n{}\n--- stderr\n{}",
                self.code, self.stdout, self.stderr
            )
            .into())
        }
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        Ok(serde_json::from_str(&self.stdout)?)
    }
}

/// A temporary site: a release key, the secure zone's policy, and a bundle.
#[derive(Debug)]
pub struct Site {
    /// The folder.
    pub dir: tempfile::TempDir,
    /// The secure stand-in.
    pub pci: Standin,
    /// The bundle of Fraud Rules 3.13.0.
    pub bundle: PathBuf,
}

fn run(
    program: &Path,
    dir: &Path,
    args: &[&OsStr],
    envs: &[(&str, &str)],
) -> Result<Run, Box<dyn std::error::Error>> {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(dir)
        .env_remove("OCTOPUS_URL")
        .env_remove("OCTOPUS_API_KEY")
        .env_remove("ZONEBRIDGE_LEDGER")
        .env_remove("ZONEBRIDGE_TEST_KILL_AFTER_WRITES")
        .stdin(Stdio::null());
    for (key, value) in envs {
        command.env(key, value);
    }
    Ok(Run::from(command.output()?))
}

impl Site {
    /// Starts a secure stand-in and exports Fraud Rules 3.13.0 from a development one (which is
    /// stopped again) into a bundle signed by a key the secure policy trusts.
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let export = built("bridge-export")?;
        let here = dir.path();
        let os = |s: &'static str| OsStr::new(s);
        run(
            &export,
            here,
            &[os("keygen"), os("--out"), os("dev-release")],
            &[],
        )?
        .expect(0)?;
        let import = Path::new(env!("CARGO_BIN_EXE_bridge-import"));
        run(
            import,
            here,
            &[
                os("policy"),
                os("init"),
                os("--zone"),
                os("pci"),
                os("--out"),
                os("policy.toml"),
            ],
            &[],
        )?
        .expect(0)?;
        run(
            import,
            here,
            &[
                os("policy"),
                os("trust"),
                os("policy.toml"),
                os("dev-release.pub"),
                os("--role"),
                os("release"),
                os("--zone"),
                os("dev"),
            ],
            &[],
        )?
        .expect(0)?;
        let dev = Standin::start("dev.json", DEV_KEY)?;
        run(
            &export,
            here,
            &[
                os("export"),
                os("--server"),
                OsStr::new(&dev.url),
                os("--project"),
                os("Fraud Rules"),
                os("--release"),
                os("3.13.0"),
                os("--key"),
                os("dev-release.key"),
                os("--source-zone"),
                os("dev"),
                os("--target-zone"),
                os("pci"),
                os("--out"),
                os("fraud-rules-3.13.0.zb"),
                os("--ledger"),
                os("export.ledger"),
            ],
            &[("OCTOPUS_API_KEY", DEV_KEY)],
        )?
        .expect(0)?;
        drop(dev);
        let pci = Standin::start("secure.json", PCI_KEY)?;
        Ok(Site {
            bundle: here.join("fraud-rules-3.13.0.zb"),
            dir,
            pci,
        })
    }

    /// A path in the site.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `bridge-import import BUNDLE --policy policy.toml --server PCI` and `extra` arguments,
    /// with the secure key and the ledger `import.ledger` (`ZONEBRIDGE_LEDGER`) in the
    /// environment, and `envs` set.
    pub fn import(
        &self,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Run, Box<dyn std::error::Error>> {
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("import"),
            self.bundle.as_os_str(),
            OsStr::new("--policy"),
            OsStr::new("policy.toml"),
            OsStr::new("--server"),
            OsStr::new(&self.pci.url),
        ];
        args.extend(extra.iter().map(OsStr::new));
        let ledger = self.path("import.ledger");
        let ledger = ledger.to_str().ok_or("the temporary folder is not UTF-8")?;
        // Staging goes in the site too, so that a killed import leaves nothing behind.
        let tmp = self
            .dir
            .path()
            .to_str()
            .ok_or("the temporary folder is not UTF-8")?;
        let mut all = vec![
            ("OCTOPUS_API_KEY", PCI_KEY),
            ("ZONEBRIDGE_LEDGER", ledger),
            ("TMPDIR", tmp),
        ];
        all.extend_from_slice(envs);
        run(
            Path::new(env!("CARGO_BIN_EXE_bridge-import")),
            self.dir.path(),
            &args,
            &all,
        )
    }
}
