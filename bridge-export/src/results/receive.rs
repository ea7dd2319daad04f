//! One result bundle taken in and noted on its release: what `results FILE` does once and
//! what `watch` does for each file of the results inbox, so that the two can never differ.

use anyhow::Context as _;
use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bundle_format::policy::TrustPolicy;
use ledger::{Ledger, Verdict};
use octopus_api::resources::{Project, Release};
use octopus_api::{Client, Endpoint, segment};

use super::note;
use super::take::{Taken, take};

/// A result bundle taken in, and where its note was written.
#[derive(Debug)]
pub struct Received {
    /// What [`take`] found and recorded.
    pub taken: Taken,
    /// Where the note on the release was written; `None` when no Octopus was given.
    pub note: Option<String>,
}

/// Takes `input` in (verified against `policy`, recorded in `ledger`, its log copied to
/// `log_out`), then, when `octopus` is given, replaces the results block in the release's
/// notes on that instance. A result already recorded has its note written again, so taking
/// the same bundle in again retries a note that failed.
pub fn receive(
    input: &BundleInput,
    policy: &TrustPolicy,
    ledger: &mut Ledger,
    octopus: Option<&Endpoint>,
    log_out: Option<&std::path::Path>,
    out: &Output,
) -> anyhow::Result<Received> {
    let taken = take(input, policy, ledger, log_out, out)?;
    let note = match octopus {
        Some(endpoint) => Some(
            Client::connect(endpoint.clone())
                .map_err(anyhow::Error::from)
                .and_then(|client| write_note(&client, ledger, &taken))
                .with_context(|| {
                    format!(
                        "the result was recorded, but the note on release {} {} could not be written; take the same result in again to retry the note",
                        taken.result.project, taken.result.version
                    )
                })?,
        ),
        None => None,
    };
    Ok(Received { taken, note })
}

/// Replaces the results block in the release's notes; returns where it was written.
fn write_note(client: &Client, ledger: &Ledger, taken: &Taken) -> anyhow::Result<String> {
    let result = &taken.result;
    let project = client
        .find_by_name("projects", &result.project, |p: &Project| &p.name)?
        .with_context(|| {
            format!(
                "project {:?} is not on the development instance",
                result.project
            )
        })?;
    let path = format!(
        "projects/{}/releases/{}",
        project.id,
        segment(&result.version)
    );
    let mut release: Release = client.get(&path)?;
    let id = release
        .id
        .clone()
        .with_context(|| format!("release {} has no id", result.version))?;
    let mut deployments = Vec::new();
    for record in ledger.deployments(Some(&result.project))? {
        if record.key.version != result.version {
            continue;
        }
        let label = match record.result_bundle {
            Some(digest) => ledger
                .bundle(&digest, Verdict::Accepted)?
                .map(|b| format!("{} {}", b.channel, b.sequence)),
            None => None,
        };
        deployments.push((record, label));
    }
    let notes = note::update(release.release_notes.as_deref().unwrap_or(""), &deployments);
    if release.release_notes.as_deref() != Some(notes.as_str()) {
        release.release_notes = Some(notes);
        let _: Release = client.put(&format!("releases/{}", segment(&id)), &release)?;
    }
    Ok(format!(
        "release notes of {} {} ({id})",
        project.name, result.version
    ))
}
