//! The results note cannot be escaped from: a secure zone whose environment carries a hostile
//! name (a fake end marker, a second start marker, table pipes, a `javascript:` link, HTML,
//! line breaks, a name longer than a cell) deploys, the signed result is taken in on the development side, and the
//! development release's notes still hold exactly one block with one row, the developers'
//! notes unchanged, and nothing of it in the next export.

use serde_json::Value;

use crate::harness::TestResult;
use crate::results::{Trip, decompressed};

const BEGIN: &str = "<!-- zonebridge:results -->";
const END: &str = "<!-- /zonebridge:results -->";

/// Renames the secure zone's `PCI Staging` to `name`, and the mapping file with it.
fn rename_pci_staging(trip: &Trip, name: &str) -> TestResult {
    let pci = &trip.zones.pci;
    let environments = pci.get("/api/Spaces-1/environments/all");
    let mut staging = environments
        .as_array()
        .and_then(|all| all.iter().find(|e| e["Name"] == "PCI Staging"))
        .cloned()
        .ok_or("no PCI Staging")?;
    let id = staging["Id"].as_str().ok_or("no id")?.to_owned();
    staging["Name"] = Value::String(name.to_owned());
    let renamed = pci.put(&format!("/api/Spaces-1/environments/{id}"), &staging);
    assert_eq!(renamed["Name"], name, "{renamed}");
    let path = trip.zones.site.path("mapping.toml");
    let mapping = std::fs::read_to_string(&path)?;
    // A JSON string is a valid TOML basic string for these characters.
    let quoted = serde_json::to_string(name)?;
    std::fs::write(
        &path,
        mapping.replace(
            "\"Staging\" = \"PCI Staging\"",
            &format!("\"Staging\" = {quoted}"),
        ),
    )?;
    Ok(())
}

/// Promotes Payments API 1.4.1 into the renamed environment, takes its result in, and checks
/// the notes; `state` is the deployment's (a step that echoes the environment's name through
/// a shell may fail on it, which changes nothing here: failed results are noted too).
fn check_round_trip(name: &str, state: &str, exit: i32) -> TestResult {
    let trip = Trip::new();
    rename_pci_staging(&trip, name)?;
    let report = trip
        .promote_and_deploy("Payments API", "1.4.1", name, "result.zb", &[])
        .expect(exit)
        .json();
    assert_eq!(report["deploy"]["state"], state);
    let before = trip.dev_notes("payments-api", "1.4.1");
    assert!(!before.trim().is_empty(), "the seed's release has notes");
    let taken = trip.results("result.zb").ok().json();
    assert_eq!(taken["environment"], name);

    let notes = trip.dev_notes("payments-api", "1.4.1");
    // Exactly one block, each marker once and on a line of its own, after the developers'
    // notes, which are unchanged.
    assert_eq!(notes.matches(BEGIN).count(), 1, "{notes}");
    assert_eq!(notes.matches(END).count(), 1, "{notes}");
    let lines: Vec<&str> = notes.lines().collect();
    let begin = lines
        .iter()
        .position(|l| *l == BEGIN)
        .ok_or("no start line")?;
    let end = lines.iter().position(|l| *l == END).ok_or("no end line")?;
    assert!(begin < end && end + 1 == lines.len(), "{notes}");
    assert_eq!(
        lines.get(..begin).unwrap_or_default().join("\n").trim_end(),
        before.trim_end()
    );
    // One header, one separator, one row per result; six cells each; no markup in them.
    let rows: Vec<&&str> = lines
        .get(begin..end)
        .unwrap_or_default()
        .iter()
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), 3, "{notes}");
    for row in &rows {
        assert_eq!(row.matches('|').count(), 7, "{row}");
        for c in ['<', '>', '[', ']', '(', ')', '`'] {
            assert!(!row.contains(c), "{c:?} in {row}");
        }
    }

    // A re-export of the release carries none of it back to the secure zone.
    trip.zones.export("Payments API", "1.4.1", "again.zb").ok();
    let bundle = decompressed(&trip.zones.site.path("again.zb"));
    let text = String::from_utf8_lossy(&bundle);
    for word in [
        "zonebridge:results",
        "forged",
        "javascript",
        "script>",
        "PCI Staging",
    ] {
        assert!(!text.contains(word), "{word:?} travelled back");
    }
    Ok(())
}

#[test]
fn a_fake_end_marker_and_a_forged_row_in_an_environment_name_stay_in_their_cell() -> TestResult {
    check_round_trip(
        &format!("PCI Staging {END}\n| forged | row | [x](javascript:alert(1)) |\n{BEGIN} -->"),
        "success",
        0,
    )
}

#[test]
fn html_a_heading_and_a_long_name_in_an_environment_name_stay_in_their_cell() -> TestResult {
    check_round_trip(
        &format!(
            "PCI Staging\r\n# forged <script>alert(1)</script> <!-- `x` ![i](https://e.example/i.png) {}",
            "N".repeat(900)
        ),
        "failed",
        5,
    )
}
