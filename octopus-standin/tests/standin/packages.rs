//! The built-in feed: multipart upload with `overwriteMode`, the package resource with its
//! SHA-1 `Hash`, raw download, and listing with filters.

use serde_json::Value;

use crate::harness::{KEY, Standin, TestResult, expect};

const CONFLICT: &str = "A package with the same ID and version already exists. To proceed anyway, specify an overwriteMode of OverwriteExisting or IgnoreIfExists.";

/// SHA-1 of `bytes` as lowercase hex, computed by the system's `sha1sum` so the test does
/// not trust the server's own hashing code.
fn sha1sum(bytes: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().ok_or("no stdin")?.write_all(bytes)?;
    let out = child.wait_with_output()?;
    Ok(String::from_utf8(out.stdout)?
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_owned())
}

#[test]
fn an_upload_is_parsed_hashed_and_downloadable_byte_for_byte() -> TestResult {
    let standin = Standin::start()?;
    // Larger than axum's default body limit (2 MB), which the upload route must not apply.
    let content: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let package = expect(
        standin.upload("Payments.Api.1.4.0-rc.2.tar.gz", &content, "")?,
        201,
    )?;
    assert_eq!(package["Id"], "packages-Payments.Api.1.4.0-rc.2");
    assert_eq!(package["PackageId"], "Payments.Api");
    assert_eq!(package["Version"], "1.4.0-rc.2");
    assert_eq!(package["FileExtension"], ".tar.gz");
    assert_eq!(package["FeedId"], "feeds-builtin");
    assert_eq!(package["PackageSizeBytes"], 5_000_000);
    assert_eq!(package["Hash"], sha1sum(&content)?.as_str());
    let fetched = standin.ok("/api/Spaces-1/packages/packages-Payments.Api.1.4.0-rc.2")?;
    assert_eq!(fetched["Hash"], package["Hash"]);
    let raw = standin
        .client()
        .get(format!(
            "{}/api/Spaces-1/packages/packages-Payments.Api.1.4.0-rc.2/raw",
            standin.url
        ))
        .header("X-Octopus-ApiKey", KEY)
        .send()?
        .error_for_status()?
        .bytes()?;
    assert!(
        raw.as_ref() == content.as_slice(),
        "the download differs from the upload"
    );
    Ok(())
}

#[test]
fn overwrite_modes_fail_ignore_or_overwrite_an_existing_version() -> TestResult {
    let standin = Standin::start()?;
    let first = expect(
        standin.upload("Ledger.Worker.2.0.3.zip", b"first", "")?,
        201,
    )?;
    // FailIfExists is the default.
    for query in ["", "?overwriteMode=FailIfExists", "?replace=false"] {
        let conflict = expect(
            standin.upload("Ledger.Worker.2.0.3.zip", b"second", query)?,
            409,
        )?;
        assert_eq!(conflict["ErrorMessage"], CONFLICT);
    }
    let ignored = expect(
        standin.upload(
            "Ledger.Worker.2.0.3.zip",
            b"second",
            "?overwriteMode=IgnoreIfExists",
        )?,
        200,
    )?;
    assert_eq!(
        ignored["Hash"], first["Hash"],
        "IgnoreIfExists keeps the stored file"
    );
    let replaced = expect(
        standin.upload(
            "Ledger.Worker.2.0.3.zip",
            b"third",
            "?overwriteMode=OverwriteExisting",
        )?,
        201,
    )?;
    assert_eq!(replaced["Hash"], sha1sum(b"third")?.as_str());
    let legacy = expect(
        standin.upload("Ledger.Worker.2.0.3.zip", b"fourth", "?replace=true")?,
        201,
    )?;
    assert_eq!(legacy["Hash"], sha1sum(b"fourth")?.as_str());
    expect(
        standin.upload("Ledger.Worker.2.0.3.zip", b"x", "?overwriteMode=Sometimes")?,
        400,
    )?;
    Ok(())
}

#[test]
fn a_large_upload_refused_before_its_file_is_read_still_gets_its_400() -> TestResult {
    // A client still writing the body must read the 400, not a connection closed under it.
    let standin = Standin::start()?;
    let big = vec![7u8; 4 * 1024 * 1024];
    for _ in 0..3 {
        let mode = expect(
            standin.upload("Ledger.Worker.2.0.9.zip", &big, "?overwriteMode=Always")?,
            400,
        )?;
        assert!(
            mode.to_string().contains("overwriteMode 'Always'"),
            "{mode}"
        );
        let name = expect(standin.upload("ledger-worker.zip", &big, "")?, 400)?;
        assert!(name.to_string().contains("<PackageId>.<Version>"), "{name}");
    }
    Ok(())
}

#[test]
fn uploads_without_a_versioned_name_or_content_are_refused() -> TestResult {
    let standin = Standin::start()?;
    let unnamed = expect(standin.upload("payments.zip", b"x", "")?, 400)?;
    assert!(
        unnamed["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("<PackageId>.<Version>")),
        "{unnamed}"
    );
    let empty = expect(standin.upload("Payments.Api.1.0.0.zip", b"", "")?, 400)?;
    assert_eq!(
        empty["Errors"][0],
        "The uploaded package file had length equal to 0. Please upload a non-empty file."
    );
    let not_multipart = expect(
        standin.post("/api/Spaces-1/packages/raw", &serde_json::json!({}))?,
        400,
    )?;
    assert_eq!(
        not_multipart["ErrorMessage"],
        "There was a problem with your request."
    );
    Ok(())
}

#[test]
fn the_file_part_may_have_any_field_name() -> TestResult {
    let standin = Standin::start()?;
    let part = reqwest::blocking::multipart::Part::bytes(b"zip".to_vec())
        .file_name("Fraud.Rules.3.1.0.zip");
    let response = standin
        .client()
        .post(format!("{}/api/Spaces-1/packages/raw", standin.url))
        .header("X-Octopus-ApiKey", KEY)
        .multipart(reqwest::blocking::multipart::Form::new().part("fileData", part))
        .send()?;
    assert_eq!(response.status().as_u16(), 201);
    Ok(())
}

#[test]
fn listing_filters_by_package_id_and_shows_the_latest_version() -> TestResult {
    let standin = Standin::start()?;
    for name in [
        "Payments.Api.1.9.0.zip",
        "Payments.Api.1.10.0.zip",
        "Payments.Api.1.10.0-rc.1.zip",
        "Ledger.Worker.2.0.3.zip",
    ] {
        expect(standin.upload(name, name.as_bytes(), "")?, 201)?;
    }
    let payments = standin.ok("/api/Spaces-1/packages?filter=payments")?;
    assert_eq!(payments["TotalResults"], 3);
    let latest = standin.ok("/api/Spaces-1/packages?nuGetPackageId=Payments.Api&latest=true")?;
    assert_eq!(latest["TotalResults"], 1);
    assert_eq!(latest["Items"][0]["Version"], "1.10.0");
    let everything = standin.ok("/api/Spaces-1/packages?latest=true")?;
    let ids: Vec<&Value> = everything["Items"]
        .as_array()
        .ok_or("no Items")?
        .iter()
        .map(|p| &p["Id"])
        .collect();
    assert_eq!(
        ids,
        [
            "packages-Ledger.Worker.2.0.3",
            "packages-Payments.Api.1.10.0"
        ]
    );
    expect(
        standin.get("/api/Spaces-1/packages?filter=a&nuGetPackageId=b")?,
        400,
    )?;
    Ok(())
}

#[test]
fn external_feeds_can_be_created_and_answer_from_their_listed_versions_only() -> TestResult {
    let standin = Standin::start()?;
    let feed = standin.create(
        "/api/Spaces-1/feeds",
        &serde_json::json!({"Name": "NuGet.org", "FeedType": "NuGet", "StandinPackages": {"Newtonsoft.Json": ["13.0.3"]}}),
    )?;
    let feed_id = crate::harness::id(&feed)?;
    assert_eq!(
        standin
            .ok("/api/Spaces-1/feeds/all")?
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // The built-in feed exists once and cannot be made, changed or removed.
    let builtin = expect(
        standin.post(
            "/api/Spaces-1/feeds",
            &serde_json::json!({"Name": "Mine", "FeedType": "BuiltIn"}),
        )?,
        400,
    )?;
    assert!(
        builtin["Errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("built-in feed already exists")),
        "{builtin}"
    );
    expect(
        standin.send("DELETE", "/api/Spaces-1/feeds/feeds-builtin", None)?,
        400,
    )?;
    // A deployment needing a version the feed no longer lists fails, naming the feed.
    let env = standin.environment("Production")?;
    let project = standin.project("Checkout", "Lifecycles-1")?;
    standin.set_steps(
        &project,
        serde_json::json!([{"Name": "Deploy", "Actions": [{"Name": "Deploy", "ActionType": "Octopus.TentaclePackage",
            "Packages": [{"Name": "", "PackageId": "Newtonsoft.Json", "FeedId": feed_id}]}]}]),
    )?;
    let release = standin.release(
        &project,
        "1.0.0",
        serde_json::json!([{"ActionName": "Deploy", "Version": "13.0.3"}]),
    )?;
    let mut emptied = feed.clone();
    emptied["StandinPackages"] = serde_json::json!({});
    expect(
        standin.put(&format!("/api/Spaces-1/feeds/{feed_id}"), &emptied)?,
        200,
    )?;
    let deployment = standin.deploy(&crate::harness::id(&release)?, &env)?;
    let task = deployment["TaskId"].as_str().ok_or("no TaskId")?;
    let done = standin.wait_for_task(task, std::time::Duration::from_secs(30))?;
    assert_eq!(
        done["ErrorMessage"],
        "The package Newtonsoft.Json version 13.0.3 was not found in the feed 'NuGet.org'"
    );
    Ok(())
}
