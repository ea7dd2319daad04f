//! Frames (spec 4.1, 4.2) and ustar records (4.3): the layers below the signatures.

use super::*;

pub(super) fn container(v: &mut Vectors) -> Result<(), Error> {
    let base = release_a()?;
    let frames = base.frames()?;
    if frames.f3.get(..6) != Some(&[0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58][..]) {
        return Err("the payload frame does not start as spec 4.2 says".into());
    }
    let bytes = frames.bytes();
    let (f1, f2, f3) = (frames.f1.len(), frames.f2.len(), frames.f3.len());
    let with_f3 = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut frames = frames.clone();
        edit(&mut frames.f3);
        frames.bytes()
    };

    v.refuse(
        "container_not_zstd",
        "not-a-bundle",
        PCI,
        "A zip archive (one empty file, release.toml), not a bundle: the file starts with PK\\x03\\x04 instead of the zstd magic.",
        zip_with_empty_file("release.toml"),
    )?;
    v.refuse(
        "container_empty_file",
        "not-a-bundle",
        PCI,
        "An empty file.",
        Vec::new(),
    )?;
    let skippable = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, b'z', b'b', b'!', b'!'];
    v.refuse(
        "container_skippable_frame",
        "unexpected-frame",
        PCI,
        "A skippable frame (magic 0x184D2A50, 4 bytes of content) sits between F2 and F3; zstd tools skip it, a bundle never holds one (4.1).",
        [&frames.f1[..], &frames.f2[..], &skippable[..], &frames.f3[..]].concat(),
    )?;
    let mut no_checksum = frames.clone();
    no_checksum.f3 = payload_frame(&base.payload(), 0, false)?;
    v.refuse(
        "container_no_checksum",
        "unexpected-frame",
        PCI,
        "F3 is compressed without a content checksum (Content_Checksum_Flag 0); every frame of a bundle must carry one (4.2).",
        no_checksum.bytes(),
    )?;
    v.refuse(
        "container_dictionary",
        "unexpected-frame",
        PCI,
        "F3's header declares a 1-byte Dictionary_ID of 42 (inserted after the window descriptor); bundles never use dictionaries (4.2).",
        with_f3(&|f3| {
            f3[4] |= 0x01;
            f3.insert(6, 42);
        }),
    )?;
    v.refuse(
        "container_reserved_bit",
        "unexpected-frame",
        PCI,
        "F3's frame header descriptor has its reserved bit (bit 3) set.",
        with_f3(&|f3| f3[4] |= 0x08),
    )?;
    v.refuse(
        "container_window_too_large",
        "window-too-large",
        PCI,
        "F3's window descriptor is changed from 0x58 (2^21) to 0x88: window log 27 (128 MiB), above the default max_window_log of 24. Refused from the header, before any allocation.",
        with_f3(&|f3| f3[5] = 0x88),
    )?;
    v.refuse(
        "container_frame_corrupt",
        "corrupt",
        PCI,
        "One bit flipped in F3's 4-byte content checksum (the last byte of the file); the data decompresses intact but the frame checksum does not hold.",
        with_f3(&|f3| {
            if let Some(last) = f3.last_mut() {
                *last ^= 0x01;
            }
        }),
    )?;
    v.refuse(
        "container_block_corrupt",
        "corrupt",
        PCI,
        "F3's first block header has Block_Type 3 (reserved): the compressed data is malformed.",
        with_f3(&|f3| f3[6] |= 0x06),
    )?;
    v.refuse(
        "container_truncated_signatures",
        "truncated",
        PCI,
        "The file ends in the middle of F1.",
        bytes[..f1 / 2].to_vec(),
    )?;
    v.refuse(
        "container_truncated_manifest",
        "truncated",
        PCI,
        "The file ends in the middle of F2.",
        bytes[..f1 + f2 / 2].to_vec(),
    )?;
    v.refuse(
        "container_truncated_payload",
        "truncated",
        PCI,
        "The file ends in the middle of F3, inside its only compressed block.",
        bytes[..f1 + f2 + f3 / 2].to_vec(),
    )?;
    v.refuse(
        "container_missing_frames",
        "truncated",
        PCI,
        "The file holds only F1: it ends where F2 should start.",
        bytes[..f1].to_vec(),
    )?;
    v.refuse(
        "container_trailing_bytes",
        "trailing-data",
        PCI,
        "512 zero bytes follow F3, as a block device or a transfer tool might pad the file.",
        [&bytes[..], &[0u8; BLOCK][..]].concat(),
    )?;
    v.refuse(
        "container_trailing_frame",
        "trailing-data",
        PCI,
        "A fourth, valid zstd frame follows F3.",
        [&bytes[..], &compress_one_shot(b"a fourth frame")?[..]].concat(),
    )?;
    v.refuse(
        "container_frames_swapped",
        "bad-record",
        PCI,
        "F2 comes first and F1 second: the first frame's record is zonebridge/manifest.cbor where zonebridge/signatures.cbor must be.",
        [&frames.f2[..], &frames.f1[..], &frames.f3[..]].concat(),
    )?;
    let two_records = [
        record(
            &header(SIGNATURES_PATH, base.block.len() as u64, b'0')?,
            &base.block,
        ),
        record(&header("zonebridge/extra.txt", 5, b'0')?, b"extra"),
    ]
    .concat();
    v.refuse(
        "container_signature_frame_two_records",
        "bad-record",
        PCI,
        "F1 holds the signature block record and then a second record, zonebridge/extra.txt; F1 must hold exactly one record (4.4).",
        [&compress_one_shot(&two_records)?[..], &frames.f2[..], &frames.f3[..]].concat(),
    )?;
    v.refuse(
        "container_payload_uncompressed",
        "unexpected-frame",
        PCI,
        "F1 and F2 are followed by the payload tar records uncompressed, not by a zstd frame.",
        [&frames.f1[..], &frames.f2[..], &base.payload()[..]].concat(),
    )?;
    Ok(())
}

pub(super) fn records(v: &mut Vectors) -> Result<(), Error> {
    v.refuse(
        "record_bad_checksum",
        "bad-record",
        PCI,
        "The last digit of the first payload header's mtime is changed from '0' to '1' and the header checksum is not updated.",
        with_records(|r| {
            r[0][146] = b'1';
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_gnu_magic",
        "bad-record",
        PCI,
        "The first payload header has the GNU magic \"ustar  \\0\" (as GNU tar writes by default) instead of POSIX \"ustar\\0\" \"00\"; checksum correct.",
        with_records(|r| {
            let mut block = header_of(&r[0])?;
            block[257..265].copy_from_slice(b"ustar  \0");
            set_checksum(&mut block);
            r[0][..BLOCK].copy_from_slice(&block);
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_symlink",
        "not-regular-file",
        PCI,
        "The first payload record (process.json) is a symbolic link (typeflag '2') to /etc/passwd.",
        with_records(|r| {
            let link = edit_header(&header("process.json", 0, b'2')?, |h| {
                Ok(h.set_link_name_literal("/etc/passwd")?)
            })?;
            r[0] = record(&link, &[]);
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_hard_link",
        "not-regular-file",
        PCI,
        "The last payload record (the package) is a hard link (typeflag '1') to process.json.",
        with_records(|r| {
            let link = edit_header(&header("packages/Payments.Api.1.2.3.zip", 0, b'1')?, |h| {
                Ok(h.set_link_name_literal("process.json")?)
            })?;
            r[2] = record(&link, &[]);
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_char_device",
        "not-regular-file",
        PCI,
        "The second payload record (variables/project.json) is a character device (typeflag '3', major 1, minor 3: /dev/null).",
        with_records(|r| {
            let device = edit_header(&header("variables/project.json", 0, b'3')?, |h| {
                h.set_device_major(1)?;
                Ok(h.set_device_minor(3)?)
            })?;
            r[1] = record(&device, &[]);
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_directory",
        "not-regular-file",
        PCI,
        "A directory record (typeflag '5') named variables/ comes before variables/project.json, as tar(1) would write it.",
        with_records(|r| {
            r.insert(1, record(&header("variables/", 0, b'5')?, &[]));
            Ok(())
        })?,
    )?;
    let pax = b"21 path=process.json\n";
    v.refuse(
        "record_pax_header",
        "not-regular-file",
        PCI,
        "A pax extended header record (typeflag 'x', setting path=process.json) comes before the first entry.",
        with_records(|r| {
            r.insert(
                0,
                record(&header("PaxHeaders.0/process.json", pax.len() as u64, b'x')?, pax),
            );
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_typeflag_nul",
        "not-regular-file",
        PCI,
        "The first payload header has typeflag NUL (the pre-POSIX way to say regular file), checksum correct; only '0' is accepted (4.3).",
        with_records(|r| {
            let mut block = header_of(&r[0])?;
            block[156] = 0;
            set_checksum(&mut block);
            r[0][..BLOCK].copy_from_slice(&block);
            Ok(())
        })?,
    )?;
    v.refuse(
        "record_padding_not_zero",
        "bad-record",
        PCI,
        "The last padding byte after the first entry's data is 0x01 instead of zero; the data itself is intact.",
        with_records(|r| {
            let last = r[0].last_mut().ok_or("empty record")?;
            *last = 1;
            Ok(())
        })?,
    )?;
    Ok(())
}

/// A zip archive holding one empty, stored file (APPNOTE 4.3: local header, central
/// directory, end of central directory).
pub(super) fn zip_with_empty_file(name: &str) -> Vec<u8> {
    let name = name.as_bytes();
    let len = name.len() as u16;
    let mut local = vec![0x50, 0x4B, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0];
    local.extend_from_slice(&[0; 12]); // crc, compressed size, size: 0 for an empty file
    local.extend_from_slice(&len.to_le_bytes());
    local.extend_from_slice(&[0, 0]);
    local.extend_from_slice(name);
    let mut central = vec![
        0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0,
    ];
    central.extend_from_slice(&[0; 12]);
    central.extend_from_slice(&len.to_le_bytes());
    central.extend_from_slice(&[0; 16]); // extra, comment, disk, attributes, offset 0
    central.extend_from_slice(name);
    let mut end = vec![0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0];
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&(local.len() as u32).to_le_bytes());
    end.extend_from_slice(&[0, 0]);
    [local, central, end].concat()
}
