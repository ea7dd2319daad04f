//! API keys with roles (`--role-key`): inside its role a key works as the admin key; outside it
//! every route answers 403 with Octopus's body naming the missing permission; a route the table
//! does not list is admin-only. The path base (`--path-base`) and the reported version
//! (`--server-version`).

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult};

const FORBIDDEN: &str = "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: ";

/// `method path` with `key`: status and JSON body.
fn call(
    standin: &Standin,
    key: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let mut request = standin
        .client()
        .request(
            reqwest::Method::from_bytes(method.as_bytes())?,
            format!("{}{path}", standin.url),
        )
        .header("X-Octopus-ApiKey", key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send()?;
    let status = response.status().as_u16();
    let text = response.text()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn assert_forbidden(reply: (u16, Value), permission: &str) {
    let message = format!("{FORBIDDEN}{permission}");
    assert_eq!(reply.0, 403, "{}", reply.1);
    assert_eq!(reply.1["ErrorMessage"], json!(message));
    assert_eq!(reply.1["Errors"], json!([message]));
    assert!(
        reply.1["HelpText"]
            .as_str()
            .is_some_and(|h| h.contains(permission))
    );
}

#[test]
fn a_role_key_reads_inside_its_role_and_gets_403_naming_the_permission_outside() -> TestResult {
    let standin = Standin::start_with(&["--role-key", "API-VIEWER=ProjectView,EnvironmentView"])?;
    standin.environment("Production")?;
    for path in [
        "/api/Spaces-1/projects",
        "/api/projects/all",
        "/api/Spaces-1/environments",
        "/api/spaces/all",
    ] {
        let (status, body) = call(&standin, "API-VIEWER", "GET", path, None)?;
        assert_eq!(status, 200, "{path}: {body}");
    }
    for (method, path, body, permission) in [
        ("GET", "/api/Spaces-1/releases", None, "ReleaseView"),
        ("GET", "/api/Spaces-1/feeds/all", None, "FeedView"),
        ("GET", "/api/Spaces-1/lifecycles", None, "LifecycleView"),
        (
            "GET",
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1",
            None,
            "ProcessView",
        ),
        (
            "GET",
            "/api/Spaces-1/variables/variableset-Projects-1",
            None,
            "VariableView",
        ),
        (
            "GET",
            "/api/Spaces-1/packages/packages-A.1.0.0/raw",
            None,
            "BuiltInFeedDownload",
        ),
        (
            "POST",
            "/api/Spaces-1/environments",
            Some(json!({"Name": "X"})),
            "EnvironmentCreate",
        ),
        (
            "POST",
            "/api/Spaces-1/projects",
            Some(json!({"Name": "X"})),
            "ProjectCreate",
        ),
        (
            "POST",
            "/api/Spaces-1/deployments",
            Some(json!({})),
            "DeploymentCreate",
        ),
        ("GET", "/api/teams", None, "TeamView"),
    ] {
        assert_forbidden(
            call(&standin, "API-VIEWER", method, path, body.as_ref())?,
            permission,
        );
    }
    // Nothing was created by the refused writes.
    let (_, environments) = call(
        &standin,
        "API-VIEWER",
        "GET",
        "/api/Spaces-1/environments/all",
        None,
    )?;
    assert_eq!(environments.as_array().map(Vec::len), Some(1));
    Ok(())
}

#[test]
fn the_permission_is_checked_before_the_resource_so_a_403_reveals_nothing() -> TestResult {
    let standin = Standin::start_with(&["--role-key", "API-NONE="])?;
    // A resource that exists and one that does not get the same answer.
    assert_forbidden(
        call(
            &standin,
            "API-NONE",
            "GET",
            "/api/Spaces-1/projects/Projects-1",
            None,
        )?,
        "ProjectView",
    );
    assert_forbidden(
        call(
            &standin,
            "API-NONE",
            "GET",
            "/api/Spaces-1/projects/Projects-999",
            None,
        )?,
        "ProjectView",
    );
    // The anonymous root documents stay readable.
    assert_eq!(call(&standin, "API-NONE", "GET", "/api", None)?.0, 200);
    assert_eq!(
        call(&standin, "API-NONE", "GET", "/api/Spaces-1", None)?.0,
        200
    );
    Ok(())
}

#[test]
fn a_route_without_a_table_entry_is_admin_only() -> TestResult {
    let standin = Standin::start_with(&[
        "--role-key",
        "API-MOST=ProjectView,ProcessView,ProcessEdit,VariableView,VariableEdit,ReleaseView,ReleaseCreate,ReleaseEdit,ReleaseDelete,DeploymentView,DeploymentCreate,TaskView,FeedView,FeedEdit,EnvironmentView,LifecycleView",
    ])?;
    for (method, path) in [
        ("GET", "/api/Spaces-1/somethingnew"),
        (
            "DELETE",
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-Projects-1",
        ),
        ("PUT", "/api/Spaces-1/tasks/ServerTasks-1"),
    ] {
        assert_forbidden(
            call(&standin, "API-MOST", method, path, Some(&json!({})))?,
            "AdministerSystem",
        );
    }
    // The admin key reaches the same routes (and gets the router's own answer).
    let (status, _) = call(
        &standin,
        crate::harness::KEY,
        "GET",
        "/api/Spaces-1/somethingnew",
        None,
    )?;
    assert_eq!(status, 404);
    Ok(())
}

#[test]
fn a_role_key_writes_inside_its_role() -> TestResult {
    let standin =
        Standin::start_with(&["--role-key", "API-ENV=EnvironmentView,EnvironmentCreate"])?;
    let (status, body) = call(
        &standin,
        "API-ENV",
        "POST",
        "/api/Spaces-1/environments",
        Some(&json!({"Name": "Staging"})),
    )?;
    assert_eq!(status, 201, "{body}");
    assert_forbidden(
        call(
            &standin,
            "API-ENV",
            "PUT",
            &format!(
                "/api/Spaces-1/environments/{}",
                body["Id"].as_str().unwrap_or("")
            ),
            Some(&body),
        )?,
        "EnvironmentEdit",
    );
    Ok(())
}

#[test]
fn a_wrong_key_is_still_401_and_bad_role_keys_stop_the_start() -> TestResult {
    let standin = Standin::start_with(&["--role-key", "API-VIEWER=ProjectView"])?;
    let (status, _) = call(
        &standin,
        "API-VIEWER2",
        "GET",
        "/api/Spaces-1/projects",
        None,
    )?;
    assert_eq!(status, 401);
    for bad in ["API-X=ProjectVeiw", "API-X", "=ProjectView"] {
        assert!(Standin::start_with(&["--role-key", bad]).is_err(), "{bad}");
    }
    // The admin key cannot be reused as a role key.
    assert!(
        Standin::start_with(&[
            "--role-key",
            &format!("{}=ProjectView", crate::harness::KEY)
        ])
        .is_err()
    );
    Ok(())
}

#[test]
fn under_a_path_base_the_api_and_its_page_links_carry_it() -> TestResult {
    let standin = Standin::start_with(&["--path-base", "/octopus"])?;
    for name in ["A", "B", "C"] {
        let (status, _) = call(
            &standin,
            crate::harness::KEY,
            "POST",
            "/octopus/api/Spaces-1/environments",
            Some(&json!({"Name": name})),
        )?;
        assert_eq!(status, 201);
    }
    let (status, page) = call(
        &standin,
        crate::harness::KEY,
        "GET",
        "/octopus/api/Spaces-1/environments?skip=0&take=2",
        None,
    )?;
    assert_eq!(status, 200);
    assert_eq!(
        page["Links"]["Page.Next"],
        "/octopus/api/Spaces-1/environments?skip=2&take=2"
    );
    let (_, root) = call(&standin, crate::harness::KEY, "GET", "/octopus/api", None)?;
    assert_eq!(root["Links"]["Self"], "/octopus/api");
    assert_eq!(
        root["Links"]["Environments"],
        "/octopus/api/Spaces-1/environments{/id}{?name,skip,ids,take,partialName}"
    );
    // Nothing answers at the root any more.
    assert_eq!(
        call(
            &standin,
            crate::harness::KEY,
            "GET",
            "/api/Spaces-1/environments",
            None
        )?
        .0,
        404
    );
    for bad in ["octopus", "/octopus/api", "/oct opus"] {
        assert!(Standin::start_with(&["--path-base", bad]).is_err(), "{bad}");
    }
    Ok(())
}

#[test]
fn the_reported_server_version_follows_the_profile_unless_chosen() -> TestResult {
    let standin = Standin::start_with(&["--server-version", "2024.1.100"])?;
    assert_eq!(standin.ok("/api")?["Version"], "2024.1.100");
    let old = Standin::start_with(&["--profile", "2020.5"])?;
    assert_eq!(old.ok("/api")?["Version"], "2020.5.0");
    let current = Standin::start_with(&["--profile", "2025"])?;
    assert_eq!(current.ok("/api")?["Version"], "2025.1.5054");
    for bad in ["2024", "2020.5.0", "latest"] {
        assert!(Standin::start_with(&["--profile", bad]).is_err(), "{bad}");
    }
    Ok(())
}
