//! Prompted variables on the secure side: `deploy` takes their values (`--prompted NAME=VALUE`,
//! `--prompted-file`), refuses a missing required one or a name the release does not prompt
//! for before anything starts, and the script sees the values (a sensitive one masked, and
//! never in the result bundle or the output).

use serde_json::{Value, json};

use crate::harness::{TestResult, write};
use crate::results::{Trip, decompressed};

const TOKEN: &str = "tok-4711-very-secret";

/// Release 1.5.0 of Payments API on the development side: release 1.4.1's packages, a
/// required prompted variable `Change.Ticket`, and a smoke test that prints it and
/// `Change.Token`; on the secure side, `Change.Token` is a sensitive prompted variable of its
/// own. Promoted (imported) to the secure side.
fn promoted(trip: &Trip) -> TestResult {
    let dev = &trip.zones.dev;
    let project = dev.get("/api/Spaces-1/projects/payments-api");
    let id = project["Id"].as_str().ok_or("no project id")?.to_owned();
    let process_path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{id}");
    let mut process = dev.get(&process_path);
    let steps = process["Steps"].as_array_mut().ok_or("no steps")?;
    steps.push(json!({"Name": "Record change", "Actions": [{
        "Name": "Record change", "ActionType": "Octopus.Script",
        "Properties": {
            "Octopus.Action.RunOnServer": "true",
            "Octopus.Action.Script.ScriptSource": "Inline",
            "Octopus.Action.Script.Syntax": "Bash",
            "Octopus.Action.Script.ScriptBody": "echo \"change ticket=#{Change.Ticket} token=#{Change.Token}\"",
        }
    }]}));
    dev.put(&process_path, &process);
    let variables_path = format!("/api/Spaces-1/variables/variableset-{id}");
    let mut variables = dev.get(&variables_path);
    variables["Variables"]
        .as_array_mut()
        .ok_or("no variables")?
        .push(json!({"Name": "Change.Ticket", "Value": "", "Prompt": {"Label": "Change ticket", "Description": "The approved change", "Required": true, "DisplaySettings": {}}}));
    dev.put(&variables_path, &variables);
    let earlier = dev.get(&format!("/api/Spaces-1/projects/{id}/releases/1.4.1"));
    let created = dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": id, "Version": "1.5.0", "ReleaseNotes": "Change-managed.", "SelectedPackages": earlier["SelectedPackages"]}),
    );
    assert_eq!(created["Version"], "1.5.0", "{created}");
    // The secure side's own sensitive prompted variable.
    let pci = &trip.zones.pci;
    let secure = pci.get("/api/Spaces-1/projects/payments-api");
    let path = format!(
        "/api/Spaces-1/variables/{}",
        secure["VariableSetId"].as_str().unwrap_or("")
    );
    let mut set = pci.get(&path);
    set["Variables"]
        .as_array_mut()
        .ok_or("no variables")?
        .push(json!({"Name": "Change.Token", "Value": null, "Type": "Sensitive", "IsSensitive": true, "Prompt": {"Label": "Change token", "Required": false}}));
    pci.put(&path, &set);
    trip.zones.export("Payments API", "1.5.0", "p.zb").ok();
    trip.zones.import("p.zb").ok();
    Ok(())
}

fn deployments(trip: &Trip) -> usize {
    trip.zones
        .pci
        .get("/api/Spaces-1/deployments/all")
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_missing_required_prompted_variable_or_an_unknown_name_is_refused_before_anything_starts()
-> TestResult {
    let trip = Trip::new();
    promoted(&trip)?;
    let refused = trip
        .deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args(["--prompted", &format!("Change.Token={TOKEN}")])
        .expect(1);
    assert_eq!(refused.json()["error"]["code"], "prompted-variable-missing");
    let message = refused.json()["error"]["message"].to_string();
    assert!(
        message.contains("Change.Ticket") && message.contains("Change ticket"),
        "{message}"
    );
    assert!(!message.contains(TOKEN));
    // A name the release does not prompt for (a typo), even with the required one given.
    let refused = trip
        .deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args([
            "--prompted",
            "Change.Ticket=CHG-1",
            "--prompted",
            "Change.Tiket=CHG-1",
        ])
        .expect(1);
    assert_eq!(refused.json()["error"]["code"], "prompted-variable-unknown");
    assert!(refused.stdout().contains("Change.Tiket"));
    // A plain variable is not a prompted one either.
    let refused = trip
        .deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args([
            "--prompted",
            "Change.Ticket=CHG-1",
            "--prompted",
            "Database.Name=x",
        ])
        .expect(1);
    assert_eq!(refused.json()["error"]["code"], "prompted-variable-unknown");
    // Nothing was started, no result written, and the ledger holds no deployment.
    assert_eq!(deployments(&trip), 0);
    assert!(!trip.zones.site.path("r.zb").exists());
    // The deployment still goes ahead afterwards.
    trip.deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args(["--prompted", "Change.Ticket=CHG-1"])
        .ok();
    assert_eq!(deployments(&trip), 1);
    Ok(())
}

#[test]
fn prompted_values_from_a_file_reach_the_script_and_the_sensitive_one_never_travels() -> TestResult
{
    let trip = Trip::new();
    promoted(&trip)?;
    let file = trip.zones.site.path("prompted.txt");
    write(
        &file,
        format!("# change 4711\nChange.Ticket=CHG-4711\n\nChange.Token={TOKEN}\n").as_bytes(),
    );
    // Readable by others: refused, naming the fix.
    set_mode(&file, 0o644);
    trip.deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args(["--prompted-file", "prompted.txt"])
        .expect(3)
        .stdout_has("chmod 600");
    set_mode(&file, 0o600);
    let run = trip
        .deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args(["--prompted-file", "prompted.txt"])
        .ok();
    assert_eq!(run.json()["state"], "success", "{}", run.stdout());
    assert!(!run.stdout().contains(TOKEN) && !run.stderr.contains(TOKEN));
    // The script saw both values; Octopus masked the sensitive one.
    let deployment: Value = trip.zones.pci.get("/api/Spaces-1/deployments/all")[0].clone();
    assert!(!deployment.to_string().contains(TOKEN), "{deployment}");
    let task = deployment["TaskId"].as_str().unwrap_or("");
    let log = raw_log(&trip, task);
    assert!(
        log.contains("change ticket=CHG-4711 token=********"),
        "{log}"
    );
    // Neither the result bundle nor the ledger carries the sensitive value.
    let result = decompressed(&trip.zones.site.path("r.zb"));
    assert!(!result.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    assert!(result.windows(8).any(|w| w == b"CHG-4711"));
    for ledger in ["import.ledger", "import.ledger-wal"] {
        let bytes = std::fs::read(trip.zones.site.path(ledger)).unwrap_or_default();
        assert!(!bytes.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    }
    Ok(())
}

#[test]
fn a_bad_prompted_file_line_is_refused_naming_the_line_and_not_the_value() -> TestResult {
    let trip = Trip::new();
    promoted(&trip)?;
    let file = trip.zones.site.path("prompted.txt");
    write(&file, format!("Change.Ticket=CHG-1\n{TOKEN}\n").as_bytes());
    set_mode(&file, 0o600);
    let run = trip
        .deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args(["--prompted-file", "prompted.txt"])
        .expect(3);
    assert!(
        run.stdout().contains("line 2 is not NAME=VALUE"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains(TOKEN) && !run.stderr.contains(TOKEN));
    // The same name twice, once on the command line and once in the file: a usage error.
    write(&file, b"Change.Ticket=CHG-1\n");
    trip.deploy("Payments API", "1.5.0", "PCI Staging", "r.zb")
        .args([
            "--prompted-file",
            "prompted.txt",
            "--prompted",
            "change.ticket=CHG-2",
        ])
        .expect(2);
    assert_eq!(deployments(&trip), 0);
    Ok(())
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

fn raw_log(trip: &Trip, task: &str) -> String {
    let output = std::process::Command::new("curl")
        .args([
            "-sS",
            "-H",
            &format!("X-Octopus-ApiKey: {}", trip.zones.pci.key),
        ])
        .arg(format!("{}/api/tasks/{task}/raw", trip.zones.pci.url))
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    String::from_utf8_lossy(&output).into_owned()
}
