//! Channel version rules: a channel refuses rules that name no package step or do not parse;
//! a release whose package versions break its channel's rules is refused (400) unless it asks
//! to ignore them; `channels/rule-test` answers as Octopus's does. Projects and channels refuse
//! references to groups, lifecycles, projects and library variable sets that do not exist
//! (what `import --create-missing` relies on).

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id, package_step};

fn rule(range: &str, tag: &str) -> Value {
    json!({"VersionRange": range, "Tag": tag, "ActionPackages": [{"DeploymentAction": "Deploy", "PackageReference": ""}]})
}

/// A project with one package step `Deploy` and a channel `Stable` with `rules`.
fn project_with_channel(
    standin: &Standin,
    rules: Value,
) -> Result<(String, String), Box<dyn std::error::Error>> {
    let project = standin.project("Payments API", "Lifecycles-1")?;
    standin.set_steps(&project, json!([package_step("Deploy", "Payments.Api")]))?;
    let channel = id(&standin.create(
        "/api/Spaces-1/channels",
        &json!({"Name": "Stable", "ProjectId": project, "Rules": rules}),
    )?)?;
    Ok((project, channel))
}

fn release(
    standin: &Standin,
    project: &str,
    channel: &str,
    version: &str,
    package: &str,
    ignore: Option<bool>,
) -> Result<crate::harness::Reply, Box<dyn std::error::Error>> {
    let mut body = json!({
        "ProjectId": project, "ChannelId": channel, "Version": version,
        "SelectedPackages": [{"ActionName": "Deploy", "PackageReferenceName": "", "Version": package}],
    });
    if let Some(ignore) = ignore {
        body["IgnoreChannelRules"] = json!(ignore);
    }
    standin.post("/api/Spaces-1/releases", &body)
}

#[test]
fn a_release_breaking_its_channels_rules_is_refused_and_nothing_is_created() -> TestResult {
    let standin = Standin::start()?;
    let (project, channel) = project_with_channel(&standin, json!([rule("[1.0,2.0)", "^$")]))?;
    for (package, why) in [
        ("2.0.0", "above the range"),
        ("0.9.0", "below the range"),
        ("1.5.0-beta", "a pre-release tag where none is allowed"),
    ] {
        let refused = expect(
            release(&standin, &project, &channel, "1.0.0", package, None)?,
            400,
        )?;
        let errors = refused["Errors"].to_string();
        assert!(
            errors.contains(&format!("The version {package} selected for step 'Deploy' does not satisfy the version rules of channel 'Stable'")),
            "{why}: {refused}"
        );
    }
    let releases = standin.ok(&format!("/api/Spaces-1/projects/{project}/releases"))?;
    assert_eq!(releases["TotalResults"], 0, "{releases}");
    // Inside the rules, and outside them when told to ignore them.
    expect(
        release(&standin, &project, &channel, "1.0.0", "1.5.0", None)?,
        201,
    )?;
    let forced = expect(
        release(&standin, &project, &channel, "1.0.1", "3.0.0", Some(true))?,
        201,
    )?;
    assert_eq!(forced["IgnoreChannelRules"], true);
    // The default channel has no rules: anything goes there.
    let default = standin.post(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.0.2", "SelectedPackages": [{"ActionName": "Deploy", "Version": "9.9.9"}]}),
    )?;
    expect(default, 201)?;
    Ok(())
}

#[test]
fn a_channel_refuses_rules_a_server_refuses() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    for (rules, message) in [
        (
            json!([{"VersionRange": "[1.0,2.0)", "ActionPackages": []}]),
            "Version rules must specify a package step.",
        ),
        (
            json!([rule("[1.0,2.0", "")]),
            "'[1.0,2.0' is not a valid version range.",
        ),
        (
            json!([rule("(1.0)", "")]),
            "'(1.0)' is not a valid version range.",
        ),
        (
            json!([rule("", "(unclosed")]),
            "'(unclosed' is not a valid regular expression.",
        ),
    ] {
        let refused = expect(
            standin.post(
                "/api/Spaces-1/channels",
                &json!({"Name": "Bad", "ProjectId": project, "Rules": rules}),
            )?,
            400,
        )?;
        assert!(refused["Errors"].to_string().contains(message), "{refused}");
    }
    let channels = standin.ok(&format!("/api/Spaces-1/projects/{project}/channels"))?;
    assert_eq!(
        channels["TotalResults"], 1,
        "only the default channel: {channels}"
    );
    // Rules round-trip with the fields the stand-in does not interpret.
    let kept = standin.create(
        "/api/Spaces-1/channels",
        &json!({"Name": "Good", "ProjectId": project, "Rules": [rule("1.0", "^beta")]}),
    )?;
    assert_eq!(kept["Rules"][0]["VersionRange"], "1.0");
    assert_eq!(
        kept["Rules"][0]["ActionPackages"][0]["DeploymentAction"],
        "Deploy"
    );
    Ok(())
}

#[test]
fn rule_test_answers_with_octopus_fields() -> TestResult {
    let standin = Standin::start()?;
    let cases = [
        ("version=1.5.0&versionRange=%5B1.0%2C2.0%29", true, true),
        ("version=2.0.0&versionRange=%5B1.0%2C2.0%29", false, true),
        ("version=1.0.0-beta.2&preReleaseTag=%5Ebeta", true, true),
        ("version=1.0.0-alpha&preReleaseTag=%5Ebeta", true, false),
        ("version=1.0.0&preReleaseTag=%5E%24", true, true),
    ];
    for (query, range, tag) in cases {
        let answer = standin.ok(&format!("/api/Spaces-1/channels/rule-test?{query}"))?;
        assert_eq!(answer["SatisfiesVersionRange"], range, "{query}: {answer}");
        assert_eq!(answer["SatisfiesPreReleaseTag"], tag, "{query}: {answer}");
        assert_eq!(answer["Errors"], json!([]), "{query}: {answer}");
    }
    // The POST form takes the same fields in its body.
    let posted = expect(
        standin.post(
            "/api/Spaces-1/channels/rule-test",
            &json!({"Version": "3.0.0", "VersionRange": "(,3.0)"}),
        )?,
        200,
    )?;
    assert_eq!(posted["SatisfiesVersionRange"], false, "{posted}");
    // Nonsense is reported, never passed.
    let bad = standin.ok("/api/Spaces-1/channels/rule-test?version=banana&versionRange=1.0")?;
    assert_eq!(bad["SatisfiesVersionRange"], false, "{bad}");
    assert!(
        bad["Errors"]
            .to_string()
            .contains("'banana' is not a valid version."),
        "{bad}"
    );
    expect(standin.get("/api/Spaces-1/channels/rule-test")?, 400)?;
    Ok(())
}

#[test]
fn projects_and_channels_refuse_references_to_what_does_not_exist() -> TestResult {
    let standin = Standin::start()?;
    let project = standin.project("Payments API", "Lifecycles-1")?;
    let cases = [
        (
            "/api/Spaces-1/projects",
            json!({"Name": "A", "ProjectGroupId": "ProjectGroups-99", "LifecycleId": "Lifecycles-1"}),
            "ProjectGroupId refers to",
            "ProjectGroups-99",
        ),
        (
            "/api/Spaces-1/projects",
            json!({"Name": "B", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-42"}),
            "LifecycleId refers to",
            "Lifecycles-42",
        ),
        (
            "/api/Spaces-1/projects",
            json!({"Name": "C", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1", "IncludedLibraryVariableSetIds": ["LibraryVariableSets-7"]}),
            "IncludedLibraryVariableSetIds refers to",
            "LibraryVariableSets-7",
        ),
        (
            "/api/Spaces-1/channels",
            json!({"Name": "Hotfix", "ProjectId": "Projects-404"}),
            "ProjectId refers to",
            "Projects-404",
        ),
        (
            "/api/Spaces-1/channels",
            json!({"Name": "Hotfix", "ProjectId": project, "LifecycleId": "Lifecycles-13"}),
            "LifecycleId refers to",
            "Lifecycles-13",
        ),
    ];
    for (path, body, field, id) in cases {
        let refused = expect(standin.post(path, &body)?, 400)?;
        let text = refused.to_string();
        assert!(
            text.contains(field) && text.contains(id),
            "{body}: {refused}"
        );
    }
    // A project without its group or lifecycle is refused too, as both are required.
    for body in [
        json!({"Name": "D", "LifecycleId": "Lifecycles-1"}),
        json!({"Name": "E", "ProjectGroupId": "ProjectGroups-1"}),
    ] {
        expect(standin.post("/api/Spaces-1/projects", &body)?, 400)?;
    }
    let projects = standin.ok("/api/Spaces-1/projects")?;
    assert_eq!(projects["TotalResults"], 1, "{projects}");
    Ok(())
}
