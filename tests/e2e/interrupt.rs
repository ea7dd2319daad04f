//! Outputs appear only on success (issue 10, point 8): SIGINT and SIGTERM in the middle of
//! `unpack`, `import`, `results`, `verify` and `pack` leave no staging folder and no temporary
//! file (exit 130 and 143); what a SIGKILL leaves is removed, with a note, by the next run that
//! writes to the same folder.
//!
//! Each command is started on an input the test controls (a bundle half-written to its
//! standard input, or a large sparse release file) and signalled once its temporary files
//! exist (polled, with a bound).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::harness::{Cmd, Site, TestResult};

/// Waits (at most a minute, so a broken command fails the test instead of hanging it) until
/// `ready` holds.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The temporary things (`.zonebridge-*`) in `dir`.
pub fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|listing| {
            listing
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with(".zonebridge-"))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Whether process `pid` catches signal `number` (Linux: the `SigCgt` mask in
/// `/proc/PID/status`), so that a signal sent right after the start is not taken by the
/// default action before `main` has set its handler.
fn catches(pid: u32, number: u32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (number - 1)) != 0)
}

/// Sends signal `name` (INT, TERM) to `child`, once it catches it.
pub fn signal(child: &Child, name: &str) {
    let number = if name == "INT" { 2 } else { 15 };
    wait_until("the command's signal handler", || {
        catches(child.id(), number)
    });
    let status = Command::new("kill")
        .args(["-s", name, &child.id().to_string()])
        .status();
    assert!(status.is_ok_and(|s| s.success()), "kill -s {name} failed");
}

/// Waits for `child`; its exit code (None if a signal ended it) and standard error.
pub fn finish(child: Child) -> (Option<i32>, String) {
    match child.wait_with_output() {
        Ok(output) => (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
        Err(e) => panic!("cannot wait for the command: {e}"),
    }
}

/// Bytes that zstd cannot shrink, so that half a bundle is half its payload.
pub fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// A site with key `alice`, policy `pci.toml` trusting her, and `bundle.zb` (4 MiB of noise in
/// a package); returns its bytes.
pub fn site_with_bundle() -> (Site, Vec<u8>) {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let release = site.release("release", &[("Noise.1.0.0.zip", &noise(4 << 20))]);
    site.pack(&release, &["alice"], "pci", "bundle.zb").ok();
    let bytes = fs::read(site.path("bundle.zb")).unwrap_or_default();
    assert!(bytes.len() > 4 << 20, "the bundle holds the noise");
    (site, bytes)
}

/// Starts `cmd` reading a bundle on standard input, writes its first half, and waits until a
/// staging folder in `dir` holds a payload file: the command is then mid-verification.
fn start_half_way(cmd: Cmd, bundle: &[u8], dir: &Path) -> (Child, std::process::ChildStdin) {
    let mut child = cmd.spawn();
    let Some(mut stdin) = child.stdin.take() else {
        panic!("no standard input pipe");
    };
    let half = bundle.get(..bundle.len() / 2).unwrap_or_default();
    let _ = stdin.write_all(half);
    let _ = stdin.flush();
    wait_until("a payload file in the staging folder", || {
        temporaries(dir)
            .iter()
            .any(|staging| fs::read_dir(staging).is_ok_and(|mut l| l.next().is_some()))
    });
    (child, stdin)
}

fn unpack(site: &Site, to: &str) -> Cmd {
    site.import()
        .args(["unpack", "-", "--policy", "pci.toml", "--to", to])
}

/// Waits for `child` and checks the `--json` error object it printed on being interrupted.
fn finish_json(child: Child, code: i32) -> (Option<i32>, String) {
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(e) => panic!("cannot wait for the command: {e}"),
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stderr}"));
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["error"]["code"], "interrupted", "{json}");
    assert_eq!(json["error"]["exit"], code, "{json}");
    (output.status.code(), stderr)
}

#[test]
fn sigint_and_sigterm_during_unpack_leave_no_staging_and_no_destination() -> TestResult {
    let (site, bundle) = site_with_bundle();
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let cmd = unpack(&site, "out").args(["--json"]);
        let (child, stdin) = start_half_way(cmd, &bundle, site.root());
        signal(&child, name);
        let (exit, stderr) = finish_json(child, code);
        drop(stdin);
        assert_eq!(exit, Some(code), "SIG{name}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted by SIG{name}")),
            "{stderr}"
        );
        assert!(stderr.contains("no output written"), "{stderr}");
        assert_eq!(temporaries(site.root()), Vec::<PathBuf>::new(), "SIG{name}");
        assert!(!site.path("out").exists(), "SIG{name}");
    }
    Ok(())
}

#[test]
fn sigint_and_sigterm_during_import_and_results_leave_no_staging() -> TestResult {
    let (site, bundle) = site_with_bundle();
    let tmp = site.path("tmp");
    fs::create_dir(&tmp)?;
    let tmp_str = tmp.to_str().ok_or("not UTF-8")?;
    let import = || {
        site.import()
            .args([
                "import",
                "-",
                "--policy",
                "pci.toml",
                "--ledger",
                "import.ledger",
            ])
            .args(["--server", "http://127.0.0.1:9"])
            .env("OCTOPUS_API_KEY", "API-UNUSED")
            .env("TMPDIR", tmp_str)
    };
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let (child, stdin) = start_half_way(import(), &bundle, &tmp);
        signal(&child, name);
        let (exit, stderr) = finish(child);
        drop(stdin);
        assert_eq!(exit, Some(code), "import, SIG{name}: {stderr}");
        assert_eq!(
            temporaries(&tmp),
            Vec::<PathBuf>::new(),
            "import, SIG{name}"
        );
    }

    // `results` and `verify`, waiting for their input: the empty staging folder goes too.
    site.export()
        .args(["policy", "init", "--zone", "dev", "--out", "dev.toml"])
        .ok();
    let results = || {
        site.export()
            .args(["results", "-", "--policy", "dev.toml", "--no-note"])
            .args(["--ledger", "export.ledger", "--log-out", "task.log"])
            .env("TMPDIR", tmp_str)
    };
    let verify = || {
        site.import()
            .args(["verify", "-", "--policy", "pci.toml"])
            .env("TMPDIR", tmp_str)
    };
    for (what, cmd, name, code) in [
        ("results", results(), "TERM", 143),
        ("results", results(), "INT", 130),
        ("verify", verify(), "INT", 130),
    ] {
        let mut child = cmd.spawn();
        // Held open until the command ended: an end of input would race the signal.
        let stdin = child.stdin.take();
        if what == "results" {
            wait_until("the staging folder", || !temporaries(&tmp).is_empty());
        }
        signal(&child, name);
        let (exit, stderr) = finish(child);
        drop(stdin);
        assert_eq!(exit, Some(code), "{what}, SIG{name}: {stderr}");
        assert_eq!(
            temporaries(&tmp),
            Vec::<PathBuf>::new(),
            "{what}, SIG{name}"
        );
        assert!(!site.path("task.log").exists(), "{what}");
    }
    Ok(())
}

/// A site whose release folder holds a 2 GiB sparse package: packing it takes long enough to
/// be interrupted, and costs no disk.
fn site_with_large_release() -> Result<(Site, PathBuf), Box<dyn std::error::Error>> {
    let site = Site::new();
    site.keygen("alice");
    let release = site.release("release", &[("Big.1.0.0.zip", b"")]);
    fs::File::options()
        .write(true)
        .open(release.join("packages/Big.1.0.0.zip"))?
        .set_len(2 << 30)?;
    fs::create_dir(site.path("out"))?;
    Ok((site, release))
}

#[test]
fn sigint_and_sigterm_during_pack_leave_no_temporary_file() -> TestResult {
    let (site, release) = site_with_large_release()?;
    let out = site.path("out");
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let child = site.pack(&release, &["alice"], "pci", "out/big.zb").spawn();
        wait_until("pack's temporary file", || !temporaries(&out).is_empty());
        signal(&child, name);
        let (exit, stderr) = finish(child);
        assert_eq!(exit, Some(code), "SIG{name}: {stderr}");
        assert_eq!(
            fs::read_dir(&out)?.count(),
            0,
            "SIG{name}: nothing left in out/"
        );
    }
    Ok(())
}

#[test]
fn what_a_sigkill_leaves_is_removed_by_the_next_run_in_the_same_folder() -> TestResult {
    // pack: the temporary bundle file.
    let (site, release) = site_with_large_release()?;
    let out = site.path("out");
    let mut child = site.pack(&release, &["alice"], "pci", "out/big.zb").spawn();
    wait_until("pack's temporary file", || !temporaries(&out).is_empty());
    let pid = child.id();
    let killed = child.kill();
    let _ = child.wait();
    killed?;
    let left = temporaries(&out);
    assert_eq!(left.len(), 1, "SIGKILL leaves the temporary file: {left:?}");
    let small = site.release("small", &[("A.1.0.0.zip", b"a")]);
    let run = site.pack(&small, &["alice"], "pci", "out/small.zb").ok();
    let name = left[0].file_name().ok_or("no name")?.to_string_lossy();
    run.stderr_has(&format!(
        "note: removed out/{name}, left by an interrupted run (process {pid})"
    ));
    assert_eq!(temporaries(&out), Vec::<PathBuf>::new());
    assert!(site.path("out/small.zb").is_file());

    // unpack: the staging folder, half full.
    let (site, bundle) = site_with_bundle();
    let (mut child, stdin) = start_half_way(unpack(&site, "out"), &bundle, site.root());
    let pid = child.id();
    let killed = child.kill();
    let _ = child.wait();
    killed?;
    drop(stdin);
    let left = temporaries(site.root());
    assert_eq!(left.len(), 1, "SIGKILL leaves the staging folder: {left:?}");
    let run = site
        .import()
        .args(["unpack", "bundle.zb", "--policy", "pci.toml", "--to", "out"])
        .ok();
    run.stderr_has(&format!("left by an interrupted run (process {pid})"));
    assert_eq!(temporaries(site.root()), Vec::<PathBuf>::new());
    assert!(site.path("out/packages/Noise.1.0.0.zip").is_file());
    Ok(())
}

#[test]
fn sigint_and_sigterm_during_sign_leave_no_temporary_file() -> TestResult {
    let (site, _) = site_with_bundle();
    site.keygen("bob");
    let out = site.path("signed");
    fs::create_dir(&out)?;
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = site
            .export()
            .args(["sign", "-", "--key", "bob.key", "--out", "signed/bundle.zb"])
            .spawn();
        let stdin = child.stdin.take();
        wait_until("sign's temporary file", || !temporaries(&out).is_empty());
        signal(&child, name);
        let (exit, stderr) = finish(child);
        drop(stdin);
        assert_eq!(exit, Some(code), "SIG{name}: {stderr}");
        assert_eq!(fs::read_dir(&out)?.count(), 0, "SIG{name}: nothing left");
    }
    Ok(())
}
