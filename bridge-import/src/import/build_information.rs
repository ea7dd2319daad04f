//! Build information (`build-information.json`): pushed to the target before the packages and
//! the release, so the release created there shows the same `BuildInformation` as in the
//! development zone.
//!
//! ```text
//! build-information.json ──validate (bounds, shape, no credentials)──> refused: build-information-invalid
//!   per package version: GET build-information?packageId=P, the entry of version V
//!     none                      -> push   (POST build-information?overwriteMode=FailIfExists)
//!     the same (what a push sets) -> keep  (an earlier run pushed it)
//!     different                 -> refused before anything is written: build-information-conflict
//! ```
//!
//! Why not `OverwriteExisting` or `IgnoreIfExists`: the secure zone's build information for a
//! version is evidence of what was built; a bundle never rewrites it silently (overwrite), and
//! a release must not be created showing other build information than the bundle says
//! (ignore). A difference is for an operator to look at, as a different package file of the
//! same version is (`package-conflict`). `FailIfExists` on the push itself makes a record
//! written between the check and the push a refusal too.

use anyhow::Context as _;
use octopus_api::Client;
use octopus_api::names::build_information::{MAX_DOCUMENT_BYTES, PackageBuildInformation};
use octopus_api::names::{BUILD_INFORMATION_DOCUMENT, BuildInformationDocument};
use octopus_api::segment;
use serde_json::{Value, json};

use super::content::ReleaseContent;
use super::hook::Writes;
use super::record::AuditStep;
use super::refuse::refused;

/// What the import does with one package version's build information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The target has none: push it.
    Push,
    /// The target has the same: leave it.
    Keep,
}

/// One package version's build information, decided.
#[derive(Debug, Clone)]
pub struct BuildInformationWork {
    /// The bundle's entry.
    pub entry: PackageBuildInformation,
    /// What to do.
    pub outcome: Outcome,
}

impl BuildInformationWork {
    /// The plan line's detail.
    pub fn detail(&self) -> String {
        let e = &self.entry;
        let build = match (&e.build_environment, &e.build_number) {
            (Some(env), Some(n)) => format!("build {n} of {env}"),
            (None, Some(n)) => format!("build {n}"),
            (Some(env), None) => format!("a build of {env}"),
            (None, None) => "a build".to_owned(),
        };
        let branch = e
            .branch
            .as_deref()
            .map(|b| format!(" on {b}"))
            .unwrap_or_default();
        let commits = match e.commits.len() {
            1 => "1 commit".to_owned(),
            n => format!("{n} commits"),
        };
        match self.outcome {
            Outcome::Push => format!("{build}{branch}, {commits}"),
            Outcome::Keep => format!("the target has the same ({build}{branch}, {commits})"),
        }
    }
}

/// The bundle's `build-information.json`, checked; `None` for a bundle without one (an
/// older exporter, or packages without build information). A document that does not parse
/// or breaks a rule is refused (`build-information-invalid`) before the target is asked.
pub fn read(content: &ReleaseContent<'_>) -> anyhow::Result<Option<BuildInformationDocument>> {
    let invalid = |detail: String| {
        refused(
            "build-information-invalid",
            format!(
                "the bundle's {BUILD_INFORMATION_DOCUMENT} cannot be imported: {}\nHint: the bundle verified, so it is what the development zone sent; report it to the sender",
                bridge_cli::safe::Shown(&detail)
            ),
        )
    };
    let Some(staged) = content.documents.get(BUILD_INFORMATION_DOCUMENT) else {
        return Ok(None);
    };
    if staged.size > MAX_DOCUMENT_BYTES {
        return Err(invalid(format!(
            "it is {} bytes long; at most {MAX_DOCUMENT_BYTES} are accepted",
            staged.size
        )));
    }
    let bytes = std::fs::read(&staged.file)
        .with_context(|| format!("cannot read {}", staged.file.display()))?;
    let document: BuildInformationDocument =
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    document.validate().map_err(|e| invalid(e.to_string()))?;
    Ok(Some(document))
}

/// Decides each entry against what the target holds (reads only); a different record of the
/// same package version is refused, naming every one.
pub fn plan(
    client: &Client,
    document: Option<&BuildInformationDocument>,
    target: &str,
) -> anyhow::Result<Vec<BuildInformationWork>> {
    let Some(document) = document else {
        return Ok(Vec::new());
    };
    let mut work = Vec::new();
    let mut conflicts = Vec::new();
    for entry in &document.packages {
        let records: Vec<Value> = client.get_all(&format!(
            "build-information?packageId={}",
            segment(&entry.package_id)
        ))?;
        let existing = records.iter().find(|r| {
            r.get("Version")
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(&entry.version))
        });
        let outcome = match existing.map(|r| entry.difference(r)) {
            None => Outcome::Push,
            Some(None) => Outcome::Keep,
            Some(Some(difference)) => {
                conflicts.push(difference);
                continue;
            }
        };
        work.push(BuildInformationWork {
            entry: entry.clone(),
            outcome,
        });
    }
    if !conflicts.is_empty() {
        return Err(refused(
            "build-information-conflict",
            format!(
                "{target} has other build information for package versions of the bundle; nothing was written:{}\nHint: build information of a version is written once; if the target's is wrong, delete it there (Library > Build Information) and import again",
                bridge_cli::safe::bullets(&conflicts)
            ),
        ));
    }
    Ok(work)
}

/// Pushes each entry the plan found missing, with `FailIfExists`.
pub fn write(
    client: &Client,
    work: &[BuildInformationWork],
    project: &str,
    version: &str,
    writes: &mut Writes,
    audit: &mut Vec<AuditStep>,
) -> anyhow::Result<()> {
    for item in work {
        if item.outcome == Outcome::Push {
            let _: Value = client.post(
                "build-information?overwriteMode=FailIfExists",
                &item.entry.to_command(),
            )?;
            writes.done("build information")?;
        }
        audit.push(AuditStep {
            event: "import.build-information",
            detail: json!({
                "project": project, "version": version,
                "package": item.entry.package_id, "package_version": item.entry.version,
                "action": if item.outcome == Outcome::Push { "pushed" } else { "kept" },
            }),
        });
    }
    Ok(())
}

/// The first way `shown` (the release's `BuildInformation` on the target) differs from the
/// bundle's document; `None` when each entry is there and the same. A target that shows no
/// `BuildInformation` on releases at all is not compared.
pub fn release_difference(
    document: Option<&BuildInformationDocument>,
    shown: Option<&Value>,
) -> Option<String> {
    let (document, shown) = (document?, shown?.as_array()?);
    for entry in &document.packages {
        let found = shown.iter().find(|s| {
            s.get("PackageId")
                .and_then(Value::as_str)
                .is_some_and(|p| p.eq_ignore_ascii_case(&entry.package_id))
                && s.get("Version")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(&entry.version))
        });
        match found {
            None => {
                return Some(format!(
                    "its BuildInformation has nothing for {}",
                    entry.describe()
                ));
            }
            Some(shown) => {
                if let Some(difference) = entry.difference(shown) {
                    return Some(format!("its BuildInformation differs: {difference}"));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use octopus_api::names::build_information::Commit;

    fn entry() -> PackageBuildInformation {
        PackageBuildInformation {
            package_id: "Payments.Api".into(),
            version: "1.4.1".into(),
            build_environment: Some("GitHub Actions".into()),
            build_number: Some("288".into()),
            branch: Some("main".into()),
            commits: vec![Commit {
                id: Some("8c07d4e".into()),
                comment: Some("PAY-31".into()),
                link_url: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn the_release_must_show_each_entry_as_the_bundle_has_it() {
        let document = BuildInformationDocument {
            packages: vec![entry()],
        };
        let same = json!([{"PackageId": "payments.api", "Version": "1.4.1", "BuildEnvironment": "GitHub Actions",
            "BuildNumber": "288", "Branch": "main", "VcsCommitUrl": "derived",
            "Commits": [{"Id": "8c07d4e", "Comment": "PAY-31", "LinkUrl": "derived"}], "WorkItems": []}]);
        assert_eq!(release_difference(Some(&document), Some(&same)), None);
        let mut other = same.clone();
        other[0]["Branch"] = json!("hotfix");
        assert!(
            release_difference(Some(&document), Some(&other))
                .is_some_and(|d| d.contains("Payments.Api 1.4.1: Branch"))
        );
        assert_eq!(
            release_difference(Some(&document), Some(&json!([]))).as_deref(),
            Some("its BuildInformation has nothing for Payments.Api 1.4.1")
        );
        // No document, or a server that shows no BuildInformation on releases: nothing to check.
        assert_eq!(release_difference(None, Some(&same)), None);
        assert_eq!(release_difference(Some(&document), None), None);
    }

    #[test]
    fn plan_details_say_build_branch_and_commits() {
        let push = BuildInformationWork {
            entry: entry(),
            outcome: Outcome::Push,
        };
        assert_eq!(
            push.detail(),
            "build 288 of GitHub Actions on main, 1 commit"
        );
        let mut bare = entry();
        bare.build_environment = None;
        bare.branch = None;
        bare.commits.clear();
        let keep = BuildInformationWork {
            entry: bare,
            outcome: Outcome::Keep,
        };
        assert_eq!(
            keep.detail(),
            "the target has the same (build 288, 0 commits)"
        );
    }
}
