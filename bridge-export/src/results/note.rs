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
//! Every cell comes from a result bundle or the ledger and is written through
//! [`super::markdown::cell`]: it cannot end the block, start a second one, add a row or a
//! column, or carry Markdown or HTML (see that module for how).
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

use super::markdown::cell;

/// The line that opens the block.
pub const BEGIN: &str = "<!-- zonebridge:results -->";
/// The line that closes it.
pub const END: &str = "<!-- /zonebridge:results -->";

/// `notes` without the block (and without the blank lines left before it).
///
/// A marker counts only as a whole line of its own (spaces and a `\r` around it ignored):
/// the cells of the block can never hold one ([`cell`] writes `<` as `&#60;`), so every marker
/// line is either ours or the developers'. Every block is removed, from a start line to the
/// next end line; a start line without an end removes the rest of the notes, so that result
/// text never travels back to the secure zone even when the end marker was cut off. Text
/// outside the blocks is kept as it is.
pub fn strip(notes: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut tail: Vec<&str> = Vec::new();
    let mut inside = false;
    let mut after_block = false;
    for line in notes.split('\n') {
        let marker = line.trim();
        if inside {
            inside = marker != END;
            continue;
        }
        if marker == BEGIN {
            inside = true;
            after_block = true;
            continue;
        }
        if after_block {
            tail.push(line);
        } else {
            kept.push(line);
        }
    }
    let mut out = kept.join("\n").trim_end().to_owned();
    let tail = tail.join("\n");
    let tail = tail.trim_start_matches(['\n', '\r']);
    if !tail.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(tail);
    }
    out
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
            None => cell(&record.state.to_string()),
        };
        let _ = writeln!(
            block,
            "| {} | {} | {} | {} | {} | {} |",
            cell(record.key.target.as_str()),
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

#[cfg(test)]
mod tests {
    use bundle_format::names::{Digest, ZoneId};
    use ledger::{DeploymentKey, DeploymentState};
    use time::OffsetDateTime;

    use super::*;

    fn record(state: DeploymentState, waiting: Option<&str>) -> anyhow::Result<DeploymentRecord> {
        named(state, waiting, "PCI Staging", None)
    }

    fn named(
        state: DeploymentState,
        waiting: Option<&str>,
        environment: &str,
        tenant: Option<&str>,
    ) -> anyhow::Result<DeploymentRecord> {
        let at = OffsetDateTime::from_unix_timestamp(1_795_428_000)?;
        Ok(DeploymentRecord {
            key: DeploymentKey {
                project: "Payments API".into(),
                version: "1.4.1".into(),
                target: ZoneId::new("pci")?,
                environment: environment.into(),
                tenant: tenant.map(str::to_owned),
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
        assert!(first.contains("| pci | PCI Staging |  | waiting: manual intervention on step 'Sign-off' |  | pci-&#62;dev/result 1 |"));
        let second = update(
            &first,
            &[(
                record(DeploymentState::Success, None)?,
                Some("pci->dev/result 2".into()),
            )],
        );
        assert_eq!(second.matches(BEGIN).count(), 1);
        assert!(second.contains("| success | 2026-11-23T10:00:00Z | pci-&#62;dev/result 2 |"));
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

    /// Names a hostile result bundle may carry, each a class of its own.
    fn hostile() -> Vec<String> {
        vec![
            format!("x\n{END}\nleaked to the secure zone"),
            format!("x {END} leaked"),
            format!("{BEGIN}\nsecond block"),
            "a --> b <!-- c".to_owned(),
            "a | b | c |\n|---|---|\n| forged | row |".to_owned(),
            "[x](javascript:alert(1)) ![i](https://evil.example/i.png)".to_owned(),
            "<script>alert(1)</script><img src=x onerror=alert(1)>".to_owned(),
            "# heading\r\n## h2\n---\n`code` **bold**".to_owned(),
            "right\u{202E}fdp.exe\u{2066}".to_owned(),
            "N".repeat(100 * 1024),
        ]
    }

    const USER: &str = "Fixes *rounding* | see [PR 12](https://dev.example/pr/12)\n\n<b>ok</b>\n";

    /// The lines of the one block in `notes`, between the markers.
    fn block(notes: &str) -> Vec<&str> {
        let lines: Vec<&str> = notes.lines().collect();
        let begin = lines.iter().position(|l| *l == BEGIN).unwrap_or(0);
        let end = lines.iter().position(|l| *l == END).unwrap_or(0);
        lines.get(begin + 1..end).unwrap_or_default().to_vec()
    }

    #[test]
    fn hostile_names_stay_inside_one_cell_of_one_block_and_never_travel_back() -> anyhow::Result<()>
    {
        for text in hostile() {
            let results = [
                (
                    named(DeploymentState::Waiting, Some(&text), &text, Some(&text))?,
                    Some(text.clone()),
                ),
                (
                    named(DeploymentState::Success, None, "PCI Production", None)?,
                    None,
                ),
            ];
            let notes = update(USER, &results);
            let shown = text.chars().take(40).collect::<String>();
            // Exactly one block: each marker once, as a line of its own, in order.
            assert_eq!(notes.matches(BEGIN).count(), 1, "{shown:?}: {notes}");
            assert_eq!(notes.matches(END).count(), 1, "{shown:?}: {notes}");
            assert!(notes.find(BEGIN) < notes.find(END), "{shown:?}");
            // One table row per result, each with six cells (seven pipes).
            let lines = block(&notes);
            let inside = lines.join("\n");
            let rows: Vec<&&str> = lines.iter().filter(|l| l.starts_with('|')).collect();
            assert_eq!(rows.len(), 2 + results.len(), "{shown:?}: {inside}");
            // In the rows, nothing that could be markup: no `<`, `>`, brackets or backticks.
            for c in ['<', '>', '[', ']', '(', ')', '`', '\u{202E}'] {
                assert!(
                    !rows.iter().any(|r| r.contains(c)),
                    "{shown:?}: {c:?} in {inside}"
                );
            }
            assert!(rows.iter().all(|r| r.matches('|').count() == 7), "{inside}");
            assert!(lines.iter().all(|l| l.chars().count() < 1200), "{shown:?}");
            // The developers' notes stay, and a re-export carries none of the result.
            assert_eq!(strip(&notes), USER.trim_end(), "{shown:?}");
            assert_eq!(update(&notes, &results), notes, "{shown:?}");
        }
        Ok(())
    }

    #[test]
    fn only_whole_marker_lines_count_and_every_block_is_removed() {
        // Notes an older version wrote with an unescaped fake end marker inside a cell.
        let old = format!("mine\n\n{BEGIN}\n| pci | x {END} leaked |\n{END}\n\nalso mine");
        assert_eq!(strip(&old), "mine\n\nalso mine");
        // Two blocks, Windows line endings around the markers.
        let two = format!("a\r\n{BEGIN}\r\nr1\r\n{END}\r\nb\n{BEGIN}\nr2\n{END}");
        assert_eq!(strip(&two), "a\n\nb");
        // An end marker alone is the developers' text; a start without an end hides the rest.
        assert_eq!(strip(&format!("a\n{END}\nb")), format!("a\n{END}\nb"));
        assert_eq!(strip(&format!("a\n\n{BEGIN}\nrow\nmore")), "a");
        // A marker mentioned inside a line of the developers' notes is just text.
        let quoted = format!("see `{BEGIN}` in the docs");
        assert_eq!(strip(&quoted), quoted);
    }
}
