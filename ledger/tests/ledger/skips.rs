//! `channel skip`: one bundle given up on, audited, never accepted afterwards.

use bundle_format::manifest::{BundleKind, LedgerHead};
use bundle_format::names::{Digest, ZoneId};
use ledger::{EVENT_SKIP, Ledger, LedgerError, head_went_backwards};

use super::{TestResult, channel, events, release, state_of, temp_path};

#[test]
fn a_skip_is_audited_with_its_reason_and_operator() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    ledger.record_refused(&release(2)?, "secrets-missing: DbPassword")?;
    let entry = ledger.skip(&first.channel, 2, "  superseded by 1.0.3  ", "alice")?;
    assert_eq!(entry.event, EVENT_SKIP);
    let detail = entry.detail_json()?;
    assert_eq!(detail["reason"], "superseded by 1.0.3");
    assert_eq!(detail["operator"], "alice");
    assert_eq!(detail["sequence"], 2);
    assert_eq!(
        ledger
            .skipped(&first.channel)?
            .into_iter()
            .collect::<Vec<_>>(),
        [2]
    );
    let skips = ledger.skips()?;
    assert_eq!(skips.len(), 1);
    assert_eq!(
        ledger
            .last_refusal(&first.channel, 2)?
            .and_then(|b| b.reason),
        Some("secrets-missing: DbPassword".to_owned())
    );
    assert_eq!(
        events(&ledger)?.last().map(String::as_str),
        Some(EVENT_SKIP)
    );

    // The skipped bundle can never be accepted; the one after it can.
    let err = ledger.record_accepted(&release(2)?, Some(&state_of(&first)));
    assert!(
        matches!(err, Err(LedgerError::SequenceSkipped { sequence: 2, .. })),
        "{err:?}"
    );
    ledger.record_accepted(&release(3)?, Some(&state_of(&first)))?;
    ledger.verify()?;
    Ok(())
}

#[test]
fn a_skip_is_refused_when_it_cannot_apply() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let first = release(1)?;
    ledger.record_accepted(&first, None)?;
    ledger.skip(&first.channel, 3, "lost", "alice")?;
    let outgoing = channel("pci", "dev", BundleKind::Result)?;
    ledger.record_exported(&super::result(1)?, None)?;
    let cases = [
        (
            first.channel.clone(),
            1,
            "lost",
            "already accepted bundle 1",
        ),
        (first.channel.clone(), 3, "lost", "skipped already"),
        (first.channel.clone(), 2, "   ", "the reason is empty"),
        (first.channel.clone(), 0, "lost", "run from 1"),
        (outgoing, 2, "lost", "this side sends on that channel"),
    ];
    for (channel, sequence, reason, says) in cases {
        let err = ledger.skip(&channel, sequence, reason, "alice").err();
        let message = err.as_ref().map(ToString::to_string).unwrap_or_default();
        assert!(
            matches!(err, Some(LedgerError::SkipRefused { .. })),
            "{message}"
        );
        assert!(message.contains(says), "{message}");
    }
    let long = "x".repeat(ledger::MAX_REASON_BYTES + 1);
    assert!(ledger.skip(&first.channel, 2, &long, "alice").is_err());
    assert_eq!(ledger.skips()?.len(), 1, "nothing refused was written");
    ledger.verify()?;
    Ok(())
}

#[test]
fn heads_that_do_not_grow_went_backwards() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let pci = ZoneId::new("pci")?;
    let other = ZoneId::new("pci-eu")?;
    let head = |entries: u64| LedgerHead {
        entries,
        hash: Digest::of(entries.to_string().as_bytes()),
    };
    ledger.record_peer_head(&pci, &head(10), Digest::of(b"r1"))?;
    ledger.record_peer_head(&other, &head(3), Digest::of(b"e1"))?;
    ledger.record_peer_head(&pci, &head(14), Digest::of(b"r2"))?;
    assert_eq!(head_went_backwards(&ledger.peer_heads(None)?), None);
    ledger.record_peer_head(&pci, &head(12), Digest::of(b"r3"))?;
    let heads = ledger.peer_heads(Some(&pci))?;
    let (earlier, later) = head_went_backwards(&heads).ok_or("backwards")?;
    assert_eq!((earlier.head.entries, later.head.entries), (14, 12));
    ledger.verify()?;
    Ok(())
}
