//! The bundle's place on its channel (bundle spec 9.2, 9.3), checked against the ledger's
//! state with [`bundle_format::channel::check_sequence`], before anything is done with it.
//!
//! From the spec: "An importer treats `replay` of a bundle it already imported as nothing to
//! do (import is idempotent) rather than as an alarm; `rollback` and `chain-broken` are
//! alarms." Results are taken in the same way: the same result twice is nothing to do. A gap is
//! refused, naming the bundle the channel waits for and, if that bundle was refused, when and
//! why; the only way past it is `channel skip` for that one bundle (audited in the ledger).

use std::collections::BTreeSet;

use bundle_format::channel::{ChannelError, ChannelState, ChannelVerdict, check_sequence};
use bundle_format::manifest::Manifest;
use bundle_format::names::Digest;
use ledger::StoredBundle;
use time::format_description::well_known::Rfc3339;

use crate::failure::refused;

/// Where the bundle stands on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The next bundle (or the first).
    Next,
    /// After bundles `first_skipped..=last_skipped`, every one given up on with
    /// `channel skip`.
    AfterSkipped {
        /// First skipped sequence number.
        first_skipped: u64,
        /// Last skipped sequence number.
        last_skipped: u64,
    },
}

/// The channel's verdict for an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelCheck {
    /// Go on.
    Continue(Position),
    /// This very bundle was accepted before: nothing to do.
    AlreadyImported,
}

/// What the receiving side knows of the bundle's channel.
#[derive(Debug, Clone, Copy)]
pub struct ChannelView<'a> {
    /// The last accepted bundle.
    pub last: Option<&'a ChannelState>,
    /// The sequence numbers given up on with `channel skip`.
    pub skipped: &'a BTreeSet<u64>,
    /// The binary whose `channel skip` the hint names (`bridge-import`, `bridge-export`).
    pub binary: &'static str,
}

/// Checks `manifest` (digest `digest`) against the channel; on a gap, `refusal_of(n)` gives
/// the newest refusal recorded for bundle `n`, which the message names.
pub fn check(
    view: &ChannelView<'_>,
    manifest: &Manifest,
    digest: Digest,
    refusal_of: impl FnOnce(u64) -> anyhow::Result<Option<StoredBundle>>,
) -> anyhow::Result<ChannelCheck> {
    match check_sequence(view.last, manifest, digest, view.skipped) {
        Ok(ChannelVerdict::Next) => Ok(ChannelCheck::Continue(Position::Next)),
        Ok(ChannelVerdict::AfterSkipped {
            first_skipped,
            last_skipped,
        }) => Ok(ChannelCheck::Continue(Position::AfterSkipped {
            first_skipped,
            last_skipped,
        })),
        Ok(_) => Err(refused(
            "channel",
            format!(
                "bundle {} on channel {} has a position this importer does not know",
                manifest.sequence,
                manifest.channel()
            ),
        )),
        Err(ChannelError::Replay { .. }) => Ok(ChannelCheck::AlreadyImported),
        Err(ChannelError::Gap {
            channel,
            first_missing,
            last_missing,
            got,
        }) => Err(refused(
            "gap",
            gap_message(
                view.binary,
                &channel,
                (first_missing, last_missing),
                got,
                refusal_of(first_missing)?.as_ref(),
            ),
        )),
        Err(err) => {
            let code = match &err {
                ChannelError::Rollback { .. } => "rollback",
                ChannelError::ChainBroken { .. } => "chain-broken",
                ChannelError::Skipped { .. } => "skipped",
                _ => "channel",
            };
            let mut message = err.to_string();
            if code == "skipped" {
                message.push_str(
                    "\nHint: an operator gave this bundle up (see the `channel-skip` entry in the ledger's audit trail); if it is still needed, export the release again as a new bundle",
                );
            }
            Err(refused(code, message))
        }
    }
}

/// The refusal code a recorded reason (`code: message`) starts with, if it looks like one of
/// ours; the message itself came from the bundle and is not repeated.
fn refusal_code(reason: &str) -> Option<&str> {
    let (code, _) = reason.split_once(':')?;
    let ours = !code.is_empty()
        && code.len() <= 40
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ours.then_some(code)
}

/// "bundle 41 missing on channel dev->pci/release: waiting for bundle 41, refused at ... for
/// secrets-missing; ..." with the hint to fix and import it again, or to skip it.
fn gap_message(
    binary: &str,
    channel: &str,
    (first, last): (u64, u64),
    got: u64,
    refusal: Option<&StoredBundle>,
) -> String {
    let missing = if first == last {
        format!("bundle {first}")
    } else {
        format!("bundles {first} to {last}")
    };
    let skip =
        format!("`{binary} channel skip --channel {channel} --sequence {first} --reason TEXT`");
    match refusal {
        Some(refused) => {
            let at = refused
                .at
                .format(&Rfc3339)
                .unwrap_or_else(|_| refused.at.to_string());
            let why = refused
                .reason
                .as_deref()
                .and_then(refusal_code)
                .unwrap_or("a refusal");
            format!(
                "{missing} missing on channel {channel}: waiting for bundle {first}, refused at {at} for {why}; this is bundle {got}\nHint: fix what refused bundle {first} and give it again (it is taken once the fix is in), or give it up with {skip}"
            )
        }
        None => format!(
            "{missing} missing on channel {channel}; this is bundle {got}\nHint: carry bundle {first} and give it first; if it is lost for good, give it up with {skip}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use bundle_format::channel::Channel;
    use bundle_format::manifest::{BundleKind, FORMAT_VERSION, ReleaseDescription};
    use bundle_format::names::{BundleId, ZoneId};
    use ledger::Verdict;
    use time::OffsetDateTime;

    use super::*;
    fn code_of(err: &anyhow::Error) -> Option<&'static str> {
        err.chain()
            .find_map(|cause| cause.downcast_ref::<crate::failure::Refused>())
            .map(|r| r.code)
    }

    fn manifest(
        sequence: u64,
        previous: Option<Digest>,
    ) -> Result<Manifest, Box<dyn std::error::Error>> {
        Ok(Manifest {
            format: FORMAT_VERSION,
            kind: BundleKind::Release,
            bundle_id: BundleId::from_bytes([0; 16]),
            source_zone: ZoneId::new("dev")?,
            target_zone: ZoneId::new("pci")?,
            sequence,
            previous,
            created: OffsetDateTime::UNIX_EPOCH,
            expires: None,
            entries: Vec::new(),
            release: Some(ReleaseDescription {
                project: "P".into(),
                version: "1".into(),
                channel: "Default".into(),
                notes: None,
                packages: Vec::new(),
                secrets: Vec::new(),
            }),
            result: None,
        })
    }

    fn refusal(reason: &str) -> Result<StoredBundle, Box<dyn std::error::Error>> {
        Ok(StoredBundle {
            digest: Digest::of(b"41"),
            bundle_id: None,
            channel: "dev->pci/release".parse::<Channel>()?,
            sequence: 41,
            verdict: Verdict::Refused,
            reason: Some(reason.to_owned()),
            at: OffsetDateTime::from_unix_timestamp(1_796_212_800)?,
            project: None,
            version: None,
        })
    }

    fn none(_: u64) -> anyhow::Result<Option<StoredBundle>> {
        Ok(None)
    }

    #[test]
    fn verdicts_become_import_decisions() -> Result<(), Box<dyn std::error::Error>> {
        let d40 = Digest::of(b"40");
        let d41 = Digest::of(b"41");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        let nothing = BTreeSet::new();
        let view = ChannelView {
            last: Some(&last),
            skipped: &nothing,
            binary: "bridge-import",
        };
        assert_eq!(
            check(&view, &manifest(41, Some(d40))?, d41, none)?,
            ChannelCheck::Continue(Position::Next)
        );
        assert_eq!(
            check(&view, &manifest(40, None)?, d40, none)?,
            ChannelCheck::AlreadyImported
        );
        let gap = check(&view, &manifest(42, Some(d41))?, d41, none)
            .err()
            .ok_or("a gap is refused")?;
        assert_eq!(code_of(&gap), Some("gap"));
        assert_eq!(
            gap.to_string(),
            "bundle 41 missing on channel dev->pci/release; this is bundle 42\nHint: carry bundle 41 and give it first; if it is lost for good, give it up with `bridge-import channel skip --channel dev->pci/release --sequence 41 --reason TEXT`"
        );
        let rollback = check(&view, &manifest(39, None)?, d41, none)
            .err()
            .ok_or("a rollback is refused")?;
        assert_eq!(code_of(&rollback), Some("rollback"));
        let forked = check(&view, &manifest(41, Some(d41))?, d41, none)
            .err()
            .ok_or("a fork is refused")?;
        assert_eq!(code_of(&forked), Some("chain-broken"));

        let skipped: BTreeSet<u64> = [41, 42].into();
        let view = ChannelView {
            skipped: &skipped,
            binary: "bridge-export",
            ..view
        };
        assert_eq!(
            check(&view, &manifest(43, Some(d41))?, d41, none)?,
            ChannelCheck::Continue(Position::AfterSkipped {
                first_skipped: 41,
                last_skipped: 42
            })
        );
        let again = check(&view, &manifest(41, Some(d40))?, d41, none)
            .err()
            .ok_or("a skipped bundle is refused")?;
        assert_eq!(code_of(&again), Some("skipped"));
        assert!(
            again
                .to_string()
                .contains("was skipped with `channel skip`"),
            "{again}"
        );
        Ok(())
    }

    #[test]
    fn the_next_bundle_names_the_refusal_it_waits_for() -> Result<(), Box<dyn std::error::Error>> {
        let d40 = Digest::of(b"40");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        let nothing = BTreeSet::new();
        let view = ChannelView {
            last: Some(&last),
            skipped: &nothing,
            binary: "bridge-import",
        };
        let cases = [
            (
                "secrets-missing: 1 secret missing: DbPassword",
                "secrets-missing",
            ),
            ("unresolved-names: environment PCI Prod", "unresolved-names"),
            ("Not A Code\u{1b}[31m: x", "a refusal"),
            ("no colon at all", "a refusal"),
        ];
        for (reason, shown) in cases {
            let stored = refusal(reason)?;
            let mut asked = None;
            let err = check(&view, &manifest(42, Some(d40))?, d40, |n| {
                asked = Some(n);
                Ok(Some(stored.clone()))
            })
            .err()
            .ok_or("waiting")?;
            assert_eq!(
                asked,
                Some(41),
                "the refusal of the first missing bundle is looked up"
            );
            assert_eq!(code_of(&err), Some("gap"));
            assert_eq!(
                err.to_string(),
                format!(
                    "bundle 41 missing on channel dev->pci/release: waiting for bundle 41, refused at 2026-12-02T12:00:00Z for {shown}; this is bundle 42\nHint: fix what refused bundle 41 and give it again (it is taken once the fix is in), or give it up with `bridge-import channel skip --channel dev->pci/release --sequence 41 --reason TEXT`"
                )
            );
        }
        Ok(())
    }
}
