//! Tag sets, variable templates and tenant variables: the older combined form
//! (`tenants/{id}/variables`) and the 2024.1+ forms (`projectvariables`, `commonvariables`)
//! over one store, sensitive values stored apart, and every id checked (400).

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Every reason of a 400 validation failure, joined.
fn reasons(reply: crate::harness::Reply) -> Res<String> {
    let body = expect(reply, 400)?;
    Ok(body["Errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" | "))
}

/// A tenant connected to a project with two templates (one sensitive) in one environment, and
/// a library variable set with one common template that the project includes.
struct World {
    s: Standin,
    staging: String,
    production: String,
    project: String,
    url: String,
    token: String,
    library: String,
    region: String,
    tenant: String,
}

fn world() -> Res<World> {
    let s = Standin::start()?;
    let staging = s.environment("PCI Staging")?;
    let production = s.environment("Production")?;
    let library = s.create(
        "/api/Spaces-1/libraryvariablesets",
        &json!({"Name": "Acquirer Settings", "Templates": [{"Name": "Acquirer.Region", "Label": "Region"}]}),
    )?;
    let region = library["Templates"][0]["Id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let library = id(&library)?;
    let project = s.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Payments API", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1",
                "TenantedDeploymentMode": "TenantedOrUntenanted",
                "IncludedLibraryVariableSetIds": [library],
                "Templates": [
                    {"Name": "Merchant.Url", "DefaultValue": "https://default"},
                    {"Name": "Merchant.Token", "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]}),
    )?;
    let url = project["Templates"][0]["Id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let token = project["Templates"][1]["Id"]
        .as_str()
        .ok_or("no id")?
        .to_owned();
    let project = id(&project)?;
    let tenant = id(&s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer EU", "ProjectEnvironments": {project.as_str(): [staging]}}),
    )?)?;
    Ok(World {
        s,
        staging,
        production,
        project,
        url,
        token,
        library,
        region,
        tenant,
    })
}

#[test]
fn tag_sets_name_their_tags_canonically_and_tenants_may_only_use_existing_tags() -> TestResult {
    let s = Standin::start()?;
    let set = s.create(
        "/api/Spaces-1/tagsets",
        &json!({"Name": "Region", "Tags": [{"Name": "EU", "Color": "#0000FF"}, {"Name": "UK"}]}),
    )?;
    assert_eq!(set["Id"], "TagSets-1");
    assert_eq!(set["Tags"][0]["CanonicalTagName"], "Region/EU");
    assert_eq!(set["Tags"][1]["CanonicalTagName"], "Region/UK");
    assert_eq!(set["Tags"][0]["Id"], "TagSets-1-1");
    assert_eq!(set["Scopes"], json!(["Tenant"]));
    assert_eq!(set["Type"], "MultiSelect");
    let listed = s.ok("/api/Spaces-1/tagsets")?;
    assert_eq!(listed["ItemType"], "TagSet");
    assert_eq!(listed["Items"][0]["Name"], "Region");
    assert_eq!(s.ok("/api/tagsets/TagSets-1")?["Tags"][1]["Name"], "UK");

    // Tags are checked ignoring case and stored as the tag set spells them.
    let tenant = s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer EU", "TenantTags": ["region/eu", "Region/EU"]}),
    )?;
    assert_eq!(tenant["TenantTags"], json!(["Region/EU"]));
    let refused = reasons(s.post(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer FR", "TenantTags": ["Region/FR", "Tier/Gold", "EU"]}),
    )?)?;
    for tag in ["'Region/FR'", "'Tier/Gold'", "'EU'"] {
        assert!(refused.contains(tag), "{refused}");
    }
    // Bad tag sets.
    for (body, want) in [
        (
            json!({"Name": "Tier", "Tags": [{"Name": "A/B"}]}),
            "may not contain '/'",
        ),
        (
            json!({"Name": "Tier", "Tags": [{"Name": "Gold"}, {"Name": "gold"}]}),
            "two tags named",
        ),
        (json!({"Name": "region"}), "already exists"),
        (
            json!({"Name": "Tier", "Type": "Other"}),
            "not one of SingleSelect",
        ),
    ] {
        let text = reasons(s.post("/api/Spaces-1/tagsets", &body)?)?;
        assert!(text.contains(want), "{body}: {text}");
    }
    // A tag a tenant uses cannot be removed; one nobody uses can.
    let mut changed = set.clone();
    changed["Tags"] = json!([{"Name": "UK"}]);
    let text = reasons(s.put("/api/Spaces-1/tagsets/TagSets-1", &changed)?)?;
    assert!(text.contains("'Region/EU' is used by a tenant"), "{text}");
    changed["Tags"] = json!([set["Tags"][0].clone()]);
    let kept = expect(s.put("/api/Spaces-1/tagsets/TagSets-1", &changed)?, 200)?;
    assert_eq!(kept["Tags"][0]["Id"], "TagSets-1-1", "the tag keeps its id");
    // A TenantTag variable scope must name an existing tag too.
    let project = s.project("Scoped", "Lifecycles-1")?;
    let path = format!("/api/Spaces-1/variables/variableset-{project}");
    let mut set = s.ok(&path)?;
    set["Variables"] = json!([{"Name": "A", "Value": "1", "Scope": {"TenantTag": ["Region/Mars"]}},
                              {"Name": "B", "Value": "1", "Scope": {"Tenant": ["Tenants-99"]}}]);
    let text = reasons(s.put(&path, &set)?)?;
    assert!(text.contains("tenant tag 'Region/Mars'"), "{text}");
    assert!(text.contains("tenant 'Tenants-99'"), "{text}");
    Ok(())
}

#[test]
fn templates_get_ids_that_survive_a_replace_and_sensitive_defaults_are_hidden() -> TestResult {
    let w = world()?;
    let project = w.s.ok(&format!("/api/Spaces-1/projects/{}", w.project))?;
    assert_eq!(project["Templates"][0]["DefaultValue"], "https://default");
    let mut changed = project.clone();
    changed["Templates"] = json!([
        {"Name": "Merchant.Url"},
        {"Name": "Merchant.Token", "DefaultValue": {"HasValue": true, "NewValue": "s3cret-default"},
         "DisplaySettings": {"Octopus.ControlType": "Sensitive"}}]);
    let saved = expect(
        w.s.put(&format!("/api/Spaces-1/projects/{}", w.project), &changed)?,
        200,
    )?;
    assert_eq!(saved["Templates"][0]["Id"].as_str(), Some(w.url.as_str()));
    assert_eq!(saved["Templates"][1]["Id"].as_str(), Some(w.token.as_str()));
    assert_eq!(
        saved["Templates"][1]["DefaultValue"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert!(!saved.to_string().contains("s3cret-default"));
    changed["Templates"] = json!([{"Name": "A"}, {"Name": "a"}]);
    let text = reasons(w.s.put(&format!("/api/Spaces-1/projects/{}", w.project), &changed)?)?;
    assert!(
        text.contains("Two variable templates are named 'a'"),
        "{text}"
    );
    Ok(())
}

#[test]
fn project_and_common_values_are_written_in_the_new_form_and_read_in_both() -> TestResult {
    let w = world()?;
    let base = format!("/api/Spaces-1/tenants/{}", w.tenant);
    let written = expect(
        w.s.put(
            &format!("{base}/projectvariables"),
            &json!({"Variables": [
                {"ProjectId": w.project, "TemplateId": w.url, "Value": "https://eu.example",
                 "Scope": {"EnvironmentIds": [w.staging]}},
                {"ProjectId": w.project, "TemplateId": w.token,
                 "Value": {"HasValue": true, "NewValue": "tok-SECRET-1"},
                 "Scope": {"EnvironmentIds": [w.staging]}}]}),
        )?,
        200,
    )?;
    assert!(!written.to_string().contains("tok-SECRET-1"));
    let read = w.s.ok(&format!("{base}/projectvariables"))?;
    assert_eq!(read["TenantId"].as_str(), Some(w.tenant.as_str()));
    let vars = read["Variables"].as_array().ok_or("no variables")?;
    assert_eq!(vars.len(), 2);
    assert_eq!(vars[0]["Value"], "https://eu.example");
    assert_eq!(vars[0]["ProjectName"], "Payments API");
    assert_eq!(vars[0]["Template"]["Name"], "Merchant.Url");
    assert_eq!(vars[0]["Scope"]["EnvironmentIds"], json!([w.staging]));
    assert_eq!(
        vars[1]["Value"],
        json!({"HasValue": true, "NewValue": null})
    );
    let token_id = vars[1]["Id"].as_str().ok_or("no id")?.to_owned();
    assert!(token_id.starts_with("TenantVariables-"), "{token_id}");

    expect(
        w.s.put(
            &format!("{base}/commonvariables"),
            &json!({"Variables": [{"LibraryVariableSetId": w.library, "TemplateId": w.region,
                                   "Value": "eu-west", "Scope": {"EnvironmentIds": []}}]}),
        )?,
        200,
    )?;
    let common = w.s.ok(&format!("{base}/commonvariables"))?;
    assert_eq!(common["Variables"][0]["Value"], "eu-west");
    assert_eq!(
        common["Variables"][0]["LibraryVariableSetName"],
        "Acquirer Settings"
    );

    // The combined form shows the same values.
    let combined = w.s.ok(&format!("{base}/variables"))?;
    let p = &combined["ProjectVariables"][w.project.as_str()];
    assert_eq!(p["ProjectName"], "Payments API");
    assert_eq!(p["Templates"][1]["Name"], "Merchant.Token");
    assert_eq!(
        p["Variables"][w.staging.as_str()][w.url.as_str()],
        "https://eu.example"
    );
    assert_eq!(
        p["Variables"][w.staging.as_str()][w.token.as_str()],
        json!({"HasValue": true, "NewValue": null})
    );
    assert_eq!(
        combined["LibraryVariables"][w.library.as_str()]["Variables"][w.region.as_str()],
        "eu-west"
    );
    assert!(!combined.to_string().contains("tok-SECRET-1"));

    // Sent back as read, the secret is kept; sent without its Id, it has nothing to keep.
    let mut back: Vec<Value> = vars.clone();
    back[0]["Value"] = json!("https://eu2.example");
    let rewritten = expect(
        w.s.put(
            &format!("{base}/projectvariables"),
            &json!({"Variables": back}),
        )?,
        200,
    )?;
    assert_eq!(rewritten["Variables"][1]["Value"]["HasValue"], true);
    let mut no_id = vars[1].clone();
    no_id["Id"] = Value::Null;
    let text = reasons(w.s.put(
        &format!("{base}/projectvariables"),
        &json!({"Variables": [no_id]}),
    )?)?;
    assert!(text.contains("no value is stored for it"), "{text}");

    // Missing values, on request.
    let missing = w.s.ok(&format!(
        "{base}/projectvariables?includeMissingVariables=true"
    ))?;
    assert_eq!(missing["MissingVariables"], json!([]));
    Ok(())
}

#[test]
fn the_combined_form_replaces_values_and_keeps_secrets_sent_back_as_read() -> TestResult {
    let w = world()?;
    let base = format!("/api/Spaces-1/tenants/{}", w.tenant);
    let (p, st, url, tok) = (&w.project, &w.staging, &w.url, &w.token);
    let body = json!({
        "ProjectVariables": {p.as_str(): {"Variables": {st.as_str(): {
            url.as_str(): "https://eu.example",
            tok.as_str(): {"HasValue": true, "NewValue": "tok-SECRET-2"}}}}},
        "LibraryVariables": {w.library.as_str(): {"Variables": {w.region.as_str(): "eu-west"}}},
    });
    let saved = expect(w.s.post(&format!("{base}/variables"), &body)?, 200)?;
    assert!(!saved.to_string().contains("tok-SECRET-2"));
    let mut again = saved.clone();
    again["ProjectVariables"][p.as_str()]["Variables"][st.as_str()][url.as_str()] =
        json!("https://eu3.example");
    let saved = expect(w.s.put(&format!("{base}/variables"), &again)?, 200)?;
    let values = &saved["ProjectVariables"][p.as_str()]["Variables"][st.as_str()];
    assert_eq!(values[url.as_str()], "https://eu3.example");
    assert_eq!(
        values[tok.as_str()],
        json!({"HasValue": true, "NewValue": null})
    );
    let news = w.s.ok(&format!("{base}/projectvariables"))?;
    assert_eq!(news["Variables"].as_array().map(Vec::len), Some(2));
    // A value left out is removed.
    let mut fewer = saved.clone();
    fewer["LibraryVariables"][w.library.as_str()]["Variables"] = json!({});
    let saved = expect(w.s.put(&format!("{base}/variables"), &fewer)?, 200)?;
    assert_eq!(
        saved["LibraryVariables"][w.library.as_str()]["Variables"],
        json!({})
    );
    Ok(())
}

#[test]
fn foreign_and_unknown_ids_are_refused_with_400() -> TestResult {
    let w = world()?;
    let base = format!("/api/Spaces-1/tenants/{}", w.tenant);
    let other = w.s.project("Other", "Lifecycles-1")?;
    let value = |project: &str, template: &str, env: &str| {
        json!({"Variables": [{"ProjectId": project, "TemplateId": template, "Value": "x",
                              "Scope": {"EnvironmentIds": [env]}}]})
    };
    for (body, want) in [
        (
            value(&w.project, "no-such-template", &w.staging),
            "TemplateId 'no-such-template' is not a variable template",
        ),
        (
            value(&w.project, &w.url, "Environments-99"),
            "environment 'Environments-99', which does not exist",
        ),
        (
            value(&w.project, &w.url, &w.production),
            "not connected to project",
        ),
        (
            value("Projects-99", &w.url, &w.staging),
            "project 'Projects-99', which does not exist",
        ),
        (
            value(&other, &w.url, &w.staging),
            "not connected to project",
        ),
        (
            json!({"Variables": [{"Id": "TenantVariables-77", "ProjectId": w.project, "TemplateId": w.url,
                               "Value": "x", "Scope": {"EnvironmentIds": [w.staging]}}]}),
            "Id 'TenantVariables-77' is not",
        ),
        (
            json!({"Variables": [{"ProjectId": w.project, "TemplateId": w.url, "Value": 5,
                               "Scope": {"EnvironmentIds": [w.staging]}}]}),
            "must be a string",
        ),
        (
            json!({"Variables": [
            {"ProjectId": w.project, "TemplateId": w.url, "Value": "a", "Scope": {"EnvironmentIds": [w.staging]}},
            {"ProjectId": w.project, "TemplateId": w.url, "Value": "b", "Scope": {"EnvironmentIds": [w.staging]}}]}),
            "has two values",
        ),
        (
            json!({"Variables": [{"ProjectId": w.project, "TemplateId": w.url,
                               "Value": {"HasValue": true, "NewValue": "x"},
                               "Scope": {"EnvironmentIds": [w.staging]}}]}),
            "its template is not sensitive",
        ),
    ] {
        let text = reasons(w.s.put(&format!("{base}/projectvariables"), &body)?)?;
        assert!(text.contains(want), "{body}: {text}");
    }
    let text = reasons(w.s.put(
        &format!("{base}/commonvariables"),
        &json!({"Variables": [{"LibraryVariableSetId": "LibraryVariableSets-9", "TemplateId": w.region, "Value": "x"}]}),
    )?)?;
    assert!(
        text.contains("'LibraryVariableSets-9', which does not exist"),
        "{text}"
    );
    let text = reasons(w.s.put(
        &format!("{base}/variables"),
        &json!({"ProjectVariables": {w.project.as_str(): {"Variables": {"Environments-99": {w.url.as_str(): "x"}}}}}),
    )?)?;
    assert!(
        text.contains("'Environments-99', which does not exist"),
        "{text}"
    );
    // An unknown tenant is a 404, as any resource in a path; nothing was stored.
    expect(
        w.s.get("/api/Spaces-1/tenants/Tenants-99/projectvariables")?,
        404,
    )?;
    expect(w.s.get("/api/Spaces-1/tenantvariables/all")?, 404)?;
    assert_eq!(
        w.s.ok(&format!("{base}/projectvariables"))?["Variables"],
        json!([])
    );
    let missing = w.s.ok(&format!(
        "{base}/projectvariables?includeMissingVariables=true"
    ))?;
    assert_eq!(
        missing["MissingVariables"].as_array().map(Vec::len),
        Some(2)
    );
    Ok(())
}
