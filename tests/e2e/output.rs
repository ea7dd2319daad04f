//! What the binaries print: JSON that parses, the NOT VERIFIED banner, exit code 2 for usage
//! errors, exit codes in `--help`, silence with `--quiet`.

use crate::harness::{Cmd, Site, TestResult};

fn packed_site() -> Site {
    let site = Site::new();
    site.keygen("alice");
    site.policy("pci.toml", "pci", &["alice"], 1);
    let release = site.release("release", &[("a.zip", b"json")]);
    site.pack(&release, &["alice"], "pci", "b.zb").ok();
    site
}

#[test]
fn json_output_parses() -> TestResult {
    let site = packed_site();
    let release = site.path("release");
    let pack = site
        .pack(&release, &["alice"], "pci", "c.zb")
        .args(["--json"])
        .ok()
        .json();
    assert_eq!(pack["ok"], true);
    assert!(pack["size"].as_u64().is_some_and(|s| s > 0));
    assert_eq!(pack["bundle"]["digest"].as_str().map(str::len), Some(64));
    assert_eq!(pack["bundle"]["entries"].as_array().map(Vec::len), Some(3));

    let verify = site
        .import()
        .args(["--json", "verify", "c.zb", "--policy", "pci.toml"])
        .ok()
        .json();
    assert_eq!(verify["verdict"], "trusted");
    assert_eq!(verify["bundle"]["sequence"], 1);
    assert_eq!(verify["bundle"]["channel"], "dev->pci/release");
    assert_eq!(verify["bundle"]["digest"], pack["bundle"]["digest"]);

    for cmd in [site.export(), site.import()] {
        let inspect = cmd.args(["inspect", "c.zb", "--json"]).ok().json();
        assert_eq!(inspect["verified"], false);
        assert_eq!(inspect["bundle"]["kind"], "release");
        assert_eq!(
            inspect["bundle"]["release"]["secrets"][0]["name"],
            "Db.Password"
        );
        assert_eq!(inspect["signers"], verify["signers"]);
    }
    Ok(())
}

#[test]
fn inspect_says_it_did_not_verify() {
    let site = packed_site();
    for cmd in [site.export(), site.import()] {
        let run = cmd.args(["inspect", "b.zb"]).ok();
        assert!(
            run.stdout()
                .starts_with("NOT VERIFIED: shows what the bundle claims"),
            "{}",
            run.stdout()
        );
        run.stdout_has("packages/a.zip")
            .stdout_has("dev->pci/release");
    }
}

#[test]
fn usage_errors_exit_2() {
    let site = packed_site();
    site.export()
        .args(["pack"])
        .expect(2)
        .stderr_has("required");
    site.import()
        .args(["verify", "b.zb"])
        .expect(2)
        .stderr_has("--policy");
    site.import().args(["frobnicate"]).expect(2);
    let release = site.path("release");
    let run = site
        .pack(&release, &["alice"], "pci", "d.zb")
        .args(["--sequence", "2", "--json"])
        .expect(2);
    run.stderr_has("needs --previous");
    assert_eq!(run.json()["error"]["code"], "usage");
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = Site::new();
    for cmd in [Cmd::export(dir.root()), Cmd::import(dir.root())] {
        cmd.args(["--help"])
            .ok()
            .stdout_has("Exit codes:")
            .stdout_has("3  configuration refused");
    }
}

#[test]
fn quiet_prints_nothing_on_success() {
    let site = packed_site();
    let run = site
        .import()
        .args(["verify", "b.zb", "--policy", "pci.toml", "--quiet"])
        .ok();
    assert!(run.stdout.is_empty() && run.stderr.is_empty(), "{run:?}");
}

#[test]
fn a_missing_file_is_an_io_failure() {
    let site = packed_site();
    let run = site
        .import()
        .args(["verify", "missing.zb", "--policy", "pci.toml", "--json"])
        .expect(4);
    run.stderr_has("missing.zb");
    assert_eq!(run.json()["error"]["code"], "not-found");
}
