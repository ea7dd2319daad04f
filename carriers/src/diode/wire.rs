//! The diode's datagrams (docs/diode.md, section 2): three types, each starting with the
//! magic `ZBDI`, the protocol version and the type, and ending with a CRC-32 of everything
//! before it. The parser looks at nothing else: what a header or heartbeat body means is
//! [`super::announce`]'s, and whether anyone may send it is [`super::trust`]'s.
//!
//! The CRC is not security: a datagram damaged on the way (the UDP checksum is optional and
//! weak) is dropped here, as if lost, instead of poisoning a block. A forger can compute a
//! CRC; the signed header's block hashes stop what it sends.

/// First four bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"ZBDI";
/// The protocol version this code speaks.
pub const VERSION: u8 = 1;
/// Bytes before a datagram's type-specific part: magic, version, type.
pub const PREFIX_LEN: usize = 6;
/// Bytes of the CRC-32 that ends every datagram.
pub const CRC_LEN: usize = 4;
/// Bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Bytes of a transfer id.
pub const TRANSFER_ID_LEN: usize = 8;
/// Bytes a symbol datagram adds to its symbol: prefix, transfer id, block, ESI, CRC.
pub const SYMBOL_OVERHEAD: usize = PREFIX_LEN + TRANSFER_ID_LEN + 4 + 4 + CRC_LEN;
/// Bytes a signed datagram adds to its body: prefix, body length, signature, CRC.
pub const SIGNED_OVERHEAD: usize = PREFIX_LEN + 2 + SIGNATURE_LEN + CRC_LEN;
/// The largest signed body: a header with a 255-byte name and two 64-byte zones is under 600.
pub const MAX_SIGNED_BODY: usize = 1024;
/// The largest UDP payload over IPv4; nothing longer can arrive.
pub const MAX_DATAGRAM: usize = 65_507;
/// Encoding symbol ids are 24 bits (RFC 6330, 3.2).
pub const MAX_ESI: u32 = (1 << 24) - 1;
/// A round's ESIs stay below this; from here to [`MAX_ESI`] the sender sends out-of-round
/// table symbols after repeated headers (docs/diode.md 5.3), which a receiver leaves out of
/// its loss estimate.
pub const OUT_OF_ROUND_ESI: u32 = 1 << 23;

const TYPE_HEADER: u8 = 1;
const TYPE_SYMBOL: u8 = 2;
const TYPE_HEARTBEAT: u8 = 3;

/// Which transfer a symbol belongs to: the first 8 bytes of a hash of the transfer's header
/// body ([`super::announce::transfer_id`]).
pub type TransferId = [u8; TRANSFER_ID_LEN];

/// One datagram, parsed but not yet authenticated: it borrows from the bytes received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// A transfer header: a signed body saying what is sent and how.
    Header(Signed<'a>),
    /// One encoding symbol of one block of a transfer.
    Symbol(Symbol<'a>),
    /// A heartbeat: the sender's signed "I am alive, I sent N datagrams".
    Heartbeat(Signed<'a>),
}

/// A signed body and its signature, as received (nothing checked but the framing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed<'a> {
    /// The body's bytes, exactly as signed.
    pub body: &'a [u8],
    /// The signature over the body (in its signing domain).
    pub signature: &'a [u8; SIGNATURE_LEN],
}

/// One encoding symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// The transfer.
    pub transfer: TransferId,
    /// The block: 0 is the table of block hashes, 1..=N the bundle's blocks.
    pub block: u32,
    /// The encoding symbol id within the block (below the block's symbol count: a source
    /// symbol; at or above: a repair symbol).
    pub esi: u32,
    /// The symbol's bytes (not yet checked against the header's symbol size).
    pub data: &'a [u8],
}

/// Why a datagram is not one of ours, or is damaged. Every case is dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than the smallest datagram of its type.
    #[error("datagram of {len} bytes is too short")]
    TooShort {
        /// Its length.
        len: usize,
    },
    /// Longer than any UDP payload.
    #[error("datagram of {len} bytes is longer than any UDP payload")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Does not start with `ZBDI`.
    #[error("not a Zonebridge diode datagram (no ZBDI magic)")]
    NotOurs,
    /// Another protocol version.
    #[error("diode protocol version {0} is not supported (this receiver speaks version 1)")]
    Version(u8),
    /// An unknown type byte.
    #[error("unknown datagram type {0}")]
    UnknownType(u8),
    /// The CRC does not match: damaged on the way.
    #[error("datagram checksum does not match (damaged on the way)")]
    Checksum,
    /// A signed datagram's body length disagrees with its size, or is over the limit.
    #[error("signed datagram's body length {declared} does not fit its {len} bytes")]
    BodyLength {
        /// The length the datagram declares.
        declared: usize,
        /// The datagram's length.
        len: usize,
    },
    /// An encoding symbol id above 24 bits.
    #[error("encoding symbol id {0} is above the 24-bit limit")]
    Esi(u32),
}

/// Parses a datagram's framing. Checks, in order: length, magic, version, type, CRC, then
/// the type's own layout. Never panics and never allocates (the fuzz target holds it to that).
pub fn parse(datagram: &[u8]) -> Result<Datagram<'_>, WireError> {
    let len = datagram.len();
    if len > MAX_DATAGRAM {
        return Err(WireError::TooLong { len });
    }
    if len < PREFIX_LEN + CRC_LEN {
        return Err(WireError::TooShort { len });
    }
    if datagram[..4] != MAGIC {
        return Err(WireError::NotOurs);
    }
    if datagram[4] != VERSION {
        return Err(WireError::Version(datagram[4]));
    }
    let kind = datagram[5];
    if !matches!(kind, TYPE_HEADER | TYPE_SYMBOL | TYPE_HEARTBEAT) {
        return Err(WireError::UnknownType(kind));
    }
    let (covered, crc) = datagram.split_at(len - CRC_LEN);
    if crc32fast::hash(covered).to_be_bytes() != crc {
        return Err(WireError::Checksum);
    }
    let rest = &covered[PREFIX_LEN..];
    match kind {
        TYPE_SYMBOL => parse_symbol(rest, len).map(Datagram::Symbol),
        TYPE_HEADER => parse_signed(rest, len).map(Datagram::Header),
        _ => parse_signed(rest, len).map(Datagram::Heartbeat),
    }
}

fn parse_symbol(rest: &[u8], len: usize) -> Result<Symbol<'_>, WireError> {
    // At least one byte of symbol.
    if rest.len() <= TRANSFER_ID_LEN + 8 {
        return Err(WireError::TooShort { len });
    }
    let (transfer, rest) = rest.split_at(TRANSFER_ID_LEN);
    let (block, rest) = rest.split_at(4);
    let (esi, data) = rest.split_at(4);
    let mut id = [0; TRANSFER_ID_LEN];
    id.copy_from_slice(transfer);
    let esi = u32::from_be_bytes([esi[0], esi[1], esi[2], esi[3]]);
    if esi > MAX_ESI {
        return Err(WireError::Esi(esi));
    }
    Ok(Symbol {
        transfer: id,
        block: u32::from_be_bytes([block[0], block[1], block[2], block[3]]),
        esi,
        data,
    })
}

fn parse_signed(rest: &[u8], len: usize) -> Result<Signed<'_>, WireError> {
    if rest.len() < 2 + SIGNATURE_LEN + 1 {
        return Err(WireError::TooShort { len });
    }
    let declared = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if declared == 0 || declared > MAX_SIGNED_BODY || declared + SIGNATURE_LEN != rest.len() {
        return Err(WireError::BodyLength { declared, len });
    }
    let (body, signature) = rest.split_at(declared);
    let signature: &[u8; SIGNATURE_LEN] = signature
        .try_into()
        .map_err(|_| WireError::BodyLength { declared, len })?;
    Ok(Signed { body, signature })
}

fn finish(mut datagram: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&datagram);
    datagram.extend_from_slice(&crc.to_be_bytes());
    datagram
}

fn prefix(kind: u8, capacity: usize) -> Vec<u8> {
    let mut datagram = Vec::with_capacity(capacity);
    datagram.extend_from_slice(&MAGIC);
    datagram.push(VERSION);
    datagram.push(kind);
    datagram
}

fn signed(kind: u8, body: &[u8], signature: &[u8; SIGNATURE_LEN]) -> Result<Vec<u8>, WireError> {
    let declared = body.len();
    let Ok(length) = u16::try_from(declared) else {
        return Err(WireError::BodyLength {
            declared,
            len: declared + SIGNED_OVERHEAD,
        });
    };
    if declared == 0 || declared > MAX_SIGNED_BODY {
        return Err(WireError::BodyLength {
            declared,
            len: declared + SIGNED_OVERHEAD,
        });
    }
    let mut datagram = prefix(kind, declared + SIGNED_OVERHEAD);
    datagram.extend_from_slice(&length.to_be_bytes());
    datagram.extend_from_slice(body);
    datagram.extend_from_slice(signature);
    Ok(finish(datagram))
}

/// A header datagram for a signed header body.
pub fn encode_header(body: &[u8], signature: &[u8; SIGNATURE_LEN]) -> Result<Vec<u8>, WireError> {
    signed(TYPE_HEADER, body, signature)
}

/// A heartbeat datagram for a signed heartbeat body.
pub fn encode_heartbeat(
    body: &[u8],
    signature: &[u8; SIGNATURE_LEN],
) -> Result<Vec<u8>, WireError> {
    signed(TYPE_HEARTBEAT, body, signature)
}

/// Writes a symbol datagram into `out` (cleared first, so one buffer serves every symbol).
pub fn encode_symbol(out: &mut Vec<u8>, symbol: &Symbol<'_>) -> Result<(), WireError> {
    if symbol.esi > MAX_ESI {
        return Err(WireError::Esi(symbol.esi));
    }
    let len = symbol.data.len() + SYMBOL_OVERHEAD;
    if symbol.data.is_empty() || len > MAX_DATAGRAM {
        return Err(if symbol.data.is_empty() {
            WireError::TooShort { len }
        } else {
            WireError::TooLong { len }
        });
    }
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(TYPE_SYMBOL);
    out.extend_from_slice(&symbol.transfer);
    out.extend_from_slice(&symbol.block.to_be_bytes());
    out.extend_from_slice(&symbol.esi.to_be_bytes());
    out.extend_from_slice(symbol.data);
    let crc = crc32fast::hash(out);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol_datagram() -> Result<Vec<u8>, WireError> {
        let mut out = Vec::new();
        encode_symbol(
            &mut out,
            &Symbol {
                transfer: *b"transfer",
                block: 7,
                esi: 1234,
                data: &[0xab; 16],
            },
        )?;
        Ok(out)
    }

    #[test]
    fn every_type_reads_back_as_written() -> Result<(), WireError> {
        let datagram = symbol_datagram()?;
        assert_eq!(datagram.len(), 16 + SYMBOL_OVERHEAD);
        let Datagram::Symbol(symbol) = parse(&datagram)? else {
            panic!("not a symbol");
        };
        assert_eq!(
            (symbol.transfer, symbol.block, symbol.esi, symbol.data),
            (*b"transfer", 7, 1234, &[0xab; 16][..])
        );
        let header = encode_header(b"body", &[9; 64])?;
        assert_eq!(header.len(), 4 + SIGNED_OVERHEAD);
        assert_eq!(
            parse(&header)?,
            Datagram::Header(Signed {
                body: b"body",
                signature: &[9; 64]
            })
        );
        let heartbeat = encode_heartbeat(b"beat", &[3; 64])?;
        assert!(matches!(parse(&heartbeat)?, Datagram::Heartbeat(s) if s.body == b"beat"));
        Ok(())
    }

    #[test]
    fn any_flipped_bit_is_caught() -> Result<(), WireError> {
        for datagram in [symbol_datagram()?, encode_header(b"body", &[9; 64])?] {
            for byte in 0..datagram.len() {
                for bit in 0..8 {
                    let mut damaged = datagram.clone();
                    damaged[byte] ^= 1 << bit;
                    assert!(parse(&damaged).is_err(), "byte {byte} bit {bit}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn every_truncation_is_refused() -> Result<(), WireError> {
        for datagram in [symbol_datagram()?, encode_heartbeat(b"beat", &[3; 64])?] {
            for len in 0..datagram.len() {
                assert!(parse(&datagram[..len]).is_err(), "length {len}");
            }
        }
        Ok(())
    }

    #[test]
    fn foreign_and_future_datagrams_are_named() -> Result<(), WireError> {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(WireError::NotOurs));
        assert_eq!(parse(b"ZBDI"), Err(WireError::TooShort { len: 4 }));
        let mut future = symbol_datagram()?;
        future[4] = 2;
        assert_eq!(parse(&future), Err(WireError::Version(2)));
        let mut unknown = symbol_datagram()?;
        unknown[5] = 9;
        assert_eq!(parse(&unknown), Err(WireError::UnknownType(9)));
        assert!(matches!(
            parse(&vec![0; MAX_DATAGRAM + 1]),
            Err(WireError::TooLong { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_body_length_that_lies_is_refused_even_with_a_good_checksum() {
        for declared in [0u16, 3, 5, 2000] {
            let mut datagram = prefix(TYPE_HEADER, 100);
            datagram.extend_from_slice(&declared.to_be_bytes());
            datagram.extend_from_slice(b"body");
            datagram.extend_from_slice(&[1; 64]);
            let datagram = finish(datagram);
            assert!(
                matches!(parse(&datagram), Err(WireError::BodyLength { .. })),
                "{declared}"
            );
        }
    }

    #[test]
    fn an_esi_above_24_bits_is_refused_both_ways() {
        let mut out = Vec::new();
        let symbol = Symbol {
            transfer: [0; 8],
            block: 1,
            esi: MAX_ESI + 1,
            data: b"x",
        };
        assert_eq!(
            encode_symbol(&mut out, &symbol),
            Err(WireError::Esi(MAX_ESI + 1))
        );
        let mut datagram = prefix(TYPE_SYMBOL, 40);
        datagram.extend_from_slice(&[0; 8]);
        datagram.extend_from_slice(&1u32.to_be_bytes());
        datagram.extend_from_slice(&(MAX_ESI + 1).to_be_bytes());
        datagram.push(1);
        assert_eq!(parse(&finish(datagram)), Err(WireError::Esi(MAX_ESI + 1)));
    }
}
