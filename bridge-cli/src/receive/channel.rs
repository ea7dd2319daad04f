//! The bundle's place on its channel (bundle spec 9.2), checked against the ledger's
//! state with [`bundle_format::channel::check_sequence`], before anything is done with it.
//!
//! From the spec: "An importer treats `replay` of a bundle it already imported as nothing to
//! do (import is idempotent) rather than as an alarm; `rollback` and `chain-broken` are
//! alarms." Results are taken in the same way: the same result twice is nothing to do. A gap is
//! refused unless the policy's `[channels] allow_gaps` is true; then it is reported, and the
//! skipped numbers go into the audit trail.

use bundle_format::channel::{ChannelError, ChannelState, ChannelVerdict, check_sequence};
use bundle_format::manifest::Manifest;
use bundle_format::names::Digest;

use crate::failure::refused;

/// Where the bundle stands on its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The next bundle (or the first).
    Next,
    /// After a gap the policy allows: bundles `first_missing..=last_missing` were never seen
    /// and can never be accepted later (they would be rollbacks).
    Gap {
        /// First missing sequence number.
        first_missing: u64,
        /// Last missing sequence number.
        last_missing: u64,
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

/// Checks `manifest` (digest `digest`) against the channel's last accepted bundle.
pub fn check(
    last: Option<&ChannelState>,
    manifest: &Manifest,
    digest: Digest,
    allow_gaps: bool,
) -> anyhow::Result<ChannelCheck> {
    match check_sequence(last, manifest, digest, allow_gaps) {
        Ok(ChannelVerdict::Next) => Ok(ChannelCheck::Continue(Position::Next)),
        Ok(ChannelVerdict::Gap {
            first_missing,
            last_missing,
        }) => Ok(ChannelCheck::Continue(Position::Gap {
            first_missing,
            last_missing,
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
        Err(err) => {
            let code = match &err {
                ChannelError::Rollback { .. } => "rollback",
                ChannelError::ChainBroken { .. } => "chain-broken",
                ChannelError::Gap { .. } => "gap",
                _ => "channel",
            };
            Err(refused(code, err.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use bundle_format::manifest::{BundleKind, FORMAT_VERSION, ReleaseDescription};
    use bundle_format::names::{BundleId, ZoneId};
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

    #[test]
    fn verdicts_become_import_decisions() -> Result<(), Box<dyn std::error::Error>> {
        let d40 = Digest::of(b"40");
        let d41 = Digest::of(b"41");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        assert_eq!(
            check(Some(&last), &manifest(41, Some(d40))?, d41, false)?,
            ChannelCheck::Continue(Position::Next)
        );
        assert_eq!(
            check(Some(&last), &manifest(40, None)?, d40, false)?,
            ChannelCheck::AlreadyImported
        );
        let gap = check(Some(&last), &manifest(42, Some(d41))?, d41, false)
            .err()
            .ok_or("a gap is refused")?;
        assert_eq!(code_of(&gap), Some("gap"));
        assert!(
            gap.to_string()
                .starts_with("bundle 41 missing on channel dev->pci/release")
        );
        assert_eq!(
            check(Some(&last), &manifest(43, Some(d41))?, d41, true)?,
            ChannelCheck::Continue(Position::Gap {
                first_missing: 41,
                last_missing: 42
            })
        );
        let rollback = check(Some(&last), &manifest(39, None)?, d41, true)
            .err()
            .ok_or("a rollback is refused")?;
        assert_eq!(code_of(&rollback), Some("rollback"));
        let forked = check(Some(&last), &manifest(41, Some(d41))?, d41, false)
            .err()
            .ok_or("a fork is refused")?;
        assert_eq!(code_of(&forked), Some("chain-broken"));
        Ok(())
    }
}
