//! Building blocks for the vector generator: keys, ustar records, zstd frames, manifests and
//! signature blocks, made from primitives so that a vector can carry a valid signature over
//! a malformed manifest or payload.
//!
//! Everything is deterministic: fixed seeds, a fixed creation time, single-job zstd settings
//! equal to the writer's (spec 4.2). [`check_against_writer`] proves that the valid bundles
//! built here are byte for byte what `bundle-format`'s own writer produces.

use std::io::{Cursor, Write as _};

use bundle_format::container::writer::{
    COMPRESSION_LEVEL, MANIFEST_PATH, PAYLOAD_JOB_SIZE, PAYLOAD_WINDOW_LOG, PayloadWriter,
    SIGNATURES_PATH,
};
use bundle_format::keys::SigningKey;
use bundle_format::manifest::{
    BundleKind, Entry, EntryRole, FORMAT_VERSION, Manifest, PackageRef, ReleaseDescription,
    SecretRequirement, derive_bundle_id,
};
use bundle_format::names::{Digest, EntryPath, Sha1Digest, ZoneId};
use bundle_format::signature::SignatureBlock;
use ciborium::Value;
use sha1::Digest as _;
use time::OffsetDateTime;

pub type Error = Box<dyn std::error::Error>;

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// Every vector bundle was "created" at 2026-06-01T00:00:00Z.
pub const CREATED: i64 = 1_780_272_000;

/// A named test key: `keys/<name>.key` and `.pub`, from a seed of 32 equal bytes.
#[derive(Debug, Clone, Copy)]
pub struct TestKey {
    pub name: &'static str,
    pub seed: u8,
}

impl TestKey {
    pub fn signing(self) -> SigningKey {
        SigningKey::from_seed(&[self.seed; 32])
    }
}

/// Trusted by `pci.toml` as a release signer for `dev` (the fuzz targets use the same seed).
pub const RELEASE_A: TestKey = TestKey {
    name: "release-a",
    seed: 0x01,
};
/// A second release signer for `dev`: the second approver of 2-of-2 vectors.
pub const RELEASE_B: TestKey = TestKey {
    name: "release-b",
    seed: 0x02,
};
/// Trusted by `dev.toml` to sign result bundles coming from `pci`.
pub const RESULT_PCI: TestKey = TestKey {
    name: "result-pci",
    seed: 0x03,
};
/// Trusted by `pci.toml` for `dev`, but only to sign result bundles.
pub const WRONG_ROLE: TestKey = TestKey {
    name: "wrong-role",
    seed: 0x04,
};
/// Trusted by `pci.toml` as a release signer, but only for zone `qa`.
pub const QA_ONLY: TestKey = TestKey {
    name: "qa-only",
    seed: 0x05,
};
/// Trusted by `pci.toml` as a release signer for `dev` until 2026-03-01.
pub const EXPIRED: TestKey = TestKey {
    name: "expired",
    seed: 0x06,
};
/// In no policy.
pub const STRANGER: TestKey = TestKey {
    name: "stranger",
    seed: 0x09,
};

pub const ALL_KEYS: [TestKey; 7] = [
    RELEASE_A, RELEASE_B, RESULT_PCI, WRONG_ROLE, QA_ONLY, EXPIRED, STRANGER,
];

pub fn zone(name: &str) -> Result<ZoneId, Error> {
    Ok(ZoneId::new(name)?)
}

pub fn at(unix: i64) -> Result<OffsetDateTime, Error> {
    Ok(OffsetDateTime::from_unix_timestamp(unix)?)
}

/// Deterministic bytes that do not compress to nothing (a 64-bit LCG, top byte).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state.to_be_bytes()[0]
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// ustar records (spec 4.3)

/// A ustar header as the writer makes it (mode 0644, uid/gid 0, mtime 0, empty names), with
/// any path written raw (split into prefix/name like tar(1) when longer than 100 bytes) and
/// any typeflag, so that invalid records can be built too.
pub fn header(path: &str, size: u64, typeflag: u8) -> Result<[u8; BLOCK], Error> {
    let mut header = tar::Header::new_ustar();
    let bytes = path.as_bytes();
    let (prefix, name) = if bytes.len() <= 100 {
        (&[][..], bytes)
    } else {
        let split = bytes
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'/' && i <= 155 && bytes.len() - i <= 101)
            .map(|(i, _)| i)
            .next_back()
            .ok_or_else(|| format!("path {path:?} does not fit a ustar header"))?;
        (&bytes[..split], &bytes[split + 1..])
    };
    let ustar = header.as_ustar_mut().ok_or("not a ustar header")?;
    ustar.name[..name.len()].copy_from_slice(name);
    ustar.prefix[..prefix.len()].copy_from_slice(prefix);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::new(typeflag));
    header.set_cksum();
    Ok(*header.as_bytes())
}

/// The header checksum (spec 4.3): the sum of all bytes, the checksum field counted as spaces.
pub fn checksum(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum()
}

/// Writes the checksum as the writer does (7 octal digits and a NUL, like `tar::Header`).
pub fn set_checksum(block: &mut [u8; BLOCK]) {
    let text = format!("{:07o}\0", checksum(block));
    block[148..156].copy_from_slice(text.as_bytes());
}

/// Writes the checksum in the other form of POSIX (6 octal digits, a NUL and a space).
pub fn set_checksum_six_digits(block: &mut [u8; BLOCK]) {
    let text = format!("{:06o}\0 ", checksum(block));
    block[148..156].copy_from_slice(text.as_bytes());
}

/// Lets `edit` change a header through `tar::Header`'s setters, then fixes the checksum.
pub fn edit_header(
    block: &[u8; BLOCK],
    edit: impl FnOnce(&mut tar::Header) -> Result<(), Error>,
) -> Result<[u8; BLOCK], Error> {
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(block);
    edit(&mut header)?;
    let mut out = *header.as_bytes();
    set_checksum(&mut out);
    Ok(out)
}

/// The header block at the start of a record.
pub fn header_of(record: &[u8]) -> Result<[u8; BLOCK], Error> {
    Ok(record.get(..BLOCK).ok_or("record too short")?.try_into()?)
}

/// One record: header, data, zero padding to a whole block.
pub fn record(header: &[u8; BLOCK], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOCK + data.len() + BLOCK);
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
    out
}

// ---------------------------------------------------------------------------------------------
// zstd frames (spec 4.1, 4.2)

/// F1 or F2: one record, compressed one-shot (spec 4.2: level 3, checksum, content size).
pub fn record_frame(path: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    compress_one_shot(&record(&header(path, data.len() as u64, b'0')?, data))
}

/// Compresses `content` the way F1 and F2 are compressed, whatever it holds.
pub fn compress_one_shot(content: &[u8]) -> Result<Vec<u8>, Error> {
    let mut compressor = zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?;
    compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
    Ok(compressor.compress(content)?)
}

/// F3: `content`, then `zeros` zero bytes, compressed with the payload writer's parameters
/// (spec 4.2: level 3, window log 21, checksum, no content size, multithreaded).
pub fn payload_frame(content: &[u8], zeros: u64, checksum: bool) -> Result<Vec<u8>, Error> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), COMPRESSION_LEVEL)?;
    encoder.include_checksum(checksum)?;
    encoder.include_contentsize(false)?;
    encoder.window_log(PAYLOAD_WINDOW_LOG)?;
    encoder.multithread(1)?;
    encoder.set_parameter(zstd::zstd_safe::CParameter::JobSize(PAYLOAD_JOB_SIZE))?;
    encoder.write_all(content)?;
    let chunk = vec![0u8; 1 << 20];
    let mut left = zeros;
    while left > 0 {
        let n = left.min(chunk.len() as u64);
        encoder.write_all(&chunk[..n as usize])?;
        left -= n;
    }
    Ok(encoder.finish()?)
}

// ---------------------------------------------------------------------------------------------
// Payload files and manifests (spec 5)

/// A payload file: where it goes, its role, its bytes, and for packages the feed id/version.
#[derive(Debug, Clone)]
pub struct File {
    pub path: String,
    pub role: EntryRole,
    pub data: Vec<u8>,
    pub package: Option<(&'static str, &'static str)>,
}

impl File {
    pub fn new(path: &str, role: EntryRole, data: Vec<u8>) -> Self {
        Self {
            path: path.to_owned(),
            role,
            data,
            package: None,
        }
    }

    pub fn package(path: &str, id: &'static str, version: &'static str, data: Vec<u8>) -> Self {
        Self {
            package: Some((id, version)),
            ..Self::new(path, EntryRole::Package, data)
        }
    }

    pub fn entry(&self) -> Result<Entry, Error> {
        Ok(Entry {
            path: EntryPath::new(&self.path)?,
            size: self.data.len() as u64,
            sha256: Digest::of(&self.data),
            role: self.role,
        })
    }

    /// The file's record as the writer stores it.
    pub fn record(&self) -> Result<Vec<u8>, Error> {
        Ok(record(
            &header(&self.path, self.data.len() as u64, b'0')?,
            &self.data,
        ))
    }
}

/// The release most vectors carry: a process, a variable set and one package.
pub fn standard_files() -> Vec<File> {
    vec![
        File::new(
            "process.json",
            EntryRole::Process,
            br#"{"Steps":[{"Name":"Deploy Payments API","Actions":[{"ActionType":"Octopus.TentaclePackage","Package":"Payments.Api"}]}]}"#.to_vec(),
        ),
        File::new(
            "variables/project.json",
            EntryRole::Variables,
            br#"{"Variables":[{"Name":"Payments.Api.Port","Value":"8443","Scope":{"Environment":["Production"]}},{"Name":"Payments.Db.Password","IsSensitive":true}]}"#.to_vec(),
        ),
        File::package(
            "packages/Payments.Api.1.2.3.zip",
            "Payments.Api",
            "1.2.3",
            noise(1, 1500),
        ),
    ]
}

/// A release manifest for `files`, from `dev` to `pci`, sequence 1, created at [`CREATED`].
pub fn release_manifest(files: &[File]) -> Result<Manifest, Error> {
    let entries = files
        .iter()
        .map(File::entry)
        .collect::<Result<Vec<_>, _>>()?;
    let packages = files
        .iter()
        .filter_map(|f| f.package.map(|p| (f, p)))
        .map(|(f, (id, version))| {
            Ok(PackageRef {
                id: id.to_owned(),
                version: version.to_owned(),
                path: EntryPath::new(&f.path)?,
                size: f.data.len() as u64,
                sha256: Digest::of(&f.data),
                sha1: Sha1Digest::from_bytes(sha1::Sha1::digest(&f.data).into()),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let (source, target, created) = (zone("dev")?, zone("pci")?, at(CREATED)?);
    Ok(Manifest {
        format: FORMAT_VERSION,
        kind: BundleKind::Release,
        bundle_id: derive_bundle_id(BundleKind::Release, &source, &target, 1, created, &entries),
        source_zone: source,
        target_zone: target,
        sequence: 1,
        previous: None,
        created,
        expires: None,
        entries,
        release: Some(ReleaseDescription {
            project: "Payments API".to_owned(),
            version: "1.2.3".to_owned(),
            channel: "Default".to_owned(),
            notes: None,
            packages,
            secrets: vec![SecretRequirement {
                owner: "Payments API".to_owned(),
                name: "Payments.Db.Password".to_owned(),
                kind: "Sensitive".to_owned(),
                scope: [("Environment".to_owned(), vec!["Production".to_owned()])]
                    .into_iter()
                    .collect(),
            }],
        }),
        result: None,
    })
}

/// Re-derives the bundle id after a case changed what it is derived from.
pub fn rederive_id(manifest: &mut Manifest) {
    manifest.bundle_id = derive_bundle_id(
        manifest.kind,
        &manifest.source_zone,
        &manifest.target_zone,
        manifest.sequence,
        manifest.created,
        &manifest.entries,
    );
}

/// Decodes CBOR bytes, lets `edit` change the value, and encodes it again.
pub fn edit_cbor(
    bytes: &[u8],
    edit: impl FnOnce(&mut Value) -> Result<(), Error>,
) -> Result<Vec<u8>, Error> {
    let mut value: Value = ciborium::de::from_reader(bytes)?;
    edit(&mut value)?;
    encode_cbor(&value)
}

pub fn encode_cbor(value: &Value) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out)?;
    Ok(out)
}

/// The value under text key `key` of a CBOR map.
pub fn field<'a>(value: &'a mut Value, key: &str) -> Result<&'a mut Value, Error> {
    let map = value.as_map_mut().ok_or("not a CBOR map")?;
    map.iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no key {key:?}").into())
}

/// `depth` nested one-element arrays around an integer.
pub fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Integer(0.into()), |inner, _| {
        Value::Array(vec![inner])
    })
}

// ---------------------------------------------------------------------------------------------
// Signatures (spec 6)

/// A signature block with one signature per key, in order, over `manifest`.
pub fn sign(manifest: &[u8], keys: &[TestKey]) -> Result<SignatureBlock, Error> {
    let mut block = SignatureBlock::default();
    for key in keys {
        block.add(&key.signing(), manifest)?;
    }
    Ok(block)
}

// ---------------------------------------------------------------------------------------------
// Whole bundles

/// A bundle before compression: the signature block, the manifest and the payload records,
/// each of which a case may change before [`Parts::assemble`].
#[derive(Debug, Clone)]
pub struct Parts {
    pub block: Vec<u8>,
    pub manifest: Vec<u8>,
    pub records: Vec<Vec<u8>>,
    pub end: Vec<u8>,
}

/// The three frames of a bundle, which a case may change before [`Frames::bytes`].
#[derive(Debug, Clone)]
pub struct Frames {
    pub f1: Vec<u8>,
    pub f2: Vec<u8>,
    pub f3: Vec<u8>,
}

impl Parts {
    /// A correctly signed bundle of `files` under `manifest`.
    pub fn new(manifest: &Manifest, files: &[File], keys: &[TestKey]) -> Result<Self, Error> {
        let manifest = manifest.encode();
        Ok(Self {
            block: sign(&manifest, keys)?.encode(),
            manifest,
            records: files.iter().map(File::record).collect::<Result<_, _>>()?,
            end: vec![0u8; 2 * BLOCK],
        })
    }

    /// The standard release signed by `keys`.
    pub fn standard(keys: &[TestKey]) -> Result<Self, Error> {
        let files = standard_files();
        Self::new(&release_manifest(&files)?, &files, keys)
    }

    /// Replaces the manifest bytes and signs them again with `keys`.
    pub fn resign(&mut self, manifest: Vec<u8>, keys: &[TestKey]) -> Result<(), Error> {
        self.block = sign(&manifest, keys)?.encode();
        self.manifest = manifest;
        Ok(())
    }

    /// The decompressed payload frame.
    pub fn payload(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.records.concat();
        out.extend_from_slice(&self.end);
        out
    }

    pub fn frames(&self) -> Result<Frames, Error> {
        Ok(Frames {
            f1: record_frame(SIGNATURES_PATH, &self.block)?,
            f2: record_frame(MANIFEST_PATH, &self.manifest)?,
            f3: payload_frame(&self.payload(), 0, true)?,
        })
    }

    pub fn assemble(&self) -> Result<Vec<u8>, Error> {
        Ok(self.frames()?.bytes())
    }
}

impl Frames {
    pub fn bytes(&self) -> Vec<u8> {
        [&self.f1[..], &self.f2[..], &self.f3[..]].concat()
    }
}

/// Checks that the valid bundles built here are exactly what the crate's writer produces from
/// the same files, key and time (spec 4.2: same inputs, same bytes).
pub fn check_against_writer(files: &[File], keys: &[TestKey], built: &[u8]) -> Result<(), Error> {
    let mut payload = PayloadWriter::new(Cursor::new(Vec::new()), 2)?;
    for file in files {
        payload.append(
            EntryPath::new(&file.path)?,
            file.role,
            file.data.len() as u64,
            &mut file.data.as_slice(),
            &mut |_| {},
        )?;
    }
    let (mut spool, entries) = payload.finish()?;
    let manifest = release_manifest(files)?;
    let mut out = Vec::new();
    let Some(release) = manifest.release else {
        return Err("not a release".into());
    };
    bundle_format::pack::seal(
        bundle_format::pack::BundleHeader {
            kind: manifest.kind,
            source_zone: manifest.source_zone,
            target_zone: manifest.target_zone,
            sequence: manifest.sequence,
            previous: manifest.previous,
            created: manifest.created,
            expires: manifest.expires,
            bundle_id: None,
        },
        entries,
        bundle_format::pack::Description::Release(release),
        &keys.iter().map(|k| k.signing()).collect::<Vec<_>>(),
        &mut spool,
        &mut out,
    )?;
    if out != built {
        return Err(
            "the generator's bundle differs from what bundle-format's writer makes from \
                    the same inputs: align tests/vectors/build.rs with container/writer.rs"
                .into(),
        );
    }
    Ok(())
}
