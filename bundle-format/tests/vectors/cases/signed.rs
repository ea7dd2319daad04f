//! The signed head (spec 8.3-8.7): signature block, signatures, manifest, paths, limits,
//! binding and trust.

use super::*;

pub(super) fn sig(v: &mut Vectors) -> Result<(), Error> {
    let mut parts = release_a()?;
    let signature = sign(&parts.manifest, &[RELEASE_A])?.signatures()[0].signature;
    let at = parts
        .block
        .windows(64)
        .position(|w| w == signature)
        .ok_or("signature not found in the block")?;
    parts.block[at + 10] ^= 0x04;
    v.refuse(
        "sig_signature_bit_flipped",
        "signature-invalid",
        PCI,
        "One bit flipped in the 64 signature bytes of release-a's signature (F1 compressed again, so the frame is sound).",
        parts.assemble()?,
    )?;

    let mut parts = release_a()?;
    let at = parts
        .manifest
        .windows(12)
        .position(|w| w == b"Payments API")
        .ok_or("project not found in the manifest")?;
    parts.manifest[at] ^= 0x01;
    v.refuse(
        "sig_manifest_bit_flipped",
        "signature-invalid",
        PCI,
        "One bit flipped in the manifest bytes (the project name becomes \"Qayments API\"; F2 compressed again, so the frame is sound and the CBOR still decodes).",
        parts.assemble()?,
    )?;

    v.refuse(
        "sig_no_domain_prefix",
        "signature-invalid",
        PCI,
        "release-a signed the manifest bytes alone, without the \"zonebridge bundle manifest v1\\0\" prefix of the signing input (6.2).",
        with_block(&[RELEASE_A], |block, manifest| {
            *signatures(block)? = vec![signature_entry(RELEASE_A.seed, manifest)];
            Ok(())
        })?,
    )?;
    v.refuse(
        "sig_duplicate_signer",
        "duplicate-signer",
        PCI_2OF2,
        "release-a's signature entry appears twice in the block, an attempt to count one key twice toward the policy's threshold of 2.",
        with_block(&[RELEASE_A], |block, _| {
            let sigs = signatures(block)?;
            let first = sigs.first().ok_or("no signature")?.clone();
            sigs.push(first);
            Ok(())
        })?,
    )?;
    v.refuse(
        "sig_unknown_signer",
        "signer-unknown",
        PCI,
        "Validly signed, but only by stranger, a key the policy does not list.",
        Parts::standard(&[STRANGER])?.assemble()?,
    )?;
    v.refuse(
        "sig_block_empty",
        "signature-block-invalid",
        PCI,
        "The signature block is {format: 1, signatures: []}.",
        with_block(&[RELEASE_A], |block, _| {
            signatures(block)?.clear();
            Ok(())
        })?,
    )?;
    v.refuse(
        "sig_block_too_deep",
        "signature-block-invalid",
        PCI,
        "The signature block carries an extra key whose value is 20 nested arrays, deeper than max_cbor_depth (16).",
        with_block(&[RELEASE_A], |block, _| {
            block
                .as_map_mut()
                .ok_or("not a map")?
                .push((Value::Text("x".to_owned()), nested(20)));
            Ok(())
        })?,
    )?;
    v.refuse(
        "sig_block_too_many",
        "limit-exceeded",
        PCI,
        "17 valid signatures by distinct keys (release-a, then keys from seeds 0x20..0x2f); a block holds at most 16.",
        with_block(&[RELEASE_A], |block, manifest| {
            let input = signing_input(manifest);
            let sigs = signatures(block)?;
            for seed in 0x20..=0x2fu8 {
                sigs.push(signature_entry(seed, &input));
            }
            Ok(())
        })?,
    )?;
    v.refuse(
        "sig_block_format_2",
        "unsupported-format-version",
        PCI,
        "The signature block says format 2; a version 1 reader cannot know what a later block layout means (8.3, section 10).",
        with_block(&[RELEASE_A], |block, _| {
            *field(block, "format")? = Value::Integer(2.into());
            Ok(())
        })?,
    )?;
    Ok(())
}

pub(super) fn manifest(v: &mut Vectors) -> Result<(), Error> {
    let parts = with_manifest_cbor(|m| {
        *field(m, "format")? = Value::Integer(2.into());
        let map = m.as_map_mut().ok_or("not a map")?;
        map.retain(|(k, _)| k.as_text() != Some("entries"));
        map.push((
            Value::Text("volumes".to_owned()),
            Value::Array(vec![Value::Map(vec![
                (Value::Text("index".to_owned()), Value::Integer(0.into())),
                (Value::Text("count".to_owned()), Value::Integer(1.into())),
            ])]),
        ));
        Ok(())
    })?;
    v.refuse(
        "manifest_format_2",
        "unsupported-format-version",
        PCI,
        "A correctly signed manifest of format 2 with a `volumes` key and no `entries`: the format is probed before anything else is interpreted (8.5), so the verdict is the version, not a missing field.",
        parts.assemble()?,
    )?;
    v.refuse(
        "manifest_too_deep",
        "manifest-invalid",
        PCI,
        "The signed manifest ends with an unknown key whose value is 20 nested arrays, deeper than max_cbor_depth (16).",
        with_manifest_cbor(|m| {
            m.as_map_mut()
                .ok_or("not a map")?
                .push((Value::Text("extensions".to_owned()), nested(20)));
            Ok(())
        })?
        .assemble()?,
    )?;
    let mut parts = release_a()?;
    parts.resign(
        br#"{"format":1,"kind":"release","source_zone":"dev","target_zone":"pci"}"#.to_vec(),
        &[RELEASE_A],
    )?;
    v.refuse(
        "manifest_not_cbor",
        "manifest-invalid",
        PCI,
        "The signed manifest bytes are JSON, not CBOR.",
        parts.assemble()?,
    )?;
    v.refuse(
        "manifest_duplicate_key",
        "manifest-invalid",
        PCI,
        "The signed manifest map has `target_zone` twice, \"pci\" then \"qa\"; readers refuse duplicate keys rather than pick one.",
        with_manifest_cbor(|m| {
            let map = m.as_map_mut().ok_or("not a map")?;
            let at = map
                .iter()
                .position(|(k, _)| k.as_text() == Some("target_zone"))
                .ok_or("no target_zone")?;
            map.insert(
                at + 1,
                (Value::Text("target_zone".to_owned()), Value::Text("qa".to_owned())),
            );
            Ok(())
        })?
        .assemble()?,
    )?;
    let mut files = standard_files();
    files.insert(
        2,
        File::new(
            "variables/Project.json",
            EntryRole::Variables,
            b"{}".to_vec(),
        ),
    );
    v.refuse(
        "manifest_paths_equal_ignoring_case",
        "manifest-invalid",
        PCI,
        "Two entries, variables/project.json and variables/Project.json, differ only in case; they would be one file on Windows and macOS (2.3).",
        Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A])?.assemble()?,
    )?;
    v.refuse(
        "manifest_sequence_without_previous",
        "manifest-invalid",
        PCI,
        "sequence is 2 but the manifest has no `previous` digest (5.5).",
        with_manifest(|m| {
            m.sequence = 2;
            rederive_id(m);
        })?
        .assemble()?,
    )?;
    let previous = Digest::of(b"the previous manifest");
    v.refuse(
        "manifest_sequence_too_large",
        "manifest-invalid",
        PCI,
        "sequence is 2^63 (with a `previous` digest); sequences must fit a signed 64-bit integer (5.5).",
        with_manifest(|m| {
            m.sequence = 1 << 63;
            m.previous = Some(previous);
            rederive_id(m);
        })?
        .assemble()?,
    )?;
    let pci = zone("pci")?;
    v.refuse(
        "manifest_same_zone",
        "manifest-invalid",
        PCI,
        "source_zone and target_zone are both pci; a bundle crosses between two zones (5.5).",
        with_manifest(|m| {
            m.source_zone = pci;
            rederive_id(m);
        })?
        .assemble()?,
    )?;
    Ok(())
}

pub(super) fn path(v: &mut Vectors) -> Result<(), Error> {
    v.refuse(
        "path_dot_dot",
        "path-invalid",
        PCI,
        "The signed manifest's first entry and its record are named ../x: a path that would escape the output folder.",
        renamed(0, "../x")?,
    )?;
    v.refuse(
        "path_absolute",
        "path-invalid",
        PCI,
        "The signed manifest's first entry and its record are named /tmp/x, an absolute path.",
        renamed(0, "/tmp/x")?,
    )?;
    v.refuse(
        "path_backslash",
        "path-invalid",
        PCI,
        "The signed manifest's first entry and its record are named ..\\x, a traversal on Windows; '\\' is not an allowed character.",
        renamed(0, "..\\x")?,
    )?;
    v.refuse(
        "path_reserved_folder",
        "path-invalid",
        PCI,
        "The signed manifest's first entry and its record are named zonebridge/process.json, in the folder reserved for F1 and F2.",
        renamed(0, "zonebridge/process.json")?,
    )?;
    v.refuse(
        "path_reserved_folder_case",
        "path-invalid",
        PCI,
        "The signed manifest's first entry and its record are named ZoneBridge/process.json: the reserved folder is compared ignoring ASCII case, since it would be the same folder on Windows and macOS.",
        renamed(0, "ZoneBridge/process.json")?,
    )?;
    v.refuse(
        "path_dot_dot_in_header",
        "path-invalid",
        PCI,
        "The manifest is intact; only the first payload record's header names ../x instead of process.json.",
        with_records(|r| rename_record(r, 0, "../x"))?,
    )?;
    v.refuse(
        "path_absolute_in_header",
        "path-invalid",
        PCI,
        "The manifest is intact; only the second payload record's header names /variables/project.json.",
        with_records(|r| rename_record(r, 1, "/variables/project.json"))?,
    )?;
    Ok(())
}

pub(super) fn limit(v: &mut Vectors) -> Result<(), Error> {
    let small = |parts: Parts| -> Result<Vec<u8>, Error> {
        if parts.manifest.len() >= 1024 {
            return Err("this limit vector must stay under max_manifest_bytes".into());
        }
        parts.assemble()
    };
    let parts = with_manifest(|m| {
        if let Some(release) = m.release.as_mut() {
            release.notes = Some(fill("Release notes that go on and on. ", 800));
        }
    })?;
    if parts.manifest.len() <= 1024 {
        return Err("limit_manifest_too_large must exceed 1024 bytes".into());
    }
    v.refuse(
        "limit_manifest_too_large",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "The manifest (with 800 bytes of release notes) is larger than the policy's max_manifest_bytes of 1024; refused from F2's record header, before reading it.",
        parts.assemble()?,
    )?;

    let mut files = vec![standard_files().remove(0)];
    for name in ["a", "b", "c", "d"] {
        files.push(File::new(
            &format!("variables/{name}.json"),
            EntryRole::Variables,
            b"{}".to_vec(),
        ));
    }
    v.refuse(
        "limit_too_many_entries",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "Five entries; the policy's max_entries is 4.",
        small(Parts::new(
            &release_manifest(&files)?,
            &files,
            &[RELEASE_A],
        )?)?,
    )?;

    let mut files = standard_files();
    files[2].data = noise(2, 5000);
    v.refuse(
        "limit_entry_too_large",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "The package entry is 5000 bytes; the policy's max_entry_bytes is 4096.",
        small(Parts::new(
            &release_manifest(&files)?,
            &files,
            &[RELEASE_A],
        )?)?,
    )?;

    let mut files = standard_files();
    files[2].data = noise(3, 4096);
    files.push(File::package(
        "packages/Payments.Worker.1.2.3.zip",
        "Payments.Worker",
        "1.2.3",
        noise(4, 4096),
    ));
    v.refuse(
        "limit_total_too_large",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "Two packages of 4096 bytes each (each within max_entry_bytes) and two small files: the total is above the policy's max_total_bytes of 8192.",
        small(Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A])?)?,
    )?;
    Ok(())
}

/// The standard release with one more secret whose scope lists `names` one-letter names:
/// `names` more CBOR data items (spec 3) for 2 bytes each.
fn many_items(names: usize) -> Result<Parts, Error> {
    with_manifest(|m| {
        if let Some(release) = m.release.as_mut() {
            release
                .secrets
                .push(bundle_format::manifest::SecretRequirement {
                    owner: "Payments API".to_owned(),
                    name: "Many.Scoped".to_owned(),
                    kind: "Sensitive".to_owned(),
                    scope: [("Role".to_owned(), vec!["r".to_owned(); names])]
                        .into_iter()
                        .collect(),
                });
        }
    })
}

/// Spec 3 and 8.5: the count of M's data items against `max_manifest_bytes` / 8.
pub(super) fn items(v: &mut Vectors) -> Result<(), Error> {
    // max_manifest_bytes 1024 allows 128 items: 60 scope names (152 items in all) put it over the
    // count while it stays under 1024 bytes.
    let parts = many_items(60)?;
    if parts.manifest.len() >= 1024 {
        return Err("limit_too_many_items must stay under max_manifest_bytes".into());
    }
    v.refuse(
        "limit_too_many_items",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "One secret's scope lists 60 one-letter role names (152 data items in all): the manifest is under the policy's max_manifest_bytes of 1024 but holds more than 1024 / 8 = 128 CBOR data items (spec 3), refused before it is decoded.",
        parts.assemble()?,
    )?;
    v.accept(
        "accept_many_items",
        PCI,
        "The bundle of limit_too_many_items under the default limits: its items are far below 8 MiB / 8.",
        &parts,
    )?;
    Ok(())
}

pub(super) fn binding(v: &mut Vectors) -> Result<(), Error> {
    let qa = zone("qa")?;
    v.refuse(
        "binding_wrong_zone",
        "wrong-target-zone",
        PCI,
        "The bundle names zone qa as its target; this side is pci.",
        with_manifest(|m| {
            m.target_zone = qa;
            rederive_id(m);
        })?
        .assemble()?,
    )?;
    let noon = at(CREATED + 43_200)?;
    v.refuse(
        "binding_expired",
        "bundle-expired",
        PCI,
        "The bundle expired at 2026-06-01T12:00:00Z, twelve hours before the vectors' clock.",
        with_manifest(|m| m.expires = Some(noon))?.assemble()?,
    )?;
    let now = at(NOW_UNIX)?;
    v.refuse(
        "binding_expires_at_now",
        "bundle-expired",
        PCI,
        "The bundle expires at exactly the vectors' clock; `expires <= now` refuses (8.6).",
        with_manifest(|m| m.expires = Some(now))?.assemble()?,
    )?;
    Ok(())
}

pub(super) fn trust(v: &mut Vectors) -> Result<(), Error> {
    v.refuse(
        "trust_wrong_role",
        "signer-wrong-role",
        PCI,
        "Signed only by wrong-role, which the policy trusts for zone dev but only for result bundles.",
        Parts::standard(&[WRONG_ROLE])?.assemble()?,
    )?;
    v.refuse(
        "trust_zone_not_allowed",
        "signer-zone-not-allowed",
        PCI,
        "Signed only by qa-only, a release key that may speak for zone qa, not for the bundle's source zone dev.",
        Parts::standard(&[QA_ONLY])?.assemble()?,
    )?;
    v.refuse(
        "trust_key_expired",
        "key-expired",
        PCI,
        "Signed only by expired, whose not_after (2026-03-01) is before the vectors' clock.",
        Parts::standard(&[EXPIRED])?.assemble()?,
    )?;
    v.refuse(
        "trust_threshold_not_met",
        "threshold-not-met",
        PCI_2OF2,
        "Signed by release-a and by stranger; the policy needs two trusted release signers and only release-a counts.",
        Parts::standard(&[RELEASE_A, STRANGER])?.assemble()?,
    )?;
    v.refuse(
        "trust_threshold_mixed_reasons",
        "threshold-not-met",
        PCI_2OF2,
        "Signed by release-a, wrong-role and qa-only: one key counts, the other two fail for different reasons, so no single reason explains the refusal (8.7).",
        Parts::standard(&[RELEASE_A, WRONG_ROLE, QA_ONLY])?.assemble()?,
    )?;
    v.refuse(
        "trust_threshold_one_expired",
        "key-expired",
        PCI_2OF2,
        "Signed by release-a and by expired under a 2-of-2 policy: release-a counts, and the one key that does not count failed for one reason, so that reason is the verdict (8.7).",
        Parts::standard(&[RELEASE_A, EXPIRED])?.assemble()?,
    )?;
    Ok(())
}
