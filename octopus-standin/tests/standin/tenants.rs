//! Tenants: the collection routes, the checks on `ProjectEnvironments`, and tenanted
//! deployments (the project's `TenantedDeploymentMode`, the tenant's connections, the
//! `Octopus.Deployment.Tenant.*` variables, the `tenants`/`tenant` filters).

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::conforms;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(30);

/// The first reason of a 400 validation failure.
fn reason(reply: crate::harness::Reply) -> Res<String> {
    let body = expect(reply, 400)?;
    assert_eq!(
        body["ErrorMessage"],
        "There was a problem with your request."
    );
    Ok(body["Errors"][0].as_str().unwrap_or_default().to_owned())
}

/// A project that allows tenanted deployments, with one script step printing the tenant.
fn tenanted_project(s: &Standin, name: &str, mode: &str) -> Res<String> {
    let project = id(&s.create(
        "/api/Spaces-1/projects",
        &json!({"Name": name, "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1",
                "TenantedDeploymentMode": mode}),
    )?)?;
    s.set_steps(
        &project,
        json!([script_step(
            "Who",
            "echo \"tenant #{Octopus.Deployment.Tenant.Name} (#{Octopus.Deployment.Tenant.Id})\""
        )]),
    )?;
    Ok(project)
}

#[test]
fn tenants_are_created_listed_filtered_changed_and_deleted() -> TestResult {
    let s = Standin::start()?;
    let staging = s.environment("PCI Staging")?;
    let production = s.environment("Production")?;
    let project = tenanted_project(&s, "Payments API", "TenantedOrUntenanted")?;
    let created = s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer EU", "Description": "The European acquirer.",
                "ProjectEnvironments": {project.as_str(): [staging, production, staging]}}),
    )?;
    conforms("TenantResource", &created)?;
    let tenant = id(&created)?;
    assert_eq!(tenant, "Tenants-1");
    assert_eq!(created["SpaceId"], "Spaces-1");
    assert_eq!(created["TenantTags"], json!([]));
    assert_eq!(
        created["ProjectEnvironments"],
        json!({project.as_str(): [staging, production]}),
        "duplicates dropped, order kept"
    );
    assert_eq!(created["Links"]["Self"], "/api/Spaces-1/tenants/Tenants-1");
    s.create("/api/Spaces-1/tenants", &json!({"Name": "Acquirer UK"}))?;

    // Lists: paged, `/all`, by id, with and without the space, and the filters of the root
    // document's `Tenants` template (`name`, `partialName`, `ids`, `projectId`).
    for prefix in ["/api/Spaces-1", "/api"] {
        let page = s.ok(&format!("{prefix}/tenants"))?;
        conforms("ResourceCollection_of_TenantResource", &page)?;
        conforms("[TenantResource]", &s.ok(&format!("{prefix}/tenants/all"))?)?;
        conforms(
            "TenantResource",
            &s.ok(&format!("{prefix}/tenants/{tenant}"))?,
        )?;
        assert_eq!(page["ItemType"], "Tenant");
        assert_eq!(page["TotalResults"], 2);
        assert_eq!(page["Items"][0]["Name"], "Acquirer EU", "by name");
        assert_eq!(
            s.ok(&format!("{prefix}/tenants/all"))?
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        assert_eq!(
            s.ok(&format!("{prefix}/tenants/{tenant}"))?["Name"],
            "Acquirer EU"
        );
    }
    for (query, want) in [
        ("name=acquirer%20eu", vec!["Acquirer EU"]),
        ("name=Acquirer", vec![]),
        ("partialName=acquirer", vec!["Acquirer EU", "Acquirer UK"]),
        ("ids=Tenants-2", vec!["Acquirer UK"]),
        (&format!("projectId={project}") as &str, vec!["Acquirer EU"]),
    ] {
        let page = s.ok(&format!("/api/Spaces-1/tenants?{query}"))?;
        conforms("ResourceCollection_of_TenantResource", &page)?;
        let got: Vec<&str> = page["Items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["Name"].as_str())
            .collect();
        assert_eq!(got, want, "{query}");
    }
    let root = s.ok("/api/Spaces-1")?;
    conforms("SpaceRootResource", &root)?;
    assert_eq!(
        root["Links"]["Tenants"],
        "/api/Spaces-1/tenants{/id}{?skip,projectId,name,take,ids,partialName}"
    );

    // PUT replaces; the checks apply again.
    let mut changed = created.clone();
    changed["Description"] = json!("Acquiring bank for the EU.");
    changed["ProjectEnvironments"] = json!({project.as_str(): [production]});
    let changed = expect(
        s.put(&format!("/api/Spaces-1/tenants/{tenant}"), &changed)?,
        200,
    )?;
    assert_eq!(changed["Description"], "Acquiring bank for the EU.");
    assert_eq!(
        changed["ProjectEnvironments"],
        json!({project.as_str(): [production]})
    );

    // Refusals: Octopus's validation shape, with the reason.
    for (body, want) in [
        (
            json!({"Name": "acquirer uk"}),
            "A tenant with the name 'acquirer uk' already exists",
        ),
        (
            json!({"Description": "no name"}),
            "The Name field is required.",
        ),
        (
            json!({"Name": "X", "ProjectEnvironments": {"Projects-99": []}}),
            "ProjectEnvironments refers to project 'Projects-99'",
        ),
        (
            json!({"Name": "X", "ProjectEnvironments": {project.as_str(): ["Environments-99"]}}),
            "ProjectEnvironments refers to environment 'Environments-99'",
        ),
        (
            json!({"Name": "X", "ProjectEnvironments": {project.as_str(): "Environments-1"}}),
            "must be a list of environment ids",
        ),
        (
            json!({"Name": "X", "TenantTags": ["Region/EU"]}),
            "TenantTags refers to tag 'Region/EU', which does not exist",
        ),
    ] {
        let got = reason(s.post("/api/Spaces-1/tenants", &body)?)?;
        assert!(got.contains(want), "{body}: {got}");
    }

    // Deleting an environment or a project removes it from the tenant's connections.
    expect(
        s.send(
            "DELETE",
            &format!("/api/Spaces-1/environments/{production}"),
            None,
        )?,
        200,
    )?;
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/tenants/{tenant}"))?["ProjectEnvironments"],
        json!({project.as_str(): []})
    );
    expect(
        s.send("DELETE", &format!("/api/Spaces-1/projects/{project}"), None)?,
        200,
    )?;
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/tenants/{tenant}"))?["ProjectEnvironments"],
        json!({})
    );
    expect(
        s.send("DELETE", &format!("/api/Spaces-1/tenants/{tenant}"), None)?,
        200,
    )?;
    expect(s.get(&format!("/api/Spaces-1/tenants/{tenant}"))?, 404)?;
    Ok(())
}

#[test]
fn a_tenanted_deployment_must_stay_within_the_tenants_connections() -> TestResult {
    let s = Standin::start()?;
    let staging = s.environment("PCI Staging")?;
    let production = s.environment("Production")?;
    let dr = s.environment("DR")?;
    let payments = tenanted_project(&s, "Payments API", "TenantedOrUntenanted")?;
    let ledger = tenanted_project(&s, "Ledger Worker", "TenantedOrUntenanted")?;
    let fraud = tenanted_project(&s, "Fraud Rules", "Untenanted")?;
    let only_tenants = tenanted_project(&s, "Acquirer Portal", "Tenanted")?;
    let tenant = id(&s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer EU", "ProjectEnvironments": {
            payments.as_str(): [staging, production],
            only_tenants.as_str(): [production],
            fraud.as_str(): [production]
        }}),
    )?)?;
    let release = |project: &str| -> Res<String> { id(&s.release(project, "1.0.0", json!([]))?) };
    let (payments_release, ledger_release, fraud_release, portal_release) = (
        release(&payments)?,
        release(&ledger)?,
        release(&fraud)?,
        release(&only_tenants)?,
    );
    let deploy = |release: &str, env: &str, tenant: Option<&str>| {
        s.post(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": env, "TenantId": tenant}),
        )
    };
    for (release, env, tenant, want) in [
        (
            &payments_release,
            &production,
            Some("Tenants-99"),
            "TenantId refers to tenant 'Tenants-99', which does not exist in Spaces-1.",
        ),
        (
            &payments_release,
            &dr,
            Some(tenant.as_str()),
            "The tenant 'Acquirer EU' is connected to project 'Payments API' in PCI Staging, Production only, not in DR: add DR to the tenant's ProjectEnvironments to deploy there.",
        ),
        (
            &ledger_release,
            &production,
            Some(tenant.as_str()),
            "The tenant 'Acquirer EU' is not connected to project 'Ledger Worker': connect it in the tenant's ProjectEnvironments first.",
        ),
        (
            &fraud_release,
            &production,
            Some(tenant.as_str()),
            "The project 'Fraud Rules' does not allow tenanted deployments (its TenantedDeploymentMode is Untenanted), so it cannot be deployed for tenant 'Acquirer EU'.",
        ),
        (
            &portal_release,
            &production,
            None,
            "The project 'Acquirer Portal' is deployed only for tenants (its TenantedDeploymentMode is Tenanted): name a TenantId.",
        ),
    ] {
        assert_eq!(reason(deploy(release, env, tenant)?)?, want);
    }
    assert_eq!(
        s.ok("/api/Spaces-1/deployments")?["TotalResults"],
        0,
        "nothing was queued"
    );
    let bad_mode = reason(s.post(
        "/api/Spaces-1/projects",
        &json!({"Name": "Odd", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "TenantedDeploymentMode": "Sometimes"}),
    )?)?;
    assert!(
        bad_mode.contains("TenantedDeploymentMode 'Sometimes' is not valid"),
        "{bad_mode}"
    );

    // Within its connections it deploys; the deployment keeps the tenant, the task names it,
    // and scripts see it.
    let tenanted = expect(deploy(&payments_release, &production, Some(&tenant))?, 201)?;
    conforms("DeploymentResource", &tenanted)?;
    assert_eq!(tenanted["TenantId"], tenant.as_str());
    let task = tenanted["TaskId"].as_str().ok_or("no TaskId")?.to_owned();
    let done = s.wait_for_task(&task, WAIT)?;
    conforms("TaskResource", &done)?;
    assert_eq!(done["State"], "Success", "{done}");
    assert_eq!(
        done["Description"],
        "Deploy Payments API release 1.0.0 to Production for Acquirer EU"
    );
    let log = s.raw_log(&task)?;
    assert!(log.contains("tenant Acquirer EU (Tenants-1)"), "{log}");
    let portal = expect(deploy(&portal_release, &production, Some(&tenant))?, 201)?;
    assert_eq!(portal["TenantId"], tenant.as_str());

    // Untenanted, `TenantId` is null and the variables are not defined (left as written).
    let untenanted = expect(deploy(&payments_release, &staging, None)?, 201)?;
    conforms("DeploymentResource", &untenanted)?;
    assert_eq!(untenanted["TenantId"], Value::Null);
    let task = untenanted["TaskId"].as_str().ok_or("no TaskId")?.to_owned();
    assert_eq!(s.wait_for_task(&task, WAIT)?["State"], "Success");
    assert!(
        s.raw_log(&task)?
            .contains("tenant #{Octopus.Deployment.Tenant.Name} (#{Octopus.Deployment.Tenant.Id})")
    );

    // Tasks are found by the tenant of their deployment (`GET tasks?tenant=`).
    let by_tenant = s.ok(&format!("/api/tasks?tenant={tenant}"))?;
    conforms("ResourceCollection_of_TaskResource", &by_tenant)?;
    assert_eq!(by_tenant["TotalResults"], 2, "{by_tenant}");
    let by_project = s.ok(&format!(
        "/api/tasks?project={payments}&environment={staging}"
    ))?;
    assert_eq!(by_project["TotalResults"], 1, "{by_project}");
    assert_eq!(by_project["Items"][0]["Id"], task.as_str());
    Ok(())
}
