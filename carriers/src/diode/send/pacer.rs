//! The token-bucket pacer: it keeps the sender under `--rate` bits per second, counting each
//! datagram with its IP and UDP headers (what the diode's link carries).
//!
//! It keeps a virtual clock, `next`: the time the link is free again. Each datagram moves it
//! on by its cost; the sender sleeps only once it is [`AHEAD`] in front of the real clock, so
//! it sleeps in small batches (about 8 datagrams at 100 Mbit/s) and never spins, while the
//! average rate is exact whatever the sleeps' jitter. Credit for time spent not sending (the
//! bucket's depth) is capped at [`BURST`], so a pause is never followed by a long burst that
//! would overflow the diode's buffers.

use std::time::{Duration, Instant};

/// The sender sleeps once it is this far ahead of its schedule.
pub const AHEAD: Duration = Duration::from_millis(1);
/// The most credit a pause leaves: the bucket's depth.
pub const BURST: Duration = Duration::from_millis(2);

/// Paces datagrams to a rate.
#[derive(Debug, Clone)]
pub struct Pacer {
    rate_bps: u64,
    overhead: u32,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer for `rate_bps` bits per second (at least 1), each datagram counting `overhead`
    /// more bytes of headers.
    pub fn new(rate_bps: u64, overhead: u32) -> Self {
        Self {
            rate_bps: rate_bps.max(1),
            overhead,
            next: None,
        }
    }

    /// How long a datagram of `len` bytes occupies the link.
    pub fn cost(&self, len: usize) -> Duration {
        let bits = (len as u128 + u128::from(self.overhead)) * 8;
        let nanos = (bits * 1_000_000_000).div_ceil(u128::from(self.rate_bps));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Books a datagram of `len` bytes at `now`; returns how long to sleep before sending it
    /// (zero: send now).
    pub fn book(&mut self, len: usize, now: Instant) -> Duration {
        let floor = now.checked_sub(BURST).unwrap_or(now);
        let start = self.next.map_or(floor, |next| next.max(floor));
        let ahead = start.saturating_duration_since(now);
        self.next = Some(start + self.cost(len));
        if ahead >= AHEAD {
            ahead
        } else {
            Duration::ZERO
        }
    }

    /// Books a datagram and sleeps as long as needed.
    pub fn pace(&mut self, len: usize) {
        let wait = self.book(len, Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_counts_the_headers() {
        // 1,466 bytes + 28 of IPv4 and UDP = 11,952 bits: 119,520 ns at 100 Mbit/s.
        let pacer = Pacer::new(100_000_000, 28);
        assert_eq!(pacer.cost(1466), Duration::from_nanos(119_520));
        let v6 = Pacer::new(100_000_000, 48);
        assert_eq!(v6.cost(1466), Duration::from_nanos(121_120));
        assert_eq!(Pacer::new(8, 0).cost(1), Duration::from_secs(1));
        // Rounded up: never faster than the rate.
        assert_eq!(
            Pacer::new(3, 0).cost(1),
            Duration::from_nanos(2_666_666_667)
        );
    }

    #[test]
    fn a_second_of_datagrams_is_booked_over_a_second() {
        // 100 Mbit/s in 1,494-byte frames: 8,366 datagrams a second (as many as fit).
        let mut pacer = Pacer::new(100_000_000, 28);
        let start = Instant::now();
        let mut now = start;
        let mut sent = 0u32;
        let mut sleeps = 0u32;
        // Simulate: the sender sends when told, sleeps exactly the time asked.
        while now < start + Duration::from_secs(1) {
            let wait = pacer.book(1466, now);
            if !wait.is_zero() {
                sleeps += 1;
                now += wait;
            }
            sent += 1;
        }
        // Within 1% of the rate (the bucket's first credit included).
        let expected = 1_000_000_000 / 119_520;
        assert!(
            sent.abs_diff(expected) <= expected / 100,
            "{sent} datagrams"
        );
        // In batches: about one sleep per millisecond, not one per datagram.
        assert!((900..=1100).contains(&sleeps), "{sleeps} sleeps");
    }

    #[test]
    fn a_pause_leaves_only_a_short_burst() {
        let mut pacer = Pacer::new(100_000_000, 28);
        let start = Instant::now();
        assert_eq!(pacer.book(1466, start), Duration::ZERO);
        // A second later: the credit is capped at BURST, so after about BURST + AHEAD worth
        // of datagrams the pacer asks for a sleep again.
        let later = start + Duration::from_secs(1);
        let mut free = 0;
        while pacer.book(1466, later).is_zero() {
            free += 1;
            assert!(free < 100, "the burst is not capped");
        }
        let per = pacer.cost(1466);
        let expected = ((BURST + AHEAD).as_nanos() / per.as_nanos()) as i64;
        assert!(
            (i64::from(free) - expected).abs() <= 1,
            "{free} free datagrams"
        );
    }

    #[test]
    fn a_slow_rate_sleeps_before_each_datagram() {
        let mut pacer = Pacer::new(8_000, 0);
        let now = Instant::now();
        // The first datagram goes at once (with the bucket's credit), then one a second.
        assert_eq!(pacer.book(1000, now), Duration::ZERO);
        assert_eq!(pacer.book(1000, now), Duration::from_secs(1) - BURST);
        assert_eq!(pacer.book(1000, now), Duration::from_secs(2) - BURST);
    }
}
