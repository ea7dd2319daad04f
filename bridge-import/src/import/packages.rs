//! The package step: the release's package files into the target's built-in feed, never
//! overwriting a different file of the same version.
//!
//! For each package: `GET packages/packages-<id>.<version>`; the same SHA-1 as the bundle's
//! file -> nothing to do; another SHA-1 (or none) -> refused (`package-conflict`), every such
//! package listed; missing -> uploaded with `overwriteMode=FailIfExists` from the staging
//! folder, and the SHA-1 the feed computed is checked. A 409 (someone uploaded it meanwhile)
//! is judged like a package found by the `GET`.

use octopus_api::resources::Package;
use octopus_api::{Client, OverwriteMode, segment};

use super::content::StagedPackage;
use super::refuse::refused;

/// A package and whether the target's feed has it already (with the same content).
#[derive(Debug, Clone)]
pub struct PackageCheck {
    /// The package.
    pub package: StagedPackage,
    /// Whether the feed has this version with the same SHA-1.
    pub present: bool,
}

/// The archive extensions the built-in feed knows, longest first.
const EXTENSIONS: &[&str] = &[
    ".tar.bz2", ".tar.gz", ".tar.xz", ".nupkg", ".tar", ".tgz", ".zip", ".jar", ".war", ".ear",
    ".bz2", ".gz", ".xz",
];

fn resource(package: &StagedPackage) -> String {
    let r = &package.reference;
    format!(
        "packages/{}",
        segment(&format!("packages-{}.{}", r.id, r.version))
    )
}

/// Why a stored package is not the bundle's, if it is not.
fn conflict(package: &StagedPackage, stored: &Package) -> Option<String> {
    let r = &package.reference;
    match stored.hash.as_deref() {
        Some(hash) if hash.eq_ignore_ascii_case(&package.sha1) => None,
        Some(hash) => Some(format!(
            "package {} version {} already exists on the target with different content (sha1 {}, bundle has {})",
            r.id,
            r.version,
            hash.to_lowercase(),
            package.sha1
        )),
        None => Some(format!(
            "package {} version {} already exists on the target, and its feed reports no SHA-1 to compare with the bundle's {}",
            r.id, r.version, package.sha1
        )),
    }
}

fn conflict_error(conflicts: &[String]) -> anyhow::Error {
    // Package ids and versions from the bundle: escaped, one line each.
    let mut message = conflicts
        .iter()
        .map(|c| bridge_cli::safe::safe_text(c))
        .collect::<Vec<_>>()
        .join("\n");
    message.push_str("\nHint: a version in a feed is immutable; if the target's file is wrong, delete it from the built-in feed on the target, or release a new version in the development zone");
    refused("package-conflict", message)
}

/// Checks every package against the target's feed (reads only); refuses if any version is
/// there with other content.
pub fn check(client: &Client, packages: &[StagedPackage]) -> anyhow::Result<Vec<PackageCheck>> {
    let mut checks = Vec::new();
    let mut conflicts = Vec::new();
    for package in packages {
        let present = match client.get_optional::<Package>(&resource(package))? {
            None => false,
            Some(stored) => match conflict(package, &stored) {
                None => true,
                Some(why) => {
                    conflicts.push(why);
                    true
                }
            },
        };
        checks.push(PackageCheck {
            package: package.clone(),
            present,
        });
    }
    if conflicts.is_empty() {
        Ok(checks)
    } else {
        Err(conflict_error(&conflicts))
    }
}

/// The file name a package is uploaded under: `<PackageId>.<Version><ext>`, the built-in
/// feed's convention (the entry's own name when it follows it).
pub fn upload_name(package: &StagedPackage) -> anyhow::Result<String> {
    let r = &package.reference;
    let stem = format!("{}.{}", r.id, r.version);
    let file_name = r.path.components().last().unwrap_or_default();
    if file_name
        .get(..stem.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(&stem))
        && file_name
            .get(stem.len()..)
            .is_some_and(|ext| EXTENSIONS.contains(&ext))
    {
        return Ok(file_name.to_owned());
    }
    let lower = file_name.to_lowercase();
    match EXTENSIONS.iter().find(|ext| lower.ends_with(*ext)) {
        Some(ext) => Ok(format!("{stem}{ext}")),
        None => Err(refused(
            "release-invalid",
            format!(
                "package {} {} is the file {file_name:?}, whose extension the built-in feed does not know ({})",
                r.id,
                r.version,
                EXTENSIONS.join(", ")
            ),
        )),
    }
}

/// Uploads a package the feed does not have, and checks what the feed stored.
pub fn upload(client: &Client, package: &StagedPackage) -> anyhow::Result<()> {
    let name = upload_name(package)?;
    match client.upload_package::<Package>(&package.file, &name, OverwriteMode::FailIfExists) {
        Ok((_, stored)) => match conflict(package, &stored) {
            None => Ok(()),
            Some(why) => Err(refused(
                "package-conflict",
                format!(
                    "after the upload, {why}\nHint: the file was damaged on its way to the feed; run the import again"
                ),
            )),
        },
        Err(err) if err.status() == Some(409) => {
            let stored: Package = client.get(&resource(package))?;
            match conflict(package, &stored) {
                None => Ok(()),
                Some(why) => Err(conflict_error(&[why])),
            }
        }
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use bundle_format::manifest::PackageRef;
    use bundle_format::names::{Digest, EntryPath, Sha1Digest};

    use super::*;

    fn package(path: &str) -> Result<StagedPackage, Box<dyn std::error::Error>> {
        Ok(StagedPackage {
            reference: PackageRef {
                id: "Payments.Api".into(),
                version: "1.4.1".into(),
                path: EntryPath::new(path)?,
                size: 1,
                sha256: Digest::of(b"x"),
                sha1: Sha1Digest::from_bytes([0xab; 20]),
            },
            file: path.into(),
            sha1: "ab".repeat(20),
        })
    }

    #[test]
    fn the_upload_name_follows_the_feed_convention() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            upload_name(&package("packages/Payments.Api.1.4.1.zip")?)?,
            "Payments.Api.1.4.1.zip"
        );
        assert_eq!(
            upload_name(&package("packages/api.tar.gz")?)?,
            "Payments.Api.1.4.1.tar.gz"
        );
        assert!(upload_name(&package("packages/api.bin")?).is_err());
        Ok(())
    }

    #[test]
    fn a_different_file_of_the_same_version_is_a_conflict() -> Result<(), Box<dyn std::error::Error>>
    {
        let p = package("packages/Payments.Api.1.4.1.zip")?;
        let stored: Package = serde_json::from_value(serde_json::json!({
            "Id": "packages-Payments.Api.1.4.1", "PackageId": "Payments.Api", "Version": "1.4.1", "Hash": "AB".repeat(20)
        }))?;
        assert_eq!(conflict(&p, &stored), None);
        let other = Package {
            hash: Some("cd".repeat(20)),
            ..stored
        };
        assert_eq!(
            conflict(&p, &other).as_deref(),
            Some(format!("package Payments.Api version 1.4.1 already exists on the target with different content (sha1 {}, bundle has {})", "cd".repeat(20), "ab".repeat(20)).as_str())
        );
        Ok(())
    }
}
