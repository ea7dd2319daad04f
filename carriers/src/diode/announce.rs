//! The signed bodies of the diode (docs/diode.md, section 3): the transfer header, which says
//! what is sent and how and carries the digest of the table of block hashes, and the
//! heartbeat. Fixed binary layouts, big-endian; decoding is total (any bytes give a value or
//! a named error) and bounded (nothing is longer than [`super::wire::MAX_SIGNED_BODY`]).

use bundle_format::channel::Channel;
use bundle_format::keys::{SigningDomain, SigningKey};
use bundle_format::manifest::BundleKind;
use bundle_format::names::{KeyId, ZoneId};
use sha2::{Digest as _, Sha256};

use super::wire::{self, TransferId};
use crate::outbox_name::OutboxName;

/// Version of the header and heartbeat bodies.
pub const BODY_VERSION: u8 = 1;
/// Symbols are multiples of this many bytes (the RaptorQ symbol alignment used).
pub const SYMBOL_ALIGNMENT: u16 = 8;
/// The smallest symbol: below it the per-datagram overhead dominates.
pub const MIN_SYMBOL_SIZE: u16 = 64;
/// The largest symbol that fits a UDP datagram with its overhead, aligned.
pub const MAX_SYMBOL_SIZE: u16 = 65_472;
/// The most source symbols in one data block: bounds a block's memory on both sides.
pub const MAX_BLOCK_SYMBOLS: u32 = 8_192;
/// The largest data block.
pub const MAX_BLOCK_BYTES: u32 = 16 * 1024 * 1024;
/// The most source symbols RaptorQ allows in one block (RFC 6330, K'max); bounds the table.
pub const MAX_TABLE_SYMBOLS: u64 = 56_403;
/// Bytes per block hash in the table (SHA-256).
pub const HASH_LEN: usize = 32;

const KIND_RELEASE: u8 = 1;
const KIND_RESULT: u8 = 2;

/// What a transfer carries and how: the signed header (docs/diode.md, 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferHeader {
    /// The key that signs the header.
    pub key_id: KeyId,
    /// The bundle's channel.
    pub channel: Channel,
    /// The bundle's sequence on the channel.
    pub sequence: u64,
    /// The bundle's file name in the inbox: an outbox name of this channel and sequence.
    pub name: String,
    /// The bundle's size in bytes (at least 1).
    pub size: u64,
    /// SHA-256 of the whole bundle file.
    pub digest: [u8; 32],
    /// Bytes per encoding symbol.
    pub symbol_size: u16,
    /// Bytes per data block (the last one may be shorter): a multiple of `symbol_size`.
    pub block_size: u32,
    /// SHA-256 of the table: the SHA-256 of each data block, in order.
    pub table_digest: [u8; 32],
    /// The repair overhead the sender sends per block per round, in thousandths (50 = 5%).
    pub overhead_per_mille: u16,
}

/// The sender's signed "alive" (docs/diode.md, 3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// The key that signs it.
    pub key_id: KeyId,
    /// A random id per sender process: a restart shows as a new session.
    pub session: [u8; 8],
    /// Datagrams this session has sent, this heartbeat included.
    pub sent: u64,
    /// The sender's clock, milliseconds since the Unix epoch (for logs only).
    pub unix_millis: u64,
    /// How long until the next heartbeat, in milliseconds.
    pub interval_millis: u32,
    /// The transfer being sent, if any.
    pub transfer: Option<TransferId>,
}

/// Why a signed body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body ends before a field.
    #[error("the body ends inside field {0}")]
    Truncated(&'static str),
    /// Bytes follow the last field.
    #[error("{0} bytes follow the body's last field")]
    Trailing(usize),
    /// Another body version.
    #[error("body version {0} is not supported (this receiver reads version 1)")]
    Version(u8),
    /// A field holds a value the protocol does not allow.
    #[error("field {field}: {reason}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> BodyError {
    BodyError::Field {
        field,
        reason: reason.into(),
    }
}

/// The transfer id of a header body: the first 8 bytes of SHA-256 over a fixed prefix and
/// the body. The same bundle sent with the same parameters keeps its id across sender
/// restarts, so a receiver goes on collecting where it was.
pub fn transfer_id(body: &[u8]) -> TransferId {
    let mut hash = Sha256::new();
    hash.update(b"zonebridge diode transfer id v1\0");
    hash.update(body);
    let digest = hash.finalize();
    let mut id = [0; wire::TRANSFER_ID_LEN];
    id.copy_from_slice(&digest[..wire::TRANSFER_ID_LEN]);
    id
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, name: &'static str) -> Result<&'a [u8], BodyError> {
        if self.bytes.len() < n {
            return Err(BodyError::Truncated(name));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, name: &'static str) -> Result<[u8; N], BodyError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, name)?);
        Ok(out)
    }
    fn u8(&mut self, name: &'static str) -> Result<u8, BodyError> {
        Ok(self.array::<1>(name)?[0])
    }
    fn u16(&mut self, name: &'static str) -> Result<u16, BodyError> {
        Ok(u16::from_be_bytes(self.array(name)?))
    }
    fn u32(&mut self, name: &'static str) -> Result<u32, BodyError> {
        Ok(u32::from_be_bytes(self.array(name)?))
    }
    fn u64(&mut self, name: &'static str) -> Result<u64, BodyError> {
        Ok(u64::from_be_bytes(self.array(name)?))
    }
    fn text(&mut self, name: &'static str) -> Result<&'a str, BodyError> {
        let len = usize::from(self.u8(name)?);
        std::str::from_utf8(self.take(len, name)?).map_err(|_| field(name, "not UTF-8"))
    }
    fn zone(&mut self, name: &'static str) -> Result<ZoneId, BodyError> {
        ZoneId::new(self.text(name)?).map_err(|e| field(name, e.to_string()))
    }
    fn end(self) -> Result<(), BodyError> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(BodyError::Trailing(n)),
        }
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    // Zone ids are at most 64 bytes and names are checked to be at most 255 before encoding.
    let len = u8::try_from(text.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(&text.as_bytes()[..usize::from(len)]);
}

impl TransferHeader {
    /// The body's bytes (what is signed).
    pub fn encode(&self) -> Result<Vec<u8>, BodyError> {
        self.check()?;
        let mut out = Vec::with_capacity(512);
        out.push(BODY_VERSION);
        out.extend_from_slice(self.key_id.as_bytes());
        out.push(match self.channel.kind {
            BundleKind::Release => KIND_RELEASE,
            BundleKind::Result => KIND_RESULT,
        });
        put_text(&mut out, self.channel.source.as_str());
        put_text(&mut out, self.channel.target.as_str());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        put_text(&mut out, &self.name);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.symbol_size.to_be_bytes());
        out.extend_from_slice(&self.block_size.to_be_bytes());
        out.extend_from_slice(&self.table_digest);
        out.extend_from_slice(&self.overhead_per_mille.to_be_bytes());
        Ok(out)
    }

    /// Reads a body and checks every rule of docs/diode.md 3.1 that needs no key or policy.
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        let mut r = Reader { bytes: body };
        let version = r.u8("version")?;
        if version != BODY_VERSION {
            return Err(BodyError::Version(version));
        }
        let key_id = KeyId::from_bytes(r.array("key_id")?);
        let kind = match r.u8("kind")? {
            KIND_RELEASE => BundleKind::Release,
            KIND_RESULT => BundleKind::Result,
            other => {
                return Err(field(
                    "kind",
                    format!("{other} is neither 1 (release) nor 2 (result)"),
                ));
            }
        };
        let source = r.zone("source_zone")?;
        let target = r.zone("target_zone")?;
        let header = Self {
            key_id,
            channel: Channel {
                source,
                target,
                kind,
            },
            sequence: r.u64("sequence")?,
            name: r.text("name")?.to_owned(),
            size: r.u64("size")?,
            digest: r.array("digest")?,
            symbol_size: r.u16("symbol_size")?,
            block_size: r.u32("block_size")?,
            table_digest: r.array("table_digest")?,
            overhead_per_mille: r.u16("overhead")?,
        };
        r.end()?;
        header.check()?;
        Ok(header)
    }

    fn check(&self) -> Result<(), BodyError> {
        if self.channel.source == self.channel.target {
            return Err(field("target_zone", "equals the source zone"));
        }
        let name = OutboxName::parse(&self.name).ok_or_else(|| {
            field(
                "name",
                format!(
                    "{:?} is not a bundle name SOURCE~TARGET~KIND~SEQUENCE~LABEL.zb",
                    self.name
                ),
            )
        })?;
        if name.channel != self.channel || name.sequence != self.sequence {
            return Err(field(
                "name",
                format!(
                    "{:?} names another channel or sequence than the header",
                    self.name
                ),
            ));
        }
        if self.size == 0 {
            return Err(field("size", "is 0; a bundle is never empty"));
        }
        if !(MIN_SYMBOL_SIZE..=MAX_SYMBOL_SIZE).contains(&self.symbol_size)
            || !self.symbol_size.is_multiple_of(SYMBOL_ALIGNMENT)
        {
            return Err(field(
                "symbol_size",
                format!(
                    "{} is not a multiple of {SYMBOL_ALIGNMENT} in {MIN_SYMBOL_SIZE}..={MAX_SYMBOL_SIZE}",
                    self.symbol_size
                ),
            ));
        }
        let symbols = self.block_size / u32::from(self.symbol_size);
        if self.block_size == 0
            || !self.block_size.is_multiple_of(u32::from(self.symbol_size))
            || symbols > MAX_BLOCK_SYMBOLS
            || self.block_size > MAX_BLOCK_BYTES
        {
            return Err(field(
                "block_size",
                format!(
                    "{} is not a multiple of the symbol size of at most {MAX_BLOCK_SYMBOLS} symbols and {MAX_BLOCK_BYTES} bytes",
                    self.block_size
                ),
            ));
        }
        if self.table_symbols() > MAX_TABLE_SYMBOLS || self.block_count() > u64::from(u32::MAX) {
            return Err(field(
                "size",
                format!(
                    "{} bytes in blocks of {} make a table of block hashes too large for one RaptorQ block; use larger blocks",
                    self.size, self.block_size
                ),
            ));
        }
        Ok(())
    }

    /// Number of data blocks (blocks 1..=N).
    pub fn block_count(&self) -> u64 {
        self.size.div_ceil(u64::from(self.block_size.max(1)))
    }

    /// Bytes of the table of block hashes (block 0).
    pub fn table_len(&self) -> u64 {
        self.block_count() * HASH_LEN as u64
    }

    fn table_symbols(&self) -> u64 {
        self.table_len()
            .div_ceil(u64::from(self.symbol_size.max(1)))
    }

    /// The bytes of `block` (0: the table; 1..=N: data), or `None` for a block that does not
    /// exist.
    pub fn block_len(&self, block: u32) -> Option<u64> {
        let count = self.block_count();
        match u64::from(block) {
            0 => Some(self.table_len()),
            b if b <= count => {
                let start = (b - 1) * u64::from(self.block_size);
                Some((self.size - start).min(u64::from(self.block_size)))
            }
            _ => None,
        }
    }

    /// Where data block `block` (1..=N) starts in the bundle.
    pub fn block_offset(&self, block: u32) -> Option<u64> {
        (block >= 1 && u64::from(block) <= self.block_count())
            .then(|| u64::from(block - 1) * u64::from(self.block_size))
    }

    /// The source symbol count of `block` (K).
    pub fn block_symbols(&self, block: u32) -> Option<u32> {
        let len = self.block_len(block)?;
        u32::try_from(len.div_ceil(u64::from(self.symbol_size))).ok()
    }

    /// The signed header datagram.
    pub fn sign(&self, key: &SigningKey) -> Result<SignedHeader, BodyError> {
        let body = self.encode()?;
        let signature = key.sign_in(SigningDomain::DiodeHeader, &body);
        let datagram =
            wire::encode_header(&body, &signature).map_err(|e| field("body", e.to_string()))?;
        Ok(SignedHeader {
            id: transfer_id(&body),
            datagram,
        })
    }
}

/// A header ready to send: its transfer id and its datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// The transfer id its symbols carry.
    pub id: TransferId,
    /// The header datagram, sent at the start and repeated.
    pub datagram: Vec<u8>,
}

/// SHA-256 of each block, concatenated: the table (block 0) the header's `table_digest` names.
pub fn table_digest(table: &[u8]) -> [u8; 32] {
    Sha256::digest(table).into()
}

impl Heartbeat {
    /// The body's bytes (what is signed).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(BODY_VERSION);
        out.extend_from_slice(self.key_id.as_bytes());
        out.extend_from_slice(&self.session);
        out.extend_from_slice(&self.sent.to_be_bytes());
        out.extend_from_slice(&self.unix_millis.to_be_bytes());
        out.extend_from_slice(&self.interval_millis.to_be_bytes());
        match self.transfer {
            Some(id) => {
                out.push(1);
                out.extend_from_slice(&id);
            }
            None => out.push(0),
        }
        out
    }

    /// Reads a body (docs/diode.md 3.2).
    pub fn decode(body: &[u8]) -> Result<Self, BodyError> {
        let mut r = Reader { bytes: body };
        let version = r.u8("version")?;
        if version != BODY_VERSION {
            return Err(BodyError::Version(version));
        }
        let beat = Self {
            key_id: KeyId::from_bytes(r.array("key_id")?),
            session: r.array("session")?,
            sent: r.u64("sent")?,
            unix_millis: r.u64("unix_millis")?,
            interval_millis: r.u32("interval_millis")?,
            transfer: match r.u8("has_transfer")? {
                0 => None,
                1 => Some(r.array("transfer")?),
                other => return Err(field("has_transfer", format!("{other} is neither 0 nor 1"))),
            },
        };
        r.end()?;
        if beat.interval_millis == 0 {
            return Err(field("interval_millis", "is 0"));
        }
        Ok(beat)
    }

    /// The signed heartbeat datagram.
    pub fn sign(&self, key: &SigningKey) -> Result<Vec<u8>, BodyError> {
        let body = self.encode();
        let signature = key.sign_in(SigningDomain::DiodeHeartbeat, &body);
        wire::encode_heartbeat(&body, &signature).map_err(|e| field("body", e.to_string()))
    }
}

#[cfg(test)]
#[path = "announce_tests.rs"]
mod tests;
