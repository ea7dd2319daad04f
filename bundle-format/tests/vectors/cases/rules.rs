//! The rules that leave no verdict to the implementation (issue 10, point 11): the CBOR profile
//! of spec 5.1, `null`, unknown keys, ustar numbers (4.3), block-wise frame reading (4.2), the
//! magic probe (4.2 step 1), key validity (8.7), and area `order`: vectors with two defects on
//! purpose, where the numbered steps of section 8 decide which code wins.

use super::*;

/// The standard release with its manifest replaced by `manifest` (signed by release-a).
fn resigned(manifest: Vec<u8>) -> Result<Parts, Error> {
    let mut parts = release_a()?;
    parts.resign(manifest, &[RELEASE_A])?;
    Ok(parts)
}

/// `bytes` with the only occurrence of `from` replaced by `to`.
fn replace_once(bytes: &[u8], from: &[u8], to: &[u8]) -> Result<Vec<u8>, Error> {
    let hits: Vec<usize> = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    let [at] = hits[..] else {
        return Err(format!("{} occurrences of {from:02x?}", hits.len()).into());
    };
    Ok([&bytes[..at], to, &bytes[at + from.len()..]].concat())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn top_push(m: &mut Value, key: Value, value: Value) -> Result<(), Error> {
    m.as_map_mut().ok_or("not a map")?.push((key, value));
    Ok(())
}

/// The map at `release.secrets[0]` or another path of keys and indexes.
fn secret0(m: &mut Value) -> Result<&mut Value, Error> {
    let secrets = field(field(m, "release")?, "secrets")?;
    secrets
        .as_array_mut()
        .and_then(|a| a.first_mut())
        .ok_or_else(|| "no secret".into())
}

/// F3 of `parts` as raw (stored) blocks of `block` bytes: valid zstd that any reader must
/// accept (4.2), and whose blocks can be damaged one at a time.
fn raw_block_frame(content: &[u8], block: usize) -> Result<Vec<u8>, Error> {
    // Magic, FHD 0x04 (checksum only), window descriptor 0x58 (2^21), as the writer's F3.
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58];
    let chunks: Vec<&[u8]> = content.chunks(block).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = u32::from(i + 1 == chunks.len());
        let head = ((chunk.len() as u32) << 3) | last; // Block_Type 0: raw
        out.extend_from_slice(&head.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    // The content checksum depends on the content only: take it from any frame of it.
    let reference = compress_one_shot(content)?;
    out.extend_from_slice(&reference[reference.len() - 4..]);
    Ok(out)
}

/// Offset in a raw-block frame (blocks of `block` bytes) of content byte `pos`, and of the
/// header of the block holding it.
fn raw_offsets(pos: usize, block: usize) -> (usize, usize) {
    let index = pos / block;
    let header = 6 + index * (3 + block);
    (header + 3 + pos % block, header)
}

pub(super) fn cbor(v: &mut Vectors) -> Result<(), Error> {
    v.refuse(
        "manifest_duplicate_unknown_key",
        "manifest-invalid",
        PCI,
        "The manifest's top-level map holds the unknown key \"x-note\" twice (values 1 and 2). Duplicates are refused in every map, known keys or not (5.1 step 6).",
        with_manifest_cbor(|m| {
            top_push(m, text("x-note"), Value::Integer(1.into()))?;
            top_push(m, text("x-note"), Value::Integer(2.into()))
        })?
        .assemble()?,
    )?;
    v.refuse(
        "manifest_duplicate_scope_key",
        "manifest-invalid",
        PCI,
        "The scope map of release.secrets[0] holds \"Environment\" twice ([\"Production\"] and [\"Staging\"]): a reader that kept the last would require another secret than the signer saw (5.1 step 6).",
        with_manifest_cbor(|m| {
            let scope = field(secret0(m)?, "scope")?;
            scope.as_map_mut().ok_or("scope is not a map")?.push((
                text("Environment"),
                Value::Array(vec![text("Staging")]),
            ));
            Ok(())
        })?
        .assemble()?,
    )?;
    v.refuse(
        "manifest_duplicate_nested_unknown_key",
        "manifest-invalid",
        PCI,
        "entries[0] carries an unknown key \"x-meta\" whose value is a map with the key \"a\" twice. Duplicates are refused at any depth, inside unknown values too (5.1 step 6).",
        with_manifest_cbor(|m| {
            let entries = field(m, "entries")?.as_array_mut().ok_or("no entries")?;
            let first = entries.first_mut().ok_or("no entry")?;
            top_push(
                first,
                text("x-meta"),
                Value::Map(vec![
                    (text("a"), Value::Integer(1.into())),
                    (text("a"), Value::Integer(1.into())),
                ]),
            )
        })?
        .assemble()?,
    )?;
    v.refuse(
        "sig_block_duplicate_key",
        "signature-block-invalid",
        PCI,
        "The signature block's only signature map holds \"key_id\" twice, both times release-a's id. The 5.1 profile applies to the signature block too (8.3.1).",
        with_block(&[RELEASE_A], |block, _| {
            let sig = signatures(block)?.first_mut().ok_or("no signature")?;
            let key_id = field(sig, "key_id")?.clone();
            top_push(sig, text("key_id"), key_id)
        })?,
    )?;
    v.refuse(
        "sig_block_byte_string_key",
        "signature-block-invalid",
        PCI,
        "The signature block carries an extra entry whose key is the byte string h'78' (\"x\") instead of a text string; map keys are text strings only (5.1 step 5).",
        with_block(&[RELEASE_A], |block, _| {
            top_push(block, Value::Bytes(b"x".to_vec()), Value::Integer(1.into()))
        })?,
    )?;
    v.refuse(
        "manifest_byte_string_key",
        "manifest-invalid",
        PCI,
        "The manifest carries an unknown entry whose key is the byte string h'782d6e6f7465' (\"x-note\"). Map keys MUST be text strings: a byte-string key is refused, not ignored (5.1 step 5).",
        with_manifest_cbor(|m| top_push(m, Value::Bytes(b"x-note".to_vec()), Value::Integer(1.into())))?
            .assemble()?,
    )?;
    v.refuse(
        "manifest_byte_string_known_key",
        "manifest-invalid",
        PCI,
        "The key \"created\" is written as the byte string h'63726561746564' with its usual value. A reader that matched field names by their bytes would accept it (5.1 step 5).",
        with_manifest_cbor(|m| {
            let map = m.as_map_mut().ok_or("not a map")?;
            let slot = map
                .iter_mut()
                .find(|(k, _)| k.as_text() == Some("created"))
                .ok_or("no created")?;
            slot.0 = Value::Bytes(b"created".to_vec());
            Ok(())
        })?
        .assemble()?,
    )?;
    for (name, key, description) in [
        (
            "manifest_null_previous",
            "previous",
            "The manifest (sequence 1) carries \"previous\": null. null is the value of no known key: it is refused, not read as absent (5.1 step 10), though an absent previous is exactly right here.",
        ),
        (
            "manifest_null_expires",
            "expires",
            "The manifest carries \"expires\": null. null is refused for every known key; an absent expires would be accepted (5.1 step 10).",
        ),
        (
            "manifest_null_result",
            "result",
            "The release manifest carries \"result\": null. A release bundle has no result, and null is refused for every known key; an absent result is exactly right here (5.1 step 10).",
        ),
    ] {
        v.refuse(
            name,
            "manifest-invalid",
            PCI,
            description,
            with_manifest_cbor(|m| top_push(m, text(key), Value::Null))?.assemble()?,
        )?;
    }
    v.refuse(
        "manifest_null_notes",
        "manifest-invalid",
        PCI,
        "release.notes is null. null is refused for every known key, at any depth; absent notes would be accepted (5.1 step 10).",
        with_manifest_cbor(|m| top_push(field(m, "release")?, text("notes"), Value::Null))?
            .assemble()?,
    )?;
    v.refuse(
        "manifest_tag",
        "manifest-invalid",
        PCI,
        "The value of \"created\" carries tag 1 (epoch date-time) around its integer. Tags are refused anywhere (5.1 step 4).",
        with_manifest_cbor(|m| {
            let created = field(m, "created")?;
            *created = Value::Tag(1, Box::new(created.clone()));
            Ok(())
        })?
        .assemble()?,
    )?;
    let standard = release_a()?.manifest;
    let head = *standard.first().ok_or("empty manifest")?;
    if !(0xa0..0xb8).contains(&head) {
        return Err("the manifest does not start with a short map head".into());
    }
    v.refuse(
        "manifest_indefinite_map",
        "manifest-invalid",
        PCI,
        "The manifest's top-level map is written with an indefinite length (head 0xbf, closed by a 0xff break) instead of its count. Indefinite lengths are refused (5.1 step 2).",
        resigned([&[0xbf][..], &standard[1..], &[0xff][..]].concat())?.assemble()?,
    )?;
    v.refuse(
        "manifest_non_shortest_integer",
        "manifest-invalid",
        PCI,
        "The value of \"format\" is written as 0x18 0x01 (1 in a one-byte argument) instead of 0x01. Every integer and length MUST be in its shortest form (5.1 step 3); the format probe never runs.",
        resigned(replace_once(&standard, b"\x66format\x01", b"\x66format\x18\x01")?)?.assemble()?,
    )?;
    v.refuse(
        "manifest_float",
        "manifest-invalid",
        PCI,
        "An unknown key \"x-ratio\" holds the float 0.5. Floating-point values are refused anywhere, unknown values included (5.1 step 4).",
        with_manifest_cbor(|m| top_push(m, text("x-ratio"), Value::Float(0.5)))?.assemble()?,
    )?;
    let marked = edit_cbor(&standard, |m| top_push(m, text("x-text"), text("@@utf8@@")))?;
    v.refuse(
        "manifest_text_not_utf8",
        "manifest-invalid",
        PCI,
        "An unknown key \"x-text\" holds a text string whose bytes are not UTF-8 (c3 28 ...). Every text string, unknown ones included, MUST be UTF-8 (5.1 step 7).",
        resigned(replace_once(&marked, b"@@utf8@@", b"\xc3\x28@@utf8")?)?.assemble()?,
    )?;
    v.refuse(
        "manifest_format_huge",
        "unsupported-format-version",
        PCI,
        "format is 2^40 (an 8-byte unsigned integer). Any unsigned integer other than 1 is unsupported-format-version (8.5.3), however large.",
        with_manifest_cbor(|m| {
            *field(m, "format")? = Value::Integer((1u64 << 40).into());
            Ok(())
        })?
        .assemble()?,
    )?;

    // Times (5.2): exactly the Unix seconds of years -9999 to 9999.
    let created_at = |unix: i64| {
        with_manifest_cbor(move |m| {
            *field(m, "created")? = Value::Integer(unix.into());
            Ok(())
        })
    };
    v.accept(
        "accept_created_last_second",
        PCI,
        "created is 253402300799 (9999-12-31T23:59:59Z), the largest time the format allows (5.2).",
        &created_at(253_402_300_799)?,
    )?;
    v.refuse(
        "manifest_created_out_of_range",
        "manifest-invalid",
        PCI,
        "created is 253402300800 (10000-01-01T00:00:00Z), one second past the largest time the format allows (5.2).",
        created_at(253_402_300_800)?.assemble()?,
    )?;
    v.refuse(
        "manifest_created_before_range",
        "manifest-invalid",
        PCI,
        "created is -377705116801, one second before -9999-01-01T00:00:00Z, the smallest time the format allows (5.2).",
        created_at(-377_705_116_801)?.assemble()?,
    )?;

    // Unknown keys: ignored in every map, whatever their length or value.
    let parts = with_manifest_cbor(|m| {
        top_push(
            m,
            Value::Text(format!("x-{}", fill("long-key-", 1 << 20))),
            Value::Text(fill("long-value-", 1 << 20)),
        )
    })?;
    v.accept(
        "accept_unknown_key_1mib",
        PCI,
        "The manifest carries an unknown top-level key of 1 MiB + 2 bytes whose value is a 1 MiB text string (the manifest is then about 2 MiB, inside the 8 MiB limit). Unknown keys MUST be ignored whatever their length (5.1, section 10).",
        &parts,
    )?;
    let mixed = || {
        Value::Map(vec![
            (text("null"), Value::Null),
            (text("bool"), Value::Bool(true)),
            (text("neg"), Value::Integer((-7).into())),
            (text("bytes"), Value::Bytes(vec![0, 1, 2])),
            (
                text("list"),
                Value::Array(vec![text("a"), Value::Map(vec![])]),
            ),
        ])
    };
    let parts = with_manifest_cbor(|m| {
        let entries = field(m, "entries")?.as_array_mut().ok_or("no entries")?;
        for entry in entries.iter_mut() {
            top_push(entry, text("x-entry"), mixed())?;
        }
        let release = field(m, "release")?;
        top_push(release, text("x-release"), mixed())?;
        let packages = field(release, "packages")?
            .as_array_mut()
            .ok_or("no packages")?;
        top_push(
            packages.first_mut().ok_or("no package")?,
            text("x-package"),
            mixed(),
        )?;
        top_push(secret0(m)?, text("x-secret"), mixed())?;
        top_push(m, text("x-top"), mixed())
    })?;
    v.accept(
        "accept_unknown_keys_everywhere",
        PCI,
        "Unknown keys in every map the manifest has (each entry, release, a package, a secret, the top level), with values of every allowed kind: null, true, a negative integer, bytes, arrays and maps. They are ignored (5.1); null is allowed in unknown values.",
        &parts,
    )?;
    let parts = with_block(&[RELEASE_A], |block, _| {
        let sig = signatures(block)?.first_mut().ok_or("no signature")?;
        top_push(sig, text("x-comment"), text("build server"))?;
        top_push(block, text("x-block"), mixed())
    })?;
    v.accept_bundle(
        "accept_unknown_signature_block_keys",
        PCI,
        "The signature block and its signature map carry unknown keys; they are ignored (6.1).",
        &release_a()?.manifest,
        parts,
    )?;
    Ok(())
}

pub(super) fn tar_numbers(v: &mut Vectors) -> Result<(), Error> {
    let last = standard_files().len() - 1;
    let size = standard_files()[last].data.len() as u64;
    let with_size_field = |field: [u8; 12]| {
        with_records(move |r| {
            let mut head = header_of(&r[last])?;
            head[124..136].copy_from_slice(&field);
            set_checksum(&mut head);
            r[last][..BLOCK].copy_from_slice(&head);
            Ok(())
        })
    };
    let mut base256 = [0u8; 12];
    base256[0] = 0x80;
    base256[4..].copy_from_slice(&size.to_be_bytes());
    v.accept_bundle(
        "accept_size_base256",
        PCI,
        "The package record's size field is in base-256 form (0x80, then the size big-endian in bytes 1 to 11) although the size is small. Readers MUST accept the base-256 form for any value below 2^63 (4.3).",
        &release_a()?.manifest,
        with_size_field(base256)?,
    )?;
    let spaced: [u8; 12] = format!("{size:>11o}\0").as_bytes().try_into()?;
    v.accept_bundle(
        "accept_size_leading_spaces",
        PCI,
        "The package record's size field is its octal value right-aligned with leading spaces and a NUL (\"       2734\\0\"). Spaces around the digits are removed before parsing (4.3).",
        &release_a()?.manifest,
        with_size_field(spaced)?,
    )?;
    let mut high = base256;
    high[1] = 0x01;
    v.refuse(
        "record_size_base256_high_bytes",
        "bad-record",
        PCI,
        "The package record's size field is base-256 with a non-zero byte 1: the value is at least 2^80, not below 2^63. (The Rust tar crate reads only the last 8 bytes and would find the right size.)",
        with_size_field(high)?,
    )?;
    v.refuse(
        "record_size_base256_negative",
        "bad-record",
        PCI,
        "The package record's size field starts with 0xff (GNU's negative base-256). Only a first byte of exactly 0x80 introduces base-256 (4.3).",
        with_size_field({
            let mut f = base256;
            f[0] = 0xff;
            f
        })?,
    )?;
    let octal = |prefix: &str| -> Result<[u8; 12], Error> {
        let text = format!("{prefix}{:0w$o}\0", size, w = 11 - prefix.len());
        Ok(text.as_bytes().try_into()?)
    };
    v.refuse(
        "record_size_plus_sign",
        "bad-record",
        PCI,
        "The package record's size field is \"+0000002734\\0\": a sign is not an octal digit (4.3).",
        with_size_field(octal("+")?)?,
    )?;
    v.refuse(
        "record_size_tab",
        "bad-record",
        PCI,
        "The package record's size field is \"\\t0000002734\\0\": only spaces (0x20) are removed around the digits, not tabs (4.3).",
        with_size_field(octal("\t")?)?,
    )?;
    Ok(())
}

pub(super) fn blocks(v: &mut Vectors) -> Result<(), Error> {
    const RAW: usize = 256;
    let parts = release_a()?;
    let content = parts.payload();
    let last = parts.records.len() - 1;
    let last_start: usize = parts.records[..last].iter().map(Vec::len).sum();
    let last_size = standard_files()[last].data.len();
    // The last data byte of the last entry, and where it sits in the raw-block frame.
    let target = last_start + BLOCK + last_size - 1;
    let (byte_at, header_at) = raw_offsets(target, RAW);
    let frames = parts.frames()?;
    let with_raw = |edit: &dyn Fn(&mut Vec<u8>)| -> Result<Vec<u8>, Error> {
        let mut f3 = raw_block_frame(&content, RAW)?;
        edit(&mut f3);
        Ok([&frames.f1[..], &frames.f2[..], &f3[..]].concat())
    };
    v.accept_bundle(
        "accept_raw_blocks",
        PCI,
        "F3 is made of raw (stored) zstd blocks of 256 bytes each, with a checksum: other parameters than the writer's, which readers MUST accept (4.2). The vectors below damage this frame.",
        &parts.manifest,
        with_raw(&|_| {})?,
    )?;
    v.refuse(
        "order_hash_before_checksum",
        "hash-mismatch",
        PCI,
        "Two defects from one flipped bit: the last data byte of the last entry (the package) is flipped inside its raw block, so the entry's SHA-256 and F3's content checksum both fail. The entry's hash is checked when its last byte is read, the checksum only after the end marker (4.2, 8.8, 8.9): hash-mismatch, however the file is buffered.",
        with_raw(&|f3| f3[byte_at] ^= 0x01)?,
    )?;
    v.refuse(
        "container_last_block_reserved",
        "corrupt",
        PCI,
        "In the raw-block F3, the block holding the last data byte of the last entry has Block_Type 3 (reserved). The entry is not complete when the block fails, so no hash is checked: corrupt (4.2: a block's bytes reach the checks only when the whole block decodes).",
        with_raw(&|f3| f3[header_at] |= 0x06)?,
    )?;
    let (_, end_block) = raw_offsets(content.len() - 1, RAW);
    v.refuse(
        "container_truncated_in_end_marker",
        "truncated",
        PCI,
        "The raw-block F3 ends 100 bytes into its last block, which holds the end-of-archive marker; every entry before it is complete and correct. truncated (region payload).",
        with_raw(&|f3| f3.truncate(end_block + 3 + 100))?,
    )?;
    v.refuse(
        "container_content_size_short",
        "corrupt",
        PCI,
        "The raw-block F3's header declares a 4-byte Frame_Content_Size one byte smaller than its content (FHD 0x84). The blocks give more than declared: corrupt, found at the block that exceeds it, whose bytes never reach the checks (4.2.7).",
        with_raw(&|f3| {
            f3[4] = 0x84;
            let declared = (content.len() as u32 - 1).to_le_bytes();
            for (i, b) in declared.iter().enumerate() {
                f3.insert(6 + i, *b);
            }
        })?,
    )?;
    v.refuse(
        "container_block_too_large",
        "corrupt",
        PCI,
        "In the raw-block F3, the first block's header says 131,073 bytes (Block_Maximum_Size + 1, 4.2). Refused from the block header, before the block is read.",
        with_raw(&|f3| {
            let head = ((131_073u32) << 3).to_le_bytes();
            f3[6..9].copy_from_slice(&head[..3]);
        })?,
    )?;
    Ok(())
}

pub(super) fn probes(v: &mut Vectors) -> Result<(), Error> {
    let bundle = release_a()?.assemble()?;
    v.refuse(
        "container_short_not_zstd",
        "not-a-bundle",
        PCI,
        "A 2-byte file, \"PK\". Its bytes are not a prefix of the zstd magic, so it is not a bundle (4.2 step 1); a file that is a prefix of the magic would be truncated.",
        b"PK".to_vec(),
    )?
    .max_bytes_read = Some(64);
    v.refuse(
        "container_magic_prefix",
        "truncated",
        PCI,
        "A 2-byte file, 28 b5: the start of the zstd magic, then the end of the file (4.2 step 1).",
        bundle[..2].to_vec(),
    )?;
    v.refuse(
        "container_magic_only",
        "truncated",
        PCI,
        "A 4-byte file: the zstd magic and nothing more; the file ends before the Frame_Header_Descriptor (4.2 step 2).",
        bundle[..4].to_vec(),
    )?;
    let mut zip_tail = super::container::zip_with_empty_file("release.toml");
    zip_tail.extend_from_slice(&vec![0u8; 4096]);
    v.refuse(
        "container_not_zstd_long",
        "not-a-bundle",
        PCI,
        "A 4 KiB+ zip file. The verdict needs the first 4 bytes only: max_bytes_read is 64 (4 bytes, and at most one read of 61 bytes, 11).",
        zip_tail,
    )?
    .max_bytes_read = Some(64);
    let skippable = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, b'z', b'b', b'!', b'!'];
    v.refuse(
        "container_skippable_first",
        "unexpected-frame",
        PCI,
        "The file starts with a skippable frame (4 bytes of content) and the bundle follows. Skippable frames are refused anywhere, at offset 0 too, from their 4 magic bytes.",
        [&skippable[..], &bundle[..]].concat(),
    )?
    .max_bytes_read = Some(64);
    Ok(())
}

pub(super) fn key_validity(v: &mut Vectors) -> Result<(), Error> {
    // Created the day before the key's end, so that the bytes differ from trust_key_expired's.
    let files = standard_files();
    let mut manifest = release_manifest(&files)?;
    manifest.created = at(1_772_236_800)?;
    rederive_id(&mut manifest);
    let bundle = Parts::new(&manifest, &files, &[EXPIRED])?;
    v.refuse(
        "trust_key_expires_at_now",
        "key-expired",
        PCI,
        "Created 2026-02-28T00:00:00Z and signed only by `expired`, whose not_after is 2026-03-01T00:00:00Z; the clock is exactly that moment. A key counts only while now < not_after (8.7.1).",
        bundle.assemble()?,
    )?
    .now = "2026-03-01T00:00:00Z".parse()?;
    let digest = Digest::of(&bundle.manifest).to_hex();
    v.push(
        "accept_key_valid_until_next_second",
        None,
        PCI,
        "The same bundle as trust_key_expires_at_now, signed only by `expired` (not_after 2026-03-01T00:00:00Z); the clock is one second earlier, so the key counts (8.7.1).",
        bundle.assemble()?,
        Some(digest),
    )?
    .now = "2026-02-28T23:59:59Z".parse()?;
    Ok(())
}

pub(super) fn order(v: &mut Vectors) -> Result<(), Error> {
    let bad_path = |m: &mut Value| -> Result<(), Error> {
        *entry_path_mut(m, 1)? = text("../variables.json");
        Ok(())
    };
    v.refuse(
        "order_format_before_path",
        "unsupported-format-version",
        PCI,
        "Two defects: format is 2, and entries[1].path is \"../variables.json\". 8.5.3 (format) comes before 8.5.4 (entry paths).",
        with_manifest_cbor(|m| {
            *field(m, "format")? = Value::Integer(2.into());
            bad_path(m)
        })?
        .assemble()?,
    )?;
    v.refuse(
        "order_profile_before_format",
        "manifest-invalid",
        PCI,
        "Two defects: format is 2, and the unknown key \"x-note\" appears twice. 8.5.1 (the 5.1 profile) comes before 8.5.2 and 8.5.3 (format).",
        with_manifest_cbor(|m| {
            *field(m, "format")? = Value::Integer(2.into());
            top_push(m, text("x-note"), Value::Null)?;
            top_push(m, text("x-note"), Value::Null)
        })?
        .assemble()?,
    )?;
    v.refuse(
        "order_path_before_schema",
        "path-invalid",
        PCI,
        "Two defects: entries[1].path is \"../variables.json\", and sequence is the text \"1\". 8.5.4 (entry paths) comes before 8.5.5 (types).",
        with_manifest_cbor(|m| {
            *field(m, "sequence")? = text("1");
            bad_path(m)
        })?
        .assemble()?,
    )?;
    v.refuse(
        "order_limit_before_paths",
        "limit-exceeded",
        PCI_SMALL_LIMITS,
        "Two defects under pci_small_limits (max_entry_bytes 4096): entries[2] declares 5000 bytes, and entries[1] and entries[2] have paths equal ignoring case. Rule 5.5.7 (sizes) comes before 5.5.9 (paths).",
        with_manifest_cbor(|m| {
            let entries = field(m, "entries")?.as_array_mut().ok_or("no entries")?;
            *field(&mut entries[2], "size")? = Value::Integer(5000.into());
            *field(&mut entries[2], "path")? = text("Variables/Project.json");
            Ok(())
        })?
        .assemble()?,
    )?;
    v.refuse(
        "order_same_zone_before_limit",
        "manifest-invalid",
        PCI_SMALL_LIMITS,
        "Two defects under pci_small_limits: source_zone is pci like target_zone, and entries[2] declares 5000 bytes (max_entry_bytes 4096). Rule 5.5.3 (zones) comes before 5.5.7 (sizes).",
        with_manifest_cbor(|m| {
            *field(m, "source_zone")? = text("pci");
            let entries = field(m, "entries")?.as_array_mut().ok_or("no entries")?;
            *field(&mut entries[2], "size")? = Value::Integer(5000.into());
            Ok(())
        })?
        .assemble()?,
    )?;
    let noon = at(CREATED + 43_200)?;
    v.refuse(
        "order_zone_before_expiry",
        "wrong-target-zone",
        PCI,
        "Two defects: target_zone is qa, and the bundle expired twelve hours before the clock. 8.6.1 (zone) comes before 8.6.2 (expiry).",
        with_manifest(|m| {
            m.target_zone = zone("qa").unwrap_or_else(|_| m.target_zone.clone());
            m.expires = Some(noon);
        })?
        .assemble()?,
    )?;
    let files = standard_files();
    let mut manifest = release_manifest(&files)?;
    manifest.expires = Some(noon);
    v.refuse(
        "order_expiry_before_trust",
        "bundle-expired",
        PCI,
        "Two defects: the bundle expired twelve hours before the clock, and its only signer is wrong-role (a result signer). 8.6 (binding) comes before 8.7 (signers).",
        Parts::new(&manifest, &files, &[WRONG_ROLE])?.assemble()?,
    )?;
    v.refuse(
        "order_signature_before_manifest",
        "signature-invalid",
        PCI,
        "Two defects: the manifest bytes are not CBOR (the text \"not a manifest\"), and release-a's signature is over the original manifest, so it fails. 8.4 (signatures) comes before 8.5 (decoding): the manifest is never decoded.",
        {
            let mut parts = release_a()?;
            parts.manifest = b"not a manifest".to_vec();
            parts.assemble()?
        },
    )?;
    v.refuse(
        "order_count_before_duplicate",
        "limit-exceeded",
        PCI,
        "Two defects: 17 signatures, and release-a's appears twice among them. 8.3.6 (at most 16) comes before 8.3.7 (no key twice).",
        with_block(&[RELEASE_A], |block, manifest| {
            let input = signing_input(manifest);
            let sigs = signatures(block)?;
            let first = sigs.first().ok_or("no signature")?.clone();
            for seed in 0x20..=0x2eu8 {
                sigs.push(signature_entry(seed, &input));
            }
            sigs.push(first);
            Ok(())
        })?,
    )?;
    v.refuse(
        "order_invalid_before_unknown",
        "signature-invalid",
        PCI,
        "Two signatures: stranger's (not in the policy) first, then release-a's with one bit flipped. Signatures by unknown keys are skipped; one trusted key's failure refuses the bundle (8.4).",
        with_block(&[RELEASE_A], |block, manifest| {
            let input = signing_input(manifest);
            let sigs = signatures(block)?;
            let mut mine = sigs.first().ok_or("no signature")?.clone();
            if let Value::Bytes(b) = field(&mut mine, "signature")? {
                b[5] ^= 0x10;
            }
            *sigs = vec![signature_entry(STRANGER.seed, &input), mine];
            Ok(())
        })?,
    )?;
    v.refuse(
        "order_hash_before_padding",
        "hash-mismatch",
        PCI,
        "Two defects in the package record: its last data byte is flipped, and the first byte of its padding is 0x01. The SHA-256 is checked as soon as the last data byte is in (8.8.9), before the padding (8.8.10).",
        with_records(|r| {
            let last = r.len() - 1;
            let size = standard_files()[last].data.len();
            r[last][BLOCK + size - 1] ^= 0x01;
            r[last][BLOCK + size] = 0x01;
            Ok(())
        })?,
    )?;
    v.refuse(
        "order_checksum_before_type",
        "bad-record",
        PCI,
        "Two defects in the package record's header: its typeflag is '2' (symbolic link) and its checksum is off by one. 8.8.3 (checksum, magic) comes before 8.8.4 (typeflag).",
        with_records(|r| {
            let last = r.len() - 1;
            let mut head = header_of(&r[last])?;
            head[156] = b'2';
            set_checksum(&mut head);
            head[154] ^= 0x01;
            r[last][..BLOCK].copy_from_slice(&head);
            Ok(())
        })?,
    )?;
    Ok(())
}
