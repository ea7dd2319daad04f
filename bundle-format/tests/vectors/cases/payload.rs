//! The payload against the manifest (spec 8.8, 8.9).

use super::*;

pub(super) fn payload(v: &mut Vectors) -> Result<(), Error> {
    let flip = |index: usize, offset: fn(usize) -> usize, bit: u8| {
        with_records(move |r| {
            let size = standard_files()[index].data.len();
            r[index][BLOCK + offset(size)] ^= bit;
            Ok(())
        })
    };
    v.refuse(
        "payload_hash_mismatch_first",
        "hash-mismatch",
        PCI,
        "One bit flipped in the 11th data byte of the first entry, process.json (F3 compressed again).",
        flip(0, |_| 10, 0x01)?,
    )?;
    v.refuse(
        "payload_hash_mismatch_middle",
        "hash-mismatch",
        PCI,
        "One bit flipped in the 11th data byte of the middle entry, variables/project.json.",
        flip(1, |_| 10, 0x02)?,
    )?;
    v.refuse(
        "payload_hash_mismatch_last",
        "hash-mismatch",
        PCI,
        "One bit flipped in the last data byte of the last entry, the package.",
        flip(2, |size| size - 1, 0x80)?,
    )?;
    v.refuse(
        "payload_out_of_order",
        "entry-out-of-order",
        PCI,
        "The first two records are swapped: variables/project.json comes before process.json.",
        with_records(|r| {
            r.swap(0, 1);
            Ok(())
        })?,
    )?;
    v.refuse(
        "payload_duplicated",
        "entry-duplicated",
        PCI,
        "process.json's record appears twice in a row.",
        with_records(|r| {
            r.insert(1, r[0].clone());
            Ok(())
        })?,
    )?;
    v.refuse(
        "payload_missing",
        "entry-missing",
        PCI,
        "The last record (the package) is left out: the end-of-archive marker comes where it should be.",
        with_records(|r| {
            r.pop();
            Ok(())
        })?,
    )?;
    v.refuse(
        "payload_not_in_manifest",
        "entry-not-in-manifest",
        PCI,
        "A fourth record, notes.txt, which the manifest does not list, comes before the end-of-archive marker.",
        with_records(|r| {
            r.push(File::new("notes.txt", EntryRole::File, b"not signed".to_vec()).record()?);
            Ok(())
        })?,
    )?;
    v.refuse(
        "payload_size_mismatch",
        "entry-size-mismatch",
        PCI,
        "process.json's record holds 100 more bytes than the manifest declares (header size and data both longer).",
        with_records(|r| {
            let mut data = standard_files()[0].data.clone();
            data.extend_from_slice(&[b' '; 100]);
            r[0] = record(&header("process.json", data.len() as u64, b'0')?, &data);
            Ok(())
        })?,
    )?;

    let mut parts = release_a()?;
    parts.end.clear();
    v.refuse(
        "payload_no_end_marker",
        "truncated",
        PCI,
        "F3 is a complete frame with a valid checksum, but its tar stream stops right after the last entry, without the end-of-archive marker.",
        parts.assemble()?,
    )?;
    parts.end = vec![0; BLOCK];
    v.refuse(
        "payload_half_end_marker",
        "truncated",
        PCI,
        "F3's tar stream ends with one zero block instead of two.",
        parts.assemble()?,
    )?;
    parts.end = vec![0; 2 * BLOCK];
    parts
        .end
        .extend(File::new("notes.txt", EntryRole::File, b"not signed".to_vec()).record()?);
    v.refuse(
        "payload_record_after_end",
        "trailing-data",
        PCI,
        "A record (notes.txt) follows the end-of-archive marker inside F3.",
        parts.assemble()?,
    )?;

    let parts = release_a()?;
    let mut frames = parts.frames()?;
    frames.f3 = payload_frame(&parts.payload(), BOMB_ZEROS, true)?;
    let bomb = frames.bytes();
    let quarter = bomb.len() as u64 / 4;
    v.refuse(
        "payload_bomb",
        "trailing-data",
        PCI,
        "Decompression bomb: after the end-of-archive marker F3 holds 512 MiB of zeros, compressed to under 20 KB (each 4 bytes inflate to 128 KiB). A streaming verifier refuses at the first byte past the marker. max_bytes_read is a quarter of the file: reading no more, a verifier has decompressed at most about 70 MiB of the zeros.",
        bomb,
    )?
    .max_bytes_read = Some(quarter);
    Ok(())
}
