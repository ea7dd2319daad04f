//! `ledger verify` on both binaries: an intact chain, a chain changed underneath, and the files
//! that are not ledgers. The ledgers are written with the `ledger` library, as the commands that
//! record bundles will write them, and changed with plain SQL, as an intruder would.

use std::path::Path;

use ::ledger::Ledger;
use serde_json::json;

use crate::harness::{Site, TestResult, read_text, write};

/// Writes a ledger at `path` with three audit entries and returns the head hash.
fn three_entries(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let mut ledger = Ledger::open(path)?;
    for n in 1..=3 {
        ledger.append_audit("test.entry", &json!({ "n": n }))?;
    }
    let head = ledger.verify()?.head.unwrap_or_default();
    Ok(head)
}

/// Changes entry 2's detail with plain SQL, dropping the append-only guard first.
fn tamper(path: &Path) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "DROP TRIGGER audit_append_only_update;
         UPDATE audit SET detail = '{\"n\":20}' WHERE id = 2;",
    )
}

#[test]
fn an_intact_chain_is_reported_with_its_head() -> TestResult {
    let site = Site::new();
    let head = three_entries(&site.path("import.ledger"))?;
    let run = site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .ok();
    assert_eq!(
        run.stdout(),
        format!(
            "ledger import.ledger: 3 audit entries, chain intact, tables match the audit trail\n\
             head:        {head}\n\
             anchor:      3:{head}  (keep it elsewhere; give it back with --anchor)\n"
        )
    );
    let json = site
        .export()
        .args(["ledger", "verify", "--ledger", "import.ledger", "--json"])
        .ok()
        .json();
    assert_eq!(
        json,
        json!({
            "ok": true,
            "ledger": "import.ledger",
            "entries": 3,
            "head": head,
            "anchor": format!("3:{head}"),
            "chain": "intact",
            "tables": "match the audit trail",
            "anchors": [],
        })
    );
    Ok(())
}

#[test]
fn a_changed_entry_exits_1_naming_it() -> TestResult {
    let site = Site::new();
    let path = site.path("import.ledger");
    three_entries(&path)?;
    tamper(&path)?;
    let run = site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .expect(1);
    assert_eq!(run.stdout(), "");
    assert_eq!(
        run.stderr,
        "error: the ledger import.ledger does not verify: the audit trail is broken at entry 2: \
         its hash does not match its contents: the entry was changed or moved after it was written\n\
         Hint: the ledger was changed outside Zonebridge; keep a copy of the file for investigation \
         and compare it with a backup\n"
    );
    let json = site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger", "--json"])
        .expect(1)
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["code"], "ledger-chain-broken");
    assert_eq!(json["error"]["exit"], 1);
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("broken at entry 2"), "{message}");
    Ok(())
}

#[test]
fn the_default_ledger_follows_the_environment() -> TestResult {
    let site = Site::new();
    let state = site.path("state");
    let state = state.to_string_lossy();
    // No ledger yet: the default path is named, and nothing is created.
    site.export()
        .args(["ledger", "verify"])
        .env("ZONEBRIDGE_LEDGER", "")
        .env("XDG_STATE_HOME", &state)
        .expect(4)
        .stderr_has(&format!(
            "there is no ledger at {state}/zonebridge/export.ledger"
        ));
    assert!(!site.path("state").exists());
    three_entries(&site.path("state/zonebridge/export.ledger"))?;
    site.export()
        .args(["ledger", "verify"])
        .env("ZONEBRIDGE_LEDGER", "")
        .env("XDG_STATE_HOME", &state)
        .ok()
        .stdout_has("3 audit entries, chain intact");
    // The import side's ledger is another file; ZONEBRIDGE_LEDGER names one directly.
    site.import()
        .args(["ledger", "verify"])
        .env("ZONEBRIDGE_LEDGER", "")
        .env("XDG_STATE_HOME", &state)
        .expect(4)
        .stderr_has("zonebridge/import.ledger");
    site.import()
        .args(["ledger", "verify"])
        .env("ZONEBRIDGE_LEDGER", "state/zonebridge/export.ledger")
        .ok()
        .stdout_has("ledger state/zonebridge/export.ledger: 3 audit entries, chain intact");
    Ok(())
}

#[test]
fn a_file_that_is_not_a_ledger_is_a_configuration_error() {
    let site = Site::new();
    write(&site.path("notes.txt"), b"release notes, not a ledger\n");
    let run = site
        .import()
        .args(["ledger", "verify", "--ledger", "notes.txt", "--json"])
        .expect(3);
    run.stderr_has("notes.txt is not a SQLite database")
        .stderr_has("Hint: ");
    assert_eq!(run.json()["error"]["code"], "ledger-invalid");
    assert_eq!(
        read_text(&site.path("notes.txt")),
        "release notes, not a ledger\n"
    );
}

/// The secure side's ledger after a promotion: its import recorded, and its head.
fn promoted() -> Result<(crate::promote::Zones, String), Box<dyn std::error::Error>> {
    let zones = crate::promote::Zones::new();
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.import("first.zb").ok();
    let anchor = zones
        .site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger", "--json"])
        .ok()
        .json()["anchor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((zones, anchor))
}

fn verify_with(zones: &crate::promote::Zones, extra: &[&str]) -> crate::harness::Cmd {
    zones
        .site
        .import()
        .args(["ledger", "verify", "--ledger", "import.ledger"])
        .args(extra)
}

/// Runs `sql` on the file as someone with write access would (the append-only guards dropped).
fn edit(path: &Path, sql: &str) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_append_only_update;
         DROP TRIGGER IF EXISTS audit_append_only_delete;",
    )?;
    conn.execute_batch(sql)
}

#[test]
fn hand_edits_of_the_replay_tables_fail_verify_naming_the_table() -> TestResult {
    let cases = [
        (
            "DELETE FROM channels",
            "table channels disagrees with the audit trail: audit entry",
        ),
        (
            "UPDATE channels SET sequence = 7",
            "re-opens the replay window",
        ),
        (
            "DELETE FROM bundles WHERE verdict = 'accepted'",
            "table bundles disagrees with the audit trail",
        ),
        (
            "UPDATE promotions SET state = 'succeeded'",
            "state \"succeeded\" (audit trail: \"imported\")",
        ),
    ];
    for (sql, says) in cases {
        let (zones, anchor) = promoted()?;
        verify_with(&zones, &["--anchor", &anchor]).ok();
        edit(&zones.site.path("import.ledger"), sql)?;
        let run = verify_with(&zones, &[]).expect(1);
        run.stderr_has("error: the ledger import.ledger does not verify: ")
            .stderr_has(says)
            .stderr_has("Hint: the table was changed outside Zonebridge");
        let json = verify_with(&zones, &["--json"]).expect(1).json();
        assert_eq!(json["error"]["code"], "ledger-state-mismatch", "{sql}");
    }
    Ok(())
}

#[test]
fn a_cut_tail_or_a_restored_backup_fails_against_an_anchored_head() -> TestResult {
    let (zones, anchor) = promoted()?;
    let path = zones.site.path("import.ledger");
    // A backup taken now, and more work recorded after it.
    let backup = zones.site.path("backup.ledger");
    rusqlite::Connection::open(&path)?.execute("VACUUM INTO ?1", [backup.to_string_lossy()])?;
    zones.export("Fraud Rules", "3.13.0", "second.zb").ok();
    zones.import("second.zb").ok();
    let later = verify_with(&zones, &["--json"]).ok().json()["anchor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    verify_with(&zones, &["--anchor", &anchor, "--anchor", &later])
        .ok()
        .stdout_has(&format!("anchored:    {anchor}: still in the chain"));
    // The backup put back: consistent on its own, but behind the later head.
    std::fs::copy(&backup, &path)?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(zones.site.path(&format!("import.ledger{suffix}")));
    }
    verify_with(&zones, &["--anchor", &anchor]).ok();
    let run = verify_with(&zones, &["--anchor", &later]).expect(1);
    run.stderr_has("the ledger's head went backwards")
        .stderr_has(
            "entries were removed from the end, or the ledger was restored from an older backup",
        );
    let json = verify_with(&zones, &["--anchor", &later, "--json"])
        .expect(1)
        .json();
    assert_eq!(json["error"]["code"], "ledger-head-behind");
    // A malformed anchor is a usage error.
    verify_with(&zones, &["--anchor", "12"])
        .expect(2)
        .stderr_has("ENTRIES:HASH");
    Ok(())
}

#[test]
fn a_secure_head_that_went_backwards_is_reported_by_status_and_verify() -> TestResult {
    use bundle_format::manifest::LedgerHead;
    use bundle_format::names::{Digest, ZoneId};
    let site = Site::new();
    let pci = ZoneId::new("pci")?;
    let head = |entries: u64| LedgerHead {
        entries,
        hash: Digest::of(format!("pci entry {entries}").as_bytes()),
    };
    {
        let mut ledger = Ledger::open(site.path("export.ledger"))?;
        ledger.record_peer_head(&pci, &head(40), Digest::of(b"result 1"))?;
        ledger.record_peer_head(&pci, &head(52), Digest::of(b"result 2"))?;
    }
    let status = site
        .export()
        .args(["status", "--ledger", "export.ledger", "--json"])
        .ok()
        .json();
    assert_eq!(status["heads"][0]["head"], head(52).to_string());
    assert_eq!(
        status["heads"][0]["went_backwards"],
        serde_json::Value::Null
    );
    let verified = site
        .export()
        .args(["ledger", "verify", "--ledger", "export.ledger", "--json"])
        .ok()
        .json();
    assert_eq!(verified.get("peer_head_went_backwards"), None);

    // The secure ledger restored from a backup: the next result carries a shorter head.
    Ledger::open(site.path("export.ledger"))?.record_peer_head(
        &pci,
        &head(45),
        Digest::of(b"result 3"),
    )?;
    let status = site
        .export()
        .args(["status", "--ledger", "export.ledger", "--json"])
        .ok()
        .json();
    let back = &status["heads"][0]["went_backwards"];
    assert_eq!(back["from"], head(52).to_string());
    assert_eq!(back["to"], head(45).to_string());
    assert_eq!(back["bundle"], Digest::of(b"result 3").to_hex());
    site.export()
        .args(["status", "--ledger", "export.ledger"])
        .ok()
        .stdout_has(&format!(
            "  WENT BACKWARDS from {} to {} (result bundle {}): the pci ledger was cut or restored from a backup",
            head(52),
            head(45),
            Digest::of(b"result 3").to_hex()
        ));
    let verified = site
        .export()
        .args(["ledger", "verify", "--ledger", "export.ledger"])
        .ok();
    verified.stdout_has("WARNING:").stdout_has(&format!(
        "the pci ledger's head went backwards from {} to {}",
        head(52),
        head(45)
    ));
    Ok(())
}

#[test]
fn a_replay_window_reopened_by_hand_is_refused_before_octopus_is_touched() -> TestResult {
    let zones = crate::promote::Zones::new();
    zones.export("Fraud Rules", "3.12.1", "first.zb").ok();
    zones.export("Fraud Rules", "3.13.0", "second.zb").ok();
    zones.import("first.zb").ok();
    zones.import("second.zb").ok();
    let ledger = Ledger::open_existing(zones.site.path("import.ledger"))?;
    let first = ledger
        .bundles(None, Some(::ledger::Verdict::Accepted), None)?
        .into_iter()
        .find(|b| b.sequence == 1)
        .ok_or("bundle 1 accepted")?;
    drop(ledger);
    // Bundle 2 forgotten and the channel put back to bundle 1: bundle 2 would import again.
    edit(
        &zones.site.path("import.ledger"),
        &format!(
            "DELETE FROM bundles WHERE sequence = 2 AND verdict = 'accepted';
             UPDATE channels SET sequence = 1, digest = '{}';",
            first.digest.to_hex()
        ),
    )?;
    let before = zones.secure_state();
    let run = zones.import("second.zb").expect(1);
    run.stderr_has(
        "table channels disagrees with the audit trail: channel dev->pci/release is at bundle 1",
    )
    .stderr_has("refusing to move it");
    let json = zones.import("second.zb").args(["--json"]).expect(1).json();
    assert_eq!(json["error"]["code"], "ledger-state-mismatch", "{json}");
    assert_eq!(zones.secure_state(), before, "the instance was touched");
    verify_with(&zones, &[]).expect(1);
    Ok(())
}
