//! The receiving side of the diode (docs/diode.md, section 6). The caller feeds it every
//! datagram and ticks it; it returns events to log. No network here, so all of it is tested
//! with crafted datagrams.
//!
//! ```text
//! datagram -> wire::parse --(damaged: drop, count)
//!   header    -> identical to one authenticated? yes: touch its transfer
//!                no: decode, key listed? (no: forged) -> token bucket (2,000/s) -> signature
//!                    and policy (trust::authenticate_header) -> bounds: --max-bundle,
//!                    --max-transfers, --max-disk and free space -> open the transfer:
//!                    .INBOX.partial/diode-<id>.{part,header}
//!   symbol    -> transfer known? (no: drop) -> block decoder (lazily; --max-memory across
//!                transfers, the least advanced block gives way) -> decoded: table against
//!                header.table_digest, data block against the table (mismatch: discard,
//!                wait for more) -> pwrite into .part
//!                every block verified -> fsync, SHA-256 of the file = header.digest ->
//!                publish into the inbox (never replacing) -> delivered log
//!   heartbeat -> token bucket -> trust::authenticate_heartbeat -> session, link loss
//! tick      -> idle transfers closed, link silence, rate-limited drop reports
//! ```

pub mod bucket;
pub mod config;
pub mod delivered;
pub mod drops;
pub mod event;
pub mod link;
pub mod prefix;
pub mod stats;
pub mod store;
pub mod transfer;
pub mod waiting;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use bundle_format::policy::TrustPolicy;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use self::bucket::TokenBucket;
pub use self::config::Config;
use self::delivered::{DeliveredLog, name_taken};
use self::drops::Drops;
pub use self::event::{Delivery, Event};
use self::link::{Link, LinkChange};
use self::store::Partial;
use self::transfer::{Outcome, Transfer};
use super::announce::{self, TransferHeader};
use super::trust;
use super::wire::{self, Datagram, Signed, Symbol, TransferId};

/// Header datagrams remembered as authenticated (or as delivered), so that repeats cost a
/// hash, not a signature check. Cleared when full: the next repeat is checked again.
pub const HEADER_CACHE: usize = 4096;
/// Blocks decoded at once per transfer: the sender interleaves a few; more is a flood.
pub const MAX_COLLECTING: usize = 1024;

/// Why the receiver cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The inbox's staging folder cannot be made.
    #[error(transparent)]
    Staging(#[from] crate::publish::PublishError),
    /// The state folder or its delivered log cannot be read or written.
    #[error(
        "cannot use the state folder {path}: {source}\nHint: give --state a folder this user may write, on any file system"
    )]
    State {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The saved partial files cannot be listed.
    #[error("cannot list the partial transfers in {path}: {source}")]
    Partials {
        /// The staging folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
enum Cached {
    Admitted(Box<TransferHeader>, TransferId),
    Delivered,
}

/// Figures since the start, for the metrics file.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Datagrams received.
    pub datagrams: u64,
    /// Bundles delivered.
    pub delivered: u64,
    /// Bytes of bundles delivered.
    pub delivered_bytes: u64,
    /// Headers refused by the policy or their signature.
    pub forged_headers: u64,
    /// When the last bundle was delivered.
    pub last_delivery: Option<OffsetDateTime>,
}

/// The receiver.
#[derive(Debug)]
pub struct Receiver {
    config: Config,
    policy: TrustPolicy,
    staging: PathBuf,
    delivered: DeliveredLog,
    transfers: HashMap<TransferId, Transfer>,
    cache: HashMap<[u8; 32], Cached>,
    bucket: TokenBucket,
    memory: u64,
    drops: Drops,
    link: Link,
    totals: Totals,
    waiting: waiting::Waiting,
}

fn hex_id(id: &TransferId) -> String {
    hex::encode(id)
}

impl Receiver {
    /// Starts a receiver: makes the staging and state folders, reads the delivered log, and
    /// takes up the transfers saved there (each header authenticated again and each block
    /// on disk rehashed; what fails is removed). Returns the events of that.
    pub fn open(
        config: Config,
        policy: TrustPolicy,
        now: Instant,
    ) -> Result<(Self, Vec<Event>), ReceiveError> {
        let staging = crate::publish::staging_dir(&config.inbox)?;
        let delivered =
            DeliveredLog::open(&config.state).map_err(|source| ReceiveError::State {
                path: config.state.clone(),
                source,
            })?;
        let saved = store::saved(&staging).map_err(|source| ReceiveError::Partials {
            path: staging.clone(),
            source,
        })?;
        let mut receiver = Self {
            bucket: TokenBucket::new(config.header_checks_per_second, now),
            config,
            policy,
            staging,
            delivered,
            transfers: HashMap::new(),
            cache: HashMap::new(),
            memory: 0,
            drops: Drops::default(),
            link: Link::new(now),
            totals: Totals::default(),
            waiting: waiting::Waiting::default(),
        };
        let mut events = Vec::new();
        for id in saved {
            receiver.resume(&id, now, &mut events);
        }
        Ok((receiver, events))
    }

    fn resume(&mut self, id: &TransferId, now: Instant, events: &mut Vec<Event>) {
        let limit = (wire::MAX_SIGNED_BODY + wire::SIGNED_OVERHEAD) as u64;
        let header = store::read_header(&self.staging, id, limit)
            .ok()
            .and_then(|datagram| {
                let Ok(Datagram::Header(signed)) = wire::parse(&datagram) else {
                    return None;
                };
                let header =
                    trust::authenticate_header(&self.policy, &signed, OffsetDateTime::now_utc())
                        .ok()?;
                (announce::transfer_id(signed.body) == *id).then_some((header, datagram.clone()))
            });
        let Some((header, datagram)) = header else {
            // Not authenticated any more (the policy changed, or the file is damaged).
            store::remove(&self.staging, id);
            return;
        };
        if let Err(reason) = self.admissible(&header) {
            self.drops.count(reason.0, Some(reason.1));
            store::remove(&self.staging, id);
            return;
        }
        if self.disk_held().saturating_add(header.size) > self.config.max_disk {
            self.drops.count(
                "disk-full",
                Some(format!("{} does not fit --max-disk any more", header.name)),
            );
            store::remove(&self.staging, id);
            return;
        }
        let partial = match Partial::open(&self.staging, id, header.size, &datagram) {
            Ok(p) => p,
            Err(e) => {
                events.push(self.failed(id, &header.name, &e.to_string()));
                return;
            }
        };
        let key = Sha256::digest(&datagram).into();
        self.remember(key, Cached::Admitted(Box::new(header.clone()), *id));
        let mut transfer = Transfer::new(*id, header, datagram, partial, now);
        let resumed = match transfer.resume(&mut self.memory) {
            Ok(n) => n,
            Err(e) => {
                events.push(self.failed(id, &transfer.header.name, &e.to_string()));
                return;
            }
        };
        if self.active() >= self.config.max_transfers {
            // Kept on disk; its table is read again when it is collected again.
            self.memory = self.memory.saturating_sub(transfer.close());
        }
        events.push(Event::Opened {
            transfer: hex_id(id),
            name: transfer.header.name.clone(),
            size: transfer.header.size,
            resumed_blocks: resumed,
        });
        let complete = transfer.missing == 0 && transfer.table.is_some();
        self.transfers.insert(*id, transfer);
        if complete {
            self.deliver(id, events);
        }
    }

    /// Figures since the start.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// Drops since the start, by reason.
    pub fn drops(&self) -> &std::collections::BTreeMap<&'static str, u64> {
        self.drops.totals()
    }

    /// Bytes of memory held in symbols, pending blocks and tables.
    pub fn memory_held(&self) -> u64 {
        self.memory
    }

    /// The same, counted again from every transfer (tests hold the running figure to it).
    pub fn memory_recounted(&self) -> u64 {
        self.transfers.values().map(Transfer::memory).sum()
    }

    /// Bytes of partial files on disk (their full sizes).
    pub fn disk_held(&self) -> u64 {
        self.transfers.values().map(|t| t.header.size).sum()
    }

    /// Transfers known (collected or closed with their file kept).
    pub fn transfers(&self) -> usize {
        self.transfers.len()
    }

    /// Whether the link is reported silent.
    pub fn link_silent(&self) -> bool {
        self.link.silent()
    }

    /// Link-level loss between the last two heartbeats, 0..=1.
    pub fn link_loss(&self) -> Option<f64> {
        self.link.loss
    }

    fn active(&self) -> usize {
        self.transfers.values().filter(|t| t.active).count()
    }

    /// Handles one datagram received at `now`.
    pub fn datagram(&mut self, bytes: &[u8], now: Instant) -> Vec<Event> {
        self.totals.datagrams += 1;
        self.link.datagram();
        let mut events = Vec::new();
        match wire::parse(bytes) {
            Err(e) => self.drops.count(wire_reason(&e), None),
            Ok(Datagram::Header(signed)) => self.header(bytes, &signed, now, &mut events),
            Ok(Datagram::Symbol(symbol)) => self.symbol(&symbol, bytes, now, &mut events),
            Ok(Datagram::Heartbeat(signed)) => self.heartbeat(&signed, now, &mut events),
        }
        self.report(now, &mut events);
        events
    }

    /// Time passes: idle transfers are closed, silence reported, drops reported.
    pub fn tick(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        let idle: Vec<TransferId> = self
            .transfers
            .values()
            .filter(|t| t.active && now.saturating_duration_since(t.last) >= self.config.idle)
            .map(|t| t.id)
            .collect();
        for id in idle {
            if let Some(t) = self.transfers.get_mut(&id) {
                self.memory = self.memory.saturating_sub(t.close());
                events.push(Event::Closed {
                    transfer: hex_id(&id),
                    name: t.header.name.clone(),
                    verified_blocks: t.header.block_count() - t.missing,
                    blocks: t.header.block_count(),
                });
            }
        }
        Self::link_change(self.link.tick(now, self.config.silence), &mut events);
        self.report(now, &mut events);
        events
    }

    fn report(&mut self, now: Instant, events: &mut Vec<Event>) {
        if let Some(report) = self.drops.report(now) {
            events.push(Event::Ignored(report));
        }
    }

    fn link_change(change: Option<LinkChange>, events: &mut Vec<Event>) {
        match change {
            Some(LinkChange::Silent(d)) => events.push(Event::LinkSilent(d)),
            Some(LinkChange::Back(d)) => events.push(Event::LinkBack(d)),
            Some(LinkChange::Session { session, restarted }) => {
                events.push(Event::Session { session, restarted });
            }
            None => {}
        }
    }

    fn remember(&mut self, key: [u8; 32], value: Cached) {
        if self.cache.len() >= HEADER_CACHE {
            self.cache.clear();
        }
        self.cache.insert(key, value);
    }

    fn header(&mut self, bytes: &[u8], signed: &Signed<'_>, now: Instant, events: &mut Vec<Event>) {
        let key: [u8; 32] = Sha256::digest(bytes).into();
        let (header, id) = match self.cache.get(&key) {
            Some(Cached::Delivered) => {
                let change = self.link.authenticated(now);
                Self::link_change(change, events);
                self.drops.count("already-delivered", None);
                return;
            }
            Some(Cached::Admitted(header, id)) => ((**header).clone(), *id),
            None => {
                // Cheap checks first: a body that does not decode, or names a key the
                // policy does not list, costs no signature check and no token.
                let decoded = match TransferHeader::decode(signed.body) {
                    Ok(h) => h,
                    Err(e) => {
                        self.drops.count("bad-header", Some(format!("header: {e}")));
                        return;
                    }
                };
                if self.policy.key(&decoded.key_id).is_none() {
                    self.totals.forged_headers += 1;
                    let e = trust::Untrusted::UnknownKey(decoded.key_id);
                    self.drops
                        .count("forged-header", Some(format!("header: {e}")));
                    return;
                }
                if !self.bucket.take(now) {
                    self.drops.count("header-rate", None);
                    return;
                }
                match trust::authenticate_header(&self.policy, signed, OffsetDateTime::now_utc()) {
                    Ok(header) => {
                        let id = announce::transfer_id(signed.body);
                        self.remember(key, Cached::Admitted(Box::new(header.clone()), id));
                        (header, id)
                    }
                    Err(e) => {
                        self.totals.forged_headers += 1;
                        self.drops
                            .count("forged-header", Some(format!("header: {e}")));
                        return;
                    }
                }
            }
        };
        let change = self.link.authenticated(now);
        Self::link_change(change, events);
        self.admit(key, header, id, bytes, now, events);
    }

    /// Whether a bundle of this header may be collected at all (not whether there is room
    /// now): (reason, text) if not.
    fn admissible(&self, header: &TransferHeader) -> Result<(), (&'static str, String)> {
        if self.delivered.contains(&header.digest) || name_taken(&self.config.inbox, &header.name) {
            return Err((
                "already-delivered",
                format!("{} was delivered before", header.name),
            ));
        }
        if header.size > self.config.max_bundle {
            return Err((
                "too-big",
                format!(
                    "{} has {} bytes, over --max-bundle {}",
                    header.name, header.size, self.config.max_bundle
                ),
            ));
        }
        let block = u64::from(header.block_size);
        if header.table_len() > self.config.max_memory / 8 || block > self.config.max_memory / 4 {
            return Err((
                "too-big",
                format!(
                    "{} has a table of {} bytes and blocks of {block}: too much for --max-memory {}",
                    header.name,
                    header.table_len(),
                    self.config.max_memory
                ),
            ));
        }
        Ok(())
    }

    fn admit(
        &mut self,
        key: [u8; 32],
        header: TransferHeader,
        id: TransferId,
        datagram: &[u8],
        now: Instant,
        events: &mut Vec<Event>,
    ) {
        let active = self.active();
        if let Some(t) = self.transfers.get_mut(&id) {
            t.stats.datagram(now);
            t.last = now;
            if !t.active && active < self.config.max_transfers {
                t.reopen(&mut self.memory, self.config.max_memory);
            }
            return;
        }
        if let Err((reason, text)) = self.admissible(&header) {
            if reason == "already-delivered" {
                self.remember(key, Cached::Delivered);
            }
            self.drops.count(reason, Some(text));
            return;
        }
        if active >= self.config.max_transfers {
            self.drops.count(
                "too-many-transfers",
                Some(format!(
                    "{} waits: --max-transfers {} are being collected",
                    header.name, self.config.max_transfers
                )),
            );
            return;
        }
        if !self.make_room(header.size) {
            self.drops.count(
                "disk-full",
                Some(format!(
                    "{} ({} bytes) does not fit --max-disk {} or the free space of {}",
                    header.name,
                    header.size,
                    self.config.max_disk,
                    self.staging.display()
                )),
            );
            return;
        }
        match Partial::open(&self.staging, &id, header.size, datagram) {
            Ok(partial) => {
                events.push(Event::Opened {
                    transfer: hex_id(&id),
                    name: header.name.clone(),
                    size: header.size,
                    resumed_blocks: 0,
                });
                let mut transfer = Transfer::new(id, header, datagram.to_vec(), partial, now);
                transfer.stats.datagram(now);
                self.transfers.insert(id, transfer);
                self.replay_waiting(&id, now, events);
            }
            Err(e) => {
                store::remove(&self.staging, &id);
                self.drops.count(
                    "disk-error",
                    Some(format!(
                        "cannot open the partial file of {}: {e}",
                        header.name
                    )),
                );
            }
        }
    }

    /// Feeds the symbols of `id` that arrived before its header.
    fn replay_waiting(&mut self, id: &TransferId, now: Instant, events: &mut Vec<Event>) {
        for datagram in self.waiting.take(id) {
            if let Ok(Datagram::Symbol(symbol)) = wire::parse(&datagram) {
                self.symbol(&symbol, &datagram, now, events);
            }
            if !self.transfers.contains_key(id) {
                // Delivered (or failed) along the way: the rest is surplus.
                break;
            }
        }
    }

    /// Frees disk for `size` more bytes by removing closed transfers, oldest first; false
    /// if it cannot be done.
    fn make_room(&mut self, size: u64) -> bool {
        loop {
            let held = self.disk_held();
            let free = store::free_bytes(&self.staging).unwrap_or(0);
            if held.saturating_add(size) <= self.config.max_disk && size < free {
                return true;
            }
            let oldest = self
                .transfers
                .values()
                .filter(|t| !t.active)
                .min_by_key(|t| t.last)
                .map(|t| t.id);
            let Some(id) = oldest else {
                return false;
            };
            self.forget(&id);
        }
    }

    /// Removes a transfer and its files.
    fn forget(&mut self, id: &TransferId) {
        if let Some(t) = self.transfers.remove(id) {
            self.memory = self.memory.saturating_sub(t.memory());
        }
        store::remove(&self.staging, id);
    }

    fn symbol(&mut self, symbol: &Symbol<'_>, bytes: &[u8], now: Instant, events: &mut Vec<Event>) {
        let active = self.active();
        let Some(t) = self.transfers.get_mut(&symbol.transfer) else {
            match self.waiting.keep(symbol.transfer, bytes) {
                waiting::Kept::Delivered => self.drops.count("already-delivered", None),
                waiting::Kept::Waits { evicted } => {
                    for _ in 0..evicted {
                        self.drops.count("unknown-transfer", None);
                    }
                }
            }
            return;
        };
        if !t.active {
            if active >= self.config.max_transfers {
                self.drops.count("too-many-transfers", None);
                return;
            }
            t.reopen(&mut self.memory, self.config.max_memory);
        }
        t.last = now;
        t.stats.datagram(now);
        t.stats.symbols += 1;
        if t.header.block_len(symbol.block).is_none() {
            self.drops.count("no-such-block", None);
            return;
        }
        if t.block_done(symbol.block) {
            t.stats.surplus += 1;
            return;
        }
        let size = u64::from(t.header.symbol_size);
        if !self.room_for_symbol(symbol.transfer, symbol.block, size) {
            self.drops.count("memory-full", None);
            return;
        }
        let max_memory = self.config.max_memory;
        let Some(t) = self.transfers.get_mut(&symbol.transfer) else {
            return;
        };
        match t.feed(
            symbol.block,
            symbol.esi,
            symbol.data,
            &mut self.memory,
            max_memory,
        ) {
            Ok(Outcome::Kept) => {}
            Ok(Outcome::Invalid(reason)) => self.drops.count(reason, None),
            Ok(Outcome::Mismatch) => self.drops.count(
                "block-mismatch",
                Some(format!(
                    "block {} of {} decoded to bytes that do not match its hash (a damaged symbol with a valid CRC); collecting it again",
                    symbol.block, t.header.name
                )),
            ),
            Ok(Outcome::Complete) => self.deliver(&symbol.transfer, events),
            Err(e) => {
                let name = t.header.name.clone();
                let event = self.failed(&symbol.transfer, &name, &e.to_string());
                events.push(event);
            }
        }
    }

    /// Makes room for one more symbol of `block` of `id`: while memory is short, the
    /// block with the fewest symbols gives way; false if that block is the one to feed (or
    /// it would be) and the symbol must be dropped instead.
    fn room_for_symbol(&mut self, id: TransferId, block: u32, size: u64) -> bool {
        let own = self
            .transfers
            .get(&id)
            .and_then(|t| t.collecting.get(&block))
            .map_or(0, |c| c.decoder.received());
        let collecting = self.transfers.get(&id).map_or(0, |t| t.collecting.len());
        if own == 0
            && collecting >= MAX_COLLECTING
            && !self.evict_weakest(Some(id), own, (id, block))
        {
            return false;
        }
        while self.memory.saturating_add(size) > self.config.max_memory {
            if self.evict_weakest(None, own, (id, block)) {
                continue;
            }
            // The table comes first: without it no pending block can ever be checked.
            let freed = match self.transfers.get_mut(&id) {
                Some(t) if block == 0 => t.drop_pending(),
                _ => 0,
            };
            if freed == 0 {
                return false;
            }
            self.memory = self.memory.saturating_sub(freed);
        }
        true
    }

    /// Evicts the block with the fewest symbols (of `only` transfer, or of any), if it has
    /// fewer than `than` symbols and is not `keep`; false if there is none such. Strictly
    /// fewer: blocks of equal progress would otherwise evict each other and none finish.
    fn evict_weakest(
        &mut self,
        only: Option<TransferId>,
        than: usize,
        keep: (TransferId, u32),
    ) -> bool {
        let weakest = self
            .transfers
            .values()
            .filter(|t| only.is_none_or(|o| o == t.id))
            .flat_map(|t| {
                t.collecting
                    .iter()
                    .map(move |(b, c)| (c.decoder.received(), t.id, *b))
            })
            .filter(|(_, id, b)| (*id, *b) != keep)
            .min_by_key(|(received, _, _)| *received);
        match weakest {
            Some((received, id, block)) if received < than => {
                if let Some(t) = self.transfers.get_mut(&id) {
                    self.memory = self.memory.saturating_sub(t.evict(block));
                }
                true
            }
            _ => false,
        }
    }

    fn heartbeat(&mut self, signed: &Signed<'_>, now: Instant, events: &mut Vec<Event>) {
        let key_known = announce::Heartbeat::decode(signed.body)
            .ok()
            .is_some_and(|b| self.policy.key(&b.key_id).is_some());
        if !key_known {
            self.drops.count("forged-heartbeat", None);
            return;
        }
        if !self.bucket.take(now) {
            self.drops.count("header-rate", None);
            return;
        }
        match trust::authenticate_heartbeat(&self.policy, signed, OffsetDateTime::now_utc()) {
            Ok(beat) => {
                for change in self.link.heartbeat(&beat, now) {
                    Self::link_change(Some(change), events);
                }
            }
            Err(e) => self
                .drops
                .count("forged-heartbeat", Some(format!("heartbeat: {e}"))),
        }
    }

    fn failed(&mut self, id: &TransferId, name: &str, error: &str) -> Event {
        // The files go: a later repetition starts the transfer over.
        self.forget(id);
        Event::Failed {
            transfer: hex_id(id),
            name: name.to_owned(),
            error: error.to_owned(),
        }
    }

    fn deliver(&mut self, id: &TransferId, events: &mut Vec<Event>) {
        let Some(t) = self.transfers.get_mut(id) else {
            return;
        };
        let name = t.header.name.clone();
        let path = t.partial.path();
        let digest = t.header.digest;
        if let Err(e) = t.partial.sync().and_then(|()| t.whole_digest()).and_then(|d| {
            if d == Some(digest) {
                Ok(())
            } else {
                Err(std::io::Error::other(
                    "the file's SHA-256 is not the header's, though every block matched the table: the signer announced a table of another bundle",
                ))
            }
        }) {
            let event = self.failed(id, &name, &e.to_string());
            events.push(event);
            return;
        }
        let (placed, already_there) =
            match crate::publish::publish_file(&path, &self.config.inbox, &name, false) {
                Ok(p) => (p, false),
                Err(crate::publish::PublishError::Exists(p)) => (p, true),
                Err(e) => {
                    // Kept: the next start (or repetition) tries again.
                    events.push(Event::Failed {
                        transfer: hex_id(id),
                        name,
                        error: e.to_string(),
                    });
                    return;
                }
            };
        if let Err(e) = self.delivered.record(&digest, &name) {
            // The name in the inbox (or done/) still stops a second delivery.
            events.push(Event::Failed {
                transfer: hex_id(id),
                name: name.clone(),
                error: format!("delivered, but the delivered log cannot be written: {e}"),
            });
        }
        let Some(t) = self.transfers.remove(id) else {
            return;
        };
        self.memory = self.memory.saturating_sub(t.memory());
        store::remove(&self.staging, id);
        self.waiting.delivered(*id);
        self.remember(Sha256::digest(&t.datagram).into(), Cached::Delivered);
        self.totals.delivered += 1;
        self.totals.delivered_bytes += t.header.size;
        self.totals.last_delivery = Some(OffsetDateTime::now_utc());
        let stats = &t.stats;
        let duration = stats.duration();
        let secs = duration.as_secs_f64();
        events.push(Event::Delivered(Delivery {
            transfer: hex_id(id),
            name: name.clone(),
            path: placed,
            size: t.header.size,
            datagrams: stats.datagrams,
            symbols: stats.symbols,
            duplicates: stats.duplicates,
            loss_percent: stats.loss() * 100.0,
            repair_used: stats.repair_used,
            recollected: stats.recollected,
            late_blocks: stats.late_blocks,
            duration,
            goodput_bps: if secs > 0.0 {
                t.header.size as f64 * 8.0 / secs
            } else {
                0.0
            },
            already_there,
        }));
        if let Some(needed) = stats.advice() {
            events.push(Event::Advice {
                transfer: hex_id(id),
                name,
                loss_percent: stats.loss() * 100.0,
                overhead_percent: f64::from(stats.overhead_per_mille) / 10.0,
                needed_percent: needed,
                late_blocks: stats.late_blocks,
            });
        }
    }
}

fn wire_reason(e: &wire::WireError) -> &'static str {
    use wire::WireError as W;
    match e {
        W::Checksum => "crc",
        W::TooShort { .. } | W::TooLong { .. } | W::BodyLength { .. } | W::Esi(_) => "malformed",
        W::NotOurs => "not-ours",
        W::Version(_) => "version",
        W::UnknownType(_) => "type",
    }
}

#[cfg(test)]
mod craft;
#[cfg(test)]
mod tests;
