//! Every test vector of `tests/vectors/` (bundle spec section 11) through the real
//! `bridge-import verify FILE --policy P --now T --json`: the binary must reach the sidecar's
//! verdict, exit with the matching code (0 accepted, 1 refused) and print the sidecar's error
//! code, or for an accepted bundle its digest. The library runner
//! (`bundle-format/tests/vectors.rs`) checks the same files against `verify_bundle`; this one
//! proves that the command an operator runs gives the same verdicts, clock-dependent ones
//! included.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{Cmd, TestResult};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// One sidecar, read as plain TOML (the format is in tests/vectors/README.md).
struct Sidecar {
    error: Option<String>,
    policy: String,
    now: String,
    digest: Option<String>,
}

fn sidecar(path: &Path) -> Result<Sidecar, Box<dyn std::error::Error>> {
    let table: toml::Table = fs::read_to_string(path)?.parse()?;
    let text = |key: &str| table.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let expect = text("expect").ok_or("no `expect`")?;
    let error = text("error");
    if (expect == "refuse") != error.is_some() {
        return Err(format!(
            "{}: `error` must come with expect = \"refuse\"",
            path.display()
        )
        .into());
    }
    Ok(Sidecar {
        error,
        policy: text("policy").ok_or("no `policy`")?,
        now: table
            .get("now")
            .and_then(|v| v.as_datetime())
            .ok_or("no `now`")?
            .to_string(),
        digest: text("digest"),
    })
}

#[test]
fn every_vector_through_bridge_import_verify() -> TestResult {
    let dir = vectors_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.retain(|n| n.ends_with(".zb"));
    names.sort();
    let mut problems = Vec::new();
    for name in &names {
        let stem = name.trim_end_matches(".zb");
        let expected = sidecar(&dir.join(format!("{stem}.toml")))?;
        let run = Cmd::import(&dir)
            .args([
                "verify",
                name.as_str(),
                "--policy",
                &expected.policy,
                "--now",
                &expected.now,
            ])
            .args(["--json", "--quiet"])
            .run();
        let json: serde_json::Value = match serde_json::from_slice(&run.stdout) {
            Ok(json) => json,
            Err(err) => {
                problems.push(format!(
                    "{stem}: exit {}, stdout is not JSON ({err}): {}",
                    run.code, run.stderr
                ));
                continue;
            }
        };
        match &expected.error {
            Some(code) => {
                if run.code != 1 || json["error"]["code"] != code.as_str() {
                    problems.push(format!(
                        "{stem}: expected exit 1 and {code}, got exit {} and {}",
                        run.code, json["error"]["code"]
                    ));
                }
            }
            None => {
                if run.code != 0 || json["verdict"] != "trusted" {
                    problems.push(format!(
                        "{stem}: expected acceptance, got exit {}: {json}",
                        run.code
                    ));
                } else if let Some(digest) = &expected.digest
                    && json["bundle"]["digest"] != digest.as_str()
                {
                    problems.push(format!(
                        "{stem}: digest {} is not {digest}",
                        json["bundle"]["digest"]
                    ));
                }
            }
        }
    }
    assert!(
        names.len() >= 100,
        "only {} vectors found in {}",
        names.len(),
        dir.display()
    );
    assert!(
        problems.is_empty(),
        "{} of {} vectors:\n{}",
        problems.len(),
        names.len(),
        problems.join("\n")
    );
    Ok(())
}

/// `--now` is what makes the clock-dependent vectors reproducible: the same bundle is accepted
/// one second before its key's `not_after` and refused at it, and an unparsable `--now` is a
/// usage error, not a verdict.
#[test]
fn now_moves_the_verdict_on_key_validity_and_expiry() -> TestResult {
    let dir = vectors_dir();
    let verify = |file: &str, now: &str| {
        Cmd::import(&dir).args([
            "verify",
            file,
            "--policy",
            "policies/pci.toml",
            "--now",
            now,
            "--json",
            "--quiet",
        ])
    };
    let run = verify(
        "accept_key_valid_until_next_second.zb",
        "2026-02-28T23:59:59Z",
    )
    .ok();
    assert_eq!(run.json()["verdict"], "trusted");
    let run = verify(
        "accept_key_valid_until_next_second.zb",
        "2026-03-01T00:00:00Z",
    )
    .expect(1);
    assert_eq!(run.json()["error"]["code"], "key-expired");
    // binding_expired expired at 2026-06-01T12:00:00Z: valid the second before.
    verify("binding_expired.zb", "2026-06-01T11:59:59Z").ok();
    let run = verify("binding_expired.zb", "2026-06-01T12:00:00Z").expect(1);
    assert_eq!(run.json()["error"]["code"], "bundle-expired");
    // Offsets other than Z mean the same instant.
    let run = verify("binding_expired.zb", "2026-06-01T14:00:00+02:00").expect(1);
    assert_eq!(run.json()["error"]["code"], "bundle-expired");
    for bad in ["yesterday", "2026-06-01T12:00:00", "2026-06-01"] {
        verify("binding_expired.zb", bad)
            .expect(2)
            .stderr_has("RFC 3339");
    }
    Ok(())
}
