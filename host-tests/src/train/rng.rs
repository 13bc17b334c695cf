//! Small, fully specified random number generators, so that a model depends only on its seed (never on the
//! thread count, the platform or a crate's version). The scikit-learn trainers (trees, forests, boosting) take
//! their seeds and samples from NumPy's [`RandomState`](super::random_state::RandomState) instead.
//!
//! - [`SplitMix64`] drives histogram boosting's row and column samples and the synthetic benchmark data.
//! - [`SplitterRng`] drives a tree's split search (which features a node looks at, in which order, and the random
//!   thresholds of extra trees). It is the 32-bit xorshift (shifts 13, 17, 5) reduced to 31 bits that
//!   scikit-learn's tree splitters use, with the same integer and uniform draws, so a tree grown from the same
//!   splitter state visits features in the same order as scikit-learn's and breaks ties between equally good
//!   splits the same way (see [`SplitterRng::from_state`]).

/// SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit generator with a 64-bit state.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed` (any value, zero included).
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform integer in `[0, n)` without modulo bias (Lemire's multiply-and-reject); `n` must be above 0.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SplitMix64::below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// The largest value [`SplitterRng::draw`] returns (2³¹ − 1).
pub const SPLITTER_RAND_MAX: u32 = 0x7FFF_FFFF;

/// The split-search generator: xorshift32 (13, 17, 5) whose outputs are reduced modulo 2³¹.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitterRng {
    state: u32,
}

impl SplitterRng {
    /// A generator with the raw 32-bit `state` (0 is replaced by 1, as the xorshift cannot leave 0).
    ///
    /// scikit-learn seeds its splitter with `RandomState(random_state).randint(0, 2**31 - 1)` when a tree is fitted
    /// (for a single `DecisionTree*`/`ExtraTree*` estimator, that is the first draw from its `random_state`);
    /// passing that number here makes the trainers grow the same trees as scikit-learn.
    pub fn from_state(state: u32) -> SplitterRng {
        SplitterRng { state }
    }

    /// The generator of a scikit-learn tree fitted with the integer `random_state`: [`Self::from_state`] of the
    /// first [`RandomState::splitter_state`](super::random_state::RandomState::splitter_state) of
    /// `RandomState(random_state)`.
    pub fn from_random_state(random_state: u32) -> SplitterRng {
        SplitterRng::from_state(
            super::random_state::RandomState::new(random_state).splitter_state(),
        )
    }

    /// The next value in `[0, 2³¹ − 1]`.
    pub fn draw(&mut self) -> u32 {
        if self.state == 0 {
            self.state = 1;
        }
        let mut s = self.state;
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        self.state = s;
        s % (SPLITTER_RAND_MAX + 1)
    }

    /// An integer in `[low, high)` (`low < high`): `low + draw() % (high - low)`.
    pub fn int(&mut self, low: usize, high: usize) -> usize {
        low + self.draw() as usize % (high - low)
    }

    /// A value in `[low, high]`: `(high - low) · draw() / (2³¹ − 1) + low`, evaluated in that order in f64.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        (high - low) * self.draw() as f64 / SPLITTER_RAND_MAX as f64 + low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // The first outputs for seed 1234567 from the reference implementation (Vigna's splitmix64.c).
        let mut g = SplitMix64::new(1234567);
        assert_eq!(g.next_u64(), 6457827717110365317);
        assert_eq!(g.next_u64(), 3203168211198807973);
        assert_eq!(g.next_u64(), 9817491932198370423);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut g = SplitMix64::new(9);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[g.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (850..1150).contains(&c)), "{seen:?}");
        for _ in 0..1000 {
            let f = g.next_f64();
            assert!((0.0..1.0).contains(&f));
        }
    }

    #[test]
    fn splitter_rng_is_xorshift32_mod_2_31() {
        let mut g = SplitterRng::from_state(1);
        // xorshift32(1) = 270369, then 67634689, 2647435461 (reduced mod 2^31: 499951813).
        assert_eq!(g.draw(), 270369);
        assert_eq!(g.draw(), 67634689);
        assert_eq!(g.draw(), 2647435461 % (1 << 31));
        let mut z = SplitterRng::from_state(0);
        assert_eq!(z.draw(), 270369, "state 0 behaves as state 1");
        // NumPy: RandomState(0).randint(0, 2**31 - 1) == 209652396.
        assert_eq!(
            SplitterRng::from_random_state(0),
            SplitterRng::from_state(209652396)
        );
        let mut g = SplitterRng::from_random_state(42);
        for _ in 0..1000 {
            let i = g.int(3, 10);
            assert!((3..10).contains(&i));
            let u = g.uniform(-2.0, 5.0);
            assert!((-2.0..=5.0).contains(&u));
        }
    }
}
