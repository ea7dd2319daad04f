//! `bridge-import receive` as a service:
//!
//! ```text
//!  UDP socket (SO_RCVBUF 16 MiB, never sends)      receiver thread (this one)
//!  socket thread: recv -> bounded queue ---------> Receiver::datagram / tick (every 200 ms)
//!                 (full: dropped, counted)          -> events -> log (text or JSON)
//!                                                   -> metrics file (every second)
//! ```
//!
//! The socket thread only drains the socket, so a slow decode or a disk flush never lets the
//! kernel's buffer overflow unnoticed: what the queue cannot take is counted as
//! `queue-full`. The first SIGTERM or SIGINT ends both threads after the datagram in hand.

mod log;
mod metrics;
mod socket;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bridge_cli::output::Output;
use bridge_cli::service::stop;
use bridge_cli::view::field;
use bundle_format::policy::TrustPolicy;
use carriers::diode::receive::{Config, Receiver};
use serde::Serialize;

/// How often the receiver is ticked when no datagram arrives.
const TICK: Duration = Duration::from_millis(200);
/// How often the metrics file is rewritten.
const METRICS_EVERY: Duration = Duration::from_secs(1);

/// Runs until a stop is asked for; returns the counts of this run.
pub fn run(
    listen: SocketAddr,
    config: Config,
    policy: TrustPolicy,
    metrics_file: Option<&Path>,
) -> anyhow::Result<ReceiveReport> {
    let inbox = config.inbox.display().to_string();
    let socket = socket::bind(listen)?;
    let (mut receiver, events) = Receiver::open(config, policy, Instant::now())
        .with_context(|| format!("cannot start receiving into the inbox {inbox}"))?;
    log::events(&events);
    stop::enter_service_mode();
    let (queue, dropped, thread) = socket::spawn(socket)?;
    let mut next_metrics = Instant::now();
    loop {
        let now_events = match queue.recv_timeout(TICK) {
            Ok(datagram) => receiver.datagram(&datagram, Instant::now()),
            Err(RecvTimeoutError::Timeout) => receiver.tick(Instant::now()),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        log::events(&now_events);
        let now = Instant::now();
        if now >= next_metrics {
            let ticked = receiver.tick(now);
            log::events(&ticked);
            if let Some(path) = metrics_file {
                metrics::write(path, &receiver, dropped.load(Ordering::Relaxed));
            }
            next_metrics = now + METRICS_EVERY;
        }
        if stop::stopping() {
            break;
        }
    }
    // The socket thread sees the stop within its read timeout.
    drop(queue);
    let _ = thread.join();
    if let Some(path) = metrics_file {
        metrics::write(path, &receiver, dropped.load(Ordering::Relaxed));
    }
    let totals = receiver.totals();
    Ok(ReceiveReport {
        listen: listen.to_string(),
        inbox,
        delivered: totals.delivered,
        delivered_bytes: totals.delivered_bytes,
        datagrams: totals.datagrams,
        queue_full: dropped.load(Ordering::Relaxed),
    })
}

/// What `receive` prints when it ends.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiveReport {
    /// The address listened on.
    pub listen: String,
    /// The inbox.
    pub inbox: String,
    /// Bundles delivered.
    pub delivered: u64,
    /// Their bytes.
    pub delivered_bytes: u64,
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams dropped because the receiver thread fell behind.
    pub queue_full: u64,
}

impl ReceiveReport {
    /// Prints the report (`--json`: one document).
    pub fn print(&self, out: &Output) -> anyhow::Result<()> {
        out.success(self, |w| {
            field(w, "listened on", &self.listen)?;
            field(w, "inbox", &self.inbox)?;
            field(
                w,
                "delivered",
                format!(
                    "{} bundle(s), {} bytes",
                    self.delivered, self.delivered_bytes
                ),
            )?;
            field(w, "datagrams", self.datagrams)?;
            field(w, "dropped, queue full", self.queue_full)
        })
    }
}

/// Shared drop counter of the socket thread.
type Counter = Arc<std::sync::atomic::AtomicU64>;
