//! The tamper matrix as data (spec section 11; STYLE practice 6).
//!
//! `tests/vectors/` at the workspace root holds one bundle per case, `<area>_<condition>.zb`,
//! with a sidecar `<area>_<condition>.toml` that states the verdict, the error code, the
//! policy and the clock; `tests/vectors/README.md` describes the format for other
//! implementations. This file holds:
//!
//! - the runner, which lists the folder (it never names a case), verifies every bundle into a
//!   fresh staging folder and checks the verdict, the code, and that a refused bundle left
//!   nothing behind;
//! - the check that the committed files are exactly what the generator (`vectors/cases.rs`,
//!   built on `vectors/build.rs`) makes. To rewrite them after a deliberate change:
//!   `ZB_WRITE_VECTORS=1 cargo test -p bundle-format --test vectors committed_vectors`.

mod vectors {
    pub mod build;
    pub mod cases;
    pub mod policies;
}

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use bundle_format::names::Digest;
use bundle_format::policy::TrustPolicy;
use bundle_format::staging::Staging;
use bundle_format::verify::{VerifiedBundle, verify_bundle};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use vectors::build::{ALL_KEYS, Error};
use vectors::{cases, policies};

/// What a vector expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Accept,
    Refuse,
}

/// A vector's sidecar, `<name>.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// The verdict.
    pub expect: Expect,
    /// The error code (spec 12), present exactly when the verdict is "refuse".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The policy file, relative to the vectors folder.
    pub policy: String,
    /// The verifier's clock.
    pub now: toml::value::Datetime,
    /// What the case is and why the verdict follows.
    pub description: String,
    /// For accepted bundles: the bundle digest (SHA-256 of the manifest bytes), in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// If present: the most bytes of the file a verifier may read before its verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes_read: Option<u64>,
}

/// One generated case.
#[derive(Debug)]
pub struct Vector {
    pub name: String,
    pub bundle: Vec<u8>,
    pub sidecar: Sidecar,
}

/// Files in the vectors folder that the generator does not write.
const HAND_WRITTEN: [&str; 2] = ["README.md", ".gitattributes"];

/// The fewest refusal vectors the matrix may hold.
const MIN_REFUSALS: usize = 30;

/// Every code the matrix must produce at least once: all refusal codes of spec 12 that
/// `verify_bundle` can return (channel codes come from a separate check; `io` is no verdict).
const REQUIRED_CODES: [&str; 28] = [
    "not-a-bundle",
    "unexpected-frame",
    "window-too-large",
    "corrupt",
    "truncated",
    "trailing-data",
    "bad-record",
    "not-regular-file",
    "path-invalid",
    "limit-exceeded",
    "signature-block-invalid",
    "duplicate-signer",
    "signature-invalid",
    "signer-unknown",
    "manifest-invalid",
    "unsupported-format-version",
    "wrong-target-zone",
    "bundle-expired",
    "signer-wrong-role",
    "signer-zone-not-allowed",
    "key-expired",
    "threshold-not-met",
    "entry-out-of-order",
    "entry-duplicated",
    "entry-not-in-manifest",
    "entry-missing",
    "entry-size-mismatch",
    "hash-mismatch",
];

/// A vector file may not be larger than this (the bomb must stay a small file).
const MAX_VECTOR_BYTES: u64 = 64 * 1024;
/// The whole folder stays well under 1 MiB.
const MAX_FOLDER_BYTES: u64 = 1024 * 1024;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

#[test]
fn every_vector_gets_its_verdict() -> Result<(), Error> {
    let dir = vectors_dir();
    let files = files_under(&dir)?;
    let names: Vec<&str> = files
        .keys()
        .filter(|path| !path.contains('/') && !HAND_WRITTEN.contains(&path.as_str()))
        .filter_map(|path| path.strip_suffix(".toml"))
        .collect();
    let mut problems = Vec::new();
    let mut refusals: BTreeMap<&[u8], &str> = BTreeMap::new();
    let mut codes = BTreeSet::new();
    for path in files.keys().filter(|p| p.ends_with(".zb")) {
        if !names.iter().any(|n| format!("{n}.zb") == **path) {
            problems.push(format!("{path}: no sidecar"));
        }
    }
    for &name in &names {
        let Some(bundle) = files.get(&format!("{name}.zb")) else {
            problems.push(format!("{name}: sidecar without {name}.zb"));
            continue;
        };
        let outcome = check_vector(&dir, name, bundle);
        let sidecar = match outcome {
            Ok(sidecar) => sidecar,
            Err(err) => {
                problems.push(format!("{name}: {err}"));
                continue;
            }
        };
        if let Some(code) = &sidecar.error {
            codes.insert(code.clone());
            if let Some(same) = refusals.insert(bundle, name) {
                problems.push(format!("{name}: the same bytes as {same}"));
            }
        }
    }
    if refusals.len() < MIN_REFUSALS {
        problems.push(format!(
            "{} refusal vectors with distinct bytes; the matrix needs at least {MIN_REFUSALS}",
            refusals.len()
        ));
    }
    for code in REQUIRED_CODES {
        if !codes.contains(code) {
            problems.push(format!("no vector refuses with {code}"));
        }
    }
    let total: u64 = files.values().map(|b| b.len() as u64).sum();
    if total > MAX_FOLDER_BYTES {
        problems.push(format!(
            "the folder holds {total} bytes, above {MAX_FOLDER_BYTES}"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} vectors or checks failed:\n  {}",
            problems.len(),
            names.len(),
            problems.join("\n  ")
        )
        .into())
    }
}

/// Runs one vector into a fresh temporary folder and checks everything its sidecar says.
fn check_vector(dir: &Path, name: &str, bundle: &[u8]) -> Result<Sidecar, Error> {
    let sidecar: Sidecar = toml::from_str(&fs::read_to_string(dir.join(format!("{name}.toml")))?)?;
    let valid_name = name.split_once('_').is_some_and(|(area, condition)| {
        !area.is_empty()
            && !condition.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if !valid_name {
        return Err("the name is not <area>_<condition> in lowercase".into());
    }
    if (sidecar.expect == Expect::Refuse) != sidecar.error.is_some() {
        return Err("`error` must be present exactly when expect = \"refuse\"".into());
    }
    if bundle.len() as u64 > MAX_VECTOR_BYTES {
        return Err(format!("{} bytes, above {MAX_VECTOR_BYTES}", bundle.len()).into());
    }
    let policy = TrustPolicy::read_file(&dir.join(&sidecar.policy))?;
    let now = OffsetDateTime::parse(
        &sidecar.now.to_string(),
        &time::format_description::well_known::Rfc3339,
    )?;

    let tmp = tempfile::tempdir()?;
    let destination = tmp.path().join("out");
    let mut staging = Staging::new(&destination)?;
    let mut input = Trickle::new(bundle);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        verify_bundle(&mut input, &policy, now, &mut staging, &mut |_| {})
    }))
    .map_err(|_| "the verifier panicked")?;
    if let Some(max) = sidecar.max_bytes_read
        && input.read > max
    {
        return Err(format!(
            "the verifier read {} bytes before its verdict; at most {max} allowed",
            input.read
        )
        .into());
    }
    match (&sidecar.error, outcome) {
        (None, Ok(verified)) => {
            if let Some(digest) = &sidecar.digest
                && &verified.digest().to_hex() != digest
            {
                return Err(format!("digest {} is not {digest}", verified.digest()).into());
            }
            staging.commit()?;
            check_output(&destination, &verified)?;
        }
        (None, Err(err)) => {
            return Err(format!("expected acceptance, refused with {}: {err}", err.code()).into());
        }
        (Some(code), Ok(_)) => return Err(format!("expected {code}, but accepted").into()),
        (Some(code), Err(err)) => {
            if err.code() != code {
                return Err(format!("expected {code}, got {}: {err}", err.code()).into());
            }
            drop(staging);
            if destination.exists() {
                return Err("the destination exists after a refusal".into());
            }
            let left: Vec<_> = fs::read_dir(tmp.path())?
                .map(|entry| entry.map(|e| e.file_name()))
                .collect::<Result<_, _>>()?;
            if !left.is_empty() {
                return Err(format!("left behind after a refusal: {left:?}").into());
            }
        }
    }
    Ok(sidecar)
}

/// An accepted bundle's output holds exactly its entries, each with its signed SHA-256
/// (the two `zonebridge/` files are allowed beside them).
fn check_output(destination: &Path, verified: &VerifiedBundle) -> Result<(), Error> {
    let mut found = files_under(destination)?;
    found.retain(|path, _| {
        !matches!(
            path.as_str(),
            "zonebridge/signatures.cbor" | "zonebridge/manifest.cbor"
        )
    });
    for entry in &verified.manifest().entries {
        let Some(bytes) = found.remove(entry.path.as_str()) else {
            return Err(format!("{} is missing from the output", entry.path).into());
        };
        if Digest::of(&bytes) != entry.sha256 || bytes.len() as u64 != entry.size {
            return Err(format!("{} differs from its manifest entry", entry.path).into());
        }
    }
    if let Some(extra) = found.keys().next() {
        return Err(format!("{extra} is in the output but not in the manifest").into());
    }
    Ok(())
}

/// Hands out the bundle a few bytes per read, and counts what was read: frame headers and
/// records must survive short reads, and a bomb must be refused before most of it is read.
struct Trickle<'a> {
    data: &'a [u8],
    read: u64,
    step: usize,
}

impl<'a> Trickle<'a> {
    /// The read size the sidecars' `max_bytes_read` is counted in (tests/vectors/README.md).
    const STEP: usize = 61;

    fn new(data: &'a [u8]) -> Self {
        Self::with_step(data, Self::STEP)
    }

    fn with_step(data: &'a [u8], step: usize) -> Self {
        Self {
            data,
            read: 0,
            step,
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        self.read += n as u64;
        Ok(n)
    }
}

/// Spec 4.2 and 8: the verdict does not depend on how the file reaches the verifier. Every
/// vector is verified again with reads of 1 byte, 61 bytes, 4 KiB and the whole file at once,
/// and must get its sidecar's verdict each time (damage in the last entry used to give
/// `hash-mismatch` or `corrupt` depending on where a read ended).
#[test]
fn every_verdict_is_the_same_however_the_file_is_read() -> Result<(), Error> {
    let dir = vectors_dir();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, bundle) in files_under(&dir)? {
        let Some(name) = path.strip_suffix(".zb").filter(|n| !n.contains('/')) else {
            continue;
        };
        let sidecar: Sidecar =
            toml::from_str(&fs::read_to_string(dir.join(format!("{name}.toml")))?)?;
        let policy = TrustPolicy::read_file(&dir.join(&sidecar.policy))?;
        let now = OffsetDateTime::parse(
            &sidecar.now.to_string(),
            &time::format_description::well_known::Rfc3339,
        )?;
        let expected = sidecar.error.as_deref().unwrap_or("accept");
        for step in [1, Trickle::STEP, 4096, bundle.len().max(1)] {
            let mut input = Trickle::with_step(&bundle, step);
            let outcome = verify_bundle(
                &mut input,
                &policy,
                now,
                &mut bundle_format::verify::Discard,
                &mut |_| {},
            );
            let found = outcome.as_ref().map_or_else(|e| e.code(), |_| "accept");
            if found != expected {
                problems.push(format!(
                    "{name}: reads of {step} bytes give {found}, the sidecar says {expected}"
                ));
            }
        }
        checked += 1;
    }
    if checked < MIN_REFUSALS {
        problems.push(format!("only {checked} vectors found"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

#[test]
fn committed_vectors_are_what_the_generator_makes() -> Result<(), Error> {
    let tmp = tempfile::tempdir()?;
    generate(tmp.path())?;
    let generated = files_under(tmp.path())?;
    let dir = vectors_dir();
    if std::env::var_os("ZB_WRITE_VECTORS").is_some_and(|v| v == "1") {
        write_committed(&dir, &generated)?;
    }
    let committed = files_under(&dir)?;
    let mut problems = Vec::new();
    for (path, bytes) in &generated {
        match committed.get(path) {
            None => problems.push(format!("{path} is missing")),
            Some(old) if old != bytes => problems.push(format!("{path} differs")),
            Some(_) => {}
        }
    }
    for path in committed.keys() {
        if !generated.contains_key(path) && !HAND_WRITTEN.contains(&path.as_str()) {
            problems.push(format!("{path} is not made by the generator"));
        }
    }
    for path in HAND_WRITTEN {
        if !committed.contains_key(path) {
            problems.push(format!("{path} is missing"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tests/vectors/ differs from what the generator makes:\n  {}\nHint: if the change \
             is deliberate, run `ZB_WRITE_VECTORS=1 cargo test -p bundle-format --test vectors \
             committed_vectors` and review the diff",
            problems.join("\n  ")
        )
        .into())
    }
}

/// Writes every file of the vectors folder into the empty folder `out`.
fn generate(out: &Path) -> Result<(), Error> {
    policies::check()?;
    fs::create_dir_all(out.join("keys"))?;
    for key in ALL_KEYS {
        key.signing()
            .write_files(&out.join("keys").join(key.name))?;
    }
    fs::create_dir_all(out.join("policies"))?;
    for (path, text) in policies::all() {
        fs::write(out.join(path), text)?;
    }
    for vector in cases::all()? {
        fs::write(out.join(format!("{}.zb", vector.name)), &vector.bundle)?;
        let sidecar = toml::to_string(&vector.sidecar)?;
        fs::write(out.join(format!("{}.toml", vector.name)), sidecar)?;
    }
    Ok(())
}

/// Replaces the generated files of the committed folder, keeping the hand-written ones.
fn write_committed(dir: &Path, generated: &BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    for path in files_under(dir)?.keys() {
        if !HAND_WRITTEN.contains(&path.as_str()) && !generated.contains_key(path) {
            fs::remove_file(dir.join(path))?;
        }
    }
    for (path, bytes) in generated {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(target, bytes)?;
    }
    Ok(())
}

/// Every file under `root`, by '/'-separated relative path.
fn files_under(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(root)?;
                let parts: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.insert(parts.join("/"), fs::read(&path)?);
            }
        }
    }
    Ok(out)
}
