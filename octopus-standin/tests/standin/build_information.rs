//! Build information: pushed per package id and version with its overwrite modes, listed with
//! the Swagger's filters, deleted one by one or in bulk, shown on the package and copied into
//! releases created for that version; served by both profiles; hostile bodies refused.

use serde_json::{Value, json};

use crate::harness::{Standin, TestResult, expect, id};
use crate::swagger::conforms;

const EXISTS: &str = "Metadata for the specified Package ID and version already exists. To proceed anyway, specify an overwriteMode of OverwriteExisting or IgnoreIfExists.";

/// The body the official TypeScript client sends (`buildInformationRepository.js`).
fn command(package: &str, version: &str, build: &str) -> Value {
    json!({
        "spaceName": "Default",
        "PackageId": package,
        "Version": version,
        "OctopusBuildInformation": {
            "Branch": "main",
            "BuildEnvironment": "GitHub Actions",
            "BuildNumber": build,
            "BuildUrl": format!("https://ci.example/acme/payments/runs/{build}"),
            "Commits": [{"Id": "314cf2c3", "Comment": "PAY-12 retry the ledger call"}],
            "VcsCommitNumber": "314cf2c3",
            "VcsRoot": "https://github.com/acme/payments.git",
            "VcsType": "Git"
        }
    })
}

fn push(standin: &Standin, body: &Value, query: &str) -> Result<Value, Box<dyn std::error::Error>> {
    expect(
        standin.post(&format!("/api/Spaces-1/build-information{query}"), body)?,
        200,
    )
}

#[test]
fn a_push_is_stored_with_a_server_id_and_read_back() -> TestResult {
    let standin = Standin::start()?;
    let stored = push(&standin, &command("Payments.Api", "1.4.0", "288"), "")?;
    assert_eq!(stored["Id"], "BuildInformation-1");
    assert_eq!(stored["PackageId"], "Payments.Api");
    assert_eq!(stored["Version"], "1.4.0");
    assert_eq!(stored["BuildNumber"], "288");
    assert_eq!(stored["Branch"], "main");
    assert_eq!(
        stored["VcsCommitUrl"],
        "https://github.com/acme/payments/commit/314cf2c3"
    );
    assert_eq!(
        stored["Commits"],
        json!([{"Id": "314cf2c3", "LinkUrl": "https://github.com/acme/payments/commit/314cf2c3", "Comment": "PAY-12 retry the ledger call"}])
    );
    assert_eq!(stored["WorkItems"], json!([]));
    // Unknown fields (the client's spaceName) are dropped, as Octopus's deserialiser does.
    assert!(stored.get("spaceName").is_none());
    conforms(
        "OctopusPackageVersionBuildInformationMappedResource",
        &stored,
    )?;
    let read = standin.ok("/api/Spaces-1/build-information/BuildInformation-1")?;
    assert_eq!(read, stored);
    // The unscoped route serves the default space.
    assert_eq!(
        standin.ok("/api/build-information/BuildInformation-1")?,
        stored
    );
    let second = push(&standin, &command("Ledger.Worker", "2.0.3", "17"), "")?;
    assert_eq!(second["Id"], "BuildInformation-2");
    Ok(())
}

#[test]
fn overwrite_modes_fail_ignore_or_replace_what_a_version_has() -> TestResult {
    let standin = Standin::start()?;
    let first = push(&standin, &command("Payments.Api", "1.4.0", "288"), "")?;
    for query in ["", "?overwriteMode=FailIfExists"] {
        let conflict = expect(
            standin.post(
                &format!("/api/Spaces-1/build-information{query}"),
                &command("Payments.Api", "1.4.0", "289"),
            )?,
            409,
        )?;
        assert_eq!(conflict["ErrorMessage"], EXISTS);
    }
    // The version is matched without case, as package ids are.
    let ignored = push(
        &standin,
        &command("payments.api", "1.4.0", "290"),
        "?overwriteMode=IgnoreIfExists",
    )?;
    assert_eq!(ignored, first);
    let replaced = push(
        &standin,
        &command("Payments.Api", "1.4.0", "291"),
        "?overwriteMode=OverwriteExisting",
    )?;
    assert_eq!(replaced["Id"], first["Id"]);
    assert_eq!(replaced["BuildNumber"], "291");
    assert_eq!(replaced["Created"], first["Created"]);
    // go-octopusdeploy sends the mode in the body.
    let mut body = command("Payments.Api", "1.4.0", "292");
    body["OverwriteMode"] = json!("OverwriteExisting");
    assert_eq!(push(&standin, &body, "")?["BuildNumber"], "292");
    let bad = expect(
        standin.post(
            "/api/Spaces-1/build-information?overwriteMode=Replace",
            &command("Payments.Api", "1.4.0", "293"),
        )?,
        400,
    )?;
    assert!(
        bad["Errors"][0]
            .as_str()
            .unwrap_or("")
            .contains("overwriteMode 'Replace'")
    );
    let list = standin.ok("/api/Spaces-1/build-information")?;
    assert_eq!(list["TotalResults"], 1);
    Ok(())
}

#[test]
fn bad_package_ids_versions_and_types_are_refused() -> TestResult {
    let standin = Standin::start()?;
    let cases: Vec<(Value, &str)> = vec![
        (
            command("Payments Api!", "1.4.0", "1"),
            "The package ID contains invalid characters.",
        ),
        (
            command("Payments.Api", "one", "1"),
            "The version is invalid. Please supply a valid semver version number.",
        ),
        (
            json!({"PackageId": "Payments.Api", "Version": "1.4.0"}),
            "The OctopusBuildInformation field is required.",
        ),
        (
            json!({"PackageId": 7, "Version": "1.4.0", "OctopusBuildInformation": {}}),
            "The PackageId field must be a string.",
        ),
        (
            json!({"PackageId": "Payments.Api", "Version": "1.4.0", "OctopusBuildInformation": {"BuildNumber": 288}}),
            "The BuildNumber field must be a string.",
        ),
        (
            json!({"PackageId": "Payments.Api", "Version": "1.4.0", "OctopusBuildInformation": {"Commits": {"Id": "a"}}}),
            "The Commits field must be an array.",
        ),
        (
            json!({"PackageId": "Payments.Api", "Version": "1.4.0", "OctopusBuildInformation": {"Commits": [{"Id": ["a"]}]}}),
            "The Id field must be a string.",
        ),
        (
            json!(["not", "an", "object"]),
            "The request body must be a JSON object.",
        ),
    ];
    for (body, want) in cases {
        let refused = expect(standin.post("/api/Spaces-1/build-information", &body)?, 400)?;
        let errors = refused["Errors"].to_string();
        assert!(errors.contains(want), "{body}: {refused}");
    }
    let metadata = expect(
        standin.post(
            "/api/Spaces-1/build-information",
            &command("Payments Api!", "1.4.0", "1"),
        )?,
        400,
    )?;
    assert_eq!(metadata["ErrorMessage"], "Invalid package metadata");
    assert_eq!(
        standin.ok("/api/Spaces-1/build-information")?["TotalResults"],
        0
    );
    Ok(())
}

#[test]
fn sizes_past_the_bounds_are_refused_naming_the_bound() -> TestResult {
    let standin = Standin::start()?;
    let mut many = command("Payments.Api", "1.4.0", "1");
    many["OctopusBuildInformation"]["Commits"] =
        Value::Array((0..1001).map(|i| json!({"Id": format!("c{i}")})).collect());
    let mut long_comment = command("Payments.Api", "1.4.0", "1");
    long_comment["OctopusBuildInformation"]["Commits"] =
        json!([{"Id": "a", "Comment": "x".repeat(16 * 1024 + 1)}]);
    let mut long_url = command("Payments.Api", "1.4.0", "1");
    long_url["OctopusBuildInformation"]["BuildUrl"] = json!("h".repeat(2049));
    let cases = [
        (
            many,
            "Commits has 1001 commits; the stand-in keeps at most 1000",
        ),
        (
            long_comment,
            "Commits[0].Comment is 16385 characters long; the stand-in keeps at most 16384",
        ),
        (
            long_url,
            "BuildUrl is 2049 characters long; the stand-in keeps at most 2048",
        ),
    ];
    for (body, want) in cases {
        let refused = expect(standin.post("/api/Spaces-1/build-information", &body)?, 400)?;
        assert!(refused["Errors"].to_string().contains(want), "{refused}");
    }
    // At the bounds exactly, it is kept.
    let mut at_bounds = command("Payments.Api", "1.4.0", "1");
    at_bounds["OctopusBuildInformation"]["Commits"] =
        Value::Array((0..1000).map(|i| json!({"Id": format!("c{i}")})).collect());
    at_bounds["OctopusBuildInformation"]["BuildUrl"] = json!("h".repeat(2048));
    let kept = push(&standin, &at_bounds, "")?;
    assert_eq!(kept["Commits"].as_array().map(Vec::len), Some(1000));
    Ok(())
}

#[test]
fn the_list_filters_by_package_id_part_of_it_or_the_latest_version() -> TestResult {
    let standin = Standin::start()?;
    for (package, version) in [
        ("Payments.Api", "1.4.0"),
        ("Payments.Api", "1.10.0"),
        ("Payments.Api.Tests", "1.4.0"),
        ("Ledger.Worker", "2.0.3"),
    ] {
        push(&standin, &command(package, version, "1"), "")?;
    }
    let versions = |list: &Value| -> Vec<String> {
        list["Items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| {
                        format!(
                            "{} {}",
                            i["PackageId"].as_str().unwrap_or(""),
                            i["Version"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let exact = standin.ok("/api/Spaces-1/build-information?packageId=payments.api")?;
    assert_eq!(
        versions(&exact),
        ["Payments.Api 1.10.0", "Payments.Api 1.4.0"]
    );
    let part = standin.ok("/api/Spaces-1/build-information?filter=payments")?;
    assert_eq!(part["TotalResults"], 3);
    let latest = standin.ok("/api/Spaces-1/build-information?filter=payments&latest=true")?;
    assert_eq!(
        versions(&latest),
        ["Payments.Api 1.10.0", "Payments.Api.Tests 1.4.0"]
    );
    conforms(
        "ResourceCollection_of_OctopusPackageVersionBuildInformationMappedResource",
        &exact,
    )?;
    let paged = standin.ok("/api/Spaces-1/build-information?skip=1&take=2")?;
    assert_eq!(paged["Items"].as_array().map(Vec::len), Some(2));
    assert_eq!(paged["TotalResults"], 4);
    let both = expect(
        standin.get("/api/Spaces-1/build-information?packageId=a&filter=b")?,
        400,
    )?;
    assert_eq!(
        both["Errors"][0],
        "Only one of either packageId or filter may be specified."
    );
    Ok(())
}

#[test]
fn delete_one_or_in_bulk_and_unknown_ids_are_404() -> TestResult {
    let standin = Standin::start()?;
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        push(&standin, &command("Payments.Api", version, "1"), "")?;
    }
    let path = "/api/Spaces-1/build-information/BuildInformation-1";
    expect(standin.send("DELETE", path, None)?, 200)?;
    expect(standin.get(path)?, 404)?;
    expect(standin.send("DELETE", path, None)?, 404)?;
    // A bulk delete naming one unknown id deletes nothing.
    expect(
        standin.send(
            "DELETE",
            "/api/Spaces-1/build-information/bulk?ids=BuildInformation-2,BuildInformation-9",
            None,
        )?,
        404,
    )?;
    assert_eq!(
        standin.ok("/api/Spaces-1/build-information")?["TotalResults"],
        2
    );
    let none = expect(
        standin.send("DELETE", "/api/Spaces-1/build-information/bulk", None)?,
        400,
    )?;
    assert_eq!(none["Errors"][0], "No ids parameter was provided.");
    expect(
        standin.send(
            "DELETE",
            "/api/Spaces-1/build-information/bulk?ids=BuildInformation-2,BuildInformation-3",
            None,
        )?,
        200,
    )?;
    assert_eq!(
        standin.ok("/api/Spaces-1/build-information")?["TotalResults"],
        0
    );
    Ok(())
}

fn package_project(standin: &Standin) -> Result<String, Box<dyn std::error::Error>> {
    let project = standin.project("Payments API", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        json!([{
            "Name": "Deploy",
            "Actions": [{
                "Name": "Deploy",
                "ActionType": "Octopus.TentaclePackage",
                "Packages": [{"Name": "", "PackageId": "Payments.Api", "FeedId": "feeds-builtin", "AcquisitionLocation": "Server"}],
                "Properties": {"Octopus.Action.Package.PackageId": "Payments.Api", "Octopus.Action.Package.FeedId": "feeds-builtin"}
            }]
        }]),
    )?;
    Ok(project)
}

#[test]
fn a_release_shows_the_build_information_of_its_versions_frozen_at_creation() -> TestResult {
    // The release is held to the 2020.5 Swagger, so the stand-in answers as that server.
    let standin = Standin::start_with(&["--profile", "2020.5"])?;
    let project = package_project(&standin)?;
    push(&standin, &command("Payments.Api", "1.4.0", "288"), "")?;
    let selected = json!([{"ActionName": "Deploy", "Version": "1.4.0"}]);
    // What a client sends as BuildInformation is not what the release shows.
    let release = standin.create(
        "/api/Spaces-1/releases",
        &json!({"ProjectId": project, "Version": "1.4.0", "SelectedPackages": selected,
                "BuildInformation": [{"PackageId": "Forged", "Version": "9.9.9"}]}),
    )?;
    let shown = &release["BuildInformation"];
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{shown}");
    assert_eq!(shown[0]["PackageId"], "Payments.Api");
    assert_eq!(shown[0]["BuildNumber"], "288");
    assert_eq!(
        shown[0]["Commits"][0]["Comment"],
        "PAY-12 retry the ledger call"
    );
    conforms("ReleaseResource", &release)?;
    // Pushed again later: the release keeps what it had.
    push(
        &standin,
        &command("Payments.Api", "1.4.0", "999"),
        "?overwriteMode=OverwriteExisting",
    )?;
    let read = standin.ok(&format!("/api/Spaces-1/releases/{}", id(&release)?))?;
    assert_eq!(read["BuildInformation"][0]["BuildNumber"], "288");
    // A release of a version without build information shows none.
    let other = standin.release(
        &project,
        "1.5.0",
        json!([{"ActionName": "Deploy", "Version": "1.5.0"}]),
    )?;
    assert_eq!(other["BuildInformation"], json!([]));
    Ok(())
}

#[test]
fn the_package_shows_its_build_information_in_both_profiles() -> TestResult {
    for args in [&[][..], &["--profile", "2020.5"][..]] {
        let standin = Standin::start_with(args)?;
        expect(standin.upload("Payments.Api.1.4.0.zip", b"pkg", "")?, 201)?;
        expect(standin.upload("Payments.Api.1.5.0.zip", b"pkg", "")?, 201)?;
        push(&standin, &command("Payments.Api", "1.4.0", "288"), "")?;
        let package = standin.ok("/api/Spaces-1/packages/packages-Payments.Api.1.4.0")?;
        assert_eq!(
            package["PackageVersionBuildInformation"]["BuildNumber"],
            "288"
        );
        conforms("PackageFromBuiltInFeedResource", &package)?;
        let bare = standin.ok("/api/Spaces-1/packages/packages-Payments.Api.1.5.0")?;
        assert_eq!(bare["PackageVersionBuildInformation"], Value::Null);
        let list = standin.ok("/api/Spaces-1/packages?filter=Payments.Api")?;
        conforms("ResourceCollection_of_PackageResource", &list)?;
        let with: Vec<&Value> = list["Items"]
            .as_array()
            .ok_or("no items")?
            .iter()
            .filter(|p| !p["PackageVersionBuildInformation"].is_null())
            .collect();
        assert_eq!(with.len(), 1, "{list}");
        let root = standin.ok("/api/Spaces-1")?;
        assert!(
            root["Links"]["BuildInformation"]
                .as_str()
                .is_some_and(|l| l.ends_with(
                    "/build-information{/id}{?packageId,filter,latest,skip,take,overwriteMode}"
                )),
            "{root}"
        );
    }
    Ok(())
}

#[test]
fn pushing_needs_build_information_push_and_deleting_administer() -> TestResult {
    let standin = Standin::start_with(&["--role-key", "API-PUSHER=BuildInformationPush,FeedView"])?;
    let reply = standin
        .client()
        .post(format!("{}/api/Spaces-1/build-information", standin.url))
        .header("X-Octopus-ApiKey", "API-PUSHER")
        .json(&command("Payments.Api", "1.4.0", "1"))
        .send()?;
    assert_eq!(reply.status().as_u16(), 200);
    let reply = standin
        .client()
        .delete(format!(
            "{}/api/Spaces-1/build-information/BuildInformation-1",
            standin.url
        ))
        .header("X-Octopus-ApiKey", "API-PUSHER")
        .send()?;
    assert_eq!(reply.status().as_u16(), 403);
    assert!(reply.text()?.contains("BuildInformationAdminister"));
    // Replacing is administering; ignoring an existing record is not.
    let send = |query: &str| {
        standin
            .client()
            .post(format!(
                "{}/api/Spaces-1/build-information{query}",
                standin.url
            ))
            .header("X-Octopus-ApiKey", "API-PUSHER")
            .json(&command("Payments.Api", "1.4.0", "2"))
            .send()
    };
    let replace = send("?overwriteMode=OverwriteExisting")?;
    assert_eq!(replace.status().as_u16(), 403);
    assert!(replace.text()?.contains("BuildInformationAdminister"));
    assert_eq!(
        send("?overwriteMode=IgnoreIfExists")?.status().as_u16(),
        200
    );
    assert_eq!(
        standin.ok("/api/Spaces-1/build-information/BuildInformation-1")?["BuildNumber"],
        "1"
    );
    Ok(())
}
