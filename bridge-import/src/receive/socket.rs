//! The receiving socket: bound, given a large receive buffer, and drained by its own thread
//! into a bounded queue. It is never used to send (a diode has no way back; the tests
//! check the receiver's interface sent nothing).

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use bridge_cli::service::stop;
use socket2::{Domain, Protocol, Socket, Type};

use super::Counter;

/// The receive buffer asked for: about 1.3 s of a 100 Mbit/s link.
pub const RECEIVE_BUFFER: usize = 16 * 1024 * 1024;
/// Datagrams queued between the socket and the receiver thread (about 24 MiB of symbols of
/// 1,440 bytes at most).
pub const QUEUE: usize = 16_384;
/// Bytes queued at most: without it, a flood of 64 KiB datagrams (fragmented on the way)
/// would make the queue of [`QUEUE`] datagrams hold a gigabyte.
pub const QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// The receiving end of the queue, which gives back each datagram's share of
/// [`QUEUE_BYTES`] as it takes it.
#[derive(Debug)]
pub struct Queue {
    rx: Receiver<Vec<u8>>,
    bytes: Arc<AtomicUsize>,
}

impl Queue {
    /// The next datagram, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Vec<u8>, RecvTimeoutError> {
        let datagram = self.rx.recv_timeout(timeout)?;
        self.bytes.fetch_sub(datagram.len(), Ordering::Relaxed);
        Ok(datagram)
    }
}
/// The socket's read timeout: how soon its thread sees a stop.
const READ_TIMEOUT: Duration = Duration::from_millis(200);
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_536;

/// Binds `listen` with a large receive buffer and logs the size the kernel granted.
pub fn bind(listen: SocketAddr) -> anyhow::Result<UdpSocket> {
    let socket = Socket::new(
        Domain::for_address(listen),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .context("cannot create a UDP socket")?;
    if let Err(e) = socket.set_recv_buffer_size(RECEIVE_BUFFER) {
        tracing::warn!(error = %e, "cannot set the socket's receive buffer");
    }
    let granted = socket.recv_buffer_size().unwrap_or(0);
    tracing::info!(
        event = "diode.listening",
        listen = %listen,
        receive_buffer = granted,
        asked = RECEIVE_BUFFER,
        "listening; the kernel granted a receive buffer of {granted} bytes (raise net.core.rmem_max if it is far below {RECEIVE_BUFFER})"
    );
    socket.bind(&listen.into()).with_context(|| {
        format!("cannot listen on {listen}\nHint: give an address of this host and a free port (another receiver may already listen there)")
    })?;
    let socket: UdpSocket = socket.into();
    socket
        .set_read_timeout(Some(READ_TIMEOUT))
        .context("cannot set the socket's read timeout")?;
    Ok(socket)
}

/// Starts the thread draining `socket`: datagrams go to the returned queue; those it cannot
/// take are counted in the returned counter.
pub fn spawn(socket: UdpSocket) -> anyhow::Result<(Queue, Counter, JoinHandle<()>)> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&dropped);
    let bytes = Arc::new(AtomicUsize::new(0));
    let queued = Arc::clone(&bytes);
    let thread = std::thread::Builder::new()
        .name("diode-socket".into())
        .spawn(move || drain(&socket, &tx, &queued, &counter))
        .context("cannot start the socket thread")?;
    Ok((Queue { rx, bytes }, dropped, thread))
}

fn drain(socket: &UdpSocket, tx: &SyncSender<Vec<u8>>, queued: &AtomicUsize, dropped: &AtomicU64) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !stop::stopping() {
        match socket.recv(&mut buf) {
            Ok(n) => {
                if queued.load(Ordering::Relaxed) + n > QUEUE_BYTES {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let datagram = buf.get(..n).unwrap_or_default().to_vec();
                queued.fetch_add(n, Ordering::Relaxed);
                match tx.try_send(datagram) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        queued.fetch_sub(n, Ordering::Relaxed);
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(TrySendError::Disconnected(_)) => return,
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read from the socket");
                std::thread::sleep(READ_TIMEOUT);
            }
        }
    }
}
