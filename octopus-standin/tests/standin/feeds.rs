//! External feeds: per-type fields and a sensitive `Password`, the feed search API
//! (`feeds/{id}/packages/versions`) answering from the versions seeded into a feed, release
//! creation refusing a version the feed does not list, a `FeedId` given as a variable
//! expression, and deployments acquiring external packages.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id};

/// Creates a Docker feed and a Helm feed with seeded versions; returns their ids.
fn feeds(standin: &Standin) -> Result<(String, String), Box<dyn std::error::Error>> {
    let docker = id(&standin.create(
        "/api/Spaces-1/feeds",
        &json!({
            "Name": "Docker Hub", "FeedType": "Docker", "FeedUri": "https://index.docker.io",
            "Username": "ci", "Password": {"HasValue": true, "NewValue": "hunter2"},
            "StandinPackages": {"payments/api": ["1.25.3", "1.25.4", "1.26.0-rc.1", "latest"]}
        }),
    )?)?;
    let helm = id(&standin.create(
        "/api/Spaces-1/feeds",
        &json!({
            "Name": "Charts", "FeedType": "Helm", "FeedUri": "https://charts.example.test",
            "StandinPackages": {"payments": ["2.1.0", "2.0.9"]}
        }),
    )?)?;
    Ok((docker, helm))
}

fn versions(reply: &Value) -> Vec<String> {
    reply["Items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["Version"].as_str().map(str::to_owned))
        .collect()
}

fn container_step(docker: &str, helm: &str) -> Value {
    json!({
        "Name": "Deploy to cluster",
        "Actions": [{
            "Name": "Deploy to cluster",
            "ActionType": "Octopus.KubernetesDeployContainers",
            "Packages": [
                {"Name": "api", "PackageId": "payments/api", "FeedId": docker, "AcquisitionLocation": "NotAcquired"},
                {"Name": "chart", "PackageId": "payments", "FeedId": helm, "AcquisitionLocation": "Server"}
            ]
        }]
    })
}

#[test]
fn a_feed_keeps_its_type_fields_and_hides_its_password() -> TestResult {
    let standin = Standin::start()?;
    let (docker, _) = feeds(&standin)?;
    let feed = standin.ok(&format!("/api/Spaces-1/feeds/{docker}"))?;
    assert_eq!(feed["FeedUri"], "https://index.docker.io");
    assert_eq!(feed["Username"], "ci");
    assert_eq!(
        feed["Password"],
        json!({"HasValue": true, "NewValue": null})
    );
    assert!(!feed.to_string().contains("hunter2"));
    assert_eq!(
        feed["Links"]["SearchPackageVersionsTemplate"],
        format!(
            "/api/Spaces-1/feeds/{docker}/packages/versions{{?packageId,take,skip,includePreRelease,versionRange,preReleaseTag,filter,includeReleaseNotes}}"
        )
    );
    // Sent back as read, the password stays; `HasValue: false` clears it.
    let kept = expect(
        standin.put(&format!("/api/Spaces-1/feeds/{docker}"), &feed)?,
        200,
    )?;
    assert_eq!(kept["Password"]["HasValue"], true);
    let mut cleared = feed.clone();
    cleared["Password"] = json!({"HasValue": false, "NewValue": null});
    let cleared = expect(
        standin.put(&format!("/api/Spaces-1/feeds/{docker}"), &cleared)?,
        200,
    )?;
    assert_eq!(cleared["Password"]["HasValue"], false);
    // A malformed seeded list is refused.
    for bad in [
        json!({"x": "1.0"}),
        json!({"x": [""]}),
        json!(["1.0"]),
        json!({"x": [1]}),
    ] {
        let reply = standin.post(
            "/api/Spaces-1/feeds",
            &json!({"Name": "Bad", "FeedType": "Docker", "StandinPackages": bad}),
        )?;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.body);
    }
    Ok(())
}

#[test]
fn the_search_api_lists_a_packages_versions_newest_first_with_filters() -> TestResult {
    let standin = Standin::start()?;
    let (docker, helm) = feeds(&standin)?;
    let base = format!("/api/Spaces-1/feeds/{docker}/packages/versions");
    let all = standin.ok(&format!(
        "{base}?packageId=payments/api&includePreRelease=true"
    ))?;
    assert_eq!(all["ItemType"], "PackageVersion");
    assert_eq!(
        versions(&all),
        ["1.26.0-rc.1", "1.25.4", "1.25.3", "latest"]
    );
    assert_eq!(all["Items"][0]["FeedId"], docker.as_str());
    assert_eq!(all["Items"][0]["PackageId"], "payments/api");
    // Pre-releases only when asked for; `latest` is a tag, not a pre-release.
    let stable = standin.ok(&format!("{base}?packageId=payments/api"))?;
    assert_eq!(versions(&stable), ["1.25.4", "1.25.3"]);
    let exact = standin.ok(&format!(
        "{base}?packageId=PAYMENTS/API&versionRange=%5B1.25.3%5D&includePreRelease=true&take=1"
    ))?;
    assert_eq!(versions(&exact), ["1.25.3"]);
    let missing = standin.ok(&format!(
        "{base}?packageId=payments/api&versionRange=%5B9.9.9%5D&includePreRelease=true"
    ))?;
    assert_eq!(versions(&missing), Vec::<String>::new());
    let take = standin.ok(&format!("{base}?packageId=payments/api&take=1"))?;
    assert_eq!(versions(&take), ["1.25.4"]);
    assert!(take["Links"]["Page.Next"].is_string());
    let helm_versions = standin.ok(&format!(
        "/api/Spaces-1/feeds/{helm}/packages/versions?packageId=payments&filter=2.1"
    ))?;
    assert_eq!(versions(&helm_versions), ["2.1.0"]);
    // The Swagger 400 descriptions; an unknown feed is a 404.
    let no_package = standin.get(&base)?;
    assert_eq!(no_package.status, 400);
    assert_eq!(
        no_package.body["ErrorMessage"],
        "No packageId parameter was provided."
    );
    let bad_range = standin.get(&format!("{base}?packageId=x&versionRange=%5B1.0"))?;
    assert_eq!(bad_range.status, 400, "{}", bad_range.body);
    let unknown = standin.get("/api/Spaces-1/feeds/Feeds-999/packages/versions?packageId=x")?;
    assert_eq!(unknown.status, 404);
    Ok(())
}

#[test]
fn the_built_in_feed_lists_what_was_uploaded() -> TestResult {
    let standin = Standin::start()?;
    expect(standin.upload("Payments.Api.1.4.0.zip", b"a", "")?, 201)?;
    expect(standin.upload("Payments.Api.1.4.1.zip", b"b", "")?, 201)?;
    let listed =
        standin.ok("/api/Spaces-1/feeds/feeds-builtin/packages/versions?packageId=Payments.Api")?;
    assert_eq!(versions(&listed), ["1.4.1", "1.4.0"]);
    assert_eq!(listed["Items"][0]["SizeBytes"], 1);
    Ok(())
}

#[test]
fn a_release_selecting_versions_the_external_feeds_lack_is_refused_naming_each() -> TestResult {
    let standin = Standin::start()?;
    let (docker, helm) = feeds(&standin)?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    standin.set_steps(&project, json!([container_step(&docker, &helm)]))?;
    let select = |api: &str, chart: &str| {
        json!([
            {"ActionName": "Deploy to cluster", "PackageReferenceName": "api", "Version": api},
            {"ActionName": "Deploy to cluster", "PackageReferenceName": "chart", "Version": chart}
        ])
    };
    let refused = standin.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.0.0", "SelectedPackages": select("9.9.9", "3.0.0")}),
    )?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(
        refused.body["Errors"],
        json!([
            "The package payments/api version 9.9.9 was not found in the feed 'Docker Hub'",
            "The package payments version 3.0.0 was not found in the feed 'Charts'"
        ])
    );
    let none = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?;
    assert_eq!(none["TotalResults"], 0);
    let release = standin.release(&project, "1.0.0", select("1.25.3", "2.1.0"))?;
    // A version removed from the feed is refused on update as on creation.
    let mut changed = release.clone();
    changed["SelectedPackages"] = select("1.25.3", "2.2.0");
    let reply = standin.put(
        &format!("/api/Spaces-1/releases/{}", id(&release)?),
        &changed,
    )?;
    assert_eq!(reply.status, 400, "{}", reply.body);
    Ok(())
}

#[test]
fn a_feed_expression_is_bound_when_the_deployment_runs() -> TestResult {
    let standin = Standin::start()?;
    let (docker, _) = feeds(&standin)?;
    let environment = standin.environment("Production")?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    // A feed that does not exist is refused; an expression is kept as written.
    let unknown = json!([{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.KubernetesDeployContainers",
        "Packages": [{"Name": "api", "PackageId": "payments/api", "FeedId": "Feeds-404"}]}]}]);
    let path = format!("/api/Spaces-1/deploymentprocesses/deploymentprocess-{project}");
    let mut process = standin.ok(&path)?;
    process["Steps"] = unknown;
    assert_eq!(standin.put(&path, &process)?.status, 400);
    let process = standin.set_steps(
        &project,
        json!([{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.KubernetesDeployContainers",
            "Packages": [{"Name": "api", "PackageId": "payments/api", "FeedId": "#{Kubernetes.Feed}"}]}]}]),
    )?;
    assert_eq!(
        process["Steps"][0]["Actions"][0]["Packages"][0]["FeedId"],
        "#{Kubernetes.Feed}"
    );
    standin.set_variables(
        &project,
        json!([{"Name": "Kubernetes.Feed", "Value": docker}]),
    )?;
    let select =
        |v: &str| json!([{"ActionName": "Deploy", "PackageReferenceName": "api", "Version": v}]);
    let good = standin.release(&project, "1.0.0", select("1.25.4"))?;
    let task = standin.deploy(&id(&good)?, &environment)?;
    let done = standin.wait_for_task(
        task["TaskId"].as_str().ok_or("no task")?,
        Duration::from_secs(30),
    )?;
    assert_eq!(done["State"], "Success", "{done}");
    let log = standin.raw_log(task["TaskId"].as_str().ok_or("no task")?)?;
    assert!(
        log.contains(
            "Acquired package payments/api version 1.25.4 from the feed 'Docker Hub' (Docker)"
        ),
        "{log}"
    );
    // The feed is known only when the deployment runs: a missing version fails it then.
    let bad = standin.release(&project, "1.0.1", select("9.9.9"))?;
    let task = standin.deploy(&id(&bad)?, &environment)?;
    let task_id = task["TaskId"].as_str().ok_or("no task")?;
    let failed = standin.wait_for_task(task_id, Duration::from_secs(30))?;
    assert_eq!(failed["State"], "Failed", "{failed}");
    assert!(
        standin.raw_log(task_id)?.contains(
            "The package payments/api version 9.9.9 was not found in the feed 'Docker Hub'"
        )
    );
    Ok(())
}
