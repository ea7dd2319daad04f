//! The real-world project of issue 11, end to end: Card Vault (seeds `card-vault-dev.json` and
//! `card-vault-secure.json`) deploys a container image from Docker Hub on a worker pool inside an
//! execution container, uses an AWS account, a certificate, a library step template with a
//! sensitive default, tenants with tags and template values, and tenant- and runbook-scoped
//! variables. It is exported, imported, deployed and reported back; on the secure side every
//! reference points at the secure instance's own resources (the secure zone numbers them
//! differently), and the decompressed bundle carries no development-zone id and no secret.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::harness::TestResult;
use crate::promote::{DEV_KEY, PCI_KEY, Zones};
use crate::results::{Trip, decompressed};
use crate::standins::Standin;

/// The collections whose ids a bundle must never carry, with the field that lists them.
const COLLECTIONS: &[&str] = &[
    "environments",
    "lifecycles",
    "projectgroups",
    "feeds",
    "workerpools",
    "accounts",
    "certificates",
    "tenants",
    "projects",
    "runbooks",
    "actiontemplates",
    "channels",
    "tagsets",
    "libraryvariablesets",
];

fn all(zone: &Standin, collection: &str) -> Vec<Value> {
    zone.get(&format!("/api/Spaces-1/{collection}/all"))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn id_of(zone: &Standin, collection: &str, name: &str) -> String {
    all(zone, collection)
        .iter()
        .find(|d| d["Name"] == name)
        .and_then(|d| d["Id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {collection} named {name}"))
}

/// Every resource id of the development instance, with the template and tag ids inside them.
fn dev_ids(dev: &Standin) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for collection in COLLECTIONS {
        for doc in all(dev, collection) {
            if let Some(id) = doc["Id"].as_str() {
                ids.insert(id.to_owned());
            }
            for nested in ["Templates", "Tags"] {
                for item in doc[nested].as_array().into_iter().flatten() {
                    if let Some(id) = item["Id"].as_str() {
                        ids.insert(id.to_owned());
                    }
                }
            }
        }
    }
    ids
}

/// Whether `text` holds `id` as a whole token (not as the start of `Feeds-12` for `Feeds-1`).
fn holds_token(text: &str, id: &str) -> bool {
    let token = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(id).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + id.len()..].chars().next();
        !before.is_some_and(token) && !after.is_some_and(token)
    })
}

fn action<'a>(process: &'a Value, name: &str) -> &'a Value {
    process["Steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Actions"].as_array().into_iter().flatten())
        .find(|a| a["Name"] == name)
        .unwrap_or_else(|| panic!("no action {name} in {process}"))
}

fn variables<'a>(set: &'a Value, name: &str) -> Vec<&'a Value> {
    set["Variables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["Name"] == name)
        .collect()
}

#[test]
fn card_vault_is_promoted_deployed_and_reported_with_every_reference_the_secure_zones_own_on_2020_5()
-> TestResult {
    card_vault_is_promoted_deployed_and_reported_with_every_reference_the_secure_zones_own("2020.5")
}

#[test]
fn card_vault_is_promoted_deployed_and_reported_with_every_reference_the_secure_zones_own_on_2025()
-> TestResult {
    card_vault_is_promoted_deployed_and_reported_with_every_reference_the_secure_zones_own("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn card_vault_is_promoted_deployed_and_reported_with_every_reference_the_secure_zones_own(
    profile: &str,
) -> TestResult {
    let trip = Trip::from_zones(Zones::with_standins(
        Standin::start_profile("card-vault-dev.json", DEV_KEY, profile),
        Standin::start_profile("card-vault-secure.json", PCI_KEY, profile),
    ));
    let zones = &trip.zones;
    let (dev, pci) = (&zones.dev, &zones.pci);

    // The bundle: no development-zone id, no secret, whatever file it is in.
    zones.export("Card Vault", "2.4.0", "card-vault.zb").ok();
    let text =
        String::from_utf8_lossy(&decompressed(&zones.site.path("card-vault.zb"))).into_owned();
    let dev_ids = dev_ids(dev);
    let leaked: Vec<&String> = dev_ids.iter().filter(|id| holds_token(&text, id)).collect();
    assert!(
        leaked.is_empty(),
        "development ids in the bundle: {leaked:?}"
    );
    for secret in [
        "dev-vault-token-DO-NOT-CROSS",
        "https://hooks.slack.example/dev-SECRET",
        "dev-aws-secret",
        "dev-pfx",
    ] {
        assert!(!text.contains(secret), "{secret} is in the bundle");
    }
    for document in [
        "step-templates.json",
        "tenants.json",
        "external-packages.json",
        "project.json",
        "source.json",
    ] {
        assert!(text.contains(document), "the bundle has no {document}");
    }

    // Promoted and deployed to PCI Staging, then the result comes home.
    let report = zones
        .import("card-vault.zb")
        .args(["--deploy-to", "PCI Staging", "--key", "result-signer.key"])
        .args(["--result-out", "card-vault-result.zb", "--json"])
        .ok()
        .json();
    assert_eq!(report["import"]["outcome"], "imported", "{report}");
    assert_eq!(report["deploy"]["state"], "success", "{report}");
    let taken = trip.results("card-vault-result.zb").ok().json();
    assert_eq!(taken["state"], "success", "{taken}");
    assert!(
        trip.dev_notes("card-vault", "2.4.0")
            .contains("PCI Staging"),
        "the development release's notes say nothing of the deployment"
    );

    // Every reference on the secure side is the secure instance's own.
    let project = pci.get("/api/Spaces-1/projects/card-vault");
    let project_id = project["Id"].as_str().unwrap_or("").to_owned();
    let process = pci.get(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project_id}"
    ));
    let pool = id_of(pci, "workerpools", "Kubernetes Workers");
    let docker = id_of(pci, "feeds", "Docker Hub");
    let deploy = action(&process, "Deploy Card Vault");
    assert_eq!(deploy["WorkerPoolId"], pool.as_str());
    assert_eq!(deploy["Container"]["FeedId"], docker.as_str());
    assert_eq!(deploy["Packages"][0]["FeedId"], docker.as_str());
    let template = id_of(pci, "actiontemplates", "Notify Slack");
    let notify = action(&process, "Notify Slack");
    assert_eq!(
        notify["Properties"]["Octopus.Action.Template.Id"],
        template.as_str()
    );
    let set = pci.get(&format!(
        "/api/Spaces-1/variables/{}",
        project["VariableSetId"].as_str().unwrap_or("")
    ));
    let one = |name: &str| {
        variables(&set, name)
            .first()
            .map(|v| (*v).clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        one("Vault.AwsAccount")["Value"],
        id_of(pci, "accounts", "AWS Card Vault").as_str()
    );
    assert_eq!(
        one("Vault.Certificate")["Value"],
        id_of(pci, "certificates", "Vault TLS").as_str()
    );
    assert_eq!(one("Vault.WorkerPool")["Value"], pool.as_str());
    assert_eq!(
        one("Vault.RotationWindow")["Scope"]["ProcessOwner"][0],
        id_of(pci, "runbooks", "Rotate vault keys").as_str()
    );
    let tenant_eu = id_of(pci, "tenants", "Acquirer EU");
    assert!(
        variables(&set, "Vault.Tier")
            .iter()
            .any(|v| v["Value"] == "gold" && v["Scope"]["Tenant"][0] == tenant_eu.as_str()),
        "{set}"
    );
    // The secure zone's secret stayed, and the development one never arrived.
    let token = variables(&set, "Vault.Token");
    assert_eq!(token.len(), 1, "{set}");
    assert_eq!(token[0]["IsSensitive"], true);
    // The tenant is connected in the secure environment and has its template value.
    let staging = id_of(pci, "environments", "PCI Staging");
    let tenant = pci.get(&format!("/api/Spaces-1/tenants/{tenant_eu}"));
    assert!(
        tenant["ProjectEnvironments"][project_id.as_str()]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e == staging.as_str())),
        "{tenant}"
    );
    let values = pci.get(&format!("/api/Spaces-1/tenants/{tenant_eu}/variables"));
    assert!(values.to_string().contains("eu-west-1"), "{values}");

    // Nothing on the secure side points at a development-only id (one the secure instance
    // does not have itself, now that the import created what it created).
    let secure_ids: BTreeSet<String> = COLLECTIONS
        .iter()
        .flat_map(|collection| all(pci, collection))
        .filter_map(|doc| doc["Id"].as_str().map(str::to_owned))
        .collect();
    let written = format!("{process}{set}{tenant}");
    let dev_only: Vec<&String> = dev_ids
        .iter()
        .filter(|id| !secure_ids.contains(*id) && holds_token(&written, id))
        .collect();
    assert!(
        dev_only.is_empty(),
        "development ids on the secure side: {dev_only:?}"
    );
    Ok(())
}
