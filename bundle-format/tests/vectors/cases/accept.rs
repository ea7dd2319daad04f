//! Vectors that must be accepted: the writer's own output and what readers must tolerate.

use super::*;

pub(super) fn accept(v: &mut Vectors) -> Result<(), Error> {
    let files = standard_files();
    let minimal = Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A])?;
    check_against_writer(&files, &[RELEASE_A], &minimal.assemble()?)?;
    v.accept(
        "accept_minimal",
        PCI,
        "A release of three entries (process, variables, package) signed by release-a, byte for byte what bundle-format's writer makes. Every check passes.",
        &minimal,
    )?;

    let mut files = standard_files();
    files.insert(
        2,
        File::package(
            "packages/Payments.Config.1.0.0.zip",
            "Payments.Config",
            "1.0.0",
            Vec::new(),
        ),
    );
    let parts = Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A])?;
    check_against_writer(&files, &[RELEASE_A], &parts.assemble()?)?;
    v.accept(
        "accept_empty_package",
        PCI,
        "The third of four entries is a package of 0 bytes: a header block with size 0 and no data blocks, directly followed by the next header.",
        &parts,
    )?;

    let long = format!(
        "variables/library-variable-sets/{}/{}.json",
        fill("payments-platform-shared-", 123),
        fill("payments-api-settings-", 94)
    );
    let mut files = standard_files();
    files.insert(
        2,
        File::new(&long, EntryRole::Variables, br#"{"Variables":[]}"#.to_vec()),
    );
    let parts = Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A])?;
    check_against_writer(&files, &[RELEASE_A], &parts.assemble()?)?;
    v.accept(
        "accept_long_path",
        PCI,
        "One entry path is 255 bytes, the longest allowed: its ustar header holds 155 bytes in `prefix` and 99 in `name`, split at the last '/'.",
        &parts,
    )?;

    let files = standard_files();
    let parts = Parts::new(&release_manifest(&files)?, &files, &[RELEASE_A, RELEASE_B])?;
    check_against_writer(&files, &[RELEASE_A, RELEASE_B], &parts.assemble()?)?;
    v.accept(
        "accept_two_of_two",
        PCI_2OF2,
        "Signed by release-a and then release-b; the policy needs two distinct release signers for dev.",
        &parts,
    )?;

    let log = File::new(
        "logs/deployment.log",
        EntryRole::Log,
        b"2026-06-01 01:00:00 Deploying Payments API 1.2.3 to Production\n2026-06-01 01:02:00 Deployment succeeded\n".to_vec(),
    );
    let (source, target, created) = (zone("pci")?, zone("dev")?, at(CREATED + 7200)?);
    let entries = vec![log.entry()?];
    let result = Manifest {
        format: FORMAT_VERSION,
        kind: BundleKind::Result,
        bundle_id: bundle_format::manifest::derive_bundle_id(
            BundleKind::Result,
            &source,
            &target,
            1,
            created,
            &entries,
        ),
        source_zone: source,
        target_zone: target,
        sequence: 1,
        previous: None,
        created,
        expires: None,
        entries,
        release: None,
        result: Some(ResultDescription {
            answers: BundleRef {
                bundle_id: release_manifest(&files)?.bundle_id,
                digest: Digest::of(&minimal.manifest),
                sequence: 1,
            },
            project: "Payments API".to_owned(),
            version: "1.2.3".to_owned(),
            environment: "Production".to_owned(),
            tenant: None,
            state: DeploymentState::Success,
            started: Some(at(CREATED + 3600)?),
            completed: Some(at(CREATED + 3720)?),
            log: EntryPath::new("logs/deployment.log")?,
            task: Some("ServerTasks-2041".to_owned()),
            steps: vec![
                StepOutcome {
                    name: "Step 1: Run database migrations".to_owned(),
                    state: StepState::Success,
                    started: Some(at(CREATED + 3600)?),
                    completed: Some(at(CREATED + 3660)?),
                },
                StepOutcome {
                    name: "Step 2: Deploy Payments API".to_owned(),
                    state: StepState::Success,
                    started: Some(at(CREATED + 3660)?),
                    completed: Some(at(CREATED + 3720)?),
                },
            ],
            waiting: None,
            ledger_head: None,
        }),
    };
    v.accept(
        "accept_result",
        DEV,
        "A result bundle from pci to dev answering accept_minimal (its bundle id and digest), with one `log` entry, signed by result-pci.",
        &Parts::new(&result, std::slice::from_ref(&log), &[RESULT_PCI])?,
    )?;

    let mut anchored = result.clone();
    if let Some(desc) = anchored.result.as_mut() {
        desc.ledger_head = Some(LedgerHead {
            entries: 57,
            hash: Digest::of(b"entry 57 of the pci ledger"),
        });
    }
    v.accept(
        "accept_result_ledger_head",
        DEV,
        "accept_result carrying the secure ledger's head (`ledger_head`: 57 entries and the last one's hash, 5.4) as its last result key. Verification does not use it; a reader that does not know the key ignores it.",
        &Parts::new(&anchored, std::slice::from_ref(&log), &[RESULT_PCI])?,
    )?;

    // `null` for the optional keys of a result bundle: refused like every known key (5.1 step
    // 10), found by the second verifier (tests/second-verifier, Q28).
    let null_in_result = |edit: &dyn Fn(&mut Value) -> Result<(), Error>| {
        let mut parts = Parts::new(&result, std::slice::from_ref(&log), &[RESULT_PCI])?;
        let manifest = edit_cbor(&parts.manifest, edit)?;
        parts.resign(manifest, &[RESULT_PCI])?;
        parts.assemble()
    };
    let null_ledger_head = null_in_result(&|m| {
        field(m, "result")?
            .as_map_mut()
            .ok_or("result is not a map")?
            .push((Value::Text("ledger_head".to_owned()), Value::Null));
        Ok(())
    })?;
    v.refuse(
        "manifest_null_ledger_head",
        "manifest-invalid",
        DEV,
        "accept_result with \"ledger_head\": null in its result. null is the value of no known key: refused, not read as absent (5.1 step 10).",
        null_ledger_head,
    )?;
    let null_release = null_in_result(&|m| {
        m.as_map_mut()
            .ok_or("the manifest is not a map")?
            .push((Value::Text("release".to_owned()), Value::Null));
        Ok(())
    })?;
    v.refuse(
        "manifest_null_release",
        "manifest-invalid",
        DEV,
        "accept_result with \"release\": null at the top. A result bundle has no release, and null is refused for every known key (5.1 step 10).",
        null_release,
    )?;

    let mut unexplained = result.clone();
    if let Some(desc) = unexplained.result.as_mut() {
        desc.state = DeploymentState::Waiting;
    }
    v.refuse(
        "manifest_result_waiting_unexplained",
        "manifest-invalid",
        DEV,
        "accept_result with its state changed to `waiting` but no `waiting` map saying what it waits for (5.5.15).",
        Parts::new(&unexplained, &[log], &[RESULT_PCI])?.assemble()?,
    )?;

    let mut parts = Parts::standard(&[STRANGER, RELEASE_A])?;
    parts.block = edit_cbor(&parts.block, |block| {
        let first = signatures(block)?.first_mut().ok_or("no signature")?;
        if let Value::Bytes(sig) = field(first, "signature")? {
            sig[0] ^= 0x01;
        }
        Ok(())
    })?;
    v.accept(
        "accept_unknown_signer_ignored",
        PCI,
        "Two signatures: the first by stranger, a key the policy does not know, with a bit flipped; the second a valid one by release-a. Signatures by unknown keys are neither checked nor counted (8.4).",
        &parts,
    )?;

    let parts = with_manifest_cbor(|m| {
        m.as_map_mut().ok_or("not a map")?.push((
            Value::Text("build".to_owned()),
            Value::Map(vec![
                (
                    Value::Text("agent".to_owned()),
                    Value::Text("ci-linux-7".to_owned()),
                ),
                (
                    Value::Text("pipeline".to_owned()),
                    Value::Integer(4711.into()),
                ),
            ]),
        ));
        Ok(())
    })?;
    v.accept(
        "accept_unknown_manifest_key",
        PCI,
        "The signed manifest ends with a key that format 1 does not define (`build`, a map); readers ignore unknown keys (5.1, section 10).",
        &parts,
    )?;

    let mut parts = release_a()?;
    for record in &mut parts.records {
        let mut block = edit_header(&header_of(record)?, |h| {
            h.set_mode(0o755);
            h.set_uid(1000);
            h.set_gid(1000);
            h.set_mtime(CREATED as u64);
            h.set_username("builder")?;
            h.set_groupname("builder")?;
            Ok(())
        })?;
        set_checksum_six_digits(&mut block);
        record[..BLOCK].copy_from_slice(&block);
    }
    v.accept(
        "accept_header_fields_ignored",
        PCI,
        "Every payload header has mode 0755, uid/gid 1000, an mtime, user and group `builder`, and its checksum written as 6 octal digits, NUL, space. Readers ignore those fields and accept both checksum forms (4.3).",
        &parts,
    )?;

    let parts = release_a()?;
    let mut streamed = zstd::stream::write::Encoder::new(Vec::new(), 1)?;
    streamed.include_checksum(true)?;
    std::io::Write::write_all(
        &mut streamed,
        &record(
            &header(SIGNATURES_PATH, parts.block.len() as u64, b'0')?,
            &parts.block,
        ),
    )?;
    let mut level_19 = zstd::bulk::Compressor::new(19)?;
    level_19.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    let frames = Frames {
        f1: streamed.finish()?,
        f2: level_19.compress(&record(
            &header(MANIFEST_PATH, parts.manifest.len() as u64, b'0')?,
            &parts.manifest,
        ))?,
        f3: compress_one_shot(&parts.payload())?,
    };
    // F1 must have a window descriptor, F3 a content size (single segment).
    if frames.f1.get(4).is_none_or(|fhd| fhd & 0x20 != 0)
        || frames.f3.get(4).is_none_or(|fhd| fhd & 0x20 == 0)
    {
        return Err("accept_frame_parameters does not have the frame shapes it describes".into());
    }
    v.accept_bundle(
        "accept_frame_parameters",
        PCI,
        "Frames made with other zstd parameters than the writer's: F1 streamed at level 1 (window descriptor, no content size), F2 at level 19, F3 in one shot (single segment, with content size). Readers accept any frame that passes the checks of 4.2.",
        &parts.manifest,
        frames.bytes(),
    )
}
