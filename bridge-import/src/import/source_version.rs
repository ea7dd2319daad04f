//! The older-target rule: a release records the Octopus Server version it was exported from
//! (`source.json`); importing it into an older server is warned about, or refused when the
//! trust policy says `[octopus] older_target = "refuse"` (bundle spec 7.1). An older server
//! may lack step kinds, properties or routes the release uses, and fail later, halfway.

use bridge_cli::failure::refused;
use bridge_cli::safe::Shown;
use bundle_format::policy::{OlderTarget, TrustPolicy};
use octopus_api::names::source::{SOURCE_DOCUMENT, SourceDocument, compare_versions};

use super::content::ReleaseContent;

/// Checks the target's `version` against the release's source; returns the warning to print,
/// if any. A bundle without `source.json` (exported before it existed) has nothing to check.
pub fn check(
    content: &ReleaseContent<'_>,
    target_version: &str,
    policy: &TrustPolicy,
) -> anyhow::Result<Option<String>> {
    let Some(source) = content.document::<SourceDocument>(SOURCE_DOCUMENT)? else {
        return Ok(None);
    };
    let source_version = source.server.version.as_str();
    match compare_versions(target_version, source_version) {
        Some(std::cmp::Ordering::Less) => {
            let what = format!(
                "the target Octopus is version {}, older than the {} the release was exported from",
                Shown(target_version),
                Shown(source_version)
            );
            match policy.octopus().older_target {
                OlderTarget::Warn => Ok(Some(format!(
                    "{what}; steps or settings the older server lacks may fail later"
                ))),
                OlderTarget::Refuse => Err(refused(
                    "target-older",
                    format!(
                        "{what}, and the trust policy says older_target = \"refuse\"\nHint: upgrade the secure-zone Octopus to {} or later, or set [octopus] older_target = \"warn\" in the policy to import anyway",
                        Shown(source_version)
                    ),
                )),
            }
        }
        Some(_) => Ok(None),
        None => Ok(Some(format!(
            "cannot compare the target Octopus version {} with the release's source version {}",
            Shown(target_version),
            Shown(source_version)
        ))),
    }
}
