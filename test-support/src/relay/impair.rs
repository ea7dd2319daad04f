//! The relay's impairments, applied to one datagram at a time in this order: loss (uniform, or
//! in bursts), truncation, corruption, duplication, reordering. Every choice is drawn from one
//! seeded [`SplitMix64`], so the same seed and the same input give the same output.

use super::rng::SplitMix64;

/// What to do to the traffic; probabilities are fractions (0.01 is 1%).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Long-run share of datagrams dropped.
    pub loss: f64,
    /// Mean length of a run of drops (Gilbert-Elliott); `None` drops each datagram on its own.
    pub burst: Option<f64>,
    /// Share held back and sent after the next 1 to 3 datagrams.
    pub reorder: f64,
    /// Share sent twice.
    pub duplicate: f64,
    /// Share with 1 to 3 random bits flipped.
    pub corrupt: f64,
    /// After corrupting, rewrite the last 4 bytes as the big-endian CRC-32 of the rest, so that
    /// the diode's datagram CRC accepts the damage and only the block hashes can catch it.
    pub corrupt_fix_crc: bool,
    /// Share cut at a random length (at least 1 byte kept, at least 1 removed).
    pub truncate: f64,
}

impl Settings {
    /// Checks every probability is in [0, 1], loss below 1 with bursts, and a burst mean of at
    /// least 1 datagram.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("--loss", self.loss),
            ("--reorder", self.reorder),
            ("--duplicate", self.duplicate),
            ("--corrupt", self.corrupt),
            ("--truncate", self.truncate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "{name} {p} is not a fraction in 0..=1 (1% is 0.01)"
                ));
            }
        }
        if let Some(burst) = self.burst {
            if !(burst >= 1.0 && burst.is_finite()) {
                return Err(format!(
                    "--burst {burst} is not a mean burst length of at least 1 datagram"
                ));
            }
            if self.loss >= 1.0 {
                return Err("--burst needs a --loss below 1".to_owned());
            }
        }
        Ok(())
    }
}

/// How many datagrams met each fate; the relay's stats file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Datagrams read from the listening sockets.
    pub received: u64,
    /// Datagrams handed on (duplicates and released held-back ones included).
    pub forwarded: u64,
    /// Datagrams dropped by the loss model.
    pub dropped: u64,
    /// Datagrams held back to be sent later.
    pub reordered: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
    /// Datagrams with bits flipped.
    pub corrupted: u64,
    /// Datagrams cut short.
    pub truncated: u64,
    /// Sends the kernel refused (counted, never retried).
    pub send_errors: u64,
}

impl Counts {
    /// Adds `other`'s counts to these (one relay, several mappings).
    pub fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.forwarded += other.forwarded;
        self.dropped += other.dropped;
        self.reordered += other.reordered;
        self.duplicated += other.duplicated;
        self.corrupted += other.corrupted;
        self.truncated += other.truncated;
        self.send_errors += other.send_errors;
    }

    /// The counts as one JSON object (the `--stats` file).
    pub fn to_json(&self) -> String {
        format!(
            "{{\"received\":{},\"forwarded\":{},\"dropped\":{},\"reordered\":{},\"duplicated\":{},\"corrupted\":{},\"truncated\":{},\"send_errors\":{}}}",
            self.received,
            self.forwarded,
            self.dropped,
            self.reordered,
            self.duplicated,
            self.corrupted,
            self.truncated,
            self.send_errors
        )
    }
}

/// Which datagrams are lost: each on its own, or in bursts.
#[derive(Debug, Clone)]
pub enum LossModel {
    /// Each datagram lost with probability `p`.
    Uniform {
        /// The loss probability.
        p: f64,
    },
    /// Gilbert-Elliott with a lossless good state and an all-loss bad state: runs of drops
    /// have a geometric length of mean `1 / leave`, and the long-run loss is
    /// `enter / (enter + leave)`.
    Bursty {
        /// P(good -> bad) per datagram.
        enter: f64,
        /// P(bad -> good) per datagram.
        leave: f64,
        /// Whether the channel is in the bad state now.
        bad: bool,
    },
}

impl LossModel {
    /// The model for a long-run `loss` and an optional mean burst length (checked by
    /// [`Settings::validate`]).
    pub fn new(loss: f64, burst: Option<f64>) -> Self {
        match burst {
            None => Self::Uniform { p: loss },
            Some(mean) => {
                let leave = 1.0 / mean;
                // Stationary bad share enter/(enter+leave) = loss.
                let enter = (loss * leave / (1.0 - loss)).min(1.0);
                Self::Bursty {
                    enter,
                    leave,
                    bad: false,
                }
            }
        }
    }

    /// Whether the next datagram is lost.
    pub fn lose(&mut self, rng: &mut SplitMix64) -> bool {
        match self {
            Self::Uniform { p } => rng.chance(*p),
            Self::Bursty { enter, leave, bad } => {
                *bad = if *bad {
                    !rng.chance(*leave)
                } else {
                    rng.chance(*enter)
                };
                *bad
            }
        }
    }
}

/// The relay's state for one listening socket: settings, generator, loss model and the
/// datagrams held back for reordering.
#[derive(Debug)]
pub struct Impairer {
    settings: Settings,
    rng: SplitMix64,
    loss: LossModel,
    /// Held-back datagrams and how many more arrivals each waits for.
    held: Vec<(Vec<u8>, u32)>,
    /// What happened so far.
    pub counts: Counts,
}

impl Impairer {
    /// An impairer for validated `settings`, drawing from `seed`.
    pub fn new(settings: Settings, seed: u64) -> Self {
        let loss = LossModel::new(settings.loss, settings.burst);
        Self {
            settings,
            rng: SplitMix64::new(seed),
            loss,
            held: Vec::new(),
            counts: Counts::default(),
        }
    }

    /// Takes one received datagram and appends to `out` what to send now, in order.
    pub fn push(&mut self, mut datagram: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        self.counts.received += 1;
        // Every arrival, lost or not, brings held-back datagrams one step closer.
        for (_, wait) in &mut self.held {
            *wait = wait.saturating_sub(1);
        }
        if self.loss.lose(&mut self.rng) {
            self.counts.dropped += 1;
        } else {
            if datagram.len() > 1 && self.rng.chance(self.settings.truncate) {
                let keep = 1 + self.rng.below(datagram.len() as u64 - 1);
                datagram.truncate(keep as usize);
                self.counts.truncated += 1;
            }
            if self.rng.chance(self.settings.corrupt) && self.corrupt(&mut datagram) {
                self.counts.corrupted += 1;
            }
            if self.rng.chance(self.settings.duplicate) {
                self.counts.duplicated += 1;
                self.emit(datagram.clone(), out);
            }
            if self.rng.chance(self.settings.reorder) {
                self.counts.reordered += 1;
                let wait = 1 + self.rng.below(3) as u32;
                self.held.push((datagram, wait));
            } else {
                self.emit(datagram, out);
            }
        }
        let mut i = 0;
        while i < self.held.len() {
            if self.held[i].1 == 0 {
                let (late, _) = self.held.remove(i);
                self.emit(late, out);
            } else {
                i += 1;
            }
        }
    }

    /// Sends everything held back (the link went quiet, or the relay stops).
    pub fn flush(&mut self, out: &mut Vec<Vec<u8>>) {
        for (late, _) in std::mem::take(&mut self.held) {
            self.emit(late, out);
        }
    }

    fn emit(&mut self, datagram: Vec<u8>, out: &mut Vec<Vec<u8>>) {
        self.counts.forwarded += 1;
        out.push(datagram);
    }

    /// Flips 1 to 3 random bits; false if there was nothing to flip.
    fn corrupt(&mut self, datagram: &mut [u8]) -> bool {
        let fix = self.settings.corrupt_fix_crc && datagram.len() > 4;
        let span = if fix {
            datagram.len() - 4
        } else {
            datagram.len()
        };
        if span == 0 {
            return false;
        }
        let bits = span as u64 * 8;
        let flips = (1 + self.rng.below(3)).min(bits);
        let mut chosen: Vec<u64> = Vec::with_capacity(3);
        // Distinct bits: flipping one bit twice would leave the datagram intact.
        while (chosen.len() as u64) < flips {
            let bit = self.rng.below(bits);
            if !chosen.contains(&bit) {
                chosen.push(bit);
                datagram[(bit / 8) as usize] ^= 1 << (bit % 8);
            }
        }
        if fix {
            let crc = crc32fast::hash(&datagram[..span]);
            datagram[span..].copy_from_slice(&crc.to_be_bytes());
        }
        true
    }
}

#[cfg(test)]
#[path = "impair_tests.rs"]
mod tests;
