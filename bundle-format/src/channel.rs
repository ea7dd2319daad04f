//! Channels and sequence numbers (spec section 9): refusing replays and rollbacks and naming
//! missing bundles, without a trusted clock, and letting a bundle given up on (`channel skip`,
//! spec 9.3) be passed. The state lives in the ledger; this is the rule.

use std::collections::BTreeSet;
use std::fmt;

use crate::manifest::{BundleKind, Manifest};
use crate::names::{Digest, ZoneId};

/// A one-way stream of bundles of one kind from one zone to another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Channel {
    /// Sending zone.
    pub source: ZoneId,
    /// Receiving zone.
    pub target: ZoneId,
    /// Kind of bundle.
    pub kind: BundleKind,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}->{}/{}", self.source, self.target, self.kind)
    }
}

impl std::str::FromStr for Channel {
    type Err = String;

    /// Reads the form `Display` writes: `dev->pci/release`. Zone ids cannot hold `>` or `/`,
    /// so the separators are found without ambiguity.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = || {
            format!(
                "{text:?} is not a channel; expected SOURCE->TARGET/KIND, such as dev->pci/release"
            )
        };
        let (source, rest) = text.split_once("->").ok_or_else(expected)?;
        let (target, kind) = rest.split_once('/').ok_or_else(expected)?;
        let kind = [BundleKind::Release, BundleKind::Result]
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(expected)?;
        Ok(Self {
            source: ZoneId::new(source).map_err(|err| format!("{}: {err}", expected()))?,
            target: ZoneId::new(target).map_err(|err| format!("{}: {err}", expected()))?,
            kind,
        })
    }
}

/// What a receiver remembers of a channel: the last bundle it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelState {
    /// Its sequence number.
    pub sequence: u64,
    /// Its digest.
    pub digest: Digest,
}

/// Whether a bundle continues its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelVerdict {
    /// The next bundle, chained to the last one (or the first ever).
    Next,
    /// Later than the next, and every bundle between was given up on with `channel skip`
    /// (spec 9.3): its `previous` names a bundle this side never accepted and is not checked.
    AfterSkipped {
        /// First skipped sequence number.
        first_skipped: u64,
        /// Last skipped sequence number.
        last_skipped: u64,
    },
}

/// Why a bundle does not continue its channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The same bundle again.
    #[error("bundle {sequence} on channel {channel} was already accepted; this is a replay")]
    Replay {
        /// The channel.
        channel: String,
        /// Its sequence.
        sequence: u64,
    },
    /// An older bundle, or a different bundle with a sequence already used.
    #[error(
        "bundle {got} on channel {channel} is not newer than bundle {seen}, already accepted; refusing a rollback"
    )]
    Rollback {
        /// The channel.
        channel: String,
        /// Last accepted sequence.
        seen: u64,
        /// The bundle's sequence.
        got: u64,
    },
    /// The next number, but not chained to the bundle accepted before it.
    #[error(
        "bundle {sequence} on channel {channel} names a previous bundle other than the one accepted as {previous}; the channel forked"
    )]
    ChainBroken {
        /// The channel.
        channel: String,
        /// The bundle's sequence.
        sequence: u64,
        /// The sequence it should chain to.
        previous: u64,
    },
    /// One or more bundles before this one were never accepted, nor skipped.
    #[error("{} missing on channel {channel}; this is bundle {got}", missing(*first_missing, *last_missing))]
    Gap {
        /// The channel.
        channel: String,
        /// First missing sequence number (neither accepted nor skipped).
        first_missing: u64,
        /// Last missing sequence number.
        last_missing: u64,
        /// The bundle's sequence.
        got: u64,
    },
    /// This bundle was given up on with `channel skip`; it can never be accepted.
    #[error(
        "bundle {sequence} on channel {channel} was skipped with `channel skip`; it can no longer be imported"
    )]
    Skipped {
        /// The channel.
        channel: String,
        /// The bundle's sequence.
        sequence: u64,
    },
}

fn missing(first: u64, last: u64) -> String {
    if first == last {
        format!("bundle {first}")
    } else {
        format!("bundles {first} to {last}")
    }
}

/// Spec 9.2 and 9.3: decides whether `manifest` (with bundle digest `digest`) continues the
/// channel whose last accepted bundle is `last`, where `skipped` holds the sequence numbers of
/// the channel given up on with `channel skip`.
pub fn check_sequence(
    last: Option<&ChannelState>,
    manifest: &Manifest,
    digest: Digest,
    skipped: &BTreeSet<u64>,
) -> Result<ChannelVerdict, ChannelError> {
    let channel = manifest.channel().to_string();
    let got = manifest.sequence;
    let seen = last.map_or(0, |s| s.sequence);
    // First, so that a skipped bundle given after later ones were accepted is still named as
    // skipped rather than as a rollback. A receiver never skips what it accepted.
    if skipped.contains(&got) {
        return Err(ChannelError::Skipped {
            channel,
            sequence: got,
        });
    }
    if let Some(last) = last.filter(|s| s.sequence >= got) {
        if last.sequence == got && last.digest == digest {
            return Err(ChannelError::Replay {
                channel,
                sequence: got,
            });
        }
        return Err(ChannelError::Rollback {
            channel,
            seen: last.sequence,
            got,
        });
    }
    if got == seen.saturating_add(1) {
        if let Some(last) = last
            && manifest.previous != Some(last.digest)
        {
            return Err(ChannelError::ChainBroken {
                channel,
                sequence: got,
                previous: last.sequence,
            });
        }
        return Ok(ChannelVerdict::Next);
    }
    // The numbers between: seen+1 ..= got-1. Count the skipped ones rather than walk the
    // range, which a hostile sequence can make as long as MAX_SEQUENCE.
    let first = seen.saturating_add(1);
    let last_between = got.saturating_sub(1);
    let between = last_between.saturating_sub(first).saturating_add(1);
    let skipped_between = skipped.range(first..=last_between).count() as u64;
    if skipped_between == between {
        return Ok(ChannelVerdict::AfterSkipped {
            first_skipped: first,
            last_skipped: last_between,
        });
    }
    let first_missing = (first..=last_between)
        .find(|n| !skipped.contains(n))
        .unwrap_or(first);
    let last_missing = (first..=last_between)
        .rev()
        .find(|n| !skipped.contains(n))
        .unwrap_or(last_between);
    Err(ChannelError::Gap {
        channel,
        first_missing,
        last_missing,
        got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(
        sequence: u64,
        previous: Option<Digest>,
    ) -> Result<Manifest, crate::names::NameError> {
        let mut manifest = crate::manifest::test_release(Vec::new())?;
        manifest.sequence = sequence;
        manifest.previous = previous;
        Ok(manifest)
    }

    #[test]
    fn sequences_are_checked() -> Result<(), crate::names::NameError> {
        let none = BTreeSet::new();
        let d40 = Digest::of(b"40");
        let d41 = Digest::of(b"41");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        assert_eq!(
            check_sequence(None, &manifest(1, None)?, d41, &none),
            Ok(ChannelVerdict::Next)
        );
        assert_eq!(
            check_sequence(Some(&last), &manifest(41, Some(d40))?, d41, &none),
            Ok(ChannelVerdict::Next)
        );
        assert!(matches!(
            check_sequence(Some(&last), &manifest(40, None)?, d40, &none),
            Err(ChannelError::Replay { sequence: 40, .. })
        ));
        assert!(matches!(
            check_sequence(Some(&last), &manifest(39, None)?, d41, &none),
            Err(ChannelError::Rollback {
                seen: 40,
                got: 39,
                ..
            })
        ));
        assert!(matches!(
            check_sequence(Some(&last), &manifest(41, Some(d41))?, d41, &none),
            Err(ChannelError::ChainBroken { .. })
        ));
        let gap = check_sequence(Some(&last), &manifest(42, Some(d41))?, d41, &none);
        let message = gap.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert_eq!(
            message,
            "bundle 41 missing on channel dev->pci/release; this is bundle 42"
        );
        Ok(())
    }

    #[test]
    fn only_skipped_bundles_may_be_passed() -> Result<(), crate::names::NameError> {
        let d40 = Digest::of(b"40");
        let d43 = Digest::of(b"43");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        let skipped: BTreeSet<u64> = [41, 42, 45].into();
        let check = |sequence, skipped: &BTreeSet<u64>| {
            let manifest = manifest(sequence, Some(d43))?;
            Ok::<_, crate::names::NameError>(
                check_sequence(Some(&last), &manifest, d43, skipped).map_err(|e| e.to_string()),
            )
        };
        assert_eq!(
            check(43, &skipped)?,
            Ok(ChannelVerdict::AfterSkipped {
                first_skipped: 41,
                last_skipped: 42
            })
        );
        assert_eq!(
            check(42, &skipped)?,
            Err("bundle 42 on channel dev->pci/release was skipped with `channel skip`; it can no longer be imported".to_owned())
        );
        assert_eq!(
            check(46, &skipped)?,
            Err(
                "bundles 43 to 44 missing on channel dev->pci/release; this is bundle 46"
                    .to_owned()
            )
        );
        assert_eq!(
            check(43, &[42].into())?,
            Err("bundle 41 missing on channel dev->pci/release; this is bundle 43".to_owned())
        );
        // A skipped bundle stays refused after later ones were accepted.
        let later = ChannelState {
            sequence: 44,
            digest: d43,
        };
        let late = check_sequence(Some(&later), &manifest(42, Some(d40))?, d40, &skipped);
        assert!(
            matches!(late, Err(ChannelError::Skipped { sequence: 42, .. })),
            "{late:?}"
        );
        assert!(matches!(
            check_sequence(Some(&later), &manifest(40, None)?, d40, &skipped),
            Err(ChannelError::Rollback { .. })
        ));
        // A hostile sequence far ahead is answered without walking the numbers between.
        let far = crate::manifest::MAX_SEQUENCE;
        assert!(check(far, &skipped)?.is_err_and(|e| e.starts_with("bundles 43 to")));
        Ok(())
    }
}
