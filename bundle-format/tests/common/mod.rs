//! Helpers shared by this crate's integration tests: keys, policies and small release folders.
#![allow(dead_code)]

use std::fs;
use std::io::Cursor;
use std::path::Path;

use bundle_format::keys::SigningKey;
use bundle_format::limits::Limits;
use bundle_format::manifest::BundleKind;
use bundle_format::names::ZoneId;
use bundle_format::pack::{BundleHeader, SealedBundle};
use bundle_format::policy::{KeyRole, Thresholds, TrustPolicy, TrustedKey};
use bundle_format::release_dir::ReleaseDir;
use time::OffsetDateTime;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn zone(name: &str) -> ZoneId {
    ZoneId::new(name).unwrap_or_else(|err| panic!("test zone {name}: {err}"))
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

pub fn created() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn header(sequence: u64) -> BundleHeader {
    BundleHeader {
        kind: BundleKind::Release,
        source_zone: zone("dev"),
        target_zone: zone("pci"),
        sequence,
        previous: None,
        created: created(),
        expires: None,
        bundle_id: None,
    }
}

pub fn policy_trusting(keys: &[&SigningKey], threshold: u32) -> TrustPolicy {
    TrustPolicy::new(
        zone("pci"),
        Thresholds {
            release: threshold,
            result: 1,
        },
        Limits::default(),
        keys.iter()
            .map(|k| TrustedKey {
                id: k.public_key().key_id(),
                public_key: k.public_key(),
                role: KeyRole::Release,
                zones: vec![zone("dev")],
                not_after: None,
                comment: None,
            })
            .collect(),
    )
}

/// Writes a release folder with `files` as packages (name, bytes).
pub fn release_dir(root: &Path, files: &[(&str, Vec<u8>)]) -> std::io::Result<()> {
    fs::create_dir_all(root.join("packages"))?;
    fs::write(root.join("process.json"), br#"{"Steps":[]}"#)?;
    let mut toml = String::from(
        "project = \"Payments API\"\nversion = \"1.2.3\"\nchannel = \"Default\"\nprocess = \"process.json\"\n",
    );
    for (i, (name, bytes)) in files.iter().enumerate() {
        fs::write(root.join("packages").join(name), bytes)?;
        toml.push_str(&format!(
            "[[packages]]\nid = \"Pkg{i}\"\nversion = \"1.2.3\"\nfile = \"packages/{name}\"\n"
        ));
    }
    fs::write(root.join("release.toml"), toml)
}

/// Packs `dir` into memory with `keys` and `workers` compression threads.
pub fn pack(
    dir: &Path,
    keys: &[SigningKey],
    workers: u32,
) -> Result<(Vec<u8>, SealedBundle), Box<dyn std::error::Error>> {
    let release = ReleaseDir::open(dir)?;
    let mut out = Vec::new();
    let sealed = release.pack(
        header(1),
        keys,
        workers,
        Cursor::new(Vec::new()),
        &mut out,
        &mut |_| {},
    )?;
    Ok((out, sealed))
}
