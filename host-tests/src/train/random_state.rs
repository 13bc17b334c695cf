//! NumPy's legacy `RandomState`: the 32-bit Mersenne Twister MT19937 (Matsumoto and Nishimura, 1998) with
//! NumPy's integer, uniform, shuffle and choice draws, bit for bit.
//!
//! scikit-learn draws every random number of its tree estimators from `check_random_state(random_state)`, a NumPy
//! `RandomState`. Replaying the same generator lets a model trained here with seed `s` follow the same random path
//! as scikit-learn with `random_state=s`:
//! - a single tree seeds its splitter with [`RandomState::splitter_state`] of `RandomState(s)`;
//! - a forest draws one seed per tree ([`RandomState::estimator_seed`], in tree order); tree `i` draws its
//!   bootstrap sample from a fresh `RandomState(seed_i)` and seeds its splitter from another fresh one;
//! - boosting draws its trees' splitter states, its subsamples, AdaBoost.R2's bootstrap samples and the
//!   early-stopping validation split from `RandomState(s)`, and stacking its shuffled folds.
//!
//! The draws are NumPy's legacy ones:
//! - seeding with an integer is `init_genrand` (Knuth's multiplier 1812433253);
//! - `randint(low, high)` with `high − low − 1 = r < 2³²` masks 32-bit outputs with the smallest all-ones mask
//!   `≥ r` and rejects values above `r` (`r = 0` draws nothing);
//! - `random_sample()` is `(a·2²⁶ + b) / 2⁵³` with `a`, `b` the top 27 and 26 bits of two outputs;
//! - `shuffle` walks `i = n−1 … 1` swapping `x[i]` with `x[j]`, `j` uniform in `[0, i]` by the same masked
//!   rejection; `permutation(n)` shuffles `0..n`;
//! - `choice(n, size, p)` with replacement searches `size` uniform draws in the normalised cumulative sums of `p`
//!   (the first index whose cumulative sum is above the draw); without replacement and without `p` it takes the
//!   first `size` entries of `permutation(n)`.

/// scikit-learn's `RAND_R_MAX` (2³¹ − 1): a tree's splitter state is `randint(0, RAND_R_MAX)`, and an ensemble's
/// per-estimator seed is `randint(i32::MAX)`, the same range.
pub const RAND_R_MAX: u32 = 0x7FFF_FFFF;

const N: usize = 624;
const M: usize = 397;

/// A NumPy `RandomState` (MT19937).
#[derive(Clone)]
pub struct RandomState {
    mt: [u32; N],
    pos: usize,
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl RandomState {
    /// `numpy.random.RandomState(seed)`.
    pub fn new(seed: u32) -> RandomState {
        let mut mt = [0u32; N];
        mt[0] = seed;
        for i in 1..N {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        RandomState { mt, pos: N }
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7FFF_FFFF;
        const MATRIX_A: u32 = 0x9908_B0DF;
        for i in 0..N {
            let y = (self.mt[i] & UPPER) | (self.mt[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.mt[i] = self.mt[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C_5680;
        y ^= (y << 15) & 0xEFC6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `[0, max]` by masked rejection (NumPy's bounded draws).
    fn masked(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `randint(high)`: a uniform integer in `[0, high)`; `high` must be at least 1 (`randint(1)` draws
    /// nothing and returns 0).
    pub fn randint(&mut self, high: u32) -> u32 {
        assert!(high > 0, "randint(0)");
        self.masked(high - 1)
    }

    /// `random_sample()`: a uniform value in `[0, 1)` with 53 random bits.
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// The state a scikit-learn tree seeds its splitter with when it is fitted with this generator as its
    /// `random_state`: `randint(0, RAND_R_MAX)`.
    pub fn splitter_state(&mut self) -> u32 {
        self.randint(RAND_R_MAX)
    }

    /// The integer `random_state` an ensemble gives its next estimator: `randint(np.iinfo(np.int32).max)`
    /// (scikit-learn's `_set_random_states`), a value in `[0, 2³¹ − 2]`. The same draw as
    /// [`splitter_state`](Self::splitter_state).
    pub fn estimator_seed(&mut self) -> u32 {
        self.randint(RAND_R_MAX)
    }

    /// Shuffles `x` in place (`RandomState.shuffle` on a one-dimensional array); `x` must have fewer than 2³²
    /// elements.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j =
                self.masked(u32::try_from(i).expect("shuffle of 2^32 or more elements")) as usize;
            x.swap(i, j);
        }
    }

    /// `permutation(n)`: `0..n` shuffled.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }

    /// `choice(len(p), size, replace=True, p=p)`: `size` indices drawn with probabilities proportional to `p`
    /// (non-negative, with a positive sum).
    pub fn choice_weighted(&mut self, p: &[f64], size: usize) -> Vec<usize> {
        let mut cdf = Vec::with_capacity(p.len());
        let mut acc = 0.0;
        for &v in p {
            acc += v;
            cdf.push(acc);
        }
        let last = acc;
        cdf.iter_mut().for_each(|c| *c /= last);
        (0..size)
            .map(|_| {
                let u = self.random_sample();
                cdf.partition_point(|&c| c <= u).min(p.len() - 1)
            })
            .collect()
    }

    /// `choice(n, size, replace=False)`: the first `size` entries of `permutation(n)`.
    pub fn choice_without_replacement(&mut self, n: usize, size: usize) -> Vec<usize> {
        let mut v = self.permutation(n);
        v.truncate(size);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by NumPy 2.3 (`numpy.random.RandomState`).

    #[test]
    fn integers_match_numpy() {
        let mut r = RandomState::new(5489);
        let got: Vec<u32> = (0..3).map(|_| r.splitter_state()).collect();
        assert_eq!(got, [1351727964, 581869302, 1742863086]);
        let mut r = RandomState::new(0);
        let got: Vec<u32> = (0..3).map(|_| r.splitter_state()).collect();
        assert_eq!(got, [209652396, 398764591, 924231285]);
        let mut r = RandomState::new(1);
        assert_eq!(
            [
                r.randint(5),
                r.randint(1),
                r.randint(u32::MAX),
                r.randint(100)
            ],
            [3, 0, 3093770124, 72]
        );
        assert_eq!(RandomState::new(u32::MAX).splitter_state(), 419326371);
    }

    #[test]
    fn uniform_permutation_and_choice_match_numpy() {
        let mut r = RandomState::new(42);
        let got: Vec<f64> = (0..3).map(|_| r.random_sample()).collect();
        assert_eq!(
            got,
            [0.3745401188473625, 0.9507143064099162, 0.7319939418114051]
        );
        let mut r = RandomState::new(7);
        assert_eq!(r.permutation(10), [8, 5, 0, 2, 1, 9, 7, 3, 6, 4]);
        assert_eq!(r.permutation(3), [1, 0, 2]);
        let mut r = RandomState::new(3);
        assert_eq!(
            r.choice_weighted(&[0.1, 0.2, 0.3, 0.0, 0.4], 8),
            [2, 4, 1, 2, 4, 4, 1, 1]
        );
        let mut r = RandomState::new(3);
        let picked: Vec<usize> = r
            .choice_without_replacement(3, 2)
            .into_iter()
            .map(|i| [4, 9, 11][i])
            .collect();
        assert_eq!(picked, [9, 4]);
    }
}
