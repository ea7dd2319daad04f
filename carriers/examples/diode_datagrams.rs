//! Writes real diode datagrams into a folder, as seeds for the `diode_datagram` fuzz target
//! (fuzz/seed-corpus.sh): a signed header, a heartbeat, single symbols, and captures (each
//! datagram preceded by its length, 2 bytes big-endian) of a whole small transfer, with and
//! without losses. Signed by the key of seed `[1; 32]`, which the fuzz target's policy trusts
//! for releases from `dev` to `pci`.
//!
//! `cargo run -p carriers --example diode_datagrams -- DIR`

use std::path::{Path, PathBuf};

use bundle_format::keys::SigningKey;
use carriers::diode::announce::{self, Heartbeat, TransferHeader};
use carriers::diode::fec::BlockEncoder;
use carriers::diode::wire::{self, Symbol};
use sha2::{Digest as _, Sha256};

/// Small symbols and blocks keep the fuzz target fast: 3 data blocks and a 2-symbol table.
const SYMBOL_SIZE: u16 = 64;
const BLOCK_SIZE: u32 = 1024;
const BUNDLE_LEN: usize = 2500;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args_os()
            .nth(1)
            .ok_or("usage: diode_datagrams DIR (the folder to write the seeds into)")?,
    );
    std::fs::create_dir_all(&dir)?;
    let key = SigningKey::from_seed(&[1; 32]);
    let bundle: Vec<u8> = (0..BUNDLE_LEN).map(|i| (i * 7 % 251) as u8).collect();
    let blocks: Vec<&[u8]> = bundle.chunks(BLOCK_SIZE as usize).collect();
    let table: Vec<u8> = blocks
        .iter()
        .flat_map(|block| Sha256::digest(block).to_vec())
        .collect();
    let header = TransferHeader {
        key_id: key.public_key().key_id(),
        channel: "dev->pci/release".parse()?,
        sequence: 7,
        name: "dev~pci~release~000000000007~fuzz-seed.zb".to_owned(),
        size: BUNDLE_LEN as u64,
        digest: Sha256::digest(&bundle).into(),
        symbol_size: SYMBOL_SIZE,
        block_size: BLOCK_SIZE,
        table_digest: announce::table_digest(&table),
        overhead_per_mille: 50,
    };
    let signed = header.sign(&key)?;
    let heartbeat = Heartbeat {
        key_id: key.public_key().key_id(),
        session: *b"fuzzseed",
        sent: 42,
        unix_millis: 1_800_000_000_000,
        interval_millis: 1000,
        transfer: Some(signed.id),
    }
    .sign(&key)?;
    write(&dir, "header", &signed.datagram)?;
    write(&dir, "heartbeat", &heartbeat)?;

    // Every block's source symbols and a few repair symbols, as the sender sends them.
    let mut contents: Vec<&[u8]> = vec![&table];
    contents.extend(blocks);
    let mut symbols = Vec::new();
    for (block, data) in contents.iter().enumerate() {
        let encoder = BlockEncoder::new(data, SYMBOL_SIZE);
        let k = encoder.source_symbols();
        let mut all = encoder.source();
        all.extend(encoder.repair(k, 4));
        for (esi, bytes) in all {
            let mut out = Vec::new();
            wire::encode_symbol(
                &mut out,
                &Symbol {
                    transfer: signed.id,
                    block: u32::try_from(block)?,
                    esi,
                    data: &bytes,
                },
            )?;
            symbols.push(out);
        }
    }
    write(&dir, "symbol-first", &symbols[0])?;
    write(&dir, "symbol-repair", &symbols[symbols.len() - 1])?;

    let mut whole = Vec::new();
    let mut lossy = Vec::new();
    for datagram in [&signed.datagram, &heartbeat] {
        frame(&mut whole, datagram)?;
        frame(&mut lossy, datagram)?;
    }
    for (i, symbol) in symbols.iter().enumerate() {
        frame(&mut whole, symbol)?;
        // One symbol in five lost: the repair symbols make up for it.
        if i % 5 != 2 {
            frame(&mut lossy, symbol)?;
        }
    }
    write(&dir, "transfer-whole", &whole)?;
    write(&dir, "transfer-lossy", &lossy)?;
    println!(
        "wrote 6 seeds into {} (transfer {})",
        dir.display(),
        hex::encode(signed.id)
    );
    Ok(())
}

fn frame(out: &mut Vec<u8>, datagram: &[u8]) -> Result<(), std::num::TryFromIntError> {
    out.extend_from_slice(&u16::try_from(datagram.len())?.to_be_bytes());
    out.extend_from_slice(datagram);
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(dir.join(name), bytes)
}
