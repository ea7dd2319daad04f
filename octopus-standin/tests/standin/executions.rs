//! The executions API of current servers: `releases/create/v1` and
//! `deployments/create/{untenanted,tenanted}/v1`, driven with the bodies Octopus's own clients
//! send (`@octopusdeploy/api-client`: PascalCase plus `spaceName`/`spaceIdOrName`/`spaceId`;
//! go-octopusdeploy: camelCase), their refusals, and `--profile 2020.5` not serving them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Reply, Standin, TestResult, expect, id, merged, package_step, script_step};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(30);
const CREATE_RELEASE: &str = "/api/Spaces-1/releases/create/v1";
const UNTENANTED: &str = "/api/Spaces-1/deployments/create/untenanted/v1";
const TENANTED: &str = "/api/Spaces-1/deployments/create/tenanted/v1";

/// Every reason of a 400 validation failure, joined.
fn reasons(reply: Reply) -> Res<String> {
    let body = expect(reply, 400)?;
    assert_eq!(
        body["ErrorMessage"], "There was a problem with your request.",
        "{body}"
    );
    let errors: Vec<&str> = body["Errors"]
        .as_array()
        .ok_or("no Errors")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    Ok(errors.join(" | "))
}

/// A step with a primary package and a second, named package reference.
fn two_package_step(name: &str) -> Value {
    json!({
        "Name": name,
        "Actions": [{
            "Name": name,
            "ActionType": "Octopus.TentaclePackage",
            "Packages": [
                {"Name": "", "PackageId": "Api", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"},
                {"Name": "migrations", "PackageId": "Migrations", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}
            ],
            "Properties": {"Octopus.Action.Package.PackageId": "Api", "Octopus.Action.Package.FeedId": "feeds-builtin"}
        }]
    })
}

fn upload(s: &Standin, package: &str, version: &str) -> TestResult {
    expect(
        s.upload(
            &format!("{package}.{version}.zip"),
            format!("{package} {version}").as_bytes(),
            "",
        )?,
        201,
    )?;
    Ok(())
}

/// The answer to a release command that succeeds.
fn release_command(s: &Standin, body: &Value) -> Res<Value> {
    expect(s.post(CREATE_RELEASE, body)?, 200)
}

/// The release a release command's answer names.
fn stored_release(s: &Standin, answer: &Value) -> Res<Value> {
    let id = answer["ReleaseId"].as_str().ok_or("no id")?;
    s.ok(&format!("/api/Spaces-1/releases/{id}"))
}

/// A project "Payments API" deployed only for tenants, with `steps` and a tag set `Region`
/// (EU, UK); returns its id.
fn tenanted_project(s: &Standin, steps: Value) -> Res<String> {
    let project = id(&s.create(
        "/api/Spaces-1/projects",
        &json!({"Name": "Payments API", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "TenantedDeploymentMode": "Tenanted"}),
    )?)?;
    s.set_steps(&project, steps)?;
    s.create(
        "/api/Spaces-1/tagsets",
        &json!({"Name": "Region", "Tags": [{"Name": "EU"}, {"Name": "UK"}]}),
    )?;
    Ok(project)
}

/// A release as the TypeScript client sends it (`ReleaseRepository.create`).
fn ts_release(project: &str, extra: Value) -> Value {
    merged(
        json!({"spaceIdOrName": "Default", "spaceName": "Default", "spaceId": "Spaces-1", "ProjectName": project}),
        extra,
    )
}

#[test]
fn releases_are_created_by_name_with_every_package_form() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(
        &project,
        json!([two_package_step("Deploy"), package_step("Worker", "Api")]),
    )?;
    for (package, version) in [
        ("Api", "1.0.0"),
        ("Api", "2.0.0"),
        ("Migrations", "1.0.0"),
        ("Migrations", "3.0.0"),
    ] {
        upload(&s, package, version)?;
    }
    // PackageVersion for all, by the TypeScript client's body.
    let created = release_command(
        &s,
        &ts_release(
            "Payments API",
            json!({"ReleaseVersion": "1.0.0", "PackageVersion": "1.0.0", "ReleaseNotes": "First."}),
        ),
    )?;
    assert_eq!(created["ReleaseVersion"], "1.0.0");
    let release = stored_release(&s, &created)?;
    assert_eq!(release["ProjectId"], project.as_str());
    assert_eq!(release["ReleaseNotes"], "First.");
    let versions = |r: &Value| -> Vec<String> {
        r["SelectedPackages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}:{}:{}",
                    p["ActionName"].as_str().unwrap_or(""),
                    p["PackageReferenceName"].as_str().unwrap_or(""),
                    p["Version"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(
        versions(&release),
        ["Deploy::1.0.0", "Deploy:migrations:1.0.0", "Worker::1.0.0"]
    );
    // StepName:Version, then StepName:PackageReferenceName:Version over it; the rest default.
    let created = release_command(
        &s,
        &ts_release(
            "payments api",
            json!({"ReleaseVersion": "1.1.0", "PackageVersion": "1.0.0", "Packages": ["Deploy:2.0.0", "Deploy:migrations:3.0.0"]}),
        ),
    )?;
    let release = stored_release(&s, &created)?;
    assert_eq!(
        versions(&release),
        ["Deploy::2.0.0", "Deploy:migrations:3.0.0", "Worker::1.0.0"]
    );
    // PackageId:Version sets every use of the package; unset ones take the feed's latest.
    let created = release_command(
        &s,
        &json!({"spaceId": "Spaces-1", "spaceIdOrName": "Spaces-1", "projectName": project, "releaseVersion": "1.2.0", "packages": ["Api:1.0.0"]}),
    )?;
    let release = stored_release(&s, &created)?;
    assert_eq!(
        versions(&release),
        ["Deploy::1.0.0", "Deploy:migrations:3.0.0", "Worker::1.0.0"]
    );
    // By slug, and a wildcard step with a reference.
    let created = release_command(
        &s,
        &json!({"ProjectName": "payments-api", "ReleaseVersion": "1.3.0", "Packages": ["*:migrations:1.0.0"]}),
    )?;
    let release = stored_release(&s, &created)?;
    assert_eq!(
        versions(&release),
        ["Deploy::2.0.0", "Deploy:migrations:1.0.0", "Worker::2.0.0"]
    );
    Ok(())
}

#[test]
fn a_release_without_a_version_follows_the_projects_versioning() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    let first = release_command(&s, &ts_release("Payments API", json!({})))?;
    assert_eq!(
        first["ReleaseVersion"], "0.0.1",
        "Octopus's default template counts from 0.0.0"
    );
    s.release(&project, "4.2.9", json!([]))?;
    let next = release_command(&s, &ts_release("Payments API", json!({})))?;
    assert_eq!(next["ReleaseVersion"], "4.2.10");
    // A template of the project's own; the channel's name is available to it.
    let path = format!("/api/Spaces-1/projects/{project}");
    let mut settings = s.ok(&path)?;
    settings["VersioningStrategy"] = json!({"Template": "#{Octopus.Version.NextMajor}.0.0-#{Octopus.Release.Channel.Name}", "DonorPackage": null});
    expect(s.put(&path, &settings)?, 200)?;
    let templated = release_command(&s, &ts_release("Payments API", json!({})))?;
    assert_eq!(templated["ReleaseVersion"], "5.0.0-Default");
    // A template expression the stand-in does not evaluate is refused, not guessed.
    settings["VersioningStrategy"] =
        json!({"Template": "#{Octopus.Date.Year}.#{Octopus.Version.NextPatch}"});
    expect(s.put(&path, &settings)?, 200)?;
    let text = reasons(s.post(CREATE_RELEASE, &ts_release("Payments API", json!({})))?)?;
    assert!(
        text.contains("Octopus.Date.Year") && text.contains("ReleaseVersion"),
        "{text}"
    );
    // A donor package: the release takes that package's version.
    s.set_steps(&project, json!([package_step("Deploy", "Api")]))?;
    upload(&s, "Api", "7.1.3")?;
    settings["VersioningStrategy"] = json!({"DonorPackage": {"DeploymentAction": "Deploy", "PackageReference": ""}, "Template": null});
    expect(s.put(&path, &settings)?, 200)?;
    let donor = release_command(&s, &ts_release("Payments API", json!({})))?;
    assert_eq!(donor["ReleaseVersion"], "7.1.3");
    Ok(())
}

#[test]
fn existing_versions_channels_and_custom_fields() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    let hotfix = id(&s.create(
        "/api/Spaces-1/channels",
        &json!({"Name": "Hotfix", "ProjectId": project}),
    )?)?;
    let first = release_command(
        &s,
        &ts_release(
            "Payments API",
            json!({"ReleaseVersion": "1.0.0", "ChannelName": "hotfix", "CustomFields": {"Ticket": "CHG-1"}}),
        ),
    )?;
    let release_id = first["ReleaseId"].as_str().ok_or("no id")?.to_owned();
    let release = s.ok(&format!("/api/Spaces-1/releases/{release_id}"))?;
    assert_eq!(release["ChannelId"], hotfix.as_str());
    assert_eq!(release["CustomFields"], json!({"Ticket": "CHG-1"}));
    // The same version again: refused, unless IgnoreIfAlreadyExists, which answers it.
    let text = reasons(s.post(
        CREATE_RELEASE,
        &ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"})),
    )?)?;
    assert!(text.contains("Release '1.0.0' already exists"), "{text}");
    let again = release_command(
        &s,
        &ts_release(
            "Payments API",
            json!({"ReleaseVersion": "1.0.0", "IgnoreIfAlreadyExists": true}),
        ),
    )?;
    assert_eq!(
        again,
        json!({"ReleaseId": release_id, "ReleaseVersion": "1.0.0"})
    );
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?["TotalResults"],
        1
    );
    Ok(())
}

#[test]
fn release_commands_with_bad_names_or_types_are_refused() -> TestResult {
    let s = Standin::start()?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([package_step("Deploy", "Api")]))?;
    upload(&s, "Api", "1.0.0")?;
    for (body, want) in [
        (
            json!({"ReleaseVersion": "1.0.0"}),
            "The ProjectName field is required.",
        ),
        (
            ts_release("Nope", json!({})),
            "Unable to locate a project named 'Nope'",
        ),
        (
            ts_release("Payments API", json!({"ChannelName": "Nope"})),
            "Unable to locate a channel named 'Nope' in project 'Payments API'",
        ),
        (
            ts_release("Payments API", json!({"Packages": ["Nope:1.0.0"]})),
            "'Nope:1.0.0' matches no step",
        ),
        (
            ts_release("Payments API", json!({"Packages": ["1.0.0"]})),
            "does not use the expected format",
        ),
        (
            ts_release("Payments API", json!({"Packages": "Deploy:1.0.0"})),
            "The Packages field must be an array of strings.",
        ),
        (
            ts_release(
                "Payments API",
                json!({"ReleaseVersion": 1, "IgnoreChannelRules": "yes"}),
            ),
            "The ReleaseVersion field must be a string. | The IgnoreChannelRules field must be true or false.",
        ),
        (
            ts_release("Payments API", json!({"CustomFields": {"A": 1}})),
            "The CustomFields field must be an object whose values are strings.",
        ),
        (
            json!({"spaceId": "Spaces-2", "ProjectName": "Payments API"}),
            "does not match the space of the route",
        ),
        (
            json!({"spaceIdOrName": "Other", "ProjectName": "Payments API"}),
            "names neither Spaces-1 nor its name 'Default'",
        ),
        // The classic route's own checks hold: a version the built-in feed does not have.
        (
            ts_release("Payments API", json!({"PackageVersion": "9.9.9"})),
            "",
        ),
    ] {
        let reply = s.post(CREATE_RELEASE, &body)?;
        if want.is_empty() {
            // Packages of the built-in feed are checked when deployed, so this one passes.
            expect(reply, 200)?;
            continue;
        }
        let text = reasons(reply)?;
        assert!(text.contains(want), "{body}: {text}");
    }
    let text = reasons(s.post(CREATE_RELEASE, &json!([1]))?)?;
    assert!(text.contains("must be a JSON object"), "{text}");
    // Without the space in the route there is no such route, as on a real server.
    assert_eq!(
        s.post(
            "/api/releases/create/v1",
            &ts_release("Payments API", json!({}))
        )?
        .status,
        404
    );
    assert_eq!(
        s.post(
            "/api/Spaces-9/releases/create/v1",
            &ts_release("Payments API", json!({}))
        )?
        .status,
        404
    );
    Ok(())
}

/// A lifecycle Development -> Production, a project with a prompted variable, and release 1.0.0.
fn deployable(s: &Standin) -> Res<(String, String, String)> {
    let dev = s.environment("Development")?;
    let prod = s.environment("Production")?;
    let lifecycle = id(&s.create(
        "/api/Spaces-1/lifecycles",
        &json!({"Name": "Dev to Prod", "Phases": [
            {"Name": "Development", "OptionalDeploymentTargets": [dev]},
            {"Name": "Production", "OptionalDeploymentTargets": [prod]}
        ]}),
    )?)?;
    let project = s.project("Payments API", &lifecycle)?;
    s.set_steps(
        &project,
        json!([
            script_step("Greet", "echo \"hello #{Greeting}\""),
            script_step("Optional", "echo optional")
        ]),
    )?;
    s.set_variables(&project, json!([{"Name": "Greeting", "Value": "", "Prompt": {"Label": "Greeting", "Required": true, "DisplaySettings": {}}}]))?;
    release_command(
        s,
        &ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"})),
    )?;
    Ok((dev, prod, project))
}

fn server_tasks(body: &Value) -> Vec<(String, String)> {
    body["DeploymentServerTasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["DeploymentId"].as_str().unwrap_or("").to_owned(),
                t["ServerTaskId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn untenanted_deployments_go_through_the_classic_rules() -> TestResult {
    let s = Standin::start()?;
    let (dev, _prod, _project) = deployable(&s)?;
    let body = json!({"spaceIdOrName": "Default", "spaceName": "Default", "ProjectName": "Payments API", "ReleaseVersion": "1.0.0",
                      "EnvironmentNames": ["development"], "Variables": {"greeting": "world"}, "SkipStepNames": ["Optional"], "UseGuidedFailure": false});
    let created = expect(s.post(UNTENANTED, &body)?, 200)?;
    let tasks = server_tasks(&created);
    let [(deployment, task)] = tasks.as_slice() else {
        return Err(format!("one task expected: {created}").into());
    };
    let doc = s.ok(&format!("/api/Spaces-1/deployments/{deployment}"))?;
    assert_eq!(doc["EnvironmentId"], dev.as_str());
    assert_eq!(doc["TaskId"], task.as_str());
    assert_eq!(doc["SkipActions"].as_array().map(Vec::len), Some(1));
    let done = s.wait_for_task(task, WAIT)?;
    assert_eq!(done["State"], "Success", "{done}");
    let log = s.raw_log(task)?;
    assert!(log.contains("hello world"), "{log}");
    assert!(
        !log.contains("echo optional\n") && !log.contains("\noptional"),
        "{log}"
    );
    // Production is reachable now (camelCase body, the Go client's).
    let prod = expect(
        s.post(UNTENANTED, &json!({"spaceId": "Spaces-1", "projectName": "Payments API", "releaseVersion": "1.0.0", "environmentNames": ["Production"], "variables": {"Greeting": "prod"}}))?,
        200,
    )?;
    assert_eq!(server_tasks(&prod).len(), 1);
    Ok(())
}

#[test]
fn untenanted_commands_with_bad_names_or_types_are_refused() -> TestResult {
    let s = Standin::start()?;
    deployable(&s)?;
    let base = |extra: Value| -> Value {
        merged(
            json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentNames": ["Development"], "Variables": {"Greeting": "x"}}),
            extra,
        )
    };
    for (body, want) in [
        (
            base(json!({"ProjectName": "Nope"})),
            "Unable to locate a project named 'Nope'",
        ),
        (
            base(json!({"ReleaseVersion": "9.9.9"})),
            "Unable to locate release '9.9.9' of project 'Payments API'",
        ),
        (
            base(json!({"ReleaseVersion": null})),
            "The ReleaseVersion field is required.",
        ),
        (
            base(json!({"EnvironmentNames": ["Nope", "Mars"]})),
            "Unable to locate deployment environment(s) named 'Nope', 'Mars'",
        ),
        (
            base(json!({"EnvironmentNames": []})),
            "must name at least one environment",
        ),
        (
            base(json!({"EnvironmentNames": "Development"})),
            "The EnvironmentNames field must be an array of strings.",
        ),
        (
            base(json!({"UseGuidedFailure": "no", "Variables": ["x"]})),
            "The UseGuidedFailure field must be true or false. | The Variables field must be an object",
        ),
        (
            base(json!({"Variables": {"Colour": "x"}})),
            "Variables names 'Colour'",
        ),
        (
            base(json!({"Variables": {}})),
            "required prompted variables: Greeting",
        ),
        (
            base(json!({"SkipStepNames": ["Nope"]})),
            "Unable to locate step(s) named 'Nope'",
        ),
        (
            base(json!({"SpecificMachineNames": ["web-01"]})),
            "Unable to locate deployment target(s) named 'web-01'",
        ),
        // The lifecycle: Production waits for Development.
        (
            base(json!({"EnvironmentNames": ["Production"]})),
            "requires phase 'Development' to be complete first",
        ),
    ] {
        let text = reasons(s.post(UNTENANTED, &body)?)?;
        assert!(text.contains(want), "{body}: {text}");
    }
    // Two environments, one refused: nothing is queued.
    let text = reasons(s.post(
        UNTENANTED,
        &base(json!({"EnvironmentNames": ["Development", "Production"]})),
    )?)?;
    assert!(text.contains("Production"), "{text}");
    assert_eq!(s.ok("/api/Spaces-1/deployments")?["TotalResults"], 0);
    Ok(())
}

#[test]
fn tenanted_deployments_by_name_and_by_tag() -> TestResult {
    let s = Standin::start()?;
    let staging = s.environment("Staging")?;
    let project = tenanted_project(
        &s,
        json!([script_step(
            "Who",
            "echo \"tenant #{Octopus.Deployment.Tenant.Name}\""
        )]),
    )?;
    s.create(
        "/api/Spaces-1/tagsets",
        &json!({"Name": "Tier", "Tags": [{"Name": "Gold"}]}),
    )?;
    let connected = json!({project.as_str(): [staging]});
    let eu = id(&s.create("/api/Spaces-1/tenants", &json!({"Name": "Acquirer EU", "TenantTags": ["Region/EU", "Tier/Gold"], "ProjectEnvironments": connected}))?)?;
    let uk = id(&s.create("/api/Spaces-1/tenants", &json!({"Name": "Acquirer UK", "TenantTags": ["Region/UK"], "ProjectEnvironments": connected}))?)?;
    s.create(
        "/api/Spaces-1/tenants",
        &json!({"Name": "Elsewhere", "TenantTags": ["Region/EU"]}),
    )?;
    release_command(
        &s,
        &ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"})),
    )?;
    let deployed_tenants = |body: &Value| -> Res<Vec<String>> {
        let mut out = Vec::new();
        for (deployment, _) in server_tasks(body) {
            out.push(
                s.ok(&format!("/api/Spaces-1/deployments/{deployment}"))?["TenantId"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        Ok(out)
    };
    let command = |extra: Value| -> Value {
        merged(
            json!({"spaceIdOrName": "Default", "ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentName": "Staging"}),
            extra,
        )
    };
    // By name.
    let by_name = expect(
        s.post(TENANTED, &command(json!({"Tenants": ["acquirer uk"]})))?,
        200,
    )?;
    assert_eq!(deployed_tenants(&by_name)?, [uk.as_str()]);
    let task = server_tasks(&by_name)
        .first()
        .map(|t| t.1.clone())
        .ok_or("no task")?;
    assert_eq!(s.wait_for_task(&task, WAIT)?["State"], "Success");
    assert!(s.raw_log(&task)?.contains("tenant Acquirer UK"));
    // Tags of one set widen the match; tags of two sets narrow it; unconnected tenants never.
    let widened = expect(
        s.post(
            TENANTED,
            &command(json!({"TenantTags": ["Region/EU", "region/uk"]})),
        )?,
        200,
    )?;
    assert_eq!(deployed_tenants(&widened)?, [eu.as_str(), uk.as_str()]);
    let narrowed = expect(
        s.post(
            TENANTED,
            &command(json!({"TenantTags": ["Region/EU", "Region/UK", "Tier/Gold"]})),
        )?,
        200,
    )?;
    assert_eq!(deployed_tenants(&narrowed)?, [eu.as_str()]);
    // Names and tags together: each tenant once.
    let both = expect(
        s.post(
            TENANTED,
            &command(json!({"Tenants": ["Acquirer EU"], "TenantTags": ["Tier/Gold"]})),
        )?,
        200,
    )?;
    assert_eq!(deployed_tenants(&both)?, [eu.as_str()]);
    Ok(())
}

#[test]
fn tenanted_commands_with_bad_names_are_refused() -> TestResult {
    let s = Standin::start()?;
    let staging = s.environment("Staging")?;
    s.environment("Production")?;
    let project = tenanted_project(&s, json!([script_step("Who", "echo hi")]))?;
    s.create("/api/Spaces-1/tenants", &json!({"Name": "Acquirer EU", "TenantTags": ["Region/EU"], "ProjectEnvironments": {project.as_str(): [staging]}}))?;
    s.create("/api/Spaces-1/tenants", &json!({"Name": "Loose"}))?;
    release_command(
        &s,
        &ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"})),
    )?;
    let command = |extra: Value| -> Value {
        merged(
            json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentName": "Staging"}),
            extra,
        )
    };
    for (body, want) in [
        (command(json!({})), "must name Tenants or TenantTags"),
        (
            command(json!({"Tenants": ["Nope"]})),
            "Unable to locate tenant(s) named 'Nope'",
        ),
        (
            command(json!({"TenantTags": ["Region/Mars"]})),
            "Unable to locate tenant tag(s) 'Region/Mars'",
        ),
        (
            command(json!({"TenantTags": ["Region/UK"]})),
            "No tenant connected to project 'Payments API' in Staging has the tags 'Region/UK'",
        ),
        (
            command(json!({"Tenants": ["Loose"]})),
            "is not connected to project 'Payments API'",
        ),
        (
            command(json!({"Tenants": ["Acquirer EU"], "EnvironmentName": "Production"})),
            "in Staging only, not in Production",
        ),
        (
            command(json!({"Tenants": ["Acquirer EU"], "EnvironmentName": "Mars"})),
            "Unable to locate deployment environment(s) named 'Mars'",
        ),
        (
            command(json!({"Tenants": ["Acquirer EU"], "EnvironmentName": null})),
            "The EnvironmentName field is required.",
        ),
        (
            command(json!({"Tenants": "Acquirer EU", "TenantTags": [1]})),
            "The Tenants field must be an array of strings. | The TenantTags field must be an array of strings.",
        ),
    ] {
        let text = reasons(s.post(TENANTED, &body)?)?;
        assert!(text.contains(want), "{body}: {text}");
    }
    // An untenanted command for a tenanted-only project: the classic route's rule.
    let text = reasons(s.post(UNTENANTED, &json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentNames": ["Staging"]}))?)?;
    assert!(text.contains("is deployed only for tenants"), "{text}");
    assert_eq!(s.ok("/api/Spaces-1/deployments")?["TotalResults"], 0);
    Ok(())
}

#[test]
fn an_octopus_2020_5_has_no_executions_api() -> TestResult {
    let s = Standin::start_with(&["--profile", "2020.5"])?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    s.release(&project, "1.0.0", json!([]))?;
    let env = s.environment("Development")?;
    let _ = env;
    for (path, body) in [
        (
            CREATE_RELEASE,
            ts_release("Payments API", json!({"ReleaseVersion": "2.0.0"})),
        ),
        (
            UNTENANTED,
            json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentNames": ["Development"]}),
        ),
        (
            TENANTED,
            json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentName": "Development", "Tenants": ["x"]}),
        ),
    ] {
        let reply = s.post(path, &body)?;
        assert_eq!(reply.status, 404, "{path}: {:?}", reply.body);
        assert_eq!(
            reply.body["ErrorMessage"],
            "The resource you requested was not found."
        );
    }
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?["TotalResults"],
        1
    );
    assert_eq!(s.ok("/api/Spaces-1/deployments")?["TotalResults"], 0);
    Ok(())
}

#[test]
fn a_role_key_needs_release_create_and_deployment_create() -> TestResult {
    let s = Standin::start_with(&[
        "--role-key",
        "API-VIEWER=ProjectView,ReleaseView",
        "--role-key",
        "API-RELEASER=ReleaseCreate",
    ])?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    s.environment("Development")?;
    let send = |key: &str, path: &str, body: &Value| -> Res<u16> {
        Ok(s.client()
            .post(format!("{}{path}", s.url))
            .header("X-Octopus-ApiKey", key)
            .json(body)
            .send()?
            .status()
            .as_u16())
    };
    let release = ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"}));
    assert_eq!(send("API-VIEWER", CREATE_RELEASE, &release)?, 403);
    assert_eq!(send("API-RELEASER", CREATE_RELEASE, &release)?, 200);
    let deploy = json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentNames": ["Development"]});
    assert_eq!(send("API-RELEASER", UNTENANTED, &deploy)?, 403);
    assert_eq!(send("API-VIEWER", TENANTED, &deploy)?, 403);
    Ok(())
}

#[test]
fn release_commands_keep_channel_rules_snapshots_and_automatic_deployments() -> TestResult {
    let s = Standin::start()?;
    let test = s.environment("Test")?;
    let lifecycle = id(&s.create(
        "/api/Spaces-1/lifecycles",
        &json!({"Name": "Auto", "Phases": [{"Name": "Test", "AutomaticDeploymentTargets": [test], "OptionalDeploymentTargets": []}]}),
    )?)?;
    let project = s.project("Payments API", &lifecycle)?;
    s.set_steps(&project, json!([package_step("Deploy", "Api")]))?;
    s.create(
        "/api/Spaces-1/channels",
        &json!({"Name": "Stable", "ProjectId": project, "Rules": [{"VersionRange": "[1.0,2.0)", "Tag": "^$", "ActionPackages": [{"DeploymentAction": "Deploy", "PackageReference": ""}]}]}),
    )?;
    upload(&s, "Api", "2.5.0")?;
    upload(&s, "Api", "1.5.0")?;
    // The channel's rule refuses 2.5.0 (the feed's latest, taken by default) ...
    let body = ts_release(
        "Payments API",
        json!({"ReleaseVersion": "1.0.0", "ChannelName": "Stable"}),
    );
    let text = reasons(s.post(CREATE_RELEASE, &body)?)?;
    assert!(text.contains("2.5.0") && text.contains("Stable"), "{text}");
    assert_eq!(
        s.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?["TotalResults"],
        0
    );
    // ... unless told to ignore the rules, or given a version inside them.
    let mut ignoring = body.clone();
    ignoring["IgnoreChannelRules"] = json!(true);
    release_command(&s, &ignoring)?;
    let inside = release_command(
        &s,
        &ts_release(
            "Payments API",
            json!({"ReleaseVersion": "1.1.0", "ChannelName": "Stable", "Packages": ["Api:1.5.0"]}),
        ),
    )?;
    let release = stored_release(&s, &inside)?;
    // Snapshots frozen as the classic route freezes them.
    assert!(
        release["ProjectDeploymentProcessSnapshotId"]
            .as_str()
            .is_some_and(|p| p.starts_with(&format!("deploymentprocess-{project}-s-"))),
        "{release}"
    );
    // The release entered a phase with an automatic target: it is deployed there at once.
    let deployments = s.ok(&format!(
        "/api/Spaces-1/releases/{}/deployments",
        inside["ReleaseId"].as_str().ok_or("no id")?
    ))?;
    assert_eq!(deployments["TotalResults"], 1, "{deployments}");
    assert_eq!(deployments["Items"][0]["EnvironmentId"], test.as_str());
    Ok(())
}

#[test]
fn guided_failure_defaults_to_the_project_then_the_environment() -> TestResult {
    let s = Standin::start()?;
    let careful = id(&s.create(
        "/api/Spaces-1/environments",
        &json!({"Name": "Careful", "UseGuidedFailure": true}),
    )?)?;
    s.environment("Plain")?;
    let project = s.project("Payments API", "Lifecycles-1")?;
    s.set_steps(&project, json!([script_step("Migrate", "echo hi")]))?;
    release_command(
        &s,
        &ts_release("Payments API", json!({"ReleaseVersion": "1.0.0"})),
    )?;
    let guided = |extra: Value| -> Res<Vec<Value>> {
        let body = merged(
            json!({"ProjectName": "Payments API", "ReleaseVersion": "1.0.0", "EnvironmentNames": ["Careful", "Plain"]}),
            extra,
        );
        let created = expect(s.post(UNTENANTED, &body)?, 200)?;
        let mut out = Vec::new();
        for (deployment, _) in server_tasks(&created) {
            let doc = s.ok(&format!("/api/Spaces-1/deployments/{deployment}"))?;
            out.push(json!([doc["EnvironmentId"], doc["UseGuidedFailure"]]));
        }
        Ok(out)
    };
    let plain = s.ok("/api/Spaces-1/environments?name=Plain")?["Items"][0]["Id"].clone();
    // EnvironmentDefault (a new project's mode): the environment's setting.
    assert_eq!(
        guided(json!({}))?,
        [json!([careful, true]), json!([plain, false])]
    );
    // The command's own value wins.
    assert_eq!(
        guided(json!({"UseGuidedFailure": false}))?,
        [json!([careful, false]), json!([plain, false])]
    );
    assert_eq!(
        guided(json!({"useGuidedFailure": true}))?,
        [json!([careful, true]), json!([plain, true])]
    );
    // The project's On / Off win over the environment.
    let path = format!("/api/Spaces-1/projects/{project}");
    for (mode, want) in [("On", true), ("Off", false)] {
        let mut settings = s.ok(&path)?;
        settings["DefaultGuidedFailureMode"] = json!(mode);
        expect(s.put(&path, &settings)?, 200)?;
        assert_eq!(
            guided(json!({}))?,
            [json!([careful, want]), json!([plain, want])],
            "{mode}"
        );
    }
    Ok(())
}
