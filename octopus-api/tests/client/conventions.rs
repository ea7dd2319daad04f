//! Octopus's conventions, against the stand-in: spaces by id or name, the API key, paging to
//! the end, error bodies, and streamed package transfers.

use octopus_api::resources::{Environment, Package, Project, Release};
use octopus_api::{ApiKey, Client, Endpoint, OctopusError, OverwriteMode, SpaceRef, segment};
use serde_json::{Value, json};

use crate::harness::{Standin, TestResult};

#[test]
fn the_space_is_found_by_id_by_name_or_as_the_default() -> TestResult {
    // The version is read from `GET /api` on connect, whichever server it is.
    for (profile, version) in [("2020.5", "2020.5.0"), ("2025", "2025.1.5054")] {
        let standin = Standin::start_profile(profile)?;
        let client = Client::connect(standin.endpoint("")?)?;
        assert_eq!(client.server_version(), version);
    }
    let standin = Standin::start(None)?;
    for space in ["", "Spaces-1", "Default", "default"] {
        let client = Client::connect(standin.endpoint(space)?)?;
        assert_eq!(client.space_id(), "Spaces-1", "{space:?}");
        assert_eq!(
            client.server_version(),
            "2025.1.5054",
            "the current profile by default"
        );
    }
    let err = Client::connect(standin.endpoint("Payments")?)
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        err.to_string(),
        format!(
            "Octopus at {} has no space \"Payments\" (spaces: Default (Spaces-1)). Hint: check --space",
            standin.url
        )
    );
    Ok(())
}

#[test]
fn a_wrong_api_key_is_named_with_the_hint() -> TestResult {
    let standin = Standin::start(None)?;
    let endpoint = Endpoint::new(&standin.url, ApiKey::new("API-WRONG"), SpaceRef::Default)?;
    let err = Client::connect(endpoint).err().ok_or("expected an error")?;
    assert!(matches!(err, OctopusError::Unauthorized { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("refused the API key")
            && text.contains("Hint: check --api-key / OCTOPUS_API_KEY"),
        "{text}"
    );
    assert!(
        !text.contains("API-WRONG"),
        "the key is never printed: {text}"
    );
    Ok(())
}

#[test]
fn get_all_follows_the_pages_to_the_end() -> TestResult {
    let standin = Standin::start(None)?;
    let client = standin.client()?;
    for n in 0..230 {
        let _: Environment =
            client.post("environments", &json!({"Name": format!("Env {n:03}")}))?;
    }
    let all: Vec<Environment> = client.get_all("environments")?;
    assert_eq!(all.len(), 230);
    assert_eq!(all.last().map(|e| e.name.as_str()), Some("Env 229"));
    let filtered: Vec<Environment> = client.get_all("environments?partialName=Env%2000")?;
    assert_eq!(filtered.len(), 10);
    Ok(())
}

#[test]
fn missing_resources_and_refusals_carry_octopus_messages() -> TestResult {
    let standin = Standin::start(None)?;
    let client = standin.client()?;
    assert!(
        client
            .get_optional::<Project>("projects/Projects-404")?
            .is_none()
    );
    let err = client
        .get::<Project>("projects/Projects-404")
        .err()
        .ok_or("expected an error")?;
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "Octopus answered 404 to GET /api/Spaces-1/projects/Projects-404: The resource 'Projects-404' was not found.; There is no project 'Projects-404' in this space."
    );
    let err = client
        .post::<_, Value>("environments", &json!({"Description": "no name"}))
        .err()
        .ok_or("expected an error")?;
    assert_eq!(err.status(), Some(400));
    assert!(
        err.to_string()
            .ends_with("There was a problem with your request.; The Name field is required."),
        "{err}"
    );
    Ok(())
}

#[test]
fn packages_upload_and_download_streamed_with_overwrite_modes() -> TestResult {
    let standin = Standin::start(None)?;
    let client = standin.client()?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("upload.bin");
    let content: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &content)?;
    let (status, package): (u16, Package) =
        client.upload_package(&file, "Payments.Api.1.4.0.zip", OverwriteMode::FailIfExists)?;
    assert_eq!(
        (status, package.id.as_str()),
        (201, "packages-Payments.Api.1.4.0")
    );
    assert_eq!(package.package_size_bytes, Some(3_000_000));
    let (status, _): (u16, Package) = client.upload_package(
        &file,
        "Payments.Api.1.4.0.zip",
        OverwriteMode::IgnoreIfExists,
    )?;
    assert_eq!(status, 200);
    let err = client
        .upload_package::<Package>(&file, "Payments.Api.1.4.0.zip", OverwriteMode::FailIfExists)
        .err()
        .ok_or("expected a conflict")?;
    assert_eq!(err.status(), Some(409));
    let mut downloaded = Vec::new();
    let copied = client.download("packages/packages-Payments.Api.1.4.0/raw", &mut downloaded)?;
    assert_eq!(copied, 3_000_000);
    assert!(
        downloaded == content,
        "the download differs from the upload"
    );
    Ok(())
}

#[test]
fn release_versions_are_encoded_as_path_segments() -> TestResult {
    let standin = Standin::start(Some("dev.json"))?;
    let client = standin.client()?;
    let projects: Vec<Project> = client.get_all("projects")?;
    assert!(projects.len() >= 3, "the dev seed has projects");
    let project = projects
        .iter()
        .find(|p| p.name == "Payments API")
        .ok_or("no Payments API")?;
    let release: Release = client.get(&format!(
        "projects/{}/releases/{}",
        project.id,
        segment("1.4.1")
    ))?;
    assert_eq!(release.version, "1.4.1");
    assert_eq!(segment("1.0.0+build.5"), "1.0.0%2Bbuild.5");
    assert_eq!(segment("a/b c"), "a%2Fb%20c");
    Ok(())
}
