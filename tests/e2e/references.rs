//! Every reference crosses by name (issue 11, point 1): a release of Fraud Rules whose process
//! uses a worker pool, an execution container on a Docker feed, a git dependency with a
//! library git credential, an Azure account property and a Deploy-a-Release step, and whose
//! variables hold an AWS account, a certificate and a worker pool and are scoped to a runbook,
//! is exported from the development stand-in and imported into the secure one, where every
//! one of those resources has another id. The bundle carries no development-zone id; a
//! missing reference is refused with the whole list and nothing written; an id in a field
//! nobody knows refuses the export (`id-leak`), naming its JSON path.

use serde_json::{Value, json};

use crate::harness::{TestResult, listing, read_text};
use crate::promote::Zones;
use crate::standins::Standin;

/// The ids one zone gave the resources the release refers to.
#[derive(Debug, Clone)]
struct Ids {
    project: String,
    ledger: String,
    aws: String,
    azure: String,
    certificate: String,
    credential: String,
    pool: String,
    docker: String,
    runbook: String,
}

fn created(zone: &Standin, path: &str, body: Value) -> String {
    let doc = zone.post(path, &body);
    doc["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("POST {path} did not create: {doc}"))
        .to_owned()
}

fn project_id(zone: &Standin, slug: &str) -> String {
    zone.get(&format!("/api/Spaces-1/projects/{slug}"))["Id"]
        .as_str()
        .unwrap_or_else(|| panic!("no project {slug}"))
        .to_owned()
}

/// Creates, in `zone`, the resources the release refers to. `decoys` resources of each kind
/// are created first, so that the two zones number them differently.
fn resources(zone: &Standin, decoys: usize, skip: &[&str]) -> Ids {
    let make = |path: &str, name: &str, body: Value| -> String {
        let mut body = body;
        for n in 0..decoys {
            body["Name"] = json!(format!("Other {n} {name}"));
            created(zone, path, body.clone());
        }
        if skip.contains(&name) {
            return String::new();
        }
        body["Name"] = json!(name);
        created(zone, path, body)
    };
    let aws = make(
        "/api/Spaces-1/accounts",
        "AWS Prod",
        json!({"AccountType": "AmazonWebServicesAccount", "AccessKey": "AKIA", "SecretKey": "s"}),
    );
    let azure = make(
        "/api/Spaces-1/accounts",
        "Azure Prod",
        json!({"AccountType": "AzureServicePrincipal", "ClientId": "c", "Password": "p"}),
    );
    let certificate = make(
        "/api/Spaces-1/certificates",
        "TLS Wildcard",
        json!({"CertificateData": "MIIB", "Password": "p"}),
    );
    let credential = make(
        "/api/Spaces-1/git-credentials",
        "GitHub Bot",
        json!({"Details": {"Type": "UsernamePassword", "Username": "bot", "Password": "p"}}),
    );
    let pool = make("/api/Spaces-1/workerpools", "Linux Workers", json!({}));
    let docker = make(
        "/api/Spaces-1/feeds",
        "Docker Hub",
        json!({"FeedType": "Docker"}),
    );
    let project = project_id(zone, "fraud-rules");
    let runbook = make(
        "/api/Spaces-1/runbooks",
        "Rotate keys",
        json!({"ProjectId": project}),
    );
    Ids {
        ledger: project_id(zone, "ledger-worker"),
        project,
        aws,
        azure,
        certificate,
        credential,
        pool,
        docker,
        runbook,
    }
}

/// Gives Fraud Rules' first action every kind of reference, adds variables that hold or are
/// scoped to them, and creates release `version` of it.
fn use_them(dev: &Standin, ids: &Ids, version: &str, extra: Option<(&str, &str)>) {
    let path = format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{}",
        ids.project
    );
    let mut process = dev.get(&path);
    let action = &mut process["Steps"][0]["Actions"][0];
    action["WorkerPoolId"] = json!(ids.pool);
    action["Container"] =
        json!({"Image": "octopusdeploy/worker-tools:6-ubuntu.22.04", "FeedId": ids.docker});
    action["GitDependencies"] = json!([{"Name": "", "RepositoryUri": "https://git.example/rules.git",
        "DefaultBranch": "main", "GitCredentialType": "Library", "GitCredentialId": ids.credential, "FilePathFilters": []}]);
    // Fields newer than the 2020.5 Swagger, with ids inside a step package's inputs.
    action["StepPackageVersion"] = json!("1.4.2");
    action["Inputs"] = json!({"image": {"PackageId": "rules-engine", "FeedId": ids.docker},
        "aws": {"AccountId": ids.aws}, "retries": 3, "fromVariable": {"FeedId": "#{Rules.Feed}"}});
    action["Properties"]["Octopus.Action.Azure.AccountId"] = json!(ids.azure);
    action["Properties"]["Octopus.Action.DeployRelease.ProjectId"] = json!(ids.ledger);
    action["Properties"]["Octopus.Action.Package.FeedId"] = json!("#{Rules.Feed}");
    if let Some((key, value)) = extra {
        action["Properties"][key] = json!(value);
    }
    let saved = dev.put(&path, &process);
    assert_eq!(
        saved["Steps"][0]["Actions"][0]["WorkerPoolId"],
        json!(ids.pool),
        "{saved}"
    );

    let path = format!("/api/Spaces-1/variables/variableset-{}", ids.project);
    let mut set = dev.get(&path);
    let variables = set["Variables"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("no variables"));
    variables.extend([
        json!({"Name": "Rules.AwsAccount", "Value": ids.aws, "Type": "AmazonWebServicesAccount"}),
        json!({"Name": "Rules.Certificate", "Value": ids.certificate, "Type": "Certificate"}),
        json!({"Name": "Rules.WorkerPool", "Value": ids.pool, "Type": "WorkerPool"}),
        json!({"Name": "Rules.KeyAgeDays", "Value": "30", "Type": "String",
            "Scope": {"ProcessOwner": [ids.runbook, ids.project]}}),
    ]);
    let saved = dev.put(&path, &set);
    assert!(saved["Variables"].is_array(), "{saved}");
    let release = dev.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": ids.project, "Version": version}),
    );
    assert_eq!(release["Version"], version, "{release}");
}

fn live(zone: &Standin, ids: &Ids) -> (Value, Vec<Value>) {
    let process = zone.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{}",
        ids.project
    ));
    let set = zone.get(&format!(
        "/api/Spaces-1/variables/variableset-{}",
        ids.project
    ));
    (
        process,
        set["Variables"].as_array().cloned().unwrap_or_default(),
    )
}

fn variable<'a>(variables: &'a [Value], name: &str) -> &'a Value {
    variables
        .iter()
        .find(|v| v["Name"] == name)
        .unwrap_or_else(|| panic!("no variable {name}"))
}

/// Every file of a release folder, as text.
fn folder_text(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in listing(dir) {
        let path = dir.join(&entry);
        if path.is_dir() {
            text.push_str(&folder_text(&path));
        } else if !path.starts_with(dir.join("packages")) {
            text.push_str(&read_text(&path));
        }
    }
    text
}

#[test]
fn every_reference_crosses_by_name_and_points_at_the_secure_instances_own() -> TestResult {
    let zones = Zones::new();
    let dev = resources(&zones.dev, 0, &[]);
    let pci = resources(&zones.pci, 2, &[]);
    use_them(&zones.dev, &dev, "3.15.0", None);
    zones
        .export("Fraud Rules", "3.15.0", "fraud.zb")
        .args(["--keep-folder", "folder"])
        .ok();

    // No development-zone id in anything the bundle carries.
    let carried = folder_text(&zones.site.path("folder"));
    for id in [
        &dev.aws,
        &dev.azure,
        &dev.certificate,
        &dev.credential,
        &dev.pool,
        &dev.docker,
        &dev.runbook,
        &dev.project,
        &dev.ledger,
    ] {
        assert!(
            !carried.contains(&format!("\"{id}\"")),
            "the bundle carries {id}"
        );
    }
    assert!(carried.contains("\"Runbook/Rotate keys\""), "{carried}");

    zones.import("fraud.zb").ok().stdout_has("3.15.0");
    let (process, variables) = live(&zones.pci, &pci);
    let action = &process["Steps"][0]["Actions"][0];
    assert_eq!(action["WorkerPoolId"], json!(pci.pool));
    assert_eq!(action["Container"]["FeedId"], json!(pci.docker));
    assert_eq!(
        action["Container"]["Image"],
        "octopusdeploy/worker-tools:6-ubuntu.22.04"
    );
    assert_eq!(
        action["GitDependencies"][0]["GitCredentialId"],
        json!(pci.credential)
    );
    assert_eq!(
        action["GitDependencies"][0]["RepositoryUri"],
        "https://git.example/rules.git"
    );
    assert_eq!(action["StepPackageVersion"], "1.4.2");
    assert_eq!(
        action["Inputs"],
        json!({"image": {"PackageId": "rules-engine", "FeedId": pci.docker},
            "aws": {"AccountId": pci.aws}, "retries": 3, "fromVariable": {"FeedId": "#{Rules.Feed}"}})
    );
    let props = &action["Properties"];
    assert_eq!(props["Octopus.Action.Azure.AccountId"], json!(pci.azure));
    assert_eq!(
        props["Octopus.Action.DeployRelease.ProjectId"],
        json!(pci.ledger)
    );
    assert_eq!(props["Octopus.Action.Package.FeedId"], "#{Rules.Feed}");
    assert_eq!(
        variable(&variables, "Rules.AwsAccount")["Value"],
        json!(pci.aws)
    );
    assert_eq!(
        variable(&variables, "Rules.Certificate")["Value"],
        json!(pci.certificate)
    );
    assert_eq!(
        variable(&variables, "Rules.WorkerPool")["Value"],
        json!(pci.pool)
    );
    assert_eq!(
        variable(&variables, "Rules.KeyAgeDays")["Scope"]["ProcessOwner"],
        json!([pci.runbook, pci.project])
    );
    // The ids really differ between the zones, so the assertions above can fail.
    assert_ne!(pci.aws, dev.aws);
    assert_ne!(pci.runbook, dev.runbook);
    Ok(())
}

#[test]
fn every_missing_reference_is_refused_at_once_and_nothing_is_written() -> TestResult {
    let zones = Zones::new();
    let dev = resources(&zones.dev, 0, &[]);
    resources(
        &zones.pci,
        1,
        &["AWS Prod", "Azure Prod", "TLS Wildcard", "GitHub Bot"],
    );
    use_them(&zones.dev, &dev, "3.15.0", None);
    zones.export("Fraud Rules", "3.15.0", "fraud.zb").ok();
    let before = zones.secure_state();
    let run = zones.import("fraud.zb").expect(1);
    run.stderr_has("names of the release cannot be resolved on the target")
        .stderr_has("account \"AWS Prod\": not on the target (used in the inputs of action")
        .stderr_has("the value of variable Rules.AwsAccount of project \"Fraud Rules\"")
        .stderr_has("account \"Azure Prod\": not on the target (used in property Octopus.Action.Azure.AccountId of action")
        .stderr_has("certificate \"TLS Wildcard\": not on the target (used in the value of variable Rules.Certificate")
        .stderr_has("git credential \"GitHub Bot\": not on the target (used in git dependency \"\" of action")
        .stderr_has("nothing was written");
    assert_eq!(zones.secure_state(), before);

    // The mapping file renames them; then the import goes through.
    let renames = "\n[accounts]\n\"AWS Prod\" = \"Other 0 AWS Prod\"\n\"Azure Prod\" = \"Other 0 Azure Prod\"\n[certificates]\n\"TLS Wildcard\" = \"Other 0 TLS Wildcard\"\n[git_credentials]\n\"GitHub Bot\" = \"Other 0 GitHub Bot\"\n";
    let mapping = zones.site.path("mapping.toml");
    let text = read_text(&mapping) + renames;
    std::fs::write(&mapping, text)?;
    zones.import("fraud.zb").ok().stdout_has("3.15.0");
    Ok(())
}

#[test]
fn an_id_in_a_field_nobody_knows_refuses_the_export_naming_its_path() -> TestResult {
    let zones = Zones::new();
    let dev = resources(&zones.dev, 0, &[]);
    use_them(
        &zones.dev,
        &dev,
        "3.15.0",
        Some((
            "Octopus.Action.Future.CertificateId",
            dev.certificate.as_str(),
        )),
    );
    let run = zones
        .export("Fraud Rules", "3.15.0", "fraud.zb")
        .args(["--json"])
        .expect(1);
    let json = run.json();
    assert_eq!(json["error"]["code"], "id-leak", "{json}");
    let message = json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!(
            "process.json $.Steps[0].Actions[0].Properties[\"Octopus.Action.Future.CertificateId\"]: \"{}\"",
            dev.certificate
        )),
        "{message}"
    );
    assert!(
        json.to_string().contains("through a variable expression"),
        "the refusal says what to do: {json}"
    );
    assert!(
        !zones.site.path("fraud.zb").exists(),
        "no bundle is written"
    );
    Ok(())
}
