//! Pack, verify and unpack: byte-for-byte round trips and reproducible output.

mod common;

use std::fs;

use bundle_format::staging::{Durability, Staging};
use bundle_format::verify::{Discard, VerifyError, verify_bundle};
use common::*;
use proptest::prelude::*;

#[test]
fn pack_verify_unpack_round_trip() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("release");
    release_dir(
        &dir,
        &[
            ("a.zip", vec![1u8; 1000]),
            ("b.zip", Vec::new()),
            ("c.zip", vec![7u8; 3 << 20]),
        ],
    )?;
    let signer = key(1);
    let (bundle, sealed) = pack(&dir, std::slice::from_ref(&signer), 2)?;
    let policy = policy_trusting(&[&signer], 1);

    let verified = verify_bundle(
        bundle.as_slice(),
        &policy,
        created(),
        &mut Discard,
        &mut |_| {},
    )?;
    assert_eq!(verified.digest(), sealed.digest);
    assert_eq!(verified.manifest(), &sealed.manifest);

    for (name, durability) in [
        ("durable", Durability::Durable),
        ("relaxed", Durability::Relaxed),
    ] {
        let out = tmp.path().join(name);
        let mut staging = Staging::with_durability(&out, durability)?;
        verify_bundle(
            bundle.as_slice(),
            &policy,
            created(),
            &mut staging,
            &mut |_| {},
        )?;
        staging.commit()?;
        for file in [
            "packages/a.zip",
            "packages/b.zip",
            "packages/c.zip",
            "process.json",
        ] {
            assert_eq!(
                fs::read(out.join(file))?,
                fs::read(dir.join(file))?,
                "{name}: {file}"
            );
        }
    }
    Ok(())
}

#[test]
fn packing_is_reproducible_whatever_the_thread_count() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("release");
    // Large enough for zstd to cut several multithreaded jobs.
    let text: Vec<u8> = (0..20_000_000u32)
        .map(|i| b"abcdefghij\n"[(i % 11) as usize] ^ (i % 7 == 0) as u8)
        .collect();
    release_dir(&dir, &[("big.zip", text), ("small.zip", vec![3u8; 10])])?;
    let (one, _) = pack(&dir, &[key(1)], 1)?;
    let (two, _) = pack(&dir, &[key(1)], 2)?;
    let (four, _) = pack(&dir, &[key(1)], 4)?;
    assert!(
        one == two && two == four,
        "bundles differ with the number of compression threads"
    );
    Ok(())
}

#[test]
fn failed_verification_leaves_nothing_behind() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("release");
    release_dir(&dir, &[("a.zip", vec![1u8; 5000])])?;
    let signer = key(1);
    let (mut bundle, _) = pack(&dir, std::slice::from_ref(&signer), 1)?;
    bundle.truncate(bundle.len() - 20);
    let out = tmp.path().join("out");
    let mut staging = Staging::new(&out)?;
    let err = verify_bundle(
        bundle.as_slice(),
        &policy_trusting(&[&signer], 1),
        created(),
        &mut staging,
        &mut |_| {},
    );
    assert!(matches!(err, Err(VerifyError::Truncated { .. })), "{err:?}");
    drop(staging);
    let left: Vec<_> = fs::read_dir(tmp.path())?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("release")],
        "staging must be removed"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_release_round_trips(
        files in proptest::collection::btree_map("[a-zA-Z0-9_-]{1,20}\\.(zip|nupkg)", proptest::collection::vec(any::<u8>(), 0..20_000), 0..6),
        workers in 1u32..3,
    ) {
        let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dir = tmp.path().join("release");
        let list: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        // Names equal ignoring case are refused by design; keep one of each.
        let mut seen = std::collections::HashSet::new();
        let list: Vec<_> = list.into_iter().filter(|(n, _)| seen.insert(n.to_ascii_lowercase())).collect();
        release_dir(&dir, &list).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let signer = key(9);
        let (bundle, _) = pack(&dir, std::slice::from_ref(&signer), workers).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (again, _) = pack(&dir, std::slice::from_ref(&signer), 3 - workers).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&bundle, &again);
        let out = tmp.path().join("out");
        let mut staging = Staging::new(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        verify_bundle(bundle.as_slice(), &policy_trusting(&[&signer], 1), created(), &mut staging, &mut |_| {})
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        staging.commit().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, bytes) in &list {
            let got = fs::read(out.join("packages").join(name)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&got, bytes);
        }
    }
}

#[test]
fn a_release_above_the_default_limits_is_refused_before_reading() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("release");
    release_dir(&dir, &[("huge.zip", Vec::new())])?;
    // Sparse: 17 GiB of size, no blocks; reading it would take minutes, refusing takes none.
    fs::File::options()
        .write(true)
        .open(dir.join("packages/huge.zip"))?
        .set_len(17 << 30)?;
    let err = bundle_format::release_dir::ReleaseDir::open(&dir).map(|_| ());
    assert!(
        matches!(
            err,
            Err(bundle_format::pack::PackError::Manifest(
                bundle_format::manifest::ManifestError::LimitExceeded { found, .. }
            )) if found == 17 << 30
        ),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn the_release_folders_other_documents_travel_as_file_entries_in_their_order() -> TestResult {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("release");
    release_dir(&dir, &[("a.zip", vec![1u8; 10])])?;
    fs::write(dir.join("tenants.json"), br#"{"Tenants":[]}"#)?;
    fs::write(dir.join("project.json"), br#"{"Name":"Payments API"}"#)?;
    let mut toml = fs::read_to_string(dir.join("release.toml"))?;
    toml = toml.replace(
        "process = \"process.json\"\n",
        "process = \"process.json\"\nfiles = [\"tenants.json\", \"project.json\"]\n",
    );
    fs::write(dir.join("release.toml"), toml)?;
    let signer = key(1);
    let (_, sealed) = pack(&dir, std::slice::from_ref(&signer), 1)?;
    let entries: Vec<(&str, &str)> = sealed
        .manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.role.as_str()))
        .collect();
    assert_eq!(
        entries,
        [
            ("process.json", "process"),
            ("tenants.json", "file"),
            ("project.json", "file"),
            ("packages/a.zip", "package"),
        ]
    );

    fs::remove_file(dir.join("project.json"))?;
    let missing = pack(&dir, &[signer], 1)
        .err()
        .ok_or("packed without project.json")?;
    assert!(missing.to_string().contains("project.json"), "{missing}");
    Ok(())
}
