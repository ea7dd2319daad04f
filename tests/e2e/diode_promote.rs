//! The whole promotion over the diode: a release exported from the development stand-in is
//! sent over the emulated link (1% loss), received into the inbox that a running
//! `bridge-import watch --deploy ...` watches, which imports and deploys it on the secure
//! stand-in and writes the result bundle to its results outbox; the result goes home by file
//! (`bridge-export results`), and the development side's status shows the deployment.

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Diode, TestResult, sha256};
use crate::promote::{DEV_KEY, PCI_KEY};
use crate::results::Trip;

/// The first release bundle of channel dev->pci, under its outbox name.
const NAME: &str = "dev~pci~release~000000000001~payments-api-1.4.1.zb";

/// Kills the watch if the test ends before stopping it.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_release_promoted_over_the_diode_is_deployed_and_its_result_comes_home() -> TestResult {
    let trip = Trip::new();
    let zones = &trip.zones;
    let site = &zones.site;
    std::fs::create_dir_all(site.path("outbox"))?;
    zones
        .export("Payments API", "1.4.1", &format!("outbox/{NAME}"))
        .ok();
    let bundle = site.path(&format!("outbox/{NAME}"));
    let inbox = site.path("spool/inbox");
    let results = site.path("spool/results-outbox");
    std::fs::create_dir_all(&results)?;
    println!("seed 500, loss 1%");
    let mut diode = Diode::over(
        site.root(),
        "pci.toml",
        "signer.key",
        &inbox,
        &["--seed", "500", "--loss", "0.01"],
    )?;
    diode.expect_bundle(NAME, &bundle)?;

    // The secure side's watch runs beside the receiver; it reaches the secure stand-in on the
    // secure zone's own network (here: loopback), never the diode.
    let watch_log = site.path("watch.log");
    let watch = Command::new(test_support::binary("bridge-import")?)
        .current_dir(site.root())
        .args(["watch", "--inbox"])
        .arg(&inbox)
        .args(["--policy", "pci.toml", "--ledger", "import.ledger"])
        .args(["--server", zones.pci.url.as_str(), "--log", "json"])
        .args(["--rescan", "2s", "--retry", "1s", "--settle", "1s"])
        .args([
            "--deploy",
            "Payments API=PCI Staging",
            "--key",
            "result-signer.key",
        ])
        .args(["--results-outbox", "spool/results-outbox"])
        .args(["--map", "mapping.toml", "--secrets", "secrets.toml"])
        .args(["--deploy-timeout", "2m"])
        .env("OCTOPUS_API_KEY", PCI_KEY)
        .env_remove("ZONEBRIDGE_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&watch_log)?)
        .spawn()?;
    let mut watch = Guard(watch);

    diode.start_receiver(&[])?;
    diode.send(&[&bundle], &[])?;

    // The watch takes the delivered bundle in, deploys, and writes the result.
    let start = Instant::now();
    let result = loop {
        let found = std::fs::read_dir(&results)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "zb"));
        if let Some(found) = found {
            break found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no result bundle after 120 s\n--- receive\n{}\n--- watch\n{}",
            diode.logs(),
            std::fs::read_to_string(&watch_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    Command::new("kill")
        .args(["-TERM", &watch.0.id().to_string()])
        .status()?;
    assert_eq!(
        watch.0.wait()?.code(),
        Some(0),
        "the watch stops gracefully"
    );

    // What the diode delivered is what was exported, and the watch took it (done/).
    assert_eq!(sha256(&inbox.join("done").join(NAME))?, sha256(&bundle)?);
    diode.stop_receiver()?;
    assert_eq!(
        diode.link.tx_packets(test_support::netns::Side::Receiver)?,
        0
    );

    // The result goes home by file, and the development side shows the deployment.
    site.export()
        .args(["results"])
        .args([&result])
        .args(["--policy", "dev.toml", "--ledger", "export.ledger"])
        .args(["--server", zones.dev.url.as_str()])
        .env("OCTOPUS_API_KEY", DEV_KEY)
        .ok();
    let status = trip.status();
    let payments = status["promotions"]
        .as_array()
        .and_then(|all| all.iter().find(|p| p["project"] == "Payments API"))
        .cloned()
        .ok_or_else(|| format!("no Payments API promotion in {status}"))?;
    assert_eq!(payments["deployments"][0]["state"], "success", "{status}");
    let notes = trip.dev_notes("payments-api", "1.4.1");
    assert!(
        notes.contains("| pci | PCI Staging |  | success |"),
        "{notes}"
    );
    Ok(())
}
