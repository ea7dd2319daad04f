//! Authentication (`X-Octopus-ApiKey`, 401 with Octopus's error body), the root document,
//! spaces, paged collections, `/all`, filters, lookups by slug, and 404s.

use serde_json::json;

use crate::harness::{KEY, Standin, TestResult, expect};

const UNAUTHORISED: &str =
    "You must be logged in to perform this action. Please provide a valid API key or log in again.";

#[test]
fn requests_without_a_key_or_with_a_wrong_one_get_401_with_octopus_error_body() -> TestResult {
    let standin = Standin::start()?;
    let client = standin.client();
    let path = format!("{}/api/Spaces-1/environments", standin.url);
    for request in [
        client.get(&path),
        client.get(&path).header("X-Octopus-ApiKey", "API-WRONG"),
        client.get(&path).header("X-Octopus-ApiKey", ""),
        client.get(format!("{path}?ApiKey=API-WRONG")),
        client
            .get(format!("{}/api", standin.url))
            .header("X-Octopus-ApiKey", "API-WRONG"),
    ] {
        let response = request.send()?;
        assert_eq!(response.status().as_u16(), 401);
        let body: serde_json::Value = response.json()?;
        assert_eq!(body, json!({"ErrorMessage": UNAUTHORISED, "Errors": []}));
    }
    // The key as a query parameter is the Swagger spec's second security definition.
    let response = client.get(format!("{path}?ApiKey={KEY}")).send()?;
    assert_eq!(response.status().as_u16(), 200);
    Ok(())
}

#[test]
fn the_root_document_is_served_without_a_key_and_names_its_version_and_links() -> TestResult {
    let standin = Standin::start()?;
    let root: serde_json::Value = standin
        .client()
        .get(format!("{}/api", standin.url))
        .send()?
        .json()?;
    assert_eq!(root["Application"], "Octopus Deploy");
    assert_eq!(
        root["Version"], "2025.1.5054",
        "a current server by default"
    );
    assert_eq!(root["ApiVersion"], "3.0.0");
    assert_eq!(
        root["Links"]["Environments"],
        "/api/Spaces-1/environments{/id}{?name,skip,ids,take,partialName}"
    );
    assert_eq!(
        root["Links"]["PackageUpload"],
        "/api/Spaces-1/packages/raw{?overwriteMode}"
    );
    let space = standin.ok("/api/Spaces-1")?;
    assert_eq!(space["Id"], "Spaces-1");
    let spaces = standin.ok("/api/spaces")?;
    assert_eq!(spaces["Items"][0]["IsDefault"], true);
    assert_eq!(standin.ok("/api/spaces/all")?[0]["Id"], "Spaces-1");
    Ok(())
}

#[test]
fn collections_page_with_skip_and_take_and_link_to_the_next_page_only_when_there_is_one()
-> TestResult {
    let standin = Standin::start()?;
    for n in 0..35 {
        standin.environment(&format!("Env {n:02}"))?;
    }
    let first = standin.ok("/api/Spaces-1/environments")?;
    assert_eq!(first["ItemType"], "Environment");
    assert_eq!(first["TotalResults"], 35);
    assert_eq!(first["ItemsPerPage"], 30);
    assert_eq!(first["NumberOfPages"], 2);
    assert_eq!(first["LastPageNumber"], 1);
    assert_eq!(first["Items"].as_array().map(Vec::len), Some(30));
    assert_eq!(
        first["Links"]["Page.Next"],
        "/api/Spaces-1/environments?skip=30&take=30"
    );
    let last = standin.ok("/api/Spaces-1/environments?skip=30")?;
    assert_eq!(last["Items"].as_array().map(Vec::len), Some(5));
    assert!(
        last["Links"].get("Page.Next").is_none(),
        "no next page: {}",
        last["Links"]
    );
    let small = standin.ok("/api/Spaces-1/environments?take=10&skip=20")?;
    assert_eq!(small["Items"][0]["Name"], "Env 20");
    assert_eq!(small["NumberOfPages"], 4);
    // `/all` returns a bare array.
    assert_eq!(
        standin
            .ok("/api/Spaces-1/environments/all")?
            .as_array()
            .map(Vec::len),
        Some(35)
    );
    // A bad paging parameter is refused with the error body.
    let bad = expect(standin.get("/api/Spaces-1/environments?take=-1")?, 400)?;
    assert_eq!(
        bad["ErrorMessage"],
        "There was a problem with your request."
    );
    Ok(())
}

#[test]
fn name_and_partial_name_filters_match_ignoring_case() -> TestResult {
    let standin = Standin::start()?;
    for name in ["Development", "Test", "Production", "Production DR"] {
        standin.environment(name)?;
    }
    let exact = standin.ok("/api/Spaces-1/environments?name=production")?;
    assert_eq!(exact["TotalResults"], 1);
    assert_eq!(exact["Items"][0]["Name"], "Production");
    let partial = standin.ok("/api/Spaces-1/environments?partialName=PROD")?;
    assert_eq!(partial["TotalResults"], 2);
    let ids = standin.ok("/api/Spaces-1/environments?ids=Environments-1,Environments-3")?;
    assert_eq!(ids["TotalResults"], 2);
    Ok(())
}

#[test]
fn projects_are_found_by_id_or_slug_and_routes_work_with_or_without_the_space() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let by_slug = standin.ok("/api/Spaces-1/projects/payments-api")?;
    assert_eq!(by_slug["Id"], project.as_str());
    let spaceless = standin.ok(&format!("/api/projects/{project}"))?;
    assert_eq!(spaceless["Slug"], "payments-api");
    // Creating a project created its process, variable set and default channel.
    assert_eq!(
        standin.ok(&format!(
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
        ))?["Version"],
        0
    );
    assert_eq!(
        standin.ok(&format!("/api/Spaces-1/variables/variableset-{project}"))?["OwnerId"],
        project.as_str()
    );
    let channels = standin.ok(&format!("/api/Spaces-1/projects/{project}/channels"))?;
    assert_eq!(channels["Items"][0]["Name"], "Default");
    assert_eq!(channels["Items"][0]["IsDefault"], true);
    Ok(())
}

#[test]
fn missing_resources_and_unknown_routes_get_404_and_duplicates_400() -> TestResult {
    let standin = Standin::start()?;
    let missing = expect(standin.get("/api/Spaces-1/projects/Projects-999")?, 404)?;
    assert_eq!(
        missing["ErrorMessage"],
        "The resource 'Projects-999' was not found."
    );
    let space = expect(standin.get("/api/Spaces-7/environments")?, 404)?;
    assert_eq!(
        space["ErrorMessage"],
        "The resource 'Spaces-7' was not found."
    );
    expect(standin.get("/api/Spaces-1/nonsense")?, 404)?;
    standin.environment("Test")?;
    let duplicate = expect(
        standin.post("/api/Spaces-1/environments", &json!({"Name": "test"}))?,
        400,
    )?;
    assert_eq!(
        duplicate["Errors"][0],
        "A environment with the name 'test' already exists. Please choose a different name."
    );
    let nameless = expect(
        standin.post("/api/Spaces-1/environments", &json!({"Description": "x"}))?,
        400,
    )?;
    assert_eq!(nameless["Errors"][0], "The Name field is required.");
    let wrong_type = expect(
        standin.post("/api/Spaces-1/environments", &json!({"Name": 7}))?,
        400,
    )?;
    assert_eq!(wrong_type["Errors"][0], "The Name field must be a string.");
    Ok(())
}

#[test]
fn put_and_delete_may_come_as_post_with_a_method_override() -> TestResult {
    let standin = Standin::start()?;
    let env = standin.environment("Staging")?;
    let path = format!("{}/api/Spaces-1/environments/{env}", standin.url);
    let response = standin
        .client()
        .post(&path)
        .header("X-Octopus-ApiKey", KEY)
        .header("X-HTTP-Method-Override", "PUT")
        .json(&json!({"Name": "Staging EU"}))
        .send()?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        standin.ok(&format!("/api/Spaces-1/environments/{env}"))?["Name"],
        "Staging EU"
    );
    let response = standin
        .client()
        .post(&path)
        .header("X-Octopus-ApiKey", KEY)
        .header("X-HTTP-Method-Override", "DELETE")
        .send()?;
    assert_eq!(response.status().as_u16(), 200);
    expect(
        standin.get(&format!("/api/Spaces-1/environments/{env}"))?,
        404,
    )?;
    Ok(())
}
