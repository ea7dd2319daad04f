//! External packages (`external-packages.json`): checked on the target before anything is
//! written. Their bytes never travel (Octopus's API cannot download an external feed's
//! package), so the secure zone's own registry must already hold each version the release
//! selects.
//!
//! ```text
//! external-packages.json ──> each (action, package reference, feed, package id, version)
//!   the feed: the process's package reference, resolved by name ([feeds] renames)   resolve.rs
//!   GET feeds/{id}              the target feed's type must be the bundle's
//!   GET feeds/{id}/packages/versions?packageId=&filter=&includePreRelease=true
//!                               the exact version must be listed
//!   │ every missing artifact listed in one refusal (external-package-missing), nothing written
//!   a feed or package id given as a variable expression (#{Kubernetes.Feed}) is chosen when
//!   the deployment runs: accepted, not checked
//! ```

use octopus_api::Client;
use octopus_api::names::{ExternalPackage, is_expression};
use octopus_api::resources::{Feed, Step, find_version};

use super::refuse::refused;

/// An external package of the release and what the target has of it.
#[derive(Debug, Clone)]
pub struct ExternalCheck {
    /// The package as the bundle has it.
    pub package: ExternalPackage,
    /// The target's feed, by name (`None` when the feed is a variable expression).
    pub target_feed: Option<String>,
    /// Whether the target's feed lists the version (`false` when not checked).
    pub checked: bool,
}

/// The feed id the target's process gives the package reference of `package`.
fn feed_id<'a>(steps: &'a [Step], package: &ExternalPackage) -> Option<&'a str> {
    steps
        .iter()
        .flat_map(|s| &s.actions)
        .find(|a| a.name.eq_ignore_ascii_case(&package.action))?
        .packages
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&package.package_reference))
        .map(|p| p.feed_id.as_str())
}

fn invalid(detail: String) -> anyhow::Error {
    refused(
        "release-invalid",
        format!(
            "the bundle's release cannot be imported: {detail}\nHint: the bundle verified, so it is what the development zone sent; report it to the sender"
        ),
    )
}

/// Each external package with the target feed id of its package reference. A package whose
/// action or reference the process does not have, or a reference listed twice (which version
/// would the release select?), makes the bundle inconsistent: refused (`release-invalid`).
pub fn references<'a>(
    packages: &'a [ExternalPackage],
    steps: &'a [Step],
) -> anyhow::Result<Vec<(&'a ExternalPackage, &'a str)>> {
    let mut out: Vec<(&ExternalPackage, &str)> = Vec::new();
    for package in packages {
        let Some(feed_id) = feed_id(steps, package) else {
            return Err(invalid(format!(
                "external-packages.json names {}, which its process does not have",
                bridge_cli::safe::Shown(&package.describe())
            )));
        };
        let twice = out.iter().any(|(p, _)| {
            p.action.eq_ignore_ascii_case(&package.action)
                && p.package_reference
                    .eq_ignore_ascii_case(&package.package_reference)
        });
        if twice {
            return Err(invalid(format!(
                "external-packages.json lists the package reference of {} twice",
                bridge_cli::safe::Shown(&package.describe())
            )));
        }
        out.push((package, feed_id));
    }
    Ok(out)
}

/// Checks every external package against the target's feeds (reads only); refuses, listing
/// every missing artifact at once, if any version is not there.
pub fn check(
    client: &Client,
    packages: &[ExternalPackage],
    steps: &[Step],
) -> anyhow::Result<Vec<ExternalCheck>> {
    let mut checks = Vec::new();
    let mut missing = Vec::new();
    for (package, feed_id) in references(packages, steps)? {
        if is_expression(feed_id)
            || package.feed_is_expression()
            || is_expression(&package.package_id)
        {
            checks.push(ExternalCheck {
                package: package.clone(),
                target_feed: None,
                checked: false,
            });
            continue;
        }
        let feed: Feed = client.get(&format!("feeds/{}", octopus_api::segment(feed_id)))?;
        let wanted_type = package.feed_type.as_deref().unwrap_or(&feed.feed_type);
        if !feed.feed_type.eq_ignore_ascii_case(wanted_type) {
            missing.push(format!(
                "{}: the target's feed {:?} is a {} feed, the development zone's a {wanted_type} feed",
                package.describe(),
                feed.name,
                feed.feed_type
            ));
            continue;
        }
        match find_version(client, feed_id, &package.package_id, &package.version)? {
            Some(_) => checks.push(ExternalCheck {
                package: package.clone(),
                target_feed: Some(feed.name.clone()),
                checked: true,
            }),
            None => missing.push(format!(
                "feed {:?}{}: package {}, version {} is not there (used by action {:?})",
                feed.name,
                if feed.name.eq_ignore_ascii_case(&package.feed) {
                    String::new()
                } else {
                    format!(" (the bundle's {:?})", package.feed)
                },
                package.package_id,
                package.version,
                package.action
            )),
        }
    }
    if missing.is_empty() {
        return Ok(checks);
    }
    let count = missing.len();
    Err(refused(
        "external-package-missing",
        format!(
            "{count} external {} the release needs {} not on the target's feeds; nothing was written:{}\nHint: copy each one into the secure zone's registry first (docker pull/tag/push, helm push, mvn deploy, ...), then run the import again; a feed named differently on the target is renamed in the mapping file under [feeds]",
            if count == 1 { "artifact" } else { "artifacts" },
            if count == 1 { "is" } else { "are" },
            bridge_cli::safe::bullets(&missing)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use octopus_api::resources::Step;
    use serde_json::json;

    use super::*;

    fn steps() -> Result<Vec<Step>, serde_json::Error> {
        serde_json::from_value(
            json!([{"Name": "Deploy", "Actions": [{"Name": "Deploy to cluster",
            "ActionType": "Octopus.KubernetesDeployContainers",
            "Packages": [
                {"Name": "api", "PackageId": "payments/api", "FeedId": "Feeds-3"},
                {"Name": "worker", "PackageId": "payments/worker", "FeedId": "#{Kubernetes.Feed}"}
            ]}]}]),
        )
    }

    fn package(action: &str, reference: &str, version: &str) -> ExternalPackage {
        ExternalPackage {
            action: action.to_owned(),
            package_reference: reference.to_owned(),
            feed: "Docker Hub".to_owned(),
            feed_type: Some("Docker".to_owned()),
            package_id: "payments/api".to_owned(),
            version: version.to_owned(),
            digest: None,
            other: Default::default(),
        }
    }

    fn refusal(result: anyhow::Result<Vec<(&ExternalPackage, &str)>>) -> String {
        match result {
            Ok(found) => format!("accepted {} references", found.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn references_find_the_targets_feed_ignoring_case() -> Result<(), Box<dyn std::error::Error>> {
        let steps = steps()?;
        let packages = [
            package("DEPLOY TO CLUSTER", "API", "1.25.3"),
            package("Deploy to cluster", "worker", "3.0.1"),
        ];
        let found = references(&packages, &steps)?;
        let feeds: Vec<&str> = found.iter().map(|(_, feed)| *feed).collect();
        assert_eq!(feeds, ["Feeds-3", "#{Kubernetes.Feed}"]);
        Ok(())
    }

    #[test]
    fn an_inconsistent_document_is_refused_as_invalid() -> Result<(), Box<dyn std::error::Error>> {
        let steps = steps()?;
        // An action the process does not have, a reference it does not have, a reference
        // listed twice with two versions, and a name that tries to start a line of its own.
        for (packages, expected) in [
            (
                vec![package("Migrate", "api", "1")],
                "names payments/api 1 on feed \"Docker Hub\" (action \"Migrate\", reference \"api\"), which its process does not have",
            ),
            (
                vec![package("Deploy to cluster", "sidecar", "1")],
                "(action \"Deploy to cluster\", reference \"sidecar\"), which its process does not have",
            ),
            (
                vec![
                    package("Deploy to cluster", "api", "1.25.3"),
                    package("Deploy to cluster", "API", "6.6.6"),
                ],
                "lists the package reference of payments/api 6.6.6 on feed \"Docker Hub\" (action \"Deploy to cluster\", reference \"API\") twice",
            ),
            (
                vec![package("Deploy\nerror: forged", "api", "1")],
                "which its process does not have",
            ),
        ] {
            let text = refusal(references(&packages, &steps));
            assert!(text.contains(expected), "{text}");
            assert!(
                text.starts_with("the bundle's release cannot be imported"),
                "{text}"
            );
            assert!(
                !text.contains("\nerror: forged"),
                "a bundle name started a line: {text}"
            );
        }
        Ok(())
    }
}
