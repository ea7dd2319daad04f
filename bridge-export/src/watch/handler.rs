//! The inbox engine's handler for result bundles (see [`super`]).

use std::path::PathBuf;

use bridge_cli::input::BundleInput;
use bridge_cli::output::Output;
use bridge_cli::receive::verify::load_policy;
use bridge_cli::service::inbox::refusal;
use bridge_cli::time_arg::format_rfc3339;
use bundle_format::channel::Channel;
use carriers::inbox::{Handler, Outcome, Refusal, Taken};
use ledger::Ledger;
use octopus_api::Endpoint;

use crate::results::receive::{Received, receive};

/// Takes each result bundle the engine hands over in, as `results FILE` would.
#[derive(Debug)]
pub struct ResultsHandler<'a> {
    /// The trust policy's path: read again for each bundle.
    pub policy: PathBuf,
    /// The export ledger (the one the export wrote).
    pub ledger: Ledger,
    /// The development instance, for the note on the release; `None` with `--no-note`.
    pub octopus: Option<Endpoint>,
    /// Where progress would go (the services run without a terminal).
    pub out: &'a Output,
}

/// What the engine does with a refused result. The codes only `results` gives are decided
/// here, since the engine's table does not know them: `answers-mismatch` (the result names a
/// release bundle this side exported but contradicts it: wrong for good) is quarantined;
/// `unknown-release` (this ledger never exported that release: most often the watch was
/// given another side's ledger, which an operator fixes) is tried again. Every other code is
/// left to the engine's table.
pub fn decide(refusal: Refusal) -> Outcome {
    match refusal.code.as_str() {
        "answers-mismatch" => Outcome::Quarantine(refusal),
        "unknown-release" => Outcome::Retry(refusal),
        _ => Outcome::Refused(refusal),
    }
}

/// The line the engine logs and keeps in health for a bundle taken in.
fn describe(received: &Received) -> String {
    let taken = &received.taken;
    let result = &taken.result;
    let mut text = format!(
        "result of {} {}: {} in {} / {} ({})",
        bridge_cli::safe::Shown(&result.project),
        bridge_cli::safe::Shown(&result.version),
        result.state.as_str(),
        taken.zone,
        bridge_cli::safe::Shown(&result.environment),
        taken.position
    );
    if let Some(note) = &received.note {
        text.push_str("; noted in the ");
        text.push_str(note);
    }
    text
}

impl Handler for ResultsHandler<'_> {
    fn next_expected(&mut self, channel: &Channel) -> Result<u64, Refusal> {
        let last = self
            .ledger
            .channel_state(channel)
            .map_err(|e| refusal(&e.into()))?;
        let skipped = self
            .ledger
            .skipped(channel)
            .map_err(|e| refusal(&e.into()))?;
        let mut next = last.map_or(1, |state| state.sequence.saturating_add(1));
        // Bundles given up on with `channel skip` count as passed.
        while skipped.contains(&next) {
            next = next.saturating_add(1);
        }
        Ok(next)
    }

    fn handle(&mut self, bundle: &Taken) -> Outcome {
        let policy = match load_policy(&self.policy) {
            Ok(policy) => policy,
            Err(err) => return decide(refusal(&err)),
        };
        let input = BundleInput::File(bundle.path.clone());
        match receive(
            &input,
            &policy,
            &mut self.ledger,
            self.octopus.as_ref(),
            None,
            self.out,
        ) {
            Ok(received) if received.taken.outcome == "recorded" => {
                Outcome::Done(describe(&received))
            }
            Ok(received) => Outcome::AlreadyDone(describe(&received)),
            Err(err) => decide(refusal(&err)),
        }
    }

    fn last_refusal(&mut self, channel: &Channel, sequence: u64) -> Option<String> {
        let refused = self.ledger.last_refusal(channel, sequence).ok()??;
        Some(format!(
            "refused {}: {}",
            format_rfc3339(refused.at),
            refused.reason.unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use bridge_cli::failure::refused;

    use super::*;

    #[test]
    fn a_refusal_keeps_the_code_message_and_hint_every_command_reports() {
        let err = refused(
            "answers-mismatch",
            "the result names release bundle ab but does not match\nHint: check the ledger".into(),
        )
        .context("taking result.zb in");
        let refusal = refusal(&err);
        assert_eq!(refusal.code, "answers-mismatch");
        assert!(refusal.message.contains("does not match"), "{refusal:?}");
        assert_eq!(refusal.hint.as_deref(), Some("check the ledger"));
    }

    #[test]
    fn the_codes_only_results_gives_are_decided_here_and_the_rest_left_to_the_engine() {
        let mismatch = Refusal::new("answers-mismatch", "does not match what was exported");
        assert_eq!(decide(mismatch.clone()), Outcome::Quarantine(mismatch));
        let unknown = Refusal::new("unknown-release", "never exported");
        assert_eq!(decide(unknown.clone()), Outcome::Retry(unknown));
        for code in ["hash-mismatch", "signer-unknown", "octopus-unavailable"] {
            let other = Refusal::new(code, "x");
            assert_eq!(decide(other.clone()), Outcome::Refused(other), "{code}");
        }
    }
}
