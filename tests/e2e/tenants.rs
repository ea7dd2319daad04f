//! Tenants end to end: a tenanted Payments API is exported from the development stand-in
//! with its tenants' tags, connections, project template values and common values
//! (`tenants.json`), and imported into the secure stand-in, where the tenants, tags and
//! templates already exist under their own ids. Sensitive tenant values never travel: the
//! target's stored one is kept, a missing one comes from the secrets file or the import is
//! refused naming it. Missing tenants and tags are refused all at once, with nothing written.
//!
//! The setup is made of requests in the test on top of the shared seeds (`dev.json`,
//! `secure.json`), never by changing them.

use serde_json::{Value, json};

use crate::harness::{TestResult, write};
use crate::promote::Zones;
use crate::results::decompressed;
use crate::standins::Standin;

const DEV_EU_TOKEN: &str = "tok-DEV-EU-h7Q2xv";
const DEV_UK_TOKEN: &str = "tok-DEV-UK-p3Lw9c";
const PCI_EU_TOKEN: &str = "tok-PCI-EU-z8Rk4m";
const PCI_UK_TOKEN: &str = "tok-PCI-UK-b5Nd1s";

fn id_of(zone: &Standin, collection: &str, name: &str) -> String {
    zone.get(&format!("/api/Spaces-1/{collection}/all"))
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["Name"] == name)
        .and_then(|d| d["Id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {collection} named {name}"))
}

/// Gives the project two templates (one sensitive) and "Payments Platform" one common
/// template; returns the template ids by name.
fn templates(zone: &Standin) -> (String, String, String, String, String) {
    let project_id = id_of(zone, "projects", "Payments API");
    let path = format!("/api/Spaces-1/projects/{project_id}");
    let mut project = zone.get(&path);
    project["TenantedDeploymentMode"] = json!("TenantedOrUntenanted");
    project["Templates"] = json!([
        {"Name": "Merchant.Url", "Label": "Merchant URL"},
        {"Name": "Merchant.Token", "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]);
    let project = zone.put(&path, &project);
    let library_id = id_of(zone, "libraryvariablesets", "Payments Platform");
    let path = format!("/api/Spaces-1/libraryvariablesets/{library_id}");
    let mut library = zone.get(&path);
    library["Templates"] = json!([{"Name": "Acquirer.Region"}]);
    let library = zone.put(&path, &library);
    let t = |doc: &Value, i: usize| doc["Templates"][i]["Id"].as_str().unwrap_or("").to_owned();
    (
        project_id,
        t(&project, 0),
        t(&project, 1),
        library_id,
        t(&library, 0),
    )
}

fn tag_set(zone: &Standin, tags: &[&str]) {
    let tags: Vec<Value> = tags.iter().map(|t| json!({"Name": t})).collect();
    let set = zone.post(
        "/api/Spaces-1/tagsets",
        &json!({"Name": "Region", "Tags": tags}),
    );
    assert_eq!(set["Name"], "Region", "{set}");
}

/// The development zone: tag set Region (EU, UK), tenants Acquirer EU (values in the 2024.1+
/// form) and Acquirer UK (values in the combined form), both connected in Staging and
/// Development (which the secure side drops through the example mapping file).
fn tenanted_dev(dev: &Standin) {
    tag_set(dev, &["EU", "UK"]);
    let (project, url, token, library, region) = templates(dev);
    let staging = id_of(dev, "environments", "Staging");
    let development = id_of(dev, "environments", "Development");
    let mut ids = Vec::new();
    for (name, tag) in [("Acquirer EU", "Region/EU"), ("Acquirer UK", "Region/UK")] {
        let tenant = dev.post(
            "/api/Spaces-1/tenants",
            &json!({"Name": name, "TenantTags": [tag],
                    "ProjectEnvironments": {project.as_str(): [staging, development]}}),
        );
        ids.push(tenant["Id"].as_str().unwrap_or("").to_owned());
    }
    let eu = &ids[0];
    if !dev.current {
        // Octopus 2020.5 has only the combined form: the same values, one per environment.
        let answer = dev.put(
            &format!("/api/Spaces-1/tenants/{eu}/variables"),
            &json!({
                "ProjectVariables": {project.as_str(): {"Variables": {
                    staging.as_str(): {url.as_str(): "https://eu.example",
                        token.as_str(): {"HasValue": true, "NewValue": DEV_EU_TOKEN}},
                    development.as_str(): {url.as_str(): "https://eu.example"}}}},
                "LibraryVariables": {library.as_str(): {"Variables": {region.as_str(): "eu-west"}}}}),
        );
        assert_eq!(answer["TenantName"], "Acquirer EU", "{answer}");
    } else {
        let answer = dev.put(
            &format!("/api/Spaces-1/tenants/{eu}/projectvariables"),
            &json!({"Variables": [
            {"ProjectId": project, "TemplateId": url, "Value": "https://eu.example",
             "Scope": {"EnvironmentIds": [staging, development]}},
            {"ProjectId": project, "TemplateId": token,
             "Value": {"HasValue": true, "NewValue": DEV_EU_TOKEN},
             "Scope": {"EnvironmentIds": [staging]}}]}),
        );
        assert_eq!(
            answer["Variables"].as_array().map(Vec::len),
            Some(2),
            "{answer}"
        );
        dev.put(
            &format!("/api/Spaces-1/tenants/{eu}/commonvariables"),
            &json!({"Variables": [{"LibraryVariableSetId": library, "TemplateId": region,
                               "Value": "eu-west", "Scope": {"EnvironmentIds": []}}]}),
        );
    }
    let uk = &ids[1];
    let answer = dev.put(
        &format!("/api/Spaces-1/tenants/{uk}/variables"),
        &json!({
            "ProjectVariables": {project.as_str(): {"Variables": {staging.as_str(): {
                url.as_str(): "https://uk.example",
                token.as_str(): {"HasValue": true, "NewValue": DEV_UK_TOKEN}}}}},
            "LibraryVariables": {library.as_str(): {"Variables": {region.as_str(): "uk-south"}}}}),
    );
    assert_eq!(answer["TenantName"], "Acquirer UK", "{answer}");
}

/// The secure zone: the same tag set and templates (their own ids), Acquirer UK created (not
/// connected), and Acquirer EU's token stored in PCI Staging.
fn tenanted_pci(pci: &Standin) {
    tag_set(pci, &["EU", "UK"]);
    let (project, _, token, _, _) = templates(pci);
    pci.post(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer UK", "TenantTags": ["Region/UK"]}),
    );
    let eu = id_of(pci, "tenants", "Acquirer EU");
    let staging = id_of(pci, "environments", "PCI Staging");
    if !pci.current {
        pci.put(
            &format!("/api/Spaces-1/tenants/{eu}/variables"),
            &json!({"ProjectVariables": {project.as_str(): {"Variables": {staging.as_str(): {
                token.as_str(): {"HasValue": true, "NewValue": PCI_EU_TOKEN}}}}}}),
        );
        return;
    }
    pci.put(
        &format!("/api/Spaces-1/tenants/{eu}/projectvariables"),
        &json!({"Variables": [{"ProjectId": project, "TemplateId": token,
            "Value": {"HasValue": true, "NewValue": PCI_EU_TOKEN},
            "Scope": {"EnvironmentIds": [staging]}}]}),
    );
}

/// Every tenant of the secure zone with its values in both forms.
fn tenant_state(pci: &Standin) -> Value {
    let tenants = pci.get("/api/Spaces-1/tenants/all");
    let mut out = Vec::new();
    for tenant in tenants.as_array().into_iter().flatten() {
        let id = tenant["Id"].as_str().unwrap_or("");
        let mut t = tenant.clone();
        if let Some(o) = t.as_object_mut() {
            o.remove("LastModifiedOn");
        }
        if !pci.current {
            out.push(json!({
                "tenant": t,
                "combined": pci.get(&format!("/api/Spaces-1/tenants/{id}/variables")),
            }));
            continue;
        }
        out.push(json!({
            "tenant": t,
            "project": pci.get(&format!("/api/Spaces-1/tenants/{id}/projectvariables"))["Variables"],
            "common": pci.get(&format!("/api/Spaces-1/tenants/{id}/commonvariables"))["Variables"],
        }));
    }
    json!({"tenants": out, "releases": pci.get("/api/Spaces-1/releases/all")})
}

/// Acquirer UK's token, given in the secrets file (appended to the example's).
fn add_uk_secret(zones: &Zones) {
    let path = zones.site.path("secrets.toml");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str(&format!(
        "\n[[secret]]\ntenant = \"Acquirer UK\"\nowner = \"Payments API\"\nname = \"Merchant.Token\"\nscope = {{ Environment = [\"PCI Staging\"] }}\nvalue = \"{PCI_UK_TOKEN}\"\n"
    ));
    write(&path, text.as_bytes());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("cannot chmod: {e}"));
}

/// A tenant's values in one of the 2024.1+ forms (`projectvariables`, `commonvariables`) as
/// (template name, environment ids, value); on a 2020.5 server, read from the combined form
/// (`tenants/{id}/variables`), one environment per value.
fn values(pci: &Standin, tenant: &str, form: &str) -> Vec<(String, Value, Value)> {
    let id = id_of(pci, "tenants", tenant);
    if !pci.current {
        return combined_values(pci, &id, form == "commonvariables");
    }
    pci.get(&format!("/api/Spaces-1/tenants/{id}/{form}"))["Variables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            (
                v["Template"]["Name"].as_str().unwrap_or("").to_owned(),
                v["Scope"]["EnvironmentIds"].clone(),
                v["Value"].clone(),
            )
        })
        .collect()
}

/// The values of the combined form, shaped as [`values`] gives them.
fn combined_values(pci: &Standin, tenant_id: &str, common: bool) -> Vec<(String, Value, Value)> {
    let doc = pci.get(&format!("/api/Spaces-1/tenants/{tenant_id}/variables"));
    let owners = if common {
        &doc["LibraryVariables"]
    } else {
        &doc["ProjectVariables"]
    };
    let mut out = Vec::new();
    for owner in owners.as_object().into_iter().flat_map(|o| o.values()) {
        let name = |template: &str| {
            owner["Templates"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["Id"] == template)
                .and_then(|t| t["Name"].as_str())
                .unwrap_or("")
                .to_owned()
        };
        let variables = owner["Variables"].as_object().into_iter().flatten();
        if common {
            for (template, value) in variables {
                out.push((name(template), json!([]), value.clone()));
            }
        } else {
            for (environment, by_template) in variables {
                for (template, value) in by_template.as_object().into_iter().flatten() {
                    out.push((name(template), json!([environment]), value.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn a_tenanted_project_is_promoted_with_its_tenant_values_and_a_rerun_is_a_no_op_on_2020_5()
-> TestResult {
    a_tenanted_project_is_promoted_with_its_tenant_values_and_a_rerun_is_a_no_op("2020.5")
}

#[test]
fn a_tenanted_project_is_promoted_with_its_tenant_values_and_a_rerun_is_a_no_op_on_2025()
-> TestResult {
    a_tenanted_project_is_promoted_with_its_tenant_values_and_a_rerun_is_a_no_op("2025")
}

/// Against both profiles (`standins::PROFILES`): the wrappers above.
fn a_tenanted_project_is_promoted_with_its_tenant_values_and_a_rerun_is_a_no_op(
    profile: &str,
) -> TestResult {
    let zones = Zones::on(profile);
    tenanted_dev(&zones.dev);
    tenanted_pci(&zones.pci);
    zones.export("Payments API", "1.4.1", "payments.zb").ok();

    // The bundle names tenants and tags, never a development id, never a secret value.
    let bundle =
        String::from_utf8_lossy(&decompressed(&zones.site.path("payments.zb"))).into_owned();
    assert!(bundle.contains("tenants.json") && bundle.contains("Acquirer EU"));
    assert!(bundle.contains("Region/UK") && bundle.contains("https://uk.example"));
    assert!(bundle.contains("TenantSensitive"));
    for leaked in [
        DEV_EU_TOKEN,
        DEV_UK_TOKEN,
        "Tenants-1",
        "Tenants-2",
        "TagSets-1",
    ] {
        assert!(!bundle.contains(leaked), "the bundle carries {leaked}");
    }

    // Acquirer UK's token is neither stored on the target nor in the secrets file.
    let before = tenant_state(&zones.pci);
    zones
        .import("payments.zb")
        .expect(1)
        .stderr_has("1 secret the release needs is neither stored on the target nor in the secrets file; nothing was written")
        .stderr_has("tenant Acquirer UK: Payments API / Merchant.Token (Environment = PCI Staging)");
    assert_eq!(tenant_state(&zones.pci), before, "nothing was written");

    add_uk_secret(&zones);
    let dry = zones
        .import("payments.zb")
        .args(["--dry-run", "--json"])
        .ok()
        .json();
    let steps = dry["plan"]["steps"].as_array().cloned().unwrap_or_default();
    let tenant_steps: Vec<&Value> = steps.iter().filter(|s| s["step"] == "tenant").collect();
    assert_eq!(tenant_steps.len(), 2, "{dry}");
    assert!(
        tenant_steps.iter().all(|s| s["action"] == "update"),
        "{dry}"
    );
    let uk_line = tenant_steps
        .iter()
        .find(|s| s["subject"] == "tenant \"Acquirer UK\"")
        .ok_or("no plan line for Acquirer UK")?;
    assert!(
        uk_line["detail"]
            .as_str()
            .unwrap_or("")
            .contains("connect to the project in PCI Staging"),
        "{uk_line}"
    );
    assert_eq!(tenant_state(&zones.pci), before, "a dry run writes nothing");

    zones.import("payments.zb").ok();
    // Acquirer EU: the plain value in PCI Staging (Development dropped), the stored token kept.
    let staging = id_of(&zones.pci, "environments", "PCI Staging");
    let eu = values(&zones.pci, "Acquirer EU", "projectvariables");
    assert!(
        eu.contains(&(
            "Merchant.Url".into(),
            json!([staging]),
            json!("https://eu.example")
        )),
        "{eu:?}"
    );
    assert!(
        eu.contains(&(
            "Merchant.Token".into(),
            json!([staging]),
            json!({"HasValue": true, "NewValue": null})
        )),
        "{eu:?}"
    );
    assert_eq!(eu.len(), 2, "{eu:?}");
    let eu_common = values(&zones.pci, "Acquirer EU", "commonvariables");
    assert_eq!(
        eu_common,
        vec![("Acquirer.Region".into(), json!([]), json!("eu-west"))]
    );
    // Acquirer UK: connected in PCI Staging, its values written, its token from the file.
    let uk_id = id_of(&zones.pci, "tenants", "Acquirer UK");
    let uk = zones.pci.get(&format!("/api/Spaces-1/tenants/{uk_id}"));
    let project = id_of(&zones.pci, "projects", "Payments API");
    assert_eq!(
        uk["ProjectEnvironments"][project.as_str()],
        json!([staging])
    );
    assert_eq!(
        uk["TenantTags"],
        json!(["Region/UK"]),
        "tags are not changed"
    );
    let uk_values = values(&zones.pci, "Acquirer UK", "projectvariables");
    assert!(
        uk_values.contains(&(
            "Merchant.Url".into(),
            json!([staging]),
            json!("https://uk.example")
        )),
        "{uk_values:?}"
    );
    assert!(
        uk_values.contains(&(
            "Merchant.Token".into(),
            json!([staging]),
            json!({"HasValue": true, "NewValue": null})
        )),
        "{uk_values:?}"
    );
    assert_eq!(
        values(&zones.pci, "Acquirer UK", "commonvariables"),
        vec![("Acquirer.Region".into(), json!([]), json!("uk-south"))]
    );
    // The audit trail records each tenant, without a value (SQLite keeps text as written).
    let mut ledger = std::fs::read(zones.site.path("import.ledger"))?;
    ledger.extend(std::fs::read(zones.site.path("import.ledger-wal")).unwrap_or_default());
    let ledger = String::from_utf8_lossy(&ledger);
    assert!(ledger.contains("import.tenant"), "no tenant audit entry");
    for secret in [PCI_UK_TOKEN, PCI_EU_TOKEN, DEV_UK_TOKEN] {
        assert!(!ledger.contains(secret), "the ledger holds a secret");
    }

    // The same bundle again: nothing to do. A new release of the project: every tenant kept.
    let after = tenant_state(&zones.pci);
    zones
        .import("payments.zb")
        .ok()
        .stdout_has("already imported");
    zones.export("Payments API", "1.4.0", "older.zb").ok();
    let plan = zones
        .import("older.zb")
        .args(["--dry-run", "--json"])
        .ok()
        .json();
    let kept: Vec<Value> = plan["plan"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["step"] == "tenant")
        .map(|s| s["action"].clone())
        .collect();
    assert_eq!(kept, vec![json!("keep"), json!("keep")], "{plan}");
    zones.import("older.zb").ok();
    let mut now = tenant_state(&zones.pci);
    let mut was = after.clone();
    now["releases"] = Value::Null;
    was["releases"] = Value::Null;
    assert_eq!(now, was, "a second release wrote no tenant value");
    Ok(())
}

#[test]
fn missing_tenants_and_tags_are_refused_all_at_once_and_nothing_is_written() -> TestResult {
    let zones = Zones::new();
    tenanted_dev(&zones.dev);
    // The secure zone has the templates, but neither tenant and only the EU tag.
    tag_set(&zones.pci, &["EU"]);
    templates(&zones.pci);
    let eu = id_of(&zones.pci, "tenants", "Acquirer EU");
    let deleted = std::process::Command::new("curl")
        .args([
            "-sS",
            "-X",
            "DELETE",
            "-H",
            &format!("X-Octopus-ApiKey: {}", zones.pci.key),
        ])
        .arg(format!("{}/api/Spaces-1/tenants/{eu}", zones.pci.url))
        .status()?;
    assert!(deleted.success());
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    add_uk_secret(&zones);
    let before = tenant_state(&zones.pci);
    let run = zones.import("payments.zb").expect(1);
    run.stderr_has("3 names of the release cannot be resolved")
        .stderr_has("tenant \"Acquirer EU\": not on the target")
        .stderr_has("tenant \"Acquirer UK\": not on the target")
        .stderr_has("tenant tag \"Region/UK\": not on the target")
        .stderr_has("nothing was written");
    assert_eq!(tenant_state(&zones.pci), before);

    // With the tenants there, a tag the target lacks is still refused on its own.
    for name in ["Acquirer EU", "Acquirer UK"] {
        zones
            .pci
            .post("/api/Spaces-1/tenants", &json!({"Name": name}));
    }
    let before = tenant_state(&zones.pci);
    let run = zones.import("payments.zb").expect(1);
    run.stderr_has("1 name of the release cannot be resolved")
        .stderr_has("tenant tag \"Region/UK\": not on the target (used in the tags of tenant \"Acquirer UK\")");
    assert_eq!(tenant_state(&zones.pci), before);
    Ok(())
}

#[test]
fn a_template_missing_on_the_target_is_refused_naming_it() -> TestResult {
    let zones = Zones::new();
    tenanted_dev(&zones.dev);
    tenanted_pci(&zones.pci);
    // The secure project lacks Merchant.Url.
    let project = id_of(&zones.pci, "projects", "Payments API");
    let path = format!("/api/Spaces-1/projects/{project}");
    let mut doc = zones.pci.get(&path);
    doc["Templates"] = json!([{"Name": "Merchant.Token", "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]);
    zones.pci.put(&path, &doc);
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    add_uk_secret(&zones);
    let before = tenant_state(&zones.pci);
    zones.import("payments.zb").expect(1).stderr_has(
        "variable template \"Merchant.Url\" of project \"Payments API\": not on the target",
    );
    assert_eq!(tenant_state(&zones.pci), before);
    Ok(())
}

/// Release folder `name` of Payments API `version` with an empty process, the given
/// `tenants.json` and extra `[[secrets]]` lines, packed for the secure zone (no `--after`: a
/// refused bundle never moves the channel, so each is the first).
fn hostile_bundle(
    zones: &Zones,
    name: &str,
    version: &str,
    tenants: &Value,
    secrets: &str,
) -> String {
    let root = zones.site.path(name);
    write(
        &root.join("process.json"),
        json!({"Project": "Payments API", "Steps": []})
            .to_string()
            .as_bytes(),
    );
    write(&root.join("tenants.json"), tenants.to_string().as_bytes());
    let toml = format!(
        "project = \"Payments API\"\nversion = \"{version}\"\nchannel = \"Default\"\nprocess = \"process.json\"\nfiles = [\"tenants.json\"]\n{secrets}"
    );
    write(&root.join("release.toml"), toml.as_bytes());
    let out = format!("{name}.zb");
    zones.site.pack(&root, &["signer"], "pci", &out).ok();
    out
}

#[test]
fn hostile_tenant_documents_are_refused_and_nothing_is_written() -> TestResult {
    let zones = Zones::new();
    tenanted_pci(&zones.pci);
    let before = tenant_state(&zones.pci);
    let tenant = |values: Value| json!({"Tenants": [{"Name": "Acquirer EU", "Environments": ["Staging"], "ProjectValues": values}]});
    let token_secret = "[[secrets]]\nowner = \"Payments API\"\nname = \"Merchant.Url\"\ntype = \"TenantSensitive\"\nscope = { Tenant = [\"Acquirer EU\"], Environment = [\"Staging\"] }\n";
    let evil = "Evil\nHint: run rm -rf /";
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        // A plain value for a template the target keeps secret: it would overwrite the secret.
        (
            "plain-for-secret",
            tenant(
                json!([{"Template": "Merchant.Token", "Environment": "Staging", "Value": "attacker"}]),
            ),
            "",
            "variable template \"Merchant.Token\" of project \"Payments API\": sensitive on the target, but the bundle carries a plain value for tenant \"Acquirer EU\"",
        ),
        // A secret requirement for a template the target keeps in clear.
        (
            "secret-for-plain",
            tenant(json!([])),
            token_secret,
            "variable template \"Merchant.Url\" of project \"Payments API\": not sensitive on the target",
        ),
        // A common value for a library variable set the release does not carry.
        (
            "foreign-library",
            json!({"Tenants": [{"Name": "Acquirer EU", "CommonValues": [
                {"LibraryVariableSet": "Payments Platform", "Template": "Acquirer.Region", "Value": "x"}]}]}),
            "",
            "library variable set \"Payments Platform\": not one the release includes",
        ),
        // Not a tenants document at all.
        (
            "malformed",
            json!({"Tenants": "Acquirer EU"}),
            "",
            "the bundle's release cannot be imported",
        ),
        // A tenant name that tries to start a line of its own in the refusal.
        (
            "control-characters",
            json!({"Tenants": [{"Name": evil}]}),
            "",
            "not on the target",
        ),
    ];
    for (index, (name, document, secrets, want)) in cases.into_iter().enumerate() {
        let bundle = hostile_bundle(&zones, name, &format!("9.0.{index}"), &document, secrets);
        let run = zones.import(&bundle).expect(1);
        run.stderr_has(want);
        assert!(
            !run.stderr.lines().any(|l| l.starts_with("Hint: run rm")),
            "{name}: a name from the bundle started a line: {}",
            run.stderr
        );
        assert_eq!(
            tenant_state(&zones.pci),
            before,
            "{name}: nothing was written"
        );
    }
    Ok(())
}

/// The tenants' state without what differs between instances or runs (value ids, links,
/// template GUIDs: templates are compared by name).
fn tenant_values_state(pci: &Standin) -> Value {
    let mut state = tenant_state(pci);
    state["releases"] = Value::Null;
    for tenant in state["tenants"].as_array_mut().into_iter().flatten() {
        for form in ["project", "common"] {
            for value in tenant[form].as_array_mut().into_iter().flatten() {
                if let Some(o) = value.as_object_mut() {
                    let name = o.get("Template").map(|t| t["Name"].clone());
                    o.insert("Template".into(), name.unwrap_or(Value::Null));
                    o.remove("TemplateId");
                    o.remove("Id");
                    o.remove("Links");
                }
            }
            if let Some(values) = tenant[form].as_array_mut() {
                values.sort_by_key(|v| v.to_string());
            }
        }
    }
    state
}

#[test]
fn an_import_killed_at_each_tenant_write_completes_on_the_next_run() -> TestResult {
    let setup = || {
        let zones = Zones::new();
        tenanted_dev(&zones.dev);
        tenanted_pci(&zones.pci);
        add_uk_secret(&zones);
        zones.export("Payments API", "1.4.1", "payments.zb").ok();
        zones
    };
    let clean = setup();
    clean.import("payments.zb").ok();
    let expected = tenant_values_state(&clean.pci);
    // Writes 1 and 2 upload the release's two packages; then Acquirer EU's project and
    // common values, Acquirer UK's connection, project and common values; then the process.
    for n in 3..=8 {
        let zones = setup();
        let killed = zones
            .import("payments.zb")
            .env("ZONEBRIDGE_TEST_KILL_AFTER_WRITES", &n.to_string())
            .run();
        assert_eq!(
            killed.code, -1,
            "run {n} should have been killed:\n{}",
            killed.stderr
        );
        zones.import("payments.zb").ok();
        assert_eq!(
            tenant_values_state(&zones.pci),
            expected,
            "after a kill at write {n}"
        );
        zones
            .import("payments.zb")
            .ok()
            .stdout_has("already imported");
        zones
            .site
            .import()
            .args(["ledger", "verify", "--ledger", "import.ledger"])
            .ok();
    }
    Ok(())
}

#[test]
fn renamed_tenants_and_tags_are_resolved_through_the_mapping_file() -> TestResult {
    let zones = Zones::new();
    tenanted_dev(&zones.dev);
    // The secure zone names the tag set Zone and the UK tenant "UK Acquirer".
    let set = zones.pci.post(
        "/api/Spaces-1/tagsets",
        &json!({"Name": "Zone", "Tags": [{"Name": "EU"}, {"Name": "UK"}]}),
    );
    assert_eq!(set["Tags"][1]["CanonicalTagName"], "Zone/UK");
    templates(&zones.pci);
    zones.pci.post(
        "/api/Spaces-1/tenants",
        &json!({"Name": "UK Acquirer", "TenantTags": ["Zone/UK"]}),
    );
    let path = zones.site.path("mapping.toml");
    let mut mapping = std::fs::read_to_string(&path)?;
    mapping.push_str(
        "\n[tenants]\n\"Acquirer UK\" = \"UK Acquirer\"\n\n[tenant_tags]\n\"Region/EU\" = \"Zone/EU\"\n\"Region/UK\" = \"Zone/UK\"\n",
    );
    write(&path, mapping.as_bytes());
    // The secrets file names the tenant as this zone does.
    let secrets = zones.site.path("secrets.toml");
    let mut text = std::fs::read_to_string(&secrets)?;
    for tenant in ["UK Acquirer", "Acquirer EU"] {
        text.push_str(&format!(
            "\n[[secret]]\ntenant = \"{tenant}\"\nowner = \"Payments API\"\nname = \"Merchant.Token\"\nscope = {{ Environment = [\"PCI Staging\"] }}\nvalue = \"{PCI_UK_TOKEN}\"\n"
        ));
    }
    write(&secrets, text.as_bytes());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600))?;
    zones.export("Payments API", "1.4.1", "payments.zb").ok();
    zones.import("payments.zb").ok();
    let staging = id_of(&zones.pci, "environments", "PCI Staging");
    let uk = values(&zones.pci, "UK Acquirer", "projectvariables");
    assert!(
        uk.contains(&(
            "Merchant.Url".into(),
            json!([staging]),
            json!("https://uk.example")
        )),
        "{uk:?}"
    );
    assert!(
        uk.contains(&(
            "Merchant.Token".into(),
            json!([staging]),
            json!({"HasValue": true, "NewValue": null})
        )),
        "{uk:?}"
    );
    Ok(())
}
