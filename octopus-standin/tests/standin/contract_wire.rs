//! Contract tests of the wire, apart from the scenario of `contract`: the built-in feed's
//! packages against their definitions, Octopus's error body for every kind of refusal, and the
//! paging envelope against the fixtures.

use serde_json::{Value, json};

use crate::contract::{Checker, PREFIXES, Res, SPACE, keys};
use crate::harness::{KEY, Standin, TestResult, expect, id};
use crate::swagger::{Spec, error_schema, fixture};

#[test]
fn contract_built_in_feed_packages_match_their_definitions() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let mut c = Checker::new()?;
    for (file, query) in [
        ("Acme.Web.1.0.0.zip", ""),
        ("Acme.Web.1.1.0.zip", ""),
        ("Acme.Web.1.1.0.zip", "?overwriteMode=OverwriteExisting"),
    ] {
        let body = expect(s.upload(file, b"PK\x03\x04 Acme.Web", query)?, 201)?;
        c.check(
            &format!("POST {SPACE}/packages/raw{query} {file} (201)"),
            "PackageFromBuiltInFeedResource",
            &body,
        );
    }
    for prefix in PREFIXES {
        // The spec: the list holds `PackageResource`; one package is a
        // `PackageFromBuiltInFeedResource`.
        for query in [
            "",
            "?latest=true",
            "?filter=acme",
            "?nuGetPackageId=Acme.Web&take=1",
        ] {
            c.page(&s, &format!("{prefix}/packages{query}"), "PackageResource")?;
        }
        c.all(&s, &format!("{prefix}/packages/all"), "PackageResource")?;
        c.one(
            &s,
            &format!("{prefix}/packages/packages-Acme.Web.1.0.0"),
            "PackageFromBuiltInFeedResource",
        )?;
    }
    c.finish(15);
    Ok(())
}

/// A request of the error test: what it shows, the status Octopus answers, the method, path,
/// API key and body.
type Request<'a> = (
    &'a str,
    u16,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
);

/// A request without the harness's key handling: the status and the JSON body.
fn raw_request(
    s: &Standin,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&str>,
) -> Res<(u16, Value)> {
    let mut request = s.client().request(
        reqwest::Method::from_bytes(method.as_bytes())?,
        format!("{}{path}", s.url),
    );
    if let Some(key) = key {
        request = request.header("X-Octopus-ApiKey", key);
    }
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send()?;
    let status = response.status().as_u16();
    let text = response.text()?;
    let body = serde_json::from_str(&text).map_err(|e| {
        format!("{method} {path} answered {status} with a body that is not JSON ({e}): {text:?}")
    })?;
    Ok((status, body))
}

#[test]
fn contract_error_bodies_are_octopus_errors() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let spec = Spec::load()?;
    let project = s.project("Errors", "Lifecycles-1")?;
    let process = format!("{SPACE}/deploymentprocesses/deploymentprocess-{project}");
    let mut stale = s.ok(&process)?;
    stale["Version"] = json!(41);
    expect(s.upload("Acme.Web.1.0.0.zip", b"PK\x03\x04", "")?, 201)?;
    let release = id(&s.release(&project, "1.0.0", json!([]))?)?;

    let stale = stale.to_string();
    let duplicate = json!({"ProjectId": project, "Version": "1.0.0"}).to_string();
    let nowhere = json!({"ReleaseId": release, "EnvironmentId": "Environments-999"}).to_string();
    let (envs, releases, deployments) = (
        format!("{SPACE}/environments"),
        format!("{SPACE}/releases"),
        format!("{SPACE}/deployments"),
    );
    let (key, wrong) = (Some(KEY), Some("API-WRONG"));
    // What, the status Octopus answers, and the request: method, path, API key, body.
    #[rustfmt::skip]
    let requests: [Request; 13] = [
        ("no API key", 401, "GET", &envs, None, None),
        ("a wrong API key", 401, "GET", &envs, wrong, None),
        ("a wrong ApiKey parameter", 401, "GET", "/api/projects?ApiKey=API-WRONG", None, None),
        ("a missing environment", 404, "GET", "/api/environments/Environments-9", key, None),
        ("a missing task's details", 404, "GET", "/api/tasks/ServerTasks-9/details", key, None),
        ("a missing space", 404, "GET", "/api/Spaces-9/environments", key, None),
        ("a route the stand-in does not serve", 404, "GET", "/api/Spaces-1/machines", key, None),
        ("an environment without a name", 400, "POST", &envs, key, Some("{}")),
        ("a body that is not JSON", 400, "POST", &envs, key, Some("{")),
        ("a bad take", 400, "GET", "/api/Spaces-1/environments?take=many", key, None),
        ("a stale process Version", 400, "PUT", &process, key, Some(&stale)),
        ("a duplicate release version", 400, "POST", &releases, key, Some(&duplicate)),
        ("a deployment to nowhere", 400, "POST", &deployments, key, Some(&nowhere)),
    ];
    let mut cases = Vec::new();
    for (what, want, method, path, key, body) in requests {
        cases.push((what, want, raw_request(&s, method, path, key, body)?));
    }
    let again = s.upload("Acme.Web.1.0.0.zip", b"PK\x03\x04", "")?;
    cases.push(("a package that exists", 409, (again.status, again.body)));

    let mut problems = Vec::new();
    for (what, want, (status, body)) in &cases {
        if status != want {
            problems.push(format!("{what}: expected {want}, got {status}: {body}"));
        }
        for problem in spec.validate_schema(&error_schema(false), body, &[]) {
            problems.push(format!("{what} ({status}): {problem} in {body}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

#[test]
fn contract_paging_envelope_matches_the_fixtures() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let spec = Spec::load()?;
    for n in 1..=31 {
        s.environment(&format!("Environment {n:02}"))?;
    }
    let envelope = keys(&fixture("paged-collection.git-branches.json")?);
    let path = format!("{SPACE}/environments");
    // (query, items on the page, whether there is a next page)
    let cases = [
        ("", 30, true),
        ("?skip=30", 1, false),
        ("?take=2", 2, true),
        ("?skip=28&take=2", 2, true),
        ("?skip=29&take=2", 2, false),
        ("?skip=30&take=2", 1, false),
        ("?take=31", 31, false),
        ("?skip=40", 0, false),
    ];
    for (query, items, next) in cases {
        let page = s.ok(&format!("{path}{query}"))?;
        let what = format!("GET {path}{query}");
        let problems = spec.validate("ResourceCollection_of_EnvironmentResource", &page);
        assert!(problems.is_empty(), "{what}: {problems:#?}");
        assert_eq!(keys(&page), envelope, "{what}: the envelope's keys");
        assert_eq!(page["ItemType"], json!("Environment"), "{what}");
        assert_eq!(page["TotalResults"], json!(31), "{what}");
        let take = page["ItemsPerPage"].as_u64().ok_or("no ItemsPerPage")?;
        let pages = 31_u64.div_ceil(take);
        assert_eq!(page["NumberOfPages"], json!(pages), "{what}");
        assert_eq!(page["LastPageNumber"], json!(pages - 1), "{what}");
        assert_eq!(
            page["Items"].as_array().map(Vec::len),
            Some(items),
            "{what}"
        );
        let links = &page["Links"];
        assert!(
            links["Self"].is_string(),
            "{what}: no Links.Self in {links}"
        );
        assert_eq!(
            links.get("Page.Next").is_some(),
            next,
            "{what}: Page.Next in {links}"
        );
        if let Some(next_link) = links.get("Page.Next").and_then(Value::as_str) {
            // The link leads to the following page.
            let following = s.ok(next_link)?;
            assert_eq!(following["TotalResults"], json!(31), "{what}: {next_link}");
            assert_ne!(
                following["Items"][0], page["Items"][0],
                "{what}: {next_link}"
            );
        }
    }
    assert_eq!(
        s.ok(&path)?["ItemsPerPage"],
        json!(30),
        "the default page size"
    );
    // The fixture follows the same rule: 139 tasks, 30 a page, first page, `Page.Next`.
    let old = fixture("task-list.page0.json")?;
    assert!(old["TotalResults"].as_u64() > old["ItemsPerPage"].as_u64());
    assert!(old["Links"].get("Page.Next").is_some());
    Ok(())
}
