//! Writes a bundle whose manifest is a hostile shape of about the manifest limit (8 MiB), signed
//! by a key file, for `bench/hostile-manifest.sh` (peak memory of every command on it) and for
//! tests that need such a bundle.
//!
//! ```text
//! cargo run --release -p bundle-format --example hostile_manifest -- SHAPE OUT KEY [KIND]
//!   SHAPE  entries | empty-strings | max-items | scope-keys | nested | huge-string |
//!          unknown-keys | not-cbor
//!   KIND   release (default) or result
//! ```
//!
//! The manifest names dev -> pci; its payload is one small `process.json`. The manifest's bytes
//! are also written alone to `OUT.cbor`. Hand-written CBOR, so that a shape no
//! writer of ours would produce can be made (a manifest type cannot hold what is not valid).

use std::io::Cursor;
use std::path::Path;

use bundle_format::container::writer::{PayloadWriter, write_bundle};
use bundle_format::keys::SigningKey;
use bundle_format::manifest::EntryRole;
use bundle_format::names::EntryPath;
use bundle_format::signature::SignatureBlock;

/// The manifest limit (spec 3); every shape stays just under it.
const LIMIT: usize = 8 * 1024 * 1024;
/// Room kept for the fixed fields around the hostile part.
const ROOM: usize = 4096;

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    match n {
        0..=23 => out.push(major | n as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, n as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn uint(out: &mut Vec<u8>, n: u64) {
    head(out, 0, n);
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn text(out: &mut Vec<u8>, t: &str) {
    head(out, 3, t.len() as u64);
    out.extend_from_slice(t.as_bytes());
}

fn array(out: &mut Vec<u8>, n: usize) {
    head(out, 4, n as u64);
}

fn map(out: &mut Vec<u8>, n: usize) {
    head(out, 5, n as u64);
}

/// The one payload entry of every shape, so that the manifest passes validation (5.5.11) and
/// the whole bundle can verify: only its size is hostile.
const PROCESS: &[u8] = b"{\"Steps\":[]}\n";

/// The process entry as a manifest entry.
fn process_entry(out: &mut Vec<u8>) {
    use sha2::Digest as _;
    map(out, 4);
    text(out, "path");
    text(out, "process.json");
    text(out, "size");
    uint(out, PROCESS.len() as u64);
    text(out, "sha256");
    bytes(out, &sha2::Sha256::digest(PROCESS));
    text(out, "role");
    text(out, "process");
}

/// The `entries` key and an array of just the process entry.
fn entries(out: &mut Vec<u8>) {
    text(out, "entries");
    array(out, 1);
    process_entry(out);
}

/// The fixed top-level fields before `entries` (7 of them) for `kind`.
fn fixed(out: &mut Vec<u8>, kind: &str) {
    text(out, "format");
    uint(out, 1);
    text(out, "kind");
    text(out, kind);
    text(out, "bundle_id");
    bytes(out, &[7; 16]);
    text(out, "source_zone");
    text(out, "dev");
    text(out, "target_zone");
    text(out, "pci");
    text(out, "sequence");
    uint(out, 1);
    text(out, "created");
    uint(out, 1_794_643_200);
}

/// A release description whose one secret's scope is `scope` (already encoded), with `notes`.
fn release(out: &mut Vec<u8>, notes: Option<&str>, scope: &[u8]) {
    text(out, "release");
    map(out, 5 + usize::from(notes.is_some()));
    for (key, value) in [("project", "P"), ("version", "1"), ("channel", "Default")] {
        text(out, key);
        text(out, value);
    }
    if let Some(notes) = notes {
        text(out, "notes");
        text(out, notes);
    }
    text(out, "packages");
    array(out, 0);
    text(out, "secrets");
    array(out, 1);
    map(out, 4);
    for (key, value) in [("owner", "P"), ("name", "S"), ("type", "Sensitive")] {
        text(out, key);
        text(out, value);
    }
    text(out, "scope");
    out.extend_from_slice(scope);
}

fn manifest(shape: &str, kind: &str) -> Result<Vec<u8>, String> {
    let budget = LIMIT - ROOM;
    let mut out = Vec::with_capacity(LIMIT);
    let mut empty_scope = Vec::new();
    map(&mut empty_scope, 0);
    match shape {
        "entries" => {
            // As many tiny entries as fit under max_entries (100,000), each decoded and shown.
            let mut one = Vec::new();
            map(&mut one, 4);
            text(&mut one, "path");
            text(&mut one, "e/00000000");
            text(&mut one, "size");
            uint(&mut one, 0);
            text(&mut one, "sha256");
            bytes(&mut one, &[0; 32]);
            text(&mut one, "role");
            text(&mut one, "file");
            let count = (budget / one.len()).min(99_999);
            map(&mut out, 9);
            fixed(&mut out, kind);
            text(&mut out, "entries");
            array(&mut out, count + 1);
            process_entry(&mut out);
            for n in 0..count {
                let path = format!("e/{n:08}");
                map(&mut out, 4);
                text(&mut out, "path");
                text(&mut out, &path);
                text(&mut out, "size");
                uint(&mut out, 0);
                text(&mut out, "sha256");
                bytes(&mut out, &[0; 32]);
                text(&mut out, "role");
                text(&mut out, "file");
            }
            release(&mut out, None, &empty_scope);
        }
        "empty-strings" => {
            // One byte of CBOR each, 24 bytes each as a Rust String.
            let mut scope = Vec::with_capacity(budget);
            map(&mut scope, 1);
            text(&mut scope, "Environment");
            let count = budget - 16;
            array(&mut scope, count);
            scope.resize(scope.len() + count, 0x60);
            map(&mut out, 9);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, None, &scope);
        }
        "max-items" => {
            // Just under the item limit (one item per 8 bytes): 7-byte scope names, the most
            // memory per byte a manifest that passes the count can ask for.
            let count = budget / 8 - 16;
            let mut scope = Vec::with_capacity(budget);
            map(&mut scope, 1);
            text(&mut scope, "Environment");
            array(&mut scope, count);
            for n in 0..count {
                text(&mut scope, &format!("{:07x}", n % 0x1000_0000));
            }
            map(&mut out, 9);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, None, &scope);
        }
        "scope-keys" => {
            // Distinct short keys, each with an empty array: a map entry per 8 bytes of CBOR.
            let count = budget / 8;
            let mut scope = Vec::with_capacity(budget);
            map(&mut scope, count);
            for n in 0..count {
                text(&mut scope, &format!("{n:06x}"));
                array(&mut scope, 0);
            }
            map(&mut out, 9);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, None, &scope);
        }
        "nested" => {
            // An unknown key holding arrays nested to depth 15 (within the limit of 16), full of
            // one-byte items.
            map(&mut out, 10);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, None, &empty_scope);
            text(&mut out, "x-nested");
            let levels = 14;
            let per_level = (budget - out.len()) / levels;
            for _ in 0..levels - 1 {
                array(&mut out, per_level + 1);
                out.resize(out.len() + per_level, 0);
            }
            array(&mut out, per_level);
            out.resize(out.len() + per_level, 0);
        }
        "huge-string" => {
            let notes = "n".repeat(budget);
            map(&mut out, 9);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, Some(&notes), &empty_scope);
        }
        "unknown-keys" => {
            // Two unknown keys of 2 MiB each, then unknown keys of 1 KiB until the budget.
            let big = budget / 4;
            let small = 1024;
            let smalls = (budget - 2 * big) / (small + 4);
            map(&mut out, 9 + 2 + smalls);
            fixed(&mut out, kind);
            entries(&mut out);
            release(&mut out, None, &empty_scope);
            for (n, len) in [big, big]
                .into_iter()
                .chain(std::iter::repeat_n(small, smalls))
                .enumerate()
            {
                let mut key = format!("x-{n:08}-");
                key.push_str(&"k".repeat(len - key.len()));
                text(&mut out, &key);
                uint(&mut out, 0);
            }
        }
        "not-cbor" => out.resize(budget, 0xff),
        other => return Err(format!("unknown shape {other}")),
    }
    if out.len() > LIMIT {
        return Err(format!(
            "the {shape} manifest is {} bytes, over the limit",
            out.len()
        ));
    }
    Ok(out)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [shape, out, key, rest @ ..] = args.as_slice() else {
        return Err("usage: hostile_manifest SHAPE OUT KEY [release|result]".into());
    };
    let kind = rest.first().map_or("release", String::as_str);
    let manifest = manifest(shape, kind)?;
    let key = SigningKey::read_pem_file(Path::new(key))?;
    let mut signatures = SignatureBlock::default();
    signatures.add(&key, &manifest)?;
    let mut payload = PayloadWriter::new(Cursor::new(Vec::new()), 1)?;
    payload.append(
        EntryPath::new("process.json")?,
        EntryRole::Process,
        PROCESS.len() as u64,
        &mut &PROCESS[..],
        &mut |_| {},
    )?;
    let (mut spool, _) = payload.finish()?;
    let mut file = std::fs::File::create(out)?;
    write_bundle(&mut file, &signatures, &manifest, &mut spool)?;
    // The manifest alone too, for tools that compare (`cbor2.loads` in the benchmark).
    std::fs::write(format!("{out}.cbor"), &manifest)?;
    println!(
        "{out}: {shape} manifest of {} bytes (also in {out}.cbor)",
        manifest.len()
    );
    Ok(())
}
