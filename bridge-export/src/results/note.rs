//! The note on the development instance's release: where its deployments in other zones
//! stand, so that developers see the outcome in Octopus itself.
//!
//! Where: the release's notes (`ReleaseNotes`), the text Octopus shows at the top of the
//! release page. Why there: Octopus's API has no comment or annotation resource for a release,
//! its variable and process snapshots are frozen, and the notes are the one field of a release
//! that may be edited after it was created (the Octopus UI's "Edit" on a release).
//!
//! The note is one block between two Markdown comments (invisible when rendered), replaced as a
//! whole each time, so the rest of the notes stays as developers wrote it. `export` removes the
//! block before the notes travel: results never go back into the zone they came from.
//!
//! ```text
//! <!-- zonebridge:results -->
//! ---
//! **Deployments in other zones** (kept up to date by Zonebridge)
//!
//! | zone | environment | state | ended | result |
//! |---|---|---|---|---|
//! | pci | PCI Staging | success | 2026-11-23T10:02:00Z | pci->dev/result 3 |
//! <!-- /zonebridge:results -->
//! ```

use std::fmt::Write as _;

use bridge_cli::time_arg::format_rfc3339;
use ledger::DeploymentRecord;

/// The line that opens the block.
pub const BEGIN: &str = "<!-- zonebridge:results -->";
/// The line that closes it.
pub const END: &str = "<!-- /zonebridge:results -->";

/// `notes` without the block (and without the blank lines left before it).
pub fn strip(notes: &str) -> String {
    let Some(begin) = notes.find(BEGIN) else {
        return notes.to_owned();
    };
    let after = notes
        .get(begin..)
        .and_then(|rest| rest.find(END).map(|end| begin + end + END.len()))
        .unwrap_or(notes.len());
    let mut kept = notes.get(..begin).unwrap_or_default().trim_end().to_owned();
    let tail = notes
        .get(after..)
        .unwrap_or_default()
        .trim_start_matches('\n');
    if !tail.is_empty() {
        if !kept.is_empty() {
            kept.push_str("\n\n");
        }
        kept.push_str(tail);
    }
    kept
}

/// `notes` with the block replaced by one describing `deployments` (each with the result
/// channel and sequence that brought it, if known).
pub fn update(notes: &str, deployments: &[(DeploymentRecord, Option<String>)]) -> String {
    let mut block = String::new();
    block.push_str(BEGIN);
    block.push_str("\n---\n**Deployments in other zones** (kept up to date by Zonebridge; edits between these markers are replaced)\n\n");
    block.push_str(
        "| zone | environment | tenant | state | ended | result |\n|---|---|---|---|---|---|\n",
    );
    for (record, result) in deployments {
        let state = match &record.waiting {
            Some(waiting) => format!("{}: {}", record.state, cell(waiting)),
            None => record.state.to_string(),
        };
        let _ = writeln!(
            block,
            "| {} | {} | {} | {} | {} | {} |",
            record.key.target,
            cell(&record.key.environment),
            cell(record.key.tenant.as_deref().unwrap_or("")),
            state,
            record.completed.map(format_rfc3339).unwrap_or_default(),
            cell(result.as_deref().unwrap_or("")),
        );
    }
    block.push_str(END);
    let kept = strip(notes);
    let kept = kept.trim_end();
    if kept.is_empty() {
        block
    } else {
        format!("{kept}\n\n{block}")
    }
}

/// A table cell: no pipes or line breaks from names.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use bundle_format::names::{Digest, ZoneId};
    use ledger::{DeploymentKey, DeploymentState};
    use time::OffsetDateTime;

    use super::*;

    fn record(state: DeploymentState, waiting: Option<&str>) -> anyhow::Result<DeploymentRecord> {
        let at = OffsetDateTime::from_unix_timestamp(1_795_428_000)?;
        Ok(DeploymentRecord {
            key: DeploymentKey {
                project: "Payments API".into(),
                version: "1.4.1".into(),
                target: ZoneId::new("pci")?,
                environment: "PCI Staging".into(),
                tenant: None,
            },
            state,
            release_bundle: Digest::of(b"r"),
            deployment_id: None,
            task_id: None,
            started: None,
            completed: (state != DeploymentState::Waiting).then_some(at),
            waiting: waiting.map(str::to_owned),
            result_bundle: None,
            requested_at: at,
            updated_at: at,
        })
    }

    #[test]
    fn the_block_is_added_replaced_and_stripped() -> anyhow::Result<()> {
        let notes = "Fixes the settlement rounding.\n";
        let first = update(
            notes,
            &[(
                record(
                    DeploymentState::Waiting,
                    Some("manual intervention on step 'Sign-off'"),
                )?,
                Some("pci->dev/result 1".into()),
            )],
        );
        assert!(first.starts_with("Fixes the settlement rounding.\n\n<!-- zonebridge:results -->"));
        assert!(first.contains("| pci | PCI Staging |  | waiting: manual intervention on step 'Sign-off' |  | pci->dev/result 1 |"));
        let second = update(
            &first,
            &[(
                record(DeploymentState::Success, None)?,
                Some("pci->dev/result 2".into()),
            )],
        );
        assert_eq!(second.matches(BEGIN).count(), 1);
        assert!(second.contains("| success | 2026-11-23T10:00:00Z | pci->dev/result 2 |"));
        assert!(!second.contains("waiting"));
        assert_eq!(strip(&second), "Fixes the settlement rounding.");
        assert_eq!(strip("no block"), "no block");
        let only = update("", &[]);
        assert!(only.starts_with(BEGIN) && strip(&only).is_empty());
        Ok(())
    }

    #[test]
    fn text_after_the_block_is_kept() {
        let notes = format!("before\n\n{BEGIN}\nold\n{END}\n\nafter");
        assert_eq!(strip(&notes), "before\n\nafter");
    }
}
