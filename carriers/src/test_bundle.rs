//! Test-only: real signed release bundles, small enough to make per test, so that what the
//! carriers read of a bundle's head (channel, sequence) comes from the real writer.

use bundle_format::container::writer::PayloadWriter;
use bundle_format::keys::SigningKey;
use bundle_format::manifest::{BundleKind, EntryRole, ReleaseDescription};
use bundle_format::names::EntryPath;
use bundle_format::pack::{BundleHeader, Description, seal};

/// A release bundle on `source->pci/release` at `sequence` whose one entry,
/// `process.json`, holds `process` (the carriers check nothing in it but the head).
pub fn release(
    source: &str,
    sequence: u64,
    process: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut payload = PayloadWriter::new(tempfile::tempfile()?, 1)?;
    payload.append(
        EntryPath::new("process.json")?,
        EntryRole::Process,
        process.len() as u64,
        &mut &process[..],
        &mut |_| {},
    )?;
    let (mut spool, entries) = payload.finish()?;
    let header = BundleHeader {
        kind: BundleKind::Release,
        source_zone: source.parse()?,
        target_zone: "pci".parse()?,
        sequence,
        previous: (sequence > 1).then(|| bundle_format::names::Digest::of(b"previous")),
        created: time::OffsetDateTime::UNIX_EPOCH,
        expires: None,
        bundle_id: None,
    };
    let description = ReleaseDescription {
        project: "P".into(),
        version: format!("1.0.{sequence}"),
        channel: "Default".into(),
        notes: None,
        packages: Vec::new(),
        secrets: Vec::new(),
    };
    let mut out = Vec::new();
    seal(
        header,
        entries,
        Description::Release(description),
        &[SigningKey::generate()?],
        &mut spool,
        &mut out,
    )?;
    Ok(out)
}
