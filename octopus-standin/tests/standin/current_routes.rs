//! The reads and writes current clients make besides the executions API: `users/me` (both
//! profiles), `projects/{id}/releases?searchByVersion=` and `projects/{id}/deploymentprocesses`
//! (2025 only), each against `--profile 2020.5` too.

use serde_json::{Value, json};

use crate::harness::{KEY, Standin, TestResult, expect, script_step};
use crate::swagger::conforms;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn get_with(s: &Standin, key: Option<&str>, path: &str) -> Res<(u16, Value)> {
    let mut request = s.client().get(format!("{}{path}", s.url));
    if let Some(key) = key {
        request = request.header("X-Octopus-ApiKey", key);
    }
    let response = request.send()?;
    let status = response.status().as_u16();
    Ok((status, response.json().unwrap_or(Value::Null)))
}

#[test]
fn users_me_names_the_keys_user_on_both_profiles() -> TestResult {
    for profile in ["2020.5", "2025"] {
        let s = Standin::start_with(&["--profile", profile, "--role-key", "API-CI=ProjectView"])?;
        let (status, admin) = get_with(&s, Some(KEY), "/api/users/me")?;
        assert_eq!(status, 200, "{profile}: {admin}");
        conforms("UserResource", &admin)?;
        assert_eq!(admin["Id"], "Users-1");
        assert_eq!(admin["Username"], "admin");
        assert_eq!(
            (admin["IsActive"].clone(), admin["IsService"].clone()),
            (json!(true), json!(false))
        );
        assert_eq!(admin["Links"]["Self"], "/api/users/Users-1");
        // A role key is its own user, and needs no permission to read itself.
        let (status, ci) = get_with(&s, Some("API-CI"), "/api/users/me")?;
        assert_eq!(status, 200, "{profile}: {ci}");
        conforms("UserResource", &ci)?;
        assert_eq!(ci["Id"], "Users-2");
        assert_eq!(ci["IsService"], true);
        // No key, or a wrong one: 401; the route is not space-scoped.
        assert_eq!(get_with(&s, None, "/api/users/me")?.0, 401);
        assert_eq!(get_with(&s, Some("API-WRONG"), "/api/users/me")?.0, 401);
        assert_eq!(get_with(&s, Some(KEY), "/api/Spaces-1/users/me")?.0, 404);
    }
    Ok(())
}

#[test]
fn search_by_version_filters_on_2025_and_is_ignored_by_2020_5() -> TestResult {
    for (profile, filtered) in [("2025", true), ("2020.5", false)] {
        let s = Standin::start_with(&["--profile", profile])?;
        let project = s.project("Payments API", "Lifecycles-1")?;
        s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
        for version in ["1.0.0", "1.1.0", "2.1.0-Beta", "10.0.1"] {
            s.release(&project, version, json!([]))?;
        }
        let versions = |query: &str| -> Res<Vec<String>> {
            let page = s.ok(&format!("/api/Spaces-1/projects/{project}/releases{query}"))?;
            Ok(page["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["Version"].as_str())
                .map(str::to_owned)
                .collect())
        };
        let all = versions("")?;
        assert_eq!(
            all,
            ["10.0.1", "2.1.0-Beta", "1.1.0", "1.0.0"],
            "newest first"
        );
        for (query, want) in [
            ("?searchByVersion=1.0", vec!["2.1.0-Beta", "1.1.0", "1.0.0"]),
            ("?searchByVersion=10", vec!["10.0.1"]),
            ("?searchByVersion=beta", vec!["2.1.0-Beta"]),
            ("?searchByVersion=9.9", vec![]),
            ("?searchByVersion=.1&take=1", vec!["10.0.1"]),
        ] {
            let got = versions(query)?;
            if filtered {
                assert_eq!(got, want, "{profile} {query}");
            } else {
                let take_one = query.contains("take=1");
                let expected: Vec<&str> = all
                    .iter()
                    .map(String::as_str)
                    .take(if take_one { 1 } else { 4 })
                    .collect();
                assert_eq!(
                    got, expected,
                    "{profile} {query}: an old server ignores the parameter"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn a_projects_deployment_process_by_the_project_on_2025_only() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    let by_project = s.ok(&format!(
        "/api/Spaces-1/projects/{project}/deploymentprocesses"
    ))?;
    let by_id = s.ok(&format!(
        "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
    ))?;
    assert_eq!(by_project, by_id);
    // By slug and without the space too; an unknown project is a 404.
    assert_eq!(
        s.ok("/api/projects/payments-api/deploymentprocesses")?["Id"],
        by_id["Id"]
    );
    assert_eq!(
        s.get("/api/Spaces-1/projects/Projects-99/deploymentprocesses")?
            .status,
        404
    );
    // PUT follows the same rules as deploymentprocesses/{id}: a stale Version is refused.
    let mut changed = by_project.clone();
    changed["Steps"] = json!([script_step("Migrate", "echo hi")]);
    let saved = expect(
        s.put(
            &format!("/api/Spaces-1/projects/{project}/deploymentprocesses"),
            &changed,
        )?,
        200,
    )?;
    assert_eq!(saved["Steps"][0]["Name"], "Migrate");
    assert_eq!(
        s.ok(&format!(
            "/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}"
        ))?["Steps"][0]["Name"],
        "Migrate"
    );
    let stale = expect(
        s.put(
            &format!("/api/Spaces-1/projects/{project}/deploymentprocesses"),
            &changed,
        )?,
        400,
    )?;
    assert!(
        stale["Errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("another user has made changes"),
        "{stale}"
    );
    let mut bad = saved.clone();
    bad["Steps"] = json!("none");
    assert_eq!(
        s.put(
            &format!("/api/Spaces-1/projects/{project}/deploymentprocesses"),
            &bad
        )?
        .status,
        400
    );

    let old = Standin::start_with(&["--profile", "2020.5"])?;
    let project = old.project("Payments API", "Lifecycles-1")?;
    let reply = old.get(&format!(
        "/api/Spaces-1/projects/{project}/deploymentprocesses"
    ))?;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body["ErrorMessage"],
        "The resource you requested was not found."
    );
    assert_eq!(
        old.put(
            &format!("/api/Spaces-1/projects/{project}/deploymentprocesses"),
            &by_id
        )?
        .status,
        404
    );
    Ok(())
}
