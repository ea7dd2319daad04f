//! A small seeded pseudo-random generator (SplitMix64), so that a relay run with the same seed
//! and the same input makes the same choices. Not for anything secret.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, full period, passes BigCrush; ample
/// for drawing impairments, and a dependency less.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator started from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1), from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        // 2^-53: the spacing of doubles in [0, 1) at full precision.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (0 never, 1 always).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    /// A uniform draw in `0..n` (0 when `n` is 0). Multiply-shift: no modulo bias worth
    /// speaking of for the small `n` the relay uses.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::SplitMix64;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_another_seed_another() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let mut c = SplitMix64::new(43);
        let xs: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        let zs: Vec<u64> = (0..100).map(|_| c.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
    }

    #[test]
    fn the_reference_first_output_for_seed_0_and_1234567() {
        // The published SplitMix64 reference values (Vigna's splitmix64.c).
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(
            SplitMix64::new(1_234_567).next_u64(),
            6_457_827_717_110_365_317
        );
    }

    #[test]
    fn chance_matches_its_probability_within_tolerance() {
        for (seed, p) in [(1, 0.01), (2, 0.05), (3, 0.5), (4, 0.9)] {
            let mut rng = SplitMix64::new(seed);
            let n = 200_000;
            let hits = (0..n).filter(|_| rng.chance(p)).count();
            let rate = hits as f64 / f64::from(n);
            assert!(
                (rate - p).abs() < 0.1 * p + 0.002,
                "seed {seed}: p {p}, drew {rate}"
            );
        }
        let mut rng = SplitMix64::new(5);
        assert!((0..10_000).all(|_| !rng.chance(0.0)));
        assert!((0..10_000).all(|_| rng.chance(1.0)));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = SplitMix64::new(9);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            let v = rng.below(7);
            assert!(v < 7);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        assert_eq!(rng.below(0), 0);
    }
}
