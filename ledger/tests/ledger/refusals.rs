//! Every refusal is recorded, whatever the bundle carries: texts are bounded, never a reason to
//! fail (issue 10, point 3).

use bundle_format::pretrust::PretrustHead;
use ledger::{
    EVENT_REFUSED, EVENT_REFUSED_UNVERIFIED, Ledger, MAX_DETAIL_BYTES, MAX_INPUT_BYTES,
    MAX_NAME_BYTES, MAX_REASON_BYTES, TRUNCATED_MARK, UnverifiedBundle, Verdict,
};

use super::{TestResult, release, temp_path};

#[test]
fn a_verified_bundle_with_huge_names_is_still_recorded_as_refused() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    // A 2 KiB project name, a 64 KiB version of control characters, a 1 MiB reason naming
    // both: each cut, the refusal written, the chain intact.
    let mut record = release(1)?;
    record.project = Some("P".repeat(2048));
    record.version = Some("\u{1}".repeat(64 * 1024));
    let reason = format!("unresolved-names: {}", "€".repeat(1 << 20));
    let entry = ledger.record_refused(&record, &reason)?;
    assert_eq!(entry.event, EVENT_REFUSED);
    assert!(entry.detail.len() <= MAX_DETAIL_BYTES);
    let stored = ledger
        .bundle(&record.digest, Verdict::Refused)?
        .ok_or("no refused row")?;
    for name in [&stored.project, &stored.version] {
        let name = name.as_deref().ok_or("name not kept")?;
        assert!(name.len() <= MAX_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with(TRUNCATED_MARK));
    }
    let kept = stored.reason.ok_or("no reason")?;
    assert!(kept.len() <= MAX_REASON_BYTES && kept.starts_with("unresolved-names: "));
    ledger.verify()?;
    Ok(())
}

#[test]
fn a_bundle_refused_before_trust_is_recorded_whatever_its_input() -> TestResult {
    let (_dir, path) = temp_path()?;
    let mut ledger = Ledger::open(&path)?;
    let cases = [
        // A huge input name and reason of control characters (6 bytes each as JSON).
        UnverifiedBundle {
            input: "\u{1b}".repeat(1 << 20),
            file_bytes: Some(u64::MAX),
            head: Some(PretrustHead::of(&[0xff; 64])),
        },
        // Nothing known at all: standard input whose manifest could not be read.
        UnverifiedBundle {
            input: "standard input".to_owned(),
            file_bytes: None,
            head: None,
        },
        // A manifest of 8 MiB claiming zones and a kind (only the probe's bounded claims).
        UnverifiedBundle {
            input: "inbox/b.zb".to_owned(),
            file_bytes: Some(9 << 20),
            head: Some(PretrustHead::of(&vec![0x60; 8 << 20])),
        },
    ];
    for (n, bundle) in cases.iter().enumerate() {
        let entry = ledger.record_refused_unverified(bundle, &"\u{7}".repeat(1 << 20))?;
        assert_eq!(entry.event, EVENT_REFUSED_UNVERIFIED, "case {n}");
        let detail = entry.detail_json()?;
        assert!(
            detail["input"]
                .as_str()
                .is_some_and(|i| i.len() <= MAX_INPUT_BYTES),
            "case {n}"
        );
        assert_eq!(
            detail["digest"],
            serde_json::json!(bundle.head.as_ref().map(|h| h.digest.to_hex())),
            "case {n}"
        );
    }
    assert!(ledger.bundles(None, None, None)?.is_empty());
    assert_eq!(ledger.verify()?.entries, 3);
    Ok(())
}
