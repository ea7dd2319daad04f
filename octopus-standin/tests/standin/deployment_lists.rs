//! Finding deployments: a release's deployments (`GET releases/{id}/deployments`) and the
//! deployments list filtered by `projects`, `environments`, `tenants` and `channels`
//! (comma-separated ids, the parameters of the root document's `Deployments` template), and
//! what each deployment document carries.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, script_step};
use crate::swagger::{conforms, is_date_time};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(30);

/// The ids of a page's items, in order.
fn ids(page: &Value) -> Vec<String> {
    page["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["Id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn deployments_are_found_by_release_project_environment_and_tenant() -> TestResult {
    let s = Standin::start()?;
    let dev = s.environment("Development")?;
    let prod = s.environment("Production")?;
    let payments = id(&s.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Payments API", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1",
                "TenantedDeploymentMode": "TenantedOrUntenanted"}),
    )?)?;
    let ledger = s.project("Ledger Worker", "Lifecycles-1")?;
    for project in [&payments, &ledger] {
        s.set_steps(project, json!([script_step("Say", "echo hi")]))?;
    }
    let tenant = id(&s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Acquirer EU", "ProjectEnvironments": {payments.as_str(): [prod]}}),
    )?)?;
    let release = |project: &str, version: &str| -> Res<String> {
        id(&s.release(project, version, json!([]))?)
    };
    let (p1, p2, l1) = (
        release(&payments, "1.4.0")?,
        release(&payments, "1.4.1")?,
        release(&ledger, "2.0.3")?,
    );
    let mut made: Vec<(String, Value)> = Vec::new();
    for (name, release, env, tenant) in [
        ("p1-dev", &p1, &dev, None),
        ("p1-prod-tenant", &p1, &prod, Some(tenant.as_str())),
        ("p2-dev", &p2, &dev, None),
        ("l1-prod", &l1, &prod, None),
    ] {
        let deployment = s.create(
            "/api/Spaces-1/deployments",
            &json!({"ReleaseId": release, "EnvironmentId": env, "TenantId": tenant}),
        )?;
        made.push((name.to_owned(), deployment));
    }
    let by_name = |name: &str| -> Res<String> {
        made.iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| id(d))
            .ok_or_else(|| format!("no deployment {name}"))?
    };

    // Each deployment carries what a client needs to follow it.
    for (name, deployment) in &made {
        let task = deployment["TaskId"].as_str().ok_or("no TaskId")?;
        assert_eq!(s.wait_for_task(task, WAIT)?["State"], "Success", "{name}");
        let doc = s.ok(&format!("/api/Spaces-1/deployments/{}", id(deployment)?))?;
        conforms("DeploymentResource", &doc)?;
        let created = doc["Created"].as_str().unwrap_or_default();
        assert!(
            is_date_time(created) && created.get(23..).is_some_and(|o| o.starts_with(['+', '-'])),
            "Created with an offset: {created}"
        );
        for field in ["ReleaseId", "EnvironmentId", "ProjectId", "TaskId"] {
            assert!(
                doc[field].as_str().is_some_and(|v| !v.is_empty()),
                "{name}: {field} of {doc}"
            );
        }
        let want_tenant = if name.ends_with("tenant") {
            json!(tenant)
        } else {
            Value::Null
        };
        assert_eq!(doc["TenantId"], want_tenant, "{name}");
        assert!(
            doc.as_object().is_some_and(|o| o.contains_key("TenantId")),
            "{name}"
        );
    }
    let project_of = |d: &str| -> Res<String> {
        Ok(
            s.ok(&format!("/api/Spaces-1/deployments/{d}"))?["ProjectId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    assert_eq!(project_of(&by_name("l1-prod")?)?, ledger);

    // A release's deployments, newest first, in both route forms.
    for prefix in ["/api/Spaces-1", "/api"] {
        let page = s.ok(&format!("{prefix}/releases/{p1}/deployments"))?;
        conforms("ResourceCollection_of_DeploymentResource", &page)?;
        assert_eq!(page["ItemType"], "Deployment");
        assert_eq!(ids(&page), [by_name("p1-prod-tenant")?, by_name("p1-dev")?]);
    }
    let one = s.ok(&format!("/api/Spaces-1/releases/{p2}/deployments?take=1"))?;
    assert_eq!(ids(&one), [by_name("p2-dev")?]);
    expect(
        s.get("/api/Spaces-1/releases/Releases-99/deployments")?,
        404,
    )?;

    // The list's filters, alone and together.
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("projects={payments}"),
            vec!["p2-dev", "p1-prod-tenant", "p1-dev"],
        ),
        (
            format!("projects={payments},{ledger}"),
            vec!["l1-prod", "p2-dev", "p1-prod-tenant", "p1-dev"],
        ),
        (
            format!("environments={prod}"),
            vec!["l1-prod", "p1-prod-tenant"],
        ),
        (
            format!("environments={dev},{prod}&projects={ledger}"),
            vec!["l1-prod"],
        ),
        (format!("tenants={tenant}"), vec!["p1-prod-tenant"]),
        (format!("tenants={tenant}&environments={dev}"), vec![]),
        (format!("projects={ledger}&environments={dev}"), vec![]),
        ("projects=Projects-99".to_owned(), vec![]),
    ];
    for (query, want) in cases {
        let page = s.ok(&format!("/api/Spaces-1/deployments?{query}"))?;
        conforms("ResourceCollection_of_DeploymentResource", &page)?;
        let want: Vec<String> = want.iter().map(|n| by_name(n)).collect::<Res<_>>()?;
        assert_eq!(ids(&page), want, "{query}");
        assert_eq!(page["TotalResults"], want.len(), "{query}");
    }
    let root = s.ok("/api/Spaces-1")?;
    assert_eq!(
        root["Links"]["Deployments"],
        "/api/Spaces-1/deployments{/id}{?skip,take,ids,projects,environments,tenants,channels}"
    );
    Ok(())
}
