//! A token bucket: how many signature checks of new headers the receiver spends per second,
//! so that a flood of forged headers naming a trusted key cannot take the CPU.

use std::time::Instant;

/// Up to `rate` tokens a second, holding at most `rate` (one second's worth of burst).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket refilled at `rate` tokens a second (at least 1).
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate.max(1));
        Self {
            rate,
            tokens: rate,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_is_cut_at_the_rate_and_refills_with_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, start);
        let first = (0..100).filter(|_| bucket.take(start)).count();
        assert_eq!(first, 10);
        let later = start + Duration::from_millis(500);
        let second = (0..100).filter(|_| bucket.take(later)).count();
        assert_eq!(second, 5);
        let much_later = start + Duration::from_secs(3600);
        let third = (0..100).filter(|_| bucket.take(much_later)).count();
        assert_eq!(third, 10, "never more than one second's worth");
    }
}
