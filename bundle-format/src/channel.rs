//! Channels and sequence numbers (spec section 9): refusing replays and rollbacks and naming
//! missing bundles, without a trusted clock. The state lives in the ledger; this is the rule.

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
    /// Later than the next: the bundles in `missing` were never seen (allowed by the caller).
    Gap {
        /// First missing sequence number.
        first_missing: u64,
        /// Last missing sequence number.
        last_missing: u64,
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
    /// One or more bundles before this one were never received.
    #[error("{} missing on channel {channel}; this is bundle {got}\nHint: carry the missing bundle first, or allow gaps for this channel", missing(*first_missing, *last_missing))]
    Gap {
        /// The channel.
        channel: String,
        /// First missing sequence number.
        first_missing: u64,
        /// Last missing sequence number.
        last_missing: u64,
        /// The bundle's sequence.
        got: u64,
    },
}

fn missing(first: u64, last: u64) -> String {
    if first == last {
        format!("bundle {first}")
    } else {
        format!("bundles {first} to {last}")
    }
}

/// Spec 9: decides whether `manifest` (with bundle digest `digest`) continues the channel whose
/// last accepted bundle is `last`. Gaps are refused unless `allow_gaps`.
pub fn check_sequence(
    last: Option<&ChannelState>,
    manifest: &Manifest,
    digest: Digest,
    allow_gaps: bool,
) -> Result<ChannelVerdict, ChannelError> {
    let channel = manifest.channel().to_string();
    let got = manifest.sequence;
    let seen = last.map_or(0, |s| s.sequence);
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
    let verdict = ChannelVerdict::Gap {
        first_missing: seen.saturating_add(1),
        last_missing: got.saturating_sub(1),
    };
    if allow_gaps {
        Ok(verdict)
    } else {
        Err(ChannelError::Gap {
            channel,
            first_missing: seen.saturating_add(1),
            last_missing: got.saturating_sub(1),
            got,
        })
    }
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
        let d40 = Digest::of(b"40");
        let d41 = Digest::of(b"41");
        let last = ChannelState {
            sequence: 40,
            digest: d40,
        };
        assert_eq!(
            check_sequence(None, &manifest(1, None)?, d41, false),
            Ok(ChannelVerdict::Next)
        );
        assert_eq!(
            check_sequence(Some(&last), &manifest(41, Some(d40))?, d41, false),
            Ok(ChannelVerdict::Next)
        );
        assert!(matches!(
            check_sequence(Some(&last), &manifest(40, None)?, d40, false),
            Err(ChannelError::Replay { sequence: 40, .. })
        ));
        assert!(matches!(
            check_sequence(Some(&last), &manifest(39, None)?, d41, false),
            Err(ChannelError::Rollback {
                seen: 40,
                got: 39,
                ..
            })
        ));
        assert!(matches!(
            check_sequence(Some(&last), &manifest(41, Some(d41))?, d41, false),
            Err(ChannelError::ChainBroken { .. })
        ));
        let gap = check_sequence(Some(&last), &manifest(42, Some(d41))?, d41, false);
        let message = gap.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(
            message.starts_with("bundle 41 missing on channel dev->pci/release"),
            "{message}"
        );
        assert_eq!(
            check_sequence(Some(&last), &manifest(43, Some(d41))?, d41, true),
            Ok(ChannelVerdict::Gap {
                first_missing: 41,
                last_missing: 42
            })
        );
        Ok(())
    }
}
