//! The socket side of the sender: every datagram goes through [`Link::send`], which paces
//! it and counts it.

use std::io;
use std::net::UdpSocket;
use std::time::Duration;

use super::pacer::Pacer;

/// `ENOBUFS`: the kernel's send queue is full for a moment; waiting a little clears it.
const NO_BUFFER_SPACE: i32 = 105;
/// How often a full send queue is retried before the error is given up on.
const QUEUE_RETRIES: u32 = 200;

/// A connected UDP socket, paced, with its counters.
#[derive(Debug)]
pub struct Link {
    socket: UdpSocket,
    pacer: Pacer,
    /// Datagrams sent since the link was made.
    pub datagrams: u64,
    /// Bytes of datagrams (UDP payload) sent since the link was made.
    pub bytes: u64,
}

impl Link {
    /// A link over `socket`, which is connected to the receiver's address.
    pub fn new(socket: UdpSocket, pacer: Pacer) -> Self {
        Self {
            socket,
            pacer,
            datagrams: 0,
            bytes: 0,
        }
    }

    /// Sends one datagram once the pacer allows it.
    pub fn send(&mut self, datagram: &[u8]) -> io::Result<()> {
        self.pacer.pace(datagram.len());
        let mut retries = 0;
        loop {
            match self.socket.send(datagram) {
                Ok(_) => break,
                // Nothing answers through a diode; on a test link an ICMP "port unreachable"
                // from a receiver not (yet) listening shows up here. That datagram is lost,
                // as the diode would lose it: the FEC and the rounds are for that.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => break,
                Err(e)
                    if (e.raw_os_error() == Some(NO_BUFFER_SPACE)
                        || e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted)
                        && retries < QUEUE_RETRIES =>
                {
                    retries += 1;
                    std::thread::sleep(Duration::from_micros(500));
                }
                Err(e) => return Err(e),
            }
        }
        self.datagrams += 1;
        self.bytes += datagram.len() as u64;
        Ok(())
    }
}
