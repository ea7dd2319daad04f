//! Issue 10, points 4 and 12: only regular files are read as bundles, policies, keys, secrets
//! and mapping files. A FIFO, a device, a socket, a directory or an empty file is refused at
//! once with words naming it (never a hang, never a parse error); a public key given as
//! `--key` and a private key given to `policy trust` say which file to give instead; a policy
//! that others can write is refused like a key that others can read.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{Cmd, Run, Site, TestResult, write};

/// Long enough for a slow, shared machine; a command that blocks on its input never ends.
const LIMIT: Duration = Duration::from_secs(60);

/// A site with a packed bundle `b.zb` signed by `alice`, the policy `pci.toml` trusting her,
/// and one of each kind of non-regular file.
struct Inputs {
    site: Site,
    _socket: UnixListener,
}

impl Inputs {
    fn new() -> Self {
        let site = Site::new();
        site.keygen("alice");
        site.keygen("bob");
        site.policy("pci.toml", "pci", &["alice", "bob"], 1);
        let release = site.release("release", &[("a.zip", b"zip")]);
        site.pack(&release, &["alice"], "pci", "b.zb").ok();
        let made = Command::new("mkfifo")
            .arg(site.path("fifo"))
            .status()
            .unwrap_or_else(|e| panic!("cannot run mkfifo: {e}"));
        assert!(made.success(), "mkfifo failed");
        std::fs::create_dir(site.path("folder"))
            .unwrap_or_else(|e| panic!("cannot make a folder: {e}"));
        write(&site.path("empty"), b"");
        let socket = UnixListener::bind(site.path("socket"))
            .unwrap_or_else(|e| panic!("cannot bind a socket: {e}"));
        Self {
            site,
            _socket: socket,
        }
    }

    /// Each non-regular input (a path in the site or a device) and the words that name it.
    fn cases(&self) -> Vec<(String, &'static str, &'static str)> {
        let mut cases = vec![
            (
                self.path("fifo"),
                "is a FIFO (named pipe), not a regular file",
                "not-a-file",
            ),
            (
                self.path("folder"),
                "is a directory, not a regular file",
                "not-a-file",
            ),
            (
                self.path("socket"),
                "is a socket, not a regular file",
                "not-a-file",
            ),
            (
                self.path("empty"),
                "the file is empty (0 bytes)",
                "empty-file",
            ),
            (
                "/dev/null".to_owned(),
                "is a character device, not a regular file",
                "not-a-file",
            ),
            (
                "/dev/zero".to_owned(),
                "is a character device, not a regular file",
                "not-a-file",
            ),
        ];
        if Path::new("/dev/tty").exists() {
            cases.push((
                "/dev/tty".to_owned(),
                "is a character device, not a regular file",
                "not-a-file",
            ));
        }
        cases
    }

    fn path(&self, name: &str) -> String {
        self.site.path(name).to_string_lossy().into_owned()
    }

    /// `import BUNDLE` with a server nothing listens on: every file is read before Octopus is.
    fn import(&self, bundle: &str, args: &[&str]) -> Cmd {
        self.site
            .import()
            .args(["import", bundle, "--policy", "pci.toml"])
            .args(args)
            .args([
                "--server",
                "http://127.0.0.1:9",
                "--ledger",
                "import.ledger",
            ])
            .env("OCTOPUS_API_KEY", "API-NOTUSED")
    }
}

/// Runs `cmd` with `--json` under the time limit and checks the refusal: exit 4, the code,
/// the words on stderr, and that the file is named.
fn refused(cmd: Cmd, file: &str, words: &str, code: &str) -> Run {
    let run = cmd.args(["--json"]).within(LIMIT).expect(4);
    run.stderr_has(words).stderr_has(file);
    assert_eq!(run.json()["error"]["code"], code, "{}", run.stderr);
    run
}

#[test]
fn a_bundle_must_be_a_regular_file() {
    let inputs = Inputs::new();
    let site = &inputs.site;
    // An empty bundle file has a verdict of its own (spec 8.1.1), below.
    let empty = inputs.path("empty");
    for (file, words, code) in inputs
        .cases()
        .into_iter()
        .filter(|(file, ..)| *file != empty)
    {
        refused(
            site.import()
                .args(["verify", &file, "--policy", "pci.toml"]),
            &file,
            words,
            code,
        );
        refused(site.export().args(["inspect", &file]), &file, words, code);
        refused(
            site.import()
                .args(["unpack", &file, "--policy", "pci.toml", "--to", "out"]),
            &file,
            words,
            code,
        );
        refused(
            site.export()
                .args(["sign", &file, "--key", "bob.key", "--out", "c.zb"]),
            &file,
            words,
            code,
        );
        refused(inputs.import(&file, &[]), &file, words, code);
    }
    // An empty file is no bundle: the verifier's verdict (exit 1, `not-a-bundle`, as the vector
    // `container_empty_file` says), in words that say it is empty.
    for args in [
        vec!["verify", empty.as_str(), "--policy", "pci.toml"],
        vec![
            "unpack",
            empty.as_str(),
            "--policy",
            "pci.toml",
            "--to",
            "out",
        ],
    ] {
        let run = site
            .import()
            .args(args)
            .args(["--json"])
            .within(LIMIT)
            .expect(1);
        run.stderr_has("found an empty file");
        assert_eq!(
            run.json()["error"]["code"],
            "not-a-bundle",
            "{}",
            run.stderr
        );
    }
    // Standard input stays allowed for bundles.
    let bundle = std::fs::read(site.path("b.zb")).unwrap_or_default();
    site.import()
        .args(["verify", "-", "--policy", "pci.toml"])
        .stdin(bundle)
        .ok();
}

#[test]
fn a_policy_must_be_a_regular_file() {
    let inputs = Inputs::new();
    let site = &inputs.site;
    for (file, words, code) in inputs.cases() {
        refused(
            site.import().args(["verify", "b.zb", "--policy", &file]),
            &file,
            words,
            code,
        );
        refused(
            site.import()
                .args(["policy", "trust", &file, "bob.pub", "--role", "release"])
                .args(["--zone", "dev"]),
            &file,
            words,
            code,
        );
    }
}

#[test]
fn a_key_must_be_a_regular_file() {
    let inputs = Inputs::new();
    let site = &inputs.site;
    let release = site.path("release");
    for (file, words, code) in inputs.cases() {
        refused(
            site.export()
                .args(["sign", "b.zb", "--key", &file, "--out", "c.zb"]),
            &file,
            words,
            code,
        );
        refused(
            site.pack(&release, &[], "pci", "c.zb")
                .args(["--key", &file]),
            &file,
            words,
            code,
        );
        refused(
            site.import()
                .args(["policy", "trust", "pci.toml", &file, "--role", "release"])
                .args(["--zone", "dev"]),
            &file,
            words,
            code,
        );
    }
}

#[test]
fn secrets_and_mapping_files_must_be_regular_files() {
    let inputs = Inputs::new();
    for (file, words, code) in inputs.cases() {
        refused(
            inputs.import("b.zb", &["--secrets", &file]),
            &file,
            words,
            code,
        );
        refused(inputs.import("b.zb", &["--map", &file]), &file, words, code);
        refused(
            inputs.import("b.zb", &["--ca-file", &file]),
            &file,
            words,
            code,
        );
    }
}

#[test]
fn an_api_key_file_must_be_a_regular_file() {
    let inputs = Inputs::new();
    for (file, words, code) in inputs.cases() {
        let cmd = inputs
            .site
            .import()
            .args([
                "import",
                "b.zb",
                "--policy",
                "pci.toml",
                "--api-key-file",
                &file,
            ])
            .args([
                "--server",
                "http://127.0.0.1:9",
                "--ledger",
                "import.ledger",
            ]);
        refused(cmd, &file, words, code).stderr_has("cannot read the API key file");
    }
}

#[test]
fn a_public_key_given_as_key_names_the_private_one() {
    let inputs = Inputs::new();
    let site = &inputs.site;
    let release = site.path("release");
    for cmd in [
        site.export()
            .args(["sign", "b.zb", "--key", "bob.pub", "--out", "c.zb"]),
        site.pack(&release, &[], "pci", "c.zb")
            .args(["--key", "bob.pub"]),
    ] {
        let run = cmd.args(["--json"]).expect(3);
        run.stderr_has("bob.pub is a public key")
            .stderr_has("Hint: give the private key file bob.key");
        assert!(!run.stderr.contains("chmod"), "{}", run.stderr);
        assert_eq!(run.json()["error"]["code"], "key-invalid");
    }
    // A public key under another name: the private one is named beside it.
    std::fs::copy(site.path("bob.pub"), site.path("approver.pem")).unwrap_or_default();
    site.export()
        .args(["sign", "b.zb", "--key", "approver.pem", "--out", "c.zb"])
        .expect(3)
        .stderr_has("approver.pem is a public key")
        .stderr_has("approver.key");
    // And the reverse: a private key where a policy wants a public one, never printed.
    let run = site
        .import()
        .args([
            "policy", "trust", "pci.toml", "bob.key", "--role", "release",
        ])
        .args(["--zone", "dev"])
        .expect(3);
    run.stderr_has("bob.key is a private key")
        .stderr_has("give the public key file bob.pub");
    assert!(!run.stderr.contains("BEGIN"), "{}", run.stderr);
}

#[test]
fn a_policy_others_can_write_is_refused() -> TestResult {
    let inputs = Inputs::new();
    let site = &inputs.site;
    let policy = site.path("pci.toml");
    for mode in [0o664, 0o646, 0o666, 0o620, 0o602] {
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(mode))?;
        for cmd in [
            site.import()
                .args(["verify", "b.zb", "--policy", "pci.toml"]),
            site.import()
                .args(["unpack", "b.zb", "--policy", "pci.toml", "--to", "out"]),
            site.import()
                .args(["policy", "trust", "pci.toml", "bob.pub", "--role", "result"])
                .args(["--zone", "dev"]),
            inputs.import("b.zb", &["--dry-run"]),
        ] {
            let run = cmd.args(["--json"]).expect(3);
            run.stderr_has(&format!(
                "policy file pci.toml is writable by group or others (mode {mode:03o})"
            ))
            .stderr_has("Hint: run `chmod go-w pci.toml`");
            assert_eq!(run.json()["error"]["code"], "policy-permissions");
        }
    }
    for mode in [0o644, 0o600, 0o400, 0o640] {
        std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(mode))?;
        site.import()
            .args(["verify", "b.zb", "--policy", "pci.toml"])
            .ok();
    }
    Ok(())
}
