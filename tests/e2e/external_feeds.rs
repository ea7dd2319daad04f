//! External feeds end to end: a release whose Kubernetes step deploys a Docker image and a Helm
//! chart from external feeds is exported as references (`external-packages.json`, no artifact,
//! no development-zone id) and imported when the secure zone's feeds of the same names (or of
//! the mapping file's `[feeds]` renames) list the versions; otherwise refused with every
//! missing artifact named and nothing written. A feed given as a variable expression travels
//! as written.

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::TestResult;
use crate::promote::Zones;
use crate::standins::Standin;

const PROJECT: &str = "Cluster Web";

/// The id of the resource named `name` in `collection` (`projectgroups`, `lifecycles`, ...).
fn id_of(zone: &Standin, collection: &str, name: &str) -> String {
    zone.get(&format!("/api/Spaces-1/{collection}/all"))
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["Name"] == name)
        .and_then(|r| r["Id"].as_str())
        .unwrap_or_else(|| panic!("no {collection} named {name}"))
        .to_owned()
}

/// Creates a feed with the versions its registry "holds"; returns its id.
fn feed(zone: &Standin, name: &str, feed_type: &str, packages: Value) -> String {
    let created = zone.post(
        "/api/Spaces-1/feeds",
        &json!({"Name": name, "FeedType": feed_type, "FeedUri": format!("https://{}.example.test", feed_type.to_lowercase()),
            "StandinPackages": packages}),
    );
    created["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("cannot create feed {name}: {created}"))
        .to_owned()
}

/// Creates `Cluster Web` in a zone (group Payments Core, lifecycle `lifecycle`); returns its id.
fn project(zone: &Standin, lifecycle: &str) -> String {
    let created = zone.post(
        "/api/Spaces-1/projects",
        &json!({"Name": PROJECT, "ProjectGroupId": id_of(zone, "projectgroups", "Payments Core"),
            "LifecycleId": id_of(zone, "lifecycles", lifecycle)}),
    );
    created["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("cannot create {PROJECT}: {created}"))
        .to_owned()
}

/// The development zone: feeds Docker Hub and Charts, `Cluster Web` deploying
/// `payments/api` 1.25.3 (Docker) and chart `payments` 2.1.0 (Helm), optionally with a third
/// package whose feed is the expression `#{Kubernetes.Feed}`; release 1.0.0. Returns the ids
/// of the development zone's feeds.
fn dev_release(zones: &Zones, with_expression: bool) -> Vec<String> {
    let dev = &zones.dev;
    let docker = feed(
        dev,
        "Docker Hub",
        "Docker",
        json!({"payments/api": ["1.25.3"], "payments/worker": ["3.0.1"]}),
    );
    let helm = feed(dev, "Charts", "Helm", json!({"payments": ["2.1.0"]}));
    let project = project(dev, "Dev to Staging");
    let mut packages = vec![
        json!({"Name": "api", "PackageId": "payments/api", "FeedId": docker, "AcquisitionLocation": "NotAcquired", "Properties": {"Extract": "False"}}),
        json!({"Name": "chart", "PackageId": "payments", "FeedId": helm, "AcquisitionLocation": "Server"}),
    ];
    let mut selected = vec![
        json!({"ActionName": "Deploy to cluster", "PackageReferenceName": "api", "Version": "1.25.3"}),
        json!({"ActionName": "Deploy to cluster", "PackageReferenceName": "chart", "Version": "2.1.0"}),
    ];
    if with_expression {
        packages.push(json!({"Name": "worker", "PackageId": "payments/worker", "FeedId": "#{Kubernetes.Feed}", "AcquisitionLocation": "NotAcquired"}));
        selected.push(json!({"ActionName": "Deploy to cluster", "PackageReferenceName": "worker", "Version": "3.0.1"}));
    }
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let mut process = dev.get(&path);
    process["Steps"] = json!([{"Name": "Deploy to cluster", "Actions": [{
        "Name": "Deploy to cluster", "ActionType": "Octopus.KubernetesDeployContainers",
        "Packages": packages,
        "Properties": {"Octopus.Action.KubernetesContainers.DeploymentName": "payments-api"}}]}]);
    let written = dev.put(&path, &process);
    assert!(written["Steps"].is_array(), "{written}");
    let release = dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.0.0", "SelectedPackages": selected}),
    );
    assert_eq!(release["Version"], "1.0.0", "{release}");
    vec![docker, helm]
}

/// The secure zone's `Cluster Web` (lifecycle PCI Release).
fn secure_project(zones: &Zones) -> String {
    project(&zones.pci, "PCI Release")
}

fn export(zones: &Zones) {
    zones
        .export(PROJECT, "1.0.0", "cluster.zb")
        .args(["--keep-folder", "folder"])
        .ok()
        .stdout_has("packed");
}

fn secure_release(zones: &Zones, project: &str) -> Value {
    zones
        .pci
        .get(&format!("/api/Spaces-1/projects/{project}/releases/1.0.0"))
}

/// Every `Feeds-N` in `text`.
fn feed_ids(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("Feeds-") {
        let tail = rest.get(at + 6..).unwrap_or("");
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            found.push(format!("Feeds-{digits}"));
        }
        rest = tail;
    }
    found
}

#[test]
fn a_docker_image_and_a_helm_chart_cross_as_references_when_the_secure_feeds_have_them()
-> TestResult {
    let zones = Zones::new();
    let dev_feeds = dev_release(&zones, false);
    let pci = &zones.pci;
    let docker = feed(
        pci,
        "Docker Hub",
        "Docker",
        json!({"payments/api": ["1.25.2", "1.25.3"]}),
    );
    let helm = feed(pci, "Charts", "Helm", json!({"payments": ["2.1.0"]}));
    let project = secure_project(&zones);
    export(&zones);
    // The references, and no artifact: the bundle carries no package file.
    let document: Value = serde_json::from_str(&std::fs::read_to_string(
        zones.site.path("folder/external-packages.json"),
    )?)?;
    assert_eq!(
        document,
        json!({"Packages": [
            {"Action": "Deploy to cluster", "PackageReference": "api", "Feed": "Docker Hub", "FeedType": "Docker",
             "PackageId": "payments/api", "Version": "1.25.3", "Digest": null},
            {"Action": "Deploy to cluster", "PackageReference": "chart", "Feed": "Charts", "FeedType": "Helm",
             "PackageId": "payments", "Version": "2.1.0", "Digest": null}
        ]})
    );
    let toml = std::fs::read_to_string(zones.site.path("folder/release.toml"))?;
    assert!(toml.contains("\"external-packages.json\"]"), "{toml}");
    assert!(toml.contains("packages = []"), "{toml}");
    // No development-zone feed id anywhere in the decompressed bundle.
    let decompressed = Command::new("zstd")
        .args(["-dc", "-q"])
        .arg(zones.site.path("cluster.zb"))
        .output()?;
    assert!(decompressed.status.success(), "zstd cannot read the bundle");
    let text = String::from_utf8_lossy(&decompressed.stdout);
    assert!(text.contains("payments/api"), "not the bundle's content");
    for id in &dev_feeds {
        assert!(
            !feed_ids(&text).contains(id),
            "the bundle carries the development zone's {id}"
        );
    }
    let imported = zones.import("cluster.zb").args(["--json"]).ok().json();
    assert_eq!(imported["outcome"], "imported", "{imported}");
    let steps = imported["plan"]["steps"].as_array().ok_or("no plan")?;
    let external: Vec<&Value> = steps.iter().filter(|s| s["step"] == "external").collect();
    assert_eq!(external.len(), 2, "{steps:?}");
    assert_eq!(external[0]["subject"], "payments/api 1.25.3");
    assert_eq!(external[0]["action"], "keep");
    // The secure release selects those versions, from the secure zone's own feeds.
    let release = secure_release(&zones, &project);
    assert_eq!(
        release["SelectedPackages"],
        json!([
            {"StepName": "Deploy to cluster", "ActionName": "Deploy to cluster", "PackageReferenceName": "api", "Version": "1.25.3"},
            {"StepName": "Deploy to cluster", "ActionName": "Deploy to cluster", "PackageReferenceName": "chart", "Version": "2.1.0"}
        ])
    );
    let process = pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
    ));
    let packages = &process["Steps"][0]["Actions"][0]["Packages"];
    assert_eq!(packages[0]["FeedId"], docker.as_str());
    assert_eq!(packages[1]["FeedId"], helm.as_str());
    // Unknown fields of a package reference cross unchanged.
    assert_eq!(packages[0]["Properties"], json!({"Extract": "False"}));
    // The same bundle again is a no-op.
    let again = zones.import("cluster.zb").args(["--json"]).ok().json();
    assert_eq!(again["outcome"], "already-imported");
    Ok(())
}

#[test]
fn missing_versions_on_the_secure_feeds_are_refused_all_at_once_and_nothing_is_written()
-> TestResult {
    let zones = Zones::new();
    dev_release(&zones, false);
    let pci = &zones.pci;
    // The registries hold other versions only (a tag mirrored too late).
    feed(
        pci,
        "Docker Hub",
        "Docker",
        json!({"payments/api": ["1.25.2", "1.25.30"]}),
    );
    feed(pci, "Charts", "Helm", json!({"payments": ["2.0.9"]}));
    secure_project(&zones);
    export(&zones);
    let before = zones.secure_state();
    let json = zones.import("cluster.zb").args(["--json"]).expect(1).json();
    assert_eq!(json["error"]["code"], "external-package-missing", "{json}");
    zones
        .import("cluster.zb")
        .expect(1)
        .stderr_has("2 external artifacts the release needs are not on the target's feeds; nothing was written:")
        .stderr_has("feed \"Docker Hub\": package payments/api, version 1.25.3 is not there (used by action \"Deploy to cluster\")")
        .stderr_has("feed \"Charts\": package payments, version 2.1.0 is not there (used by action \"Deploy to cluster\")")
        .stderr_has("Hint: copy each one into the secure zone's registry first");
    assert_eq!(zones.secure_state(), before, "a refused import wrote");
    // Once the registry has them, the same bundle imports.
    let docker = id_of(pci, "feeds", "Docker Hub");
    let mut feed_doc = pci.get(&format!("/api/Spaces-1/feeds/{docker}"));
    feed_doc["StandinPackages"] = json!({"payments/api": ["1.25.3"]});
    pci.put(&format!("/api/Spaces-1/feeds/{docker}"), &feed_doc);
    zones
        .import("cluster.zb")
        .expect(1)
        .stderr_has("1 external artifact the release needs is not on the target's feeds")
        .stderr_has("payments, version 2.1.0");
    let charts = id_of(pci, "feeds", "Charts");
    let mut feed_doc = pci.get(&format!("/api/Spaces-1/feeds/{charts}"));
    feed_doc["StandinPackages"] = json!({"payments": ["2.1.0"]});
    pci.put(&format!("/api/Spaces-1/feeds/{charts}"), &feed_doc);
    zones.import("cluster.zb").ok();
    Ok(())
}

#[test]
fn a_feed_missing_by_name_is_refused_and_a_mapping_rename_finds_it() -> TestResult {
    let zones = Zones::new();
    dev_release(&zones, false);
    let pci = &zones.pci;
    // The secure zone calls its registry Harbor, and its chart repository is missing.
    let harbor = feed(pci, "Harbor", "Docker", json!({"payments/api": ["1.25.3"]}));
    let project = secure_project(&zones);
    export(&zones);
    let before = zones.secure_state();
    let json = zones.import("cluster.zb").args(["--json"]).expect(1).json();
    assert_eq!(json["error"]["code"], "unresolved-names", "{json}");
    zones
        .import("cluster.zb")
        .expect(1)
        .stderr_has("feed \"Docker Hub\": not on the target")
        .stderr_has("feed \"Charts\": not on the target");
    assert_eq!(zones.secure_state(), before);
    // Renamed in the mapping file; a rename to a feed of another type is refused.
    let mapping = zones.site.path("mapping.toml");
    let original = std::fs::read_to_string(&mapping)?;
    feed(pci, "Chart Museum", "Maven", json!({"payments": ["2.1.0"]}));
    std::fs::write(
        &mapping,
        original.replace(
            "[unmapped]",
            "[feeds]\n\"Docker Hub\" = \"Harbor\"\n\"Charts\" = \"Chart Museum\"\n\n[unmapped]",
        ),
    )?;
    zones.import("cluster.zb").expect(1).stderr_has(
        "the target's feed \"Chart Museum\" is a Maven feed, the development zone's a Helm feed",
    );
    assert_eq!(zones.secure_state(), before);
    let charts = feed(pci, "PCI Charts", "Helm", json!({"payments": ["2.1.0"]}));
    std::fs::write(
        &mapping,
        original.replace(
            "[unmapped]",
            "[feeds]\n\"Docker Hub\" = \"Harbor\"\n\"Charts\" = \"PCI Charts\"\n\n[unmapped]",
        ),
    )?;
    zones.import("cluster.zb").ok();
    let process = pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
    ));
    let packages = &process["Steps"][0]["Actions"][0]["Packages"];
    assert_eq!(packages[0]["FeedId"], harbor.as_str());
    assert_eq!(packages[1]["FeedId"], charts.as_str());
    assert_eq!(
        secure_release(&zones, &project)["SelectedPackages"][0]["Version"],
        "1.25.3"
    );
    Ok(())
}

#[test]
fn a_feed_expression_travels_as_written_and_is_accepted_unchecked() -> TestResult {
    let zones = Zones::new();
    dev_release(&zones, true);
    let pci = &zones.pci;
    feed(
        pci,
        "Docker Hub",
        "Docker",
        json!({"payments/api": ["1.25.3"]}),
    );
    feed(pci, "Charts", "Helm", json!({"payments": ["2.1.0"]}));
    let project = secure_project(&zones);
    export(&zones);
    let document: Value = serde_json::from_str(&std::fs::read_to_string(
        zones.site.path("folder/external-packages.json"),
    )?)?;
    assert_eq!(
        document["Packages"][2],
        json!({"Action": "Deploy to cluster", "PackageReference": "worker", "Feed": "#{Kubernetes.Feed}", "FeedType": null,
            "PackageId": "payments/worker", "Version": "3.0.1", "Digest": null})
    );
    let process: Value = serde_json::from_str(&std::fs::read_to_string(
        zones.site.path("folder/process.json"),
    )?)?;
    assert_eq!(
        process["Steps"][0]["Actions"][0]["Packages"][2]["Feed"],
        "#{Kubernetes.Feed}"
    );
    let imported = zones.import("cluster.zb").args(["--json"]).ok().json();
    let steps = imported["plan"]["steps"].as_array().ok_or("no plan")?;
    let worker = steps
        .iter()
        .find(|s| s["subject"] == "payments/worker 3.0.1")
        .ok_or("no plan line for the worker")?;
    assert_eq!(worker["action"], "skip");
    assert!(
        worker["detail"]
            .as_str()
            .is_some_and(|d| d.contains("is chosen when the deployment runs")),
        "{worker}"
    );
    let process = pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
    ));
    assert_eq!(
        process["Steps"][0]["Actions"][0]["Packages"][2]["FeedId"],
        "#{Kubernetes.Feed}"
    );
    assert_eq!(
        secure_release(&zones, &project)["SelectedPackages"][2]["Version"],
        "3.0.1"
    );
    Ok(())
}

#[test]
fn include_external_is_refused_because_octopus_cannot_download_external_packages() -> TestResult {
    let zones = Zones::new();
    dev_release(&zones, false);
    zones
        .export(PROJECT, "1.0.0", "cluster.zb")
        .args(["--include-external"])
        .expect(2)
        .stderr_has("--include-external cannot be honoured: Octopus's API has no route that downloads a package from an external feed");
    assert!(!zones.site.path("cluster.zb").exists());
    Ok(())
}

#[test]
fn a_release_with_external_packages_deploys_from_the_secure_feeds_and_reports_home() -> TestResult {
    let trip = crate::results::Trip::new();
    let zones = &trip.zones;
    dev_release(zones, false);
    feed(
        &zones.pci,
        "Docker Hub",
        "Docker",
        json!({"payments/api": ["1.25.3"]}),
    );
    feed(&zones.pci, "Charts", "Helm", json!({"payments": ["2.1.0"]}));
    secure_project(zones);
    let report = trip
        .promote_and_deploy(PROJECT, "1.0.0", "PCI Staging", "cluster-result.zb", &[])
        .ok()
        .json();
    assert_eq!(report["import"]["outcome"], "imported", "{report}");
    assert_eq!(report["deploy"]["state"], "success", "{report}");
    let taken = trip
        .results("cluster-result.zb")
        .args(["--log-out", "task.log"])
        .ok()
        .json();
    assert_eq!(taken["state"], "success");
    // The secure zone's deployment took both artifacts from its own feeds.
    let log = std::fs::read_to_string(zones.site.path("task.log"))?;
    assert!(
        log.contains(
            "Acquired package payments/api version 1.25.3 from the feed 'Docker Hub' (Docker)"
        ) && log.contains("Acquired package payments version 2.1.0 from the feed 'Charts' (Helm)"),
        "{log}"
    );
    Ok(())
}
