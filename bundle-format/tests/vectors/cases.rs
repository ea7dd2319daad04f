//! The cases, one function per area (spec section 11): each vector starts from a correct
//! bundle and makes exactly one change, so that exactly one check of spec section 8 fails.

use bundle_format::container::writer::{MANIFEST_PATH, SIGNATURES_PATH};
use bundle_format::manifest::{
    BundleKind, BundleRef, DeploymentState, EntryRole, FORMAT_VERSION, LedgerHead, Manifest,
    ResultDescription, StepOutcome, StepState,
};
use bundle_format::names::{Digest, EntryPath};
use bundle_format::signature::signing_input;
use ciborium::Value;
use ed25519_dalek::Signer as _;

mod accept;
mod container;
mod payload;
mod rules;
mod signed;

use super::build::*;
use super::policies::{DEV, PCI, PCI_2OF2, PCI_SMALL_LIMITS};
use crate::{Expect, Sidecar, Vector};

/// The vectors' clock: one day after every bundle was created.
pub const NOW: &str = "2026-06-02T00:00:00Z";
const NOW_UNIX: i64 = CREATED + 86_400;

/// Bytes of zeros the decompression bomb hides after its end-of-archive marker.
const BOMB_ZEROS: u64 = 512 << 20;

/// Every vector, in a stable order.
pub fn all() -> Result<Vec<Vector>, Error> {
    let mut v = Vectors::default();
    accept::accept(&mut v)?;
    container::container(&mut v)?;
    container::records(&mut v)?;
    signed::sig(&mut v)?;
    signed::manifest(&mut v)?;
    signed::path(&mut v)?;
    signed::limit(&mut v)?;
    signed::items(&mut v)?;
    signed::binding(&mut v)?;
    signed::trust(&mut v)?;
    payload::payload(&mut v)?;
    rules::cbor(&mut v)?;
    rules::tar_numbers(&mut v)?;
    rules::blocks(&mut v)?;
    rules::probes(&mut v)?;
    rules::key_validity(&mut v)?;
    rules::order(&mut v)?;
    Ok(v.0)
}

#[derive(Default)]
struct Vectors(Vec<Vector>);

impl Vectors {
    fn refuse(
        &mut self,
        name: &str,
        error: &str,
        policy: &str,
        description: &str,
        bundle: Vec<u8>,
    ) -> Result<&mut Sidecar, Error> {
        self.push(name, Some(error), policy, description, bundle, None)
    }

    fn accept(
        &mut self,
        name: &str,
        policy: &str,
        description: &str,
        parts: &Parts,
    ) -> Result<(), Error> {
        self.accept_bundle(
            name,
            policy,
            description,
            &parts.manifest,
            parts.assemble()?,
        )
    }

    /// An accepted bundle whose frames were made by hand; `manifest` is its manifest bytes.
    fn accept_bundle(
        &mut self,
        name: &str,
        policy: &str,
        description: &str,
        manifest: &[u8],
        bundle: Vec<u8>,
    ) -> Result<(), Error> {
        let digest = Digest::of(manifest).to_hex();
        self.push(name, None, policy, description, bundle, Some(digest))?;
        Ok(())
    }

    fn push(
        &mut self,
        name: &str,
        error: Option<&str>,
        policy: &str,
        description: &str,
        bundle: Vec<u8>,
        digest: Option<String>,
    ) -> Result<&mut Sidecar, Error> {
        self.0.push(Vector {
            name: name.to_owned(),
            bundle,
            sidecar: Sidecar {
                expect: if error.is_some() {
                    Expect::Refuse
                } else {
                    Expect::Accept
                },
                error: error.map(str::to_owned),
                policy: policy.to_owned(),
                now: NOW.parse()?,
                description: description.to_owned(),
                digest,
                max_bytes_read: None,
            },
        });
        match self.0.last_mut() {
            Some(vector) => Ok(&mut vector.sidecar),
            None => Err("no vector".into()),
        }
    }
}

/// `word` repeated and cut to exactly `len` bytes.
fn fill(word: &str, len: usize) -> String {
    word.chars().cycle().take(len).collect()
}

fn release_a() -> Result<Parts, Error> {
    Parts::standard(&[RELEASE_A])
}

/// The standard release after `edit` changed its manifest, signed by release-a.
fn with_manifest(edit: impl FnOnce(&mut Manifest)) -> Result<Parts, Error> {
    let files = standard_files();
    let mut manifest = release_manifest(&files)?;
    edit(&mut manifest);
    Parts::new(&manifest, &files, &[RELEASE_A])
}

/// The standard release after `edit` changed its payload records.
fn with_records(
    edit: impl FnOnce(&mut Vec<Vec<u8>>) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut parts = release_a()?;
    edit(&mut parts.records)?;
    parts.assemble()
}

/// The standard release after `edit` changed its decoded signature block (CBOR).
fn with_block(
    keys: &[TestKey],
    edit: impl FnOnce(&mut Value, &[u8]) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut parts = Parts::standard(keys)?;
    let manifest = parts.manifest.clone();
    parts.block = edit_cbor(&parts.block, |block| edit(block, &manifest))?;
    parts.assemble()
}

/// The standard release after `edit` changed its manifest's CBOR; signed again by release-a.
fn with_manifest_cbor(edit: impl FnOnce(&mut Value) -> Result<(), Error>) -> Result<Parts, Error> {
    let mut parts = release_a()?;
    let manifest = edit_cbor(&parts.manifest, edit)?;
    parts.resign(manifest, &[RELEASE_A])?;
    Ok(parts)
}

fn signatures(block: &mut Value) -> Result<&mut Vec<Value>, Error> {
    field(block, "signatures")?
        .as_array_mut()
        .ok_or_else(|| "signatures is not an array".into())
}

/// A signature entry by the test key of seed `seed` (32 equal bytes) over `message` exactly.
fn signature_entry(seed: u8, message: &[u8]) -> Value {
    let key_id = bundle_format::keys::SigningKey::from_seed(&[seed; 32])
        .public_key()
        .key_id();
    let signature = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).sign(message);
    Value::Map(vec![
        (
            Value::Text("key_id".to_owned()),
            Value::Bytes(key_id.as_bytes().to_vec()),
        ),
        (
            Value::Text("signature".to_owned()),
            Value::Bytes(signature.to_bytes().to_vec()),
        ),
    ])
}

fn entry_path_mut(manifest: &mut Value, index: usize) -> Result<&mut Value, Error> {
    let entries = field(manifest, "entries")?
        .as_array_mut()
        .ok_or("entries is not an array")?;
    let entry = entries.get_mut(index).ok_or("no such entry")?;
    field(entry, "path")
}

/// Renames entry `index` in the signed manifest (re-signed) and in its record's header.
fn renamed(index: usize, path: &str) -> Result<Vec<u8>, Error> {
    let mut parts = with_manifest_cbor(|m| {
        *entry_path_mut(m, index)? = Value::Text(path.to_owned());
        Ok(())
    })?;
    rename_record(&mut parts.records, index, path)?;
    parts.assemble()
}

/// Changes the path in the header of record `index` only.
fn rename_record(records: &mut [Vec<u8>], index: usize, path: &str) -> Result<(), Error> {
    let record = records.get_mut(index).ok_or("no such record")?;
    let size = tar::Header::from_byte_slice(&header_of(record)?).entry_size()?;
    record[..BLOCK].copy_from_slice(&header(path, size, b'0')?);
    Ok(())
}
