//! Routes newer than Octopus Server 2020.5 that the stand-in served before it had profiles:
//! Git credentials (`git-credentials`) and the 2024.1+ tenant variable forms
//! (`tenants/{id}/projectvariables`, `commonvariables`). None is in the 2020.5 Swagger spec
//! (`fixtures/octopus/octopus_deploy.json`), so `--profile 2020.5` answers them 404 with
//! Octopus's body, as that server does, while the routes it had (`tenants/{id}/variables`)
//! stay; the current profile serves both. Zonebridge's client falls back to the older form
//! on such a 404 (octopus-api `TenantValues::read`), which its end-to-end tests show on both
//! profiles.

use serde_json::json;

use crate::harness::{Standin, TestResult, expect, id};

/// Every form of the newer routes, with and without the space segment.
fn newer_routes(tenant: &str) -> Vec<String> {
    let mut routes = Vec::new();
    for prefix in ["/api/Spaces-1", "/api"] {
        routes.push(format!("{prefix}/git-credentials"));
        routes.push(format!("{prefix}/git-credentials/all"));
        routes.push(format!("{prefix}/tenants/{tenant}/projectvariables"));
        routes.push(format!("{prefix}/tenants/{tenant}/commonvariables"));
    }
    routes
}

fn tenant(s: &Standin) -> Result<String, Box<dyn std::error::Error>> {
    id(&s.create("/api/Spaces-1/tenants", &json!({"Name": "Acme"}))?)
}

#[test]
fn a_2020_5_server_answers_the_newer_routes_404_and_keeps_the_older_ones() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let tenant = tenant(&s)?;
    for route in newer_routes(&tenant) {
        let body = expect(s.get(&route)?, 404)?;
        assert_eq!(
            body["ErrorMessage"], "The resource you requested was not found.",
            "{route}"
        );
    }
    let body = json!({"Name": "GitHub", "Details": {"Type": "UsernamePassword",
                      "Username": "bot", "Password": {"HasValue": true, "NewValue": "x"}}});
    expect(s.post("/api/Spaces-1/git-credentials", &body)?, 404)?;
    expect(
        s.put(
            &format!("/api/Spaces-1/tenants/{tenant}/projectvariables"),
            &json!({"Variables": []}),
        )?,
        404,
    )?;
    // What 2020.5 had is still there.
    let combined = s.ok(&format!("/api/Spaces-1/tenants/{tenant}/variables"))?;
    assert_eq!(combined["TenantId"], tenant.as_str());
    s.ok("/api/Spaces-1/tenants/all")?;
    Ok(())
}

#[test]
fn a_current_server_serves_the_newer_routes() -> TestResult {
    for args in [&["--profile", "2025"][..], &[][..]] {
        let s = Standin::start_with(args)?;
        let tenant = tenant(&s)?;
        for route in newer_routes(&tenant) {
            expect(s.get(&route)?, 200)?;
        }
        s.ok(&format!("/api/Spaces-1/tenants/{tenant}/variables"))?;
    }
    Ok(())
}
