//! Receiving a bundle, the same way on both sides: verified whole into a private staging
//! folder ([`staged`], with [`verify`]), then placed on its channel against the ledger
//! ([`channel`], bundle spec 9). The secure side receives release bundles (`import`), the
//! development side result bundles (`results`).

pub mod channel;
pub mod kind;
pub mod staged;
pub mod verify;

use crate::exit;
use crate::failure::Failure;

/// The reason a receiver records if `err` is a refusal (exit 1), not a local or network
/// failure: `code: message`.
pub fn refusal_reason(err: &anyhow::Error) -> Option<String> {
    Failure::from_error(err)
        .filter(|f| f.exit == exit::REFUSED)
        .map(|f| format!("{}: {}", f.code, f.message))
}

/// Says on standard error that a refusal could not be recorded (the refusal itself is what
/// the command reports).
pub fn warn_unrecorded(recorded: anyhow::Result<()>) {
    if let Err(err) = recorded {
        let text = format!("{err:#}");
        eprintln!(
            "warning: the refusal could not be recorded in the ledger: {}",
            crate::safe::safe_block(&text)
        );
    }
}
