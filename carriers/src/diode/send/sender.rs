//! The sending loop (docs/diode.md 5): header, table, then the data blocks a group of
//! `interleave` at a time, round after round; heartbeats throughout.

use std::io;
use std::net::UdpSocket;
use std::os::unix::fs::FileExt as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bundle_format::keys::SigningKey;

use super::super::announce::{BodyError, Heartbeat};
use super::super::fec::BlockEncoder;
use super::super::wire::{self, Symbol, TransferId, WireError};
use super::link::Link;
use super::pacer::Pacer;
use super::params::SendParams;
use super::prepare::Prepared;
use super::report::SendReport;
use super::schedule::{BlockRound, interleave};

/// The header datagram is repeated after this many symbol datagrams, so that a receiver
/// that starts (or restarts) in the middle of a transfer soon authenticates it.
pub const HEADER_EVERY: u32 = 256;

/// Copies of the header at the start of each round: one lost header must not make the
/// receiver drop the table's symbols that follow it.
pub const HEADERS_AT_START: u32 = 2;

/// Each repeated header is followed by one fresh repair symbol of the table, with ESIs
/// counting down from the top of the 24-bit space to [`wire::OUT_OF_ROUND_ESI`] (a round's own
/// stay below it), so that a
/// receiver that missed the round's first headers, or dropped the table's symbols while it
/// could not yet authenticate them, gets the table within the round.
pub const TABLE_TRICKLE_TOP: u32 = wire::MAX_ESI;

/// Fresh repair symbols of the table, one per repeated header.
struct TableTrickle {
    encoder: BlockEncoder,
    next: u32,
}

/// Why sending stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The socket refused a datagram.
    #[error("cannot send to the diode: {0}\nHint: check --to and the route to the diode")]
    Socket(#[source] io::Error),
    /// A block cannot be read from the bundle file.
    #[error(
        "cannot read block {block} of the bundle: {source}\nHint: a file must not change while it is sent"
    )]
    Read {
        /// The block.
        block: u32,
        /// The cause.
        source: io::Error,
    },
    /// A datagram cannot be made (a bug, or parameters out of the protocol's range).
    #[error("cannot make a datagram: {0}")]
    Encode(String),
}

impl From<WireError> for SendError {
    fn from(e: WireError) -> Self {
        Self::Encode(e.to_string())
    }
}

impl From<BodyError> for SendError {
    fn from(e: BodyError) -> Self {
        Self::Encode(e.to_string())
    }
}

/// One block in memory for one round: its bytes padded to whole symbols, and this round's
/// repair symbols, encoded once.
struct Loaded {
    round: BlockRound,
    data: Vec<u8>,
    repair: Vec<Vec<u8>>,
}

/// The sender: one socket, one key, one session.
#[derive(Debug)]
pub struct Sender {
    link: Link,
    key: SigningKey,
    params: SendParams,
    session: [u8; 8],
    next_heartbeat: Instant,
    current: Option<TransferId>,
    heartbeats: u64,
    buffer: Vec<u8>,
}

impl Sender {
    /// A sender over `socket` (connected to the receiver), signing with `key`; its session
    /// id is random.
    pub fn new(socket: UdpSocket, key: SigningKey, params: SendParams) -> io::Result<Self> {
        let mut session = [0u8; 8];
        getrandom::fill(&mut session).map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self {
            link: Link::new(socket, Pacer::new(params.rate_bps, params.ip_udp_overhead)),
            key,
            params,
            session,
            next_heartbeat: Instant::now(),
            current: None,
            heartbeats: 0,
            buffer: Vec::with_capacity(usize::from(params.symbol_size) + wire::SYMBOL_OVERHEAD),
        })
    }

    /// The key that signs the headers and heartbeats (to prepare transfers with).
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The parameters.
    pub fn params(&self) -> &SendParams {
        &self.params
    }

    /// Datagrams sent by this session.
    pub fn datagrams(&self) -> u64 {
        self.link.datagrams
    }

    /// Bytes of datagrams sent by this session.
    pub fn bytes(&self) -> u64 {
        self.link.bytes
    }

    /// Heartbeats sent by this session.
    pub fn heartbeats(&self) -> u64 {
        self.heartbeats
    }

    /// Idle: sends a heartbeat if one is due; returns how long until the next.
    pub fn tick(&mut self) -> Result<Duration, SendError> {
        let now = Instant::now();
        if now >= self.next_heartbeat {
            self.heartbeat()?;
        }
        Ok(self
            .next_heartbeat
            .saturating_duration_since(Instant::now()))
    }

    /// Sends `transfer` with all its rounds.
    pub fn send(&mut self, transfer: &Prepared) -> Result<SendReport, SendError> {
        self.send_rounds(transfer, 1, self.params.rounds)
    }

    fn blank(&self, transfer: &Prepared) -> SendReport {
        SendReport {
            transfer: hex::encode(transfer.signed.id),
            name: transfer.header.name.clone(),
            size: transfer.header.size,
            ..SendReport::default()
        }
    }

    /// Sends round `round` (1-based) of `transfer` (a carousel's next round).
    pub fn send_round(&mut self, transfer: &Prepared, round: u32) -> Result<SendReport, SendError> {
        self.send_rounds(transfer, round, round)
    }

    /// Sends rounds `first..=last` of `transfer`: each the header, the table, then every data
    /// block; round 1 sends source and repair symbols, later rounds fresh repair symbols only.
    ///
    /// The blocks are read and encoded by a second thread, one group ahead of the one being
    /// sent, so that encoding (tens of milliseconds a block) never stalls the link; the
    /// hand-over is a rendezvous, so at most two groups are in memory.
    fn send_rounds(
        &mut self,
        transfer: &Prepared,
        first: u32,
        last: u32,
    ) -> Result<SendReport, SendError> {
        let started = Instant::now();
        let before = (self.link.datagrams, self.link.bytes, self.heartbeats);
        let mut report = self.blank(transfer);
        report.rounds = last.saturating_sub(first) + 1;
        self.current = Some(transfer.signed.id);
        let params = self.params;
        std::thread::scope(|scope| -> Result<(), SendError> {
            let (groups, ready) = std::sync::mpsc::sync_channel::<Result<Group, SendError>>(0);
            scope.spawn(move || encode_rounds(transfer, &params, first, last, &groups));
            let mut since_header = 0u32;
            let mut trickle = TableTrickle {
                encoder: BlockEncoder::new(&transfer.table, params.symbol_size),
                next: TABLE_TRICKLE_TOP,
            };
            for group in ready {
                let group = group?;
                if let Some(table) = group.table {
                    for _ in 0..HEADERS_AT_START {
                        self.header(transfer, &mut since_header, &mut report)?;
                    }
                    self.send_group(
                        transfer,
                        &[table],
                        &mut since_header,
                        &mut trickle,
                        &mut report,
                    )?;
                }
                self.send_group(
                    transfer,
                    &group.blocks,
                    &mut since_header,
                    &mut trickle,
                    &mut report,
                )?;
            }
            Ok(())
        })?;
        report.datagrams = self.link.datagrams - before.0;
        report.bytes = self.link.bytes - before.1;
        report.heartbeats = self.heartbeats - before.2;
        report.finish(started.elapsed(), self.params.ip_udp_overhead);
        Ok(report)
    }

    fn send_group(
        &mut self,
        transfer: &Prepared,
        group: &[Loaded],
        since_header: &mut u32,
        trickle: &mut TableTrickle,
        report: &mut SendReport,
    ) -> Result<(), SendError> {
        let rounds: Vec<BlockRound> = group.iter().map(|l| l.round).collect();
        let size = usize::from(self.params.symbol_size);
        for (index, esi) in interleave(&rounds) {
            let Some(loaded) = group.get(index) else {
                continue;
            };
            let k = loaded.round.source;
            let data = if esi < k {
                report.source_symbols += 1;
                let start = esi as usize * size;
                loaded.data.get(start..start + size)
            } else {
                report.repair_symbols += 1;
                let first_repair = loaded.round.first.max(k);
                loaded
                    .repair
                    .get((esi - first_repair) as usize)
                    .map(Vec::as_slice)
            };
            let Some(data) = data else {
                return Err(SendError::Encode(format!(
                    "block {} has no symbol {esi}",
                    loaded.round.block
                )));
            };
            wire::encode_symbol(
                &mut self.buffer,
                &Symbol {
                    transfer: transfer.signed.id,
                    block: loaded.round.block,
                    esi,
                    data,
                },
            )?;
            self.link.send(&self.buffer).map_err(SendError::Socket)?;
            *since_header += 1;
            if *since_header >= HEADER_EVERY {
                self.header(transfer, since_header, report)?;
                self.table_symbol(transfer, trickle, report)?;
            }
            if Instant::now() >= self.next_heartbeat {
                self.heartbeat()?;
            }
        }
        Ok(())
    }

    fn header(
        &mut self,
        transfer: &Prepared,
        since_header: &mut u32,
        report: &mut SendReport,
    ) -> Result<(), SendError> {
        self.link
            .send(&transfer.signed.datagram)
            .map_err(SendError::Socket)?;
        report.headers += 1;
        *since_header = 0;
        Ok(())
    }

    fn table_symbol(
        &mut self,
        transfer: &Prepared,
        trickle: &mut TableTrickle,
        report: &mut SendReport,
    ) -> Result<(), SendError> {
        let esi = trickle.next;
        // Wraps after 2^23 repeated headers, never into a round's ESIs.
        trickle.next = if esi <= wire::OUT_OF_ROUND_ESI {
            TABLE_TRICKLE_TOP
        } else {
            esi - 1
        };
        let Some((esi, data)) = trickle.encoder.repair(esi, 1).into_iter().next() else {
            return Err(SendError::Encode(format!("the table has no symbol {esi}")));
        };
        wire::encode_symbol(
            &mut self.buffer,
            &Symbol {
                transfer: transfer.signed.id,
                block: 0,
                esi,
                data: &data,
            },
        )?;
        self.link.send(&self.buffer).map_err(SendError::Socket)?;
        report.repair_symbols += 1;
        Ok(())
    }

    fn heartbeat(&mut self) -> Result<(), SendError> {
        let interval = self.params.heartbeat;
        let beat = Heartbeat {
            key_id: self.key.public_key().key_id(),
            session: self.session,
            sent: self.link.datagrams + 1,
            unix_millis: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            interval_millis: u32::try_from(interval.as_millis())
                .unwrap_or(u32::MAX)
                .max(1),
            transfer: self.current,
        };
        let datagram = beat.sign(&self.key)?;
        self.link.send(&datagram).map_err(SendError::Socket)?;
        self.heartbeats += 1;
        self.next_heartbeat = Instant::now() + interval;
        Ok(())
    }

    /// Says no transfer is in hand any more (the next heartbeats carry none).
    pub fn idle(&mut self) {
        self.current = None;
    }
}

/// The blocks sent together: a group of `interleave` data blocks, and the table before the
/// round's first group.
struct Group {
    /// The table, with a round's first data group: the header and the table go first.
    table: Option<Loaded>,
    blocks: Vec<Loaded>,
}

/// The encoding thread: every group of rounds `first..=last`, in order, handed over one at a
/// time; stops at the first error (handed over too) or when the sender stops taking them.
fn encode_rounds(
    transfer: &Prepared,
    params: &SendParams,
    first: u32,
    last: u32,
    out: &std::sync::mpsc::SyncSender<Result<Group, SendError>>,
) {
    let blocks = u32::try_from(transfer.header.block_count()).unwrap_or(u32::MAX);
    let step = params.interleave.max(1);
    for round in first..=last {
        // The table travels with the round's first data group, so that the encoding of that
        // group overlaps the sending of the previous round's last one.
        let mut table = Some(load(params, 0, &transfer.table, round));
        let mut start = 1u32;
        while start <= blocks || table.is_some() {
            let end = start.saturating_add(step - 1).min(blocks);
            let group: Result<Vec<Loaded>, SendError> = (start..=end)
                .map(|block| {
                    read_block(transfer, block).map(|data| load(params, block, &data, round))
                })
                .collect();
            let failed = group.is_err();
            let group = group.map(|blocks| Group {
                table: table.take(),
                blocks,
            });
            if out.send(group).is_err() || failed || end == u32::MAX {
                return;
            }
            start = end + 1;
        }
    }
}

/// The block's bytes padded to whole symbols (when this round sends source symbols), and
/// this round's repair symbols, encoded once.
fn load(params: &SendParams, block: u32, bytes: &[u8], round: u32) -> Loaded {
    let size = usize::from(params.symbol_size);
    let k = u32::try_from(bytes.len().div_ceil(size)).unwrap_or(u32::MAX);
    let range = BlockRound::new(block, k, round, params.overhead_per_mille);
    let repair = match range.repair() {
        0 => Vec::new(),
        count => BlockEncoder::new(bytes, params.symbol_size)
            .repair(range.first.max(k), count)
            .into_iter()
            .map(|(_, symbol)| symbol)
            .collect(),
    };
    let mut data = Vec::new();
    if range.first < k {
        data.reserve_exact(k as usize * size);
        data.extend_from_slice(bytes);
        data.resize(k as usize * size, 0);
    }
    Loaded {
        round: range,
        data,
        repair,
    }
}

/// Reads data block `block` (1..=N) from the bundle file at its offset.
fn read_block(transfer: &Prepared, block: u32) -> Result<Vec<u8>, SendError> {
    let header = &transfer.header;
    let (Some(offset), Some(len)) = (header.block_offset(block), header.block_len(block)) else {
        return Err(SendError::Encode(format!("block {block} does not exist")));
    };
    let mut data = vec![0u8; usize::try_from(len).unwrap_or(0)];
    transfer
        .file
        .read_exact_at(&mut data, offset)
        .map_err(|source| SendError::Read { block, source })?;
    Ok(data)
}
