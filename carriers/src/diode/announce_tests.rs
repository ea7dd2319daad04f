use bundle_format::keys::SigningKey;
use bundle_format::policy::TrustPolicy;
use time::macros::datetime;

use super::*;
use crate::diode::test_policy::policy;
use crate::diode::trust::{self, Untrusted};
use crate::diode::wire::{self, Datagram};

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

fn header(key: &SigningKey) -> TransferHeader {
    TransferHeader {
        key_id: key.public_key().key_id(),
        channel: "dev->pci/release"
            .parse()
            .unwrap_or_else(|e: String| panic!("{e}")),
        sequence: 42,
        name: "dev~pci~release~000000000042~payments-api-1.4.1.zb".to_owned(),
        size: 3 * 1_474_560 + 17,
        digest: [1; 32],
        symbol_size: 1440,
        block_size: 1_474_560,
        table_digest: [2; 32],
        overhead_per_mille: 50,
    }
}

const NOW: time::OffsetDateTime = datetime!(2026-12-02 12:00 UTC);

fn signed_header(header: &TransferHeader, key: &SigningKey) -> Vec<u8> {
    header.sign(key).unwrap_or_else(|e| panic!("{e}")).datagram
}

fn authenticate(policy: &TrustPolicy, datagram: &[u8]) -> Result<TransferHeader, Untrusted> {
    match wire::parse(datagram) {
        Ok(Datagram::Header(signed)) => trust::authenticate_header(policy, &signed, NOW),
        other => panic!("not a header: {other:?}"),
    }
}

#[test]
fn a_header_reads_back_and_its_layout_follows_from_its_sizes() -> Result<(), BodyError> {
    let signer = key(1);
    let original = header(&signer);
    let body = original.encode()?;
    assert_eq!(TransferHeader::decode(&body)?, original);
    assert_eq!(original.block_count(), 4);
    assert_eq!(original.block_len(0), Some(4 * 32));
    assert_eq!(original.block_len(1), Some(1_474_560));
    assert_eq!(original.block_len(4), Some(17));
    assert_eq!(original.block_len(5), None);
    assert_eq!(original.block_offset(4), Some(3 * 1_474_560));
    assert_eq!(original.block_offset(0), None);
    assert_eq!(original.block_symbols(1), Some(1024));
    assert_eq!(original.block_symbols(4), Some(1));
    Ok(())
}

#[test]
fn the_transfer_id_follows_the_body_so_a_restarted_sender_keeps_it() -> Result<(), BodyError> {
    let signer = key(1);
    let first = header(&signer).sign(&signer)?;
    let again = header(&signer).sign(&signer)?;
    assert_eq!(first.id, again.id);
    let mut other = header(&signer);
    other.overhead_per_mille = 100;
    assert_ne!(other.sign(&signer)?.id, first.id);
    Ok(())
}

#[test]
fn every_truncation_and_trailing_byte_of_a_body_is_refused() -> Result<(), BodyError> {
    let body = header(&key(1)).encode()?;
    for len in 0..body.len() {
        assert!(
            TransferHeader::decode(&body[..len]).is_err(),
            "length {len}"
        );
    }
    let mut longer = body.clone();
    longer.push(0);
    assert_eq!(TransferHeader::decode(&longer), Err(BodyError::Trailing(1)));
    Ok(())
}

#[test]
fn headers_that_break_a_rule_are_refused_naming_the_field() {
    let signer = key(1);
    type Change = Box<dyn Fn(&mut TransferHeader)>;
    let cases: Vec<(&str, Change)> = vec![
        ("size", Box::new(|h| h.size = 0)),
        ("symbol_size", Box::new(|h| h.symbol_size = 1441)),
        ("symbol_size", Box::new(|h| h.symbol_size = 8)),
        ("block_size", Box::new(|h| h.block_size = 1440 * 8193)),
        ("block_size", Box::new(|h| h.block_size = 1000)),
        ("block_size", Box::new(|h| h.block_size = 0)),
        ("name", Box::new(|h| h.name = "../../etc/passwd".to_owned())),
        (
            "name",
            Box::new(|h| h.name = "dev~pci~release~000000000043~x.zb".to_owned()),
        ),
        (
            "name",
            Box::new(|h| h.name = "dev~pci~result~000000000042~x.zb".to_owned()),
        ),
        (
            "size",
            Box::new(|h| {
                h.block_size = 1440;
                h.size = 1440 * 3_000_000;
            }),
        ),
    ];
    for (field_name, change) in cases {
        let mut bad = header(&signer);
        change(&mut bad);
        match bad.encode() {
            Err(BodyError::Field { field, .. }) => assert_eq!(field, field_name, "{bad:?}"),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn the_policy_decides_who_may_announce_what() {
    let signer = key(1);
    let stranger = key(2);
    let datagram = signed_header(&header(&signer), &signer);
    let trusting = policy("pci", &[(&signer, "release", "dev", None)]);
    assert_eq!(
        authenticate(&trusting, &datagram).ok(),
        Some(header(&signer))
    );

    let unknown = policy("pci", &[(&stranger, "release", "dev", None)]);
    assert!(matches!(
        authenticate(&unknown, &datagram),
        Err(Untrusted::UnknownKey(_))
    ));
    let role = policy("pci", &[(&signer, "result", "dev", None)]);
    assert!(matches!(
        authenticate(&role, &datagram),
        Err(Untrusted::WrongRole { .. })
    ));
    let zone = policy("pci", &[(&signer, "release", "test", None)]);
    assert!(matches!(
        authenticate(&zone, &datagram),
        Err(Untrusted::ZoneNotAllowed { .. })
    ));
    let expired = policy(
        "pci",
        &[(&signer, "release", "dev", Some("2026-12-01T00:00:00Z"))],
    );
    assert!(matches!(
        authenticate(&expired, &datagram),
        Err(Untrusted::Expired(_))
    ));
    let elsewhere = policy("prod", &[(&signer, "release", "dev", None)]);
    assert!(matches!(
        authenticate(&elsewhere, &datagram),
        Err(Untrusted::WrongZone { .. })
    ));

    // A `diode` key announces either kind, for its zones only.
    let diode = policy("pci", &[(&signer, "diode", "dev", None)]);
    assert_eq!(authenticate(&diode, &datagram).ok(), Some(header(&signer)));
    let mut result = header(&signer);
    result.channel = "dev->pci/result"
        .parse()
        .unwrap_or_else(|e: String| panic!("{e}"));
    result.name = "dev~pci~result~000000000042~x.zb".to_owned();
    let result_datagram = signed_header(&result, &signer);
    assert_eq!(authenticate(&diode, &result_datagram).ok(), Some(result));
    assert!(matches!(
        authenticate(&trusting, &result_datagram),
        Err(Untrusted::WrongRole { .. })
    ));
    let diode_elsewhere = policy("pci", &[(&signer, "diode", "qa", None)]);
    assert!(matches!(
        authenticate(&diode_elsewhere, &datagram),
        Err(Untrusted::ZoneNotAllowed { .. })
    ));
}

#[test]
fn a_forged_header_naming_a_trusted_key_is_refused() -> Result<(), BodyError> {
    let signer = key(1);
    let forger = key(2);
    let trusting = policy("pci", &[(&signer, "release", "dev", None)]);
    // Signed by another key but claiming the trusted one.
    let forged = signed_header(&header(&signer), &forger);
    assert!(matches!(
        authenticate(&trusting, &forged),
        Err(Untrusted::BadSignature(_))
    ));
    // A body changed after signing, the CRC recomputed.
    let body = header(&signer).encode()?;
    let signature = signer.sign_in(bundle_format::keys::SigningDomain::DiodeHeader, &body);
    let mut changed = body.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    let datagram = wire::encode_header(&changed, &signature).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        authenticate(&trusting, &datagram),
        Err(Untrusted::BadSignature(_))
    ));
    // A heartbeat's signature does not make a header.
    let beat_signature = signer.sign_in(bundle_format::keys::SigningDomain::DiodeHeartbeat, &body);
    let datagram = wire::encode_header(&body, &beat_signature).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        authenticate(&trusting, &datagram),
        Err(Untrusted::BadSignature(_))
    ));
    Ok(())
}

#[test]
fn heartbeats_read_back_and_are_authenticated() -> Result<(), BodyError> {
    let signer = key(1);
    let trusting = policy("pci", &[(&signer, "release", "dev", None)]);
    for transfer in [None, Some(*b"abcdefgh")] {
        let beat = Heartbeat {
            key_id: signer.public_key().key_id(),
            session: *b"session!",
            sent: 12345,
            unix_millis: 1_800_000_000_000,
            interval_millis: 1000,
            transfer,
        };
        let datagram = beat.sign(&signer)?;
        let Ok(Datagram::Heartbeat(signed)) = wire::parse(&datagram) else {
            panic!("not a heartbeat");
        };
        assert_eq!(
            trust::authenticate_heartbeat(&trusting, &signed, NOW),
            Ok(beat.clone())
        );
        let other = policy("pci", &[(&key(3), "release", "dev", None)]);
        assert!(trust::authenticate_heartbeat(&other, &signed, NOW).is_err());
        let body = beat.encode();
        for len in 0..body.len() {
            assert!(Heartbeat::decode(&body[..len]).is_err());
        }
    }
    Ok(())
}
