//! What one transfer cost: the figures the sender logs (`diode.sent`) and counts in its
//! metrics.

use std::time::Duration;

/// The figures of one transfer, or of one carousel round.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SendReport {
    /// The transfer id, hex.
    pub transfer: String,
    /// The bundle's name in the receiver's inbox.
    pub name: String,
    /// The bundle's bytes.
    pub size: u64,
    /// Datagrams sent, headers and heartbeats included.
    pub datagrams: u64,
    /// Bytes of those datagrams (UDP payload).
    pub bytes: u64,
    /// Source symbols sent (table included).
    pub source_symbols: u64,
    /// Repair symbols sent (table included).
    pub repair_symbols: u64,
    /// Header datagrams sent.
    pub headers: u64,
    /// Heartbeats sent meanwhile.
    pub heartbeats: u64,
    /// Rounds sent.
    pub rounds: u32,
    /// Time taken, milliseconds.
    pub duration_ms: u64,
    /// Bits per second on the link, IP and UDP headers included (what `--rate` limits).
    pub rate_bps: u64,
    /// The bundle's bits per second (its size over the time taken).
    pub goodput_bps: u64,
}

impl SendReport {
    /// Fills in the duration and the rates from the time taken and the per-datagram header
    /// bytes.
    pub fn finish(&mut self, took: Duration, ip_udp_overhead: u32) {
        self.duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        let secs = took.as_secs_f64().max(1e-6);
        let wire_bits = (self.bytes + self.datagrams * u64::from(ip_udp_overhead)) as f64 * 8.0;
        self.rate_bps = (wire_bits / secs) as u64;
        self.goodput_bps = ((self.size * u64::from(self.rounds.min(1))) as f64 * 8.0 / secs) as u64;
    }

    /// Adds another round's counts to these.
    pub fn add(&mut self, other: &Self) {
        self.datagrams += other.datagrams;
        self.bytes += other.bytes;
        self.source_symbols += other.source_symbols;
        self.repair_symbols += other.repair_symbols;
        self.headers += other.headers;
        self.heartbeats += other.heartbeats;
        self.rounds += other.rounds;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_count_headers_and_the_bundle() {
        let mut report = SendReport {
            size: 1_000_000,
            datagrams: 1000,
            bytes: 1_000_000,
            rounds: 2,
            ..SendReport::default()
        };
        report.finish(Duration::from_secs(2), 28);
        assert_eq!(report.duration_ms, 2000);
        assert_eq!(report.rate_bps, 4_112_000);
        assert_eq!(report.goodput_bps, 4_000_000);
    }
}
